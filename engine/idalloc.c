/* idalloc.c - the ids of an unprivileged container (privileged = 0, idmap empty):
 * 65536 uids and gids of root's subordinate ranges (/etc/subuid, /etc/subgid), a
 * block no other container's idmap touches, written to the container's idmap and
 * persisted with its configuration before its first start, so it keeps them across
 * restarts. When root has no range in a file, the default "root:1000000:1000000000"
 * is appended to it (as Incus assumes), which leaves the ids below 1000000 to the
 * host's users. A delegated container's block comes from its owner's ranges. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "log.h"
#include "parse.h"

#define IDS_PER_CONTAINER 65536ULL
#define DEFAULT_SUBID "root:1000000:1000000000\n"
#define MAX_RANGES 64

struct range {
	uint64_t start, count;
};

struct ranges {
	struct range r[MAX_RANGES];
	int n;
};

static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;

const char *idalloc_subuid = "/etc/subuid";
const char *idalloc_subgid = "/etc/subgid";

static void add_range(struct ranges *rs, uint64_t start, uint64_t count)
{
	if (rs->n < MAX_RANGES && count)
		rs->r[rs->n++] = (struct range){ start, count };
}

/* The lines of one user ("NAME:START:COUNT" or "UID:START:COUNT") of a subid file. */
static int read_subid_of(const char *path, const char *user, unsigned long uid,
			 struct ranges *rs)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[256];

	rs->n = 0;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		uint64_t start, count;

		if (parse_subid_line(line, user, uid, &start, &count))
			add_range(rs, start, count);
	}
	return 0;
}

static int read_subid(const char *path, struct ranges *rs)
{
	return read_subid_of(path, "root", 0, rs);
}

bool idalloc_owner_has(const char *path, const char *user, uid_t uid, uint64_t start,
		       uint64_t count)
{
	struct ranges rs;

	if (read_subid_of(path, user, uid, &rs) < 0)
		return false;
	for (int i = 0; i < rs.n; i++)
		if (start >= rs.r[i].start && start + count <= rs.r[i].start + rs.r[i].count)
			return true;
	return false;
}

/* root's ranges of path, the default appended first if there are none. */
static int root_ranges(const char *path, struct ranges *rs, struct cfs_err *err)
{
	int r = read_subid(path, rs), fd;

	if (r < 0)
		return cfs_err_set(err, -r, "start: cannot read %s: %s", path, strerror(-r));
	if (rs->n)
		return 0;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, DEFAULT_SUBID, strlen(DEFAULT_SUBID)) !=
			      (ssize_t)strlen(DEFAULT_SUBID)) {
		r = errno;
		if (fd >= 0)
			close(fd);
		return cfs_err_set(err, r, "start: root has no range in %s and adding the "
				   "default '%.*s' failed: %s", path,
				   (int)strlen(DEFAULT_SUBID) - 1, DEFAULT_SUBID, strerror(r));
	}
	close(fd);
	log_info("root had no subordinate ids in %s: added %.*s", path,
		 (int)strlen(DEFAULT_SUBID) - 1, DEFAULT_SUBID);
	return read_subid(path, rs);
}

struct used {
	struct container *self;
	struct ranges rs;
};

/* The outside ranges of every other container's idmap. */
static void collect_used(struct container *c, void *data)
{
	struct used *u = data;

	if (c == u->self)
		return;
	pthread_mutex_lock(&c->lock);
	for (const char *s = c->cfg.val[K_IDMAP] ? c->cfg.val[K_IDMAP] : ""; *s;) {
		size_t len = strcspn(s, "\n");
		char line[256];
		struct idmap_entry m;
		struct cfs_err e;

		if (len < sizeof(line)) {
			memcpy(line, s, len);
			line[len] = '\0';
			if (parse_idmap_line(line, &m, &e) == 0)
				add_range(&u->rs, m.outside, m.count);
		}
		s += len + (s[len] == '\n');
	}
	pthread_mutex_unlock(&c->lock);
}

static bool within(const struct ranges *rs, uint64_t start, uint64_t count)
{
	for (int i = 0; i < rs->n; i++)
		if (start >= rs->r[i].start && start + count <= rs->r[i].start + rs->r[i].count)
			return true;
	return false;
}

static bool overlaps(const struct ranges *rs, uint64_t start, uint64_t count)
{
	for (int i = 0; i < rs->n; i++)
		if (start < rs->r[i].start + rs->r[i].count && rs->r[i].start < start + count)
			return true;
	return false;
}

