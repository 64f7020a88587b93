/* lifecycle.c - the verbs of `state`: start, stop, kill, freeze, thaw, restart
 * and the target states. Each runs with the container's op_lock held and returns
 * once the state is reached. A start is prepare (configuration, network check,
 * cgroups), spawn (init, its network, the run record) and commit (RUNNING); each
 * resource acquired is recorded in a struct start_run, so a failed start leaves
 * nothing behind (cgroups, processes, records): start_rollback undoes it. */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "container.h"
#include "log.h"
#include "monotime.h"
#include "net/net.h"
#include "config/parse.h"
#include "strv.h"

#define START_TIMEOUT_MS 20000
#define FREEZE_TIMEOUT_MS 10000
#define KILL_WAIT_MS 10000

static enum cfs_state get_state(struct container *c)
{
	enum cfs_state st;

	pthread_mutex_lock(&c->lock);
	st = c->state;
	pthread_mutex_unlock(&c->lock);
	return st;
}

int lifecycle_init(struct cfs_err *err)
{
	int r = cgroup_init(eng.cgroup_parent, err);

	if (r < 0)
		return r;
	return monitor_init();
}

void lifecycle_start_threads(void)
{
	monitor_start();
}

static atomic_int reboots_running;	/* restarts after a reboot inside, under way */
static atomic_bool reboots_refused;
static atomic_int handovers_running;	/* stops handed over, still under way */

/* fn(arg) in a detached thread that holds a reference of c and is counted in *running
 * (the daemon's exit waits for those); fn gives both back. 0, or pthread_create's error
 * with nothing taken. */
static int run_detached(struct container *c, void *(*fn)(void *), void *arg,
			atomic_int *running)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	container_ref(c);
	atomic_fetch_add(running, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		atomic_fetch_sub(running, 1);
		container_put(c);
	}
	return r;
}

void lifecycle_fini(void)
{
	/* a stop handed over ends by itself, at its deadline at the latest (the kill
	 * needs the monitor), as a stop in a request would */
	while (atomic_load(&handovers_running) > 0)
		usleep(10000);
	monitor_fini();
	/* the monitor is gone, so no restart begins now; wait for those under way */
	reboots_refused = true;
	for (int i = 0; i < START_TIMEOUT_MS / 10 && atomic_load(&reboots_running) > 0; i++)
		usleep(10000);
	cgroup_fini();
}

/* What a start has acquired so far; start_rollback gives it back in reverse. */
struct start_run {
	struct config cfg;	/* the copy this run is made from (zeroed until copied) */
	struct spawn_ctx sc;
	struct runrec rec;
	int pidfd;		/* the supervisor's, -1 until opened */
	bool starting;		/* this start set STARTING: the rest is its to undo */
	bool cg_made;		/* the cgroups exist */
	bool spawned;		/* the helper, init and its supervisor exist (spawn_begin) */
};

/* Prepare: a copy of the configuration, the network checked, state STARTING, old run
 * records cleared, the cgroups made and set. */
static int start_prepare(struct container *c, struct start_run *s, struct cfs_err *err)
{
	int r;

	pthread_mutex_lock(&c->lock);
	r = config_copy(&s->cfg, &c->cfg);
	pthread_mutex_unlock(&c->lock);
	if (r < 0)
		return cfs_err_set_in(err, "start", ENOMEM, "out of memory");
	/* cgroup settings were checked against the host when written, and applying
	 * them below fails (and rolls back) with the same sentence if the host changed */
	r = net_check(c->name, c->run_dir, &s->cfg, err);	/* net: veth before spawning */
	if (r < 0)
		return r;
	if (!container_set_state_from(c, ST_BIT(ST_STOPPED), ST_STARTING))
		return cfs_err_set_in(err, "start", EBUSY, "the container is %s",
				      cfs_state_name(get_state(c)));
	s->starting = true;
	runrec_clear(c->run_dir);
	pthread_mutex_lock(&c->lock);
	c->exit_status = -1;
	pthread_mutex_unlock(&c->lock);

	r = cgroup_create(c->name, err);
	if (r < 0)
		return r;
	s->cg_made = true;
	return cgroup_apply_all(c->name, &s->cfg, r == 1, err);
}

