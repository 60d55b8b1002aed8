/* Image archive JSON documents (see imgjson.h), with json-c in strict
 * mode. Strings are copied into the caller's arena before the parse tree
 * is freed; nothing returned points into json-c memory. */
#include "image/imgjson.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

struct jctx {
	const char *what; /* the document, for messages */
	struct arena *a;
	struct berr *err;
};

static const char *const index_types[] = {
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
};
static const char *const manifest_types[] = {
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
};
static const char *const config_types[] = {
	"application/vnd.oci.image.config.v1+json",
	"application/vnd.docker.container.image.v1+json",
};
/* Compression is detected from the data itself; these only say "layer". */
static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(s, list[i]) == 0) {
			return 1;
		}
	}
	return 0;
}

#define IN_LIST(s, list) in_list((s), (list), sizeof(list) / sizeof((list)[0]))

enum imgjson_kind imgjson_media_kind(const char *media_type)
{
	if (IN_LIST(media_type, index_types)) {
		return IMGJSON_INDEX;
	}
	if (IN_LIST(media_type, manifest_types)) {
		return IMGJSON_MANIFEST;
	}
	if (IN_LIST(media_type, config_types)) {
		return IMGJSON_CONFIG;
	}
	if (IN_LIST(media_type, layer_types)) {
		return IMGJSON_LAYER;
	}
	return IMGJSON_OTHER;
}

int imgjson_check_digest(const char *digest, const char *what, struct berr *err)
{
	const char *colon = strchr(digest, ':');
	if (colon == NULL) {
		return berr_setx(err, EINVAL, "%s: digest '%.80s' has no algorithm", what, digest);
	}
	if ((size_t)(colon - digest) != 6 || memcmp(digest, "sha256", 6) != 0) {
		return berr_setx(err, ENOTSUP, "%s: digest algorithm '%.*s' is not supported (only sha256)", what,
				 (int)((colon - digest) > 32 ? 32 : (colon - digest)), digest);
	}
	const char *hex = colon + 1;
	size_t n = strlen(hex);
	for (size_t i = 0; i < n; i++) {
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'))) {
			n = 0;
			break;
		}
	}
	if (n != 64) {
		return berr_setx(err, EINVAL, "%s: malformed sha256 digest '%.80s'", what, digest);
	}
	return 0;
}

static void json_putp(json_object **o)
{
	json_object_put(*o);
}

#define auto_json __attribute__((cleanup(json_putp)))

static int parse_doc(const char *data, size_t len, struct jctx *x, json_object **out)
{
	*out = NULL;
	if (len > IMGJSON_MAX_DOC) {
		return berr_setx(x->err, EFBIG, "%s: larger than %u bytes", x->what, IMGJSON_MAX_DOC);
	}
	/* JSON text never holds a raw NUL; json-c would stop there. */
	if (memchr(data, '\0', len) != NULL) {
		return berr_setx(x->err, EINVAL, "%s: not JSON (NUL byte)", x->what);
	}
	json_tokener *tok = json_tokener_new();
	if (tok == NULL) {
		return berr_set(x->err, ENOMEM, "%s", x->what);
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *o = json_tokener_parse_ex(tok, data, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (o == NULL || jerr != json_tokener_success) {
		json_object_put(o);
		return berr_setx(x->err, EINVAL, "%s: invalid JSON: %s", x->what,
				 jerr == json_tokener_continue ? "truncated" : json_tokener_error_desc(jerr));
	}
	for (size_t i = end; i < len; i++) {
		if (data[i] != ' ' && data[i] != '\t' && data[i] != '\n' && data[i] != '\r') {
			json_object_put(o);
			return berr_setx(x->err, EINVAL, "%s: data after the JSON value", x->what);
		}
	}
	*out = o;
	return 0;
}

/* A string from the parse tree into the arena; NUL bytes are refused. */
static int copy_str(struct jctx *x, json_object *v, const char *field, const char **out)
{
	if (!json_object_is_type(v, json_type_string)) {
		return berr_setx(x->err, EINVAL, "%s: %s is not a string", x->what, field);
	}
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len) {
		return berr_setx(x->err, EINVAL, "%s: %s contains a NUL character", x->what, field);
	}
	char *copy = arena_strndup(x->a, s, len);
	if (copy == NULL) {
		return berr_set(x->err, ENOMEM, "%s", x->what);
	}
	*out = copy;
	return 0;
}

/* An optional string member: *out stays def when absent or null. */
static int opt_str(struct jctx *x, json_object *o, const char *key, const char *def, const char **out)
{
	json_object *v;
	*out = def;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
		return 0;
	}
	return copy_str(x, v, key, out);
}

