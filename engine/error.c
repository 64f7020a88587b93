/* error.c - fills struct cfs_err, the engine's single way of explaining a failure:
 * a positive errno for the client and one sentence for last_error, to which
 * callers further up prepend context such as the file name. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

int cfs_err_set(struct cfs_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	/* Accept either sign so a stray "-EINVAL" cannot turn into a success value. */
	if (code < 0)
		code = -code;
	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

void cfs_err_prefix(struct cfs_err *err, const char *fmt, ...)
{
	char prefix[sizeof(err->msg)];
	char joined[sizeof(err->msg)];
	va_list ap;
	int n;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);

	/* Build in a scratch buffer: the old message is both source and destination. */
	if (err->msg[0])
		n = snprintf(joined, sizeof(joined), "%s: %s", prefix, err->msg);
	else
		n = snprintf(joined, sizeof(joined), "%s", prefix);
	if (n < 0)
		return;
	memcpy(err->msg, joined, sizeof(err->msg));
}
