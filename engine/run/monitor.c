/* monitor.c - noticing that a run has ended. One thread waits on the pidfds of
 * every running container's supervisor (epoll); when one ends, the run is
 * finished: exit status from the supervisor's record, cgroups removed, STOPPED.
 * Also the adoption of running containers by a daemon that starts again. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "container.h"
#include "log.h"
#include "net/net.h"

/* How long an adopting daemon waits for a supervisor whose init has ended */
#define ADOPT_END_WAIT_MS 2000

static int epfd = -1, stopfd = -1;
static pthread_t thread;
static bool thread_running;

int monitor_init(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (epfd < 0 || stopfd < 0)
		return -errno;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, stopfd, &ev) < 0 ? -errno : 0;
}

void monitor_watch(struct container *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	int fd = -1;

	pthread_mutex_lock(&c->lock);
	if (c->sup_pidfd >= 0 && !c->monitored) {
		c->monitored = true;
		fd = c->sup_pidfd;
	} else if (c->monitored) {
		log_err("%s: the supervisor is watched already", c->name);
	}
	pthread_mutex_unlock(&c->lock);
	if (fd < 0)
		return;
	container_ref(c);	/* the monitor's reference, dropped in monitor_finish */
	/* monitor_finish closes the fd only after it took it from c under the lock and
	 * found monitored set, which it then deletes from the set first */
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		log_err("%s: cannot watch the supervisor: %m", c->name);
}

static void finish(struct container *c, bool drop_ref)
{
	struct cfs_err err = { 0 };
	enum cfs_state was;
	bool sys, reboot;
	int status;

	pthread_mutex_lock(&c->lock);
	was = c->state;
	sys = *config_val(&c->cfg, K_ROOTFS);
	pthread_mutex_unlock(&c->lock);

	/* the pid namespace died with init; processes moved in from outside may not:
	 * cgroup_destroy kills what it finds before removing the cgroups */
	if (cgroup_destroy(c->name, &err) < 0)
		log_err("%s: %s", c->name, err.msg);
	/* net: the kernel removes a veth with its namespace, but not at once (and not
	 * while something else holds the namespace): remove it before STOPPED */
	net_cleanup(c->run_dir);
	status = runrec_exit_status(c->run_dir);
	char rec[PATH_MAX];

	snprintf(rec, sizeof(rec), "%s/record", c->run_dir);
	unlink(rec);
	if (status < 0)
		status = 255;
	/* reboot(2) in a pid namespace kills its init by SIGHUP (halt and power-off
	 * by SIGINT): a system container that rebooted by itself starts again. Only
	 * the monitor's own finish does this, not a daemon's adoption of an old run. */
	reboot = drop_ref && sys && was == ST_RUNNING && status == 128 + SIGHUP;
	if (runrec_history_add(c->run_dir, status,
			       reboot ? "reboot" : (was == ST_STOPPING ? "stop" : "exit")) < 0)
		log_err("%s: cannot add to the run history in %s", c->name, c->run_dir);
	pthread_mutex_lock(&c->lock);
	c->exit_status = status;
	c->has_rec = false;
	c->finishing = false;
	pthread_mutex_unlock(&c->lock);
	container_set_state(c, ST_STOPPED);
	pthread_mutex_lock(&c->lock);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (reboot)
		lifecycle_reboot(c);
	if (drop_ref)
		container_put(c);
}

/* The run of c has ended (supervisor gone): record the exit status, remove the
 * cgroups, state STOPPED. Idempotent; callable from any thread. */
static void monitor_finish(struct container *c)
{
	bool drop_ref;
	int fd;

	pthread_mutex_lock(&c->lock);
	fd = c->sup_pidfd;
	drop_ref = c->monitored;
	c->sup_pidfd = -1;
	c->monitored = false;
	if (fd >= 0)
		c->finishing = true;	/* tasks and freeze now refuse: see is_live */
	pthread_mutex_unlock(&c->lock);
	if (fd < 0)
		return;		/* someone else finished it */
	if (drop_ref)
		epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	finish(c, drop_ref);
}

