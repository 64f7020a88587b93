/* cgroup.c - a container's cgroups in every hierarchy: creating, populating,
 * listing, freezing, killing and removing them. What differs between v1 and v2
 * (where a setting's file is, device rules, the freezer, cgroup.kill, statistics,
 * what a system container mounts) goes through the backend table cg.ops that
 * cgroup_init chose with the layout (cgroup_detect.c). Also the small file
 * helpers every file of engine/cgroup/ uses. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "cleanup.h"
#include "fileio.h"
#include "log.h"
#include "config/parse.h"
#include "strv.h"

/* ---- small file helpers */

int cg_path(char *buf, size_t n, int h, const char *name, const char *file)
{
	int l = snprintf(buf, n, "%s%s%s%s%s", cg.h[h].base, name ? "/" : "", name ? name : "",
			 file ? "/" : "", file ? file : "");

	return l < 0 || (size_t)l >= n ? -ENAMETOOLONG : 0;
}

int cg_read_text(const char *path, char **out)
{
	int r = (int)fileio_read_alloc(path, 0, out);

	if (r > 0 && (*out)[r - 1] != '\n') {
		char *s = realloc(*out, r + 2);

		if (!s)
			return -ENOMEM;
		s[r] = '\n';
		s[r + 1] = '\0';
		*out = s;
	}
	return r < 0 ? r : 0;
}

int cg_read(const char *path, char *buf, size_t n)
{
	return (int)read_file_into(path, buf, n);	/* bytes read or -errno */
}

int cg_write(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t r;

	if (fd < 0)
		return -errno;
	/* cgroup files take a value per write(2); an empty value still needs one */
	do
		r = write(fd, len ? s : "\n", len ? len : 1);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

bool cg_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

bool cg_wait_backoff(long long deadline, unsigned *us)
{
	if (monotonic_ms() >= deadline)
		return false;
	*us = *us ? (*us * 2 > 5000 ? 5000 : *us * 2) : 100;
	usleep(*us);
	return true;
}

static bool valid_name(const char *name)
{
	return name && *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..") &&
	       strlen(name) < 256;
}

/* ---- a container's cgroups in every hierarchy */

/* Ownership: every cgroup directory cgroup_create makes carries the extended
 * attribute CG_MARK = the container's name, and cleanup kills and removes only
 * marked directories, never a cgroup somebody else made at <parent>/<name>. Where a
 * hierarchy takes no xattrs (v1 before Linux 5.x without the xattr mount option),
 * its directory counts as ours when another hierarchy's is marked, or when no
 * hierarchy of the host takes marks at all (then there is nothing to tell by). */
#define CG_MARK "trusted.containerfs"
enum {
	MARK_ABSENT,
	MARK_FOREIGN,
	MARK_OURS,
	MARK_UNKNOWN,
	MARK_NONE,
};

/* trusted.* xattrs are root's of the host: a daemon in a user namespace of its own
 * could neither write nor see them, and then marks tell nothing. */
static bool marks_usable(void)
{
	static int usable = -1;
	char map[64] = "";
	unsigned a, b, c;

	if (usable < 0) {
		read_file_into("/proc/self/uid_map", map, sizeof(map));
		usable = geteuid() == 0 && sscanf(map, "%u %u %u", &a, &b, &c) == 3 && a == 0 &&
			 b == 0 && c == 4294967295u;
	}
	return usable;
}

static int mark_state(const char *dir, const char *name)
{
	char v[256];
	ssize_t n;

	if (!marks_usable())
		return access(dir, F_OK) == 0 ? MARK_UNKNOWN : MARK_ABSENT;
	n = getxattr(dir, CG_MARK, v, sizeof(v) - 1);

	if (n >= 0) {
		v[n] = '\0';
		return strcmp(v, name) ? MARK_FOREIGN : MARK_OURS;
	}
	if (errno == ENOENT)
		return MARK_ABSENT;
	if (errno == ENODATA)
		return MARK_NONE;	/* somebody's, or ours made by a daemon killed before it marked it */
	return MARK_UNKNOWN;	/* EOPNOTSUPP: this hierarchy keeps no xattrs */
}

/* A control file of the parent is no cgroup: existing_is_leftover says so. */
static bool cg_is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int mark(const char *dir, const char *name)
{
	if (!marks_usable() || setxattr(dir, CG_MARK, name, strlen(name), 0) == 0 ||
	    errno == EOPNOTSUPP)
		return 0;
	return -errno;
}

/* Bit h set: hierarchy h's directory of name exists and is ours to kill and remove.
 * *foreign: one exists that is not (left alone, and logged). */
static unsigned owned_mask(const char *name, bool *foreign)
{
	int st[CG_MAX_HIER];
	bool any_ours = false, any_known = false;
	unsigned m = 0;
	char p[PATH_MAX];

	*foreign = false;
	for (int i = 0; i < cg.nh; i++) {
		st[i] = cg_path(p, sizeof(p), i, name, NULL) == 0 ? mark_state(p, name) : MARK_ABSENT;
		any_ours |= st[i] == MARK_OURS;
		any_known |= st[i] == MARK_OURS || st[i] == MARK_FOREIGN || st[i] == MARK_NONE;
	}
	for (int i = 0; i < cg.nh; i++) {
		if (st[i] == MARK_OURS || (st[i] == MARK_UNKNOWN && (any_ours || !any_known)))
			m |= 1u << i;
		else if (st[i] != MARK_ABSENT)
			*foreign = true;
	}
	return m;
}

/* A directory that exists already is taken only if it is an empty cgroup (left by
 * a run that ended while nobody watched): never a control file of the parent whose
 * name the container shares, never somebody's cgroup with processes in it. */
static int existing_is_leftover(const char *p, struct cfs_err *err)
{
	char procs[PATH_MAX];
	struct stat st;
	_cleanup_free_ char *text = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;

	if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode))
		return cfs_err_set(err, EINVAL,
				   "cgroup: %s is a control file of the parent cgroup, "
				   "not a name a container can use",
				   p);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", p);
	if (fileio_read_alloc(procs, 0, &text) > 0)
		return cfs_err_set(err, EBUSY, "cgroup: %s exists and has processes in it", p);
	/* cgroup.procs lists only its own: children of it are somebody's tree */
	d = opendir(p);
	while (d && (de = readdir(d)))
		if (de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			return cfs_err_set(err, EBUSY, "cgroup: %s exists and has cgroups beneath it", p);
	return 0;
}

