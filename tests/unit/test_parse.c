/* test_parse.c - unit tests for engine/config/parse.c and engine/error.c: good and bad
 * input for every parser and formatter, boundaries, overflow, stray blanks and
 * control characters, and the endpoints of the cgroup v1 <-> v2 conversions.
 * Prints TAP-like "ok N - ..." lines and exits non-zero if any check failed. */
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>

#include "config/parse.h"
#include "tap.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define RWM (DEV_ACC_READ | DEV_ACC_WRITE | DEV_ACC_MKNOD)

/* Printable form of a test input for descriptions (one static slot per call
 * site is enough: each description is printed before the next call). */
static const char *esc(const char *s)
{
	static char buf[4][160];
	static int slot;
	char *b = buf[slot++ % 4];
	size_t o = 0;

	for (; *s && o < sizeof(buf[0]) - 8; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			o += (size_t)sprintf(b + o, "\\n");
		else if (c == '\t')
			o += (size_t)sprintf(b + o, "\\t");
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)sprintf(b + o, "\\x%02x", c);
		else
			b[o++] = (char)c;
	}
	if (*s)
		o += (size_t)sprintf(b + o, "...");
	b[o] = '\0';
	return b;
}

/* A refusal must be -EINVAL with err filled in and a one-line message. */
static int refused(int rc, const struct cfs_err *e)
{
	return rc == -EINVAL && e->code == EINVAL && e->msg[0] && !strchr(e->msg, '\n');
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* ---- error.c */

static void test_error(void)
{
	struct cfs_err e;
	char longp[400];

	cfs_err_clear(&e);
	ok(cfs_err_set(&e, EINVAL, "'%s' is bad", "x") == -EINVAL, "err_set returns -code");
	ok(e.code == EINVAL && !strcmp(e.msg, "'x' is bad"), "err_set fills code and msg");
	ok(cfs_err_set(NULL, ENOENT, "nothing") == -ENOENT, "err_set with NULL err");
	ok(cfs_err_set(&e, -EPERM, "neg") == -EPERM && e.code == EPERM,
	   "err_set normalises a negative code");
	cfs_err_set(&e, EINVAL, "bad value");
	cfs_err_prefix(&e, "%s", "cpu.max");
	ok(!strcmp(e.msg, "cpu.max: bad value"), "err_prefix prepends 'name: '");
	cfs_err_prefix(&e, "c%d", 1);
	ok(!strcmp(e.msg, "c1: cpu.max: bad value"), "err_prefix twice");
	ok(e.code == EINVAL, "err_prefix keeps the code");
	cfs_err_prefix(NULL, "x");
	ok(1, "err_prefix with NULL err does not crash");
	cfs_err_clear(&e);
	cfs_err_prefix(&e, "alone");
	ok(!strcmp(e.msg, "alone"), "err_prefix on an empty message");
	memset(longp, 'p', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	cfs_err_set(&e, EINVAL, "%s", longp);
	ok(strlen(e.msg) == sizeof(e.msg) - 1, "err_set truncates a long message");
	cfs_err_prefix(&e, "%s", longp);
	ok(strlen(e.msg) == sizeof(e.msg) - 1, "err_prefix truncates safely");
	cfs_err_set(&e, EINVAL, "tail");
	cfs_err_prefix(&e, "%s", longp);
	ok(strlen(e.msg) == sizeof(e.msg) - 1 && e.msg[0] == 'p',
	   "err_prefix with a long prefix");
}

/* ---- numbers */

static void test_uint(void)
{
	static const struct {
		const char *s;
		uint64_t min, max, want;
	} good[] = {
		{ "0", 0, 10, 0 },
		{ "10", 0, 10, 10 },
		{ "5", 5, 5, 5 },
		{ "007", 0, 10, 7 },
		{ "18446744073709551615", 0, UINT64_MAX, UINT64_MAX },
		{ "4294967296", 0, UINT64_MAX, 4294967296ULL },
	};
	static const struct {
		const char *s;
		uint64_t min, max;
	} bad[] = {
		{ "", 0, 10 },
		{ " 1", 0, 10 },
		{ "1 ", 0, 10 },
		{ "+1", 0, 10 },
		{ "-1", 0, 10 },
		{ "-0", 0, 10 },
		{ "1a", 0, 10 },
		{ "0x10", 0, 100 },
		{ "1.5", 0, 10 },
		{ "1e3", 0, 5000 },
		{ "1\n", 0, 10 },
		{ "\n1", 0, 10 },
		{ "1\t", 0, 10 },
		{ "11", 0, 10 },
		{ "0", 1, 10 },
		{ "max", 0, 10 },
		{ "18446744073709551616", 0, UINT64_MAX },
		{ "99999999999999999999", 0, UINT64_MAX },
		{ "184467440737095516150", 0, UINT64_MAX },
		{ "1 2", 0, 10 },
		{ "１", 0, 10 },
	};
	struct cfs_err e;
	uint64_t v;
	size_t i;
	char *s;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		v = 12345;
		ok(parse_uint(good[i].s, good[i].min, good[i].max, &v, &e) == 0 &&
			   v == good[i].want,
		   "parse_uint '%s' in [%llu,%llu]", good[i].s,
		   (unsigned long long)good[i].min, (unsigned long long)good[i].max);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		v = 12345;
		ok(refused(parse_uint(bad[i].s, bad[i].min, bad[i].max, &v, &e), &e) &&
			   v == 12345,
		   "parse_uint refuses '%s' in [%llu,%llu] (%s)", esc(bad[i].s),
		   (unsigned long long)bad[i].min, (unsigned long long)bad[i].max, e.msg);
	}
	ok(parse_uint("x", 0, 1, &v, NULL) == -EINVAL, "parse_uint with NULL err");
	ok(parse_uint("12\0junk", 0, 100, &v, &e) == 0 && v == 12,
	   "parse_uint stops at the NUL (callers must check the length)");
	cfs_err_clear(&e);
	parse_uint("abc", 0, 1, &v, &e);
	ok(strstr(e.msg, "'abc'") != NULL, "parse_uint message names the value");

	s = repeat('0', CFS_MAX_VALUE);
	ok(parse_uint(s, 0, 1, &v, &e) == 0 && v == 0, "parse_uint takes %d bytes",
	   CFS_MAX_VALUE);
	free(s);
	s = repeat('0', CFS_MAX_VALUE + 1);
	cfs_err_clear(&e);
	ok(refused(parse_uint(s, 0, 1, &v, &e), &e) && strlen(e.msg) < 120,
	   "parse_uint refuses %d bytes with a short message", CFS_MAX_VALUE + 1);
	free(s);
}

static void test_bool01(void)
{
	static const char *const bad[] = { "", "2", "01", "00", "true", "false", "yes",
					   " 1", "1 ", "1\n", "-0", "+1", "on" };
	struct cfs_err e;
	bool b = false;
	size_t i;

	ok(parse_bool01("1", &b, &e) == 0 && b, "parse_bool01 '1'");
	ok(parse_bool01("0", &b, &e) == 0 && !b, "parse_bool01 '0'");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		ok(refused(parse_bool01(bad[i], &b, &e), &e), "parse_bool01 refuses '%s'",
		   esc(bad[i]));
	}
}

