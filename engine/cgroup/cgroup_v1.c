/* cgroup_v1.c - the cgroup v1 backend, cg1_ops (v1 and hybrid hosts): where a
 * planned write lands among the per-controller hierarchies, cpusets that must be
 * filled before use, device rules as devices.allow/deny writes, the freezer
 * (freezer.state), killing under the freezer, statistics assembled from cpuacct
 * and blkio files into the v2 shapes the tree shows, and the mounts of a system
 * container. Where a hybrid host's v1 half lacks something (the freezer, a
 * statistic, cgroup.kill), its unified half answers through cg2_ops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "cleanup.h"

static void chomp(char *s)
{
	s[strcspn(s, "\n")] = '\0';
}

/* The parent's cpus or mems: effective_* is what it really has. */
static int parent_cpuset(int h, const char *file, char *buf, size_t n)
{
	char p[PATH_MAX], eff[64];
	int r;

	snprintf(eff, sizeof(eff), "cpuset.effective_%s", file + strlen("cpuset."));
	r = cg_path(p, sizeof(p), h, NULL, eff);
	if (r == 0 && (r = cg_read(p, buf, n)) >= 0 && (chomp(buf), *buf))
		return 0;
	r = cg_path(p, sizeof(p), h, NULL, file);
	if (r == 0 && (r = cg_read(p, buf, n)) >= 0)
		chomp(buf);
	return r < 0 ? r : 0;
}

static int v1_resolve(const char *name, struct cg_write *w, bool dry, char *path, size_t n)
{
	int c = cg_ctrl_from_name(w->controller);
	int h = c >= 0 ? cg.by_ctrl[c] : -1;
	char v[sizeof(w->value)];

	if (h < 0)
		return -ENOENT;
	if (cg_path(path, n, h, dry ? NULL : name, w->file) < 0)
		return -ENAMETOOLONG;
	if (!cg_exists(path))
		return -ENOENT;
	/* empty means all: v1 has no such value, so take the parent's */
	if (c == CTRL_CPUSET && !w->value[0] && parent_cpuset(h, w->file, v, sizeof(v)) == 0)
		snprintf(w->value, sizeof(w->value), "%s", v);
	return 0;
}

static int cpuset_inherit(const char *dir)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };

	for (int i = 0; i < 2; i++) {
		char p[PATH_MAX], pp[PATH_MAX], v[4096];
		const char *slash = strrchr(dir, '/');
		int r;

		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		r = cg_read(p, v, sizeof(v));
		if (r < 0)
			return r == -ENOENT ? 0 : r;
		chomp(v);
		if (*v || !slash)
			continue;
		/* what v1_resolve writes for an empty setting: effective_* first */
		snprintf(pp, sizeof(pp), "%.*s/cpuset.effective_%s", (int)(slash - dir), dir,
			 files[i] + strlen("cpuset."));
		r = cg_read(pp, v, sizeof(v));
		if (r < 0 || (chomp(v), !*v)) {
			snprintf(pp, sizeof(pp), "%.*s/%s", (int)(slash - dir), dir, files[i]);
			r = cg_read(pp, v, sizeof(v));
		}
		if (r >= 0)
			r = cg_write(p, v);
		if (r < 0)
			return r;
	}
	return 0;
}

/* v1 cpusets start empty and refuse tasks: copy the parent's cpus and mems. */
static int v1_prepare(const struct cg_hier *h, const char *dir, struct cfs_err *err)
{
	int r = (h->mask & (1u << CTRL_CPUSET)) ? cpuset_inherit(dir) : 0;

	if (r < 0)
		return cfs_err_set(err, -r, "cgroup: cannot copy the parent's cpuset into %s: %s",
				   dir, strerror(-r));
	return 0;
}

/* The rules as the plan's devices.allow and devices.deny writes. */
static int v1_devices_apply(const char *name, const struct config *c, enum key_id k, bool dry,
			    bool fresh, struct cfs_err *err)
{
	return cg_apply_plan(name, c, k, dry, fresh, err);
}

