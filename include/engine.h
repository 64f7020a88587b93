/* engine.h - the only API the FUSE layer calls. Containers are addressed by name;
 * every call is thread-safe. Texts handed out are malloc'd and end with a newline
 * when not empty (the caller frees). Errors: -errno with err filled; the engine
 * also records the sentence as the container's last_error where the contract says so. */
#ifndef CFS_ENGINE_H
#define CFS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"
#include "keys.h"

#define CFS_VERSION "0.1.0"

enum cfs_state {
	ST_STOPPED,
	ST_STARTING,
	ST_RUNNING,
	ST_FREEZING,
	ST_FROZEN,
	ST_STOPPING,
};
const char *cfs_state_name(enum cfs_state s);

struct engine_opts {
	const char *state_dir;		/* persistent configuration */
	const char *run_dir;		/* runtime records */
	const char *cgroup_parent;	/* relative: beneath our own cgroup; absolute: from roots */
	const char *libexec_dir;	/* where containerfs-supervisor lives */
	/* mountinfo type of the tree ("fuse.containerfs"): such mounts are detached in
	 * application containers' mount namespaces */
	const char *tree_fstype;
	bool debug;
};

/* Load the state dir and adopt running containers (records in the run dir). A container
 * whose configuration cannot be loaded is kept (shown, adopted, last_error says why;
 * its settings answer EIO until a whole config is written). Fails only when the dirs
 * cannot be used or another daemon uses them. */
int engine_init(const struct engine_opts *o, struct cfs_err *err);
/* Start the engine's threads (after any fork of the daemon). */
void engine_start(void);
/* Start containers with autostart=1, one after the other (may take long: call it
 * from a thread of its own once the tree is usable). */
void engine_autostart(void);
/* Make a running engine_autostart return after the start under way. */
void engine_stop_autostart(void);
/* Stop background threads; running containers keep running. */
void engine_fini(void);

/* Registry. create: EINVAL (bad name), EEXIST. destroy: ENOENT, EBUSY (not STOPPED). */
int engine_create(const char *name, struct cfs_err *err);
int engine_destroy(const char *name, struct cfs_err *err);
/* true if it exists; *id is a number unique to this container for the daemon's life. */
bool engine_exists(const char *name, uint64_t *id);
/* Pin this thread's writes to the container with this id (0: unpin): a write by name
 * then fails with ENOENT, touching nothing, if the name is another container's now
 * (a file opened before `rmdir NAME; mkdir NAME` acts on the removed one only). */
void engine_pin(uint64_t id);
/* The name of the container with this id (0) or -ENOENT. */
int engine_name_of(uint64_t id, char *buf, size_t n);
/* NULL-terminated sorted malloc'd vector of names (free with strv_free). */
char **engine_list(void);

/* Settings (all keys, aliases included). read gives the value and a newline. write
 * takes a whole value (one-line values may end with one newline; lists are all their
 * lines) and applies it: validated, persisted atomically, and for live cgroup keys
 * applied to the running cgroup. Same value: success without change. */
int engine_setting_read(const char *name, enum key_id k, char **out, struct cfs_err *err);
int engine_setting_write(const char *name, enum key_id k, const char *buf, size_t len,
			 struct cfs_err *err);
/* Check the complete lines of a pending list value (for per-write checks). */
int engine_setting_check_lines(enum key_id k, const char *buf, size_t len,
			       struct cfs_err *err);

/* The whole configuration as INI; write replaces it all or nothing (INI or LXC). */
int engine_config_read(const char *name, char **out, struct cfs_err *err);
int engine_config_write(const char *name, const char *buf, size_t len, struct cfs_err *err);
/* Check the complete lines of a pending config document. */
int engine_config_check_lines(const char *buf, size_t len, struct cfs_err *err);

/* Runtime files. */
enum rt_file {
	RT_STATE,
	RT_PID,
	RT_EXIT_STATUS,
	RT_TASKS,
	RT_PS,
	RT_LOG,
	RT_LAST_ERROR,
	RT_RUNS,
};
int engine_runtime_read(const char *name, enum rt_file f, char **out, size_t *len,
			struct cfs_err *err);
