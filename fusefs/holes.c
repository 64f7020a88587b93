/* holes.c - unlinking a setting. install, cp --remove-destination, mv from another
 * filesystem and tar -x remove the destination and create it again. So an unlink of a
 * setting is held, as a hole, for the process that made it (a process is its thread
 * group and its start time: every thread of it, and never a later process that got
 * the same pid): to that process the name
 * is gone, so its O_EXCL create succeeds and makes a replacement, a temp file whose
 * content becomes the setting at the writer's close (one write, validated like any
 * other: a bad value fails that close and changes nothing). Every other process sees
 * the setting, with its value, all along. A hole with no replacement ends when its
 * process is gone or after HOLE_WAIT seconds: the unlink alone (`rm`) then resets the
 * setting to its default — unless the same process also failed to remove something
 * of that container (a runtime file, config, a directory: `rm -r`), which cancels
 * every reset it had pending there, so `rm -rf NAME` changes nothing. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "handle.h"
#include "holes.h"
#include "keys.h"
#include "log.h"
#include "nodes.h"
#include "readfile.h"
#include "tmpfile.h"

#define HOLE_WAIT 10	/* seconds an unlink waits for its create */

/* A client process: its thread group id and its start time (clock ticks after boot,
 * /proc/PID/stat field 22), so a pid used again by another process is another client.
 * tgid 0: none that can be named (gone, or outside the daemon's pid namespace). */
struct client {
	pid_t tgid;
	unsigned long long start;
};

struct hole {
	struct hole *next;
	struct node setting;	/* the setting it stands for */
	fuse_ino_t dir;
	char name[64];
	struct client who;	/* the process that unlinked it */
	uid_t uid;		/* who unlinked: the landing and the reset are made for them */
	gid_t gid;
	time_t deadline;
	fuse_ino_t tmp;		/* the replacement being written, or 0 */
	bool cancelled;		/* its process also failed to remove something: no reset */
};

static pthread_mutex_t hole_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hole *holes;

/* Processes that failed to remove something of a container: their unlinks there,
 * before and after, reset nothing. Forgotten when the process is gone. */
#define CANCEL_MAX 32
static struct {
	uint64_t cid;
	struct client who;
} cancels[CANCEL_MAX];
static int n_cancels;

static bool same_client(const struct client *a, const struct client *b)
{
	return a->tgid && a->tgid == b->tgid && a->start == b->start;
}

static bool is_cancelled(uint64_t cid, const struct client *who)
{
	for (int i = 0; i < n_cancels; i++)
		if (cancels[i].cid == cid && same_client(&cancels[i].who, who))
			return true;
	return false;
}

static struct hole *find(fuse_ino_t dir, const char *name)
{
	for (struct hole *h = holes; h; h = h->next)
		if (h->dir == dir && !strcmp(h->name, name))
			return h;
	return NULL;
}

static void take_out(struct hole *h)
{
	for (struct hole **pp = &holes; *pp; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			return;
		}
}

/* The replacement's name among the directory's temp files: no client can name it. */
static void tmp_name(const struct hole *h, char *buf, size_t n)
{
	snprintf(buf, n, "/%s", h->name);
}

/* The text of /proc/PID/NAME, NUL-terminated; false if there is none. */
static bool proc_read(pid_t pid, const char *name, char *buf, size_t n)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	return read_file_into(path, buf, n) > 0;
}

/* The start time of process tgid, or 0 if it is gone or a zombie. */
static unsigned long long start_of(pid_t tgid)
{
	char buf[1024];
	unsigned long long start = 0;

	if (tgid <= 0 || !proc_read(tgid, "stat", buf, sizeof(buf)))
		return 0;
	/* after the command's ')': state (field 3) ... starttime (field 22) */
	const char *p = strrchr(buf, ')');

	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	p += 2;
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &start) != 1)
		return 0;
	return start;
}

/* The process a request came from: the kernel names the calling thread. */
static struct client client_of(pid_t pid)
{
	struct client c = { 0, 0 };
	char buf[2048];
	const char *t;
	int tgid;

	if (pid <= 0 || !proc_read(pid, "status", buf, sizeof(buf)))
		return c;
	t = strstr(buf, "\nTgid:");
	if (!t || sscanf(t + 6, "%d", &tgid) != 1 || tgid <= 0)
		return c;
	c.start = start_of(tgid);
	if (c.start)
		c.tgid = tgid;
	return c;
}

