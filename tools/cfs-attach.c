/* cfs-attach - run a command inside a running container (lxc-attach for containerfs).
 *
 *     cfs-attach [--keep-env] [--env K=V]... CONTAINER_DIR [--] [COMMAND [ARG...]]
 *
 * The command (default /bin/sh) runs as root in every namespace of the container's
 * init (the tree's ns/ links), in its cgroups (through the tree's `tasks`), with
 * init's capability sets, no_new_privs and seccomp filter, and with init's root and
 * "/" as the working directory.
 *
 * How it stays safe against the container it enters:
 * - this process stays on the host; a child joins the container and forks the
 *   command (a pid namespace takes children only). Neither is dumpable before the
 *   command's exec, so root inside cannot ptrace them while they hold host fds.
 * - when any of stdin, stdout or stderr is a terminal, the command gets a new pty
 *   instead of it, and this process copies between the two: a command inside
 *   cannot push keystrokes into the caller's shell with TIOCSTI, nor change the
 *   caller's terminal settings.
 * - in a user namespace the command runs as uid/gid 0 of that namespace, with no
 *   supplementary groups.
 * - the command gets stdin, stdout and stderr only: every fd above 2 (the caller's
 *   without close-on-exec too) is closed before its exec, so nothing of the host
 *   reaches the container through an inherited descriptor.
 *
 * Exit status: the command's; 126 if it could not be executed, 127 if it was not
 * found, 128+N if it died of signal N; 125 when the attach itself failed. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "attach_seccomp.h"
#include "readfile.h"
#include "sigsafe.h"

#define FAIL 125

extern char **environ;

static int errfd = 2; /* the caller's stderr, kept across the dup2s of the child */

static void die(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n = snprintf(buf, sizeof buf, "cfs-attach: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof buf - n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 2)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	if (write(errfd, buf, n) < 0) {
		/* nothing left to tell it on */
	}
	_exit(FAIL);
}

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: cfs-attach [--keep-env] [--env K=V]... CONTAINER_DIR [--] [COMMAND [ARG...]]\n"
		"Runs COMMAND (default /bin/sh) inside the running container CONTAINER_DIR\n"
		"(a directory of the containerfs tree, e.g. /containers/web).\n");
	exit(code);
}

/* ---- reading the container ---------------------------------------------- */

struct init_creds {
	uint64_t inh, prm, eff, bnd;
	bool nnp;
};

static uint64_t hex_field(const char *status, const char *key, bool *found)
{
	const char *p = strstr(status, key);
	if (!p) {
		*found = false;
		return 0;
	}
	return strtoull(p + strlen(key), NULL, 16);
}

static void read_init(pid_t pid, struct init_creds *c)
{
	char path[64], st[8192];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	int r = (int)read_file_value(path, st, sizeof st);
	if (r < 0)
		die("reading %s: %s", path, strerror(-r));
	bool ok = true;
	c->inh = hex_field(st, "\nCapInh:", &ok);
	c->prm = hex_field(st, "\nCapPrm:", &ok);
	c->eff = hex_field(st, "\nCapEff:", &ok);
	c->bnd = hex_field(st, "\nCapBnd:", &ok);
	if (!ok)
		die("%s lacks capability lines", path);
	const char *n = strstr(st, "\nNoNewPrivs:");
	c->nnp = n && atoi(n + 12) == 1;
}

/* ---- namespaces ---------------------------------------------------------- */

static const char *const ns_order[] = {
	/* user first (the rights for the rest), mnt last (it changes our root) */
	"user", "cgroup", "ipc", "uts", "net", "pid", "time", "mnt"
};
#define NNS (sizeof ns_order / sizeof ns_order[0])

struct ns_fds {
	int fd[NNS];
	bool user;
};