static void test_size(void)
{
	static const struct {
		const char *s;
		bool mx, m1;
		uint64_t want;
	} good[] = {
		{ "0", false, false, 0 },
		{ "4096", false, false, 4096 },
		{ "1K", false, false, 1024 },
		{ "1k", false, false, 1024 },
		{ "128M", false, false, 128ULL << 20 },
		{ "128m", false, false, 128ULL << 20 },
		{ "1g", false, false, 1ULL << 30 },
		{ "1G", false, false, 1ULL << 30 },
		{ "2T", false, false, 2ULL << 40 },
		{ "2t", false, false, 2ULL << 40 },
		{ "0K", false, false, 0 },
		{ "16777215T", false, false, 16777215ULL << 40 },
		{ "17179869183G", false, false, 17179869183ULL << 30 },
		{ "18014398509481983K", false, false, 18014398509481983ULL << 10 },
		{ "18446744073709551615", false, false, UINT64_MAX },
		{ "max", true, false, CFS_UNLIMITED },
		{ "-1", false, true, CFS_UNLIMITED },
		{ "max", true, true, CFS_UNLIMITED },
		{ "-1", true, true, CFS_UNLIMITED },
	};
	static const struct {
		const char *s;
		bool mx, m1;
	} bad[] = {
		{ "", true, true },
		{ "12X", true, true },
		{ "1KB", true, true },
		{ "1KiB", true, true },
		{ "1B", true, true },
		{ "1b", true, true },
		{ "K", true, true },
		{ "M", true, true },
		{ "1KK", true, true },
		{ "1 K", true, true },
		{ " 1", true, true },
		{ "1 ", true, true },
		{ "+1", true, true },
		{ "-2", true, true },
		{ "-1K", true, true },
		{ "1.5G", true, true },
		{ "0x10", true, true },
		{ "1\n", true, true },
		{ "max", false, true },
		{ "MAX", true, true },
		{ "max ", true, true },
		{ "-1", true, false },
		{ "-1", false, false },
		{ "1P", true, true },
		{ "1E", true, true },
		{ "16777216T", true, true },
		{ "17179869184G", true, true },
		{ "18014398509481984K", true, true },
		{ "18446744073709551616", true, true },
		{ "99999999999999999999K", true, true },
		{ "99999999999999999999", true, true },
	};
	struct cfs_err e;
	uint64_t v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		v = 7;
		ok(parse_size(good[i].s, good[i].mx, good[i].m1, &v, &e) == 0 &&
			   v == good[i].want,
		   "parse_size '%s' (max %d, -1 %d)", good[i].s, good[i].mx, good[i].m1);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		v = 7;
		ok(refused(parse_size(bad[i].s, bad[i].mx, bad[i].m1, &v, &e), &e) && v == 7,
		   "parse_size refuses '%s' (max %d, -1 %d): %s", esc(bad[i].s), bad[i].mx,
		   bad[i].m1, e.msg);
	}
	cfs_err_clear(&e);
	parse_size("12X", true, false, &v, &e);
	ok(!strcmp(e.msg, "'12X' is not a size (bytes with an optional K, M, G or T "
			  "suffix, or max)"),
	   "parse_size message: %s", e.msg);
	ok(parse_size("1Q", false, false, &v, NULL) == -EINVAL, "parse_size NULL err");
}

static void test_uint_or_max(void)
{
	static const char *const bad[] = { "", "Max", "MAX", "max ", " max", "maxx", "-1",
					   "+5", "0", "101", "1e2", "18446744073709551616" };
	struct cfs_err e;
	uint64_t v;
	size_t i;

	ok(parse_uint_or_max("max", 1, 100, &v, &e) == 0 && v == CFS_UNLIMITED,
	   "parse_uint_or_max 'max'");
	ok(parse_uint_or_max("1", 1, 100, &v, &e) == 0 && v == 1,
	   "parse_uint_or_max lower bound");
	ok(parse_uint_or_max("100", 1, 100, &v, &e) == 0 && v == 100,
	   "parse_uint_or_max upper bound");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		ok(refused(parse_uint_or_max(bad[i], 1, 100, &v, &e), &e),
		   "parse_uint_or_max refuses '%s' in [1,100]", esc(bad[i]));
	}
}

static void test_cpu_max(void)
{
	static const struct {
		const char *s;
		uint64_t q, p;
	} good[] = {
		{ "max", CFS_UNLIMITED, 100000 },
		{ "max 100000", CFS_UNLIMITED, 100000 },
		{ "max 1000", CFS_UNLIMITED, 1000 },
		{ "50000 100000", 50000, 100000 },
		{ "50000", 50000, 100000 },
		{ "1000 1000", 1000, 1000 },
		{ "1000 1000000", 1000, 1000000 },
		{ "4294967295000 100000", 4294967295000ULL, 100000 },
		{ "50000  100000", 50000, 100000 },
		{ "50000\t100000", 50000, 100000 },
	};
	static const char *const bad[] = {
		"", " ", "999", "0",
		"max 999", "max 1000001", "50000 0", "50000 100000 1",
		"-1", "-1 100000", "50000 -100000", "max max",
		"Max", "50000,100000", "50000 1e5", "4294967295001",
		"18446744073709551616 100000", "50000 18446744073709551616",
		"50000\n100000", "50000 100000\n", "+50000"
	};
	struct cfs_err e;
	uint64_t q, p;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		q = p = 1;
		ok(parse_cpu_max(good[i].s, &q, &p, &e) == 0 && q == good[i].q &&
			   p == good[i].p,
		   "parse_cpu_max '%s'", esc(good[i].s));
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		q = p = 1;
		ok(refused(parse_cpu_max(bad[i], &q, &p, &e), &e) && q == 1 && p == 1,
		   "parse_cpu_max refuses '%s': %s", esc(bad[i]), e.msg);
	}
}

static void test_cpu_list(void)
{
	static const char *const good[] = { "", "0", "0-3", "0-3,5", "0-3,5,7-8", "4095",
					    "0-4095", "3-3", "1,1", "5,0-3", "0,1,2,3" };
	static const char *const bad[] = {
		" ", "0-3, 5", " 0", "0 ", ",", "0,", ",0", "0,,1",
		"3-1", "4096", "0-4096", "-1", "1-", "-", "0--3", "0-3-5",
		"a", "0x1", "+1", "1\n", "0-3\n", "0;1", "99999999999999999999",
		"0:3"
	};
	struct cfs_err e;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		ok(parse_cpu_list(good[i], &e) == 0, "parse_cpu_list '%s'", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		ok(refused(parse_cpu_list(bad[i], &e), &e), "parse_cpu_list refuses '%s': %s",
		   esc(bad[i]), e.msg);
	}
}

/* ---- signals */