/* Gone: ended, a zombie, or its pid now another process's. */
static bool client_gone(const struct client *c)
{
	return !c->tgid || start_of(c->tgid) != c->start;
}

int hole_open(const struct node *dir, const char *name, const struct node *setting, pid_t pid,
	      uid_t uid, gid_t gid)
{
	struct hole *h;

	if (strlen(name) >= sizeof(h->name))
		return -ENAMETOOLONG;
	struct client who = client_of(pid);

	pthread_mutex_lock(&hole_lock);
	h = find(dir->ino, name);
	if (h) {
		/* another process's hole: this unlink is refused, as before holes */
		int r = same_client(&h->who, &who) ? 0 : -EBUSY;

		pthread_mutex_unlock(&hole_lock);
		return r;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		pthread_mutex_unlock(&hole_lock);
		return -ENOMEM;
	}
	h->setting = *setting;
	h->dir = dir->ino;
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->who = who;	/* none that can be named: ended at the next settle */
	h->uid = uid;
	h->gid = gid;
	h->cancelled = is_cancelled(dir->cid, &who);
	h->deadline = time(NULL) + HOLE_WAIT;
	h->next = holes;
	holes = h;
	pthread_mutex_unlock(&hole_lock);
	return 0;
}

int hole_lookup(fuse_ino_t dir, const char *name, pid_t pid, fuse_ino_t *tmp)
{
	int r = HOLE_NONE;

	pthread_mutex_lock(&hole_lock);
	struct hole *h = find(dir, name);
	struct client who = h ? client_of(pid) : (struct client){ 0, 0 };

	if (h && !same_client(&h->who, &who)) {
		r = HOLE_OTHER;
	} else if (h && h->tmp) {
		char tn[80];

		tmp_name(h, tn, sizeof(tn));
		r = tmp_lookup(dir, tn, tmp) == 0 ? HOLE_REPLACED : HOLE_GONE;
	} else if (h) {
		r = HOLE_GONE;
	}
	pthread_mutex_unlock(&hole_lock);
	return r;
}

int hole_create(const struct node *dir, const char *name, mode_t mode, pid_t pid,
		fuse_ino_t *ino)
{
	int r = -ENOENT;

	pthread_mutex_lock(&hole_lock);
	struct hole *h = find(dir->ino, name);
	struct client who = h ? client_of(pid) : (struct client){ 0, 0 };

	if (h && same_client(&h->who, &who) && !h->tmp) {
		char tn[80];

		tmp_name(h, tn, sizeof(tn));
		r = tmp_create(dir, tn, mode, ino);
		if (r == 0)
			h->tmp = *ino;
	} else if (h) {
		r = -EEXIST;	/* somebody else's, or already being replaced */
	}
	pthread_mutex_unlock(&hole_lock);
	return r;
}

/* The name is no more a hole: the replacement (if any) goes, the setting shows again. */
static void finish(struct hole *h)
{
	char tn[80];

	if (h->tmp) {
		tmp_name(h, tn, sizeof(tn));
		tmp_unlink(h->dir, tn);
	}
	free(h);
}

int hole_drop_replacement(fuse_ino_t dir, const char *name, pid_t pid)
{
	int r = -ENOENT;

	pthread_mutex_lock(&hole_lock);
	struct hole *h = find(dir, name);
	struct client who = h ? client_of(pid) : (struct client){ 0, 0 };

	if (h && same_client(&h->who, &who) && h->tmp) {
		char tn[80];

		tmp_name(h, tn, sizeof(tn));
		tmp_unlink(dir, tn);
		h->tmp = 0;
		h->deadline = time(NULL) + HOLE_WAIT;
		r = 0;
	}
	pthread_mutex_unlock(&hole_lock);
	return r;
}

int hole_end(fuse_ino_t dir, const char *name, pid_t pid)
{
	struct hole *h;

	pthread_mutex_lock(&hole_lock);
	h = find(dir, name);
	if (h) {
		struct client who = client_of(pid);

		if (same_client(&h->who, &who))
			take_out(h);
		else
			h = NULL;
	}
	pthread_mutex_unlock(&hole_lock);
	if (!h)
		return -ENOENT;
	finish(h);	/* no reset: what is renamed over the name is its new value */
	return 0;
}

