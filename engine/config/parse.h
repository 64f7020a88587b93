/* parse.h - pure parsers and formatters for every value the tree accepts; private
 * to the engine (what the FUSE layer needs of it is in include/sizes.h
 * and include/strv.h).
 * No I/O, no globals: each takes text, returns 0 or -errno, and on failure fills
 * err->msg with a sentence about the value (the caller prefixes the file name).
 * Inputs are NUL-terminated single values without a trailing newline. */
#ifndef CFS_PARSE_H
#define CFS_PARSE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "sizes.h"
#include "strv.h"

#define CFS_UNLIMITED UINT64_MAX	/* "max" */

/* Container name: 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'. EINVAL otherwise. */
int parse_container_name(const char *s, struct cfs_err *err);

/* Unsigned decimal in [min,max]; no sign, no spaces, no overflow. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, struct cfs_err *err);

/* "0" or "1". */
int parse_bool01(const char *s, bool *out, struct cfs_err *err);

/* Bytes with an optional K/M/G/T suffix (binary, case-insensitive, optional trailing
 * "B"/"iB" not accepted); "max" gives CFS_UNLIMITED when allow_max. Overflow: EINVAL.
 * If allow_minus1, "-1" also means CFS_UNLIMITED (v1's memory.limit_in_bytes). */
int parse_size(const char *s, bool allow_max, bool allow_minus1, uint64_t *out,
	       struct cfs_err *err);

/* Number or "max" (CFS_UNLIMITED), number within [min,max]. */
int parse_uint_or_max(const char *s, uint64_t min, uint64_t max, uint64_t *out,
		      struct cfs_err *err);

/* cpu.max: "QUOTA PERIOD" or "QUOTA" (period 100000); QUOTA "max" or 1000..UINT32_MAX*1000;
 * PERIOD 1000..1000000 µs. quota CFS_UNLIMITED for max. */
int parse_cpu_max(const char *s, uint64_t *quota, uint64_t *period, struct cfs_err *err);

/* CPU/memory-node list like "0-3,5,7-8"; empty is valid (means all). Numbers < 4096,
 * ranges ascending. */
int parse_cpu_list(const char *s, struct cfs_err *err);

/* Signal by name ("SIGTERM", "TERM", "sigterm", "SIGRTMIN+3") or number 1..64. */
int parse_signal(const char *s, int *sig, struct cfs_err *err);

/* Split like a POSIX shell splits words: blanks separate words, single quotes keep
 * everything literally, double quotes keep everything except \" \\ \$ \` (backslash
 * escapes), an unquoted backslash quotes the next character. No expansion.
 * Unterminated quotes or a trailing backslash: EINVAL. *argv is a malloc'd
 * NULL-terminated vector (free with strv_free); *argc its length. */
int parse_shell_words(const char *s, char ***argv, int *argc, struct cfs_err *err);

/* Device rule "TYPE MAJOR:MINOR ACCESS" with TYPE a|b|c, numbers or '*', ACCESS a
 * non-empty subset of "rwm"; "a" or "all" alone means every device with rwm. */
struct device_rule {
	char type;		/* 'a', 'b' or 'c' */
	int64_t major;		/* -1 for '*' */
	int64_t minor;		/* -1 for '*' */
	unsigned access;	/* DEV_ACC_* bits */
};
#define DEV_ACC_READ 1u
#define DEV_ACC_WRITE 2u
#define DEV_ACC_MKNOD 4u
int parse_device_rule(const char *s, struct device_rule *r, struct cfs_err *err);
/* Canonical text of a rule ("c 1:3 rwm", "a *:* rwm") into buf. */
void format_device_rule(const struct device_rule *r, char *buf, size_t n);

/* idmap line "u|g INSIDE OUTSIDE COUNT" (also "b" for both), numbers < 2^32, count >= 1,
 * no overflow of INSIDE+COUNT or OUTSIDE+COUNT. */
struct idmap_entry {
	char kind;		/* 'u', 'g' or 'b' */
	uint32_t inside, outside, count;
};
int parse_idmap_line(const char *s, struct idmap_entry *m, struct cfs_err *err);
/* A whole idmap (the lines above, '\n'-separated): no two ranges of a kind overlap,
 * inside or outside, and uid 0 and gid 0 inside are both mapped. Returns 0 for an
 * empty map, 1 with root set to what uid/gid 0 inside are outside, or -EINVAL. */
struct idmap_root {
	bool set;
	uint32_t uid, gid;
};
int parse_idmap(const char *text, struct idmap_root *root, struct cfs_err *err);
/* A line of /etc/subuid or /etc/subgid, "NAME:START:COUNT", for owner (by name or uid):
 * true with *start and *count when it is owner's, within 32 bits and count >= 1. */