/* A failed create takes back exactly the directories it made, nothing else. */
static void undo_create(const char *name, int upto, const bool *made)
{
	char p[PATH_MAX];

	for (int i = 0; i < upto; i++)
		if (made[i] && cg_path(p, sizeof(p), i, name, NULL) == 0)
			rmdir(p);
}

int cgroup_create(const char *name, struct cfs_err *err)
{
	char p[PATH_MAX];
	bool made[CG_MAX_HIER] = { false };
	int fresh = 1, r = 0, ms = MARK_ABSENT;

	if (!valid_name(name))
		return cfs_err_set(err, EINVAL, "cgroup: '%s' is not a usable cgroup name", name);
	for (int i = 0; i < cg.nh && r == 0; i++) {
		ms = MARK_ABSENT;
		if (cg_path(p, sizeof(p), i, name, NULL) < 0) {
			r = cfs_err_set(err, ENAMETOOLONG, "cgroup: path too long for %s", name);
		} else if (mkdir(p, 0755) == 0) {
			made[i] = true;
			if ((r = mark(p, name)) < 0)
				r = cfs_err_set(err, -r, "cgroup: cannot mark %s as containerfs's: %s",
						p, strerror(-r));
		} else if (errno != EEXIST) {
			r = cfs_err_set(err, errno, "cgroup: cannot create %s: %m", p);
		} else if (cg_is_dir(p) && ((ms = mark_state(p, name)) == MARK_FOREIGN ||
					    (ms == MARK_NONE && existing_is_leftover(p, NULL) < 0))) {
			r = cfs_err_set(err, EBUSY,
					"cgroup: %s exists and was not made by "
					"containerfs for '%s': left alone",
					p, name);
		} else {
			/* an empty unmarked one is what a daemon killed between mkdir and
			 * mark leaves: taking it harms nobody (no process, no sub-cgroup) */
			r = existing_is_leftover(p, err);
			if (r == 0 && ms == MARK_NONE && (r = mark(p, name)) < 0)
				r = cfs_err_set(err, -r, "cgroup: cannot mark %s as containerfs's: %s",
						p, strerror(-r));
			fresh = 0;
		}
		if (r == 0)
			r = cg.ops->prepare(&cg.h[i], p, err);
		if (r < 0)
			undo_create(name, i + 1, made);
	}
	return r < 0 ? r : fresh;
}

