/* test_cgroup_map.c - unit tests of the pure cgroup planner: every [cgroup] key and
 * alias on v1 and v2, the fallbacks for missing files, the device rules as v1 writes
 * and as an eBPF program, the latter run by a small interpreter and compared with
 * the rule evaluator on many devices. TAP output; exits non-zero on any failure. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "cgroup/cgroup.h"
#include "config/parse.h"
#include "tap.h"

#define V1 CG_BACKEND_V1
#define V2 CG_BACKEND_V2

static struct config cfg;
static struct cg_write w[64];
static size_t nw;
static struct cfs_err err;

static void reset(void)
{
	config_free(&cfg);
	if (config_init(&cfg, "t") < 0) {
		printf("Bail out! config_init\n");
		exit(1);
	}
}

static void set(enum key_id k, const char *v)
{
	cfs_err_clear(&err);
	if (config_set(&cfg, k, v, strlen(v), &err) < 0) {
		printf("Bail out! config_set %s '%s': %s\n", key_table[k].name, v, err.msg);
		exit(1);
	}
}

static int plan(enum cg_backend b, enum key_id k)
{
	cfs_err_clear(&err);
	memset(w, 0, sizeof(w));
	return cgroup_plan_key(b, &cfg, k, w, 64, &nw, &err);
}

/* Does the plan hold exactly these writes ("file=value", in order)? */
static int plan_is(enum cg_backend b, enum key_id k, int count, ...)
{
	va_list ap;
	int r = plan(b, k), same = r == 0 && nw == (size_t)count;

	va_start(ap, count);
	for (int i = 0; same && i < count; i++) {
		char got[320];
		const char *want = va_arg(ap, const char *);

		snprintf(got, sizeof(got), "%s=%s", w[i].file, w[i].value);
		if (strcmp(got, want)) {
			printf("# write %d: got '%s', want '%s'\n", i, got, want);
			same = 0;
		}
	}
	va_end(ap);
	if (r < 0 || nw != (size_t)count) {
		printf("# r=%d n=%zu (want %d) %s\n", r, nw, count, err.msg);
		for (size_t i = 0; i < nw; i++)
			printf("#   %s/%s=%s\n", w[i].controller, w[i].file, w[i].value);
	}
	return same;
}

static char numbuf[8][32];
static const char *u(unsigned long long v)
{
	static int i;

	i = (i + 1) % 8;
	snprintf(numbuf[i], sizeof(numbuf[i]), "%llu", v);
	return numbuf[i];
}

static char eqbuf[8][320];
static const char *eq(const char *file, const char *value)
{
	static int i;

	i = (i + 1) % 8;
	snprintf(eqbuf[i], sizeof(eqbuf[i]), "%s=%s", file, value);
	return eqbuf[i];
}

