/* registry.c - the containers the engine knows: lookup by name and by id,
 * insertion and removal, iteration over a snapshot, references. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"

/* The registry: an array (listings, iteration) and two hash tables over the same
 * containers, by name and by id, so that resolving an inode or a name costs the
 * same with 10,000 containers as with one. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct container **reg;
static size_t reg_n, reg_cap;
static struct container **by_name, **by_id;
static size_t hash_cap;			/* buckets in each table: 0 or a power of two */
static uint64_t next_id = 1;

static size_t hash_name(const char *name)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 32));
}

static size_t hash_id(uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 20);
}

static void hash_link(struct container *c)
{
	size_t bn = hash_name(c->name) & (hash_cap - 1), bi = hash_id(c->id) & (hash_cap - 1);

	c->next_by_name = by_name[bn];
	by_name[bn] = c;
	c->next_by_id = by_id[bi];
	by_id[bi] = c;
}

static void hash_unlink(struct container *c)
{
	struct container **pp;

	for (pp = &by_name[hash_name(c->name) & (hash_cap - 1)]; *pp; pp = &(*pp)->next_by_name)
		if (*pp == c) {
			*pp = c->next_by_name;
			break;
		}
	for (pp = &by_id[hash_id(c->id) & (hash_cap - 1)]; *pp; pp = &(*pp)->next_by_id)
		if (*pp == c) {
			*pp = c->next_by_id;
			break;
		}
}

/* Room for n containers at no more than one per bucket on average; reg_lock held. */
static int hash_reserve(size_t n)
{
	size_t cap = hash_cap ? hash_cap : 64;
	struct container **nn, **ni;

	while (cap < n)
		cap *= 2;
	if (cap == hash_cap)
		return 0;
	nn = calloc(cap, sizeof(*nn));
	ni = calloc(cap, sizeof(*ni));
	if (!nn || !ni) {
		free(nn);
		free(ni);
		return -ENOMEM;
	}
	free(by_name);
	free(by_id);
	by_name = nn;
	by_id = ni;
	hash_cap = cap;
	for (size_t i = 0; i < reg_n; i++)
		hash_link(reg[i]);
	return 0;
}

static struct container *find_locked(const char *name)
{
	if (!hash_cap)
		return NULL;
	for (struct container *c = by_name[hash_name(name) & (hash_cap - 1)]; c; c = c->next_by_name)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static struct container *find_id_locked(uint64_t id)
{
	if (!hash_cap)
		return NULL;
	for (struct container *c = by_id[hash_id(id) & (hash_cap - 1)]; c; c = c->next_by_id)
		if (c->id == id)
			return c;
	return NULL;
}

struct container *container_get(const char *name)
{
	struct container *c;

	pthread_mutex_lock(&reg_lock);
	c = find_locked(name);
	if (c)
		c->refs++;
	pthread_mutex_unlock(&reg_lock);
	return c;
}

void container_ref(struct container *c)
{
	pthread_mutex_lock(&reg_lock);
	c->refs++;
	pthread_mutex_unlock(&reg_lock);
}

void container_put(struct container *c)
{
	bool last;

	if (!c)
		return;
	pthread_mutex_lock(&reg_lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&reg_lock);
	if (!last)
		return;
	config_free(&c->cfg);
	free(c->run_dir);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->op_lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

int registry_add(struct container *c)
{
	pthread_mutex_lock(&reg_lock);
	if (find_locked(c->name)) {
		pthread_mutex_unlock(&reg_lock);
		return -EEXIST;
	}
	if (reg_n == reg_cap) {
		size_t cap = reg_cap ? reg_cap * 2 : 16;
		struct container **n = realloc(reg, cap * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&reg_lock);
			return -ENOMEM;
		}
		reg = n;
		reg_cap = cap;
	}
	if (hash_reserve(reg_n + 1) < 0) {
		pthread_mutex_unlock(&reg_lock);
		return -ENOMEM;
	}
	c->id = next_id++;
	reg[reg_n++] = c;
	hash_link(c);
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

void registry_remove(struct container *c)
{
	pthread_mutex_lock(&reg_lock);
	for (size_t i = 0; i < reg_n; i++)
		if (reg[i] == c) {
			reg[i] = reg[--reg_n];
			hash_unlink(c);
			break;
		}
	c->removed = true;
	pthread_mutex_unlock(&reg_lock);
	container_put(c);	/* the registry's reference */
}

void container_foreach(void (*fn)(struct container *c, void *data), void *data)
{
	struct container **snap;
	size_t n;

	pthread_mutex_lock(&reg_lock);
	n = reg_n;
	snap = malloc((n ? n : 1) * sizeof(*snap));
	if (!snap) {
		pthread_mutex_unlock(&reg_lock);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		snap[i] = reg[i];
		snap[i]->refs++;
	}
	pthread_mutex_unlock(&reg_lock);
	for (size_t i = 0; i < n; i++) {
		fn(snap[i], data);
		container_put(snap[i]);
	}
	free(snap);
}

/* ---- the engine API's lookups ---- */

bool engine_exists(const char *name, uint64_t *id)
{
	bool found;

	pthread_mutex_lock(&reg_lock);
	struct container *c = find_locked(name);

	found = c != NULL;
	if (c && id)
		*id = c->id;
	pthread_mutex_unlock(&reg_lock);
	return found;
}

int engine_name_of(uint64_t id, char *buf, size_t n)
{
	int r = -ENOENT;

	pthread_mutex_lock(&reg_lock);
	struct container *c = find_id_locked(id);

	if (c) {
		snprintf(buf, n, "%s", c->name);
		r = 0;
	}
	pthread_mutex_unlock(&reg_lock);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **engine_list(void)
{
	char **v;

	pthread_mutex_lock(&reg_lock);
	v = calloc(reg_n + 1, sizeof(*v));
	for (size_t i = 0; v && i < reg_n; i++)
		v[i] = strdup(reg[i]->name);
	size_t n = reg_n;

	pthread_mutex_unlock(&reg_lock);
	if (v)
		qsort(v, n, sizeof(*v), cmp_str);
	return v;
}