static int req_object(struct jctx *x, json_object *o, const char *key, json_object **out)
{
	if (!json_object_object_get_ex(o, key, out) || !json_object_is_type(*out, json_type_object)) {
		return berr_setx(x->err, EINVAL, "%s: %s is missing or not an object", x->what, key);
	}
	return 0;
}

/* An array of strings (or null/absent: none), copied into the arena. */
static int str_array(struct jctx *x, json_object *v, const char *field, const char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (v == NULL) {
		return 0;
	}
	if (!json_object_is_type(v, json_type_array)) {
		return berr_setx(x->err, EINVAL, "%s: %s is not an array", x->what, field);
	}
	size_t len = json_object_array_length(v);
	const char **arr = arena_alloc(x->a, (len + 1) * sizeof(*arr));
	if (arr == NULL) {
		return berr_set(x->err, ENOMEM, "%s", x->what);
	}
	for (size_t i = 0; i < len; i++) {
		int ret = copy_str(x, json_object_array_get_idx(v, i), field, &arr[i]);
		if (ret < 0) {
			return ret;
		}
	}
	*out = arr;
	*n = len;
	return 0;
}

static int opt_str_array(struct jctx *x, json_object *o, const char *key, const char ***out, size_t *n)
{
	json_object *v = NULL;
	if (o == NULL || !json_object_object_get_ex(o, key, &v)) {
		v = NULL;
	}
	return str_array(x, v, key, out, n);
}

static int get_u64(struct jctx *x, json_object *v, const char *field, uint64_t *out)
{
	if (!json_object_is_type(v, json_type_int)) {
		return berr_setx(x->err, EINVAL, "%s: %s is not an integer", x->what, field);
	}
	errno = 0;
	int64_t n = json_object_get_int64(v);
	if (n < 0 || errno != 0) {
		return berr_setx(x->err, EINVAL, "%s: %s is out of range", x->what, field);
	}
	*out = (uint64_t)n;
	return 0;
}

static int annotation(struct jctx *x, json_object *ann, const char *key, const char **out)
{
	*out = NULL;
	if (ann == NULL) {
		return 0;
	}
	return opt_str(x, ann, key, NULL, out);
}

/* A descriptor; field names it in messages ("config", "layers[2]"), and
 * each member is named under it ("layers[2].digest"). */
