/* tmpfile.h - files clients create in container directories (sed -i, Ansible):
 * kept in memory, counted by the kernel's lookups. */
#ifndef CFS_TMPFILE_H
#define CFS_TMPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fuseapi.h"
#include "nodes.h"

int tmp_create(const struct node *dir, const char *name, mode_t mode, fuse_ino_t *ino);
/* Find a temp file by name. Only a reply that gives the kernel an entry counts as
 * its lookup (tmp_ref, undone by tmp_forget): a file freed at the last FORGET. */
int tmp_lookup(fuse_ino_t dir, const char *name, fuse_ino_t *ino);
int tmp_ref(fuse_ino_t ino);
/* How many temp files the daemon holds (user.containerfs.tmpfiles on the root). */
size_t tmp_count(void);
int tmp_stat(fuse_ino_t ino, struct stat *st);
int tmp_unlink(fuse_ino_t dir, const char *name);
int tmp_rename(fuse_ino_t dir, const char *name, fuse_ino_t newdir, const char *newname);
/* A copy of a temp file's content (malloc'd, NUL-terminated); the file stays.
 * -EFBIG if a write went beyond what a setting may hold. */
int tmp_content(fuse_ino_t ino, char **buf, size_t *len);
int tmp_read(fuse_ino_t ino, char *buf, size_t size, off_t off, size_t *got);
int tmp_write(fuse_ino_t ino, const char *buf, size_t size, off_t off, bool append);
int tmp_setattr(fuse_ino_t ino, const struct stat *attr, int to_set);
/* Remove every temp file in the directories of container cid. */
void tmp_drop_container(uint64_t cid);
/* List temp files of directory dir (appended to the listing). */
int tmp_list(fuse_ino_t dir, struct dirent_lite **out, size_t *count, size_t *cap);
/* The temp file's directory inode, or 0. */
fuse_ino_t tmp_parent(fuse_ino_t ino);
void tmp_forget(fuse_ino_t ino, uint64_t nlookup);

#endif
