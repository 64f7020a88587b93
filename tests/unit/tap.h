/* tap.h - the Test Anything Protocol for the C unit tests: ok() reports one check
 * as "ok N - what" or "not ok N - what"; tap_done() prints the plan and gives the
 * exit status (1 if any check failed). */
#ifndef CFS_TAP_H
#define CFS_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_run, tap_failed;

static void ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_run++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int tap_done(void)
{
	printf("1..%d\n", tap_run);
	if (tap_failed)
		printf("# %d of %d failed\n", tap_failed, tap_run);
	return tap_failed ? 1 : 0;
}

#endif
