/* The container's seccomp filter for cfs-attach: the exact program init runs
 * under, which the engine leaves in the run dir as seccomp.bpf when it starts
 * the container (the supervisor's working directory). */
#ifndef CFS_ATTACH_SECCOMP_H
#define CFS_ATTACH_SECCOMP_H

#include <linux/filter.h>
#include <stddef.h>
#include <sys/types.h>

struct attach_filter {
	struct sock_filter *insns; /* NULL: init runs without a filter */
	unsigned short len;
};

/* Reads the filter of init `pid`; -1 with a message in err when init has a filter
 * and it cannot be read. */
int attach_filter_load(pid_t pid, struct attach_filter *f, char *err, size_t n);
/* Installs it on the calling thread (no_new_privs or CAP_SYS_ADMIN needed). */
int attach_filter_apply(const struct attach_filter *f, char *err, size_t n);

#endif