/* Spawn: init in its namespaces, attached to the cgroups, its network, a pidfd of its
 * supervisor; then init is released, its command's exec awaited, and the run recorded. */
static int start_spawn(struct container *c, struct start_run *s, struct cfs_err *err)
{
	char **join = NULL;
	int r;

	s->sc.name = c->name;
	s->sc.cfg = &s->cfg;
	s->sc.run_dir = c->run_dir;
	s->sc.supervisor_path = eng.supervisor_path;
	s->sc.hide_fstype = eng.tree_fstype;
	/* init born in its cgroup2 directory: no move, so no wait for the kernel's
	 * grace period on a v2-only host (see cgroup_attach_init) */
	s->sc.cgroup_fd = cgroup_v2_open(c->name);
	/* and joins the v1 ones by itself once released (no such wait either) */
	r = cgroup_join_paths(c->name, &join);
	if (r < 0) {
		if (s->sc.cgroup_fd >= 0)
			close(s->sc.cgroup_fd);
		return cfs_err_set_in(err, "start", -r, "cgroup paths: %s", strerror(-r));
	}
	s->sc.join_tasks = join;
	r = spawn_begin(&s->sc, err);
	if (s->sc.cgroup_fd >= 0)
		close(s->sc.cgroup_fd);
	s->sc.cgroup_fd = -1;
	s->sc.join_tasks = NULL;
	strv_free(join);
	if (r < 0)
		return r;
	s->spawned = true;
	r = cgroup_attach_init(c->name, s->sc.init_pid, s->sc.in_cgroup, true, err);
	if (r >= 0 && s->sc.mapped_root)
		r = cgroup_chown(c->name, s->sc.root_uid, s->sc.root_gid, err);
	if (r < 0)
		return r;
	r = net_setup(c->name, c->run_dir, &s->cfg, s->sc.init_pid, err);	/* net: the veth */
	if (r < 0)
		return r;
	s->pidfd = syscall(SYS_pidfd_open, s->sc.supervisor_pid, 0);
	if (s->pidfd < 0)
		return cfs_err_set_in(err, "start", errno, "pidfd_open: %m");
	s->rec.supervisor_pid = s->sc.supervisor_pid;
	s->rec.supervisor_start = runrec_proc_starttime(s->sc.supervisor_pid);
	s->rec.init_pid = s->sc.init_pid;
	s->rec.init_start = runrec_proc_starttime(s->sc.init_pid);
	r = spawn_finish(&s->sc, START_TIMEOUT_MS, err);
	if (r < 0)
		return r;
	/* Only a released init gets a record: a daemon killed before this point leaves
	 * no record, and the next one's cleanup removes what the cgroups hold (the start
	 * was never acknowledged), rather than adopting an init still waiting for "go". */
	r = runrec_write(c->run_dir, &s->rec);
	if (r < 0)
		return cfs_err_set_in(err, "start", -r, "cannot write the run record in %s: %s",
				      c->run_dir, strerror(-r));
	return 0;
}

/* Commit: nothing fails any more. The run becomes the container's (its record and
 * the pidfd), RUNNING, and the monitor watches it. */
static void start_commit(struct container *c, struct start_run *s)
{
	pthread_mutex_lock(&c->lock);
	c->rec = s->rec;
	c->has_rec = true;
	c->sup_pidfd = s->pidfd;
	pthread_mutex_unlock(&c->lock);
	container_set_state(c, ST_RUNNING);
	monitor_watch(c);	/* a command that already ended is noticed at once */
	config_free(&s->cfg);
}

/* Rollback of a failed start, in reverse: the processes killed, the pidfd closed,
 * the cgroups removed, a veth made, the run records, STOPPED again. A start that did
 * not get as far as STARTING (busy, or the network refused) changed nothing. */
