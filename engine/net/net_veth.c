/* net_veth.c - net/type veth at start: one netlink request creates the pair with the
 * peer already in init's network namespace (named, addressed, sized) and the host
 * side up on its bridge; then, from inside the namespace, the IPv4 address, links up
 * and the default route. Any failure removes the pair again. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netlink/addr.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "log.h"
#include "net.h"

static const char *ip_str(struct in_addr a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN) ? buf : "?";
}

static struct nl_addr *inet_addr_of(struct in_addr a, int prefix)
{
	struct nl_addr *n = nl_addr_build(AF_INET, &a, sizeof(a));

	if (n)
		nl_addr_set_prefixlen(n, prefix);
	return n;
}

/* fe:xx:xx:xx:xx:xx, as LXC does: a bridge takes the lowest MAC of its ports as its
 * own, and a high first octet keeps the host side from changing the bridge's. */
static struct nl_addr *host_mac(void)
{
	uint8_t mac[6] = { 0xfe };

	if (getentropy(mac + 1, 5) < 0)
		return NULL;
	return nl_addr_build(AF_LLC, mac, sizeof(mac));
}

/* Both ends in one request: the kernel makes both or neither. */
static int veth_create(struct nlh *h, const struct net_plan *p, pid_t pid,
		       struct cfs_err *err)
{
	struct rtnl_link *host = rtnl_link_veth_alloc(), *peer;
	struct nl_addr *hmac = host_mac(), *pmac = nl_addr_build(AF_LLC, p->mac, 6);
	int r = -ENOMEM;

	if (!host || !hmac || !pmac)
		goto out;
	peer = rtnl_link_veth_get_peer(host);
	rtnl_link_set_name(host, p->host);
	rtnl_link_set_addr(host, hmac);
	rtnl_link_set_flags(host, IFF_UP);
	if (p->bridge_index)
		rtnl_link_set_master(host, p->bridge_index);
	rtnl_link_set_name(peer, p->peer);
	rtnl_link_set_addr(peer, pmac);
	rtnl_link_set_ns_pid(peer, pid);
	if (p->mtu) {
		rtnl_link_set_mtu(host, p->mtu);
		rtnl_link_set_mtu(peer, p->mtu);
	}
	rtnl_link_put(peer);
	h->syserr = 0;
	r = rtnl_link_add(h->sk, host, NLM_F_CREATE | NLM_F_EXCL);
	if (r < 0)
		r = net_nl_errno(h, r);
out:
	if (host)
		rtnl_link_put(host);
	if (hmac)
		nl_addr_put(hmac);
	if (pmac)
		nl_addr_put(pmac);
	if (r == -ENOMEM)
		return cfs_err_set(err, ENOMEM, "net/type: veth: out of memory");
	if (r == -EEXIST)
		return cfs_err_set(err, EEXIST,
				   "net/veth.pair: an interface %s already exists on the host",
				   p->host);
	if (r == -EADDRNOTAVAIL)
		return cfs_err_set(err, EADDRNOTAVAIL,
				   "net/hwaddr: the kernel refuses %02x:%02x:%02x:%02x:%02x:%02x",
				   p->mac[0], p->mac[1], p->mac[2],
				   p->mac[3], p->mac[4], p->mac[5]);
	if (r == -EOPNOTSUPP)
		return cfs_err_set(err, EOPNOTSUPP,
				   "net/type: this kernel cannot make veth pairs (module veth)");
	if (r < 0)
		return cfs_err_set(err, -r,
				   "net/type: veth: cannot create %s (host) and %s (inside)%s%s: %s",
				   p->host, p->peer, p->bridge[0] ? " on " : "",
				   p->bridge, strerror(-r));
	return 0;
}

static int link_up(struct nlh *h, int ifindex)
{
	struct rtnl_link *orig = rtnl_link_alloc(), *chg = rtnl_link_alloc();
	int r = -NLE_NOMEM;

	if (orig && chg) {
		rtnl_link_set_ifindex(orig, ifindex);
		rtnl_link_set_flags(chg, IFF_UP);
		h->syserr = 0;
		r = rtnl_link_change(h->sk, orig, chg, 0);
	}
	if (orig)
		rtnl_link_put(orig);
	if (chg)
		rtnl_link_put(chg);
	return r < 0 ? net_nl_errno(h, r) : 0;
}

static int addr_add(struct nlh *h, int ifindex, const struct net_plan *p)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local = inet_addr_of(p->addr, p->prefix), *bcast = NULL;
	int r = -NLE_NOMEM;

	if (!a || !local)
		goto out;
	rtnl_addr_set_ifindex(a, ifindex);
	rtnl_addr_set_family(a, AF_INET);
	r = rtnl_addr_set_local(a, local);	/* also takes its prefix length */
	if (r < 0)
		goto out;
	if (p->prefix <= 30) {
		/* what `ip addr add ... brd +` gives: the host part all ones */
		struct in_addr b = { p->addr.s_addr | htonl(p->prefix ? ~0u >> p->prefix : ~0u) };

		bcast = inet_addr_of(b, 32);
		if (bcast)
			rtnl_addr_set_broadcast(a, bcast);
	}
	h->syserr = 0;
	r = rtnl_addr_add(h->sk, a, 0);