static int parse_descriptor(struct jctx *x, json_object *o, const char *field, struct imgjson_descriptor *d)
{
	memset(d, 0, sizeof(*d));
	if (!json_object_is_type(o, json_type_object)) {
		return berr_setx(x->err, EINVAL, "%s: %s is not a descriptor object", x->what, field);
	}
	char name[64];
	snprintf(name, sizeof(name), "%s.mediaType", field);
	json_object *v;
	int ret = 0;
	d->media_type = "";
	if (json_object_object_get_ex(o, "mediaType", &v) && v != NULL) {
		ret = copy_str(x, v, name, &d->media_type);
	}
	if (ret < 0) {
		return ret;
	}
	d->kind = imgjson_media_kind(d->media_type);
	const char *digest;
	snprintf(name, sizeof(name), "%s.digest", field);
	if (!json_object_object_get_ex(o, "digest", &v)) {
		return berr_setx(x->err, EINVAL, "%s: %s is missing", x->what, name);
	}
	ret = copy_str(x, v, name, &digest);
	if (ret < 0) {
		return ret;
	}
	char what[300];
	snprintf(what, sizeof(what), "%s: %s", x->what, name);
	ret = imgjson_check_digest(digest, what, x->err);
	if (ret < 0) {
		return ret;
	}
	memcpy(d->digest, digest, strlen(digest) + 1);
	snprintf(name, sizeof(name), "%s.size", field);
	if (!json_object_object_get_ex(o, "size", &v)) {
		return berr_setx(x->err, EINVAL, "%s: %s is missing", x->what, name);
	}
	ret = get_u64(x, v, name, &d->size);
	if (ret < 0) {
		return ret;
	}
	d->os = "";
	d->architecture = "";
	d->variant = "";
	json_object *platform;
	if (json_object_object_get_ex(o, "platform", &platform) && platform != NULL) {
		if (!json_object_is_type(platform, json_type_object)) {
			return berr_setx(x->err, EINVAL, "%s: %s.platform is not an object", x->what, field);
		}
		d->has_platform = 1;
		static const char *const keys[] = {"os", "architecture", "variant"};
		const char **outs[] = {&d->os, &d->architecture, &d->variant};
		for (size_t i = 0; i < 3; i++) {
			snprintf(name, sizeof(name), "%s.platform.%s", field, keys[i]);
			if (json_object_object_get_ex(platform, keys[i], &v) && v != NULL) {
				ret = copy_str(x, v, name, outs[i]);
			}
			if (ret < 0) {
				return ret;
			}
		}
	}
	json_object *ann = NULL;
	if (json_object_object_get_ex(o, "annotations", &ann) && ann != NULL &&
	    !json_object_is_type(ann, json_type_object)) {
		return berr_setx(x->err, EINVAL, "%s: %s.annotations is not an object", x->what, field);
	}
	const char *reftype = NULL;
	ret = annotation(x, ann, "org.opencontainers.image.ref.name", &d->ref_name);
	if (ret == 0) {
		ret = annotation(x, ann, "io.containerd.image.name", &d->image_name);
	}
	if (ret == 0) {
		ret = annotation(x, ann, "vnd.docker.reference.type", &reftype);
	}
	if (ret < 0) {
		return ret;
	}
	d->attestation = reftype != NULL && strcmp(reftype, "attestation-manifest") == 0;
	return 0;
}

int imgjson_parse_index(const char *data, size_t len, const char *what, struct arena *a, struct imgjson_index *out,
			struct berr *err)
{
	struct jctx x = {what, a, err};
	memset(out, 0, sizeof(*out));
	auto_json json_object *o = NULL;
	int ret = parse_doc(data, len, &x, &o);
	if (ret < 0) {
		return ret;
	}
	json_object *m;
	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "manifests", &m) ||
	    !json_object_is_type(m, json_type_array)) {
		return berr_setx(err, EINVAL, "%s: not an image index (no manifests array)", what);
	}
	const char *media_type;
	ret = opt_str(&x, o, "mediaType", "", &media_type);
	if (ret == 0 && media_type[0] != '\0' && imgjson_media_kind(media_type) != IMGJSON_INDEX) {
		ret = berr_setx(err, EINVAL, "%s: media type %.100s is not an image index", what, media_type);
	}
	size_t n = json_object_array_length(m);
	if (ret == 0) {
		out->manifests = arena_alloc(a, (n + 1) * sizeof(*out->manifests));
		if (out->manifests == NULL) {
			ret = berr_set(err, ENOMEM, "%s", what);
		}
	}
	for (size_t i = 0; ret == 0 && i < n; i++) {
		char field[32];
		snprintf(field, sizeof(field), "manifests[%zu]", i);
		ret = parse_descriptor(&x, json_object_array_get_idx(m, i), field, &out->manifests[i]);
	}
	if (ret == 0) {
		out->nmanifests = n;
	}
	return ret;
}

