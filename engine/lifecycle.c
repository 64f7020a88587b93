/* lifecycle.c - the runtime half of a container (placeholder until the lifecycle
 * engine lands): everything reads as STOPPED and verbs that would start are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"

int lifecycle_init(struct cfs_err *err)
{
	return 0;
}

void lifecycle_start_threads(void)
{
}

void lifecycle_fini(void)
{
}

void lifecycle_adopt(struct container *c)
{
}

int lifecycle_state_write(struct container *c, const char *verb, struct cfs_err *err)
{
	if (!strcmp(verb, "stop") || !strcmp(verb, "kill") || !strcmp(verb, "STOPPED"))
		return 0;
	if (!strcmp(verb, "start") || !strcmp(verb, "restart") || !strcmp(verb, "RUNNING") ||
	    !strcmp(verb, "freeze") || !strcmp(verb, "thaw") || !strcmp(verb, "FROZEN"))
		return cfs_err_set(err, EOPNOTSUPP, "state: %s is not supported yet", verb);
	return cfs_err_set(err, EINVAL, "state: '%s' is not a verb (start, stop, kill, freeze, "
			   "thaw, restart) or a state (RUNNING, STOPPED, FROZEN)", verb);
}

int lifecycle_autostart(struct container *c, struct cfs_err *err)
{
	return cfs_err_set(err, EOPNOTSUPP, "starting is not supported yet");
}

int lifecycle_runtime_read(struct container *c, enum rt_file f, char **out, size_t *len)
{
	char buf[300] = "";

	pthread_mutex_lock(&c->lock);
	switch (f) {
	case RT_STATE:
		snprintf(buf, sizeof(buf), "%s\n", cfs_state_name(c->state));
		break;
	case RT_LAST_ERROR:
		if (c->last_error[0])
			snprintf(buf, sizeof(buf), "%s\n", c->last_error);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&c->lock);
	*out = strdup(buf);
	*len = strlen(buf);
	return *out ? 0 : -ENOMEM;
}

int lifecycle_tasks_write(struct container *c, const char *buf, size_t len, struct cfs_err *err)
{
	return cfs_err_set(err, EBUSY, "tasks: the container is not running");
}

int lifecycle_stat_read(struct container *c, enum stat_id s, char **out)
{
	*out = strdup("");
	return *out ? 0 : -ENOMEM;
}

int lifecycle_ns_link(struct container *c, int ns, char *target, size_t n)
{
	return -ENOENT;
}

int lifecycle_apply_live(struct container *c, const struct config *newcfg, enum key_id k,
			 struct cfs_err *err)
{
	return 0;
}

int lifecycle_check_key(const struct config *cfg, enum key_id k, struct cfs_err *err)
{
	return 0;
}

void lifecycle_destroy(struct container *c)
{
}

char *lifecycle_checkconfig(void)
{
	return strdup("cgroup layout: unknown\n");
}
