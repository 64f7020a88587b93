/* fs.h - the FUSE layer's internal interfaces: inode numbering, nodes, open
 * handles, client temp files and events. The layer turns file operations into
 * engine calls and nothing else; it includes only include/ and libfuse. */
#ifndef CFS_FS_H
#define CFS_FS_H

/* 3.12: fuse_session_loop_mt takes the opaque fuse_loop_cfg made by
 * fuse_loop_cfg_create(); below it, the same name is the 3.2 symbol that reads
 * the old two-field struct, and the settings in main.c would be misread */
#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "engine.h"
#include "keys.h"

/* Inode numbers. Top-level files are small constants; everything inside a
 * container is (container id << 16) | sub; client temp files have bit 62 set. */
#define INO_ROOT 1
#define INO_VERSION 2
#define INO_CHECKCONFIG 3
#define INO_EVENTS_ALL 4
#define INO_TMP_BIT (1ULL << 62)

enum node_kind {
	N_NONE,
	N_ROOT,
	N_VERSION,
	N_CHECKCONFIG,
	N_EVENTS_ALL,
	N_CDIR,		/* container directory */
	N_NETDIR,
	N_CGDIR,
	N_NSDIR,
	N_CONFIG,
	N_KEY,		/* a setting: arg = key id */
	N_RT,		/* runtime file: arg = enum rt_file, or RT_EVENTS */
	N_STAT,		/* statistic: arg = stat id */
	N_NSLINK,	/* ns/ link: arg = ns index */
	N_TMP,		/* client temp file */
};
#define RT_EVENTS 100

#define SUB_CDIR 0x0001
#define SUB_NETDIR 0x0002
#define SUB_CGDIR 0x0003
#define SUB_NSDIR 0x0004
#define SUB_CONFIG 0x0010
#define SUB_KEY 0x0100
#define SUB_RT 0x0200
#define SUB_EVENTS 0x02ff
#define SUB_STAT 0x0300
#define SUB_NSLINK 0x0400

struct node {
	enum node_kind kind;
	int arg;
	uint64_t cid;		/* container id (0 for top level) */
	char cname[65];		/* container name */
	fuse_ino_t ino;
};

/* nodes.c */
int node_from_ino(fuse_ino_t ino, struct node *n);
fuse_ino_t node_ino(uint64_t cid, unsigned sub);
/* "state", "pid", ... "events": the file name of a runtime file. */
const char *rt_file_name(int rt);
/* Resolve name in directory parent; 0 or -ENOENT. */
int node_lookup(const struct node *parent, const char *name, struct node *out);
/* Fill st for n; 0 or -errno. */
int node_stat(const struct node *n, struct stat *st);
bool node_is_dir(const struct node *n);
/* The directory a node of kind dir stands for, for temp files: SEC_* or -1. */
int node_dir_section(const struct node *dir);
/* The entries of directory n as a NULL-terminated array of (name, ino, mode). */
struct dirent_lite {
	char name[256];
	fuse_ino_t ino;
	mode_t type;
};
int node_list(const struct node *n, struct dirent_lite **out, size_t *count);
extern time_t fs_start_time;

/* tmpfile.c: files clients create in container directories (sed -i, Ansible). */
struct tmpfile;
int tmp_create(const struct node *dir, const char *name, mode_t mode, fuse_ino_t *ino);
int tmp_lookup(fuse_ino_t dir, const char *name, fuse_ino_t *ino);
int tmp_stat(fuse_ino_t ino, struct stat *st);
int tmp_unlink(fuse_ino_t dir, const char *name);
int tmp_rename(fuse_ino_t dir, const char *name, fuse_ino_t newdir, const char *newname);
/* Take the content of a temp file (malloc'd) and its directory; the file stays. */
int tmp_content(fuse_ino_t ino, char **buf, size_t *len);
int tmp_read(fuse_ino_t ino, char *buf, size_t size, off_t off, size_t *got);
int tmp_write(fuse_ino_t ino, const char *buf, size_t size, off_t off, bool append);
int tmp_setattr(fuse_ino_t ino, const struct stat *attr, int to_set);
/* Remove every temp file in the directories of container cid. */
void tmp_drop_container(uint64_t cid);
/* List temp files of directory dir (appended to the listing). */
int tmp_list(fuse_ino_t dir, struct dirent_lite **out, size_t *count, size_t *cap);
/* The temp file's directory inode, or 0. */
fuse_ino_t tmp_parent(fuse_ino_t ino);
void tmp_forget(fuse_ino_t ino, uint64_t nlookup);

/* holes.c: an unlinked setting, held for the process that unlinked it until it
 * creates the name again (install, tar -x, mv across filesystems). */
