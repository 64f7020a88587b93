/* runrec.c - a container's run dir (RUN/NAME): the record of its supervisor and
 * init (pid and start time, so a restarted daemon tells a live process from a reused
 * pid), the exit record the supervisor leaves behind, and the console log files the
 * supervisor writes (log.1 older, log.0 newer), and the history of the runs that
 * ended (runs), which outlives a run and its restart. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "engine.h"
#include "fileio.h"
#include "seccomp.h"
#include "spawn.h"

#define LOG_MAX (1024 * 1024)	/* what the log file shows: the last 1 MiB */

static int path_in(char *buf, size_t n, const char *dir, const char *file)
{
	int len = snprintf(buf, n, "%s/%s", dir, file);

	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

int runrec_write(const char *run_dir, const struct runrec *r)
{
	char tmp[PATH_MAX], path[PATH_MAX], text[128];
	int len, fd, e = 0;

	if (path_in(tmp, sizeof(tmp), run_dir, "record.tmp") < 0 ||
	    path_in(path, sizeof(path), run_dir, "record") < 0)
		return -ENAMETOOLONG;
	e = fileio_mkdir_p(run_dir, 0700);
	if (e < 0)
		return e;
	len = snprintf(text, sizeof(text), "%d %llu %d %llu\n", (int)r->supervisor_pid,
		       r->supervisor_start, (int)r->init_pid, r->init_start);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)len) != len || fsync(fd) < 0)
		e = errno ? -errno : -EIO;
	if (close(fd) < 0 && !e)
		e = -errno;
	if (!e && rename(tmp, path) < 0)
		e = -errno;
	if (e)
		unlink(tmp);
	return e;
}

int runrec_read(const char *run_dir, struct runrec *r)
{
	char path[PATH_MAX], text[128];
	int sp, ip;
	ssize_t n;

	if (path_in(path, sizeof(path), run_dir, "record") < 0)
		return -ENAMETOOLONG;
	n = read_file_into(path, text, sizeof(text));
	if (n < 0)
		return (int)n;
	if (sscanf(text, "%d %llu %d %llu", &sp, &r->supervisor_start, &ip, &r->init_start) != 4 ||
	    sp <= 0 || ip <= 0)
		return -EINVAL;
	r->supervisor_pid = sp;
	r->init_pid = ip;
	return 0;
}

/* State letter and start time (field 22) of /proc/PID/stat. comm (field 2) may
 * hold spaces and parentheses, so the fields are counted after its last ')'. */