static void start_rollback(struct container *c, struct start_run *s)
{
	if (s->spawned)
		spawn_abort(&s->sc);
	if (s->pidfd >= 0)
		close(s->pidfd);
	if (s->starting) {
		if (s->cg_made) {
			struct cfs_err e2 = { 0 };

			if (cgroup_destroy(c->name, &e2) < 0)
				log_err("%s: cleanup after a failed start: %s", c->name, e2.msg);
		}
		net_cleanup(c->run_dir);	/* net: a veth made before the failure */
		runrec_clear(c->run_dir);
		container_set_state(c, ST_STOPPED);
	}
	config_free(&s->cfg);
}

static int do_start(struct container *c, struct cfs_err *err)
{
	struct start_run s = { .pidfd = -1 };
	int r;

	/* privileged 0: the ids, once. Not rolled back: they stay the container's, and
	 * their sentences carry their own context. */
	r = idalloc_assign(c, err);
	if (r < 0)
		return r;
	r = start_prepare(c, &s, err);
	if (r >= 0)
		r = start_spawn(c, &s, err);
	if (r < 0) {
		start_rollback(c, &s);
		cfs_err_context(err, "start");
		return r;
	}
	start_commit(c, &s);
	return 0;
}

static int send_init_signal(struct container *c, int sig)
{
	struct runrec rec;
	int fd, r = 0;

	pthread_mutex_lock(&c->lock);
	rec = c->rec;
	pthread_mutex_unlock(&c->lock);
	fd = syscall(SYS_pidfd_open, rec.init_pid, 0);
	if (fd < 0)
		return -errno;
	/* the pidfd pins the process: check it is still our init before signalling */
	if (!runrec_alive(rec.init_pid, rec.init_start))
		r = -ESRCH;
	else if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* The verbs move only from the states they expect: when init ends on its own the
 * monitor sets STOPPED without the op lock, and that always wins. */
#define ST_LIVE (ST_BIT(ST_RUNNING) | ST_BIT(ST_FREEZING) | ST_BIT(ST_FROZEN) | ST_BIT(ST_STOPPING))

static int do_kill(struct container *c, struct cfs_err *err)
{
	if (!container_set_state_from(c, ST_LIVE, ST_STOPPING))
		return 0;	/* it ended meanwhile */
	send_init_signal(c, SIGKILL);
	cgroup_kill_all(c->name, KILL_WAIT_MS);
	if (!monitor_wait_stopped(c, KILL_WAIT_MS))
		return cfs_err_set(err, ETIMEDOUT, "kill: the container did not end");
	return 0;
}

/* stop.signal auto: the signal on which the running init halts the system, told by
 * the program it runs (/proc/PID/exe, as seen inside its root; the image may be
 * anything, so the running program is what there is to go by) and, for a
 * multi-call binary, the name it runs as (comm): busybox as `init` is busybox init,
 * busybox as `sh` is a shell, which takes SIGTERM. */
static int auto_stop_signal(pid_t init_pid)
{
	static const struct {
		const char *exe, *comm;	/* comm NULL: any */
		int sig;
	} inits[] = {
		{ "systemd", NULL, -3 },	/* SIGRTMIN+3: halt.target, then reboot(2) */
		/* busybox init: USR1 halt, USR2 poweroff, TERM reboot */
		{ "busybox", "init", SIGUSR2 },
		{ "busybox", "linuxrc", SIGUSR2 },
		/* sysvinit: its inittab's ctrlaltdel entry, in Debian's stock one
		 * `shutdown -r now`: a clean shutdown whose reboot, during a stop,
		 * leaves the container STOPPED (SIGPWR runs powerfail entries that
		 * stock images lack) */
		{ "init", NULL, SIGINT },
	};
	char path[64], exe[PATH_MAX], comm[32] = "";
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)init_pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return SIGTERM;
	exe[n] = '\0';
	if (n > 10 && !strcmp(exe + n - 10, " (deleted)"))
		exe[n - 10] = '\0';	/* replaced by an upgrade inside */
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)init_pid);
	if (read_file_into(path, comm, sizeof(comm)) > 0)
		comm[strcspn(comm, "\n")] = '\0';
	for (size_t i = 0; i < sizeof(inits) / sizeof(inits[0]); i++)
		if (!strcmp(base, inits[i].exe) && (!inits[i].comm || !strcmp(comm, inits[i].comm)))
			return inits[i].sig < 0 ? SIGRTMIN - inits[i].sig : inits[i].sig;
	return SIGTERM;
}

