/* cgroup_internal.h - what cgroup.c shares with its backends cgroup_v1.c and
 * cgroup_v2.c: the hierarchies detected once by cgroup_init (a global that is
 * read-only afterwards, so any thread may read it) and small file helpers.
 * Nothing outside engine/cgroup*.c includes this (tests may). */
#ifndef CFS_CGROUP_INTERNAL_H
#define CFS_CGROUP_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cgroup.h"
#include "fileio.h"
#include "monotime.h"

/* The controllers the engine uses, by their v1 names (blkio is v2's io). */
enum cg_ctrl {
	CTRL_CPU,
	CTRL_CPUACCT,
	CTRL_CPUSET,
	CTRL_MEMORY,
	CTRL_BLKIO,
	CTRL_DEVICES,
	CTRL_FREEZER,
	CTRL_PIDS,
	CTRL_NET_CLS,
	CTRL_COUNT
};

#define CG_MAX_HIER 24

struct cg_hier {
	char mnt[PATH_MAX];	/* where it is mounted */
	char base[PATH_MAX];	/* the parent of containers' cgroups, a directory */
	char own[PATH_MAX];	/* our cgroup as /proc/self/cgroup names it */
	char root[PATH_MAX];	/* the part of the hierarchy mounted at mnt */
	char devno[32];		/* the superblock: one entry per hierarchy */
	char ctrls[128];	/* "cpu,cpuacct", "name=systemd"; "" for cgroup2 */
	unsigned mask;		/* 1u << CTRL_* of the v1 controllers it carries */
	bool v2;
	int created;		/* trailing components of base that cgroup_init made */
};

struct cg_state {
	bool ready;
	enum cg_layout layout;
	int nh;
	struct cg_hier h[CG_MAX_HIER];
	int by_ctrl[CTRL_COUNT];	/* v1: hierarchy index carrying the controller, or -1 */
	int unified;			/* the cgroup2 hierarchy, or -1 */
	unsigned v2_mask;		/* v2: 1u << CTRL_* enabled for containers' cgroups */
};

extern struct cg_state cg;

int cg_ctrl_from_name(const char *s);			/* v1 or v2 name; -1 if unknown */

/* <base of hierarchy h>/<name>[/<file>] into buf; -ENAMETOOLONG. name may be NULL
 * (the base itself). */
int cg_path(char *buf, size_t n, int h, const char *name, const char *file);
/* Whole small control files: read (NUL-terminated; bytes read or -errno) and write
 * (one write). */
int cg_read(const char *path, char *buf, size_t n);
int cg_write(const char *path, const char *s);
/* The whole file as text ending with a newline (a statistic), malloc'd; 0 or -errno. */
int cg_read_text(const char *path, char **out);
bool cg_exists(const char *path);
/* Sleep a little while waiting for the kernel: 100 us first, then twice as long each
 * time up to 5 ms (*us holds the last sleep, 0 at first); false once past deadline
 * (monotonic_ms()). */
bool cg_wait_backoff(long long deadline, unsigned *us);

/* ---- v1 backend (cgroup_v1.c) */
/* Where write w of a container's cgroup goes: 0 and path, or -ENOENT if the host lacks
 * the file. dry: look in the parent instead (no container yet). Fixes w->value when
 * v1 needs a different text (an empty cpuset is the parent's). */
int cg1_resolve(const char *name, struct cg_write *w, bool dry, char *path, size_t n);
/* v1 cpusets start empty and refuse tasks: copy the parent's cpus and mems into dir. */
int cg1_cpuset_inherit(const char *dir);
int cg1_freeze(const char *name, bool frozen, int timeout_ms, struct cfs_err *err);
int cg1_is_frozen(const char *name);
/* Live statistic from v1 files; -ENOENT when this host has no v1 source for it. */
int cg1_stat(const char *name, enum stat_id s, char **out);

/* ---- v2 backend (cgroup_v2.c); dir is a cgroup directory of a cgroup2 mount */
int cg2_resolve(const char *name, struct cg_write *w, bool dry, char *path, size_t n);
/* Compile the device rules of c, load the program and attach it to dir, replacing the
 * one attached before (ours are named "cfs_devices"). check_only: load, not attach. */
int cg2_devices_apply(const char *dir, const struct config *c, bool check_only,
		      struct cfs_err *err);
int cg2_freeze(const char *dir, bool frozen, int timeout_ms, struct cfs_err *err);
int cg2_is_frozen(const char *dir);
/* cgroup.kill: 0, or -ENOENT where the kernel has none (before 5.14). */
int cg2_kill(const char *dir);
int cg2_stat(const char *name, enum stat_id s, char **out);
/* Enable the wanted controllers in cgroup.subtree_control from dir `from` down to
 * `to` (inclusive); sets cg.v2_mask from what `to` ends up delegating. */
int cg2_delegate(const char *from, const char *to, struct cfs_err *err);
/* On pure v2 the daemon leaves the cgroup it was started in for this leaf child
 * (cgroup_detect.c says why). */
#define DAEMON_LEAF "containerfs.daemon"

#endif
