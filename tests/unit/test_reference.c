/* test_reference.c - doc/reference.md's settings tables are generated from the key
 * table: this test regenerates them and fails if the document differs, so the
 * reference cannot drift from the code. `test_reference --write` rewrites them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

#define DOC "doc/reference.md"
#define BEGIN "<!-- generated from the key table: begin -->\n"
#define END "<!-- generated from the key table: end -->\n"

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
	fprintf(f, "### %s\n\n| file | default | value | while running | LXC keys |\n"
		   "|---|---|---|---|---|\n", title);
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

static char *generate(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	fputs(BEGIN, f);
	section(f, SEC_CONTAINER, "`[container]`: files in `NAME/`");
	section(f, SEC_NET, "`[net]`: files in `NAME/net/`");
	section(f, SEC_CGROUP, "`[cgroup]`: files in `NAME/cgroup/`");
	fputs("### Hidden v1 names in `NAME/cgroup/` (work with cat and echo, not listed)\n\n"
	      "| file | maps onto | value |\n|---|---|---|\n", f);
	for (int k = 0; k < K_COUNT; k++)
		if (key_table[k].flags & KF_ALIAS)
			fprintf(f, "| `cgroup/%s` | `cgroup/%s` | %s |\n", key_table[k].name,
				key_table[key_table[k].alias_of].name, key_table[k].doc);
	fputs("\n### Live statistics in `NAME/cgroup/` (read-only, empty while stopped)\n\n"
	      "| file | value |\n|---|---|\n", f);
	for (int s = 0; s < STAT_COUNT; s++)
		fprintf(f, "| `cgroup/%s` | %s |\n", stat_table[s].name, stat_table[s].doc);
	fputs("\n", f);
	fputs(END, f);
	fclose(f);
	return out;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	char *doc = slurp(DOC), *gen = generate(), *b, *e;
	int ok;

	if (!doc || !(b = strstr(doc, BEGIN)) || !(e = strstr(doc, END))) {
		printf("not ok 1 - %s has the generated section markers\n", DOC);
		return 1;
	}
	e += strlen(END);
	if (argc > 1 && !strcmp(argv[1], "--write")) {
		FILE *f = fopen(DOC, "w");

		fprintf(f, "%.*s%s%s", (int)(b - doc), doc, gen, e);
		fclose(f);
		printf("rewrote %s\n", DOC);
		free(doc);
		free(gen);
		return 0;
	}
	ok = (size_t)(e - b) == strlen(gen) && !memcmp(b, gen, strlen(gen));
	printf("%s 1 - %s's settings tables match the key table%s\n", ok ? "ok" : "not ok", DOC,
	       ok ? "" : " (run build/unit/test_reference --write)");
	free(doc);
	free(gen);
	return !ok;
}
