/* test_seccomp.c - the seccomp setting's parser (engine/config/parse_seccomp.c) and
 * the filter built from it (engine/run/seccomp.c): each filter is loaded in a
 * forked child (with no_new_privs: no root needed) whose system calls then show
 * what it denies, with EPERM, and what it lets through.
 * Prints TAP-like "ok N - ..." lines and exits non-zero if any check failed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/parse.h"
#include "run/seccomp.h"
#include "tap.h"

static void test_parse(void)
{
	static const char *const good[] = {
		"", "default", "unconfined", "default -keyctl", "-keyctl +ptrace",
		"unconfined +kexec_load +bpf", "  default\t-bpf  ", "+socketcall"
	};
	static const char *const bad[] = {
		"strict", "default unconfined", "-nosuchcall", "+", "keyctl", "+KEYCTL",
		"-bpf default", "+a/b"
	};
	struct seccomp_spec s;
	struct cfs_err err;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(parse_seccomp(good[i], &s, &err) == 0, "'%s' parses", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfs_err_clear(&err);
		ok(parse_seccomp(bad[i], &s, &err) == -EINVAL && err.msg[0],
		   "'%s' is refused: %s", bad[i], err.msg);
	}
	ok(parse_seccomp("unconfined -bpf +keyctl", &s, &err) == 0 && s.unconfined &&
		   s.n == 2 && !s.edit[0].deny && !strcmp(s.edit[0].name, "bpf") &&
		   s.edit[1].deny && !strcmp(s.edit[1].name, "keyctl"),
	   "edits are kept in order");
	cfs_err_clear(&err);
	parse_seccomp("-nosuchcall", &s, &err);
	ok(strstr(err.msg, "nosuchcall") != NULL, "the error names the call: %s", err.msg);
}

/* What each probe's system call answers under the filter: 0 or an errno. */
enum {
	P_KEYCTL,
	P_BPF,
	P_KEXEC,
	P_INIT_MODULE,
	P_OPEN_BY_HANDLE,
	P_PERSONA_ASLR,
	P_PERSONA_QUERY,
	P_PERSONA_LINUX32,
	P_UMOUNT_FORCE,
	P_GETPID,
	P_PTRACE_ME,
	P_COUNT
};
static const char *const probe_names[P_COUNT] = {
	"keyctl", "bpf", "kexec_load", "init_module", "open_by_handle_at",
	"personality(ADDR_NO_RANDOMIZE)", "personality(query)", "personality(PER_LINUX32)",
	"umount2(MNT_FORCE)", "getpid", "prctl(PR_GET_DUMPABLE)"
};

static int ret_errno(long r)
{
	return r < 0 ? errno : 0;
}

static void run_probes(int *res)
{
	long q;

	/* arguments that fail harmlessly past the filter (EINVAL, EFAULT, EBADF...) */
	res[P_KEYCTL] = ret_errno(syscall(SYS_keyctl, 0xdead, 0, 0, 0, 0));
	res[P_BPF] = ret_errno(syscall(SYS_bpf, 0xdead, NULL, 0));
	res[P_KEXEC] = ret_errno(syscall(SYS_kexec_load, 0, 0, NULL, 0xdead));
	res[P_INIT_MODULE] = ret_errno(syscall(SYS_init_module, NULL, 0, ""));
	res[P_OPEN_BY_HANDLE] = ret_errno(syscall(SYS_open_by_handle_at, -1, NULL, 0));
	res[P_PERSONA_ASLR] = ret_errno(syscall(SYS_personality, ADDR_NO_RANDOMIZE));
	q = syscall(SYS_personality, 0xffffffffUL);
	res[P_PERSONA_QUERY] = ret_errno(q);
	res[P_PERSONA_LINUX32] = ret_errno(syscall(SYS_personality, PER_LINUX32));
	if (q >= 0)
		syscall(SYS_personality, (unsigned long)q);
	res[P_UMOUNT_FORCE] = ret_errno(syscall(SYS_umount2, "/nonexistent-cfs", MNT_FORCE));
	res[P_GETPID] = ret_errno(syscall(SYS_getpid));
	res[P_PTRACE_ME] = ret_errno(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
}

/* Load the filter of setting in a child, run the probes there, return their answers. */
static int probe_setting(const char *setting, int *res)
{
	struct sock_fprog prog;
	struct cfs_err err;
	int pfd[2], st;
	pid_t pid;

	if (seccomp_prog_build(setting, &prog, &err) < 0) {
		printf("# build '%s': %s\n", setting, err.msg);
		return -1;
	}
	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int out[P_COUNT];

		close(pfd[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_prog_load(&prog) < 0)
			_exit(3);
		run_probes(out);
		_exit(write(pfd[1], out, sizeof(out)) == sizeof(out) ? 0 : 4);
	}
	close(pfd[1]);
	free(prog.filter);
	ssize_t n = read(pfd[0], res, sizeof(int) * P_COUNT);

	close(pfd[0]);
	waitpid(pid, &st, 0);
	return n == (ssize_t)(sizeof(int) * P_COUNT) && WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -1;
}

static void expect(const char *setting, const int *res, int p, int want_eperm)
{
	if (want_eperm)
		ok(res[p] == EPERM, "%s: %s is denied with EPERM (got %s)", setting,
		   probe_names[p], strerror(res[p]));
	else
		ok(res[p] != EPERM, "%s: %s passes the filter (got %s)", setting,
		   probe_names[p], res[p] ? strerror(res[p]) : "success");
}

static void test_filters(void)
{
	int res[P_COUNT];
	struct sock_fprog prog;
	struct cfs_err err;

	ok(probe_setting("default", res) == 0, "the default filter loads in a child");
	for (int p = P_KEYCTL; p <= P_PERSONA_ASLR; p++)
		expect("default", res, p, 1);
	expect("default", res, P_PERSONA_QUERY, 0);
	expect("default", res, P_PERSONA_LINUX32, 0);
	expect("default", res, P_UMOUNT_FORCE, 1);
	expect("default", res, P_GETPID, 0);
	expect("default", res, P_PTRACE_ME, 0);

	ok(probe_setting("-keyctl +getpid", res) == 0, "an edited filter loads");
	expect("-keyctl +getpid", res, P_KEYCTL, 0);
	expect("-keyctl +getpid", res, P_BPF, 1);
	expect("-keyctl +getpid", res, P_GETPID, 1);

	ok(probe_setting("+personality", res) == 0, "+personality loads");
	expect("+personality", res, P_PERSONA_QUERY, 1);

	ok(probe_setting("unconfined +bpf", res) == 0, "unconfined with an addition loads");
	expect("unconfined +bpf", res, P_BPF, 1);
	expect("unconfined +bpf", res, P_KEYCTL, 0);
	expect("unconfined +bpf", res, P_UMOUNT_FORCE, 0);

	ok(seccomp_prog_build("unconfined", &prog, &err) == 0 && prog.filter == NULL,
	   "unconfined builds no filter");
	ok(seccomp_prog_build("-nosuchcall", &prog, &err) == -EINVAL &&
		   strstr(err.msg, "seccomp"),
	   "a bad setting fails the build: %s", err.msg);
	for (const char *const *d = seccomp_default_deny; *d; d++) {
		struct seccomp_spec s;
		char w[64];

		snprintf(w, sizeof(w), "+%s", *d);
		if (parse_seccomp(w, &s, &err) < 0)
			ok(0, "default entry %s is a known name", *d);
	}
	ok(1, "every default entry is a known name");
}

int main(void)
{
	test_parse();
	test_filters();
	return tap_done();
}
