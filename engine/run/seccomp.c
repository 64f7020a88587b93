/* seccomp.c - the container's system call filter (seccomp.h). A deny list over an
 * allowing default, as LXC's, because a system container runs whole distributions
 * whose needs an allow list cannot foresee; each entry reaches host-wide kernel
 * state that no namespace confines (doc/design.md has the reasons one by one). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "config/parse.h"
#include "seccomp.h"

#ifndef SECCOMP_SET_MODE_FILTER
#define SECCOMP_SET_MODE_FILTER 1
#endif

const char *const seccomp_default_deny[] = {
	"kexec_load", "kexec_file_load",			/* replace the host's kernel */
	"init_module", "finit_module", "delete_module",		/* the host's modules */
	"open_by_handle_at",					/* any inode of a mounted fs */
	"keyctl", "add_key", "request_key",			/* the kernel keyrings */
	"bpf", "perf_event_open", "userfaultfd",			/* kernel attack surface */
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"iopl", "ioperm",					/* raw I/O ports */
	"acct", "swapon", "swapoff", "quotactl", "quotactl_fd",	/* host-wide switches */
	"lookup_dcookie", "syslog",				/* host-wide information */
	"uselib", "nfsservctl", "_sysctl", "vm86", "vm86old",	/* obsolete interfaces */
	"personality",						/* only odd personas */
	"umount2",						/* only MNT_FORCE */
	NULL
};

/* Personas allowed: PER_LINUX (0), PER_LINUX32 (8), UNAME26 (0x20000), both, and
 * the query 0xffffffff. A rule compares an argument once, so the complement is a
 * union of two-bit masked tests on the low 32 bits (what the kernel reads): bit i
 * outside the allowed ones set with bit 31 clear, or bit 31 set with some bit j clear. */
#define PERSONA_OK 0x20008u

static int add_personality(scmp_filter_ctx ctx)
{
	int nr = SCMP_SYS(personality), r = 0;
	const uint32_t top = 0x80000000u;

	for (int i = 0; i < 31 && r == 0; i++) {
		uint32_t b = 1u << i;

		if (!(PERSONA_OK & b))
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
					     SCMP_A0(SCMP_CMP_MASKED_EQ, b | top, b));
		if (r == 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
					     SCMP_A0(SCMP_CMP_MASKED_EQ, b | top, top));
	}
	return r;
}

static int add_rule(scmp_filter_ctx ctx, const char *name, bool conditional)
{
	int nr = seccomp_syscall_resolve_name(name), r;

	if (nr == __NR_SCMP_ERROR)
		return -EINVAL;
	if (conditional && !strcmp(name, "personality"))
		return add_personality(ctx);
	if (conditional && !strcmp(name, "umount2"))
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
					SCMP_A1(SCMP_CMP_MASKED_EQ, MNT_FORCE, MNT_FORCE));
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	/* a name none of the filter's architectures has (vm86 on arm64) */
	return r == -EDOM || r == -EOPNOTSUPP ? 0 : r;
}

static bool is_conditional(const char *name)
{
	return !strcmp(name, "personality") || !strcmp(name, "umount2");
}

/* Is name denied after the edits? *plain: unconditionally (an explicit +NAME). */
static bool final_deny(const struct seccomp_spec *s, const char *name, bool dflt, bool *plain)
{
	bool deny = dflt;

	*plain = false;
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->edit[i].name, name)) {
			deny = s->edit[i].deny;
			*plain = deny;
		}
	return deny;
}

static bool in_default(const char *name)
{
	for (const char *const *d = seccomp_default_deny; *d; d++)
		if (!strcmp(*d, name))
			return true;
	return false;
}

static int add_rules(scmp_filter_ctx ctx, const struct seccomp_spec *s)
{
	bool plain;
	int r;

	for (const char *const *d = seccomp_default_deny; *d; d++)
		if (final_deny(s, *d, !s->unconfined, &plain) &&
		    (r = add_rule(ctx, *d, is_conditional(*d) && !plain)) < 0)
			return r;
	for (int i = 0; i < s->n; i++) {
		const char *name = s->edit[i].name;
		bool seen = in_default(name);

		for (int j = 0; j < i && !seen; j++)
			seen = !strcmp(s->edit[j].name, name);
		if (!seen && final_deny(s, name, false, &plain) &&
		    (r = add_rule(ctx, name, false)) < 0)
			return r;
	}
	return 0;
}

static int add_arches(scmp_filter_ctx ctx)
{
	uint32_t native = seccomp_arch_native();
	int r = 0;

	if (native == SCMP_ARCH_X86_64) {
		r = seccomp_arch_add(ctx, SCMP_ARCH_X86);
		if (r == 0)
			r = seccomp_arch_add(ctx, SCMP_ARCH_X32);
	} else if (native == SCMP_ARCH_AARCH64) {
		r = seccomp_arch_add(ctx, SCMP_ARCH_ARM);
	}
	return r == -EEXIST ? 0 : r;
}

/* libseccomp writes the program to an fd: a memfd, read back into memory. */
static int export_prog(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	_cleanup_close_ int fd = memfd_create("cfs-seccomp", MFD_CLOEXEC);
	struct stat st;
	void *buf;
	int r;

	if (fd < 0)
		return -errno;
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return -E2BIG;
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return -ENOMEM;
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		free(buf);
		return -EIO;
	}
	prog->filter = buf;
	prog->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	return 0;
}

int seccomp_prog_build(const char *setting, struct sock_fprog *prog, struct cfs_err *err)
{
	struct seccomp_spec *s = calloc(1, sizeof(*s));
	scmp_filter_ctx ctx = NULL;
	bool any = false;
	int r;

	prog->filter = NULL;
	prog->len = 0;
	if (!s)
		return cfs_err_set_in(err, "start", ENOMEM, "out of memory");
	r = parse_seccomp(setting ? setting : "", s, err);
	if (r < 0) {
		cfs_err_prefix_in(err, "start", "seccomp");
		goto out;
	}
	for (int i = 0; i < s->n; i++)
		any |= s->edit[i].deny;
	if (s->unconfined && !any)
		goto out;	/* no filter at all */
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		r = cfs_err_set_in(err, "start", ENOMEM, "seccomp: libseccomp failed to start a filter");
		goto out;
	}
	r = add_arches(ctx);
	if (r == 0)
		r = add_rules(ctx, s);
	if (r == 0)
		r = export_prog(ctx, prog);
	if (r < 0)
		r = cfs_err_set_in(err, "start", -r, "seccomp: cannot build the filter: %s", strerror(-r));
out:
	if (ctx)
		seccomp_release(ctx);
	free(s);
	return r;
}

int seccomp_prog_save(const char *dir, const struct sock_fprog *prog, struct cfs_err *err)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	size_t len = (size_t)prog->len * sizeof(struct sock_filter);
	int fd, r = 0;

	if (snprintf(path, sizeof(path), "%s/" SECCOMP_FILE, dir) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return cfs_err_set_in(err, "start", ENAMETOOLONG, "run dir path too long");
	if (!prog->filter) {
		if (unlink(path) < 0 && errno != ENOENT)
			return cfs_err_set_in(err, "start", errno, "%s: %m", path);
		return 0;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return cfs_err_set_in(err, "start", errno, "%s: %m", tmp);
	if (write(fd, prog->filter, len) != (ssize_t)len)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r) {
		unlink(tmp);
		return cfs_err_set_in(err, "start", -r, "writing %s: %s", path, strerror(-r));
	}
	return 0;
}

int seccomp_prog_load(const struct sock_fprog *prog)
{
	if (!prog->filter)
		return 0;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
		return -errno;
	return 0;
}
