/* spawn_child.c - the code that runs after the daemon forks to start a container:
 * the helper that leaves the daemon's family, the supervisor-to-be that clones init
 * in its namespaces, and init's own set-up (its root: rootfs.c, hostname, lo, caps,
 * user, cwd) up to the exec. The daemon is threaded, so only system calls here: no
 * malloc, no stdio. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rootfs.h"
#include "hide.h"
#include "mask.h"
#include "seccomp.h"
#include "spawn_child.h"

struct rlimit spawn_child_nofile;

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* ---- small async-signal-safe helpers used after fork ---- */

int spawn_child_err_set(struct child_err *ce, int e, const char *what, const char *arg,
			const char *why)
{
	size_t n = sigsafe_put_str(ce->text, sizeof(ce->text), 0, what);

	if (arg) {
		/* "create /dev/" + "tty1" reads as one path */
		if (n && ce->text[n - 1] != '/')
			n = sigsafe_put_str(ce->text, sizeof(ce->text), n, " ");
		n = sigsafe_put_str(ce->text, sizeof(ce->text), n, arg);
	}
	if (!why)
		why = strerrordesc_np(e) ? strerrordesc_np(e) : "error";
	n = sigsafe_put_str(ce->text, sizeof(ce->text), n, ": ");
	sigsafe_put_str(ce->text, sizeof(ce->text), n, why);
	ce->err = e;
	return -e;
}

#define MAX_KEEP (8 + 2 * MAX_TTY)

/* Close every fd except those in keep (negative ones ignored, at most MAX_KEEP). */
static void close_all_but(const int *keep, int n)
{
	int sorted[MAX_KEEP], m = 0, i, j, lo = 0;

	for (i = 0; i < n && m < MAX_KEEP; i++) {
		if (keep[i] < 0)
			continue;
		for (j = m; j > 0 && sorted[j - 1] > keep[i]; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = keep[i];
		m++;
	}
	for (i = 0; i <= m; i++) {
		unsigned int hi = i < m ? (unsigned int)sorted[i] : ~0U;

		if (hi > (unsigned int)lo &&
		    syscall(SYS_close_range, lo, hi - 1, 0) < 0) {
			/* before Linux 5.9: close one by one, within reason */
			for (int fd = lo; fd < (int)(hi < 65536 ? hi : 65536); fd++)
				close(fd);
		}
		if (i < m)
			lo = sorted[i] + 1;
	}
}

/* fork-like clone into new namespaces, sharing nothing: no stack to prepare, so
 * the child just returns 0 here. clone3 first, clone where it is missing. With
 * cgroup_fd >= 0 the child is born in that cgroup2 directory (CLONE_INTO_CGROUP,
 * Linux 5.7) and *in_cgroup says so; where the kernel refuses that, it is born
 * where we are and the daemon moves it. */
static pid_t raw_clone(unsigned long flags, int cgroup_fd, bool *in_cgroup)
{
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
		uint64_t stack, stack_size, tls;
		uint64_t set_tid, set_tid_size, cgroup;
	} args = { .flags = flags, .exit_signal = SIGCHLD };
	long r = -1;

	*in_cgroup = false;
	if (cgroup_fd >= 0) {
		args.flags = flags | CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
		r = syscall(SYS_clone3, &args, sizeof(args));
		if (r >= 0) {
			*in_cgroup = true;
			return (pid_t)r;
		}
		args.flags = flags;
		args.cgroup = 0;
	}
	r = syscall(SYS_clone3, &args, sizeof(args));
	if (r < 0 && (errno == ENOSYS || errno == EPERM))
		r = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	return (pid_t)r;
}

static void reset_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;

	/* A daemon's ignored signals (SIGPIPE) would survive exec into the container. */
	for (int s = 1; s < _NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static __attribute__((noreturn)) void info_fail(int fd, const char *step, int e,
						pid_t init)
{
	struct info_rec rec = { .kind = INFO_ERR, .err = e, .init = init };

	sigsafe_put_str(rec.step, sizeof(rec.step), 0, step);
	if (write(fd, &rec, sizeof(rec)) < 0)
		_exit(2);
	_exit(1);
}

/* init's failure report, "ERRNO\tTEXT", then exit. */
static __attribute__((noreturn)) void init_fail_err(int fd, const struct child_err *ce)
{
	char buf[512];
	size_t n = sigsafe_put_int(buf, sizeof(buf), 0, ce->err);

	n = sigsafe_put_str(buf, sizeof(buf), n, "\t");
	n = sigsafe_put_str(buf, sizeof(buf), n, ce->text);
	if (write(fd, buf, n) < 0)
		_exit(2);
	_exit(1);
}

/* The same for "STEP ARG: reason". */
static __attribute__((noreturn)) void init_fail(int fd, int e, const char *step,
						const char *arg)
{
	struct child_err ce;

	spawn_child_err_set(&ce, e, step, arg, NULL);
	init_fail_err(fd, &ce);
}

/* ---- init: runs in the new namespaces, set-up in the documented order ---- */

/* lo up, as `ip link set lo up` would: no netlink needed for one flag. 0 or -errno. */
static int loopback_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r = 0;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!r && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		r = -errno;
	close(s);
	return r;
}

