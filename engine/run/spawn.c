/* spawn.c - starting a container's processes, the daemon's side: plan everything
 * that needs memory (command, environment, namespaces, ids, caps, a system
 * container's root: rootfs.c), open the pipes, fork the helper (spawn_child.c), learn
 * the pids of the supervisor and init, write a user namespace's id maps, release init
 * and read its report; or kill it all. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "monotime.h"
#include "config/parse.h"
#include "rootfs.h"
#include "spawn.h"
#include "hide.h"
#include "seccomp.h"
#include "spawn_child.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define INFO_TIMEOUT_MS 10000	/* helper fork + clone + exec of the supervisor */
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void plan_close_fds(struct spawn_plan *p)
{
	int *fds[] = { &p->sup_fd, &p->devnull, &p->go[0], &p->go[1], &p->report[0],
		       &p->report[1], &p->info[0], &p->info[1], &p->console[0], &p->console[1] };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

static void plan_free(struct spawn_plan *p)
{
	if (!p)
		return;
	plan_close_fds(p);
	rootfs_plan_free(p->sys);
	strv_free(p->cmd);
	strv_free(p->envp);
	strv_free(p->hide_mounts);
	free(p->exec_argv);
	free(p->seccomp.filter);
	free(p);
}

static int read_last_cap(void)
{
	char buf[16] = "";
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	int v = CAP_LAST_CAP;

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			v = atoi(buf);
		close(fd);
	}
	return v > 0 && v < 64 ? v : CAP_LAST_CAP;
}

static int plan_caps(struct spawn_plan *p, const struct config *c, struct cfs_err *err)
{
	const char *keep = config_val(c, K_CAPS_KEEP);
	const char *drop = config_val(c, K_CAPS_DROP);
	uint64_t all, mask;
	int r;

	p->last_cap = read_last_cap();
	all = p->last_cap >= 63 ? ~0ULL : (1ULL << (p->last_cap + 1)) - 1;
	r = parse_cap_list(*keep ? keep : drop, &mask, err);
	if (r < 0) {
		cfs_err_prefix_in(err, "start", "%s", *keep ? "caps.keep" : "caps.drop");
		return r;
	}
	p->caps_keep = *keep ? (mask & all) : (all & ~mask);
	/* never more than the daemon's own bounding set: a new user namespace would
	 * otherwise start from the full set */
	for (int cap = 0; cap <= p->last_cap; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0)
			p->caps_keep &= ~(1ULL << cap);
	return 0;
}

/* The default environment, then the env lines, a later KEY replacing an earlier. */
static int plan_env(struct spawn_plan *p, const char *env)
{
	static const char *const base[] = { DEFAULT_PATH, "HOME=/", "container=containerfs" };
	size_t nbase = sizeof(base) / sizeof(base[0]), n = nbase, k = 0, len;

	for (const char *s = env; *s; s++)
		n += *s == '\n';
	p->envp = calloc(n + 2, sizeof(char *));
	if (!p->envp)
		return -ENOMEM;
	for (; k < nbase; k++)
		if (!(p->envp[k] = strdup(base[k])))
			return -ENOMEM;
	for (const char *pos = env, *s; config_next_line(&pos, &s, &len);) {
		size_t klen = strcspn(s, "=") + 1, i;
		char *line;

		if (len && klen <= len) {
			if (!(line = strndup(s, len)))
				return -ENOMEM;
			for (i = 0; i < k && strncmp(p->envp[i], line, klen); i++)
				;
			if (i < k)
				free(p->envp[i]);
			else
				k++;
			p->envp[i] = line;
		}
	}
	return 0;
}

