/* cfs-console - this terminal on a running system container's console or tty
 * (lxc-console for containerfs).
 *
 *     cfs-console [-t N] [-q SECONDS] CONTAINER_DIR
 *
 * -t N  tty N (/dev/ttyN inside, 1..the container's `tty` setting); 0, the
 *       default, is the console (/dev/console), whose output also goes to `log`.
 * -q S  when stdin is not a terminal: after stdin ends, keep showing output until
 *       none came for S seconds (default 1), then leave. For scripts:
 *           printf 'uname -a\n' | cfs-console -t 1 /containers/web
 *
 * On a terminal, Ctrl-a q leaves (Ctrl-a Ctrl-a sends a Ctrl-a).
 *
 * How it reaches the tty: the container's supervisor (the parent of its init)
 * holds the ptys and listens on console.sock in its run dir, its working
 * directory. This sends the tty number; for a tty the answer carries the pty's
 * master (SCM_RIGHTS); for the console the connection itself becomes the console,
 * so that the log keeps everything. The socket's peer must be that supervisor. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "monotime.h"
#include "readfile.h"
#include "sigsafe.h"

#define ESCAPE 0x01 /* Ctrl-a */

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void die(int code, const char *fmt, ...)
{
	va_list ap;
	fputs("cfs-console: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static pid_t supervisor_of(const char *ctr)
{
	char path[4096], buf[8192];
	snprintf(path, sizeof path, "%s/pid", ctr);
	int r = (int)read_file_value(path, buf, sizeof buf);
	if (r < 0)
		die(1, "%s: %s", ctr, strerror(-r));
	if (!buf[0])
		die(1, "%s is not running", ctr);
	int pid = atoi(buf);
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	if (read_file_value(path, buf, sizeof buf) < 0)
		die(1, "%s: %s", path, strerror(errno));
	const char *pp = strstr(buf, "\nPPid:");
	if (!pp)
		die(1, "%s has no PPid", path);
	int sup = atoi(pp + 6);
	snprintf(path, sizeof path, "/proc/%d/comm", sup);
	if (read_file_value(path, buf, sizeof buf) < 0 || strcmp(buf, "cfs-supervisor"))
		die(1, "the parent of init (%d) is not a containerfs supervisor", sup);
	return sup;
}

/* The connection to tty n's server; *master is the pty master for a tty, -1 for
 * the console (served on the socket itself). */
static int connect_tty(const char *ctr, int n, int *master)
{
	pid_t sup = supervisor_of(ctr);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/%d/cwd/console.sock", (int)sup);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die(1, "socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
		die(1, "cannot reach the consoles of %s (%s): only system containers (rootfs set) have them",
		    ctr, strerror(errno));
	struct ucred cr;
	socklen_t crlen = sizeof cr;
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0 || cr.pid != sup)
		die(1, "the console socket is not served by the container's supervisor");
	char req[16];
	int len = snprintf(req, sizeof req, "%d\n", n);
	if (write(s, req, len) != len)
		die(1, "sending the request: %s", strerror(errno));

	char msg[256];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof msg - 1 };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof ctl.buf,
	};
	ssize_t r = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
	if (r < 0)
		die(1, "tty %d: %s", n, strerror(errno));
	msg[r] = 0;
	int fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof fd);
	if (msg[0] != 'O') {
		char *why = r > 2 ? msg + 2 : "refused";
		why[strcspn(why, "\n")] = 0;
		die(1, "tty %d: %s", n, *why ? why : "refused");
	}
	if (n == 0) {
		if (fd >= 0)
			close(fd);
		*master = -1;
		return s;
	}
	if (fd < 0)
		die(1, "tty %d: no pty came with the answer", n);
	close(s);
	*master = fd;
	return -1;
}

