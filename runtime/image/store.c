/* The image store (see store.h for the layout and its guarantees). Owns
 * the store's directory fds and lock; every file it publishes is written
 * under a temporary name and renamed into place. */
/* O_PATH, O_TMPFILE, syncfs: the Makefile defines _GNU_SOURCE; builds
 * that do not (the fuzzers' command line) get it here. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "image/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/fstree.h"
#include "image/imgjson.h"
#include "image/imgref.h"
#include "image/overlay.h"
#include "image/strfmt.h"
#include "image/tar.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/sha256.h"

#define SHORT_ID 16	      /* hex digits naming a layer directory */
#define MIN_PREFIX 12	      /* hex digits of the shortest ID prefix accepted */
#define RECORD_MAX (1u << 20) /* bytes in an image record or layer.json */
#define NAMES_MAX (16u << 20) /* bytes in names.json */
#define LAYER_FS "fs"

struct store {
	char root[PATH_MAX];
	int rootfd;
	int lockfd;
	int tmpfd;
	int layersfd;
	int blobsfd; /* blobs/sha256 */
	int imagesfd;
	struct unpack_limits limits;
	int keep_blobs; /* keep layers' blobs too, for save (the build machine's stores) */
};

struct image_rec {
	char id[STORE_ID_SIZE];
	char config[STORE_ID_SIZE];
	const char *created;
	int64_t loaded;
	uint64_t size;
	size_t nlayers;
	char (*chains)[STORE_ID_SIZE];
	const char **repo_digests; /* "repo@sha256:<manifest>" this image was pulled as */
	size_t nrepo_digests;
	const char *repo_digest;      /* save_record: one more to keep */
	char (*blobs)[STORE_ID_SIZE]; /* each layer's blob digest; "" unknown */
};

static void json_putp(json_object **o)
{
	json_object_put(*o);
}

static void arena_freep(struct arena *a)
{
	arena_free(a);
}

static void unlockp(int *fd)
{
	if (*fd >= 0) {
		flock(*fd, LOCK_UN);
	}
}

#define auto_json __attribute__((cleanup(json_putp)))
#define auto_arena __attribute__((cleanup(arena_freep)))
#define auto_unlock __attribute__((cleanup(unlockp)))

/* ---- small file helpers, all relative to a directory fd ----------------------- */

static int open_subdir(int parent, const char *name, mode_t mode, const char *root, struct berr *err)
{
	if (mkdirat(parent, name, mode) < 0 && errno != EEXIST) {
		return berr_set(err, errno, "create %s/%s", root, name);
	}
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return berr_set(err, errno, "open %s/%s", root, name);
	}
	return fd;
}

/* Reads a whole file of at most max bytes, NUL-terminated. -ENOENT
 * (with err set) when it does not exist. */
static int read_at(int dirfd, const char *name, size_t max, char **data, size_t *len, struct berr *err)
{
	return read_file_alloc(dirfd, name, O_NOFOLLOW, max, NULL, data, len, err);
}

/* Publishes a file: readers see the old content or the new, never a part;
 * imports run in parallel children, so temporaries are unique. */
static int write_atomic(int dirfd, const char *name, const void *data, size_t len, struct berr *err)
{
	return write_file_atomic_at(dirfd, name, data, len, 0644,
				    ATOMIC_FSYNC_FILE | ATOMIC_FSYNC_DIR | ATOMIC_UNIQUE_TMP, err);
}

static int write_json_at(int dirfd, const char *name, json_object *o, struct berr *err)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL) {
		return berr_set(err, ENOMEM, "%s", name);
	}
	return write_atomic(dirfd, name, text, strlen(text), err);
}

static int parse_json_file(int dirfd, const char *name, size_t max, json_object **out, struct berr *err)
{
	*out = NULL;
	auto_free char *data = NULL;
	size_t len;
	int ret = read_at(dirfd, name, max, &data, &len, err);
	if (ret < 0) {
		return ret;
	}
	json_object *o = json_tokener_parse(data);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return berr_setx(err, EINVAL, "%s is damaged (not a JSON object)", name);
	}
	*out = o;
	return 0;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)) {
		return json_object_get_string(v);
	}
	return NULL;
}

static int add_string(json_object *o, const char *key, const char *value)
{
	json_object *v = json_object_new_string(value);
	if (v == NULL || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_int(json_object *o, const char *key, int64_t value)
{
	json_object *v = json_object_new_int64(value);
	if (v == NULL || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int is_full_id(const char *s)
{
	return strncmp(s, "sha256:", 7) == 0 && strlen(s) == 71 && imgref_is_hex(s + 7);
}

static int is_record_name(const char *name)
{
	return strlen(name) == 64 + 5 && strcmp(name + 64, ".json") == 0 && strspn(name, "0123456789abcdef") == 64;
}

/* ---- open / close ----------------------------------------------------------- */

/* Leftovers of interrupted loads; only when no load is running. */
static int clean_tmp(struct store *s, size_t *count, struct berr *err)
{
	auto_closedir DIR *d = fstree_opendir(s->tmpfd);
	if (d == NULL) {
		return berr_set(err, errno, "open %s/tmp", s->root);
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
			continue;
		}
		int ret = fstree_remove(s->tmpfd, de->d_name, NULL, err);
		if (ret < 0) {
			return berr_prefix(err, "clean %s/tmp", s->root);
		}
		if (count != NULL) {
			(*count)++;
		}
	}
	return 0;
}

void store_close(struct store *s)
{
	if (s == NULL) {
		return;
	}
	int *fds[] = {&s->rootfd, &s->lockfd, &s->tmpfd, &s->layersfd, &s->blobsfd, &s->imagesfd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0) {
			close(*fds[i]);
		}
	}
	free(s);
}

static int store_init(struct store *s, const char *root, struct berr *err)
{
	if (copy_string(s->root, sizeof(s->root), root) < 0) {
		return berr_setx(err, ENAMETOOLONG, "store path too long");
	}
	int ret = mkdir_p(root, 0700, err);
	if (ret < 0) {
		return ret;
	}
	s->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->rootfd < 0) {
		return berr_set(err, errno, "open %s", root);
	}
	s->lockfd = openat(s->rootfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->lockfd < 0) {
		return berr_set(err, errno, "open %s/lock", root);
	}
	/* Layers hold setuid files: nobody but root may reach them. */
	s->tmpfd = open_subdir(s->rootfd, "tmp", 0700, root, err);
	if (s->tmpfd < 0) {
		return s->tmpfd;
	}
	s->layersfd = open_subdir(s->rootfd, "layers", 0700, root, err);
	if (s->layersfd < 0) {
		return s->layersfd;
	}
	s->imagesfd = open_subdir(s->rootfd, "images", 0700, root, err);
	if (s->imagesfd < 0) {
		return s->imagesfd;
	}
	auto_close int blobs = open_subdir(s->rootfd, "blobs", 0700, root, err);
	if (blobs < 0) {
		return blobs;
	}
	s->blobsfd = open_subdir(blobs, "sha256", 0700, root, err);
	if (s->blobsfd < 0) {
		return s->blobsfd;
	}
	/* Without the lock, another process is loading: its tmp/ is live. */
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) == 0) {
		ret = clean_tmp(s, NULL, err);
		flock(s->lockfd, LOCK_UN);
	}
	return ret;
}

