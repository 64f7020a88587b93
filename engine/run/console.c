/* console.c - the ptys of a system container, opened by the daemon before it forks.
 * Inside, /dev/console and /dev/tty1..N are bound to the slaves; the supervisor keeps
 * the masters (the console's is copied into the log, the ttys' are handed to
 * scripts/cfs-console over its socket) and one slave of each, so that a tty whose
 * last user inside closed it still reads as a quiet terminal, not as EIO. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "rootfs.h"

/* fd moved above FD_FLOOR (close-on-exec), or -errno; fd is closed either way. */
static int fd_above_floor(int fd)
{
	int nfd;

	if (fd < 0)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, FD_FLOOR);
	if (nfd < 0)
		nfd = -errno;
	close(fd);
	return nfd;
}

/* The slave of master, opened through the master itself (no path lookup that a
 * changed /dev/pts could redirect); by name before Linux 4.13. */
static int pty_peer(int master)
{
	char name[64];
	int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd >= 0 || (errno != EINVAL && errno != ENOTTY))
		return fd < 0 ? -errno : fd;
	if (ptsname_r(master, name, sizeof(name)) != 0)
		return -errno;
	fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int pty_open(int *master, int *slave, char name[32])
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	int unlock = 0, m, s;

	*master = *slave = -1;
	m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return -errno;
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0) {
		int e = errno;

		close(m);
		return -e;
	}
	s = pty_peer(m);
	if (s < 0 || ptsname_r(m, name, 32) != 0) {
		int e = s < 0 ? s : -errno;

		if (s >= 0)
			close(s);
		close(m);
		return e;
	}
	/* a size until someone attaches with a real one: full-screen programs need it */
	ioctl(m, TIOCSWINSZ, &ws);
	*master = fd_above_floor(m);
	*slave = fd_above_floor(s);
	if (*master < 0 || *slave < 0) {
		int e = *master < 0 ? *master : *slave;

		if (*master >= 0)
			close(*master);
		if (*slave >= 0)
			close(*slave);
		*master = *slave = -1;
		return e;
	}
	return 0;
}

int console_plan(struct spawn_plan *p, struct rootfs_plan *s, int ntty, struct cfs_err *err)
{
	int r = pty_open(&p->console[0], &p->console[1], s->console_pts);

	if (r < 0)
		return cfs_err_set_in(err, "start", -r, "cannot open a pty for the console: %s",
				      strerror(-r));
	for (int i = 0; i < ntty && i < MAX_TTY; i++) {
		r = pty_open(&s->tty_master[i], &s->tty_slave[i], s->tty_pts[i]);
		if (r < 0)
			return cfs_err_set_in(err, "start", -r, "tty %d: cannot open a pty: %s",
					      i + 1, strerror(-r));
		s->ntty = i + 1;
	}
	/* a user namespace's root opens them by name (getty): make them its own */
	for (int i = -1; p->mapped_root && i < s->ntty; i++)
		if (fchown(i < 0 ? p->console[1] : s->tty_slave[i], p->root_uid, p->root_gid) < 0)
			return cfs_err_set_in(err, "start", errno,
					      "cannot hand %s to the container's root: %m",
					      i < 0 ? s->console_pts : s->tty_pts[i]);
	return 0;
}
