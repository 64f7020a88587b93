/* fhtrack.h - the open files and directories of the tree, by id: what fi->fh holds
 * is an id, never a pointer, and each operation holds a reference while it runs. */
#ifndef CFS_FHTRACK_H
#define CFS_FHTRACK_H

#include <stdbool.h>
#include <stdint.h>

/* Every open file or directory is linked here, so that what the kernel never
 * released (a session cut short by an unmount) is freed at exit. */
struct fh_link {
	struct fh_link *next, *prev;
	void (*free_fn)(struct fh_link *l);
	uint64_t id;		/* what fi->fh holds: never a pointer */
	int refs;
	bool released;
};
/* Register an open object (one reference: the open's) and return its fh id. A killed
 * reader's READ may still be running when its RELEASE arrives, so every operation
 * takes a reference by id (fh_get) and drops it (fh_put); the object is freed when the
 * last one goes. */
uint64_t fh_track(struct fh_link *l, void (*free_fn)(struct fh_link *l));
struct fh_link *fh_get(uint64_t id);
void fh_put(struct fh_link *l);
/* RELEASE: no new fh_get succeeds; drops the open's reference. */
void fh_release(struct fh_link *l);
/* Call fn on every open object not yet released, with the tracker's lock held:
 * fn takes no reference and calls nothing of the tracker. */
void fh_each(void (*fn)(struct fh_link *l, void *arg), void *arg);
/* At exit: free every object still tracked, whatever its references. */
void fh_free_all(void);

#endif
