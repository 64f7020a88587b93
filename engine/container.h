/* container.h - the engine's in-memory container record and the registry that
 * holds them; shared by registry.c, engine.c (settings), lifecycle.c (runtime) and
 * store.c (the state dir). Not seen outside engine/. */
#ifndef CFS_CONTAINER_H
#define CFS_CONTAINER_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "config/config.h"
#include "engine.h"
#include "fileio.h"
#include "run/spawn.h"

/* When each setting last changed (or the time set on it): the canonical keys' (an
 * alias shares its setting's); `config` and the directories show the latest. */
struct cfg_times {
	struct timespec key[K_COUNT];
};

struct container {
	char name[65];
	uint64_t id;
	pthread_mutex_t op_lock;	/* serialises writes and transitions (may be long) */
	pthread_mutex_t lock;		/* protects the fields below (always short) */
	struct config cfg;
	enum cfs_state state;
	int exit_status;		/* -1: never ran */
	bool has_rec;
	struct runrec rec;
	int sup_pidfd;			/* pidfd of the supervisor while running, else -1 */
	char last_error[256];
	struct cfg_times mtime;		/* last change or utime, persisted */
	struct timespec ctime;		/* last change of the configuration or its times */
	struct timespec state_time;	/* last state change (pid, exit_status too) */
	struct timespec error_time;	/* last_error's last change */
	char *run_dir;			/* RUN/NAME, malloc'd */
	struct container *next_by_name, *next_by_id;	/* the registry's hash chains */
	pthread_cond_t cond;		/* signalled when a run ends (with lock) */
	/* opens of `state` for writing so far: a waiting stop hands over when it changes */
	unsigned state_opens;
	bool monitored;			/* sup_pidfd is in the monitor's epoll set */
	bool finishing;			/* the run ended; its cleanup is under way */
	int refs;
	bool removed;
	bool broken;			/* its configuration on disk could not be loaded */
	uid_t owner_uid;		/* delegated to this user (0: root's) */
	gid_t owner_gid;
	char broken_why[300];
};

struct engine_globals {
	char state_dir[PATH_MAX];
	char run_dir[PATH_MAX];
	char supervisor_path[PATH_MAX];
	char cgroup_parent[PATH_MAX];
	char tree_fstype[64];
	bool debug;
};
extern struct engine_globals eng;

/* registry.c. get takes a reference (NULL if no such container); put drops it. */
struct container *container_get(const char *name);
void container_put(struct container *c);
/* One more reference to a container the caller holds one of. */
void container_ref(struct container *c);
/* Change the state (c->lock must NOT be held) and emit the event. */
void container_set_state(struct container *c, enum cfs_state st);
/* Change the state only from one of the states in from_mask (bits 1 << state): a
 * verb moves only from its own intermediate states, so the monitor's STOPPED (set
 * without the op lock when init ends) is never overwritten. true if changed. */
bool container_set_state_from(struct container *c, unsigned from_mask, enum cfs_state st);
#define ST_BIT(s) (1u << (s))
void container_set_error(struct container *c, const char *msg);	/* NULL: nothing */
/* Iterate over a snapshot of all containers (each reference held during fn). */
void container_foreach(void (*fn)(struct container *c, void *data), void *data);
/* Add c (its one reference becomes the registry's) and give it the next id; -EEXIST
 * if its name is taken, -ENOMEM. */
int registry_add(struct container *c);
/* Take c out of the registry (marked removed) and drop the registry's reference. */
void registry_remove(struct container *c);

/* store.c: the state dir, STATE/NAME/config as INI, written atomically. */
int store_save(const char *name, const struct config *cfg, struct cfs_err *err);
/* The mtime of STATE/NAME/config; 0 or -errno. */
int store_config_mtime(const char *name, struct timespec *mtime);
/* STATE/NAME/times: when each setting last changed, written atomically. */
int store_save_times(const char *name, const struct cfg_times *t, struct cfs_err *err);
/* Fill t from STATE/NAME/times; what it lacks (a configuration saved before times
 * were kept) gets the configuration file's own mtime. */
void store_load_times(const char *name, struct cfg_times *t);
/* EINVAL if cfg would not fit in the state dir (CFS_MAX_CONFIG as INI). */
int store_check(const struct config *cfg, struct cfs_err *err);
int store_remove(const char *name, struct cfs_err *err);
/* Calls fn for every container in the state dir; for one whose configuration cannot
 * be loaded, cfg holds the defaults and why says what is wrong (NULL otherwise). */
