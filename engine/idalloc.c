/* idalloc.c - the ids of an unprivileged container (privileged = 0, idmap empty):
 * 65536 uids and gids of root's subordinate ranges (/etc/subuid, /etc/subgid), a
 * block no other container's idmap touches, written to the container's idmap and
 * persisted with its configuration before its first start, so it keeps them across
 * restarts. When root has no range in a file, the default "root:1000000:1000000000"
 * is appended to it (as Incus assumes), which leaves the ids below 1000000 to the
 * host's users. A delegated container's block comes from its owner's ranges.
 * A block never overlaps another user's range of either file (root's blocks avoid
 * every other user's; an owner's avoid every user's but its own and root's, whose
 * blocks are the other containers' idmaps). Any number of ranges and idmaps count. */
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
#include "config/parse.h"

#define IDS_PER_CONTAINER 65536ULL
#define DEFAULT_SUBID "root:1000000:1000000000\n"
struct range {
	uint64_t start, count;
};

struct ranges {
	struct range *r;
	int n, cap;
	bool oom;	/* a range could not be kept: the set is incomplete */
};

static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;

const char *idalloc_subuid = "/etc/subuid";
const char *idalloc_subgid = "/etc/subgid";

static void add_range(struct ranges *rs, uint64_t start, uint64_t count)
{
	if (!count)
		return;
	if (rs->n == rs->cap) {
		int cap = rs->cap ? rs->cap * 2 : 16;
		struct range *r = realloc(rs->r, (size_t)cap * sizeof(*r));

		if (!r) {
			rs->oom = true;
			return;
		}
		rs->r = r;
		rs->cap = cap;
	}
	rs->r[rs->n++] = (struct range){ start, count };
}

static void ranges_free(struct ranges *rs)
{
	free(rs->r);
	*rs = (struct ranges){ 0 };
}

/* The lines of one user ("NAME:START:COUNT" or "UID:START:COUNT") of a subid file;
 * with others, the lines of every other user instead. */
static int read_subid_lines(const char *path, const char *user, unsigned long uid,
			    bool others, struct ranges *rs)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[256], num[24];

	rs->n = 0;
	rs->oom = false;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	snprintf(num, sizeof(num), "%lu", uid);
	while (fgets(line, sizeof(line), f)) {
		uint64_t start, count;
		size_t n = strcspn(line, ":");
		char name[sizeof(line)];

		if (!others) {
			if (parse_subid_line(line, user, uid, &start, &count))
				add_range(rs, start, count);
			continue;
		}
		memcpy(name, line, n);
		name[n] = '\0';
		if (!strcmp(name, user) || !strcmp(name, num) ||
		    (uid && (!strcmp(name, "root") || !strcmp(name, "0"))))
			continue;	/* its own, or (for an owner) root's */
		if (parse_subid_line(line, name, (unsigned long)-1, &start, &count))
			add_range(rs, start, count);
	}
	return rs->oom ? -ENOMEM : 0;
}

static int read_subid_of(const char *path, const char *user, unsigned long uid,
			 struct ranges *rs)
{
	return read_subid_lines(path, user, uid, false, rs);
}

static int read_subid(const char *path, struct ranges *rs)
{
	return read_subid_of(path, "root", 0, rs);
}

bool idalloc_owner_has(const char *path, const char *user, uid_t uid, uint64_t start,
		       uint64_t count)
{
	struct ranges rs = { 0 };
	bool has = false;

	if (read_subid_of(path, user, uid, &rs) == 0)
		for (int i = 0; i < rs.n && !has; i++)
			has = start >= rs.r[i].start &&
			      start + count <= rs.r[i].start + rs.r[i].count;
	ranges_free(&rs);
	return has;
}

