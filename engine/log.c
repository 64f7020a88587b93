/* log.c - daemon logging: stderr in the foreground, syslog once detached;
 * debug messages only with -d. */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static bool log_syslog;
static bool log_debug_on;

void log_init(bool use_syslog, bool debug)
{
	log_syslog = use_syslog;
	log_debug_on = debug;
	if (use_syslog)
		openlog("containerfs", LOG_PID, LOG_DAEMON);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	if (prio == LOG_DEBUG && !log_debug_on)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		static const char *const names[] = { "emerg", "alert", "crit", "error",
						     "warning", "notice", "info", "debug" };
		char line[1024];

		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "containerfs: %s: %s\n", names[prio & 7], line);
	}
	va_end(ap);
}
