/* fs.c - the low-level FUSE operations: each turns a request into node lookups
 * and engine calls, and answers with an errno; refusals also land in the
 * container's last_error. Pseudo-files are direct_io so reads are always current. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "events.h"
#include "fhtrack.h"
#include "fs.h"
#include "handle.h"
#include "holes.h"
#include "keys.h"
#include "log.h"
#include "nodes.h"
#include "uring.h"
#include "tmpfile.h"

/* What the kernel may keep. A name, once found, stands for the same inode until
 * the directory changes through this mount (mkdir, rmdir, create, rename, unlink:
 * the kernel updates its own cache then) or the inode goes (a container's ids are
 * never reused), so names are kept; but ns/ links come and go with a run and temp
 * files are renamed over settings, so theirs are looked up every time.
 * Directories' attributes never change. A file's length is its current content's
 * (doc/reference.md), which changes with runs, writes through other files and the
 * container's own output, so files' attributes are asked for every time; but for
 * `state`, whose length changes only with the state, and every change of which
 * passes events_on_change, which invalidates them first. */
#define CACHE_FOREVER 86400.0

static double entry_timeout(const struct node *n)
{
	return n->kind == N_TMP || n->kind == N_NSLINK ? 0.0 : CACHE_FOREVER;
}

static double attr_timeout(const struct node *n)
{
	return (node_is_dir(n) || n->kind == N_VERSION || (n->kind == N_RT && n->arg == RT_STATE))
		       ? CACHE_FOREVER
		       : 0.0;
}

/* The engine checks what a caller who is not root writes (delegation): every
 * operation that may change something first says for whom it is made. */
static void as_req(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	engine_set_caller(ctx->uid, ctx->gid);
}

/* A handle's writes are made for the process that opened it (a FLUSH or RELEASE
 * may come from another). */
static void as_handle(const struct handle *h)
{
	engine_set_caller(h->uid, h->gid);
}

/* A refusal lands in the last_error of the node's own container: a handle opened
 * before `rmdir NAME; mkdir NAME` names a container that is gone, not the new one. */
static void node_last_error(const struct node *n, const char *msg)
{
	if (!n->cname[0] || !msg[0])
		return;
	engine_pin(n->cid);
	engine_set_last_error(n->cname, msg);
	engine_pin(0);
}

static void reply_error(fuse_req_t req, const struct node *n, int r, const struct cfs_err *err)
{
	if (n && err)
		node_last_error(n, err->msg);
	fuse_reply_err(req, r < 0 ? -r : r);
}

static int reply_entry_cached(fuse_req_t req, const struct node *n, bool cache)
{
	struct fuse_entry_param e;
	int r;

	memset(&e, 0, sizeof(e));
	r = node_stat(n, &e.attr);
	if (r < 0)
		return r;
	e.ino = n->ino;
	e.generation = 1;
	e.attr_timeout = attr_timeout(n);
	e.entry_timeout = cache ? entry_timeout(n) : 0.0;
	fuse_reply_entry(req, &e);
	return 0;
}

static int reply_entry_for(fuse_req_t req, const struct node *n)
{
	return reply_entry_cached(req, n, true);
}

