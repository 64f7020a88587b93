/* uring.c - FUSE requests over io_uring (see uring.h).
 *
 * The kernel (fs/fuse/dev_uring.c, protocol 7.42) keeps one queue per possible
 * CPU and hands a request to the queue of the CPU its caller runs on. The daemon
 * registers entries (a header buffer and a payload buffer) on each queue with
 * IORING_OP_URING_CMD; a request arrives as the completion of an entry's command,
 * and its answer goes back with the entry's next command (commit and fetch).
 *
 * libfuse 3.14 knows nothing of this. It decodes a request given as the bytes a
 * read of /dev/fuse would have returned, and sends a reply through the session's
 * custom writev. So each request is put back together as those bytes (the in
 * header, the operation's header from op_in, the rest from the payload) and given
 * to fuse_session_process_buf; the custom writev finds the entry of the reply's
 * unique and commits it. Replies that no entry waits for (INIT, notifications,
 * requests that came through /dev/fuse) are written to /dev/fuse as before. INIT,
 * FORGET and INTERRUPT always come through /dev/fuse, which libfuse's own loop
 * keeps reading.
 *
 * Each queue's thread stays on its CPU and is the only one that submits to its
 * ring: the kernel copies the next request into an entry in the context of the
 * task that submitted the entry's command, and a worker thread may end. A reply
 * made on another thread (a worker's, a parked events read answered later) is
 * written into its entry and passed to the queue's thread through a mailbox and an
 * eventfd. A queue never runs out of entries for requests that wait: when fewer
 * than MIN_FREE are left with the kernel, the thread registers another. A request
 * that may wait goes to one of the queue's workers (hand_to_worker); the queue's
 * thread waits as SCHED_BATCH and is made SCHED_OTHER by whoever posts it an answer
 * (set_policy, hurry). */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "readfile.h"
#include "uring.h"

/* The protocol's io_uring part (include/uapi/linux/fuse.h, 7.42); the headers of
 * the distribution predate it. */
#define CFS_FUSE_OVER_IO_URING_HI (1u << (41 - 32))	/* in flags2 */
#define CFS_FUSE_URING_CMD_REGISTER 1
#define CFS_FUSE_URING_CMD_COMMIT_AND_FETCH 2

struct uring_ent_in_out {
	uint64_t flags;
	uint64_t commit_id;
	uint32_t payload_sz;
	uint32_t padding;
	uint64_t reserved;
};

struct uring_req_header {
	char in_out[128];	/* struct fuse_in_header, or the fuse_out_header of a reply */
	char op_in[128];	/* the operation's own header (its first argument) */
	struct uring_ent_in_out ent;
};

struct uring_cmd_req {
	uint64_t flags;
	uint64_t commit_id;
	uint16_t qid;
	uint8_t padding[6];
};

_Static_assert(sizeof(struct uring_req_header) == 288, "fuse_uring_req_header");
_Static_assert(sizeof(struct uring_cmd_req) == 24, "fuse_uring_cmd_req");

#define MIN_FREE 2		/* entries left with the kernel before another is registered */
#define FIRST_ENTS 4		/* entries a queue starts with */
/* Beyond this many, a queue's requests wait in the kernel for an entry to come back.
 * Every user may park reads of `events`, each holding an entry until a change: the
 * bound is far above what parked reads cost through /dev/fuse before memory runs
 * short, and an entry costs a few hundred bytes (its payload buffer is reserved, not
 * touched; 64 of them share one mapping). */
#define MAX_ENTS 65536
#define SLAB 64			/* payload buffers per mapping */
#define RING_SQ 64
#define RING_CQ 1024
#define EVFD_TAG ((uint64_t)1)	/* user_data of the eventfd read; entries are pointers */
#define HASH 1024
#define MAX_WORKERS 256	/* in all; a queue may always have one */
#define IDLE_WORKERS 4		/* idle ones a queue keeps beyond 10 s */

struct queue;

struct ent {
	struct queue *q;
	struct uring_req_header *hdr;
	void *payload;
	struct iovec iov[2];
	uint64_t unique;	/* the request it holds, 0 if with the kernel */
	bool dirty;		/* its payload buffer has pages in memory */
	unsigned idx;		/* in its queue's ents */
	struct ent *hnext;	/* in the unique hash */
	struct ent *mnext;	/* in the queue's mailbox */
};

