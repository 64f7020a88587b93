/* sizes.h - the longest texts the tree's files take, shared by the engine's parsers
 * and the FUSE layer's write buffers. */
#ifndef CFS_SIZES_H
#define CFS_SIZES_H

#define CFS_MAX_VALUE 4096	/* longest one-line value or list line */
#define CFS_MAX_LIST 65536	/* longest list */
#define CFS_MAX_CONFIG 262144	/* longest config document: the whole container as INI */

#endif
