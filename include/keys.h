/* keys.h - THE table of settings. One row per file: section, name, flags, default,
 * parser, alias conversions, LXC names and a line of documentation. Listing, lookup,
 * validation, defaults, INI read/write, LXC import, persistence and the reference in
 * doc/ are all driven from it. */
#ifndef CFS_KEYS_H
#define CFS_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum key_section {
	SEC_CONTAINER,
	SEC_NET,
	SEC_CGROUP,
	SEC_COUNT
};

enum key_id {
	K_HOSTNAME,
	K_ROOTFS,
	K_ROOTFS_OVERLAY,
	K_INIT,
	K_CWD,
	K_USER,
	K_ENV,
	K_NAMESPACES,
	K_IDMAP,
	K_PRIVILEGED,
	K_MOUNTS,
	K_CAPS_DROP,
	K_CAPS_KEEP,
	K_SECCOMP,
	K_TTY,
	K_PTS,
	K_STOP_SIGNAL,
	K_STOP_TIMEOUT,
	K_AUTOSTART,
	K_NET_TYPE,
	K_NET_LINK,
	K_NET_NAME,
	K_NET_HWADDR,
	K_NET_MTU,
	K_NET_IPV4,
	K_NET_IPV4_GATEWAY,
	K_NET_VETH_PAIR,
	K_CPU_WEIGHT,
	K_CPU_MAX,
	K_CPUSET_CPUS,
	K_CPUSET_MEMS,
	K_MEMORY_MAX,
	K_MEMORY_SWAP_MAX,
	K_IO_WEIGHT,
	K_PIDS_MAX,
	K_DEVICES_DENY,
	K_DEVICES_ALLOW,
	K_NET_CLS_CLASSID,
	/* hidden v1 aliases: not listed, map onto the setting in alias_of */
	K_CPU_SHARES,
	K_MEMORY_LIMIT_IN_BYTES,
	K_BLKIO_WEIGHT,
	K_COUNT
};

#define KF_LIST 0x01u		/* one item a line; validated per line, applied at close */
#define KF_ALIAS 0x02u		/* hidden alias of alias_of: works by name, not listed */
#define KF_LIVE 0x04u		/* may change while the container runs (applied at once) */
#define KF_OR_EMPTY 0x08u	/* a number: or empty (unset) */
#define KF_OR_MAX 0x10u		/* a number: or max (unlimited, CFS_UNLIMITED) */

/* The largest tty setting: also the size of the arrays that hold the ttys. */
#define KEY_TTY_MAX 64

/* Check one value (or one line of a list) and write its normalised text to out.
 * Returns 0 or -errno with err->msg describing the value (without the file name). */
typedef int (*key_parse_fn)(const char *in, char *out, size_t n, struct cfs_err *err);
/* Convert between an alias's text and its canonical setting's text. */
typedef int (*key_conv_fn)(const char *in, char *out, size_t n);

struct key_def {
	enum key_id id;
	enum key_section section;
	const char *name;	/* file name in the section's directory, INI key */
	unsigned flags;
	const char *def;	/* default text; lists: lines joined by '\n'; "" = empty */
	key_parse_fn parse;	/* NULL: the value is a decimal number within min..max */
	uint64_t min, max;	/* a number's range (parse NULL) */
	enum key_id alias_of;	/* KF_ALIAS only */
	key_conv_fn to_canon;	/* KF_ALIAS only: alias text -> canonical text */
	key_conv_fn from_canon;	/* KF_ALIAS only: canonical text -> alias text */
	const char *lxc;	/* current LXC key mapped 1:1, or NULL */
	const char *lxc_legacy;	/* 2012 LXC key mapped 1:1, or NULL */
	const char *doc;	/* one line for the reference */
};

extern const struct key_def key_table[K_COUNT];

/* The setting k stands for: its alias_of for a hidden alias, else k itself. */
static inline enum key_id key_canonical(enum key_id k)
{
	return (key_table[k].flags & KF_ALIAS) ? key_table[k].alias_of : k;
}

