/* cgroup.h - containers' cgroups behind one interface with two backends: v1/hybrid
 * (one hierarchy per controller, plus the unified mount when present) and pure v2
 * (controllers delegated through cgroup.subtree_control). The layout is detected once.
 * A container's cgroup is <parent>/<name> in every hierarchy; parent comes from
 * --cgroup-parent (relative: beneath the daemon's own cgroup in that hierarchy;
 * absolute: from the hierarchy's root). On pure v2 with a relative parent the daemon
 * first moves itself into the leaf containerfs.daemon of the cgroup it was started in,
 * which can then delegate controllers to <parent> (v2 keeps processes in leaves). */
#ifndef CFS_CGROUP_H
#define CFS_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config/config.h"
#include "error.h"
#include "keys.h"

enum cg_layout {
	CG_LAYOUT_V1,
	CG_LAYOUT_HYBRID,
	CG_LAYOUT_V2,
};

/* Detect the layout from /proc/self/mountinfo and /proc/self/cgroup, resolve the
 * parent in each hierarchy and create it (mkdir -p; on v2 enable the available
 * controllers down the path through cgroup.subtree_control). Call once. */
int cgroup_init(const char *parent, struct cfs_err *err);
/* At daemon exit: remove the parent directories cgroup_init created, where empty
 * (running containers keep theirs, and so the parent, alive). */
void cgroup_fini(void);
/* Lines "cgroup layout: hybrid", "cgroup controller memory: v1", ... for .checkconfig. */
char *cgroup_checkconfig(void);

/* Create <parent>/<name> in every hierarchy. EEXIST is not an error (adoption and
 * leftovers); the caller removes it with cgroup_destroy on failure. 1 if this call
 * made every directory (fresh cgroups, v1 cpusets filled from the parent's), else 0. */
int cgroup_create(const char *name, struct cfs_err *err);
/* Apply every [cgroup] setting of c (at start). fresh: the cgroups are cgroup_create's
 * new ones, so writes of the values a new cgroup has anyway are left out. */
int cgroup_apply_all(const char *name, const struct config *c, bool fresh, struct cfs_err *err);
/* Apply one key (alias or canonical) while running; c already holds the new value.
 * EOPNOTSUPP when the host lacks the controller (e.g. net_cls on v2), with err saying so. */
int cgroup_apply_key(const char *name, const struct config *c, enum key_id k,
		     struct cfs_err *err);
/* Check, without a running container, that the host can honour key k with the value
 * in c (EOPNOTSUPP for net_cls.classid != 0 without net_cls, ...). */
int cgroup_check_key(const struct config *c, enum key_id k, struct cfs_err *err);
/* Move pid into the container's cgroup in every hierarchy. ESRCH if no such pid. */
int cgroup_attach(const char *name, pid_t pid, struct cfs_err *err);
/* The same for a new init, leaving out the hierarchies it is in already: in_v2, it
 * was born in the container's cgroup2 directory (clone3's CLONE_INTO_CGROUP with
 * cgroup_v2_open's fd); joins_v1, it moves itself into the v1 ones (cgroup_join_paths).
 * Moving another process into a cgroup takes the kernel's cgroup_threadgroup_rwsem
 * for writing, which waits for an RCU grace period unless another writer came just
 * before (5-15 ms on an idle VM); a single-threaded process that writes "0" into a
 * v1 `tasks` file moves itself without it. */
int cgroup_attach_init(const char *name, pid_t pid, bool in_v2, bool joins_v1,
		       struct cfs_err *err);
/* The `tasks` files of the container's cgroups in the v1 hierarchies (a strv, NULL
 * on a host without v1 hierarchies), for init to write "0" into. 0 or -errno. */
int cgroup_join_paths(const char *name, char ***paths);
/* An fd (O_RDONLY, close-on-exec) of the container's directory in the cgroup2
 * hierarchy, for CLONE_INTO_CGROUP; -1 on a host without one (or on error). */
int cgroup_v2_open(const char *name);
/* Is pid in a cgroup beneath our parent (in any hierarchy)? 1 with the first
 * component below the parent (a container's name) in name, 0 if not, -errno. */
int cgroup_pid_container(pid_t pid, char *name, size_t n);
/* Hand the container's cgroup dirs to its root in a user namespace (uid, gid on the
 * host): the dirs and the files that delegation covers (procs, threads, tasks,
 * subtree_control), so an init such as systemd can manage its own subtree. */
int cgroup_chown(const char *name, uid_t uid, gid_t gid, struct cfs_err *err);
/* pids in the container's cgroup (sorted, malloc'd); 0 or -errno. */
int cgroup_pids(const char *name, pid_t **pids, size_t *n);
/* Freeze (true) or thaw; returns once the kernel reports FROZEN / THAWED, or
 * -ETIMEDOUT after timeout_ms (thawing again on a failed freeze). */
