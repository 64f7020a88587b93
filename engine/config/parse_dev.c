/* parse_dev.c - pure parsers of device rules, id maps, namespaces, capabilities
 * and fstab lines, and the cgroup v1 <-> v2 unit conversions. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>

#include "parse.h"
#include "parse_internal.h"

/* ---- device rules */

/* MAJOR or MINOR: a number or '*' (-1). dev_t numbers fit in 32 bits. */
static bool parse_devnum(const char *p, size_t n, int64_t *out)
{
	uint64_t v;

	if (n == 1 && p[0] == '*') {
		*out = -1;
		return true;
	}
	if (scan_u64(p, n, &v) || v > UINT32_MAX)
		return false;
	*out = (int64_t)v;
	return true;
}

/* ACCESS: a non-empty subset of r, w, m in any order, each at most once. */
static bool parse_access(struct span w, unsigned *out)
{
	unsigned acc = 0, bit;
	size_t i;

	for (i = 0; i < w.n; i++) {
		switch (w.p[i]) {
		case 'r': bit = DEV_ACC_READ; break;
		case 'w': bit = DEV_ACC_WRITE; break;
		case 'm': bit = DEV_ACC_MKNOD; break;
		default: return false;
		}
		if (acc & bit)
			return false;
		acc |= bit;
	}
	*out = acc;
	return acc != 0;
}

int parse_device_rule(const char *s, struct device_rule *r, struct cfs_err *err)
{
	struct device_rule d;
	struct span w[4];
	const char *colon;
	size_t n;
	int rc = check_len(s, err);

	if (rc)
		return rc;
	n = split_blanks(s, w, 4);
	if (n == 1 && (span_eq(w[0], "a") || span_eq(w[0], "all"))) {
		*r = (struct device_rule){ 'a', -1, -1, DEV_ACC_RWM };
		return 0;
	}
	if (n != 3)
		return cfs_err_set(err, EINVAL,
				   "'%s' is not a device rule (TYPE MAJOR:MINOR ACCESS, like c 1:3 rwm, or a)",
				   SHOW(s));
	if (w[0].n != 1 || !strchr("abc", w[0].p[0]))
		return cfs_err_set(err, EINVAL, "device type '%s' is not a, b or c", SHOWW(w[0]));
	d.type = w[0].p[0];
	colon = memchr(w[1].p, ':', w[1].n);
	if (!colon || !parse_devnum(w[1].p, (size_t)(colon - w[1].p), &d.major) ||
	    !parse_devnum(colon + 1, w[1].n - (size_t)(colon - w[1].p) - 1, &d.minor))
		return cfs_err_set(err, EINVAL,
				   "'%s' is not MAJOR:MINOR (numbers below 2^32 or *)",
				   SHOWW(w[1]));
	if (!parse_access(w[2], &d.access))
		return cfs_err_set(err, EINVAL,
				   "device access '%s' is not a combination of r, w and m",
				   SHOWW(w[2]));
	*r = d;
	return 0;
}

static void format_devnum(int64_t v, char *buf, size_t n)
{
	if (v < 0)
		snprintf(buf, n, "*");
	else
		snprintf(buf, n, "%lld", (long long)v);
}

void format_device_rule(const struct device_rule *r, char *buf, size_t n)
{
	char maj[24], min[24], acc[4];
	size_t o = 0;

	if (!n)
		return;
	if (r->access & DEV_ACC_READ)
		acc[o++] = 'r';
	if (r->access & DEV_ACC_WRITE)
		acc[o++] = 'w';
	if (r->access & DEV_ACC_MKNOD)
		acc[o++] = 'm';
	acc[o] = '\0';
	format_devnum(r->major, maj, sizeof(maj));
	format_devnum(r->minor, min, sizeof(min));
	snprintf(buf, n, "%c %s:%s %s", r->type, maj, min, acc);
}

/* ---- id maps */

