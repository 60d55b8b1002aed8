/* Writes images of the store as one archive (see store_save in store.h):
 * an OCI image layout in a tar, with Docker's manifest.json beside it.
 * The config and the layers are the store's blobs byte for byte, so the
 * image keeps its ID and every digest; the manifests are made anew (the
 * image's own manifest is not kept), with each layer's media type told by
 * its first bytes. The tar is ustar, regular files only, every time and
 * owner zero: the same images give the same bytes. */
#include "image/store.h"
#include "image/tarw.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "image/imgref.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/sha256.h"

/* A regular member of the archive: mode 0644, owned by root, time 0. */
static int tar_member(int fd, const char *name, uint64_t size, struct berr *err)
{
	const struct tarw_entry e = {.type = '0', .path = name, .size = size, .mode = 0644};
	return tarw_header(fd, &e, err);
}

static int tar_data(int fd, const char *name, const void *data, size_t len, struct berr *err)
{
	int ret = tar_member(fd, name, len, err);
	if (ret == 0 && write_all(fd, data, len) < 0) {
		ret = berr_set(err, errno, "save: write");
	}
	return ret < 0 ? ret : tarw_pad(fd, len, err);
}

/* A blob of the store as blobs/sha256/<hex>, once per archive. */
static int tar_blob(struct store *s, int fd, const char *digest, json_object *written, struct berr *err)
{
	json_object *seen;
	if (json_object_object_get_ex(written, digest, &seen)) {
		return 0;
	}
	uint64_t size = 0;
	auto_close int in = store_open_blob(s, digest, &size, err);
	if (in < 0) {
		return in;
	}
	char name[100];
	snprintf(name, sizeof(name), "blobs/sha256/%.64s", digest + 7);
	int ret = tar_member(fd, name, size, err);
	if (ret == 0) {
		ret = tarw_copy(fd, in, size, name, err);
	}
	json_object_object_add(written, digest, json_object_new_boolean(1));
	return ret;
}

/* The media type of a layer blob, by its first bytes. */
static const char *layer_media(struct store *s, const char *digest, uint64_t *size, struct berr *err)
{
	auto_close int fd = store_open_blob(s, digest, size, err);
	if (fd < 0) {
		return NULL;
	}
	unsigned char m[4] = {0};
	ssize_t n = pread(fd, m, sizeof(m), 0);
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
		return "application/vnd.oci.image.layer.v1.tar+gzip";
	}
	if (n == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) {
		return "application/vnd.oci.image.layer.v1.tar+zstd";
	}
	return "application/vnd.oci.image.layer.v1.tar";
}

static json_object *descriptor(const char *media, const char *digest, uint64_t size)
{
	json_object *d = json_object_new_object();
	json_object_object_add(d, "mediaType", json_object_new_string(media));
	json_object_object_add(d, "digest", json_object_new_string(digest));
	json_object_object_add(d, "size", json_object_new_int64((int64_t)size));
	return d;
}