static int proc_stat(pid_t pid, char *state, unsigned long long *start)
{
	char path[64], buf[1024];
	char *s;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	n = read_file_into(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	s = strrchr(buf, ')');
	if (!s || s[1] != ' ')
		return -EINVAL;
	s += 2;		/* field 3, the state */
	*state = *s;
	for (int field = 3; field < 22; field++) {
		s = strchr(s, ' ');
		if (!s)
			return -EINVAL;
		s++;
	}
	*start = strtoull(s, NULL, 10);
	return 0;
}

unsigned long long runrec_proc_starttime(pid_t pid)
{
	unsigned long long start;
	char state;

	if (pid <= 0 || proc_stat(pid, &state, &start) < 0)
		return 0;
	return start;
}

bool runrec_alive(pid_t pid, unsigned long long start)
{
	unsigned long long now;
	char state;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
		return false;
	if (proc_stat(pid, &state, &now) < 0)
		return false;
	/* a zombie has finished: only its parent's wait is missing */
	return now == start && state != 'Z' && state != 'X';
}

int runrec_exit_status(const char *run_dir)
{
	char path[PATH_MAX], text[32], *end;
	long v;
	ssize_t n;

	if (path_in(path, sizeof(path), run_dir, "exit") < 0)
		return -ENAMETOOLONG;
	n = read_file_into(path, text, sizeof(text));
	if (n < 0)
		return (int)n;
	errno = 0;
	v = strtol(text, &end, 10);
	if (end == text || (*end && *end != '\n') || errno || v < 0 || v > 255)
		return -EINVAL;
	return (int)v;
}

void runrec_clear(const char *run_dir)
{
	static const char *const files[] = { "record", "record.tmp", "exit", "exit.tmp",
					     "log.0", "log.1", SECCOMP_FILE, SECCOMP_FILE ".tmp" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (path_in(path, sizeof(path), run_dir, files[i]) == 0)
			unlink(path);
}

/* Append up to want bytes from the end of fd (of size) to buf at *len. */
static void tail_into(int fd, off_t size, size_t want, char *buf, size_t *len)
{
	off_t off = size > (off_t)want ? size - (off_t)want : 0;

	while (off < size) {
		ssize_t r = pread(fd, buf + *len, (size_t)(size - off), off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;	/* truncated meanwhile: show what there is */
		*len += (size_t)r;
		off += r;
	}
}

size_t runrec_log_size(const char *run_dir)
{
	char p0[PATH_MAX], p1[PATH_MAX];
	struct stat st0 = { 0 }, st1 = { 0 };
	size_t total;

	if (path_in(p0, sizeof(p0), run_dir, "log.0") < 0 ||
	    path_in(p1, sizeof(p1), run_dir, "log.1") < 0)
		return 0;
	if (stat(p0, &st0) < 0)
		st0.st_size = 0;
	if (stat(p1, &st1) < 0 || (st0.st_ino == st1.st_ino && st0.st_dev == st1.st_dev))
		st1.st_size = 0;
	total = (size_t)st0.st_size + (size_t)st1.st_size;
	return total < LOG_MAX ? total : LOG_MAX;
}

int runrec_log_read(const char *run_dir, char **out, size_t *len)
{
	char p0[PATH_MAX], p1[PATH_MAX];
	_cleanup_close_ int fd0 = -1;
	_cleanup_close_ int fd1 = -1;
	struct stat st0 = { 0 }, st1 = { 0 };
	size_t want0, want1;
	char *buf;

	*out = NULL;
	*len = 0;
	if (path_in(p0, sizeof(p0), run_dir, "log.0") < 0 ||
	    path_in(p1, sizeof(p1), run_dir, "log.1") < 0)
		return -ENAMETOOLONG;
	/* log.0 first: a rotation in between then shows the same file twice (which
	 * the inode check drops) rather than losing the rotated part */
	fd0 = open(p0, O_RDONLY | O_CLOEXEC);
	fd1 = open(p1, O_RDONLY | O_CLOEXEC);
	if (fd0 >= 0 && fstat(fd0, &st0) < 0)
		return -errno;
	if (fd1 >= 0 && fstat(fd1, &st1) < 0)
		return -errno;
	if (fd0 >= 0 && fd1 >= 0 && st0.st_ino == st1.st_ino && st0.st_dev == st1.st_dev)
		st1.st_size = 0;
	want0 = st0.st_size < LOG_MAX ? (size_t)st0.st_size : LOG_MAX;
	want1 = (size_t)st1.st_size < LOG_MAX - want0 ? (size_t)st1.st_size : LOG_MAX - want0;
	buf = malloc(want0 + want1 + 1);
	if (!buf)
		return -ENOMEM;
	if (fd1 >= 0)
		tail_into(fd1, st1.st_size, want1, buf, len);
	if (fd0 >= 0)
		tail_into(fd0, st0.st_size, want0, buf, len);
	buf[*len] = '\0';
	*out = buf;
	return 0;
}

int runrec_log_view(const char *run_dir, struct cfs_log_view *v)
{
	char p0[PATH_MAX], p1[PATH_MAX];
	struct stat st0, st1;
	bool have0, have1;
	size_t want0, want1;

	memset(v, 0, sizeof(*v));
	if (path_in(p0, sizeof(p0), run_dir, "log.0") < 0 ||
	    path_in(p1, sizeof(p1), run_dir, "log.1") < 0)
		return -ENAMETOOLONG;
	/* log.0 first, as runrec_log_read: a rotation in between shows one file twice,
	 * and the second look is dropped */
	have0 = stat(p0, &st0) == 0 && S_ISREG(st0.st_mode);
	have1 = stat(p1, &st1) == 0 && S_ISREG(st1.st_mode);
	if (have0 && have1 && st0.st_ino == st1.st_ino && st0.st_dev == st1.st_dev)
		have1 = false;
	want0 = have0 ? ((size_t)st0.st_size < LOG_MAX ? (size_t)st0.st_size : LOG_MAX) : 0;
	want1 = have1 ? ((size_t)st1.st_size < LOG_MAX - want0 ? (size_t)st1.st_size
							       : LOG_MAX - want0)
		      : 0;
	if (want1)
		v->part[0] = (struct cfs_log_part){ st1.st_dev, st1.st_ino,
						    (uint64_t)st1.st_size - want1, want1 };
	if (want0)
		v->part[1] = (struct cfs_log_part){ st0.st_dev, st0.st_ino,
						    (uint64_t)st0.st_size - want0, want0 };
	return 0;
}

/* The file of a part, wherever rotation has moved it; -1 if gone. */
static int open_part(const char *run_dir, const struct cfs_log_part *pt)
{
	static const char *const names[] = { "log.0", "log.1" };
	char p[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < 2; i++) {
		int fd;

		if (path_in(p, sizeof(p), run_dir, names[i]) < 0)
			return -1;
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && st.st_dev == pt->dev && st.st_ino == pt->ino)
			return fd;
		close(fd);
	}
	return -1;
}

ssize_t runrec_log_pread(const char *run_dir, const struct cfs_log_view *v, char *buf,
			 size_t size, uint64_t off)
{
	size_t got = 0;
	uint64_t base = 0;	/* where the part starts in the text */

	for (int i = 0; i < 2 && got < size; base += v->part[i].len, i++) {
		const struct cfs_log_part *pt = &v->part[i];
		uint64_t pos = off + got;

		if (pos >= base + pt->len)
			continue;
		uint64_t at = pos - base;
		size_t want = size - got < pt->len - at ? size - got : (size_t)(pt->len - at);
		_cleanup_close_ int fd = open_part(run_dir, pt);

		if (fd < 0)
			break;	/* gone: the text ends here */
		size_t n = 0;

		while (n < want) {
			ssize_t r = pread(fd, buf + got + n, want - n, (off_t)(pt->off + at + n));

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && !got && !n)
				return -errno;
			if (r <= 0)
				break;
			n += (size_t)r;
		}
		got += n;
		if (n < want)
			break;	/* shorter than it was: the text ends here */
	}
	return (ssize_t)got;
}

int runrec_history_read(const char *run_dir, char **out, size_t *len)
{
	char path[PATH_MAX];
	char *buf = malloc(RUNREC_HISTORY * 64 + 1);
	ssize_t n;

	*out = NULL;
	*len = 0;
	if (!buf)
		return -ENOMEM;
	n = path_in(path, sizeof(path), run_dir, "runs") < 0
		    ? -1
		    : read_file_into(path, buf, RUNREC_HISTORY * 64 + 1);
	buf[n > 0 ? n : 0] = '\0';
	*out = buf;
	*len = strlen(buf);
	return 0;
}

int runrec_history_add(const char *run_dir, int status, const char *how)
{
	char tmp[PATH_MAX], path[PATH_MAX], line[64];
	_cleanup_free_ char *old = NULL;
	const char *keep;
	size_t len, lines = 0;
	int fd, e = 0;

	if (path_in(tmp, sizeof(tmp), run_dir, "runs.tmp") < 0 ||
	    path_in(path, sizeof(path), run_dir, "runs") < 0)
		return -ENAMETOOLONG;
	if (runrec_history_read(run_dir, &old, &len) < 0)
		return -ENOMEM;
	/* the newest RUNREC_HISTORY-1 lines of the old text, then the new one */
	keep = old + len;
	while (keep > old && lines < RUNREC_HISTORY - 1) {
		const char *p = keep - 1;

		while (p > old && p[-1] != '\n')
			p--;
		keep = p;
		lines++;
	}
	snprintf(line, sizeof(line), "%lld %d %s\n", (long long)time(NULL), status, how);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	len = strlen(keep);
	if (write(fd, keep, len) != (ssize_t)len ||
	    write(fd, line, strlen(line)) != (ssize_t)strlen(line))
		e = errno ? -errno : -EIO;
	if (close(fd) < 0 && !e)
		e = -errno;
	if (!e && rename(tmp, path) < 0)
		e = -errno;
	if (e)
		unlink(tmp);
	return e;
}

void runrec_history_clear(const char *run_dir)
{
	static const char *const files[] = { "runs", "runs.tmp", "hostname" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (path_in(path, sizeof(path), run_dir, files[i]) == 0)
			unlink(path);
}

int runrec_log_mtime(const char *run_dir, struct timespec *mtime)
{
	char p[PATH_MAX];
	struct stat st;
	int found = -ENOENT;

	for (int i = 0; i < 2; i++) {
		if (path_in(p, sizeof(p), run_dir, i ? "log.1" : "log.0") < 0 || stat(p, &st) < 0)
			continue;
		if (found < 0 || st.st_mtim.tv_sec > mtime->tv_sec ||
		    (st.st_mtim.tv_sec == mtime->tv_sec && st.st_mtim.tv_nsec > mtime->tv_nsec))
			*mtime = st.st_mtim;
		found = 0;
	}
	return found;
}
