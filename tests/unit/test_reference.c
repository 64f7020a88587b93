/* test_reference.c - the settings tables of doc/reference.md (markdown) and of the
 * man page containerfs(5) (roff) are generated from the key table: this test
 * regenerates them and fails if a document differs, so neither can drift from the
 * code. `test_reference --write` rewrites them. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "keys.h"
#include "tap.h"

#define MD_BEGIN "<!-- generated from the key table: begin -->\n"
#define MD_END "<!-- generated from the key table: end -->\n"
#define MAN_BEGIN ".\\\" generated from the key table: begin\n"
#define MAN_END ".\\\" generated from the key table: end\n"

static void cell(FILE *f, const char *s)
{
	if (!s || !*s) {
		fputs("(empty)", f);
		return;
	}
	fputc('`', f);
	for (; *s; s++) {
		if (*s == '\n')
			fputs("`, `", f);
		else if (*s == '|')
			fputs("\\|", f);
		else
			fputc(*s, f);
	}
	fputc('`', f);
}

static void text(FILE *f, const char *s)
{
	for (; *s; s++)
		fputs(*s == '|' ? "\\|" : (char[]){ *s, 0 }, f);
}

static void section(FILE *f, enum key_section s, const char *title)
{
	fprintf(f,
		"### %s\n\n| file | default | value | while running | LXC keys |\n"
		"|---|---|---|---|---|\n",
		title);
	for (int k = 0; k < K_COUNT; k++) {
		const struct key_def *kd = &key_table[k];

		if (kd->section != s || (kd->flags & KF_ALIAS))
			continue;
		fprintf(f, "| `%s%s%s`%s | ", key_section_dir(s), *key_section_dir(s) ? "/" : "",
			kd->name, (kd->flags & KF_LIST) ? " (list)" : "");
		if (k == K_HOSTNAME)
			fputs("the container's name", f);
		else
			cell(f, kd->def);
		fputs(" | ", f);
		text(f, kd->doc);
		fprintf(f, " | %s | ", (kd->flags & KF_LIVE) ? "applied at once" : "EBUSY");
		if (kd->lxc || kd->lxc_legacy) {
			cell(f, kd->lxc);
			if (kd->lxc_legacy && (!kd->lxc || strcmp(kd->lxc, kd->lxc_legacy))) {
				fputs(", ", f);
				cell(f, kd->lxc_legacy);
			}
		}
		fputs(" |\n", f);
	}
	fputc('\n', f);
}

static char *generate_md(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	fputs(MD_BEGIN, f);
	section(f, SEC_CONTAINER, "`[container]`: files in `NAME/`");
	section(f, SEC_NET, "`[net]`: files in `NAME/net/`");
	section(f, SEC_CGROUP, "`[cgroup]`: files in `NAME/cgroup/`");
	fputs("### Hidden v1 names in `NAME/cgroup/` (work with cat and echo, not listed)\n\n"
	      "| file | maps onto | value |\n|---|---|---|\n",
	      f);
	for (int k = 0; k < K_COUNT; k++)
		if (key_table[k].flags & KF_ALIAS)
			fprintf(f, "| `cgroup/%s` | `cgroup/%s` | %s |\n", key_table[k].name,
				key_table[key_table[k].alias_of].name, key_table[k].doc);
	fputs("\n### Live statistics in `NAME/cgroup/` (read-only, empty while stopped)\n\n"
	      "| file | value |\n|---|---|\n",
	      f);
	for (int s = 0; s < STAT_COUNT; s++)
		fprintf(f, "| `cgroup/%s` | %s |\n", stat_table[s].name, stat_table[s].doc);
	fputs("\n", f);
	fputs(MD_END, f);
	fclose(f);
	return out;
}

/* ---- the man page: tagged paragraphs (no tables: they would not fit a terminal) */

/* Text in roff: backslashes escaped, nothing a line could take for a request. */
static void roff(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else if (*s == '\n')
			fputs(", ", f);
		else
			fputc(*s, f);
	}
}

static void roff_tag(FILE *f, const char *dir, const char *name, const char *suffix)
{
	fprintf(f, ".TP\n.%s \"", suffix ? "BR" : "B");
	if (*dir) {
		roff(f, dir);
		fputc('/', f);
	}
	roff(f, name);
	fputs("\"", f);
	if (suffix)
		fprintf(f, " \" (%s)\"", suffix);
	fputc('\n', f);
}

