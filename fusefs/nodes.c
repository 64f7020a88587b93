/* nodes.c - what every inode number stands for, lookups of names in the tree's
 * directories, attributes (honest modes) and directory listings, all driven by the
 * key table and the engine's registry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "fs.h"
#include "keys.h"
#include "nodes.h"
#include "strv.h"
#include "tmpfile.h"

time_t nodes_start_time;

static const char *const rt_names[] = {
	[RT_STATE] = "state",
	[RT_PID] = "pid",
	[RT_EXIT_STATUS] = "exit_status",
	[RT_TASKS] = "tasks",
	[RT_PS] = "ps",
	[RT_LOG] = "log",
	[RT_LAST_ERROR] = "last_error",
	[RT_RUNS] = "runs",
};
#define RT_COUNT ((int)(sizeof(rt_names) / sizeof(rt_names[0])))

const char *node_rt_name(int rt)
{
	if (rt == RT_EVENTS)
		return "events";
	return rt >= 0 && rt < RT_COUNT ? rt_names[rt] : "file";
}

fuse_ino_t node_ino(uint64_t cid, unsigned sub)
{
	return (cid << 16) | sub;
}

static void set_node(struct node *n, enum node_kind kind, int arg, uint64_t cid,
		     const char *cname, fuse_ino_t ino)
{
	n->kind = kind;
	n->arg = arg;
	n->cid = cid;
	snprintf(n->cname, sizeof(n->cname), "%s", cname ? cname : "");
	n->ino = ino;
}

int node_from_ino(fuse_ino_t ino, struct node *n)
{
	uint64_t cid;
	unsigned sub;
	char name[65];

	memset(n, 0, sizeof(*n));
	if (ino & INO_TMP_BIT) {
		fuse_ino_t dir = tmp_parent(ino);

		if (!dir)
			return -ENOENT;
		cid = dir >> 16;
		if (engine_name_of(cid, name, sizeof(name)) < 0)
			return -ENOENT;
		set_node(n, N_TMP, 0, cid, name, ino);
		return 0;
	}
	switch (ino) {
	case INO_ROOT:
		set_node(n, N_ROOT, 0, 0, NULL, ino);
		return 0;
	case INO_VERSION:
		set_node(n, N_VERSION, 0, 0, NULL, ino);
		return 0;
	case INO_CHECKCONFIG:
		set_node(n, N_CHECKCONFIG, 0, 0, NULL, ino);
		return 0;
	case INO_EVENTS_ALL:
		set_node(n, N_EVENTS_ALL, 0, 0, NULL, ino);
		return 0;
	}
	cid = ino >> 16;
	sub = ino & 0xffff;
	if (!cid || engine_name_of(cid, name, sizeof(name)) < 0)
		return -ENOENT;
	if (sub == SUB_CDIR)
		set_node(n, N_CDIR, 0, cid, name, ino);
	else if (sub == SUB_NETDIR)
		set_node(n, N_NETDIR, 0, cid, name, ino);
	else if (sub == SUB_CGDIR)
		set_node(n, N_CGDIR, 0, cid, name, ino);
	else if (sub == SUB_NSDIR)
		set_node(n, N_NSDIR, 0, cid, name, ino);
	else if (sub == SUB_CONFIG)
		set_node(n, N_CONFIG, 0, cid, name, ino);
	else if (sub == SUB_EVENTS)
		set_node(n, N_RT, RT_EVENTS, cid, name, ino);
	else if (sub >= SUB_KEY && sub < SUB_KEY + K_COUNT)
		set_node(n, N_KEY, sub - SUB_KEY, cid, name, ino);
	else if (sub >= SUB_RT && sub < SUB_RT + RT_COUNT)
		set_node(n, N_RT, sub - SUB_RT, cid, name, ino);
	else if (sub >= SUB_STAT && sub < SUB_STAT + STAT_COUNT)
		set_node(n, N_STAT, sub - SUB_STAT, cid, name, ino);
	else if (sub >= SUB_NSLINK && sub < SUB_NSLINK + NS_COUNT)
		set_node(n, N_NSLINK, sub - SUB_NSLINK, cid, name, ino);
	else
		return -ENOENT;
	return 0;
}

bool node_is_list(const struct node *n)
{
	return n->kind == N_CONFIG || (n->kind == N_KEY && (key_table[n->arg].flags & KF_LIST));
}

bool node_is_dir(const struct node *n)
{
	return n->kind == N_ROOT || n->kind == N_CDIR || n->kind == N_NETDIR ||
	       n->kind == N_CGDIR || n->kind == N_NSDIR;
}

int node_dir_section(const struct node *dir)
{
	switch (dir->kind) {
	case N_CDIR:
		return SEC_CONTAINER;
	case N_NETDIR:
		return SEC_NET;
	case N_CGDIR:
		return SEC_CGROUP;
	default:
		return -1;
	}
}

static int lookup_in_container(const struct node *p, const char *name, struct node *out)
{
	int sec = node_dir_section(p), k;

	if (p->kind == N_CDIR) {
		static const struct {
			const char *name;
			enum node_kind kind;
			unsigned sub;
		} dirs[] = {
			{ "net", N_NETDIR, SUB_NETDIR },
			{ "cgroup", N_CGDIR, SUB_CGDIR },
			{ "ns", N_NSDIR, SUB_NSDIR },
			{ "config", N_CONFIG, SUB_CONFIG },
			{ "events", N_RT, SUB_EVENTS },
		};
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
			if (!strcmp(name, dirs[i].name)) {
				set_node(out, dirs[i].kind, dirs[i].kind == N_RT ? RT_EVENTS : 0,
					 p->cid, p->cname, node_ino(p->cid, dirs[i].sub));
				return 0;
			}
		for (int r = 0; r < RT_COUNT; r++)
			if (!strcmp(name, rt_names[r])) {
				set_node(out, N_RT, r, p->cid, p->cname, node_ino(p->cid, SUB_RT + r));
				return 0;
			}
	}
	if (p->kind == N_NSDIR) {
		char target[64];

		for (int i = 0; i < NS_COUNT; i++)
			if (!strcmp(name, engine_ns_names[i]) &&
			    engine_ns_link(p->cname, i, target, sizeof(target)) == 0) {
				set_node(out, N_NSLINK, i, p->cid, p->cname,
					 node_ino(p->cid, SUB_NSLINK + i));
				return 0;
			}
		return -ENOENT;
	}
	if (p->kind == N_CGDIR)
		for (int s = 0; s < STAT_COUNT; s++)
			if (!strcmp(name, stat_table[s].name)) {
				set_node(out, N_STAT, s, p->cid, p->cname, node_ino(p->cid, SUB_STAT + s));
				return 0;
			}
	if (sec >= 0 && (k = key_lookup(sec, name)) >= 0) {
		set_node(out, N_KEY, k, p->cid, p->cname, node_ino(p->cid, SUB_KEY + k));
		return 0;
	}
	fuse_ino_t tino;

	if (sec >= 0 && tmp_lookup(p->ino, name, &tino) == 0)
		return node_from_ino(tino, out);
	return -ENOENT;
}

int node_lookup(const struct node *p, const char *name, struct node *out)
{
	uint64_t cid;

	if (p->kind == N_ROOT) {
		if (!strcmp(name, ".version"))
			return node_from_ino(INO_VERSION, out);
		if (!strcmp(name, ".checkconfig"))
			return node_from_ino(INO_CHECKCONFIG, out);
		if (!strcmp(name, ".events"))
			return node_from_ino(INO_EVENTS_ALL, out);
		if (!engine_exists(name, &cid))
			return -ENOENT;
		set_node(out, N_CDIR, 0, cid, name, node_ino(cid, SUB_CDIR));
		return 0;
	}
	if (!node_is_dir(p))
		return -ENOTDIR;
	return lookup_in_container(p, name, out);
}

static mode_t node_mode(const struct node *n)
{
	switch (n->kind) {
	case N_ROOT:
	case N_CDIR:
	case N_NETDIR:
	case N_CGDIR:
	case N_NSDIR:
		return S_IFDIR | 0755;
	case N_NSLINK:
		return S_IFLNK | 0777;
	/* what may hold secrets (the environment and init's command line, the whole
	 * configuration, the console output, the processes' command lines, the last
	 * refused value) is its owner's alone; the rest every user may read */
	case N_CONFIG:
		return S_IFREG | 0600;
	case N_KEY:
		return S_IFREG | (n->arg == K_ENV || n->arg == K_INIT ? 0600 : 0644);
	case N_RT:
		if (n->arg == RT_LOG || n->arg == RT_PS || n->arg == RT_LAST_ERROR)
			return S_IFREG | 0400;
		return S_IFREG | (n->arg == RT_STATE || n->arg == RT_TASKS ? 0644 : 0444);
	default:
		return S_IFREG | 0444;
	}
}