/* Bounding set first (needs CAP_SETPCAP), then the user switch (a non-root uid
 * loses permitted/effective there), then what is left is cut to caps_keep. */
static void drop_caps_and_user(const struct spawn_plan *p)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	int fd = p->report[1];

	for (int cap = 0; cap <= p->last_cap; cap++)
		if (!(p->caps_keep & (1ULL << cap)) &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			init_fail(fd, errno, "drop capabilities", NULL);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	/* raw calls: glibc's setuid would try to signal threads this copy lacks */
	if (syscall(SYS_setgroups, 0, NULL) < 0)
		init_fail(fd, errno, "setgroups", NULL);
	if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0)
		init_fail(fd, errno, "setgid", NULL);
	if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0)
		init_fail(fd, errno, "setuid", NULL);
	if (syscall(SYS_capget, &hdr, d) < 0)
		init_fail(fd, errno, "capget", NULL);
	for (int i = 0; i < 2; i++) {
		uint32_t keep = (uint32_t)(p->caps_keep >> (32 * i));

		d[i].effective &= keep;
		d[i].permitted &= keep;
		d[i].inheritable &= keep;
	}
	if (syscall(SYS_capset, &hdr, d) < 0)
		init_fail(fd, errno, "capset", NULL);
}

/* Into the container's v1 cgroups, by itself: "0" into each `tasks` file moves the
 * calling thread (all of us: init is single-threaded) without the kernel's global
 * threadgroup lock that a move by pid takes (see cgroup_attach_init). Still as the
 * daemon's root, before init becomes its namespace's root. */
static void join_cgroups(const struct spawn_plan *p)
{
	for (char *const *t = p->join_tasks; t && *t; t++) {
		int fd = open(*t, O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, "0", 1) != 1)
			init_fail(p->report[1], errno, "join the cgroup", *t);
		close(fd);
	}
}

static void wait_for_go(int fd)
{
	char buf[2];
	size_t got = 0;

	while (got < sizeof(buf)) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);	/* the daemon gave up on us (or died) */
		got += (size_t)n;
	}
	if (memcmp(buf, "go", 2))
		_exit(1);
	close(fd);
}

/* An application container's own mount namespace gets the masks too (mask.c). */
static int app_mask(struct child_err *ce)
{
	int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), r;

	if (rootfd < 0)
		return spawn_child_err_set(ce, errno, "open", "/", NULL);
	r = mask_kernel_paths(rootfd, ce);
	close(rootfd);
	return r;
}

/* The tree out of what init's mount namespace will copy: a namespace of our own
 * (the supervisor's) without the tree's mounts. A slave of the host's: the host's
 * unmounts still reach it, so the supervisor pins nothing, and our detaching does
 * not travel back. (A mount namespace made with a user namespace locks what it
 * copies: init could not detach the tree there itself.) */
static void hide_tree(const struct spawn_plan *p)
{
	int r;

	if (p->sys || !(p->clone_flags & CLONE_NEWNS) || !p->hide_mounts || !p->hide_mounts[0])
		return;
	if (unshare(CLONE_NEWNS) < 0)
		info_fail(p->info[1], "unshare mnt namespace", errno, 0);
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		info_fail(p->info[1], "make / a slave", errno, 0);
	if ((r = hide_detach_mounts(p->hide_mounts, p->hide_fstype)) < 0)
		info_fail(p->info[1], "detach the tree", -r, 0);
}