int store_load_all(int (*fn)(const char *name, struct config *cfg, const char *why),
		   struct cfs_err *err);
/* Is there a configuration of name on disk (or something we cannot tell)? */
bool store_has_config(const char *name);

/* idalloc.c: an unprivileged container (privileged 0) with an empty idmap gets 65536
 * ids of root's /etc/subuid and /etc/subgid ranges that no other container's idmap
 * uses and no other user's range touches, written to its idmap and persisted. Called (op_lock held) before a start. */
int idalloc_assign(struct container *c, struct cfs_err *err);

extern const char *idalloc_subuid, *idalloc_subgid;
/* Is [start, start+count) within user's (name or uid) ranges of the subid file? */
bool idalloc_owner_has(const char *path, const char *user, uid_t uid, uint64_t start,
		       uint64_t count);

/* delegate.c: delegation by ownership (STATE/NAME/owner). */
extern const char *delegate_usernet;
void delegate_load(struct container *c);
/* The uid of this thread's caller (engine_set_caller). */
uid_t delegate_caller(void);
void delegate_user_name(uid_t uid, char *buf, size_t n);
bool delegate_idmap_owned(const char *text, uid_t owner);
/* What a caller who is not root may change in c: 0 or -EPERM/-EACCES with err. */
int delegate_check(struct container *c, const struct config *newcfg, struct cfs_err *err);

/* lifecycle.c: the verbs (start, stop, freeze, ...) and what a run needs. */
int lifecycle_init(struct cfs_err *err);
void lifecycle_start_threads(void);
void lifecycle_fini(void);
int lifecycle_state_write(struct container *c, const char *verb, struct cfs_err *err);
/* EINVAL with the sentence for text that is not a verb or a target state. */
int lifecycle_bad_verb(const char *text, size_t len, struct cfs_err *err);
int lifecycle_autostart(struct container *c, struct cfs_err *err);
/* Init rebooted the container (its run is finished, STOPPED): start it again, in
 * the background, unless a verb came first or the daemon is ending. */
void lifecycle_reboot(struct container *c);
/* A live setting changed while running: apply it (cgroup keys). */
int lifecycle_apply_live(struct container *c, const struct config *newcfg, enum key_id k,
			 struct cfs_err *err);
/* Is the host able to honour key k's value (e.g. EOPNOTSUPP for net_cls)? */
int lifecycle_check_key(const struct config *cfg, enum key_id k, struct cfs_err *err);
void lifecycle_destroy(struct container *c);
/* `state` was opened for writing: a stop waiting for init to end hands over (its
 * write returns; the rest of the stop goes on in the background). */
void lifecycle_state_opened(struct container *c);

/* runtime.c: the files a run shows (pid, exit_status, log, ps, statistics, ns links),
 * tasks, and what the host can do (.checkconfig). */
int runtime_read(struct container *c, enum rt_file f, char **out, size_t *len);
int runtime_size(struct container *c, enum rt_file f, size_t *size);
int runtime_log_view(struct container *c, struct cfs_log_view *v);
ssize_t runtime_log_pread(struct container *c, const struct cfs_log_view *v, char *buf,
			  size_t size, uint64_t off);
int runtime_tasks_write(struct container *c, const char *buf, size_t len, struct cfs_err *err);
int runtime_stat_read(struct container *c, enum stat_id s, char **out);
int runtime_ns_link(struct container *c, int ns, char *target, size_t n);
char *runtime_checkconfig(void);
/* idmount.c: "yes" or "no (why)", probed once on the state dir. */
const char *idmount_checkconfig(void);

/* monitor.c: the thread that notices a supervisor's end and finishes the run. */
int monitor_init(void);
void monitor_start(void);
void monitor_fini(void);
/* Watch c's supervisor (c->sup_pidfd set); takes a reference. */
void monitor_watch(struct container *c);
/* At load: a run record whose supervisor lives makes c RUNNING (or FROZEN) and
 * watched; one whose supervisor is gone is finished. */
void monitor_adopt(struct container *c);
/* Is the end of c's run being cleaned up (no new process or freeze may enter)? */
bool monitor_finishing(struct container *c);
/* Wait until c is STOPPED or timeout_ms passed; true if stopped. */
bool monitor_wait_stopped(struct container *c, int timeout_ms);
/* The same, also ending early when until (called with c->lock held, at each
 * broadcast of c->cond) says so. */
bool monitor_wait_stopped_or(struct container *c, int timeout_ms,
			     bool (*until)(struct container *c, void *arg), void *arg);

#endif
