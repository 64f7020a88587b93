/* events.c - the events and .events files: a log of state changes; each open
 * reads the current state first, then blocks until a change. A blocked read is a
 * parked request (no thread held), answered by the notifier thread, interrupted
 * with EINTR on Ctrl-C; poll handles are woken by the same thread (never from a
 * request handler, where a notify could deadlock). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "log.h"
#include "parse.h"

#define EV_RING 4096

struct ev_entry {
	uint64_t seq;
	char name[65];
	enum cfs_state st;
};

struct ev_handle {
	struct ev_handle *next, *prev;	/* all open handles */
	char cname[65];			/* "" = every container */
	bool nonblock;
	bool first_done;
	bool gone;			/* its container was removed: EOF from now on */
	uint64_t cursor;		/* last seq delivered */
	char *out;			/* formatted, not yet read */
	size_t out_len;
	fuse_req_t parked;
	size_t parked_size;
	fuse_req_t reading;		/* a read between checking and parking */
	bool intr_early;		/* ...that was interrupted meanwhile */
	struct fuse_pollhandle *ph;
};

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ev_cond = PTHREAD_COND_INITIALIZER;
static struct ev_entry ring[EV_RING];
static uint64_t ev_seq;			/* seq of the newest entry */
static struct ev_handle *handles;
static bool wake_pending, stopping;
static pthread_t notifier;
static bool notifier_running;
static struct fuse_session *session;

static bool matches(const struct ev_handle *h, const char *name)
{
	return !h->cname[0] || !strcmp(h->cname, name);
}

static void out_add(struct ev_handle *h, const char *name, enum cfs_state st)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "%s %s\n", name, cfs_state_name(st));
	char *o = realloc(h->out, h->out_len + n);

	if (!o)
		return;
	memcpy(o + h->out_len, line, n);
	h->out = o;
	h->out_len += n;
}

/* Move what this handle has not seen into h->out; ev_lock held. */
static void collect(struct ev_handle *h)
{
	if (!h->first_done) {
		h->first_done = true;
		h->cursor = ev_seq;
		if (h->cname[0]) {
			out_add(h, h->cname, engine_state(h->cname));
		} else {
			char **names = engine_list();

			for (size_t i = 0; names && names[i]; i++)
				out_add(h, names[i], engine_state(names[i]));
			strv_free(names);
		}
		return;
	}
	if (ev_seq > EV_RING && h->cursor < ev_seq - EV_RING)
		h->cursor = ev_seq - EV_RING;	/* a reader that fell behind loses the oldest */
	for (uint64_t s = h->cursor + 1; s <= ev_seq; s++) {
		struct ev_entry *e = &ring[s % EV_RING];

		if (matches(h, e->name))
			out_add(h, e->name, e->st);
	}
	h->cursor = ev_seq;
}

/* Reply to req with up to size bytes of h->out; ev_lock held. */
static void deliver(fuse_req_t req, struct ev_handle *h, size_t size)
{
	size_t n = h->out_len < size ? h->out_len : size;

	/* whole lines only, unless a line does not fit at all */
	if (n < h->out_len) {
		size_t cut = n;

		while (cut && h->out[cut - 1] != '\n')
			cut--;
		if (cut)
			n = cut;
	}
	fuse_reply_buf(req, h->out, n);
	if (n)
		memmove(h->out, h->out + n, h->out_len - n);
	h->out_len -= n;
}

/* Is there anything for h that it has not read? (ev_lock held; consumes nothing) */
static bool has_news(const struct ev_handle *h)
{
	if (!h->first_done || h->out_len)
		return true;
	uint64_t q = h->cursor + 1;

	if (ev_seq >= EV_RING && q < ev_seq - EV_RING + 1)
		q = ev_seq - EV_RING + 1;
	for (; q <= ev_seq; q++)
		if (matches(h, ring[q % EV_RING].name))
			return true;
	return false;
}

