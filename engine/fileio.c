/* fileio.c - the small file operations the engine needs in several places:
 * mkdir -p, reading a small file whole, atomic replacement (temp, fsync, rename,
 * fsync of the directory), rm -r, and the unescaping of /proc/self/mountinfo fields. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "log.h"

int fileio_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

ssize_t fileio_read_alloc(const char *path, size_t max, char **out)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, cap = 0;
	char *buf = NULL;

	*out = NULL;
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);

			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return -errno;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (max && len > max) {
			free(buf);
			return -EFBIG;
		}
	}
	buf[len] = '\0';
	*out = buf;
	return (ssize_t)len;
}

int fileio_fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

int fileio_write_atomic(const char *dir, const char *file, const char *data, size_t len)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	_cleanup_close_ int fd = -1;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, file);
	snprintf(dst, sizeof(dst), "%s/%s", dir, file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0) {
			int e = errno;

			unlink(tmp);
			return -e;
		}
		off += n;
	}
	if (fsync(fd) < 0 || rename(tmp, dst) < 0) {
		int e = errno;

		unlink(tmp);
		return -e;
	}
	/* The rename made the change: everyone reads the new file, and a failure now
	 * cannot undo it. Reporting it would tell the writer that a change in effect
	 * (and on disk at the filesystem's next commit) had failed, and leave the
	 * daemon's copy disagreeing with the file; so the change stands and the failed
	 * fsync is logged. */
	int r = fileio_fsync_dir(dir);

	if (r < 0)
		log_warn("%s: %s is replaced, but the fsync of the directory failed: %s", dir,
			 file, strerror(-r));
	return 0;
}

/* Remove every entry of the directory open as fd that is not a non-empty
 * directory. Returns 1 with *sub open on the first non-empty subdirectory found (the
 * caller descends into it), 0 when fd is empty, or -errno. */
static int empty_dir_step(int fd, int *sub)
{
	int dfd = dup(fd);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			continue;
		int e = errno;	/* a directory: EISDIR (POSIX allows EPERM) */

		if (e != EISDIR && e != EPERM) {
			r = -e;
			break;
		}
		if (unlinkat(fd, de->d_name, AT_REMOVEDIR) == 0)
			continue;
		if (errno != ENOTEMPTY && errno != EEXIST) {
			r = errno == ENOTDIR ? -e : -errno;
			break;
		}
		*sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		r = *sub < 0 ? -errno : 1;
		break;
	}
	closedir(d);
	return r;
}

/* rm -r without recursion: a tree a container wrote may be deeper than any stack or
 * PATH_MAX. One directory is open at a time (two while moving); the way back up is
 * "..", checked against the inode numbers remembered on the way down. */
int fileio_rm_rf(const char *path)
{
	struct stat st;
	struct {
		dev_t dev;
		ino_t ino;
	} *up = NULL;
	size_t depth = 0, cap = 0;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? -errno : 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		int sub = -1;

		r = empty_dir_step(fd, &sub);
		if (r < 0)
			break;
		if (r == 1) {		/* down */
			if (depth == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				void *n = realloc(up, ncap * sizeof(*up));

				if (!n) {
					close(sub);
					r = -ENOMEM;
					break;
				}
				up = n;
				cap = ncap;
			}
			if (fstat(fd, &st) < 0) {
				r = -errno;
				close(sub);
				break;
			}
			up[depth].dev = st.st_dev;
			up[depth].ino = st.st_ino;
			depth++;
			close(fd);
			fd = sub;
			continue;
		}
		if (depth == 0)		/* the top is empty */
			break;
		/* up: the emptied directory goes when its parent is read again */
		int parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (parent < 0) {
			r = -errno;
			break;
		}
		depth--;
		if (fstat(parent, &st) < 0 || st.st_dev != up[depth].dev ||
		    st.st_ino != up[depth].ino) {
			close(parent);
			r = -ESTALE;	/* moved under us: stop rather than guess */
			break;
		}
		close(fd);
		fd = parent;
	}
	close(fd);
	free(up);
	if (r < 0)
		return r;
	return rmdir(path) < 0 ? -errno : 0;
}

void fileio_mountinfo_unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}