bool monitor_finishing(struct container *c)
{
	bool f;

	pthread_mutex_lock(&c->lock);
	f = c->finishing;
	pthread_mutex_unlock(&c->lock);
	return f;
}

bool monitor_wait_stopped(struct container *c, int timeout_ms)
{
	return monitor_wait_stopped_or(c, timeout_ms, NULL, NULL);
}

bool monitor_wait_stopped_or(struct container *c, int timeout_ms,
			     bool (*until)(struct container *c, void *arg), void *arg)
{
	struct timespec ts;
	bool stopped;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&c->lock);
	while (c->state != ST_STOPPED && !(until && until(c, arg))) {
		if (!thread_running && c->sup_pidfd >= 0) {
			/* no monitor thread (start-up): poll the supervisor ourselves */
			struct pollfd p = { .fd = c->sup_pidfd, .events = POLLIN };

			pthread_mutex_unlock(&c->lock);
			if (poll(&p, 1, 100) > 0)
				monitor_finish(c);
			pthread_mutex_lock(&c->lock);
			struct timespec now;

			clock_gettime(CLOCK_REALTIME, &now);
			if (now.tv_sec > ts.tv_sec || (now.tv_sec == ts.tv_sec && now.tv_nsec >= ts.tv_nsec))
				break;
			continue;
		}
		if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT)
			break;
	}
	stopped = c->state == ST_STOPPED;
	pthread_mutex_unlock(&c->lock);
	return stopped;
}

static void *monitor_main(void *arg)
{
	struct epoll_event evs[32];

	for (;;) {
		int n = epoll_wait(epfd, evs, 32, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("monitor: epoll_wait: %m");
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr)
				return NULL;	/* stopfd */
			monitor_finish(evs[i].data.ptr);
		}
	}
}

static void watch_one(struct container *c, void *data)
{
	monitor_watch(c);
}

void monitor_start(void)
{
	if (pthread_create(&thread, NULL, monitor_main, NULL) == 0)
		thread_running = true;
	else
		log_err("cannot start the monitor thread");
	container_foreach(watch_one, NULL);
}

void monitor_fini(void)
{
	uint64_t one = 1;

	if (thread_running) {
		if (write(stopfd, &one, sizeof(one)) < 0)
			log_err("monitor: %m");
		pthread_join(thread, NULL);
		thread_running = false;
	}
}

/* A daemon that starts again finds what its run dir says: a live supervisor is a
 * running (or frozen) container; a dead one left an exit status and cgroups. */
void monitor_adopt(struct container *c)
{
	struct runrec rec;
	int st;

	if (runrec_read(c->run_dir, &rec) < 0) {
		st = runrec_exit_status(c->run_dir);
		c->exit_status = st >= 0 ? st : -1;
		if (cgroup_exists(c->name))
			cgroup_destroy(c->name, NULL);
		return;
	}
	if (runrec_alive(rec.supervisor_pid, rec.supervisor_start)) {
		int fd = syscall(SYS_pidfd_open, rec.supervisor_pid, 0);

		/* init gone, supervisor still there: it is recording the end of a run
		 * that ended while no daemon watched. Take that end rather than show
		 * RUNNING without a process. */
		if (fd >= 0 && !runrec_alive(rec.init_pid, rec.init_start)) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (poll(&p, 1, ADOPT_END_WAIT_MS) > 0) {
				close(fd);
				fd = -1;
			}
		}
		if (fd >= 0) {
			c->rec = rec;
			c->has_rec = true;
			c->sup_pidfd = fd;
			c->state = cgroup_is_frozen(c->name) == 1 ? ST_FROZEN : ST_RUNNING;
			log_info("%s: adopted, init pid %d", c->name, rec.init_pid);
			return;
		}
	}
	finish(c, false);
}
