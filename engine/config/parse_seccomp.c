/* parse_seccomp.c - the seccomp setting: `default` (the built-in filter),
 * `unconfined` (none), then edits `+NAME` (deny NAME too) and `-NAME` (stop
 * denying it). System call names are libseccomp's, checked against its table
 * (pure: no I/O); the filter itself is built in engine/run/seccomp.c. */
#include <seccomp.h>
#include <string.h>

#include "parse.h"

static bool word_is(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && !memcmp(p, w, n);
}

static int edit_word(const char *p, size_t n, struct seccomp_spec *spec, struct cfs_err *err)
{
	struct seccomp_edit *e;
	char name[SECCOMP_NAME_MAX];

	if (n < 2 || (p[0] != '+' && p[0] != '-'))
		return cfs_err_set(err, EINVAL,
				   "'%.*s' is not default, unconfined, +SYSCALL or -SYSCALL",
				   (int)(n > 40 ? 40 : n), p);
	if (n - 1 >= sizeof(name))
		return cfs_err_set(err, EINVAL, "'%.*s' is not a system call name", 40, p);
	memcpy(name, p + 1, n - 1);
	name[n - 1] = '\0';
	for (const char *c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return cfs_err_set(err, EINVAL, "'%.*s': '%s' is not a system call name",
					   (int)n, p, name);
	if (seccomp_syscall_resolve_name(name) == __NR_SCMP_ERROR)
		return cfs_err_set(err, EINVAL, "'%.*s': '%s' is not a system call name",
				   (int)n, p, name);
	if (spec->n >= SECCOMP_MAX_EDITS)
		return cfs_err_set(err, EINVAL, "more than %d edits", SECCOMP_MAX_EDITS);
	e = &spec->edit[spec->n++];
	e->deny = p[0] == '+';
	memcpy(e->name, name, n);
	return 0;
}

int parse_seccomp(const char *s, struct seccomp_spec *spec, struct cfs_err *err)
{
	bool first = true;

	memset(spec, 0, sizeof(*spec));
	for (const char *p = s;;) {
		size_t n;
		int r;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return 0;
		n = strcspn(p, " \t");
		if (first && word_is(p, n, "default")) {
			spec->unconfined = false;
		} else if (first && word_is(p, n, "unconfined")) {
			spec->unconfined = true;
		} else if (word_is(p, n, "default") || word_is(p, n, "unconfined")) {
			return cfs_err_set(err, EINVAL, "'%.*s' may only come first", (int)n, p);
		} else if ((r = edit_word(p, n, spec, err)) < 0) {
			return r;
		}
		first = false;
		p += n;
	}
}
