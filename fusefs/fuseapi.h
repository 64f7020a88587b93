/* fuseapi.h - the libfuse API every file of the FUSE layer builds against. */
#ifndef CFS_FUSEAPI_H
#define CFS_FUSEAPI_H

/* 3.12: fuse_session_loop_mt takes the opaque fuse_loop_cfg made by
 * fuse_loop_cfg_create(); below it, the same name is the 3.2 symbol that reads
 * the old two-field struct, and the settings in main.c would be misread */
#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)
#include <fuse_lowlevel.h>

#endif