struct queue {
	int qid;
	pthread_t tid;
	bool started;
	struct io_uring ring;
	bool ring_ok;
	bool can_trim;		/* the kernel writes into entries only in io_uring_enter */
	struct ent **dirty;	/* dirty entries beyond the first FIRST_ENTS */
	unsigned n_dirty, cap_dirty;
	int evfd;
	uint64_t evbuf;
	pthread_mutex_t lock;	/* the mailbox */
	struct ent *mail;
	struct ent **ents;
	unsigned n_ents, cap_ents;
	char **slabs;		/* the mappings of the payload buffers, SLAB each */
	unsigned held;		/* entries the daemon holds (a request in hand) */
	/* its workers, bound to its CPU while they wait for a job */
	pthread_mutex_t wlock;	/* jobs, pending, idle, workers */
	pthread_cond_t wcond;
	struct job *jobs, **jobs_tail;
	unsigned pending, idle, workers;
	bool pin;		/* its CPU can be a worker's (in the daemon's mask) */
	int policy;		/* the policy this thread last gave itself */
	atomic_bool hurried;	/* another thread made it SCHED_OTHER since */
	bool gone;		/* its thread ends or ended (under lock) */
	char *buf;		/* a request put back together, for answers at once */
};

enum phase {
	P_OFF,			/* not attached, or given up */
	P_WAIT_INIT,		/* queues ready, INIT not seen yet */
	P_REGISTER,		/* INIT answered with io_uring: the queues register */
};

static struct {
	struct fuse_session *se;
	struct uring_cfg cfg;
	int fd;
	enum phase phase;
	pthread_mutex_t lock;	/* phase, setup counts */
	pthread_cond_t cond;
	unsigned nq, ready, failed;
	struct queue *qs;
	uint64_t init_unique;
	bool kernel_offers;
	size_t payload_sz;
	cpu_set_t mask;		/* the daemon's CPUs, which workers run on */
	bool mask_ok;		/* mask was read: workers may be bound and let go */
	int policy;		/* the daemon's scheduling, which workers go back to */
	struct sched_param prio;
	char why[160];
	atomic_bool quit;

	pthread_mutex_t hlock;	/* the unique hash */
	struct ent *hash[HASH];

	pthread_mutex_t wlock;	/* wdone: the last workers' exit */
	pthread_cond_t wdone;
	atomic_uint workers, busy;	/* all queues' workers; those not waiting for a job */
} U = {
	.fd = -1,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.hlock = PTHREAD_MUTEX_INITIALIZER,
	.wlock = PTHREAD_MUTEX_INITIALIZER,
	.wdone = PTHREAD_COND_INITIALIZER,
};

static __thread struct queue *self_q;	/* the queue whose thread this is */
static __thread uint64_t worker_job;	/* the unique of the job this worker works on */

struct job {
	struct job *next;
	size_t len;
	char buf[];
};

#define set_why(...) snprintf(U.why, sizeof(U.why), __VA_ARGS__)

/* ---- the unique of each request an entry holds ---- */

static void hash_add(struct ent *e)
{
	unsigned b = (unsigned)(e->unique >> 1) % HASH;

	pthread_mutex_lock(&U.hlock);
	e->hnext = U.hash[b];
	U.hash[b] = e;
	pthread_mutex_unlock(&U.hlock);
}

static struct ent *hash_take(uint64_t unique)
{
	unsigned b = (unsigned)(unique >> 1) % HASH;
	struct ent **pp, *e = NULL;

	pthread_mutex_lock(&U.hlock);
	for (pp = &U.hash[b]; *pp; pp = &(*pp)->hnext) {
		if ((*pp)->unique == unique) {
			e = *pp;
			*pp = e->hnext;
			break;
		}
	}
	pthread_mutex_unlock(&U.hlock);
	return e;
}

/* ---- the ring ---- */

static struct io_uring_sqe *get_sqe(struct queue *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

	if (!sqe) {
		io_uring_submit(&q->ring);
		sqe = io_uring_get_sqe(&q->ring);
	}
	return sqe;
}

static bool push_cmd(struct queue *q, struct ent *e, uint32_t op, uint64_t commit_id)
{
	struct io_uring_sqe *sqe = get_sqe(q);
	struct uring_cmd_req *cr;

	if (!sqe)
		return false;
	memset(sqe, 0, 2 * sizeof(*sqe));	/* SQE128: the command area runs on */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = U.fd;
	sqe->cmd_op = op;
	if (op == CFS_FUSE_URING_CMD_REGISTER) {
		sqe->addr = (uint64_t)(uintptr_t)e->iov;
		sqe->len = 2;
	}
	cr = (struct uring_cmd_req *)sqe->cmd;
	cr->qid = (uint16_t)q->qid;
	cr->commit_id = commit_id;
	io_uring_sqe_set_data(sqe, e);
	return true;
}

static void arm_eventfd(struct queue *q)
{
	struct io_uring_sqe *sqe = get_sqe(q);

	if (!sqe)
		return;
	io_uring_prep_read(sqe, q->evfd, &q->evbuf, sizeof(q->evbuf), 0);
	io_uring_sqe_set_data64(sqe, EVFD_TAG);
}

