/* Disk usage on DATA (see df.h). */
#include "daemon/df.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/bundle.h"
#include "daemon/ctr.h"
#include "daemon/ctrtab.h"
#include "daemon/images.h"
#include "lib/arena.h"
#include "lib/cleanup.h"
#include "lib/strmap.h"

#define DF_FDS 32

/* nftw has no context argument: one walk at a time (a child's). */
static long long walk_bytes;
static struct strmap walk_inodes;
static struct arena walk_arena;

static int count_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path;
	(void)type;
	(void)ftw;
	if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) {
		char key[64];
		snprintf(key, sizeof(key), "%llx:%llx", (unsigned long long)st->st_dev, (unsigned long long)st->st_ino);
		if (strmap_get(&walk_inodes, key, strlen(key)) != NULL) {
			return 0;
		}
		const char *kept = arena_strdup(&walk_arena, key);
		if (kept != NULL) {
			strmap_add(&walk_inodes, kept, strlen(kept), (void *)1, NULL);
		}
	}
	walk_bytes += (long long)st->st_blocks * 512;
	return 0;
}

long long df_tree_bytes(const char *path)
{
	walk_bytes = 0;
	memset(&walk_arena, 0, sizeof(walk_arena));
	strmap_init(&walk_inodes, &walk_arena);
	nftw(path, count_entry, DF_FDS, FTW_PHYS | FTW_MOUNT);
	strmap_free(&walk_inodes);
	arena_free(&walk_arena);
	return walk_bytes;
}

static json_object *row(long long total, long long active, long long size, long long reclaimable)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "total", json_object_new_int64(total));
	json_object_object_add(o, "active", json_object_new_int64(active));
	json_object_object_add(o, "size", json_object_new_int64(size));
	json_object_object_add(o, "reclaimable", json_object_new_int64(reclaimable));
	return o;
}

static int image_used(const char *id)
{
	ctr_foreach(c) {
		if (c->has_def && c->def.image_id != NULL && strcmp(c->def.image_id, id) == 0) {
			return 1;
		}
	}
	return 0;
}

static int volume_used(const char *name)
{
	ctr_foreach(c) {
		for (size_t i = 0; c->has_def && i < c->def.nvolumes; i++) {
			if (strcmp(c->def.volumes[i], name) == 0) {
				return 1;
			}
		}
	}
	return 0;
}

static json_object *images_row(struct berr *err)
{
	json_object *list = json_object_new_array();
	if (images_list(list, err) < 0) {
		json_object_put(list);
		return NULL;
	}
	long long total = 0;
	long long active = 0;
	long long size = 0;
	long long free_ = 0;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *img = json_object_array_get_idx(list, i);
		json_object *v = NULL;
		long long bytes = json_object_object_get_ex(img, "size", &v) ? json_object_get_int64(v) : 0;
		const char *id = json_object_object_get_ex(img, "id", &v) ? json_object_get_string(v) : "";
		total++;
		size += bytes;
		if (image_used(id)) {
			active++;
		} else {
			free_ += bytes;
		}
	}
	json_object_put(list);
	return row(total, active, size, free_);
}

static json_object *containers_row(void)
{
	long long total = 0;
	long long active = 0;
	long long size = 0;
	long long free_ = 0;
	ctr_foreach(c) {
		char dir[PATH_MAX];
		ctr_dir(c->def.name, dir, sizeof(dir));
		long long bytes = df_tree_bytes(dir);
		int up = c->state == CS_RUNNING || c->state == CS_STARTING || c->state == CS_RESTARTING;
		total++;
		size += bytes;
		active += up;
		free_ += up ? 0 : bytes;
	}
	return row(total, active, size, free_);
}

static json_object *volumes_row(json_object *sizes)
{
	long long total = 0;
	long long active = 0;
	long long size = 0;
	long long free_ = 0;
	auto_closedir DIR *d = opendir(VOLUMES_DIR);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.') {
			continue;
		}
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", VOLUMES_DIR, e->d_name);
		long long bytes = df_tree_bytes(path);
		int used = volume_used(e->d_name);
		json_object_object_add(sizes, e->d_name, json_object_new_int64(bytes));
		total++;
		size += bytes;
		active += used;
		free_ += used ? 0 : bytes;
	}
	return row(total, active, size, free_);
}

json_object *df_report(struct berr *err)
{
	json_object *images = images_row(err);
	if (images == NULL) {
		return NULL;
	}
	json_object *o = json_object_new_object();
	json_object *sizes = json_object_new_object();
	json_object_object_add(o, "images", images);
	json_object_object_add(o, "containers", containers_row());
	json_object_object_add(o, "volumes", volumes_row(sizes));
	json_object_object_add(o, "volume_sizes", sizes);
	return o;
}
