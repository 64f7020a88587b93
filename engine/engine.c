/* engine.c - the settings half of the engine API (the registry is registry.c):
 * create/destroy, settings and config read/write with validation, persistence
 * before acknowledgement, and live application through lifecycle.c. */
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cleanup.h"
#include "container.h"
#include "log.h"
#include "config/parse.h"

struct engine_globals eng;

static engine_event_fn event_fn;
static void *event_data;
static engine_config_fn config_fn;
static void *config_data;

const char *cfs_state_name(enum cfs_state s)
{
	static const char *const names[] = { "STOPPED", "STARTING", "RUNNING",
					     "FREEZING", "FROZEN", "STOPPING" };
	return names[s];
}

void engine_set_event_cb(engine_event_fn fn, void *data)
{
	event_fn = fn;
	event_data = data;
}

void engine_set_config_cb(engine_config_fn fn, void *data)
{
	config_fn = fn;
	config_data = data;
}

static struct timespec now_ts(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

static bool ts_before(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static struct container *container_new(const char *name, struct config *cfg)
{
	struct container *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	snprintf(c->name, sizeof(c->name), "%s", name);
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->op_lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->cfg = *cfg;		/* takes ownership */
	c->state = ST_STOPPED;
	c->exit_status = -1;
	c->sup_pidfd = -1;
	c->refs = 1;		/* the registry's */
	c->state_time = c->error_time = c->ctime = now_ts();
	for (int k = 0; k < K_COUNT; k++)
		c->mtime.key[k] = c->ctime;
	if (asprintf(&c->run_dir, "%s/%s", eng.run_dir, name) < 0) {
		pthread_mutex_destroy(&c->lock);
		pthread_mutex_destroy(&c->op_lock);
		pthread_cond_destroy(&c->cond);
		free(c);
		return NULL;
	}
	return c;
}

/* A change and its event go out together, so events arrive in the order of the
 * changes (a verb's STOPPING never lands after the monitor's STOPPED). Taken before
 * c->lock; event_fn may take the FUSE layer's locks, which never take this one. */
static pthread_mutex_t emit_lock = PTHREAD_MUTEX_INITIALIZER;

bool container_set_state_from(struct container *c, unsigned from_mask, enum cfs_state st)
{
	bool ok;

	pthread_mutex_lock(&emit_lock);
	pthread_mutex_lock(&c->lock);
	ok = (from_mask >> c->state) & 1u;
	if (ok && c->state != st)
		c->state_time = now_ts();
	if (ok)
		c->state = st;
	pthread_mutex_unlock(&c->lock);
	if (ok && event_fn)
		event_fn(c->name, st, event_data);
	pthread_mutex_unlock(&emit_lock);
	return ok;
}

void container_set_state(struct container *c, enum cfs_state st)
{
	bool changed;

	pthread_mutex_lock(&emit_lock);
	pthread_mutex_lock(&c->lock);
	changed = c->state != st;
	if (changed)
		c->state_time = now_ts();
	c->state = st;
	pthread_mutex_unlock(&c->lock);
	if (changed && event_fn)
		event_fn(c->name, st, event_data);
	pthread_mutex_unlock(&emit_lock);
}

void container_set_error(struct container *c, const char *msg)
{
	if (!msg)	/* a caller that asked for no sentence */
		return;
	pthread_mutex_lock(&c->lock);
	if (strcmp(c->last_error, msg))
		c->error_time = now_ts();
	snprintf(c->last_error, sizeof(c->last_error), "%s", msg);
	pthread_mutex_unlock(&c->lock);
}

/* ---- init ---- */

/* A container whose configuration cannot be loaded is kept: shown, its processes
 * adopted, its file on disk untouched until a whole new `config` is written. */
static int load_one(const char *name, struct config *cfg, const char *why)
{
	struct container *c = container_new(name, cfg);

	if (!c)
		return -ENOMEM;
	if (why) {
		c->broken = true;
		snprintf(c->broken_why, sizeof(c->broken_why), "%s", why);
		snprintf(c->last_error, sizeof(c->last_error),
			 "config: the configuration on disk cannot be loaded: %s", why);
	}
	delegate_load(c);
	store_load_times(name, &c->mtime);
	if (registry_add(c) < 0) {
		config_free(&c->cfg);
		free(c->run_dir);
		free(c);
		return 0;
	}
	monitor_adopt(c);
	return 0;
}

static void find_supervisor(const char *libexec)
{
	char self[PATH_MAX];
	ssize_t n;

	if (libexec) {
		snprintf(eng.supervisor_path, sizeof(eng.supervisor_path),
			 "%s/containerfs-supervisor", libexec);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');

		*slash = '\0';
		snprintf(eng.supervisor_path, sizeof(eng.supervisor_path),
			 "%s/containerfs-supervisor", self);
		if (access(eng.supervisor_path, X_OK) == 0)
			return;
		snprintf(eng.supervisor_path, sizeof(eng.supervisor_path),
			 "%s/../libexec/containerfs/containerfs-supervisor", self);
	}
}

/* One daemon per state dir and run dir: an exclusive flock on each, held for the
 * daemon's life (the open file description survives its fork into the background,
 * O_CLOEXEC keeps it from the supervisors). */
static int lock_dir(const char *dir, const char *what, struct cfs_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return cfs_err_set(err, errno, "cannot open the %s %s: %m", what, dir);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		close(fd);
		if (e == EWOULDBLOCK)
			return cfs_err_set(err, EBUSY,
					   "the %s %s is in use by another containerfs "
					   "daemon; one daemon per state and run dir",
					   what, dir);
		return cfs_err_set(err, e, "cannot lock the %s %s: %s", what, dir, strerror(e));
	}
	return 0;	/* fd stays open: the lock lasts as long as the daemon */
}

int engine_init(const struct engine_opts *o, struct cfs_err *err)
{
	int r;

	eng.debug = o->debug;
	if (!realpath(o->state_dir, eng.state_dir)) {
		r = fileio_mkdir_p(o->state_dir, 0700);
		if (r < 0 || !realpath(o->state_dir, eng.state_dir))
			return cfs_err_set(err, r < 0 ? -r : errno,
					   "cannot use the state dir %s: %s", o->state_dir,
					   strerror(r < 0 ? -r : errno));
	}
	r = fileio_mkdir_p(o->run_dir, 0700);
	if (r < 0 || !realpath(o->run_dir, eng.run_dir))
		return cfs_err_set(err, r < 0 ? -r : errno, "cannot use the run dir %s: %s",
				   o->run_dir, strerror(r < 0 ? -r : errno));
	r = lock_dir(eng.state_dir, "state dir", err);
	if (r == 0 && strcmp(eng.state_dir, eng.run_dir))
		r = lock_dir(eng.run_dir, "run dir", err);
	if (r < 0)
		return r;
	spawn_raise_nofile();
	find_supervisor(o->libexec_dir);
	(void)idmount_checkconfig();	/* probed once, at start */
	snprintf(eng.cgroup_parent, sizeof(eng.cgroup_parent), "%s", o->cgroup_parent);
	snprintf(eng.tree_fstype, sizeof(eng.tree_fstype), "%s", o->tree_fstype ? o->tree_fstype : "");
	r = lifecycle_init(err);
	if (r < 0)
		return r;
	cgroup_scan_begin();
	r = store_load_all(load_one, err);
	cgroup_scan_end();
	return r;
}

static atomic_bool autostart_stop;

void engine_stop_autostart(void)
{
	autostart_stop = true;
}

static void autostart_one(struct container *c, void *data)
{
	struct cfs_err e = { 0 };
	bool want;

	if (autostart_stop)
		return;
	pthread_mutex_lock(&c->lock);
	want = config_bool(&c->cfg, K_AUTOSTART) && c->state == ST_STOPPED;
	pthread_mutex_unlock(&c->lock);
	if (want && lifecycle_autostart(c, &e) < 0)
		log_err("autostart of %s failed: %s", c->name, e.msg);
}

void engine_start(void)
{
	lifecycle_start_threads();
}

void engine_autostart(void)
{
	container_foreach(autostart_one, NULL);
}

void engine_fini(void)
{
	lifecycle_fini();
}

/* ---- registry API ---- */

int engine_create(const char *name, struct cfs_err *err)
{
	struct config cfg;
	struct container *c;
	int r;

	r = parse_container_name(name, err);
	if (r < 0) {
		cfs_err_prefix(err, "mkdir");
		return r;
	}
	if (store_has_config(name))
		return cfs_err_set(err, EEXIST,
				   "mkdir %s: a configuration of %s is in the state dir but not loaded",
				   name, name);
	if (config_init(&cfg, name) < 0)
		return cfs_err_set(err, ENOMEM, "out of memory");
	c = container_new(name, &cfg);
	if (!c) {
		config_free(&cfg);
		return cfs_err_set(err, ENOMEM, "out of memory");
	}
	r = registry_add(c);
	if (r < 0) {
		container_put(c);
		return cfs_err_set(err, -r, "mkdir %s: %s", name, strerror(-r));
	}
	pthread_mutex_lock(&c->op_lock);
	r = store_save(name, &c->cfg, err);
	if (r == 0) {
		struct timespec m;

		/* No times file yet: a configuration without one loads with every
		 * setting at the file's mtime, which the new container takes now, so a
		 * restart shows the same times. The first change writes them (two fewer
		 * fsyncs for each mkdir). */
		if (store_config_mtime(name, &m) == 0) {
			pthread_mutex_lock(&c->lock);
			for (int k = 0; k < K_COUNT; k++)
				c->mtime.key[k] = m;
			pthread_mutex_unlock(&c->lock);
		}
	}
	pthread_mutex_unlock(&c->op_lock);
	if (r < 0)
		registry_remove(c);
	return r;
}

int engine_destroy(const char *name, struct cfs_err *err)
{
	struct container *c = container_get(name);
	int r;

	if (!c)
		return cfs_err_set(err, ENOENT, "rmdir %s: no such container", name);
	pthread_mutex_lock(&c->op_lock);
	pthread_mutex_lock(&c->lock);
	enum cfs_state st = c->state;

	pthread_mutex_unlock(&c->lock);
	if (st != ST_STOPPED) {
		pthread_mutex_unlock(&c->op_lock);
		r = cfs_err_set(err, EBUSY, "rmdir %s: the container is %s; stop it first", name,
				cfs_state_name(st));
		container_set_error(c, err ? err->msg : NULL);
		container_put(c);
		return r;
	}
	r = store_remove(name, err);
	if (r == 0) {
		lifecycle_destroy(c);
		registry_remove(c);
	} else {
		container_set_error(c, err ? err->msg : NULL);	/* it stays, whole */
	}
	pthread_mutex_unlock(&c->op_lock);
	container_put(c);
	return r;
}

/* ---- settings ---- */

/* EIO while c's configuration on disk could not be loaded: its settings are unknown,
 * so they can be neither read nor changed one by one (only a whole `config` replaces
 * them). */
static int refuse_broken(struct container *c, struct cfs_err *err)
{
	int r = 0;

	pthread_mutex_lock(&c->lock);
	if (c->broken && err)
		r = cfs_err_set(err, EIO,
				"the configuration on disk cannot be loaded (%s); write "
				"a whole config to replace it",
				c->broken_why);
	else if (c->broken)
		r = -EIO;
	pthread_mutex_unlock(&c->lock);
	return r;
}

static char *with_newline(const char *s)
{
	size_t l = strlen(s);
	char *out = malloc(l + 2);

	if (!out)
		return NULL;
	memcpy(out, s, l);
	if (l)
		out[l++] = '\n';
	else
		out[l++] = '\n';	/* an empty value still reads as one empty line */
	out[l] = '\0';
	return out;
}

int engine_setting_read(const char *name, enum key_id k, char **out, struct cfs_err *err)
{
	struct container *c = container_get(name);

	if (!c)
		return cfs_err_set(err, ENOENT, "no such container %s", name);
	int r = refuse_broken(c, err);

	if (r < 0) {
		container_put(c);
		return r;
	}
	pthread_mutex_lock(&c->lock);
	_cleanup_free_ char *v = config_get(&c->cfg, k);
	pthread_mutex_unlock(&c->lock);
	container_put(c);
	if (!v || !(*out = with_newline(v)))
		return cfs_err_set(err, ENOMEM, "out of memory");
	return 0;
}

int engine_setting_check_lines(enum key_id k, const char *buf, size_t len, struct cfs_err *err)
{
	const char *last = len ? memrchr(buf, '\n', len) : NULL;
	char *norm = NULL;
	int r;

	if (!(key_table[k].flags & KF_LIST) || !last)
		return 0;
	r = key_normalise(k, buf, last - buf + 1, &norm, err);
	free(norm);
	return r;
}

/* New times of c's configuration: kept in memory and in the state dir. The
 * configuration is saved already, so a failure to save its times is only logged:
 * they go back to the configuration file's time at the next start. */
static void store_times(struct container *c, const struct cfg_times *t, struct timespec now)
{
	struct cfs_err e = { 0 };

	pthread_mutex_lock(&c->lock);
	c->mtime = *t;
	c->ctime = now;
	pthread_mutex_unlock(&c->lock);
	if (store_save_times(c->name, t, &e) < 0)
		log_err("%s: %s", c->name, e.msg);
}

/* Apply a new configuration to c: persist first, then (while running) apply the
 * live keys that changed. Called with op_lock held. */
static int commit_config(struct container *c, struct config *newcfg, struct cfs_err *err)
{
	enum cfs_state st;
	int r;

	r = store_check(newcfg, err);
	if (r < 0)
		return r;
	r = delegate_check(c, newcfg, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&c->lock);
	st = c->state;
	pthread_mutex_unlock(&c->lock);
	for (int k = 0; k < K_COUNT; k++) {
		bool same = !newcfg->val[k] == !c->cfg.val[k] &&
			    (!newcfg->val[k] || !strcmp(newcfg->val[k], c->cfg.val[k]));

		if (same)
			continue;
		if (st != ST_STOPPED && !(key_table[k].flags & KF_LIVE)) {
			char path[64];

			return cfs_err_set(err, EBUSY,
					   "%s cannot change while the container is %s",
					   key_path(k, path, sizeof(path)), cfs_state_name(st));
		}
		r = lifecycle_check_key(newcfg, k, err);
		if (r < 0)
			return r;
	}
	bool applied[K_COUNT] = { false };

	for (int k = 0; st != ST_STOPPED && k < K_COUNT; k++) {
		if (!newcfg->val[k] || (c->cfg.val[k] && !strcmp(newcfg->val[k], c->cfg.val[k])))
			continue;
		r = lifecycle_apply_live(c, newcfg, k, err);
		if (r < 0)
			goto undo;
		applied[k] = true;
	}
	r = store_save(c->name, newcfg, err);
	if (r < 0)
		goto undo;
	struct cfg_times t;
	struct timespec now = now_ts();

	pthread_mutex_lock(&c->lock);
	t = c->mtime;
	pthread_mutex_unlock(&c->lock);
	for (int k = 0; k < K_COUNT; k++) {
		bool same = !newcfg->val[k] == !c->cfg.val[k] &&
			    (!newcfg->val[k] || !strcmp(newcfg->val[k], c->cfg.val[k]));

		if (!same)	/* an alias's change is its setting's */
			t.key[key_canonical(k)] = now;
	}
	store_times(c, &t, now);
	pthread_mutex_lock(&c->lock);
	config_free(&c->cfg);
	c->cfg = *newcfg;
	c->broken = false;	/* a whole new configuration replaced the unreadable one */
	pthread_mutex_unlock(&c->lock);
	if (config_fn)
		config_fn(c->name, config_data);
	return 0;
undo:
	/* a rejected change changes nothing: the kernel gets the old values back */
	for (int k = 0; k < K_COUNT; k++) {
		struct cfs_err ignored = { 0 };

		if (applied[k] && lifecycle_apply_live(c, &c->cfg, k, &ignored) < 0)
			log_err("%s: cannot restore %s: %s", c->name, key_table[k].name, ignored.msg);
	}
	return r;
}

/* The container this thread's requests are pinned to (0: whichever has the name). */
static __thread uint64_t pinned_id;

void engine_pin(uint64_t id)
{
	pinned_id = id;
}

static int with_container(const char *name, struct container **cp, struct cfs_err *err)
{
	*cp = container_get(name);
	if (!*cp)
		return cfs_err_set(err, ENOENT, "no such container %s", name);
	if (pinned_id && (*cp)->id != pinned_id) {
		/* another container of the same name: nothing of it is touched */
		container_put(*cp);
		*cp = NULL;
		return cfs_err_set(err, ENOENT, "%s: the container was removed", name);
	}
	pthread_mutex_lock(&(*cp)->op_lock);
	return 0;
}

static int done(struct container *c, int r, struct cfs_err *err)
{
	if (r < 0 && err && err->msg[0])
		container_set_error(c, err ? err->msg : NULL);
	pthread_mutex_unlock(&c->op_lock);
	container_put(c);
	return r;
}

int engine_setting_write(const char *name, enum key_id k, const char *buf, size_t len,
			 struct cfs_err *err)
{
	struct container *c;
	struct config newcfg;
	int r = with_container(name, &c, err);

	if (r < 0)
		return r;
	r = refuse_broken(c, err);
	if (r < 0)
		return done(c, r, err);
	pthread_mutex_lock(&c->lock);
	r = config_copy(&newcfg, &c->cfg);
	pthread_mutex_unlock(&c->lock);
	if (r < 0)
		return done(c, cfs_err_set(err, ENOMEM, "out of memory"), err);
	r = config_set(&newcfg, k, buf, len, err);
	if (r == 0 && config_equal(&newcfg, &c->cfg)) {
		config_free(&newcfg);
		return done(c, 0, err);
	}
	if (r == 0)
		r = commit_config(c, &newcfg, err);
	if (r < 0)
		config_free(&newcfg);
	return done(c, r, err);
}

int engine_config_read(const char *name, char **out, struct cfs_err *err)
{
	struct container *c = container_get(name);

	if (!c)
		return cfs_err_set(err, ENOENT, "no such container %s", name);
	int r = refuse_broken(c, err);

	if (r < 0) {
		container_put(c);
		return r;
	}
	pthread_mutex_lock(&c->lock);
	*out = config_to_ini(&c->cfg);
	pthread_mutex_unlock(&c->lock);
	container_put(c);
	return *out ? 0 : cfs_err_set(err, ENOMEM, "out of memory");
}

/* A copy of another container's configuration (cp web/config web2/config) names the
 * copy after itself: a hostname that is the name of another container whose hostname
 * is its own name (the default) becomes this container's name. */
static void hostname_follows_name(const struct container *c, struct config *cfg)
{
	const char *h = config_val(cfg, K_HOSTNAME);
	struct container *o;
	struct cfs_err e = { 0 };
	bool dflt;

	if (!*h || !strcmp(h, c->name) || !(o = container_get(h)))
		return;
	pthread_mutex_lock(&o->lock);
	dflt = !strcmp(config_val(&o->cfg, K_HOSTNAME), o->name);
	pthread_mutex_unlock(&o->lock);
	container_put(o);
	if (dflt)
		config_set(cfg, K_HOSTNAME, c->name, strlen(c->name), &e);
}

int engine_config_write(const char *name, const char *buf, size_t len, struct cfs_err *err)
{
	struct container *c;
	struct config newcfg;
	int r = with_container(name, &c, err);

	if (r < 0)
		return r;
	r = config_parse(&newcfg, name, buf, len, err);
	if (r < 0) {
		config_free(&newcfg);
		cfs_err_context(err, "config");
		return done(c, r, err);
	}
	hostname_follows_name(c, &newcfg);
	if (config_equal(&newcfg, &c->cfg) && !c->broken) {
		config_free(&newcfg);
		return done(c, 0, err);
	}
	r = commit_config(c, &newcfg, err);
	if (r < 0)
		config_free(&newcfg);
	return done(c, r, err);
}

int engine_config_check_lines(const char *buf, size_t len, struct cfs_err *err)
{
	int r = config_check_lines(buf, len, err);

	if (r < 0)
		cfs_err_context(err, "config");
	return r;
}

/* ---- runtime, through lifecycle.c ---- */

int engine_runtime_read(const char *name, enum rt_file f, char **out, size_t *len,
			struct cfs_err *err)
{
	struct container *c = container_get(name);
	int r;

	if (!c)
		return cfs_err_set(err, ENOENT, "no such container %s", name);
	r = runtime_read(c, f, out, len);
	container_put(c);
	return r < 0 ? cfs_err_set(err, -r, "%s", strerror(-r)) : 0;
}

int engine_log_view(const char *name, struct cfs_log_view *v)
{
	struct container *c = container_get(name);
	int r;

	if (!c)
		return -ENOENT;
	r = runtime_log_view(c, v);
	container_put(c);
	return r;
}

ssize_t engine_log_pread(const char *name, const struct cfs_log_view *v, char *buf, size_t size,
			 uint64_t off)
{
	struct container *c = container_get(name);
	ssize_t r;

	if (!c)
		return -ENOENT;
	r = runtime_log_pread(c, v, buf, size, off);
	container_put(c);
	return r;
}

int engine_runtime_size(const char *name, enum rt_file f, size_t *size)
{
	struct container *c = container_get(name);
	int r;

	if (!c)
		return -ENOENT;
	r = runtime_size(c, f, size);
	container_put(c);
	return r;
}

int engine_state_write(const char *name, const char *buf, size_t len, struct cfs_err *err)
{
	struct container *c;
	char verb[32];
	int r;

	if (len && buf[len - 1] == '\n')
		len--;
	if (len == 0 || len >= sizeof(verb) || memchr(buf, '\n', len) || memchr(buf, '\0', len)) {
		c = container_get(name);
		r = lifecycle_bad_verb(buf, len, err);
		if (c && (!pinned_id || c->id == pinned_id)) {
			container_set_error(c, err ? err->msg : NULL);
		}
		if (c)
			container_put(c);
		return r;
	}
	memcpy(verb, buf, len);
	verb[len] = '\0';
	r = with_container(name, &c, err);
	if (r < 0)
		return r;
	/* a container whose configuration is unknown is not started; its adopted
	 * processes can still be stopped, killed, frozen and thawed */
	if (!strcmp(verb, "restart") ||
	    ((!strcmp(verb, "start") || !strcmp(verb, "RUNNING")) &&
	     engine_state(name) == ST_STOPPED)) {
		r = refuse_broken(c, err);
		if (r < 0) {
			cfs_err_prefix(err, "%s", verb);
			return done(c, r, err);
		}
		/* mounts are made inside a system container's root; an application
		 * container has none, and ignoring them silently would mislead */
		pthread_mutex_lock(&c->lock);
		bool app_mounts = !*config_val(&c->cfg, K_ROOTFS) && *config_val(&c->cfg, K_MOUNTS);
		pthread_mutex_unlock(&c->lock);
		if (app_mounts) {
			r = cfs_err_set(err, EINVAL,
					"%s: mounts apply to system containers only "
					"(rootfs is empty); clear mounts or set rootfs",
					verb);
			return done(c, r, err);
		}
	}
	r = lifecycle_state_write(c, verb, err);
	return done(c, r, err);
}

void engine_state_opened(const char *name)
{
	struct container *c = container_get(name);

	if (c) {
		lifecycle_state_opened(c);
		container_put(c);
	}
}

int engine_tasks_write(const char *name, const char *buf, size_t len, struct cfs_err *err)
{
	struct container *c;
	int r = with_container(name, &c, err);

	if (r < 0)
		return r;
	if (delegate_caller() != 0)	/* an owner's pids are its own business outside */
		r = cfs_err_set_in(err, "tasks", EPERM, "only root moves processes into a container");
	else if (engine_state(name) == ST_STOPPING)	/* not while a stop empties the cgroup */
		r = cfs_err_set_in(err, "tasks", EBUSY, "the container is stopping");
	else
		r = runtime_tasks_write(c, buf, len, err);
	return done(c, r, err);
}

int engine_stat_read(const char *name, enum stat_id s, char **out, struct cfs_err *err)
{
	struct container *c = container_get(name);
	int r;

	if (!c)
		return cfs_err_set(err, ENOENT, "no such container %s", name);
	r = runtime_stat_read(c, s, out);
	container_put(c);
	return r < 0 ? cfs_err_set(err, -r, "%s", strerror(-r)) : 0;
}

enum cfs_state engine_state(const char *name)
{
	struct container *c = container_get(name);
	enum cfs_state st = ST_STOPPED;

	if (c) {
		pthread_mutex_lock(&c->lock);
		st = c->state;
		pthread_mutex_unlock(&c->lock);
		container_put(c);
	}
	return st;
}

const char *const engine_ns_names[NS_COUNT] = { "mnt", "pid", "uts", "ipc",
						"net", "user", "cgroup", "time" };

int engine_ns_link(const char *name, int ns, char *target, size_t n)
{
	struct container *c = container_get(name);
	int r;

	if (!c)
		return -ENOENT;
	r = runtime_ns_link(c, ns, target, n);
	container_put(c);
	return r;
}

void engine_set_last_error(const char *name, const char *msg)
{
	struct container *c = container_get(name);

	if (c && (!pinned_id || c->id == pinned_id))	/* pinned: only to that one */
		container_set_error(c, msg);
	if (c)
		container_put(c);
}

char *engine_checkconfig(void)
{
	return runtime_checkconfig();
}

/* ---- times ---- */

int engine_setting_times(const char *name, enum key_id k, struct timespec *mtime,
			 struct timespec *ctime)
{
	struct container *c = container_get(name);

	if (!c)
		return -ENOENT;
	if (key_table[k].flags & KF_ALIAS)
		k = key_table[k].alias_of;
	pthread_mutex_lock(&c->lock);
	*mtime = c->mtime.key[k];
	*ctime = c->ctime;
	pthread_mutex_unlock(&c->lock);
	container_put(c);
	return 0;
}

int engine_config_times(const char *name, int section, struct timespec *mtime,
			struct timespec *ctime)
{
	struct container *c = container_get(name);
	struct timespec m = { 0 };

	if (!c)
		return -ENOENT;
	pthread_mutex_lock(&c->lock);
	for (int k = 0; k < K_COUNT; k++)
		if (!(key_table[k].flags & KF_ALIAS) &&
		    (section < 0 || (int)key_table[k].section == section) &&
		    ts_before(m, c->mtime.key[k]))
			m = c->mtime.key[k];
	*mtime = m;
	*ctime = c->ctime;
	pthread_mutex_unlock(&c->lock);
	container_put(c);
	return 0;
}

int engine_set_mtime(const char *name, int k, const struct timespec *mtime, struct cfs_err *err)
{
	struct container *c;
	struct cfg_times t;
	bool same = true;
	int r = with_container(name, &c, err);

	if (r < 0)
		return r;
	if (k < K_COUNT && (key_table[k].flags & KF_ALIAS))
		k = key_table[k].alias_of;
	pthread_mutex_lock(&c->lock);
	t = c->mtime;
	pthread_mutex_unlock(&c->lock);
	for (int i = 0; i < K_COUNT; i++) {
		if ((k < K_COUNT && i != k) || (key_table[i].flags & KF_ALIAS))
			continue;
		same = same && t.key[i].tv_sec == mtime->tv_sec && t.key[i].tv_nsec == mtime->tv_nsec;
		t.key[i] = *mtime;
	}
	if (!same) {
		store_times(c, &t, now_ts());
		if (config_fn)
			config_fn(c->name, config_data);
	}
	return done(c, 0, err);
}

int engine_runtime_mtime(const char *name, enum rt_file f, struct timespec *mtime)
{
	struct container *c = container_get(name);
	int r = 0;

	if (!c)
		return -ENOENT;
	pthread_mutex_lock(&c->lock);
	if (f == RT_STATE || f == RT_PID || f == RT_EXIT_STATUS)
		*mtime = c->state_time;
	else if (f == RT_LAST_ERROR)
		*mtime = c->error_time;
	else if (f != RT_LOG)
		r = -ENOENT;
	pthread_mutex_unlock(&c->lock);
	if (f == RT_LOG && runrec_log_mtime(c->run_dir, mtime) < 0)
		r = -ENOENT;
	container_put(c);
	return r;
}
