/* cgroup_v2.c - the cgroup v2 backend, cg2_ops (pure v2 hosts; the v1 backend
 * calls it for the unified half of a hybrid host): delegating controllers down to
 * the parent, where a planned write lands, the device rules as an eBPF program
 * attached with raw bpf(2), cgroup.freeze with cgroup.events, cgroup.kill,
 * statistics and the mount of a system container. Every entry copes with a host
 * without cgroup2 (cg.unified < 0): no file, no freezer, no statistic. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "cgroup_internal.h"
#include "cleanup.h"
#include "log.h"

/* Controllers delegated to containers, by their v2 names. The domain ones first:
 * the kernel lets the threaded ones (cpu, cpuset, pids) be enabled in a cgroup that
 * holds processes, which turns it into a thread root where memory and io are then
 * refused with EOPNOTSUPP. */
static const struct {
	const char *name;
	enum cg_ctrl ctrl;
} wanted[] = {
	{ "memory", CTRL_MEMORY },
	{ "io", CTRL_BLKIO },
	{ "cpu", CTRL_CPU },
	{ "cpuset", CTRL_CPUSET },
	{ "pids", CTRL_PIDS },
};

static bool has_word(const char *list, const char *w)
{
	size_t l = strlen(w);

	for (const char *p = list; (p = strstr(p, w)); p += l)
		if ((p == list || p[-1] == ' ') && (!p[l] || p[l] == ' ' || p[l] == '\n'))
			return true;
	return false;
}

/* Enable what dir's parent offers in dir's subtree_control. Only the root cgroup
 * (the one without cgroup.type) may hold processes and delegate at once: anywhere
 * else processes in dir are refused before anything is enabled, with the remedy. */
static int delegate_one(const char *dir, struct cfs_err *err)
{
	char p[PATH_MAX], avail[512], on[512], procs[64], req[16];
	const char *missing = NULL;
	int r;

	snprintf(p, sizeof(p), "%s/cgroup.controllers", dir);
	if ((r = cg_read(p, avail, sizeof(avail))) < 0)
		return cfs_err_set(err, -r, "cgroup: cannot read %s: %s", p, strerror(-r));
	snprintf(p, sizeof(p), "%s/cgroup.subtree_control", dir);
	if ((r = cg_read(p, on, sizeof(on))) < 0)
		return cfs_err_set(err, -r, "cgroup: cannot read %s: %s", p, strerror(-r));
	for (size_t i = 0; !missing && i < sizeof(wanted) / sizeof(*wanted); i++)
		if (has_word(avail, wanted[i].name) && !has_word(on, wanted[i].name))
			missing = wanted[i].name;
	if (!missing)
		return 0;
	snprintf(p, sizeof(p), "%s/cgroup.type", dir);
	if (cg_exists(p)) {
		snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
		if (cg_read(p, procs, sizeof(procs)) > 0)
			return cfs_err_set(err, EBUSY,
					   "cgroup: cannot enable the %s controller below %s: that cgroup has processes of its own, and cgroup v2 puts processes only in leaves; start containerfs alone in a cgroup of its own (it moves itself into a leaf " DAEMON_LEAF " there; e.g. systemd-run --scope -p Delegate=yes) or give an absolute --cgroup-parent",
					   missing, dir);
	}
	snprintf(p, sizeof(p), "%s/cgroup.subtree_control", dir);
	for (size_t i = 0; i < sizeof(wanted) / sizeof(*wanted); i++) {
		if (!has_word(avail, wanted[i].name) || has_word(on, wanted[i].name))
			continue;
		snprintf(req, sizeof(req), "+%s", wanted[i].name);
		r = cg_write(p, req);
		if (r < 0)	/* e.g. cpu while realtime tasks run: do without it */
			log_warn("cgroup: cannot enable %s in %s: %s", wanted[i].name, p, strerror(-r));
	}
	return 0;
}

