/* config_ini.c - reading the INI form of a configuration: sections [container],
 * [net] and [cgroup], `key = value` lines, a list being its key repeated. Only the
 * syntax lives here; every value goes through config_set, so the key table decides
 * what is valid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "parse_internal.h"

/* The lines of a list collected over the whole document: a list is set once at the
 * end, so a list the document never names keeps its default. */
struct ini_list {
	bool seen;
	int line;		/* first line naming the key: errors at the end cite it */
	char *buf;
	size_t len, cap;
};

struct ini_state {
	struct config *c;
	enum key_section sec;
	struct ini_list list[K_COUNT];
};

/* The next line from *pos, without its '\n' or "\r\n". Text after the last newline
 * is a line too: a document need not end with one. */
static bool next_line(const char *doc, size_t len, size_t *pos, const char **p, size_t *n)
{
	const char *nl;

	if (*pos >= len)
		return false;
	*p = doc + *pos;
	nl = memchr(*p, '\n', len - *pos);
	*n = nl ? (size_t)(nl - *p) : len - *pos;
	*pos += *n + 1;
	if (*n && (*p)[*n - 1] == '\r')
		(*n)--;
	return true;
}

static int list_add(struct ini_list *l, const char *v, size_t n, int no, struct cfs_err *err)
{
	if (!l->seen) {
		l->seen = true;
		l->line = no;
	}
	if (!n)
		return 0;	/* "key =": explicitly empty, nothing to add */
	if (l->len + n + 2 > l->cap) {
		size_t cap = (l->len + n + 2) * 2;
		char *b = realloc(l->buf, cap);

		if (!b)
			return cfs_err_set(err, ENOMEM, "out of memory");
		l->buf = b;
		l->cap = cap;
	}
	if (l->len)
		l->buf[l->len++] = '\n';
	memcpy(l->buf + l->len, v, n);
	l->len += n;
	l->buf[l->len] = '\0';
	return 0;
}

static int ini_section(struct ini_state *st, const char *p, size_t n, int no,
		       struct cfs_err *err)
{
	char name[32];
	int s = -1;

	if (n < 2 || p[n - 1] != ']')
		return cfs_err_set(err, EINVAL, "line %d: '%.*s' is not a section header",
				   no, (int)(n > 64 ? 64 : n), p);
	p++;
	n -= 2;
	ascii_trim_blanks(&p, &n);
	if (n < sizeof(name)) {
		memcpy(name, p, n);
		name[n] = '\0';
		s = key_section_from_name(name);
	}
	if (s < 0)
		return cfs_err_set(err, EINVAL,
				   "line %d: unknown section '[%.*s]' (container, net or cgroup)",
				   no, (int)(n > 64 ? 64 : n), p);
	st->sec = s;
	return 0;
}

/* One `key = value` line: one-line keys are set at once (the last one wins), list
 * lines are checked at once, so the error names their line, and kept for the end. */
static int ini_key(struct ini_state *st, const char *p, size_t n, int no, struct cfs_err *err)
{
	const char *eq = memchr(p, '=', n), *v;
	size_t kn, vn;
	char name[64], path[64];
	int k, r;

	if (!eq)
		return cfs_err_set(err, EINVAL, "line %d: expected 'key = value' or '[section]'", no);
	v = eq + 1;
	vn = p + n - v;
	kn = eq - p;
	ascii_trim_blanks(&p, &kn);
	ascii_trim_blanks(&v, &vn);
	k = -1;
	if (kn && kn < sizeof(name)) {
		memcpy(name, p, kn);
		name[kn] = '\0';
		k = key_lookup(st->sec, name);
	}
	if (k < 0)
		return cfs_err_set(err, EINVAL, "line %d: unknown key '%.*s' in [%s]", no,
				   (int)(kn > 64 ? 64 : kn), p, key_section_name(st->sec));
	if (vn >= CFS_MAX_VALUE)
		return cfs_err_set(err, EINVAL, "line %d: %s: value too long (at most %d bytes)",
				   no, key_path(k, path, sizeof(path)), CFS_MAX_VALUE - 1);
	if (key_table[k].flags & KF_LIST) {
		char line[CFS_MAX_VALUE];

		memcpy(line, v, vn);
		line[vn] = '\0';
		r = vn ? key_check_line(k, line, err) : 0;
		if (r == 0)
			r = list_add(&st->list[k], v, vn, no, err);
	} else {
		r = config_set(st->c, k, v, vn, err);
	}
	if (r < 0 && r != -ENOMEM)
		cfs_err_prefix(err, "line %d", no);
	return r;
}

static int ini_line(struct ini_state *st, const char *p, size_t n, int no, struct cfs_err *err)
{
	ascii_trim_blanks(&p, &n);
	if (!n || *p == '#' || *p == ';')
		return 0;
	if (*p == '[')
		return ini_section(st, p, n, no, err);
	return ini_key(st, p, n, no, err);
}

int config_parse_ini(struct config *c, const char *doc, size_t len, struct cfs_err *err)
{
	struct ini_state st = { .c = c, .sec = SEC_CONTAINER };
	size_t pos = 0, n;
	const char *p;
	int no = 0, r = 0;

	while (r == 0 && next_line(doc, len, &pos, &p, &n))
		r = ini_line(&st, p, n, ++no, err);
	for (int k = 0; k < K_COUNT && r == 0; k++) {
		struct ini_list *l = &st.list[k];

		if (!l->seen)
			continue;
		r = config_set(c, k, l->buf ? l->buf : "", l->len, err);
		if (r < 0 && r != -ENOMEM)
			cfs_err_prefix(err, "line %d", l->line);
	}
	for (int k = 0; k < K_COUNT; k++)
		free(st.list[k].buf);
	return r;
}
