/* config_lxc.c - importing an LXC configuration file, current keys and the 2012 ones.
 * Keys mapped 1:1 come from the key table's .lxc/.lxc_legacy names; the network, the
 * cgroup v1 files and mount targets under the rootfs are translated here. Values are
 * collected over the whole file first (mount targets need the rootfs, cpu.max needs
 * quota and period, swap needs the memory limit), then set through config_set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "parse_internal.h"

/* What the file says about one of our keys so far. */
struct acc {
	int set;		/* mentioned (possibly explicitly empty) */
	int line;		/* last line that contributed: errors when applying cite it */
	char *s;
	size_t len, cap;
};

/* A mount entry is kept with its line: its target is rewritten once the rootfs is
 * known, and only then can it be checked. */
struct mount_line {
	char *text;
	int line;
};

struct lxc_imp {
	struct config *c;
	struct acc val[K_COUNT];
	struct mount_line *mounts;
	size_t nmounts, mounts_cap;
	int legacy_nics;	/* lxc.network.type lines: each starts a NIC */
	int net_typed;		/* a type was given: LXC wants it before the rest */
	int ipv4s;
	struct acc memsw, quota, period;	/* v1 files combined at the end */
};

static int oom(struct cfs_err *err)
{
	return cfs_err_set(err, ENOMEM, "out of memory");
}

static void acc_reset(struct acc *a)
{
	a->set = 0;
	a->len = 0;
	if (a->s)
		a->s[0] = '\0';
}

/* Append s to a, after sep when a already holds something (sep 0: replace). */
static int acc_add(struct acc *a, const char *s, char sep, int line, struct cfs_err *err)
{
	size_t n = strlen(s);

	if (!sep)
		a->len = 0;
	if (a->len + n + 2 > a->cap) {
		size_t cap = (a->len + n + 2) * 2;
		char *b = realloc(a->s, cap);

		if (!b)
			return oom(err);
		a->s = b;
		a->cap = cap;
	}
	if (a->len && sep)
		a->s[a->len++] = sep;
	memcpy(a->s + a->len, s, n + 1);
	a->len += n;
	a->set = 1;
	a->line = line;
	return 0;
}

/* An empty value clears a list (LXC: "used with no value to clear"). */
static void acc_clear(struct acc *a, int line)
{
	acc_reset(a);
	a->set = 1;
	a->line = line;
}

static void mounts_free(struct lxc_imp *im)
{
	for (size_t i = 0; i < im->nmounts; i++)
		free(im->mounts[i].text);
	im->nmounts = 0;
}

/* Check a value with the key's own checker; the error names the LXC key as written. */
static int check(enum key_id k, const char *v, const char *key, int no, struct cfs_err *err)
{
	char out[CFS_MAX_VALUE];
	int r = key_parse(k, v, out, sizeof(out), err);

	if (r < 0)
		cfs_err_prefix(err, "line %d: %s", no, key);
	return r;
}

/* memory.max and memory.limit_in_bytes are one setting: the later line wins. */
static void forget_siblings(struct lxc_imp *im, enum key_id k)
{
	for (int a = 0; a < K_COUNT; a++)
		if (a != (int)k && key_canonical(a) == key_canonical(k))
			acc_reset(&im->val[a]);
}

/* A one-line value: the last line wins; an empty one falls back to the default. */
static int set_one(struct lxc_imp *im, enum key_id k, const char *v, const char *key, int no,
		   struct cfs_err *err)
{
	forget_siblings(im, k);
	if (!*v) {
		acc_reset(&im->val[k]);
		return 0;
	}
	if (check(k, v, key, no, err) < 0)
		return -EINVAL;
	return acc_add(&im->val[k], v, 0, no, err);
}

/* A list line accumulates; an empty value clears what came before. */
static int add_line(struct lxc_imp *im, enum key_id k, const char *v, const char *key, int no,
		    struct cfs_err *err)
{
	if (!*v) {
		acc_clear(&im->val[k], no);
		return 0;
	}
	if (check(k, v, key, no, err) < 0)
		return -EINVAL;
	return acc_add(&im->val[k], v, '\n', no, err);
}