/* While the stored containers are loaded, one listing of every hierarchy's parent
 * answers cgroup_exists, rather than a lookup per container and hierarchy (10,000
 * containers in 11 hierarchies were most of a restart). Single-threaded use only. */
static char **scan_names;
static size_t scan_n;
static bool scanning;

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void cgroup_scan_begin(void)
{
	size_t cap = 0;

	cgroup_scan_end();
	for (int i = 0; i < cg.nh; i++) {
		_cleanup_closedir_ DIR *d = opendir(cg.h[i].base);
		struct dirent *de;

		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (de->d_type != DT_DIR || !valid_name(de->d_name))
				continue;
			if (scan_n == cap) {
				char **v = realloc(scan_names, (cap = cap ? cap * 2 : 64) * sizeof(*v));

				if (!v)
					return;	/* not scanning: each look is a lookup again */
				scan_names = v;
			}
			if (!(scan_names[scan_n] = strdup(de->d_name)))
				return;
			scan_n++;
		}
	}
	if (scan_n)
		qsort(scan_names, scan_n, sizeof(*scan_names), cmp_name);
	scanning = true;
}

void cgroup_scan_end(void)
{
	for (size_t i = 0; i < scan_n; i++)
		free(scan_names[i]);
	free(scan_names);
	scan_names = NULL;
	scan_n = 0;
	scanning = false;
}

int cgroup_mount_plan(struct cg_mount *m, int max)
{
	return cg.ops->mount_plan(m, max);
}

bool cgroup_exists(const char *name)
{
	char p[PATH_MAX];

	if (scanning)
		return valid_name(name) && scan_n &&
		       bsearch(&name, scan_names, scan_n, sizeof(*scan_names), cmp_name) != NULL;
	for (int i = 0; valid_name(name) && i < cg.nh; i++)
		if (cg_path(p, sizeof(p), i, name, NULL) == 0 && cg_exists(p))
			return true;
	return false;
}

int cgroup_attach(const char *name, pid_t pid, struct cfs_err *err)
{
	return cgroup_attach_init(name, pid, false, false, err);
}

int cgroup_join_paths(const char *name, char ***paths)
{
	char p[PATH_MAX];
	char **v;
	int n = 0;

	*paths = NULL;
	if (!valid_name(name))
		return -EINVAL;
	v = calloc((size_t)cg.nh + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (int i = 0; i < cg.nh; i++) {
		if (cg.h[i].v2)
			continue;
		if (cg_path(p, sizeof(p), i, name, "tasks") < 0 || !(v[n++] = strdup(p))) {
			strv_free(v);
			return -ENOMEM;
		}
	}
	if (n)
		*paths = v;
	else
		free(v);
	return 0;
}

int cgroup_v2_open(const char *name)
{
	char p[PATH_MAX];

	for (int i = 0; valid_name(name) && i < cg.nh; i++)
		if (cg.h[i].v2 && cg_path(p, sizeof(p), i, name, NULL) == 0)
			return open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return -1;
}

int cgroup_attach_init(const char *name, pid_t pid, bool in_v2, bool joins_v1,
		       struct cfs_err *err)
{
	char p[PATH_MAX], num[24];

	if (!valid_name(name))
		return cfs_err_set(err, EINVAL, "cgroup: '%s' is not a usable cgroup name", name);
	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return cfs_err_set_in(err, "tasks", ESRCH, "there is no process %d", (int)pid);
	snprintf(num, sizeof(num), "%d", (int)pid);
	for (int i = 0; i < cg.nh; i++) {
		int r;

		if (cg.h[i].v2 ? in_v2 : joins_v1)
			continue;
		r = cg_path(p, sizeof(p), i, name, "cgroup.procs");

		if (r == 0)
			r = cg_write(p, num);
		if (r < 0)
			return cfs_err_set_in(err, "tasks", -r, "cannot move %d into %s: %s", (int)pid, p,
					      strerror(-r));
	}
	return 0;
}

/* The directory of hierarchy h that /proc/PID/cgroup's path names (relative to
 * the part of the hierarchy mounted at h's mount point). */
static bool dir_of_line(const struct cg_hier *h, const char *path, char *dir, size_t n)
{
	size_t rl = strcmp(h->root, "/") ? strlen(h->root) : 0;

	if (rl && (strncmp(path, h->root, rl) || (path[rl] && path[rl] != '/')))
		return false;	/* outside what is mounted here: not beneath our parent */
	return snprintf(dir, n, "%s%s", h->mnt, path + rl) < (int)n;
}

/* Does one "ID:CONTROLLERS:PATH" line put the process beneath our parent? Then the
 * first component below it is the container's name. */
static bool line_container(char *line, char *name, size_t n)
{
	char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char dir[PATH_MAX], list[512];

	if (!c2)
		return false;
	*c2++ = '\0';
	c2[strcspn(c2, "\n")] = '\0';
	snprintf(list, sizeof(list), ",%s,", c1 + 1);
	for (int i = 0; i < cg.nh; i++) {
		const struct cg_hier *h = &cg.h[i];
		char first[64];
		size_t bl = strlen(h->base);

		snprintf(first, sizeof(first), ",%.*s,", (int)strcspn(h->ctrls, ","), h->ctrls);
		if (h->v2 ? c1[1] != '\0' : (!c1[1] || !strstr(list, first)))
			continue;
		if (!dir_of_line(h, c2, dir, sizeof(dir)) || strncmp(dir, h->base, bl) ||
		    dir[bl] != '/')
			continue;
		snprintf(name, n, "%.*s", (int)strcspn(dir + bl + 1, "/"), dir + bl + 1);
		return true;
	}
	return false;
}

int cgroup_pid_container(pid_t pid, char *name, size_t n)
{
	char p[64];
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0)
		if (line_container(line, name, n))
			return 1;
	return 0;
}

