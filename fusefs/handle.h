/* handle.h - one open setting, runtime file or config: the read snapshot taken at
 * open and the writes pending for the close. */
#ifndef CFS_HANDLE_H
#define CFS_HANDLE_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "engine.h"
#include "events.h"
#include "fhtrack.h"
#include "fuseapi.h"
#include "nodes.h"

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
	bool is_log;		/* a read-open of log: read from its files through logv */
	struct cfs_log_view logv;
	uid_t uid;		/* who opened it: writes are made for them */
	gid_t gid;
	bool has_mtime;		/* a time set on the file while its writes were pending */
	struct timespec mtime;	/* (cp -p's futimens before close): kept after the commit */
};
static inline void handle_set_owner(struct handle *h, const struct fuse_ctx *ctx)
{
	if (h) {
		h->uid = ctx->uid;
		h->gid = ctx->gid;
	}
}
int handle_open(const struct node *n, int flags, struct handle **out);
void handle_free_link(struct fh_link *l);
int handle_read(struct handle *h, size_t size, off_t off, const char **buf, size_t *got);
/* A read of log into buf (the handle holds no copy of it). */
int handle_log_read(struct handle *h, char *buf, size_t size, off_t off, size_t *got);
/* A write; returns bytes taken or -errno (err filled). */
ssize_t handle_write(struct handle *h, const char *buf, size_t size, off_t off,
		     struct cfs_err *err);
/* Apply what is pending (FLUSH/RELEASE); 0 or -errno. */
int handle_commit(struct handle *h, struct cfs_err *err);
/* A client set the time of node ino: its handles with writes pending keep it past
 * their commit. */
void handles_time_set(fuse_ino_t ino, const struct timespec *mtime);
void handle_truncate(struct handle *h, off_t size);
/* A rename of a temp file over node n = one whole write of n. */
int handle_write_whole(const struct node *n, const char *buf, size_t len, struct cfs_err *err);

#endif