int parse_idmap_line(const char *s, struct idmap_entry *m, struct cfs_err *err)
{
	uint64_t inside, outside, count;
	struct span w[5];
	int r = check_len(s, err);

	if (r)
		return r;
	if (split_blanks(s, w, 5) != 4)
		return cfs_err_set(err, EINVAL,
				   "'%s' is not an id map line (u, g or b, then INSIDE OUTSIDE COUNT)",
				   SHOW(s));
	if (w[0].n != 1 || !strchr("ugb", w[0].p[0]))
		return cfs_err_set(err, EINVAL, "id map kind '%s' is not u, g or b", SHOWW(w[0]));
	r = span_uint(w[1], 0, UINT32_MAX, &inside, "inside id", err);
	if (!r)
		r = span_uint(w[2], 0, UINT32_MAX, &outside, "outside id", err);
	if (!r)
		r = span_uint(w[3], 1, UINT32_MAX, &count, "count", err);
	if (r)
		return r;
	/* The last id of a range is start + count - 1, which must stay below 2^32. */
	if (inside + count > (1ULL << 32) || outside + count > (1ULL << 32))
		return cfs_err_set(err, EINVAL, "'%s' maps ids beyond 4294967295", SHOW(s));
	*m = (struct idmap_entry){ w[0].p[0], (uint32_t)inside, (uint32_t)outside,
				   (uint32_t)count };
	return 0;
}

int parse_idmap(const char *text, struct idmap_root *root, struct cfs_err *err)
{
	struct idmap_entry m[64];
	size_t nm = 0;
	bool has_u = false, has_g = false;

	*root = (struct idmap_root){ 0 };
	for (const char *s = text; *s;) {
		size_t len = strcspn(s, "\n");
		char line[256];
		int r;

		if (len >= sizeof(line))
			return cfs_err_set(err, EINVAL, "an id map line is too long");
		memcpy(line, s, len);
		line[len] = '\0';
		s += len + (s[len] == '\n');
		if (!len)
			continue;
		if (nm == sizeof(m) / sizeof(m[0]))
			return cfs_err_set(err, EINVAL, "more than %zu id map lines",
					   sizeof(m) / sizeof(m[0]));
		r = parse_idmap_line(line, &m[nm], err);
		if (r < 0)
			return r;
		for (size_t i = 0; i < nm; i++) {
			bool same_kind = m[i].kind == m[nm].kind || m[i].kind == 'b' ||
					 m[nm].kind == 'b';
			uint64_t a0 = m[i].inside, a1 = a0 + m[i].count;
			uint64_t b0 = m[nm].inside, b1 = b0 + m[nm].count;
			uint64_t c0 = m[i].outside, c1 = c0 + m[i].count;
			uint64_t d0 = m[nm].outside, d1 = d0 + m[nm].count;

			if (same_kind && ((a0 < b1 && b0 < a1) || (c0 < d1 && d0 < c1)))
				return cfs_err_set(err, EINVAL,
						   "id map line '%s' overlaps an "
						   "earlier line of the same kind",
						   SHOW(line));
		}
		if (m[nm].inside == 0 && m[nm].kind != 'g') {
			has_u = true;
			root->uid = m[nm].outside;
		}
		if (m[nm].inside == 0 && m[nm].kind != 'u') {
			has_g = true;
			root->gid = m[nm].outside;
		}
		nm++;
	}
	if (!nm)
		return 0;
	if (!has_u || !has_g)
		return cfs_err_set(err, EINVAL,
				   "the id map '%s' does not map %s 0 inside (root "
				   "inside must be someone outside)",
				   SHOW(text), has_u ? "gid" : "uid");
	root->set = true;
	return 1;
}

bool parse_subid_line(const char *line, const char *owner_name, unsigned long owner_uid,
		      uint64_t *start, uint64_t *count)
{
	const char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char num[24], *end;
	size_t n = c1 ? (size_t)(c1 - line) : 0;
	unsigned long long a, b;

	if (!c2 || !n)
		return false;
	snprintf(num, sizeof(num), "%lu", owner_uid);
	if (!((strlen(owner_name) == n && !strncmp(line, owner_name, n)) ||
	      (strlen(num) == n && !strncmp(line, num, n))))
		return false;
	if (!isdigit((unsigned char)c1[1]) || !isdigit((unsigned char)c2[1]))
		return false;
	errno = 0;
	a = strtoull(c1 + 1, &end, 10);
	if (end != c2 || errno)
		return false;
	b = strtoull(c2 + 1, &end, 10);
	if (errno || (*end && *end != '\n' && !isspace((unsigned char)*end)) || b < 1 ||
	    a >= (1ULL << 32) || b > (1ULL << 32) || a + b > (1ULL << 32))
		return false;
	*start = a;
	*count = b;
	return true;
}

/* ---- namespaces and capabilities */

