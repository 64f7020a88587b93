/* net.c - the plumbing under a container's network: netlink sockets that keep the
 * kernel's errno, libnl's NLE_* codes as errnos, running work inside a network
 * namespace, the host-side name and its run-dir record, the checks made before a
 * start, the cleanup at the end of a run, and .checkconfig's veth/bridge probe. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/socket.h>

#include "cleanup.h"
#include "container.h"
#include "log.h"
#include "net.h"
#include "config/parse.h"

#define RECORD_FILE "veth"

/* ---- libnl errors */

/* libnl's NLE_* code (positive) as an errno. */
static int nle_to_errno(int nle)
{
	static const int map[] = {
		[NLE_SUCCESS] = 0,
		[NLE_FAILURE] = EIO,
		[NLE_INTR] = EINTR,
		[NLE_BAD_SOCK] = EBADF,
		[NLE_AGAIN] = EAGAIN,
		[NLE_NOMEM] = ENOMEM,
		[NLE_EXIST] = EEXIST,
		[NLE_INVAL] = EINVAL,
		[NLE_RANGE] = ERANGE,
		[NLE_MSGSIZE] = EMSGSIZE,
		[NLE_OPNOTSUPP] = EOPNOTSUPP,
		[NLE_AF_NOSUPPORT] = EAFNOSUPPORT,
		[NLE_OBJ_NOTFOUND] = ENOENT,
		[NLE_NOATTR] = ENODATA,
		[NLE_MISSING_ATTR] = EINVAL,
		[NLE_AF_MISMATCH] = EAFNOSUPPORT,
		[NLE_SEQ_MISMATCH] = EPROTO,
		[NLE_MSG_OVERFLOW] = EOVERFLOW,
		[NLE_MSG_TRUNC] = EMSGSIZE,
		[NLE_NOADDR] = EADDRNOTAVAIL,
		[NLE_SRCRT_NOSUPPORT] = EOPNOTSUPP,
		[NLE_MSG_TOOSHORT] = EPROTO,
		[NLE_MSGTYPE_NOSUPPORT] = EOPNOTSUPP,
		[NLE_OBJ_MISMATCH] = EINVAL,
		[NLE_NOCACHE] = ENOENT,
		[NLE_BUSY] = EBUSY,
		[NLE_PROTO_MISMATCH] = EPROTONOSUPPORT,
		[NLE_NOACCESS] = EACCES,
		[NLE_PERM] = EPERM,
		[NLE_PKTLOC_FILE] = ENOENT,
		[NLE_PARSE_ERR] = EINVAL,
		[NLE_NODEV] = ENODEV,
		[NLE_IMMUTABLE] = EPERM,
		[NLE_DUMP_INTR] = EAGAIN,
		[NLE_ATTRSIZE] = EINVAL,
	};

	if (nle < 0)
		nle = -nle;
	if ((size_t)nle >= sizeof(map) / sizeof(map[0]))
		return EIO;
	return map[nle];
}

/* Keep the errno the kernel sent; NL_STOP lets libnl return its own code as usual. */
static int keep_syserr(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nlh *h = arg;

	h->syserr = e->error < 0 ? -e->error : e->error;
	return NL_STOP;
}

int net_nl_open(struct nlh *h)
{
	int r;

	h->syserr = 0;
	h->sk = nl_socket_alloc();
	if (!h->sk)
		return -ENOMEM;
	r = nl_connect(h->sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(h->sk);
		h->sk = NULL;
		return -nle_to_errno(r);
	}
	nl_socket_modify_err_cb(h->sk, NL_CB_CUSTOM, keep_syserr, h);
	return 0;
}

void net_nl_close(struct nlh *h)
{
	if (h->sk)
		nl_socket_free(h->sk);	/* closes the socket too */
	h->sk = NULL;
}

int net_nl_errno(struct nlh *h, int nle)
{
	int e = h->syserr ? h->syserr : nle_to_errno(nle);

	h->syserr = 0;
	return -(e ? e : EIO);
}

/* ---- links */

int net_link_info(struct nlh *h, int ifindex, const char *ifname, int *index,
		  char *kind, size_t kind_n, char name[IFNAMSIZ])
{
	struct rtnl_link *l = NULL;
	int r;

	h->syserr = 0;
	r = rtnl_link_get_kernel(h->sk, ifindex, ifindex ? NULL : ifname, &l);
	if (r < 0) {
		r = net_nl_errno(h, r);
		return r == -ENODEV || r == -ENOENT ? 0 : r;
	}
	if (index)
		*index = rtnl_link_get_ifindex(l);
	if (kind)
		snprintf(kind, kind_n, "%s", rtnl_link_get_type(l) ? rtnl_link_get_type(l) : "");
	if (name)
		snprintf(name, IFNAMSIZ, "%s", rtnl_link_get_name(l) ? rtnl_link_get_name(l) : "");
	rtnl_link_put(l);
	return 1;
}

