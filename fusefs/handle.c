/* handle.c - one open file of the tree: a read snapshot taken at open (so
 * offsets, lseek and partial reads see one consistent text), and the write rules
 * of the contract: one-line settings and state act on each write(2); lists and
 * config collect lines, check each complete line as it arrives and apply at close. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "parse.h"

bool node_is_list(const struct node *n)
{
	return n->kind == N_CONFIG || (n->kind == N_KEY && (key_table[n->arg].flags & KF_LIST));
}

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
		*out = engine_checkconfig();
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

int handle_open(const struct node *n, int flags, struct handle **out)
{
	struct handle *h = calloc(1, sizeof(*h));
	int acc = flags & O_ACCMODE;

	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	h->node = *n;
	h->flags = flags;
	if (acc != O_WRONLY && n->kind != N_TMP) {
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

#define FH_BUCKETS 1024

static pthread_mutex_t fh_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fh_link *fh_table[FH_BUCKETS];
static uint64_t fh_next = 1;

uint64_t fh_track(struct fh_link *l, void (*free_fn)(struct fh_link *l))
{
	pthread_mutex_lock(&fh_lock);
	l->free_fn = free_fn;
	l->id = fh_next++;
	l->refs = 1;
	l->released = false;
	l->prev = NULL;
	l->next = fh_table[l->id % FH_BUCKETS];
	if (l->next)
		l->next->prev = l;
	fh_table[l->id % FH_BUCKETS] = l;
	pthread_mutex_unlock(&fh_lock);
	return l->id;
}

static void unlink_locked(struct fh_link *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		fh_table[l->id % FH_BUCKETS] = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->next = l->prev = NULL;
}

struct fh_link *fh_get(uint64_t id)
{
	struct fh_link *l;

	pthread_mutex_lock(&fh_lock);
	for (l = fh_table[id % FH_BUCKETS]; l; l = l->next)
		if (l->id == id && !l->released) {
			l->refs++;
			break;
		}
	pthread_mutex_unlock(&fh_lock);
	return l;
}

void fh_put(struct fh_link *l)
{
	bool last;

	pthread_mutex_lock(&fh_lock);
	last = --l->refs == 0;
	if (last && !l->released)
		unlink_locked(l);
	pthread_mutex_unlock(&fh_lock);
	if (last)
		l->free_fn(l);
}

void fh_release(struct fh_link *l)
{
	pthread_mutex_lock(&fh_lock);
	if (!l->released) {
		l->released = true;
		unlink_locked(l);
	}
	pthread_mutex_unlock(&fh_lock);
	fh_put(l);
}

void fh_free_all(void)
{
	pthread_mutex_lock(&fh_lock);
	for (int b = 0; b < FH_BUCKETS; b++)
		while (fh_table[b]) {
			struct fh_link *l = fh_table[b];

			unlink_locked(l);
			l->free_fn(l);
		}
	pthread_mutex_unlock(&fh_lock);
}

void handle_free_link(struct fh_link *l)
{
	handle_free((struct handle *)l);
}

void handle_free(struct handle *h)
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
		return rt_file_name(n->arg);
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
int node_write_whole(const struct node *n, const char *buf, size_t len, struct cfs_err *err)
{
	uint64_t id;

	/* a file opened before `rmdir NAME; mkdir NAME` belongs to the removed container,
	 * never to the new one of the same name */
	if (n->cid && (!engine_exists(n->cname, &id) || id != n->cid))
		return cfs_err_set(err, ENOENT, "%s: the container was removed", n->cname);
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
	r = node_write_whole(&h->node, buf, size, err);
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
	r = node_write_whole(&h->node, h->pend ? h->pend : "", h->pend_len, err);
	return r;
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