int cgroup_chown(const char *name, uid_t uid, gid_t gid, struct cfs_err *err)
{
	static const char *const files[] = { NULL, "cgroup.procs", "cgroup.threads", "tasks",
					     "cgroup.subtree_control" };
	char p[PATH_MAX];

	for (int i = 0; i < cg.nh; i++)
		for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
			if (cg_path(p, sizeof(p), i, name, files[f]) < 0)
				continue;
			if (chown(p, uid, gid) < 0 && !(files[f] && errno == ENOENT))
				return cfs_err_set_in(err, "start", errno,
						      "cannot hand %s to the container's root: %m",
						      p);
		}
	return 0;
}

struct pidvec {
	pid_t *v;
	size_t n, cap;
};

/* Every pid in dir's cgroup.procs and those of its descendants. */
static int collect_pids(const char *dir, struct pidvec *pv, int depth)
{
	char p[PATH_MAX];
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	long pid;

	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%ld", &pid) == 1) {
		if (pv->n == pv->cap) {
			size_t cap = pv->cap ? pv->cap * 2 : 32;
			pid_t *nv = realloc(pv->v, cap * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			pv->v = nv;
			pv->cap = cap;
		}
		pv->v[pv->n++] = (pid_t)pid;
	}
	d = depth < 32 ? opendir(dir) : NULL;
	while (d && (de = readdir(d)))
		if (de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) < (int)sizeof(p))
				collect_pids(p, pv, depth + 1);
		}
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static int pids_in(const char *name, unsigned mask, pid_t **pids, size_t *n);

int cgroup_pids(const char *name, pid_t **pids, size_t *n)
{
	return pids_in(name, ~0u, pids, n);
}

/* The pids of the hierarchies in mask. */
static int pids_in(const char *name, unsigned mask, pid_t **pids, size_t *n)
{
	struct pidvec pv = { 0 };
	char p[PATH_MAX];
	bool found = false;

	*pids = NULL;
	*n = 0;
	if (!valid_name(name))
		return -EINVAL;
	/* the union over hierarchies: a pid moved in one only is still the container's */
	for (int i = 0; i < cg.nh; i++) {
		int r = mask & (1u << i) ? cg_path(p, sizeof(p), i, name, NULL) : -ENOENT;

		if (r == 0)
			r = collect_pids(p, &pv, 0);
		if (r == -ENOMEM) {
			free(pv.v);
			return r;
		}
		found |= r == 0;
	}
	if (!found)
		return -ENOENT;
	if (pv.n)
		qsort(pv.v, pv.n, sizeof(*pv.v), cmp_pid);
	size_t u = 0;

	for (size_t i = 0; i < pv.n; i++)
		if (!u || pv.v[u - 1] != pv.v[i])
			pv.v[u++] = pv.v[i];
	*pids = pv.v;
	*n = u;
	return 0;
}

int cgroup_freeze(const char *name, bool frozen, int timeout_ms, struct cfs_err *err)
{
	if (!valid_name(name))
		return cfs_err_set(err, EINVAL, "state: no cgroup for '%s'", name);
	return cg.ops->freeze(name, frozen, timeout_ms, err);
}