int store_open(struct store **out, const char *root, struct berr *err)
{
	*out = NULL;
	struct store *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return berr_set(err, ENOMEM, "store");
	}
	s->rootfd = s->lockfd = s->tmpfd = s->layersfd = s->blobsfd = s->imagesfd = -1;
	int ret = store_init(s, root, err);
	if (ret < 0) {
		store_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

void store_set_limits(struct store *s, const struct unpack_limits *limits)
{
	s->limits = *limits;
}

static int lock_store(struct store *s, struct berr *err)
{
	while (flock(s->lockfd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			return berr_set(err, errno, "lock %s", s->root);
		}
	}
	return s->lockfd;
}

/* ---- records ------------------------------------------------------------------- */

static int load_record(struct store *s, const char *hex, struct arena *a, struct image_rec *rec, struct berr *err)
{
	char name[80];
	(void)strfmt(name, sizeof(name), "%.64s.json", hex);
	memset(rec, 0, sizeof(*rec));
	auto_json json_object *o = NULL;
	int ret = parse_json_file(s->imagesfd, name, RECORD_MAX, &o, err);
	if (ret < 0) {
		return berr_prefix(err, "%s/images", s->root);
	}
	const char *id = jstr(o, "id");
	const char *config = jstr(o, "config");
	const char *created = jstr(o, "created");
	json_object *layers;
	json_object *v;
	if (id == NULL || !is_full_id(id) || strcmp(id + 7, hex) != 0 || config == NULL || !is_full_id(config) ||
	    !json_object_object_get_ex(o, "layers", &layers) || !json_object_is_type(layers, json_type_array)) {
		return berr_setx(err, EINVAL, "%s/images/%s is damaged", s->root, name);
	}
	memcpy(rec->id, id, STORE_ID_SIZE);
	memcpy(rec->config, config, STORE_ID_SIZE);
	rec->created = arena_strdup(a, created != NULL ? created : "");
	if (json_object_object_get_ex(o, "loaded", &v)) {
		rec->loaded = json_object_get_int64(v);
	}
	if (json_object_object_get_ex(o, "size", &v)) {
		rec->size = (uint64_t)json_object_get_int64(v);
	}
	size_t n = json_object_array_length(layers);
	rec->chains = arena_alloc(a, (n + 1) * sizeof(*rec->chains));
	if (rec->chains == NULL || rec->created == NULL) {
		return berr_set(err, ENOMEM, "%s", name);
	}
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(layers, i);
		const char *chain = json_object_is_type(c, json_type_string) ? json_object_get_string(c) : NULL;
		if (chain == NULL || !is_full_id(chain)) {
			return berr_setx(err, EINVAL, "%s/images/%s is damaged (layer %zu)", s->root, name, i + 1);
		}
		memcpy(rec->chains[i], chain, STORE_ID_SIZE);
	}
	rec->nlayers = n;
	json_object *blobs;
	rec->blobs = arena_alloc(a, (n + 1) * sizeof(*rec->blobs));
	if (rec->blobs == NULL) {
		return berr_set(err, ENOMEM, "%s", name);
	}
	if (json_object_object_get_ex(o, "layer_blobs", &blobs) && json_object_is_type(blobs, json_type_array) &&
	    json_object_array_length(blobs) == n) {
		for (size_t i = 0; i < n; i++) {
			const char *b = json_object_get_string(json_object_array_get_idx(blobs, i));
			if (b != NULL && is_full_id(b)) {
				memcpy(rec->blobs[i], b, STORE_ID_SIZE);
			}
		}
	}
	json_object *digests;
	if (json_object_object_get_ex(o, "repo_digests", &digests) && json_object_is_type(digests, json_type_array)) {
		size_t nd = json_object_array_length(digests);
		rec->repo_digests = arena_alloc(a, (nd + 1) * sizeof(*rec->repo_digests));
		if (rec->repo_digests == NULL) {
			return berr_set(err, ENOMEM, "%s", name);
		}
		for (size_t i = 0; i < nd; i++) {
			const char *d = json_object_get_string(json_object_array_get_idx(digests, i));
			if (d != NULL && (rec->repo_digests[rec->nrepo_digests] = arena_strdup(a, d)) != NULL) {
				rec->nrepo_digests++;
			}
		}
	}
	return 0;
}

/* An array of strings, or NULL when out of memory. */
static json_object *string_array(const char (*items)[STORE_ID_SIZE], size_t n)
{
	json_object *arr = json_object_new_array();
	for (size_t i = 0; arr != NULL && i < n; i++) {
		json_object *v = json_object_new_string(items[i]);
		if (v == NULL || json_object_array_add(arr, v) != 0) {
			json_object_put(v);
			json_object_put(arr);
			arr = NULL;
		}
	}
	return arr;
}

static int add_array(json_object *o, const char *key, json_object *arr)
{
	if (arr == NULL || json_object_object_add(o, key, arr) != 0) {
		json_object_put(arr);
		return -ENOMEM;
	}
	return 0;
}

/* The repo digests the image had (a load or pull again keeps them), and
 * the new one; NULL when out of memory. */
static json_object *repo_digest_array(struct store *s, const struct image_rec *rec)
{
	json_object *arr = json_object_new_array();
	auto_arena struct arena tmp = {0};
	struct image_rec old;
	struct berr ignored;
	if (arr != NULL && load_record(s, rec->id + 7, &tmp, &old, &ignored) == 0) {
		for (size_t i = 0; i < old.nrepo_digests; i++) {
			if (rec->repo_digest == NULL || strcmp(old.repo_digests[i], rec->repo_digest) != 0) {
				json_object_array_add(arr, json_object_new_string(old.repo_digests[i]));
			}
		}
	}
	if (arr != NULL && rec->repo_digest != NULL) {
		json_object_array_add(arr, json_object_new_string(rec->repo_digest));
	}
	return arr;
}

static int save_record(struct store *s, const struct image_rec *rec, char (*diff_ids)[IMGJSON_DIGEST_SIZE],
		       const char *manifest, struct berr *err)
{
	auto_json json_object *o = json_object_new_object();
	if (o == NULL) {
		return berr_set(err, ENOMEM, "image record");
	}
	int ret = add_string(o, "id", rec->id);
	ret |= add_string(o, "config", rec->config);
	if (manifest[0] != '\0') {
		ret |= add_string(o, "manifest", manifest);
	}
	ret |= add_string(o, "created", rec->created);
	ret |= add_int(o, "loaded", rec->loaded);
	ret |= add_int(o, "size", (int64_t)rec->size);
	ret |= add_array(o, "layers", string_array((const char(*)[STORE_ID_SIZE])rec->chains, rec->nlayers));
	ret |= add_array(o, "diff_ids", string_array((const char(*)[STORE_ID_SIZE])diff_ids, rec->nlayers));
	ret |= add_array(o, "repo_digests", repo_digest_array(s, rec));
	if (rec->blobs != NULL) {
		ret |= add_array(o, "layer_blobs",
				 string_array((const char(*)[STORE_ID_SIZE])rec->blobs, rec->nlayers));
	}
	if (ret != 0) {
		return berr_set(err, ENOMEM, "image record");
	}
	char name[80];
	(void)strfmt(name, sizeof(name), "%s.json", rec->id + 7);
	ret = write_json_at(s->imagesfd, name, o, err);
	return ret < 0 ? berr_prefix(err, "%s/images", s->root) : 0;
}

/* names.json: canonical name -> image ID; missing means no names. */
static int load_names(struct store *s, json_object **out, struct berr *err)
{
	int ret = parse_json_file(s->rootfd, "names.json", NAMES_MAX, out, err);
	if (ret == -ENOENT) {
		*out = json_object_new_object();
		return *out != NULL ? 0 : berr_set(err, ENOMEM, "names");
	}
	return ret < 0 ? berr_prefix(err, "%s", s->root) : 0;
}

