/* handle.c - one open file of the tree: a read snapshot taken at open (so
 * offsets, lseek and partial reads see one consistent text), and the write rules
 * of the contract: one-line settings and state act on each write(2); lists and
 * config collect lines, check each complete line as it arrives and apply at close. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "events.h"
#include "fhtrack.h"
#include "fs.h"
#include "handle.h"
#include "keys.h"
#include "nodes.h"
#include "sizes.h"

static int node_text(const struct node *n, char **out, size_t *len)
{
	struct cfs_err err = { 0 };
	int r;

	*out = NULL;
	switch (n->kind) {
	case N_VERSION:
		*out = strdup(CFS_VERSION "\n");
		break;
	case N_CHECKCONFIG:
		*out = fs_checkconfig();
		break;
	case N_KEY:
		r = engine_setting_read(n->cname, n->arg, out, &err);
		if (r < 0)
			return r;
		break;
	case N_CONFIG:
		r = engine_config_read(n->cname, out, &err);
		if (r < 0)
			return r;
		break;
	case N_RT:
		return engine_runtime_read(n->cname, n->arg, out, len, &err);
	case N_STAT:
		r = engine_stat_read(n->cname, n->arg, out, &err);
		if (r < 0)
			return r;
		break;
	default:
		return -EINVAL;
	}
	if (!*out)
		return -ENOMEM;
	*len = strlen(*out);
	return 0;
}

static void handle_free(struct handle *h)
{
	if (!h)
		return;
	if (h->ev)
		events_release(h->ev);
	pthread_mutex_destroy(&h->lock);
	free(h->snap);
	free(h->pend);
	free(h);
}

int handle_open(const struct node *n, int flags, struct handle **out)
{
	struct handle *h = calloc(1, sizeof(*h));
	int acc = flags & O_ACCMODE;

	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->node = *n;
	h->flags = flags;
	if (acc != O_WRONLY && n->kind == N_RT && n->arg == RT_LOG) {
		/* up to 1 MiB of output: described at open, read from its files, so a
		 * reader holding many descriptors costs the daemon no copy each */
		int r = engine_log_view(n->cname, &h->logv);

		if (r < 0) {
			free(h);
			return r;
		}
		h->is_log = true;
		h->snap_done = true;
	} else if (acc != O_WRONLY && n->kind != N_TMP) {
		int r = node_text(n, &h->snap, &h->snap_len);

		if (r < 0) {
			free(h);
			return r;
		}
		h->snap_done = true;
	}
	if (acc != O_RDONLY && node_is_list(n) && (flags & O_APPEND)) {
		/* `echo LINE >> list` adds a line to what is there */
		char *cur = NULL;
		size_t len = 0;
		int r = node_text(n, &cur, &len);

		if (r < 0) {
			handle_free(h);
			return r;
		}
		h->pend = cur;
		h->pend_len = h->pend_cap = len;
		if (len == 1 && cur[0] == '\n')
			h->pend_len = 0;	/* an empty list reads as one empty line */
	}
	*out = h;
	return 0;
}

void handle_free_link(struct fh_link *l)
{
	handle_free((struct handle *)l);
}

int handle_log_read(struct handle *h, char *buf, size_t size, off_t off, size_t *got)
{
	ssize_t r = off < 0 ? -EINVAL : engine_log_pread(h->node.cname, &h->logv, buf, size, off);

	if (r < 0)
		return (int)r;
	*got = (size_t)r;
	return 0;
}

int handle_read(struct handle *h, size_t size, off_t off, const char **buf, size_t *got)
{
	if (!h->snap_done) {
		int r = node_text(&h->node, &h->snap, &h->snap_len);

		if (r < 0)
			return r;
		h->snap_done = true;
	}
	if ((size_t)off >= h->snap_len) {
		*got = 0;
		*buf = h->snap;
		return 0;
	}
	*buf = h->snap + off;
	*got = h->snap_len - off < size ? h->snap_len - off : size;
	return 0;
}

/* The most a pending value may hold: a list, or a whole config document. */
static size_t pend_max(const struct handle *h)
{
	return h->node.kind == N_CONFIG ? CFS_MAX_CONFIG : CFS_MAX_LIST;
}

static int pend_put(struct handle *h, const char *buf, size_t size, size_t at)
{
	size_t end = at + size, max = pend_max(h);

	if (end > max)
		return -EFBIG;
	if (end > h->pend_cap) {
		size_t cap = end * 2 > max ? max : end * 2;
		char *p = realloc(h->pend, cap);

		if (!p)
			return -ENOMEM;
		h->pend = p;
		h->pend_cap = cap;
	}
	memcpy(h->pend + at, buf, size);
	if (end > h->pend_len)
		h->pend_len = end;
	return 0;
}

/* The node's name inside its container, for messages: "cgroup/memory.max", "state". */
static const char *node_path(const struct node *n, char *buf, size_t size)
{
	if (n->kind == N_KEY)
		return key_path(n->arg, buf, size);
	if (n->kind == N_CONFIG)
		return "config";
	if (n->kind == N_RT)
		return node_rt_name(n->arg);
	if (n->kind == N_STAT && n->arg >= 0 && n->arg < STAT_COUNT) {
		snprintf(buf, size, "cgroup/%s", stat_table[n->arg].name);
		return buf;
	}
	return "file";
}

/* Our own refusals name the file, as the engine's do. */
static int refuse(const struct node *n, struct cfs_err *err, int code, const char *what)
{
	char path[64];

	return cfs_err_set(err, code, "%s: %s", node_path(n, path, sizeof(path)), what);
}