int cgroup_is_frozen(const char *name)
{
	return valid_name(name) ? cg.ops->is_frozen(name) : -EINVAL;
}

void cg_kill_pids(const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
}

/* SIGKILL what is in the hierarchies of mask (owned_mask), round after round until
 * nothing is left or timeout_ms. */
static int kill_in(const char *name, unsigned mask, int timeout_ms)
{
	long long deadline = monotonic_ms() + timeout_ms;

	if (!valid_name(name))
		return -EINVAL;
	/* killed tasks leave within a fraction of a millisecond: look again soon, then
	 * less often */
	for (unsigned us = 0;;) {
		_cleanup_free_ pid_t *pids = NULL;
		size_t n = 0;

		if (pids_in(name, mask, &pids, &n) < 0 || n == 0)
			return 0;
		cg.ops->kill(name, mask, pids, n);
		if (!cg_wait_backoff(deadline, &us))
			return -ETIMEDOUT;
	}
}

int cgroup_kill_all(const char *name, int timeout_ms)
{
	bool foreign;

	return valid_name(name) ? kill_in(name, owned_mask(name, &foreign), timeout_ms) : -EINVAL;
}

/* rmdir dir after its descendants (a container may have made sub-cgroups). */
static int rmdir_tree(const char *dir, int depth)
{
	_cleanup_closedir_ DIR *d = depth < 32 ? opendir(dir) : NULL;
	struct dirent *de;
	char p[PATH_MAX];

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) < (int)sizeof(p))
				rmdir_tree(p, depth + 1);
		}
	return rmdir(dir) < 0 && errno != ENOENT ? -errno : 0;
}

int cgroup_destroy(const char *name, struct cfs_err *err)
{
	long long deadline;
	char p[PATH_MAX];
	int r = 0;

	if (!valid_name(name))
		return cfs_err_set(err, EINVAL, "cgroup: '%s' is not a usable cgroup name", name);
	bool foreign;
	unsigned mask = owned_mask(name, &foreign), left = 0;

	/* an unmarked directory (a daemon killed between mkdir and mark) goes if rmdir
	 * takes it: the kernel refuses a cgroup with processes or sub-cgroups in it */
	if (foreign) {
		foreign = false;
		for (int i = 0; i < cg.nh; i++)
			if (!(mask & (1u << i)) && cg_path(p, sizeof(p), i, name, NULL) == 0 &&
			    cg_is_dir(p) && (mark_state(p, name) != MARK_NONE || rmdir(p) < 0))
				foreign = true;
	}
	if (foreign)
		log_msg(LOG_WARNING,
			"cgroup: a cgroup '%s' that containerfs did not make is left alone",
			name);
	/* The common case: the run's end emptied the cgroups, and rmdir alone is the
	 * check (it refuses a cgroup with processes or sub-cgroups). Otherwise kill
	 * what is left and remove the trees. Only ours, in either case. */
	for (int i = 0; i < cg.nh; i++)
		if ((mask & (1u << i)) &&
		    (cg_path(p, sizeof(p), i, name, NULL) < 0 || (rmdir(p) < 0 && errno != ENOENT)))
			left |= 1u << i;
	if (!left)
		return 0;
	kill_in(name, left, 5000);
	if (!foreign)
		cgroup_freeze(name, false, 1000, NULL);	/* a frozen v1 cgroup keeps its dead */
	deadline = monotonic_ms() + 2000;
	for (int i = 0; i < cg.nh; i++) {
		unsigned us = 0;

		if (!(left & (1u << i)) || cg_path(p, sizeof(p), i, name, NULL) < 0)
			continue;
		/* the last tasks may take a moment to leave after SIGKILL */
		while ((r = rmdir_tree(p, 0)) == -EBUSY && cg_wait_backoff(deadline, &us))
			;
		if (r < 0)
			return cfs_err_set(err, -r, "cgroup: cannot remove %s: %s", p, strerror(-r));
	}
	return 0;
}

/* ---- settings */

/* One write of a plan: find its file (or what replaces it), then write. *defer set:
 * the kernel refused an intermediate state (memsw below the old limit, ...) and
 * the write is retried once the others are done. */
static int write_one(const char *name, const struct config *c, enum key_id k,
		     struct cg_write *w, bool dry, bool fresh, bool *defer, struct cfs_err *err)
{
	char p[PATH_MAX], kp[64];
	struct cg_write alt;
	bool same = fresh && cgroup_write_is_fresh(cg.ops->plan, w);
	int r = cg.ops->resolve(name, w, dry, p, sizeof(p));

