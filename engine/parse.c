/* parse.c - pure parsers and formatters for every value the tree accepts.
 * Each takes NUL-terminated text, returns 0 or -errno and explains a refusal in
 * err with a sentence naming the value; nothing here does I/O or keeps state,
 * and only parse_shell_words allocates. */
#include <arpa/inet.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>

#include "cleanup.h"
#include "parse.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

#define DEV_ACC_RWM (DEV_ACC_READ | DEV_ACC_WRITE | DEV_ACC_MKNOD)
#define CPU_LIST_MAX 4095	/* highest CPU or memory node number accepted */
#define UID_MAX_VALID 4294967294ULL	/* (uid_t)-1 means "no change" to the kernel */

/* ---- character classes: ASCII only, so the result never depends on the locale */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_ctrl(char c)
{
	return (unsigned char)c < 0x20 || c == 0x7f;
}

static char to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	c = to_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* ---- spans: words cut out of the input without copying */

struct span {
	const char *p;
	size_t n;
};

static bool span_eq(struct span w, const char *lit)
{
	return strlen(lit) == w.n && memcmp(w.p, lit, w.n) == 0;
}

/* Case-insensitive compare of the first n bytes of p with a literal prefix. */
static bool ascii_iprefix(const char *p, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; lit[i]; i++)
		if (i >= n || to_lower(p[i]) != to_lower(lit[i]))
			return false;
	return true;
}

static bool ascii_ieq(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && ascii_iprefix(p, n, lit);
}

/* Cut s into words separated by runs of blanks; leading and trailing blanks are
 * separators too. Returns the word count, which exceeds max when there were more
 * words than slots (only the first max are stored), so callers can refuse extras. */
static size_t split_blanks(const char *s, struct span *w, size_t max)
{
	size_t count = 0;
	const char *b;

	for (;;) {
		while (is_blank(*s))
			s++;
		if (!*s)
			return count;
		b = s;
		while (*s && !is_blank(*s))
			s++;
		if (count < max)
			w[count] = (struct span){ b, (size_t)(s - b) };
		count++;
	}
}

/* ---- messages */

#define SHOW_MAX 64

/* Quote at most a few dozen bytes of a value for a message, escaping control
 * bytes so that a bad value cannot break the one-line last_error report. */
static const char *show_n(const char *p, size_t n, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < n && p[i]; i++) {
		unsigned char c = (unsigned char)p[i];

		/* room for one escaped byte, "..." and the NUL */
		if (o + 4 + 3 + 1 > SHOW_MAX) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '\n' || c == '\t') {
			buf[o++] = '\\';
			buf[o++] = c == '\n' ? 'n' : 't';
		} else if (is_ctrl((char)c)) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o] = '\0';
	return buf;
}

/* The compound literal lives until the end of the enclosing block, which covers
 * the cfs_err_set() call the macro appears in. */
#define SHOW(s) show_n((s), SIZE_MAX, (char[SHOW_MAX]){ 0 })
#define SHOWW(w) show_n((w).p, (w).n, (char[SHOW_MAX]){ 0 })

static int check_len(const char *s, struct cfs_err *err)
{
	if (!s)
		return cfs_err_set(err, EINVAL, "a value is required");
	if (strnlen(s, CFS_MAX_VALUE + 1) > CFS_MAX_VALUE)
		return cfs_err_set(err, EINVAL, "'%s' is longer than %d bytes", SHOW(s),
				   CFS_MAX_VALUE);
	return 0;
}

/* ---- numbers */

/* Decimal digits only, refusing what strtoull would quietly accept: blanks, signs,
 * "0x", an empty string and wrap-around. Returns 0, -EINVAL or -ERANGE. */
