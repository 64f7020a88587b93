/* tmpfile.c - files that clients create in a container's directories: sed's
 * sedXXXXXX, Ansible's .ansible_tmp*, vim's 4913. They live in memory only, take
 * chmod/chown/utime, and become a setting when renamed over one (fs.c). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlist.h"
#include "engine.h"
#include "nodes.h"
#include "sizes.h"
#include "tmpfile.h"

struct tmpfile {
	struct tmpfile *next, *prev;
	fuse_ino_t ino, dir;
	char name[256];
	char *data;
	size_t len, cap;
	struct stat st;
	bool unlinked;
	bool too_big;		/* a write went beyond TMP_MAX_SIZE: it may not become a setting */
	uint64_t lookups;	/* the kernel's: entries answered (create, lookup) less FORGETs */
};

#define TMP_MAX_SIZE CFS_MAX_CONFIG	/* the largest thing it may become */

static pthread_mutex_t tmp_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tmpfile *tmp_head;
static uint64_t tmp_next = 1;
static size_t tmp_held;		/* files in the list, unlinked ones the kernel still knows too */

static struct tmpfile *find_ino(fuse_ino_t ino)
{
	for (struct tmpfile *t = tmp_head; t; t = t->next)
		if (t->ino == ino)
			return t;
	return NULL;
}

static struct tmpfile *find_name(fuse_ino_t dir, const char *name)
{
	for (struct tmpfile *t = tmp_head; t; t = t->next)
		if (!t->unlinked && t->dir == dir && !strcmp(t->name, name))
			return t;
	return NULL;
}

/* Take t out of the list and free it. */
static void free_locked(struct tmpfile *t)
{
	DLIST_UNLINK(tmp_head, t);
	free(t->data);
	free(t);
	tmp_held--;
}

int tmp_create(const struct node *dir, const char *name, mode_t mode, fuse_ino_t *ino)
{
	struct tmpfile *t;

	if (strlen(name) >= sizeof(t->name))
		return -ENAMETOOLONG;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	pthread_mutex_lock(&tmp_lock);
	char cname[65];

	/* not in a container an rmdir is removing: its temp files were dropped already */
	if (engine_name_of(dir->cid, cname, sizeof(cname)) < 0) {
		pthread_mutex_unlock(&tmp_lock);
		free(t);
		return -ENOENT;
	}
	if (find_name(dir->ino, name)) {
		pthread_mutex_unlock(&tmp_lock);
		free(t);
		return -EEXIST;
	}
	t->ino = INO_TMP_BIT | tmp_next++;
	t->dir = dir->ino;
	strcpy(t->name, name);
	t->st.st_ino = t->ino;
	t->st.st_mode = S_IFREG | (mode & 07777);
	t->st.st_nlink = 1;
	t->st.st_blksize = 4096;
	t->st.st_atime = t->st.st_mtime = t->st.st_ctime = time(NULL);
	t->lookups = 1;
	DLIST_PUSH(tmp_head, t);
	tmp_held++;
	*ino = t->ino;
	pthread_mutex_unlock(&tmp_lock);
	return 0;
}

int tmp_lookup(fuse_ino_t dir, const char *name, fuse_ino_t *ino)
{
	int r = -ENOENT;

	pthread_mutex_lock(&tmp_lock);
	struct tmpfile *t = find_name(dir, name);

	if (t) {
		*ino = t->ino;
		r = 0;
	}
	pthread_mutex_unlock(&tmp_lock);
	return r;
}

int tmp_ref(fuse_ino_t ino)
{
	int r = -ENOENT;

	pthread_mutex_lock(&tmp_lock);
	struct tmpfile *t = find_ino(ino);

	if (t) {
		t->lookups++;
		r = 0;
	}
	pthread_mutex_unlock(&tmp_lock);
	return r;
}