static void man_section(FILE *f, enum key_section s, const char *title)
{
	fprintf(f, ".SS \"%s\"\n", title);
	for (int k = 0; k < K_COUNT; k++) {
		const struct key_def *kd = &key_table[k];

		if (kd->section != s || (kd->flags & KF_ALIAS))
			continue;
		roff_tag(f, key_section_dir(s), kd->name, (kd->flags & KF_LIST) ? "list" : NULL);
		fputs("\\&", f);
		roff(f, kd->doc);
		fputs(".\n.br\n\\&Default: ", f);
		if (k == K_HOSTNAME) {
			fputs("the container's name", f);
		} else if (kd->def && *kd->def) {
			fputs("\\fB", f);
			roff(f, kd->def);
			fputs("\\fR", f);
		} else {
			fputs("empty", f);
		}
		fprintf(f, ". While running: %s.", (kd->flags & KF_LIVE) ? "applied at once" : "EBUSY");
		if (kd->lxc || kd->lxc_legacy) {
			fputs(" LXC: \\fB", f);
			roff(f, kd->lxc ? kd->lxc : kd->lxc_legacy);
			fputs("\\fR", f);
			if (kd->lxc && kd->lxc_legacy && strcmp(kd->lxc, kd->lxc_legacy)) {
				fputs(", \\fB", f);
				roff(f, kd->lxc_legacy);
				fputs("\\fR", f);
			}
			fputc('.', f);
		}
		fputc('\n', f);
	}
}

static char *generate_man(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	fputs(MAN_BEGIN, f);
	man_section(f, SEC_CONTAINER, "[container]: files in NAME/");
	man_section(f, SEC_NET, "[net]: files in NAME/net/");
	man_section(f, SEC_CGROUP, "[cgroup]: files in NAME/cgroup/");
	fputs(".SS \"Hidden v1 names in NAME/cgroup/\"\n"
	      "They work with cat and echo but are not listed.\n",
	      f);
	for (int k = 0; k < K_COUNT; k++) {
		if (!(key_table[k].flags & KF_ALIAS))
			continue;
		roff_tag(f, "cgroup", key_table[k].name, NULL);
		fputs("\\&", f);
		roff(f, key_table[k].doc);
		fputs(".\n", f);
	}
	fputs(".SS \"Live statistics in NAME/cgroup/\"\n"
	      "Read-only; empty while the container is stopped.\n",
	      f);
	for (int st = 0; st < STAT_COUNT; st++) {
		roff_tag(f, "cgroup", stat_table[st].name, NULL);
		fputs("\\&", f);
		roff(f, stat_table[st].doc);
		fputs(".\n", f);
	}
	fputs(MAN_END, f);
	fclose(f);
	return out;
}

/* Check (or with write, rewrite) the generated section of one document. */
static void check_doc(const char *path, const char *begin, const char *end,
		      char *(*gen_fn)(void), bool write)
{
	char *doc = NULL, *gen = gen_fn(), *b = NULL, *e = NULL;
	bool same;

	if (fileio_read_alloc(path, 0, &doc) >= 0) {
		b = strstr(doc, begin);
		e = strstr(doc, end);
	}
	if (!b || !e) {
		ok(0, "%s has the generated section markers", path);
		free(doc);
		free(gen);
		return;
	}
	e += strlen(end);
	if (write) {
		FILE *f = fopen(path, "w");

		ok(f != NULL, "%s can be written", path);
		if (f) {
			fprintf(f, "%.*s%s%s", (int)(b - doc), doc, gen, e);
			fclose(f);
			printf("# rewrote %s\n", path);
		}
		free(doc);
		free(gen);
		return;
	}
	same = (size_t)(e - b) == strlen(gen) && !memcmp(b, gen, strlen(gen));
	ok(same, "%s's settings tables match the key table%s", path,
	   same ? "" : " (run build/unit/test_reference --write)");
	free(doc);
	free(gen);
}

int main(int argc, char **argv)
{
	bool write = argc > 1 && !strcmp(argv[1], "--write");

	check_doc("doc/reference.md", MD_BEGIN, MD_END, generate_md, write);
	check_doc("man/containerfs.5", MAN_BEGIN, MAN_END, generate_man, write);
	return tap_done();
}