static int scan_u64(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (!is_digit(p[i]))
			return -EINVAL;
		d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* A number word within [min,max]. noun names the field in a multi-field value
 * ("period") so the message says which one is wrong; "" for a lone number. */
static int span_uint(struct span w, uint64_t min, uint64_t max, uint64_t *out,
		     const char *noun, struct cfs_err *err)
{
	const char *sep = *noun ? " " : "";
	uint64_t v = 0;
	int r = scan_u64(w.p, w.n, &v);

	if (r == -EINVAL)
		return cfs_err_set(err, EINVAL, "%s%s'%s' is not a decimal number", noun, sep,
				   SHOWW(w));
	if (r == -ERANGE || v < min || v > max)
		return cfs_err_set(err, EINVAL, "%s%s'%s' is out of range (%llu to %llu)", noun,
				   sep, SHOWW(w), (unsigned long long)min,
				   (unsigned long long)max);
	*out = v;
	return 0;
}

static struct span whole(const char *s)
{
	return (struct span){ s, strlen(s) };
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, struct cfs_err *err)
{
	int r = check_len(s, err);

	if (r)
		return r;
	return span_uint(whole(s), min, max, out, "", err);
}

int parse_uint_or_max(const char *s, uint64_t min, uint64_t max, uint64_t *out,
		      struct cfs_err *err)
{
	int r = check_len(s, err);

	if (r)
		return r;
	if (!strcmp(s, "max")) {
		*out = CFS_UNLIMITED;
		return 0;
	}
	if (strspn(s, "0123456789") != strlen(s) || !*s)
		return cfs_err_set(err, EINVAL, "'%s' is not a decimal number or max", SHOW(s));
	return span_uint(whole(s), min, max, out, "", err);
}

int parse_bool01(const char *s, bool *out, struct cfs_err *err)
{
	int r = check_len(s, err);

	if (r)
		return r;
	if (strcmp(s, "0") && strcmp(s, "1"))
		return cfs_err_set(err, EINVAL, "'%s' is not 0 or 1", SHOW(s));
	*out = s[0] == '1';
	return 0;
}

int parse_size(const char *s, bool allow_max, bool allow_minus1, uint64_t *out,
	       struct cfs_err *err)
{
	const char *alt = allow_max && allow_minus1 ? ", max or -1" :
			  allow_max ? ", or max" : allow_minus1 ? ", or -1" : "";
	unsigned shift = 0;
	uint64_t v;
	size_t n;
	int r = check_len(s, err);

	if (r)
		return r;
	if ((allow_max && !strcmp(s, "max")) || (allow_minus1 && !strcmp(s, "-1"))) {
		*out = CFS_UNLIMITED;
		return 0;
	}
	n = strlen(s);
	if (n > 0) {
		switch (to_lower(s[n - 1])) {
		case 'k': shift = 10; break;
		case 'm': shift = 20; break;
		case 'g': shift = 30; break;
		case 't': shift = 40; break;
		}
	}
	r = scan_u64(s, shift ? n - 1 : n, &v);
	if (r == -ERANGE || (r == 0 && v > (UINT64_MAX >> shift)))
		return cfs_err_set(err, EINVAL, "'%s' is too large a size", SHOW(s));
	if (r)
		return cfs_err_set(err, EINVAL,
				   "'%s' is not a size (bytes with an optional K, M, G or T suffix%s)",
				   SHOW(s), alt);
	*out = v << shift;
	return 0;
}

int parse_cpu_max(const char *s, uint64_t *quota, uint64_t *period, struct cfs_err *err)
{
	struct span w[3];
	uint64_t q = CFS_UNLIMITED, per = 100000;
	size_t n;
	int r = check_len(s, err);

	if (r)
		return r;
	n = split_blanks(s, w, 3);
	if (n < 1 || n > 2)
		return cfs_err_set(err, EINVAL,
				   "'%s' is not a CPU limit (QUOTA or max, then an optional PERIOD)",
				   SHOW(s));
	if (!span_eq(w[0], "max")) {
		if (strspn(w[0].p, "0123456789") < w[0].n)
			return cfs_err_set(err, EINVAL, "quota '%s' is not a number or max",
					   SHOWW(w[0]));
		r = span_uint(w[0], 1000, UINT32_MAX * 1000ULL, &q, "quota", err);
		if (r)
			return r;
	}
	if (n == 2) {
		r = span_uint(w[1], 1000, 1000000, &per, "period", err);
		if (r)
			return r;
	}
	*quota = q;
	*period = per;
	return 0;
}

/* One element of a CPU list: "N" or "A-B". */
static int cpu_element(struct span e, const char *s, struct cfs_err *err)
{
	const char *dash = memchr(e.p, '-', e.n);
	size_t an = dash ? (size_t)(dash - e.p) : e.n;
	uint64_t a, b;

	if (e.n == 0)
		return cfs_err_set(err, EINVAL, "'%s' has an empty element", SHOW(s));
	if (scan_u64(e.p, an, &a) || (dash && scan_u64(dash + 1, e.n - an - 1, &b)))
		return cfs_err_set(err, EINVAL,
				   "'%s' is not a CPU list: '%s' is not N or A-B (like 0-3,5)",
				   SHOW(s), SHOWW(e));
	if (!dash)
		b = a;
	if (a > CPU_LIST_MAX || b > CPU_LIST_MAX)
		return cfs_err_set(err, EINVAL, "'%s' names a CPU or node above %d", SHOW(s),
				   CPU_LIST_MAX);
	if (a > b)
		return cfs_err_set(err, EINVAL, "range '%s' in '%s' is descending", SHOWW(e),
				   SHOW(s));
	return 0;
}

int parse_cpu_list(const char *s, struct cfs_err *err)
{
	const char *p, *e;
	int r = check_len(s, err);

	if (r || !*s)
		return r;
	for (p = s;; p = e + 1) {
		e = p + strcspn(p, ",");
		r = cpu_element((struct span){ p, (size_t)(e - p) }, s, err);
		if (r || !*e)
			return r;
	}
}

/* ---- signals */

static const struct {
	const char *name;
	int sig;
} signal_names[] = {
	{ "HUP", SIGHUP },	{ "INT", SIGINT },	{ "QUIT", SIGQUIT },
	{ "ILL", SIGILL },	{ "TRAP", SIGTRAP },	{ "ABRT", SIGABRT },
	{ "IOT", SIGABRT },	{ "BUS", SIGBUS },	{ "FPE", SIGFPE },
	{ "KILL", SIGKILL },	{ "USR1", SIGUSR1 },	{ "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },	{ "PIPE", SIGPIPE },	{ "ALRM", SIGALRM },
	{ "TERM", SIGTERM },
#ifdef SIGSTKFLT
	{ "STKFLT", SIGSTKFLT },
#endif
	{ "CHLD", SIGCHLD },	{ "CLD", SIGCHLD },	{ "CONT", SIGCONT },
	{ "STOP", SIGSTOP },	{ "TSTP", SIGTSTP },	{ "TTIN", SIGTTIN },
	{ "TTOU", SIGTTOU },	{ "URG", SIGURG },	{ "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ },	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
	{ "WINCH", SIGWINCH },	{ "IO", SIGIO },	{ "POLL", SIGIO },
#ifdef SIGPWR
	{ "PWR", SIGPWR },
#endif
	{ "SYS", SIGSYS },
};

/* "RTMIN", "RTMIN+N", "RTMAX", "RTMAX-N" (the SIG prefix already removed). */
static bool parse_rt_signal(const char *p, int *sig)
{
	bool from_min = ascii_iprefix(p, strlen(p), "RTMIN");
	uint64_t off = 0;
	int v;

	if (!from_min && !ascii_iprefix(p, strlen(p), "RTMAX"))
		return false;
	p += 5;
	if (*p) {
		if (*p != (from_min ? '+' : '-'))
			return false;
		p++;
		if (scan_u64(p, strlen(p), &off) || off > (uint64_t)(SIGRTMAX - SIGRTMIN))
			return false;
	}
	v = from_min ? SIGRTMIN + (int)off : SIGRTMAX - (int)off;
	*sig = v;
	return true;
}

int parse_signal(const char *s, int *sig, struct cfs_err *err)
{
	const char *p = s;
	uint64_t num;
	size_t i;
	int r = check_len(s, err);

	if (r)
		return r;
	if (*s && strspn(s, "0123456789") == strlen(s)) {
		if (scan_u64(s, strlen(s), &num) || num < 1 || num > (uint64_t)SIGRTMAX)
			return cfs_err_set(err, EINVAL, "signal number '%s' is out of range (1 to %d)",
					   SHOW(s), SIGRTMAX);
		*sig = (int)num;
		return 0;
	}
	if (ascii_iprefix(s, strlen(s), "SIG"))
		p += 3;
	for (i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++) {
		if (ascii_ieq(p, strlen(p), signal_names[i].name)) {
			*sig = signal_names[i].sig;
			return 0;
		}
	}
	if (parse_rt_signal(p, sig))
		return 0;
	return cfs_err_set(err, EINVAL,
			   "'%s' is not a signal (a name like TERM or SIGTERM, RTMIN+N, RTMAX-N, or 1 to %d)",
			   SHOW(s), SIGRTMAX);
}

/* ---- shell words */

/* The inside of a double-quoted string starting at *pp (on the opening quote):
 * a backslash escapes only " \ $ and `, as in POSIX sh. */
static bool shell_dquote(const char **pp, char *out, size_t *po)
{
	const char *p = *pp + 1;
	size_t o = *po;

	for (;;) {
		if (!*p)
			return false;
		if (*p == '"')
			break;
		if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
			p++;
		out[o++] = *p++;
	}
	*pp = p + 1;
	*po = o;
	return true;
}

/* Write the words of s into out, each NUL-terminated. out needs strlen(s) + 1
 * bytes: every word but the last is followed by a blank that pays for its NUL. */
static int shell_split(const char *s, char *out, size_t *nwords, struct cfs_err *err)
{
	const char *p = s, *q;
	bool in_word = false;
	size_t o = 0, n = 0;

	while (*p) {
		if (is_blank(*p)) {
			if (in_word)
				out[o++] = '\0', n++;
			in_word = false;
			p++;
			continue;
		}
		in_word = true;
		if (*p == '\'') {
			q = strchr(p + 1, '\'');
			if (!q)
				return cfs_err_set(err, EINVAL, "'%s' has an unterminated single quote",
						   SHOW(s));
			memcpy(out + o, p + 1, (size_t)(q - p - 1));
			o += (size_t)(q - p - 1);
			p = q + 1;
		} else if (*p == '"') {
			if (!shell_dquote(&p, out, &o))
				return cfs_err_set(err, EINVAL, "'%s' has an unterminated double quote",
						   SHOW(s));
		} else if (*p == '\\') {
			if (!p[1])
				return cfs_err_set(err, EINVAL, "'%s' ends with a lone backslash",
						   SHOW(s));
			out[o++] = p[1];
			p += 2;
		} else {
			out[o++] = *p++;
		}
	}
	if (in_word)
		out[o++] = '\0', n++;
	*nwords = n;
	return 0;
}

void strv_free(char **v)
{
	char **p;

	if (!v)
		return;
	for (p = v; *p; p++)
		free(*p);
	free(v);
}

int parse_shell_words(const char *s, char ***argv, int *argc, struct cfs_err *err)
{
	_cleanup_free_ char *buf = NULL;
	const char *w;
	size_t n = 0, i;
	char **v;
	int r;

	*argv = NULL;
	*argc = 0;
	r = check_len(s, err);
	if (r)
		return r;
	/* A newline would end the command in sh; a one-line value cannot carry one. */
	if (strchr(s, '\n'))
		return cfs_err_set(err, EINVAL, "'%s' contains a newline", SHOW(s));
	buf = malloc(strlen(s) + 1);
	if (!buf)
		return cfs_err_set(err, ENOMEM, "out of memory splitting a command line");
	r = shell_split(s, buf, &n, err);
	if (r)
		return r;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return cfs_err_set(err, ENOMEM, "out of memory splitting a command line");
	for (i = 0, w = buf; i < n; i++, w += strlen(w) + 1) {
		v[i] = strdup(w);
		if (!v[i]) {
			strv_free(v);
			return cfs_err_set(err, ENOMEM, "out of memory splitting a command line");
		}
	}
	*argv = v;
	*argc = (int)n;
	return 0;
}

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

/* ---- MAC addresses */

int parse_mac(const char *s, uint8_t mac[6], uint8_t random_mask[6], struct cfs_err *err)
{
	uint8_t m[6] = { 0 }, k[6] = { 0 };
	bool all_zero = true;
	int i, j, r = check_len(s, err);

	if (r)
		return r;
	if (strlen(s) != 17)
		goto bad;
	for (i = 0; i < 6; i++) {
		const char *p = s + 3 * i;

		if (i < 5 && p[2] != ':')
			goto bad;
		for (j = 0; j < 2; j++) {
			int shift = j ? 0 : 4, v = hex_value(p[j]);

			if (p[j] == 'x' || p[j] == 'X')
				k[i] |= (uint8_t)(0xf << shift);
			else if (v >= 0)
				m[i] |= (uint8_t)(v << shift);
			else
				goto bad;
		}
		all_zero = all_zero && !m[i] && !k[i];
	}
	if (!(k[0] & 0x01) && (m[0] & 0x01))
		return cfs_err_set(err, EINVAL,
				   "'%s' is a multicast address (the first octet must be even)",
				   SHOW(s));
	if (all_zero)
		return cfs_err_set(err, EINVAL, "'%s' is the all-zero address", SHOW(s));
	memcpy(mac, m, 6);
	memcpy(random_mask, k, 6);
	return 0;
bad:
	return cfs_err_set(err, EINVAL,
			   "'%s' is not a MAC address (xx:xx:xx:xx:xx:xx of hex digits, x for random)",
			   SHOW(s));
}

void mac_fill_random(uint8_t mac[6], const uint8_t random_mask[6], const uint8_t rnd[6])
{
	int i;

	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)((mac[i] & ~random_mask[i]) | (rnd[i] & random_mask[i]));
	mac[0] &= (uint8_t)~0x01;	/* a unicast address, whatever the dice said */
	/* A fully random first octet cannot be a vendor's: mark it locally administered. */
	if (random_mask[0] == 0xff)
		mac[0] |= 0x02;
}

/* ---- IPv4 and interface names */

int parse_ipv4(const char *s, struct in_addr *a, struct cfs_err *err)
{
	struct in_addr tmp;
	int r = check_len(s, err);

	if (r)
		return r;
	/* glibc's inet_pton takes exactly four decimal octets: no "10.1", hex or octal. */
	if (inet_pton(AF_INET, s, &tmp) != 1)
		return cfs_err_set(err, EINVAL, "'%s' is not an IPv4 address (a.b.c.d)", SHOW(s));
	*a = tmp;
	return 0;
}

int parse_cidr4(const char *s, struct in_addr *a, int *prefix, struct cfs_err *err)
{
	char addr[INET_ADDRSTRLEN];
	struct in_addr tmp;
	const char *slash;
	uint64_t len;
	int r = check_len(s, err);

	if (r)
		return r;
	slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		goto bad;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (inet_pton(AF_INET, addr, &tmp) != 1)
		goto bad;
	/* No leading zeros, like the octets: "/08" is more likely a typo than 8. */
	if ((slash[1] == '0' && slash[2]) || scan_u64(slash + 1, strlen(slash + 1), &len) ||
	    len > 32)
		goto bad;
	*a = tmp;
	*prefix = (int)len;
	return 0;
bad:
	return cfs_err_set(err, EINVAL, "'%s' is not an IPv4 address with prefix (a.b.c.d/N, N 0 to 32)",
			   SHOW(s));
}

int parse_ifname(const char *s, struct cfs_err *err)
{
	size_t i, n;
	int r = check_len(s, err);

	if (r)
		return r;
	n = strlen(s);
	if (n == 0 || n > 15)
		return cfs_err_set(err, EINVAL,
				   "'%s' is not an interface name (1 to 15 bytes)", SHOW(s));
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return cfs_err_set(err, EINVAL, "'%s' is not an interface name", SHOW(s));
	for (i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] == ' ' || is_ctrl(s[i]))
			return cfs_err_set(err, EINVAL,
					   "'%s' is not an interface name (no '/', ':', blanks or control characters)",
					   SHOW(s));
	return 0;
}

/* ---- identities, environment, container names */

int parse_uid_gid(const char *s, uid_t *uid, gid_t *gid, struct cfs_err *err)
{
	const char *colon;
	uint64_t u = 0, g;
	size_t un;
	int r = check_len(s, err);

	if (r)
		return r;
	colon = strchr(s, ':');
	un = colon ? (size_t)(colon - s) : strlen(s);
	r = scan_u64(s, un, &u);
	g = u;
	if (!r && colon)
		r = scan_u64(colon + 1, strlen(colon + 1), &g);
	if (r == -EINVAL)
		return cfs_err_set(err, EINVAL,
				   "'%s' is not UID or UID:GID (decimal numbers; names are not looked up)",
				   SHOW(s));
	if (r || u > UID_MAX_VALID || g > UID_MAX_VALID)
		return cfs_err_set(err, EINVAL, "'%s' is out of range (ids go up to %llu)", SHOW(s),
				   UID_MAX_VALID);
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

int parse_env_line(const char *s, struct cfs_err *err)
{
	size_t i;
	int r = check_len(s, err);

	if (r)
		return r;
	if (!strchr(s, '='))
		return cfs_err_set(err, EINVAL, "'%s' is not KEY=VALUE", SHOW(s));
	for (i = 0; s[i] != '='; i++)
		if (!(is_alpha(s[i]) || s[i] == '_' || (i > 0 && is_digit(s[i]))))
			return cfs_err_set(err, EINVAL,
					   "'%s' does not start with a variable name ([A-Za-z_][A-Za-z0-9_]*)",
					   SHOW(s));
	if (i == 0)
		return cfs_err_set(err, EINVAL, "'%s' has an empty variable name", SHOW(s));
	if (strchr(s + i, '\n'))
		return cfs_err_set(err, EINVAL, "'%s' contains a newline", SHOW(s));
	return 0;
}

int parse_container_name(const char *s, struct cfs_err *err)
{
	size_t i, n;
	int r = check_len(s, err);

	if (r)
		return r;
	n = strlen(s);
	for (i = 0; i < n; i++)
		if (!(is_alpha(s[i]) || is_digit(s[i]) || strchr("_.-", s[i])))
			break;
	if (n == 0 || n > 64 || i < n || s[0] == '.' || s[0] == '-')
		return cfs_err_set(err, EINVAL,
				   "'%s' is not a container name (1 to 64 of A-Z a-z 0-9 _ . -, not starting with . or -)",
				   SHOW(s));
	return 0;
}

/* ---- namespaces and capabilities */

static const struct {
	const char *name;
	unsigned long flag;
} ns_names[] = {
	{ "mnt", CLONE_NEWNS },	    { "pid", CLONE_NEWPID },
	{ "uts", CLONE_NEWUTS },    { "ipc", CLONE_NEWIPC },
	{ "net", CLONE_NEWNET },    { "cgroup", CLONE_NEWCGROUP },
	{ "user", CLONE_NEWUSER },  { "time", CLONE_NEWTIME },
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
		if (!(is_alpha(w.p[i]) || is_digit(w.p[i]) || w.p[i] == '_'))
			break;
		digits = digits && is_digit(w.p[i]);
	}
	/* cap_from_name() also takes numbers; this list is for names. */
	if (i < w.n || digits || w.n + 5 > sizeof(name))
		goto bad;
	if (!ascii_iprefix(w.p, w.n, "cap_")) {
		memcpy(name, "cap_", 4);
		o = 4;
	}
	for (i = 0; i < w.n; i++)
		name[o++] = to_lower(w.p[i]);
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
		while (is_blank(*p))
			p++;
		if (!*p)
			break;
		for (b = p; *p && !is_blank(*p); p++)
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
	{ "ro", MS_RDONLY, 0, 0 },		{ "rw", 0, MS_RDONLY, 0 },
	{ "nosuid", MS_NOSUID, 0, 0 },		{ "suid", 0, MS_NOSUID, 0 },
	{ "nodev", MS_NODEV, 0, 0 },		{ "dev", 0, MS_NODEV, 0 },
	{ "noexec", MS_NOEXEC, 0, 0 },		{ "exec", 0, MS_NOEXEC, 0 },
	{ "sync", MS_SYNCHRONOUS, 0, 0 },	{ "async", 0, MS_SYNCHRONOUS, 0 },
	{ "dirsync", MS_DIRSYNC, 0, 0 },
	{ "noatime", MS_NOATIME, 0, 0 },	{ "atime", 0, MS_NOATIME, 0 },
	{ "nodiratime", MS_NODIRATIME, 0, 0 },	{ "diratime", 0, MS_NODIRATIME, 0 },
	{ "relatime", MS_RELATIME, 0, 0 },	{ "norelatime", 0, MS_RELATIME, 0 },
	{ "strictatime", MS_STRICTATIME, 0, 0 }, { "nostrictatime", 0, MS_STRICTATIME, 0 },
	{ "bind", MS_BIND, 0, 0 },		{ "rbind", MS_BIND | MS_REC, 0, 0 },
	{ "remount", MS_REMOUNT, 0, 0 },
	{ "private", 0, 0, MS_PRIVATE },	{ "rprivate", 0, 0, MS_PRIVATE | MS_REC },
	{ "slave", 0, 0, MS_SLAVE },		{ "rslave", 0, 0, MS_SLAVE | MS_REC },
	{ "shared", 0, 0, MS_SHARED },		{ "rshared", 0, 0, MS_SHARED | MS_REC },
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
		if (is_ctrl(s[i]) && s[i] != '\t')
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
	return v < lo ? lo : v > hi ? hi : v;
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