static void init_setup(const struct spawn_plan *p, int rootfd, int hostname_tree)
{
	int fd = p->report[1];
	struct child_err ce;
	int r;

	/* root of our user namespace from here: what the set-up creates (/dev's files,
	 * mount points) is then owned by an id the namespace maps */
	if ((p->clone_flags & CLONE_NEWUSER) &&
	    (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0))
		init_fail(fd, errno, "become root of the user namespace", NULL);
	/* now, not at clone: the daemon has moved us into our cgroups since */
	if (p->new_cgroupns && unshare(CLONE_NEWCGROUP) < 0)
		init_fail(fd, errno, "unshare cgroup namespace", NULL);
	if ((p->clone_flags & CLONE_NEWNS) &&
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		init_fail(fd, errno, "make / private", NULL);
	if (p->sys && rootfs_setup(p, rootfd, hostname_tree, &ce) < 0)
		init_fail_err(fd, &ce);
	if (!p->sys &&
	    (p->clone_flags & (CLONE_NEWNS | CLONE_NEWPID)) == (CLONE_NEWNS | CLONE_NEWPID) &&
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		init_fail(fd, errno, "mount", "/proc");
	if (!p->sys && (p->clone_flags & CLONE_NEWNS) && app_mask(&ce) < 0)
		init_fail_err(fd, &ce);
	if ((p->clone_flags & CLONE_NEWUTS) && sethostname(p->hostname, strlen(p->hostname)) < 0)
		init_fail(fd, errno, "sethostname", NULL);
	if ((p->clone_flags & CLONE_NEWNET) && (r = loopback_up()) < 0)
		init_fail(fd, -r, "bring up lo", NULL);
	drop_caps_and_user(p);
	if (chdir(p->cwd) < 0)
		init_fail(fd, errno, "chdir", p->cwd);
}

/* execve, searching PATH (the container's, else the default) when cmd[0] has no '/',
 * as execvp would; execvp itself is not async-signal-safe. Returns the errno. */
static int exec_search(char **cmd, char **envp)
{
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	size_t clen = strlen(cmd[0]);
	char buf[PATH_MAX];
	int e = ENOENT;

	if (strchr(cmd[0], '/')) {
		execve(cmd[0], cmd, envp);
		return errno;
	}
	for (char **v = envp; *v; v++)
		if (!strncmp(*v, "PATH=", 5))
			path = *v + 5;
	for (const char *d = path;; d++) {
		size_t len = strcspn(d, ":");

		if (len + clen + 3 < sizeof(buf)) {
			size_t n = len ? len : 1;

			memcpy(buf, len ? d : ".", n);
			buf[n] = '/';
			memcpy(buf + n + 1, cmd[0], clen + 1);
			execve(buf, cmd, envp);
			if (errno != ENOENT && errno != ENOTDIR)
				e = errno;	/* EACCES and the like outrank "not found" */
		}
		d += len;
		if (!*d)
			return e;
	}
}

static __attribute__((noreturn)) void init_main(const struct spawn_plan *p)
{
	int keep[MAX_KEEP], n = 0, fd = p->report[1], rootfd = -1, hostname_tree = -1, e;

	keep[n++] = p->go[1];
	keep[n++] = p->report[1];
	keep[n++] = p->console[1];
	keep[n++] = p->sup_fd;
	keep[n++] = p->devnull;
	for (int i = 0; p->sys && i < p->sys->ntty; i++)
		keep[n++] = p->sys->tty_slave[i];
	/* Drop the info write end and the console read end at once: the daemon waits
	 * for EOF on info, and the supervisor for EOF on the console pipe. The tty
	 * masters are the supervisor's alone. */
	close_all_but(keep, n);
	/* an idmapped root comes first, mounted by the daemon (idmount.c) */
	if (p->sys && p->sys->idmapped && (rootfd = idmount_recv_root(p->go[1])) < 0)
		_exit(1);
	/* then the hostname file, cloned by the daemon (idmount.c) */
	if (p->sys && (hostname_tree = idmount_recv_fd(p->go[1], 'H')) < 0)
		_exit(1);
	wait_for_go(p->go[1]);
	join_cgroups(p);	/* first: nothing of the container runs outside them */
	setsid();	/* our own session and group, apart from the supervisor's */
	init_setup(p, rootfd, hostname_tree);
	if (hostname_tree >= 0)
		close(hostname_tree);	/* attached, or nothing to attach it over */

	/* fds: 0 /dev/null (a system container: the console), 1+2 the console,
	 * 3 the report pipe (reaper mode only) */
	if (dup2(p->sys ? p->console[1] : p->devnull, 0) < 0 ||
	    dup2(p->console[1], 1) < 0 || dup2(p->console[1], 2) < 0)
		init_fail(fd, errno, "dup2", NULL);
	/* the container's processes gain nothing through exec (setuid, file caps),
	 * and from here on its system calls pass the filter: the last steps */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		init_fail(fd, errno, "set no_new_privs", NULL);
	if ((e = seccomp_prog_load(&p->seccomp)) < 0)
		init_fail(fd, -e, "load the seccomp filter", NULL);
	if (!p->sys) {
		if (dup2(p->report[1], EXEC_FD) < 0)
			init_fail(fd, errno, "dup2", NULL);
		syscall(SYS_execveat, p->sup_fd, "", p->exec_argv, p->envp, AT_EMPTY_PATH);
		init_fail(fd, errno, "exec", SUPERVISOR_ARGV0 " reaper");
	}
	e = exec_search(p->cmd, p->envp);
	init_fail(fd, e, "exec", p->cmd[0]);
}

/* ---- the helper: leaves the daemon's family, clones init, becomes the supervisor */

/* The supervisor's pty layout: 3 the console master, 4 its slave, then the tty
 * masters, then their slaves. Ours are all above FD_FLOOR: nothing is overwritten. */
static int supervisor_ptys(const struct spawn_plan *p)
{
	const struct rootfs_plan *s = p->sys;

	if (dup2(p->console[1], EXEC_FD + 1) < 0)
		return -1;
	for (int i = 0; i < s->ntty; i++)
		if (dup2(s->tty_master[i], EXEC_FD + 2 + i) < 0 ||
		    dup2(s->tty_slave[i], EXEC_FD + 2 + s->ntty + i) < 0)
			return -1;
	return 0;
}

static __attribute__((noreturn)) void keeper_main(const struct spawn_plan *p)
{
	struct info_rec rec = { .kind = INFO_PIDS };
	char pidbuf[24], nttybuf[8];
	char *argv[] = { SUPERVISOR_ARGV0, "supervise", (char *)p->run_dir, pidbuf, "3",
			 p->sys ? nttybuf : NULL, NULL };
	char *envp[] = { NULL };
	bool in_cgroup;
	pid_t init;

	if (p->new_timens && unshare(CLONE_NEWTIME) < 0)
		info_fail(p->info[1], "unshare time namespace", errno, 0);
	hide_tree(p);
	init = raw_clone(p->clone_flags, p->cgroup_fd, &in_cgroup);
	if (init < 0)
		info_fail(p->info[1], "clone", errno, 0);
	if (init == 0)
		init_main(p);
	close(p->go[1]);
	close(p->report[1]);
	if (!p->sys)
		close(p->console[1]);	/* the pipe's EOF: every writer is gone */
	sigsafe_put_int(pidbuf, sizeof(pidbuf), 0, init);
	if (p->sys)
		sigsafe_put_int(nttybuf, sizeof(nttybuf), 0, p->sys->ntty);
	rec.sup = getpid();
	rec.init = init;
	rec.in_cgroup = in_cgroup;
	if (write(p->info[1], &rec, sizeof(rec)) != sizeof(rec))
		goto fail;
	if (dup2(p->devnull, 0) < 0 || dup2(p->devnull, 1) < 0 || dup2(p->devnull, 2) < 0 ||
	    dup2(p->console[0], EXEC_FD) < 0 || (p->sys && supervisor_ptys(p) < 0))
		goto fail;
	syscall(SYS_execveat, p->sup_fd, "", argv, envp, AT_EMPTY_PATH);
fail:
	rec.err = errno;
	kill(init, SIGKILL);
	waitpid(init, NULL, __WALL);
	info_fail(p->info[1], "exec supervisor", rec.err, init);
}

/* The daemon's CPUs and scheduling as they are now, read from its first thread
 * (never bound to a CPU nor made SCHED_BATCH), not those of the thread that spawned
 * the helper (a request's thread may be both: fusefs/uring.c). System calls only. */
static void sched_like_daemon(void)
{
	pid_t daemon = getppid();
	struct sched_param prio;
	cpu_set_t cpus;
	int policy;

	if (sched_getaffinity(daemon, sizeof(cpus), &cpus) == 0)
		sched_setaffinity(0, sizeof(cpus), &cpus);
	policy = sched_getscheduler(daemon);
	if (policy >= 0 && sched_getparam(daemon, &prio) == 0)
		sched_setscheduler(0, policy, &prio);
}

void spawn_helper_main(const struct spawn_plan *p)
{
	int keep[MAX_KEEP], n = 0;
	bool in_cgroup;
	pid_t x;

	keep[n++] = p->go[1];
	keep[n++] = p->report[1];
	keep[n++] = p->info[1];
	keep[n++] = p->console[0];
	keep[n++] = p->console[1];
	keep[n++] = p->sup_fd;
	keep[n++] = p->devnull;
	keep[n++] = p->cgroup_fd;
	for (int i = 0; p->sys && i < p->sys->ntty; i++) {
		keep[n++] = p->sys->tty_master[i];
		keep[n++] = p->sys->tty_slave[i];
	}
	/* Other threads' fds (and other spawns' pipes) must not linger in our
	 * children, or their EOFs would never come. */
	close_all_but(keep, n);
	reset_signals();	/* the daemon's handlers, mask and ignores are not ours */
	if (spawn_child_nofile.rlim_cur)	/* nor is its raised fd limit */
		setrlimit(RLIMIT_NOFILE, &spawn_child_nofile);
	sched_like_daemon();	/* nor the CPU or policy of the thread that spawned it */
	if (setsid() < 0)
		info_fail(p->info[1], "setsid", errno, 0);
	x = raw_clone(0, -1, &in_cgroup);
	if (x < 0)
		info_fail(p->info[1], "fork", errno, 0);
	if (x == 0)
		keeper_main(p);
	_exit(0);	/* the daemon reaps us: the supervisor is nobody's child of ours */
}
