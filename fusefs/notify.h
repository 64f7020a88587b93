/* notify.h - the service manager's readiness protocol (sd_notify): datagrams to
 * the socket named by $NOTIFY_SOCKET. Without that variable every call does nothing. */
#ifndef CFS_NOTIFY_H
#define CFS_NOTIFY_H

/* Take $NOTIFY_SOCKET and remove it from the environment, so that supervisors and
 * containers, which inherit the daemon's environment, never talk to the manager. */
void notify_init(void);
/* Send one message ("READY=1", "STOPPING=1"); failures are logged, never fatal. */
void notify_send(const char *msg);

#endif