int imgjson_parse_manifest(const char *data, size_t len, const char *what, struct arena *a,
			   struct imgjson_manifest *out, struct berr *err)
{
	struct jctx x = {what, a, err};
	memset(out, 0, sizeof(*out));
	auto_json json_object *o = NULL;
	int ret = parse_doc(data, len, &x, &o);
	if (ret < 0) {
		return ret;
	}
	json_object *cfg = NULL;
	json_object *layers = NULL;
	if (!json_object_is_type(o, json_type_object)) {
		return berr_setx(err, EINVAL, "%s: not an image manifest", what);
	}
	const char *media_type;
	ret = opt_str(&x, o, "mediaType", "", &media_type);
	if (ret == 0 && media_type[0] != '\0' && imgjson_media_kind(media_type) != IMGJSON_MANIFEST) {
		ret = berr_setx(err, EINVAL, "%s: media type %.100s is not an image manifest", what, media_type);
	}
	if (ret == 0 && !json_object_object_get_ex(o, "config", &cfg)) {
		ret = berr_setx(err, EINVAL, "%s: not an image manifest (config is missing)", what);
	}
	if (ret == 0 &&
	    (!json_object_object_get_ex(o, "layers", &layers) || !json_object_is_type(layers, json_type_array))) {
		ret = berr_setx(err, EINVAL, "%s: not an image manifest (layers is missing or not an array)", what);
	}
	if (ret == 0) {
		ret = parse_descriptor(&x, cfg, "config", &out->config);
	}
	if (ret == 0 && out->config.kind != IMGJSON_CONFIG) {
		ret = berr_setx(err, EINVAL, "%s: config.mediaType '%.100s' is not a container image config", what,
				out->config.media_type);
	}
	size_t n = ret == 0 ? json_object_array_length(layers) : 0;
	if (n > IMGJSON_MAX_LAYERS) {
		ret = berr_setx(err, EINVAL, "%s: %zu layers (at most %d)", what, n, IMGJSON_MAX_LAYERS);
	}
	if (ret == 0) {
		out->layers = arena_alloc(a, (n + 1) * sizeof(*out->layers));
		if (out->layers == NULL) {
			ret = berr_set(err, ENOMEM, "%s", what);
		}
	}
	for (size_t i = 0; ret == 0 && i < n; i++) {
		struct imgjson_descriptor *d = &out->layers[i];
		char field[32];
		snprintf(field, sizeof(field), "layers[%zu]", i);
		ret = parse_descriptor(&x, json_object_array_get_idx(layers, i), field, d);
		if (ret == 0 && d->kind != IMGJSON_LAYER) {
			ret = berr_setx(err, ENOTSUP,
					"%s: layer %zu has unsupported media type '%.100s' (%s.mediaType)", what, i + 1,
					d->media_type, field);
		}
	}
	if (ret == 0) {
		out->nlayers = n;
	}
	return ret;
}

int imgjson_parse_docker_manifest(const char *data, size_t len, const char *what, struct arena *a,
				  struct imgjson_docker_image **out, size_t *n, struct berr *err)
{
	struct jctx x = {what, a, err};
	*out = NULL;
	*n = 0;
	auto_json json_object *o = NULL;
	int ret = parse_doc(data, len, &x, &o);
	if (ret < 0) {
		return ret;
	}
	if (!json_object_is_type(o, json_type_array)) {
		return berr_setx(err, EINVAL, "%s: not a docker save manifest (not an array)", what);
	}
	size_t count = json_object_array_length(o);
	struct imgjson_docker_image *imgs = arena_alloc(a, (count + 1) * sizeof(*imgs));
	if (imgs == NULL) {
		return berr_set(err, ENOMEM, "%s", what);
	}
	for (size_t i = 0; ret == 0 && i < count; i++) {
		json_object *e = json_object_array_get_idx(o, i);
		json_object *v;
		if (!json_object_is_type(e, json_type_object)) {
			ret = berr_setx(err, EINVAL, "%s: entry %zu is not an object", what, i + 1);
			break;
		}
		if (!json_object_object_get_ex(e, "Config", &v)) {
			ret = berr_setx(err, EINVAL, "%s: entry %zu has no Config", what, i + 1);
			break;
		}
		ret = copy_str(&x, v, "Config", &imgs[i].config);
		if (ret == 0) {
			ret = opt_str_array(&x, e, "RepoTags", &imgs[i].repo_tags, &imgs[i].nrepo_tags);
		}
		if (ret == 0) {
			if (!json_object_object_get_ex(e, "Layers", &v) || !json_object_is_type(v, json_type_array)) {
				ret = berr_setx(err, EINVAL, "%s: entry %zu has no Layers array", what, i + 1);
			} else {
				ret = str_array(&x, v, "Layers", &imgs[i].layers, &imgs[i].nlayers);
			}
		}
		if (ret == 0 && imgs[i].nlayers > IMGJSON_MAX_LAYERS) {
			ret = berr_setx(err, EINVAL, "%s: entry %zu has %zu layers (at most %d)", what, i + 1,
					imgs[i].nlayers, IMGJSON_MAX_LAYERS);
		}
	}
	if (ret == 0) {
		*out = imgs;
		*n = count;
	}
	return ret;
}

