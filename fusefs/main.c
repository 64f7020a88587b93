/* main.c - the containerfs daemon: options, engine start-up, the FUSE session
 * (low-level API, multithreaded loop, default_permissions, allow_other), detaching once the
 * tree is mounted, and a clean end on SIGTERM or unmount. */
#include <errno.h>
#include <malloc.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "events.h"
#include "fhtrack.h"
#include "fs.h"
#include "log.h"
#include "nodes.h"
#include "notify.h"
#include "uring.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: containerfs [-f] [-d] [-o FUSE_OPTS] [--state-dir DIR] [--run-dir DIR]\n"
		   "                   [--cgroup-parent NAME] [--no-uring] MOUNTPOINT\n"
		   "  -f                 stay in the foreground (log to stderr)\n"
		   "  -d                 debug logging\n"
		   "  -o OPTS            FUSE mount options (e.g. allow_other)\n"
		   "  --state-dir DIR    persistent configuration (default /var/lib/containerfs)\n"
		   "  --run-dir DIR      runtime records (default /run/containerfs)\n"
		   "  --cgroup-parent N  parent cgroup of every container (default containerfs)\n"
		   "  --no-uring         take requests from /dev/fuse even where the kernel offers\n"
		   "                     io_uring (its fuse module's enable_uring)\n"
		   "  --version          print the version\n");
}

struct options {
	bool foreground, debug, no_uring;
	const char *fuse_opts[16];
	int n_fuse_opts;
	struct engine_opts eng;
	const char *mountpoint;
};

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "state-dir", required_argument, NULL, 'S' },
		{ "run-dir", required_argument, NULL, 'R' },
		{ "cgroup-parent", required_argument, NULL, 'C' },
		{ "libexec-dir", required_argument, NULL, 'L' },
		{ "no-uring", no_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->eng.state_dir = "/var/lib/containerfs";
	o->eng.run_dir = "/run/containerfs";
	o->eng.cgroup_parent = "containerfs";
	o->eng.tree_fstype = "fuse.containerfs";	/* fsname/subtype given below */
	while ((c = getopt_long(argc, argv, "fdo:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->foreground = true; break;
		case 'd': o->debug = true; break;
		case 'o':
			if (o->n_fuse_opts == 14) {
				fprintf(stderr, "containerfs: too many -o options\n");
				return -1;
			}
			o->fuse_opts[o->n_fuse_opts++] = optarg;
			break;
		case 'S': o->eng.state_dir = optarg; break;
		case 'R': o->eng.run_dir = optarg; break;
		case 'C': o->eng.cgroup_parent = optarg; break;
		case 'L': o->eng.libexec_dir = optarg; break;
		case 'U': o->no_uring = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("containerfs %s\n", CFS_VERSION); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return -1;
	}
	o->mountpoint = argv[optind];
	o->eng.debug = o->debug;
	return 0;
}

static void *autostart_main(void *arg)
{
	engine_autostart();
	notify_send("READY=1");	/* the tree is mounted, autostart containers started */
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t autostart;
	bool autostart_running;
	struct options o = { 0 };
	struct cfs_err err = { 0 };
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se;
	struct fuse_loop_config *lc;
	int ret = 1;

	/* one malloc arena: each worker thread's own arena kept the high-water mark of
	 * the listings it made (a listing of 10,000 containers is a few MB), and with a
	 * dozen workers the daemon grew by tens of MB it never used again */
	mallopt(M_ARENA_MAX, 1);
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	log_init(false, o.debug);
	notify_init();
	nodes_start_time = time(NULL);
	/* a dead client must not kill us; children are reaped where they are made */
	signal(SIGPIPE, SIG_IGN);
	if (engine_init(&o.eng, &err) < 0) {
		log_err("%s", err.msg);
		return 1;
	}
	fuse_opt_add_arg(&args, argv[0]);
	fuse_opt_add_arg(&args, "-o");
	/* allow_other: delegated containers are managed by their owners, and every user
	 * may read what is not secret; the modes and owners reported decide the rest */
	fuse_opt_add_arg(&args,
			 "default_permissions,allow_other,fsname=containerfs,subtype=containerfs");
	for (int i = 0; i < o.n_fuse_opts; i++) {
		fuse_opt_add_arg(&args, "-o");
		fuse_opt_add_arg(&args, o.fuse_opts[i]);
	}
	if (o.debug)
		fuse_opt_add_arg(&args, "-d");
	se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), NULL);
	if (!se)
		goto out_args;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, o.mountpoint) != 0)
		goto out_signals;
	if (!o.foreground) {
		log_init(true, o.debug);
		if (fuse_daemonize(0) != 0)
			goto out_unmount;
	}
	/* threads start only now: a fork in fuse_daemonize would lose them */
	uring_attach(se, &(struct uring_cfg){ .at_once = fs_at_once, .disable = o.no_uring });
	events_init(se);
	engine_start();
	/* autostart beside the loop: the tree answers while containers start */
	autostart_running = pthread_create(&autostart, NULL, autostart_main, NULL) == 0;
	if (!autostart_running) {
		log_err("cannot start the autostart thread");
		notify_send("READY=1");
	}
	lc = fuse_loop_cfg_create();
	/* state writes are synchronous (a stop may wait stop.timeout): enough workers
	 * that many at once do not hold up the tree; threads are made only when needed */
	fuse_loop_cfg_set_max_threads(lc, 256);
	/* keep workers: making a thread per request costs more than the request */
	fuse_loop_cfg_set_idle_threads(lc, 16);
	fuse_loop_cfg_set_clone_fd(lc, 0);
	ret = fuse_session_loop_mt(se, lc);
	notify_send("STOPPING=1");
	/* libfuse reports the signal that ended the loop; SIGTERM is a clean end */
	ret = ret != 0 && ret != SIGTERM && ret != SIGINT && ret != SIGHUP &&
	      ret != -SIGTERM && ret != -SIGINT && ret != -SIGHUP;
	fuse_loop_cfg_destroy(lc);
	if (autostart_running) {
		engine_stop_autostart();	/* it ends after the start under way */
		pthread_join(autostart, NULL);
	}
	events_fini();
	fh_free_all();	/* answers reads still parked, through the queues */
	uring_detach();
	engine_fini();
	log_info("unmounted %s; running containers keep running", o.mountpoint);
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_args:
	fuse_opt_free_args(&args);
	return ret;
}
