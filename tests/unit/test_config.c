/* test_config.c - unit tests of a container's configuration: defaults, the INI
 * document (syntax, lists, aliases, errors, round trip) and the LXC import, current
 * keys and a 2012 file. TAP output; exits non-zero on any failure. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/parse.h"
#include "tap.h"

/* Parse doc into *c (container "web"); returns config_parse's result. */
static int parse(struct config *c, const char *doc, struct cfs_err *err)
{
	cfs_err_clear(err);
	return config_parse(c, "web", doc, strlen(doc), err);
}

/* Does key k read back as want? Prints the difference when not. */
static int is(const struct config *c, enum key_id k, const char *want)
{
	char *got = config_get(c, k);
	int same = got && !strcmp(got, want);

	if (!same)
		printf("# %s: got '%s', want '%s'\n", key_table[k].name, got ? got : "(null)", want);
	free(got);
	return same;
}

/* Does the error start with want? */
static int err_is(const struct cfs_err *err, const char *want)
{
	int same = !strncmp(err->msg, want, strlen(want));

	if (!same)
		printf("# error: got '%s', want '%s...'\n", err->msg, want);
	return same;
}

static int contains(const char *hay, const char *needle)
{
	int found = hay && strstr(hay, needle);

	if (!found)
		printf("# '%s' not found in:\n%s\n", needle, hay ? hay : "(null)");
	return found;
}

static int is_default(const struct config *c)
{
	struct config d;
	int same;

	config_init(&d, "web");
	same = config_equal(c, &d);
	config_free(&d);
	return same;
}

static void test_defaults(void)
{
	struct config c, d;
	struct cfs_err err;
	char shares[32], *ini;

	ok(config_init(&c, "web") == 0, "config_init");
	ok(is(&c, K_HOSTNAME, "web") && is(&c, K_NET_TYPE, "empty") && is(&c, K_PTS, "1024") &&
		   is(&c, K_CPU_MAX, "max 100000") && is(&c, K_DEVICES_DENY, "a"),
	   "defaults read back");
	snprintf(shares, sizeof(shares), "%llu", (unsigned long long)conv_weight_to_shares(100));
	ok(is(&c, K_CPU_SHARES, shares) && is(&c, K_MEMORY_LIMIT_IN_BYTES, "max") &&
		   c.val[K_CPU_SHARES] == NULL,
	   "aliases of the defaults are computed");
	ini = config_to_ini(&c);
	ok(ini && !strncmp(ini, "[container]\nhostname = web\n", 27), "INI starts with [container]");
	ok(contains(ini, "\n[net]\ntype = empty\n") && contains(ini, "\n[cgroup]\ncpu.weight = 100\n"),
	   "INI has [net] and [cgroup]");
	ok(contains(ini, "\nenv =\n") && contains(ini, "\nmounts =\n"), "empty lists are 'key ='");
	ok(contains(ini, "\ndevices.allow = c 1:3 rwm\ndevices.allow = c 1:5 rwm\n") &&
		   contains(ini, "\ndevices.allow = c 136:* rwm\n"),
	   "default device list repeated");
	ok(ini && !strstr(ini, "cpu.shares") && !strstr(ini, "limit_in_bytes"),
	   "no alias lines in the default INI");
	ok(ini && parse(&d, ini, &err) == 0 && config_equal(&c, &d), "default INI parses back equal");
	config_free(&d);
	ok(parse(&d, "", &err) == 0 && config_equal(&c, &d), "empty document gives the defaults");
	config_free(&d);
	free(ini);
	config_free(&c);
}

/* A valid value for every key, and how it reads back. */
static const struct {
	enum key_id k;
	const char *in, *out;
} samples[] = {
	{ K_HOSTNAME, "box-1", "box-1" },
	{ K_ROOTFS, "/srv/rootfs", "/srv/rootfs" },
	{ K_ROOTFS_OVERLAY, "1", "1" },
	{ K_INIT, "/bin/sh -c 'sleep 1'", "/bin/sh -c 'sleep 1'" },
	{ K_CWD, "/tmp", "/tmp" },
	{ K_USER, "1000:100", "1000:100" },
	{ K_ENV, "A=1", "A=1" },
	{ K_NAMESPACES, "mnt pid user", "mnt pid user" },
	{ K_IDMAP, "b 0 100000 65536", "b 0 100000 65536" },
	{ K_PRIVILEGED, "0", "0" },
	{ K_MOUNTS, "tmpfs tmp tmpfs size=10m 0 0", "tmpfs tmp tmpfs size=10m 0 0" },
	{ K_CAPS_DROP, "sys_admin CAP_NET_RAW", "sys_admin CAP_NET_RAW" },
	{ K_CAPS_KEEP, "chown", "chown" },
	{ K_SECCOMP, "default -keyctl +ptrace", "default -keyctl +ptrace" },
	{ K_TTY, "4", "4" },
	{ K_PTS, "10", "10" },
	{ K_STOP_SIGNAL, "SIGPWR", "SIGPWR" },
	{ K_STOP_TIMEOUT, "30", "30" },
	{ K_AUTOSTART, "1", "1" },
	{ K_NET_TYPE, "veth", "veth" },
	{ K_NET_LINK, "br0", "br0" },
	{ K_NET_NAME, "eth1", "eth1" },
	{ K_NET_HWADDR, "00:16:3e:xx:xx:xx", "00:16:3e:xx:xx:xx" },
	{ K_NET_MTU, "1400", "1400" },
	{ K_NET_IPV4, "10.0.3.2/24", "10.0.3.2/24" },
	{ K_NET_IPV4_GATEWAY, "10.0.3.1", "10.0.3.1" },
	{ K_NET_VETH_PAIR, "vethweb", "vethweb" },
	{ K_CPU_WEIGHT, "200", "200" },
	{ K_CPU_MAX, "50000 100000", "50000 100000" },
	{ K_CPUSET_CPUS, "0-1", "0-1" },
	{ K_CPUSET_MEMS, "0", "0" },
	{ K_MEMORY_MAX, "128M", "128M" },
	{ K_MEMORY_SWAP_MAX, "1G", "1G" },
	{ K_IO_WEIGHT, "300", "300" },
	{ K_PIDS_MAX, "100", "100" },
	{ K_DEVICES_DENY, "c 1:3 w", "c 1:3 w" },
	{ K_DEVICES_ALLOW, "b 8:0 r", "b 8:0 r" },
	{ K_NET_CLS_CLASSID, "1048577", "1048577" },
};
#define N_SAMPLES (sizeof(samples) / sizeof(samples[0]))

