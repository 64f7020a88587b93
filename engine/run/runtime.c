/* runtime.c - the runtime files of a container: state, pid, exit_status, tasks,
 * ps, log, last_error, the live statistics, ns/ links, and .checkconfig. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cleanup.h"
#include "container.h"
#include "monotime.h"
#include "net/net.h"
#include "config/parse.h"

static bool is_live(struct container *c)
{
	return c->has_rec && !c->finishing && c->state != ST_STOPPED && c->state != ST_STARTING;
}

/* The last pid of NSpid in /proc/PID/status: the pid inside the container. */
static pid_t pid_inside(pid_t pid)
{
	char path[64], line[256];
	pid_t inside = 0;
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "NSpid:", 6)) {
			char *last = strrchr(line, '\t');

			inside = last ? atoi(last + 1) : 0;
			break;
		}
	return inside;
}

static void cmdline_of(pid_t pid, char *buf, size_t n)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	len = fd >= 0 ? read(fd, buf, n - 1) : -1;
	if (len <= 0) {
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		_cleanup_close_ int cfd = open(path, O_RDONLY | O_CLOEXEC);

		len = cfd >= 0 ? read(cfd, buf + 1, n - 3) : -1;
		if (len <= 0) {
			buf[0] = '\0';
			return;
		}
		buf[0] = '[';	/* a kernel-style name, as ps shows it */
		len = (buf[len] == '\n') ? len : len + 1;
		buf[len] = ']';
		buf[len + 1] = '\0';
		return;
	}
	buf[len] = '\0';
	while (len > 0 && buf[len - 1] == '\0')
		len--;
	for (ssize_t i = 0; i < len; i++)
		if (buf[i] == '\0' || buf[i] == '\n')
			buf[i] = ' ';
	buf[len] = '\0';
}

static char *pid_lines(struct container *c, bool ps)
{
	pid_t *pids = NULL;
	size_t n = 0, used = 0, cap = 1;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	out[0] = '\0';
	if (cgroup_pids(c->name, &pids, &n) < 0)
		return out;
	for (size_t i = 0; i < n; i++) {
		char line[4200], cmd[4096];
		int len;

		if (ps) {
			cmdline_of(pids[i], cmd, sizeof(cmd));
			len = snprintf(line, sizeof(line), "%d %d %s\n", pids[i], pid_inside(pids[i]), cmd);
		} else {
			len = snprintf(line, sizeof(line), "%d\n", pids[i]);
		}
		if (used + len + 1 > cap) {
			cap = (used + len + 1) * 2;
			char *o = realloc(out, cap);

			if (!o)
				break;
			out = o;
		}
		memcpy(out + used, line, len + 1);
		used += len;
	}
	free(pids);
	return out;
}

int runtime_read(struct container *c, enum rt_file f, char **out, size_t *len)
{
	char buf[300] = "";
	bool live;

	pthread_mutex_lock(&c->lock);
	live = is_live(c);
	switch (f) {
	case RT_STATE:
		snprintf(buf, sizeof(buf), "%s\n", cfs_state_name(c->state));
		break;
	case RT_PID:
		if (live)
			snprintf(buf, sizeof(buf), "%d\n", c->rec.init_pid);
		break;
	case RT_EXIT_STATUS:
		if (c->exit_status >= 0)
			snprintf(buf, sizeof(buf), "%d\n", c->exit_status);
		break;
	case RT_LAST_ERROR:
		if (c->last_error[0])
			snprintf(buf, sizeof(buf), "%s\n", c->last_error);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&c->lock);
	if (f == RT_RUNS)
		return runrec_history_read(c->run_dir, out, len);
	if (f == RT_LOG)
		return runrec_log_read(c->run_dir, out, len) < 0 ? ((*out = strdup("")) ? (*len = 0, 0) : -ENOMEM) : 0;
	if (f == RT_TASKS || f == RT_PS)
		*out = live ? pid_lines(c, f == RT_PS) : strdup("");
	else
		*out = strdup(buf);
	if (!*out)
		return -ENOMEM;
	*len = strlen(*out);
	return 0;
}

