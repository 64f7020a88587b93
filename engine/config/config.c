/* config.c - a container's configuration in memory: defaults, setting a key (with
 * the v1 aliases), reading it back, and writing the INI document. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "parse_internal.h"

/* A value that is its key's fixed default shares the key table's text (or this
 * empty string) rather than a copy: with thousands of containers, mostly at their
 * defaults, the copies were most of the daemon's memory. Shared texts are never
 * written to or freed. */
static const char empty_value[] = "";

static bool val_shared(enum key_id k, const char *v)
{
	return v == empty_value || (v && v == key_table[k].def);
}

static void val_free(struct config *c, int k)
{
	if (!val_shared(k, c->val[k]))
		free(c->val[k]);
	c->val[k] = NULL;
}

int config_init(struct config *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	for (int k = 0; k < K_COUNT; k++) {
		if (key_table[k].flags & KF_ALIAS)
			continue;
		if (k == K_HOSTNAME)	/* the one default that depends on the name */
			c->val[k] = strdup(key_default(k, name));
		else
			c->val[k] = (char *)(key_table[k].def ? key_table[k].def : empty_value);
		if (!c->val[k]) {
			config_free(c);
			return -ENOMEM;
		}
	}
	return 0;
}

void config_free(struct config *c)
{
	for (int k = 0; k < K_COUNT; k++)
		val_free(c, k);
}

