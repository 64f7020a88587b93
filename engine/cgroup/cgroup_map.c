/* cgroup_map.c - the pure translation of [cgroup] settings into cgroup files: which
 * controller's file gets which text on v1 and on v2, what to do when a file is
 * missing, and the device rules as v1 writes, a rule evaluator and an eBPF program.
 * No I/O and no globals: everything here is unit-tested without a kernel. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "cgroup.h"
#include "config/parse.h"

/* What the user wrote for k: the alias text when k is an alias with a slot. */
static const char *shown(const struct config *c, enum key_id k)
{
	const char *alias = config_alias(c, k);

	return alias ? alias : config_val(c, key_canonical(k));
}

static int put(struct cg_write *w, size_t max, size_t *n, const char *ctrl,
	       const char *file, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int put(struct cg_write *w, size_t max, size_t *n, const char *ctrl,
	       const char *file, const char *fmt, ...)
{
	va_list ap;

	if (*n >= max)
		return -ENOSPC;
	snprintf(w[*n].controller, sizeof(w[*n].controller), "%s", ctrl);
	snprintf(w[*n].file, sizeof(w[*n].file), "%s", file);
	va_start(ap, fmt);
	vsnprintf(w[*n].value, sizeof(w[*n].value), fmt, ap);
	va_end(ap);
	(*n)++;
	return 0;
}

/* The number key k holds: for an alias, the number written through it. */
static unsigned long long num(const struct config *c, enum key_id k)
{
	uint64_t v;

	if (config_alias(c, k))
		key_number(k, config_alias(c, k), &v, NULL);
	else
		config_uint(c, k, &v, NULL);
	return v;
}

/* memory.max and memory.swap.max as bytes (CFS_UNLIMITED for max). */
static uint64_t size_of(const struct config *c, enum key_id k)
{
	uint64_t v = CFS_UNLIMITED;

	parse_size(config_val(c, k), true, true, &v, NULL);
	return v;
}

/* v1's memsw counts memory and swap together; unlimited if either is. */
static int plan_memsw(const struct config *c, struct cg_write *w, size_t max, size_t *n)
{
	uint64_t mem = size_of(c, K_MEMORY_MAX), swap = size_of(c, K_MEMORY_SWAP_MAX);

	if (mem == CFS_UNLIMITED || swap == CFS_UNLIMITED || mem + swap < mem)
		return put(w, max, n, "memory", key_v1_file(K_MEMORY_SWAP_MAX, KEY_V1_MEMSW), "-1");
	return put(w, max, n, "memory", key_v1_file(K_MEMORY_SWAP_MAX, KEY_V1_MEMSW), "%llu",
		   (unsigned long long)(mem + swap));
}

static int plan_memory(enum cg_backend b, const struct config *c, enum key_id k,
		       struct cg_write *w, size_t max, size_t *n)
{
	uint64_t mem = size_of(c, K_MEMORY_MAX);
	int r;

	if (b == CG_BACKEND_V2) {
		/* the setting keeps its spelling (96M); the kernel is given bytes */
		uint64_t v = size_of(c, k);
		const char *file = k == K_MEMORY_SWAP_MAX ? "memory.swap.max" : "memory.max";

		if (v == CFS_UNLIMITED)
			return put(w, max, n, "memory", file, "max");
		return put(w, max, n, "memory", file, "%llu", (unsigned long long)v);
	}
	/* memsw must stay >= the limit at every step: written first it may be refused
	 * (a lower limit still in place), which the writer retries after the limit. */
	r = plan_memsw(c, w, max, n);
	if (r < 0 || k == K_MEMORY_SWAP_MAX)
		return r;
	if (mem == CFS_UNLIMITED)
		return put(w, max, n, "memory", key_table[K_MEMORY_LIMIT_IN_BYTES].name, "-1");
	return put(w, max, n, "memory", key_table[K_MEMORY_LIMIT_IN_BYTES].name, "%llu",
		   (unsigned long long)mem);
}

static int plan_cpu_max(enum cg_backend b, const struct config *c, struct cg_write *w,
			size_t max, size_t *n, struct cfs_err *err)
{
	uint64_t q, p;
	int r = parse_cpu_max(config_val(c, K_CPU_MAX), &q, &p, err);

	if (r < 0)
		return r;
	if (b == CG_BACKEND_V2) {
		if (q == CFS_UNLIMITED)
			return put(w, max, n, "cpu", "cpu.max", "max %llu", (unsigned long long)p);
		return put(w, max, n, "cpu", "cpu.max", "%llu %llu", (unsigned long long)q,
			   (unsigned long long)p);
	}
	r = put(w, max, n, "cpu", key_v1_file(K_CPU_MAX, KEY_V1_PERIOD), "%llu",
		(unsigned long long)p);
	if (r < 0)
		return r;
	if (q == CFS_UNLIMITED)
		return put(w, max, n, "cpu", key_v1_file(K_CPU_MAX, KEY_V1_QUOTA), "-1");
	return put(w, max, n, "cpu", key_v1_file(K_CPU_MAX, KEY_V1_QUOTA), "%llu",
		   (unsigned long long)q);
}

/* ---- device rules: both backends follow the v1 kernel's semantics ----
 * The rules become a sequence of v1 writes: a reset ("a" to devices.deny when the
 * deny list holds a, else "a" to devices.allow), every allow rule, then every other
 * deny rule. v1 writes exactly that; for v2 the same sequence is replayed on a model
 * of the v1 exception list and the result compiled to eBPF, so a rule set means the
 * same thing on both. A type-a rule with numbers is written as its b and c halves,
 * because the v1 kernel reads any line starting with 'a' as the reset. */

struct dev_op {
	bool allow;		/* devices.allow, else devices.deny */
	struct device_rule r;	/* type 'a' only for the reset */
};

static bool is_all(const struct device_rule *r)
{
	return r->type == 'a' && r->major < 0 && r->minor < 0 &&
	       r->access == (DEV_ACC_READ | DEV_ACC_WRITE | DEV_ACC_MKNOD);
}

static size_t count_lines(const char *s)
{
	size_t n = 1;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int add_op(struct dev_op *ops, size_t *n, bool allow, const struct device_rule *r)
{
	if (r->type != 'a' || is_all(r)) {
		ops[(*n)++] = (struct dev_op){ allow, *r };
		return 0;
	}
	ops[*n] = (struct dev_op){ allow, *r };
	ops[(*n)++].r.type = 'b';
	ops[*n] = (struct dev_op){ allow, *r };
	ops[(*n)++].r.type = 'c';
	return 0;
}

/* Parse one list into ops; pass 0 looks only for the reset rule of the deny list. */
static int list_ops(const char *list, enum key_id k, bool allow, bool *has_all,
		    struct dev_op *ops, size_t *n, struct cfs_err *err)
{
	char line[CFS_MAX_VALUE];
	char path[64];

	for (const char *p = list; *p;) {
		size_t l = strcspn(p, "\n");
		struct device_rule r;

		if (l && l < sizeof(line)) {
			memcpy(line, p, l);
			line[l] = '\0';
			int rc = parse_device_rule(line, &r, err);

			if (rc < 0) {
				cfs_err_prefix(err, "%s", key_path(k, path, sizeof(path)));
				return rc;
			}
			if (!allow && is_all(&r))
				*has_all = true;
			else
				add_op(ops, n, allow, &r);
		}
		p += l + (p[l] == '\n');
	}
	return 0;
}

/* The v1 write sequence for the device rules of c; *ops malloc'd. */
static int dev_ops(const struct config *c, struct dev_op **ops, size_t *n, struct cfs_err *err)
{
	const char *deny = config_val(c, K_DEVICES_DENY), *allow = config_val(c, K_DEVICES_ALLOW);
	size_t cap = 2 * (count_lines(deny) + count_lines(allow)) + 1;
	struct dev_op *o = calloc(cap, sizeof(*o));
	struct dev_op *denies = calloc(cap, sizeof(*o));
	size_t nd = 0;
	bool deny_all = false;
	int r;

	*n = 0;
	if (!o || !denies) {
		free(o);
		free(denies);
		return cfs_err_set(err, ENOMEM, "out of memory");
	}
	r = list_ops(deny, K_DEVICES_DENY, false, &deny_all, denies, &nd, err);
	if (r == 0) {
		o[(*n)++] = (struct dev_op){ !deny_all, { 'a', -1, -1, 7 } };
		r = list_ops(allow, K_DEVICES_ALLOW, true, &deny_all, o, n, err);
	}
	if (r == 0) {
		memcpy(o + *n, denies, nd * sizeof(*o));
		*n += nd;
		*ops = o;
		o = NULL;
	}
	free(o);
	free(denies);
	return r;
}

/* The v1 exception list after the writes: default behaviour plus exceptions
 * (type 'b' or 'c'), merged as the kernel merges them. */
struct dev_model {
	bool allow_all;
	struct device_rule *ex;
	size_t n;
};

static bool same_dev(const struct device_rule *a, const struct device_rule *b)
{
	return a->type == b->type && a->major == b->major && a->minor == b->minor;
}

static void model_add(struct dev_model *m, const struct device_rule *r)
{
	for (size_t i = 0; i < m->n; i++)
		if (same_dev(&m->ex[i], r)) {
			m->ex[i].access |= r->access;
			return;
		}
	m->ex[m->n++] = *r;
}

static void model_remove(struct dev_model *m, const struct device_rule *r)
{
	for (size_t i = 0; i < m->n; i++)
		if (same_dev(&m->ex[i], r)) {
			m->ex[i].access &= ~r->access;
			if (!m->ex[i].access)
				memmove(&m->ex[i], &m->ex[i + 1], (--m->n - i) * sizeof(*m->ex));
			return;
		}
}

static int dev_model(const struct config *c, struct dev_model *m, struct cfs_err *err)
{
	struct dev_op *ops = NULL;
	size_t n;
	int r = dev_ops(c, &ops, &n, err);

	if (r < 0)
		return r;
	m->n = 0;
	m->allow_all = true;
	m->ex = calloc(n + 1, sizeof(*m->ex));
	if (!m->ex) {
		free(ops);
		return cfs_err_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if (ops[i].r.type == 'a') {
			m->allow_all = ops[i].allow;
			m->n = 0;
		} else if (ops[i].allow != m->allow_all) {
			model_add(m, &ops[i].r);	/* an exception to the default */
		} else {
			model_remove(m, &ops[i].r);
		}
	}
	free(ops);
	return 0;
}

static bool ex_matches(const struct device_rule *e, char type, unsigned major, unsigned minor)
{
	return e->type == type && (e->major < 0 || (uint64_t)e->major == major) &&
	       (e->minor < 0 || (uint64_t)e->minor == minor);
}

int cgroup_dev_eval(const struct config *c, char type, unsigned major, unsigned minor,
		    unsigned access)
{
	struct dev_model m;
	int r = dev_model(c, &m, NULL), allowed;

	if (r < 0)
		return r;
	allowed = m.allow_all;
	for (size_t i = 0; i < m.n; i++) {
		if (!ex_matches(&m.ex[i], type, major, minor))
			continue;
		/* default deny: one exception must cover every bit asked for;
		 * default allow: any overlap with a deny exception refuses */
		if (!m.allow_all && !(access & ~m.ex[i].access)) {
			allowed = 1;
			break;
		}
		if (m.allow_all && (access & m.ex[i].access)) {
			allowed = 0;
			break;
		}
	}
	free(m.ex);
	return allowed;
}

/* ---- the eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) ---- */

#define INSN(CODE, DST, SRC, OFF, IMM) \
	((struct bpf_insn){            \
		.code = (CODE),        \
		.dst_reg = (DST),      \
		.src_reg = (SRC),      \
		.off = (OFF),          \
		.imm = (IMM),          \
	})

static unsigned bpf_access(unsigned acc)
{
	return ((acc & DEV_ACC_READ) ? BPF_DEVCG_ACC_READ : 0) |
	       ((acc & DEV_ACC_WRITE) ? BPF_DEVCG_ACC_WRITE : 0) |
	       ((acc & DEV_ACC_MKNOD) ? BPF_DEVCG_ACC_MKNOD : 0);
}

/* One exception: jump over the block unless it matches, then return the verdict.
 * Registers: w2 access, w3 type, w4 major, w5 minor. */
static size_t bpf_exception(const struct device_rule *e, bool allow_all, struct bpf_insn *o)
{
	unsigned acc = bpf_access(e->access), all = bpf_access(7);
	size_t n = 0, len;
	size_t skip[4], ns = 0;

	skip[ns++] = n;
	o[n++] = INSN(BPF_JMP32 | BPF_JNE | BPF_K, 3, 0, 0,
		      e->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
	if (e->major >= 0) {
		skip[ns++] = n;
		o[n++] = INSN(BPF_JMP32 | BPF_JNE | BPF_K, 4, 0, 0, (int32_t)(uint32_t)e->major);
	}
	if (e->minor >= 0) {
		skip[ns++] = n;
		o[n++] = INSN(BPF_JMP32 | BPF_JNE | BPF_K, 5, 0, 0, (int32_t)(uint32_t)e->minor);
	}
	if (!allow_all && (all & ~acc)) {
		/* asks for a bit this exception lacks: not covered */
		skip[ns++] = n;
		o[n++] = INSN(BPF_JMP32 | BPF_JSET | BPF_K, 2, 0, 0, (int32_t)(all & ~acc));
	} else if (allow_all) {
		/* no overlap with the denied bits: not refused by this one */
		o[n++] = INSN(BPF_JMP32 | BPF_JSET | BPF_K, 2, 0, 1, (int32_t)acc);
		skip[ns++] = n;
		o[n++] = INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0);
	}
	o[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, allow_all ? 0 : 1);
	o[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	len = n;
	for (size_t i = 0; i < ns; i++)
		o[skip[i]].off = (int16_t)(len - skip[i] - 1);
	return n;
}

#define BPF_HEAD 6
#define BPF_PER_EX 7
#define BPF_TAIL 2

int cgroup_dev_bpf(const struct config *c, struct bpf_insn *insns, size_t max, size_t *n,
		   struct cfs_err *err)
{
	static const struct bpf_insn head[BPF_HEAD] = {
		INSN(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0),	/* access_type */
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, 2, 0, 0),
		INSN(BPF_ALU | BPF_AND | BPF_K, 3, 0, 0, 0xffff),	/* device type */
		INSN(BPF_ALU | BPF_RSH | BPF_K, 2, 0, 0, 16),	/* access bits */
		INSN(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0),	/* major */
		INSN(BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0),	/* minor */
	};
	struct dev_model m;
	size_t need, o = BPF_HEAD;
	int r = dev_model(c, &m, err);

	if (r < 0)
		return r;
	need = BPF_HEAD + m.n * BPF_PER_EX + BPF_TAIL;
	if (!insns) {
		*n = need;	/* an upper bound, for sizing the array */
		free(m.ex);
		return 0;
	}
	if (max < need) {
		free(m.ex);
		return cfs_err_set(err, ENOSPC, "cgroup/devices: the rules need %zu eBPF instructions, more than %zu",
				   need, max);
	}
	memcpy(insns, head, sizeof(head));
	for (size_t i = 0; i < m.n; i++)
		o += bpf_exception(&m.ex[i], m.allow_all, insns + o);
	insns[o++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, m.allow_all ? 1 : 0);
	insns[o++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	*n = o;
	free(m.ex);
	return 0;
}

/* v1: the reset and every rule, as text for devices.allow / devices.deny. */
static int plan_devices_v1(const struct config *c, struct cg_write *w, size_t max, size_t *n,
			   struct cfs_err *err)
{
	struct dev_op *ops = NULL;
	size_t nops;
	int r = dev_ops(c, &ops, &nops, err);

	for (size_t i = 0; r == 0 && i < nops; i++) {
		const char *file = key_table[ops[i].allow ? K_DEVICES_ALLOW : K_DEVICES_DENY].name;
		char text[64];

		if (ops[i].r.type == 'a')
			snprintf(text, sizeof(text), "a");
		else
			format_device_rule(&ops[i].r, text, sizeof(text));
		r = put(w, max, n, "devices", file, "%s", text);
	}
	free(ops);
	return r;
}

/* Upper bound of the writes key k can plan (for sizing the array). */
size_t cgroup_plan_max(const struct config *c, enum key_id k)
{
	k = key_canonical(k);
	if (k == K_DEVICES_DENY || k == K_DEVICES_ALLOW)
		return 1 + 2 * (count_lines(config_val(c, K_DEVICES_DENY)) +
				count_lines(config_val(c, K_DEVICES_ALLOW)));
	return 4;
}

int cgroup_plan_key(enum cg_backend b, const struct config *c, enum key_id k,
		    struct cg_write *w, size_t max, size_t *n, struct cfs_err *err)
{
	char path[64];
	int r = 0;

	*n = 0;
	key_path(k, path, sizeof(path));
	switch (key_canonical(k)) {
	case K_CPU_WEIGHT:
		if (b == CG_BACKEND_V2)
			r = put(w, max, n, "cpu", "cpu.weight", "%s", config_val(c, K_CPU_WEIGHT));
		else if (config_alias(c, K_CPU_SHARES))
			r = put(w, max, n, "cpu", key_table[K_CPU_SHARES].name, "%s",
				config_alias(c, K_CPU_SHARES));
		else
			r = put(w, max, n, "cpu", key_table[K_CPU_SHARES].name, "%llu",
				(unsigned long long)conv_weight_to_shares(num(c, K_CPU_WEIGHT)));
		break;
	case K_CPU_MAX:
		r = plan_cpu_max(b, c, w, max, n, err);
		break;
	case K_CPUSET_CPUS:
	case K_CPUSET_MEMS:
		/* empty: all; v1 writers substitute the parent's value, v2 inherits */
		r = put(w, max, n, "cpuset", key_table[k].name, "%s", config_val(c, k));
		break;
	case K_MEMORY_MAX:
	case K_MEMORY_SWAP_MAX:
		r = plan_memory(b, c, key_canonical(k), w, max, n);
		break;
	case K_IO_WEIGHT:
		if (b == CG_BACKEND_V2)
			r = put(w, max, n, "io", "io.weight", "%s", config_val(c, K_IO_WEIGHT));
		else if (config_alias(c, K_BLKIO_WEIGHT))
			r = put(w, max, n, "blkio", key_table[K_BLKIO_WEIGHT].name, "%s",
				config_alias(c, K_BLKIO_WEIGHT));
		else
			r = put(w, max, n, "blkio", key_table[K_BLKIO_WEIGHT].name, "%llu",
				(unsigned long long)conv_io_weight_to_blkio(num(c, K_IO_WEIGHT)));
		break;
	case K_PIDS_MAX:
		r = put(w, max, n, "pids", "pids.max", "%s", config_val(c, K_PIDS_MAX));
		break;
	case K_DEVICES_DENY:
	case K_DEVICES_ALLOW:
		if (b == CG_BACKEND_V1)
			r = plan_devices_v1(c, w, max, n, err);
		break;
	case K_NET_CLS_CLASSID:
		if (b == CG_BACKEND_V1)
			r = put(w, max, n, "net_cls", key_table[K_NET_CLS_CLASSID].name, "%s",
				config_val(c, k));
		else if (strcmp(config_val(c, k), "0"))
			return cfs_err_set(err, EOPNOTSUPP,
					   "%s: %s needs the cgroup v1 net_cls controller, which this host does not have",
					   path, config_val(c, k));
		break;
	default:
		return cfs_err_set(err, EINVAL, "%s is not a cgroup setting", path);
	}
	if (r == -ENOSPC)
		return cfs_err_set(err, ENOSPC, "%s: more than %zu cgroup writes", path, max);
	return r;
}

bool cgroup_write_is_fresh(enum cg_backend b, const struct cg_write *w)
{
	static const struct fresh {
		const char *file, *value;
	} v1[] = {
		{ "cpu.shares", "1024" },
		{ "cpu.cfs_period_us", "100000" },
		{ "cpu.cfs_quota_us", "-1" },
		{ "memory.limit_in_bytes", "-1" },
		{ "memory.memsw.limit_in_bytes", "-1" },
		{ "blkio.bfq.weight", "100" },
		{ "pids.max", "max" },
		{ "net_cls.classid", "0" },
		{ "cpuset.cpus", "" },
		{ "cpuset.mems", "" },
	};
	static const struct fresh v2[] = {
		{ "cpu.weight", "100" },
		{ "cpu.max", "max 100000" },
		{ "memory.max", "max" },
		{ "memory.swap.max", "max" },
		{ "io.weight", "100" },
		{ "io.bfq.weight", "100" },
		{ "pids.max", "max" },
		{ "cpuset.cpus", "" },
		{ "cpuset.mems", "" },
	};
	size_t n = b == CG_BACKEND_V2 ? sizeof(v2) / sizeof(v2[0]) : sizeof(v1) / sizeof(v1[0]);

	for (size_t i = 0; i < n; i++) {
		const char *f = b == CG_BACKEND_V2 ? v2[i].file : v1[i].file;
		const char *v = b == CG_BACKEND_V2 ? v2[i].value : v1[i].value;

		if (!strcmp(w->file, f))
			return !strcmp(w->value, v);
	}
	return false;	/* devices above all: a new v1 cgroup inherits its parent's list */
}

/* Is the value of k one the host's kernel already has without the file? */
static bool is_default(const struct config *c, enum key_id k)
{
	uint64_t q = 0, p;

	switch (key_canonical(k)) {
	case K_CPU_WEIGHT:
		return config_alias(c, K_CPU_SHARES) ? !strcmp(config_alias(c, K_CPU_SHARES), "1024")
						     : !strcmp(config_val(c, K_CPU_WEIGHT), "100");
	case K_CPU_MAX:
		return parse_cpu_max(config_val(c, K_CPU_MAX), &q, &p, NULL) == 0 && q == CFS_UNLIMITED;
	case K_IO_WEIGHT:
		return config_alias(c, K_BLKIO_WEIGHT) ? !strcmp(config_alias(c, K_BLKIO_WEIGHT), "500")
						       : !strcmp(config_val(c, K_IO_WEIGHT), "100");
	case K_DEVICES_DENY:
	case K_DEVICES_ALLOW:
		return !strcmp(config_val(c, K_DEVICES_DENY), key_default(K_DEVICES_DENY, "")) &&
		       !strcmp(config_val(c, K_DEVICES_ALLOW), key_default(K_DEVICES_ALLOW, ""));
	default:
		return !strcmp(config_val(c, key_canonical(k)), key_default(key_canonical(k), ""));
	}
}

int cgroup_plan_fallback(enum cg_backend b, const struct config *c, enum key_id k,
			 const struct cg_write *w, struct cg_write *alt, struct cfs_err *err)
{
	char path[64];
	size_t n = 0;

	key_path(k, path, sizeof(path));
	if (!strcmp(w->file, key_table[K_BLKIO_WEIGHT].name) || !strcmp(w->file, "io.weight")) {
		/* bfq's weight defaults to 100 like io.weight (not 500 like CFQ's
		 * blkio.weight) and takes 1..1000: the same number, capped */
		unsigned long long bfq = num(c, config_alias(c, K_BLKIO_WEIGHT) ? K_BLKIO_WEIGHT
										: K_IO_WEIGHT);

		return put(alt, 1, &n, w->controller, b == CG_BACKEND_V2 ? "io.bfq.weight" : "blkio.bfq.weight",
			   "%llu", bfq > 1000 ? 1000 : bfq)
			       ? -ENOSPC
			       : 1;
	}
	if (!strcmp(w->file, key_v1_file(K_MEMORY_SWAP_MAX, KEY_V1_MEMSW))) {
		if (key_canonical(k) != K_MEMORY_SWAP_MAX || !strcmp(config_val(c, K_MEMORY_SWAP_MAX), "max"))
			return 0;	/* swap is memory.swap.max's business */
		return cfs_err_set(err, EOPNOTSUPP,
				   "%s: this host has no swap accounting (memory.memsw.limit_in_bytes is missing; boot with swapaccount=1), so %s cannot be applied",
				   path, shown(c, k));
	}
	if (is_default(c, k))
		return 0;
	if (!strcmp(w->controller, "net_cls"))
		return cfs_err_set(err, EOPNOTSUPP,
				   "%s: %s needs the cgroup v1 net_cls controller, which this host does not have",
				   path, shown(c, k));
	if (!strcmp(w->file, "memory.swap.max"))
		return cfs_err_set(err, EOPNOTSUPP,
				   "%s: this host has no swap accounting (memory.swap.max is missing), so %s cannot be applied",
				   path, shown(c, k));
	if (!strcmp(w->file, "blkio.bfq.weight") || !strcmp(w->file, "io.bfq.weight"))
		return cfs_err_set(err, EOPNOTSUPP,
				   "%s: this host has no I/O weight (no %s and no %s: its kernel lacks the BFQ I/O scheduler, or the %s controller is missing), so %s cannot be applied",
				   path, b == CG_BACKEND_V2 ? "io.weight" : "blkio.weight", w->file,
				   w->controller, shown(c, k));
	if (key_canonical(k) == K_DEVICES_DENY || key_canonical(k) == K_DEVICES_ALLOW)
		return cfs_err_set(err, EOPNOTSUPP,
				   "%s: this host has no devices controller, so device rules other than the defaults cannot be enforced",
				   path);
	return cfs_err_set(err, EOPNOTSUPP,
			   "%s: this host has no %s (the %s controller is %s), so %s cannot be applied",
			   path, w->file, w->controller,
			   b == CG_BACKEND_V2 ? "not available to the containers' cgroups"
					      : "not mounted, or lacks that file",
			   shown(c, k));
}