static void test_every_key(void)
{
	char doc[8192], *p = doc, *ini;
	struct config c, d;
	struct cfs_err err;
	int covered = 0, all = 1;

	for (int k = 0; k < K_COUNT; k++)
		covered += !(key_table[k].flags & KF_ALIAS);
	ok(covered == (int)N_SAMPLES, "a sample value for every key (%d keys)", covered);
	for (int s = 0; s < SEC_COUNT; s++) {
		p += sprintf(p, "[%s]\n", key_section_name(s));
		for (size_t i = 0; i < N_SAMPLES; i++)
			if (key_table[samples[i].k].section == (enum key_section)s)
				p += sprintf(p, "%s = %s\n", key_table[samples[i].k].name,
					     samples[i].in);
	}
	ok(parse(&c, doc, &err) == 0, "every key through INI: %s", err.msg);
	for (size_t i = 0; i < N_SAMPLES; i++)
		all &= is(&c, samples[i].k, samples[i].out);
	ok(all, "every key reads back");
	ini = config_to_ini(&c);
	ok(ini && parse(&d, ini, &err) == 0 && config_equal(&c, &d),
	   "round trip: config_to_ini -> config_parse -> config_equal");
	free(ini);
	config_free(&d);
	config_free(&c);
}

static void test_ini_syntax(void)
{
	struct config c;
	struct cfs_err err;
	char long_env[400], doc[1024];

	ok(parse(&c, "hostname=a1\r\n[net]\r\n  type   =veth  \r\n[cgroup]\r\npids.max= 5", &err) == 0 &&
		   is(&c, K_HOSTNAME, "a1") && is(&c, K_NET_TYPE, "veth") && is(&c, K_PIDS_MAX, "5"),
	   "keys before a section, optional spaces, CRLF, no final newline");
	config_free(&c);
	ok(parse(&c, "# comment\n; another\n   # indented\n\n[container]\ninit = sh -c \"a; b\" # c\n",
		 &err) == 0 &&
		   is(&c, K_INIT, "sh -c \"a; b\" # c"),
	   "comment lines skipped, ';' and '#' kept inside a value");
	config_free(&c);
	ok(parse(&c, "env = A=1\nenv = B=2\nhostname = h\nenv = C=x;y\n", &err) == 0 &&
		   is(&c, K_ENV, "A=1\nB=2\nC=x;y"),
	   "a list repeated accumulates");
	config_free(&c);
	ok(parse(&c, "[cgroup]\ndevices.allow =\n", &err) == 0 && is(&c, K_DEVICES_ALLOW, "") &&
		   is(&c, K_DEVICES_DENY, "a"),
	   "'key =' empties a list; unnamed lists keep defaults");
	config_free(&c);
	ok(parse(&c,
		 "[cgroup]\ndevices.allow = c 1:3 rwm\n[container]\ntty = 1\n[cgroup]\n"
		 "devices.allow = c 1:5 rwm\n",
		 &err) == 0 &&
		   is(&c, K_DEVICES_ALLOW, "c 1:3 rwm\nc 1:5 rwm"),
	   "a list across repeated sections");
	config_free(&c);
	ok(parse(&c, "tty = 1\ntty = 2\n", &err) == 0 && is(&c, K_TTY, "2"),
	   "a one-line key twice: the last wins");
	config_free(&c);
	memset(long_env, 'v', sizeof(long_env));
	memcpy(long_env, "LONG=", 5);
	long_env[sizeof(long_env) - 1] = '\0';
	snprintf(doc, sizeof(doc), "env = %s\n", long_env);
	ok(parse(&c, doc, &err) == 0 && is(&c, K_ENV, long_env), "a 400-char line is accepted");
	config_free(&c);
}