static void test_signal(void)
{
	static const struct {
		const char *s;
		int sig;
	} good[] = {
		{ "TERM", SIGTERM },
		{ "SIGTERM", SIGTERM },
		{ "sigterm", SIGTERM },
		{ "term", SIGTERM },
		{ "SigTerm", SIGTERM },
		{ "HUP", SIGHUP },
		{ "KILL", SIGKILL },
		{ "SIGKILL", SIGKILL },
		{ "INT", SIGINT },
		{ "QUIT", SIGQUIT },
		{ "USR1", SIGUSR1 },
		{ "SIGUSR2", SIGUSR2 },
		{ "CHLD", SIGCHLD },
		{ "CONT", SIGCONT },
		{ "STOP", SIGSTOP },
		{ "WINCH", SIGWINCH },
		{ "PWR", SIGPWR },
		{ "SYS", SIGSYS },
		{ "STKFLT", SIGSTKFLT },
		{ "VTALRM", SIGVTALRM },
		{ "IO", SIGIO },
		{ "XFSZ", SIGXFSZ },
		{ "1", 1 },
		{ "9", 9 },
		{ "15", 15 },
		{ "64", 64 },
		{ "015", 15 },
	};
	static const char *const bad[] = {
		"", "0", "65", "-1", "+15", "SIG",
		"SIGSIGTERM", "TERMX", "SIG15", " TERM", "TERM ", "TERM\n",
		"FOO", "RTMIN-1", "RTMAX+1", "RTMIN+", "RTMAX-", "RTMIN+x",
		"RTMIN+-1", "RTMIN+31", "RTMAX-31", "RTMIN+99999999999999999999",
		"99999999999999999999", "18446744073709551617", "S IGTERM", "sig term"
	};
	struct cfs_err e;
	int sig;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		sig = -1;
		ok(parse_signal(good[i].s, &sig, &e) == 0 && sig == good[i].sig,
		   "parse_signal '%s' = %d", good[i].s, good[i].sig);
	}
	ok(parse_signal("RTMIN", &sig, &e) == 0 && sig == SIGRTMIN, "parse_signal RTMIN");
	ok(parse_signal("SIGRTMIN+3", &sig, &e) == 0 && sig == SIGRTMIN + 3,
	   "parse_signal SIGRTMIN+3");
	ok(parse_signal("sigrtmin+0", &sig, &e) == 0 && sig == SIGRTMIN,
	   "parse_signal sigrtmin+0");
	ok(parse_signal("RTMAX", &sig, &e) == 0 && sig == SIGRTMAX, "parse_signal RTMAX");
	ok(parse_signal("SIGRTMAX-2", &sig, &e) == 0 && sig == SIGRTMAX - 2,
	   "parse_signal SIGRTMAX-2");
	ok(parse_signal("RTMAX-30", &sig, &e) == 0 && sig == SIGRTMAX - 30 &&
		   sig >= SIGRTMIN,
	   "parse_signal RTMAX-30 (down to RTMIN)");
	ok(parse_signal("RTMIN+30", &sig, &e) == 0 && sig == SIGRTMIN + 30 &&
		   sig <= SIGRTMAX,
	   "parse_signal RTMIN+30 (up to RTMAX)");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		sig = -7;
		ok(refused(parse_signal(bad[i], &sig, &e), &e) && sig == -7,
		   "parse_signal refuses '%s': %s", esc(bad[i]), e.msg);
	}
}

/* ---- shell words */

static int strv_equal(char **v, int argc, const char *const *want)
{
	int i;

	for (i = 0; want[i]; i++)
		if (i >= argc || !v[i] || strcmp(v[i], want[i]))
			return 0;
	return i == argc && v[i] == NULL;
}

static void test_shell_words(void)
{
	static const struct {
		const char *s;
		const char *want[6];
	} good[] = {
		{ "", { NULL } },
		{ "   \t ", { NULL } },
		{ "ls", { "ls", NULL } },
		{ "/bin/sh -c 'echo hi'", { "/bin/sh", "-c", "echo hi", NULL } },
		{ "  a \t b  ", { "a", "b", NULL } },
		{ "''", { "", NULL } },
		{ "\"\"", { "", NULL } },
		{ "a '' b", { "a", "", "b", NULL } },
		{ "'a b'c\"d e\"f", { "a bcd ef", NULL } },
		{ "a\\ b", { "a b", NULL } },
		{ "\\'x\\'", { "'x'", NULL } },
		{ "'\\n' \"\\n\"", { "\\n", "\\n", NULL } },
		{ "\"\\\" \\\\ \\$ \\`\"", { "\" \\ $ `", NULL } },
		{ "'$HOME' \"$HOME\" ~ *", { "$HOME", "$HOME", "~", "*", NULL } },
		{ "\"it's\" 'say \"hi\"'", { "it's", "say \"hi\"", NULL } },
		{ "\\\\", { "\\", NULL } },
		{ "a\\\tb", { "a\tb", NULL } },
	};
	static const char *const bad[] = {
		"'abc", "\"abc", "a 'b", "a \"b\\\"", "abc\\", "'", "\"", "\\",
		"a\nb", "'a\nb'"
	};
	struct cfs_err e;
	char **v;
	int argc;
	size_t i;
	char *s;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		v = NULL;
		argc = -1;
		ok(parse_shell_words(good[i].s, &v, &argc, &e) == 0 &&
			   strv_equal(v, argc, good[i].want),
		   "parse_shell_words '%s'", esc(good[i].s));
		strv_free(v);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		v = (char **)&e;
		argc = 99;
		ok(refused(parse_shell_words(bad[i], &v, &argc, &e), &e) && !v && argc == 0,
		   "parse_shell_words refuses '%s': %s", esc(bad[i]), e.msg);
	}
	strv_free(NULL);
	ok(1, "strv_free(NULL)");

	/* many one-letter words: the worst case for the scratch buffer */
	s = repeat(' ', CFS_MAX_VALUE);
	for (i = 0; i < CFS_MAX_VALUE; i += 2)
		s[i] = 'x';
	ok(parse_shell_words(s, &v, &argc, &e) == 0 && argc == CFS_MAX_VALUE / 2 &&
		   !strcmp(v[argc - 1], "x") && !v[argc],
	   "parse_shell_words %d words", CFS_MAX_VALUE / 2);
	strv_free(v);
	free(s);
	s = repeat('x', CFS_MAX_VALUE + 1);
	cfs_err_clear(&e);
	ok(refused(parse_shell_words(s, &v, &argc, &e), &e) && !v,
	   "parse_shell_words refuses an over-long line");
	free(s);
}

/* ---- device rules */

static void test_device_rule(void)
{
	static const struct {
		const char *s;
		char type;
		int64_t maj, min;
		unsigned acc;
		const char *canon;
	} good[] = {
		{ "c 1:3 rwm", 'c', 1, 3, RWM, "c 1:3 rwm" },
		{ "b 8:* r", 'b', 8, -1, DEV_ACC_READ, "b 8:* r" },
		{ "c *:* m", 'c', -1, -1, DEV_ACC_MKNOD, "c *:* m" },
		{ "a", 'a', -1, -1, RWM, "a *:* rwm" },
		{ "all", 'a', -1, -1, RWM, "a *:* rwm" },
		{ "a *:* rwm", 'a', -1, -1, RWM, "a *:* rwm" },
		{ "c 136:* mwr", 'c', 136, -1, RWM, "c 136:* rwm" },
		{ "c 5:1 wr", 'c', 5, 1, DEV_ACC_READ | DEV_ACC_WRITE, "c 5:1 rw" },
		{ "c  10:200\tw", 'c', 10, 200, DEV_ACC_WRITE, "c 10:200 w" },
		{ "b 4294967295:0 r", 'b', 4294967295LL, 0, DEV_ACC_READ,
		  "b 4294967295:0 r" },
		{ "a 1:3 r", 'a', 1, 3, DEV_ACC_READ, "a 1:3 r" },
	};
	static const char *const bad[] = {
		"", "x 1:3 rwm", "C 1:3 rwm", "cc 1:3 rwm", "c 1:3",
		"c 1:3 ", "c 1:3 rwmx", "c 1:3 rr", "c 1:3 RWM", "c 1 rwm",
		"c 1:3:4 r", "c :3 r", "c 1: r", "c -1:3 r", "c 1:-3 r",
		"c +1:3 r", "c 4294967296:0 r", "c 1:3 rwm extra", "all rwm", "a rwm",
		"al", "A", "c a:b r", "c **:* r", "c 1:3 r\n",
		"c 99999999999999999999:1 r", "c 1;3 r", "c 1:3 -"
	};
	struct cfs_err e;
	struct device_rule r;
	char buf[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		memset(&r, 0x55, sizeof(r));
		ok(parse_device_rule(good[i].s, &r, &e) == 0 && r.type == good[i].type &&
			   r.major == good[i].maj && r.minor == good[i].min &&
			   r.access == good[i].acc,
		   "parse_device_rule '%s'", esc(good[i].s));
		format_device_rule(&r, buf, sizeof(buf));
		ok(!strcmp(buf, good[i].canon), "format_device_rule '%s' -> '%s' (got '%s')",
		   esc(good[i].s), good[i].canon, buf);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		memset(&r, 0x55, sizeof(r));
		ok(refused(parse_device_rule(bad[i], &r, &e), &e) && r.type == 0x55,
		   "parse_device_rule refuses '%s': %s", esc(bad[i]), e.msg);
	}
	r = (struct device_rule){ 'c', 1, 3, RWM };
	format_device_rule(&r, buf, 4);
	ok(!strcmp(buf, "c 1"), "format_device_rule truncates to the buffer");
	buf[0] = 'z';
	format_device_rule(&r, buf, 0);
	ok(buf[0] == 'z', "format_device_rule with size 0 writes nothing");
}

