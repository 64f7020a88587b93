/* error.c - fills struct cfs_err, the engine's single way of explaining a failure:
 * a positive errno for the client and one sentence for last_error, to which
 * callers further up prepend context such as the file name. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static int err_vset(struct cfs_err *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static int err_vset(struct cfs_err *err, int code, const char *fmt, va_list ap)
{
	/* Accept either sign so a stray "-EINVAL" cannot turn into a success value. */
	if (code < 0)
		code = -code;
	if (err) {
		err->code = code;
		err->context = NULL;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	}
	return -code;
}

int cfs_err_set(struct cfs_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = err_vset(err, code, fmt, ap);
	va_end(ap);
	return r;
}

int cfs_err_set_in(struct cfs_err *err, const char *context, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = err_vset(err, code, fmt, ap);
	va_end(ap);
	cfs_err_context(err, context);
	return r;
}

static void err_vprefix(struct cfs_err *err, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void err_vprefix(struct cfs_err *err, const char *fmt, va_list ap)
{
	char prefix[sizeof(err->msg)];
	char joined[sizeof(err->msg)];
	int n;

	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	/* Build in a scratch buffer: the old message is both source and destination. */
	if (err->msg[0])
		n = snprintf(joined, sizeof(joined), "%s: %s", prefix, err->msg);
	else
		n = snprintf(joined, sizeof(joined), "%s", prefix);
	if (n < 0)
		return;
	memcpy(err->msg, joined, sizeof(err->msg));
	err->context = NULL;	/* the sentence starts with the prefix now */
}

void cfs_err_prefix(struct cfs_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	err_vprefix(err, fmt, ap);
	va_end(ap);
}

void cfs_err_prefix_in(struct cfs_err *err, const char *context, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	err_vprefix(err, fmt, ap);
	va_end(ap);
	cfs_err_context(err, context);
}

void cfs_err_context(struct cfs_err *err, const char *context)
{
	if (!err || (err->context && !strcmp(err->context, context)))
		return;
	cfs_err_prefix(err, "%s", context);
	err->context = context;
}
