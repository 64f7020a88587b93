/* store.c - the state dir: one directory per container holding its configuration
 * as an INI file, always replaced atomically (temp file, fsync, rename, fsync dir),
 * so a crash of the daemon or the machine loses no accepted setting. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "cleanup.h"
#include "container.h"
#include "fileio.h"
#include "log.h"
#include "config/parse.h"

/* One limit for the whole container: the INI document the store writes is never
 * longer than what the loader (and a write of `config`) accepts. */
static int check_size(const char *ini, struct cfs_err *err)
{
	size_t len = strlen(ini);

	if (len > CFS_MAX_CONFIG)
		return cfs_err_set(err, EINVAL,
				   "the configuration would be %zu bytes long as INI, at most %d",
				   len, CFS_MAX_CONFIG);
	return 0;
}

int store_check(const struct config *cfg, struct cfs_err *err)
{
	_cleanup_free_ char *ini = config_to_ini(cfg);

	if (!ini)
		return cfs_err_set(err, ENOMEM, "out of memory");
	return check_size(ini, err);
}

int store_save(const char *name, const struct config *cfg, struct cfs_err *err)
{
	char dir[PATH_MAX];
	_cleanup_free_ char *ini = config_to_ini(cfg);
	bool made = false;
	int r;

	if (!ini)
		return cfs_err_set(err, ENOMEM, "out of memory");
	r = check_size(ini, err);
	if (r < 0)
		return r;
	snprintf(dir, sizeof(dir), "%s/%s", eng.state_dir, name);
	if (mkdir(dir, 0700) == 0)
		made = true;
	else if (errno != EEXIST)
		return cfs_err_set(err, errno, "cannot create %s: %m", dir);
	r = fileio_write_atomic(dir, "config", ini, strlen(ini));
	if (r < 0)
		return cfs_err_set(err, -r, "cannot save the configuration of %s: %s", name,
				   strerror(-r));
	/* the new directory's name last: on a journalling filesystem the fsyncs above
	 * have committed it already, and this one finds nothing left to write */
	if (made)
		fileio_fsync_dir(eng.state_dir);
	return 0;
}

/* STATE/.NAME.removed: where a removed container's directory goes first. */
static void removed_path(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/.%s.removed", eng.state_dir, name);
}

/* The container's directory is renamed away in one step, so a failure (a read-only
 * or immutable state dir) leaves its configuration whole and the error is returned.
 * Its contents (the overlay layer may be large) are removed after; a leftover is
 * removed at the next start. */
int store_remove(const char *name, struct cfs_err *err)
{
	char dir[PATH_MAX], gone[PATH_MAX];
	int r;

	snprintf(dir, sizeof(dir), "%s/%s", eng.state_dir, name);
	removed_path(name, gone, sizeof(gone));
	r = fileio_rm_rf(gone);	/* an earlier leftover of this name */
	if (r < 0)
		return cfs_err_set(err, -r, "cannot remove %s: %s", gone, strerror(-r));
	if (rename(dir, gone) < 0) {
		if (errno == ENOENT)
			return 0;
		return cfs_err_set(err, errno, "cannot remove %s: %m", dir);
	}
	fileio_fsync_dir(eng.state_dir);
	r = fileio_rm_rf(gone);
	if (r < 0)
		log_err("cannot remove %s (removed at the next start): %s", gone, strerror(-r));
	return 0;
}

/* What a killed daemon left: a removed container's directory, a temp config. */
static void clean_leftovers(const char *entry)
{
	char path[PATH_MAX];
	size_t n = strlen(entry);
	int r;

	if (entry[0] == '.' && n > 9 && !strcmp(entry + n - 8, ".removed")) {
		snprintf(path, sizeof(path), "%s/%s", eng.state_dir, entry);
		r = fileio_rm_rf(path);
		if (r < 0)
			log_err("cannot remove %s: %s", path, strerror(-r));
		return;
	}
	if (parse_container_name(entry, NULL) < 0)
		return;
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s/.%s.tmp", eng.state_dir, entry,
			 i ? "times" : "config");
		if (unlink(path) == 0)
			log_info("removed %s, left by an interrupted write", path);
	}
}

int store_load_all(int (*fn)(const char *name, struct config *cfg, const char *why),
		   struct cfs_err *err)
{
	_cleanup_closedir_ DIR *d = opendir(eng.state_dir);
	struct dirent *de;