int cg2_delegate(const char *from, const char *to, struct cfs_err *err)
{
	char dir[PATH_MAX], on[512];
	size_t fl = strlen(from);
	const char *s = to + fl;
	int r;

	if (strncmp(to, from, fl) || (to[fl] && to[fl] != '/'))
		return cfs_err_set(err, EINVAL, "cgroup: %s is not below %s", to, from);
	snprintf(dir, sizeof(dir), "%s", from);
	r = delegate_one(dir, err);
	while (r == 0 && *s) {
		size_t l;

		s += strspn(s, "/");
		l = strcspn(s, "/");
		if (!l)
			break;
		snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/%.*s", (int)l, s);
		s += l;
		r = delegate_one(dir, err);
	}
	if (r < 0)
		return r;
	snprintf(dir, sizeof(dir), "%s/cgroup.subtree_control", to);
	cg.v2_mask = 0;
	if (cg_read(dir, on, sizeof(on)) >= 0)
		for (size_t i = 0; i < sizeof(wanted) / sizeof(*wanted); i++)
			if (has_word(on, wanted[i].name))
				cg.v2_mask |= 1u << wanted[i].ctrl;
	return 0;
}

static int v2_resolve(const char *name, struct cg_write *w, bool dry, char *path, size_t n)
{
	int c = cg_ctrl_from_name(w->controller);

	if (cg.unified < 0 || (c >= 0 && !(cg.v2_mask & (1u << c))))
		return -ENOENT;
	if (cg_path(path, n, cg.unified, dry ? NULL : name, w->file) < 0)
		return -ENAMETOOLONG;
	/* without a container, the parent shows which files exist (not the root) */
	if (!cg_exists(path) && (!dry || strcmp(cg.h[cg.unified].base, cg.h[cg.unified].mnt)))
		return -ENOENT;
	return 0;
}

/* ---- devices: BPF_PROG_TYPE_CGROUP_DEVICE through raw bpf(2) */

#define PROG_NAME "cfs_devices"
#define PROG_LICENSE "GPL"

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int load_prog(const struct config *c, struct cfs_err *err)
{
	_cleanup_free_ struct bpf_insn *insns = NULL;
	_cleanup_free_ char *log = NULL;
	union bpf_attr a;
	size_t n = 0;
	int fd, r = cgroup_dev_bpf(c, NULL, 0, &n, err);

	if (r < 0)
		return r;
	insns = calloc(n, sizeof(*insns));
	if (!insns)
		return cfs_err_set(err, ENOMEM, "out of memory");
	r = cgroup_dev_bpf(c, insns, n, &n, err);
	if (r < 0)
		return r;
	for (int verbose = 0; verbose < 2; verbose++) {
		memset(&a, 0, sizeof(a));
		a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
		a.insns = (uintptr_t)insns;
		a.insn_cnt = (uint32_t)n;
		a.license = (uintptr_t)PROG_LICENSE;
		memcpy(a.prog_name, PROG_NAME, sizeof(PROG_NAME));
		if (verbose && (log = calloc(1, 4096))) {
			a.log_buf = (uintptr_t)log;
			a.log_size = 4096;
			a.log_level = 1;
		}
		fd = sys_bpf(BPF_PROG_LOAD, &a);
		if (fd >= 0)
			return fd;
		if (errno != EINVAL && errno != EACCES)
			break;	/* not the verifier's doing: no log to fetch */
	}
	return cfs_err_set(err, errno, "cgroup/devices: the kernel refused the device program: %m%s%.120s",
			   log && *log ? ": " : "", log ? log : "");
}

static bool is_ours(uint32_t id, int *fd)
{
	union bpf_attr a;
	struct bpf_prog_info info;

	memset(&a, 0, sizeof(a));
	a.prog_id = id;
	*fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
	if (*fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (uint32_t)*fd;
	a.info.info_len = sizeof(info);
	a.info.info = (uintptr_t)&info;
	if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) == 0 && !strcmp(info.name, PROG_NAME))
		return true;
	close(*fd);
	*fd = -1;
	return false;
}