static void test_ini_long(void)
{
	size_t n = CFS_MAX_VALUE - 1;
	char *doc = malloc(n + 32);
	struct config c, d;
	struct cfs_err err;
	char *ini;

	strcpy(doc, "init = ");
	memset(doc + 7, 'x', n);
	strcpy(doc + 7 + n, "\n");
	ok(parse(&c, doc, &err) == 0, "a value of %zu bytes is accepted: %s", n, err.msg);
	ini = config_to_ini(&c);
	ok(ini && parse(&d, ini, &err) == 0 && config_equal(&c, &d),
	   "a longest value survives the round trip");
	free(ini);
	config_free(&c);
	config_free(&d);
	strcpy(doc + 7 + n, "yy\n");
	ok(parse(&c, doc, &err) == -EINVAL && err_is(&err, "line 1: init: value too long"),
	   "a longer value is refused");
	config_free(&c);
	free(doc);
}

static void test_ini_errors(void)
{
	struct config c;
	struct cfs_err err;

	ok(parse(&c, "[container]\nhostname = x\nfoo = 1\n", &err) == -EINVAL &&
		   err_is(&err, "line 3: unknown key 'foo' in [container]") && err.code == EINVAL,
	   "unknown key names the line and section");
	config_free(&c);
	ok(parse(&c, "[net]\n\nmemory.max = 1\n", &err) == -EINVAL &&
		   err_is(&err, "line 3: unknown key 'memory.max' in [net]"),
	   "a key in the wrong section");
	config_free(&c);
	ok(parse(&c, "tty = 1\n[bogus]\n", &err) == -EINVAL &&
		   err_is(&err, "line 2: unknown section '[bogus]'"),
	   "unknown section");
	config_free(&c);
	ok(parse(&c, "[net\n", &err) == -EINVAL && err_is(&err, "line 1: "), "broken header");
	config_free(&c);
	ok(parse(&c, "hostname\n", &err) == -EINVAL && err_is(&err, "line 1: expected"),
	   "a line without '='");
	config_free(&c);
	ok(parse(&c, "[container]\ntty = 1\n\n\n# x\n[cgroup]\nmemory.max = 12X\n", &err) == -EINVAL &&
		   err_is(&err, "line 7: cgroup/memory.max: "),
	   "a bad value names line and file: %s", err.msg);
	config_free(&c);
	ok(parse(&c, "env = A=1\nenv = 1BAD\n", &err) == -EINVAL && err_is(&err, "line 2: env: "),
	   "a bad list line names its own line: %s", err.msg);
	config_free(&c);
	ok(parse(&c, "hostname = web\ntty = 1\nstop.signal = SIGNOPE\n", &err) == -EINVAL &&
		   is_default(&c),
	   "all or nothing: an error leaves the defaults");
	config_free(&c);
	ok(parse(&c, "hostname =\n", &err) == -EINVAL && err_is(&err, "line 1: hostname: "),
	   "an empty value goes through the checker");
	config_free(&c);
}

static void test_aliases(void)
{
	struct config c, d;
	struct cfs_err err;
	char want[32], *ini;

	snprintf(want, sizeof(want), "%llu", (unsigned long long)conv_shares_to_weight(512));
	ok(parse(&c, "[cgroup]\ncpu.shares = 512\n", &err) == 0 && is(&c, K_CPU_SHARES, "512") &&
		   is(&c, K_CPU_WEIGHT, want),
	   "cpu.shares=512 reads back 512, cpu.weight %s", want);
	ini = config_to_ini(&c);
	ok(contains(ini, "cpu.weight = ") && contains(ini, "\ncpu.shares = 512\n"),
	   "the alias spelling is written after its setting");
	ok(ini && parse(&d, ini, &err) == 0 && config_equal(&c, &d) && is(&d, K_CPU_SHARES, "512"),
	   "the alias survives the round trip");
	free(ini);
	config_free(&c);
	config_free(&d);
	ok(parse(&c, "[cgroup]\ncpu.shares = 512\ncpu.weight = 300\n", &err) == 0 &&
		   is(&c, K_CPU_WEIGHT, "300") && c.val[K_CPU_SHARES] == NULL,
	   "a later canonical line wins over the alias");
	config_free(&c);
	ok(parse(&c, "[cgroup]\nmemory.limit_in_bytes = 64M\nblkio.weight = 500\n", &err) == 0 &&
		   is(&c, K_MEMORY_MAX, "64M") && is(&c, K_MEMORY_LIMIT_IN_BYTES, "64M") &&
		   is(&c, K_BLKIO_WEIGHT, "500"),
	   "memory.limit_in_bytes and blkio.weight");
	config_free(&c);
	ok(parse(&c, "[cgroup]\ncpu.shares = 1\n", &err) == -EINVAL &&
		   err_is(&err, "line 2: cgroup/cpu.shares: "),
	   "an alias's own range is checked");
	config_free(&c);
}

static const char lxc2012[] =
	"lxc.utsname=debian\n"
	"lxc.tty=4\n"
	"lxc.rootfs=/usr/local/var/lib/lxc/debian/rootfs\n"
	"lxc.pts=1024\n"
	"lxc.network.type=veth\n"
	"lxc.network.ipv4=10.77.1.253/24\n"
	"lxc.network.hwaddr=00:16:3E:4D:01:FD\n"
	"lxc.network.veth.pair=veth1-0\n"
	"lxc.mount.entry=proc /usr/local/var/lib/lxc/debian/rootfs/proc proc nodev,noexec,nosuid 0 0\n"
	"lxc.mount.entry=sysfs /usr/local/var/lib/lxc/debian/rootfs/sys sysfs defaults 0 0\n"
	"lxc.cgroup.memory.limit_in_bytes=134217728\n"
	"lxc.cgroup.devices.deny=all\n"
	"lxc.cgroup.devices.allow=c 1:3 rwm # /dev/null\n"
	"lxc.cgroup.devices.allow=c 1:5 rwm # /dev/zero\n";

