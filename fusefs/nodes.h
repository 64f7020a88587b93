/* nodes.h - the tree's nodes: what an inode number stands for (computed, never
 * allocated), a name's resolution in its directory, attributes and listings. */
#ifndef CFS_NODES_H
#define CFS_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "fuseapi.h"

/* Inode numbers. Top-level files are small constants; everything inside a
 * container is (container id << 16) | sub; client temp files have bit 62 set. */
#define INO_ROOT 1
#define INO_VERSION 2
#define INO_CHECKCONFIG 3
#define INO_EVENTS_ALL 4
#define INO_TMP_BIT (1ULL << 62)

enum node_kind {
	N_NONE,
	N_ROOT,
	N_VERSION,
	N_CHECKCONFIG,
	N_EVENTS_ALL,
	N_CDIR,		/* container directory */
	N_NETDIR,
	N_CGDIR,
	N_NSDIR,
	N_CONFIG,
	N_KEY,		/* a setting: arg = key id */
	N_RT,		/* runtime file: arg = enum rt_file, or RT_EVENTS */
	N_STAT,		/* statistic: arg = stat id */
	N_NSLINK,	/* ns/ link: arg = ns index */
	N_TMP,		/* client temp file */
};
#define RT_EVENTS 100

#define SUB_CDIR 0x0001
#define SUB_NETDIR 0x0002
#define SUB_CGDIR 0x0003
#define SUB_NSDIR 0x0004
#define SUB_CONFIG 0x0010
#define SUB_KEY 0x0100
#define SUB_RT 0x0200
#define SUB_EVENTS 0x02ff
#define SUB_STAT 0x0300
#define SUB_NSLINK 0x0400

struct node {
	enum node_kind kind;
	int arg;
	uint64_t cid;		/* container id (0 for top level) */
	char cname[65];		/* container name */
	fuse_ino_t ino;
};

int node_from_ino(fuse_ino_t ino, struct node *n);
fuse_ino_t node_ino(uint64_t cid, unsigned sub);
/* "state", "pid", ... "events": the file name of a runtime file. */
const char *node_rt_name(int rt);
/* Resolve name in directory parent; 0 or -ENOENT. */
int node_lookup(const struct node *parent, const char *name, struct node *out);
/* Fill st for n; 0 or -errno. */
int node_stat(const struct node *n, struct stat *st);
bool node_is_dir(const struct node *n);
/* A list or config: its writes collect lines, applied whole at close. */
bool node_is_list(const struct node *n);
/* The directory a node of kind dir stands for, for temp files: SEC_* or -1. */
int node_dir_section(const struct node *dir);
/* The entries of directory n: a malloc'd array of *count (name, inode, S_IF* type). */
struct dirent_lite {
	char name[256];
	fuse_ino_t ino;
	mode_t type;
};
int node_list(const struct node *n, struct dirent_lite **out, size_t *count);
/* When the tree was mounted: the times of the top-level files. */
extern time_t nodes_start_time;

#endif