static pid_t req_pid(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	return ctx ? ctx->pid : 0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node p, n;
	fuse_ino_t tmp = 0;
	int hole, r;

	holes_settle();
	r = node_from_ino(parent, &p);
	/* an unlinked setting: gone for the process that unlinked it (or its
	 * replacement), there for everyone else, and not cached while it lasts */
	hole = r == 0 ? hole_lookup(parent, name, req_pid(req), &tmp) : HOLE_NONE;
	if (hole == HOLE_GONE)
		r = -ENOENT;
	else if (hole == HOLE_REPLACED)
		r = node_from_ino(tmp, &n);
	else if (r == 0)
		r = node_lookup(&p, name, &n);
	/* the kernel's lookup of a temp file, counted before it can send the FORGET */
	bool counted = r == 0 && n.kind == N_TMP;

	if (counted)
		r = tmp_ref(n.ino);
	if (r == 0)
		r = reply_entry_cached(req, &n, hole == HOLE_NONE);
	if (r < 0 && counted)
		tmp_forget(n.ino, 1);
	if (r < 0)
		fuse_reply_err(req, -r);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	if (ino & INO_TMP_BIT)
		tmp_forget(ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	for (size_t i = 0; i < count; i++)
		if (f[i].ino & INO_TMP_BIT)
			tmp_forget(f[i].ino, f[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node n;
	struct stat st;
	int r;

	holes_settle();
	r = node_from_ino(ino, &n);

	if (r == 0)
		r = node_stat(&n, &st);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, attr_timeout(&n));
}

/* chmod/chown to what the file already is, touch and truncate succeed; a chmod of a
 * setting, config or container directory, and a chown of a setting, config, net/ or
 * cgroup/, succeed and keep the tree's mode and the container's owner; any other
 * change would be a lie about the file, so it is refused. */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct node n;
	struct stat st;
	int r = node_from_ino(ino, &n);

	as_req(req);
	if (r == 0 && n.kind == N_TMP)
		r = tmp_setattr(ino, attr, to_set);
	else if (r == 0)
		r = node_stat(&n, &st);
	/* chown of a container's directory delegates the container (root only) */
	if (r == 0 && n.kind == N_CDIR && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
	    (((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != st.st_uid) ||
	     ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != st.st_gid))) {
		struct cfs_err err = { 0 };

		r = engine_chown(n.cname, (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1,
				 (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1, &err);
		if (r == 0) {
			events_owner_changed(n.cid);
			r = node_stat(&n, &st);
		}
		to_set &= ~(FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID);
	}
	if (r == 0 && n.kind != N_TMP) {
		/* A setting's, config's and a container directory's mode is the tree's: it
		 * says who may change them (the container's owner) and who may read them, so
		 * it is delegation's, which chown of the container directory changes. A chmod
		 * to another mode succeeds and changes nothing: widening would let others
		 * write, narrowing would hide what the tree shows every user. cp -p, rsync -a,
		 * install -m and tar -x chmod after writing; their value lands either way. */
		bool mode_is_the_trees = n.kind == N_KEY || n.kind == N_CONFIG ||
					 n.kind == N_CDIR || n.kind == N_NETDIR || n.kind == N_CGDIR;

		if ((to_set & FUSE_SET_ATTR_MODE) && !mode_is_the_trees &&
		    (attr->st_mode & 07777) != (st.st_mode & 07777))
			r = -EPERM;
		/* Their owner is the container's too (root's, or the one chown of the
		 * container directory delegated it to): root's cp -p, rsync -a and tar -x
		 * into a delegated container chown after writing, and that changes nothing. */
		bool owner_is_the_containers = n.kind == N_KEY || n.kind == N_CONFIG ||
					       n.kind == N_NETDIR || n.kind == N_CGDIR;

		if ((to_set & FUSE_SET_ATTR_UID) && !owner_is_the_containers &&
		    attr->st_uid != st.st_uid)
			r = -EPERM;
		if ((to_set & FUSE_SET_ATTR_GID) && !owner_is_the_containers &&
		    attr->st_gid != st.st_gid)
			r = -EPERM;
		if ((to_set & FUSE_SET_ATTR_SIZE) && node_is_dir(&n))
			r = -EISDIR;
		/* a time set on a setting or config is kept (cp -p, rsync -a, tar, touch -d);
		 * on config it is every setting's. Directories' follow their settings. */
		if (r == 0 && (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) &&
		    (n.kind == N_KEY || n.kind == N_CONFIG)) {
			struct cfs_err err = { 0 };
			struct timespec m = attr->st_mtim;

			if (to_set & FUSE_SET_ATTR_MTIME_NOW)
				clock_gettime(CLOCK_REALTIME, &m);
			r = engine_set_mtime(n.cname, n.kind == N_KEY ? n.arg : K_COUNT, &m, &err);
			if (r < 0 && err.msg[0])
				engine_set_last_error(n.cname, err.msg);
			if (r == 0)	/* a list's pending writes land at close: with this time */
				handles_time_set(n.ino, &m);
		}
		if (r == 0 && (to_set & FUSE_SET_ATTR_SIZE) && fi && fi->fh) {
			struct handle *h = (struct handle *)fh_get(fi->fh);

			if (h) {
				pthread_mutex_lock(&h->lock);
				handle_truncate(h, attr->st_size);
				pthread_mutex_unlock(&h->lock);
				fh_put(&h->link);
			}
		}
	}
	if (r == 0)
		r = node_stat(&n, &st);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, attr_timeout(&n));
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct node n;
	char target[64];
	int r = node_from_ino(ino, &n);

	if (r == 0 && n.kind != N_NSLINK)
		r = -EINVAL;
	if (r == 0)
		r = engine_ns_link(n.cname, n.arg, target, sizeof(target));
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_readlink(req, target);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct cfs_err err = { 0 };
	struct node p, n;
	int r = node_from_ino(parent, &p);

	if (r == 0 && p.kind != N_ROOT)
		r = -EPERM;
	if (r == 0 && fuse_req_ctx(req)->uid != 0)
		r = -EACCES;	/* only root makes containers (the root dir is root's 0755) */
	if (r == 0)
		r = engine_create(name, &err);
	if (r == 0) {
		r = node_lookup(&p, name, &n);
		if (r == 0)
			r = reply_entry_for(req, &n);
	}
	if (r < 0) {
		if (err.msg[0])
			log_debug("%s", err.msg);
		fuse_reply_err(req, -r);
	}
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct cfs_err err = { 0 };
	struct node p = { 0 }, n = { 0 };
	int r = node_from_ino(parent, &p);

	if (r == 0)
		r = node_lookup(&p, name, &n);
	if (r == 0 && n.kind != N_CDIR)
		r = node_is_dir(&n) ? -EPERM : -ENOTDIR;
	if (r == 0 && fuse_req_ctx(req)->uid != 0)
		r = -EACCES;	/* only root removes containers, delegated ones too */
	if (r == 0) {
		r = engine_destroy(name, &err);
		if (r == 0) {
			holes_drop_container(n.cid);
			tmp_drop_container(n.cid);
			events_removed(name);
		}
	}
	if (r < 0 && (p.cid || n.cid))	/* rm -r of (part of) a container */
		holes_cancel(p.cid ? p.cid : n.cid, req_pid(req));
	fuse_reply_err(req, r < 0 ? -r : 0);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct node p, n;
	int r = node_from_ino(parent, &p);

	pid_t pid = req_pid(req);

	if (r == 0 && hole_drop_replacement(parent, name, pid) == 0) {
		fuse_reply_err(req, 0);
		return;
	}
	if (r == 0)
		r = node_lookup(&p, name, &n);
	if (r == 0 && n.kind == N_TMP)
		r = tmp_unlink(parent, name);
	else if (r == 0 && n.kind == N_KEY)
		r = hole_open(&p, name, &n, pid, fuse_req_ctx(req)->uid,
			      fuse_req_ctx(req)->gid);	/* held until created again */
	else if (r == 0)
		r = -EPERM;
	if (r == -EPERM) {
		engine_set_last_error(p.cname, "unlink: runtime files and config cannot be removed");
		holes_cancel(p.cid, pid);	/* rm -r: its other unlinks reset nothing */
	} else if (r == -EBUSY)
		engine_set_last_error(p.cname, "unlink: another process is replacing this setting");
	fuse_reply_err(req, r < 0 ? -r : 0);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct cfs_err err = { 0 };
	struct node p, np, src, dst;
	bool dst_exists;
	fuse_ino_t rtmp = 0;
	int hole = HOLE_NONE;
	int r = node_from_ino(parent, &p);

	if (r == 0)
		r = node_from_ino(newparent, &np);
	if (r == 0)
		r = node_lookup(&p, name, &src);
	if (r < 0)
		goto out;
	if (src.kind != N_TMP || p.cid != np.cid || node_dir_section(&np) < 0) {
		r = -EPERM;	/* only a client's own temp files move, within their container */
		goto out;
	}
	if (flags & RENAME_EXCHANGE) {
		r = -EINVAL;
		goto out;
	}
	as_req(req);
	dst_exists = node_lookup(&np, newname, &dst) == 0;
	/* a setting the caller unlinked is gone to it (or is its replacement) */
	if (dst_exists && dst.kind == N_KEY)
		hole = hole_lookup(newparent, newname, req_pid(req), &rtmp);
	if (dst_exists && (flags & RENAME_NOREPLACE) && hole != HOLE_GONE) {
		r = -EEXIST;
		goto out;
	}
	if (!dst_exists || dst.kind == N_TMP) {
		r = tmp_rename(parent, name, newparent, newname);
		goto out;
	}
	if (node_is_dir(&dst)) {
		r = -EISDIR;
		goto out;
	}
	/* over the caller's own unlinked setting (unlink, then a temp file renamed onto
	 * the name): the rename is the create its hole waited for, and this write its
	 * landing; a bad value fails it and changes nothing, as at a replacement's close */
	if (hole == HOLE_GONE || hole == HOLE_REPLACED)
		hole_end(newparent, newname, req_pid(req));
	/* the temp file's content is one write of the setting it replaces */
	char *buf = NULL;
	size_t len = 0;

	struct stat tst;

	r = tmp_content(src.ino, &buf, &len);
	if (r == 0) {
		r = handle_write_whole(&dst, buf, len, &err);
		free(buf);
	}
	/* the setting takes the temp file's mtime too (what rsync set on it), so a
	 * second `rsync -a` finds it up to date */
	if (r == 0 && (dst.kind == N_KEY || dst.kind == N_CONFIG) && tmp_stat(src.ino, &tst) == 0)
		r = engine_set_mtime(dst.cname, dst.kind == N_KEY ? dst.arg : K_COUNT, &tst.st_mtim,
				     &err);
	if (r == 0)
		tmp_unlink(parent, name);	/* consumed: it became the setting */
out:
	if (r < 0 && err.msg[0])
		engine_set_last_error(np.cname, err.msg);
	fuse_reply_err(req, r < 0 ? -r : 0);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct node p, n;
	struct handle *h = NULL;
	fuse_ino_t ino;
	int r = node_from_ino(parent, &p);

	if (r == 0 && node_dir_section(&p) < 0)
		r = -EPERM;	/* nothing but containers at the top, nothing in ns/ */
	if (r == 0) {
		/* the create that follows an unlink of a setting makes its replacement */
		r = hole_create(&p, name, mode, req_pid(req), &ino);
		if (r == -ENOENT)
			r = tmp_create(&p, name, mode, &ino);
	}
	if (r == 0) {
		/* the creator's file (an owner's sed -i reopens and fchowns it) */
		const struct fuse_ctx *ctx = fuse_req_ctx(req);
		struct stat who = { .st_uid = ctx->uid, .st_gid = ctx->gid };

		tmp_setattr(ino, &who, FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID);
		r = node_from_ino(ino, &n);
	}
	if (r == 0) {
		as_req(req);
		r = handle_open(&n, fi->flags, &h);
		if (r < 0)
			tmp_unlink(parent, name);	/* the kernel never saw it */
		else
			handle_set_owner(h, fuse_req_ctx(req));
	}
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	memset(&e, 0, sizeof(e));
	node_stat(&n, &e.attr);
	e.ino = ino;
	e.generation = 1;
	fi->fh = fh_track(&h->link, handle_free_link);
	fi->direct_io = 1;
	fuse_reply_create(req, &e, fi);
}

/* The kernel runs the writes to one file one at a time (it holds the inode's lock
 * for each) unless the open allows them side by side, and a `stop` written to
 * `state` may wait stop.timeout: a `kill` written meanwhile must not queue behind
 * it. libfuse (before 3.15) cannot set FOPEN_PARALLEL_DIRECT_WRITES, so this open
 * reply is made here, as fuse_reply_open would make it, with that flag added. The
 * kernel still takes the lock whole for an O_TRUNC open or an O_APPEND write: the
 * open itself arrives first, and hands a waiting stop over (engine_state_opened). */
static void reply_open_parallel(fuse_req_t req, const struct fuse_file_info *fi)
{
	struct fuse_open_out o;
	struct iovec iov = { &o, sizeof(o) };

	memset(&o, 0, sizeof(o));
	o.fh = fi->fh;
	o.open_flags = FOPEN_PARALLEL_DIRECT_WRITES;
	if (fi->direct_io)
		o.open_flags |= FOPEN_DIRECT_IO;
	if (fi->keep_cache)
		o.open_flags |= FOPEN_KEEP_CACHE;
	if (fi->nonseekable)
		o.open_flags |= FOPEN_NONSEEKABLE;
	if (fi->noflush)
		o.open_flags |= FOPEN_NOFLUSH;
	fuse_reply_iov(req, &iov, 1);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node n;
	struct handle *h = NULL;
	int r;

	holes_settle();
	r = node_from_ino(ino, &n);

	if (r == 0 && node_is_dir(&n))
		r = -EISDIR;
	if (r == 0 && (n.kind == N_EVENTS_ALL || (n.kind == N_RT && n.arg == RT_EVENTS))) {
		if ((fi->flags & O_ACCMODE) != O_RDONLY) {
			r = -EACCES;
		} else {
			h = calloc(1, sizeof(*h));
			if (h) {
				pthread_mutex_init(&h->lock, NULL);
				h->node = n;
				h->ev = events_open(n.kind == N_EVENTS_ALL ? NULL : n.cname, n.cid,
						    fi->flags & O_NONBLOCK);
			}
			if (!h || !h->ev) {
				free(h);
				r = -ENOMEM;
			}
			fi->nonseekable = 1;
		}
	} else if (r == 0) {
		as_req(req);
		r = handle_open(&n, fi->flags, &h);
		if (r == 0)
			handle_set_owner(h, fuse_req_ctx(req));
	}
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = fh_track(&h->link, handle_free_link);
	/* .version never changes: the page cache may keep it; everything else is read
	 * from us each time */
	fi->direct_io = n.kind != N_VERSION;
	fi->keep_cache = n.kind == N_VERSION;
	/* a read-only open has nothing to apply at close: no FLUSH round trip */
	fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY;
	if (n.kind == N_RT && n.arg == RT_STATE && !fi->noflush) {
		/* a stop waiting for init must not hold this writer (its O_TRUNC, which
		 * the kernel applies after this reply, waits for the stop's write) */
		engine_state_opened(n.cname);
		reply_open_parallel(req, fi);
	} else {
		fuse_reply_open(req, fi);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)fh_get(fi->fh);
	const char *buf;
	size_t got;
	int r;

	if (!h) {
		fuse_reply_err(req, EBADF);
		return;
	}
	if (h->ev) {
		events_read(req, h->ev, size);
	} else if (h->node.kind == N_TMP || h->is_log) {
		char *tmp = malloc(size ? size : 1);

		if (!tmp)
			r = -ENOMEM;
		else if (h->is_log)
			r = handle_log_read(h, tmp, size, off, &got);
		else
			r = tmp_read(ino, tmp, size, off, &got);
		if (r < 0)
			fuse_reply_err(req, -r);
		else
			fuse_reply_buf(req, tmp, got);
		free(tmp);
	} else {
		char small[4096];
		bool held = true;

		pthread_mutex_lock(&h->lock);
		r = handle_read(h, size, off, &buf, &got);
		/* A small answer (any runtime file's) is copied and the handle let go
		 * before the reply: the reply wakes the reader, which may close the file
		 * at once, and its RELEASE would otherwise wait for this lock. */
		if (r == 0 && got <= sizeof(small)) {
			memcpy(small, buf, got);
			buf = small;
			pthread_mutex_unlock(&h->lock);
			held = false;
		}
		if (r < 0)
			fuse_reply_err(req, -r);
		else
			fuse_reply_buf(req, buf, got);
		if (held)
			pthread_mutex_unlock(&h->lock);
	}
	fh_put(&h->link);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)fh_get(fi->fh);
	struct cfs_err err = { 0 };
	ssize_t r;

	if (!h) {
		fuse_reply_err(req, EBADF);
		return;
	}
	pthread_mutex_lock(&h->lock);
	as_handle(h);
	if (h->node.kind == N_TMP)
		r = tmp_write(ino, buf, size, off, h->flags & O_APPEND);
	else
		r = handle_write(h, buf, size, off, &err);
	pthread_mutex_unlock(&h->lock);
	if (r < 0)
		reply_error(req, &h->node, r, &err);
	else
		fuse_reply_write(req, h->node.kind == N_TMP ? size : (size_t)r);
	fh_put(&h->link);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)fh_get(fi->fh);
	struct cfs_err err = { 0 };
	int r = 0;

	if (!h) {
		fuse_reply_err(req, 0);
		return;
	}
	if (h->node.kind == N_TMP) {
		r = hole_land(ino, req_pid(req), &err);	/* a replacement becomes the setting */
	} else if (!h->ev) {
		pthread_mutex_lock(&h->lock);
		as_handle(h);
		r = handle_commit(h, &err);
		pthread_mutex_unlock(&h->lock);
	}
	if (r < 0)
		reply_error(req, &h->node, r, &err);
	else
		fuse_reply_err(req, 0);
	fh_put(&h->link);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)fh_get(fi->fh);
	struct cfs_err err = { 0 };

	if (!h) {
		fuse_reply_err(req, 0);
		return;
	}
	if (h->node.kind == N_TMP) {
		/* a replacement its writer never closed itself (it passed it on) */
		if (hole_land(ino, 0, &err) < 0)
			node_last_error(&h->node, err.msg);
	} else if (!h->ev) {
		pthread_mutex_lock(&h->lock);
		as_handle(h);
		if (handle_commit(h, &err) < 0)
			node_last_error(&h->node, err.msg);
		pthread_mutex_unlock(&h->lock);
	}
	fh_release(&h->link);
	fh_put(&h->link);
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);	/* accepted settings are on disk before the write returns */
}