/* A terminal: raw mode, Ctrl-a q leaves. */
static void interactive(int io, bool is_pty, int n)
{
	struct termios old, raw;
	if (tcgetattr(0, &old) < 0)
		die(1, "tcgetattr: %s", strerror(errno));
	if (is_pty) {
		struct winsize ws;
		if (ioctl(0, TIOCGWINSZ, &ws) == 0)
			ioctl(io, TIOCSWINSZ, &ws);
	}
	if (n == 0)
		fprintf(stderr, "Connected to the console; type Ctrl-a q to leave\r\n");
	else
		fprintf(stderr, "Connected to tty %d; type Ctrl-a q to leave\r\n", n);
	raw = old;
	cfmakeraw(&raw);
	tcsetattr(0, TCSADRAIN, &raw);
	bool pending = false;
	char buf[16384], out[16384];
	for (;;) {
		struct pollfd fds[2] = { { .fd = 0, .events = POLLIN }, { .fd = io, .events = POLLIN } };
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents) {
			ssize_t r = read(io, buf, sizeof buf);
			if (r <= 0 || sigsafe_write_all(1, buf, r) < 0)
				break; /* EIO: the pty is gone */
		}
		if (fds[0].revents) {
			ssize_t r = read(0, buf, sizeof buf);
			if (r <= 0)
				break;
			size_t o = 0;
			bool quit = false;
			for (ssize_t i = 0; i < r && !quit; i++) {
				if (pending) {
					pending = false;
					if (buf[i] == 'q')
						quit = true;
					else
						out[o++] = buf[i];
				} else if (buf[i] == ESCAPE) {
					pending = true;
				} else {
					out[o++] = buf[i];
				}
			}
			if (sigsafe_write_all(io, out, o) < 0 || quit)
				break;
		}
	}
	tcsetattr(0, TCSADRAIN, &old);
	fputc('\n', stderr);
}

/* stdin is not a terminal: send it all, show what comes until it is quiet. */
static void scripted(int io, double quiet)
{
	bool in_open = true;
	long long last = monotonic_ms();
	char buf[65536];
	for (;;) {
		int timeout = -1;
		if (!in_open) {
			long long left = (long long)(quiet * 1000) - (monotonic_ms() - last);
			if (left <= 0)
				return;
			timeout = (int)left + 1;
		}
		struct pollfd fds[2] = { { .fd = io, .events = POLLIN },
					 { .fd = in_open ? 0 : -1, .events = POLLIN } };
		int r = poll(fds, 2, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (fds[0].revents) {
			ssize_t n = read(io, buf, sizeof buf);
			if (n <= 0 || sigsafe_write_all(1, buf, n) < 0)
				return;
			last = monotonic_ms();
		}
		if (fds[1].revents) {
			ssize_t n = read(0, buf, sizeof buf);
			if (n > 0) {
				if (sigsafe_write_all(io, buf, n) < 0)
					return;
			} else {
				in_open = false;
				last = monotonic_ms();
			}
		}
	}
}

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: cfs-console [-t N] [-q SECONDS] CONTAINER_DIR\n"
		"  -t N  tty N of the container; 0 (the default) is its console\n"
		"  -q S  without a terminal: leave S seconds (default 1) after the output went quiet\n"
		"On a terminal, Ctrl-a q leaves.\n");
	exit(code);
}

int main(int argc, char **argv)
{
	int n = 0, opt;
	double quiet = 1.0;
	while ((opt = getopt(argc, argv, "t:q:h")) != -1) {
		char *end;
		switch (opt) {
		case 't':
			n = (int)strtol(optarg, &end, 10);
			if (*end || end == optarg || n < 0)
				die(2, "bad tty number %s", optarg);
			break;
		case 'q':
			quiet = strtod(optarg, &end);
			if (*end || end == optarg || quiet < 0)
				die(2, "bad -q %s", optarg);
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc - 1)
		usage(2);
	int master;
	int sock = connect_tty(argv[optind], n, &master);
	int io = master >= 0 ? master : sock;
	if (isatty(0))
		interactive(io, master >= 0, n);
	else
		scripted(io, quiet);
	return 0;
}