static int freezer_state(const char *name, char *buf, size_t n)
{
	char p[PATH_MAX];
	int r;

	if (cg.by_ctrl[CTRL_FREEZER] < 0)
		return -EOPNOTSUPP;
	r = cg_path(p, sizeof(p), cg.by_ctrl[CTRL_FREEZER], name, "freezer.state");
	if (r == 0)
		r = cg_read(p, buf, n);
	if (r >= 0)
		chomp(buf);
	return r < 0 ? r : 0;
}

/* Without a v1 freezer, a hybrid host's cgroup.freeze (or none: EOPNOTSUPP). */
static int v1_freeze(const char *name, bool frozen, int timeout_ms, struct cfs_err *err)
{
	const char *want = frozen ? "FROZEN" : "THAWED";
	long long deadline = monotonic_ms() + timeout_ms;
	char p[PATH_MAX], st[32];
	unsigned us = 0;
	int r;

	if (cg.by_ctrl[CTRL_FREEZER] < 0)
		return cg2_ops.freeze(name, frozen, timeout_ms, err);
	if (cg_path(p, sizeof(p), cg.by_ctrl[CTRL_FREEZER], name, NULL) < 0)
		return cfs_err_set(err, ENAMETOOLONG, "state: no cgroup for '%s'", name);
	r = cg_path(p, sizeof(p), cg.by_ctrl[CTRL_FREEZER], name, "freezer.state");
	if (r == 0)
		r = cg_write(p, want);
	if (r < 0)
		return cfs_err_set(err, -r, "state: cannot write %s to %s: %s", want, p, strerror(-r));
	for (;;) {
		r = freezer_state(name, st, sizeof(st));
		if (r < 0)
			return cfs_err_set(err, -r, "state: cannot read %s: %s", p, strerror(-r));
		if (!strcmp(st, want))
			return 0;
		if (!cg_wait_backoff(deadline, &us))
			break;
		/* FREEZING: a task was busy; asking again makes the kernel retry it */
		cg_write(p, want);
	}
	if (frozen)
		cg_write(p, "THAWED");
	return cfs_err_set(err, ETIMEDOUT, "state: the processes of %s did not all %s within %d ms",
			   name, frozen ? "freeze" : "thaw", timeout_ms);
}

static int v1_is_frozen(const char *name)
{
	char st[32];
	int r;

	if (cg.by_ctrl[CTRL_FREEZER] < 0)
		return cg2_ops.is_frozen(name);
	r = freezer_state(name, st, sizeof(st));
	return r < 0 ? r : !strcmp(st, "FROZEN");
}

/* v1-frozen tasks die only once thawed, so with a v1 freezer always freeze, kill
 * (cgroup.kill too where the unified half has it: it also takes forks in flight),
 * thaw. Without one, the unified half decides (cgroup.kill or cgroup.freeze), or
 * the signals alone on a host that has neither. */
static void v1_kill(const char *name, unsigned mask, const pid_t *pids, size_t n)
{
	int h = cg.by_ctrl[CTRL_FREEZER];
	char p[PATH_MAX];
	bool freeze;

	if (h < 0) {
		cg2_ops.kill(name, mask, pids, n);
		return;
	}
	freeze = (mask & (1u << h)) && cg_path(p, sizeof(p), h, name, NULL) == 0;
	if (freeze)
		v1_freeze(name, true, 200, NULL);
	cg2_kill(name, mask);
	cg_kill_pids(pids, n);
	if (freeze)
		v1_freeze(name, false, 200, NULL);
}

/* A file of controller c of the container, or -ENOENT where there is none. */
static int ctl_path(const char *name, enum cg_ctrl c, const char *file, char *p, size_t n)
{
	if (cg.by_ctrl[c] < 0 || cg_path(p, n, cg.by_ctrl[c], name, file) < 0)
		return -ENOENT;
	return cg_exists(p) ? 0 : -ENOENT;
}

static unsigned long long read_ull(const char *name, enum cg_ctrl c, const char *file, bool *ok)
{
	char p[PATH_MAX], buf[64];

	if (ctl_path(name, c, file, p, sizeof(p)) < 0 || cg_read(p, buf, sizeof(buf)) < 0) {
		*ok = false;
		return 0;
	}
	*ok = true;
	return strtoull(buf, NULL, 10);
}