/* root's ranges of path, the default appended first if there are none. */
static int root_ranges(const char *path, struct ranges *rs, struct cfs_err *err)
{
	int r = read_subid(path, rs), fd;

	if (r < 0)
		return cfs_err_set_in(err, "start", -r, "cannot read %s: %s", path, strerror(-r));
	if (rs->n || rs->oom)
		return 0;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, DEFAULT_SUBID, strlen(DEFAULT_SUBID)) !=
			      (ssize_t)strlen(DEFAULT_SUBID)) {
		r = errno;
		if (fd >= 0)
			close(fd);
		return cfs_err_set_in(err, "start", r,
				      "root has no range in %s and adding the default '%.*s' failed: %s",
				      path,
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
	const char *pos = config_val(&c->cfg, K_IDMAP), *s;
	size_t len;

	while (config_next_line(&pos, &s, &len)) {
		char line[256];
		struct idmap_entry m;
		struct cfs_err e;

		if (len < sizeof(line)) {
			memcpy(line, s, len);
			line[len] = '\0';
			if (parse_idmap_line(line, &m, &e) == 0)
				add_range(&u->rs, m.outside, m.count);
		}
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
		return cfs_err_set_in(err, "start", -r, "cannot read %s: %s", path, strerror(-r));
	return 0;
}

/* The ranges of path that belong to users other than the allocating one. */
static int other_ranges(const char *path, uid_t owner, struct ranges *rs, struct cfs_err *err)
{
	char user[64] = "root";
	int r;

	if (owner)
		delegate_user_name(owner, user, sizeof(user));
	r = read_subid_lines(path, user, owner, true, rs);
	if (r < 0)
		return cfs_err_set_in(err, "start", -r, "cannot read %s: %s", path, strerror(-r));
	return 0;
}

/* The first block of the allocating user's ranges that is in both files, in no other
 * user's range of either file and in no other container's idmap. */
static int pick_from(struct container *c, uid_t owner, uint64_t *first, struct ranges *uids,
		     struct ranges *gids, struct ranges *ou, struct ranges *og, struct used *u,
		     struct cfs_err *err)
{
	int r = owner ? owner_ranges(idalloc_subuid, owner, uids, err)
		      : root_ranges(idalloc_subuid, uids, err);

	if (r >= 0)
		r = owner ? owner_ranges(idalloc_subgid, owner, gids, err)
			  : root_ranges(idalloc_subgid, gids, err);
	if (r >= 0)
		r = other_ranges(idalloc_subuid, owner, ou, err);
	if (r >= 0)
		r = other_ranges(idalloc_subgid, owner, og, err);
	if (r < 0)
		return r;
	container_foreach(collect_used, u);
	if (uids->oom || gids->oom || u->rs.oom)
		return cfs_err_set_in(err, "start", ENOMEM, "out of memory");
	for (int i = 0; i < uids->n; i++)
		for (uint64_t b = uids->r[i].start;
		     b + IDS_PER_CONTAINER <= uids->r[i].start + uids->r[i].count;
		     b += IDS_PER_CONTAINER)
			if (within(gids, b, IDS_PER_CONTAINER) &&
			    !overlaps(ou, b, IDS_PER_CONTAINER) &&
			    !overlaps(og, b, IDS_PER_CONTAINER) &&
			    !overlaps(&u->rs, b, IDS_PER_CONTAINER)) {
				*first = b;
				return 0;
			}
	return 1;
}

static int pick(struct container *c, uid_t owner, uint64_t *first, struct cfs_err *err)
{
	struct ranges uids = { 0 }, gids = { 0 }, ou = { 0 }, og = { 0 };
	struct used u = { .self = c };
	int r = pick_from(c, owner, first, &uids, &gids, &ou, &og, &u, err);

	ranges_free(&uids);
	ranges_free(&gids);
	ranges_free(&ou);
	ranges_free(&og);
	ranges_free(&u.rs);
	if (r <= 0)
		return r;
	if (owner)
		return cfs_err_set_in(err, "start", ENOSPC,
				      "the owner (uid %u) has no free block of "
				      "%llu ids in its ranges of %s and %s (root grants them)",
				      (unsigned)owner, IDS_PER_CONTAINER, idalloc_subuid,
				      idalloc_subgid);
	return cfs_err_set_in(err, "start", ENOSPC,
			      "no free block of %llu ids in root's ranges of %s and %s (every "
			      "block is some container's idmap or another user's range)",
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
		return cfs_err_set_in(err, "start", EPERM,
				      "a delegated container runs unprivileged: privileged must be 0");
	}
	need = !config_privileged(&c->cfg) &&
	       (!*config_val(&c->cfg, K_IDMAP) ||
		(owner && !delegate_idmap_owned(config_val(&c->cfg, K_IDMAP), owner)));
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
		r = cfs_err_set_in(err, "start", ENOMEM, "out of memory");
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
