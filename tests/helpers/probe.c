/* probe.c - a static program the containment tests run as a container's init: it
 * tries, as the container's root, each known way out of a container and prints one
 * line "probe NAME RESULT" for each, RESULT being "ok" (the way is open), an errno
 * name (EPERM, EROFS, ...) with "@STEP" when an earlier step than the last failed,
 * or a word ("masked", "absent"). Nothing here changes the host: a way that needs a
 * write is shown open by opening the file for writing, never by writing to it.
 * Mount points and device nodes go in $PROBE_DIR (default /tmp), removed after.
 *   probe all          every probe, then "probe done"
 *   probe NAME...      those probes */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char result[64];
static char scratch[256] = "/tmp";	/* PROBE_DIR: where mount points and nodes go */

/* scratch/name, in a static buffer of its own per slot */
static const char *at(int slot, const char *name)
{
	static char buf[4][512];

	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", scratch, name);
	return buf[slot];
}

static const char *ename(int e)
{
	static const struct {
		int e;
		const char *n;
	} names[] = {
		{ EPERM, "EPERM" },
		{ ENOENT, "ENOENT" },
		{ EACCES, "EACCES" },
		{ EROFS, "EROFS" },
		{ EINVAL, "EINVAL" },
		{ EBUSY, "EBUSY" },
		{ ENODEV, "ENODEV" },
		{ ENXIO, "ENXIO" },
		{ ENOSYS, "ENOSYS" },
		{ EBADF, "EBADF" },
		{ EFAULT, "EFAULT" },
		{ ESTALE, "ESTALE" },
		{ EOPNOTSUPP, "EOPNOTSUPP" },
		{ ENOTDIR, "ENOTDIR" },
		{ EEXIST, "EEXIST" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].n;
	return "E?";
}

/* The result of a failed step: the errno, and the step unless it was the last. */
static const char *fail(const char *step, int e)
{
	snprintf(result, sizeof(result), "%s%s%s", ename(e), step ? "@" : "", step ? step : "");
	return result;
}

/* Open for writing, close: the way is open without anything written. */
static const char *open_w(const char *path, const char *step_before)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	(void)step_before;
	if (fd < 0)
		return fail(NULL, errno);
	close(fd);
	return "ok";
}

static const char *fresh_dir(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return fail("mkdir", errno);
	return NULL;
}

static const char *p_core_pattern(void)
{
	return open_w("/proc/sys/kernel/core_pattern", NULL);
}