static const struct {
	const char *name;
	unsigned long flag;
} ns_names[] = {
	{ "mnt", CLONE_NEWNS },
	{ "pid", CLONE_NEWPID },
	{ "uts", CLONE_NEWUTS },
	{ "ipc", CLONE_NEWIPC },
	{ "net", CLONE_NEWNET },
	{ "cgroup", CLONE_NEWCGROUP },
	{ "user", CLONE_NEWUSER },
	{ "time", CLONE_NEWTIME },
};

#define NS_COUNT (sizeof(ns_names) / sizeof(ns_names[0]))

int parse_namespaces(const char *s, unsigned long *flags, struct cfs_err *err)
{
	struct span w[NS_COUNT + 1];
	unsigned long f = 0;
	size_t n, i, j;
	int r = check_len(s, err);

	if (r)
		return r;
	n = split_blanks(s, w, NS_COUNT + 1);
	if (n > NS_COUNT)
		return cfs_err_set(err, EINVAL, "'%s' names more than %zu namespaces", SHOW(s),
				   NS_COUNT);
	for (i = 0; i < n; i++) {
		for (j = 0; j < NS_COUNT && !span_eq(w[i], ns_names[j].name); j++)
			;
		if (j == NS_COUNT)
			return cfs_err_set(err, EINVAL,
					   "'%s' is not a namespace (mnt pid uts ipc net cgroup user time)",
					   SHOWW(w[i]));
		if (f & ns_names[j].flag)
			return cfs_err_set(err, EINVAL, "namespace '%s' is listed twice",
					   ns_names[j].name);
		f |= ns_names[j].flag;
	}
	*flags = f;
	return 0;
}

void format_namespaces(unsigned long flags, char *buf, size_t n)
{
	size_t i, o = 0;
	int w;

	if (!n)
		return;
	buf[0] = '\0';
	for (i = 0; i < NS_COUNT; i++) {
		if (!(flags & ns_names[i].flag))
			continue;
		w = snprintf(buf + o, n - o, "%s%s", o ? " " : "", ns_names[i].name);
		if (w < 0 || (size_t)w >= n - o)
			return;	/* truncated, but NUL-terminated */
		o += (size_t)w;
	}
}

/* One capability word: libcap's name with or without "cap_", any case. */
static int cap_word(struct span w, int *cap, struct cfs_err *err)
{
	char name[64];
	bool digits = true;
	cap_value_t v;
	size_t i, o = 0;

	for (i = 0; i < w.n; i++) {
		if (!(ascii_is_alpha(w.p[i]) || ascii_is_digit(w.p[i]) || w.p[i] == '_'))
			break;
		digits = digits && ascii_is_digit(w.p[i]);
	}
	/* cap_from_name() also takes numbers; this list is for names. */
	if (i < w.n || digits || w.n + 5 > sizeof(name))
		goto bad;
	if (!ascii_iprefix(w.p, w.n, "cap_")) {
		memcpy(name, "cap_", 4);
		o = 4;
	}
	for (i = 0; i < w.n; i++)
		name[o++] = ascii_tolower(w.p[i]);
	name[o] = '\0';
	if (cap_from_name(name, &v) || v < 0 || v > 63)
		goto bad;
	*cap = v;
	return 0;
bad:
	return cfs_err_set(err, EINVAL, "'%s' is not a capability name (like sys_admin or CAP_SYS_ADMIN)",
			   SHOWW(w));
}

int parse_cap_list(const char *s, uint64_t *mask, struct cfs_err *err)
{
	const char *p = s, *b;
	uint64_t m = 0;
	int cap = 0, r = check_len(s, err);

	if (r)
		return r;
	/* Word by word: a list may hold more names than a fixed span array. */
	for (;;) {
		while (ascii_is_blank(*p))
			p++;
		if (!*p)
			break;
		for (b = p; *p && !ascii_is_blank(*p); p++)
			;
		r = cap_word((struct span){ b, (size_t)(p - b) }, &cap, err);
		if (r)
			return r;
		m |= 1ULL << cap;
	}
	*mask = m;
	return 0;
}

/* ---- fstab lines */

/* getmntent's four escapes, which let a field carry blanks, newlines and '\'. */
static int fstab_unescape(struct span w, char *out, size_t size, const char *what,
			  struct cfs_err *err)
{
	static const char *const esc[] = { "\\040", "\\011", "\\012", "\\134" };
	static const char val[] = { ' ', '\t', '\n', '\\' };
	size_t i = 0, o = 0, k;