void lifecycle_state_opened(struct container *c)
{
	pthread_mutex_lock(&c->lock);
	c->state_opens++;
	pthread_cond_broadcast(&c->cond);	/* a waiting stop looks at state_opens */
	pthread_mutex_unlock(&c->lock);
}

/* A stop handed over: the rest of its wait and then the kill, with no request in
 * flight. It acts only on the run it was stopping, still STOPPING, in a container
 * not removed: a kill, a restart or an rmdir meanwhile leaves it nothing to do. */
struct handover {
	struct container *c;	/* a reference of its own */
	long long deadline;	/* monotonic ms: the stop's stop.timeout */
	struct runrec rec;	/* the run being stopped */
};

static void *handover_main(void *arg)
{
	struct handover *h = arg;
	struct container *c = h->c;
	long long left = h->deadline - monotonic_ms();
	bool same;

	if (!monitor_wait_stopped(c, left <= 0 ? 0 : (left > INT_MAX ? INT_MAX : (int)left))) {
		pthread_mutex_lock(&c->op_lock);
		pthread_mutex_lock(&c->lock);
		same = !c->removed && c->state == ST_STOPPING && c->has_rec &&
		       c->rec.supervisor_pid == h->rec.supervisor_pid &&
		       c->rec.supervisor_start == h->rec.supervisor_start;
		pthread_mutex_unlock(&c->lock);
		if (same) {
			struct cfs_err err = { 0 };

			if (do_kill(c, &err) < 0) {
				cfs_err_context(&err, "stop");
				log_err("%s: %s", c->name, err.msg);
				container_set_error(c, err.msg);
			}
		}
		pthread_mutex_unlock(&c->op_lock);
	}
	container_put(c);
	free(h);
	atomic_fetch_sub(&handovers_running, 1);
	return NULL;
}

/* 0: a thread of its own finishes the stop by deadline; -1: it could not be made
 * (the stop then goes on waiting in its request). */
static int hand_over(struct container *c, long long deadline)
{
	struct handover *h = calloc(1, sizeof(*h));
	int r;

	if (!h)
		return -1;
	h->c = c;
	h->deadline = deadline;
	pthread_mutex_lock(&c->lock);
	h->rec = c->rec;
	pthread_mutex_unlock(&c->lock);
	r = run_detached(c, handover_main, h, &handovers_running);
	if (r != 0) {
		log_err("%s: cannot hand the stop over: %s", c->name, strerror(r));
		free(h);
		return -1;
	}
	return 0;
}

static bool opened_since(struct container *c, void *arg)
{
	return c->state_opens != *(const unsigned *)arg;
}

/* may_hand_over: a `stop` written to `state` (not a restart's, which must start
 * again after it) returns early when another writer opens `state` while it waits
 * for init: the kernel would hold that writer's O_TRUNC (and, without parallel
 * writes, its write) until this write returned. */
