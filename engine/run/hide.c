/* hide.c - an application container's mount namespace starts as a copy of the
 * daemon's, which holds the tree itself: a container must neither reach the tree nor
 * keep the tree's connection alive after the daemon's unmount. The daemon lists the
 * tree's mounts (by the type the front end gave) before fork; the supervisor-to-be
 * detaches them in a mount namespace of its own (a slave of the host's) before it
 * clones init, whose namespace is then a copy without them, and a failure fails the
 * start. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "hide.h"
#include "config/parse.h"
#include "fileio.h"

char **hide_own_mounts(const char *fstype)
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
		fileio_mountinfo_unescape(mnt);
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

/* Is a mount of fstype still in our mountinfo? 1, 0 or -errno. Read with system
 * calls in pieces, each searched with the tail of the one before. */
static int type_left(const char *fstype)
{
	char pat[96], buf[4096 + 96];
	size_t plen, keep = 0;
	int fd, found = 0;

	plen = (size_t)snprintf(pat, sizeof(pat), " - %s ", fstype);
	if (plen >= sizeof(pat))
		return -ENAMETOOLONG;
	fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf + keep, sizeof(buf) - keep);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			found = n < 0 ? -errno : 0;
			break;
		}
		keep += (size_t)n;
		if (memmem(buf, keep, pat, plen)) {
			found = 1;
			break;
		}
		if (keep >= plen) {
			memmove(buf, buf + keep - (plen - 1), plen - 1);
			keep = plen - 1;
		}
	}
	close(fd);
	return found;
}

int hide_detach_mounts(char *const *paths, const char *fstype)
{
	/* system calls only: this runs in a child of a threaded process */
	for (; paths && *paths; paths++)
		if (umount2(*paths, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
			return -errno;	/* EINVAL, ENOENT: gone with one detached before */
	if (!fstype || !*fstype)
		return 0;
	int r = type_left(fstype);

	return r > 0 ? -EBUSY : r;
}