/* ---- id maps */

static void test_idmap(void)
{
	static const struct {
		const char *s;
		struct idmap_entry m;
	} good[] = {
		{ "u 0 100000 65536", { 'u', 0, 100000, 65536 } },
		{ "g 0 100000 65536", { 'g', 0, 100000, 65536 } },
		{ "b 0 100000 1", { 'b', 0, 100000, 1 } },
		{ "u\t0  1\t1", { 'u', 0, 1, 1 } },
		{ "u 0 0 4294967295", { 'u', 0, 0, 4294967295U } },
		{ "u 4294967295 0 1", { 'u', 4294967295U, 0, 1 } },
		{ "u 0 4294967295 1", { 'u', 0, 4294967295U, 1 } },
		{ "g 1 1 4294967295", { 'g', 1, 1, 4294967295U } },
	};
	static const char *const bad[] = {
		"",
		"u",
		"u 0 100000",
		"u 0 100000 65536 1",
		"x 0 100000 65536",
		"U 0 100000 65536",
		"ug 0 1 1",
		"u 0 100000 0",
		"u -1 100000 1",
		"u 0 -1 1",
		"u 0 1 -1",
		"u +0 1 1",
		"u 0 1 1x",
		"u 4294967296 0 1",
		"u 0 4294967296 1",
		"u 0 0 4294967296",
		"u 4294967295 0 2",
		"u 0 4294967295 2",
		"u 2 2 4294967295",
		"u 0 1 99999999999999999999",
		"u 0 1 1\n",
		"u 0:1 1",
	};
	struct cfs_err e;
	struct idmap_entry m;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		memset(&m, 0, sizeof(m));
		ok(parse_idmap_line(good[i].s, &m, &e) == 0 && m.kind == good[i].m.kind &&
			   m.inside == good[i].m.inside && m.outside == good[i].m.outside &&
			   m.count == good[i].m.count,
		   "parse_idmap_line '%s'", esc(good[i].s));
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		memset(&m, 0, sizeof(m));
		ok(refused(parse_idmap_line(bad[i], &m, &e), &e) && m.kind == 0,
		   "parse_idmap_line refuses '%s': %s", esc(bad[i]), e.msg);
	}
}

static void test_subid(void)
{
	static const struct {
		const char *s;
		uint64_t start, count;
	} good[] = {
		{ "root:1000000:1000000000\n", 1000000, 1000000000 },
		{ "0:100000:65536", 100000, 65536 },
		{ "root:0:4294967296\n", 0, 4294967296ULL },
	};
	static const char *const bad[] = {
		"rooty:1000000:65536", "roo:1000000:65536", "alice:1000000:65536", "1:5:5",
		"root:1000000", "root::65536", "root:1:0", "root:-1:5", "root:4294967295:2",
		"root:1x:5", "root:1:5x", ":1:5", "# root:1:5", ""
	};
	uint64_t a, b;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		ok(parse_subid_line(good[i].s, "root", 0, &a, &b) && a == good[i].start &&
			   b == good[i].count,
		   "parse_subid_line '%s'", esc(good[i].s));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ok(!parse_subid_line(bad[i], "root", 0, &a, &b),
		   "parse_subid_line refuses '%s'", esc(bad[i]));
}

static void test_idmap_whole(void)
{
	static const struct {
		const char *s;
		uint32_t uid, gid;
	} good[] = {
		{ "u 0 100000 65536\ng 0 200000 65536", 100000, 200000 },
		{ "b 0 1000000 65536", 1000000, 1000000 },
		{ "u 0 100000 10\nu 10 100010 10\ng 0 5 1\ng 1000 6 1", 100000, 5 },
		{ "u 0 1 1\n\ng 0 2 1\nb 5 500 10", 1, 2 },
	};
	static const char *const bad[] = {
		"u 0 100000 65536",		/* gid 0 unmapped */
		"g 0 100000 65536",		/* uid 0 unmapped */
		"u 1 100000 10\ng 0 100000 10",
		"u 0 100000 10\nu 5 200000 10\ng 0 1 1",	/* inside overlap */
		"u 0 100000 10\nu 10 100009 10\ng 0 1 1",	/* outside overlap */
		"b 0 100000 10\ng 9 300000 1\nu 0 1 1",	/* b overlaps both kinds */
		"u 0 100000 10\ng 0 1 1\nu x",
	};
	struct idmap_root root;
	struct cfs_err e;

	ok(parse_idmap("", &root, &e) == 0 && !root.set, "parse_idmap: empty is no map");
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		ok(parse_idmap(good[i].s, &root, &e) == 1 && root.set &&
			   root.uid == good[i].uid && root.gid == good[i].gid,
		   "parse_idmap '%s'", esc(good[i].s));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		ok(refused(parse_idmap(bad[i], &root, &e), &e),
		   "parse_idmap refuses '%s': %s", esc(bad[i]), e.msg);
	}
}

/* ---- MAC addresses */

static void test_mac(void)
{
	static const char *const bad[] = {
		"",
		"00:16:3e:00:00",
		"00:16:3e:00:00:00:00",
		"00:16:3e:00:00:0",
		"00:16:3e:00:00:000",
		"0:16:3e:00:00:00",
		"00-16-3e-00-00-00",
		"0016.3e00.0000",
		"00:16:3e:00:00:0g",
		"00:16:3e:00:00:zz",
		" 00:16:3e:00:00:00",
		"00:16:3e:00:00:00 ",
		"00:16:3e:00:00:00\n",
		"01:16:3e:00:00:00",
		"ff:ff:ff:ff:ff:ff",
		"x1:00:00:00:00:00",
		"33:33:00:00:00:01",
		"00:00:00:00:00:00",
		"00::3e:00:00:00:0",
		"00:16:3e:00:00:0x:",
	};
	uint8_t mac[6], mask[6];
	struct cfs_err e;
	size_t i;

	ok(parse_mac("00:16:3e:12:ab:CD", mac, mask, &e) == 0 &&
		   !memcmp(mac, "\x00\x16\x3e\x12\xab\xcd", 6) &&
		   !memcmp(mask, "\0\0\0\0\0\0", 6),
	   "parse_mac fixed address");
	ok(parse_mac("00:16:3e:xx:xX:Xx", mac, mask, &e) == 0 &&
		   !memcmp(mac, "\x00\x16\x3e\x00\x00\x00", 6) &&
		   !memcmp(mask, "\0\0\0\xff\xff\xff", 6),
	   "parse_mac random tail");
	ok(parse_mac("0x:1x:x2:00:00:01", mac, mask, &e) == 0 &&
		   !memcmp(mac, "\x00\x10\x02\x00\x00\x01", 6) &&
		   !memcmp(mask, "\x0f\x0f\xf0\0\0\0", 6),
	   "parse_mac random nibbles");
	ok(parse_mac("xx:xx:xx:xx:xx:xx", mac, mask, &e) == 0 &&
		   !memcmp(mask, "\xff\xff\xff\xff\xff\xff", 6),
	   "parse_mac all random");
	ok(parse_mac("0x:00:00:00:00:00", mac, mask, &e) == 0,
	   "parse_mac random low nibble may be odd (caller clears it)");
	ok(parse_mac("02:00:00:00:00:01", mac, mask, &e) == 0 && mac[0] == 0x02,
	   "parse_mac locally administered");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		memset(mac, 0xaa, 6);
		ok(refused(parse_mac(bad[i], mac, mask, &e), &e) && mac[0] == 0xaa,
		   "parse_mac refuses '%s': %s", esc(bad[i]), e.msg);
	}
	cfs_err_clear(&e);
	parse_mac("01:00:5e:00:00:01", mac, mask, &e);
	ok(strstr(e.msg, "multicast") != NULL, "parse_mac says multicast: %s", e.msg);
}