static void open_namespaces(const char *ctr, struct ns_fds *ns)
{
	ns->user = false;
	for (size_t i = 0; i < NNS; i++) {
		char path[4096], self[64];
		struct stat a, b;
		ns->fd[i] = -1;
		snprintf(path, sizeof path, "%s/ns/%s", ctr, ns_order[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue; /* the kernel lacks it (time) */
			die("%s: %s", path, strerror(errno));
		}
		snprintf(self, sizeof self, "/proc/self/ns/%s", ns_order[i]);
		if (fstat(fd, &a) == 0 && stat(self, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			close(fd); /* the host's own: nothing to join */
			continue;
		}
		ns->fd[i] = fd;
		if (i == 0)
			ns->user = true;
	}
}

static void join_namespaces(struct ns_fds *ns)
{
	for (size_t i = 0; i < NNS; i++) {
		if (ns->fd[i] < 0)
			continue;
		if (setns(ns->fd[i], 0) < 0)
			die("setns %s: %s", ns_order[i], strerror(errno));
		close(ns->fd[i]);
	}
}

/* ---- credentials ---------------------------------------------------------- */

static void set_caps(const struct init_creds *c)
{
	int last = 63;
	char buf[16];
	if (read_file_value("/proc/sys/kernel/cap_last_cap", buf, sizeof buf) >= 0)
		last = atoi(buf);
	for (int cap = 0; cap <= last; cap++)
		if (!(c->bnd >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			die("dropping capability %d from the bounding set: %s", cap, strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		die("clearing ambient capabilities: %s", strerror(errno));
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	for (int i = 0; i < 2; i++) {
		d[i].effective = (uint32_t)(c->eff >> (32 * i));
		d[i].permitted = (uint32_t)(c->prm >> (32 * i));
		d[i].inheritable = (uint32_t)(c->inh >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, d) < 0)
		die("setting init's capabilities: %s", strerror(errno));
}

static void become_root_inside(void)
{
	/* setgroups may be denied in the namespace (its setgroups file): then there are
	 * none to drop that the namespace would honour */
	if (setgroups(0, NULL) < 0 && errno != EPERM)
		die("setgroups: %s", strerror(errno));
	if (setresgid(0, 0, 0) < 0)
		die("setresgid 0 inside: %s", strerror(errno));
	if (setresuid(0, 0, 0) < 0)
		die("setresuid 0 inside: %s", strerror(errno));
}

/* ---- the command --------------------------------------------------------- */

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static void forward_signals(bool interactive)
{
	struct sigaction sa = { .sa_handler = forward };
	sigemptyset(&sa.sa_mask);
	int sigs[] = { SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	if (!interactive) {
		/* Ctrl-C and Ctrl-\ of a terminal reach the command through it */
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
	}
}

static int wait_status(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return FAIL;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return FAIL;
}

struct opts {
	const char *ctr;
	char **cmd;
	char **env;
};

/* Every fd above 2 closed: close_range, or one by one on a kernel without it. */
static void close_above_stderr(void)
{
	struct rlimit rl;

	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > (1U << 20))
		rl.rlim_cur = 1U << 20;
	for (int fd = 3; fd < (int)rl.rlim_cur; fd++)
		close(fd);
}

/* Inside every namespace: fork the command, wait for it, exit with its status. */
static void run_command(struct opts *o)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		environ = o->env; /* execvp searches the PATH of the new environment */
		close_above_stderr();
		execvp(o->cmd[0], o->cmd);
		int e = errno;
		char msg[512];
		int n = snprintf(msg, sizeof msg, "cfs-attach: %s: %s\n", o->cmd[0], strerror(e));
		if (write(2, msg, n) < 0) {
			/* nowhere to report */
		}
		_exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
	}
	child_pid = pid;
	forward_signals(false);
	_exit(wait_status(pid));
}

/* ---- the pty ------------------------------------------------------------- */

struct pty {
	int master, slave;
	bool tty[3]; /* which of 0, 1, 2 were the caller's terminal */
};

static bool open_pty(struct pty *p)
{
	p->master = p->slave = -1;
	for (int i = 0; i < 3; i++)
		p->tty[i] = isatty(i);
	if (!p->tty[0] && !p->tty[1] && !p->tty[2])
		return false;
	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->master < 0 || grantpt(p->master) < 0 || unlockpt(p->master) < 0)
		die("allocating a pty: %s", strerror(errno));
	char *name = ptsname(p->master);
	if (!name)
		die("ptsname: %s", strerror(errno));
	p->slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->slave < 0)
		die("%s: %s", name, strerror(errno));
	int term = p->tty[0] ? 0 : (p->tty[1] ? 1 : 2);
	struct termios t;
	struct winsize ws;
	if (tcgetattr(term, &t) == 0)
		tcsetattr(p->slave, TCSANOW, &t);
	if (ioctl(term, TIOCGWINSZ, &ws) == 0)
		ioctl(p->slave, TIOCSWINSZ, &ws);
	return true;
}

/* In the child: the pty is the command's controlling terminal, in place of
 * whichever of 0, 1, 2 was the caller's terminal. */
static void take_pty(struct pty *p)
{
	if (setsid() < 0)
		die("setsid: %s", strerror(errno));
	if (ioctl(p->slave, TIOCSCTTY, 0) < 0)
		die("TIOCSCTTY: %s", strerror(errno));
	for (int i = 0; i < 3; i++)
		if (p->tty[i] && dup2(p->slave, i) < 0)
			die("dup2: %s", strerror(errno));
	close(p->slave);
	close(p->master);
}

static volatile sig_atomic_t winch;

static void on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

/* On the host: copy the caller's stdin to the pty and the pty's output to the
 * caller's terminal until the command's side is closed, then return its status. */
static int relay(struct pty *p, pid_t child)
{
	struct termios saved;
	bool raw = false;
	close(p->slave);
	if (p->tty[0] && tcgetattr(0, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(0, TCSADRAIN, &t) == 0;
	}
	struct sigaction sa = { .sa_handler = on_winch };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	int out = p->tty[1] ? 1 : 2;
	bool in_open = p->tty[0];
	char buf[16384];
	for (;;) {
		if (winch) {
			struct winsize ws;
			winch = 0;
			int term = p->tty[0] ? 0 : out;
			if (ioctl(term, TIOCGWINSZ, &ws) == 0)
				ioctl(p->master, TIOCSWINSZ, &ws);
		}
		struct pollfd fds[2] = { { .fd = p->master, .events = POLLIN },
					 { .fd = in_open ? 0 : -1, .events = POLLIN } };
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0].revents) {
			ssize_t n = read(p->master, buf, sizeof buf);
			if (n <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				break; /* EIO: every holder of the slave is gone */
			}
			if (sigsafe_write_all(out, buf, n) < 0)
				break;
		}
		if (fds[1].revents) {
			ssize_t n = read(0, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				in_open = false;
				/* end of input: the pty's end-of-file character */
				char eof = 4;
				if (sigsafe_write_all(p->master, &eof, 1) < 0)
					break;
			} else if (sigsafe_write_all(p->master, buf, n) < 0) {
				break;
			}
		}
	}
	if (raw)
		tcsetattr(0, TCSADRAIN, &saved);
	close(p->master);
	return wait_status(child);
}