void events_owner_changed(uint64_t cid)
{
	static const unsigned subs[] = { SUB_NETDIR, SUB_CGDIR, SUB_NSDIR, SUB_RT + RT_STATE };

	/* attributes only (negative offset): no inode or page lock is taken */
	pthread_mutex_lock(&ev_lock);
	for (size_t i = 0; session && i < sizeof(subs) / sizeof(subs[0]); i++)
		fuse_lowlevel_notify_inval_inode(session, node_ino(cid, subs[i]), -1, 0);
	pthread_mutex_unlock(&ev_lock);
}

void events_on_change(const char *name, enum cfs_state st, void *data)
{
	uint64_t cid;

	pthread_mutex_lock(&ev_lock);
	/* NAME/state's length changes with the state: the kernel's copy of its
	 * attributes goes before anyone can learn of the change. Only attributes (a
	 * negative offset): that takes no inode or page lock in the kernel, so it is
	 * safe here, even inside the handler of a write to that very file, and it is
	 * done before the change is announced, so a stat after it sees the new length. */
	if (session && engine_exists(name, &cid))
		fuse_lowlevel_notify_inval_inode(session, node_ino(cid, SUB_RT + RT_STATE), -1, 0);
	ev_seq++;
	struct ev_entry *e = &ring[ev_seq % EV_RING];

	e->seq = ev_seq;
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->st = st;
	/* parked reads are answered here, at once (a reply is no notify: it may be sent
	 * from inside another request's handler); pollers are left to the notifier */
	for (struct ev_handle *h = handles; h; h = h->next) {
		if (!h->parked || h->gone)
			continue;
		collect(h);
		if (h->out_len) {
			deliver(h->parked, h, h->parked_size);
			h->parked = NULL;
		}
	}
	wake_pending = true;
	pthread_cond_signal(&ev_cond);
	pthread_mutex_unlock(&ev_lock);
}

static void *notifier_main(void *arg)
{
	pthread_mutex_lock(&ev_lock);
	while (!stopping) {
		while (!wake_pending && !stopping)
			pthread_cond_wait(&ev_cond, &ev_lock);
		wake_pending = false;
		for (struct ev_handle *h = handles; h; h = h->next) {
			if (h->parked && !h->gone) {
				collect(h);
				if (h->out_len) {
					deliver(h->parked, h, h->parked_size);
					h->parked = NULL;
				}
			}
			if (h->ph && (h->gone || has_news(h))) {
				fuse_lowlevel_notify_poll(h->ph);
				fuse_pollhandle_destroy(h->ph);
				h->ph = NULL;
			}
		}
	}
	pthread_mutex_unlock(&ev_lock);
	return NULL;
}

/* A container's configuration or its times changed: its directories' mtimes (the
 * latest of their settings') moved, and the kernel keeps directories' attributes.
 * Attributes only, like events_on_change: safe inside any request's handler. */
void events_on_config(const char *name, void *data)
{
	static const unsigned dirs[] = { SUB_CDIR, SUB_NETDIR, SUB_CGDIR };
	uint64_t cid;

	pthread_mutex_lock(&ev_lock);
	if (session && engine_exists(name, &cid))
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
			fuse_lowlevel_notify_inval_inode(session, node_ino(cid, dirs[i]), -1, 0);
	pthread_mutex_unlock(&ev_lock);
}

void events_init(struct fuse_session *se)
{
	pthread_mutex_lock(&ev_lock);
	session = se;
	pthread_mutex_unlock(&ev_lock);
	engine_set_event_cb(events_on_change, NULL);
	engine_set_config_cb(events_on_config, NULL);
	if (pthread_create(&notifier, NULL, notifier_main, NULL) == 0)
		notifier_running = true;
	else
		log_err("cannot start the events thread");
}

void events_fini(void)
{
	pthread_mutex_lock(&ev_lock);
	stopping = true;
	session = NULL;		/* the session is destroyed after us */
	pthread_cond_signal(&ev_cond);
	pthread_mutex_unlock(&ev_lock);
	if (notifier_running)
		pthread_join(notifier, NULL);
	notifier_running = false;
}

struct ev_handle *events_open(const char *cname, uint64_t cid, bool nonblock)
{
	struct ev_handle *h = calloc(1, sizeof(*h));
	uint64_t now_id;