/* Detach the programs we attached before (by name), keeping `keep`. */
static void detach_old(int cgfd, const uint32_t *ids, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		union bpf_attr a;
		int fd;

		if (!is_ours(ids[i], &fd))
			continue;
		memset(&a, 0, sizeof(a));
		a.target_fd = (uint32_t)cgfd;
		a.attach_bpf_fd = (uint32_t)fd;
		a.attach_type = BPF_CGROUP_DEVICE;
		if (sys_bpf(BPF_PROG_DETACH, &a) < 0)
			log_warn("cgroup: cannot detach an old device program: %m");
		close(fd);
	}
}

/* Compile the device rules of c, load the program and attach it to the container's
 * cgroup, replacing the one attached before (ours are named PROG_NAME). dry: load
 * it only, to see that the kernel takes it. */
static int v2_devices_apply(const char *name, const struct config *c, enum key_id k, bool dry,
			    bool fresh, struct cfs_err *err)
{
	_cleanup_close_ int prog = -1;
	_cleanup_close_ int cgfd = -1;
	uint32_t ids[64], n = 64;
	union bpf_attr a;
	char dir[PATH_MAX];

	if (cg.unified < 0 || cg_path(dir, sizeof(dir), cg.unified, dry ? NULL : name, NULL) < 0)
		return cfs_err_set(err, ENAMETOOLONG, "cgroup: path too long");
	prog = load_prog(c, err);
	if (prog < 0)
		return prog;
	if (dry)
		return 0;
	cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return cfs_err_set(err, errno, "cgroup/devices: cannot open %s: %m", dir);
	memset(&a, 0, sizeof(a));
	a.query.target_fd = (uint32_t)cgfd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uintptr_t)ids;
	a.query.prog_cnt = n;
	n = sys_bpf(BPF_PROG_QUERY, &a) == 0 ? a.query.prog_cnt : 0;
	/* the new program first: during the swap both run, which only restricts more */
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cgfd;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &a) < 0)
		return cfs_err_set(err, errno, "cgroup/devices: cannot attach the device program to %s: %m",
				   dir);
	detach_old(cgfd, ids, n < 64 ? n : 64);
	return 0;
}

/* ---- freezer and kill */

/* The container's directory in the cgroup2 hierarchy if it has cgroup.freeze:
 * 0, or -EOPNOTSUPP (no cgroup2, a kernel before 5.2, or the cgroup is gone). */
static int freezer_dir(const char *name, char *p, size_t n)
{
	if (cg.unified < 0 || cg_path(p, n, cg.unified, name, "cgroup.freeze") < 0 || !cg_exists(p))
		return -EOPNOTSUPP;
	return cg_path(p, n, cg.unified, name, NULL);
}

static int events_frozen(const char *dir)
{
	char p[PATH_MAX], ev[512];
	const char *f;
	int r;

	snprintf(p, sizeof(p), "%s/cgroup.events", dir);
	r = cg_read(p, ev, sizeof(ev));
	if (r < 0)
		return r;
	f = strstr(ev, "frozen ");
	return f && f[7] == '1';
}

static int v2_is_frozen(const char *name)
{
	char dir[PATH_MAX];

	return freezer_dir(name, dir, sizeof(dir)) < 0 ? 0 : events_frozen(dir);
}

static int v2_freeze(const char *name, bool frozen, int timeout_ms, struct cfs_err *err)
{
	long long deadline = monotonic_ms() + timeout_ms;
	char dir[PATH_MAX], p[PATH_MAX + 16];
	unsigned us = 0;
	int r;

	if (freezer_dir(name, dir, sizeof(dir)) < 0)
		return cfs_err_set(err, EOPNOTSUPP, "state: this host has no cgroup freezer");
	snprintf(p, sizeof(p), "%s/cgroup.freeze", dir);
	r = cg_write(p, frozen ? "1" : "0");
	if (r < 0)
		return cfs_err_set(err, -r, "state: cannot write %s: %s", p, strerror(-r));
	/* cgroup.events says "frozen 1" once every task has stopped */
	while ((r = events_frozen(dir)) >= 0 && r != frozen)
		if (!cg_wait_backoff(deadline, &us))
			break;
	if (r == frozen)
		return 0;
	if (frozen)
		cg_write(p, "0");
	if (r < 0)
		return cfs_err_set(err, -r, "state: cannot read %s/cgroup.events: %s", dir, strerror(-r));
	return cfs_err_set(err, ETIMEDOUT, "state: the processes in %s did not all %s within %d ms",
			   dir, frozen ? "freeze" : "thaw", timeout_ms);
}