static void test_defaults(void)
{
	reset();
	ok(plan_is(V1, K_CPU_WEIGHT, 1, eq("cpu.shares", u(conv_weight_to_shares(100)))),
	   "v1 default cpu.weight -> cpu.shares by conversion");
	ok(plan_is(V2, K_CPU_WEIGHT, 1, "cpu.weight=100"), "v2 default cpu.weight");
	ok(plan_is(V1, K_CPU_MAX, 2, "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=-1"),
	   "v1 default cpu.max -> period 100000, quota -1");
	ok(plan_is(V2, K_CPU_MAX, 1, "cpu.max=max 100000"), "v2 default cpu.max");
	ok(plan_is(V1, K_CPUSET_CPUS, 1, "cpuset.cpus="), "v1 empty cpuset.cpus (writer copies the parent's)");
	ok(plan_is(V2, K_CPUSET_MEMS, 1, "cpuset.mems="), "v2 empty cpuset.mems (inherits)");
	ok(plan_is(V1, K_MEMORY_MAX, 2, "memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=-1"),
	   "v1 default memory.max -> memsw -1, limit -1");
	ok(plan_is(V1, K_MEMORY_SWAP_MAX, 1, "memory.memsw.limit_in_bytes=-1"), "v1 default swap");
	ok(plan_is(V2, K_MEMORY_MAX, 1, "memory.max=max"), "v2 default memory.max");
	ok(plan_is(V2, K_MEMORY_SWAP_MAX, 1, "memory.swap.max=max"), "v2 default memory.swap.max");
	ok(plan_is(V1, K_IO_WEIGHT, 1, eq("blkio.weight", u(conv_io_weight_to_blkio(100)))),
	   "v1 default io.weight -> blkio.weight by conversion");
	ok(plan_is(V2, K_IO_WEIGHT, 1, "io.weight=100"), "v2 default io.weight");
	ok(plan_is(V1, K_PIDS_MAX, 1, "pids.max=max") && plan_is(V2, K_PIDS_MAX, 1, "pids.max=max"),
	   "pids.max max on both");
	ok(plan_is(V1, K_NET_CLS_CLASSID, 1, "net_cls.classid=0"), "v1 net_cls.classid 0");
	ok(plan_is(V2, K_NET_CLS_CLASSID, 0), "v2 net_cls.classid 0: nothing to write");
	ok(plan_is(V1, K_DEVICES_ALLOW, 9, "devices.deny=a", "devices.allow=c 1:3 rwm",
		   "devices.allow=c 1:5 rwm", "devices.allow=c 1:7 rwm", "devices.allow=c 1:8 rwm",
		   "devices.allow=c 1:9 rwm", "devices.allow=c 5:0 rwm",
		   "devices.allow=c 5:2 rwm", "devices.allow=c 136:* rwm"),
	   "v1 default devices: deny a, then the allow list");
	ok(plan_is(V1, K_DEVICES_DENY, 9, "devices.deny=a", "devices.allow=c 1:3 rwm",
		   "devices.allow=c 1:5 rwm", "devices.allow=c 1:7 rwm", "devices.allow=c 1:8 rwm",
		   "devices.allow=c 1:9 rwm", "devices.allow=c 5:0 rwm",
		   "devices.allow=c 5:2 rwm", "devices.allow=c 136:* rwm"),
	   "v1 devices.deny rebuilds the same way");
	ok(plan_is(V2, K_DEVICES_ALLOW, 0) && plan_is(V2, K_DEVICES_DENY, 0),
	   "v2 devices: no file writes (eBPF)");
	plan(V1, K_CPU_MAX);
	ok(!strcmp(w[0].controller, "cpu"), "v1 cpu.max writes go to the cpu controller");
	plan(V1, K_IO_WEIGHT);
	ok(!strcmp(w[0].controller, "blkio"), "v1 io.weight goes to blkio");
	plan(V2, K_IO_WEIGHT);
	ok(!strcmp(w[0].controller, "io"), "v2 io.weight goes to io");
}

/* Are all the writes of k's plan ones a new cgroup needs no more? */
static int all_fresh(enum cg_backend b, enum key_id k)
{
	int r = plan(b, k);

	for (size_t i = 0; r == 0 && i < nw; i++)
		if (!cgroup_write_is_fresh(b, &w[i]))
			return 0;
	return r == 0;
}

static void test_fresh(void)
{
	static const enum key_id keys[] = { K_CPU_MAX, K_CPUSET_CPUS, K_CPUSET_MEMS, K_MEMORY_MAX,
					    K_MEMORY_SWAP_MAX, K_PIDS_MAX };
	struct cg_write bfq = { "blkio", "blkio.bfq.weight", "100" };

	reset();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ok(all_fresh(V1, keys[i]) && all_fresh(V2, keys[i]),
		   "default %s: what a new cgroup has", key_table[keys[i]].name);
	ok(all_fresh(V2, K_CPU_WEIGHT) && all_fresh(V2, K_IO_WEIGHT), "v2 default weights");
	ok(all_fresh(V1, K_NET_CLS_CLASSID), "v1 net_cls.classid 0");
	ok(!all_fresh(V1, K_IO_WEIGHT) && cgroup_write_is_fresh(V1, &bfq),
	   "v1 default io.weight: blkio.weight 19 is no default, bfq's 100 is");
	ok(!all_fresh(V1, K_DEVICES_DENY) && !all_fresh(V1, K_DEVICES_ALLOW),
	   "device rules are always written (a new v1 cgroup inherits its parent's)");
	set(K_CPU_SHARES, "1024");
	ok(all_fresh(V1, K_CPU_WEIGHT), "cpu.shares 1024 is v1's default");
	set(K_CPU_SHARES, "512");
	ok(!all_fresh(V1, K_CPU_WEIGHT), "cpu.shares 512 is written");
	set(K_CPU_MAX, "50000 100000");
	ok(plan(V1, K_CPU_MAX) == 0 && cgroup_write_is_fresh(V1, &w[0]) &&
		   !cgroup_write_is_fresh(V1, &w[1]),
	   "v1 cpu.max 50000: the period is the default, the quota not");
	ok(!all_fresh(V2, K_CPU_MAX), "v2 cpu.max 50000 100000 is written");
	set(K_MEMORY_MAX, "1G");
	ok(plan(V1, K_MEMORY_MAX) == 0 && nw == 2 && cgroup_write_is_fresh(V1, &w[0]) &&
		   !cgroup_write_is_fresh(V1, &w[1]),
	   "v1 memory.max 1G: memsw stays -1, the limit is written");
	set(K_CPUSET_CPUS, "0");
	ok(!all_fresh(V1, K_CPUSET_CPUS) && !all_fresh(V2, K_CPUSET_CPUS), "cpuset.cpus 0 is written");
	set(K_PIDS_MAX, "100");
	ok(!all_fresh(V2, K_PIDS_MAX), "pids.max 100 is written");
}

