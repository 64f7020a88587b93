/* spawn_child.h - private to spawn.c, spawn_child.c and the system-container files
 * (rootfs.c, mounts.c, console.c): the plan the daemon computes before fork
 * (everything that needs memory) and what the forked helper reports back. */
#ifndef CFS_SPAWN_CHILD_H
#define CFS_SPAWN_CHILD_H

#include <sys/resource.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <sys/types.h>
#include <linux/filter.h>

#include "keys.h"
#include "sigsafe.h"	/* the children build text with it (no stdio after fork) */

#define MAX_TTY KEY_TTY_MAX	/* the tty setting's range (keys.h) */
/* Our fds sit above what the children lay out before exec: 0-2, the supervisor's
 * console pair at 3-4 and its tty masters and slaves after them. */
#define FD_FLOOR (8 + 2 * MAX_TTY + 32)
#define EXEC_FD 3		/* where the reaper / supervisor find their pipe */
#define SUPERVISOR_ARGV0 "containerfs-supervisor"

struct rootfs_plan;

/* Everything the children need, computed before fork. */
struct spawn_plan {
	char **cmd;		/* the command, split like a shell splits it */
	char **envp;		/* the container's environment */
	char **exec_argv;	/* reaper ... -- cmd (pointers into cmd) */
	char run_dir[PATH_MAX];	/* absolute: the supervisor runs there */
	const char *hostname;
	const char *cwd;
	const char *rootfs;
	unsigned long clone_flags;	/* CLONE_NEW* given to clone */
	bool new_cgroupns;	/* unshared by init once it is in its cgroups */
	bool new_timens;	/* unshared by the helper: applies to its children */
	char **hide_mounts;	/* containerfs trees to detach in a new mount ns */
	const char *hide_fstype;	/* their type: none may be left */
	uint64_t caps_keep;
	struct sock_fprog seccomp;	/* the filter (seccomp.c); .filter NULL: none */
	int last_cap;
	uid_t uid;
	gid_t gid;
	bool mapped_root;	/* a user namespace whose idmap maps 0: root_uid/gid */
	uid_t root_uid;
	gid_t root_gid;
	int sup_fd, devnull;
	int cgroup_fd;		/* init is cloned into this cgroup2 dir; -1: none (not ours) */
	char *const *join_tasks;	/* v1 `tasks` files init writes "0" into (not ours) */
	int go[2];		/* socketpair: [0] daemon writes "go", [1] init reads */
	int report[2];		/* [0] daemon reads, [1] init/reaper/command write */
	int info[2];		/* [0] daemon reads, [1] the helper writes info_rec */
	/* [0] supervisor reads, [1] init's stdout+stderr; a pty (master, slave) for a
	 * system container, else a pipe */
	int console[2];
	struct rootfs_plan *sys;	/* system container (rootfs set), else NULL */
};

/* What the helper tells the daemon: the pids, or which step failed. */
enum {
	INFO_PIDS = 1,
	INFO_ERR = 2,
};
struct info_rec {
	int32_t kind;
	int32_t err;
	int32_t sup, init;
	int32_t in_cgroup;	/* init was born in cgroup_fd's cgroup */
	char step[32];
};

/* A failure in init's set-up, told to the daemon as "ERRNO\tTEXT". */
struct child_err {
	int err;
	char text[400];
};

/* ce = "WHAT[ 'ARG']: WHY" (WHY NULL: the text of e); returns -e. */
int spawn_child_err_set(struct child_err *ce, int e, const char *what, const char *arg,
			const char *why);

/* The child of the daemon's vfork (it shares the daemon's memory, with every signal
 * blocked): leaves the daemon's family (setsid, fork, exit), its child clones init
 * and then execs the supervisor; init waits for "go", sets itself up and execs.
 * Only system calls from here on: the daemon is threaded. */
__attribute__((noreturn)) void spawn_helper_main(const struct spawn_plan *p);

/* The fd limit containers start with: the daemon's own before it raised it. */
extern struct rlimit spawn_child_nofile;

#endif