static int save_names(struct store *s, json_object *names, struct berr *err)
{
	int ret = write_json_at(s->rootfd, "names.json", names, err);
	return ret < 0 ? berr_prefix(err, "%s", s->root) : 0;
}

/* The names of an image ID, sorted, from the arena. */
static int names_of(json_object *names, const char *id, struct arena *a, const char ***out, size_t *n, struct berr *err)
{
	size_t count = 0;
	json_object_object_foreach(names, k1, v1)
	{
		(void)k1;
		if (json_object_is_type(v1, json_type_string) && strcmp(json_object_get_string(v1), id) == 0) {
			count++;
		}
	}
	const char **list = arena_alloc(a, (count + 1) * sizeof(*list));
	if (list == NULL) {
		return berr_set(err, ENOMEM, "names");
	}
	size_t i = 0;
	json_object_object_foreach(names, k2, v2)
	{
		if (json_object_is_type(v2, json_type_string) && strcmp(json_object_get_string(v2), id) == 0) {
			list[i] = arena_strdup(a, k2);
			if (list[i] == NULL) {
				return berr_set(err, ENOMEM, "names");
			}
			/* Insertion sort: an image has few names. */
			for (size_t j = i; j > 0 && strcmp(list[j - 1], list[j]) > 0; j--) {
				const char *t = list[j];
				list[j] = list[j - 1];
				list[j - 1] = t;
			}
			i++;
		}
	}
	*out = list;
	*n = i;
	return 0;
}

/* ---- import ------------------------------------------------------------------ */

struct layer_info {
	char chain[STORE_ID_SIZE];
	uint64_t size;
};

/* -ENOENT when the layer is not in the store. */
static int read_layer_info(struct store *s, const char *dir, struct layer_info *info, struct berr *err)
{
	char name[64];
	(void)strfmt(name, sizeof(name), "%s/layer.json", dir);
	auto_json json_object *o = NULL;
	int ret = parse_json_file(s->layersfd, name, RECORD_MAX, &o, err);
	if (ret < 0) {
		return ret;
	}
	const char *chain = jstr(o, "chain_id");
	json_object *v;
	if (chain == NULL || !is_full_id(chain)) {
		return berr_setx(err, EINVAL, "%s/layers/%s is damaged", s->root, name);
	}
	memcpy(info->chain, chain, STORE_ID_SIZE);
	info->size = json_object_object_get_ex(o, "size", &v) ? (uint64_t)json_object_get_int64(v) : 0;
	return 0;
}

static int write_layer_info(int dirfd, const char *chain, const char *diff_id, const char *parent,
			    const struct unpack_stats *st, struct berr *err)
{
	auto_json json_object *o = json_object_new_object();
	if (o == NULL) {
		return berr_set(err, ENOMEM, "layer.json");
	}
	int ret = add_string(o, "chain_id", chain);
	ret |= add_string(o, "diff_id", diff_id);
	ret |= add_string(o, "parent", parent);
	ret |= add_int(o, "size", (int64_t)st->bytes);
	ret |= add_int(o, "files", (int64_t)st->files);
	ret |= add_int(o, "entries", (int64_t)st->entries);
	ret |= add_int(o, "whiteouts", (int64_t)st->whiteouts);
	ret |= add_int(o, "xattrs_skipped", (int64_t)st->xattrs_skipped);
	if (ret != 0) {
		return berr_set(err, ENOMEM, "layer.json");
	}
	return write_json_at(dirfd, "layer.json", o, err);
}

/* One layer to make present. The blob comes from open (an archive member,
 * a registry's response), which close releases. */
struct layer_job {
	const char *what;   /* names the layer in messages */
	const char *digest; /* the blob's promised digest; "" when the format has none */
	int (*open)(void *ctx, struct dstream_source *src, struct berr *err);
	void (*close)(void *ctx);
	void *ctx;
	const char *diff_id;
	const char *chain;
	const char *parent; /* "" for the bottom layer */
	char *blob_out;	    /* STORE_ID_SIZE: the blob's digest, once read */
};

/* A source whose bytes are also written to fd: the blob a store that keeps
 * blobs keeps. */
struct tee_src {
	struct dstream_source inner;
	int fd;
};

static ssize_t tee_read(void *ctx, void *buf, size_t len, struct berr *err)
{
	struct tee_src *t = ctx;
	ssize_t n = t->inner.read(t->inner.ctx, buf, len, err);
	if (n > 0 && write_all(t->fd, buf, (size_t)n) < 0) {
		return berr_set(err, EIO, "keep the blob");
	}
	return n;
}

static int blob_present(struct store *s, const char *digest)
{
	struct stat st;
	return is_full_id(digest) && fstatat(s->blobsfd, digest + 7, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode);
}

