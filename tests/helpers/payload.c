/* payload.c - a tiny static program the end-to-end tests run inside containers to
 * see what the container sees (hostname, ids, caps, namespaces, pids, env, cwd) and to
 * behave in set ways (sleep, exit N, die of a signal, ignore SIGTERM, spin, allocate,
 * fork many, write to the console, open and mknod devices). Output is unbuffered. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void sleep_seconds(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s,
			       .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double arg_num(int argc, char **argv, int i, double def)
{
	return i < argc ? strtod(argv[i], NULL) : def;
}

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "EUNKNOWN";
}

static int signal_number(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {
		{ "HUP", SIGHUP },
		{ "INT", SIGINT },
		{ "QUIT", SIGQUIT },
		{ "ILL", SIGILL },
		{ "ABRT", SIGABRT },
		{ "FPE", SIGFPE },
		{ "KILL", SIGKILL },
		{ "SEGV", SIGSEGV },
		{ "PIPE", SIGPIPE },
		{ "ALRM", SIGALRM },
		{ "TERM", SIGTERM },
		{ "USR1", SIGUSR1 },
		{ "USR2", SIGUSR2 },
		{ "BUS", SIGBUS },
		{ "TRAP", SIGTRAP },
		{ "SYS", SIGSYS },
	};

	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].sig;
	return atoi(s);
}

static int cmd_caps(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cap", 3))
			fputs(line, stdout);
	fclose(f);
	return 0;
}

static int cmd_nsids(void)
{
	static const char *const ns[] = { "mnt", "pid", "uts", "ipc", "net", "user",
					  "cgroup", "time" };

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		char path[64], link[128];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		printf("%s %s\n", ns[i], link);
	}
	return 0;
}

static int cmd_alloc(long mb, double hold)
{
	const size_t chunk = 1024 * 1024;
	long page = sysconf(_SC_PAGESIZE);

	for (long i = 0; i < mb; i++) {
		char *p = malloc(chunk);

		if (!p) {
			printf("malloc failed after %ld MB\n", i);
			return 1;
		}
		for (size_t off = 0; off < chunk; off += (size_t)page)
			p[off] = 1;	/* touched, so it is charged */
		printf("allocated %ld MB\n", i + 1);
	}
	printf("done\n");
	sleep_seconds(hold);
	return 0;
}

static int cmd_forkbomb(long n, double hold)
{
	pid_t parent = getpid();
	long ok = 0;

	for (long i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			pause();
			_exit(0);
		}
		if (pid < 0) {
			printf("fork %ld: %s\n", i + 1, errname(errno));
			break;
		}
		ok++;
	}
	printf("forked %ld\n", ok);
	sleep_seconds(hold);
	return 0;	/* the children die with us (PR_SET_PDEATHSIG) */
}

/* The whole line in one write to each stream, so the console log shows it whole. */
static int cmd_echo(int argc, char **argv)
{
	char line[4096];
	size_t n = 0;

	for (int i = 2; i < argc; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", argv[i],
				      i + 1 < argc ? " " : "");
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(1, line, n) < 0 || write(2, line, n) < 0)
		return 1;
	return 0;
}

static int cmd_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	close(fd);
	printf("ok\n");
	return 0;
}

static int cmd_mknod(int argc, char **argv)
{
	mode_t type;

	if (argc < 6 || (strcmp(argv[3], "c") && strcmp(argv[3], "b"))) {
		fprintf(stderr, "usage: payload mknod PATH c|b MAJOR MINOR\n");
		return 2;
	}
	type = argv[3][0] == 'c' ? S_IFCHR : S_IFBLK;
	if (mknod(argv[2], type | 0666, makedev(atoi(argv[4]), atoi(argv[5]))) < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	printf("ok\n");
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: payload hostname | ids | caps | nsids | pid | env | cwd\n"
		"       payload sleep N | exit N | kill-self SIG | ignore-term-sleep N | spin\n"
		"       payload alloc MB [HOLD] | forkbomb N [HOLD] | echo TEXT...\n"
		"       payload open PATH | mknod PATH c|b MAJOR MINOR\n");
	return 2;
}

static int run(int argc, char **argv)
{
	const char *cmd = argv[1];
	char buf[PATH_MAX];

	if (!strcmp(cmd, "hostname")) {
		if (gethostname(buf, sizeof(buf)) < 0)
			return 1;
		printf("%s\n", buf);
	} else if (!strcmp(cmd, "ids")) {
		printf("%u %u\n", (unsigned)getuid(), (unsigned)getgid());
	} else if (!strcmp(cmd, "caps")) {
		return cmd_caps();
	} else if (!strcmp(cmd, "nsids")) {
		return cmd_nsids();
	} else if (!strcmp(cmd, "pid")) {
		printf("%d %d\n", (int)getpid(), (int)getppid());
	} else if (!strcmp(cmd, "sleep")) {
		sleep_seconds(arg_num(argc, argv, 2, 1));
	} else if (!strcmp(cmd, "exit")) {
		return (int)arg_num(argc, argv, 2, 0);
	} else if (!strcmp(cmd, "kill-self") && argc > 2) {
		kill(getpid(), signal_number(argv[2]));
		sleep_seconds(5);	/* a blocked or ignored signal: say so */
		printf("still alive\n");
		return 1;
	} else if (!strcmp(cmd, "ignore-term-sleep")) {
		signal(SIGTERM, SIG_IGN);
		printf("ignoring SIGTERM\n");
		sleep_seconds(arg_num(argc, argv, 2, 60));
	} else if (!strcmp(cmd, "spin")) {
		for (volatile unsigned long i = 0;; i++)
			;
	} else if (!strcmp(cmd, "alloc") && argc > 2) {
		return cmd_alloc(atol(argv[2]), arg_num(argc, argv, 3, 0));
	} else if (!strcmp(cmd, "forkbomb") && argc > 2) {
		return cmd_forkbomb(atol(argv[2]), arg_num(argc, argv, 3, 0));
	} else if (!strcmp(cmd, "echo")) {
		return cmd_echo(argc, argv);
	} else if (!strcmp(cmd, "env")) {
		for (char **e = environ; *e; e++)
			printf("%s\n", *e);
	} else if (!strcmp(cmd, "cwd")) {
		if (!getcwd(buf, sizeof(buf)))
			return 1;
		printf("%s\n", buf);
	} else if (!strcmp(cmd, "open") && argc > 2) {
		return cmd_open(argv[2]);
	} else if (!strcmp(cmd, "mknod")) {
		return cmd_mknod(argc, argv);
	} else {
		return usage();
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);
	if (argc < 2)
		return usage();
	return run(argc, argv);
}