int config_copy(struct config *dst, const struct config *src)
{
	memset(dst, 0, sizeof(*dst));
	for (int k = 0; k < K_COUNT; k++) {
		if (!src->val[k])
			continue;
		dst->val[k] = val_shared(k, src->val[k]) ? src->val[k] : strdup(src->val[k]);
		if (!dst->val[k]) {
			config_free(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

bool config_equal(const struct config *a, const struct config *b)
{
	for (int k = 0; k < K_COUNT; k++) {
		if (!a->val[k] != !b->val[k])
			return false;
		if (a->val[k] && strcmp(a->val[k], b->val[k]))
			return false;
	}
	return true;
}

int config_set(struct config *c, enum key_id k, const char *value, size_t len,
	       struct cfs_err *err)
{
	const struct key_def *kd = &key_table[k];
	char *norm = NULL;
	int r = key_normalise(k, value, len, &norm, err);

	if (r >= 0)
		r = key_check_whole(k, norm, err);
	if (r < 0) {
		free(norm);
		return r;
	}
	if (kd->flags & KF_ALIAS) {
		char canon[CFS_MAX_VALUE];

		if (kd->to_canon(norm, canon, sizeof(canon)) < 0) {
			r = cfs_err_set(err, EINVAL, "cgroup/%s: cannot convert '%s'", kd->name, norm);
			free(norm);
			return r;
		}
		char *cv = strdup(canon);

		if (!cv) {
			free(norm);
			return cfs_err_set(err, ENOMEM, "out of memory");
		}
		val_free(c, kd->alias_of);
		c->val[kd->alias_of] = cv;
		/* one setting, one remembered spelling: forget the other aliases */
		for (int a = 0; a < K_COUNT; a++)
			if ((key_table[a].flags & KF_ALIAS) && key_table[a].alias_of == kd->alias_of &&
			    a != (int)k) {
				val_free(c, a);
			}
		val_free(c, k);
		c->val[k] = norm;
		return 0;
	}
	if (k != K_HOSTNAME && (!norm[0] || (kd->def && !strcmp(norm, kd->def)))) {
		bool empty = !norm[0];

		free(norm);	/* the default's or the empty text is shared (a loaded INI sets every key) */
		norm = (char *)(empty ? empty_value : kd->def);
	}
	val_free(c, k);
	c->val[k] = norm;
	for (int a = 0; a < K_COUNT; a++)
		if ((key_table[a].flags & KF_ALIAS) && key_table[a].alias_of == k) {
			val_free(c, a);
		}
	return 0;
}

char *config_get(const struct config *c, enum key_id k)
{
	const struct key_def *kd = &key_table[k];

	if (!(kd->flags & KF_ALIAS))
		return strdup(config_val(c, k));
	if (c->val[k])
		return strdup(c->val[k]);
	char out[CFS_MAX_VALUE];
	const char *canon = config_val(c, kd->alias_of);

	if (kd->from_canon(canon, out, sizeof(out)) < 0)
		return strdup(canon);
	return strdup(out);
}

struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *s = realloc(b->s, cap);

		if (!s) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += n;
}

static void ini_key(struct sbuf *b, const char *name, const char *val, bool list)
{
	if (!list) {
		sb_add(b, *val ? "%s = %s\n" : "%s =%s\n", name, val);
		return;
	}
	if (!*val) {
		sb_add(b, "%s =\n", name);	/* an explicitly empty list */
		return;
	}
	for (const char *p = val; *p;) {
		const char *nl = strchr(p, '\n');
		int l = nl ? (int)(nl - p) : (int)strlen(p);

		sb_add(b, "%s = %.*s\n", name, l, p);
		p += l + (nl ? 1 : 0);
	}
}

char *config_to_ini(const struct config *c)
{
	struct sbuf b = { 0 };

	for (int s = 0; s < SEC_COUNT; s++) {
		sb_add(&b, "%s[%s]\n", s ? "\n" : "", key_section_name(s));
		for (int k = 0; k < K_COUNT; k++) {
			const struct key_def *kd = &key_table[k];

			if (kd->section != (enum key_section)s || (kd->flags & KF_ALIAS))
				continue;
			ini_key(&b, kd->name, config_val(c, k), kd->flags & KF_LIST);
			for (int a = 0; a < K_COUNT; a++)
				if ((key_table[a].flags & KF_ALIAS) && (int)key_table[a].alias_of == k &&
				    c->val[a])
					ini_key(&b, key_table[a].name, c->val[a], false);
		}
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

bool config_is_lxc(const char *doc, size_t len)
{
	size_t i = 0;

	while (i < len) {
		while (i < len && ascii_is_blank(doc[i]))
			i++;
		if (i < len && doc[i] != '\n' && doc[i] != '#' && doc[i] != ';')
			return len - i >= 4 && !strncmp(doc + i, "lxc.", 4);
		while (i < len && doc[i] != '\n')
			i++;
		i++;
	}
	return false;
}

int config_parse(struct config *c, const char *name, const char *doc, size_t len,
		 struct cfs_err *err)
{
	int r = config_init(c, name);

	if (r < 0)
		return cfs_err_set(err, ENOMEM, "out of memory");
	if (len > CFS_MAX_CONFIG)
		return cfs_err_set_in(err, "config", EINVAL, "document too long (%zu bytes, at most %d)",
				      len, CFS_MAX_CONFIG);
	if (memchr(doc, '\0', len))
		return cfs_err_set_in(err, "config", EINVAL, "NUL byte in document");
	r = config_is_lxc(doc, len) ? config_parse_lxc(c, doc, len, err)
				    : config_parse_ini(c, doc, len, err);
	if (r < 0) {
		config_free(c);
		config_init(c, name);
	}
	return r;
}

int config_check_lines(const char *doc, size_t len, struct cfs_err *err)
{
	struct config c;
	const char *last = len ? memrchr(doc, '\n', len) : NULL;
	int r;

	if (!last)
		return 0;
	r = config_parse(&c, "check", doc, last - doc + 1, err);
	config_free(&c);
	return r;
}

bool config_privileged(const struct config *c)
{
	return config_bool(c, K_PRIVILEGED);
}

const char *config_val(const struct config *c, enum key_id k)
{
	if (c->val[k])
		return c->val[k];
	return k == K_HOSTNAME ? "" : key_default(k, "");
}

const char *config_alias(const struct config *c, enum key_id k)
{
	return (key_table[k].flags & KF_ALIAS) ? c->val[k] : NULL;
}

int config_uint(const struct config *c, enum key_id k, uint64_t *out, struct cfs_err *err)
{
	return key_number(k, config_val(c, k), out, err);
}

bool config_bool(const struct config *c, enum key_id k)
{
	return !strcmp(config_val(c, k), "1");
}

bool config_next_line(const char **pos, const char **line, size_t *len)
{
	const char *s = *pos;

	if (!*s)
		return false;
	*line = s;
	*len = strcspn(s, "\n");
	*pos = s + *len + (s[*len] == '\n');
	return true;
}