bool parse_subid_line(const char *line, const char *owner_name, unsigned long owner_uid,
		      uint64_t *start, uint64_t *count);

/* MAC "xx:xx:xx:xx:xx:xx" of hex digits where any hex digit may be 'x'/'X' (random).
 * mac gets the fixed digits, random_mask has a 1 bit for each random bit. The first
 * octet must not be multicast unless its low nibble is random (then the caller clears
 * the multicast bit and sets the locally-administered bit). */
int parse_mac(const char *s, uint8_t mac[6], uint8_t random_mask[6], struct cfs_err *err);

/* Fill the random bits of a MAC from rnd (6 bytes of entropy), clear multicast,
 * and, if every bit of octet 0 was random, set locally administered. */
void parse_mac_fill_random(uint8_t mac[6], const uint8_t random_mask[6], const uint8_t rnd[6]);

/* IPv4 "a.b.c.d" (strict dotted quad) and "a.b.c.d/N" (N 0..32; N required). */
int parse_ipv4(const char *s, struct in_addr *a, struct cfs_err *err);
int parse_cidr4(const char *s, struct in_addr *a, int *prefix, struct cfs_err *err);
/* The same for an interface's own address: not 0.0.0.0/8, multicast, reserved or
 * broadcast; with a prefix (1..32) not the network's own or broadcast address. */
int parse_host_ipv4(const char *s, struct in_addr *a, struct cfs_err *err);
int parse_host_cidr4(const char *s, struct in_addr *a, int *prefix, struct cfs_err *err);

/* Interface name: 1..15 bytes, no '/', ':', whitespace, not "." or "..". */
int parse_ifname(const char *s, struct cfs_err *err);

/* "UID:GID" or "UID" (gid = uid), decimal < 2^32-1. */
int parse_uid_gid(const char *s, uid_t *uid, gid_t *gid, struct cfs_err *err);

/* env line "KEY=VALUE", KEY = [A-Za-z_][A-Za-z0-9_]*. */
int parse_env_line(const char *s, struct cfs_err *err);

/* Space-separated namespace names from "mnt pid uts ipc net cgroup user time";
 * each at most once; result as CLONE_NEW* flags. Empty is valid (0). */
int parse_namespaces(const char *s, unsigned long *flags, struct cfs_err *err);
/* Canonical text for flags in the fixed order above. */
void format_namespaces(unsigned long flags, char *buf, size_t n);

/* Space-separated capability names (libcap's names, with or without "CAP_",
 * case-insensitive); empty is valid. mask gets bit (1<<cap) per capability. */
int parse_cap_list(const char *s, uint64_t *mask, struct cfs_err *err);

/* The seccomp setting: an optional first word `default` (the built-in deny list;
 * also what an empty value means) or `unconfined` (no filter), then edits `+NAME`
 * (deny system call NAME too) and `-NAME` (do not deny it), blank-separated, in
 * order (a later edit of a name wins). Names are libseccomp's (any architecture's). */
#define SECCOMP_MAX_EDITS 64
#define SECCOMP_NAME_MAX 40
struct seccomp_edit {
	bool deny;
	char name[SECCOMP_NAME_MAX];
};
struct seccomp_spec {
	bool unconfined;
	int n;
	struct seccomp_edit edit[SECCOMP_MAX_EDITS];
};
int parse_seccomp(const char *s, struct seccomp_spec *spec, struct cfs_err *err);

/* fstab line: "SOURCE TARGET FSTYPE [OPTIONS [DUMP [PASS]]]"; OPTIONS is a
 * comma-separated list; known flags become MS_* bits, "create=dir|file" sets create,
 * the rest (fs data) go to data. Octal escapes \040 in fields are decoded. */
struct fstab_entry {
	char source[1024];
	char target[1024];
	char fstype[64];
	unsigned long flags;	/* MS_* */
	unsigned long clear_flags;	/* MS_* bits explicitly cleared (rw, dev, suid, exec) */
	int propagation;	/* 0 or MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE (|MS_REC) */
	char data[1024];	/* options that are not flags, comma-joined */
	int create;		/* 0, 'd' (create=dir) or 'f' (create=file) */
	bool optional;		/* "optional": a failing mount is skipped */
};
int parse_fstab_line(const char *s, struct fstab_entry *fe, struct cfs_err *err);

/* Conversions between cgroup v1 and v2 units (crun's formulas). */
uint64_t conv_shares_to_weight(uint64_t shares);	/* 2..262144 -> 1..10000 */
uint64_t conv_weight_to_shares(uint64_t weight);	/* 1..10000 -> 2..262144 */
uint64_t conv_blkio_to_io_weight(uint64_t blkio);	/* 10..1000 -> 1..10000 */
uint64_t conv_io_weight_to_blkio(uint64_t weight);	/* 1..10000 -> 10..1000 */

#endif