/* Find "key value" in a flat keyed file's text. */
static unsigned long long keyed(const char *text, const char *key)
{
	size_t kl = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, key, kl) && l[kl] == ' ')
			return strtoull(l + kl + 1, NULL, 10);
	return 0;
}

/* cpu.stat as v2 shows it, from cpuacct (ns) and cpu's throttling counters. */
static int cpu_stat(const char *name, char **out)
{
	bool ok, u_ok, s_ok, c_ok;
	unsigned long long usage = read_ull(name, CTRL_CPUACCT, "cpuacct.usage", &ok);
	unsigned long long user = read_ull(name, CTRL_CPUACCT, "cpuacct.usage_user", &u_ok);
	unsigned long long sys = read_ull(name, CTRL_CPUACCT, "cpuacct.usage_sys", &s_ok);
	_cleanup_free_ char *cpu = NULL, *ticks = NULL;
	char p[PATH_MAX];

	if (!ok)
		return -ENOENT;
	if ((!u_ok || !s_ok) && ctl_path(name, CTRL_CPUACCT, "cpuacct.stat", p, sizeof(p)) == 0 &&
	    fileio_read_alloc(p, 0, &ticks) >= 0) {
		/* older kernels: USER_HZ ticks only */
		long hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;

		user = keyed(ticks, "user") * (1000000000ULL / hz);
		sys = keyed(ticks, "system") * (1000000000ULL / hz);
	}
	if (ctl_path(name, CTRL_CPU, "cpu.stat", p, sizeof(p)) == 0)
		fileio_read_alloc(p, 0, &cpu);
	c_ok = cpu != NULL;
	if (asprintf(out,
		     "usage_usec %llu\nuser_usec %llu\nsystem_usec %llu\n"
		     "nr_periods %llu\nnr_throttled %llu\nthrottled_usec %llu\n",
		     usage / 1000, user / 1000, sys / 1000, c_ok ? keyed(cpu, "nr_periods") : 0,
		     c_ok ? keyed(cpu, "nr_throttled") : 0,
		     c_ok ? keyed(cpu, "throttled_time") / 1000 : 0) < 0)
		return -ENOMEM;
	return 0;
}

struct io_dev {
	char dev[32];
	unsigned long long v[6];	/* rbytes wbytes rios wios dbytes dios */
};

/* Add "MAJ:MIN Op N" lines of a blkio file to the table at offset base (0 bytes, 2 ios). */
static int io_add(struct io_dev **t, size_t *n, const char *text, int base)
{
	static const char *const ops[] = { "Read", "Write", "Discard" };
	const char *l = text;

	for (; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		char dev[32], op[16];
		unsigned long long v;
		size_t i;

		if (sscanf(l, "%31s %15s %llu", dev, op, &v) != 3 || !strchr(dev, ':'))
			continue;
		for (i = 0; i < *n && strcmp((*t)[i].dev, dev); i++)
			;
		if (i == *n) {
			struct io_dev *nt = realloc(*t, (*n + 1) * sizeof(**t));

			if (!nt)
				return -ENOMEM;
			*t = nt;
			memset(&nt[i], 0, sizeof(nt[i]));
			snprintf(nt[i].dev, sizeof(nt[i].dev), "%s", dev);
			(*n)++;
		}
		for (int o = 0; o < 3; o++)
			if (!strcmp(op, ops[o]))
				(*t)[i].v[o == 2 ? 4 + base / 2 : o + base] += v;
	}
	return 0;
}

/* io.stat as v2 shows it, from blkio's throttle counters (kept by every kernel). */
static int io_stat(const char *name, char **out)
{
	_cleanup_free_ char *bytes = NULL, *ios = NULL;
	_cleanup_free_ struct io_dev *t = NULL;
	char p[PATH_MAX];
	size_t n = 0, len = 0;
	FILE *f;
	int r;

	if (ctl_path(name, CTRL_BLKIO, "blkio.throttle.io_service_bytes_recursive", p, sizeof(p)) < 0 ||
	    fileio_read_alloc(p, 0, &bytes) < 0)
		return -ENOENT;
	if (ctl_path(name, CTRL_BLKIO, "blkio.throttle.io_serviced_recursive", p, sizeof(p)) == 0)
		fileio_read_alloc(p, 0, &ios);
	r = io_add(&t, &n, bytes, 0);
	if (r == 0 && ios)
		r = io_add(&t, &n, ios, 2);
	if (r < 0)
		return r;
	f = open_memstream(out, &len);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s rbytes=%llu wbytes=%llu rios=%llu wios=%llu dbytes=%llu dios=%llu\n",
			t[i].dev, t[i].v[0], t[i].v[1], t[i].v[2], t[i].v[3], t[i].v[4], t[i].v[5]);
	return fclose(f) == 0 ? 0 : -ENOMEM;
}

