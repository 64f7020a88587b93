/* supervisor.c - containerfs-supervisor, a tiny libc-only program with two modes.
 * supervise: the parent of a container's init, apart from the daemon; copies the
 *   console into RUNDIR/log.0 (rotating to log.1) and leaves RUNDIR/exit when init ends.
 *   For a system container it also holds the console and tty ptys and serves them
 *   on RUNDIR/console.sock (scripts/cfs-console).
 * reaper: pid 1 of an application container; runs the command, forwards signals to
 *   it, reaps orphans and exits with the command's status. No stdio, no malloc. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>	/* renameat only: no stdio streams here */
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monotime.h"
#include "sigsafe.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define LOG_ROTATE (512 * 1024)	/* log.0 is rotated to log.1 past this */
#define DRAIN_GRACE_MS 100	/* console output still in flight when init ends */
#define DRAIN_MAX_MS 1000	/* ... but a chatty orphan cannot hold us forever */
#define CONSOLE_SOCKET "console.sock"	/* in RUNDIR; the same name as in spawn.h */
#define REQUEST_WAIT_MS 1000	/* a client that says nothing holds us up no longer */

/* Decimal, no sign; -1 if s is not one. */
static long parse_num(const char *s)
{
	long v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

static int status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

/* ---- supervise ---- */

struct sup {
	int dirfd;		/* RUNDIR, -1 if unusable: we still supervise */
	int console;
	int logfd;
	unsigned long logsize;
	pid_t init;
	/* pty mode (a system container): console+1 is the console's slave, kept open so
	 * the master never reads EIO; then the ntty tty masters, then their slaves */
	int ntty;		/* -1: the console is a pipe and nothing is served */
	int slave;		/* console+1 in pty mode, until init has ended; else -1 */
	int listen;		/* CONSOLE_SOCKET, or -1 */
	int client;		/* the one attached to the console, or -1 */
};

static void log_open(struct sup *s)
{
	s->logfd = s->dirfd < 0 ? -1
				: openat(s->dirfd, "log.0", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	s->logsize = 0;
}

static void log_append(struct sup *s, const char *buf, size_t n)
{
	if (s->logsize >= LOG_ROTATE && s->dirfd >= 0) {
		/* log.1 + log.0 hold at least the last 512 KiB, at most ~1 MiB */
		if (s->logfd >= 0)
			close(s->logfd);
		renameat(s->dirfd, "log.0", s->dirfd, "log.1");
		log_open(s);
	}
	/* a full disk loses log lines, never the container: keep draining */
	if (s->logfd >= 0 && sigsafe_write_all(s->logfd, buf, n) == 0)
		s->logsize += n;
}

/* Copy what the console has; 1 if something was read, 0 at EOF, -1 EAGAIN/error. */
static int console_copy(struct sup *s)
{
	char buf[4096];
	ssize_t n = read(s->console, buf, sizeof(buf));

	if (n > 0) {
		log_append(s, buf, (size_t)n);
		/* a slow client loses output rather than stall the console */
		if (s->client >= 0 && send(s->client, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN) {
			close(s->client);
			s->client = -1;
		}
		return 1;
	}
	if (n < 0 && errno == EINTR)
		return 1;
	return n == 0 ? 0 : -1;
}

/* Init is gone: take what is still in the pipe, then leave. */
static void console_drain(struct sup *s)
{
	long long deadline = monotonic_ms() + DRAIN_MAX_MS;

	if (s->console < 0)
		return;
	/* our own hold on the console's slave is not needed any more: with it closed,
	 * a master that nobody else holds reads EIO once its last byte is read, and we
	 * leave at once rather than after a grace period for writers there are none of */
	if (s->slave >= 0) {
		close(s->slave);
		s->slave = -1;
	}
	fcntl(s->console, F_SETFL, fcntl(s->console, F_GETFL) | O_NONBLOCK);
	while (monotonic_ms() < deadline) {
		struct pollfd p = { .fd = s->console, .events = POLLIN };
		int r = console_copy(s);

		if (r > 0)
			continue;
		if (r == 0 || errno != EAGAIN || poll(&p, 1, DRAIN_GRACE_MS) <= 0)
			break;
	}
}

/* RUNDIR/exit, atomically: exit.tmp, fsync, rename. */
static void exit_record(struct sup *s, int code)
{
	char text[8];
	size_t n = sigsafe_put_uint(text, sizeof(text), 0, (unsigned long)code);
	int fd;

	if (s->dirfd < 0)
		return;
	n = sigsafe_put_str(text, sizeof(text), n, "\n");
	fd = openat(s->dirfd, "exit.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (sigsafe_write_all(fd, text, n) < 0 || fsync(fd) < 0) {
		close(fd);
		unlinkat(s->dirfd, "exit.tmp", 0);
		return;
	}
	close(fd);
	renameat(s->dirfd, "exit.tmp", s->dirfd, "exit");
	fsync(s->dirfd);
}

/* 1 and *st once init has ended, 0 while it runs, -1 if it is not our child. */
static int init_ended(struct sup *s, int *st)
{
	pid_t r;

	do
		r = waitpid(s->init, st, WNOHANG | __WALL);
	while (r < 0 && errno == EINTR);
	if (r == s->init)
		return 1;
	return r == 0 ? 0 : -1;
}

static void sup_signals(sigset_t *chld)
{
	static const int ignored[] = { SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM,
				       SIGUSR1, SIGUSR2, SIGALRM };
	struct sigaction dfl = { .sa_handler = SIG_DFL }, ign = { .sa_handler = SIG_IGN };

	/* SIG_IGN inherited for SIGCHLD would make init's status vanish */
	for (int sig = 1; sig < _NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		sigaction(ignored[i], &ign, NULL);
	sigemptyset(chld);
	sigaddset(chld, SIGCHLD);
	sigprocmask(SIG_SETMASK, chld, NULL);
}

/* ---- the console socket (pty mode) ----
 * A client (root only) sends a tty number and a newline. N >= 1: the answer "O\n"
 * carries tty N's master (SCM_RIGHTS) and the connection ends. 0: the answer is
 * "O\n" and the connection stays, as the console itself: what the console prints is
 * copied to it (and the log), what it sends is typed into the console; one such
 * client at a time. A refusal is "E reason\n". */

static void reply(int c, const char *msg, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	sendmsg(c, &mh, MSG_NOSIGNAL);
}

/* Bound by its relative name in RUNDIR (our cwd): sun_path may be shorter than
 * the path. 0600: the masters are the container's keyboards. */
static int console_listen(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	memcpy(a.sun_path, CONSOLE_SOCKET, sizeof(CONSOLE_SOCKET));
	unlink(CONSOLE_SOCKET);
	umask(077);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void serve(struct sup *s)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct pollfd p;
	char req[16];
	ssize_t n = -1;
	long tty;
	int c = accept4(s->listen, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return;
	p = (struct pollfd){ .fd = c, .events = POLLIN };
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != 0) {
		reply(c, "E only root may attach\n", -1);
		goto out;
	}
	if (poll(&p, 1, REQUEST_WAIT_MS) == 1)
		n = read(c, req, sizeof(req) - 1);
	if (n <= 0)
		goto out;
	req[n] = '\0';
	req[strcspn(req, "\n")] = '\0';
	tty = parse_num(req);
	if (tty < 0 || tty > s->ntty) {
		reply(c, "E no such tty\n", -1);
	} else if (tty > 0) {
		reply(c, "O\n", s->console + 1 + (int)tty);
	} else if (s->client >= 0) {
		reply(c, "E the console is in use\n", -1);
	} else {
		reply(c, "O\n", -1);
		fcntl(c, F_SETFL, O_NONBLOCK);
		s->client = c;
		return;
	}
out:
	close(c);
}

/* What the console's client typed goes into the console; a full input queue drops
 * it rather than stall us. */
static void client_input(struct sup *s)
{
	char buf[1024];
	ssize_t n = read(s->client, buf, sizeof(buf));

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		close(s->client);
		s->client = -1;
	} else if (n > 0 && s->console >= 0 && write(s->console, buf, (size_t)n) < 0) {
		n = 0;	/* dropped */
	}
}

/* pty mode: the console is written to as well, and must not block us */
static void sup_ptys(struct sup *s, int ntty)
{
	s->ntty = ntty;
	s->listen = s->client = -1;
	if (ntty >= 0) {
		fcntl(s->console, F_SETFL, fcntl(s->console, F_GETFL) | O_NONBLOCK);
		s->listen = console_listen();
	}
}

static int supervise(const char *rundir, pid_t init, int console, int ntty)
{
	struct sup s = { .console = console, .init = init, .slave = ntty < 0 ? -1 : console + 1 };
	struct pollfd pfd[4];
	bool in_rundir;
	sigset_t chld;
	int sfd, st, r, c;

	if (console < 3 || init <= 0)
		return 2;
	/* keep 0-2 (/dev/null), the console and the ptys; nothing of the daemon's */
	syscall(SYS_close_range, 3, console - 1, 0);
	syscall(SYS_close_range, (ntty < 0 ? console : console + 1 + 2 * ntty) + 1, ~0U, 0);
	prctl(PR_SET_NAME, "cfs-supervisor", 0, 0, 0);
	sup_signals(&chld);
	/* read-only, not O_PATH: exit_record's fsync of the directory needs a real
	 * open (an O_PATH descriptor fails it with EBADF) */
	s.dirfd = open(rundir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	/* RUNDIR is our cwd: the console socket's home, and how cfs-console finds it
	 * (/proc/PID/cwd) */
	in_rundir = chdir(rundir) == 0;
	if (!in_rundir && chdir("/") < 0)
		return 2;
	sup_ptys(&s, in_rundir && s.dirfd >= 0 ? ntty : -1);
	sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s.dirfd >= 0) {
		unlinkat(s.dirfd, "exit", 0);
		unlinkat(s.dirfd, "exit.tmp", 0);
		unlinkat(s.dirfd, "log.1", 0);
	}
	log_open(&s);
	pfd[0] = (struct pollfd){ .fd = console, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = s.listen, .events = POLLIN };
	/* SIGCHLD may have come before the signalfd: look before the first poll */
	while ((r = init_ended(&s, &st)) == 0) {
		pfd[3] = (struct pollfd){ .fd = s.client, .events = POLLIN };
		if (poll(pfd, 4, sfd < 0 ? 1000 : -1) < 0 && errno != EINTR)
			return 1;
		c = pfd[0].revents ? console_copy(&s) : 1;
		if (c == 0 || (c < 0 && errno != EAGAIN)) {
			/* every writer closed its end (or it broke); init may live on */
			close(s.console);
			s.console = pfd[0].fd = -1;
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) > 0)
				;
		}
		if (pfd[2].revents)
			serve(&s);
		if (pfd[3].revents && s.client >= 0)
			client_input(&s);
	}
	if (r < 0)
		return 1;	/* not our child any more: nothing honest to record */
	console_drain(&s);
	if (s.logfd >= 0)
		close(s.logfd);
	if (s.client >= 0)
		close(s.client);
	if (s.listen >= 0)
		unlinkat(s.dirfd, CONSOLE_SOCKET, 0);
	exit_record(&s, status_code(st));
	return 0;
}

/* ---- reaper ---- */

static void report_exec_failure(int fd, const char *argv0, int e)
{
	char buf[512];
	size_t n = sigsafe_put_uint(buf, sizeof(buf), 0, (unsigned long)e);

	n = sigsafe_put_str(buf, sizeof(buf), n, "\texec ");
	n = sigsafe_put_str(buf, sizeof(buf), n, argv0);
	n = sigsafe_put_str(buf, sizeof(buf), n, ": ");
	n = sigsafe_put_str(buf, sizeof(buf), n, strerror(e));
	sigsafe_write_all(fd, buf, n);
}

static __attribute__((noreturn)) void run_command(int report, char **cmd)
{
	sigset_t none;
	int e;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* closed by a successful exec: that EOF is the daemon's "started" */
	fcntl(report, F_SETFD, FD_CLOEXEC);
	execvp(cmd[0], cmd);
	e = errno;
	report_exec_failure(report, cmd[0], e);
	_exit(e == ENOENT ? 127 : 126);
}

static int reaper(int report, char **cmd)
{
	sigset_t all;
	pid_t child;

	prctl(PR_SET_NAME, "cfs-reaper", 0, 0, 0);
	/* without a pid namespace, orphans still come to us rather than the host */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	child = fork();
	if (child == 0)
		run_command(report, cmd);
	if (child < 0) {
		char buf[128];
		size_t n = sigsafe_put_uint(buf, sizeof(buf), 0, (unsigned long)errno);

		n = sigsafe_put_str(buf, sizeof(buf), n, "\tfork: ");
		n = sigsafe_put_str(buf, sizeof(buf), n, strerror(errno));
		sigsafe_write_all(report, buf, n);
		return 1;
	}
	close(report);
	/* pid 1 gets only signals it handles or blocks: blocked, they queue here */
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si), st;
		pid_t p;

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		while ((p = waitpid(-1, &st, WNOHANG | __WALL)) > 0)
			if (p == child)
				return status_code(st);
	}
}

static int usage(void)
{
	static const char msg[] =
		"usage: containerfs-supervisor supervise RUNDIR INITPID CONSOLEFD [NTTY]\n"
		"       containerfs-supervisor reaper REPORTFD -- COMMAND [ARG...]\n";

	sigsafe_write_all(2, msg, sizeof(msg) - 1);
	return 2;
}

int main(int argc, char **argv)
{
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "supervise")) {
		long pid = parse_num(argv[3]), fd = parse_num(argv[4]);
		long ntty = argc == 6 ? parse_num(argv[5]) : -1;

		if (pid <= 0 || fd < 0 || (argc == 6 && (ntty < 0 || ntty > 64)))
			return usage();
		return supervise(argv[2], (pid_t)pid, (int)fd, (int)ntty);
	}
	if (argc >= 5 && !strcmp(argv[1], "reaper") && !strcmp(argv[3], "--")) {
		long fd = parse_num(argv[2]);

		if (fd < 0)
			return usage();
		return reaper((int)fd, argv + 4);
	}
	return usage();
}