/* The keys of an object ({"80/tcp": {}} -> "80/tcp"). */
static int object_keys(struct jctx *x, json_object *o, const char *key, char ***out, size_t *n)
{
	json_object *v;
	*out = NULL;
	*n = 0;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
		return 0;
	}
	if (!json_object_is_type(v, json_type_object)) {
		return berr_setx(x->err, EINVAL, "%s: config.%s is not an object", x->what, key);
	}
	size_t count = (size_t)json_object_object_length(v);
	char **keys = arena_alloc(x->a, (count + 1) * sizeof(*keys));
	if (keys == NULL) {
		return berr_set(x->err, ENOMEM, "%s", x->what);
	}
	size_t i = 0;
	json_object_object_foreach(v, k, val)
	{
		(void)val;
		keys[i] = arena_strdup(x->a, k);
		if (keys[i] == NULL) {
			return berr_set(x->err, ENOMEM, "%s", x->what);
		}
		i++;
	}
	*out = keys;
	*n = i;
	return 0;
}

static int labels(struct jctx *x, json_object *o, struct image_config *cfg)
{
	json_object *v;
	if (!json_object_object_get_ex(o, "Labels", &v) || v == NULL) {
		return 0;
	}
	if (!json_object_is_type(v, json_type_object)) {
		return berr_setx(x->err, EINVAL, "%s: config.Labels is not an object", x->what);
	}
	size_t count = (size_t)json_object_object_length(v);
	cfg->label_keys = arena_alloc(x->a, (count + 1) * sizeof(char *));
	cfg->label_values = arena_alloc(x->a, (count + 1) * sizeof(char *));
	if (cfg->label_keys == NULL || cfg->label_values == NULL) {
		return berr_set(x->err, ENOMEM, "%s", x->what);
	}
	size_t i = 0;
	json_object_object_foreach(v, k, val)
	{
		const char *s;
		int ret = copy_str(x, val, "config.Labels value", &s);
		if (ret < 0) {
			return ret;
		}
		cfg->label_keys[i] = arena_strdup(x->a, k);
		cfg->label_values[i] = (char *)s;
		if (cfg->label_keys[i] == NULL) {
			return berr_set(x->err, ENOMEM, "%s", x->what);
		}
		i++;
	}
	cfg->nlabels = i;
	return 0;
}

static int duration(struct jctx *x, json_object *hc, const char *key, int64_t *out)
{
	json_object *v;
	*out = 0;
	if (!json_object_object_get_ex(hc, key, &v) || v == NULL) {
		return 0;
	}
	uint64_t n;
	char field[64];
	if (snprintf(field, sizeof(field), "config.Healthcheck.%s", key) < 0) {
		field[0] = '\0';
	}
	int ret = get_u64(x, v, field, &n);
	if (ret < 0) {
		return ret;
	}
	*out = (int64_t)n;
	return 0;
}

