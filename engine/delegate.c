/* delegate.c - delegation by ownership. Root gives a container to a user with
 * chown; the owner (uid and gid) is kept in STATE/NAME/owner, so it survives
 * restarts, and the FUSE layer reports it as the owner of the container's files.
 * What an owner who is not root writes is checked here against what the owner may
 * use: no privileged mode, ids only from the owner's /etc/subuid and /etc/subgid
 * ranges, no rootfs of its choice, no device beyond the default set, bind mounts only of host paths the
 * owner can read (checked with the owner's own credentials in a child process),
 * veths only on bridges root granted in the usernet file, and no tasks. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "container.h"
#include "log.h"
#include "config/parse.h"

const char *delegate_usernet = "/etc/containerfs/usernet";

/* Who makes the calls of this thread (the FUSE layer sets it per request). */
static __thread uid_t caller_uid;
static __thread gid_t caller_gid;

void engine_set_caller(uid_t uid, gid_t gid)
{
	caller_uid = uid;
	caller_gid = gid;
}

uid_t delegate_caller(void)
{
	return caller_uid;
}

void delegate_user_name(uid_t uid, char *buf, size_t n)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, n, "%s", res->pw_name);
	else
		snprintf(buf, n, "%u", (unsigned)uid);
}

/* ---- persistence ---- */

static void owner_path(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", eng.state_dir, name);
}

