/* dlist.h - the FUSE layer's doubly linked lists: an element has next and prev
 * pointers to its own type, and a list is a pointer to its first element. Both
 * macros evaluate their arguments more than once: pass plain lvalues. */
#ifndef CFS_DLIST_H
#define CFS_DLIST_H

#include <stddef.h>

/* Put element l at the front of the list whose first element is head. */
#define DLIST_PUSH(head, l)                    \
	do {                                   \
		(l)->prev = NULL;              \
		(l)->next = (head);            \
		if ((l)->next)                 \
			(l)->next->prev = (l); \
		(head) = (l);                  \
	} while (0)

/* Take element l out of the list whose first element is head. */
#define DLIST_UNLINK(head, l)                        \
	do {                                         \
		if ((l)->prev)                       \
			(l)->prev->next = (l)->next; \
		else                                 \
			(head) = (l)->next;          \
		if ((l)->next)                       \
			(l)->next->prev = (l)->prev; \
		(l)->next = (l)->prev = NULL;        \
	} while (0)

#endif