/* A whole file of controller c, ending with a newline. */
static int whole(const char *name, enum cg_ctrl c, const char *file, char **out)
{
	char p[PATH_MAX];
	int r = ctl_path(name, c, file, p, sizeof(p));

	return r < 0 ? r : cg_read_text(p, out);
}

static int v1_stat_files(const char *name, enum stat_id s, char **out)
{
	switch (s) {
	case STAT_MEMORY_CURRENT:
	case STAT_MEMORY_USAGE_IN_BYTES:
		return whole(name, CTRL_MEMORY, "memory.usage_in_bytes", out);
	case STAT_MEMORY_PEAK:
	case STAT_MEMORY_MAX_USAGE_IN_BYTES:
		return whole(name, CTRL_MEMORY, "memory.max_usage_in_bytes", out);
	case STAT_MEMORY_STAT:
		return whole(name, CTRL_MEMORY, "memory.stat", out);
	case STAT_CPU_STAT:
		return cpu_stat(name, out);
	case STAT_PIDS_CURRENT:
		return whole(name, CTRL_PIDS, "pids.current", out);
	case STAT_IO_STAT:
		return io_stat(name, out);
	case STAT_CPUACCT_USAGE:
		return whole(name, CTRL_CPUACCT, "cpuacct.usage", out);
	default:
		return -ENOENT;
	}
}

/* A statistic without a v1 source comes from a hybrid host's unified half. */
static int v1_stat(const char *name, enum stat_id s, char **out)
{
	int r = v1_stat_files(name, s, out);

	return r == -ENOENT ? cg2_ops.stat(name, s, out) : r;
}

/* Every hierarchy as the host has it, in the directory the host uses beneath
 * /sys/fs/cgroup (cpu,cpuacct, systemd for name=systemd, unified for cgroup2). */
static int v1_mount_plan(struct cg_mount *m, int max)
{
	int n = 0;

	for (int i = 0; i < cg.nh; i++) {
		const struct cg_hier *h = &cg.h[i];
		const char *dir = strrchr(h->mnt, '/');

		if (n >= max)
			return -ENOSPC;
		memset(&m[n], 0, sizeof(m[n]));
		snprintf(m[n].fstype, sizeof(m[n].fstype), "%s", h->v2 ? "cgroup2" : "cgroup");
		snprintf(m[n].data, sizeof(m[n].data), "%s", h->ctrls);
		/* the host's directory name where it has one of its own, else one made
		 * from the controllers (name=systemd: systemd) */
		if (dir && dir[1] && strcmp(h->mnt, "/sys/fs/cgroup"))
			snprintf(m[n].dir, sizeof(m[n].dir), "%s", dir + 1);
		else if (h->v2)
			snprintf(m[n].dir, sizeof(m[n].dir), "unified");
		else
			snprintf(m[n].dir, sizeof(m[n].dir), "%s",
				 strncmp(h->ctrls, "name=", 5) ? h->ctrls : h->ctrls + 5);
		if (strchr(m[n].dir, '/') || !strcmp(m[n].dir, "..") || !strcmp(m[n].dir, "."))
			continue;
		n++;
	}
	return n;
}

const struct cg_ops cg1_ops = {
	.plan = CG_BACKEND_V1,
	.resolve = v1_resolve,
	.prepare = v1_prepare,
	.devices_apply = v1_devices_apply,
	.freeze = v1_freeze,
	.is_frozen = v1_is_frozen,
	.kill = v1_kill,
	.stat = v1_stat,
	.mount_plan = v1_mount_plan,
};