/* room for one more entry pointer in *arr of *cap (doubling), or false */
static bool room_for_one(struct ent ***arr, unsigned n, unsigned *cap)
{
	unsigned c = *cap ? *cap * 2 : 16;
	struct ent **grown;

	if (n < *cap)
		return true;
	grown = realloc(*arr, c * sizeof(**arr));
	if (!grown)
		return false;
	*arr = grown;
	*cap = c;
	return true;
}

static struct ent *new_ent(struct queue *q)
{
	unsigned in_slab = q->n_ents % SLAB, slab_cap = q->n_ents / SLAB + 1;
	struct ent *e;

	if (q->n_ents >= MAX_ENTS || !room_for_one(&q->ents, q->n_ents, &q->cap_ents))
		return NULL;
	if (!in_slab) {
		/* the kernel wants room for its largest request; only what it writes is
		 * ever touched, so an entry costs a page or two of memory at most */
		char *m, **grown = realloc(q->slabs, slab_cap * sizeof(*q->slabs));

		if (!grown)
			return NULL;
		q->slabs = grown;
		m = mmap(NULL, SLAB * U.payload_sz, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED)
			return NULL;
		q->slabs[slab_cap - 1] = m;
	}
	e = calloc(1, sizeof(*e));
	if (e)
		e->hdr = calloc(1, sizeof(*e->hdr));
	if (!e || !e->hdr) {
		free(e);
		if (!in_slab)	/* the slab stays unused: made again for the next */
			munmap(q->slabs[slab_cap - 1], SLAB * U.payload_sz);
		return NULL;
	}
	e->payload = q->slabs[slab_cap - 1] + (size_t)in_slab * U.payload_sz;
	e->idx = q->n_ents;
	q->ents[q->n_ents++] = e;
	e->q = q;
	e->iov[0] = (struct iovec){ e->hdr, sizeof(*e->hdr) };
	e->iov[1] = (struct iovec){ e->payload, U.payload_sz };
	return e;
}

static bool add_ent(struct queue *q)
{
	struct ent *e = new_ent(q);

	return e && push_cmd(q, e, CFS_FUSE_URING_CMD_REGISTER, 0);
}

/* e's payload buffer has pages in memory (the queue's thread only: trim reads it). */
static void mark_dirty(struct queue *q, struct ent *e, size_t bytes)
{
	if (!bytes || e->dirty)
		return;
	if (e->idx < FIRST_ENTS) {
		e->dirty = true;	/* kept: these are the busy ones */
		return;
	}
	if (!room_for_one(&q->dirty, q->n_dirty, &q->cap_dirty))
		return;		/* not given back: a few pages kept */
	e->dirty = true;
	q->dirty[q->n_dirty++] = e;
}

/* The answer in e's buffers goes back to the kernel with e's next fetch. */
static void commit(struct queue *q, struct ent *e)
{
	uint64_t unique = e->unique;

	mark_dirty(q, e, e->hdr->ent.payload_sz);	/* the answer's pages */
	e->unique = 0;
	q->held--;
	if (!push_cmd(q, e, CFS_FUSE_URING_CMD_COMMIT_AND_FETCH, unique))
		log_err("fuse io_uring: no room to answer request %llu",
			(unsigned long long)unique);
}

static void take_mail(struct queue *q)
{
	struct ent *m, *next;

	pthread_mutex_lock(&q->lock);
	m = q->mail;
	q->mail = NULL;
	pthread_mutex_unlock(&q->lock);
	for (; m; m = next) {
		next = m->mnext;
		commit(q, m);
	}
}

/* ---- workers, for requests that may wait ---- */

/* the calling thread bound to q's CPU, or let go to the daemon's */
static void bind_to(const struct queue *q, bool bound)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(q->qid, &one);
	sched_setaffinity(0, sizeof(one), bound ? &one : &U.mask);
}

static void pin_worker(const struct queue *q, bool bound)
{
	if (q->pin)
		bind_to(q, bound);
}

