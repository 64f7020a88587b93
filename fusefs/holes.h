/* holes.h - an unlinked setting, held for the process that unlinked it until it
 * creates the name again (install, tar -x, mv across filesystems). */
#ifndef CFS_HOLES_H
#define CFS_HOLES_H

#include <stdint.h>
#include <sys/types.h>

#include "engine.h"
#include "fuseapi.h"
#include "nodes.h"

enum {
	HOLE_NONE,
	HOLE_OTHER, /* another's: show the setting, uncached */
	HOLE_GONE, /* this process's: ENOENT */
	HOLE_REPLACED, /* its replacement: *tmp */
};
int hole_open(const struct node *dir, const char *name, const struct node *setting, pid_t pid,
	      uid_t uid, gid_t gid);
int hole_lookup(fuse_ino_t dir, const char *name, pid_t pid, fuse_ino_t *tmp);
/* -ENOENT: not a hole of pid (create as usual) */
int hole_create(const struct node *dir, const char *name, mode_t mode, pid_t pid,
		fuse_ino_t *ino);
/* unlink of the replacement itself: back to a hole without one */
int hole_drop_replacement(fuse_ino_t dir, const char *name, pid_t pid);
/* A rename by pid over the name of its own hole is the create the hole waited for: the
 * hole ends (its replacement, if any, goes) without a reset. -ENOENT: not pid's hole. */
int hole_end(fuse_ino_t dir, const char *name, pid_t pid);
/* At the replacement's flush by pid (0: its release): its content becomes the
 * setting. 0 if tmp is none (or pid not its writer). */
int hole_land(fuse_ino_t tmp, pid_t pid, struct cfs_err *err);
/* End the holes whose process is gone or whose wait is over. */
void holes_settle(void);
/* pid failed to remove something of container cid: its unlinks there reset nothing */
void holes_cancel(uint64_t cid, pid_t pid);
void holes_drop_container(uint64_t cid);

#endif
