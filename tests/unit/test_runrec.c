/* test_runrec.c - unit tests of the run history in a run dir (runs): lines added
 * newest last, the last RUNREC_HISTORY kept, read back whole, cleared with the other
 * files that outlive a run. Runs without root in a temporary directory. TAP output. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/spawn.h"
#include "tap.h"

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The status of line i (0: oldest) of text, or -1. */
static int status_of(const char *text, size_t i)
{
	long long when;
	int st;
	char how[16];

	while (i-- > 0) {
		text = strchr(text, '\n');
		if (!text)
			return -1;
		text++;
	}
	return sscanf(text, "%lld %d %15s", &when, &st, how) == 3 ? st : -1;
}

int main(void)
{
	char dir[] = "/tmp/cfs-runrec-XXXXXX";
	char *text = NULL;
	size_t len = 0;
	int r;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	r = runrec_history_read(dir, &text, &len);
	ok(r == 0 && text && len == 0 && !*text, "no history reads as empty text");
	free(text);

	ok(runrec_history_add(dir, 129, "reboot") == 0, "add a reboot");
	runrec_history_read(dir, &text, &len);
	ok(count_lines(text) == 1 && strstr(text, " 129 reboot\n") && len == strlen(text),
	   "one line: ENDED STATUS HOW (%s)", text);
	free(text);

	for (int i = 0; i < 40; i++)
		runrec_history_add(dir, i, i % 2 ? "exit" : "stop");
	runrec_history_read(dir, &text, &len);
	ok(count_lines(text) == RUNREC_HISTORY, "the last %d are kept (%zu lines)",
	   RUNREC_HISTORY, count_lines(text));
	ok(status_of(text, 0) == 40 - RUNREC_HISTORY && status_of(text, RUNREC_HISTORY - 1) == 39,
	   "oldest first, newest last (%d .. %d)", status_of(text, 0),
	   status_of(text, RUNREC_HISTORY - 1));
	ok(strstr(text, " 39 exit\n") != NULL && !strstr(text, "reboot"),
	   "the oldest lines went first");
	free(text);

	runrec_history_clear(dir);
	runrec_history_read(dir, &text, &len);
	ok(len == 0, "cleared");
	free(text);
	ok(rmdir(dir) == 0, "nothing else was left in the run dir");

	return tap_done();
}
