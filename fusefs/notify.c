/* notify.c - the sd_notify protocol without libsystemd: one datagram of
 * newline-separated VAR=VALUE lines to the AF_UNIX socket in $NOTIFY_SOCKET, a path
 * or, when it starts with '@', a name in the abstract namespace. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

static struct sockaddr_un addr;
static socklen_t addr_len;	/* 0: no manager to tell */

void notify_init(void)
{
	const char *s = getenv("NOTIFY_SOCKET");
	size_t n;

	if (!s || !*s)
		return;
	n = strlen(s);
	if ((s[0] != '/' && s[0] != '@') || n >= sizeof(addr.sun_path) || (s[0] == '@' && n < 2)) {
		log_warn("NOTIFY_SOCKET=%s is not a socket path or an abstract name; not notifying", s);
	} else {
		memset(&addr, 0, sizeof(addr));
		addr.sun_family = AF_UNIX;
		memcpy(addr.sun_path, s, n);
		if (s[0] == '@')
			addr.sun_path[0] = '\0';	/* abstract: no terminating NUL counted */
		addr_len = offsetof(struct sockaddr_un, sun_path) + n + (s[0] == '/');
	}
	unsetenv("NOTIFY_SOCKET");
}

void notify_send(const char *msg)
{
	int fd, r;

	if (!addr_len)
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("notify: socket: %m");
		return;
	}
	do
		r = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		log_warn("notify: cannot send %s: %m", msg);
	close(fd);
}
