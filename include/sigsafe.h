/* sigsafe.h - text building without stdio or malloc, safe in a signal handler and
 * in the child of a threaded process after fork. Header-only: the static supervisor
 * uses it too. Each appends at buf[at], never past n - 1 bytes, keeps buf
 * NUL-terminated and returns the new length. */
#ifndef CFS_SIGSAFE_H
#define CFS_SIGSAFE_H

#include <stddef.h>

static inline size_t sigsafe_put_str(char *buf, size_t n, size_t at, const char *s)
{
	while (*s && at + 1 < n)
		buf[at++] = *s++;
	buf[at] = '\0';
	return at;
}

static inline size_t sigsafe_put_uint(char *buf, size_t n, size_t at, unsigned long v)
{
	char tmp[24];
	int i = 0;

	do {
		tmp[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i && at + 1 < n)
		buf[at++] = tmp[--i];
	buf[at] = '\0';
	return at;
}

static inline size_t sigsafe_put_int(char *buf, size_t n, size_t at, long v)
{
	if (v < 0) {
		at = sigsafe_put_str(buf, n, at, "-");
		return sigsafe_put_uint(buf, n, at, -(unsigned long)v);
	}
	return sigsafe_put_uint(buf, n, at, (unsigned long)v);
}

#endif