static int healthcheck(struct jctx *x, json_object *o, struct image_config *cfg)
{
	json_object *hc;
	if (!json_object_object_get_ex(o, "Healthcheck", &hc) || hc == NULL) {
		return 0;
	}
	if (!json_object_is_type(hc, json_type_object)) {
		return berr_setx(x->err, EINVAL, "%s: config.Healthcheck is not an object", x->what);
	}
	struct image_healthcheck *h = &cfg->healthcheck;
	const char **test;
	int ret = opt_str_array(x, hc, "Test", &test, &h->ntest);
	if (ret < 0) {
		return ret;
	}
	h->test = (char **)test;
	ret = duration(x, hc, "Interval", &h->interval_ns);
	if (ret == 0) {
		ret = duration(x, hc, "Timeout", &h->timeout_ns);
	}
	if (ret == 0) {
		ret = duration(x, hc, "StartPeriod", &h->start_period_ns);
	}
	if (ret < 0) {
		return ret;
	}
	json_object *v;
	if (json_object_object_get_ex(hc, "Retries", &v) && v != NULL) {
		uint64_t n;
		ret = get_u64(x, v, "config.Healthcheck.Retries", &n);
		if (ret < 0) {
			return ret;
		}
		if (n > 1000000) {
			return berr_setx(x->err, EINVAL, "%s: config.Healthcheck.Retries is out of range", x->what);
		}
		h->retries = (int)n;
	}
	cfg->has_healthcheck = 1;
	return 0;
}

/* Empty strings mean "the default" in Docker's config: NULL here. */
static int opt_nonempty(struct jctx *x, json_object *o, const char *key, char **out)
{
	const char *s;
	int ret = opt_str(x, o, key, NULL, &s);
	if (ret < 0) {
		return ret;
	}
	*out = s != NULL && s[0] != '\0' ? (char *)s : NULL;
	return 0;
}

static int runtime_config(struct jctx *x, json_object *root, struct image_config *cfg)
{
	json_object *o;
	if (!json_object_object_get_ex(root, "config", &o) || o == NULL) {
		return 0;
	}
	if (!json_object_is_type(o, json_type_object)) {
		return berr_setx(x->err, EINVAL, "%s: config is not an object", x->what);
	}
	const char **arr;
	size_t n;
	int ret = opt_str_array(x, o, "Entrypoint", &arr, &n);
	cfg->entrypoint = (char **)arr;
	cfg->nentrypoint = n;
	if (ret == 0) {
		ret = opt_str_array(x, o, "Cmd", &arr, &n);
		cfg->cmd = (char **)arr;
		cfg->ncmd = n;
	}
	if (ret == 0) {
		ret = opt_str_array(x, o, "Env", &arr, &n);
		cfg->env = (char **)arr;
		cfg->nenv = n;
	}
	if (ret == 0) {
		ret = opt_nonempty(x, o, "WorkingDir", &cfg->working_dir);
	}
	if (ret == 0) {
		ret = opt_nonempty(x, o, "User", &cfg->user);
	}
	if (ret == 0) {
		ret = opt_nonempty(x, o, "StopSignal", &cfg->stop_signal);
	}
	if (ret == 0) {
		ret = object_keys(x, o, "Volumes", &cfg->volumes, &cfg->nvolumes);
	}
	if (ret == 0) {
		ret = object_keys(x, o, "ExposedPorts", &cfg->exposed_ports, &cfg->nexposed_ports);
	}
	if (ret == 0) {
		ret = labels(x, o, cfg);
	}
	if (ret == 0) {
		ret = healthcheck(x, o, cfg);
	}
	return ret;
}

