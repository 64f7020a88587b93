/* fs.h - the FUSE layer's operations: libfuse's low-level callbacks, which turn
 * file operations into engine calls and nothing else (the layer includes only
 * include/ and libfuse). */
#ifndef CFS_FS_H
#define CFS_FS_H

#include <stdbool.h>

#include "fuseapi.h"
#include <linux/fuse.h>

extern const struct fuse_lowlevel_ops fs_ops;
/* The kernel runs writes to one file side by side when asked (FUSE 7.36). */
extern bool fs_parallel_writes;
/* .checkconfig: the engine's lines and the FUSE layer's. */
char *fs_checkconfig(void);

/* may the request be answered at once on an io_uring queue's thread (uring.h) */
bool fs_at_once(const struct fuse_in_header *in, const void *arg);

#endif
