/* fileio.h - small file operations shared by the engine (see fileio.c). */
#ifndef CFS_FILEIO_H
#define CFS_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "readfile.h"

/* mkdir -p; 0 or -errno. */
int fileio_mkdir_p(const char *path, mode_t mode);
/* A file whole, malloc'd and NUL-terminated into *out (NULL on failure): its length,
 * or -errno (-EFBIG when longer than max; max 0: no limit). Into a caller's buffer:
 * read_file_into (readfile.h). */
ssize_t fileio_read_alloc(const char *path, size_t max, char **out);
/* dir/file replaced atomically with data (temp, fsync, rename, fsync of dir), on disk
 * before this returns. -errno if dir/file is unchanged; 0 once the rename is done,
 * even if the fsync of dir then fails (logged): the change is in effect. */
int fileio_write_atomic(const char *dir, const char *file, const char *data, size_t len);
int fileio_fsync_dir(const char *dir);
/* rm -r; 0 if already gone. Iterative, any depth; stops at the first entry it
 * cannot remove. */
int fileio_rm_rf(const char *path);
/* A /proc/self/mountinfo field with its \ooo escapes (blanks, backslashes) decoded,
 * in place. */
void fileio_mountinfo_unescape(char *s);

#endif