int runtime_log_view(struct container *c, struct cfs_log_view *v)
{
	return runrec_log_view(c->run_dir, v);
}

ssize_t runtime_log_pread(struct container *c, const struct cfs_log_view *v, char *buf,
			  size_t size, uint64_t off)
{
	return runrec_log_pread(c->run_dir, v, buf, size, off);
}

int runtime_size(struct container *c, enum rt_file f, size_t *size)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	if (f == RT_LOG) {
		*size = runrec_log_size(c->run_dir);
		return 0;
	}
	r = runtime_read(c, f, &text, &len);
	free(text);
	*size = len;
	return r;
}

/* Same file? (st_dev, st_ino of two paths; false if either is unreadable) */
static bool same_file(const char *a, const char *b)
{
	struct stat x, y;

	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* tasks takes only ordinary processes of the host: never pid 1, the daemon, a
 * supervisor or anything of another container (whose next stop would kill it, or
 * which would carry the container's limits out of it). */
static int tasks_pid_allowed(struct container *c, pid_t pid, struct cfs_err *err)
{
	char p[64], q[64], owner[256];
	long tgid = -1;
	int r;

	if (pid == 1)
		return cfs_err_set_in(err, "tasks", EPERM, "%d is the host's init", (int)pid);
	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(p, "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!f)
		return cfs_err_set_in(err, "tasks", ESRCH, "there is no process %d", (int)pid);
	while (getline(&line, &cap, f) > 0 && sscanf(line, "Tgid: %ld", &tgid) != 1)
		;
	if (tgid == (long)getpid())
		return cfs_err_set_in(err, "tasks", EPERM, "%d is the containerfs daemon itself", (int)pid);
	snprintf(p, sizeof(p), "/proc/%d/exe", (int)pid);
	if (same_file(p, "/proc/self/exe"))
		return cfs_err_set_in(err, "tasks", EPERM, "%d is a containerfs daemon", (int)pid);
	if (same_file(p, eng.supervisor_path))
		return cfs_err_set_in(err, "tasks", EPERM, "%d is a containerfs supervisor", (int)pid);
	snprintf(q, sizeof(q), "/proc/%d/ns/pid", (int)pid);
	if (!same_file(q, "/proc/self/ns/pid"))
		return cfs_err_set_in(err, "tasks", EPERM,
				      "%d runs in another pid namespace (a container's)",
				      (int)pid);
	r = cgroup_pid_container(pid, owner, sizeof(owner));
	if (r > 0 && strcmp(owner, c->name))
		return cfs_err_set_in(err, "tasks", EPERM, "%d belongs to container '%s'", (int)pid, owner);
	return r < 0 && r != -ENOENT ? cfs_err_set_in(err, "tasks", -r, "%d: %s", (int)pid,
						      strerror(-r))
				     : 0;
}

int runtime_tasks_write(struct container *c, const char *buf, size_t len, struct cfs_err *err)
{
	char num[24];
	uint64_t pid;
	bool live;

	if (len && buf[len - 1] == '\n')
		len--;
	if (len == 0 || len >= sizeof(num) || memchr(buf, '\0', len))
		return cfs_err_set_in(err, "tasks", EINVAL, "'%.*s' is not one pid",
				      (int)(len > 30 ? 30 : len), buf);
	memcpy(num, buf, len);
	num[len] = '\0';
	if (parse_uint(num, 1, 4194304, &pid, err) < 0) {
		cfs_err_context(err, "tasks");
		return -EINVAL;
	}
	pthread_mutex_lock(&c->lock);
	live = is_live(c);
	pthread_mutex_unlock(&c->lock);
	if (!live)
		return cfs_err_set_in(err, "tasks", EBUSY, "the container is not running");
	int r = tasks_pid_allowed(c, (pid_t)pid, err);

	if (r == 0)
		r = cgroup_attach(c->name, (pid_t)pid, err);	/* ESRCH: no such process */

	if (r < 0)
		cfs_err_context(err, "tasks");
	return r;
}

int runtime_stat_read(struct container *c, enum stat_id s, char **out)
{
	bool live;

	pthread_mutex_lock(&c->lock);
	live = is_live(c);
	pthread_mutex_unlock(&c->lock);
	if (!live) {
		*out = strdup("");
		return *out ? 0 : -ENOMEM;
	}
	return cgroup_stat_read(c->name, s, out);
}

int runtime_ns_link(struct container *c, int ns, char *target, size_t n)
{
	int r = -ENOENT;

	pthread_mutex_lock(&c->lock);
	if (is_live(c)) {
		snprintf(target, n, "/proc/%d/ns/%s", c->rec.init_pid, engine_ns_names[ns]);
		r = 0;
	}
	pthread_mutex_unlock(&c->lock);
	if (r == 0 && access(target, F_OK) < 0)
		r = -ENOENT;	/* e.g. no time namespaces on this kernel */
	return r;
}

static bool fs_supported(const char *fs)
{
	char line[128];
	_cleanup_fclose_ FILE *f = fopen("/proc/filesystems", "re");

	while (f && fgets(line, sizeof(line), f)) {
		char *t = strrchr(line, '\t');

		if (t && !strncmp(t + 1, fs, strlen(fs)) && t[1 + strlen(fs)] == '\n')
			return true;
	}
	return false;
}

static const char *module_status(const char *mod)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", mod);
	if (access(path, F_OK) == 0)
		return "yes";
	return "module (not loaded)";
}

/* The probes make a network namespace and a veth: a stat and a read in a row
 * (ls -l, sshfs) share one probe. */
#define CHECKCONFIG_CACHE_MS 2000

static char *checkconfig_text(void);

char *runtime_checkconfig(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static char *cached;
	static long long when;
	long long now = monotonic_ms();
	char *out;

	pthread_mutex_lock(&lock);
	if (!cached || now - when > CHECKCONFIG_CACHE_MS) {
		free(cached);
		cached = checkconfig_text();
		when = now;
	}
	out = cached ? strdup(cached) : NULL;
	pthread_mutex_unlock(&lock);
	return out;
}

/* Does the kernel know system call nr? Called with arguments it refuses, so it
 * answers ENOSYS or another error without acting. */
static bool has_syscall(long nr)
{
	return syscall(nr, -1, "", NULL, 0, 0) == 0 || errno != ENOSYS;
}

static char *checkconfig_text(void)
{
	static const char *const ns[] = { "mnt", "pid", "uts", "ipc", "net", "user", "cgroup", "time" };
	_cleanup_free_ char *cg = cgroup_checkconfig();
	_cleanup_free_ char *net = net_checkconfig();
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
		fprintf(f, "namespace %s: %s\n", ns[i], access(path, F_OK) == 0 ? "yes" : "no");
	}
	fputs(cg ? cg : "cgroup layout: unknown\n", f);
	fprintf(f, "overlayfs: %s\n", fs_supported("overlay") ? "yes" : module_status("overlay"));
	fputs(net ? net : "veth: unknown\nbridge: unknown\n", f);	/* net: probed */
	fprintf(f, "pivot_root: yes\n");
	/* the kernel has seccomp filters when it answers PR_GET_SECCOMP */
	fprintf(f, "seccomp filter: %s\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 ? "yes" : "no");
	/* a user namespace with an idmap mounts its rootfs idmapped (idmount.c) */
	fprintf(f, "idmapped mounts: %s\n", idmount_checkconfig());
	fprintf(f, "openat2: %s\n",
		has_syscall(SYS_openat2)
			? "yes"
			: "no (mount targets are resolved by a walk of their components instead)");
	fprintf(f, "mount_setattr: %s\n",
		has_syscall(SYS_mount_setattr)
			? "yes"
			: "no (a system container with ro, nosuid, nodev or noexec on an rbind mount does "
			  "not start: its submounts could not be made so)");
	fprintf(f, "privileged containers: not root-safe (privileged = 1: root inside is root "
		   "on the host; privileged = 0: a user namespace, root inside is an unprivileged "
		   "id of root's /etc/subuid range; default privileged = %s)\n",
		key_default(K_PRIVILEGED, ""));
	fclose(f);
	return out;
}
