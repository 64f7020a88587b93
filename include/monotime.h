/* monotime.h - milliseconds of CLOCK_MONOTONIC, for deadlines and cache ages.
 * Header-only: the static supervisor and the tools use it too. */
#ifndef CFS_MONOTIME_H
#define CFS_MONOTIME_H

#include <time.h>

static inline long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

#endif
