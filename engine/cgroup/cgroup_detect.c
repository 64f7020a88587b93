/* cgroup_detect.c - the host's cgroup layout, found once: v1 hierarchies (co-mounted
 * ones too), the cgroup2 mount, our own cgroup in each (mountinfo, /proc/self/cgroup),
 * the parent placed and created in every hierarchy, controllers delegated on v2,
 * and the .checkconfig lines that describe it all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "cleanup.h"
#include "log.h"
#include "fileio.h"

struct cg_state cg = { .unified = -1, .ops = &cg1_ops };

static const char *const ctrl_names[CTRL_COUNT] = {
	"cpu", "cpuacct", "cpuset", "memory", "blkio", "devices", "freezer", "pids", "net_cls"
};

int cg_ctrl_from_name(const char *s)
{
	if (!strcmp(s, "io"))
		return CTRL_BLKIO;
	for (int i = 0; i < CTRL_COUNT; i++)
		if (!strcmp(s, ctrl_names[i]))
			return i;
	return -1;
}

/* ---- detection */

/* The v1 subsystems this kernel knows, " cpu cpuacct ... " (from /proc/cgroups). */
static void read_subsystems(char *buf, size_t n)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/cgroups", "re");
	char line[256], name[64];
	size_t o = 1;

	snprintf(buf, n, " ");
	if (!f) {
		snprintf(buf, n,
			 " cpu cpuacct cpuset memory devices freezer net_cls blkio "
			 "perf_event net_prio hugetlb pids rdma misc debug ");
		return;
	}
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && sscanf(line, "%63s", name) == 1 && o + strlen(name) + 2 < n)
			o += snprintf(buf + o, n - o, "%s ", name);
}

/* The controllers of a v1 mount from its super options ("rw,cpu,cpuacct"). */
static void v1_controllers(const char *opts, const char *subsys, struct cg_hier *h)
{
	_cleanup_free_ char *copy = strdup(opts);
	char *save = NULL, want[72];
	size_t o = 0;

	if (!copy)
		return;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		snprintf(want, sizeof(want), " %s ", t);
		if (strncmp(t, "name=", 5) && !strstr(subsys, want))
			continue;
		if (o + strlen(t) + 2 < sizeof(h->ctrls))
			o += snprintf(h->ctrls + o, sizeof(h->ctrls) - o, "%s%s", o ? "," : "", t);
		int c = cg_ctrl_from_name(t);

		if (c >= 0)
			h->mask |= 1u << c;
	}
}

static void add_hierarchy(const struct cg_hier *nh)
{
	for (int i = 0; i < cg.nh; i++) {
		if (strcmp(cg.h[i].devno, nh->devno))
			continue;
		/* the same hierarchy mounted again: prefer a mount of its whole tree */
		if (strcmp(cg.h[i].root, "/") && !strcmp(nh->root, "/"))
			cg.h[i] = *nh;
		return;
	}
	if (cg.nh < CG_MAX_HIER)
		cg.h[cg.nh++] = *nh;
}