	while (i < w.n) {
		char c = w.p[i++];

		for (k = 0; c == '\\' && k < 4; k++) {
			if (w.n - i >= 3 && !memcmp(w.p + i - 1, esc[k], 4)) {
				c = val[k];
				i += 3;
				break;
			}
		}
		if (o + 1 >= size)
			return cfs_err_set(err, EINVAL, "%s '%s' is longer than %zu bytes", what,
					   SHOWW(w), size - 1);
		out[o++] = c;
	}
	out[o] = '\0';
	if (!o)
		return cfs_err_set(err, EINVAL, "the %s is empty", what);
	return 0;
}

static const struct mount_opt {
	const char *name;
	unsigned long set;	/* into flags, out of clear_flags */
	unsigned long clear;	/* out of flags, into clear_flags */
	int propagation;
} mount_opts[] = {
	{ "defaults", 0, 0, 0 },
	{ "ro", MS_RDONLY, 0, 0 },
	{ "rw", 0, MS_RDONLY, 0 },
	{ "nosuid", MS_NOSUID, 0, 0 },
	{ "suid", 0, MS_NOSUID, 0 },
	{ "nodev", MS_NODEV, 0, 0 },
	{ "dev", 0, MS_NODEV, 0 },
	{ "noexec", MS_NOEXEC, 0, 0 },
	{ "exec", 0, MS_NOEXEC, 0 },
	{ "sync", MS_SYNCHRONOUS, 0, 0 },
	{ "async", 0, MS_SYNCHRONOUS, 0 },
	{ "dirsync", MS_DIRSYNC, 0, 0 },
	{ "noatime", MS_NOATIME, 0, 0 },
	{ "atime", 0, MS_NOATIME, 0 },
	{ "nodiratime", MS_NODIRATIME, 0, 0 },
	{ "diratime", 0, MS_NODIRATIME, 0 },
	{ "relatime", MS_RELATIME, 0, 0 },
	{ "norelatime", 0, MS_RELATIME, 0 },
	{ "strictatime", MS_STRICTATIME, 0, 0 },
	{ "nostrictatime", 0, MS_STRICTATIME, 0 },
	{ "bind", MS_BIND, 0, 0 },
	{ "rbind", MS_BIND | MS_REC, 0, 0 },
	{ "remount", MS_REMOUNT, 0, 0 },
	{ "private", 0, 0, MS_PRIVATE },
	{ "rprivate", 0, 0, MS_PRIVATE | MS_REC },
	{ "slave", 0, 0, MS_SLAVE },
	{ "rslave", 0, 0, MS_SLAVE | MS_REC },
	{ "shared", 0, 0, MS_SHARED },
	{ "rshared", 0, 0, MS_SHARED | MS_REC },
	{ "unbindable", 0, 0, MS_UNBINDABLE },
	{ "runbindable", 0, 0, MS_UNBINDABLE | MS_REC },
};

static int data_append(struct fstab_entry *fe, struct span o, struct cfs_err *err)
{
	size_t len = strlen(fe->data);

	if (len + (len ? 1 : 0) + o.n >= sizeof(fe->data))
		return cfs_err_set(err, EINVAL, "mount data is longer than %zu bytes",
				   sizeof(fe->data) - 1);
	if (len)
		fe->data[len++] = ',';
	memcpy(fe->data + len, o.p, o.n);
	fe->data[len + o.n] = '\0';
	return 0;
}

/* One mount option: a flag, create=, optional, or data for the filesystem. */
static int fstab_option(struct fstab_entry *fe, struct span o, struct cfs_err *err)
{
	size_t i;

	for (i = 0; i < sizeof(mount_opts) / sizeof(mount_opts[0]); i++) {
		const struct mount_opt *m = &mount_opts[i];

		if (!span_eq(o, m->name))
			continue;
		fe->flags = (fe->flags | m->set) & ~m->clear;
		fe->clear_flags = (fe->clear_flags | m->clear) & ~m->set;
		if (m->propagation)
			fe->propagation = m->propagation;	/* the last one wins */
		return 0;
	}
	if (span_eq(o, "optional")) {
		fe->optional = true;
		return 0;
	}
	if (span_eq(o, "create=dir") || span_eq(o, "create=file")) {
		fe->create = o.p[7];
		return 0;
	}
	if (o.n >= 7 && !memcmp(o.p, "create=", 7))
		return cfs_err_set(err, EINVAL, "'%s' is not create=dir or create=file",
				   SHOWW(o));
	return data_append(fe, o, err);
}