struct dir_handle {
	struct fh_link link;
	struct dirent_lite *ents;
	size_t count;
};

static void dir_free(struct fh_link *l)
{
	struct dir_handle *d = (struct dir_handle *)l;

	free(d->ents);
	free(d);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node n;
	struct dir_handle *d;
	int r;

	holes_settle();
	r = node_from_ino(ino, &n);

	if (r == 0 && !node_is_dir(&n))
		r = -ENOTDIR;
	d = r == 0 ? calloc(1, sizeof(*d)) : NULL;
	if (r == 0 && !d)
		r = -ENOMEM;
	if (r == 0)
		r = node_list(&n, &d->ents, &d->count);
	if (r < 0) {
		free(d);
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = fh_track(&d->link, dir_free);
	/* The top level's names change only by mkdir and rmdir through this mount,
	 * after which the kernel drops its copy of the listing itself (the
	 * directory's version moves): it may keep the listing between opens. */
	if (n.kind == N_ROOT) {
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	}
	fuse_reply_open(req, fi);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct dir_handle *d = (struct dir_handle *)fh_get(fi->fh);
	char *buf = malloc(size);
	size_t used = 0;

	if (!buf || !d) {
		free(buf);
		if (d)
			fh_put(&d->link);
		fuse_reply_err(req, d ? ENOMEM : EBADF);
		return;
	}
	for (size_t i = off; i < d->count; i++) {
		struct stat st = { .st_ino = d->ents[i].ino, .st_mode = d->ents[i].type };
		size_t n = fuse_add_direntry(req, buf + used, size - used, d->ents[i].name, &st,
					     i + 1);

		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
	fh_put(&d->link);
}

/* Entries with their attributes: a listing followed by a look at each entry (ls -l,
 * a glob's lstat) costs one request. Entries whose names are not kept (temp files,
 * ns/ links), "." and ".." are listed without (inode 0: the kernel makes nothing). */
static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	struct dir_handle *d = (struct dir_handle *)fh_get(fi->fh);
	char *buf = malloc(size);
	size_t used = 0;

	if (!buf || !d) {
		free(buf);
		if (d)
			fh_put(&d->link);
		fuse_reply_err(req, d ? ENOMEM : EBADF);
		return;
	}
	for (size_t i = off; i < d->count; i++) {
		const struct dirent_lite *de = &d->ents[i];
		struct fuse_entry_param e;
		struct node n;
		size_t len;

		memset(&e, 0, sizeof(e));
		e.attr.st_ino = de->ino;
		e.attr.st_mode = de->type;
		if (i >= 2 && !(de->ino & INO_TMP_BIT) && node_from_ino(de->ino, &n) == 0 &&
		    n.kind != N_NSLINK && node_stat(&n, &e.attr) == 0) {
			e.ino = n.ino;
			e.generation = 1;
			e.attr_timeout = attr_timeout(&n);
			e.entry_timeout = entry_timeout(&n);
		}
		len = fuse_add_direntry_plus(req, buf + used, size - used, de->name, &e, i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
	fh_put(&d->link);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fh_link *d = fh_get(fi->fh);

	if (d) {
		fh_release(d);
		fh_put(d);
	}
	fuse_reply_err(req, 0);
}

static void op_xattr_set(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			 size_t size, int flags)
{
	fuse_reply_err(req, EOPNOTSUPP);
}

/* The one attribute: on the root, how many client temp files the daemon holds (each
 * is freed when unlinked or renamed over a setting and forgotten by the kernel). */
#define XATTR_TMPFILES "user.containerfs.tmpfiles"

static void op_xattr_get(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char v[32];
	int n;

	if (ino != INO_ROOT || strcmp(name, XATTR_TMPFILES)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	n = snprintf(v, sizeof(v), "%zu", tmp_count());
	if (size == 0)
		fuse_reply_xattr(req, n);
	else if (size < (size_t)n)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, v, n);
}

static void op_xattr_list(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, 0);
	else
		fuse_reply_buf(req, NULL, 0);
}

static void op_xattr_remove(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, EOPNOTSUPP);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	fuse_reply_err(req, 0);
}

static void op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		     struct fuse_file_info *fi, unsigned flags, const void *in_buf,
		     size_t in_bufsz, size_t out_bufsz)
{
	fuse_reply_err(req, ENOTTY);
}