static const char *p_fresh_proc_core_pattern(void)
{
	const char *r = fresh_dir(at(0, "probe-proc"));

	if (r)
		return r;
	if (mount("proc", at(0, "probe-proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return fail("mount", errno);
	r = open_w(at(1, "probe-proc/sys/kernel/core_pattern"), "mount");
	umount2(at(0, "probe-proc"), MNT_DETACH);
	return r;
}

static const char *p_remount_sys_rw(void)
{
	if (mount(NULL, "/sys", NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return fail("remount", errno);
	/* a host-wide knob: its open for writing is the test */
	return open_w("/sys/kernel/profiling", "remount");
}

static const char *p_devices_v1(void)
{
	const char *r = fresh_dir(at(0, "probe-devices"));

	if (r)
		return r;
	if (mount("cgroup", at(0, "probe-devices"), "cgroup", 0, "devices") < 0)
		return fail("mount", errno);
	r = open_w(at(1, "probe-devices/devices.allow"), "mount");
	umount2(at(0, "probe-devices"), MNT_DETACH);
	return r;
}

/* mknod a character device, then open it: the host's device if both work. */
static const char *mknod_open(const char *path, unsigned ma, unsigned mi)
{
	int fd;

	unlink(path);
	if (mknod(path, S_IFCHR | 0600, makedev(ma, mi)) < 0)
		return fail("mknod", errno);
	fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	unlink(path);
	if (fd < 0)
		return fail(NULL, errno);
	close(fd);
	return "ok";
}

static const char *p_mknod_console(void)
{
	return mknod_open(at(0, "probe-console"), 5, 1);
}

static const char *p_dev_mem(void)
{
	int fd = open("/dev/mem", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return "ok";
	}
	return mknod_open(at(0, "probe-mem"), 1, 1);
}

/* The handle of "/" if the filesystem gives one, else a made-up one: past the
 * filter and the capability check the kernel answers ESTALE or the like, which
 * shows the call open (the "shocker" way: guessing handles of the host's inodes). */
static const char *p_open_by_handle_at(void)
{
	struct {
		unsigned int bytes;
		int type;
		unsigned char h[128];
	} fh = { .bytes = 128 };
	int mnt, fd;

	if (syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh, &mnt, 0) < 0) {
		memset(&fh, 0, sizeof(fh));
		fh.bytes = 8;
		fh.type = 1;
	}
	fd = (int)syscall(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == EPERM ? fail(NULL, errno) : "ok";
	close(fd);
	return "ok";
}

/* A masked file is /dev/null; what a kernel lacks is ENOENT; else "ok" if readable. */
static const char *masked_file(const char *path)
{
	struct stat st;
	char c;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return fail(NULL, errno);
	if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
	    minor(st.st_rdev) == 3) {
		close(fd);
		return "masked";	/* /dev/null over it */
	}
	n = read(fd, &c, 1);
	close(fd);
	return n < 0 ? fail(NULL, errno) : (n == 0 ? "empty" : "ok");
}

static const char *p_kcore(void)
{
	return masked_file("/proc/kcore");
}

static const char *p_keys(void)
{
	return masked_file("/proc/keys");
}

static const char *p_timer_list(void)
{
	return masked_file("/proc/timer_list");
}

/* A masked directory is an empty read-only tmpfs. */
static const char *p_firmware(void)
{
	struct statfs sf;
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (statfs("/sys/firmware", &sf) < 0)
		return fail(NULL, errno);
	d = opendir("/sys/firmware");
	if (!d)
		return fail(NULL, errno);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	if (sf.f_type == TMPFS_MAGIC && n == 0 && (sf.f_flags & ST_RDONLY))
		return "masked";
	return n ? "ok" : "empty";
}

static const char *p_sysrq(void)
{
	return open_w("/proc/sysrq-trigger", NULL);
}

/* release_agent runs a host command as root when a cgroup empties: it lives in
 * the root of a v1 hierarchy only, so a fresh named hierarchy (the root is ours),
 * else an existing one (its root, if the cgroup namespace shows it). */
static const char *p_release_agent(void)
{
	const char *r = fresh_dir(at(0, "probe-ra"));

	if (r)
		return r;
	if (mount("cgroup", at(0, "probe-ra"), "cgroup", 0, "none,name=cfsprobe") < 0 &&
	    mount("cgroup", at(0, "probe-ra"), "cgroup", 0, "devices") < 0 &&
	    mount("cgroup", at(0, "probe-ra"), "cgroup", 0, "cpu") < 0)
		return fail("mount", errno);
	r = open_w(at(1, "probe-ra/release_agent"), "mount");
	umount2(at(0, "probe-ra"), MNT_DETACH);
	return r;
}

static const char *p_kexec_load(void)
{
	/* more segments than the kernel takes: EINVAL once past the permission checks,
	 * so nothing is ever loaded or unloaded */
	if (syscall(SYS_kexec_load, 0UL, 1000UL, NULL, 0UL) < 0)
		return errno == EINVAL ? "ok" : fail(NULL, errno);	/* ENOSYS: no kexec */
	return "ok";
}

static const char *p_init_module(void)
{
	/* an empty image: EINVAL/ENOEXEC once past the permission checks */
	if (syscall(SYS_init_module, "", 0UL, "") < 0)
		return errno == EPERM || errno == ENOSYS ? fail(NULL, errno) : "ok";
	return "ok";
}

static const char *p_bpf(void)
{
	/* BPF_PROG_GET_NEXT_ID: walks the host's programs (the device programs among them) */
	union {
		unsigned int start_id;
		char pad[128];
	} attr = { .start_id = 0 };

	if (syscall(SYS_bpf, 11, &attr, sizeof(attr)) < 0)
		return errno == ENOENT ? "ok" : fail(NULL, errno);
	return "ok";
}

static const char *p_keyctl(void)
{
	/* KEYCTL_GET_KEYRING_ID of the user keyring, KEY_SPEC_USER_KEYRING = -4 */
	if (syscall(SYS_keyctl, 0, -4, 0) < 0)
		return fail(NULL, errno);
	return "ok";
}

static const char *p_tree(void)
{
	char buf[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	if (!f)
		return fail(NULL, errno);
	while (fgets(buf, sizeof(buf), f))
		found |= strstr(buf, " - fuse.containerfs ") != NULL;
	fclose(f);
	return found ? "present" : "absent";
}

static const char *p_seccomp(void)
{
	char buf[256];
	FILE *f = fopen("/proc/self/status", "re");

	snprintf(result, sizeof(result), "?");
	while (f && fgets(buf, sizeof(buf), f))
		if (!strncmp(buf, "Seccomp:", 8))
			snprintf(result, sizeof(result), "%d", atoi(buf + 8));
	if (f)
		fclose(f);
	return result;
}

static const struct probe {
	const char *name;
	const char *(*fn)(void);
} probes[] = {
	{ "core_pattern", p_core_pattern },
	{ "fresh_proc_core_pattern", p_fresh_proc_core_pattern },
	{ "remount_sys_rw", p_remount_sys_rw },
	{ "devices_v1", p_devices_v1 },
	{ "mknod_console", p_mknod_console },
	{ "dev_mem", p_dev_mem },
	{ "open_by_handle_at", p_open_by_handle_at },
	{ "kcore", p_kcore },
	{ "keys", p_keys },
	{ "timer_list", p_timer_list },
	{ "firmware", p_firmware },
	{ "sysrq", p_sysrq },
	{ "release_agent", p_release_agent },
	{ "kexec_load", p_kexec_load },
	{ "init_module", p_init_module },
	{ "bpf", p_bpf },
	{ "keyctl", p_keyctl },
	{ "tree", p_tree },
	{ "seccomp", p_seccomp },
};
#define N_PROBES (sizeof(probes) / sizeof(probes[0]))

static int run(const char *name)
{
	for (size_t i = 0; i < N_PROBES; i++)
		if (!strcmp(name, "all") || !strcmp(name, probes[i].name)) {
			printf("probe %s %s\n", probes[i].name, probes[i].fn());
			if (strcmp(name, "all"))
				return 0;
		}
	if (!strcmp(name, "all"))
		return 0;
	fprintf(stderr, "probe: no probe %s\n", name);
	return 2;
}

int main(int argc, char **argv)
{
	int rc = 0;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (getenv("PROBE_DIR"))
		snprintf(scratch, sizeof(scratch), "%s", getenv("PROBE_DIR"));
	if (argc < 2) {
		fprintf(stderr, "usage: probe all | NAME...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++)
		rc |= run(argv[i]);
	rmdir(at(0, "probe-proc"));	/* the mount points, unmounted by now */
	rmdir(at(0, "probe-devices"));
	rmdir(at(0, "probe-ra"));
	printf("probe done\n");
	return rc;
}