static const char *json_text(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* One image: its blobs into the tar, its entries into index and docker. */
static int save_one(struct store *s, int fd, const char *ref, json_object *index, json_object *docker,
		    json_object *written, struct berr *err)
{
	struct arena a = {0};
	struct store_image_parts parts;
	int ret = store_image_parts(s, ref, &a, &parts, err);
	json_object *layers = json_object_new_array();
	json_object *dlayers = json_object_new_array();
	uint64_t cfg_size = 0;
	if (ret == 0) {
		int cfd = store_open_blob(s, parts.id, &cfg_size, err);
		ret = cfd < 0 ? cfd : 0;
		if (cfd >= 0) {
			close(cfd);
		}
	}
	for (size_t i = 0; ret == 0 && i < parts.nlayers; i++) {
		uint64_t size = 0;
		const char *media = parts.blobs[i][0] != '\0' ? layer_media(s, parts.blobs[i], &size, err) : NULL;
		if (media == NULL) {
			ret = berr_setx(err, ENOENT,
					"save %s: the blob of layer %zu is not in this store (a host's store keeps "
					"unpacked layers only); pull or load the image into a store made with --root",
					ref, i + 1);
			break;
		}
		json_object_array_add(layers, descriptor(media, parts.blobs[i], size));
		char member[100];
		snprintf(member, sizeof(member), "blobs/sha256/%.64s", parts.blobs[i] + 7);
		json_object_array_add(dlayers, json_object_new_string(member));
		ret = tar_blob(s, fd, parts.blobs[i], written, err);
	}
	if (ret == 0) {
		ret = tar_blob(s, fd, parts.id, written, err);
	}
	if (ret == 0) {
		json_object *m = json_object_new_object();
		json_object_object_add(m, "schemaVersion", json_object_new_int(2));
		json_object_object_add(m, "mediaType",
				       json_object_new_string("application/vnd.oci.image.manifest.v1+json"));
		json_object_object_add(m, "config",
				       descriptor("application/vnd.oci.image.config.v1+json", parts.id, cfg_size));
		json_object_object_add(m, "layers", json_object_get(layers));
		const char *text = json_text(m);
		size_t len = strlen(text);
		char hex[SHA256_HEX_LEN + 1];
		sha256_hex(text, len, hex);
		char digest[STORE_ID_SIZE];
		char member[100];
		snprintf(digest, sizeof(digest), "sha256:%s", hex);
		snprintf(member, sizeof(member), "blobs/sha256/%s", hex);
		json_object *seen;
		if (!json_object_object_get_ex(written, digest, &seen)) {
			ret = tar_data(fd, member, text, len, err);
			json_object_object_add(written, digest, json_object_new_boolean(1));
		}
		json_object_put(m);
		/* One index entry per name (a tag each); one without a name for an
		 * image that has none. */
		json_object *tags = json_object_new_array();
		for (size_t k = 0; ret == 0 && k < (parts.nnames > 0 ? parts.nnames : 1); k++) {
			json_object *d = descriptor("application/vnd.oci.image.manifest.v1+json", digest, len);
			if (parts.nnames > 0) {
				struct imgref r;
				json_object *ann = json_object_new_object();
				if (imgref_parse(parts.names[k], &r, err) == 0) {
					char full[sizeof(r.domain) + sizeof(r.path) + sizeof(r.tag) + sizeof(r.digest) +
						  4];
					snprintf(full, sizeof(full), "%s/%s%s%s", r.domain, r.path,
						 r.digest[0] != '\0' ? "@" : ":",
						 r.digest[0] != '\0' ? r.digest : r.tag);
					json_object_object_add(ann, "io.containerd.image.name",
							       json_object_new_string(full));
					if (r.digest[0] == '\0') {
						json_object_object_add(ann, "org.opencontainers.image.ref.name",
								       json_object_new_string(r.tag));
						json_object_array_add(tags, json_object_new_string(parts.names[k]));
					}
				}
				berr_clear(err);
				json_object_object_add(d, "annotations", ann);
			}
			json_object_array_add(index, d);
		}
		json_object *entry = json_object_new_object();
		char cfg_member[100];
		snprintf(cfg_member, sizeof(cfg_member), "blobs/sha256/%.64s", parts.id + 7);
		json_object_object_add(entry, "Config", json_object_new_string(cfg_member));
		json_object_object_add(entry, "RepoTags", tags);
		json_object_object_add(entry, "Layers", json_object_get(dlayers));
		json_object_array_add(docker, entry);
	}
	json_object_put(layers);
	json_object_put(dlayers);
	arena_free(&a);
	return ret;
}

int store_save(struct store *s, const char *const *refs, size_t n, int fd, struct berr *err)
{
	json_object *manifests = json_object_new_array();
	json_object *docker = json_object_new_array();
	json_object *written = json_object_new_object();
	int ret = 0;
	for (size_t i = 0; ret == 0 && i < n; i++) {
		ret = save_one(s, fd, refs[i], manifests, docker, written, err);
	}
	if (ret == 0) {
		static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
		json_object *index = json_object_new_object();
		json_object_object_add(index, "schemaVersion", json_object_new_int(2));
		json_object_object_add(index, "mediaType",
				       json_object_new_string("application/vnd.oci.image.index.v1+json"));
		json_object_object_add(index, "manifests", json_object_get(manifests));
		const char *text = json_text(index);
		ret = tar_data(fd, "oci-layout", layout, sizeof(layout) - 1, err);
		if (ret == 0) {
			ret = tar_data(fd, "index.json", text, strlen(text), err);
		}
		if (ret == 0) {
			text = json_text(docker);
			ret = tar_data(fd, "manifest.json", text, strlen(text), err);
		}
		json_object_put(index);
	}
	if (ret == 0) {
		ret = tarw_end(fd, err);
	}
	json_object_put(manifests);
	json_object_put(docker);
	json_object_put(written);
	return ret;
}