static void test_lxc_2012(void)
{
	struct config c, d;
	struct cfs_err err;
	char *ini;

	ok(config_is_lxc(lxc2012, strlen(lxc2012)), "the 2012 file is detected as LXC");
	ok(parse(&c, lxc2012, &err) == 0, "the 2012 file imports: %s", err.msg);
	ok(is(&c, K_HOSTNAME, "debian") && is(&c, K_TTY, "4") && is(&c, K_PTS, "1024") &&
		   is(&c, K_ROOTFS, "/usr/local/var/lib/lxc/debian/rootfs"),
	   "2012: container keys");
	ok(is(&c, K_NET_TYPE, "veth") && is(&c, K_NET_IPV4, "10.77.1.253/24") &&
		   is(&c, K_NET_HWADDR, "00:16:3E:4D:01:FD") && is(&c, K_NET_VETH_PAIR, "veth1-0") &&
		   is(&c, K_NET_NAME, "eth0"),
	   "2012: network");
	ok(is(&c, K_MOUNTS, "proc proc proc nodev,noexec,nosuid 0 0\nsysfs sys sysfs defaults 0 0"),
	   "2012: mount targets made relative to the rootfs");
	ok(is(&c, K_MEMORY_MAX, "134217728") && is(&c, K_MEMORY_LIMIT_IN_BYTES, "134217728") &&
		   c.val[K_MEMORY_LIMIT_IN_BYTES],
	   "2012: memory limit, alias spelling remembered");
	ok(is(&c, K_DEVICES_DENY, "all") && is(&c, K_DEVICES_ALLOW, "c 1:3 rwm\nc 1:5 rwm"),
	   "2012: devices, comments stripped, allow list replaced");
	ok(is(&c, K_CAPS_DROP, key_default(K_CAPS_DROP, "web")) && is(&c, K_INIT, "") &&
		   is(&c, K_CPU_WEIGHT, "100"),
	   "2012: what the file does not name keeps its default");
	ini = config_to_ini(&c);
	ok(contains(ini, "hostname = debian\n") && contains(ini, "\ntype = veth\n") &&
		   contains(ini, "\nmounts = proc proc proc nodev,noexec,nosuid 0 0\n"
				 "mounts = sysfs sys sysfs defaults 0 0\n") &&
		   contains(ini, "\nmemory.max = 134217728\nmemory.limit_in_bytes = 134217728\n") &&
		   contains(ini, "\ndevices.deny = all\ndevices.allow = c 1:3 rwm\n"
				 "devices.allow = c 1:5 rwm\n"),
	   "2012: reads back as the equivalent INI");
	ok(ini && parse(&d, ini, &err) == 0 && config_equal(&c, &d), "2012: the INI parses back equal");
	free(ini);
	config_free(&c);
	config_free(&d);
}