	if (!d)
		return cfs_err_set(err, errno, "cannot open the state dir %s: %m", eng.state_dir);
	while ((de = readdir(d)))
		clean_leftovers(de->d_name);
	rewinddir(d);
	while ((de = readdir(d))) {
		char path[PATH_MAX], why[300];
		struct cfs_err e = { 0 };
		struct config cfg;
		_cleanup_free_ char *doc = NULL;
		ssize_t got;
		size_t len;

		if (parse_container_name(de->d_name, NULL) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/config", eng.state_dir, de->d_name);
		got = fileio_read_alloc(path, CFS_MAX_CONFIG, &doc);
		len = got > 0 ? (size_t)got : 0;
		if (got == -ENOENT) {
			/* a directory without a configuration: a mkdir that never completed */
			log_info("ignoring %s/%s: it holds no configuration", eng.state_dir, de->d_name);
			continue;
		}
		if (got < 0) {
			snprintf(why, sizeof(why), "cannot read it: %s",
				 got == -EFBIG ? "longer than 262144 bytes" : strerror((int)-got));
			if (config_init(&cfg, de->d_name) < 0)
				return cfs_err_set(err, ENOMEM, "out of memory");
		} else if (len == 0) {
			snprintf(why, sizeof(why), "the file is empty (cut short)");
			if (config_init(&cfg, de->d_name) < 0)
				return cfs_err_set(err, ENOMEM, "out of memory");
		} else if (config_parse(&cfg, de->d_name, doc, len, &e) < 0) {
			snprintf(why, sizeof(why), "%s", e.msg);
		} else {
			why[0] = '\0';
			if (doc[len - 1] != '\n')
				log_warn("%s ends in the middle of a line (cut short?): its last line "
					 "was loaded as it is",
					 path);
		}
		if (why[0])
			log_err("container %s: %s cannot be loaded: %s", de->d_name, path, why);
		if (fn(de->d_name, &cfg, why[0] ? why : NULL) < 0)
			config_free(&cfg);
	}
	return 0;
}

int store_config_mtime(const char *name, struct timespec *mtime)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/config", eng.state_dir, name);
	if (stat(path, &st) < 0)
		return -errno;
	*mtime = st.st_mtim;
	return 0;
}

bool store_has_config(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/config", eng.state_dir, name);
	return lstat(path, &st) == 0 || errno != ENOENT;
}

/* STATE/NAME/times: one line per setting, "PATH SECONDS.NANOSECONDS". A file of its
 * own, so a configuration saved before times were kept loads as it is, and the INI
 * stays what `config` reads. */
int store_save_times(const char *name, const struct cfg_times *t, struct cfs_err *err)
{
	char dir[PATH_MAX], path[64];
	size_t cap = 64 + (K_COUNT + 1) * 96, used = 0;
	_cleanup_free_ char *doc = malloc(cap);
	int r;

	if (!doc)
		return cfs_err_set(err, ENOMEM, "out of memory");
	used += snprintf(doc + used, cap - used, "# when each setting last changed\n");
	for (int k = 0; k < K_COUNT; k++) {
		if (key_table[k].flags & KF_ALIAS)
			continue;
		used += snprintf(doc + used, cap - used, "%s %lld.%09ld\n",
				 key_path(k, path, sizeof(path)), (long long)t->key[k].tv_sec,
				 t->key[k].tv_nsec);
	}
	snprintf(dir, sizeof(dir), "%s/%s", eng.state_dir, name);
	r = fileio_write_atomic(dir, "times", doc, used);
	if (r < 0)
		return cfs_err_set(err, -r, "cannot save the times of %s: %s", name, strerror(-r));
	return 0;
}

static bool parse_time(const char *s, struct timespec *ts)
{
	char *end;
	long long sec = strtoll(s, &end, 10);
	long ns = 0;

	if (end == s || sec < 0)
		return false;
	if (*end == '.') {
		const char *f = end + 1;

		ns = strtol(f, &end, 10);
		if (end - f != 9 || ns < 0 || ns > 999999999)
			return false;
	}
	if (*end && *end != '\n')
		return false;
	ts->tv_sec = sec;
	ts->tv_nsec = ns;
	return true;
}

void store_load_times(const char *name, struct cfg_times *t)
{
	char path[PATH_MAX];
	struct stat st;
	struct timespec base = { 0 };
	_cleanup_free_ char *doc = NULL;

	memset(t, 0, sizeof(*t));
	snprintf(path, sizeof(path), "%s/%s/config", eng.state_dir, name);
	if (stat(path, &st) == 0)
		base = st.st_mtim;
	else
		clock_gettime(CLOCK_REALTIME, &base);
	for (int k = 0; k < K_COUNT; k++)
		t->key[k] = base;
	snprintf(path, sizeof(path), "%s/%s/times", eng.state_dir, name);
	(void)fileio_read_alloc(path, 65535, &doc);	/* none, or unreadable: the file's time */
	for (char *line = doc, *next; line && *line; line = next) {
		char *sp = strchr(line, ' '), kp[64];
		struct timespec ts;

		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (!sp || line[0] == '#')
			continue;
		*sp = '\0';
		if (!parse_time(sp + 1, &ts))
			continue;
		for (int k = 0; k < K_COUNT; k++)
			if (!(key_table[k].flags & KF_ALIAS) &&
			    !strcmp(key_path(k, kp, sizeof(kp)), line))
				t->key[k] = ts;
	}
}