static int config_meta(struct jctx *x, json_object *root, struct imgjson_config_meta *meta)
{
	json_object *rootfs;
	json_object *ids;
	int ret = req_object(x, root, "rootfs", &rootfs);
	if (ret < 0) {
		return ret;
	}
	const char *type;
	ret = opt_str(x, rootfs, "type", "", &type);
	if (ret < 0) {
		return ret;
	}
	if (strcmp(type, "layers") != 0) {
		return berr_setx(x->err, EINVAL, "%s: rootfs.type is '%.40s', not 'layers'", x->what, type);
	}
	if (!json_object_object_get_ex(rootfs, "diff_ids", &ids) || !json_object_is_type(ids, json_type_array)) {
		return berr_setx(x->err, EINVAL, "%s: rootfs.diff_ids is missing or not an array", x->what);
	}
	size_t n = json_object_array_length(ids);
	if (n > IMGJSON_MAX_LAYERS) {
		return berr_setx(x->err, EINVAL, "%s: %zu layers (at most %d)", x->what, n, IMGJSON_MAX_LAYERS);
	}
	meta->diff_ids = arena_alloc(x->a, (n + 1) * sizeof(*meta->diff_ids));
	if (meta->diff_ids == NULL) {
		return berr_set(x->err, ENOMEM, "%s", x->what);
	}
	for (size_t i = 0; i < n; i++) {
		const char *id;
		char field[40];
		char what[300];
		snprintf(field, sizeof(field), "rootfs.diff_ids[%zu]", i);
		snprintf(what, sizeof(what), "%s: %s", x->what, field);
		ret = copy_str(x, json_object_array_get_idx(ids, i), field, &id);
		if (ret == 0) {
			ret = imgjson_check_digest(id, what, x->err);
		}
		if (ret < 0) {
			return ret;
		}
		memcpy(meta->diff_ids[i], id, strlen(id) + 1);
	}
	meta->ndiff_ids = n;
	ret = opt_str(x, root, "created", "", &meta->created);
	if (ret == 0) {
		ret = opt_str(x, root, "os", "", &meta->os);
	}
	if (ret == 0) {
		ret = opt_str(x, root, "architecture", "", &meta->architecture);
	}
	if (ret == 0) {
		ret = opt_str(x, root, "variant", "", &meta->variant);
	}
	return ret;
}

int imgjson_parse_config(const char *data, size_t len, const char *what, struct arena *a,
			 struct imgjson_config_meta *meta, struct image_config *cfg, struct berr *err)
{
	struct jctx x = {what, a, err};
	struct imgjson_config_meta scratch_meta;
	struct image_config scratch_cfg;
	if (meta == NULL) {
		meta = &scratch_meta;
	}
	if (cfg == NULL) {
		cfg = &scratch_cfg;
	}
	memset(meta, 0, sizeof(*meta));
	memset(cfg, 0, sizeof(*cfg));
	auto_json json_object *o = NULL;
	int ret = parse_doc(data, len, &x, &o);
	if (ret < 0) {
		return ret;
	}
	if (!json_object_is_type(o, json_type_object)) {
		return berr_setx(err, EINVAL, "%s: not an image config", what);
	}
	ret = config_meta(&x, o, meta);
	if (ret == 0) {
		ret = runtime_config(&x, o, cfg);
	}
	return ret;
}

int imgjson_select_platform(const struct imgjson_index *idx, const char *arch, const char *what, struct berr *err)
{
	char seen[256] = "";
	size_t len = 0;
	for (size_t i = 0; i < idx->nmanifests; i++) {
		const struct imgjson_descriptor *m = &idx->manifests[i];
		if (m->attestation || (m->kind != IMGJSON_MANIFEST && m->kind != IMGJSON_INDEX)) {
			continue;
		}
		if (!m->has_platform || (strcmp(m->os, "linux") == 0 && strcmp(m->architecture, arch) == 0)) {
			return (int)i;
		}
		if (len + 80 < sizeof(seen)) {
			int n = snprintf(seen + len, sizeof(seen) - len, "%s%.30s/%.30s%s%.10s", len > 0 ? ", " : "",
					 m->os, m->architecture, m->variant[0] != '\0' ? "/" : "", m->variant);
			len += n > 0 ? (size_t)n : 0;
		}
	}
	return berr_setx(err, ENOENT, "%s has no image for linux/%s (it has: %s)", what, arch, len > 0 ? seen : "none");
}