size_t tmp_count(void)
{
	size_t n;

	pthread_mutex_lock(&tmp_lock);
	n = tmp_held;
	pthread_mutex_unlock(&tmp_lock);
	return n;
}

fuse_ino_t tmp_parent(fuse_ino_t ino)
{
	fuse_ino_t dir = 0;

	pthread_mutex_lock(&tmp_lock);
	struct tmpfile *t = find_ino(ino);

	if (t)
		dir = t->dir;
	pthread_mutex_unlock(&tmp_lock);
	return dir;
}

int tmp_stat(fuse_ino_t ino, struct stat *st)
{
	int r = -ENOENT;

	pthread_mutex_lock(&tmp_lock);
	struct tmpfile *t = find_ino(ino);

	if (t) {
		*st = t->st;
		st->st_size = t->len;
		st->st_blocks = (t->len + 511) / 512;
		st->st_nlink = t->unlinked ? 0 : 1;
		r = 0;
	}
	pthread_mutex_unlock(&tmp_lock);
	return r;
}

/* An unlinked temp file stays readable through open handles until the kernel
 * forgets its inode; we keep it simple and free it at once when nobody looked it
 * up, else at forget. */
int tmp_unlink(fuse_ino_t dir, const char *name)
{
	int r = -ENOENT;

	pthread_mutex_lock(&tmp_lock);
	struct tmpfile *t = find_name(dir, name);

	if (t) {
		t->unlinked = true;
		if (!t->lookups)
			free_locked(t);
		r = 0;
	}
	pthread_mutex_unlock(&tmp_lock);
	return r;
}

void tmp_forget(fuse_ino_t ino, uint64_t nlookup)
{
	pthread_mutex_lock(&tmp_lock);
	struct tmpfile *t = find_ino(ino);

	if (t) {
		t->lookups = t->lookups > nlookup ? t->lookups - nlookup : 0;
		if (!t->lookups && t->unlinked)
			free_locked(t);
	}
	pthread_mutex_unlock(&tmp_lock);
}

int tmp_rename(fuse_ino_t dir, const char *name, fuse_ino_t newdir, const char *newname)
{
	int r = 0;

	if (strlen(newname) >= sizeof(((struct tmpfile *)0)->name))
		return -ENAMETOOLONG;
	pthread_mutex_lock(&tmp_lock);
	struct tmpfile *t = find_name(dir, name), *old = find_name(newdir, newname);

	if (!t) {
		r = -ENOENT;
	} else if (old != t) {
		if (old) {
			old->unlinked = true;
			if (!old->lookups)
				free_locked(old);
		}
		t->dir = newdir;
		strcpy(t->name, newname);
	}
	pthread_mutex_unlock(&tmp_lock);
	return r;
}