static int plan_command(struct spawn_plan *p, const struct config *c, struct cfs_err *err)
{
	const char *init = config_val(c, K_INIT);
	int argc = 0, r;

	r = parse_shell_words(init, &p->cmd, &argc, err);
	if (r < 0) {
		cfs_err_prefix_in(err, "start", "init");
		return r;
	}
	if (argc == 0) {
		if (!p->rootfs[0])
			return cfs_err_set_in(err, "start", EINVAL,
					      "init is empty: an application container needs a command");
		strv_free(p->cmd);
		p->cmd = calloc(2, sizeof(char *));
		if (!p->cmd || !(p->cmd[0] = strdup("/sbin/init")))
			return cfs_err_set_in(err, "start", ENOMEM, "out of memory");
		argc = 1;
	}
	p->exec_argv = calloc((size_t)argc + 5, sizeof(char *));
	if (!p->exec_argv)
		return cfs_err_set_in(err, "start", ENOMEM, "out of memory");
	p->exec_argv[0] = SUPERVISOR_ARGV0;
	p->exec_argv[1] = "reaper";
	p->exec_argv[2] = "3";
	p->exec_argv[3] = "--";
	for (int i = 0; i < argc; i++)
		p->exec_argv[4 + i] = p->cmd[i];
	return 0;
}

static int plan_build(struct spawn_plan *p, const struct spawn_ctx *sc, struct cfs_err *err)
{
	const struct config *c = sc->cfg;
	const char *net = config_val(c, K_NET_TYPE);
	unsigned long ns;
	int r;

	p->rootfs = config_val(c, K_ROOTFS);
	p->hostname = *config_val(c, K_HOSTNAME) ? config_val(c, K_HOSTNAME) : sc->name;
	p->cwd = config_val(c, K_CWD);
	r = plan_command(p, c, err);
	if (r < 0)
		return r;
	r = parse_namespaces(config_val(c, K_NAMESPACES), &ns, err);
	if (r < 0) {
		cfs_err_prefix_in(err, "start", "namespaces");
		return r;
	}
	/* unprivileged (privileged 0): a user namespace whatever namespaces says */
	if (!config_privileged(c))
		ns |= CLONE_NEWUSER;
	if (!strcmp(net, "none"))	/* net/type none: the host's network */
		ns &= ~(unsigned long)CLONE_NEWNET;
	p->new_cgroupns = ns & CLONE_NEWCGROUP;
	p->new_timens = ns & CLONE_NEWTIME;
	if (ns & CLONE_NEWNS)
		p->hide_mounts = hide_own_mounts(sc->hide_fstype);
	p->hide_fstype = sc->hide_fstype;
	p->clone_flags = ns & ~(unsigned long)(CLONE_NEWCGROUP | CLONE_NEWTIME);
	if (p->clone_flags & CLONE_NEWUSER) {
		struct idmap_root root;

		r = parse_idmap(config_val(c, K_IDMAP), &root, err);
		if (r < 0) {
			cfs_err_prefix_in(err, "start", "idmap");
			return r;
		}
		p->mapped_root = root.set;
		p->root_uid = root.uid;
		p->root_gid = root.gid;
	}
	r = parse_uid_gid(config_val(c, K_USER), &p->uid, &p->gid, err);
	if (r < 0) {
		cfs_err_prefix_in(err, "start", "user");
		return r;
	}
	r = plan_caps(p, c, err);
	if (r < 0)
		return r;
	r = seccomp_prog_build(config_val(c, K_SECCOMP), &p->seccomp, err);
	if (r < 0)
		return r;
	if (p->rootfs[0]) {
		r = rootfs_plan(p, sc->name, c, err);
		if (r < 0)
			return r;
	}
	if (plan_env(p, config_val(c, K_ENV)) < 0)
		return cfs_err_set_in(err, "start", ENOMEM, "out of memory");
	r = fileio_mkdir_p(sc->run_dir, 0700);
	if (r < 0 || !realpath(sc->run_dir, p->run_dir))
		return cfs_err_set_in(err, "start", r < 0 ? -r : errno, "run dir %s: %s", sc->run_dir,
				      strerror(r < 0 ? -r : errno));
	r = seccomp_prog_save(p->run_dir, &p->seccomp, err);	/* for cfs-attach */
	if (r == 0 && p->sys)
		r = rootfs_plan_hostname(p, err);
	return r;
}

