/* hide.h - keeping the tree out of application containers' mount namespaces. */
#ifndef CFS_HIDE_H
#define CFS_HIDE_H

/* The mount points of the given mountinfo type ("fuse.containerfs": every tree the
 * daemon can see), malloc'd, NULL-terminated (strv_free); an empty vector for NULL
 * or "". Called before fork. */
char **hide_own_mounts(const char *fstype);
/* Detach them (in a new mount namespace of the caller's; system calls only) and
 * check that no mount of fstype is left: 0, or -errno of the first failed detach,
 * -EBUSY if one is left. */
int hide_detach_mounts(char *const *paths, const char *fstype);

#endif
