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
#include "fileio.h"

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
		mountinfo_unescape(mnt);
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
