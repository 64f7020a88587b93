/* supervisor.c - containerfs-supervisor, a tiny libc-only program with two modes.
 * supervise: the parent of a container's init, apart from the daemon; copies the
 *   console into RUNDIR/log.0 (rotating to log.1) and leaves RUNDIR/exit when init ends.
 * reaper: pid 1 of an application container; runs the command, forwards signals to
 *   it, reaps orphans and exits with the command's status. No stdio, no malloc. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>	/* renameat only: no stdio streams here */
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#define LOG_ROTATE (512 * 1024)	/* log.0 is rotated to log.1 past this */
#define DRAIN_GRACE_MS 100	/* console output still in flight when init ends */
#define DRAIN_MAX_MS 1000	/* ... but a chatty orphan cannot hold us forever */

static size_t put_str(char *buf, size_t n, size_t at, const char *s)
{
	while (*s && at + 1 < n)
		buf[at++] = *s++;
	buf[at] = '\0';
	return at;
}

static size_t put_uint(char *buf, size_t n, size_t at, unsigned long v)
{
	char tmp[24];
	int i = 0;

	do {
		tmp[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i && at + 1 < n)
		buf[at++] = tmp[--i];
	buf[at] = '\0';
	return at;
}

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

static int write_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t r = write(fd, buf, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		buf += r;
		n -= (size_t)r;
	}
	return 0;
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
};

static void log_open(struct sup *s)
{
	s->logfd = s->dirfd < 0 ? -1 :
		   openat(s->dirfd, "log.0", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
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
	if (s->logfd >= 0 && write_all(s->logfd, buf, n) == 0)
		s->logsize += n;
}

/* Copy what the console has; 1 if something was read, 0 at EOF, -1 EAGAIN/error. */
static int console_copy(struct sup *s)
{
	char buf[4096];
	ssize_t n = read(s->console, buf, sizeof(buf));

	if (n > 0) {
		log_append(s, buf, (size_t)n);
		return 1;
	}
	if (n < 0 && errno == EINTR)
		return 1;
	return n == 0 ? 0 : -1;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Init is gone: take what is still in the pipe, then leave. */
static void console_drain(struct sup *s)
{
	long deadline = now_ms() + DRAIN_MAX_MS;

	if (s->console < 0)
		return;
	fcntl(s->console, F_SETFL, fcntl(s->console, F_GETFL) | O_NONBLOCK);
	while (now_ms() < deadline) {
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
	size_t n = put_uint(text, sizeof(text), 0, (unsigned long)code);
	int fd;

	if (s->dirfd < 0)
		return;
	n = put_str(text, sizeof(text), n, "\n");
	fd = openat(s->dirfd, "exit.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write_all(fd, text, n) < 0 || fsync(fd) < 0) {
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

static int supervise(const char *rundir, pid_t init, int console)
{
	struct sup s = { .console = console, .init = init };
	struct pollfd pfd[2];
	sigset_t chld;
	int sfd, st, r, c;

	if (console < 3 || init <= 0)
		return 2;
	/* keep 0-2 (/dev/null) and the console; nothing of the daemon's */
	syscall(SYS_close_range, 3, console - 1, 0);
	syscall(SYS_close_range, console + 1, ~0U, 0);
	prctl(PR_SET_NAME, "cfs-supervisor", 0, 0, 0);
	sup_signals(&chld);
	s.dirfd = open(rundir, O_DIRECTORY | O_PATH | O_CLOEXEC);
	if (chdir("/") < 0)
		return 2;
	sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s.dirfd >= 0) {
		unlinkat(s.dirfd, "exit", 0);
		unlinkat(s.dirfd, "exit.tmp", 0);
		unlinkat(s.dirfd, "log.1", 0);
	}
	log_open(&s);
	pfd[0] = (struct pollfd){ .fd = console, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	/* SIGCHLD may have come before the signalfd: look before the first poll */
	while ((r = init_ended(&s, &st)) == 0) {
		if (poll(pfd, 2, sfd < 0 ? 1000 : -1) < 0 && errno != EINTR)
			return 1;
		c = pfd[0].revents ? console_copy(&s) : 1;
		if (c == 0 || (c < 0 && errno != EAGAIN)) {
			/* every writer closed its end (or it broke); init may live on */
			close(console);
			s.console = pfd[0].fd = -1;
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) > 0)
				;
		}
	}
	if (r < 0)
		return 1;	/* not our child any more: nothing honest to record */
	console_drain(&s);
	if (s.logfd >= 0)
		close(s.logfd);
	exit_record(&s, status_code(st));
	return 0;
}

/* ---- reaper ---- */

static void report_exec_failure(int fd, const char *argv0, int e)
{
	char buf[512];
	size_t n = put_uint(buf, sizeof(buf), 0, (unsigned long)e);

	n = put_str(buf, sizeof(buf), n, "\texec ");
	n = put_str(buf, sizeof(buf), n, argv0);
	n = put_str(buf, sizeof(buf), n, ": ");
	n = put_str(buf, sizeof(buf), n, strerror(e));
	write_all(fd, buf, n);
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
		size_t n = put_uint(buf, sizeof(buf), 0, (unsigned long)errno);

		n = put_str(buf, sizeof(buf), n, "\tfork: ");
		n = put_str(buf, sizeof(buf), n, strerror(errno));
		write_all(report, buf, n);
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
		"usage: containerfs-supervisor supervise RUNDIR INITPID CONSOLEFD\n"
		"       containerfs-supervisor reaper REPORTFD -- COMMAND [ARG...]\n";

	write_all(2, msg, sizeof(msg) - 1);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "supervise")) {
		long pid = parse_num(argv[3]), fd = parse_num(argv[4]);

		if (pid <= 0 || fd < 0)
			return usage();
		return supervise(argv[2], (pid_t)pid, (int)fd);
	}
	if (argc >= 5 && !strcmp(argv[1], "reaper") && !strcmp(argv[3], "--")) {
		long fd = parse_num(argv[2]);

		if (fd < 0)
			return usage();
		return reaper((int)fd, argv + 4);
	}
	return usage();
}