static int fstab_options(struct fstab_entry *fe, struct span w, struct cfs_err *err)
{
	const char *p = w.p, *end = w.p + w.n, *e;
	int r;

	for (;; p = e + 1) {
		e = memchr(p, ',', (size_t)(end - p));
		if (!e)
			e = end;
		if (e == p)
			return cfs_err_set(err, EINVAL, "mount options '%s' have an empty option",
					   SHOWW(w));
		r = fstab_option(fe, (struct span){ p, (size_t)(e - p) }, err);
		if (r || e == end)
			return r;
	}
}

int parse_fstab_line(const char *s, struct fstab_entry *fe, struct cfs_err *err)
{
	struct span w[7];
	uint64_t num;
	size_t n, i;
	int r = check_len(s, err);

	if (r)
		return r;
	memset(fe, 0, sizeof(*fe));
	for (i = 0; s[i]; i++)
		if (ascii_is_ctrl(s[i]) && s[i] != '\t')
			return cfs_err_set(err, EINVAL, "'%s' contains a control character", SHOW(s));
	n = split_blanks(s, w, 7);
	if (n < 3 || n > 6)
		return cfs_err_set(err, EINVAL,
				   "'%s' is not an fstab line (SOURCE TARGET FSTYPE [OPTIONS [DUMP [PASS]]])",
				   SHOW(s));
	r = fstab_unescape(w[0], fe->source, sizeof(fe->source), "source", err);
	if (!r)
		r = fstab_unescape(w[1], fe->target, sizeof(fe->target), "target", err);
	if (!r && w[2].n >= sizeof(fe->fstype))
		r = cfs_err_set(err, EINVAL, "filesystem type '%s' is longer than %zu bytes",
				SHOWW(w[2]), sizeof(fe->fstype) - 1);
	if (r)
		return r;
	memcpy(fe->fstype, w[2].p, w[2].n);
	if (n >= 4)
		r = fstab_options(fe, w[3], err);
	for (i = 4; !r && i < n; i++)
		r = span_uint(w[i], 0, INT_MAX, &num, i == 4 ? "dump field" : "pass field", err);
	return r;
}

/* ---- cgroup v1 <-> v2 unit conversions (crun's formulas) */

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : (v > hi ? hi : v);
}

/* crun's quadratic fit (2025): y = ceil(10^((log2(x)^2 + 125 log2(x)) / 612 - 7/34)),
 * which maps 2 -> 1, 1024 -> 100 (both defaults) and 262144 -> 10000. */
uint64_t conv_shares_to_weight(uint64_t shares)
{
	double l, y;

	shares = clamp_u64(shares, 2, 262144);
	if (shares == 2)
		return 1;
	l = log2((double)shares);
	y = pow(10.0, (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0);
	return clamp_u64((uint64_t)ceil(y - 1e-9), 1, 10000);
}

/* The inverse of the fit: solve t^2 + 125 t - 612 (log10 y + 7/34) = 0 for t = log2 x,
 * then take the largest x that maps to no more than y (so 100 -> 1024, the default). */
uint64_t conv_weight_to_shares(uint64_t weight)
{
	double t;
	uint64_t x;

	weight = clamp_u64(weight, 1, 10000);
	if (weight == 1)
		return 2;
	t = (-125.0 + sqrt(125.0 * 125.0 + 4.0 * 612.0 * (log10((double)weight) + 7.0 / 34.0))) / 2.0;
	x = clamp_u64((uint64_t)llround(pow(2.0, t)), 2, 262144);
	while (x < 262144 && conv_shares_to_weight(x + 1) <= weight)
		x++;
	while (x > 2 && conv_shares_to_weight(x) > weight)
		x--;
	return x;
}

uint64_t conv_blkio_to_io_weight(uint64_t blkio)
{
	blkio = clamp_u64(blkio, 10, 1000);
	return clamp_u64(1 + ((blkio - 10) * 9999) / 990, 1, 10000);
}

uint64_t conv_io_weight_to_blkio(uint64_t weight)
{
	weight = clamp_u64(weight, 1, 10000);
	return clamp_u64(10 + ((weight - 1) * 990) / 9999, 10, 1000);
}