/* A delegated container's ids come from its owner's ranges only (nothing is added
 * to the files for a user: root grants a user ranges). */
static int owner_ranges(const char *path, uid_t owner, struct ranges *rs, struct cfs_err *err)
{
	char user[64];
	int r;

	delegate_user_name(owner, user, sizeof(user));
	r = read_subid_of(path, user, owner, rs);
	if (r < 0)
		return cfs_err_set(err, -r, "start: cannot read %s: %s", path, strerror(-r));
	return 0;
}

static int pick(struct container *c, uid_t owner, uint64_t *first, struct cfs_err *err)
{
	struct ranges uids, gids;
	struct used u = { .self = c };
	int r = owner ? owner_ranges(idalloc_subuid, owner, &uids, err)
		      : root_ranges(idalloc_subuid, &uids, err);

	if (r >= 0)
		r = owner ? owner_ranges(idalloc_subgid, owner, &gids, err)
			  : root_ranges(idalloc_subgid, &gids, err);
	if (r < 0)
		return r;
	container_foreach(collect_used, &u);
	for (int i = 0; i < uids.n; i++)
		for (uint64_t b = uids.r[i].start;
		     b + IDS_PER_CONTAINER <= uids.r[i].start + uids.r[i].count;
		     b += IDS_PER_CONTAINER)
			if (within(&gids, b, IDS_PER_CONTAINER) &&
			    !overlaps(&u.rs, b, IDS_PER_CONTAINER)) {
				*first = b;
				return 0;
			}
	if (owner)
		return cfs_err_set(err, ENOSPC, "start: the owner (uid %u) has no free block of "
				   "%llu ids in its ranges of %s and %s (root grants them)",
				   (unsigned)owner, IDS_PER_CONTAINER, idalloc_subuid,
				   idalloc_subgid);
	return cfs_err_set(err, ENOSPC, "start: no free block of %llu ids in root's ranges of "
			   "%s and %s (every block is some container's idmap)",
			   IDS_PER_CONTAINER, idalloc_subuid, idalloc_subgid);
}

int idalloc_assign(struct container *c, struct cfs_err *err)
{
	struct config cfg;
	struct cfg_times times;
	struct cfs_err terr = { 0 };
	uint64_t first = 0;
	char map[128];
	bool need;
	int r;

	uid_t owner;

	pthread_mutex_lock(&c->lock);
	owner = c->owner_uid;
	if (owner && config_privileged(&c->cfg)) {
		pthread_mutex_unlock(&c->lock);
		return cfs_err_set(err, EPERM, "start: a delegated container runs unprivileged: "
				   "privileged must be 0");
	}
	need = !config_privileged(&c->cfg) &&
	       (!(c->cfg.val[K_IDMAP] && *c->cfg.val[K_IDMAP]) ||
		(owner && !delegate_idmap_owned(c->cfg.val[K_IDMAP], owner)));
	pthread_mutex_unlock(&c->lock);
	if (!need)
		return 0;
	pthread_mutex_lock(&alloc_lock);
	r = pick(c, owner, &first, err);
	if (r < 0)
		goto out;
	snprintf(map, sizeof(map), "u 0 %" PRIu64 " %llu\ng 0 %" PRIu64 " %llu\n", first,
		 IDS_PER_CONTAINER, first, IDS_PER_CONTAINER);
	pthread_mutex_lock(&c->lock);
	r = config_copy(&cfg, &c->cfg);
	pthread_mutex_unlock(&c->lock);
	if (r < 0) {
		r = cfs_err_set(err, ENOMEM, "start: out of memory");
		goto out;
	}
	r = config_set(&cfg, K_IDMAP, map, strlen(map), err);
	if (r >= 0)
		r = store_save(c->name, &cfg, err);
	if (r < 0) {
		config_free(&cfg);
		goto out;
	}
	pthread_mutex_lock(&c->lock);
	config_free(&c->cfg);
	c->cfg = cfg;
	times = c->mtime;
	pthread_mutex_unlock(&c->lock);
	/* the configuration file's mtime moved: a new container, which has no times
	 * file yet (its settings load with that mtime), keeps its times with one */
	if (store_save_times(c->name, &times, &terr) < 0)
		log_err("%s: %s", c->name, terr.msg);
	log_info("%s: unprivileged, ids %" PRIu64 "-%llu of %s subordinate ranges", c->name,
		 first, first + IDS_PER_CONTAINER - 1, owner ? "its owner's" : "root's");
out:
	pthread_mutex_unlock(&alloc_lock);
	return r;
}
