/* hide.h - keeping the tree out of application containers' mount namespaces. */
#ifndef CFS_HIDE_H
#define CFS_HIDE_H

/* The mount points of every containerfs tree the daemon can see (malloc'd,
 * NULL-terminated; strv_free). Called before fork. */
char **own_fuse_mounts(void);
/* Detach them (in the container's new mount namespace; no allocation). */
void detach_mounts(char *const *paths);

#endif
