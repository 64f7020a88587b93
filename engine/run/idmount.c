/* idmount.c - the root of a system container in a user namespace with an idmap,
 * over a root-owned image that is neither copied nor chowned: the image is cloned
 * into a detached mount (open_tree) and idmapped to the container's user namespace
 * (mount_setattr MOUNT_ATTR_IDMAP), so the image's uid 0 reads as the container's
 * root. Only a process with CAP_SYS_ADMIN over the filesystem (the daemon) may make
 * that mount, and init, in its user namespace, may not walk the daemon's 0700 state
 * and run dirs: so the daemon also puts the root in place, from a short vfork'd
 * child that joins init's mount namespace: the idmapped tree moved onto the mount
 * point (or onto STATE/NAME/overlay/lower, the overlay mounted over it as the lower
 * layer, then that lower mount detached: the overlay keeps its own clone), and an
 * O_PATH fd of the result sent to init over the go socket (SCM_RIGHTS). init uses
 * that fd as its new root and never looks the paths up. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "rootfs.h"

/* What the vfork'd child does and how it fared (it shares our memory). */
struct idmount_job {
	const struct rootfs_plan *s;
	int mntns, tree, go_fd;
	int err;
	const char *step;
};

/* fd over sock with a one-byte tag (idmount_recv_fd takes it). */
static int idmount_send_fd(int sock, int fd, char tag)
{
	char byte = tag;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	memset(u.buf, 0, sizeof(u.buf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int idmount_recv_fd(int sock, char tag)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm;
	int fd = -1;
	ssize_t n;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n != 1 || byte != tag)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

int idmount_recv_root(int sock)
{
	return idmount_recv_fd(sock, 'R');
}

int idmount_send_hostname(const struct rootfs_plan *s, int go_fd, struct cfs_err *err)
{
	_cleanup_close_ int tree = open_tree(AT_FDCWD, s->hostname_file,
					     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

	if (tree < 0)
		return cfs_err_set_in(err, "start", errno, "clone %s: %m", s->hostname_file);
	if (idmount_send_fd(go_fd, tree, 'H') < 0)
		return cfs_err_set_in(err, "start", errno, "hand the hostname file to init: %m");
	return 0;
}

/* The vfork'd child: system calls only, the result in job. */
static __attribute__((noreturn)) void job_main(struct idmount_job *j)
{
	const struct rootfs_plan *s = j->s;
	int fd;

#define FAIL(what)                \
	do {                      \
		j->err = errno;   \
		j->step = (what); \
		_exit(1);         \
	} while (0)
	if (setns(j->mntns, CLONE_NEWNS) < 0)
		FAIL("join the container's mount namespace");
	if (s->overlay) {
		if (move_mount(j->tree, "", AT_FDCWD, s->lower, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			FAIL("attach the idmapped rootfs as the overlay's lower layer");
		if (mount("overlay", s->root, "overlay", 0, s->overlay) < 0)
			FAIL("rootfs.overlay: mount the overlay over the idmapped rootfs");
		if (umount2(s->lower, MNT_DETACH) < 0)
			FAIL("detach the overlay's lower layer");
	} else if (move_mount(j->tree, "", AT_FDCWD, s->root, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		FAIL("attach the idmapped rootfs");
	}
	fd = open(s->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		FAIL("open the new root");
	if (idmount_send_fd(j->go_fd, fd, 'R') < 0)
		FAIL("hand the root to init");
#undef FAIL
	_exit(0);
}

/* Run job_main in a vfork'd child (own fs_struct, so setns is ours alone). */
static __attribute__((noinline)) int run_job(struct idmount_job *j)
{
	sigset_t all, old;
	int status = 0;
	pid_t pid;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = vfork();
	if (pid == 0)
		job_main(j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		j->err = errno;
		j->step = "fork";
		return -1;
	}
	while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (!j->err) {
		j->err = EIO;
		j->step = "the mount helper died";
	}
	return -1;
}

/* A detached clone of path, idmapped to userns. fd or -errno. */
static int idmapped_tree(const char *path, int userns)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
	int tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	int e;

	if (tree < 0)
		return -errno;
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		e = errno;
		close(tree);
		return -e;
	}
	return tree;
}

int idmount_root(const struct rootfs_plan *s, pid_t init, int go_fd, struct cfs_err *err)
{
	struct idmount_job j = { .s = s, .go_fd = go_fd, .mntns = -1, .tree = -1 };
	_cleanup_close_ int userns = -1, mntns = -1, tree = -1;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)init);
	userns = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)init);
	mntns = open(path, O_RDONLY | O_CLOEXEC);
	if (userns < 0 || mntns < 0)
		return cfs_err_set_in(err, "start", errno, "init's namespaces: %m");
	tree = idmapped_tree(s->image, userns);
	if (tree < 0)
		return cfs_err_set_in(err, "start", -tree,
				      "rootfs %s: no idmapped mount of it (a user "
				      "namespace with an idmap needs idmapped mounts, Linux 5.12 and a "
				      "filesystem that has them; .checkconfig: idmapped mounts: %s; "
				      "privileged = 1 runs without): %s",
				      s->image, idmount_checkconfig(), strerror(-tree));
	j.mntns = mntns;
	j.tree = tree;
	if (run_job(&j) < 0)
		return cfs_err_set_in(err, "start", j.err, "%s: %s", j.step, strerror(j.err));
	return 0;
}

/* ---- .checkconfig: can this host idmap a mount of the state dir? */

static char probe_text[160];
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

/* A child in a user namespace of its own, waiting until pipe rd closes. */
static pid_t userns_child(int rd, int wr)
{
	long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);

	if (pid == 0) {
		char c;

		close(wr);
		while (read(rd, &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	return (pid_t)pid;
}

static void probe(void)
{
	static const char *const files[] = { "uid_map", "gid_map" };
	const char *why = NULL;
	int pfd[2], userns = -1, tree, e = 0;
	char path[64];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(probe_text, sizeof(probe_text), "no (pipe: %s)", strerror(errno));
		return;
	}
	pid = userns_child(pfd[0], pfd[1]);
	close(pfd[0]);
	if (pid < 0) {
		e = errno;
		why = "cannot make a user namespace";
	}
	for (int i = 0; !why && i < 2; i++) {
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, files[i]);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0 1000000 1\n", 12) != 12) {
			e = errno;
			why = "cannot write a user namespace's id map";
		}
		if (fd >= 0)
			close(fd);
	}
	if (!why) {
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		userns = open(path, O_RDONLY | O_CLOEXEC);
		if (userns < 0) {
			e = errno;
			why = "cannot open a user namespace";
		}
	}
	if (!why) {
		tree = idmapped_tree(eng.state_dir, userns);
		if (tree < 0) {
			e = -tree;
			why = e == ENOSYS   ? "the kernel lacks mount_setattr (Linux 5.12 or later)"
			      : e == EINVAL ? "the state dir's filesystem cannot be idmapped "
					      "(images on another may be)"
					    : "mount_setattr(MOUNT_ATTR_IDMAP) on the state dir";
		} else {
			close(tree);
		}
	}
	if (userns >= 0)
		close(userns);
	close(pfd[1]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	if (why)
		snprintf(probe_text, sizeof(probe_text), "no (%s: %s)", why, strerror(e));
	else
		snprintf(probe_text, sizeof(probe_text), "yes");
}

const char *idmount_checkconfig(void)
{
	pthread_once(&probe_once, probe);
	return probe_text;
}