static void test_memory(void)
{
	reset();
	set(K_MEMORY_MAX, "128M");
	ok(plan_is(V1, K_MEMORY_MAX, 2, "memory.memsw.limit_in_bytes=-1",
		   "memory.limit_in_bytes=134217728"),
	   "v1 memory.max 128M -> 134217728");
	ok(plan_is(V2, K_MEMORY_MAX, 1, "memory.max=134217728"), "v2 memory.max 128M");
	set(K_MEMORY_SWAP_MAX, "64M");
	ok(plan_is(V1, K_MEMORY_MAX, 2, "memory.memsw.limit_in_bytes=201326592",
		   "memory.limit_in_bytes=134217728"),
	   "v1 memsw = limit + swap (memsw first)");
	ok(plan_is(V1, K_MEMORY_SWAP_MAX, 1, "memory.memsw.limit_in_bytes=201326592"),
	   "v1 memory.swap.max -> memsw only");
	ok(plan_is(V2, K_MEMORY_SWAP_MAX, 1, "memory.swap.max=67108864"), "v2 memory.swap.max");
	set(K_MEMORY_LIMIT_IN_BYTES, "256M");
	ok(plan_is(V1, K_MEMORY_LIMIT_IN_BYTES, 2, "memory.memsw.limit_in_bytes=335544320",
		   "memory.limit_in_bytes=268435456"),
	   "v1 alias memory.limit_in_bytes 256M");
	ok(plan_is(V2, K_MEMORY_LIMIT_IN_BYTES, 1, "memory.max=268435456"),
	   "v2 alias memory.limit_in_bytes -> memory.max");
	set(K_MEMORY_LIMIT_IN_BYTES, "-1");
	ok(plan_is(V1, K_MEMORY_MAX, 2, "memory.memsw.limit_in_bytes=-1", "memory.limit_in_bytes=-1"),
	   "v1 alias -1: unlimited memory and memsw");
	ok(plan_is(V2, K_MEMORY_MAX, 1, "memory.max=max"), "v2 alias -1 -> max");
	set(K_MEMORY_MAX, "1G");
	set(K_MEMORY_SWAP_MAX, "max");
	ok(plan_is(V1, K_MEMORY_SWAP_MAX, 1, "memory.memsw.limit_in_bytes=-1"),
	   "v1 swap max -> memsw -1");
}