/* f: /proc/self/mountinfo (a parameter so that tests can feed other layouts) */
static int detect_mounts(FILE *f, struct cfs_err *err)
{
	_cleanup_free_ char *line = NULL;
	_cleanup_free_ struct cg_hier *nh = calloc(1, sizeof(*nh));
	char subsys[1024], fstype[64], opts[1024];
	size_t cap = 0;

	if (!f || !nh)
		return cfs_err_set(err, errno, "cgroup: cannot read /proc/self/mountinfo: %m");
	read_subsystems(subsys, sizeof(subsys));
	while (getline(&line, &cap, f) > 0) {
		char *sep = strstr(line, " - ");

		if (!sep || sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (strcmp(fstype, "cgroup") && strcmp(fstype, "cgroup2"))
			continue;
		memset(nh, 0, sizeof(*nh));
		if (sscanf(line, "%*d %*d %31s %4095s %4095s", nh->devno, nh->root, nh->mnt) != 3)
			continue;
		fileio_mountinfo_unescape(nh->root);
		fileio_mountinfo_unescape(nh->mnt);
		nh->v2 = !strcmp(fstype, "cgroup2");
		if (!nh->v2)
			v1_controllers(opts, subsys, nh);
		if (nh->v2 || nh->ctrls[0])
			add_hierarchy(nh);
	}
	return 0;
}

/* Our cgroup in each hierarchy, from /proc/self/cgroup ("ID:CONTROLLERS:PATH"). */
static int detect_own(FILE *f, struct cfs_err *err)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (!f)
		return cfs_err_set(err, errno, "cgroup: cannot read /proc/self/cgroup: %m");
	while (getline(&line, &cap, f) > 0) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c2++ = '\0';
		c2[strcspn(c2, "\n")] = '\0';
		for (int i = 0; i < cg.nh; i++) {
			struct cg_hier *h = &cg.h[i];
			char first[64], list[512];

			if (h->v2) {
				if (!c1[1])
					snprintf(h->own, sizeof(h->own), "%s", c2);
				continue;
			}
			/* match on the first controller of the mount, in ",list," form */
			snprintf(first, sizeof(first), ",%.*s,", (int)strcspn(h->ctrls, ","), h->ctrls);
			snprintf(list, sizeof(list), ",%s,", c1 + 1);
			if (c1[1] && strstr(list, first))
				snprintf(h->own, sizeof(h->own), "%s", c2);
		}
	}
	return 0;
}

/* Reject ".." and "." so that the parent cannot climb out of its place. */
static int check_parent(const char *parent, struct cfs_err *err)
{
	const char *p = parent;

	if (!parent || !*parent || strlen(parent) > 1024)
		return cfs_err_set(err, EINVAL, "cgroup parent '%s' is empty or too long",
				   parent ? parent : "");
	while (*p) {
		size_t l;

		p += strspn(p, "/");
		l = strcspn(p, "/");
		if ((l == 1 && p[0] == '.') || (l == 2 && !strncmp(p, "..", 2)))
			return cfs_err_set(err, EINVAL,
					   "cgroup parent '%s' may not contain '.' or '..'", parent);
		p += l;
	}
	return 0;
}

/* base = mount point + (our cgroup below the mounted root)/parent, or + parent
 * when absolute; duplicate slashes dropped. */
static int resolve_base(struct cg_hier *h, const char *parent, struct cfs_err *err)
{
	char raw[PATH_MAX * 3 + 8];
	const char *rel = h->own;
	size_t rl = strlen(h->root);

	if (parent[0] != '/') {
		if (!h->own[0])
			return cfs_err_set(err, ENOENT,
					   "cgroup: /proc/self/cgroup does not name our cgroup in %s",
					   h->mnt);
		if (strcmp(h->root, "/")) {
			if (strncmp(h->own, h->root, rl) || (h->own[rl] && h->own[rl] != '/'))
				return cfs_err_set(err, ENOENT,
						   "cgroup: our cgroup %s is outside the part %s of the hierarchy mounted at %s",
						   h->own, h->root, h->mnt);
			rel = h->own + rl;
		}
		snprintf(raw, sizeof(raw), "%s/%s/%s", h->mnt, rel, parent);
	} else {
		snprintf(raw, sizeof(raw), "%s/%s", h->mnt, parent);
	}
	size_t o = 0;

	for (const char *s = raw; *s && o + 1 < sizeof(h->base); s++)
		if (!(*s == '/' && o && h->base[o - 1] == '/'))
			h->base[o++] = *s;
	while (o > 1 && h->base[o - 1] == '/')
		o--;
	h->base[o] = '\0';
	return strlen(raw) >= sizeof(h->base) ? cfs_err_set(err, ENAMETOOLONG, "cgroup parent too long") : 0;
}