int net_link_delete(struct nlh *h, int ifindex)
{
	struct rtnl_link *l = rtnl_link_alloc();
	int r;

	if (!l)
		return -ENOMEM;
	rtnl_link_set_ifindex(l, ifindex);
	h->syserr = 0;
	r = rtnl_link_delete(h->sk, l);
	rtnl_link_put(l);
	return r < 0 ? net_nl_errno(h, r) : 0;
}

/* ---- the host-side name and its record */

/* FNV-1a: a stable, well-spread hash; the name only has to differ per container. */
static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* The host-side name: net/veth.pair, or "cfs" + the container name cut short + a
 * hash of run_dir (unique per daemon and container), at most IFNAMSIZ-1 bytes. */
static void net_host_ifname(const char *name, const char *run_dir, const struct config *cfg,
			    char out[IFNAMSIZ])
{
	const char *pair = config_val(cfg, K_NET_VETH_PAIR);

	if (*pair) {
		snprintf(out, IFNAMSIZ, "%s", pair);
		return;
	}
	/* "cfs" + 7 of the name + 5 hex digits = 15: the run dir in the hash keeps two
	 * daemons' containers of the same name (and long names cut alike) apart */
	snprintf(out, IFNAMSIZ, "cfs%.7s%05x", name, hash_str(run_dir) & 0xfffffu);
}

int net_record_write(const char *run_dir, const char *ifname, int ifindex)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%s %d\n", ifname, ifindex);

	return fileio_write_atomic(run_dir, RECORD_FILE, buf, (size_t)n);
}

/* The recorded host side, read back at cleanup. */
static int net_record_read(const char *run_dir, char ifname[IFNAMSIZ], int *ifindex)
{
	char path[PATH_MAX];
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(path, sizeof(path), "%s/%s", run_dir, RECORD_FILE);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fscanf(f, "%15s %d", ifname, ifindex) != 2 || *ifindex <= 0)
		return -EINVAL;
	return 0;
}

static void record_remove(const char *run_dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", run_dir, RECORD_FILE);
	unlink(path);
}

void net_cleanup(const char *run_dir)
{
	char name[IFNAMSIZ], cur[IFNAMSIZ], kind[32];
	struct nlh h;
	int idx, r;

	r = net_record_read(run_dir, name, &idx);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		log_err("%s/%s: unreadable record of a veth: %s", run_dir, RECORD_FILE, strerror(-r));
		record_remove(run_dir);
		return;
	}
	r = net_nl_open(&h);
	if (r < 0) {
		log_err("veth %s: cannot open a netlink socket to remove it: %s", name, strerror(-r));
		return;
	}
	/* only the interface we made: same index, same name, still a veth */
	r = net_link_info(&h, idx, NULL, NULL, kind, sizeof(kind), cur);
	if (r == 1 && !strcmp(cur, name) && !strcmp(kind, "veth")) {
		r = net_link_delete(&h, idx);
		if (r < 0 && r != -ENODEV)
			log_err("veth %s: cannot remove it: %s", name, strerror(-r));
	} else if (r < 0) {
		log_err("veth %s: cannot look it up: %s", name, strerror(-r));
	}
	net_nl_close(&h);
	record_remove(run_dir);
}

/* ---- the plan: settings parsed, host checked */

static int plan_mac(struct net_plan *p, const char *hw, struct cfs_err *err)
{
	uint8_t mask[6], rnd[6];
	int r;

	if (!*hw) {
		/* all random: parse_mac_fill_random makes it locally administered unicast */
		memset(p->mac, 0, 6);
		memset(mask, 0xff, 6);
	} else {
		r = parse_mac(hw, p->mac, mask, err);
		if (r < 0) {
			cfs_err_prefix(err, "net/hwaddr");
			return r;
		}
	}
	for (int tries = 0; tries < 8; tries++) {
		if (getentropy(rnd, sizeof(rnd)) < 0)
			return cfs_err_set(err, errno, "net/hwaddr: no randomness: %m");
		parse_mac_fill_random(p->mac, mask, rnd);
		for (int i = 0; i < 6; i++)
			if (p->mac[i])
				return 0;
	}
	return cfs_err_set(err, EINVAL, "net/hwaddr: '%s' gives the all-zero address", hw);
}