static void test_cpu(void)
{
	reset();
	set(K_CPU_SHARES, "512");
	ok(plan_is(V1, K_CPU_SHARES, 1, "cpu.shares=512"), "v1 cpu.shares alias 512 exact");
	ok(plan_is(V1, K_CPU_WEIGHT, 1, "cpu.shares=512"), "v1 cpu.weight key uses the alias slot");
	ok(plan_is(V2, K_CPU_SHARES, 1, eq("cpu.weight", u(conv_shares_to_weight(512)))),
	   "v2 cpu.shares 512 -> cpu.weight %llu (conv_shares_to_weight)",
	   (unsigned long long)conv_shares_to_weight(512));
	set(K_CPU_SHARES, "1024");
	ok(plan_is(V2, K_CPU_SHARES, 1, "cpu.weight=100"), "v2 cpu.shares 1024 -> cpu.weight 100");
	set(K_CPU_WEIGHT, "100");
	ok(plan_is(V1, K_CPU_WEIGHT, 1, eq("cpu.shares", u(conv_weight_to_shares(100)))),
	   "v1 cpu.weight set directly: converted");
	set(K_CPU_SHARES, "2");
	ok(plan_is(V2, K_CPU_WEIGHT, 1, "cpu.weight=1"), "v2 cpu.shares 2 -> 1");
	set(K_CPU_SHARES, "262144");
	ok(plan_is(V2, K_CPU_WEIGHT, 1, "cpu.weight=10000") &&
		   plan_is(V1, K_CPU_WEIGHT, 1, "cpu.shares=262144"),
	   "cpu.shares 262144 both ways");
	set(K_CPU_MAX, "50000 100000");
	ok(plan_is(V1, K_CPU_MAX, 2, "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=50000"),
	   "v1 cpu.max 50000 100000 -> quota 50000 period 100000");
	ok(plan_is(V2, K_CPU_MAX, 1, "cpu.max=50000 100000"), "v2 cpu.max 50000 100000");
	set(K_CPU_MAX, "max 100000");
	ok(plan_is(V1, K_CPU_MAX, 2, "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=-1"),
	   "v1 cpu.max max 100000 -> quota -1");
	set(K_CPU_MAX, "200000 1000000");
	ok(plan_is(V1, K_CPU_MAX, 2, "cpu.cfs_period_us=1000000", "cpu.cfs_quota_us=200000"),
	   "v1 cpu.max 200000 1000000");
	set(K_CPU_MAX, "max");
	ok(plan_is(V2, K_CPU_MAX, 1, "cpu.max=max 100000"), "v2 cpu.max max -> default period");
	set(K_CPUSET_CPUS, "0-1,3");
	set(K_CPUSET_MEMS, "0");
	ok(plan_is(V1, K_CPUSET_CPUS, 1, "cpuset.cpus=0-1,3") &&
		   plan_is(V2, K_CPUSET_CPUS, 1, "cpuset.cpus=0-1,3"),
	   "cpuset.cpus on both");
	ok(plan_is(V1, K_CPUSET_MEMS, 1, "cpuset.mems=0") &&
		   plan_is(V2, K_CPUSET_MEMS, 1, "cpuset.mems=0"),
	   "cpuset.mems on both");
	set(K_PIDS_MAX, "100");
	ok(plan_is(V1, K_PIDS_MAX, 1, "pids.max=100") && plan_is(V2, K_PIDS_MAX, 1, "pids.max=100"),
	   "pids.max 100 on both");
}

static void test_io_net(void)
{
	reset();
	set(K_IO_WEIGHT, "200");
	ok(plan_is(V1, K_IO_WEIGHT, 1, eq("blkio.weight", u(conv_io_weight_to_blkio(200)))),
	   "v1 io.weight 200 converted");
	ok(plan_is(V2, K_IO_WEIGHT, 1, "io.weight=200"), "v2 io.weight 200");
	set(K_BLKIO_WEIGHT, "300");
	ok(plan_is(V1, K_BLKIO_WEIGHT, 1, "blkio.weight=300") &&
		   plan_is(V1, K_IO_WEIGHT, 1, "blkio.weight=300"),
	   "v1 blkio.weight alias exact");
	ok(plan_is(V2, K_BLKIO_WEIGHT, 1, eq("io.weight", u(conv_blkio_to_io_weight(300)))),
	   "v2 blkio.weight alias -> io.weight converted");
	set(K_NET_CLS_CLASSID, "1048577");
	ok(plan_is(V1, K_NET_CLS_CLASSID, 1, "net_cls.classid=1048577"), "v1 net_cls.classid");
	ok(plan(V2, K_NET_CLS_CLASSID) == -EOPNOTSUPP &&
		   strstr(err.msg, "cgroup/net_cls.classid: 1048577 needs the cgroup v1 net_cls controller, which this host does not have"),
	   "v2 net_cls.classid != 0: EOPNOTSUPP (%s)", err.msg);
	ok(plan(V1, K_HOSTNAME) == -EINVAL, "a non-cgroup key is refused");
	ok(cgroup_plan_key(V1, &cfg, K_CPU_MAX, w, 1, &nw, &err) == -ENOSPC, "ENOSPC when max is too small");
	ok(cgroup_plan_max(&cfg, K_DEVICES_ALLOW) >= 10 && cgroup_plan_max(&cfg, K_CPU_MAX) >= 2,
	   "cgroup_plan_max bounds");
}

static int fb(enum cg_backend b, enum key_id k, const char *ctrl, const char *file,
	      const char *value, struct cg_write *alt)
{
	struct cg_write x = { 0 };

	snprintf(x.controller, sizeof(x.controller), "%s", ctrl);
	snprintf(x.file, sizeof(x.file), "%s", file);
	snprintf(x.value, sizeof(x.value), "%s", value);
	memset(alt, 0, sizeof(*alt));
	cfs_err_clear(&err);
	return cgroup_plan_fallback(b, &cfg, k, &x, alt, &err);
}

