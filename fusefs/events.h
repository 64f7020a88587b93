/* events.h - the events and .events files: a ring of state changes, a cursor per
 * open, parked reads answered when something happens. */
#ifndef CFS_EVENTS_H
#define CFS_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "fuseapi.h"

void events_init(struct fuse_session *se);
void events_fini(void);
void events_removed(const char *name);
/* A container was given to another owner: the kernel forgets the attributes it keeps. */
void events_owner_changed(uint64_t cid);
struct ev_handle;
struct ev_handle *events_open(const char *cname /* NULL for .events */, uint64_t cid,
			      bool nonblock);
void events_release(struct ev_handle *h);
void events_read(fuse_req_t req, struct ev_handle *h, size_t size);
void events_poll(fuse_req_t req, struct ev_handle *h, struct fuse_pollhandle *ph);

#endif