	for (int tries = 0; r == -ENOENT && tries < 2; tries++) {
		r = cgroup_plan_fallback(cg.ops->plan, c, k, w, &alt, err);
		if (r <= 0)
			return r;	/* skipped, or EOPNOTSUPP saying why */
		*w = alt;
		same = fresh && cgroup_write_is_fresh(cg.ops->plan, w);
		r = cg.ops->resolve(name, w, dry, p, sizeof(p));
	}
	key_path(k, kp, sizeof(kp));
	if (r < 0)
		return cfs_err_set(err, -r, "%s: cannot apply %s to %s: %s", kp, w->value, w->file,
				   strerror(-r));
	/* a new cgroup already has it: the file's existence was all to check */
	if (dry || same)
		return 0;
	r = cg_write(p, w->value);
	if (r == -EINVAL && defer && (!strcmp(w->controller, "memory") || !strcmp(w->controller, "cpu"))) {
		*defer = true;
		return 0;
	}
	if (r < 0)
		return cfs_err_set(err, -r, "%s: the kernel refused %s for %s: %s", kp,
				   *w->value ? w->value : "''", w->file, strerror(-r));
	return 0;
}

int cg_apply_plan(const char *name, const struct config *c, enum key_id k, bool dry,
		  bool fresh, struct cfs_err *err)
{
	size_t max = cgroup_plan_max(c, k), n = 0;
	_cleanup_free_ struct cg_write *w = calloc(max, sizeof(*w));
	_cleanup_free_ bool *defer = calloc(max, sizeof(*defer));
	int r;

	if (!w || !defer)
		return cfs_err_set(err, ENOMEM, "out of memory");
	r = cgroup_plan_key(cg.ops->plan, c, k, w, max, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = write_one(name, c, k, &w[i], dry, fresh, &defer[i], err);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (defer[i])
			r = write_one(name, c, k, &w[i], dry, false, NULL, err);
	return r;
}

static bool is_device_key(enum key_id k)
{
	return k == K_DEVICES_DENY || k == K_DEVICES_ALLOW;
}

static int apply_key(const char *name, const struct config *c, enum key_id k, bool dry,
		     bool fresh, struct cfs_err *err)
{
	if (!cg.ready)
		return cfs_err_set(err, ENODEV, "cgroup: not initialised");
	if (key_table[k].section != SEC_CGROUP)
		return cfs_err_set(err, EINVAL, "%s is not a cgroup setting", key_table[k].name);
	if (!dry && !fresh && !cgroup_exists(name))
		return cfs_err_set(err, ENOENT, "cgroup/%s: the cgroup of '%s' is gone", key_table[k].name,
				   name);
	if (is_device_key(k))
		return cg.ops->devices_apply(dry ? NULL : name, c, k, dry, fresh, err);
	return cg_apply_plan(name, c, k, dry, fresh, err);
}

int cgroup_apply_key(const char *name, const struct config *c, enum key_id k,
		     struct cfs_err *err)
{
	if (!valid_name(name))
		return cfs_err_set(err, EINVAL, "cgroup: '%s' is not a usable cgroup name", name);
	return apply_key(name, c, k, false, false, err);
}

int cgroup_check_key(const struct config *c, enum key_id k, struct cfs_err *err)
{
	return apply_key(NULL, c, k, true, false, err);
}

int cgroup_apply_all(const char *name, const struct config *c, bool fresh, struct cfs_err *err)
{
	if (!valid_name(name))
		return cfs_err_set(err, EINVAL, "cgroup: '%s' is not a usable cgroup name", name);
	for (int k = 0; k < K_COUNT; k++) {
		int r;

		/* aliases are applied through their setting; one pass rebuilds the devices */
		if (key_table[k].section != SEC_CGROUP || (key_table[k].flags & KF_ALIAS) ||
		    k == K_DEVICES_ALLOW)
			continue;
		r = apply_key(name, c, k, false, fresh, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- statistics and .checkconfig */

int cgroup_stat_read(const char *name, enum stat_id s, char **out)
{
	int r = -ENOENT;

	*out = NULL;
	if (valid_name(name) && cgroup_exists(name))
		r = cg.ops->stat(name, s, out);
	if (r == -ENOENT || r == -ENODEV) {
		*out = strdup("");	/* stopped, or nothing on this host to say it */
		r = *out ? 0 : -ENOMEM;
	}
	return r;
}