/* `log` as a read-open found it: the tail of log.1, then of log.0, at that moment.
 * Reads come from those files (found again by device and inode), so an open holds
 * no copy of the output, and each open reads one consistent text. */
struct cfs_log_view {
	struct cfs_log_part {
		uint64_t dev, ino, off, len;	/* len 0: no such part */
	} part[2];				/* the older first */
};
int engine_log_view(const char *name, struct cfs_log_view *v);
/* Up to size bytes of v at off: bytes read, or -errno. A part whose file is gone
 * (a new run, or two rotations since the open) or shorter ends the text there. */
ssize_t engine_log_pread(const char *name, const struct cfs_log_view *v, char *buf, size_t size,
			 uint64_t off);
/* The length a runtime file would read now (st_size: clients that do not use
 * direct_io, such as sftp-server, stop reading there). */
int engine_runtime_size(const char *name, enum rt_file f, size_t *size);
/* A verb or target state; synchronous. */
int engine_state_write(const char *name, const char *buf, size_t len, struct cfs_err *err);
/* `state` is being opened for writing (called before the open is answered): a
 * `stop` waiting for init to end returns now and finishes by itself, so that the
 * new writer's truncation and write, which the kernel holds behind it, act at once. */
void engine_state_opened(const char *name);
/* One host pid: move it into the container's cgroups. */
int engine_tasks_write(const char *name, const char *buf, size_t len, struct cfs_err *err);
/* A live statistic (empty text while stopped). */
int engine_stat_read(const char *name, enum stat_id s, char **out, struct cfs_err *err);
enum cfs_state engine_state(const char *name);

/* ns/ links: the names, and the link target "/proc/PID/ns/NAME" while running. */
#define NS_COUNT 8
extern const char *const engine_ns_names[NS_COUNT];
int engine_ns_link(const char *name, int ns, char *target, size_t n);

/* Delegation. The credentials of the process a call is made for (this thread's
 * calls until the next engine_set_caller; 0:0 when never set): what a caller who is
 * not root writes is checked against what the container's owner may use. */
void engine_set_caller(uid_t uid, gid_t gid);
/* The container's owner (0:0 unless delegated); 0 or -ENOENT. */
int engine_owner(const char *name, uid_t *uid, gid_t *gid);
/* Give the container to uid:gid ((uid_t)-1 / (gid_t)-1: unchanged); root only
 * (EPERM). Persisted in the state dir. */
int engine_chown(const char *name, uid_t uid, gid_t gid, struct cfs_err *err);

/* Record why a write was rejected (the FUSE layer calls this for its own refusals). */
void engine_set_last_error(const char *name, const char *msg);

/* .checkconfig text. */
char *engine_checkconfig(void);

/* Times. A setting's mtime is the time of its last change, or the time a client set
 * on it (utime), kept with the configuration; an alias shows its setting's. section
 * -1 is `config` and the container directory (the latest of all settings), SEC_NET
 * and SEC_CGROUP their directories (the latest of theirs). ctime: the last change of
 * the configuration or of its times. */
int engine_setting_times(const char *name, enum key_id k, struct timespec *mtime,
			 struct timespec *ctime);
int engine_config_times(const char *name, int section, struct timespec *mtime,
			struct timespec *ctime);
/* Set the mtime of setting k, or with k == K_COUNT of every setting (`config`). */
int engine_set_mtime(const char *name, int k, const struct timespec *mtime, struct cfs_err *err);
/* A runtime file's mtime: state, pid, exit_status: the last state change; log: its
 * last line; last_error: its last change. 0, or -ENOENT (no time of its own). */
int engine_runtime_mtime(const char *name, enum rt_file f, struct timespec *mtime);

/* Changes of a configuration or of its times, after they are saved. Same rules as
 * the state callback. */
typedef void (*engine_config_fn)(const char *name, void *data);
void engine_set_config_cb(engine_config_fn fn, void *data);

/* State changes. The callback runs on an engine thread or inside the call that caused
 * the change, without engine locks held; it must not block. */
typedef void (*engine_event_fn)(const char *name, enum cfs_state st, void *data);
void engine_set_event_cb(engine_event_fn fn, void *data);

#endif