/* mkdir -p base below the mount point; the backend prepares each new directory
 * (v1 cpusets get their parent's cpus). */
static int make_base(struct cg_hier *h, struct cfs_err *err)
{
	char p[PATH_MAX];
	size_t ml = strlen(h->mnt);
	const char *s = h->base + ml;

	memcpy(p, h->mnt, sizeof(p));	/* same size, NUL-terminated */
	h->created = 0;
	while (*s) {
		size_t l;

		s += strspn(s, "/");
		l = strcspn(s, "/");
		if (!l)
			break;
		snprintf(p + strlen(p), sizeof(p) - strlen(p), "/%.*s", (int)l, s);
		s += l;
		if (mkdir(p, 0755) == 0)
			h->created++;
		else if (errno != EEXIST)
			return cfs_err_set(err, errno, "cgroup: cannot create %s: %m", p);
		else
			h->created = 0;	/* only trailing components we made are ours */
		cg.ops->prepare(h, p, NULL);
	}
	return 0;
}

/* Remove the trailing parent directories cgroup_init made, where empty. */
static void remove_created(void)
{
	for (int i = 0; i < cg.nh; i++) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s", cg.h[i].base);
		for (int n = cg.h[i].created; n > 0; n--) {
			char *slash = strrchr(p, '/');

			if (rmdir(p) < 0 || !slash)
				break;	/* busy: containers still run there */
			*slash = '\0';
		}
	}
}

/* Does a cgroup.procs text name no process but ours? */
static bool only_us(const char *procs)
{
	char *end;

	for (const char *s = procs; *s; s = end) {
		long pid = strtol(s, &end, 10);

		if (end == s || pid != (long)getpid())
			return false;
		end += strspn(end, "\n");
	}
	return true;
}

/* Pure v2 and a relative parent. cgroup v2 lets a cgroup other than the root either
 * hold processes or give controllers to its children, not both, so the cgroup we were
 * started in cannot keep us and also delegate to <it>/<parent>. As systemd-nspawn
 * does (its supervisor and payload sub-cgroups), we leave it for its leaf child
 * DAEMON_LEAF (where the supervisors we fork live too); the parent is still taken
 * beneath the cgroup we were started in. A daemon started inside that leaf (a restart,
 * or systemd's DelegateSubgroup=) takes it beneath the leaf's parent, so it finds the
 * running containers again. Only when we are alone there: others we would not move. */
static void v2_settle(struct cg_hier *u)
{
	char dir[PATH_MAX], p[PATH_MAX + 32], procs[256], num[24];
	size_t rl = strcmp(u->root, "/") ? strlen(u->root) : 0;
	char *last = strrchr(u->own, '/');
	int r;

	if (last && !strcmp(last + 1, DAEMON_LEAF)) {
		*last = '\0';
		if (!u->own[0])
			snprintf(u->own, sizeof(u->own), "/");
		return;
	}
	if (!u->own[0] || (rl && (strncmp(u->own, u->root, rl) || (u->own[rl] && u->own[rl] != '/'))))
		return;	/* resolve_base says what is wrong */
	snprintf(dir, sizeof(dir), "%s%s", u->mnt, u->own + rl);
	snprintf(p, sizeof(p), "%s/cgroup.type", dir);
	if (!cg_exists(p))
		return;	/* the root cgroup may hold processes and delegate */
	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	snprintf(num, sizeof(num), "%d", (int)getpid());
	if (cg_read(p, procs, sizeof(procs)) < 0 || !only_us(procs))
		return;	/* not alone: the delegation below says what to do */
	snprintf(p, sizeof(p), "%s/%s", dir, DAEMON_LEAF);
	if (mkdir(p, 0755) < 0 && errno != EEXIST) {
		log_warn("cgroup: cannot create %s: %m", p);
		return;
	}
	snprintf(p, sizeof(p), "%s/%s/cgroup.procs", dir, DAEMON_LEAF);
	r = cg_write(p, num);
	if (r < 0)
		log_warn("cgroup: cannot move into %s: %s", p, strerror(-r));
	else
		log_info("cgroup: moved into %s/%s, so that %s can delegate controllers",
			 dir, DAEMON_LEAF, dir);
}

