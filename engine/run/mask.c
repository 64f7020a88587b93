/* mask.c - the kernel's host-wide interfaces kept out of every container, as OCI
 * runtimes do with their masked and read-only paths: files that expose or steer
 * the host (kcore, keys, timer_list, ...) get /dev/null bound over them, whole
 * directories an empty read-only tmpfs, and /proc's host-wide knobs (sys, sysrq-
 * trigger, irq, bus, fs) a read-only bind of themselves. Run by init beneath the
 * new root (rootfs.c) or "/" (an application container with its own /proc), after
 * the mounts setting, so a /proc mounted there is covered too. System calls only. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mask.h"
#include "rootfs.h"

/* Read: what they show is the host's (memory image, keyrings of every user, timers
 * and scheduler state of every task, hardware and firmware tables). */
static const char *const masked[] = {
	"proc/kcore", "proc/keys", "proc/key-users", "proc/timer_list", "proc/timer_stats",
	"proc/sched_debug", "proc/latency_stats",
	"proc/acpi", "proc/asound", "proc/scsi",
	"sys/firmware", "sys/devices/virtual/powercap"
};

/* Written: they steer the host's kernel (sysctls, sysrq, interrupt affinity, PCI
 * and USB buses, filesystem-wide switches). */
static const char *const readonly[] = {
	"proc/sys", "proc/sysrq-trigger", "proc/irq", "proc/bus", "proc/fs"
};

#define RO_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

static int mask_fail(struct child_err *ce, int e, const char *what, const char *path)
{
	return spawn_child_err_set(ce, e == EXDEV ? EINVAL : e, what, path,
				   e == EXDEV ? "resolves outside the container's root" : NULL);
}

static int mask_one(int rootfd, const char *path, struct child_err *ce)
{
	char fp[32];
	struct stat st;
	int fd = mounts_in_root_open(rootfd, path, 0), r = 0;

	if (fd == -ENOENT)
		return 0;	/* this kernel has none */
	if (fd < 0)
		return mask_fail(ce, -fd, "mask", path);
	if (fstat(fd, &st) < 0)
		r = spawn_child_err_set(ce, errno, "mask", path, NULL);
	else if (S_ISDIR(st.st_mode))
		r = mount("tmpfs", mounts_fd_path(fp, fd), "tmpfs", RO_FLAGS, "size=0,mode=0555");
	else
		r = mount("/dev/null", mounts_fd_path(fp, fd), NULL, MS_BIND, NULL);
	if (r < 0)
		r = spawn_child_err_set(ce, errno, "mask", path, NULL);
	close(fd);
	return r;
}

/* Bind path onto itself, then remount that bind read-only (a bind takes no flags). */
static int readonly_one(int rootfd, const char *path, struct child_err *ce)
{
	char fp[32];
	int fd = mounts_in_root_open(rootfd, path, 0), r = 0;

	if (fd == -ENOENT)
		return 0;	/* a kernel without sysrq, a /proc without irq */
	if (fd < 0)
		return mask_fail(ce, -fd, "read-only bind of", path);
	if (mount(mounts_fd_path(fp, fd), fp, NULL, MS_BIND | MS_REC, NULL) < 0)
		r = spawn_child_err_set(ce, errno, "read-only bind of", path, NULL);
	close(fd);
	if (r < 0)
		return r;
	/* looked up again: the new bind, not what it covers */
	fd = mounts_in_root_open(rootfd, path, 0);
	if (fd < 0)
		return mask_fail(ce, -fd, "read-only bind of", path);
	if (mount(NULL, mounts_fd_path(fp, fd), NULL, MS_REMOUNT | MS_BIND | RO_FLAGS, NULL) < 0)
		r = spawn_child_err_set(ce, errno, "read-only remount of", path, NULL);
	close(fd);
	return r;
}

int mask_kernel_paths(int rootfd, struct child_err *ce)
{
	int r = 0;

	for (size_t i = 0; !r && i < sizeof(readonly) / sizeof(readonly[0]); i++)
		r = readonly_one(rootfd, readonly[i], ce);
	for (size_t i = 0; !r && i < sizeof(masked) / sizeof(masked[0]); i++)
		r = mask_one(rootfd, masked[i], ce);
	return r;
}