/* Unpacks a layer into tmp/<tmpname>/fs and checks both digests. */
static int unpack_checked(struct store *s, const struct layer_job *j, const char *tmpname, struct unpack_stats *st,
			  struct berr *err)
{
	auto_close int dir = openat(s->tmpfd, tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0 || mkdirat(dir, LAYER_FS, 0755) < 0) {
		return berr_set(err, errno, "%s/tmp/%s", s->root, tmpname);
	}
	auto_close int fs = openat(dir, LAYER_FS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fs < 0) {
		return berr_set(err, errno, "%s/tmp/%s/" LAYER_FS, s->root, tmpname);
	}
	struct dstream_source src;
	int ret = j->open(j->ctx, &src, err);
	if (ret < 0) {
		return berr_prefix(err, "%s", j->what);
	}
	auto_close int blobfd = -1;
	struct tee_src tee = {.inner = src};
	if (s->keep_blobs) {
		blobfd = openat(dir, "blob", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (blobfd < 0) {
			j->close(j->ctx);
			return berr_set(err, errno, "%s/tmp/%s/blob", s->root, tmpname);
		}
		tee.fd = blobfd;
		src = (struct dstream_source){.read = tee_read, .ctx = &tee};
	}
	struct dstream *d = NULL;
	uint64_t max = s->limits.max_bytes != 0 ? s->limits.max_bytes : UNPACK_DEFAULT_MAX_BYTES;
	ret = dstream_open(&d, &src, 0, max, err);
	if (ret == 0) {
		ret = unpack_layer(fs, d, &s->limits, st, err);
	}
	char in[IMGJSON_DIGEST_SIZE];
	char out[IMGJSON_DIGEST_SIZE];
	if (ret == 0 && dstream_digests(d, in, out) < 0) {
		ret = berr_setx(err, EIO, "%s: digest not available", j->what);
	} else if (ret < 0) {
		ret = berr_prefix(err, "%s", j->what);
	}
	dstream_close(d);
	j->close(j->ctx);
	if (ret < 0) {
		return ret;
	}
	if (j->digest[0] != '\0' && strcmp(in, j->digest) != 0) {
		return berr_setx(err, EINVAL, "%s: blob does not match its digest %s (content is %s)", j->what,
				 j->digest, in);
	}
	if (strcmp(out, j->diff_id) != 0) {
		return berr_setx(err, EINVAL, "%s: uncompressed content is %s, the config's diff_id says %s", j->what,
				 out, j->diff_id);
	}
	memcpy(j->blob_out, in, STORE_ID_SIZE);
	if (blobfd >= 0 && !blob_present(s, in)) {
		/* Verified: into blobs/ (unreferenced until the image record
		 * names it, so gc takes it if the load goes no further). */
		if (fsync(blobfd) < 0 || renameat(dir, "blob", s->blobsfd, in + 7) < 0) {
			return berr_set(err, errno, "keep the blob of %s in %s/blobs", j->what, s->root);
		}
	}
	return 0;
}

/* An archive member as a layer's blob. */
struct member_blob {
	struct archive *ar;
	const struct archive_layer *layer;
	struct archive_member m;
};

static int member_blob_open(void *ctx, struct dstream_source *src, struct berr *err)
{
	struct member_blob *b = ctx;
	int ret = archive_member_open(b->ar, b->layer->member, &b->m, err);
	if (ret < 0) {
		return ret;
	}
	if (b->layer->size != ARCHIVE_SIZE_UNKNOWN && b->m.size != b->layer->size) {
		archive_member_close(&b->m);
		return berr_setx(err, EINVAL, "%llu bytes, its descriptor says %llu", (unsigned long long)b->m.size,
				 (unsigned long long)b->layer->size);
	}
	archive_member_source(&b->m, src);
	return 0;
}

static void member_blob_close(void *ctx)
{
	struct member_blob *b = ctx;
	archive_member_close(&b->m);
}

/* Removes a layer directory that is not what its name says (a load
 * interrupted in a way renames should not allow, or damage). */
static int discard_layer_dir(struct store *s, const char *dir, struct berr *err)
{
	char tmpname[64];
	int ret = fstree_mkdtemp(s->tmpfd, "old-", tmpname, sizeof(tmpname), err);
	if (ret < 0) {
		return ret;
	}
	if (renameat(s->layersfd, dir, s->tmpfd, tmpname) < 0 && errno != ENOENT) {
		/* The new name is an empty directory: rename replaces it. */
		return berr_set(err, errno, "move %s/layers/%s away", s->root, dir);
	}
	return fstree_remove(s->tmpfd, tmpname, NULL, err);
}

/* Makes the layer present: already there (shared by chain ID), or
 * unpacked now into tmp/ and renamed into layers/ once verified. */
static int ensure_layer(struct store *s, const struct layer_job *j, uint64_t *size, int *fresh, struct berr *err)
{
	char dir[SHORT_ID + 1];
	memcpy(dir, j->chain + 7, SHORT_ID);
	dir[SHORT_ID] = '\0';
	*fresh = 0;
	struct layer_info info;
	struct berr ignored;
	int ret = read_layer_info(s, dir, &info, err);
	/* What the blob is known as before it is read (legacy archives' layer
	 * tars are their own uncompressed content). */
	const char *known = j->digest[0] != '\0' ? j->digest : j->diff_id;
	int blob_only = 0;
	if (ret == 0) {
		if (strcmp(info.chain, j->chain) != 0) {
			return berr_setx(err, EEXIST, "layer %s: %s/layers/%s already holds layer %s", j->chain,
					 s->root, dir, info.chain);
		}
		*size = info.size;
		memcpy(j->blob_out, known, STORE_ID_SIZE);
		if (!s->keep_blobs || blob_present(s, known)) {
			return 0;
		}
		/* Present, but not its blob, which this store keeps: read it
		 * again (verified as ever), keep the blob, drop the copy. */
		blob_only = 1;
	}
	/* Only a missing or damaged layer.json means the directory is not a
	 * layer; any other failure must not cost other images their layer. */
	if (ret != 0 && ret != -ENOENT && ret != -EINVAL && ret != -EFBIG) {
		return ret;
	}
	berr_clear(err);
	struct stat st;
	if (!blob_only && fstatat(s->layersfd, dir, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		ret = discard_layer_dir(s, dir, err);
		if (ret < 0) {
			return ret;
		}
	}
	char tmpname[64];
	ret = fstree_mkdtemp(s->tmpfd, "layer-", tmpname, sizeof(tmpname), err);
	if (ret < 0) {
		return berr_prefix(err, "%s/tmp", s->root);
	}
	struct unpack_stats stats;
	if (blob_only) {
		ret = unpack_checked(s, j, tmpname, &stats, err);
		fstree_remove(s->tmpfd, tmpname, NULL, &ignored);
		return ret;
	}
	ret = unpack_checked(s, j, tmpname, &stats, err);
	if (ret == 0) {
		auto_close int tdir = openat(s->tmpfd, tmpname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		ret = tdir < 0 ? berr_set(err, errno, "%s/tmp/%s", s->root, tmpname)
			       : write_layer_info(tdir, j->chain, j->diff_id, j->parent, &stats, err);
	}
	/* Everything unpacked reaches the disk before the rename publishes
	 * it: one syncfs is far cheaper than an fsync per file. */
	if (ret == 0 && syncfs(s->tmpfd) < 0) {
		ret = berr_set(err, errno, "sync %s", s->root);
	}
	if (ret == 0 && renameat(s->tmpfd, tmpname, s->layersfd, dir) < 0) {
		/* A pull running beside this one published the same layer
		 * first: theirs is as good as ours. */
		int e = errno;
		struct layer_info theirs;
		if ((e == ENOTEMPTY || e == EEXIST) && read_layer_info(s, dir, &theirs, &ignored) == 0 &&
		    strcmp(theirs.chain, j->chain) == 0) {
			fstree_remove(s->tmpfd, tmpname, NULL, &ignored);
			*size = theirs.size;
			return 0;
		}
		ret = berr_set(err, e, "rename a layer into %s/layers/%s", s->root, dir);
	}
	if (ret == 0 && fsync(s->layersfd) < 0) {
		ret = berr_set(err, errno, "fsync %s/layers", s->root);
	}
	if (ret < 0) {
		fstree_remove(s->tmpfd, tmpname, NULL, &ignored);
		return ret;
	}
	*size = stats.bytes;
	*fresh = 1;
	return 0;
}

static int save_config_blob(struct store *s, const char *hex, const char *data, size_t len, struct berr *err)
{
	struct stat st;
	if (fstatat(s->blobsfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == len) {
		return 0;
	}
	int ret = write_atomic(s->blobsfd, hex, data, len, err);
	return ret < 0 ? berr_prefix(err, "%s/blobs/sha256", s->root) : 0;
}

static int check_platform(const struct imgjson_config_meta *meta, const char *what, struct berr *err)
{
	if (meta->os[0] != '\0' && strcmp(meta->os, "linux") != 0) {
		return berr_setx(err, ENOTSUP, "%s: the image is for %.40s, not linux", what, meta->os);
	}
	if (meta->architecture[0] != '\0' && strcmp(meta->architecture, archive_host_arch()) != 0) {
		return berr_setx(err, ENOTSUP, "%s: the image is for linux/%.40s; this host runs linux/%s", what,
				 meta->architecture, archive_host_arch());
	}
	return 0;
}

/* ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). */
static void chain_ids(char (*diff)[IMGJSON_DIGEST_SIZE], size_t n, char (*chain)[STORE_ID_SIZE])
{
	for (size_t i = 0; i < n; i++) {
		if (i == 0) {
			memcpy(chain[0], diff[0], STORE_ID_SIZE);
			continue;
		}
		char text[2 * STORE_ID_SIZE];
		char hex[SHA256_HEX_LEN + 1];
		int len = snprintf(text, sizeof(text), "%s %s", chain[i - 1], diff[i]);
		sha256_hex(text, len > 0 ? (size_t)len : 0, hex);
		(void)strfmt(chain[i], STORE_ID_SIZE, "sha256:%s", hex);
	}
}

/* names.json is read, changed and written back: pulls run side by side
 * (under the store's shared lock), so each change holds names.lock. */
static int set_names(struct store *s, const char *id, const char **names, size_t n, struct berr *err)
{
	if (n == 0) {
		return 0;
	}
	auto_close int lock = openat(s->rootfd, "names.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock < 0) {
		return berr_set(err, errno, "open %s/names.lock", s->root);
	}
	while (flock(lock, LOCK_EX) < 0) {
		if (errno != EINTR) {
			return berr_set(err, errno, "lock %s/names.lock", s->root);
		}
	}
	auto_json json_object *map = NULL;
	int ret = load_names(s, &map, err);
	if (ret < 0) {
		return ret;
	}
	for (size_t i = 0; i < n; i++) {
		if (add_string(map, names[i], id) < 0) {
			return berr_set(err, ENOMEM, "names");
		}
	}
	return save_names(s, map, err);
}

/* An image config, checked: its digest, size, platform; what its layers are. */
struct checked_config {
	char hex[SHA256_HEX_LEN + 1];
	char id[STORE_ID_SIZE];
	char what[PATH_MAX + 100];
	struct imgjson_config_meta meta;
	char (*chains)[STORE_ID_SIZE];
};

static int check_config(const char *source, const char *cfg, size_t cfglen, const char *digest, uint64_t size,
			struct arena *a, struct checked_config *c, struct berr *err)
{
	sha256_hex(cfg, cfglen, c->hex);
	(void)strfmt(c->id, sizeof(c->id), "sha256:%s", c->hex);
	if (digest[0] != '\0' && strcmp(digest, c->id) != 0) {
		return berr_setx(err, EINVAL, "%s: config %s does not match its digest (content is %s)", source, digest,
				 c->id);
	}
	if (size != ARCHIVE_SIZE_UNKNOWN && size != cfglen) {
		return berr_setx(err, EINVAL, "%s: config %s is %zu bytes, its descriptor says %llu", source, c->id,
				 cfglen, (unsigned long long)size);
	}
	(void)strfmt(c->what, sizeof(c->what), "%s: config %.19s", source, c->id);
	int ret = imgjson_parse_config(cfg, cfglen, c->what, a, &c->meta, NULL, err);
	if (ret == 0) {
		ret = check_platform(&c->meta, c->what, err);
	}
	if (ret < 0) {
		return ret;
	}
	c->chains = arena_alloc(a, (c->meta.ndiff_ids + 1) * STORE_ID_SIZE);
	if (c->chains == NULL) {
		return berr_set(err, ENOMEM, "%s", c->what);
	}
	chain_ids(c->meta.diff_ids, c->meta.ndiff_ids, c->chains);
	return 0;
}

/* Config blob, record, names: the image becomes visible, its layers being
 * in place already. */
static int publish_image(struct store *s, const struct checked_config *c, const char *cfg, size_t cfglen, uint64_t size,
			 char (*blobs)[STORE_ID_SIZE], const char *manifest, const char *repo_digest,
			 const char **names, size_t nnames, struct berr *err)
{
	struct image_rec rec = {.created = c->meta.created,
				.loaded = (int64_t)time(NULL),
				.size = size,
				.nlayers = c->meta.ndiff_ids,
				.chains = c->chains,
				.repo_digest = repo_digest,
				.blobs = blobs};
	memcpy(rec.id, c->id, sizeof(rec.id));
	memcpy(rec.config, c->id, sizeof(rec.config));
	int ret = save_config_blob(s, c->hex, cfg, cfglen, err);
	if (ret == 0) {
		ret = save_record(s, &rec, c->meta.diff_ids, manifest, err);
	}
	if (ret == 0) {
		ret = set_names(s, c->id, names, nnames, err);
	}
	return ret;
}

static int import_image(struct store *s, struct archive *ar, const struct archive_image *img, struct store_loaded *res,
			struct berr *err)
{
	const char *an = archive_name(ar);
	auto_free char *cfg = NULL;
	size_t cfglen;
	int ret = archive_read(ar, img->config_member, IMGJSON_MAX_DOC, &cfg, &cfglen, err);
	if (ret < 0) {
		return berr_prefix(err, "config");
	}
	auto_arena struct arena tmp = {0};
	struct checked_config c;
	ret = check_config(an, cfg, cfglen, img->config_digest, img->config_size, &tmp, &c, err);
	if (ret < 0) {
		return ret;
	}
	if (c.meta.ndiff_ids != img->nlayers) {
		return berr_setx(err, EINVAL, "%s: the config lists %zu layers (rootfs.diff_ids), the manifest %zu",
				 c.what, c.meta.ndiff_ids, img->nlayers);
	}
	uint64_t total = 0;
	size_t fresh_count = 0;
	char(*blobs)[STORE_ID_SIZE] = arena_alloc(&tmp, (img->nlayers + 1) * STORE_ID_SIZE);
	if (blobs == NULL) {
		return berr_set(err, ENOMEM, "%s", c.what);
	}
	for (size_t i = 0; i < img->nlayers; i++) {
		char lwhat[512];
		char q[300];
		(void)strfmt(lwhat, sizeof(lwhat), "%.200s: layer %zu of %zu (%s)", an, i + 1, img->nlayers,
			     tar_quote(img->layers[i].member, q, sizeof(q)));
		struct member_blob blob = {.ar = ar, .layer = &img->layers[i]};
		struct layer_job j = {.what = lwhat,
				      .digest = img->layers[i].digest,
				      .open = member_blob_open,
				      .close = member_blob_close,
				      .ctx = &blob,
				      .diff_id = c.meta.diff_ids[i],
				      .chain = c.chains[i],
				      .parent = i > 0 ? c.chains[i - 1] : "",
				      .blob_out = blobs[i]};
		uint64_t size = 0;
		int fresh = 0;
		ret = ensure_layer(s, &j, &size, &fresh, err);
		if (ret < 0) {
			return ret;
		}
		total += size;
		fresh_count += (size_t)fresh;
	}
	ret = publish_image(s, &c, cfg, cfglen, total, blobs, img->manifest_digest, NULL, img->names, img->nnames, err);
	if (ret < 0) {
		return ret;
	}
	memcpy(res->id, c.id, sizeof(res->id));
	res->names = img->names;
	res->nnames = img->nnames;
	res->nlayers = img->nlayers;
	res->new_layers = fresh_count;
	res->size = total;
	return 0;
}

/* ---- pulls: an image piece by piece (runtime/registry) ------------------------- */

int store_pull_begin(struct store *s, struct berr *err)
{
	while (flock(s->lockfd, LOCK_SH) < 0) {
		if (errno != EINTR) {
			return berr_set(err, errno, "lock %s", s->root);
		}
	}
	return 0;
}

void store_pull_end(struct store *s)
{
	flock(s->lockfd, LOCK_UN);
}

int store_pull_config(const char *source, const char *cfg, size_t len, const char *digest, struct arena *a,
		      struct store_pull_layer **layers, size_t *n, struct berr *err)
{
	struct checked_config *c = arena_alloc(a, sizeof(*c));
	if (c == NULL) {
		return berr_set(err, ENOMEM, "%s", source);
	}
	int ret = check_config(source, cfg, len, digest, len, a, c, err);
	if (ret < 0) {
		return ret;
	}
	struct store_pull_layer *l = arena_alloc(a, (c->meta.ndiff_ids + 1) * sizeof(*l));
	if (l == NULL) {
		return berr_set(err, ENOMEM, "%s", source);
	}
	for (size_t i = 0; i < c->meta.ndiff_ids; i++) {
		memcpy(l[i].diff_id, c->meta.diff_ids[i], STORE_ID_SIZE);
		memcpy(l[i].chain, c->chains[i], STORE_ID_SIZE);
		memcpy(l[i].parent, i > 0 ? c->chains[i - 1] : "", i > 0 ? STORE_ID_SIZE : 1);
	}
	*layers = l;
	*n = c->meta.ndiff_ids;
	return 0;
}

void store_set_keep_blobs(struct store *s, int on)
{
	s->keep_blobs = on;
}

int store_layer_present(struct store *s, const char *chain, const char *blob, uint64_t *size)
{
	if (s->keep_blobs && blob != NULL && !blob_present(s, blob)) {
		return 0;
	}
	char dir[SHORT_ID + 1];
	memcpy(dir, chain + 7, SHORT_ID);
	dir[SHORT_ID] = '\0';
	struct layer_info info;
	struct berr ignored;
	if (read_layer_info(s, dir, &info, &ignored) < 0 || strcmp(info.chain, chain) != 0) {
		return 0;
	}
	*size = info.size;
	return 1;
}

struct given_src {
	const struct dstream_source *src;
};

static int given_open(void *ctx, struct dstream_source *src, struct berr *err)
{
	(void)err;
	*src = *((struct given_src *)ctx)->src;
	return 0;
}

static void given_close(void *ctx)
{
	(void)ctx;
}

int store_pull_layer(struct store *s, const struct store_pull_layer *l, const char *blob_digest, const char *what,
		     const struct dstream_source *src, uint64_t *size, struct berr *err)
{
	struct given_src g = {src};
	char blob_out[STORE_ID_SIZE];
	struct layer_job j = {.blob_out = blob_out,
			      .what = what,
			      .digest = blob_digest,
			      .open = given_open,
			      .close = given_close,
			      .ctx = &g,
			      .diff_id = l->diff_id,
			      .chain = l->chain,
			      .parent = l->parent};
	int fresh = 0;
	return ensure_layer(s, &j, size, &fresh, err);
}

int store_pull_publish(struct store *s, const char *source, const char *cfg, size_t len,
		       const char (*layer_blobs)[STORE_ID_SIZE], const char *manifest, const char *repo_digest,
		       const char **names, size_t nnames, struct store_loaded *out, struct berr *err)
{
	auto_arena struct arena tmp = {0};
	struct checked_config c;
	int ret = check_config(source, cfg, len, "", len, &tmp, &c, err);
	if (ret < 0) {
		return ret;
	}
	uint64_t total = 0;
	for (size_t i = 0; i < c.meta.ndiff_ids; i++) {
		uint64_t size = 0;
		if (!store_layer_present(s, c.chains[i], layer_blobs[i], &size)) {
			return berr_setx(err, ENOENT, "%s: layer %zu of %zu (%s) is not in the store", source, i + 1,
					 c.meta.ndiff_ids, c.meta.diff_ids[i]);
		}
		total += size;
	}
	ret = publish_image(s, &c, cfg, len, total, (char(*)[STORE_ID_SIZE])layer_blobs, manifest, repo_digest, names,
			    nnames, err);
	if (ret < 0) {
		return ret;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->id, c.id, sizeof(out->id));
	out->names = names;
	out->nnames = nnames;
	out->nlayers = c.meta.ndiff_ids;
	out->size = total;
	return 0;
}

static int load_archive(struct store *s, struct archive *ar, struct arena *a, struct store_loaded **out, size_t *n,
			struct berr *err)
{
	struct archive_image *imgs;
	size_t nimgs;
	int ret = archive_images(ar, a, &imgs, &nimgs, err);
	if (ret < 0) {
		return ret;
	}
	struct store_loaded *res = arena_alloc(a, (nimgs + 1) * sizeof(*res));
	if (res == NULL) {
		return berr_set(err, ENOMEM, "load");
	}
	for (size_t i = 0; i < nimgs; i++) {
		ret = import_image(s, ar, &imgs[i], &res[i], err);
		if (ret < 0) {
			return ret;
		}
	}
	*out = res;
	*n = nimgs;
	return 0;
}

int store_load_path(struct store *s, const char *path, struct arena *a, struct store_loaded **out, size_t *n,
		    struct berr *err)
{
	*out = NULL;
	*n = 0;
	auto_unlock int lock = lock_store(s, err);
	if (lock < 0) {
		return lock;
	}
	struct archive *ar;
	int ret = archive_open_path(&ar, path, s->tmpfd, err);
	if (ret < 0) {
		return ret;
	}
	ret = load_archive(s, ar, a, out, n, err);
	archive_close(ar);
	return ret;
}

int store_load_fd(struct store *s, int fd, const char *name, struct arena *a, struct store_loaded **out, size_t *n,
		  struct berr *err)
{
	*out = NULL;
	*n = 0;
	auto_unlock int lock = lock_store(s, err);
	if (lock < 0) {
		return lock;
	}
	struct archive *ar;
	int ret = archive_open_fd(&ar, fd, name, s->tmpfd, err);
	if (ret < 0) {
		return ret;
	}
	ret = load_archive(s, ar, a, out, n, err);
	archive_close(ar);
	return ret;
}

/* ---- list and resolve -------------------------------------------------------- */

/* Calls fn for each image record name ("<hex>.json") in images/. */
static int each_record(struct store *s, int (*fn)(void *ctx, const char *name, struct berr *err), void *ctx,
		       struct berr *err)
{
	auto_closedir DIR *d = fstree_opendir(s->imagesfd);
	if (d == NULL) {
		return berr_set(err, errno, "open %s/images", s->root);
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!is_record_name(de->d_name)) {
			continue;
		}
		int ret = fn(ctx, de->d_name, err);
		if (ret < 0) {
			return ret;
		}
	}
	return 0;
}

struct list_ctx {
	struct store *s;
	struct arena *a;
	json_object *names;
	struct store_image_info *items;
	size_t n;
	size_t cap;
};

static int list_one(void *ctx, const char *name, struct berr *err)
{
	struct list_ctx *c = ctx;
	char hex[65];
	memcpy(hex, name, 64);
	hex[64] = '\0';
	struct image_rec rec;
	int ret = load_record(c->s, hex, c->a, &rec, err);
	if (ret < 0) {
		return ret;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap == 0 ? 16 : c->cap * 2;
		struct store_image_info *items = arena_alloc(c->a, cap * sizeof(*items));
		if (items == NULL) {
			return berr_set(err, ENOMEM, "list");
		}
		if (c->n > 0) {
			memcpy(items, c->items, c->n * sizeof(*items));
		}
		c->items = items;
		c->cap = cap;
	}
	struct store_image_info *it = &c->items[c->n];
	memset(it, 0, sizeof(*it));
	memcpy(it->id, rec.id, sizeof(it->id));
	it->size = rec.size;
	it->created = rec.created;
	it->loaded = rec.loaded;
	it->nlayers = rec.nlayers;
	it->digests = rec.repo_digests;
	it->ndigests = rec.nrepo_digests;
	ret = names_of(c->names, rec.id, c->a, &it->names, &it->nnames, err);
	if (ret < 0) {
		return ret;
	}
	c->n++;
	return 0;
}

static int info_cmp(const void *pa, const void *pb)
{
	const struct store_image_info *a = pa;
	const struct store_image_info *b = pb;
	if (a->loaded != b->loaded) {
		return a->loaded > b->loaded ? -1 : 1;
	}
	return strcmp(a->id, b->id);
}

int store_list(struct store *s, struct arena *a, struct store_image_info **out, size_t *n, struct berr *err)
{
	*out = NULL;
	*n = 0;
	auto_json json_object *names = NULL;
	int ret = load_names(s, &names, err);
	if (ret < 0) {
		return ret;
	}
	struct list_ctx c = {.s = s, .a = a, .names = names};
	ret = each_record(s, list_one, &c, err);
	if (ret < 0) {
		return ret;
	}
	if (c.n > 1) {
		qsort(c.items, c.n, sizeof(*c.items), info_cmp);
	}
	*out = c.items;
	*n = c.n;
	return 0;
}

struct prefix_ctx {
	const char *prefix;
	size_t len;
	size_t matches;
	char hex[65];
};

static int prefix_one(void *ctx, const char *name, struct berr *err)
{
	struct prefix_ctx *c = ctx;
	(void)err;
	if (strncmp(name, c->prefix, c->len) == 0) {
		c->matches++;
		memcpy(c->hex, name, 64);
		c->hex[64] = '\0';
	}
	return 0;
}

/* Finds the image ID ref names. *by_name is set to the canonical name when
 * ref was a name (for remove). */
static int find_image(struct store *s, const char *ref, json_object *names, char id[STORE_ID_SIZE],
		      char by_name[IMGREF_MAX], struct berr *err)
{
	char q[300];
	by_name[0] = '\0';
	const char *hexref = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : NULL;
	if (hexref == NULL) {
		char canon[IMGREF_MAX];
		struct berr ignored;
		if (imgref_normalize(ref, canon, sizeof(canon), &ignored) == 0) {
			const char *v = jstr(names, canon);
			if (v != NULL && is_full_id(v)) {
				memcpy(id, v, STORE_ID_SIZE);
				memcpy(by_name, canon, strlen(canon) + 1);
				return 0;
			}
		}
		hexref = ref;
	}
	size_t len = strlen(hexref);
	if (!imgref_is_hex(hexref) || len < MIN_PREFIX) {
		return berr_setx(err, ENOENT, "no image %s", tar_quote(ref, q, sizeof(q)));
	}
	struct prefix_ctx c = {.prefix = hexref, .len = len};
	int ret = each_record(s, prefix_one, &c, err);
	if (ret < 0) {
		return ret;
	}
	if (c.matches == 0) {
		return berr_setx(err, ENOENT, "no image %s", tar_quote(ref, q, sizeof(q)));
	}
	if (c.matches > 1) {
		return berr_setx(err, EINVAL, "%s matches %zu images; give more of the ID",
				 tar_quote(ref, q, sizeof(q)), c.matches);
	}
	(void)strfmt(id, STORE_ID_SIZE, "sha256:%s", c.hex);
	return 0;
}

/* The names file, the image ref means (by_name: the name it was found by,
 * or "" for an ID) and its record. */
static int lookup_image(struct store *s, const char *ref, struct arena *a, json_object **names, char id[STORE_ID_SIZE],
			char by_name[IMGREF_MAX], struct image_rec *rec, struct berr *err)
{
	int ret = load_names(s, names, err);
	if (ret == 0) {
		ret = find_image(s, ref, *names, id, by_name, err);
	}
	if (ret == 0) {
		ret = load_record(s, id + 7, a, rec, err);
	}
	return ret;
}

int store_resolve(struct store *s, const char *ref, struct arena *a, struct store_image *out, struct berr *err)
{
	memset(out, 0, sizeof(*out));
	auto_json json_object *names = NULL;
	char id[STORE_ID_SIZE];
	char by_name[IMGREF_MAX];
	struct image_rec rec;
	int ret = lookup_image(s, ref, a, &names, id, by_name, &rec, err);
	if (ret < 0) {
		return ret;
	}
	auto_free char *cfg = NULL;
	size_t cfglen;
	ret = read_at(s->blobsfd, rec.config + 7, IMGJSON_MAX_DOC, &cfg, &cfglen, err);
	if (ret < 0) {
		return berr_prefix(err, "image %.19s: config in %s/blobs/sha256", id, s->root);
	}
	char what[128];
	(void)strfmt(what, sizeof(what), "image %.19s: config", id);
	ret = imgjson_parse_config(cfg, cfglen, what, a, NULL, &out->config, err);
	if (ret < 0) {
		return ret;
	}
	memcpy(out->config.id, id, sizeof(out->config.id));
	memcpy(out->id, id, sizeof(out->id));
	out->layer_dirs = arena_alloc(a, (rec.nlayers + 1) * sizeof(*out->layer_dirs));
	if (out->layer_dirs == NULL) {
		return berr_set(err, ENOMEM, "resolve");
	}
	for (size_t i = 0; i < rec.nlayers; i++) {
		char rel[64];
		char path[PATH_MAX];
		(void)strfmt(rel, sizeof(rel), "%.16s/" LAYER_FS, rec.chains[i] + 7);
		struct stat st;
		if (fstatat(s->layersfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
			return berr_setx(err, ENOENT,
					 "image %.19s: layer %s is missing from the store (load the image again)", id,
					 rec.chains[i]);
		}
		int n = snprintf(path, sizeof(path), "%s/layers/%s", s->root, rel);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			return berr_setx(err, ENAMETOOLONG, "layer path too long");
		}
		out->layer_dirs[i] = arena_strdup(a, path);
		if (out->layer_dirs[i] == NULL) {
			return berr_set(err, ENOMEM, "resolve");
		}
	}
	out->nlayers = rec.nlayers;
	return names_of(names, id, a, &out->names, &out->nnames, err);
}

/* ---- what save needs -------------------------------------------------------- */

int store_image_parts(struct store *s, const char *ref, struct arena *a, struct store_image_parts *out,
		      struct berr *err)
{
	memset(out, 0, sizeof(*out));
	auto_json json_object *names = NULL;
	char id[STORE_ID_SIZE];
	char by_name[IMGREF_MAX];
	struct image_rec rec;
	int ret = lookup_image(s, ref, a, &names, id, by_name, &rec, err);
	if (ret < 0) {
		return ret;
	}
	memcpy(out->id, id, sizeof(out->id));
	out->blobs = rec.blobs;
	out->nlayers = rec.nlayers;
	if (by_name[0] != '\0') {
		/* Saved by a name: the archive carries that name (as docker save). */
		out->names = arena_alloc(a, 2 * sizeof(*out->names));
		if (out->names == NULL || (out->names[0] = arena_strdup(a, by_name)) == NULL) {
			return berr_set(err, ENOMEM, "save");
		}
		out->nnames = 1;
		return 0;
	}
	return names_of(names, id, a, &out->names, &out->nnames, err);
}

int store_open_blob(struct store *s, const char *digest, uint64_t *size, struct berr *err)
{
	if (!is_full_id(digest)) {
		return berr_setx(err, EINVAL, "no blob for '%.80s'", digest);
	}
	int fd = openat(s->blobsfd, digest + 7, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
		}
		return berr_set(err, e, "%s/blobs/%s", s->root, digest);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* ---- remove and gc --------------------------------------------------------- */

int store_remove(struct store *s, const char *ref, int force, store_in_use_fn in_use, void *ctx,
		 struct store_removed *out, struct berr *err)
{
	memset(out, 0, sizeof(*out));
	auto_unlock int lock = lock_store(s, err);
	if (lock < 0) {
		return lock;
	}
	auto_json json_object *names = NULL;
	int ret = load_names(s, &names, err);
	if (ret < 0) {
		return ret;
	}
	char id[STORE_ID_SIZE];
	char by_name[IMGREF_MAX];
	ret = find_image(s, ref, names, id, by_name, err);
	if (ret < 0) {
		return ret;
	}
	memcpy(out->id, id, sizeof(out->id));
	auto_arena struct arena tmp = {0};
	const char **list;
	size_t n;
	ret = names_of(names, id, &tmp, &list, &n, err);
	if (ret < 0) {
		return ret;
	}
	if (by_name[0] != '\0' && n > 1) {
		/* Other names keep the image. */
		json_object_object_del(names, by_name);
		out->untagged = 1;
		return save_names(s, names, err);
	}
	int used = in_use != NULL ? in_use(ctx, id) : 0;
	if (used && !force) {
		char q[300];
		return berr_setx(err, EBUSY,
				 "image %s (%.19s) is used by a container: remove the container first, or force",
				 tar_quote(ref, q, sizeof(q)), id);
	}
	for (size_t i = 0; i < n; i++) {
		json_object_object_del(names, list[i]);
	}
	out->untagged = n;
	if (n > 0) {
		ret = save_names(s, names, err);
		if (ret < 0) {
			return ret;
		}
	}
	if (used) {
		out->kept = 1;
		return 0;
	}
	char name[80];
	(void)strfmt(name, sizeof(name), "%s.json", id + 7);
	if (unlinkat(s->imagesfd, name, 0) < 0 && errno != ENOENT) {
		return berr_set(err, errno, "remove %s/images/%s", s->root, name);
	}
	if (fsync(s->imagesfd) < 0) {
		return berr_set(err, errno, "fsync %s/images", s->root);
	}
	out->deleted = 1;
	return 0;
}

struct refs {
	struct arena a;
	char (*layers)[SHORT_ID + 1];
	size_t nlayers;
	char (*blobs)[65];
	size_t nblobs;
	size_t cap_layers;
	size_t cap_blobs;
	struct store *s;
};

static int grow(struct arena *a, void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap) {
		return 0;
	}
	size_t ncap = *cap == 0 ? 64 : *cap * 2;
	void *p = arena_alloc(a, ncap * elem);
	if (p == NULL) {
		return -ENOMEM;
	}
	if (n > 0) {
		memcpy(p, *arr, n * elem);
	}
	*arr = p;
	*cap = ncap;
	return 0;
}

static int refs_one(void *ctx, const char *name, struct berr *err)
{
	struct refs *r = ctx;
	char hex[65];
	memcpy(hex, name, 64);
	hex[64] = '\0';
	struct image_rec rec;
	int ret = load_record(r->s, hex, &r->a, &rec, err);
	if (ret < 0) {
		/* Without the record, what it references is unknown: keep all. */
		return berr_prefix(err, "gc stopped (remove the damaged record by hand)");
	}
	void *blobs = r->blobs;
	if (grow(&r->a, &blobs, &r->cap_blobs, r->nblobs, sizeof(*r->blobs)) < 0) {
		return berr_set(err, ENOMEM, "gc");
	}
	r->blobs = blobs;
	memcpy(r->blobs[r->nblobs++], rec.config + 7, 65);
	for (size_t i = 0; i < rec.nlayers; i++) {
		if (!is_full_id(rec.blobs[i])) {
			continue;
		}
		blobs = r->blobs;
		if (grow(&r->a, &blobs, &r->cap_blobs, r->nblobs, sizeof(*r->blobs)) < 0) {
			return berr_set(err, ENOMEM, "gc");
		}
		r->blobs = blobs;
		memcpy(r->blobs[r->nblobs++], rec.blobs[i] + 7, 65);
	}
	for (size_t i = 0; i < rec.nlayers; i++) {
		void *layers = r->layers;
		if (grow(&r->a, &layers, &r->cap_layers, r->nlayers, sizeof(*r->layers)) < 0) {
			return berr_set(err, ENOMEM, "gc");
		}
		r->layers = layers;
		memcpy(r->layers[r->nlayers], rec.chains[i] + 7, SHORT_ID);
		r->layers[r->nlayers][SHORT_ID] = '\0';
		r->nlayers++;
	}
	return 0;
}

static int referenced(const char *name, const char *list, size_t n, size_t elem)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(name, list + i * elem) == 0) {
			return 1;
		}
	}
	return 0;
}