/* Settings, config and the container's directories: the time of the last change of
 * what they hold (or the time set on it); runtime files: of their last change. */
static void node_times(const struct node *n, struct stat *st)
{
	struct timespec m, c;
	int r = -ENOENT;

	switch (n->kind) {
	case N_KEY:
		r = engine_setting_times(n->cname, n->arg, &m, &c);
		break;
	case N_CONFIG:
	case N_CDIR:
		r = engine_config_times(n->cname, -1, &m, &c);
		break;
	case N_NETDIR:
	case N_CGDIR:
		r = engine_config_times(n->cname, n->kind == N_NETDIR ? SEC_NET : SEC_CGROUP, &m, &c);
		break;
	case N_RT:
		if (n->arg != RT_EVENTS && engine_runtime_mtime(n->cname, n->arg, &m) == 0) {
			c = m;
			r = 0;
		}
		break;
	default:
		break;
	}
	if (r < 0)
		return;
	st->st_atim = st->st_mtim = m;
	st->st_ctim = c;
}

int node_stat(const struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	if (n->kind == N_TMP)
		return tmp_stat(n->ino, st);
	st->st_ino = n->ino;
	st->st_mode = node_mode(n);
	st->st_nlink = S_ISDIR(st->st_mode) ? 2 : 1;
	st->st_uid = 0;
	st->st_gid = 0;
	if (n->cid && engine_owner(n->cname, &st->st_uid, &st->st_gid) < 0)
		return -ENOENT;
	st->st_blksize = 4096;
	st->st_atime = st->st_mtime = st->st_ctime = nodes_start_time;
	node_times(n, st);
	if (n->kind == N_KEY) {
		char *v = NULL;

		if (engine_setting_read(n->cname, n->arg, &v, NULL) == 0)
			st->st_size = strlen(v);
		free(v);
	} else if (n->kind == N_CONFIG) {
		char *v = NULL;

		if (engine_config_read(n->cname, &v, NULL) == 0)
			st->st_size = strlen(v);
		free(v);
	} else if (n->kind == N_NSLINK) {
		char target[64];

		if (engine_ns_link(n->cname, n->arg, target, sizeof(target)) < 0)
			return -ENOENT;
		st->st_size = strlen(target);
	} else if (n->kind == N_VERSION) {
		st->st_size = strlen(CFS_VERSION) + 1;
	} else if (n->kind == N_RT && n->arg != RT_EVENTS) {
		size_t size = 0;

		if (engine_runtime_size(n->cname, n->arg, &size) == 0)
			st->st_size = size;
	} else if (n->kind == N_STAT || n->kind == N_CHECKCONFIG) {
		/* sizes are what a read would give now; events has none (a stream) */
		char *v = NULL;

		if (n->kind == N_CHECKCONFIG)
			v = fs_checkconfig();
		else
			engine_stat_read(n->cname, n->arg, &v, NULL);
		st->st_size = v ? strlen(v) : 0;
		free(v);
	}
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

static int add_entry(struct dirent_lite **v, size_t *n, size_t *cap, const char *name,
		     fuse_ino_t ino, mode_t type)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct dirent_lite *nv = realloc(*v, c * sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	snprintf((*v)[*n].name, sizeof((*v)[*n].name), "%s", name);
	(*v)[*n].ino = ino;
	(*v)[*n].type = type;
	(*n)++;
	return 0;
}

static int list_container_dir(const struct node *n, struct dirent_lite **v, size_t *cnt,
			      size_t *cap)
{
	int sec = node_dir_section(n);
	char target[64];
	int r = 0;

	if (n->kind == N_CDIR) {
		r |= add_entry(v, cnt, cap, "net", node_ino(n->cid, SUB_NETDIR), S_IFDIR);
		r |= add_entry(v, cnt, cap, "cgroup", node_ino(n->cid, SUB_CGDIR), S_IFDIR);
		r |= add_entry(v, cnt, cap, "ns", node_ino(n->cid, SUB_NSDIR), S_IFDIR);
		r |= add_entry(v, cnt, cap, "config", node_ino(n->cid, SUB_CONFIG), S_IFREG);
		r |= add_entry(v, cnt, cap, "events", node_ino(n->cid, SUB_EVENTS), S_IFREG);
		for (int i = 0; i < RT_COUNT; i++)
			r |= add_entry(v, cnt, cap, rt_names[i], node_ino(n->cid, SUB_RT + i), S_IFREG);
	}
	if (n->kind == N_NSDIR)
		for (int i = 0; i < NS_COUNT; i++)
			if (engine_ns_link(n->cname, i, target, sizeof(target)) == 0)
				r |= add_entry(v, cnt, cap, engine_ns_names[i],
					       node_ino(n->cid, SUB_NSLINK + i), S_IFLNK);
	for (int k = 0; sec >= 0 && k < K_COUNT; k++)
		if (key_table[k].section == (enum key_section)sec && !(key_table[k].flags & KF_ALIAS))
			r |= add_entry(v, cnt, cap, key_table[k].name, node_ino(n->cid, SUB_KEY + k),
				       S_IFREG);
	if (n->kind == N_CGDIR)
		for (int s = 0; s < STAT_COUNT; s++)
			r |= add_entry(v, cnt, cap, stat_table[s].name, node_ino(n->cid, SUB_STAT + s),
				       S_IFREG);
	if (sec >= 0)
		r |= tmp_list(n->ino, v, cnt, cap);
	return r ? -ENOMEM : 0;
}

int node_list(const struct node *n, struct dirent_lite **out, size_t *count)
{
	struct dirent_lite *v = NULL;
	size_t cnt = 0, cap = 0;
	fuse_ino_t parent = n->kind == N_CDIR || n->kind == N_ROOT ? INO_ROOT
								   : node_ino(n->cid, SUB_CDIR);
	int r = 0;

	r |= add_entry(&v, &cnt, &cap, ".", n->ino, S_IFDIR);
	r |= add_entry(&v, &cnt, &cap, "..", parent, S_IFDIR);
	if (n->kind == N_ROOT) {
		r |= add_entry(&v, &cnt, &cap, ".version", INO_VERSION, S_IFREG);
		r |= add_entry(&v, &cnt, &cap, ".checkconfig", INO_CHECKCONFIG, S_IFREG);
		r |= add_entry(&v, &cnt, &cap, ".events", INO_EVENTS_ALL, S_IFREG);
		char **names = engine_list();
		uint64_t cid;

		for (size_t i = 0; names && names[i]; i++)
			if (engine_exists(names[i], &cid))
				r |= add_entry(&v, &cnt, &cap, names[i], node_ino(cid, SUB_CDIR), S_IFDIR);
		strv_free(names);
	} else {
		r |= list_container_dir(n, &v, &cnt, &cap);
	}
	if (r) {
		free(v);
		return -ENOMEM;
	}
	*out = v;
	*count = cnt;
	return 0;
}