static void test_mac_fill(void)
{
	static const uint8_t ones[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zeros[6] = { 0 };
	uint8_t mac[6], mask[6];

	parse_mac("00:16:3e:xx:xx:xx", mac, mask, NULL);
	parse_mac_fill_random(mac, mask, ones);
	ok(!memcmp(mac, "\x00\x16\x3e\xff\xff\xff", 6), "parse_mac_fill_random keeps fixed bits");
	parse_mac("00:16:3e:xx:xx:xx", mac, mask, NULL);
	parse_mac_fill_random(mac, mask, zeros);
	ok(!memcmp(mac, "\x00\x16\x3e\x00\x00\x00", 6), "parse_mac_fill_random zero entropy");
	parse_mac("xx:xx:xx:xx:xx:xx", mac, mask, NULL);
	parse_mac_fill_random(mac, mask, ones);
	ok(mac[0] == 0xfe && !memcmp(mac + 1, ones, 5),
	   "parse_mac_fill_random all random: unicast, local (0x%02x)", mac[0]);
	parse_mac("xx:xx:xx:xx:xx:xx", mac, mask, NULL);
	parse_mac_fill_random(mac, mask, zeros);
	ok(mac[0] == 0x02, "parse_mac_fill_random all random zero entropy sets 0x02 (0x%02x)",
	   mac[0]);
	parse_mac("0x:00:00:00:00:01", mac, mask, NULL);
	parse_mac_fill_random(mac, mask, ones);
	ok(mac[0] == 0x0e, "parse_mac_fill_random random low nibble: multicast cleared, no 0x02"
			   " (0x%02x)",
	   mac[0]);
	parse_mac("x0:00:00:00:00:01", mac, mask, NULL);
	parse_mac_fill_random(mac, mask, ones);
	ok(mac[0] == 0xf0, "parse_mac_fill_random random high nibble only (0x%02x)", mac[0]);
}

/* ---- IPv4 and interface names */

static void test_ipv4(void)
{
	static const char *const good[] = { "0.0.0.0", "10.0.0.1", "192.168.1.254",
					    "255.255.255.255" };
	static const char *const bad[] = {
		"", "10.0.0", "10.0.0.1.2", "256.0.0.1", "10.0.0.01",
		"010.0.0.1", "0x0a.0.0.1", "10.0.0.1 ", " 10.0.0.1", "10.0.0.1\n",
		"10..0.1", "10.0.0.-1", "10.0.0.+1", "a.b.c.d", "::1",
		"10.0.0.1/24", "167772161", "10.1"
	};
	struct cfs_err e;
	struct in_addr a;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		ok(parse_ipv4(good[i], &a, &e) == 0 && a.s_addr == inet_addr(good[i]),
		   "parse_ipv4 '%s'", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		a.s_addr = 42;
		ok(refused(parse_ipv4(bad[i], &a, &e), &e) && a.s_addr == 42,
		   "parse_ipv4 refuses '%s'", esc(bad[i]));
	}
}

static void test_cidr4(void)
{
	static const struct {
		const char *s;
		const char *addr;
		int prefix;
	} good[] = {
		{ "10.0.0.2/24", "10.0.0.2", 24 },
		{ "0.0.0.0/0", "0.0.0.0", 0 },
		{ "255.255.255.255/32", "255.255.255.255", 32 },
		{ "192.168.1.1/9", "192.168.1.1", 9 },
	};
	static const char *const bad[] = {
		"", "10.0.0.2", "10.0.0.2/", "10.0.0.2/33", "10.0.0.2/-1",
		"10.0.0.2/+8", "10.0.0.2/08", "10.0.0.2/00", "10.0.0.2/ 8", "10.0.0.2 /8",
		"10.0.0.2/8 ", "/24", "10.0.0/24", "10.0.0.02/24", "10.0.0.2/24/1",
		"10.0.0.2/8\n", "10.0.0.2/a", "10.0.0.2/99999999999999999999",
		"1000.1000.1000.1000/8", "10.0.0.2/255.0.0.0"
	};
	struct cfs_err e;
	struct in_addr a;
	int prefix;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		prefix = -1;
		ok(parse_cidr4(good[i].s, &a, &prefix, &e) == 0 &&
			   a.s_addr == inet_addr(good[i].addr) && prefix == good[i].prefix,
		   "parse_cidr4 '%s'", good[i].s);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		prefix = -1;
		ok(refused(parse_cidr4(bad[i], &a, &prefix, &e), &e) && prefix == -1,
		   "parse_cidr4 refuses '%s'", esc(bad[i]));
	}
}

static void test_ifname(void)
{
	static const char *const good[] = { "eth0", "a", "veth-ctr_1.5", "123456789012345",
					    "...", ".a", "é" };
	static const char *const bad[] = { "", "1234567890123456", ".", "..",
					   "eth/0", "eth:0", "eth 0", "eth\t0",
					   "eth0\n", "\x01", "a\x7f", " eth0" };
	struct cfs_err e;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		ok(parse_ifname(good[i], &e) == 0, "parse_ifname '%s'", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		ok(refused(parse_ifname(bad[i], &e), &e), "parse_ifname refuses '%s'",
		   esc(bad[i]));
	}
}

/* ---- identities, environment, names */

static void test_uid_gid(void)
{
	static const struct {
		const char *s;
		uid_t u;
		gid_t g;
	} good[] = {
		{ "0:0", 0, 0 },
		{ "1000", 1000, 1000 },
		{ "1000:100", 1000, 100 },
		{ "4294967294:4294967294", 4294967294U, 4294967294U },
		{ "4294967294", 4294967294U, 4294967294U },
		{ "0:4294967294", 0, 4294967294U },
	};
	static const char *const bad[] = {
		"", ":", "1000:", ":1000", "root", "root:root",
		"1000:users", "4294967295", "0:4294967295", "4294967296", "-1", "+1",
		" 0", "0 ", "0: 0", "0:0:0", "1000\n", "0x10",
		"99999999999999999999", "0:99999999999999999999"
	};
	struct cfs_err e;
	uid_t u;
	gid_t g;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		u = 7;
		g = 7;
		ok(parse_uid_gid(good[i].s, &u, &g, &e) == 0 && u == good[i].u &&
			   g == good[i].g,
		   "parse_uid_gid '%s'", good[i].s);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		u = 7;
		g = 7;
		ok(refused(parse_uid_gid(bad[i], &u, &g, &e), &e) && u == 7 && g == 7,
		   "parse_uid_gid refuses '%s': %s", esc(bad[i]), e.msg);
	}
}