static int plan_values(struct net_plan *p, const struct config *cfg, struct cfs_err *err)
{
	const char *ip = config_val(cfg, K_NET_IPV4);
	const char *gw = config_val(cfg, K_NET_IPV4_GATEWAY);
	uint64_t v;
	int r;

	snprintf(p->peer, sizeof(p->peer), "%s", config_val(cfg, K_NET_NAME));
	if (!strcmp(p->peer, "lo"))
		return cfs_err_set(err, EINVAL,
				   "net/name: 'lo' is the container's loopback; choose another name");
	snprintf(p->bridge, sizeof(p->bridge), "%s", config_val(cfg, K_NET_LINK));
	r = plan_mac(p, config_val(cfg, K_NET_HWADDR), err);
	if (r < 0)
		return r;
	r = config_uint(cfg, K_NET_MTU, &v, err);	/* 1: empty, the kernel's */
	if (r < 0)
		return r;
	if (r == 0)
		p->mtu = (unsigned)v;
	if (*ip) {
		r = parse_cidr4(ip, &p->addr, &p->prefix, err);
		if (r < 0) {
			cfs_err_prefix(err, "net/ipv4");
			return r;
		}
		p->has_addr = true;
	}
	if (*gw) {
		r = parse_ipv4(gw, &p->gw, err);
		if (r < 0) {
			cfs_err_prefix(err, "net/ipv4.gateway");
			return r;
		}
		p->has_gw = true;
	}
	return 0;
}

static int plan_bridge(struct nlh *h, struct net_plan *p, struct cfs_err *err)
{
	char kind[32];
	int r;

	if (!p->bridge[0])
		return 0;
	r = net_link_info(h, 0, p->bridge, &p->bridge_index, kind, sizeof(kind), NULL);
	if (r < 0)
		return cfs_err_set(err, -r, "net/link: cannot look up %s: %s", p->bridge,
				   strerror(-r));
	if (r == 0)
		return cfs_err_set(err, ENODEV, "net/link: no bridge %s on this host", p->bridge);
	if (strcmp(kind, "bridge"))
		return cfs_err_set(err, EINVAL, "net/link: %s is not a bridge (it is %s%s)",
				   p->bridge, *kind ? "a " : "a plain device", kind);
	return 0;
}

int net_plan(struct nlh *h, const char *name, const char *run_dir,
	     const struct config *cfg, struct net_plan *p, struct cfs_err *err)
{
	int r;

	memset(p, 0, sizeof(*p));
	net_host_ifname(name, run_dir, cfg, p->host);
	p->host_generated = !*config_val(cfg, K_NET_VETH_PAIR);
	r = plan_values(p, cfg, err);
	if (r < 0)
		return r;
	r = plan_bridge(h, p, err);
	if (r < 0)
		return r;
	r = net_link_info(h, 0, p->host, NULL, NULL, 0, NULL);
	if (r < 0)
		return cfs_err_set(err, -r, "net/veth.pair: cannot look up %s: %s", p->host,
				   strerror(-r));
	if (r == 1 && p->host_generated)
		return cfs_err_set(err, EEXIST,
				   "net/veth.pair: the generated host-side name %s "
				   "is taken on the host; set net/veth.pair",
				   p->host);
	if (r == 1)
		return cfs_err_set(err, EEXIST,
				   "net/veth.pair: an interface %s already exists on the host",
				   p->host);
	return 0;
}

int net_check(const char *name, const char *run_dir, const struct config *cfg,
	      struct cfs_err *err)
{
	struct net_plan p;
	struct nlh h;
	unsigned long ns = 0;
	int r;

	if (strcmp(config_val(cfg, K_NET_TYPE), "veth"))
		return 0;
	if (parse_namespaces(config_val(cfg, K_NAMESPACES), &ns, NULL) < 0 || !(ns & CLONE_NEWNET))
		return cfs_err_set(err, EINVAL,
				   "net/type: veth needs a network namespace of "
				   "its own, and namespaces lacks net");
	r = net_nl_open(&h);
	if (r < 0)
		return cfs_err_set(err, -r, "net/type: veth: cannot open a netlink socket: %s",
				   strerror(-r));
	r = net_plan(&h, name, run_dir, cfg, &p, err);
	net_nl_close(&h);
	return r;
}

/* ---- work inside a network namespace */

struct ns_job {
	int nsfd;		/* the namespace to enter, -1 for a new one */
	int (*fn)(struct nlh *h, void *arg, struct cfs_err *err);
	void *arg;
	struct cfs_err *err;
	int ret;
};

