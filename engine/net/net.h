/* net.h - a container's network beyond its own namespace: the veth pair that wires
 * it to the host (and to a bridge), made and configured through libnl-route-3, and
 * recorded in the run dir so that the end of the run, or a daemon that starts again,
 * removes exactly the interface that was made and nothing else. */
#ifndef CFS_NET_H
#define CFS_NET_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "error.h"

/* ---- the engine's calls (lifecycle.c, monitor.c, runtime.c) */

/* Before anything is spawned: for net/type veth, check what can be checked from the
 * host (a network namespace is asked for, the bridge net/link exists and is one, the
 * host-side name is free). 0 for the other types. -errno and err naming the setting. */
int net_check(const char *name, const char *run_dir, const struct config *cfg,
	      struct cfs_err *err);

/* For net/type veth: create the pair with its peer in the network namespace of
 * init_pid (named net/name, with net/hwaddr and net/mtu), give it net/ipv4, bring it
 * and lo up, add the default route via net/ipv4.gateway, attach the host side to the
 * bridge net/link and bring it up; record the host side in run_dir. 0 for the other
 * types. On error nothing is left behind and err names the setting at fault. */
int net_setup(const char *name, const char *run_dir, const struct config *cfg,
	      pid_t init_pid, struct cfs_err *err);

/* Remove the host-side interface recorded in run_dir if it still exists and is the
 * very one net_setup made (same name and ifindex, a veth), then forget the record.
 * Idempotent; does nothing when nothing was recorded. */
void net_cleanup(const char *run_dir);

/* .checkconfig's "veth: ..." and "bridge: ..." lines, from creating both in a
 * throwaway network namespace. malloc'd, NULL on ENOMEM. */
char *net_checkconfig(void);

/* ---- shared by net.c and net_veth.c only */

struct nl_sock;

/* A netlink route socket that keeps the kernel's own errno of a failed request:
 * libnl folds many errnos into NLE_FAILURE. */
struct nlh {
	struct nl_sock *sk;
	int syserr;		/* errno of the last kernel error, 0 if none */
};
int net_nl_open(struct nlh *h);		/* 0 or -errno */
void net_nl_close(struct nlh *h);
/* A libnl result (< 0: -NLE_*) as -errno: the kernel's errno if it sent one, else
 * libnl's code mapped. Callers zero h->syserr before each request (a retried request
 * may keep the errno of its first try); this resets it too. */
int net_nl_errno(struct nlh *h, int nle);

/* What a veth start needs, resolved from the settings and the host. */
struct net_plan {
	char host[IFNAMSIZ];	/* host-side name */
	char peer[IFNAMSIZ];	/* net/name: the name inside */
	bool host_generated;	/* net/veth.pair was empty */
	char bridge[IFNAMSIZ];	/* net/link, "" for none */
	int bridge_index;
	uint8_t mac[6];		/* net/hwaddr with its random digits filled */
	unsigned mtu;		/* 0: the kernel's */
	bool has_addr;
	struct in_addr addr;
	int prefix;
	bool has_gw;
	struct in_addr gw;
};

/* Parse the [net] values of cfg into p and check them against the host through h
 * (bridge, free host-side name). 0 or -errno with err naming the setting. */
int net_plan(struct nlh *h, const char *name, const char *run_dir,
	     const struct config *cfg, struct net_plan *p, struct cfs_err *err);

/* Run fn with a netlink socket opened inside a network namespace, in a short-lived
 * thread (setns of a network namespace affects the calling thread only): that of
 * pid, or a new throwaway one when pid is 0. Returns fn's result. */
int net_in_netns(pid_t pid, int (*fn)(struct nlh *h, void *arg, struct cfs_err *err),
		 void *arg, struct cfs_err *err);

/* The recorded host side: write after creating it (net.c reads it back at cleanup). */
int net_record_write(const char *run_dir, const char *ifname, int ifindex);

/* Is the interface with ifindex (or, if ifindex is 0, named ifname) present? Then
 * 1 and its index, kind ("veth", "bridge", "" if none) and name; 0 if absent;
 * -errno on failure. Any out pointer may be NULL. */
int net_link_info(struct nlh *h, int ifindex, const char *ifname, int *index,
		  char *kind, size_t kind_n, char name[IFNAMSIZ]);
/* Delete an interface by index. 0, or -errno (-ENODEV when already gone). */
int net_link_delete(struct nlh *h, int ifindex);

#endif
