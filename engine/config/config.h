/* config.h - one container's configuration as values of the key table, and its
 * INI and LXC forms. Pure: no I/O. */
#ifndef CFS_CONFIG_H
#define CFS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "keys.h"

struct config {
	/* Normalised text of every canonical key (lists: lines joined by '\n').
	 * For an alias slot: the text written through the alias, or NULL when the
	 * canonical key was set directly (the alias is then computed from it). */
	char *val[K_COUNT];
};

/* Fill c with the defaults for a container called name. 0 or -ENOMEM. */
int config_init(struct config *c, const char *name);
void config_free(struct config *c);
int config_copy(struct config *dst, const struct config *src);
bool config_equal(const struct config *a, const struct config *b);

/* Set key k (alias or not) from a whole written value: checked and normalised with
 * key_normalise, aliases converted; setting a canonical key clears its alias slot. */
int config_set(struct config *c, enum key_id k, const char *value, size_t len,
	       struct cfs_err *err);
/* The value of key k as read (no trailing newline), malloc'd. */
char *config_get(const struct config *c, enum key_id k);
/* privileged = 1: a user namespace only if namespaces lists user. */
bool config_privileged(const struct config *c);

/* The one way to read a setting. config_val: the stored text of key k, never NULL;
 * a slot not filled reads as the key table's default ("" for hostname, whose default
 * is the caller's name, and for an alias not written through). */
const char *config_val(const struct config *c, enum key_id k);
/* The text written through alias k (cpu.shares...), or NULL when its canonical key
 * was set directly. */
const char *config_alias(const struct config *c, enum key_id k);
/* The number of number key k within the key table's range (key_number): 0; 1 if
 * empty (unset, *out 0); -EINVAL with err naming the file, *out the default's. */
int config_uint(const struct config *c, enum key_id k, uint64_t *out, struct cfs_err *err);
/* A 0/1 key (privileged, autostart, rootfs.overlay) is 1. */
bool config_bool(const struct config *c, enum key_id k);
/* The lines of a list value, one by one: *pos starts at config_val(c, k); each call
 * gives the next line (start and length, not NUL-terminated) and moves *pos past it.
 * false after the last line. */
bool config_next_line(const char **pos, const char **line, size_t *len);

/* The INI document: [container], [net], [cgroup]; a list is its key repeated; an
 * alias set through its v1 name is written after its canonical key. malloc'd. */
char *config_to_ini(const struct config *c);

/* Parse a whole document (INI or LXC, detected by its first key line) into c, which
 * config_parse first fills with the defaults for name. All or nothing: on error c is
 * left with the defaults and err names the line ("line 3: ..."). */
int config_parse(struct config *c, const char *name, const char *doc, size_t len,
		 struct cfs_err *err);

/* Check the complete lines (up to the last '\n') of a document being written. */
int config_check_lines(const char *doc, size_t len, struct cfs_err *err);

/* INI and LXC parsers (config_ini.c, config_lxc.c); c already holds defaults. A
 * refusal names the document's line ("line 3: ..."), counted from 1. */
int config_parse_ini(struct config *c, const char *doc, size_t len, struct cfs_err *err);
int config_parse_lxc(struct config *c, const char *doc, size_t len, struct cfs_err *err);
/* true if the first non-blank, non-comment line starts with "lxc." */
bool config_is_lxc(const char *doc, size_t len);

#endif