/* ---- arguments and environment ------------------------------------------- */

static const char *const default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"container=containerfs",
};

static void env_set(char ***env, size_t *n, const char *kv)
{
	size_t klen = strcspn(kv, "=");
	for (size_t i = 0; i < *n; i++)
		if (!strncmp((*env)[i], kv, klen) && (*env)[i][klen] == '=') {
			(*env)[i] = (char *)kv;
			return;
		}
	char **e = realloc(*env, (*n + 2) * sizeof *e);
	if (!e)
		die("out of memory");
	e[(*n)++] = (char *)kv;
	e[*n] = NULL;
	*env = e;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	bool keep = false;
	static char **extra;
	extra = calloc(argc + 1, sizeof *extra);
	size_t nextra = 0;
	int i = 1;
	if (!extra)
		die("out of memory");
	for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--keep-env")) {
			keep = true;
		} else if (!strcmp(argv[i], "--env") && i + 1 < argc && strchr(argv[i + 1], '=')) {
			extra[nextra++] = argv[++i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(0);
		} else {
			fprintf(stderr, "cfs-attach: unknown option %s (see --help)\n", argv[i]);
			exit(2);
		}
	}
	if (i >= argc)
		usage(2);
	o->ctr = argv[i++];
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	static char *sh[] = { "/bin/sh", NULL };
	o->cmd = i < argc ? argv + i : sh;

	char **env = calloc(1, sizeof *env);
	size_t n = 0;
	if (!env)
		die("out of memory");
	if (keep) {
		for (char **e = environ; *e; e++)
			env_set(&env, &n, *e);
	} else {
		for (size_t k = 0; k < sizeof default_env / sizeof default_env[0]; k++)
			env_set(&env, &n, default_env[k]);
		const char *term = getenv("TERM");
		if (term) {
			static char *t;
			t = malloc(strlen(term) + 6);
			if (!t)
				die("out of memory");
			sprintf(t, "TERM=%s", term);
			env_set(&env, &n, t);
		}
	}
	for (size_t k = 0; k < nextra; k++)
		env_set(&env, &n, extra[k]);
	o->env = env;
}

