/* fusefloor.c - the least a FUSE file costs on this machine, for scripts/bench: a
 * filesystem of N directories k0000, k0001, ... each holding one file, `state`, that
 * reads "RUNNING\n", and nothing else. It
 * runs the same libfuse loop as containerfs (low-level API, the multithreaded loop
 * with the same thread settings) and opens the file as containerfs opens `state`
 * (direct_io, no FLUSH for a read-only open; entries and attributes cached), so an
 * open+read+close or a pread of it is the FUSE round trips alone, with none of
 * containerfs's work. What containerfs takes beyond it is its own cost. Where the
 * kernel offers FUSE over io_uring, it takes its requests that way, as containerfs
 * does (fusefs/uring.c), and answers each on its queue's thread.
 *   fusefloor MOUNTPOINT [N]   N directories (default 1); stays in the foreground
 *                              and ends at unmount or SIGTERM */
#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)
#include <fuse_lowlevel.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "uring.h"

/* directory i is inode 2 + 2i, its state 3 + 2i */
#define DIR_INO(i) (2 + 2 * (fuse_ino_t)(i))
#define IS_DIR(ino) ((ino) == FUSE_ROOT_ID || (ino) % 2 == 0)
#define CACHE_FOREVER 86400.0

static const char text[] = "RUNNING\n";
static unsigned ndirs = 1;

static bool valid(fuse_ino_t ino)
{
	return ino >= FUSE_ROOT_ID && ino < DIR_INO(ndirs);
}

static void fill_stat(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (IS_DIR(ino)) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = 4096;
	}
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	char *end;
	unsigned long i;

	memset(&e, 0, sizeof(e));
	if (parent == FUSE_ROOT_ID && name[0] == 'k') {
		i = strtoul(name + 1, &end, 10);
		if (!*end && end - name == 5 && i < ndirs)
			e.ino = DIR_INO(i);
	} else if (parent != FUSE_ROOT_ID && valid(parent) && !strcmp(name, "state")) {
		e.ino = parent + 1;
	}
	if (!e.ino) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	e.attr_timeout = CACHE_FOREVER;
	e.entry_timeout = CACHE_FOREVER;
	fill_stat(e.ino, &e.attr);
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	if (!valid(ino)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_stat(ino, &st);
	fuse_reply_attr(req, &st, CACHE_FOREVER);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (IS_DIR(ino)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	fi->direct_io = 1;
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	size_t len = sizeof(text) - 1;

	if (off < 0 || (size_t)off >= len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	len -= (size_t)off;
	fuse_reply_buf(req, text + off, size < len ? size : len);
}

/* the root lists k0000...; a directory lists state (and both list . and ..) */
static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	unsigned long n = ino == FUSE_ROOT_ID ? ndirs + 2 : 3;
	char *buf = malloc(size);
	size_t used = 0;
	char name[16];
	struct stat st;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (unsigned long i = off; i < n; i++) {
		size_t len;

		memset(&st, 0, sizeof(st));
		if (i < 2) {
			snprintf(name, sizeof(name), "%s", i ? ".." : ".");
			st.st_ino = ino;
			st.st_mode = S_IFDIR;
		} else if (ino == FUSE_ROOT_ID) {
			snprintf(name, sizeof(name), "k%04lu", i - 2);
			st.st_ino = DIR_INO(i - 2);
			st.st_mode = S_IFDIR;
		} else {
			snprintf(name, sizeof(name), "state");
			st.st_ino = ino + 1;
			st.st_mode = S_IFREG;
		}
		len = fuse_add_direntry(req, buf + used, size - used, name, &st, i + 1);
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static const struct fuse_lowlevel_ops ops = {
	.lookup = op_lookup,
	.getattr = op_getattr,
	.open = op_open,
	.read = op_read,
	.readdir = op_readdir,
};

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se;
	struct fuse_loop_config *lc;
	int ret;

	if (argc < 2 || argc > 3 || (argc == 3 && (ndirs = atoi(argv[2])) < 1)) {
		fprintf(stderr, "usage: fusefloor MOUNTPOINT [N]\n");
		return 2;
	}
	if (fuse_opt_add_arg(&args, argv[0]) < 0)
		return 1;
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se)
		return 1;
	if (fuse_set_signal_handlers(se) < 0 || fuse_session_mount(se, argv[1]) < 0) {
		fuse_session_destroy(se);
		return 1;
	}
	uring_attach(se, &(struct uring_cfg){ 0 });
	lc = fuse_loop_cfg_create();
	if (!lc) {
		ret = 1;
	} else {
		/* fusefs/main.c's settings */
		fuse_loop_cfg_set_max_threads(lc, 256);
		fuse_loop_cfg_set_idle_threads(lc, 16);
		fuse_loop_cfg_set_clone_fd(lc, 0);
		ret = fuse_session_loop_mt(se, lc) < 0;
		fuse_loop_cfg_destroy(lc);
	}
	uring_detach();
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	return ret;
}