static void *worker_main(void *arg)
{
	struct queue *q = arg;
	struct job *j;
	struct timespec until;
	char name[16];
	bool bound = true;	/* made by the queue's thread: on its CPU */

	/* Bound to the queue's CPU while it waits for a job, so that the hand-over wakes
	 * no other CPU (a setting's write through a queue took 35-45 µs so, 160 µs when
	 * the worker woke on the other CPU of a VM whose idle CPUs halt); free while it
	 * works. What a worker starts gets the daemon's CPUs back (engine/run/spawn). Its
	 * policy is the daemon's: the queue's thread may be of SCHED_BATCH. */
	snprintf(name, sizeof(name), "uring-w%d", q->qid);
	pthread_setname_np(pthread_self(), name);
	pthread_setschedparam(pthread_self(), U.policy, &U.prio);
	pthread_mutex_lock(&q->wlock);
	for (;;) {
		if (!q->jobs && !bound) {
			/* about to wait: bound again (not between two jobs) */
			pthread_mutex_unlock(&q->wlock);
			pin_worker(q, true);
			bound = true;
			pthread_mutex_lock(&q->wlock);
		}
		while (!q->jobs && !atomic_load(&U.quit)) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 10;
			q->idle++;
			atomic_fetch_sub(&U.busy, 1);
			int r = pthread_cond_timedwait(&q->wcond, &q->wlock, &until);

			atomic_fetch_add(&U.busy, 1);
			q->idle--;
			if (r == ETIMEDOUT && !q->jobs && q->idle >= IDLE_WORKERS)
				goto out;
		}
		if (!q->jobs)
			break;
		j = q->jobs;
		q->jobs = j->next;
		if (!q->jobs)
			q->jobs_tail = &q->jobs;
		q->pending--;
		pthread_mutex_unlock(&q->wlock);
		struct fuse_buf fb = { .mem = j->buf, .size = j->len };

		/* free while it works: what waits for the disk or a child is woken where
		 * the scheduler likes, and a burst of starts from one CPU spreads */
		if (bound) {
			pin_worker(q, false);
			bound = false;
		}
		worker_job = ((const struct fuse_in_header *)j->buf)->unique;
		fuse_session_process_buf(U.se, &fb);
		worker_job = 0;
		free(j);
		pthread_mutex_lock(&q->wlock);
	}
out:
	q->workers--;
	pthread_mutex_unlock(&q->wlock);
	atomic_fetch_sub(&U.busy, 1);
	pthread_mutex_lock(&U.wlock);
	atomic_fetch_sub(&U.workers, 1);
	pthread_cond_broadcast(&U.wdone);
	pthread_mutex_unlock(&U.wlock);
	return NULL;
}

/* A request that may wait, to one of q's workers, a new one if none is idle (made by
 * this, the queue's thread, the only one that adds q's jobs and workers). At most
 * MAX_WORKERS work at once in all, idle ones aside; a queue may always have one. */
static bool hand_to_worker(struct queue *q, const char *req, size_t len)
{
	struct job *j = malloc(sizeof(*j) + len);
	pthread_attr_t attr;
	pthread_t t;
	bool more, ok = true;

	if (!j)
		return false;
	j->next = NULL;
	j->len = len;
	memcpy(j->buf, req, len);
	pthread_mutex_lock(&q->wlock);
	*q->jobs_tail = j;
	q->jobs_tail = &j->next;
	q->pending++;
	more = q->pending > q->idle && (atomic_load(&U.busy) < MAX_WORKERS || !q->workers);
	if (more)
		q->workers++;	/* counted before it runs: it may end at once */
	pthread_mutex_unlock(&q->wlock);
	/* after the unlock: the worker woken does not wait for the lock at once */
	pthread_cond_signal(&q->wcond);
	if (!more)
		return true;
	atomic_fetch_add(&U.workers, 1);
	atomic_fetch_add(&U.busy, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, worker_main, q) != 0) {
		atomic_fetch_sub(&U.workers, 1);
		atomic_fetch_sub(&U.busy, 1);
		pthread_mutex_lock(&q->wlock);
		q->workers--;
		if (!q->workers) {	/* no one would take it: taken back */
			struct job **pp = &q->jobs;

			while (*pp != j)
				pp = &(*pp)->next;
			*pp = NULL;
			q->jobs_tail = pp;
			q->pending--;
			free(j);
			ok = false;
		}
		pthread_mutex_unlock(&q->wlock);
	}
	pthread_attr_destroy(&attr);
	return ok;
}

/* ---- one request ---- */

static void answer_err(struct queue *q, struct ent *e, int err)
{
	struct fuse_out_header *out = (struct fuse_out_header *)e->hdr->in_out;

	memset(out, 0, sizeof(*out));
	out->unique = e->unique;
	out->error = -err;
	e->hdr->ent.payload_sz = 0;
	if (hash_take(e->unique) == e)
		commit(q, e);
}

static void take_request(struct queue *q, struct ent *e)
{
	const struct fuse_in_header *in = (const struct fuse_in_header *)e->hdr->in_out;
	size_t payload = e->hdr->ent.payload_sz;
	size_t head, len;
	struct fuse_in_header *whole;

	e->unique = in->unique;
	mark_dirty(q, e, payload);
	q->held++;
	hash_add(e);
	/* the operation's header is what the length leaves beside the payload */
	if (in->len < sizeof(*in) + payload || in->len - sizeof(*in) - payload > sizeof(e->hdr->op_in) ||
	    payload > U.payload_sz) {
		log_err("fuse io_uring: request %u of %u bytes with a payload of %zu", in->opcode,
			in->len, payload);
		answer_err(q, e, EIO);
		return;
	}
	head = in->len - sizeof(*in) - payload;
	len = in->len;
	whole = (struct fuse_in_header *)q->buf;
	memcpy(whole, in, sizeof(*in));
	memcpy(q->buf + sizeof(*in), e->hdr->op_in, head);
	memcpy(q->buf + sizeof(*in) + head, e->payload, payload);
	if (!U.cfg.at_once || U.cfg.at_once(whole, q->buf + sizeof(*in))) {
		struct fuse_buf fb = { .mem = q->buf, .size = len };

		fuse_session_process_buf(U.se, &fb);
	} else if (!hand_to_worker(q, q->buf, len)) {
		answer_err(q, e, ENOMEM);
	}
}

