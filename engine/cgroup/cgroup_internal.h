/* cgroup_internal.h - what cgroup.c shares with its backends cgroup_v1.c and
 * cgroup_v2.c: the hierarchies detected once by cgroup_init (a global that is
 * read-only afterwards, so any thread may read it), small file helpers and the
 * backend interface (struct cg_ops) that both backends implement.
 * Nothing outside engine/cgroup/ includes this (tests may). */
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

struct cg_ops;

struct cg_state {
	bool ready;
	enum cg_layout layout;
	int nh;
	struct cg_hier h[CG_MAX_HIER];
	int by_ctrl[CTRL_COUNT];	/* v1: hierarchy index carrying the controller, or -1 */
	int unified;			/* the cgroup2 hierarchy, or -1 */
	unsigned v2_mask;		/* v2: 1u << CTRL_* enabled for containers' cgroups */
	const struct cg_ops *ops;	/* the backend, chosen with the layout */
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

/* SIGKILL each of pids. */
void cg_kill_pids(const pid_t *pids, size_t n);
/* The writes cgroup_plan_key makes for key k, each resolved by the backend and
 * written (dry: only resolved, in the parent; fresh: new cgroups, so values they
 * already have are left out). */
int cg_apply_plan(const char *name, const struct config *c, enum key_id k, bool dry,
		  bool fresh, struct cfs_err *err);

/* ---- the backends: one table each, the same signatures, chosen once by cgroup_init
 * (cg1_ops on v1 and hybrid hosts, cg2_ops on pure v2). name is a container's name,
 * already checked (cgroup.c's valid_name). The v1 backend also covers the unified
 * half of a hybrid host, by calling cg2_ops where v1 has nothing (no v1 freezer, a
 * statistic without a v1 source, cgroup.kill). */
struct cg_ops {
	enum cg_backend plan;		/* whose writes cgroup_map.c plans */
	/* Where write w of the container's cgroup goes: 0 and path, or -ENOENT if the
	 * host lacks the file. dry: look in the parent instead (no container yet). May
	 * fix w->value (v1: an empty cpuset is the parent's). */
	int (*resolve)(const char *name, struct cg_write *w, bool dry, char *path, size_t n);
	/* A directory of hierarchy h that cgroup_init or cgroup_create made or found,
	 * before anything is written to it or moved into it (v1 cpusets start empty
	 * and refuse tasks). err may be NULL. */
	int (*prepare)(const struct cg_hier *h, const char *dir, struct cfs_err *err);
	/* Apply the device rules of c (k: the device key applied). dry: name is NULL,
	 * only check that the host can enforce them. */
	int (*devices_apply)(const char *name, const struct config *c, enum key_id k, bool dry,
			     bool fresh, struct cfs_err *err);
	/* Freeze (true) or thaw, waiting for the kernel to report it done (see
	 * cgroup_freeze); EOPNOTSUPP without a freezer. */
	int (*freeze)(const char *name, bool frozen, int timeout_ms, struct cfs_err *err);
	/* 1 frozen, 0 not (or no freezer), -errno. */
	int (*is_frozen)(const char *name);
	/* One round of SIGKILL to pids, the processes found in the hierarchies of mask,
	 * so that none escapes by forking meanwhile (cgroup.kill, or a freezer around
	 * the signals). */
	void (*kill)(const char *name, unsigned mask, const pid_t *pids, size_t n);
	/* Live statistic s; -ENOENT when this host has no source for it. */
	int (*stat)(const char *name, enum stat_id s, char **out);
	/* cgroup_mount_plan. */
	int (*mount_plan)(struct cg_mount *m, int max);
};

extern const struct cg_ops cg1_ops, cg2_ops;

/* Write 1 to cgroup.kill of the container's cgroup2 directory, if that hierarchy
 * is in mask: 0, or -ENOENT where there is none (no cgroup2, or before 5.14). */
int cg2_kill(const char *name, unsigned mask);
/* Enable the wanted controllers in cgroup.subtree_control from dir `from` down to
 * `to` (inclusive); sets cg.v2_mask from what `to` ends up delegating. */
int cg2_delegate(const char *from, const char *to, struct cfs_err *err);
/* On pure v2 the daemon leaves the cgroup it was started in for this leaf child
 * (cgroup_detect.c says why). */
#define DAEMON_LEAF "containerfs.daemon"

#endif