/* static: what parse_args allocates stays reachable until exit */
static struct opts o;

int main(int argc, char **argv)
{
	parse_args(argc, argv, &o);
	/* before anything of the container is open: no ptrace, no /proc/PID/fd */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die("PR_SET_DUMPABLE: %s", strerror(errno));

	char path[4096], state[64], pidtxt[32];
	snprintf(path, sizeof path, "%s/state", o.ctr);
	int r = (int)read_file_value(path, state, sizeof state);
	if (r < 0)
		die("%s: %s", path, strerror(-r));
	snprintf(path, sizeof path, "%s/pid", o.ctr);
	r = (int)read_file_value(path, pidtxt, sizeof pidtxt);
	if (r < 0)
		die("%s: %s", path, strerror(-r));
	if (strcmp(state, "RUNNING") || !pidtxt[0])
		die("%s is %s, not RUNNING", o.ctr, state);
	pid_t pid = atoi(pidtxt);

	struct init_creds creds;
	read_init(pid, &creds);
	static struct attach_filter filter; /* reachable until exit */
	if (attach_filter_load(pid, &filter, path, sizeof path) < 0)
		die("%s", path);
	struct ns_fds ns;
	open_namespaces(o.ctr, &ns);
	snprintf(path, sizeof path, "/proc/%d/root", (int)pid);
	int root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		die("%s: %s", path, strerror(errno));
	snprintf(path, sizeof path, "%s/tasks", o.ctr);
	int tasks = open(path, O_WRONLY | O_CLOEXEC);
	if (tasks < 0)
		die("%s: %s", path, strerror(errno));

	errfd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (errfd < 0)
		errfd = 2;
	struct pty pty;
	bool use_pty = open_pty(&pty);
	fflush(NULL);
	pid_t child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		if (use_pty)
			take_pty(&pty);
		/* the cgroups first: once in the mount namespace the tree is out of reach */
		char me[32];
		int n = snprintf(me, sizeof me, "%d\n", (int)getpid());
		if (write(tasks, me, n) != n)
			die("joining the cgroups of %s: %s", o.ctr, strerror(errno));
		close(tasks);
		join_namespaces(&ns);
		/* setns(mnt) put us at the namespace's root; init's own root is the one */
		if (fchdir(root) < 0 || chroot(".") < 0 || chdir("/") < 0)
			die("entering init's root: %s", strerror(errno));
		close(root);
		if (ns.user)
			become_root_inside();
		set_caps(&creds);
		if (creds.nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			die("no_new_privs: %s", strerror(errno));
		if (attach_filter_apply(&filter, path, sizeof path) < 0)
			die("%s", path);
		run_command(&o);
	}
	close(tasks);
	close(root);
	free(filter.insns);	/* the child has its copy */
	for (size_t i = 0; i < NNS; i++)
		if (ns.fd[i] >= 0)
			close(ns.fd[i]);
	child_pid = child;
	forward_signals(use_pty);
	if (use_pty)
		return relay(&pty, child);
	return wait_status(child);
}