static int do_stop(struct container *c, bool may_hand_over, struct cfs_err *err)
{
	int sig = SIGTERM, timeout;
	bool is_auto;
	pid_t init_pid;
	uint64_t t;
	unsigned opens;

	pthread_mutex_lock(&c->lock);
	opens = c->state_opens;	/* the writer of this stop opened before it */
	is_auto = !strcmp(config_val(&c->cfg, K_STOP_SIGNAL), "auto");
	if (!is_auto)
		parse_signal(config_val(&c->cfg, K_STOP_SIGNAL), &sig, NULL);
	config_uint(&c->cfg, K_STOP_TIMEOUT, &t, NULL);	/* the default if not a number */
	timeout = (int)t;
	init_pid = c->rec.init_pid;
	pthread_mutex_unlock(&c->lock);
	if (is_auto)
		sig = auto_stop_signal(init_pid);
	if (get_state(c) == ST_FROZEN) {
		/* a frozen init cannot act on its signal: thaw it first */
		struct cfs_err e2 = { 0 };

		if (cgroup_freeze(c->name, false, FREEZE_TIMEOUT_MS, &e2) < 0)
			return do_kill(c, err);
	}
	if (!container_set_state_from(c, ST_LIVE, ST_STOPPING))
		return 0;	/* it ended meanwhile */
	/* the wait (up to stop.timeout) holds no op lock: kill acts at once and other
	 * writes do not queue behind it; STOPPING keeps starts, freezes and tasks out */
	bool ended = false, handed = false;

	if (send_init_signal(c, sig) == 0) {
		long long deadline = monotonic_ms() + timeout * 1000LL, left;

		pthread_mutex_unlock(&c->op_lock);
		while (!ended && (left = deadline - monotonic_ms()) > 0) {
			bool opened;

			ended = monitor_wait_stopped_or(c, (int)left,
							may_hand_over ? opened_since : NULL, &opens);
			pthread_mutex_lock(&c->lock);
			opened = c->state_opens != opens;
			pthread_mutex_unlock(&c->lock);
			if (!ended && may_hand_over && opened) {
				handed = hand_over(c, deadline) == 0;
				if (handed)
					break;
				may_hand_over = false;	/* no thread: wait here */
			}
		}
		pthread_mutex_lock(&c->op_lock);
	}
	if (handed || ended || get_state(c) == ST_STOPPED)
		return 0;
	return do_kill(c, err);
}

static int do_freeze(struct container *c, struct cfs_err *err)
{
	int r;

	if (monitor_finishing(c) || !container_set_state_from(c, ST_BIT(ST_RUNNING), ST_FREEZING))
		return cfs_err_set(err, EBUSY, "state: cannot freeze a %s container",
				   cfs_state_name(get_state(c)));
	r = cgroup_freeze(c->name, true, FREEZE_TIMEOUT_MS, err);
	if (r < 0) {
		container_set_state_from(c, ST_BIT(ST_FREEZING), ST_RUNNING);
		return get_state(c) == ST_STOPPED
			       ? cfs_err_set(err, EBUSY, "state: the container stopped while freezing")
			       : r;
	}
	if (!container_set_state_from(c, ST_BIT(ST_FREEZING), ST_FROZEN))
		return cfs_err_set(err, EBUSY, "state: the container stopped while freezing");
	return 0;
}

static int do_thaw(struct container *c, struct cfs_err *err)
{
	int r = cgroup_freeze(c->name, false, FREEZE_TIMEOUT_MS, err);

	if (r < 0)
		return get_state(c) == ST_STOPPED
			       ? cfs_err_set(err, EBUSY, "state: the container stopped while thawing")
			       : r;
	if (!container_set_state_from(c, ST_BIT(ST_FROZEN), ST_RUNNING))
		return cfs_err_set(err, EBUSY, "state: the container stopped while thawing");
	return 0;
}

static int busy(struct container *c, const char *verb, struct cfs_err *err)
{
	return cfs_err_set(err, EBUSY, "state: cannot %s a %s container", verb,
			   cfs_state_name(get_state(c)));
}