int tmp_content(fuse_ino_t ino, char **buf, size_t *len)
{
	int r = -ENOENT;

	pthread_mutex_lock(&tmp_lock);
	struct tmpfile *t = find_ino(ino);

	if (t && t->too_big) {
		r = -EFBIG;
	} else if (t) {
		*buf = malloc(t->len + 1);
		if (*buf) {
			memcpy(*buf, t->data ? t->data : "", t->len);
			(*buf)[t->len] = '\0';
			*len = t->len;
			r = 0;
		} else {
			r = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&tmp_lock);
	return r;
}

int tmp_read(fuse_ino_t ino, char *buf, size_t size, off_t off, size_t *got)
{
	int r = -ENOENT;

	pthread_mutex_lock(&tmp_lock);
	struct tmpfile *t = find_ino(ino);

	if (t) {
		size_t n = (size_t)off >= t->len ? 0 : t->len - off;

		if (n > size)
			n = size;
		if (n)
			memcpy(buf, t->data + off, n);
		*got = n;
		r = 0;
	}
	pthread_mutex_unlock(&tmp_lock);
	return r;
}

static int resize(struct tmpfile *t, size_t len)
{
	if (len > TMP_MAX_SIZE)
		return -EFBIG;
	if (len > t->cap) {
		size_t cap = len < 4096 ? 4096 : len * 2;
		char *d = realloc(t->data, cap > TMP_MAX_SIZE ? TMP_MAX_SIZE : cap);

		if (!d)
			return -ENOMEM;
		t->data = d;
		t->cap = cap > TMP_MAX_SIZE ? TMP_MAX_SIZE : cap;
	}
	if (len > t->len)
		memset(t->data + t->len, 0, len - t->len);
	t->len = len;
	return 0;
}

int tmp_write(fuse_ino_t ino, const char *buf, size_t size, off_t off, bool append)
{
	int r = -ENOENT;

	pthread_mutex_lock(&tmp_lock);
	struct tmpfile *t = find_ino(ino);

	if (t) {
		size_t at = append ? t->len : (size_t)off;

		r = at + size > t->len ? resize(t, at + size) : 0;
		if (r == -EFBIG)
			t->too_big = true;
		if (r == 0) {
			memcpy(t->data + at, buf, size);
			t->st.st_mtime = time(NULL);
		}
	}
	pthread_mutex_unlock(&tmp_lock);
	return r;
}

int tmp_setattr(fuse_ino_t ino, const struct stat *attr, int to_set)
{
	int r = -ENOENT;

	pthread_mutex_lock(&tmp_lock);
	struct tmpfile *t = find_ino(ino);

	if (t) {
		r = 0;
		if (to_set & FUSE_SET_ATTR_SIZE) {
			r = resize(t, attr->st_size);
			if (r == 0 && attr->st_size == 0)
				t->too_big = false;	/* a fresh start */
		}
		if (to_set & FUSE_SET_ATTR_MODE)
			t->st.st_mode = S_IFREG | (attr->st_mode & 07777);
		if (to_set & FUSE_SET_ATTR_UID)
			t->st.st_uid = attr->st_uid;
		if (to_set & FUSE_SET_ATTR_GID)
			t->st.st_gid = attr->st_gid;
		if (to_set & FUSE_SET_ATTR_ATIME)
			t->st.st_atim = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_MTIME)
			t->st.st_mtim = attr->st_mtim;
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			clock_gettime(CLOCK_REALTIME, &t->st.st_atim);
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			clock_gettime(CLOCK_REALTIME, &t->st.st_mtim);
	}
	pthread_mutex_unlock(&tmp_lock);
	return r;
}

void tmp_drop_container(uint64_t cid)
{
	pthread_mutex_lock(&tmp_lock);
	for (struct tmpfile *t = tmp_head; t; t = t->next)
		if ((t->dir >> 16) == cid)
			t->unlinked = true;
	for (struct tmpfile *t = tmp_head, *next; t; t = next) {
		next = t->next;
		if (t->unlinked && !t->lookups)
			free_locked(t);
	}
	pthread_mutex_unlock(&tmp_lock);
}

int tmp_list(fuse_ino_t dir, struct dirent_lite **out, size_t *count, size_t *cap)
{
	pthread_mutex_lock(&tmp_lock);
	for (struct tmpfile *t = tmp_head; t; t = t->next) {
		if (t->unlinked || t->dir != dir || t->name[0] == '/')
			continue;	/* '/': a hole's replacement, listed as its setting */
		if (*count == *cap) {
			size_t c = *cap ? *cap * 2 : 64;
			struct dirent_lite *v = realloc(*out, c * sizeof(**out));

			if (!v) {
				pthread_mutex_unlock(&tmp_lock);
				return -ENOMEM;
			}
			*out = v;
			*cap = c;
		}
		snprintf((*out)[*count].name, sizeof((*out)[*count].name), "%s", t->name);
		(*out)[*count].ino = t->ino;
		(*out)[*count].type = S_IFREG;
		(*count)++;
	}
	pthread_mutex_unlock(&tmp_lock);
	return 0;
}
