/* rootfs.c - a system container's root. The daemon plans it before fork (the rootfs
 * checked, the overlay layer's directories in STATE/NAME/overlay, the mounts parsed,
 * the device nodes the device rules allow, the ptys); init builds it after, in its
 * own mount namespace: overlay or bind, /proc, /sys read-only, a fresh /dev, the
 * mounts setting, then pivot_root with the old root detached. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "container.h"
#include "mask.h"
#include "rootfs.h"

/* The standard nodes of /dev, each made when the device rules allow it. */
static const struct std_node {
	const char *name;
	unsigned major, minor;
} std_nodes[] = {
	{ "null", 1, 3 },
	{ "zero", 1, 5 },
	{ "full", 1, 7 },
	{ "random", 1, 8 },
	{ "urandom", 1, 9 },
	{ "tty", 5, 0 },
	{ "ptmx", 5, 2 },
};
#define N_STD_NODES (sizeof(std_nodes) / sizeof(std_nodes[0]))
#define NODE_PTMX 6	/* a link to pts/ptmx, the container's own devpts */

/* ---- the daemon's side ---- */

void rootfs_plan_free(struct rootfs_plan *s)
{
	if (!s)
		return;
	for (int i = 0; i < MAX_TTY; i++) {
		if (s->tty_master[i] >= 0)
			close(s->tty_master[i]);
		if (s->tty_slave[i] >= 0)
			close(s->tty_slave[i]);
	}
	free(s->overlay);
	free(s->mounts);
	free(s);
}

/* Overlay options are split at ',' and lower layers at ':'; '\' escapes. */
static bool overlay_safe(const char *path)
{
	return !strpbrk(path, ",:\\");
}

/* STATE/NAME/overlay/{upper,work,root}: the container's own layer and where the
 * overlay is mounted (in the container's mount namespace only). */
static int plan_overlay(struct rootfs_plan *s, const struct spawn_plan *p, const char *lower,
			const struct stat *st, const char *name, struct cfs_err *err)
{
	static const char *const dirs[] = { "upper", "work", "root", "lower" };
	char base[PATH_MAX], d[4][PATH_MAX];
	int ndirs = s->idmapped ? 4 : 3, r;

	if (snprintf(base, sizeof(base), "%s/%s/overlay", eng.state_dir, name) >= (int)sizeof(base))
		return cfs_err_set_in(err, "start", ENAMETOOLONG, "rootfs.overlay: state dir path too long");
	if (!overlay_safe(lower) || !overlay_safe(base))
		return cfs_err_set_in(err, "start", EINVAL,
				      "rootfs.overlay: the paths '%s' and '%s' "
				      "must not contain ',', ':' or '\\' (overlay options)",
				      lower, base);
	for (int i = 0; i < ndirs; i++) {
		snprintf(d[i], sizeof(d[i]), "%s/%s", base, dirs[i]);
		r = fileio_mkdir_p(d[i], 0755);
		if (r < 0)
			return cfs_err_set_in(err, "start", -r, "rootfs.overlay: cannot make %s: %s",
					      d[i], strerror(-r));
	}
	/* the merged root takes the upper layer's mode: give it the image's */
	if (chmod(d[0], st->st_mode & 07777) < 0)
		return cfs_err_set_in(err, "start", errno, "rootfs.overlay: chmod %s: %m", d[0]);
	/* the upper layer's root is the merged root: the container's root owns it, and
	 * what is written inside lands there owned by the mapped ids */
	if (s->idmapped && chown(d[0], p->root_uid, p->root_gid) < 0)
		return cfs_err_set_in(err, "start", errno, "rootfs.overlay: chown %s: %m", d[0]);
	if (s->idmapped)
		snprintf(s->lower, sizeof(s->lower), "%s", d[3]);
	if (asprintf(&s->overlay, "lowerdir=%s,upperdir=%s,workdir=%s",
		     s->idmapped ? d[3] : lower, d[0], d[1]) < 0) {
		s->overlay = NULL;
		return cfs_err_set_in(err, "start", ENOMEM, "out of memory");
	}
	snprintf(s->root, sizeof(s->root), "%s", d[2]);
	return 0;
}