static void test_fallback(void)
{
	struct cg_write alt;

	reset();
	ok(fb(V1, K_IO_WEIGHT, "blkio", "blkio.weight", "19", &alt) == 1 &&
		   !strcmp(alt.controller, "blkio") && !strcmp(alt.file, "blkio.bfq.weight") &&
		   !strcmp(alt.value, "100"),
	   "v1 default io.weight, no blkio.weight -> blkio.bfq.weight 100 (bfq's default)");
	ok(fb(V2, K_IO_WEIGHT, "io", "io.weight", "100", &alt) == 1 && !strcmp(alt.controller, "io") &&
		   !strcmp(alt.file, "io.bfq.weight") && !strcmp(alt.value, "100"),
	   "v2 default io.weight, no io.weight -> io.bfq.weight 100");
	set(K_BLKIO_WEIGHT, "300");
	ok(fb(V1, K_BLKIO_WEIGHT, "blkio", "blkio.weight", "300", &alt) == 1 &&
		   !strcmp(alt.file, "blkio.bfq.weight") && !strcmp(alt.value, "300"),
	   "v1 blkio.weight alias, no blkio.weight -> blkio.bfq.weight exact");
	ok(fb(V2, K_BLKIO_WEIGHT, "io", "io.weight", "3031", &alt) == 1 &&
		   !strcmp(alt.file, "io.bfq.weight") && !strcmp(alt.value, "300"),
	   "v2 blkio.weight alias, no io.weight -> io.bfq.weight exact");
	set(K_IO_WEIGHT, "10000");
	ok(fb(V2, K_IO_WEIGHT, "io", "io.weight", "10000", &alt) == 1 && !strcmp(alt.value, "1000"),
	   "v2 io.weight 10000 -> io.bfq.weight capped at 1000");
	ok(fb(V1, K_IO_WEIGHT, "blkio", "blkio.bfq.weight", "1000", &alt) == -EOPNOTSUPP,
	   "v1 no weight file at all, non-default: EOPNOTSUPP (%s)", err.msg);
	reset();
	ok(fb(V1, K_IO_WEIGHT, "blkio", "blkio.bfq.weight", "100", &alt) == 0,
	   "v1 no weight file at all, default: skipped");
	ok(fb(V1, K_MEMORY_MAX, "memory", "memory.memsw.limit_in_bytes", "-1", &alt) == 0,
	   "no memsw for memory.max: skipped");
	set(K_MEMORY_MAX, "1G");
	set(K_MEMORY_SWAP_MAX, "1G");
	ok(fb(V1, K_MEMORY_MAX, "memory", "memory.memsw.limit_in_bytes", "2147483648", &alt) == 0,
	   "no memsw, memory.max key: skipped (swap reports itself)");
	ok(fb(V1, K_MEMORY_SWAP_MAX, "memory", "memory.memsw.limit_in_bytes", "2147483648", &alt) == -EOPNOTSUPP &&
		   strstr(err.msg, "cgroup/memory.swap.max") && strstr(err.msg, "so 1G "),
	   "no memsw, swap limited: EOPNOTSUPP (%s)", err.msg);
	ok(fb(V2, K_MEMORY_SWAP_MAX, "memory", "memory.swap.max", "1073741824", &alt) == -EOPNOTSUPP,
	   "v2 no memory.swap.max, swap limited: EOPNOTSUPP");
	ok(fb(V1, K_PIDS_MAX, "pids", "pids.max", "max", &alt) == 0, "no pids controller, max: skipped");
	set(K_PIDS_MAX, "100");
	ok(fb(V1, K_PIDS_MAX, "pids", "pids.max", "100", &alt) == -EOPNOTSUPP &&
		   strstr(err.msg, "cgroup/pids.max") && strstr(err.msg, "100"),
	   "no pids controller, 100: EOPNOTSUPP (%s)", err.msg);
	ok(fb(V1, K_NET_CLS_CLASSID, "net_cls", "net_cls.classid", "0", &alt) == 0,
	   "no net_cls, classid 0: skipped");
	set(K_NET_CLS_CLASSID, "7");
	ok(fb(V1, K_NET_CLS_CLASSID, "net_cls", "net_cls.classid", "7", &alt) == -EOPNOTSUPP &&
		   strstr(err.msg, "needs the cgroup v1 net_cls controller, which this host does not have"),
	   "no net_cls, classid 7: EOPNOTSUPP (%s)", err.msg);
	ok(fb(V1, K_CPU_WEIGHT, "cpu", "cpu.shares", "2597", &alt) == 0, "no cpu controller, default weight: skipped");
	set(K_CPU_SHARES, "1024");
	ok(fb(V1, K_CPU_SHARES, "cpu", "cpu.shares", "1024", &alt) == 0, "no cpu controller, shares 1024: skipped");
	set(K_CPU_SHARES, "512");
	ok(fb(V1, K_CPU_SHARES, "cpu", "cpu.shares", "512", &alt) == -EOPNOTSUPP &&
		   strstr(err.msg, "cgroup/cpu.shares") && strstr(err.msg, "512"),
	   "no cpu controller, shares 512: EOPNOTSUPP (%s)", err.msg);
	ok(fb(V1, K_DEVICES_ALLOW, "devices", "devices.deny", "a", &alt) == 0,
	   "no devices controller, default rules: skipped");
	set(K_DEVICES_ALLOW, "c 1:3 rwm");
	ok(fb(V1, K_DEVICES_ALLOW, "devices", "devices.deny", "a", &alt) == -EOPNOTSUPP,
	   "no devices controller, custom rules: EOPNOTSUPP");
}

