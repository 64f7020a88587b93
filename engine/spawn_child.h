/* spawn_child.h - private to spawn.c and spawn_child.c: the plan the daemon
 * computes before fork (everything that needs memory) and what the forked helper
 * reports back on the info pipe. */
#ifndef CFS_SPAWN_CHILD_H
#define CFS_SPAWN_CHILD_H

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <sys/types.h>

#define FD_FLOOR 10		/* our fds sit above the 0-3 layout set up before exec */
#define EXEC_FD 3		/* where the reaper / supervisor find their pipe */
#define SUPERVISOR_ARGV0 "containerfs-supervisor"

/* Everything the children need, computed before fork. */
struct spawn_plan {
	char **cmd;		/* the command, split like a shell splits it */
	char **envp;		/* the container's environment */
	char **exec_argv;	/* reaper ... -- cmd (pointers into cmd) */
	char run_dir[PATH_MAX];	/* absolute: the supervisor runs in "/" */
	const char *hostname;
	const char *cwd;
	const char *rootfs;
	unsigned long clone_flags;	/* CLONE_NEW* given to clone */
	bool new_cgroupns;	/* unshared by init once it is in its cgroups */
	bool new_timens;	/* unshared by the helper: applies to its children */
	char **hide_mounts;	/* containerfs trees to detach in a new mount ns */
	uint64_t caps_keep;
	int last_cap;
	uid_t uid;
	gid_t gid;
	int sup_fd, devnull;
	int go[2];		/* socketpair: [0] daemon writes "go", [1] init reads */
	int report[2];		/* [0] daemon reads, [1] init/reaper/command write */
	int info[2];		/* [0] daemon reads, [1] the helper writes info_rec */
	int console[2];		/* [0] supervisor reads, [1] init's stdout+stderr */
};

/* What the helper tells the daemon: the pids, or which step failed. */
enum { INFO_PIDS = 1, INFO_ERR = 2 };
struct info_rec {
	int32_t kind;
	int32_t err;
	int32_t sup, init;
	char step[32];
};

/* The child of the daemon's fork: leaves the daemon's family (setsid, fork, exit),
 * its child clones init and then execs the supervisor; init waits for "go", sets
 * itself up and execs. Only system calls from here on: the daemon is threaded. */
__attribute__((noreturn)) void spawn_helper_main(const struct spawn_plan *p);

#endif