static int add_mount(struct lxc_imp *im, const char *v, int no, struct cfs_err *err)
{
	im->val[K_MOUNTS].set = 1;
	im->val[K_MOUNTS].line = no;
	if (!*v) {
		mounts_free(im);
		return 0;
	}
	if (im->nmounts == im->mounts_cap) {
		size_t cap = im->mounts_cap ? im->mounts_cap * 2 : 8;
		struct mount_line *m = realloc(im->mounts, cap * sizeof(*m));

		if (!m)
			return oom(err);
		im->mounts = m;
		im->mounts_cap = cap;
	}
	im->mounts[im->nmounts].text = strdup(v);
	if (!im->mounts[im->nmounts].text)
		return oom(err);
	im->mounts[im->nmounts++].line = no;
	return 0;
}

/* lxc.cap.drop/keep: names accumulate over lines; "none" in keep clears the list. */
static int add_caps(struct lxc_imp *im, enum key_id k, char *v, const char *key, int no,
		    struct cfs_err *err)
{
	char *save = NULL;

	if (!*v) {
		acc_clear(&im->val[k], no);
		return 0;
	}
	im->val[k].set = 1;
	for (char *w = strtok_r(v, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		int r;

		if (k == K_CAPS_KEEP && !strcasecmp(w, "none")) {
			acc_clear(&im->val[k], no);
			continue;
		}
		r = check(k, w, key, no, err);
		if (r == 0)
			r = acc_add(&im->val[k], w, ' ', no, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The keys the table maps 1:1, current or 2012 spelling. */
static int lxc_table_key(struct lxc_imp *im, const char *key, char *v, int no,
			 struct cfs_err *err)
{
	int k;

	for (k = 0; k < K_COUNT; k++)
		if ((key_table[k].lxc && !strcmp(key, key_table[k].lxc)) ||
		    (key_table[k].lxc_legacy && !strcmp(key, key_table[k].lxc_legacy)))
			break;
	if (k == K_COUNT)
		return 1;
	if (k == K_ROOTFS && !strncmp(v, "dir:", 4))
		v += 4;	/* the storage backend prefix; only a directory is supported */
	if (k == K_MOUNTS)
		return add_mount(im, v, no, err);
	if (k == K_CAPS_DROP || k == K_CAPS_KEEP)
		return add_caps(im, k, v, key, no, err);
	if (key_table[k].flags & KF_LIST)
		return add_line(im, k, v, key, no, err);
	return set_one(im, k, v, key, no, err);
}

/* ---- network: lxc.net.0.*, lxc.network.0.* and the 2012 lxc.network.* ---- */

static const struct {
	const char *sub;
	enum key_id k;
} net_map[] = {
	{ "link", K_NET_LINK },
	{ "name", K_NET_NAME },
	{ "hwaddr", K_NET_HWADDR },
	{ "mtu", K_NET_MTU },
	{ "veth.pair", K_NET_VETH_PAIR },
	{ "ipv4.gateway", K_NET_IPV4_GATEWAY },
};

static int net_type(struct lxc_imp *im, const char *v, const char *key, int no,
		    struct cfs_err *err)
{
	if (strcmp(v, "veth") && strcmp(v, "empty") && strcmp(v, "none"))
		return cfs_err_set(err, EINVAL,
				   "line %d: %s: network type '%s' is not supported (empty, veth or none)",
				   no, key, v);
	im->net_typed = 1;
	return set_one(im, K_NET_TYPE, v, key, no, err);
}

/* "a.b.c.d/N [broadcast]": the broadcast address is derived by the kernel anyway. */
static int net_ipv4(struct lxc_imp *im, char *v, const char *key, int no, struct cfs_err *err)
{
	char *bcast = v + strcspn(v, " \t");
	struct in_addr a;

	if (!*v) {
		im->ipv4s = 0;
		acc_reset(&im->val[K_NET_IPV4]);
		return 0;
	}
	if (*bcast) {
		*bcast++ = '\0';
		bcast += strspn(bcast, " \t");
		if (parse_ipv4(bcast, &a, err) < 0) {
			cfs_err_prefix(err, "line %d: %s: broadcast", no, key);
			return -EINVAL;
		}
	}
	if (++im->ipv4s > 1)
		return cfs_err_set(err, EINVAL, "line %d: %s: only one IPv4 address is supported",
				   no, key);
	return set_one(im, K_NET_IPV4, v, key, no, err);
}

static int net_sub_known(const char *sub)
{
	if (!strcmp(sub, "flags") || !strcmp(sub, "ipv4") || !strcmp(sub, "ipv4.address"))
		return 1;
	for (size_t i = 0; i < sizeof(net_map) / sizeof(net_map[0]); i++)
		if (!strcmp(sub, net_map[i].sub))
			return 1;
	return 0;
}

static int net_sub(struct lxc_imp *im, const char *sub, char *v, const char *key, int no,
		   struct cfs_err *err)
{
	if (!strcmp(sub, "type"))
		return net_type(im, v, key, no, err);
	if (!net_sub_known(sub))
		return 1;
	if (!im->net_typed)
		return cfs_err_set(err, EINVAL, "line %d: %s comes before the network type", no, key);
	if (!strcmp(sub, "flags")) {
		if (*v && strcmp(v, "up"))
			return cfs_err_set(err, EINVAL, "line %d: %s: only 'up' is supported", no, key);
		return 0;	/* our interfaces are always brought up */
	}
	if (!strcmp(sub, "ipv4") || !strcmp(sub, "ipv4.address"))
		return net_ipv4(im, v, key, no, err);
	if (!strcmp(sub, "ipv4.gateway") && !strcmp(v, "auto"))
		return cfs_err_set(err, EINVAL,
				   "line %d: %s: 'auto' is not supported, give the gateway's address",
				   no, key);
	for (size_t i = 0; i < sizeof(net_map) / sizeof(net_map[0]); i++)
		if (!strcmp(sub, net_map[i].sub))
			return set_one(im, net_map[i].k, v, key, no, err);
	return 1;
}

/* rest follows "lxc.net." or "lxc.network.": "N.sub", or (2012) "sub" alone. */
static int lxc_net(struct lxc_imp *im, const char *rest, char *v, const char *key, int no,
		   struct cfs_err *err)
{
	const char *sub = rest;

	if (*rest >= '0' && *rest <= '9') {
		char *end;
		unsigned long idx = strtoul(rest, &end, 10);

		if (*end != '.' || !end[1])
			return 1;
		if (idx != 0)
			return cfs_err_set(err, EINVAL,
					   "line %d: %s: only one network interface is supported",
					   no, key);
		sub = end + 1;
	} else if (rest == key + strlen("lxc.net.")) {
		return 1;	/* lxc.net.<sub> without an index is not a key */
	} else if (!strcmp(sub, "type") && ++im->legacy_nics > 1) {
		return cfs_err_set(err, EINVAL,
				   "line %d: %s: only one network interface is supported", no, key);
	}
	return net_sub(im, sub, v, key, no, err);
}

/* ---- cgroups: lxc.cgroup2.<v2 file> and lxc.cgroup.<v1 file> ---- */

static int cg_key(struct lxc_imp *im, enum key_id k, const char *v, const char *key, int no,
		  struct cfs_err *err)
{
	/* the v1 files that make up swap and cpu.max lose to a later direct setting */
	if (k == K_MEMORY_SWAP_MAX)
		acc_reset(&im->memsw);
	if (k == K_CPU_MAX) {
		acc_reset(&im->quota);
		acc_reset(&im->period);
	}
	if (key_table[k].flags & KF_LIST)
		return add_line(im, k, v, key, no, err);
	return set_one(im, k, v, key, no, err);
}

/* memsw, quota, period: checked now, combined once the whole file is read. */
static int cg1_part(struct lxc_imp *im, enum key_v1_part kind, enum key_id k, const char *v,
		    const char *key, int no, struct cfs_err *err)
{
	struct acc *a = &im->period;
	uint64_t x;
	int r = 0;

	if (kind == KEY_V1_MEMSW)
		a = &im->memsw;
	else if (kind == KEY_V1_QUOTA)
		a = &im->quota;

	acc_reset(&im->val[k]);	/* a later v1 line wins over a direct setting */
	if (!*v) {
		acc_reset(a);
		return 0;
	}
	if (kind == KEY_V1_MEMSW)
		r = parse_size(v, true, true, &x, err);
	else if (kind == KEY_V1_PERIOD)
		r = parse_uint(v, 1000, 1000000, &x, err);
	else if (strcmp(v, "-1"))
		r = parse_uint(v, 1000, UINT64_MAX, &x, err);
	if (r < 0) {
		cfs_err_prefix(err, "line %d: %s", no, key);
		return r;
	}
	return acc_add(a, v, 0, no, err);
}

static int lxc_cgroup(struct lxc_imp *im, const char *file, int v1, char *v, const char *key,
		      int no, struct cfs_err *err)
{
	enum key_v1_part part;
	int k;

	if (!v1) {
		k = key_lookup(SEC_CGROUP, file);
		if (k < 0 || (key_table[k].flags & KF_ALIAS))
			return 1;
		return cg_key(im, k, v, key, no, err);
	}
	k = key_v1_lookup(file, &part);
	if (k < 0)
		return 1;
	if (part == KEY_V1_WHOLE)
		return cg_key(im, k, v, key, no, err);
	return cg1_part(im, part, k, v, key, no, err);
}

/* ---- lines ---- */

/* One "lxc.KEY = VALUE" line (key and value trimmed, comment stripped). Returns 0,
 * -errno, or 1 for a key this importer does not know. */
static int lxc_key(struct lxc_imp *im, const char *key, char *v, int no, struct cfs_err *err)
{
	int r = lxc_table_key(im, key, v, no, err);

	if (r != 1)
		return r;
	if (!strncmp(key, "lxc.net.", 8))
		return lxc_net(im, key + 8, v, key, no, err);
	if (!strncmp(key, "lxc.network.", 12))
		return lxc_net(im, key + 12, v, key, no, err);
	if (!strncmp(key, "lxc.cgroup2.", 12))
		return lxc_cgroup(im, key + 12, 0, v, key, no, err);
	if (!strncmp(key, "lxc.cgroup.", 11))
		return lxc_cgroup(im, key + 11, 1, v, key, no, err);
	return 1;
}

/* 2012 files annotate values: "c 1:3 rwm # /dev/null". A '#' at the start of the value
 * or after a blank starts a comment, unless quoted (init.cmd may quote one). */
static void strip_comment(char *v)
{
	char q = 0;

	for (char *p = v; *p; p++) {
		if (q) {
			if (*p == q)
				q = 0;
		} else if (*p == '\'' || *p == '"') {
			q = *p;
		} else if (*p == '#' && (p == v || ascii_is_blank(p[-1]))) {
			*p = '\0';
			return;
		}
	}
}

static int lxc_line(struct lxc_imp *im, char *line, int no, struct cfs_err *err)
{
	char *eq, *key, *v;
	int r;

	line = ascii_trim_blanks_str(line);
	if (!*line || *line == '#' || *line == ';')
		return 0;
	eq = strchr(line, '=');
	if (!eq)
		return cfs_err_set(err, EINVAL, "line %d: expected 'lxc.KEY = VALUE'", no);
	*eq = '\0';
	key = ascii_trim_blanks_str(line);
	v = eq + 1;
	strip_comment(v);
	v = ascii_trim_blanks_str(v);
	if (strlen(v) >= CFS_MAX_VALUE)
		return cfs_err_set(err, EINVAL, "line %d: %.64s: value too long (at most %d bytes)",
				   no, key, CFS_MAX_VALUE - 1);
	r = strncmp(key, "lxc.", 4) ? 1 : lxc_key(im, key, v, no, err);
	if (r == 1)
		return cfs_err_set(err, EINVAL, "line %d: unsupported LXC key '%.64s'", no, key);
	return r;
}

/* ---- the end: what needs the whole file ---- */

/* A target under the rootfs, as 2012 files wrote them, becomes relative to it (LXC
 * did the same); the rest of the entry is kept, blanks collapsed to one space. */
static int resolve_mount(const char *text, const char *rootfs, char **out)
{
	size_t rl = strlen(rootfs), n = strlen(text);
	char *res = malloc(n + 2), *copy = strdup(text), *save = NULL, *o;
	int field = 0;

	if (!res || !copy) {
		free(res);
		free(copy);
		return -ENOMEM;
	}
	while (rl > 1 && rootfs[rl - 1] == '/')
		rl--;
	o = res;
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		const char *f = w;

		if (field++ == 1 && rl > 1 && !strncmp(w, rootfs, rl) &&
		    (w[rl] == '/' || !w[rl])) {
			f = w + rl + strspn(w + rl, "/");
			if (!*f)
				f = "/";	/* the rootfs itself: the container's root */
		}
		o += sprintf(o, "%s%s", o == res ? "" : " ", f);
	}
	*o = '\0';
	free(copy);
	*out = res;
	return 0;
}

static int finish_mounts(struct lxc_imp *im, struct cfs_err *err)
{
	struct acc *rootfs = &im->val[K_ROOTFS];
	const char *root = rootfs->set ? rootfs->s : config_val(im->c, K_ROOTFS);
	int mline = im->val[K_MOUNTS].line;

	if (!im->val[K_MOUNTS].set)
		return 0;
	acc_clear(&im->val[K_MOUNTS], mline);
	for (size_t i = 0; i < im->nmounts; i++) {
		char *m;
		int r = resolve_mount(im->mounts[i].text, root ? root : "", &m);

		if (r < 0)
			return oom(err);
		r = check(K_MOUNTS, m, "lxc.mount.entry", im->mounts[i].line, err);
		if (r == 0)
			r = acc_add(&im->val[K_MOUNTS], m, '\n', im->mounts[i].line, err);
		free(m);
		if (r < 0)
			return r;
	}
	return 0;
}

static int finish_cpu_max(struct lxc_imp *im, struct cfs_err *err)
{
	const char *q = im->quota.set ? im->quota.s : "max";
	const char *p = im->period.set ? im->period.s : "100000";
	char buf[64];
	int no = im->quota.line > im->period.line ? im->quota.line : im->period.line;
	int r;

	if (!im->quota.set && !im->period.set)
		return 0;
	snprintf(buf, sizeof(buf), "%s %s", strcmp(q, "-1") ? q : "max", p);
	r = config_set(im->c, K_CPU_MAX, buf, strlen(buf), err);
	if (r < 0)
		cfs_err_prefix(err, "line %d: lxc.cgroup.cpu.cfs_quota_us/cfs_period_us", no);
	return r;
}

/* v1's memsw limit is memory + swap; v2's swap.max is swap alone. */
static int finish_memsw(struct lxc_imp *im, struct cfs_err *err)
{
	const char *key = "lxc.cgroup.memory.memsw.limit_in_bytes";
	const char *mem = config_val(im->c, K_MEMORY_MAX);
	uint64_t sw, m;
	char buf[32];
	int r;

	if (!im->memsw.set)
		return 0;
	if (parse_size(im->memsw.s, true, true, &sw, err) < 0)
		return -EINVAL;	/* checked when read */
	if (sw == CFS_UNLIMITED) {
		strcpy(buf, "max");
	} else if (parse_size(mem, true, false, &m, NULL) < 0 || m == CFS_UNLIMITED) {
		return cfs_err_set(err, EINVAL,
				   "line %d: %s: a limit needs lxc.cgroup.memory.limit_in_bytes",
				   im->memsw.line, key);
	} else if (sw < m) {
		return cfs_err_set(err, EINVAL,
				   "line %d: %s: %llu is below the memory limit %llu", im->memsw.line,
				   key, (unsigned long long)sw, (unsigned long long)m);
	} else {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(sw - m));
	}
	r = config_set(im->c, K_MEMORY_SWAP_MAX, buf, strlen(buf), err);
	if (r < 0)
		cfs_err_prefix(err, "line %d: %s", im->memsw.line, key);
	return r;
}

static int finish(struct lxc_imp *im, struct cfs_err *err)
{
	int r = finish_mounts(im, err);

	/* LXC refuses cap.keep with cap.drop: a file keeping a list means only those */
	if (im->val[K_CAPS_KEEP].set && im->val[K_CAPS_KEEP].len && !im->val[K_CAPS_DROP].set)
		acc_clear(&im->val[K_CAPS_DROP], im->val[K_CAPS_KEEP].line);
	for (int k = 0; k < K_COUNT && r == 0; k++) {
		struct acc *a = &im->val[k];

		if (!a->set)
			continue;
		r = config_set(im->c, k, a->s ? a->s : "", a->len, err);
		if (r < 0 && r != -ENOMEM)
			cfs_err_prefix(err, "line %d", a->line);
	}
	if (r == 0)
		r = finish_cpu_max(im, err);
	if (r == 0)
		r = finish_memsw(im, err);
	return r;
}

int config_parse_lxc(struct config *c, const char *doc, size_t len, struct cfs_err *err)
{
	struct lxc_imp im = { .c = c };
	size_t pos = 0;
	int no = 0, r = 0;

	while (r == 0 && pos < len) {
		const char *nl = memchr(doc + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - doc - pos) : len - pos;
		char *line = strndup(doc + pos, n);

		if (!line) {
			r = oom(err);
			break;
		}
		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		r = lxc_line(&im, line, ++no, err);
		free(line);
		pos += n + 1;
	}
	if (r == 0)
		r = finish(&im, err);
	for (int k = 0; k < K_COUNT; k++)
		free(im.val[k].s);
	free(im.memsw.s);
	free(im.quota.s);
	free(im.period.s);
	mounts_free(&im);
	free(im.mounts);
	return r;
}