static void test_lxc_current(void)
{
	static const char doc[] =
		"# a current LXC file\n"
		"lxc.uts.name = web2\n"
		"lxc.rootfs.path = dir:/var/lib/lxc/web2/rootfs\n"
		"lxc.init.cmd = /sbin/init --log-level=debug\n"
		"lxc.init.cwd = /root\n"
		"lxc.tty.max = 2\n"
		"lxc.pty.max = 16\n"
		"lxc.signal.halt = SIGPWR\n"
		"lxc.start.auto = 1\n"
		"lxc.environment = PATH=/bin\n"
		"lxc.environment = TERM=xterm\n"
		"lxc.idmap = u 0 100000 65536\n"
		"lxc.idmap = g 0 100000 65536\n"
		"lxc.cap.drop = sys_module mac_admin\n"
		"lxc.cap.drop = sys_time\n"
		"lxc.mount.entry = /srv data none bind,create=dir 0 0\n"
		"lxc.net.0.type = veth\n"
		"lxc.net.0.link = lxcbr0\n"
		"lxc.net.0.flags = up\n"
		"lxc.net.0.name = eth1\n"
		"lxc.net.0.mtu = 1500\n"
		"lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n"
		"lxc.net.0.ipv4.address = 10.0.3.5/24 10.0.3.255\n"
		"lxc.net.0.ipv4.gateway = 10.0.3.1\n"
		"lxc.cgroup2.memory.max = 256M\n"
		"lxc.cgroup2.memory.swap.max = 0\n"
		"lxc.cgroup2.cpu.weight = 50\n"
		"lxc.cgroup2.cpu.max = 20000 100000\n"
		"lxc.cgroup2.cpuset.cpus = 0\n"
		"lxc.cgroup2.pids.max = 64\n"
		"lxc.cgroup2.io.weight = 10\n"
		"lxc.cgroup2.devices.deny = a\n"
		"lxc.cgroup2.devices.allow = c 1:3 rwm\n";
	struct config c;
	struct cfs_err err;

	ok(parse(&c, doc, &err) == 0, "a current LXC file imports: %s", err.msg);
	ok(is(&c, K_HOSTNAME, "web2") && is(&c, K_ROOTFS, "/var/lib/lxc/web2/rootfs") &&
		   is(&c, K_INIT, "/sbin/init --log-level=debug") && is(&c, K_CWD, "/root") &&
		   is(&c, K_TTY, "2") && is(&c, K_PTS, "16"),
	   "current: container keys, dir: stripped");
	ok(is(&c, K_STOP_SIGNAL, "SIGPWR") && is(&c, K_AUTOSTART, "1"),
	   "current: lxc.signal.halt, lxc.start.auto");
	ok(is(&c, K_ENV, "PATH=/bin\nTERM=xterm") &&
		   is(&c, K_IDMAP, "u 0 100000 65536\ng 0 100000 65536"),
	   "current: environment, idmap");
	ok(is(&c, K_CAPS_DROP, "sys_module mac_admin sys_time"), "current: cap.drop lines append");
	ok(is(&c, K_MOUNTS, "/srv data none bind,create=dir 0 0"), "current: relative mount kept");
	ok(is(&c, K_NET_TYPE, "veth") && is(&c, K_NET_LINK, "lxcbr0") && is(&c, K_NET_NAME, "eth1") &&
		   is(&c, K_NET_MTU, "1500") && is(&c, K_NET_HWADDR, "00:16:3e:xx:xx:xx") &&
		   is(&c, K_NET_IPV4, "10.0.3.5/24") && is(&c, K_NET_IPV4_GATEWAY, "10.0.3.1"),
	   "current: lxc.net.0.*, broadcast dropped");
	ok(is(&c, K_MEMORY_MAX, "256M") && is(&c, K_MEMORY_SWAP_MAX, "0") &&
		   is(&c, K_CPU_WEIGHT, "50") && is(&c, K_CPU_MAX, "20000 100000") &&
		   is(&c, K_CPUSET_CPUS, "0") && is(&c, K_PIDS_MAX, "64") && is(&c, K_IO_WEIGHT, "10") &&
		   is(&c, K_DEVICES_DENY, "a") && is(&c, K_DEVICES_ALLOW, "c 1:3 rwm"),
	   "current: lxc.cgroup2.*");
	config_free(&c);
}

static void test_lxc_details(void)
{
	struct config c;
	struct cfs_err err;

	ok(parse(&c, "lxc.cap.drop = sys_module\nlxc.cap.drop =\n", &err) == 0 &&
		   is(&c, K_CAPS_DROP, ""),
	   "an empty lxc.cap.drop clears the list");
	config_free(&c);
	ok(parse(&c, "lxc.cap.keep = chown\nlxc.cap.keep = none\n", &err) == 0 &&
		   is(&c, K_CAPS_KEEP, ""),
	   "lxc.cap.keep = none empties the keep list");
	config_free(&c);
	ok(parse(&c, "lxc.cap.keep = chown kill\n", &err) == 0 && is(&c, K_CAPS_KEEP, "chown kill") &&
		   is(&c, K_CAPS_DROP, ""),
	   "a keep list alone means only those");
	config_free(&c);
	ok(parse(&c, "lxc.environment = A=1\nlxc.environment =\nlxc.environment = B=2\n", &err) == 0 &&
		   is(&c, K_ENV, "B=2"),
	   "an empty list value clears what came before");
	config_free(&c);
	ok(parse(&c, "lxc.mount.entry = proc /r/proc proc defaults 0 0\nlxc.rootfs.path = /r/\n",
		 &err) == 0 &&
		   is(&c, K_MOUNTS, "proc proc proc defaults 0 0"),
	   "rootfs given after the mounts, with a trailing slash");
	config_free(&c);
	ok(parse(&c, "lxc.rootfs = /r\nlxc.mount.entry = /x   /rx  none   bind 0 0\n", &err) == 0 &&
		   is(&c, K_MOUNTS, "/x /rx none bind 0 0"),
	   "a target merely starting like the rootfs stays");
	config_free(&c);
	ok(parse(&c, "lxc.id_map = u 0 1000 1\nlxc.id_map = g 0 1000 1\nlxc.init_cmd = /bin/sh\nlxc.haltsignal = 30\n", &err) == 0 &&
		   is(&c, K_IDMAP, "u 0 1000 1\ng 0 1000 1") && is(&c, K_INIT, "/bin/sh") && is(&c, K_STOP_SIGNAL, "30"),
	   "more 2012 spellings");
	config_free(&c);
	ok(parse(&c, "lxc.network.0.type = empty\n", &err) == 0 && is(&c, K_NET_TYPE, "empty"),
	   "lxc.network.0.* (LXC 2.x)");
	config_free(&c);
	ok(parse(&c, "lxc.net.0.type = none\r\nlxc.uts.name = x\r\n", &err) == 0 &&
		   is(&c, K_NET_TYPE, "none") && is(&c, K_HOSTNAME, "x"),
	   "CRLF in an LXC file");
	config_free(&c);
}