enum { HOLE_NONE, HOLE_OTHER /* another's: show the setting, uncached */,
       HOLE_GONE /* this process's: ENOENT */, HOLE_REPLACED /* its replacement: *tmp */ };
int hole_open(const struct node *dir, const char *name, const struct node *setting, pid_t pid,
	      uid_t uid, gid_t gid);
int hole_lookup(fuse_ino_t dir, const char *name, pid_t pid, fuse_ino_t *tmp);
/* -ENOENT: not a hole of pid (create as usual) */
int hole_create(const struct node *dir, const char *name, mode_t mode, pid_t pid,
		fuse_ino_t *ino);
/* unlink of the replacement itself: back to a hole without one */
int hole_drop_replacement(fuse_ino_t dir, const char *name, pid_t pid);
/* At the replacement's flush by pid (0: its release): its content becomes the
 * setting. 0 if tmp is none (or pid not its writer). */
int hole_land(fuse_ino_t tmp, pid_t pid, struct cfs_err *err);
/* End the holes whose process is gone or whose wait is over. */
void holes_settle(void);
/* pid failed to remove something of container cid: its unlinks there reset nothing */
void holes_cancel(uint64_t cid, pid_t pid);
void holes_drop_container(uint64_t cid);

/* events.c */
void events_init(struct fuse_session *se);
void events_fini(void);
void events_on_change(const char *name, enum cfs_state st, void *data);
void events_on_config(const char *name, void *data);
void events_removed(const char *name);
/* A container was given to another owner: the kernel forgets the attributes it keeps. */
void events_owner_changed(uint64_t cid);
struct ev_handle;
struct ev_handle *events_open(const char *cname /* NULL for .events */, uint64_t cid,
			      bool nonblock);
void events_release(struct ev_handle *h);
void events_read(fuse_req_t req, struct ev_handle *h, size_t size);
void events_poll(fuse_req_t req, struct ev_handle *h, struct fuse_pollhandle *ph);

/* Every open file or directory is linked here, so that what the kernel never
 * released (a session cut short by an unmount) is freed at exit. */
struct fh_link {
	struct fh_link *next, *prev;
	void (*free_fn)(struct fh_link *l);
	uint64_t id;		/* what fi->fh holds: never a pointer */
	int refs;
	bool released;
};
/* Register an open object (one reference: the open's) and return its fh id. A killed
 * reader's READ may still be running when its RELEASE arrives, so every operation
 * takes a reference by id (fh_get) and drops it (fh_put); the object is freed when the
 * last one goes. */
uint64_t fh_track(struct fh_link *l, void (*free_fn)(struct fh_link *l));
struct fh_link *fh_get(uint64_t id);
void fh_put(struct fh_link *l);
/* RELEASE: no new fh_get succeeds; drops the open's reference. */
void fh_release(struct fh_link *l);
void fh_free_all(void);

/* handle.c: per-open state of settings, runtime files and config. */
struct handle {
	struct fh_link link;	/* first: the handle is its own link */
	pthread_mutex_t lock;	/* one operation at a time on the buffers */
	struct node node;
	int flags;		/* open flags */
	char *snap;		/* read snapshot */
	size_t snap_len;
	bool snap_done;
	char *pend;		/* pending write (lists, config) */
	size_t pend_len, pend_cap;
	bool dirty;
	int failed;		/* errno of a refused write: nothing is applied */
	struct ev_handle *ev;
	uid_t uid;		/* who opened it: writes are made for them */
	gid_t gid;
};
static inline void handle_set_owner(struct handle *h, const struct fuse_ctx *ctx)
{
	if (h) {
		h->uid = ctx->uid;
		h->gid = ctx->gid;
	}
}
int handle_open(const struct node *n, int flags, struct handle **out);
void handle_free(struct handle *h);
void handle_free_link(struct fh_link *l);
int handle_read(struct handle *h, size_t size, off_t off, const char **buf, size_t *got);
/* A write; returns bytes taken or -errno (err filled). */
ssize_t handle_write(struct handle *h, const char *buf, size_t size, off_t off,
		     struct cfs_err *err);
/* Apply what is pending (FLUSH/RELEASE); 0 or -errno. */
int handle_commit(struct handle *h, struct cfs_err *err);
void handle_truncate(struct handle *h, off_t size);
/* A rename of a temp file over node n = one whole write of n. */
int node_write_whole(const struct node *n, const char *buf, size_t len, struct cfs_err *err);
bool node_is_list(const struct node *n);

/* fs.c */
extern const struct fuse_lowlevel_ops fs_ops;

#endif