static void hurry(struct queue *q);

/* A reply for an entry: into its buffers, then committed by its queue's thread. */
static ssize_t answer(struct ent *e, const struct iovec *iov, int count)
{
	struct queue *q = e->q;
	struct fuse_out_header *out = (struct fuse_out_header *)e->hdr->in_out;
	size_t len = 0;

	memcpy(out, iov[0].iov_base, sizeof(*out));
	for (int i = 1; i < count; i++) {
		if (len + iov[i].iov_len > U.payload_sz) {
			out->error = -EIO;
			len = 0;
			break;
		}
		memcpy((char *)e->payload + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	e->hdr->ent.payload_sz = (uint32_t)len;
	if (self_q == q) {
		commit(q, e);
	} else {
		uint64_t one = 1;
		bool first;

		/* one wake-up for a batch (a change answering 1,000 parked reads): a
		 * reply that finds the mailbox full is taken with those before it */
		pthread_mutex_lock(&q->lock);
		first = !q->mail;
		e->mnext = q->mail;
		q->mail = e;
		/* a worker answering its own job on the queue's CPU is about to wait:
		 * the thread gets the CPU then; any other answer must preempt what runs
		 * there (see set_policy). Once a batch, as the wake-up. */
		if (first && !q->gone && !(e->unique == worker_job && sched_getcpu() == q->qid))
			hurry(q);
		pthread_mutex_unlock(&q->lock);
		if (first && write(q->evfd, &one, sizeof(one)) < 0)
			log_err("fuse io_uring: cannot wake queue %d: %m", q->qid);
	}
	return (ssize_t)(sizeof(struct fuse_out_header) + len);
}

/* ---- a queue's thread ---- */

/* A request from this CPU finds its caller asleep, waiting for the answer: the
 * thread runs at once whatever its policy. But a RELEASE, sent as the caller closes a
 * file, waits for no one, and a thread of SCHED_OTHER woken by it preempts the
 * caller on its way back from close() (two switches per file read, about a third of
 * an open+read+close). SCHED_BATCH does not preempt at wake-up, so the thread waits
 * as SCHED_BATCH and the RELEASE is taken when the caller next sleeps, with its next
 * request. An answer made on another thread (a worker's, a parked events read's) is
 * another matter: it must preempt what runs on the CPU (a container's busy loop; as
 * SCHED_BATCH the thread would wait for the tick, 12 ms for a setting's write), so
 * the thread that posts it makes the queue's thread SCHED_OTHER first (hurry) — but
 * for a worker answering its own job on this CPU, which is about to wait anyway: had
 * the thread preempted it, the worker would still be runnable when the caller is
 * woken, and the scheduler would move the caller to another, idle CPU (2.3
 * migrations per setting write, each a wake-up of a halted CPU). Only where the
 * daemon runs under SCHED_OTHER (an administrator's other choice is kept). */
static bool set_policy(struct queue *q)
{
	bool hurried = atomic_exchange(&q->hurried, false);

	if (U.policy != SCHED_OTHER || (q->policy == SCHED_BATCH && !hurried))
		return false;
	if (pthread_setschedparam(pthread_self(), SCHED_BATCH, &(struct sched_param){ 0 }) == 0)
		q->policy = SCHED_BATCH;
	return true;	/* back to SCHED_BATCH */
}

/* q's thread will wake SCHED_OTHER (q->lock held: it has not ended) */
static void hurry(struct queue *q)
{
	if (U.policy != SCHED_OTHER)
		return;
	pthread_setschedparam(q->tid, SCHED_OTHER, &(struct sched_param){ 0 });
	atomic_store(&q->hurried, true);
}

/* anything in q's mailbox (the queue's thread only) */
static bool mail_waiting(struct queue *q)
{
	bool any;

	pthread_mutex_lock(&q->lock);
	any = q->mail != NULL;
	pthread_mutex_unlock(&q->lock);
	return any;
}

/* Entries beyond the first few are made for requests that wait (a parked events
 * read holds one until a change) and stay registered; the pages their answers
 * touched go back, so 1,000 readers once parked do not keep 4 MB. Only at a moment
 * the kernel cannot write into an entry: every answer committed has been submitted
 * (the kernel copies it out as it takes the command), no completion is waiting to be
 * seen (so every entry not held is with the kernel, empty) and, the task work being
 * deferred, nothing is copied in until this thread waits in io_uring again. */
static void trim(struct queue *q)
{
	if (!q->can_trim || !q->n_dirty)
		return;
	/* answers committed but not yet submitted are still in their entries */
	if (io_uring_sq_ready(&q->ring))
		io_uring_submit(&q->ring);
	if (io_uring_cq_ready(&q->ring))
		return;
	for (unsigned i = 0; i < q->n_dirty;) {
		struct ent *e = q->dirty[i];

		if (e->unique) {	/* held: its request or answer is in use */
			i++;
			continue;
		}
		madvise(e->payload, U.payload_sz, MADV_DONTNEED);
		e->dirty = false;
		q->dirty[i] = q->dirty[--q->n_dirty];
	}
}

static void queue_setup(struct queue *q)
{
	struct io_uring_params p;
	int r;

	/* a CPU that is not online cannot be joined; its queue waits all the same */
	bind_to(q, true);
	/* Deferred task work: the kernel copies requests into entries only while this
	 * thread is in io_uring_enter waiting for completions, never at the return of
	 * another system call, so between two waits it knows what the entries hold (see
	 * trim). One issuer: only this thread submits. */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
		  IORING_SETUP_DEFER_TASKRUN;
	p.cq_entries = RING_CQ;
	r = io_uring_queue_init_params(RING_SQ, &q->ring, &p);
	q->can_trim = r == 0;
	if (r == -EINVAL) {	/* before Linux 6.1 */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQSIZE;
		p.cq_entries = RING_CQ;
		r = io_uring_queue_init_params(RING_SQ, &q->ring, &p);
	}
	if (r < 0) {
		set_why("/dev/fuse (io_uring cannot be set up: %s)", strerror(-r));
		return;
	}
	q->ring_ok = true;
	q->evfd = eventfd(0, EFD_CLOEXEC);
	if (q->evfd < 0)
		set_why("/dev/fuse (no eventfd: %s)", strerror(errno));
}

static void *queue_main(void *arg)
{
	struct queue *q = arg;
	struct io_uring_cqe *cqe;
	unsigned head, seen;
	bool ok, dead = false;
	char name[16];

	snprintf(name, sizeof(name), "uring-q%d", q->qid);
	pthread_setname_np(pthread_self(), name);
	self_q = q;
	queue_setup(q);
	ok = q->ring_ok && q->evfd >= 0;
	pthread_mutex_lock(&U.lock);
	U.ready++;
	if (!ok)
		U.failed++;
	pthread_cond_broadcast(&U.cond);
	while (U.phase == P_WAIT_INIT && !U.quit)
		pthread_cond_wait(&U.cond, &U.lock);
	ok = ok && U.phase == P_REGISTER && !U.quit;
	pthread_mutex_unlock(&U.lock);
	if (!ok)
		return NULL;

	/* the first entries were made with the INIT reply */
	for (unsigned i = 0; i < q->n_ents; i++)
		push_cmd(q, q->ents[i], CFS_FUSE_URING_CMD_REGISTER, 0);
	arm_eventfd(q);
	q->policy = U.policy;
	while (!dead) {
		/* an answer posted before the policy went back may have been hurried
		 * for nothing: taken now rather than waited for */
		bool mail = set_policy(q) && mail_waiting(q);

		if (mail)
			take_mail(q);
		int r = io_uring_submit_and_wait(&q->ring, mail ? 0 : 1);

		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			log_err("fuse io_uring: queue %d: %s", q->qid, strerror(-r));
			break;
		}
		seen = 0;
		io_uring_for_each_cqe(&q->ring, head, cqe)
		{
			uint64_t tag = cqe->user_data;

			seen++;
			if (tag == EVFD_TAG) {
				if (U.quit)
					dead = true;
				take_mail(q);
				if (!dead)
					arm_eventfd(q);
				continue;
			}
			struct ent *e = (struct ent *)(uintptr_t)tag;

			if (cqe->res < 0) {
				/* the connection ends (unmount, abort) or the kernel
				 * refused the entry: it is the kernel's no more */
				if (cqe->res != -ENOTCONN && cqe->res != -ECANCELED)
					log_err("fuse io_uring: queue %d: %s", q->qid,
						strerror(-cqe->res));
				continue;
			}
			take_request(q, e);
		}
		io_uring_cq_advance(&q->ring, seen);
		take_mail(q);
		/* requests that wait hold their entries: keep some with the kernel */
		while (!dead && q->n_ents - q->held < MIN_FREE && q->n_ents < MAX_ENTS)
			if (!add_ent(q))
				break;
		trim(q);
		if (U.quit)
			dead = true;
	}
	return NULL;
}

/* ---- the session's io ---- */

/* The kernel offers io_uring (its INIT, read by a thread of libfuse's loop, which
 * answers it next): the queues' threads are made now and their rings set up before
 * the answer, so that it asks for io_uring only if they all could be. Where the
 * kernel does not offer it there is neither thread nor ring. */
static void start_queues(void)
{
	for (unsigned i = 0; i < U.nq; i++) {
		struct queue *q = &U.qs[i];

		if (pthread_create(&q->tid, NULL, queue_main, q) != 0) {
			pthread_mutex_lock(&U.lock);
			U.ready++;
			U.failed++;
			pthread_mutex_unlock(&U.lock);
			set_why("%s", "/dev/fuse (no thread for an io_uring queue)");
			continue;
		}
		q->started = true;
	}
	pthread_mutex_lock(&U.lock);
	while (U.ready < U.nq)
		pthread_cond_wait(&U.cond, &U.lock);
	pthread_mutex_unlock(&U.lock);
}

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t r = read(fd, buf, len);
	const struct fuse_in_header *in = buf;

	if (r >= (ssize_t)(sizeof(*in) + 2 * sizeof(uint32_t)) && in->opcode == FUSE_INIT) {
		const struct fuse_init_in *ii = (const void *)(in + 1);
		size_t have = (size_t)r - sizeof(*in);

		U.init_unique = in->unique;
		U.kernel_offers = have >= offsetof(struct fuse_init_in, flags2) + sizeof(ii->flags2) &&
				  (ii->flags & FUSE_INIT_EXT) &&
				  (ii->flags2 & CFS_FUSE_OVER_IO_URING_HI);
		if (U.kernel_offers && U.phase == P_WAIT_INIT)
			start_queues();
	}
	return r;
}