static int detect(struct cfs_err *err)
{
	_cleanup_fclose_ FILE *mi = fopen("/proc/self/mountinfo", "re");
	_cleanup_fclose_ FILE *pc = fopen("/proc/self/cgroup", "re");
	int r = detect_mounts(mi, err);

	return r < 0 ? r : detect_own(pc, err);
}

/* Place the parent in every hierarchy. A hierarchy without controllers (the unified
 * one of a hybrid host, name=systemd) that cannot take it is left out, not fatal. */
static int place_parent(const char *parent, bool v1, struct cfs_err *err)
{
	for (int i = 0; i < cg.nh; i++) {
		int r = resolve_base(&cg.h[i], parent, err);

		if (r == 0)
			r = make_base(&cg.h[i], err);
		if (r == 0)
			continue;
		if (!v1 || cg.h[i].mask)
			return r;
		log_warn("%s; going on without %s", err ? err->msg : "cgroup", cg.h[i].mnt);
		memmove(&cg.h[i], &cg.h[i + 1], (cg.nh - i - 1) * sizeof(cg.h[0]));
		cg.nh--;
		i--;
	}
	for (int i = 0; i < cg.nh; i++) {
		if (cg.h[i].v2 && cg.unified < 0)
			cg.unified = i;
		for (int c = 0; c < CTRL_COUNT; c++)
			if ((cg.h[i].mask & (1u << c)) && cg.by_ctrl[c] < 0)
				cg.by_ctrl[c] = i;
	}
	return 0;
}

int cgroup_init(const char *parent, struct cfs_err *err)
{
	bool v1 = false, v2 = false;
	int r;

	if (cg.ready)
		return cfs_err_set(err, EALREADY, "cgroup: already initialised");
	memset(&cg, 0, sizeof(cg));
	cg.unified = -1;
	cg.ops = &cg1_ops;
	for (int i = 0; i < CTRL_COUNT; i++)
		cg.by_ctrl[i] = -1;
	r = check_parent(parent, err);
	if (r == 0)
		r = detect(err);
	if (r < 0)
		return r;
	for (int i = 0; i < cg.nh; i++) {
		v1 |= cg.h[i].mask != 0;
		v2 |= cg.h[i].v2;
	}
	if (!v1 && !v2)
		return cfs_err_set(err, ENOENT, "cgroup: no cgroup hierarchy is mounted");
	/* the one choice of a backend: v1 controllers anywhere make it v1 (or hybrid) */
	cg.ops = v1 ? &cg1_ops : &cg2_ops;
	for (int i = 0; !v1 && parent[0] != '/' && i < cg.nh; i++)
		if (cg.h[i].v2)
			v2_settle(&cg.h[i]);
	r = place_parent(parent, v1, err);
	cg.layout = !v1 ? CG_LAYOUT_V2 : (cg.unified >= 0 ? CG_LAYOUT_HYBRID : CG_LAYOUT_V1);
	if (r == 0 && cg.layout == CG_LAYOUT_V2) {
		struct cg_hier *u = &cg.h[cg.unified];
		char from[PATH_MAX];

		/* delegation starts where we stand (relative) or at the mount (absolute) */
		snprintf(from, sizeof(from), "%s", u->mnt);
		if (parent[0] != '/' && strcmp(u->own, "/"))
			snprintf(from, sizeof(from), "%s%s", u->mnt,
				 u->own + (strcmp(u->root, "/") ? strlen(u->root) : 0));
		r = cg2_delegate(from, u->base, err);
	}
	if (r < 0) {
		remove_created();
		return r;
	}
	cg.ready = true;
	return 0;
}

