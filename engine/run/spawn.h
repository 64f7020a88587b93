/* spawn.h - starting a container's processes. The daemon forks a helper that
 * becomes the container's supervisor (a small separate program, exec'd) after it
 * has cloned the container's init in new namespaces. The engine attaches init to its
 * cgroups and then lets it go; init finishes its own set-up (hostname, mounts, /proc,
 * user, cwd, env) and execs the command (application containers: through the
 * supervisor binary's reaper mode, which is then pid 1). */
#ifndef CFS_SPAWN_H
#define CFS_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "config/config.h"
#include "error.h"

struct spawn_ctx {
	/* in */
	const char *name;
	const struct config *cfg;
	const char *run_dir;		/* RUN/NAME: records and log files */
	const char *supervisor_path;	/* the containerfs-supervisor binary */
	const char *hide_fstype;	/* mounts of this type are detached in init */
	int cgroup_fd;			/* cgroup_v2_open's, or -1; stays the caller's */
	char *const *join_tasks;	/* cgroup_join_paths', or NULL; stays the caller's */
	/* out (after spawn_begin) */
	pid_t supervisor_pid;
	pid_t init_pid;			/* host pid of the container's pid 1 */
	bool in_cgroup;			/* init was born in cgroup_fd's cgroup */
	bool mapped_root;		/* a user namespace whose root is root_uid/gid */
	uid_t root_uid;
	gid_t root_gid;
	/* private */
	int go_fd;			/* write end: releases init */
	int report_fd;			/* read end: set-up/exec errors, EOF = exec'd */
};

/* A system container's supervisor serves its console and ttys on RUN/NAME/console.sock
 * (supervisor/supervisor.c has the protocol; scripts/cfs-console is the client). */
#define CONSOLE_SOCKET "console.sock"

/* Fork the supervisor-to-be, clone init in its namespaces (init then waits), and
 * return with supervisor_pid and init_pid set. On error nothing is left running. */
int spawn_begin(struct spawn_ctx *sc, struct cfs_err *err);
/* Release init and wait (up to timeout_ms) until the command has been exec'd or has
 * failed; on failure err says which step failed and why (e.g. "exec /nonexistent: No
 * such file or directory"), and the caller must kill and clean up. */
int spawn_finish(struct spawn_ctx *sc, int timeout_ms, struct cfs_err *err);
/* Abandon a spawn before or after spawn_finish failed: kill init and the supervisor
 * (SIGKILL) and reap what is ours. */
void spawn_abort(struct spawn_ctx *sc);

/* ---- run-dir records (runrec.c): RUN/NAME/{supervisor,init,exit,log.0,log.1} */
struct runrec {
	pid_t supervisor_pid;
	unsigned long long supervisor_start;	/* /proc/PID/stat starttime */
	pid_t init_pid;
	unsigned long long init_start;
};
/* Written by the daemon after spawn_begin (atomic). */
int runrec_write(const char *run_dir, const struct runrec *r);
/* 0 and *r, or -ENOENT. */
int runrec_read(const char *run_dir, struct runrec *r);
/* Is the recorded process still the same one (pid alive, same start time)? */
bool runrec_alive(pid_t pid, unsigned long long start);
unsigned long long runrec_proc_starttime(pid_t pid);
/* exit record written by the supervisor: shell-style status 0-255; -ENOENT if none. */
int runrec_exit_status(const char *run_dir);
/* Remove the records of a run (before a new start), keeping nothing. */
void runrec_clear(const char *run_dir);
/* Its length, without reading it (for st_size). */
size_t runrec_log_size(const char *run_dir);
/* The run history (RUN/NAME/runs): one line a finished run, `ENDED STATUS HOW`
 * (unix time, exit status, how it ended: exit, stop, reboot), the last
 * RUNREC_HISTORY kept, newest last. Rewritten atomically; 0 or -errno. */
#define RUNREC_HISTORY 16
int runrec_history_add(const char *run_dir, int status, const char *how);
/* The history as text (malloc'ed, "" when none); 0 or -ENOMEM. */
int runrec_history_read(const char *run_dir, char **out, size_t *len);
/* Remove the history and the other files that outlive a run (rmdir). */
void runrec_history_clear(const char *run_dir);
/* The time of the log's last line (its newer file's mtime); -ENOENT if none. */
int runrec_log_mtime(const char *run_dir, struct timespec *mtime);
/* The last 1 MiB of the console log (log.0 + log.1 in order), malloc'd. */
int runrec_log_read(const char *run_dir, char **out, size_t *len);
struct cfs_log_view;
/* The same text as runrec_log_read, described (engine_log_view) rather than copied,
 * and read from its files by offset. */
int runrec_log_view(const char *run_dir, struct cfs_log_view *v);
ssize_t runrec_log_pread(const char *run_dir, const struct cfs_log_view *v, char *buf,
			 size_t size, uint64_t off);

/* Raise the daemon's soft fd limit to its hard one (a pidfd per running container,
 * a supervisor pipe per start); containers are spawned with the limit it had. */
void spawn_raise_nofile(void);

#endif