static void test_env(void)
{
	static const char *const good[] = { "A=1", "PATH=/usr/bin:/bin", "_=x", "a_b9=",
					    "X==", "X=a b c", "X=\t", "LANG=C.UTF-8",
					    "_9=9" };
	static const char *const bad[] = { "", "=", "=x", "A", "9A=1", "A-B=1",
					   "A B=1", " A=1", "A =1", "A.B=1", "é=1", "A=1\n",
					   "A=a\nB=b", "\nA=1" };
	struct cfs_err e;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		ok(parse_env_line(good[i], &e) == 0, "parse_env_line '%s'", esc(good[i]));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		ok(refused(parse_env_line(bad[i], &e), &e), "parse_env_line refuses '%s'",
		   esc(bad[i]));
	}
}

static void test_container_name(void)
{
	static const char *const bad[] = { "", ".", "..", ".hidden", "-x", "a b",
					   "a/b", "a:b", "a\n", " a", "a ", "é",
					   "a*", "a\tb" };
	static const char *const good[] = { "a", "web1", "my_ctr.v2-test", "A", "0", "_x",
					    "x.", "x-" };
	struct cfs_err e;
	size_t i;
	char *s;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		ok(parse_container_name(good[i], &e) == 0, "parse_container_name '%s'", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		ok(refused(parse_container_name(bad[i], &e), &e),
		   "parse_container_name refuses '%s'", esc(bad[i]));
	}
	s = repeat('a', 64);
	ok(parse_container_name(s, &e) == 0, "parse_container_name 64 chars");
	free(s);
	s = repeat('a', 65);
	cfs_err_clear(&e);
	ok(refused(parse_container_name(s, &e), &e), "parse_container_name refuses 65 chars");
	free(s);
}

/* ---- namespaces and capabilities */

static void test_namespaces(void)
{
	static const struct {
		const char *s;
		unsigned long f;
		const char *canon;
	} good[] = {
		{ "", 0, "" },
		{ "  ", 0, "" },
		{ "mnt", CLONE_NEWNS, "mnt" },
		{ "pid mnt", CLONE_NEWNS | CLONE_NEWPID, "mnt pid" },
		{ "time user cgroup net ipc uts pid mnt",
		  CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
			  CLONE_NEWCGROUP | CLONE_NEWUSER | CLONE_NEWTIME,
		  "mnt pid uts ipc net cgroup user time" },
		{ " net\tuts  ", CLONE_NEWNET | CLONE_NEWUTS, "uts net" },
		{ "time", CLONE_NEWTIME, "time" },
	};
	static const char *const bad[] = {
		"mnt mnt", "pid net pid", "foo", "MNT", "mount", "ns",
		"mnt,pid", "mnt\npid", "user1", "mnt pid uts ipc net cgroup user time mnt"
	};
	struct cfs_err e;
	unsigned long f;
	char buf[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		f = 12345;
		ok(parse_namespaces(good[i].s, &f, &e) == 0 && f == good[i].f,
		   "parse_namespaces '%s'", esc(good[i].s));
		format_namespaces(f, buf, sizeof(buf));
		ok(!strcmp(buf, good[i].canon), "format_namespaces '%s' (got '%s')",
		   good[i].canon, buf);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		f = 12345;
		ok(refused(parse_namespaces(bad[i], &f, &e), &e) && f == 12345,
		   "parse_namespaces refuses '%s': %s", esc(bad[i]), e.msg);
	}
	format_namespaces(CLONE_NEWNS | CLONE_NEWPID, buf, 6);
	ok(strlen(buf) < 6, "format_namespaces truncates to the buffer ('%s')", buf);
	buf[0] = 'z';
	format_namespaces(CLONE_NEWNS, buf, 0);
	ok(buf[0] == 'z', "format_namespaces with size 0 writes nothing");
	format_namespaces(CLONE_NEWNET | CLONE_VM, buf, sizeof(buf));
	ok(!strcmp(buf, "net"), "format_namespaces ignores other clone flags");
}

static void test_caps(void)
{
	static const struct {
		const char *s;
		uint64_t mask;
	} good[] = {
		{ "", 0 },
		{ " \t ", 0 },
		{ "sys_admin", 1ULL << CAP_SYS_ADMIN },
		{ "CAP_SYS_ADMIN", 1ULL << CAP_SYS_ADMIN },
		{ "Sys_Admin", 1ULL << CAP_SYS_ADMIN },
		{ "cap_sys_admin", 1ULL << CAP_SYS_ADMIN },
		{ "Cap_Chown", 1ULL << CAP_CHOWN },
		{ "chown", 1ULL },
		{ "chown  net_admin\tsys_time",
		  1ULL | 1ULL << CAP_NET_ADMIN | 1ULL << CAP_SYS_TIME },
		{ " chown ", 1ULL },
		{ "chown chown", 1ULL },
		{ "audit_read", 1ULL << CAP_AUDIT_READ },
	};
	static const char *const bad[] = {
		"foo", "sys_adminx", "cap_", "CAP_", "0", "21",
		"chown,kill", "chown\nkill", "all", "ALL", "cap_cap_chown",
		"-chown", "+chown", "chown kill foo", "sys admin", "cap_21",
		"sys-admin"
	};
	struct cfs_err e;
	uint64_t m;
	size_t i;
	char *s;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		m = 12345;
		ok(parse_cap_list(good[i].s, &m, &e) == 0 && m == good[i].mask,
		   "parse_cap_list '%s'", esc(good[i].s));
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		m = 12345;
		ok(refused(parse_cap_list(bad[i], &m, &e), &e) && m == 12345,
		   "parse_cap_list refuses '%s': %s", esc(bad[i]), e.msg);
	}
	s = repeat('a', 200);
	cfs_err_clear(&e);
	ok(refused(parse_cap_list(s, &m, &e), &e), "parse_cap_list refuses a 200-byte word");
	free(s);
}

/* ---- fstab */