/* Keep our fds clear of 0-3, which the children lay out before exec. */
static int fd_raise(int fd)
{
	int nfd;

	if (fd < 0 || fd >= FD_FLOOR)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, FD_FLOOR);
	close(fd);
	return nfd;
}

static int plan_open_fds(struct spawn_plan *p, const char *sup_path, struct cfs_err *err)
{
	int *fds[] = { &p->sup_fd, &p->devnull, &p->go[0], &p->go[1], &p->report[0],
		       &p->report[1], &p->info[0], &p->info[1], &p->console[0], &p->console[1] };

	p->sup_fd = open(sup_path, O_PATH | O_CLOEXEC);
	if (p->sup_fd < 0)
		return cfs_err_set_in(err, "start", errno, "supervisor %s: %s", sup_path, strerror(errno));
	p->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	/* a system container's console is a pty, opened with its plan */
	if (p->devnull < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p->go) < 0 ||
	    pipe2(p->report, O_CLOEXEC) < 0 || pipe2(p->info, O_CLOEXEC) < 0 ||
	    (!p->sys && pipe2(p->console, O_CLOEXEC) < 0))
		return cfs_err_set_in(err, "start", errno, "pipes: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if ((*fds[i] = fd_raise(*fds[i])) < 0)
			return cfs_err_set_in(err, "start", errno, "fcntl: %s", strerror(errno));
	return 0;
}

/* Read until EOF or deadline; returns bytes read (at most n), -ETIMEDOUT or -errno. */
static ssize_t read_until_eof(int fd, void *buf, size_t n, long long deadline)
{
	size_t got = 0;
	char sink[256];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - monotonic_ms();
		ssize_t r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		/* past n bytes keep reading (and dropping) until EOF */
		r = got < n ? read(fd, (char *)buf + got, n - got) : read(fd, sink, sizeof(sink));
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (r == 0)
			return (ssize_t)got;
		if (r > 0 && got < n)
			got += (size_t)r;
	}
}

static int read_info(int fd, struct spawn_ctx *sc, struct cfs_err *err)
{
	struct info_rec recs[4], *bad = NULL;
	ssize_t n = read_until_eof(fd, recs, sizeof(recs), monotonic_ms() + INFO_TIMEOUT_MS);

	if (n < 0)
		return cfs_err_set_in(err, "start", -n, "waiting for the supervisor: %s",
				      strerror((int)-n));
	for (size_t i = 0; i < (size_t)n / sizeof(recs[0]); i++) {
		if (recs[i].kind == INFO_PIDS) {
			sc->supervisor_pid = recs[i].sup;
			sc->init_pid = recs[i].init;
			sc->in_cgroup = recs[i].in_cgroup;
		} else if (recs[i].kind == INFO_ERR) {
			bad = &recs[i];
		}
	}
	if (bad) {
		bad->step[sizeof(bad->step) - 1] = '\0';
		return cfs_err_set_in(err, "start", bad->err, "%s: %s", bad->step, strerror(bad->err));
	}
	if (sc->supervisor_pid <= 0 || sc->init_pid <= 0)
		return cfs_err_set_in(err, "start", EIO, "the spawning helper died before reporting");
	return 0;
}

/* Append the idmap lines of kind ('u' or 'g') as "INSIDE OUTSIDE COUNT\n". */
static int idmap_text(const char *idmap, char kind, char *out, size_t n, struct cfs_err *err)
{
	size_t at = 0, len;

	out[0] = '\0';
	for (const char *pos = idmap, *s; config_next_line(&pos, &s, &len);) {
		char line[CFS_MAX_VALUE];
		struct idmap_entry m;

		if (len && len < sizeof(line)) {
			memcpy(line, s, len);
			line[len] = '\0';
			if (parse_idmap_line(line, &m, err) < 0) {
				cfs_err_prefix_in(err, "start", "idmap");
				return -EINVAL;
			}
			if ((m.kind == kind || m.kind == 'b') && at < n)
				at += (size_t)snprintf(out + at, n - at, "%u %u %u\n",
						       m.inside, m.outside, m.count);
		}
	}
	if (!at)	/* no mapping given: the identity, so root stays root */
		snprintf(out, n, "0 0 4294967295\n");
	return at < n ? 0 : cfs_err_set_in(err, "start", EINVAL, "idmap: too many lines");
}