	if (!h)
		return NULL;
	snprintf(h->cname, sizeof(h->cname), "%s", cname ? cname : "");
	h->nonblock = nonblock;
	pthread_mutex_lock(&ev_lock);
	/* opened after an rmdir that the lookup preceded: ended already (and never fed
	 * by a new container of the same name) */
	if (cname && (!engine_exists(cname, &now_id) || now_id != cid))
		h->gone = true;
	h->next = handles;
	if (handles)
		handles->prev = h;
	handles = h;
	pthread_mutex_unlock(&ev_lock);
	return h;
}

void events_release(struct ev_handle *h)
{
	pthread_mutex_lock(&ev_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	if (h->parked)
		fuse_reply_err(h->parked, EINTR);
	if (h->ph)
		fuse_pollhandle_destroy(h->ph);
	pthread_mutex_unlock(&ev_lock);
	free(h->out);
	free(h);
}

/* libfuse may call this for a request we have just answered (and whose handle may be
 * gone), so the request is looked up among the live handles, never trusted. */
static void ev_interrupt(fuse_req_t req, void *data)
{
	pthread_mutex_lock(&ev_lock);
	for (struct ev_handle *h = handles; h; h = h->next) {
		if (h->parked == req) {
			h->parked = NULL;
			fuse_reply_err(req, EINTR);
			break;
		}
		if (h->reading == req) {
			h->intr_early = true;
			break;
		}
	}
	pthread_mutex_unlock(&ev_lock);
}

/* rmdir NAME: readers of NAME/events get what is left, then end of file, so
 * `grep -m1 ... web/events` ends instead of waiting for a container that is gone. */
void events_removed(const char *name)
{
	pthread_mutex_lock(&ev_lock);
	for (struct ev_handle *h = handles; h; h = h->next) {
		if (!h->cname[0] || strcmp(h->cname, name) || h->gone)
			continue;
		h->gone = true;
		if (h->parked) {
			deliver(h->parked, h, h->parked_size);
			h->parked = NULL;
		}
	}
	wake_pending = true;	/* pollers of it learn of the end from the notifier */
	pthread_cond_signal(&ev_cond);
	pthread_mutex_unlock(&ev_lock);
}

void events_read(fuse_req_t req, struct ev_handle *h, size_t size)
{
	pthread_mutex_lock(&ev_lock);
	if (h->gone) {
		deliver(req, h, size);	/* what was left, else 0 bytes: EOF */
		pthread_mutex_unlock(&ev_lock);
		return;
	}
	collect(h);
	if (h->out_len) {
		deliver(req, h, size);
		pthread_mutex_unlock(&ev_lock);
		return;
	}
	if (h->nonblock || h->parked || h->reading) {
		pthread_mutex_unlock(&ev_lock);
		fuse_reply_err(req, EAGAIN);
		return;
	}
	h->reading = req;
	h->intr_early = false;
	pthread_mutex_unlock(&ev_lock);
	/* may call ev_interrupt at once if the reader is already interrupted */
	fuse_req_interrupt_func(req, ev_interrupt, NULL);
	pthread_mutex_lock(&ev_lock);
	h->reading = NULL;
	if (h->intr_early) {
		h->intr_early = false;
		pthread_mutex_unlock(&ev_lock);
		fuse_reply_err(req, EINTR);
		return;
	}
	if (!h->gone)
		collect(h);
	if (h->out_len || h->gone) {
		deliver(req, h, size);	/* removed meanwhile: what is left, or EOF */
	} else {
		h->parked = req;
		h->parked_size = size;
	}
	pthread_mutex_unlock(&ev_lock);
}

void events_poll(fuse_req_t req, struct ev_handle *h, struct fuse_pollhandle *ph)
{
	unsigned revents = 0;

	pthread_mutex_lock(&ev_lock);
	if (h->gone)
		revents |= POLLIN | POLLRDNORM | POLLHUP;
	else
		collect(h);
	if (h->out_len)
		revents |= POLLIN | POLLRDNORM;
	if (ph) {
		if (h->ph)
			fuse_pollhandle_destroy(h->ph);
		h->ph = ph;
	}
	pthread_mutex_unlock(&ev_lock);
	fuse_reply_poll(req, revents);
}