static void test_devices_v1(void)
{
	reset();
	set(K_DEVICES_ALLOW, "c 1:3 rwm\na 7:* r");
	ok(plan_is(V1, K_DEVICES_ALLOW, 4, "devices.deny=a", "devices.allow=c 1:3 rwm",
		   "devices.allow=b 7:* r", "devices.allow=c 7:* r"),
	   "v1: type a with numbers is written as its b and c halves");
	set(K_DEVICES_DENY, "c 1:3 w");
	set(K_DEVICES_ALLOW, "");
	ok(plan_is(V1, K_DEVICES_DENY, 2, "devices.allow=a", "devices.deny=c 1:3 w"),
	   "v1: no 'a' in deny -> allow a, then the deny rules");
	set(K_DEVICES_DENY, "c 1:3 w\nall");
	set(K_DEVICES_ALLOW, "c 1:* rwm");
	ok(plan_is(V1, K_DEVICES_DENY, 3, "devices.deny=a", "devices.allow=c 1:* rwm",
		   "devices.deny=c 1:3 w"),
	   "v1: reset first, allows, then other denies");
}

static int ev(char t, unsigned ma, unsigned mi, const char *acc)
{
	unsigned a = 0;

	for (; *acc; acc++)
		a |= *acc == 'r' ? DEV_ACC_READ : (*acc == 'w' ? DEV_ACC_WRITE : DEV_ACC_MKNOD);
	return cgroup_dev_eval(&cfg, t, ma, mi, a);
}

static void test_dev_eval(void)
{
	reset();
	ok(ev('c', 1, 3, "rwm") == 1 && ev('c', 1, 3, "r") == 1, "default: /dev/null allowed");
	ok(ev('c', 1, 4, "r") == 0, "default: c 1:4 denied");
	ok(ev('c', 136, 5, "rw") == 1, "default: pts allowed");
	ok(ev('b', 8, 0, "r") == 0, "default: block device denied");
	ok(ev('b', 1, 3, "r") == 0, "default: b 1:3 is not c 1:3");
	set(K_DEVICES_ALLOW, "c 1:3 rw");
	set(K_DEVICES_DENY, "a\nc 1:3 w");
	ok(ev('c', 1, 3, "r") == 1 && ev('c', 1, 3, "w") == 0 && ev('c', 1, 3, "m") == 0 &&
		   ev('c', 1, 3, "rw") == 0,
	   "deny c 1:3 w removes w from the allow exception");
	set(K_DEVICES_DENY, "a\nc 1:* w");
	ok(ev('c', 1, 3, "w") == 1, "v1 semantics: a deny removes only the exact exception");
	set(K_DEVICES_DENY, "c 1:* w\nb *:* rwm");
	set(K_DEVICES_ALLOW, "");
	ok(ev('c', 1, 3, "r") == 1 && ev('c', 1, 3, "w") == 0 && ev('c', 1, 3, "rw") == 0 &&
		   ev('b', 8, 0, "r") == 0 && ev('c', 4, 1, "rwm") == 1,
	   "default allow: deny rules refuse any overlap");
	set(K_DEVICES_DENY, "a");
	set(K_DEVICES_ALLOW, "a 7:* r");
	ok(ev('b', 7, 1, "r") == 1 && ev('c', 7, 2, "r") == 1 && ev('c', 7, 2, "w") == 0,
	   "type a rule covers b and c");
	set(K_DEVICES_ALLOW, "c 1:3 r\na");
	ok(ev('b', 8, 0, "rwm") == 1, "allow a: everything");
	set(K_DEVICES_ALLOW, "c 1:3 r\nc 1:3 w");
	ok(ev('c', 1, 3, "rw") == 1, "exceptions for the same device merge");
	set(K_DEVICES_ALLOW, "c 4294967295:* r");
	ok(ev('c', 4294967295u, 1, "r") == 1 && ev('c', 1, 1, "r") == 0, "major 2^32-1");
}

