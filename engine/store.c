/* store.c - the state dir: one directory per container holding its configuration
 * as an INI file, always replaced atomically (temp file, fsync, rename, fsync dir),
 * so a crash of the daemon or the machine loses no accepted setting. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "log.h"
#include "parse.h"

int mkdir_p(const char *path, mode_t mode)
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

static int fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

int write_file_atomic(const char *dir, const char *file, const char *data, size_t len)
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
	return fsync_dir(dir);
}

int store_save(const char *name, const struct config *cfg, struct cfs_err *err)
{
	char dir[PATH_MAX];
	_cleanup_free_ char *ini = config_to_ini(cfg);
	int r;

	if (!ini)
		return cfs_err_set(err, ENOMEM, "out of memory");
	snprintf(dir, sizeof(dir), "%s/%s", eng.state_dir, name);
	if (mkdir(dir, 0700) == 0)
		fsync_dir(eng.state_dir);
	else if (errno != EEXIST)
		return cfs_err_set(err, errno, "cannot create %s: %m", dir);
	r = write_file_atomic(dir, "config", ini, strlen(ini));
	if (r < 0)
		return cfs_err_set(err, -r, "cannot save the configuration of %s: %s", name,
				   strerror(-r));
	return 0;
}

int rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode)) {
		_cleanup_closedir_ DIR *d = opendir(path);
		struct dirent *de;

		if (!d)
			return -errno;
		while ((de = readdir(d))) {
			char sub[PATH_MAX];

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_rf(sub);
		}
		return rmdir(path) < 0 ? -errno : 0;
	}
	return unlink(path) < 0 ? -errno : 0;
}

int store_remove(const char *name, struct cfs_err *err)
{
	char dir[PATH_MAX];
	int r;

	snprintf(dir, sizeof(dir), "%s/%s", eng.state_dir, name);
	r = rm_rf(dir);
	if (r < 0)
		return cfs_err_set(err, -r, "cannot remove %s: %s", dir, strerror(-r));
	fsync_dir(eng.state_dir);
	return 0;
}

static char *read_small_file(const char *path, size_t max, size_t *len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	size_t used = 0;

	if (fd < 0)
		return NULL;
	buf = malloc(max + 1);
	if (!buf)
		return NULL;
	for (;;) {
		ssize_t n = read(fd, buf + used, max - used);

		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		used += n;
		if (used == max) {	/* too big to be ours */
			free(buf);
			errno = EFBIG;
			return NULL;
		}
	}
	buf[used] = '\0';
	*len = used;
	return buf;
}

int store_load_all(int (*fn)(const char *name, struct config *cfg), struct cfs_err *err)
{
	_cleanup_closedir_ DIR *d = opendir(eng.state_dir);
	struct dirent *de;

	if (!d)
		return cfs_err_set(err, errno, "cannot open the state dir %s: %m", eng.state_dir);
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		struct cfs_err e = { 0 };
		struct config cfg;
		size_t len;

		if (parse_container_name(de->d_name, NULL) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/config", eng.state_dir, de->d_name);
		_cleanup_free_ char *doc = read_small_file(path, CFS_MAX_LIST + 1, &len);

		if (!doc) {
			log_err("skipping container %s: cannot read %s: %m", de->d_name, path);
			continue;
		}
		if (config_parse(&cfg, de->d_name, doc, len, &e) < 0) {
			log_err("skipping container %s: %s: %s", de->d_name, path, e.msg);
			config_free(&cfg);
			continue;
		}
		if (fn(de->d_name, &cfg) < 0)
			config_free(&cfg);
	}
	return 0;
}