int cg2_kill(const char *name, unsigned mask)
{
	char p[PATH_MAX];

	if (cg.unified < 0 || !(mask & (1u << cg.unified)) ||
	    cg_path(p, sizeof(p), cg.unified, name, "cgroup.kill") < 0 || !cg_exists(p))
		return -ENOENT;
	return cg_write(p, "1");
}

/* cgroup.kill also takes forks in flight; without it (before 5.14), freeze around
 * the signals where cgroup.freeze is there. */
static void v2_kill(const char *name, unsigned mask, const pid_t *pids, size_t n)
{
	char dir[PATH_MAX];
	bool freeze = cg.unified >= 0 && (mask & (1u << cg.unified)) &&
		      freezer_dir(name, dir, sizeof(dir)) == 0;

	if (cg2_kill(name, mask) == 0)
		freeze = false;
	if (freeze)
		v2_freeze(name, true, 200, NULL);
	cg_kill_pids(pids, n);
	if (freeze)
		v2_freeze(name, false, 200, NULL);
}

/* ---- statistics */

static int whole(const char *name, const char *file, char **out)
{
	char p[PATH_MAX];
	int r = cg_path(p, sizeof(p), cg.unified, name, file);

	return r < 0 ? r : cg_read_text(p, out);
}

static int v2_stat(const char *name, enum stat_id s, char **out)
{
	_cleanup_free_ char *cpu = NULL;
	const char *u;
	int r;

	if (cg.unified < 0)
		return -ENOENT;
	switch (s) {
	case STAT_MEMORY_CURRENT:
	case STAT_MEMORY_USAGE_IN_BYTES:
		return whole(name, "memory.current", out);
	case STAT_MEMORY_PEAK:
	case STAT_MEMORY_MAX_USAGE_IN_BYTES:
		return whole(name, "memory.peak", out);
	case STAT_MEMORY_STAT:
		return whole(name, "memory.stat", out);
	case STAT_CPU_STAT:
		return whole(name, "cpu.stat", out);
	case STAT_PIDS_CURRENT:
		return whole(name, "pids.current", out);
	case STAT_IO_STAT:
		return whole(name, "io.stat", out);
	case STAT_CPUACCT_USAGE:
		r = whole(name, "cpu.stat", &cpu);
		if (r < 0)
			return r;
		u = strstr(cpu, "usage_usec ");
		return asprintf(out, "%llu\n", u ? strtoull(u + 11, NULL, 10) * 1000 : 0ULL) < 0
			       ? -ENOMEM
			       : 0;
	default:
		return -ENOENT;
	}
}

/* cgroup2 itself at /sys/fs/cgroup. */
static int v2_mount_plan(struct cg_mount *m, int max)
{
	if (cg.unified < 0)
		return 0;
	if (max < 1)
		return -ENOSPC;
	memset(&m[0], 0, sizeof(m[0]));
	snprintf(m[0].fstype, sizeof(m[0].fstype), "cgroup2");
	return 1;
}

/* Nothing to fill in a new cgroup2 directory: it inherits. */
static int v2_prepare(const struct cg_hier *h, const char *dir, struct cfs_err *err)
{
	return 0;
}

const struct cg_ops cg2_ops = {
	.plan = CG_BACKEND_V2,
	.resolve = v2_resolve,
	.prepare = v2_prepare,
	.devices_apply = v2_devices_apply,
	.freeze = v2_freeze,
	.is_frozen = v2_is_frozen,
	.kill = v2_kill,
	.stat = v2_stat,
	.mount_plan = v2_mount_plan,
};
