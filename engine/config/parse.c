/* parse.c - pure parsers and formatters for every value the tree accepts: the
 * shared pieces (character classes, words, messages, numbers) and the parsers of
 * numbers, sizes, cpu lists, signals, shell words, ids, env lines and names.
 * parse_dev.c and parse_net.c hold the rest. Each takes NUL-terminated text, returns 0
 * or -errno and explains a refusal in err; nothing here does I/O or keeps state, and
 * only parse_shell_words allocates. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "parse.h"
#include "parse_internal.h"

/* ---- character classes: ASCII only, so the result never depends on the locale */

bool ascii_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool ascii_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool ascii_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

bool ascii_is_ctrl(char c)
{
	return (unsigned char)c < 0x20 || c == 0x7f;
}

char ascii_tolower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

int hex_value(char c)
{
	if (ascii_is_digit(c))
		return c - '0';
	c = ascii_tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* ---- spans: words cut out of the input without copying */

bool span_eq(struct span w, const char *lit)
{
	return strlen(lit) == w.n && memcmp(w.p, lit, w.n) == 0;
}

/* Case-insensitive compare of the first n bytes of p with a literal prefix. */
bool ascii_iprefix(const char *p, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; lit[i]; i++)
		if (i >= n || ascii_tolower(p[i]) != ascii_tolower(lit[i]))
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
size_t split_blanks(const char *s, struct span *w, size_t max)
{
	size_t count = 0;
	const char *b;

	for (;;) {
		while (ascii_is_blank(*s))
			s++;
		if (!*s)
			return count;
		b = s;
		while (*s && !ascii_is_blank(*s))
			s++;
		if (count < max)
			w[count] = (struct span){ b, (size_t)(s - b) };
		count++;
	}
}

/* ---- messages */

/* Quote at most a few dozen bytes of a value for a message, escaping control
 * bytes so that a bad value cannot break the one-line last_error report. */
const char *show_n(const char *p, size_t n, char *buf)
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
		} else if (ascii_is_ctrl((char)c)) {
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

int check_len(const char *s, struct cfs_err *err)
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
int scan_u64(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (!ascii_is_digit(p[i]))
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
int span_uint(struct span w, uint64_t min, uint64_t max, uint64_t *out,
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

static struct span span_of(const char *s)
{
	return (struct span){ s, strlen(s) };
}

void ascii_trim_blanks(const char **p, size_t *n)
{
	while (*n && ascii_is_blank(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && ascii_is_blank((*p)[*n - 1]))
		(*n)--;
}

char *ascii_trim_blanks_str(char *s)
{
	const char *p = s;
	size_t n = strlen(s);

	ascii_trim_blanks(&p, &n);
	s = (char *)p;
	s[n] = '\0';
	return s;
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, struct cfs_err *err)
{
	int r = check_len(s, err);

	if (r)
		return r;
	return span_uint(span_of(s), min, max, out, "", err);
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
	return span_uint(span_of(s), min, max, out, "", err);
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
	const char *alt = allow_max && allow_minus1 ? ", max or -1"
			  : allow_max               ? ", or max"
			  : allow_minus1            ? ", or -1"
						    : "";
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
		switch (ascii_tolower(s[n - 1])) {
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
	{ "HUP", SIGHUP },
	{ "INT", SIGINT },
	{ "QUIT", SIGQUIT },
	{ "ILL", SIGILL },
	{ "TRAP", SIGTRAP },
	{ "ABRT", SIGABRT },
	{ "IOT", SIGABRT },
	{ "BUS", SIGBUS },
	{ "FPE", SIGFPE },
	{ "KILL", SIGKILL },
	{ "USR1", SIGUSR1 },
	{ "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE },
	{ "ALRM", SIGALRM },
	{ "TERM", SIGTERM },
#ifdef SIGSTKFLT
	{ "STKFLT", SIGSTKFLT },
#endif
	{ "CHLD", SIGCHLD },
	{ "CLD", SIGCHLD },
	{ "CONT", SIGCONT },
	{ "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP },
	{ "TTIN", SIGTTIN },
	{ "TTOU", SIGTTOU },
	{ "URG", SIGURG },
	{ "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM },
	{ "PROF", SIGPROF },
	{ "WINCH", SIGWINCH },
	{ "IO", SIGIO },
	{ "POLL", SIGIO },
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
		if (ascii_is_blank(*p)) {
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
		if (!(ascii_is_alpha(s[i]) || s[i] == '_' || (i > 0 && ascii_is_digit(s[i]))))
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
		if (!(ascii_is_alpha(s[i]) || ascii_is_digit(s[i]) || strchr("_.-", s[i])))
			break;
	if (n == 0 || n > 64 || i < n || s[0] == '.' || s[0] == '-')
		return cfs_err_set(err, EINVAL,
				   "'%s' is not a container name (1 to 64 of A-Z a-z 0-9 _ . -, not starting with . or -)",
				   SHOW(s));
	return 0;
}
