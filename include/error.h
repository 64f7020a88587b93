/* error.h - the engine's error idiom: functions return >= 0 or -errno and fill a
 * caller-owned struct cfs_err with a sentence naming the setting and the value.
 * The FUSE layer reports it once: errno to the client, sentence to last_error. */
#ifndef CFS_ERROR_H
#define CFS_ERROR_H

#include <errno.h>
#include <stddef.h>

struct cfs_err {
	int code;		/* positive errno, 0 when unset */
	char msg[256];
	/* The context the sentence starts with ("start", "tasks", "config": what the
	 * engine's boundary adds), or NULL: so context is added once, and nothing reads
	 * the sentence to find out whether it is there. */
	const char *context;
};

/* Fill err (if non-NULL) with code and a printf-formatted sentence (no context).
 * Returns -code. */
int cfs_err_set(struct cfs_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The same, with context: "context: sentence", recorded as context. */
int cfs_err_set_in(struct cfs_err *err, const char *context, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefix the sentence already in err with "prefix: " (e.g. the file name). */
void cfs_err_prefix(struct cfs_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix "prefix: " and then the context: "context: prefix: sentence". */
void cfs_err_prefix_in(struct cfs_err *err, const char *context, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* At the engine's boundary: prefix the context unless the sentence already starts
 * with it (an inner step added it). err may be NULL. */
void cfs_err_context(struct cfs_err *err, const char *context);

static inline void cfs_err_clear(struct cfs_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
		err->context = NULL;
	}
}

#endif