static void test_fstab_good(void)
{
	struct fstab_entry fe;
	struct cfs_err e;

	ok(parse_fstab_line("proc proc proc", &fe, &e) == 0 && !strcmp(fe.source, "proc") &&
		   !strcmp(fe.target, "proc") && !strcmp(fe.fstype, "proc") && !fe.flags &&
		   !fe.clear_flags && !fe.propagation && !fe.data[0] && !fe.create &&
		   !fe.optional,
	   "fstab three fields");
	ok(parse_fstab_line("tmpfs /tmp tmpfs rw,nosuid,nodev,size=64m,mode=1777 0 0", &fe,
			    &e) == 0 &&
		   fe.flags == (MS_NOSUID | MS_NODEV) && fe.clear_flags == MS_RDONLY &&
		   !strcmp(fe.data, "size=64m,mode=1777"),
	   "fstab tmpfs with data ('%s')", fe.data);
	ok(parse_fstab_line("devpts /dev/pts devpts newinstance,ptmxmode=0666,mode=620,gid=5",
			    &fe, &e) == 0 &&
		   !fe.flags && !strcmp(fe.data, "newinstance,ptmxmode=0666,mode=620,gid=5"),
	   "fstab devpts data in order");
	ok(parse_fstab_line("/srv/my\\040data /mnt/a\\011b\\012c\\134d none bind,ro", &fe,
			    &e) == 0 &&
		   !strcmp(fe.source, "/srv/my data") && !strcmp(fe.target, "/mnt/a\tb\nc\\d") &&
		   fe.flags == (MS_BIND | MS_RDONLY),
	   "fstab octal escapes");
	ok(parse_fstab_line("/a\\041 b\\\\ none bind", &fe, &e) == 0 &&
		   !strcmp(fe.source, "/a\\041") && !strcmp(fe.target, "b\\\\"),
	   "fstab other backslashes stay literal");
	ok(parse_fstab_line("/a \\040 none bind", &fe, &e) == 0 && !strcmp(fe.target, " "),
	   "fstab target that is an escaped space");
	ok(parse_fstab_line("/a b\\04 none bind", &fe, &e) == 0 && !strcmp(fe.target, "b\\04"),
	   "fstab short escape at the end stays literal");
	ok(parse_fstab_line("/home home none rbind,rslave,create=dir,optional", &fe, &e) ==
			   0 &&
		   fe.flags == (MS_BIND | MS_REC) && fe.propagation == (MS_SLAVE | MS_REC) &&
		   fe.create == 'd' && fe.optional && !fe.data[0],
	   "fstab rbind rslave create=dir optional");
	ok(parse_fstab_line("/etc/resolv.conf etc/resolv.conf none bind,create=file", &fe,
			    &e) == 0 &&
		   fe.create == 'f' && !strcmp(fe.target, "etc/resolv.conf"),
	   "fstab create=file, relative target");
	ok(parse_fstab_line("  none\t/x  tmpfs\tdefaults\t0\t2  ", &fe, &e) == 0 &&
		   !strcmp(fe.source, "none") && !strcmp(fe.target, "/x") && !fe.flags &&
		   !fe.data[0],
	   "fstab blanks and tabs, defaults");
	ok(parse_fstab_line("a b c ro,rw", &fe, &e) == 0 && !fe.flags &&
		   fe.clear_flags == MS_RDONLY,
	   "fstab ro,rw: last wins");
	ok(parse_fstab_line("a b c rw,ro", &fe, &e) == 0 && fe.flags == MS_RDONLY &&
		   !fe.clear_flags,
	   "fstab rw,ro: last wins");
	ok(parse_fstab_line("a b c suid,dev,exec,async", &fe, &e) == 0 && !fe.flags &&
		   fe.clear_flags == (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS),
	   "fstab suid,dev,exec,async clear flags");
	ok(parse_fstab_line("a b c noexec,sync,dirsync,noatime,nodiratime,relatime,"
			    "strictatime,remount",
			    &fe, &e) == 0 &&
		   fe.flags == (MS_NOEXEC | MS_SYNCHRONOUS | MS_DIRSYNC | MS_NOATIME |
				MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_REMOUNT),
	   "fstab flag options");
}

static void test_fstab_propagation(void)
{
	static const struct {
		const char *opt;
		int prop;
	} props[] = {
		{ "private", MS_PRIVATE },
		{ "rprivate", MS_PRIVATE | MS_REC },
		{ "slave", MS_SLAVE },
		{ "rslave", MS_SLAVE | MS_REC },
		{ "shared", MS_SHARED },
		{ "rshared", MS_SHARED | MS_REC },
		{ "unbindable", MS_UNBINDABLE },
		{ "runbindable", MS_UNBINDABLE | MS_REC },
		{ "shared,private", MS_PRIVATE },
	};
	struct fstab_entry fe;
	struct cfs_err e;
	char line[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(props); i++) {
		snprintf(line, sizeof(line), "/a /b none bind,%s", props[i].opt);
		ok(parse_fstab_line(line, &fe, &e) == 0 && fe.propagation == props[i].prop &&
			   fe.flags == MS_BIND && !fe.data[0],
		   "fstab propagation %s", props[i].opt);
	}
}

static void test_fstab_bad(void)
{
	static const char *const bad[] = {
		"",
		"proc",
		"proc proc",
		"a b c d 0 0 extra",
		"a b c defaults x",
		"a b c defaults 0 y",
		"a b c defaults -1",
		"a b c defaults 0 +1",
		"a b c ro,,rw",
		"a b c ,ro",
		"a b c ro,",
		"a b c ,",
		"a b c create=sock",
		"a b c create=",
		"a b c defaults 99999999999999999999",
		"a b\nc d",
		"a b c d\n",
		"a b\rc d",
	};
	struct fstab_entry fe;
	struct cfs_err e;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		cfs_err_clear(&e);
		ok(refused(parse_fstab_line(bad[i], &fe, &e), &e), "fstab refuses '%s': %s",
		   esc(bad[i]), e.msg);
	}
}

/* Fields exactly fitting their struct buffers, and one byte too long. */
static void test_fstab_lengths(void)
{
	struct fstab_entry fe;
	struct cfs_err e;
	char *line;
	size_t i;

	line = malloc(CFS_MAX_VALUE + 1);
	if (!line)
		abort();
	memset(line, 's', 1023);
	strcpy(line + 1023, " /t tmpfs");
	ok(parse_fstab_line(line, &fe, &e) == 0 && strlen(fe.source) == 1023,
	   "fstab 1023-byte source fits");
	memset(line, 's', 1024);
	strcpy(line + 1024, " /t tmpfs");
	cfs_err_clear(&e);
	ok(refused(parse_fstab_line(line, &fe, &e), &e), "fstab refuses a 1024-byte source");
	memset(line, 't', 1025);
	memcpy(line, "s ", 2);
	strcpy(line + 1025, " tmpfs");
	ok(parse_fstab_line(line, &fe, &e) == 0 && strlen(fe.target) == 1023,
	   "fstab 1023-byte target fits");
	memset(line, 't', 1026);
	memcpy(line, "s ", 2);
	strcpy(line + 1026, " tmpfs");
	cfs_err_clear(&e);
	ok(refused(parse_fstab_line(line, &fe, &e), &e), "fstab refuses a 1024-byte target");
	/* escapes count once decoded (4 * 1023 escapes would not fit a line: mix) */
	memset(line, 0, CFS_MAX_VALUE + 1);
	for (i = 0; i < 300; i++)
		strcat(line, "\\040");
	memset(line + strlen(line), 'x', 723);
	strcat(line, " /t none");
	ok(parse_fstab_line(line, &fe, &e) == 0 && strlen(fe.source) == 1023,
	   "fstab decoded length counts escapes once");
	strcpy(line, "a b ");
	memset(line + 4, 'f', 63);
	line[4 + 63] = '\0';
	ok(parse_fstab_line(line, &fe, &e) == 0 && strlen(fe.fstype) == 63,
	   "fstab 63-byte fstype fits");
	strcat(line, "f");
	cfs_err_clear(&e);
	ok(refused(parse_fstab_line(line, &fe, &e), &e), "fstab refuses a 64-byte fstype");
	/* data: 1023 bytes fit, 1024 do not */
	strcpy(line, "a b c ");
	memset(line + 6, 'd', 1023);
	line[6 + 1023] = '\0';
	ok(parse_fstab_line(line, &fe, &e) == 0 && strlen(fe.data) == 1023,
	   "fstab 1023 bytes of data fit");
	strcpy(line, "a b c ");
	memset(line + 6, 'd', 1020);
	strcpy(line + 6 + 1020, ",ddd");
	cfs_err_clear(&e);
	ok(refused(parse_fstab_line(line, &fe, &e), &e), "fstab refuses 1024 bytes of data");
	free(line);
}

/* ---- conversions */

