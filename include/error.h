/* error.h - the engine's error idiom: functions return >= 0 or -errno and fill a
 * caller-owned struct cfs_err with a sentence naming the setting and the value.
 * The FUSE layer reports it once: errno to the client, sentence to last_error. */
#ifndef CFS_ERROR_H
#define CFS_ERROR_H

#include <errno.h>

struct cfs_err {
	int code;		/* positive errno, 0 when unset */
	char msg[256];
};

/* Fill err (if non-NULL) with code and a printf-formatted sentence. Returns -code. */
int cfs_err_set(struct cfs_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the sentence already in err with "prefix: " (e.g. the file name). */
void cfs_err_prefix(struct cfs_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void cfs_err_clear(struct cfs_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

#endif