static void test_lxc_cgroup_v1(void)
{
	struct config c;
	struct cfs_err err;
	char want[32];

	ok(parse(&c,
		 "lxc.cgroup.memory.limit_in_bytes = 256M\n"
		 "lxc.cgroup.memory.memsw.limit_in_bytes = 384M\n",
		 &err) == 0 &&
		   is(&c, K_MEMORY_SWAP_MAX, "134217728"),
	   "memsw - memory = swap.max");
	config_free(&c);
	ok(parse(&c,
		 "lxc.cgroup.memory.memsw.limit_in_bytes = 512M\n"
		 "lxc.cgroup.memory.limit_in_bytes = 256M\n",
		 &err) == 0 &&
		   is(&c, K_MEMORY_SWAP_MAX, "268435456"),
	   "memsw before the memory limit");
	config_free(&c);
	ok(parse(&c, "lxc.cgroup.memory.memsw.limit_in_bytes = -1\n", &err) == 0 &&
		   is(&c, K_MEMORY_SWAP_MAX, "max"),
	   "memsw -1 with no memory limit");
	config_free(&c);
	ok(parse(&c, "lxc.cgroup.memory.memsw.limit_in_bytes = 1G\n", &err) == -EINVAL &&
		   err_is(&err, "line 1: lxc.cgroup.memory.memsw.limit_in_bytes: "),
	   "memsw without a memory limit: %s", err.msg);
	config_free(&c);
	ok(parse(&c,
		 "lxc.cgroup.memory.limit_in_bytes = 1G\n"
		 "lxc.cgroup.memory.memsw.limit_in_bytes = 512M\n",
		 &err) == -EINVAL &&
		   err_is(&err, "line 2: "),
	   "memsw below memory: %s", err.msg);
	config_free(&c);
	ok(parse(&c, "lxc.cgroup.cpu.cfs_quota_us = 50000\nlxc.cgroup.cpu.cfs_period_us = 200000\n",
		 &err) == 0 &&
		   is(&c, K_CPU_MAX, "50000 200000"),
	   "cfs quota + period = cpu.max");
	config_free(&c);
	ok(parse(&c, "lxc.cgroup.cpu.cfs_quota_us = -1\n", &err) == 0 &&
		   is(&c, K_CPU_MAX, "max 100000"),
	   "quota -1 = max, default period");
	config_free(&c);
	ok(parse(&c, "lxc.cgroup.cpu.cfs_period_us = 50000\n", &err) == 0 &&
		   is(&c, K_CPU_MAX, "max 50000"),
	   "period alone");
	config_free(&c);
	snprintf(want, sizeof(want), "%llu", (unsigned long long)conv_shares_to_weight(512));
	ok(parse(&c,
		 "lxc.cgroup.cpu.shares = 512\nlxc.cgroup.blkio.weight = 500\n"
		 "lxc.cgroup.cpuset.cpus = 0-1\nlxc.cgroup.cpuset.mems = 0\nlxc.cgroup.pids.max = 9\n"
		 "lxc.cgroup.net_cls.classid = 65537\n",
		 &err) == 0 &&
		   is(&c, K_CPU_SHARES, "512") && is(&c, K_CPU_WEIGHT, want) && is(&c, K_BLKIO_WEIGHT, "500") &&
		   is(&c, K_CPUSET_CPUS, "0-1") && is(&c, K_CPUSET_MEMS, "0") && is(&c, K_PIDS_MAX, "9") &&
		   is(&c, K_NET_CLS_CLASSID, "65537"),
	   "other v1 files");
	config_free(&c);
	ok(parse(&c, "lxc.cgroup.memory.limit_in_bytes = 1G\nlxc.cgroup2.memory.max = 2G\n", &err) == 0 &&
		   is(&c, K_MEMORY_MAX, "2G") && c.val[K_MEMORY_LIMIT_IN_BYTES] == NULL,
	   "v1 then v2 spelling: the later wins");
	config_free(&c);
}

static void test_lxc_errors(void)
{
	static const struct {
		const char *doc, *msg;
	} bad[] = {
		{ "lxc.uts.name = a\nlxc.foo = 1\n", "line 2: unsupported LXC key 'lxc.foo'" },
		{ "lxc.include = /usr/share/lxc/config/common.conf\n", "line 1: unsupported LXC key" },
		{ "lxc.net.0.type = macvlan\n", "line 1: lxc.net.0.type: network type 'macvlan'" },
		{ "lxc.network.type = phys\n", "line 1: lxc.network.type: network type 'phys'" },
		{ "lxc.network.type = veth\nlxc.network.type = veth\n",
		  "line 2: lxc.network.type: only one network interface" },
		{ "lxc.net.1.type = veth\n", "line 1: lxc.net.1.type: only one network interface" },
		{ "lxc.net.0.type = veth\nlxc.net.0.ipv4.gateway = auto\n",
		  "line 2: lxc.net.0.ipv4.gateway: 'auto' is not supported" },
		{ "lxc.net.0.type = veth\nlxc.net.0.ipv4.address = 10.0.0.1/8\n"
		  "lxc.net.0.ipv4.address = 10.0.0.2/8\n",
		  "line 3: lxc.net.0.ipv4.address: only one" },
		{ "lxc.net.0.type = veth\nlxc.net.0.flags = down\n", "line 2: lxc.net.0.flags: only 'up'" },
		{ "lxc.net.0.type = veth\nlxc.net.0.ipv6.address = ::1/64\n",
		  "line 2: unsupported LXC key 'lxc.net.0.ipv6.address'" },
		{ "lxc.network.link = br0\n", "line 1: lxc.network.link comes before the network type" },
		{ "lxc.net.0.script.up = /bin/true\n", "line 1: unsupported LXC key 'lxc.net.0.script.up'" },
		{ "lxc.cgroup.freezer.state = FROZEN\n", "line 1: unsupported LXC key" },
		{ "lxc.cgroup2.cpu.shares = 100\n", "line 1: unsupported LXC key" },
		{ "lxc.cgroup.memory.limit_in_bytes = 12X\n",
		  "line 1: lxc.cgroup.memory.limit_in_bytes: " },
		{ "lxc.cgroup.devices.allow = c 1:3 rwx # null\n", "line 1: lxc.cgroup.devices.allow: " },
		{ "lxc.tty = 4\nlxc.rootfs = /r\nlxc.mount.entry = proc\n", "line 3: lxc.mount.entry: " },
		{ "lxc.tty.max = 4\nnot a key\n", "line 2: expected" },
		{ "lxc.tty.max = 4\nfoo = 1\n", "line 2: unsupported LXC key 'foo'" },
	};
	struct config c;
	struct cfs_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(&c, bad[i].doc, &err);

		ok(r == -EINVAL && err.code == EINVAL && err_is(&err, bad[i].msg) && is_default(&c),
		   "LXC error, defaults kept: %s", bad[i].msg);
		config_free(&c);
	}
}