/* ---- a minimal interpreter for the eBPF subset cgroup_dev_bpf emits ---- */

static int run_bpf(const struct bpf_insn *p, size_t n, uint32_t ctx[3])
{
	uint64_t r[11] = { 0 };

	for (size_t pc = 0, steps = 0; pc < n && steps < 100000; pc++, steps++) {
		const struct bpf_insn *i = &p[pc];
		uint32_t lo = (uint32_t)r[i->dst_reg], imm = (uint32_t)i->imm;

		switch (i->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			if (i->src_reg != 1 || i->off < 0 || i->off > 8 || i->off % 4)
				return -100;
			r[i->dst_reg] = ctx[i->off / 4];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_X:
			r[i->dst_reg] = r[i->src_reg];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			r[i->dst_reg] = (uint64_t)(int64_t)i->imm;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			r[i->dst_reg] = lo & imm;
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
			r[i->dst_reg] = lo >> imm;
			break;
		case BPF_JMP32 | BPF_JNE | BPF_K:
			if (lo != imm)
				pc += i->off;
			break;
		case BPF_JMP32 | BPF_JSET | BPF_K:
			if (lo & imm)
				pc += i->off;
			break;
		case BPF_JMP | BPF_JA:
			pc += i->off;
			break;
		case BPF_JMP | BPF_EXIT:
			return (int)r[0];
		default:
			return -101;
		}
	}
	return -102;		/* fell off the end or looped */
}

static int bpf_verdict(const struct bpf_insn *p, size_t n, char t, unsigned ma, unsigned mi,
		       unsigned acc)
{
	uint32_t bacc = ((acc & DEV_ACC_READ) ? BPF_DEVCG_ACC_READ : 0) |
			((acc & DEV_ACC_WRITE) ? BPF_DEVCG_ACC_WRITE : 0) |
			((acc & DEV_ACC_MKNOD) ? BPF_DEVCG_ACC_MKNOD : 0);
	uint32_t ctx[3] = { (bacc << 16) | (t == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR),
			    ma, mi };

	return run_bpf(p, n, ctx);
}

/* Run the program of the current config on a grid of devices; count mismatches. */
static int compare_bpf(const char *what)
{
	static const unsigned majors[] = { 0, 1, 4, 5, 7, 8, 136, 4294967295u };
	static const unsigned minors[] = { 0, 1, 3, 5, 9, 1048575, 4294967295u };
	struct bpf_insn prog[512];
	size_t n = 0, need = 0;
	int bad = 0;

	cfs_err_clear(&err);
	if (cgroup_dev_bpf(&cfg, NULL, 0, &need, &err) < 0 ||
	    cgroup_dev_bpf(&cfg, prog, 512, &n, &err) < 0 || n > need) {
		printf("# %s: cgroup_dev_bpf failed: %s (n=%zu need=%zu)\n", what, err.msg, n, need);
		return 1;
	}
	for (int t = 0; t < 2; t++)
		for (size_t a = 0; a < sizeof(majors) / sizeof(*majors); a++)
			for (size_t b = 0; b < sizeof(minors) / sizeof(*minors); b++)
				for (unsigned acc = 1; acc < 8; acc++) {
					char ty = t ? 'c' : 'b';
					int want = cgroup_dev_eval(&cfg, ty, majors[a], minors[b], acc);
					int got = bpf_verdict(prog, n, ty, majors[a], minors[b], acc);

					if (want != got && bad++ < 3)
						printf("# %s: %c %u:%u acc %u: bpf %d, eval %d\n", what,
						       ty, majors[a], minors[b], acc, got, want);
				}
	return bad;
}