static void op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	struct handle *h = (struct handle *)fh_get(fi->fh);

	if (h && h->ev) {
		events_poll(req, h->ev, ph);
	} else {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
	}
	if (h)
		fh_put(&h->link);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	fuse_reply_err(req, EPERM);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EPERM);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	fuse_reply_err(req, EPERM);
}

bool fs_parallel_writes;

char *fs_checkconfig(void)
{
	char *e = engine_checkconfig(), *out = NULL;

	if (e && asprintf(&out, "%sfuse parallel writes: %s\nfuse transport: %s\n", e,
			  fs_parallel_writes ? "yes"
					     : "missing (a write to state through a descriptor opened before a "
					       "stop began waits for that stop)",
			  uring_transport()) < 0)
		out = NULL;
	free(e);
	return out;
}

/* The requests a queue's thread answers itself (uring.h): those that never wait
 * for a container. A write, a change of the tree or an open for writing may run a
 * start or a stop (a stop waits up to stop.timeout), and the handle of a file open
 * for writing may be held by one, so those go to a worker. */
bool fs_at_once(const struct fuse_in_header *in, const void *arg)
{
	switch (in->opcode) {
	case FUSE_LOOKUP:
	case FUSE_GETATTR:
	case FUSE_READLINK:
	case FUSE_OPENDIR:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
	case FUSE_RELEASEDIR:
	case FUSE_STATFS:
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_ACCESS:
	case FUSE_POLL:
		return true;
	case FUSE_OPEN: {
		const struct fuse_open_in *o = arg;

		return (o->flags & O_ACCMODE) == O_RDONLY && !(o->flags & O_TRUNC);
	}
	case FUSE_READ:
		return (((const struct fuse_read_in *)arg)->flags & O_ACCMODE) == O_RDONLY;
	case FUSE_RELEASE:
		return (((const struct fuse_release_in *)arg)->flags & O_ACCMODE) == O_RDONLY;
	default:
		return false;
	}
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	fs_parallel_writes = conn->proto_major > 7 ||
			     (conn->proto_major == 7 && conn->proto_minor >= 36);
	/* O_TRUNC arrives with open; no writeback cache: each write(2) is one request */
	conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* listings carry attributes when the kernel finds them useful */
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO;
	/* settings are small: 128 KiB requests keep each receive buffer (a loop
	 * thread's, an io_uring entry's) at that instead of 1 MiB */
	conn->max_write = 128 * 1024;
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.setxattr = op_xattr_set,
	.getxattr = op_xattr_get,
	.listxattr = op_xattr_list,
	.removexattr = op_xattr_remove,
	.access = op_access,
	.create = op_create,
	.ioctl = op_ioctl,
	.poll = op_poll,
};