int hole_land(fuse_ino_t tmp, pid_t pid, struct cfs_err *err)
{
	struct hole *h;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int r;

	pthread_mutex_lock(&hole_lock);
	/* a close in another process (a child's copy of the descriptor, closed at its
	 * exec) is not the writer's: only the writer's close, or the last one, lands */
	for (h = holes; h && h->tmp != tmp; h = h->next)
		;
	if (h && pid) {
		struct client who = client_of(pid);

		if (!same_client(&h->who, &who))
			h = NULL;
	}
	if (h)
		take_out(h);
	pthread_mutex_unlock(&hole_lock);
	if (!h)
		return 0;
	r = tmp_content(tmp, &buf, &len);
	engine_set_caller(h->uid, h->gid);	/* an owner's rights, not the flusher's */
	if (r == 0)
		r = handle_write_whole(&h->setting, buf, len, err);
	free(buf);
	/* the setting takes the replacement's time (what tar, mv, cp -p set on it) */
	if (r == 0 && tmp_stat(tmp, &st) == 0)
		r = engine_set_mtime(h->setting.cname, h->setting.arg, &st.st_mtim, err);
	finish(h);
	return r;
}

/* An unlink that no create followed: the setting goes back to its default. */
static void reset(struct hole *h)
{
	struct cfs_err err = { 0 };
	struct node n = h->setting;

	if (key_table[n.arg].flags & KF_ALIAS)	/* a v1 name: its setting's default */
		n.arg = key_table[n.arg].alias_of;
	const char *def = key_default(n.arg, n.cname);
	int r;

	engine_set_caller(h->uid, h->gid);	/* a default is checked like any write */
	r = handle_write_whole(&n, def, strlen(def), &err);

	if (r < 0) {
		log_info("%s: rm %s: the setting stays: %s", h->setting.cname, h->name, err.msg);
		engine_set_last_error(h->setting.cname,
				      err.msg[0] ? err.msg
						 : "unlink: the setting could not be reset to its default");
	}
}

void holes_settle(void)
{
	struct hole *done = NULL;
	time_t now;

	pthread_mutex_lock(&hole_lock);
	if (!holes && !n_cancels) {
		pthread_mutex_unlock(&hole_lock);
		return;
	}
	for (int i = 0; i < n_cancels;)
		if (client_gone(&cancels[i].who))
			cancels[i] = cancels[--n_cancels];
		else
			i++;
	now = time(NULL);
	for (struct hole **pp = &holes; *pp;) {
		struct hole *h = *pp;
		bool gone = client_gone(&h->who);

		if (gone || (!h->tmp && now >= h->deadline)) {
			*pp = h->next;
			h->next = done;
			done = h;
		} else {
			pp = &h->next;
		}
	}
	pthread_mutex_unlock(&hole_lock);
	while (done) {
		struct hole *h = done;

		done = h->next;
		if (!h->tmp && !h->cancelled)
			reset(h);
		finish(h);
	}
}

void holes_cancel(uint64_t cid, pid_t pid)
{
	struct client who = client_of(pid);

	if (!who.tgid)
		return;	/* its unlinks' holes end, and reset, at the next settle */
	pthread_mutex_lock(&hole_lock);
	for (struct hole *h = holes; h; h = h->next)
		if (h->setting.cid == cid && same_client(&h->who, &who))
			h->cancelled = true;
	if (!is_cancelled(cid, &who)) {
		if (n_cancels == CANCEL_MAX) {	/* the oldest goes */
			memmove(cancels, cancels + 1, sizeof(cancels[0]) * (CANCEL_MAX - 1));
			n_cancels--;
		}
		cancels[n_cancels].cid = cid;
		cancels[n_cancels++].who = who;
	}
	pthread_mutex_unlock(&hole_lock);
}

void holes_drop_container(uint64_t cid)
{
	pthread_mutex_lock(&hole_lock);
	for (struct hole **pp = &holes; *pp;) {
		struct hole *h = *pp;

		if (h->setting.cid == cid) {
			*pp = h->next;
			free(h);	/* its replacement went with the container's temp files */
		} else {
			pp = &h->next;
		}
	}
	pthread_mutex_unlock(&hole_lock);
}