/* The INIT reply asks for io_uring where the kernel offered it and the queues are
 * ready; it says how large the kernel's requests can be. */
static bool patch_init(struct iovec *iov, int count)
{
	struct fuse_out_header *out = iov[0].iov_base;
	struct fuse_init_out *io;
	size_t wsz, psz;

	if (out->error || count < 2 ||
	    iov[1].iov_len < offsetof(struct fuse_init_out, flags2) + sizeof(io->flags2))
		return false;
	io = iov[1].iov_base;
	if (!U.kernel_offers) {
		set_why("%s", "/dev/fuse (the kernel's fuse module does not offer io_uring: "
			      "its enable_uring parameter is off)");
		return false;
	}
	if (U.failed || U.cfg.disable) {
		if (U.cfg.disable)
			set_why("%s", "/dev/fuse (io_uring turned off by --no-uring)");
		return false;
	}
	wsz = io->max_write;
	psz = (size_t)io->max_pages * 4096;
	U.payload_sz = wsz > psz ? wsz : psz;
	if (U.payload_sz < 8192)
		U.payload_sz = 8192;
	U.payload_sz = (U.payload_sz + 4095) & ~(size_t)4095;
	/* Once asked, the kernel holds every request until each queue has an entry:
	 * they are all made now, and io_uring is asked for only if they could be. */
	for (unsigned i = 0; i < U.nq; i++) {
		struct queue *q = &U.qs[i];

		q->buf = malloc(sizeof(struct fuse_in_header) + sizeof(q->ents[0]->hdr->op_in) +
				U.payload_sz);
		for (int k = 0; q->buf && k < FIRST_ENTS; k++)
			if (!new_ent(q))
				break;
		if (q->n_ents < FIRST_ENTS) {
			set_why("%s", "/dev/fuse (no memory for the io_uring queues)");
			return false;
		}
	}
	io->flags |= FUSE_INIT_EXT;
	io->flags2 |= CFS_FUSE_OVER_IO_URING_HI;
	return true;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct fuse_out_header *out = iov[0].iov_base;
	struct ent *e;
	bool init, asked = false;
	ssize_t r;

	if (out->unique && (e = hash_take(out->unique)))
		return answer(e, iov, count);
	init = U.phase == P_WAIT_INIT && out->unique == U.init_unique && U.init_unique;
	if (init)
		asked = patch_init(iov, count);
	r = writev(fd, iov, count);
	if (init) {
		int saved = errno;

		pthread_mutex_lock(&U.lock);
		/* the kernel holds every request until all queues registered */
		U.phase = asked && r >= 0 ? P_REGISTER : P_OFF;
		if (U.phase == P_REGISTER)
			snprintf(U.why, sizeof(U.why), "io_uring, %u queues", U.nq);
		pthread_cond_broadcast(&U.cond);
		pthread_mutex_unlock(&U.lock);
		errno = saved;
	}
	return r;
}