static int gc_layers(struct store *s, const struct refs *r, struct store_gc_stats *out, struct berr *err)
{
	auto_closedir DIR *d = fstree_opendir(s->layersfd);
	if (d == NULL) {
		return berr_set(err, errno, "open %s/layers", s->root);
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    referenced(de->d_name, (const char *)r->layers, r->nlayers, sizeof(*r->layers))) {
			continue;
		}
		/* Out of layers/ in one rename, then removed at leisure: a
		 * crash half-way leaves nothing half-visible. */
		char tmpname[64];
		int ret = fstree_mkdtemp(s->tmpfd, "gc-", tmpname, sizeof(tmpname), err);
		if (ret < 0) {
			return ret;
		}
		if (renameat(s->layersfd, de->d_name, s->tmpfd, tmpname) < 0) {
			ret = berr_set(err, errno, "move %s/layers/%s", s->root, de->d_name);
			unlinkat(s->tmpfd, tmpname, AT_REMOVEDIR);
			return ret;
		}
		ret = fstree_remove(s->tmpfd, tmpname, &out->bytes, err);
		if (ret < 0) {
			return ret;
		}
		out->layers++;
	}
	return 0;
}

static int gc_blobs(struct store *s, const struct refs *r, struct store_gc_stats *out, struct berr *err)
{
	auto_closedir DIR *d = fstree_opendir(s->blobsfd);
	if (d == NULL) {
		return berr_set(err, errno, "open %s/blobs/sha256", s->root);
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    referenced(de->d_name, (const char *)r->blobs, r->nblobs, sizeof(*r->blobs))) {
			continue;
		}
		struct stat st;
		if (fstatat(s->blobsfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode)) {
			continue;
		}
		if (unlinkat(s->blobsfd, de->d_name, 0) < 0) {
			return berr_set(err, errno, "remove %s/blobs/sha256/%s", s->root, de->d_name);
		}
		out->bytes += (uint64_t)st.st_blocks * 512;
		out->blobs++;
	}
	return 0;
}