static int write_idmaps(pid_t pid, const struct config *c, struct cfs_err *err)
{
	const char *idmap = config_val(c, K_IDMAP);
	static const char *const files[] = { "uid_map", "gid_map" };
	_cleanup_free_ char *text = malloc(CFS_MAX_LIST);

	if (!text)
		return cfs_err_set_in(err, "start", ENOMEM, "out of memory");
	for (int i = 0; i < 2; i++) {
		char path[64];
		int fd, r;

		r = idmap_text(idmap, i ? 'g' : 'u', text, CFS_MAX_LIST, err);
		if (r < 0)
			return r;
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, files[i]);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return cfs_err_set_in(err, "start", errno, "%s: %s", path, strerror(errno));
		/* the kernel takes the whole map in one write */
		r = write(fd, text, strlen(text)) < 0 ? errno : 0;
		close(fd);
		if (r)
			return cfs_err_set_in(err, "start", r, "writing %s: %s", files[i], strerror(r));
	}
	return 0;
}

static void reap_helper(pid_t pid)
{
	/* ECHILD: someone else reaped it; either way it is gone */
	while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
		;
}

/* The helper, by vfork: it borrows our memory until it exits (it only makes system
 * calls and forks the supervisor-to-be), so the daemon's page tables are copied
 * once per start, not twice. Every signal stays blocked in it until it has reset
 * its handlers: none of ours may run on its stack. A function of its own, so the
 * child's frames touch none of the caller's variables. Its pid or -errno. */
static __attribute__((noinline)) pid_t helper_vfork(const struct spawn_plan *p)
{
	sigset_t all, old;
	pid_t a;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	a = vfork();
	if (a == 0)
		spawn_helper_main(p);
	if (a < 0)
		a = -errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return a;
}

int spawn_begin(struct spawn_ctx *sc, struct cfs_err *err)
{
	struct spawn_plan *p = calloc(1, sizeof(*p));
	int info_fd = -1, r;
	pid_t a;

	sc->supervisor_pid = sc->init_pid = 0;
	sc->in_cgroup = false;
	sc->go_fd = sc->report_fd = -1;
	if (!p)
		return cfs_err_set_in(err, "start", ENOMEM, "out of memory");
	p->sup_fd = p->devnull = -1;
	p->cgroup_fd = sc->cgroup_fd;
	p->join_tasks = sc->join_tasks;
	p->go[0] = p->go[1] = p->report[0] = p->report[1] = -1;
	p->info[0] = p->info[1] = p->console[0] = p->console[1] = -1;
	r = plan_build(p, sc, err);
	if (r >= 0)
		r = plan_open_fds(p, sc->supervisor_path, err);
	if (r < 0)
		goto out;
	a = helper_vfork(p);
	if (a < 0) {
		r = cfs_err_set_in(err, "start", -a, "fork: %s", strerror(-a));
		goto out;
	}
	sc->go_fd = TAKE_FD(p->go[0]);
	sc->report_fd = TAKE_FD(p->report[0]);
	info_fd = TAKE_FD(p->info[0]);
	plan_close_fds(p);	/* the children's ends: EOFs must mean what they say */
	reap_helper(a);
	r = read_info(info_fd, sc, err);
	if (r >= 0 && (p->clone_flags & CLONE_NEWUSER))
		r = write_idmaps(sc->init_pid, sc->cfg, err);
	if (r >= 0 && p->sys && p->sys->idmapped)
		r = idmount_root(p->sys, sc->init_pid, sc->go_fd, err);
	if (r >= 0 && p->sys)
		r = idmount_send_hostname(p->sys, sc->go_fd, err);
	sc->mapped_root = p->mapped_root;
	sc->root_uid = p->root_uid;
	sc->root_gid = p->root_gid;
	if (r < 0)
		spawn_abort(sc);
out:
	if (info_fd >= 0)
		close(info_fd);
	plan_free(p);
	return r;
}

