/* strv.h - NULL-terminated vectors of malloc'd strings (engine_list's answer, the
 * shell words of a command). */
#ifndef CFS_STRV_H
#define CFS_STRV_H

/* Frees each string and the vector; NULL is a no-op. */
void strv_free(char **v);

#endif