static void test_check_lines(void)
{
	struct cfs_err err;
	const char *ini = "[net]\ntype = veth\nmtu = 9";
	const char *lxc = "lxc.mount.entry = proc /r/proc proc defaults 0 0\nlxc.tty = ";

	ok(config_check_lines(ini, strlen(ini), &err) == 0, "check_lines ignores an unfinished line");
	ok(config_check_lines("", 0, &err) == 0 && config_check_lines("[net", 4, &err) == 0,
	   "check_lines with no complete line");
	ok(config_check_lines("[net]\nmtu = 9\n", 14, &err) == -EINVAL && err_is(&err, "line 2: "),
	   "check_lines reports a bad complete line");
	ok(config_check_lines(lxc, strlen(lxc), &err) == 0, "check_lines on a partial LXC file");
	ok(config_check_lines("lxc.tty = x\nlxc.pts = 1", 23, &err) == -EINVAL &&
		   err_is(&err, "line 1: lxc.tty: "),
	   "check_lines on a bad LXC line: %s", err.msg);
}

/* A pending list is not NUL-terminated: normalising one of blanks only must read
 * nothing beyond it (the SAN build catches an over-read). */
static void test_unterminated_blank_list(void)
{
	static const char blanks[] = " \t \n  ";

	for (size_t n = 1; n < sizeof(blanks); n++) {
		char *buf = malloc(n), *out = NULL;
		struct cfs_err e = { 0 };

		memcpy(buf, blanks, n);
		ok(key_normalise(K_ENV, buf, n, &out, &e) == 0 && out && !*out,
		   "env of %zu blank bytes, unterminated: an empty list", n);
		free(out);
		free(buf);
	}
}

