/* rootfs.h - private to the spawn files: a system container's root, planned by the
 * daemon before fork (rootfs.c, console.c) and built by init after it (rootfs.c,
 * mounts.c) in its new mount namespace, ending with pivot_root. */
#ifndef CFS_ROOTFS_H
#define CFS_ROOTFS_H

#include <stdbool.h>

#include "cgroup/cgroup.h"
#include "config/config.h"
#include "error.h"
#include "config/parse.h"
#include "spawn_child.h"

struct rootfs_plan {
	char root[PATH_MAX];	/* what becomes "/": rootfs, or the overlay's mount point */
	char *overlay;		/* overlay mount data; NULL: rootfs bound onto itself */
	/* a user namespace with an idmap: the daemon mounts the root (idmount.c) */
	bool idmapped;
	char image[PATH_MAX];	/* the rootfs, resolved */
	char lower[PATH_MAX];	/* overlay: where the idmapped image is the lower layer */
	struct fstab_entry *mounts;	/* the mounts setting, parsed */
	int nmounts;
	unsigned nodes;		/* bit i: std node i is allowed by the device rules */
	bool own_proc, own_sys;	/* the mounts setting mounts /proc, /sys itself */
	char devpts_data[96];
	char hostname_file[PATH_MAX];	/* RUN/NAME/hostname, bound over /etc/hostname */
	struct cg_mount cg[CG_MAX_MOUNTS];	/* /sys/fs/cgroup inside (cgroup ns only) */
	int ncg;
	int ntty;
	int tty_master[MAX_TTY], tty_slave[MAX_TTY];	/* held by the supervisor */
	/* the slaves' names, for init to bind them from its own copy of the mounts */
	char console_pts[32];
	char tty_pts[MAX_TTY][32];
};

/* ---- the daemon's side, before fork ---- */

/* Plan the root of container name (rootfs set in cfg): check the rootfs, make the
 * overlay layer's directories, parse the mounts, decide the device nodes, open the
 * ptys (p->console becomes the console pty). p->sys is set even on failure (free it
 * with rootfs_plan_free). 0 or -errno with err saying which setting is wrong. */
int rootfs_plan(struct spawn_plan *p, const char *name, const struct config *cfg,
		struct cfs_err *err);
void rootfs_plan_free(struct rootfs_plan *s);
/* Write the hostname into RUN/NAME/hostname (p->run_dir set), which init binds over
 * the root's /etc/hostname: what systemd reads at boot is the container's setting,
 * and the image is never written. 0 or -errno with err set. */
int rootfs_plan_hostname(struct spawn_plan *p, struct cfs_err *err);

/* console.c: open the console pty (p->console: master, slave) and ntty tty ptys
 * (s->tty_master/slave), every fd above FD_FLOOR and close-on-exec. */
int console_plan(struct spawn_plan *p, struct rootfs_plan *s, int ntty, struct cfs_err *err);

/* ---- init's side, after fork: system calls only ---- */

/* Build the root under s->root (overlay or bind, /proc, /sys read-only, /dev with
 * the allowed nodes, devpts, /dev/shm, console and ttys, the mounts setting) and
 * pivot_root into it, the old root detached. 0 or -errno with ce filled. */
int rootfs_setup(const struct spawn_plan *p, int rootfd, int hostname_tree,
		 struct child_err *ce);

/* ---- idmount.c: the idmapped root (s->idmapped) ---- */

/* The daemon, once init's id maps are written: the idmapped image (as is, or as the
 * overlay's lower layer) mounted at s->root in init's mount namespace and an O_PATH
 * fd of it sent to init over go_fd. 0 or -errno with err filled. */
int idmount_root(const struct rootfs_plan *s, pid_t init, int go_fd, struct cfs_err *err);
/* init: receive that fd (blocking); -1 if the daemon gave up. */
int idmount_recv_root(int sock);
/* The daemon, after that (every system container): a detached clone of the hostname
 * file (open_tree(OPEN_TREE_CLONE)) sent to init, which attaches it over its
 * /etc/hostname with move_mount: init, in a user namespace, cannot look the file up
 * in the 0700 run dir. 0 or -errno with err filled. */
int idmount_send_hostname(const struct rootfs_plan *s, int go_fd, struct cfs_err *err);
/* Receive the fd idmount.c sent over sock with a one-byte tag (-1: none, or another tag). */
int idmount_recv_fd(int sock, char tag);

/* mounts.c: open path (leading '/' ignored) beneath rootfd as O_PATH, resolved as
 * if rootfd were "/" (absolute symlinks start there, ".." stops there): never
 * leaving it. create 'd' or 'f' makes what is missing (directories, and a file for
 * 'f' at the end). */
int mounts_in_root_open(int rootfd, const char *path, int create);
/* The same resolution without openat2 (no create): what mounts_in_root_open falls back to on
 * a kernel that lacks it. An O_PATH fd or -errno. */
int mounts_in_root_walk(int rootfd, const char *path);
/* "/proc/self/fd/N" for mounting onto what fd names. */
const char *mounts_fd_path(char buf[32], int fd);
/* Apply the mounts setting beneath rootfd, in order. 0 or -errno with ce filled. */
int mounts_apply(const struct rootfs_plan *s, int rootfd, struct child_err *ce);

#endif
