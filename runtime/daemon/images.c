/* berthd's use of the image store (see images.h). The store is opened
 * per request: it keeps nothing in memory that could go stale, and an
 * import running in a child changes it underneath safely (renames). */
#include "daemon/images.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/ctrtab.h"
#include "image/store.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/sha256.h"

/* Archives of CONFIG/images already imported, by name, size and mtime:
 * the read-only config partition does not change under them, and hashing
 * every archive at every boot would cost seconds for big images. */
#define IMPORTED_DIR BERTH_DATA_DIR "/config-images"

static void store_closep(struct store **s)
{
	if (*s != NULL) {
		store_close(*s);
	}
}
#define auto_store __attribute__((cleanup(store_closep)))

int images_list(json_object *list, struct berr *err)
{
	auto_store struct store *s = NULL;
	if (store_open(&s, STORE_DIR, err) < 0) {
		return -err->code;
	}
	struct arena a = {0};
	struct store_image_info *infos = NULL;
	size_t n = 0;
	int ret = store_list(s, &a, &infos, &n, err);
	for (size_t i = 0; ret == 0 && i < n; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(infos[i].id));
		json_object *tags = json_object_new_array();
		for (size_t k = 0; k < infos[i].nnames; k++) {
			json_object_array_add(tags, json_object_new_string(infos[i].names[k]));
		}
		json_object_object_add(o, "tags", tags);
		json_object_object_add(o, "size", json_object_new_int64((int64_t)infos[i].size));
		json_object_object_add(o, "created", json_object_new_string(infos[i].created));
		json_object_object_add(o, "layers", json_object_new_int((int)infos[i].nlayers));
		json_object *digests = json_object_new_array();
		for (size_t k = 0; k < infos[i].ndigests; k++) {
			json_object_array_add(digests, json_object_new_string(infos[i].digests[k]));
		}
		json_object_object_add(o, "digests", digests);
		json_object_array_add(list, o);
	}
	arena_free(&a);
	return ret;
}

static int image_in_use(void *ctx, const char *image_id)
{
	(void)ctx;
	ctr_foreach(c) {
		if (c->def.image_id != NULL && strcmp(c->def.image_id, image_id) == 0) {
			return 1;
		}
	}
	return 0;
}

int images_remove(const char *ref, int force, json_object *out, struct berr *err)
{
	auto_store struct store *s = NULL;
	if (store_open(&s, STORE_DIR, err) < 0) {
		return -err->code;
	}
	struct store_removed r;
	if (store_remove(s, ref, force, image_in_use, NULL, &r, err) < 0) {
		return -err->code;
	}
	json_object *removed = json_object_new_array();
	json_object_array_add(removed, json_object_new_string(r.id));
	json_object_object_add(out, "removed", removed);
	json_object_object_add(out, "deleted", json_object_new_boolean(r.deleted));
	struct store_gc_stats gc = {0};
	struct berr gcerr = {0};
	if (store_gc(s, &gc, &gcerr) < 0) {
		blog_warn("image garbage collection: %s", gcerr.msg);
	} else {
		json_object_object_add(out, "freed_bytes", json_object_new_int64((int64_t)gc.bytes));
	}
	return 0;
}

static void report_loaded(json_object *out, const struct store_loaded *l, size_t n)
{
	json_object *names = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		if (l[i].nnames == 0) {
			json_object_array_add(names, json_object_new_string(l[i].id));
		}
		for (size_t k = 0; k < l[i].nnames; k++) {
			json_object_array_add(names, json_object_new_string(l[i].names[k]));
		}
	}
	json_object_object_add(out, "loaded", names);
}

int images_load_fd(int fd, json_object *out, struct berr *err)
{
	auto_store struct store *s = NULL;
	if (store_open(&s, STORE_DIR, err) < 0) {
		return -err->code;
	}
	struct arena a = {0};
	struct store_loaded *loaded = NULL;
	size_t n = 0;
	int ret = store_load_fd(s, fd, "the archive", &a, &loaded, &n, err);
	if (ret == 0) {
		report_loaded(out, loaded, n);
	}
	arena_free(&a);
	return ret;
}

static int imported_marker(const char *path, const struct stat *st, char *out, size_t size)
{
	char key[PATH_MAX + 64];
	int len = snprintf(key, sizeof(key), "%s\n%lld\n%lld.%09ld\n%llu", path, (long long)st->st_size,
			   (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, (unsigned long long)st->st_ino);
	char hex[SHA256_HEX_LEN + 1];
	sha256_hex(key, (size_t)len, hex);
	return snprintf(out, size, "%s/%s", IMPORTED_DIR, hex) >= (int)size ? -ENAMETOOLONG : 0;
}

void images_load_config_dir(const char *config_dir)
{
	char dir[PATH_MAX];
	if (path_join(dir, sizeof(dir), config_dir, "images") < 0) {
		return;
	}
	auto_closedir DIR *d = opendir(dir);
	if (d == NULL) {
		return;
	}
	auto_store struct store *s = NULL;
	struct berr err = {0};
	if (store_open(&s, STORE_DIR, &err) < 0) {
		blog_err("image store: %s", err.msg);
		return;
	}
	mkdir_p(IMPORTED_DIR, 0700, NULL);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.') {
			continue;
		}
		char path[PATH_MAX];
		char marker[PATH_MAX];
		struct stat st;
		if (path_join(path, sizeof(path), dir, e->d_name) < 0 || stat(path, &st) < 0 ||
		    imported_marker(path, &st, marker, sizeof(marker)) < 0) {
			continue;
		}
		if (!S_ISDIR(st.st_mode) && access(marker, F_OK) == 0) {
			continue;
		}
		struct arena a = {0};
		struct store_loaded *loaded = NULL;
		size_t n = 0;
		int64_t t0 = now_mono_ms();
		if (store_load_path(s, path, &a, &loaded, &n, &err) < 0) {
			blog_err("%s", err.msg);
		} else {
			for (size_t i = 0; i < n; i++) {
				blog_info("loaded %s from %s (%zu layers, %zu new) in %lld ms",
					  loaded[i].nnames > 0 ? loaded[i].names[0] : loaded[i].id, path,
					  loaded[i].nlayers, loaded[i].new_layers, (long long)(now_mono_ms() - t0));
			}
			int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			if (fd >= 0) {
				close(fd);
			}
		}
		arena_free(&a);
	}
}

int images_resolve(const char *ref, struct image_resolved *out, struct berr *err)
{
	memset(out, 0, sizeof(*out));
	auto_store struct store *s = NULL;
	if (store_open(&s, STORE_DIR, err) < 0) {
		return -err->code;
	}
	struct arena *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		return berr_set(err, ENOMEM, "resolve %s", ref);
	}
	struct store_image img;
	if (store_resolve(s, ref, a, &img, err) < 0) {
		arena_free(a);
		free(a);
		return -err->code;
	}
	copy_string(out->id, sizeof(out->id), img.id);
	out->cfg = img.config;
	out->layers = (char **)img.layer_dirs;
	out->nlayers = img.nlayers;
	out->priv = a;
	return 0;
}

void images_resolved_free(struct image_resolved *r)
{
	if (r->priv != NULL) {
		arena_free(r->priv);
		free(r->priv);
	}
	memset(r, 0, sizeof(*r));
}