/* One accessor and typed getters: never NULL, defaults and ranges from the key table. */
static void test_accessors(void)
{
	struct config z, c;
	struct cfs_err e;
	uint64_t v;
	int same = 1, r;

	memset(&z, 0, sizeof(z));	/* no slot filled: every key reads as its default */
	for (int k = 0; k < K_COUNT; k++) {
		const char *got = config_val(&z, k);
		const char *want = k == K_HOSTNAME ? "" : key_default(k, "");

		if (!got || strcmp(got, want)) {
			printf("# %s: got '%s', want '%s'\n", key_table[k].name, got ? got : "(null)", want);
			same = 0;
		}
	}
	ok(same, "config_val of an empty configuration: the key table's defaults, never NULL");
	ok(config_uint(&z, K_PTS, &v, NULL) == 0 && v == 1024, "pts: 1024 by default");
	ok(config_uint(&z, K_STOP_TIMEOUT, &v, NULL) == 0 && v == 10, "stop.timeout: 10 by default");
	ok(config_uint(&z, K_NET_MTU, &v, NULL) == 1 && v == 0, "net/mtu: empty by default (1)");
	ok(config_uint(&z, K_PIDS_MAX, &v, NULL) == 0 && v == CFS_UNLIMITED, "pids.max: max");
	ok(!config_bool(&z, K_PRIVILEGED) && !config_privileged(&z), "privileged: 0 by default");
	ok(config_alias(&z, K_CPU_SHARES) == NULL && config_alias(&z, K_CPU_WEIGHT) == NULL,
	   "no alias text unless written through the alias");

	ok(parse(&c,
		 "[container]\ntty = 64\nautostart = 1\n[net]\nmtu = 9000\n"
		 "[cgroup]\ncpu.shares = 512\n",
		 &e) == 0,
	   "a configuration with numbers");
	ok(config_uint(&c, K_TTY, &v, NULL) == 0 && v == 64, "tty: 64");
	ok(config_uint(&c, K_NET_MTU, &v, NULL) == 0 && v == 9000, "net/mtu: 9000");
	ok(config_bool(&c, K_AUTOSTART), "autostart: 1");
	ok(config_alias(&c, K_CPU_SHARES) && !strcmp(config_alias(&c, K_CPU_SHARES), "512"),
	   "cpu.shares: the text written through it");
	config_free(&c);

	/* the ranges of the table, with the texts the checks always gave */
	cfs_err_clear(&e);
	r = key_check_line(K_TTY, "65", &e);
	ok(r == -EINVAL && err_is(&e, "tty: '65' is out of range (0 to 64)"), "tty: %s", e.msg);
	cfs_err_clear(&e);
	r = key_check_line(K_CPU_SHARES, "1", &e);
	ok(r == -EINVAL && err_is(&e, "cgroup/cpu.shares: '1' is out of range (2 to 262144)"),
	   "cpu.shares: %s", e.msg);
	cfs_err_clear(&e);
	r = key_check_line(K_NET_MTU, "67", &e);
	ok(r == -EINVAL && err_is(&e, "net/mtu: '67' is out of range (68 to 65535)"), "mtu: %s", e.msg);
	ok(key_check_line(K_NET_MTU, "", NULL) == 0, "mtu: empty is accepted");
	ok(key_check_line(K_PIDS_MAX, "max", NULL) == 0 && key_check_line(K_TTY, "max", NULL) < 0,
	   "max only where the row allows it");
	cfs_err_clear(&e);
	r = key_number(K_STOP_TIMEOUT, "soon", &v, &e);
	ok(r == -EINVAL && v == 10 && err_is(&e, "stop.timeout: 'soon' is not a decimal number"),
	   "not a number: the default, and the error names the file: %s", e.msg);
	same = 1;
	for (int k = 0; k < K_COUNT; k++)
		if (key_table[k].parse ? key_table[k].min || key_table[k].max
				       : key_table[k].min > key_table[k].max || !key_table[k].max)
			same = 0;
	ok(same, "a row is a number with a range or has its parser");
	same = 1;
	for (int k = 0; k < K_COUNT; k++) {	/* a number's range the reference shows is the row's */
		const char *d = key_table[k].doc;
		unsigned long long lo = 0, hi = 0;

		if (key_table[k].parse)
			continue;
		for (; *d; d++)
			if (d[0] >= '0' && d[0] <= '9' && sscanf(d, "%llu-%llu", &lo, &hi) == 2)
				break;
		if (*d && (lo != key_table[k].min || hi != key_table[k].max)) {
			printf("# %s: the documentation says %llu-%llu\n", key_table[k].name, lo, hi);
			same = 0;
		}
	}
	ok(same, "the ranges in the documentation lines are the table's");

	/* a list's lines, one by one */
	const char *pos = "c 1:3 rwm\n\nc 5:0 rwm\n", *line;
	char got[64] = "";
	size_t len, lines = 0;

	while (config_next_line(&pos, &line, &len)) {
		lines++;
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "[%.*s]", (int)len, line);
	}
	ok(lines == 3 && !strcmp(got, "[c 1:3 rwm][][c 5:0 rwm]"), "the lines of a list: %s", got);
	pos = config_val(&z, K_ENV);
	ok(!config_next_line(&pos, &line, &len), "an empty list has no line");
}

/* Context is added once, decided by what was recorded, never by the sentence. */
static void test_error_context(void)
{
	struct cfs_err e = { 0 };

	cfs_err_set_in(&e, "start", EINVAL, "rootfs '%s' is not a directory", "/x");
	cfs_err_context(&e, "start");
	ok(!strcmp(e.msg, "start: rootfs '/x' is not a directory") && e.code == EINVAL,
	   "an inner context is not added again: %s", e.msg);
	cfs_err_set(&e, EINVAL, "startup file missing");
	cfs_err_context(&e, "start");
	ok(!strcmp(e.msg, "start: startup file missing"),
	   "a sentence that merely begins with the word gets its context: %s", e.msg);
	cfs_err_set(&e, ESRCH, "tasks file gone");
	cfs_err_context(&e, "tasks");
	ok(!strcmp(e.msg, "tasks: tasks file gone"), "tasks: %s", e.msg);
	cfs_err_prefix_in(&e, "config", "line %d", 3);
	cfs_err_context(&e, "config");
	ok(!strcmp(e.msg, "config: line 3: tasks: tasks file gone"), "prefix, then context: %s", e.msg);
	cfs_err_prefix(&e, "web");
	cfs_err_context(&e, "config");
	ok(!strcmp(e.msg, "config: web: config: line 3: tasks: tasks file gone"),
	   "a prefix after the context: the context is no longer first");
	cfs_err_context(NULL, "start");
	cfs_err_prefix_in(NULL, "start", "x");
	ok(cfs_err_set_in(NULL, "start", EIO, "x") == -EIO, "err may be NULL");
	cfs_err_clear(&e);
	ok(!e.msg[0] && !e.code && !e.context, "cleared");
}

int main(void)
{
	test_error_context();
	test_accessors();
	test_defaults();
	test_every_key();
	test_ini_syntax();
	test_ini_long();
	test_ini_errors();
	test_aliases();
	test_lxc_2012();
	test_lxc_current();
	test_lxc_details();
	test_lxc_cgroup_v1();
	test_lxc_errors();
	test_check_lines();
	test_unterminated_blank_list();
	return tap_done();
}
