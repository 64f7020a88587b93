/* hide.h - keeping the tree out of application containers' mount namespaces. */
#ifndef CFS_HIDE_H
#define CFS_HIDE_H

/* The mount points of the given mountinfo type ("fuse.containerfs": every tree the
 * daemon can see), malloc'd, NULL-terminated (strv_free); an empty vector for NULL
 * or "". Called before fork. */
char **own_mounts_of_type(const char *fstype);
/* Detach them (in the container's new mount namespace; no allocation). */
void detach_mounts(char *const *paths);

#endif