/* The kernel has a queue for each possible CPU (num_possible_cpus) and uses none
 * until all have an entry: count them as it does. */
static long possible_cpus(void)
{
	char buf[256], *p = buf, *end;
	long n = 0, a, b;

	if (read_file_into("/sys/devices/system/cpu/possible", buf, sizeof(buf)) <= 0)
		return sysconf(_SC_NPROCESSORS_CONF);
	while (*p && *p != '\n') {
		a = strtol(p, &end, 10);
		if (end == p)
			return -1;
		b = a;
		p = end;
		if (*p == '-') {
			b = strtol(p + 1, &end, 10);
			p = end;
		}
		if (b < a)
			return -1;
		n += b - a + 1;
		if (*p == ',')
			p++;
	}
	return n;
}

void uring_attach(struct fuse_session *se, const struct uring_cfg *cfg)
{
	static const struct fuse_custom_io io = { .writev = io_writev, .read = io_read };
	long n = possible_cpus();

	U.se = se;
	U.cfg = *cfg;
	U.fd = fuse_session_fd(se);
	U.mask_ok = sched_getaffinity(0, sizeof(U.mask), &U.mask) == 0;
	if (pthread_getschedparam(pthread_self(), &U.policy, &U.prio) != 0) {
		U.policy = SCHED_OTHER;
		U.prio = (struct sched_param){ 0 };
	}
	set_why("%s", "/dev/fuse (the kernel did not offer io_uring)");
	if (fuse_session_custom_io(se, &io, U.fd) != 0) {
		set_why("%s", "/dev/fuse (libfuse refused a custom io)");
		return;
	}
	if (cfg->disable || n < 1 || n > 4096) {
		if (cfg->disable)
			set_why("%s", "/dev/fuse (io_uring turned off by --no-uring)");
		return;
	}
	/* the kernel's queues are its possible CPUs */
	U.nq = (unsigned)n;
	U.qs = calloc(U.nq, sizeof(*U.qs));
	if (!U.qs)
		return;
	for (unsigned i = 0; i < U.nq; i++) {
		U.qs[i].qid = (int)i;
		U.qs[i].evfd = -1;
		pthread_mutex_init(&U.qs[i].lock, NULL);
		pthread_mutex_init(&U.qs[i].wlock, NULL);
		pthread_cond_init(&U.qs[i].wcond, NULL);
		U.qs[i].jobs_tail = &U.qs[i].jobs;
		U.qs[i].pin = U.mask_ok && i < CPU_SETSIZE && CPU_ISSET(i, &U.mask);
	}
	U.phase = P_WAIT_INIT;
}