int cgroup_freeze(const char *name, bool frozen, int timeout_ms, struct cfs_err *err);
/* 1 frozen, 0 not, -errno if the cgroup is gone. */
int cgroup_is_frozen(const char *name);
/* SIGKILL every process in the container's cgroups (cgroup.kill where available,
 * else freeze, kill each, thaw) and wait until they are gone or timeout_ms. */
int cgroup_kill_all(const char *name, int timeout_ms);
/* Remove <parent>/<name> everywhere (killing what remains). 0 if already gone. */
int cgroup_destroy(const char *name, struct cfs_err *err);
/* Live statistic text (ends with '\n'), malloc'd; "" when the cgroup is gone. */
int cgroup_stat_read(const char *name, enum stat_id s, char **out);
/* What a system container mounts beneath its /sys/fs/cgroup (under its own cgroup
 * namespace, so each shows its own cgroup as the root), as the host has it: v1 and
 * hybrid: each hierarchy in the directory the host uses (cpu,cpuacct, systemd for
 * name=systemd, unified for cgroup2) on a tmpfs; pure v2: cgroup2 at dir "".
 * Up to max entries; the count, or -ENOSPC. */
struct cg_mount {
	char dir[64];		/* beneath /sys/fs/cgroup; "" for itself */
	char fstype[8];		/* "cgroup" or "cgroup2" */
	char data[128];		/* v1: its controllers, or name=... */
};
#define CG_MAX_MOUNTS 24
int cgroup_mount_plan(struct cg_mount *m, int max);

/* Does the container's cgroup exist (in any hierarchy)? */
bool cgroup_exists(const char *name);
/* Between these, cgroup_exists answers from one listing of every hierarchy made at
 * begin (loading the stored containers at start-up; no other thread runs). */
void cgroup_scan_begin(void);
void cgroup_scan_end(void);

/* ---- pure planning (cgroup_map.c): which file of which controller gets which value */
enum cg_backend {
	CG_BACKEND_V1,
	CG_BACKEND_V2,
};
struct cg_write {
	char controller[16];	/* "memory", "cpu", ... ("" for core v2 files) */
	char file[48];		/* "memory.limit_in_bytes", "cpu.max", ... */
	char value[256];
};
/* The writes that apply key k of c on backend b (up to max, count in *n), in the
 * order to make them; a write the kernel refuses with EINVAL (memsw below the old
 * limit) is retried after the others. An empty cpuset value on v1 means the
 * parent's (the writer substitutes it). Device keys on v2 produce no writes (see
 * cgroup_dev_bpf); net_cls.classid != 0 on v2 is EOPNOTSUPP. */
int cgroup_plan_key(enum cg_backend b, const struct config *c, enum key_id k,
		    struct cg_write *w, size_t max, size_t *n, struct cfs_err *err);
/* Does w, as planned (an empty v1 cpuset not yet filled in), write what a cgroup has
 * right after cgroup_create made it? Then a start can leave it out. Never true for
 * device rules (a new v1 cgroup inherits its parent's list). */
bool cgroup_write_is_fresh(enum cg_backend b, const struct cg_write *w);
/* Upper bound of the writes cgroup_plan_key can return for k (to size w). */
size_t cgroup_plan_max(const struct config *c, enum key_id k);
/* Write w of key k cannot be made because its file is missing (no such controller,
 * no swap accounting, no blkio.weight...). 1: try alt instead (bfq's weight files);
 * 0: skip it, the value is what the host does anyway (max, 0, the default);
 * -EOPNOTSUPP with err naming the setting and the value otherwise. */
int cgroup_plan_fallback(enum cg_backend b, const struct config *c, enum key_id k,
			 const struct cg_write *w, struct cg_write *alt, struct cfs_err *err);

/* Device rules. Both backends give them the v1 kernel's meaning: a reset ("a" to
 * devices.deny when the deny list holds a/all, else "a" to devices.allow), then every
 * allow rule, then every other deny rule, each applied to the exception list as v1
 * does. On v1 these are the writes; on v2 the resulting list is compiled to a
 * BPF_PROG_TYPE_CGROUP_DEVICE program (r0 = 1 allow, 0 deny). insns NULL: *n gets
 * an upper bound of the length. ENOSPC if max is too small. */
struct bpf_insn;
int cgroup_dev_bpf(const struct config *c, struct bpf_insn *insns, size_t max, size_t *n,
		   struct cfs_err *err);
/* The same decision without BPF: 1 allowed, 0 denied, -errno if a rule does not
 * parse. type 'b' or 'c'; access DEV_ACC_* bits (parse.h). */
int cgroup_dev_eval(const struct config *c, char type, unsigned major, unsigned minor,
		    unsigned access);

#endif