static int plan_root(struct rootfs_plan *s, const struct spawn_plan *p, const char *rootfs,
		     const char *name, const struct config *cfg, struct cfs_err *err)
{
	char real[PATH_MAX];
	struct stat st;

	if (!realpath(rootfs, real) || stat(real, &st) < 0)
		return cfs_err_set_in(err, "start", errno, "rootfs '%s': %m", rootfs);
	if (!S_ISDIR(st.st_mode))
		return cfs_err_set_in(err, "start", ENOTDIR, "rootfs '%s' is not a directory", rootfs);
	/* whether the image's filesystem can be idmapped is learnt by trying (idmount.c):
	 * the probe of .checkconfig only speaks for the state dir's */
	snprintf(s->image, sizeof(s->image), "%s", real);
	if (config_bool(cfg, K_ROOTFS_OVERLAY))
		return plan_overlay(s, p, real, &st, name, err);
	snprintf(s->root, sizeof(s->root), "%s", real);
	return 0;
}

/* Does the entry mount a fresh fstype at dir ("proc" and "/proc/" alike)? */
static bool mounts_fs_at(const struct fstab_entry *fe, const char *fstype, const char *dir)
{
	const char *t = fe->target + strspn(fe->target, "/");
	size_t n = strlen(dir);

	return !(fe->flags & (MS_BIND | MS_REMOUNT)) && !strcmp(fe->fstype, fstype) &&
	       !strncmp(t, dir, n) && t[n + strspn(t + n, "/")] == '\0';
}

static int plan_mounts(struct rootfs_plan *s, const char *text, struct cfs_err *err)
{
	size_t n = 1;

	for (const char *t = text; *t; t++)
		n += *t == '\n';
	s->mounts = calloc(n, sizeof(*s->mounts));
	if (!s->mounts)
		return cfs_err_set_in(err, "start", ENOMEM, "out of memory");
	for (const char *t = text; *t;) {
		size_t len = strcspn(t, "\n");
		struct fstab_entry *fe = &s->mounts[s->nmounts];
		char line[CFS_MAX_VALUE];

		if (len && len < sizeof(line)) {
			memcpy(line, t, len);
			line[len] = '\0';
			s->nmounts++;
			if (parse_fstab_line(line, fe, err) < 0) {
				cfs_err_prefix_in(err, "start", "mounts");
				return -EINVAL;
			}
			/* as in LXC's configurations before lxc.mount.auto: the entries
			 * mount them (sysfs on sysfs of the same net namespace is EBUSY) */
			s->own_proc |= mounts_fs_at(fe, "proc", "proc");
			s->own_sys |= mounts_fs_at(fe, "sysfs", "sys");
		}
		t += len + (t[len] == '\n');
	}
	return 0;
}

/* A node is made when its device may be read or written. */
static unsigned plan_nodes(const struct config *cfg)
{
	unsigned nodes = 0;

	for (unsigned i = 0; i < N_STD_NODES; i++) {
		const struct std_node *d = &std_nodes[i];

		if (cgroup_dev_eval(cfg, 'c', d->major, d->minor, DEV_ACC_READ) == 1 ||
		    cgroup_dev_eval(cfg, 'c', d->major, d->minor, DEV_ACC_WRITE) == 1)
			nodes |= 1u << i;
	}
	return nodes;
}

int rootfs_plan(struct spawn_plan *p, const char *name, const struct config *cfg,
		struct cfs_err *err)
{
	struct rootfs_plan *s = calloc(1, sizeof(*s));
	uint64_t ntty, pts;
	int r;