int lifecycle_state_write(struct container *c, const char *verb, struct cfs_err *err)
{
	enum cfs_state st = get_state(c);
	bool running = st != ST_STOPPED;

	if (!strcmp(verb, "start") || (!strcmp(verb, "RUNNING") && st == ST_STOPPED)) {
		if (st == ST_RUNNING)
			return 0;
		if (st != ST_STOPPED)
			return busy(c, "start", err);
		return do_start(c, err);
	}
	if (!strcmp(verb, "stop") || !strcmp(verb, "STOPPED"))
		return st == ST_STOPPED ? 0 : do_stop(c, true, err);
	if (!strcmp(verb, "kill"))
		return st == ST_STOPPED ? 0 : do_kill(c, err);
	if (!strcmp(verb, "freeze") || !strcmp(verb, "FROZEN")) {
		if (st == ST_FROZEN)
			return 0;
		return st == ST_RUNNING ? do_freeze(c, err) : busy(c, "freeze", err);
	}
	if (!strcmp(verb, "thaw") || !strcmp(verb, "RUNNING")) {
		if (st == ST_RUNNING)
			return 0;
		return st == ST_FROZEN ? do_thaw(c, err) : busy(c, "thaw", err);
	}
	if (!strcmp(verb, "restart")) {
		int r = running ? do_stop(c, false, err) : 0;

		if (r == 0 && get_state(c) != ST_STOPPED)
			r = busy(c, "restart", err);	/* the old run has not ended */
		return r < 0 ? r : do_start(c, err);
	}
	return lifecycle_bad_verb(verb, strlen(verb), err);
}

int lifecycle_bad_verb(const char *text, size_t len, struct cfs_err *err)
{
	return cfs_err_set(err, EINVAL,
			   "state: '%.*s' is not a verb (start, stop, kill, freeze, "
			   "thaw, restart) or a state (RUNNING, STOPPED, FROZEN)",
			   (int)(len > 40 ? 40 : len), text);
}

/* A reboot inside: init ended by SIGHUP (reboot(2) in a pid namespace) and the
 * monitor has finished the run; start it again, in a thread of its own, as a
 * start can take seconds and the monitor serves every container. */
static void *reboot_main(void *arg)
{
	struct container *c = arg;
	struct cfs_err err = { 0 };
	bool removed;

	pthread_mutex_lock(&c->op_lock);
	pthread_mutex_lock(&c->lock);
	removed = c->removed;
	pthread_mutex_unlock(&c->lock);
	/* a verb may have come first (start, or rmdir): that wins */
	if (!removed && !reboots_refused && get_state(c) == ST_STOPPED) {
		log_info("%s: rebooted inside: starting it again", c->name);
		if (do_start(c, &err) < 0) {
			log_err("%s: start after a reboot inside failed: %s", c->name, err.msg);
			container_set_error(c, err.msg);
		}
	}
	pthread_mutex_unlock(&c->op_lock);
	container_put(c);
	atomic_fetch_sub(&reboots_running, 1);
	return NULL;
}

void lifecycle_reboot(struct container *c)
{
	int r;

	if (reboots_refused)
		return;
	r = run_detached(c, reboot_main, c, &reboots_running);
	if (r != 0)
		log_err("%s: cannot start it again after its reboot: %s", c->name, strerror(r));
}

int lifecycle_autostart(struct container *c, struct cfs_err *err)
{
	int r = 0;

	pthread_mutex_lock(&c->op_lock);
	if (get_state(c) == ST_STOPPED)
		r = do_start(c, err);
	if (r < 0)
		container_set_error(c, err ? err->msg : NULL);
	pthread_mutex_unlock(&c->op_lock);
	return r;
}

int lifecycle_apply_live(struct container *c, const struct config *newcfg, enum key_id k,
			 struct cfs_err *err)
{
	if (key_table[k].section != SEC_CGROUP)
		return 0;
	return cgroup_apply_key(c->name, newcfg, k, err);
}

int lifecycle_check_key(const struct config *cfg, enum key_id k, struct cfs_err *err)
{
	if (key_table[k].section != SEC_CGROUP)
		return 0;
	return cgroup_check_key(cfg, k, err);
}

void lifecycle_destroy(struct container *c)
{
	char sock[PATH_MAX];	/* system containers: left by a supervisor killed from outside */

	net_cleanup(c->run_dir);	/* net: its record lives in the run dir */
	runrec_clear(c->run_dir);
	runrec_history_clear(c->run_dir);
	if (snprintf(sock, sizeof(sock), "%s/" CONSOLE_SOCKET, c->run_dir) < (int)sizeof(sock))
		unlink(sock);
	rmdir(c->run_dir);
}