int spawn_finish(struct spawn_ctx *sc, int timeout_ms, struct cfs_err *err)
{
	char msg[512];
	ssize_t n, sent;
	int e, code;
	char *tab;

	if (sc->go_fd < 0 || sc->report_fd < 0)
		return cfs_err_set_in(err, "start", EINVAL, "nothing to release");
	sent = send(sc->go_fd, "go", 2, MSG_NOSIGNAL);
	e = errno;
	close(sc->go_fd);
	sc->go_fd = -1;
	n = read_until_eof(sc->report_fd, msg, sizeof(msg) - 1, monotonic_ms() + timeout_ms);
	close(sc->report_fd);
	sc->report_fd = -1;
	if (n == -ETIMEDOUT)
		return cfs_err_set_in(err, "start", ETIMEDOUT, "init did not exec within %d ms", timeout_ms);
	if (n < 0)
		return cfs_err_set_in(err, "start", (int)-n, "reading init's report: %s",
				      strerror((int)-n));
	if (n == 0 && sent != 2)
		return cfs_err_set_in(err, "start", e, "init died before it was released: %s",
				      strerror(e));
	if (n == 0)
		return 0;	/* EOF and no word: the command was exec'd */
	msg[n] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	tab = strchr(msg, '\t');
	code = tab ? atoi(msg) : 0;
	if (code <= 0 || code > 4095)
		code = EIO;
	return cfs_err_set_in(err, "start", code, "%s", tab ? tab + 1 : msg);
}

/* SIGKILL what is there and wait (bounded) until it is dead. Through pidfds, so
 * a recycled pid is never hit. A dead process may stay a zombie a little longer:
 * its parent is the host's init, which reaps when it gets to it (every ~2 s on some
 * hosts); it holds nothing but its pid, so we do not wait for that. */
static void kill_and_wait(const pid_t *pids, int n)
{
	struct pollfd pfd[2];
	long long deadline = monotonic_ms() + 2000;
	int live = 0;

	for (int i = 0; i < n && i < 2; i++) {
		int fd = pids[i] > 0 ? (int)syscall(SYS_pidfd_open, pids[i], 0) : -1;

		if (fd < 0 && pids[i] > 0 && errno != ESRCH)
			kill(pids[i], SIGKILL);	/* no pidfds (before 5.3) */
		if (fd < 0)
			continue;
		syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
		pfd[live++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	for (int left = live; left > 0 && monotonic_ms() < deadline;) {
		if (poll(pfd, (nfds_t)live, 20) <= 0)
			continue;
		for (int i = 0; i < live; i++)
			if (pfd[i].revents && pfd[i].fd >= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;	/* poll skips it from now on */
				left--;
			}
	}
	for (int i = 0; i < live; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
}

void spawn_abort(struct spawn_ctx *sc)
{
	/* The supervisor first, so it does not record this non-run's exit. */
	pid_t pids[2] = { sc->supervisor_pid, sc->init_pid };

	char sock[PATH_MAX];

	if (sc->go_fd >= 0)
		close(sc->go_fd);	/* init waiting for "go" sees EOF and exits */
	if (sc->report_fd >= 0)
		close(sc->report_fd);
	sc->go_fd = sc->report_fd = -1;
	kill_and_wait(pids, 2);
	/* a killed supervisor cannot remove its console socket itself */
	if (snprintf(sock, sizeof(sock), "%s/" CONSOLE_SOCKET, sc->run_dir) < (int)sizeof(sock))
		unlink(sock);
}

void spawn_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	spawn_child_nofile = rl;	/* what containers get back */
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		spawn_child_nofile.rlim_cur = 0;
}