	if (!s)
		return cfs_err_set_in(err, "start", ENOMEM, "out of memory");
	for (int i = 0; i < MAX_TTY; i++)
		s->tty_master[i] = s->tty_slave[i] = -1;
	p->sys = s;
	if (!(p->clone_flags & CLONE_NEWNS))
		return cfs_err_set_in(err, "start", EINVAL,
				      "namespaces: a system container (rootfs "
				      "set) needs its own mnt namespace");
	s->idmapped = (p->clone_flags & CLONE_NEWUSER) && p->mapped_root;
	r = plan_root(s, p, p->rootfs, name, cfg, err);
	if (r < 0)
		return r;
	r = plan_mounts(s, config_val(cfg, K_MOUNTS), err);
	if (r < 0)
		return r;
	s->nodes = plan_nodes(cfg);
	/* the cgroup tree, only where init has a cgroup namespace of its own: without
	 * one the host's whole hierarchies would be the container's */
	if ((p->clone_flags & CLONE_NEWCGROUP) || p->new_cgroupns)
		s->ncg = s->own_sys ? 0 : cgroup_mount_plan(s->cg, CG_MAX_MOUNTS);
	if (s->ncg < 0)
		s->ncg = 0;
	config_uint(cfg, K_TTY, &ntty, NULL);
	config_uint(cfg, K_PTS, &pts, NULL);
	/* gid 5 (tty) only where it is the host's: a user namespace may not map it */
	snprintf(s->devpts_data, sizeof(s->devpts_data),
		 "newinstance,ptmxmode=0666,mode=0620%s,max=%llu",
		 (p->clone_flags & CLONE_NEWUSER) ? "" : ",gid=5", (unsigned long long)pts);
	return console_plan(p, s, (int)ntty, err);
}