static void test_conversions(void)
{
	static const struct conv {
		uint64_t in, out;
	} s2w[] = {
		{ 2, 1 },
		{ 262144, 10000 },
		{ 1024, 100 },
		{ 0, 1 },
		{ 1, 1 },
		{ 3, 2 },
		{ 1000000, 10000 },
		{ UINT64_MAX, 10000 },
		{ 512, 59 },
	};
	static const struct conv w2s[] = {
		{ 1, 2 },
		{ 10000, 262144 },
		{ 100, 1024 },
		{ 0, 2 },
		{ 20000, 262144 },
		{ UINT64_MAX, 262144 },
		{ 59, 521 },
	};
	static const struct conv b2i[] = {
		{ 10, 1 },
		{ 1000, 10000 },
		{ 500, 4950 },
		{ 0, 1 },
		{ 9, 1 },
		{ 1001, 10000 },
		{ UINT64_MAX, 10000 },
		{ 100, 910 },
	};
	static const struct conv i2b[] = {
		{ 1, 10 },
		{ 10000, 1000 },
		{ 100, 19 },
		{ 0, 10 },
		{ 10001, 1000 },
		{ UINT64_MAX, 1000 },
		{ 5000, 504 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(s2w); i++)
		ok(conv_shares_to_weight(s2w[i].in) == s2w[i].out,
		   "shares %llu -> weight %llu (got %llu)", (unsigned long long)s2w[i].in,
		   (unsigned long long)s2w[i].out,
		   (unsigned long long)conv_shares_to_weight(s2w[i].in));
	for (i = 0; i < ARRAY_SIZE(w2s); i++)
		ok(conv_weight_to_shares(w2s[i].in) == w2s[i].out,
		   "weight %llu -> shares %llu (got %llu)", (unsigned long long)w2s[i].in,
		   (unsigned long long)w2s[i].out,
		   (unsigned long long)conv_weight_to_shares(w2s[i].in));
	for (i = 0; i < ARRAY_SIZE(b2i); i++)
		ok(conv_blkio_to_io_weight(b2i[i].in) == b2i[i].out,
		   "blkio %llu -> io weight %llu (got %llu)", (unsigned long long)b2i[i].in,
		   (unsigned long long)b2i[i].out,
		   (unsigned long long)conv_blkio_to_io_weight(b2i[i].in));
	for (i = 0; i < ARRAY_SIZE(i2b); i++)
		ok(conv_io_weight_to_blkio(i2b[i].in) == i2b[i].out,
		   "io weight %llu -> blkio %llu (got %llu)", (unsigned long long)i2b[i].in,
		   (unsigned long long)i2b[i].out,
		   (unsigned long long)conv_io_weight_to_blkio(i2b[i].in));
}

/* Every value in range must map into the other range, monotonically; the
 * formulas truncate, so a round trip may come back one lower, never more off. */
static void test_conversion_ranges(void)
{
	uint64_t v, prev, out;
	int good = 1;

	for (v = 2, prev = 0; v <= 262144; v++, prev = out) {
		out = conv_shares_to_weight(v);
		good = good && out >= 1 && out <= 10000 && out >= prev;
	}
	ok(good, "shares->weight stays in 1..10000 and is monotonic");
	good = 1;
	for (v = 1, prev = 0; v <= 10000; v++, prev = out) {
		out = conv_weight_to_shares(v);
		good = good && out >= 2 && out <= 262144 && out >= prev &&
		       conv_shares_to_weight(out) <= v;
	}
	ok(good, "weight->shares stays in 2..262144, monotonic, maps back to at most the weight");
	good = 1;
	for (v = 10, prev = 0; v <= 1000; v++, prev = out) {
		out = conv_blkio_to_io_weight(v);
		good = good && out >= 1 && out <= 10000 && out >= prev &&
		       conv_io_weight_to_blkio(out) + 1 >= v && conv_io_weight_to_blkio(out) <= v;
	}
	ok(good, "blkio->io weight stays in 1..10000, monotonic, round-trips within 1");
	good = 1;
	for (v = 1, prev = 0; v <= 10000; v++, prev = out) {
		out = conv_io_weight_to_blkio(v);
		good = good && out >= 10 && out <= 1000 && out >= prev;
	}
	ok(good, "io weight->blkio stays in 10..1000 and is monotonic");
}

/* ---- inputs at and beyond CFS_MAX_VALUE for every parser */

static void test_max_value(void)
{
	struct device_rule dr;
	struct idmap_entry im;
	struct fstab_entry fe;
	struct in_addr a;
	struct cfs_err e;
	uint8_t mac[6], mask[6];
	unsigned long f;
	uint64_t u, v;
	uid_t uid;
	gid_t gid;
	bool b;
	int i;
	char *s = repeat(' ', CFS_MAX_VALUE + 1);

#define TOO_LONG(call) (cfs_err_clear(&e), refused((call), &e))
	ok(TOO_LONG(parse_container_name(s, &e)), "too long: container name");
	ok(TOO_LONG(parse_bool01(s, &b, &e)), "too long: bool01");
	ok(TOO_LONG(parse_size(s, true, true, &u, &e)), "too long: size");
	ok(TOO_LONG(parse_uint_or_max(s, 0, 1, &u, &e)), "too long: uint_or_max");
	ok(TOO_LONG(parse_cpu_max(s, &u, &v, &e)), "too long: cpu_max");
	ok(TOO_LONG(parse_cpu_list(s, &e)), "too long: cpu_list");
	ok(TOO_LONG(parse_signal(s, &i, &e)), "too long: signal");
	ok(TOO_LONG(parse_device_rule(s, &dr, &e)), "too long: device rule");
	ok(TOO_LONG(parse_idmap_line(s, &im, &e)), "too long: idmap");
	ok(TOO_LONG(parse_mac(s, mac, mask, &e)), "too long: mac");
	ok(TOO_LONG(parse_ipv4(s, &a, &e)), "too long: ipv4");
	ok(TOO_LONG(parse_cidr4(s, &a, &i, &e)), "too long: cidr4");
	ok(TOO_LONG(parse_ifname(s, &e)), "too long: ifname");
	ok(TOO_LONG(parse_uid_gid(s, &uid, &gid, &e)), "too long: uid_gid");
	ok(TOO_LONG(parse_env_line(s, &e)), "too long: env");
	ok(TOO_LONG(parse_namespaces(s, &f, &e)), "too long: namespaces (even blanks)");
	ok(TOO_LONG(parse_cap_list(s, &u, &e)), "too long: caps (even blanks)");
	ok(TOO_LONG(parse_fstab_line(s, &fe, &e)), "too long: fstab");
#undef TOO_LONG
	s[CFS_MAX_VALUE] = '\0';
	ok(parse_namespaces(s, &f, &e) == 0 && f == 0, "%d blanks are an empty namespace list",
	   CFS_MAX_VALUE);
	memcpy(s, "A=", 2);
	ok(parse_env_line(s, &e) == 0, "env line of exactly %d bytes", CFS_MAX_VALUE);
	free(s);
}

int main(void)
{
	test_error();
	test_uint();
	test_bool01();
	test_size();
	test_uint_or_max();
	test_cpu_max();
	test_cpu_list();
	test_signal();
	test_shell_words();
	test_device_rule();
	test_idmap();
	test_idmap_whole();
	test_subid();
	test_mac();
	test_mac_fill();
	test_ipv4();
	test_cidr4();
	test_ifname();
	test_uid_gid();
	test_env();
	test_container_name();
	test_namespaces();
	test_caps();
	test_fstab_good();
	test_fstab_propagation();
	test_fstab_bad();
	test_fstab_lengths();
	test_conversions();
	test_conversion_ranges();
	test_max_value();
	return tap_done();
}