/* Names whose image record is gone (a remove interrupted half-way). */
static int gc_names(struct store *s, struct berr *err)
{
	auto_json json_object *names = NULL;
	int ret = load_names(s, &names, err);
	if (ret < 0) {
		return ret;
	}
	auto_arena struct arena tmp = {0};
	const char **stale = arena_alloc(&tmp, ((size_t)json_object_object_length(names) + 1) * sizeof(*stale));
	size_t n = 0;
	if (stale == NULL) {
		return berr_set(err, ENOMEM, "gc");
	}
	json_object_object_foreach(names, k, v)
	{
		char rec[80];
		const char *id = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
		struct stat st;
		if (!is_full_id(id) || snprintf(rec, sizeof(rec), "%s.json", id + 7) < 0 ||
		    fstatat(s->imagesfd, rec, &st, 0) < 0) {
			/* A copy: deleting an entry frees its key. */
			stale[n] = arena_strdup(&tmp, k);
			if (stale[n] == NULL) {
				return berr_set(err, ENOMEM, "gc");
			}
			n++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		json_object_object_del(names, stale[i]);
	}
	return n > 0 ? save_names(s, names, err) : 0;
}

int store_gc(struct store *s, struct store_gc_stats *out, struct berr *err)
{
	memset(out, 0, sizeof(*out));
	auto_unlock int lock = lock_store(s, err);
	if (lock < 0) {
		return lock;
	}
	int ret = clean_tmp(s, &out->temps, err);
	if (ret < 0) {
		return ret;
	}
	ret = gc_names(s, err);
	if (ret < 0) {
		return ret;
	}
	struct refs r = {.s = s};
	ret = each_record(s, refs_one, &r, err);
	if (ret == 0) {
		ret = gc_layers(s, &r, out, err);
	}
	if (ret == 0) {
		ret = gc_blobs(s, &r, out, err);
	}
	arena_free(&r.a);
	return ret;
}

int store_mount_rootfs(const struct store_image *img, const char *upper, const char *work, const char *target,
		       unsigned long flags, struct berr *err)
{
	return overlay_mount(img->layer_dirs, img->nlayers, upper, work, target, flags, err);
}
