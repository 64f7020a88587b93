/* readfile.h - reading a small file whole into a caller's buffer. Header-only: the
 * tools use it too (they link nothing of the engine). */
#ifndef CFS_READFILE_H
#define CFS_READFILE_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>

/* path's content into buf, NUL-terminated, at most n - 1 bytes (n >= 1): the bytes
 * read or -errno. */
static inline ssize_t read_file_into(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	while (got + 1 < n) {
		ssize_t r = read(fd, buf + got, n - 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

/* The same without the trailing newlines and blanks: a one-line file's value. */
static inline ssize_t read_file_value(const char *path, char *buf, size_t n)
{
	ssize_t r = read_file_into(path, buf, n);

	while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == ' '))
		buf[--r] = '\0';
	return r;
}

#endif