void cgroup_fini(void)
{
	if (cg.ready)
		remove_created();
}

static const char *ctrl_status(enum cg_ctrl c)
{
	if (cg.by_ctrl[c] >= 0)
		return "v1";
	if (cg.layout != CG_LAYOUT_V2)
		return c == CTRL_FREEZER && cg.unified >= 0 ? "v2 (cgroup.freeze)" : "missing";
	switch (c) {
	case CTRL_DEVICES:
		return "v2 (eBPF)";
	case CTRL_FREEZER:
		return "v2 (cgroup.freeze)";
	case CTRL_CPUACCT:
		return "v2 (cpu.stat)";
	case CTRL_NET_CLS:
		return "missing";
	default:
		return (cg.v2_mask & (1u << c)) ? "v2" : "missing";
	}
}

/* Which file carries an I/O weight here: CFQ's blkio.weight (gone since 5.0) or
 * the BFQ scheduler's blkio.bfq.weight on v1, io.weight (iocost) or io.bfq.weight
 * on v2. A kernel built without BFQ has the controller but no weight at all. */
static const char *io_weight_status(void)
{
	static const char *const v1[] = { "blkio.weight", "blkio.bfq.weight" };
	static const char *const v2[] = { "io.weight", "io.bfq.weight" };
	static char out[96];
	char p[PATH_MAX];
	int h = cg.layout == CG_LAYOUT_V2 ? cg.unified : cg.by_ctrl[CTRL_BLKIO];
	const char *const *files = cg.layout == CG_LAYOUT_V2 ? v2 : v1;

	if (h < 0 || (cg.layout == CG_LAYOUT_V2 && !(cg.v2_mask & (1u << CTRL_BLKIO))))
		return "no (no io controller)";
	for (int i = 0; i < 2; i++)
		if (cg_path(p, sizeof(p), h, NULL, files[i]) == 0 && cg_exists(p)) {
			snprintf(out, sizeof(out), "yes (%s)", files[i]);
			return out;
		}
	snprintf(out, sizeof(out), "no (neither %s nor %s: the kernel has no BFQ I/O scheduler)",
		 files[0], files[1]);
	return out;
}

char *cgroup_checkconfig(void)
{
	static const char *const layouts[] = { "v1", "hybrid", "v2" };
	char *out = NULL, p[PATH_MAX];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	bool swap = false, kill_file = false;

	if (!f)
		return NULL;
	fprintf(f, "cgroup layout: %s\n", cg.ready ? layouts[cg.layout] : "unknown");
	for (int c = 0; cg.ready && c < CTRL_COUNT; c++)
		fprintf(f, "cgroup controller %s: %s\n",
			c == CTRL_BLKIO && cg.layout == CG_LAYOUT_V2 ? "io" : ctrl_names[c],
			ctrl_status(c));
	if (cg.ready && cg.by_ctrl[CTRL_MEMORY] >= 0)
		swap = cg_path(p, sizeof(p), cg.by_ctrl[CTRL_MEMORY], NULL,
			       "memory.memsw.limit_in_bytes") == 0 &&
		       cg_exists(p);
	else if (cg.ready && cg.unified >= 0 && (cg.v2_mask & (1u << CTRL_MEMORY)))
		swap = cg_path(p, sizeof(p), cg.unified, NULL, "memory.swap.max") == 0 && cg_exists(p);
	if (cg.ready && cg.unified >= 0)
		kill_file = cg_path(p, sizeof(p), cg.unified, NULL, "cgroup.kill") == 0 && cg_exists(p);
	if (cg.ready) {
		fprintf(f, "cgroup swap accounting: %s\n", swap ? "yes" : "no");
		fprintf(f, "cgroup.kill: %s\n", kill_file ? "yes" : "no");
		fprintf(f, "cgroup io weight: %s\n", io_weight_status());
	}
	fclose(f);
	return out;
}
