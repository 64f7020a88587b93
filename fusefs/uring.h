/* uring.h - FUSE requests over io_uring, beside libfuse's /dev/fuse loop.
 *
 * Where the kernel offers it (its fuse module's enable_uring), the daemon takes the
 * requests of each CPU from a queue of its own, served by a thread that stays on
 * that CPU: a reader and the thread that answers it run on the same CPU, with no
 * wake-up of another one. libfuse still decodes every request and sends every
 * reply; this file carries them. A request that may wait (a write, a stop, a
 * creation) is handed to a worker so that its queue goes on answering. */
#ifndef CFS_URING_H
#define CFS_URING_H

#include "fuseapi.h"
#include <stdbool.h>
#include <linux/fuse.h>

struct uring_cfg {
	/* true if the request can be answered on its queue's thread at once (it
	 * never waits); NULL answers every request there */
	bool (*at_once)(const struct fuse_in_header *in, const void *arg);
	bool disable;	/* keep to /dev/fuse even where io_uring is offered */
};

/* Call after fuse_session_mount (and any daemonizing fork), before the loop: takes
 * over the session's io. The queues and their threads are made when the kernel's
 * INIT offers io_uring. Never fails the mount: where io_uring cannot be used the
 * requests come through /dev/fuse as before. */
void uring_attach(struct fuse_session *se, const struct uring_cfg *cfg);

/* After the loop: ends the queues and the workers (a worker finishes its request). */
void uring_detach(void);

/* How requests reach the daemon, for .checkconfig: "io_uring, N queues" or
 * "/dev/fuse (why)" */
const char *uring_transport(void);

#endif