static void test_bpf(void)
{
	static const char *const pool[] = {
		"a", "c 1:3 rwm", "c 1:3 w", "c 1:* r", "b 8:* rw", "a 7:* m", "c *:* m",
		"b *:* rwm", "c 136:* rwm", "c 5:1 rw", "a 4294967295:4294967295 r", "c 1:5 wm",
		"b 8:0 r", "c 4:* rwm"
	};
	const size_t np = sizeof(pool) / sizeof(*pool);
	uint32_t seed = 12345;
	struct bpf_insn prog[16];
	size_t n;
	int bad = 0;

	reset();
	ok(compare_bpf("default") == 0, "bpf == eval for the default rules");
	ok(bpf_verdict((struct bpf_insn[64]){ 0 }, 0, 'c', 1, 3, 1) == -102, "interpreter sanity");
	ok(cgroup_dev_bpf(&cfg, prog, 16, &n, &err) == -ENOSPC, "bpf: ENOSPC when the array is small");
	set(K_DEVICES_DENY, "c 1:* w\nb *:* rwm");
	set(K_DEVICES_ALLOW, "");
	ok(compare_bpf("default allow") == 0, "bpf == eval with default allow");
	for (int round = 0; round < 300; round++) {
		char deny[512] = "", allow[512] = "", what[1100];

		for (int list = 0; list < 2; list++) {
			char *dst = list ? allow : deny;
			int cnt;

			seed = seed * 1103515245 + 12345;
			cnt = (seed >> 16) % 6;
			for (int i = 0; i < cnt; i++) {
				seed = seed * 1103515245 + 12345;
				strcat(dst, pool[(seed >> 16) % np]);
				strcat(dst, "\n");
			}
		}
		set(K_DEVICES_DENY, deny);
		set(K_DEVICES_ALLOW, allow);
		snprintf(what, sizeof(what), "round %d deny [%s] allow [%s]", round, deny, allow);
		for (char *p = what; *p; p++)
			if (*p == '\n')
				*p = ',';
		bad += compare_bpf(what) != 0;
	}
	ok(bad == 0, "bpf == eval for 300 random rule sets (%d differ)", bad);
	free(cfg.val[K_DEVICES_ALLOW]);
	cfg.val[K_DEVICES_ALLOW] = strdup("c 1:3 x");
	cfs_err_clear(&err);
	ok(cgroup_dev_eval(&cfg, 'c', 1, 3, 1) == -EINVAL &&
		   cgroup_dev_bpf(&cfg, prog, 16, &n, &err) == -EINVAL &&
		   !strncmp(err.msg, "cgroup/devices.allow: ", 22),
	   "a rule that does not parse: EINVAL naming the file (%s)", err.msg);
}

/* Is v1 file key k one setting i may write? memory.max writes memsw too, and either
 * device list rewrites both. */
static bool own_file(int i, int k)
{
	if (k < 0)
		return false;
	if ((int)key_canonical(k) == i)
		return true;
	if (i == K_MEMORY_MAX)
		return k == K_MEMORY_SWAP_MAX;
	if (i == K_DEVICES_DENY || i == K_DEVICES_ALLOW)
		return k == K_DEVICES_DENY || k == K_DEVICES_ALLOW;
	return false;
}

/* The v1 files the planner writes are the key table's v1 files (the ones an LXC
 * "lxc.cgroup.<file>" line names), each for the setting the write is planned for. */
static void test_v1_files(void)
{
	enum key_v1_part part;
	int bad = 0, k;

	reset();
	for (int i = 0; i < K_COUNT; i++) {
		if (key_table[i].section != SEC_CGROUP || key_table[i].flags & KF_ALIAS)
			continue;
		plan(V1, i);
		for (size_t j = 0; j < nw; j++) {
			k = key_v1_lookup(w[j].file, &part);
			if (!own_file(i, k)) {
				printf("# %s plans %s\n", key_table[i].name, w[j].file);
				bad++;
			}
			if (k >= 0 && strcmp(key_v1_file(k, part), w[j].file))
				bad++;
		}
	}
	ok(bad == 0, "every v1 write is to a v1 file of the key table, of its own setting");
	bad = key_v1_lookup("memory.max", &part) >= 0 || key_v1_lookup("cpu.weight", &part) >= 0;
	ok(!bad && !key_v1_file(K_MEMORY_MAX, KEY_V1_WHOLE), "v2 names are not v1 files");
	k = key_v1_lookup("cpu.cfs_quota_us", &part);
	ok(k == K_CPU_MAX && part == KEY_V1_QUOTA, "cpu.cfs_quota_us is cpu.max's quota");
	k = key_v1_lookup("cpu.shares", &part);
	ok(k == K_CPU_SHARES && part == KEY_V1_WHOLE, "cpu.shares is the alias, whole");
}

int main(void)
{
	test_defaults();
	test_v1_files();
	test_fresh();
	test_memory();
	test_cpu();
	test_io_net();
	test_fallback();
	test_devices_v1();
	test_dev_eval();
	test_bpf();
	config_free(&cfg);
	return tap_done();
}