int rootfs_plan_hostname(struct spawn_plan *p, struct cfs_err *err)
{
	struct rootfs_plan *s = p->sys;
	size_t len = strlen(p->hostname);
	int fd;

	if (snprintf(s->hostname_file, sizeof(s->hostname_file), "%s/hostname", p->run_dir) >=
	    (int)sizeof(s->hostname_file))
		return cfs_err_set_in(err, "start", ENAMETOOLONG, "run dir path too long");
	/* a new file each start: the old one may still be bound in a dying run */
	unlink(s->hostname_file);
	fd = open(s->hostname_file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return cfs_err_set_in(err, "start", errno, "cannot write %s: %m", s->hostname_file);
	if (fchmod(fd, 0644) < 0 || write(fd, p->hostname, len) != (ssize_t)len ||
	    write(fd, "\n", 1) != 1) {
		int e = errno ? errno : EIO;

		close(fd);
		return cfs_err_set_in(err, "start", e, "cannot write %s: %s", s->hostname_file,
				      strerror(e));
	}
	close(fd);
	return 0;
}

/* ---- init's side: system calls only ---- */

static int path_fail(struct child_err *ce, int e, const char *what, const char *path)
{
	if (e == EXDEV)
		return spawn_child_err_set(ce, EINVAL, what, path,
					   "resolves outside the container's root (a symlink or ..)");
	return spawn_child_err_set(ce, e, what, path, NULL);
}

/* Mount a fresh filesystem on dir (made if missing) beneath rootfd. */
static int mount_fs(int rootfd, const char *dir, const char *type, unsigned long flags,
		    const char *data, struct child_err *ce)
{
	char fp[32];
	int fd = mounts_in_root_open(rootfd, dir, 'd'), r = 0;

	if (fd < 0)
		return path_fail(ce, -fd, "mount point", dir);
	if (mount(type, mounts_fd_path(fp, fd), type, flags, data) < 0)
		r = spawn_child_err_set(ce, errno, "mount", type, NULL);
	close(fd);
	return r;
}

static int root_mount(const struct rootfs_plan *s, struct child_err *ce)
{
	if (s->overlay) {
		if (mount("overlay", s->root, "overlay", 0, s->overlay) < 0)
			return spawn_child_err_set(ce, errno, "rootfs.overlay: mount overlay on",
						   s->root, NULL);
		return 0;
	}
	/* rbind: a mount point of its own for pivot_root, with the rootfs's submounts */
	if (mount(s->root, s->root, NULL, MS_BIND | MS_REC, NULL) < 0)
		return spawn_child_err_set(ce, errno, "rootfs: bind", s->root, NULL);
	return 0;
}

/* The host's /sys (with what is mounted beneath it) bound read-only at sys: for a
 * user namespace that does not own the network namespace (net/type none), where a
 * fresh sysfs may not be mounted. */
static int host_sys(int rootfd, struct child_err *ce)
{
	const unsigned long ro = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char fp[32];
	int fd = mounts_in_root_open(rootfd, "sys", 'd'), r = 0;

	if (fd < 0)
		return path_fail(ce, -fd, "mount point", "sys");
	if (mount("/sys", mounts_fd_path(fp, fd), NULL, MS_BIND | MS_REC, NULL) < 0)
		r = spawn_child_err_set(ce, errno, "bind the host's /sys on", "/sys", NULL);
	close(fd);
	if (r < 0)
		return r;
	fd = mounts_in_root_open(rootfd, "sys", 0);
	if (fd < 0)
		return path_fail(ce, -fd, "open", "/sys");
	if (mount(NULL, mounts_fd_path(fp, fd), NULL, ro, NULL) < 0)
		r = spawn_child_err_set(ce, errno, "read-only remount of", "/sys", NULL);
	close(fd);
	return r;
}

/* /proc and a read-only /sys, unless the mounts setting has its own. */
static int proc_and_sys(const struct rootfs_plan *s, int rootfd, bool userns,
			struct child_err *ce)
{
	int r = 0;

	/* host-wide sysctls, sysrq and the like are made read-only by mask.c */
	if (!s->own_proc)
		r = mount_fs(rootfd, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, ce);
	if (!r && !s->own_sys) {
		r = mount_fs(rootfd, "sys", "sysfs",
			     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, ce);
		if (r == -EPERM && userns)
			r = host_sys(rootfd, ce);
	}
	return r;
}

/* /sys/fs/cgroup as the host lays it out, each hierarchy rooted at the container's
 * own cgroup (its cgroup namespace): what systemd inside needs to track its units
 * (name=systemd and cgroup2 on a hybrid host, cgroup2 on a pure v2 one). The
 * controller hierarchies of v1 are a bonus: one the kernel refuses is left out. */
static int cgroup_mounts(const struct rootfs_plan *s, int rootfd, struct child_err *ce)
{
	const unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char path[96], fp[32];
	int fd, r;

	if (!s->ncg)
		return 0;
	if (!s->cg[0].dir[0])	/* pure v2 */
		return mount_fs(rootfd, "sys/fs/cgroup", "cgroup2", fl, NULL, ce);
	r = mount_fs(rootfd, "sys/fs/cgroup", "tmpfs", fl, "mode=755,size=64k", ce);
	for (int i = 0; !r && i < s->ncg; i++) {
		const struct cg_mount *m = &s->cg[i];
		struct child_err skip = { 0 };
		bool needed = !strcmp(m->fstype, "cgroup2") || !strncmp(m->data, "name=", 5);

		sigsafe_put_str(path, sizeof(path),
				sigsafe_put_str(path, sizeof(path), 0, "sys/fs/cgroup/"), m->dir);
		r = mount_fs(rootfd, path, m->fstype, fl, m->data[0] ? m->data : NULL,
			     needed ? ce : &skip);
		if (!needed)
			r = 0;
	}
	if (r < 0)
		return r;
	/* nothing more is made there: as on the host, the tmpfs is read-only */
	fd = mounts_in_root_open(rootfd, "sys/fs/cgroup", 0);
	if (fd < 0)
		return path_fail(ce, -fd, "open", "/sys/fs/cgroup");
	if (mount(NULL, mounts_fd_path(fp, fd), NULL, MS_REMOUNT | MS_RDONLY | fl,
		  "mode=755,size=64k") < 0)
		r = spawn_child_err_set(ce, errno, "read-only remount of", "/sys/fs/cgroup", NULL);
	close(fd);
	return r;
}

/* /run and /run/lock as tmpfs, as on a booted system (systemd expects them, and
 * nothing of a previous run must be left there); only where the image has /run. */
static int run_tmpfs(int rootfd, struct child_err *ce)
{
	int fd = mounts_in_root_open(rootfd, "run", 0), r;

	if (fd < 0)
		return 0;
	close(fd);
	r = mount_fs(rootfd, "run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=10%", ce);
	if (!r)
		r = mount_fs(rootfd, "run/lock", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			     "mode=1777,size=5m", ce);
	return r;
}

/* An empty file at name in devfd with what fd is bound onto it. */
static int bind_file(int devfd, const char *name, const char *src, struct child_err *ce)
{
	char fp[32];
	int fd = openat(devfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int r = 0;

	if (fd < 0)
		return spawn_child_err_set(ce, errno, "create /dev/", name, NULL);
	if (mount(src, mounts_fd_path(fp, fd), NULL, MS_BIND, NULL) < 0)
		r = spawn_child_err_set(ce, errno, "bind /dev/", name, NULL);
	close(fd);
	return r;
}

static int make_nodes(const struct rootfs_plan *s, int devfd, bool userns,
		      struct child_err *ce)
{
	for (unsigned i = 0; i < N_STD_NODES; i++) {
		const struct std_node *d = &std_nodes[i];
		char host[32];
		int r;

		if (!(s->nodes & (1u << i)))
			continue;
		if (i == NODE_PTMX) {
			if (symlinkat("pts/ptmx", devfd, "ptmx") < 0)
				return spawn_child_err_set(ce, errno, "symlink /dev/ptmx", NULL, NULL);
			continue;
		}
		/* no mknod in a user namespace: straight to the host's node */
		if (!userns &&
		    mknodat(devfd, d->name, S_IFCHR | 0666, makedev(d->major, d->minor)) == 0)
			continue;
		if (!userns && errno != EPERM)
			return spawn_child_err_set(ce, errno, "mknod /dev/", d->name, NULL);
		/* no mknod right (a device rule without m, a user namespace): the host's */
		sigsafe_put_str(host, sizeof(host), sigsafe_put_str(host, sizeof(host), 0, "/dev/"),
				d->name);
		r = bind_file(devfd, d->name, host, ce);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A pty slave bound at /dev/name. By its name in our copy of the daemon's mounts:
 * a bind needs a mount of our own namespace, which the daemon's fd is not on;
 * checked to be the very pty the daemon opened. */
static int bind_pty(int devfd, const char *name, const char *pts, int slave,
		    struct child_err *ce)
{
	struct stat a, b;
	char fp[32];
	int fd = open(pts, O_PATH | O_NOFOLLOW | O_CLOEXEC), r;

	if (fd < 0)
		return spawn_child_err_set(ce, errno, "open", pts, NULL);
	if (fstat(fd, &a) < 0 || fstat(slave, &b) < 0 || a.st_rdev != b.st_rdev ||
	    a.st_dev != b.st_dev)
		r = spawn_child_err_set(ce, ENXIO, "open", pts, "not the pty the daemon opened");
	else
		r = bind_file(devfd, name, mounts_fd_path(fp, fd), ce);
	close(fd);
	return r;
}

static int dev_ttys(const struct spawn_plan *p, int devfd, struct child_err *ce)
{
	const struct rootfs_plan *s = p->sys;
	char name[16];
	int r = bind_pty(devfd, "console", s->console_pts, p->console[1], ce);

	for (int i = 0; !r && i < s->ntty; i++) {
		sigsafe_put_int(name, sizeof(name), sigsafe_put_str(name, sizeof(name), 0, "tty"), i + 1);
		r = bind_pty(devfd, name, s->tty_pts[i], s->tty_slave[i], ce);
	}
	return r;
}

static int dev_links(int devfd, struct child_err *ce)
{
	static const char *const links[][2] = {
		{ "/proc/self/fd", "fd" },
		{ "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" },
		{ "/proc/self/fd/2", "stderr" },
	};

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlinkat(links[i][0], devfd, links[i][1]) < 0)
			return spawn_child_err_set(ce, errno, "symlink /dev/", links[i][1], NULL);
	return 0;
}

/* /dev: a tmpfs of its own with the allowed nodes, the console and ttys, devpts
 * (a new instance), /dev/shm and the usual links. */
static int make_dev(const struct spawn_plan *p, int rootfd, struct child_err *ce)
{
	const struct rootfs_plan *s = p->sys;
	int devfd, r;

	r = mount_fs(rootfd, "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=1m", ce);
	if (r < 0)
		return r;
	devfd = mounts_in_root_open(rootfd, "dev", 0);
	if (devfd < 0)
		return path_fail(ce, -devfd, "open", "/dev");
	r = make_nodes(s, devfd, p->clone_flags & CLONE_NEWUSER, ce);
	if (!r)
		r = dev_ttys(p, devfd, ce);
	if (!r)
		r = dev_links(devfd, ce);
	if (!r)
		r = mount_fs(rootfd, "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, s->devpts_data, ce);
	if (!r && mkdirat(devfd, "shm", 01777) < 0)
		r = spawn_child_err_set(ce, errno, "mkdir /dev/shm", NULL, NULL);
	if (!r)
		r = mount_fs(rootfd, "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", ce);
	close(devfd);
	return r;
}

/* The container's hostname file over the root's /etc/hostname, when the image has
 * one (a regular file, found as the container will find it): systemd sets the
 * hostname from it. tree is the daemon's detached clone of RUN/NAME/hostname (init
 * may not walk the run dir). */
static int bind_hostname(int tree, int rootfd, struct child_err *ce)
{
	struct stat st;
	int fd = mounts_in_root_open(rootfd, "etc/hostname", 0), r = 0;

	if (fd < 0)
		return 0;	/* none: left alone */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		r = spawn_child_err_set(ce, errno, "bind the hostname over", "/etc/hostname", NULL);
	close(fd);
	return r;
}

static int pivot(const char *root, int rootfd, struct child_err *ce)
{
	/* by the fd: init may not be able to walk the path (a user namespace) */
	if (fchdir(rootfd) < 0)
		return spawn_child_err_set(ce, errno, "chdir", root, NULL);
	/* the old root is stacked on the new one and detached from "." at once */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return spawn_child_err_set(ce, errno, "pivot_root into", root, NULL);
	if (umount2(".", MNT_DETACH) < 0)
		return spawn_child_err_set(ce, errno, "detach the old root", NULL, NULL);
	if (chdir("/") < 0)
		return spawn_child_err_set(ce, errno, "chdir /", NULL, NULL);
	return 0;
}

int rootfs_setup(const struct spawn_plan *p, int given, int hostname_tree,
		 struct child_err *ce)
{
	const struct rootfs_plan *s = p->sys;
	mode_t old = umask(0);	/* modes as written here; init gets the old mask back */
	int rootfd = given, r = 0;

	/* the daemon mounted an idmapped root for us (idmount.c) and gave us its fd */
	if (given < 0)
		r = root_mount(s, ce);
	if (r < 0)
		goto out;
	if (given < 0)
		rootfd = open(s->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		r = spawn_child_err_set(ce, errno, "open the new root", s->root, NULL);
		goto out;
	}
	r = proc_and_sys(s, rootfd, p->clone_flags & CLONE_NEWUSER, ce);
	if (!r)
		r = cgroup_mounts(s, rootfd, ce);
	if (!r)
		r = run_tmpfs(rootfd, ce);
	if (!r)
		r = make_dev(p, rootfd, ce);
	if (!r)
		r = bind_hostname(hostname_tree, rootfd, ce);
	if (!r)
		r = mounts_apply(s, rootfd, ce);
	if (!r)
		r = mask_kernel_paths(rootfd, ce);	/* also over a /proc of the mounts */
	for (int i = 0; i < s->ntty; i++)
		close(s->tty_slave[i]);	/* bound now; the supervisor keeps its own */
	if (!r)
		r = pivot(s->root, rootfd, ce);
	close(rootfd);
out:
	umask(old);
	return r;
}
