/* test_inroot.c - unit tests of resolving a path inside a root (mounts.c): the walk a
 * kernel without openat2 falls back to lands where openat2(RESOLVE_IN_ROOT) does, and
 * both on what the container would see. Runs without root in a temporary directory.
 * TAP output. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run/rootfs.h"
#include "tap.h"

/* "ino" of what fd names, or -errno when fd is one */
static long long ident(int fd)
{
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -1000;
	close(fd);
	return (long long)st.st_ino;
}

static long long ino_of(int root, const char *path)
{
	struct stat st;

	return fstatat(root, path, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : (long long)st.st_ino;
}

int main(void)
{
	char dir[] = "/tmp/cfs-inroot-XXXXXX", host[PATH_MAX + 16];
	static const struct {
		const char *path, *lands;	/* lands: NULL = ENOENT */
	} cases[] = {
		{ "var/run/x", "run/x" },	/* absolute link, Debian's var/run */
		{ "/var/run/x", "run/x" },
		{ "abs", "run" },
		{ "rel/x", "run/x" },		/* ../../../run, clamped at the root */
		{ "../../../run/x", "run/x" },
		{ "run/./x/../x", "run/x" },
		{ "tohost", NULL },
		{ "chain", "run/x" },		/* link -> link -> dir */
		{ "dangling", NULL },
		{ "", "." },
	};
	int root;

	if (!mkdtemp(dir))
		return 1;
	snprintf(host, sizeof(host), "%s-host", dir);
	root = open(dir, O_PATH | O_DIRECTORY);
	mkdirat(root, "run", 0755);
	mkdirat(root, "run/x", 0755);
	mkdirat(root, "var", 0755);
	ok(symlinkat("/run", root, "var/run") == 0, "symlink %s", "var/run");
	ok(symlinkat("/run", root, "abs") == 0, "symlink %s", "abs");
	ok(symlinkat("../../../run", root, "rel") == 0, "symlink %s", "rel");
	/* a link to the host's own temporary dir names the root's, which lacks it */
	mkdir(host, 0755);
	ok(symlinkat(host, root, "tohost") == 0, "symlink %s", "tohost");
	ok(symlinkat("/var/run", root, "chain0") == 0, "symlink %s", "chain0");
	ok(symlinkat("chain0/x", root, "chain") == 0, "symlink %s", "chain");
	ok(symlinkat("/no/such", root, "dangling") == 0, "symlink %s", "dangling");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long want = cases[i].lands ? ino_of(root, cases[i].lands) : -ENOENT;
		long long walk = ident(mounts_in_root_walk(root, cases[i].path));
		long long open2 = ident(mounts_in_root_open(root, cases[i].path, 0));

		ok(walk == want, "walk '%s' lands on '%s' (%lld, want %lld)", cases[i].path,
		   cases[i].lands ? cases[i].lands : "ENOENT", walk, want);
		ok(open2 == want, "openat2 '%s' the same (%lld)", cases[i].path, open2);
	}
	/* a loop of links ends */
	ok(symlinkat("loop2", root, "loop1") == 0, "symlink %s", "loop1");
	ok(symlinkat("loop1", root, "loop2") == 0, "symlink %s", "loop2");
	ok(mounts_in_root_walk(root, "loop1") == -ELOOP, "a loop of links is ELOOP");

	close(root);
	{
		char cmd[PATH_MAX * 2 + 32];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, host);
		ok(system(cmd) == 0, "cleaned up");
	}
	return tap_done();
}
