/* parse_internal.h - the pieces the parsers (parse.c, parse_dev.c, parse_net.c), the
 * INI and LXC readers, the key table and config.c share: ASCII character classes, words cut out of the input
 * without copying, trimming, quoting of values in messages, and strict number
 * scanning. Private to engine/config/. */
#ifndef CFS_PARSE_INTERNAL_H
#define CFS_PARSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse.h"

#include "error.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

#define DEV_ACC_RWM (DEV_ACC_READ | DEV_ACC_WRITE | DEV_ACC_MKNOD)
#define CPU_LIST_MAX 4095	/* highest CPU or memory node number accepted */
#define UID_MAX_VALID 4294967294ULL	/* (uid_t)-1 means "no change" to the kernel */
#define SHOW_MAX 64

struct span {
	const char *p;
	size_t n;
};

bool ascii_is_digit(char c);
bool ascii_is_alpha(char c);
bool ascii_is_blank(char c);
bool ascii_is_ctrl(char c);
char ascii_tolower(char c);
int hex_value(char c);		/* -1 if c is not a hex digit */
bool span_eq(struct span w, const char *lit);
bool ascii_iprefix(const char *p, size_t n, const char *lit);
/* Cut s into blank-separated words (at most max); returns how many there were. */
size_t split_blanks(const char *s, struct span *w, size_t max);
/* A value quoted for a message, at most SHOW_MAX bytes with its NUL. */
const char *show_n(const char *p, size_t n, char *buf);
/* The compound literal lives until the end of the enclosing block, which covers
 * the cfs_err_set() call the macro appears in. */
#define SHOW(s) show_n((s), SIZE_MAX, (char[SHOW_MAX]){ 0 })
#define SHOWW(w) show_n((w).p, (w).n, (char[SHOW_MAX]){ 0 })
int check_len(const char *s, struct cfs_err *err);
int scan_u64(const char *p, size_t n, uint64_t *out);
int span_uint(struct span w, uint64_t min, uint64_t max, uint64_t *out, const char *what,
	      struct cfs_err *err);
/* Without the blanks (spaces and tabs) at either end: p and n narrowed, or s cut in
 * place (the result points into s). */
void ascii_trim_blanks(const char **p, size_t *n);
char *ascii_trim_blanks_str(char *s);

#endif