void delegate_load(struct container *c)
{
	char dir[PATH_MAX], path[PATH_MAX + 8], buf[64];
	unsigned long uid, gid;
	ssize_t len;

	owner_path(c->name, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/owner", dir);
	len = read_file_into(path, buf, sizeof(buf));
	if (len <= 0)
		return;
	buf[len < (ssize_t)sizeof(buf) ? len : (ssize_t)sizeof(buf) - 1] = '\0';
	if (sscanf(buf, "%lu:%lu", &uid, &gid) != 2 || uid >= UINT32_MAX || gid >= UINT32_MAX) {
		log_err("%s: ignoring %s: not UID:GID", c->name, path);
		return;
	}
	c->owner_uid = uid;
	c->owner_gid = gid;
}

int engine_owner(const char *name, uid_t *uid, gid_t *gid)
{
	struct container *c = container_get(name);

	if (!c)
		return -ENOENT;
	pthread_mutex_lock(&c->lock);
	*uid = c->owner_uid;
	*gid = c->owner_gid;
	pthread_mutex_unlock(&c->lock);
	container_put(c);
	return 0;
}

int engine_chown(const char *name, uid_t uid, gid_t gid, struct cfs_err *err)
{
	struct container *c;
	char dir[PATH_MAX], text[64];
	int r;

	if (caller_uid != 0) {
		c = container_get(name);
		if (c) {
			container_set_error(c, "chown: only root gives a container away");
			container_put(c);
		}
		return cfs_err_set(err, EPERM, "chown: only root gives a container away");
	}
	c = container_get(name);
	if (!c)
		return cfs_err_set(err, ENOENT, "no such container %s", name);
	pthread_mutex_lock(&c->op_lock);
	pthread_mutex_lock(&c->lock);
	if (uid == (uid_t)-1)
		uid = c->owner_uid;
	if (gid == (gid_t)-1)
		gid = c->owner_gid;
	pthread_mutex_unlock(&c->lock);
	owner_path(name, dir, sizeof(dir));
	snprintf(text, sizeof(text), "%u:%u\n", (unsigned)uid, (unsigned)gid);
	r = fileio_write_atomic(dir, "owner", text, strlen(text));
	if (r < 0) {
		cfs_err_set(err, -r, "chown: cannot save the owner of %s: %s", name, strerror(-r));
	} else {
		pthread_mutex_lock(&c->lock);
		c->owner_uid = uid;
		c->owner_gid = gid;
		pthread_mutex_unlock(&c->lock);
		log_info("%s: owner %u:%u", name, (unsigned)uid, (unsigned)gid);
	}
	if (r < 0)
		container_set_error(c, err ? err->msg : NULL);
	pthread_mutex_unlock(&c->op_lock);
	container_put(c);
	return r;
}

/* ---- what an owner may write ---- */

/* Every range of the idmap text is within the owner's subordinate ranges. */
bool delegate_idmap_owned(const char *text, uid_t owner)
{
	char user[64];

	delegate_user_name(owner, user, sizeof(user));
	for (const char *s = text ? text : ""; *s;) {
		size_t len = strcspn(s, "\n");
		char line[256];
		struct idmap_entry m;
		struct cfs_err e;

		if (len >= sizeof(line))
			return false;
		memcpy(line, s, len);
		line[len] = '\0';
		s += len + (s[len] == '\n');
		if (!len)
			continue;
		if (parse_idmap_line(line, &m, &e) < 0)
			return false;
		if ((m.kind == 'u' || m.kind == 'b') &&
		    !idalloc_owner_has(idalloc_subuid, user, owner, m.outside, m.count))
			return false;
		if ((m.kind == 'g' || m.kind == 'b') &&
		    !idalloc_owner_has(idalloc_subgid, user, owner, m.outside, m.count))
			return false;
	}
	return true;
}

static bool has_line(const char *text, const char *line, size_t len)
{
	for (const char *s = text; *s;) {
		size_t l = strcspn(s, "\n");

		if (l == len && !memcmp(s, line, len))
			return true;
		s += l + (s[l] == '\n');
	}
	return false;
}

/* Can the owner open path with mode (R_OK, W_OK) as itself? Asked in a child that
 * takes the owner's uid, gid and groups, so every directory on the way is checked
 * as the kernel would for the owner. */
static bool owner_can(uid_t uid, gid_t gid, const char *path, int mode)
{
	char user[64];
	gid_t groups[256];
	int ngroups = 256, status;
	pid_t pid;

	delegate_user_name(uid, user, sizeof(user));
	if (getgrouplist(user, gid, groups, &ngroups) < 0) {
		ngroups = 1;
		groups[0] = gid;
	}
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		if (setgroups(ngroups, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			_exit(2);
		_exit(access(path, mode) == 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The source of an owner's bind mount: canonical (no symlink, no . or ..), the owner
 * can read it (and write it unless the mount is read-only), and no directory above it
 * is writable by the owner, so the owner cannot swap any part of the path for another
 * between this check and the mount, which root makes at start. */
static int check_bind_source(const char *src, uid_t uid, gid_t gid, int mode,
			     struct cfs_err *err)
{
	_cleanup_free_ char *real = realpath(src, NULL);
	char dir[PATH_MAX];

	if (src[0] != '/' || !real || strcmp(real, src))
		return cfs_err_set(err, EPERM,
				   "mounts: the source of a delegated container's "
				   "bind mount is a canonical path (no symbolic link): %s",
				   src);
	if (!owner_can(uid, gid, src, mode))
		return cfs_err_set(err, EPERM, "mounts: the owner (uid %u) cannot %s %s",
				   (unsigned)uid, mode & W_OK ? "read and write" : "read", src);
	snprintf(dir, sizeof(dir), "%s", src);
	for (char *slash = strrchr(dir, '/'); slash; slash = strrchr(dir, '/')) {
		char child[PATH_MAX];
		struct stat pst, cst;

		snprintf(child, sizeof(child), "%s", dir);
		slash[slash == dir] = '\0';	/* the parent; "/" stays "/" */
		/* a sticky directory (/tmp) not the owner's keeps entries that are not the
		 * owner's from the owner */
		if (owner_can(uid, gid, dir, W_OK) &&
		    !(stat(dir, &pst) == 0 && (pst.st_mode & S_ISVTX) && pst.st_uid != uid &&
		      lstat(child, &cst) == 0 && cst.st_uid != uid))
			return cfs_err_set(err, EPERM,
					   "mounts: the owner (uid %u) can change %s, "
					   "above the source %s: bind a path whose directories "
					   "are not the owner's to change",
					   (unsigned)uid, dir, src);
		if (slash == dir)
			break;
	}
	return 0;
}

static int check_mounts(const char *text, uid_t uid, gid_t gid, struct cfs_err *err)
{
	static const char *const virtual_fs[] = { "tmpfs", "proc", "sysfs", "devpts", "mqueue" };

	for (const char *s = text; *s;) {
		size_t len = strcspn(s, "\n");
		_cleanup_free_ char *line = strndup(s, len);
		struct fstab_entry fe;
		bool ok = false;

		s += len + (s[len] == '\n');
		if (!line)
			return cfs_err_set(err, ENOMEM, "out of memory");
		if (!len || parse_fstab_line(line, &fe, err) < 0)
			continue;	/* validated elsewhere */
		if (fe.flags & MS_BIND) {
			int mode = R_OK | ((fe.flags & MS_RDONLY) ? 0 : W_OK);

			int r = check_bind_source(fe.source, uid, gid, mode, err);

			if (r < 0)
				return r;
			continue;
		}
		for (size_t i = 0; i < sizeof(virtual_fs) / sizeof(virtual_fs[0]); i++)
			ok |= !strcmp(fe.fstype, virtual_fs[i]);
		if (!ok)
			return cfs_err_set(err, EPERM,
					   "mounts: an owner may bind-mount paths it can read and "
					   "mount tmpfs, proc, sysfs, devpts and mqueue, not %s",
					   fe.fstype);
	}
	return 0;
}

struct bridge_use {
	struct container *self;
	uid_t owner;
	const char *bridge;
	int count;
};

static void count_bridge(struct container *c, void *data)
{
	struct bridge_use *u = data;

	if (c == u->self)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->owner_uid == u->owner && !strcmp(config_val(&c->cfg, K_NET_TYPE), "veth") &&
	    !strcmp(config_val(&c->cfg, K_NET_LINK), u->bridge))
		u->count++;
	pthread_mutex_unlock(&c->lock);
}

/* The usernet file: "USER veth BRIDGE COUNT" lines ('#' comments); the count of
 * veths the user may have on bridge, or 0. */
static int usernet_allowance(uid_t uid, const char *bridge)
{
	_cleanup_fclose_ FILE *f = fopen(delegate_usernet, "re");
	char user[64], line[512], u[256], type[32], br[64];
	char uidtext[16];
	int count, total = 0;

	if (!f)
		return 0;
	delegate_user_name(uid, user, sizeof(user));
	snprintf(uidtext, sizeof(uidtext), "%u", (unsigned)uid);
	while (fgets(line, sizeof(line), f)) {
		if (line[strspn(line, " \t")] == '#')
			continue;
		if (sscanf(line, "%255s %31s %63s %d", u, type, br, &count) != 4)
			continue;
		if ((!strcmp(u, user) || !strcmp(u, uidtext)) && !strcmp(type, "veth") &&
		    !strcmp(br, bridge) && count > 0)
			total += count;
	}
	return total;
}

static int check_net(struct container *c, const struct config *cfg, uid_t uid,
		     struct cfs_err *err)
{
	const char *bridge = config_val(cfg, K_NET_LINK);
	struct bridge_use u = { .self = c, .owner = uid, .bridge = bridge, .count = 1 };
	int allowed;

	if (strcmp(config_val(cfg, K_NET_TYPE), "veth"))
		return 0;
	if (!*bridge)
		return cfs_err_set(err, EPERM,
				   "net: a veth of a delegated container needs a "
				   "bridge (net/link) root granted in %s",
				   delegate_usernet);
	allowed = usernet_allowance(uid, bridge);
	if (!allowed)
		return cfs_err_set(err, EPERM,
				   "net: the owner (uid %u) has no grant for bridge %s in %s",
				   (unsigned)uid, bridge, delegate_usernet);
	container_foreach(count_bridge, &u);
	if (u.count > allowed)
		return cfs_err_set(err, EPERM,
				   "net: the owner (uid %u) may attach %d veths to %s (%s); this would be %d",
				   (unsigned)uid, allowed, bridge, delegate_usernet, u.count);
	return 0;
}

static bool changed(const struct config *a, const struct config *b, enum key_id k)
{
	if (!a->val[k] || !b->val[k])
		return !a->val[k] != !b->val[k];
	return strcmp(a->val[k], b->val[k]) != 0;
}

int delegate_check(struct container *c, const struct config *newcfg, struct cfs_err *err)
{
	uid_t owner;
	gid_t group;

	if (caller_uid == 0)
		return 0;	/* root may do everything */
	pthread_mutex_lock(&c->lock);
	owner = c->owner_uid;
	group = c->owner_gid;
	pthread_mutex_unlock(&c->lock);
	if (owner != caller_uid)
		return cfs_err_set(err, EACCES, "only root and the owner change %s", c->name);
	if (changed(&c->cfg, newcfg, K_PRIVILEGED) && config_privileged(newcfg))
		return cfs_err_set(err, EPERM,
				   "privileged: a delegated container runs "
				   "unprivileged; only root may set privileged");
	if (changed(&c->cfg, newcfg, K_IDMAP) &&
	    !delegate_idmap_owned(config_val(newcfg, K_IDMAP), owner))
		return cfs_err_set(err, EPERM,
				   "idmap: outside ids of a delegated container must "
				   "lie in its owner's ranges of %s and %s",
				   idalloc_subuid, idalloc_subgid);
	if (changed(&c->cfg, newcfg, K_DEVICES_ALLOW)) {
		const char *def = key_default(K_DEVICES_ALLOW, c->name);
		const char *pos = config_val(newcfg, K_DEVICES_ALLOW), *s;
		size_t len;

		while (config_next_line(&pos, &s, &len))
			if (len && !has_line(def, s, len))
				return cfs_err_set(err, EPERM,
						   "devices.allow: '%.*s' is not in the "
						   "default set; only root may allow more devices",
						   (int)len, s);
	}
	if (changed(&c->cfg, newcfg, K_DEVICES_DENY) &&
	    !has_line(config_val(newcfg, K_DEVICES_DENY), "a *:* rwm", 9) &&
	    !has_line(config_val(newcfg, K_DEVICES_DENY), "a", 1))
		return cfs_err_set(err, EPERM,
				   "devices.deny: a delegated container keeps "
				   "denying every device first (a); only root may lift it");
	/* a system container's root is mounted idmapped: the root-owned files of a host
	 * tree would be its root's, so the tree (and whether writes reach it) is root's
	 * choice: a path of the owner's could be swapped for / between check and mount */
	if (changed(&c->cfg, newcfg, K_ROOTFS))
		return cfs_err_set(err, EPERM,
				   "rootfs: only root chooses the root of a delegated container");
	if (changed(&c->cfg, newcfg, K_ROOTFS_OVERLAY) &&
	    !config_bool(newcfg, K_ROOTFS_OVERLAY))
		return cfs_err_set(err, EPERM,
				   "rootfs.overlay: only root lets a delegated "
				   "container write into its rootfs");
	if (changed(&c->cfg, newcfg, K_MOUNTS)) {
		int r = check_mounts(config_val(newcfg, K_MOUNTS), owner, group, err);

		if (r < 0)
			return r;
	}
	if (changed(&c->cfg, newcfg, K_NET_VETH_PAIR) && *config_val(newcfg, K_NET_VETH_PAIR))
		return cfs_err_set(err, EPERM,
				   "net/veth.pair: the host side of a delegated "
				   "container's veth is named by the daemon");
	if (changed(&c->cfg, newcfg, K_NET_TYPE) || changed(&c->cfg, newcfg, K_NET_LINK))
		return check_net(c, newcfg, owner, err);
	return 0;
}