/* Section names: "container", "net", "cgroup"; and the directory a section's files
 * live in, relative to the container directory: "", "net", "cgroup". */
const char *key_section_name(enum key_section s);
const char *key_section_dir(enum key_section s);
int key_section_from_name(const char *s);	/* -1 if unknown */

/* Find a key by section and file name (aliases included); -1 if none. */
int key_lookup(enum key_section s, const char *name);

/* The default of key k for a container called name (hostname defaults to the name). */
const char *key_default(enum key_id k, const char *name);

/* Check and normalise a whole value of key k: a one-line value must not contain a
 * newline; a list is checked line by line (empty lines dropped) and joined with '\n'.
 * *out is malloc'd. The error names the file ("cgroup/memory.max: ..."). */
int key_normalise(enum key_id k, const char *value, size_t len, char **out, struct cfs_err *err);

/* Check a whole normalised value where its lines depend on each other (idmap: no
 * overlapping ranges, root mapped). 0 or -errno with err naming the file. */
int key_check_whole(enum key_id k, const char *norm, struct cfs_err *err);

/* Check one value (or one line of a list) of key k with its row's parser or range and
 * write its normalised text to out. The error describes the value, without the file
 * name (key_check_line and key_normalise add it). */
int key_parse(enum key_id k, const char *in, char *out, size_t n, struct cfs_err *err);

/* The number a value of number key k (a row without parser) stands for, max being
 * CFS_UNLIMITED: 0; 1 if the value is empty (unset); -EINVAL with err naming the file
 * if it is not a number in the key's range, and then *out is the default's number
 * (0 if it has none). */
int key_number(enum key_id k, const char *value, uint64_t *out, struct cfs_err *err);

/* Check one line of a list key (no newline inside). */
int key_check_line(enum key_id k, const char *line, struct cfs_err *err);

/* "net/mtu", "cgroup/memory.max", "hostname": the path of k inside a container dir. */
const char *key_path(enum key_id k, char *buf, size_t n);

/* The cgroup v1 files a [cgroup] setting is written to, and which of them an LXC
 * "lxc.cgroup.<v1 file>" line names. Most hold the whole setting under the key's own
 * name (cpuset.cpus, pids.max, the hidden aliases cpu.shares, blkio.weight...); a few
 * hold a part of a setting that v2 keeps in one file. */
enum key_v1_part {
	KEY_V1_WHOLE,	/* the file is the key's name and holds its value */
	KEY_V1_MEMSW,	/* memory.memsw.limit_in_bytes: memory + swap (memory.swap.max) */
	KEY_V1_QUOTA,	/* cpu.cfs_quota_us: cpu.max's QUOTA */
	KEY_V1_PERIOD,	/* cpu.cfs_period_us: cpu.max's PERIOD */
};

/* The v1 file holding part of k (KEY_V1_WHOLE: the key's own name); NULL if none. */
const char *key_v1_file(enum key_id k, enum key_v1_part part);

/* The key a v1 file name belongs to and which part of it the file holds; -1 if the
 * file is none of the table's. */
int key_v1_lookup(const char *file, enum key_v1_part *part);

/* Live statistics files in cgroup/ (read-only, empty while stopped). */
enum stat_id {
	STAT_MEMORY_CURRENT,
	STAT_MEMORY_PEAK,
	STAT_MEMORY_STAT,
	STAT_CPU_STAT,
	STAT_PIDS_CURRENT,
	STAT_IO_STAT,
	STAT_MEMORY_USAGE_IN_BYTES,
	STAT_MEMORY_MAX_USAGE_IN_BYTES,
	STAT_CPUACCT_USAGE,
	STAT_COUNT
};
struct stat_def {
	enum stat_id id;
	const char *name;
	const char *doc;
};
extern const struct stat_def stat_table[STAT_COUNT];

#endif
