/* seccomp.h - every container's system call filter: the built-in deny list (what
 * reaches past the container into the host's kernel-wide state) edited by the
 * seccomp setting, compiled by libseccomp in the daemon before fork and loaded by
 * init just before its exec. Denied calls fail with EPERM; nothing is killed. */
#ifndef CFS_RUN_SECCOMP_H
#define CFS_RUN_SECCOMP_H

#include <linux/filter.h>

#include "error.h"

/* Compile the filter the setting's text asks for (the native architecture and its
 * compat ones: x86 and x32 on x86_64, arm on aarch64) into prog (filter malloc'd;
 * NULL when the setting is `unconfined` without additions). 0 or -errno with err
 * naming the setting. */
int seccomp_prog_build(const char *setting, struct sock_fprog *prog, struct cfs_err *err);

/* The filter of a run, for cfs-attach to put its command under the same one:
 * RUN/NAME/seccomp.bpf, the raw sock_filter array (absent: init has no filter). */
#define SECCOMP_FILE "seccomp.bpf"
/* Write prog to dir/SECCOMP_FILE atomically (or remove it when prog has no filter).
 * 0 or -errno with err filled. */
int seccomp_prog_save(const char *dir, const struct sock_fprog *prog, struct cfs_err *err);

/* In init, after no_new_privs, before exec: system calls only. 0 or -errno. */
int seccomp_prog_load(const struct sock_fprog *prog);

/* The names the built-in filter denies (NULL-terminated), for documentation and
 * tests. personality is denied only for personas other than Linux, Linux32 and
 * UNAME26 (and the query 0xffffffff); umount2 only with MNT_FORCE. */
extern const char *const seccomp_default_deny[];

#endif
