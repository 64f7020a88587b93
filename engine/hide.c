/* hide.c - an application container's mount namespace starts as a copy of the
 * daemon's, which holds the tree itself: a container must neither reach the tree nor
 * keep the tree's connection alive after the daemon's unmount. The daemon lists the
 * tree's mounts (by the type the front end gave) before fork; init detaches them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "hide.h"
#include "parse.h"

/* mountinfo escapes blanks and backslashes as \ooo */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

char **own_mounts_of_type(const char *fstype)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, **v = calloc(1, sizeof(*v));
	size_t cap = 0, n = 0;
	char pat[96];

	snprintf(pat, sizeof(pat), " - %s ", fstype ? fstype : "");
	if (!f || !v || !fstype || !*fstype) {
		if (f)
			fclose(f);
		return v;
	}
	while (getline(&line, &cap, f) > 0) {
		char *sep = strstr(line, pat);
		char mnt[4096];

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		unescape(mnt);
		char **nv = realloc(v, (n + 2) * sizeof(*v));

		if (!nv)
			break;
		v = nv;
		v[n] = strdup(mnt);
		if (v[n])
			n++;
		v[n] = NULL;
	}
	free(line);
	fclose(f);
	return v;
}

void detach_mounts(char *const *paths)
{
	/* system calls only: this runs in a child of a threaded process */
	for (; paths && *paths; paths++)
		umount2(*paths, MNT_DETACH);
}