void uring_detach(void)
{
	uint64_t one = 1;

	if (!U.qs)
		return;
	pthread_mutex_lock(&U.lock);
	U.quit = true;
	pthread_cond_broadcast(&U.cond);
	pthread_mutex_unlock(&U.lock);
	for (unsigned i = 0; i < U.nq; i++) {
		struct queue *q = &U.qs[i];

		if (!q->started)
			continue;
		pthread_mutex_lock(&q->lock);
		q->gone = true;	/* no one changes its policy from now on */
		pthread_mutex_unlock(&q->lock);
		if (q->evfd >= 0 && write(q->evfd, &one, sizeof(one)) < 0)
			log_err("fuse io_uring: cannot end queue %u: %m", i);
		pthread_join(q->tid, NULL);
	}
	/* a worker finishes the request it has (a stop may take its timeout) */
	for (unsigned i = 0; i < U.nq; i++) {
		pthread_mutex_lock(&U.qs[i].wlock);
		pthread_cond_broadcast(&U.qs[i].wcond);
		pthread_mutex_unlock(&U.qs[i].wlock);
	}
	pthread_mutex_lock(&U.wlock);
	while (atomic_load(&U.workers))
		pthread_cond_wait(&U.wdone, &U.wlock);
	pthread_mutex_unlock(&U.wlock);
	for (unsigned i = 0; i < U.nq; i++) {
		struct queue *q = &U.qs[i];

		while (q->jobs) {
			struct job *j = q->jobs;

			q->jobs = j->next;
			free(j);
		}
	}
	/* a reply from now on goes to /dev/fuse (and finds no request) */
	pthread_mutex_lock(&U.hlock);
	memset(U.hash, 0, sizeof(U.hash));
	pthread_mutex_unlock(&U.hlock);
	for (unsigned i = 0; i < U.nq; i++) {
		struct queue *q = &U.qs[i];

		if (q->ring_ok)
			io_uring_queue_exit(&q->ring);
		if (q->evfd >= 0)
			close(q->evfd);
		for (unsigned k = 0; k < q->n_ents; k++) {
			free(q->ents[k]->hdr);
			free(q->ents[k]);
		}
		for (unsigned k = 0; k < (q->n_ents + SLAB - 1) / SLAB; k++)
			munmap(q->slabs[k], SLAB * U.payload_sz);
		free(q->ents);
		free(q->slabs);
		free(q->dirty);
		free(q->buf);
		pthread_mutex_destroy(&q->lock);
		pthread_mutex_destroy(&q->wlock);
		pthread_cond_destroy(&q->wcond);
	}
	free(U.qs);
	U.qs = NULL;
	U.phase = P_OFF;
}

const char *uring_transport(void)
{
	return U.why;
}
