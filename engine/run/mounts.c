/* mounts.c - init's side of the mounts setting: each fstab line mounted beneath the
 * new root before pivot_root. Targets are resolved as the container will see them:
 * openat2(RESOLVE_IN_ROOT), so an absolute symlink (Debian's var/run -> /run) is
 * followed from the container's root and ".." stops at it; nothing outside the root is
 * ever reached, and the mount goes onto exactly what was opened (/proc/self/fd/N).
 * Where the kernel has no openat2 (before Linux 5.6), the same resolution is done a
 * component at a time. An rbind with ro is made read-only recursively.
 * Runs after fork in a threaded daemon's child: system calls only. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rootfs.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* What a bind mount takes only through a second, remounting call. */
#define BIND_REMOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | \
			    MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)

const char *mounts_fd_path(char buf[32], int fd)
{
	size_t n = sigsafe_put_str(buf, 32, 0, "/proc/self/fd/");

	sigsafe_put_int(buf, 32, n, fd);
	return buf;
}

/* path resolved beneath rootfd as the container would, one component at a time:
 * the fallback of a kernel without openat2. An absolute symlink restarts at rootfd,
 * ".." at rootfd stays there, a magic link's text is taken as any other link's. */
int mounts_in_root_walk(int rootfd, const char *path)
{
	char rest[PATH_MAX], link[PATH_MAX];
	struct stat root, st;
	int cur, links = 0;

	if (fstat(rootfd, &root) < 0)
		return -errno;
	if (strlen(path) >= sizeof(rest))
		return -ENAMETOOLONG;
	memcpy(rest, path, strlen(path) + 1);
	cur = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return -errno;
	for (;;) {
		char *c = rest + strspn(rest, "/"), *end;
		size_t clen, tail;
		int nfd;

		if (!*c)
			return cur;
		clen = strcspn(c, "/");
		end = c + clen;
		tail = strlen(end);
		if (clen == 1 && c[0] == '.') {
			memmove(rest, end, tail + 1);
			continue;
		}
		if (clen == 2 && c[0] == '.' && c[1] == '.') {
			memmove(rest, end, tail + 1);
			if (fstat(cur, &st) < 0)
				goto fail;
			if (st.st_dev == root.st_dev && st.st_ino == root.st_ino)
				continue;
			nfd = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (nfd < 0)
				goto fail;
			close(cur);
			cur = nfd;
			continue;
		}
		*end = '\0';
		nfd = openat(cur, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (tail)
			*end = '/';
		if (nfd < 0)
			goto fail;
		if (fstat(nfd, &st) < 0) {
			close(nfd);
			goto fail;
		}
		if (!S_ISLNK(st.st_mode)) {
			memmove(rest, end, tail + 1);
			close(cur);
			cur = nfd;
			continue;
		}
		/* a symlink: its text takes its place in what is left to resolve */
		ssize_t n = readlinkat(nfd, "", link, sizeof(link));

		close(nfd);
		if (n < 0 || ++links > 40) {
			if (n >= 0)
				errno = ELOOP;
			goto fail;
		}
		if ((size_t)n + tail + 1 >= sizeof(rest)) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		memmove(rest + n, end, tail + 1);
		memcpy(rest, link, (size_t)n);
		if (link[0] == '/') {
			nfd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (nfd < 0)
				goto fail;
			close(cur);
			cur = nfd;
		}
	}
fail:;
	int e = errno;

	close(cur);
	return -e;
}

static int beneath(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		return mounts_in_root_walk(rootfd, path);
	return fd < 0 ? -errno : (int)fd;
}

/* Create the last component of path in its parent (itself opened beneath rootfd):
 * a directory, or an empty file. EEXIST is fine: a racing creator, or a dangling
 * symlink, which the lookup that follows judges. */
static int make_one(int rootfd, char *path, bool file)
{
	char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	int dfd, fd, r = 0;

	if (slash)
		*slash = '\0';
	dfd = beneath(rootfd, slash ? path : "");
	if (slash)
		*slash = '/';
	if (dfd < 0)
		return dfd;
	if (file) {
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
		else if (errno != EEXIST)
			r = -errno;
	} else if (mkdirat(dfd, name, 0755) < 0 && errno != EEXIST) {
		r = -errno;
	}
	close(dfd);
	return r;
}

int mounts_in_root_open(int rootfd, const char *path, int create)
{
	char buf[PATH_MAX];
	size_t n;
	int fd;

	while (*path == '/')
		path++;
	fd = beneath(rootfd, path);
	if (fd != -ENOENT || !create)
		return fd;
	n = strlen(path);
	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	while (n > 0 && buf[n - 1] == '/')
		buf[--n] = '\0';
	/* each prefix in turn, every lookup beneath the root again */
	for (size_t i = 1; i <= n; i++) {
		char c = buf[i];

		if ((c != '/' && c != '\0') || buf[i - 1] == '/')
			continue;
		buf[i] = '\0';
		fd = beneath(rootfd, buf);
		if (fd == -ENOENT) {
			int r = make_one(rootfd, buf, create == 'f' && c == '\0');

			fd = r < 0 ? r : beneath(rootfd, buf);
		}
		buf[i] = c;
		if (fd < 0 || c == '\0')
			return fd;
		close(fd);
	}
	return -ENOENT;
}

static int target_fail(struct child_err *ce, int e, const struct fstab_entry *fe)
{
	if (e == EXDEV)
		return spawn_child_err_set(ce, EINVAL, "mounts: target", fe->target,
					   "resolves outside the container's root (through a symlink "
					   "or ..); refused");
	if (e == ENOENT && !fe->create)
		return spawn_child_err_set(ce, ENOENT, "mounts: target", fe->target,
					   "does not exist (create=dir or create=file makes it)");
	return spawn_child_err_set(ce, e, "mounts: target", fe->target, NULL);
}

/* A second call on what is mounted at target now (a remount, a propagation
 * change): looked up again, so it finds the new mount, not the one beneath. */
static int mount_again(int rootfd, const char *target, unsigned long flags)
{
	char fp[32];
	int fd = mounts_in_root_open(rootfd, target, 0), r = 0;

	if (fd < 0)
		return fd;
	if (mount(NULL, mounts_fd_path(fp, fd), NULL, flags, NULL) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* An rbind's options reach every submount, not only the top one: ro on an rbind
 * of a tree with mounts beneath must leave none of them writable. */
static int rbind_attrs(int rootfd, const char *target, unsigned long flags)
{
	struct mount_attr attr = { 0 };
	int fd, r = 0;

	if (flags & MS_RDONLY)
		attr.attr_set |= MOUNT_ATTR_RDONLY;
	if (flags & MS_NOSUID)
		attr.attr_set |= MOUNT_ATTR_NOSUID;
	if (flags & MS_NODEV)
		attr.attr_set |= MOUNT_ATTR_NODEV;
	if (flags & MS_NOEXEC)
		attr.attr_set |= MOUNT_ATTR_NOEXEC;
	if (!attr.attr_set)
		return 0;
	fd = mounts_in_root_open(rootfd, target, 0);
	if (fd < 0)
		return fd;
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int mount_one(const struct fstab_entry *fe, int rootfd)
{
	unsigned long flags = fe->flags;
	char fp[32];
	int fd = mounts_in_root_open(rootfd, fe->target, fe->create), r = 0;

	if (fd < 0)
		return fd;
	mounts_fd_path(fp, fd);
	if (flags & MS_REMOUNT)
		r = mount(NULL, fp, NULL, flags, fe->data[0] ? fe->data : NULL);
	else if (flags & MS_BIND)
		r = mount(fe->source, fp, NULL, MS_BIND | (flags & MS_REC), NULL);
	else
		r = mount(fe->source, fp, fe->fstype, flags, fe->data[0] ? fe->data : NULL);
	r = r < 0 ? -errno : 0;
	close(fd);
	if (!r && (flags & MS_BIND) && !(flags & MS_REMOUNT) && (flags & BIND_REMOUNT_FLAGS))
		r = mount_again(rootfd, fe->target,
				MS_REMOUNT | MS_BIND | (flags & BIND_REMOUNT_FLAGS));
	if (!r && (flags & MS_BIND) && (flags & MS_REC) && !(flags & MS_REMOUNT))
		r = rbind_attrs(rootfd, fe->target, flags);
	if (!r && fe->propagation)
		r = mount_again(rootfd, fe->target, (unsigned long)fe->propagation);
	return r;
}

int mounts_apply(const struct rootfs_plan *s, int rootfd, struct child_err *ce)
{
	for (int i = 0; i < s->nmounts; i++) {
		const struct fstab_entry *fe = &s->mounts[i];
		int fd, r;

		/* the target alone first: a missing one is skipped when optional */
		fd = mounts_in_root_open(rootfd, fe->target, fe->create);
		if (fd < 0 && (fd == -EXDEV || !fe->optional))
			return target_fail(ce, -fd, fe);
		if (fd < 0)
			continue;
		close(fd);
		r = mount_one(fe, rootfd);
		if (r == -EXDEV)
			return target_fail(ce, EXDEV, fe);
		if (r == -ENOSYS && (fe->flags & MS_REC))
			return spawn_child_err_set(ce, ENOSYS, "mounts: rbind options on", fe->target,
						   "need mount_setattr to reach the submounts "
						   "(Linux 5.12 or later)");
		if (r < 0 && !fe->optional) {
			char what[128];

			sigsafe_put_str(what, sizeof(what),
					sigsafe_put_str(what, sizeof(what), 0, "mounts: mounting "),
					fe->fstype);
			sigsafe_put_str(what, sizeof(what), strlen(what), " on");
			return spawn_child_err_set(ce, -r, what, fe->target, NULL);
		}
	}
	return 0;
}