/* One write(2) of a whole value to a node (settings, state, tasks, config). */
static int write_whole(const struct node *n, const char *buf, size_t len, struct cfs_err *err)
{
	switch (n->kind) {
	case N_KEY:
		return engine_setting_write(n->cname, n->arg, buf, len, err);
	case N_CONFIG:
		return engine_config_write(n->cname, buf, len, err);
	case N_RT:
		if (n->arg == RT_STATE)
			return engine_state_write(n->cname, buf, len, err);
		if (n->arg == RT_TASKS)
			return engine_tasks_write(n->cname, buf, len, err);
		/* fall through */
	default:
		return refuse(n, err, EACCES, "this file is read-only");
	}
}

int handle_write_whole(const struct node *n, const char *buf, size_t len, struct cfs_err *err)
{
	int r;

	/* a file opened before `rmdir NAME; mkdir NAME` belongs to the removed container,
	 * never to the new one of the same name: the engine checks it under its lock */
	engine_pin(n->cid);
	r = write_whole(n, buf, len, err);
	engine_pin(0);
	return r;
}

/* A value beyond the limit fails its write and the close: none of it is applied,
 * not even the part that fitted. */
static int too_long(struct handle *h, struct cfs_err *err)
{
	char what[64];

	snprintf(what, sizeof(what), "value too long (at most %zu bytes)", pend_max(h));
	h->failed = EINVAL;
	h->dirty = false;
	return refuse(&h->node, err, EINVAL, what);
}

static ssize_t list_write(struct handle *h, const char *buf, size_t size, off_t off,
			  struct cfs_err *err)
{
	size_t old_len = h->pend_len;
	size_t at = (h->flags & O_APPEND) ? h->pend_len : (size_t)off;
	int r;

	if (at > h->pend_len)
		return refuse(&h->node, err, EINVAL, "write beyond the end of the pending value");
	if (h->pend && (h->flags & O_APPEND) && at && h->pend[at - 1] != '\n') {
		r = pend_put(h, "\n", 1, at);	/* the current text may lack its newline */
		if (r < 0)
			return too_long(h, err);
		at++;
	}
	char *saved = h->pend_len ? malloc(h->pend_len) : NULL;

	if (saved)
		memcpy(saved, h->pend, h->pend_len);
	r = pend_put(h, buf, size, at);
	if (r < 0) {
		free(saved);
		return r == -EFBIG ? too_long(h, err) : refuse(&h->node, err, -r, strerror(-r));
	}
	if (memchr(buf, '\0', size))
		r = refuse(&h->node, err, EINVAL, "NUL byte in value");
	else if (h->node.kind == N_CONFIG)
		r = engine_config_check_lines(h->pend, h->pend_len, err);
	else
		r = engine_setting_check_lines(h->node.arg, h->pend, h->pend_len, err);
	if (r < 0) {
		/* a bad line fails its write, and the value it belonged to is never
		 * applied: a list is all or nothing, like config */
		if (saved)
			memcpy(h->pend, saved, old_len);
		h->pend_len = old_len;
		h->failed = -r;
		h->dirty = false;
		free(saved);
		return r;
	}
	free(saved);
	h->dirty = true;
	return size;
}

ssize_t handle_write(struct handle *h, const char *buf, size_t size, off_t off,
		     struct cfs_err *err)
{
	int r;

	if (node_is_list(&h->node))
		return list_write(h, buf, size, off, err);
	if (size > CFS_MAX_VALUE)
		return refuse(&h->node, err, EINVAL, "value too long (at most 4095 bytes)");
	r = handle_write_whole(&h->node, buf, size, err);
	return r < 0 ? r : (ssize_t)size;
}

int handle_commit(struct handle *h, struct cfs_err *err)
{
	int r;

	if (h->failed)
		return -h->failed;	/* last_error already says why */
	if (!h->dirty)
		return 0;
	h->dirty = false;
	/* the pending text stays: a later write on this handle extends it and the
	 * next close applies the whole again */
	r = handle_write_whole(&h->node, h->pend ? h->pend : "", h->pend_len, err);
	if (r == 0 && h->has_mtime) {
		engine_pin(h->node.cid);
		r = engine_set_mtime(h->node.cname, h->node.kind == N_KEY ? h->node.arg : K_COUNT,
				     &h->mtime, err);
		engine_pin(0);
	}
	h->has_mtime = false;
	return r;
}

struct time_set {
	fuse_ino_t ino;
	const struct timespec *mtime;
};

static void time_set_one(struct fh_link *l, void *arg)
{
	const struct time_set *t = arg;
	struct handle *h = (struct handle *)l;

	if (l->free_fn != handle_free_link || h->ev || h->node.ino != t->ino)
		return;
	pthread_mutex_lock(&h->lock);
	if (h->dirty) {
		h->has_mtime = true;
		h->mtime = *t->mtime;
	}
	pthread_mutex_unlock(&h->lock);
}

void handles_time_set(fuse_ino_t ino, const struct timespec *mtime)
{
	struct time_set t = { ino, mtime };

	fh_each(time_set_one, &t);
}

void handle_truncate(struct handle *h, off_t size)
{
	if (size == 0)
		h->failed = 0;	/* a fresh start: what was refused is gone */
	if ((size_t)size < h->pend_len)
		h->pend_len = size;
	if (size == 0)
		h->dirty = false;	/* truncate -s0: nothing is applied until written */
}