static void *ns_job_main(void *data)
{
	struct ns_job *j = data;
	struct nlh h;
	int r;

	r = j->nsfd >= 0 ? setns(j->nsfd, CLONE_NEWNET) : unshare(CLONE_NEWNET);
	if (r < 0) {
		j->ret = cfs_err_set(j->err, errno, "cannot %s a network namespace: %s",
				     j->nsfd >= 0 ? "enter" : "make", strerror(errno));
		return NULL;
	}
	/* the socket belongs to the namespace this thread is in now */
	r = net_nl_open(&h);
	if (r < 0) {
		j->ret = cfs_err_set(j->err, -r,
				     "netlink socket in the container's network namespace: %s",
				     strerror(-r));
		return NULL;
	}
	j->ret = j->fn(&h, j->arg, j->err);
	net_nl_close(&h);
	return NULL;	/* the thread, and with it its namespace membership, ends here */
}

/* Opened from the caller: a pid that died gives a clear error before any thread. */
static int open_netns(pid_t pid, struct cfs_err *err)
{
	char path[64];
	struct stat a, b;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cfs_err_set(err, errno == ENOENT ? ESRCH : errno,
				   "net: the network namespace of init (pid %d): %s", (int)pid,
				   strerror(errno));
	if (fstat(fd, &a) == 0 && stat("/proc/self/ns/net", &b) == 0 && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev) {
		close(fd);
		return cfs_err_set(err, EINVAL,
				   "net/type: veth: init (pid %d) shares the daemon's network namespace",
				   (int)pid);
	}
	return fd;
}

int net_in_netns(pid_t pid, int (*fn)(struct nlh *h, void *arg, struct cfs_err *err),
		 void *arg, struct cfs_err *err)
{
	struct ns_job j = { .nsfd = -1, .fn = fn, .arg = arg, .err = err };
	pthread_t t;
	int r;

	if (pid > 0) {
		j.nsfd = open_netns(pid, err);
		if (j.nsfd < 0)
			return j.nsfd;
	}
	r = pthread_create(&t, NULL, ns_job_main, &j);
	if (r == 0)
		pthread_join(t, NULL);
	if (j.nsfd >= 0)
		close(j.nsfd);
	if (r)
		return cfs_err_set(err, r, "net: cannot start a thread: %s", strerror(r));
	return j.ret;
}

/* ---- .checkconfig */

struct probe {
	int veth, bridge;	/* 0 or -errno */
};

static int probe_add(struct nlh *h, struct rtnl_link *l)
{
	int r;

	h->syserr = 0;
	r = l ? rtnl_link_add(h->sk, l, NLM_F_CREATE | NLM_F_EXCL) : -NLE_NOMEM;

	r = r < 0 ? net_nl_errno(h, r) : 0;
	if (l)
		rtnl_link_put(l);
	return r;
}

/* Runs in a throwaway namespace: whatever it makes vanishes with the thread. */
static int probe_main(struct nlh *h, void *arg, struct cfs_err *err)
{
	struct probe *pr = arg;
	struct rtnl_link *veth = rtnl_link_veth_alloc(), *br = rtnl_link_alloc();

	if (veth) {
		struct rtnl_link *peer = rtnl_link_veth_get_peer(veth);

		rtnl_link_set_name(veth, "cfsprobe0");
		rtnl_link_set_name(peer, "cfsprobe1");
		rtnl_link_put(peer);
	}
	pr->veth = probe_add(h, veth);
	if (br && rtnl_link_set_type(br, "bridge") < 0) {
		rtnl_link_put(br);
		br = NULL;
	}
	if (br)
		rtnl_link_set_name(br, "cfsprobebr");
	pr->bridge = probe_add(h, br);
	return 0;
}

char *net_checkconfig(void)
{
	struct probe pr = { -EIO, -EIO };
	struct cfs_err err = { 0 };
	char *out = NULL;
	int r = net_in_netns(0, probe_main, &pr, &err);

	if (r < 0) {
		if (asprintf(&out, "veth: unknown (%s)\nbridge: unknown (%s)\n", err.msg,
			     err.msg) < 0)
			return NULL;
		return out;
	}
	if (asprintf(&out, "veth: %s%s%s\nbridge: %s%s%s\n",
		     pr.veth ? "no (" : "yes", pr.veth ? strerror(-pr.veth) : "", pr.veth ? ")" : "",
		     pr.bridge ? "no (" : "yes", pr.bridge ? strerror(-pr.bridge) : "",
		     pr.bridge ? ")" : "") < 0)
		return NULL;
	return out;
}
