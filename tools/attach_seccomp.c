/* See attach_seccomp.h. */
#include "attach_seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "readfile.h"

#define FILTER_FILE "seccomp.bpf"
#define MAX_INSNS 4096 /* the kernel's BPF_MAXINSNS */

/* The value of `key` (e.g. "Seccomp:") in /proc/PID/status, or -1. */
static long status_field(pid_t pid, const char *key)
{
	char path[64], buf[8192];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (read_file_into(path, buf, sizeof buf) <= 0)
		return -1;
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (!strncmp(line, key, strlen(key)))
			return strtol(line + strlen(key), NULL, 10);
	return -1;
}

int attach_filter_load(pid_t pid, struct attach_filter *f, char *err, size_t n)
{
	f->insns = NULL;
	f->len = 0;
	long mode = status_field(pid, "Seccomp:");
	if (mode <= 0)
		return 0; /* no filter on init (or a kernel without seccomp) */
	long sup = status_field(pid, "PPid:");
	char path[128];
	snprintf(path, sizeof path, "/proc/%ld/cwd/" FILTER_FILE, sup);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, n, "init runs under a seccomp filter, but %s cannot be read (%s)",
			 path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > MAX_INSNS) {
		close(fd);
		snprintf(err, n, "%s: not a seccomp program (%lld bytes)", path,
			 (long long)st.st_size);
		return -1;
	}
	f->insns = malloc(st.st_size);
	ssize_t r = f->insns ? read(fd, f->insns, st.st_size) : -1;
	close(fd);
	if (r != st.st_size) {
		snprintf(err, n, "%s: short read", path);
		free(f->insns);
		f->insns = NULL;
		return -1;
	}
	f->len = st.st_size / sizeof(struct sock_filter);
	return 0;
}

int attach_filter_apply(const struct attach_filter *f, char *err, size_t n)
{
	if (!f->insns)
		return 0;
	struct sock_fprog prog = { .len = f->len, .filter = f->insns };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		snprintf(err, n, "installing the container's seccomp filter: %s", strerror(errno));
		return -1;
	}
	return 0;
}
