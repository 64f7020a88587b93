/* mask.h - masked and read-only kernel paths (mask.c), private to the spawn files. */
#ifndef CFS_RUN_MASK_H
#define CFS_RUN_MASK_H

#include "spawn_child.h"

/* Beneath rootfd (the new root, or "/" of an application container's own mount
 * namespace): /dev/null over the host's revealing /proc files, an empty read-only
 * tmpfs over such directories (/sys/firmware), read-only binds of /proc's host-wide
 * knobs. What a kernel lacks is skipped. 0 or -errno with ce filled. */
int mask_kernel_paths(int rootfd, struct child_err *ce);

#endif