out:
	if (a)
		rtnl_addr_put(a);
	if (local)
		nl_addr_put(local);
	if (bcast)
		nl_addr_put(bcast);
	return r < 0 ? net_nl_errno(h, r) : 0;
}

static int route_add_default(struct nlh *h, int ifindex, struct in_addr gw)
{
	struct in_addr any = { 0 };
	struct rtnl_route *rt = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = inet_addr_of(any, 0), *via = inet_addr_of(gw, 32);
	int r = -NLE_NOMEM;

	if (!rt || !nh || !dst || !via) {
		if (nh)
			rtnl_route_nh_free(nh);
		goto out;
	}
	rtnl_route_set_family(rt, AF_INET);
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	rtnl_route_set_protocol(rt, RTPROT_BOOT);
	rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
	rtnl_route_set_type(rt, RTN_UNICAST);
	rtnl_route_set_dst(rt, dst);
	rtnl_route_nh_set_gateway(nh, via);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	rtnl_route_add_nexthop(rt, nh);	/* the route owns nh from here */
	h->syserr = 0;
	r = rtnl_route_add(h->sk, rt, NLM_F_EXCL);
out:
	if (rt)
		rtnl_route_put(rt);
	if (dst)
		nl_addr_put(dst);
	if (via)
		nl_addr_put(via);
	return r < 0 ? net_nl_errno(h, r) : 0;
}

/* Runs in a thread inside the container's network namespace. */
static int configure_inside(struct nlh *h, void *arg, struct cfs_err *err)
{
	const struct net_plan *p = arg;
	char a[INET_ADDRSTRLEN];
	int idx, lo, r;

	r = net_link_info(h, 0, p->peer, &idx, NULL, 0, NULL);
	if (r <= 0)
		return cfs_err_set(err, r < 0 ? -r : ENODEV,
				   "net/name: %s is not in the container's network namespace: %s",
				   p->peer, strerror(r < 0 ? -r : ENODEV));
	if (p->has_addr) {
		r = addr_add(h, idx, p);
		if (r < 0)
			return cfs_err_set(err, -r, "net/ipv4: cannot give %s/%d to %s: %s",
					   ip_str(p->addr, a), p->prefix, p->peer, strerror(-r));
	}
	r = link_up(h, idx);
	if (r < 0)
		return cfs_err_set(err, -r, "net/name: cannot bring %s up: %s", p->peer,
				   strerror(-r));
	r = net_link_info(h, 0, "lo", &lo, NULL, 0, NULL);
	if (r == 1)
		r = link_up(h, lo);
	if (r < 0)
		return cfs_err_set(err, -r, "net: cannot bring lo up: %s", strerror(-r));
	if (p->has_gw) {
		r = route_add_default(h, idx, p->gw);
		if (r < 0)
			return cfs_err_set(err, -r,
					   "net/ipv4.gateway: cannot add a default route via %s: %s",
					   ip_str(p->gw, a), strerror(-r));
	}
	return 0;
}

/* Created and recorded: the host side's index makes the record exact. */
static int record(struct nlh *h, const char *run_dir, const struct net_plan *p,
		  int *index, struct cfs_err *err)
{
	int r = net_link_info(h, 0, p->host, index, NULL, 0, NULL);

	if (r <= 0)
		return cfs_err_set(err, r < 0 ? -r : ENODEV,
				   "net/veth.pair: %s vanished right after it was made",
				   p->host);
	r = net_record_write(run_dir, p->host, *index);
	if (r < 0)
		return cfs_err_set(err, -r, "net: cannot record %s in %s: %s", p->host, run_dir,
				   strerror(-r));
	return 0;
}

int net_setup(const char *name, const char *run_dir, const struct config *cfg,
	      pid_t init_pid, struct cfs_err *err)
{
	struct net_plan p;
	struct nlh h;
	int index = 0, r;

	if (strcmp(config_val(cfg, K_NET_TYPE), "veth"))
		return 0;
	net_cleanup(run_dir);	/* what a crashed daemon may have left of an earlier run */
	r = net_nl_open(&h);
	if (r < 0)
		return cfs_err_set(err, -r, "net/type: veth: cannot open a netlink socket: %s",
				   strerror(-r));
	r = net_plan(&h, name, run_dir, cfg, &p, err);
	if (r < 0)
		goto out;
	r = veth_create(&h, &p, init_pid, err);
	if (r < 0)
		goto out;
	r = record(&h, run_dir, &p, &index, err);
	if (r == 0)
		r = net_in_netns(init_pid, configure_inside, &p, err);
	if (r < 0 && index > 0) {
		/* deleting one end deletes both: nothing half-made stays */
		int r2 = net_link_delete(&h, index);

		if (r2 < 0 && r2 != -ENODEV)
			log_err("%s: cannot remove %s after a failed start: %s", name, p.host,
				strerror(-r2));
		net_cleanup(run_dir);
	} else if (r < 0) {
		/* the pair was made but its lookup failed: try once more, by name */
		int idx;

		if (net_link_info(&h, 0, p.host, &idx, NULL, 0, NULL) == 1)
			net_link_delete(&h, idx);
	}
out:
	net_nl_close(&h);
	return r;
}
