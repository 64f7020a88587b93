/* sigsafe.h - text building and writing without stdio or malloc, safe in a signal
 * handler and in the child of a threaded process after fork. Header-only: the static
 * supervisor and the tools use it too. Each sigsafe_put_* appends at buf[at], never
 * past n - 1 bytes, keeps buf NUL-terminated and returns the new length. */
#ifndef CFS_SIGSAFE_H
#define CFS_SIGSAFE_H

#include <errno.h>
#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>

/* All n bytes of buf to fd, retrying short writes and EINTR: 0, or -1 (errno set if
 * write failed rather than took nothing). */
static inline int sigsafe_write_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t r = write(fd, buf, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

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
