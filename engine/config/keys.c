/* keys.c - THE table of settings and the per-key value checkers.
 * Every file of a container directory that holds a setting is one row here; the
 * tree, the INI/LXC formats, persistence and doc/reference.md all come from it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "parse_internal.h"

/* ---- value checkers: check `in`, write the normalised text to `out` ---- */

static int copy_out(const char *in, char *out, size_t n, struct cfs_err *err)
{
	if (strlen(in) >= n)
		return cfs_err_set(err, EINVAL, "value too long (at most %zu bytes)", n - 1);
	strcpy(out, in);
	return 0;
}

static int no_ctrl(const char *in, struct cfs_err *err)
{
	for (const unsigned char *p = (const unsigned char *)in; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return cfs_err_set(err, EINVAL, "control character in value");
	return 0;
}

static int chk_hostname(const char *in, char *out, size_t n, struct cfs_err *err)
{
	size_t len = strlen(in);

	if (len < 1 || len > 64)
		return cfs_err_set(err, EINVAL, "'%s' is not a hostname (1-64 characters)", in);
	for (const char *p = in; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_'))
			return cfs_err_set(err, EINVAL,
					   "'%s' is not a hostname (letters, digits, '-', '.', '_')", in);
	if (in[0] == '-' || in[0] == '.')
		return cfs_err_set(err, EINVAL, "'%s' is not a hostname (starts with '%c')", in, in[0]);
	return copy_out(in, out, n, err);
}

static int chk_abs_path(const char *in, char *out, size_t n, struct cfs_err *err, bool empty_ok)
{
	if (!*in && empty_ok)
		return copy_out(in, out, n, err);
	if (in[0] != '/')
		return cfs_err_set(err, EINVAL, "'%s' is not an absolute path", in);
	if (no_ctrl(in, err))
		return -EINVAL;
	return copy_out(in, out, n, err);
}

static int chk_rootfs(const char *in, char *out, size_t n, struct cfs_err *err)
{
	return chk_abs_path(in, out, n, err, true);
}

static int chk_cwd(const char *in, char *out, size_t n, struct cfs_err *err)
{
	return chk_abs_path(in, out, n, err, false);
}

static int chk_bool(const char *in, char *out, size_t n, struct cfs_err *err)
{
	bool b;
	int r = parse_bool01(in, &b, err);

	return r < 0 ? r : copy_out(in, out, n, err);
}

static int chk_init(const char *in, char *out, size_t n, struct cfs_err *err)
{
	char **argv = NULL;
	int argc, r;

	if (no_ctrl(in, err))
		return -EINVAL;
	r = parse_shell_words(in, &argv, &argc, err);
	if (r < 0)
		return r;
	strv_free(argv);
	return copy_out(in, out, n, err);
}

static int chk_user(const char *in, char *out, size_t n, struct cfs_err *err)
{
	uid_t u;
	gid_t g;
	int r = parse_uid_gid(in, &u, &g, err);

	return r < 0 ? r : copy_out(in, out, n, err);
}

static int chk_env(const char *in, char *out, size_t n, struct cfs_err *err)
{
	int r = parse_env_line(in, err);

	if (r < 0)
		return r;
	if (no_ctrl(in, err))
		return -EINVAL;
	return copy_out(in, out, n, err);
}

static int chk_namespaces(const char *in, char *out, size_t n, struct cfs_err *err)
{
	unsigned long f;
	int r = parse_namespaces(in, &f, err);

	return r < 0 ? r : copy_out(in, out, n, err);
}

static int chk_idmap(const char *in, char *out, size_t n, struct cfs_err *err)
{
	struct idmap_entry m;
	int r = parse_idmap_line(in, &m, err);

	return r < 0 ? r : copy_out(in, out, n, err);
}

static int chk_mount(const char *in, char *out, size_t n, struct cfs_err *err)
{
	struct fstab_entry *fe = malloc(sizeof(*fe));
	int r;

	if (!fe)
		return cfs_err_set(err, ENOMEM, "out of memory");
	r = parse_fstab_line(in, fe, err);
	free(fe);
	return r < 0 ? r : copy_out(in, out, n, err);
}

static int chk_caps(const char *in, char *out, size_t n, struct cfs_err *err)
{
	uint64_t mask;
	int r = parse_cap_list(in, &mask, err);

	return r < 0 ? r : copy_out(in, out, n, err);
}

static int chk_seccomp(const char *in, char *out, size_t n, struct cfs_err *err)
{
	struct seccomp_spec *spec = malloc(sizeof(*spec));
	int r;

	if (!spec)
		return cfs_err_set(err, ENOMEM, "out of memory");
	r = parse_seccomp(in, spec, err);
	free(spec);
	return r < 0 ? r : copy_out(in, out, n, err);
}

static int chk_signal(const char *in, char *out, size_t n, struct cfs_err *err)
{
	int sig;
	int r = strcmp(in, "auto") ? parse_signal(in, &sig, err) : 0;

	return r < 0 ? r : copy_out(in, out, n, err);
}

static int chk_net_type(const char *in, char *out, size_t n, struct cfs_err *err)
{
	if (strcmp(in, "none") && strcmp(in, "empty") && strcmp(in, "veth"))
		return cfs_err_set(err, EINVAL, "'%s' is not a network type (none, empty or veth)", in);
	return copy_out(in, out, n, err);
}

static int chk_ifname(const char *in, char *out, size_t n, struct cfs_err *err, bool empty_ok)
{
	if (!*in && empty_ok)
		return copy_out(in, out, n, err);
	int r = parse_ifname(in, err);

	return r < 0 ? r : copy_out(in, out, n, err);
}

static int chk_ifname_opt(const char *in, char *out, size_t n, struct cfs_err *err)
{
	return chk_ifname(in, out, n, err, true);
}

static int chk_ifname_req(const char *in, char *out, size_t n, struct cfs_err *err)
{
	return chk_ifname(in, out, n, err, false);
}

static int chk_hwaddr(const char *in, char *out, size_t n, struct cfs_err *err)
{
	uint8_t mac[6], mask[6];

	if (!*in)
		return copy_out(in, out, n, err);
	int r = parse_mac(in, mac, mask, err);

	return r < 0 ? r : copy_out(in, out, n, err);
}

static int chk_cidr(const char *in, char *out, size_t n, struct cfs_err *err)
{
	struct in_addr a;
	int prefix;

	if (!*in)
		return copy_out(in, out, n, err);
	int r = parse_host_cidr4(in, &a, &prefix, err);

	return r < 0 ? r : copy_out(in, out, n, err);
}

static int chk_ipv4(const char *in, char *out, size_t n, struct cfs_err *err)
{
	struct in_addr a;

	if (!*in)
		return copy_out(in, out, n, err);
	int r = parse_host_ipv4(in, &a, err);

	return r < 0 ? r : copy_out(in, out, n, err);
}

static int chk_cpu_max(const char *in, char *out, size_t n, struct cfs_err *err)
{
	uint64_t q, p;
	int r = parse_cpu_max(in, &q, &p, err);

	return r < 0 ? r : copy_out(in, out, n, err);
}

static int chk_cpu_list(const char *in, char *out, size_t n, struct cfs_err *err)
{
	int r = parse_cpu_list(in, err);

	return r < 0 ? r : copy_out(in, out, n, err);
}

/* Sizes are kept as written (after the check): "96M" reads back "96M", so a tool
 * that compares what it wrote with what it reads sees no change. The kernel is
 * given bytes (cgroup_map.c converts). */
static int chk_size(const char *in, char *out, size_t n, struct cfs_err *err)
{
	uint64_t v;
	int r = parse_size(in, true, false, &v, err);

	return r < 0 ? r : copy_out(in, out, n, err);
}

static int chk_v1_size(const char *in, char *out, size_t n, struct cfs_err *err)
{
	uint64_t v;
	int r = parse_size(in, true, true, &v, err);

	return r < 0 ? r : copy_out(in, out, n, err);
}

static int chk_device(const char *in, char *out, size_t n, struct cfs_err *err)
{
	struct device_rule d;
	int r = parse_device_rule(in, &d, err);

	return r < 0 ? r : copy_out(in, out, n, err);
}

/* ---- alias conversions ---- */

static int conv_num(const char *in, char *out, size_t n, uint64_t (*f)(uint64_t))
{
	uint64_t v;

	if (parse_uint(in, 0, UINT64_MAX, &v, NULL) < 0)
		return -EINVAL;
	return snprintf(out, n, "%llu", (unsigned long long)f(v)) < (int)n ? 0 : -EINVAL;
}

static int shares_to_weight(const char *in, char *out, size_t n)
{
	return conv_num(in, out, n, conv_shares_to_weight);
}

static int weight_to_shares(const char *in, char *out, size_t n)
{
	return conv_num(in, out, n, conv_weight_to_shares);
}

static int blkio_to_io(const char *in, char *out, size_t n)
{
	return conv_num(in, out, n, conv_blkio_to_io_weight);
}

static int io_to_blkio(const char *in, char *out, size_t n)
{
	return conv_num(in, out, n, conv_io_weight_to_blkio);
}

static int same_text(const char *in, char *out, size_t n)
{
	return snprintf(out, n, "%s", in) < (int)n ? 0 : -EINVAL;
}

/* v1's -1 is v2's max; any other size is the same text */
static int v1_size_to_max(const char *in, char *out, size_t n)
{
	return same_text(strcmp(in, "-1") ? in : "max", out, n);
}

/* ---- the table ---- */

#define DEF_DEVICES_ALLOW                                         \
	"c 1:3 rwm\nc 1:5 rwm\nc 1:7 rwm\nc 1:8 rwm\nc 1:9 rwm\n" \
	"c 5:0 rwm\nc 5:2 rwm\nc 136:* rwm"

#define ROW(ID, SEC, NAME, FLAGS, DEF, PARSE, LXC, LEGACY, DOC) \
	[ID] = {                                                \
		.id = ID,                                       \
		.section = SEC,                                 \
		.name = NAME,                                   \
		.flags = FLAGS,                                 \
		.def = DEF,                                     \
		.parse = PARSE,                                 \
		.lxc = LXC,                                     \
		.lxc_legacy = LEGACY,                           \
		.doc = DOC,                                     \
	}
/* The parser column of a number: no parser, the range is the check (key_parse). */
#define RANGE(MIN, MAX) NULL, .min = (MIN), .max = (MAX)
#define ALIAS(ID, NAME, OF, PARSE, TO, FROM, DOC) \
	[ID] = {                                  \
		.id = ID,                         \
		.section = SEC_CGROUP,            \
		.name = NAME,                     \
		.flags = KF_ALIAS | KF_LIVE,      \
		.def = NULL,                      \
		.parse = PARSE,                   \
		.alias_of = OF,                   \
		.to_canon = TO,                   \
		.from_canon = FROM,               \
		.doc = DOC,                       \
	}

const struct key_def key_table[K_COUNT] = {
	ROW(K_HOSTNAME, SEC_CONTAINER, "hostname", 0, NULL, chk_hostname,
	    "lxc.uts.name", "lxc.utsname", "UTS hostname; default: the container's name"),
	ROW(K_ROOTFS, SEC_CONTAINER, "rootfs", 0, "", chk_rootfs,
	    "lxc.rootfs.path", "lxc.rootfs", "absolute path of the root directory; empty: application container"),
	ROW(K_ROOTFS_OVERLAY, SEC_CONTAINER, "rootfs.overlay", 0, "0", chk_bool,
	    NULL, NULL, "1: rootfs is a read-only image, writes go to the container's own layer"),
	ROW(K_INIT, SEC_CONTAINER, "init", 0, "", chk_init,
	    "lxc.init.cmd", "lxc.init_cmd", "command line split like a shell does; empty: /sbin/init with a rootfs"),
	ROW(K_CWD, SEC_CONTAINER, "cwd", 0, "/", chk_cwd,
	    "lxc.init.cwd", NULL, "working directory of init"),
	ROW(K_USER, SEC_CONTAINER, "user", 0, "0:0", chk_user,
	    NULL, NULL, "UID:GID of init"),
	ROW(K_ENV, SEC_CONTAINER, "env", KF_LIST, "", chk_env,
	    "lxc.environment", NULL, "KEY=VALUE, one a line"),
	ROW(K_NAMESPACES, SEC_CONTAINER, "namespaces", 0, "mnt pid uts ipc net cgroup", chk_namespaces,
	    NULL, NULL, "namespaces made new: mnt pid uts ipc net cgroup, and user, time"),
	ROW(K_IDMAP, SEC_CONTAINER, "idmap", KF_LIST, "", chk_idmap,
	    "lxc.idmap", "lxc.id_map",
	    "with the user namespace: u|g INSIDE OUTSIDE COUNT, one a line; "
	    "empty and privileged 0: 65536 ids of root's /etc/subuid and /etc/subgid, written here at the first start"),
	ROW(K_PRIVILEGED, SEC_CONTAINER, "privileged", 0, "0", chk_bool,
	    NULL, NULL,
	    "0: always a user namespace (root inside is an unprivileged id outside); "
	    "1: user only if namespaces lists it, root inside may be root outside: not root-safe"),
	ROW(K_MOUNTS, SEC_CONTAINER, "mounts", KF_LIST, "", chk_mount,
	    "lxc.mount.entry", "lxc.mount.entry", "fstab lines, targets inside the container"),
	ROW(K_CAPS_DROP, SEC_CONTAINER, "caps.drop", 0, "sys_module sys_time sys_rawio mac_admin mac_override",
	    chk_caps, "lxc.cap.drop", "lxc.cap.drop", "capabilities removed, space separated"),
	ROW(K_CAPS_KEEP, SEC_CONTAINER, "caps.keep", 0, "", chk_caps,
	    "lxc.cap.keep", NULL, "if set, only these capabilities are kept"),
	ROW(K_SECCOMP, SEC_CONTAINER, "seccomp", 0, "default", chk_seccomp,
	    NULL, NULL,
	    "system call filter: default or unconfined, then +NAME (deny too) and -NAME (allow) edits"),
	ROW(K_TTY, SEC_CONTAINER, "tty", 0, "0", RANGE(0, KEY_TTY_MAX),
	    "lxc.tty.max", "lxc.tty", "number of ttys, 0-64"),
	ROW(K_PTS, SEC_CONTAINER, "pts", 0, "1024", RANGE(0, 1048576),
	    "lxc.pty.max", "lxc.pts", "maximum ptys of the container's devpts"),
	ROW(K_STOP_SIGNAL, SEC_CONTAINER, "stop.signal", 0, "auto", chk_signal,
	    "lxc.signal.halt", "lxc.haltsignal",
	    "signal name or number sent by stop; auto: what halts the running init (systemd "
	    "SIGRTMIN+3, busybox init SIGUSR2, sysvinit SIGINT, else SIGTERM)"),
	ROW(K_STOP_TIMEOUT, SEC_CONTAINER, "stop.timeout", 0, "10", RANGE(0, 86400),
	    NULL, NULL, "seconds stop waits before killing, 0-86400"),
	ROW(K_AUTOSTART, SEC_CONTAINER, "autostart", 0, "0", chk_bool,
	    "lxc.start.auto", NULL, "1: started when the daemon starts"),
	ROW(K_NET_TYPE, SEC_NET, "type", 0, "empty", chk_net_type,
	    NULL, NULL, "none (host network), empty (loopback only) or veth"),
	ROW(K_NET_LINK, SEC_NET, "link", 0, "", chk_ifname_opt,
	    NULL, NULL, "bridge the host side is attached to"),
	ROW(K_NET_NAME, SEC_NET, "name", 0, "eth0", chk_ifname_req,
	    NULL, NULL, "interface name inside"),
	ROW(K_NET_HWADDR, SEC_NET, "hwaddr", 0, "", chk_hwaddr,
	    NULL, NULL, "MAC inside, x digits random; empty: random at each start"),
	ROW(K_NET_MTU, SEC_NET, "mtu", KF_OR_EMPTY, "", RANGE(68, 65535),
	    NULL, NULL, "68-65535; empty: the kernel's"),
	ROW(K_NET_IPV4, SEC_NET, "ipv4", 0, "", chk_cidr,
	    NULL, NULL, "ADDRESS/PREFIX inside"),
	ROW(K_NET_IPV4_GATEWAY, SEC_NET, "ipv4.gateway", 0, "", chk_ipv4,
	    NULL, NULL, "default route inside"),
	ROW(K_NET_VETH_PAIR, SEC_NET, "veth.pair", 0, "", chk_ifname_opt,
	    NULL, NULL, "host-side interface name; empty: generated"),
	ROW(K_CPU_WEIGHT, SEC_CGROUP, "cpu.weight", KF_LIVE, "100", RANGE(1, 10000),
	    NULL, NULL, "1-10000 (v1: cpu.shares)"),
	ROW(K_CPU_MAX, SEC_CGROUP, "cpu.max", KF_LIVE, "max 100000", chk_cpu_max,
	    NULL, NULL, "QUOTA PERIOD in microseconds, QUOTA may be max (v1: cfs_quota_us/cfs_period_us)"),
	ROW(K_CPUSET_CPUS, SEC_CGROUP, "cpuset.cpus", KF_LIVE, "", chk_cpu_list,
	    NULL, NULL, "CPU list like 0-1,3; empty: all"),
	ROW(K_CPUSET_MEMS, SEC_CGROUP, "cpuset.mems", KF_LIVE, "", chk_cpu_list,
	    NULL, NULL, "memory node list; empty: all"),
	ROW(K_MEMORY_MAX, SEC_CGROUP, "memory.max", KF_LIVE, "max", chk_size,
	    NULL, NULL, "bytes, K, M, G or T suffix kept as written, or max (v1: memory.limit_in_bytes)"),
	ROW(K_MEMORY_SWAP_MAX, SEC_CGROUP, "memory.swap.max", KF_LIVE, "max", chk_size,
	    NULL, NULL, "swap bytes or max (v1: memory.memsw.limit_in_bytes = memory + swap)"),
	ROW(K_IO_WEIGHT, SEC_CGROUP, "io.weight", KF_LIVE, "100", RANGE(1, 10000),
	    NULL, NULL, "1-10000 (v1: blkio.weight)"),
	ROW(K_PIDS_MAX, SEC_CGROUP, "pids.max", KF_LIVE | KF_OR_MAX, "max", RANGE(0, 4194304),
	    NULL, NULL, "number of tasks or max"),
	ROW(K_DEVICES_DENY, SEC_CGROUP, "devices.deny", KF_LIST | KF_LIVE, "a", chk_device,
	    NULL, NULL, "device rules TYPE MAJOR:MINOR ACCESS (a = all), one a line"),
	ROW(K_DEVICES_ALLOW, SEC_CGROUP, "devices.allow", KF_LIST | KF_LIVE, DEF_DEVICES_ALLOW, chk_device,
	    NULL, NULL, "device rules allowed, one a line"),
	ROW(K_NET_CLS_CLASSID, SEC_CGROUP, "net_cls.classid", KF_LIVE, "0", RANGE(0, 0xffffffffull),
	    NULL, NULL, "needs the v1 net_cls controller"),
	ALIAS(K_CPU_SHARES, "cpu.shares", K_CPU_WEIGHT, RANGE(2, 262144), shares_to_weight,
	      weight_to_shares, "v1 name: 2-262144, maps onto cpu.weight"),
	ALIAS(K_MEMORY_LIMIT_IN_BYTES, "memory.limit_in_bytes", K_MEMORY_MAX, chk_v1_size,
	      v1_size_to_max, same_text, "v1 name: bytes or -1, maps onto memory.max"),
	ALIAS(K_BLKIO_WEIGHT, "blkio.weight", K_IO_WEIGHT, RANGE(10, 1000), blkio_to_io,
	      io_to_blkio, "v1 name: 10-1000, maps onto io.weight"),
};

const struct stat_def stat_table[STAT_COUNT] = {
	{ STAT_MEMORY_CURRENT, "memory.current", "bytes in use" },
	{ STAT_MEMORY_PEAK, "memory.peak", "highest bytes in use" },
	{ STAT_MEMORY_STAT, "memory.stat", "the kernel's memory statistics" },
	{ STAT_CPU_STAT, "cpu.stat", "usage_usec, user_usec, system_usec" },
	{ STAT_PIDS_CURRENT, "pids.current", "number of tasks" },
	{ STAT_IO_STAT, "io.stat", "the kernel's io statistics" },
	{ STAT_MEMORY_USAGE_IN_BYTES, "memory.usage_in_bytes", "v1 name of memory.current" },
	{ STAT_MEMORY_MAX_USAGE_IN_BYTES, "memory.max_usage_in_bytes", "v1 name of memory.peak" },
	{ STAT_CPUACCT_USAGE, "cpuacct.usage", "CPU time in nanoseconds" },
};

/* The v1 files, by key; a NULL file is the key's own name (see key_v1_file). */
static const struct {
	enum key_id k;
	enum key_v1_part part;
	const char *file;
} v1_files[] = {
	{ K_MEMORY_LIMIT_IN_BYTES, KEY_V1_WHOLE, NULL },
	{ K_MEMORY_SWAP_MAX, KEY_V1_MEMSW, "memory.memsw.limit_in_bytes" },
	{ K_CPU_SHARES, KEY_V1_WHOLE, NULL },
	{ K_CPU_MAX, KEY_V1_QUOTA, "cpu.cfs_quota_us" },
	{ K_CPU_MAX, KEY_V1_PERIOD, "cpu.cfs_period_us" },
	{ K_BLKIO_WEIGHT, KEY_V1_WHOLE, NULL },
	{ K_CPUSET_CPUS, KEY_V1_WHOLE, NULL },
	{ K_CPUSET_MEMS, KEY_V1_WHOLE, NULL },
	{ K_PIDS_MAX, KEY_V1_WHOLE, NULL },
	{ K_NET_CLS_CLASSID, KEY_V1_WHOLE, NULL },
	{ K_DEVICES_ALLOW, KEY_V1_WHOLE, NULL },
	{ K_DEVICES_DENY, KEY_V1_WHOLE, NULL },
};

static const char *v1_name(size_t i)
{
	return v1_files[i].file ? v1_files[i].file : key_table[v1_files[i].k].name;
}

const char *key_v1_file(enum key_id k, enum key_v1_part part)
{
	for (size_t i = 0; i < sizeof(v1_files) / sizeof(v1_files[0]); i++)
		if (v1_files[i].k == k && v1_files[i].part == part)
			return v1_name(i);
	return NULL;
}

int key_v1_lookup(const char *file, enum key_v1_part *part)
{
	for (size_t i = 0; i < sizeof(v1_files) / sizeof(v1_files[0]); i++)
		if (!strcmp(file, v1_name(i))) {
			*part = v1_files[i].part;
			return v1_files[i].k;
		}
	return -1;
}

static const char *const section_names[SEC_COUNT] = { "container", "net", "cgroup" };
static const char *const section_dirs[SEC_COUNT] = { "", "net", "cgroup" };

const char *key_section_name(enum key_section s)
{
	return section_names[s];
}

const char *key_section_dir(enum key_section s)
{
	return section_dirs[s];
}

int key_section_from_name(const char *s)
{
	for (int i = 0; i < SEC_COUNT; i++)
		if (!strcmp(s, section_names[i]))
			return i;
	return -1;
}

int key_lookup(enum key_section s, const char *name)
{
	for (int i = 0; i < K_COUNT; i++)
		if (key_table[i].section == s && !strcmp(key_table[i].name, name))
			return i;
	return -1;
}

const char *key_default(enum key_id k, const char *name)
{
	if (k == K_HOSTNAME)
		return name;
	return key_table[k].def ? key_table[k].def : "";
}

const char *key_path(enum key_id k, char *buf, size_t n)
{
	const char *dir = section_dirs[key_table[k].section];

	snprintf(buf, n, "%s%s%s", dir, *dir ? "/" : "", key_table[k].name);
	return buf;
}

int key_parse(enum key_id k, const char *in, char *out, size_t n, struct cfs_err *err)
{
	const struct key_def *kd = &key_table[k];
	uint64_t v;
	int r;

	if (kd->parse)
		return kd->parse(in, out, n, err);
	if (!*in && (kd->flags & KF_OR_EMPTY))
		return copy_out(in, out, n, err);
	if (kd->flags & KF_OR_MAX)
		r = parse_uint_or_max(in, kd->min, kd->max, &v, err);
	else
		r = parse_uint(in, kd->min, kd->max, &v, err);
	return r < 0 ? r : copy_out(in, out, n, err);
}

int key_number(enum key_id k, const char *value, uint64_t *out, struct cfs_err *err)
{
	const struct key_def *kd = &key_table[k];
	char path[64];
	int r;

	if (!*value && (kd->flags & KF_OR_EMPTY)) {
		*out = 0;
		return 1;
	}
	if (kd->flags & KF_OR_MAX)
		r = parse_uint_or_max(value, kd->min, kd->max, out, err);
	else
		r = parse_uint(value, kd->min, kd->max, out, err);
	if (r < 0) {
		*out = 0;
		if (kd->def && *kd->def)
			parse_uint_or_max(kd->def, 0, UINT64_MAX, out, NULL);
		cfs_err_prefix(err, "%s", key_path(k, path, sizeof(path)));
	}
	return r;
}

int key_check_line(enum key_id k, const char *line, struct cfs_err *err)
{
	char out[CFS_MAX_VALUE];
	char path[64];
	int r = key_parse(k, line, out, sizeof(out), err);

	if (r < 0)
		cfs_err_prefix(err, "%s", key_path(k, path, sizeof(path)));
	return r;
}

/* Blanks around a value or a line would not survive the INI form (which trims
 * them), so what was read back after a restart would differ: they are refused. */
static int outer_blanks(const char *p, size_t n, struct cfs_err *err)
{
	if (n && (ascii_is_blank(p[0]) || ascii_is_blank(p[n - 1])))
		return cfs_err_set(err, EINVAL, "'%.*s' has blanks around it", (int)(n > 60 ? 60 : n), p);
	return 0;
}

static int normalise_list(enum key_id k, const char *value, size_t len, char **out,
			  struct cfs_err *err)
{
	/* a normalised line may be longer than written: room for the longest */
	size_t cap = len + 1 + (len / 2 + 1) * 16;
	char *res = malloc(cap), *line = malloc(CFS_MAX_VALUE + 1);
	size_t used = 0;
	int r = 0;

	if (!res || !line) {
		r = cfs_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(value + i, '\n', len - i);
		size_t l = (nl ? (size_t)(nl - value) : len) - i;

		if (l > CFS_MAX_VALUE) {
			r = cfs_err_set(err, EINVAL, "line too long (at most %d bytes)", CFS_MAX_VALUE);
			goto out;
		}
		const char *start = value + i;

		size_t b = 0;

		i += l + 1;
		while (b < l && ascii_is_blank(start[b]))
			b++;	/* value need not end with a NUL: stay within the line */
		if (b == l)
			continue;	/* blank lines carry nothing */
		r = outer_blanks(start, l, err);
		if (r < 0)
			goto out;
		memcpy(line, start, l);
		line[l] = '\0';
		char norm[CFS_MAX_VALUE];

		r = key_parse(k, line, norm, sizeof(norm), err);
		if (r < 0)
			goto out;
		size_t nl2 = strlen(norm);

		if (used + nl2 + 2 > cap) {
			char *grown = realloc(res, cap = (used + nl2 + 2) * 2);

			if (!grown) {
				r = cfs_err_set(err, ENOMEM, "out of memory");
				goto out;
			}
			res = grown;
		}
		memcpy(res + used, norm, nl2);
		used += nl2;
		res[used++] = '\n';
	}
	if (used)
		used--;		/* no trailing newline inside the stored value */
	res[used] = '\0';
	*out = res;
	res = NULL;
out:
	free(res);
	free(line);
	return r;
}

int key_normalise(enum key_id k, const char *value, size_t len, char **out, struct cfs_err *err)
{
	char path[64];
	int r;

	key_path(k, path, sizeof(path));
	if (len > CFS_MAX_LIST)
		return cfs_err_set(err, EINVAL, "%s: value too long (%zu bytes, at most %d)",
				   path, len, CFS_MAX_LIST);
	if (memchr(value, '\0', len))
		return cfs_err_set(err, EINVAL, "%s: NUL byte in value", path);
	if (key_table[k].flags & KF_LIST) {
		r = normalise_list(k, value, len, out, err);
	} else {
		char norm[CFS_MAX_VALUE];
		char *v;

		if (len && value[len - 1] == '\n')
			len--;
		if (memchr(value, '\n', len))
			return cfs_err_set(err, EINVAL, "%s: a newline inside a one-line value", path);
		r = outer_blanks(value, len, err);
		if (r < 0)
			goto fail;
		if (len >= CFS_MAX_VALUE)
			return cfs_err_set(err, EINVAL, "%s: value too long (at most %d bytes)",
					   path, CFS_MAX_VALUE - 1);
		v = strndup(value, len);
		if (!v)
			return cfs_err_set(err, ENOMEM, "out of memory");
		r = key_parse(k, v, norm, sizeof(norm), err);
		free(v);
		if (r == 0) {
			*out = strdup(norm);
			if (!*out)
				r = cfs_err_set(err, ENOMEM, "out of memory");
		}
	}
fail:
	if (r < 0)	/* every failure that reaches here describes the value alone */
		cfs_err_prefix(err, "%s", path);
	return r;
}

int key_check_whole(enum key_id k, const char *norm, struct cfs_err *err)
{
	struct idmap_root root;
	char path[64];
	int r = 0;

	if (k == K_IDMAP)
		r = parse_idmap(norm, &root, err);
	if (r < 0)
		cfs_err_prefix(err, "%s", key_path(k, path, sizeof(path)));
	return r < 0 ? r : 0;
}
