/* fhtrack.c - the table of open files and directories by id, with a reference
 * count each (see fhtrack.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dlist.h"
#include "fhtrack.h"

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
	DLIST_PUSH(fh_table[l->id % FH_BUCKETS], l);
	pthread_mutex_unlock(&fh_lock);
	return l->id;
}

static void unlink_locked(struct fh_link *l)
{
	DLIST_UNLINK(fh_table[l->id % FH_BUCKETS], l);
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

void fh_each(void (*fn)(struct fh_link *l, void *arg), void *arg)
{
	pthread_mutex_lock(&fh_lock);
	for (int b = 0; b < FH_BUCKETS; b++)
		for (struct fh_link *l = fh_table[b]; l; l = l->next)
			if (!l->released)
				fn(l, arg);
	pthread_mutex_unlock(&fh_lock);
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
