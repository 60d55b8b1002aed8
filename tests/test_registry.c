/* The registry client's pure logic: WWW-Authenticate challenges, token
 * answers, references by Docker's rules, manifest responses and the
 * choice of a platform from an index, credential files; and the store's
 * side of a pull: layers from any byte stream, a blob that does not match
 * its digest leaving nothing behind, the image published last, blobs kept
 * and saved. The network half is tested against a real registry in
 * qemu-tests/test_registry.py. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "image/imgjson.h"
#include "image/imgref.h"
#include "image/store.h"
#include "lib/sha256.h"
#include "registry/creds.h"
#include "registry/regparse.h"

/* ---- challenges ---------------------------------------------------------------- */

static void test_challenges(void)
{
	struct reg_challenge ch;
	struct berr err = {0};
	const char *hub = "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
			  "scope=\"repository:library/busybox:pull\"";
	CHECK_EQ_INT(reg_parse_challenge(hub, strlen(hub), &ch, &err), 0);
	CHECK(ch.scheme == REG_SCHEME_BEARER);
	CHECK(strcmp(ch.realm, "https://auth.docker.io/token") == 0);
	CHECK(strcmp(ch.service, "registry.docker.io") == 0);
	CHECK(strcmp(ch.scope, "repository:library/busybox:pull") == 0);

	/* Case, spaces, a token value, an escape, an unknown parameter. */
	const char *odd = "bearer  Realm = \"https://r.example/t?x=1\" , service=reg , foo=\"a\\\"b\", "
			  "error=\"insufficient_scope\"";
	CHECK_EQ_INT(reg_parse_challenge(odd, strlen(odd), &ch, &err), 0);
	CHECK(ch.scheme == REG_SCHEME_BEARER && strcmp(ch.realm, "https://r.example/t?x=1") == 0);
	CHECK(strcmp(ch.service, "reg") == 0 && strcmp(ch.error, "insufficient_scope") == 0);

	/* Basic; Bearer is taken over Basic whatever the order. */
	const char *basic = "Basic realm=\"Registry Realm\"";
	CHECK_EQ_INT(reg_parse_challenge(basic, strlen(basic), &ch, &err), 0);
	CHECK(ch.scheme == REG_SCHEME_BASIC && strcmp(ch.realm, "Registry Realm") == 0);
	const char *both = "Basic realm=\"x\", Bearer realm=\"https://t/\",service=\"s\"";
	CHECK_EQ_INT(reg_parse_challenge(both, strlen(both), &ch, &err), 0);
	CHECK(ch.scheme == REG_SCHEME_BEARER && strcmp(ch.realm, "https://t/") == 0 && strcmp(ch.service, "s") == 0);

	/* Refused: no usable scheme, a realm that is no URL, an open quote,
	 * a control character. */
	const char *bad[] = {"Negotiate",
			     "Bearer realm=\"file:///etc/passwd\"",
			     "Bearer realm=\"https://x",
			     "Bearer realm=\"https://x\x01\"",
			     ",,,",
			     "=x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(reg_parse_challenge(bad[i], strlen(bad[i]), &ch, &err) < 0);
	}
	/* A value too long for its field is an error, not a cut scope. */
	char longscope[3000];
	int n = snprintf(longscope, sizeof(longscope), "Bearer realm=\"https://t/\",scope=\"");
	memset(longscope + n, 'a', 2000);
	snprintf(longscope + n + 2000, sizeof(longscope) - (size_t)n - 2000, "\"");
	CHECK(reg_parse_challenge(longscope, strlen(longscope), &ch, &err) < 0);
}

static void test_tokens(void)
{
	char token[REG_TOKEN_MAX];
	long expires;
	struct berr err = {0};
	const char *a = "{\"token\":\"abc.def.ghi\",\"expires_in\":300,\"issued_at\":\"2024-01-01T00:00:00Z\"}";
	CHECK_EQ_INT(reg_parse_token(a, strlen(a), token, sizeof(token), &expires, &err), 0);
	CHECK(strcmp(token, "abc.def.ghi") == 0 && expires == 300);
	const char *b = "{\"access_token\":\"xyz\"}";
	CHECK_EQ_INT(reg_parse_token(b, strlen(b), token, sizeof(token), &expires, &err), 0);
	CHECK(strcmp(token, "xyz") == 0 && expires == 60);
	const char *bad[] = {"{}",
			     "[]",
			     "{\"token\":\"\"}",
			     "{\"token\":5}",
			     "{\"token\":\"a b\"}",
			     "{\"token\":\"a\\r\\nX-Evil: 1\"}",
			     "not json",
			     "{\"token\":\"a\\u0000b\"}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(reg_parse_token(bad[i], strlen(bad[i]), token, sizeof(token), &expires, &err) < 0);
	}
	char esc[64];
	reg_url_escape("repository:a/b:pull,push", esc, sizeof(esc));
	CHECK(strcmp(esc, "repository%3Aa%2Fb%3Apull%2Cpush") == 0);
}

/* ---- references ------------------------------------------------------------------- */

static void test_references(void)
{
	static const struct {
		const char *in;
		const char *domain;
		const char *path;
		const char *tag;
		const char *canonical;
	} ok[] = {
		{"busybox", "docker.io", "library/busybox", "latest", "busybox:latest"},
		{"busybox:1.36", "docker.io", "library/busybox", "1.36", "busybox:1.36"},
		{"library/busybox", "docker.io", "library/busybox", "latest", "busybox:latest"},
		{"docker.io/library/busybox", "docker.io", "library/busybox", "latest", "busybox:latest"},
		{"index.docker.io/user/app:v2", "docker.io", "user/app", "v2", "user/app:v2"},
		{"user/app", "docker.io", "user/app", "latest", "user/app:latest"},
		{"ghcr.io/org/team/app:1.2.3", "ghcr.io", "org/team/app", "1.2.3", "ghcr.io/org/team/app:1.2.3"},
		{"localhost/app", "localhost", "app", "latest", "localhost/app:latest"},
		{"localhost:5000/app:dev", "localhost:5000", "app", "dev", "localhost:5000/app:dev"},
		{"127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b", "latest", "127.0.0.1:5000/a/b:latest"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct imgref r;
		struct berr err = {0};
		CHECK_EQ_INT(imgref_parse(ok[i].in, &r, &err), 0);
		CHECK(strcmp(r.domain, ok[i].domain) == 0);
		CHECK(strcmp(r.path, ok[i].path) == 0);
		CHECK(strcmp(r.tag, ok[i].tag) == 0);
		CHECK(strcmp(r.canonical, ok[i].canonical) == 0);
		CHECK(r.digest[0] == '\0');
	}
	/* A digest wins over the tag. */
	const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char in[300];
	snprintf(in, sizeof(in), "ghcr.io/o/a:1@%s", d);
	struct imgref r;
	struct berr err = {0};
	CHECK_EQ_INT(imgref_parse(in, &r, &err), 0);
	CHECK(strcmp(r.digest, d) == 0 && strcmp(r.path, "o/a") == 0);
	char want[300];
	snprintf(want, sizeof(want), "ghcr.io/o/a@%s", d);
	CHECK(strcmp(r.canonical, want) == 0);
	snprintf(in, sizeof(in), "busybox@%s", d);
	CHECK_EQ_INT(imgref_parse(in, &r, &err), 0);
	snprintf(want, sizeof(want), "busybox@%s", d);
	CHECK(strcmp(r.canonical, want) == 0 && strcmp(r.path, "library/busybox") == 0);

	const char *bad[] = {"",   "UPPER/case", "a@sha256:short",  "a@md5:0123", "a:b:c/d",
			     "-a", "a//b",	 "host:99999999/x", ":tag",	  "a:"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(imgref_parse(bad[i], &r, &err) < 0);
	}
}

/* ---- manifests and platforms ------------------------------------------------------ */

#define DG(c) "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

static const char INDEX[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":["
	"{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DG(
		"aa") "\",\"size\":10,"
		      "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
		      "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DG(
			      "bb") "\",\"size\":10,"
				    "\"annotations\":{\"vnd.docker.reference.type\":\"attestation-manifest\"},"
				    "\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}},"
				    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"" DG(
					    "cc") "\",\"size\":10,"
						  "\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}},"
						  "{\"mediaType\":\"application/"
						  "vnd.oci.image.manifest.v1+json\",\"digest\":\"" DG(
							  "dd") "\",\"size\":10,"
								"\"platform\":{\"os\":\"linux\",\"architecture\":"
								"\"amd64\"}}]}";

static const char MANIFEST[] =
	"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\","
	"\"digest\":\"" DG("ee") "\",\"size\":5},\"layers\":[{\"mediaType\":"
				 "\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"" DG(
					 "ff") "\",\"size\":7}]}";

static void test_manifests(void)
{
	struct arena a = {0};
	struct reg_manifest m;
	struct berr err = {0};
	/* By Content-Type; by the document's own mediaType when the type is
	 * generic; by its shape when it says nothing. */
	CHECK_EQ_INT(reg_parse_manifest("application/vnd.oci.image.index.v1+json", INDEX, strlen(INDEX), "idx", &a, &m,
					&err),
		     0);
	CHECK(m.kind == IMGJSON_INDEX && m.index.nmanifests == 4);
	CHECK_EQ_INT(reg_parse_manifest("application/json; charset=utf-8", INDEX, strlen(INDEX), "idx", &a, &m, &err),
		     0);
	CHECK(m.kind == IMGJSON_INDEX);
	CHECK_EQ_INT(reg_parse_manifest(NULL, MANIFEST, strlen(MANIFEST), "m", &a, &m, &err), 0);
	CHECK(m.kind == IMGJSON_MANIFEST && m.manifest.nlayers == 1 &&
	      strcmp(m.manifest.layers[0].digest, DG("ff")) == 0);
	CHECK_EQ_INT(reg_parse_manifest("application/vnd.docker.distribution.manifest.v2+json", MANIFEST,
					strlen(MANIFEST), "m", &a, &m, &err),
		     0);

	/* The platform: linux/amd64, past arm64, the attestation and windows. */
	CHECK_EQ_INT(reg_parse_manifest(NULL, INDEX, strlen(INDEX), "idx", &a, &m, &err), 0);
	CHECK_EQ_INT(imgjson_select_platform(&m.index, "amd64", "idx", &err), 3);
	CHECK_EQ_INT(imgjson_select_platform(&m.index, "arm64", "idx", &err), 0);
	CHECK(imgjson_select_platform(&m.index, "riscv64", "busybox:1", &err) == -ENOENT);
	CHECK_STR_CONTAINS(
		err.msg,
		"busybox:1 has no image for linux/riscv64 (it has: linux/arm64/v8, windows/amd64, linux/amd64)");

	/* Refused: schema 1, something else, a manifest with an unknown
	 * layer type, an oversized document. */
	CHECK(reg_parse_manifest("application/vnd.docker.distribution.manifest.v1+prettyjws", MANIFEST,
				 strlen(MANIFEST), "m", &a, &m, &err) == -ENOTSUP);
	CHECK_STR_CONTAINS(err.msg, "schema 1");
	const char *other = "{\"schemaVersion\":1,\"fsLayers\":[]}";
	CHECK(reg_parse_manifest("text/plain", other, strlen(other), "m", &a, &m, &err) < 0);
	const char *odd = "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
			  "\"digest\":\"" DG("ee") "\",\"size\":5},\"layers\":[{\"mediaType\":\"text/html\","
						   "\"digest\":\"" DG("ff") "\",\"size\":7}]}";
	CHECK(reg_parse_manifest(NULL, odd, strlen(odd), "m", &a, &m, &err) < 0);
	char *big = calloc(1, IMGJSON_MAX_DOC + 2);
	memset(big, ' ', IMGJSON_MAX_DOC + 1);
	CHECK(reg_parse_manifest(NULL, big, IMGJSON_MAX_DOC + 1, "m", &a, &m, &err) == -EFBIG);
	free(big);
	arena_free(&a);
}

/* ---- credentials ------------------------------------------------------------------ */

static void test_credentials(void)
{
	char key[256];
	creds_key("https://index.docker.io/v1/", key, sizeof(key));
	CHECK(strcmp(key, "docker.io") == 0);
	creds_key("Registry.Example.com:5000", key, sizeof(key));
	CHECK(strcmp(key, "registry.example.com:5000") == 0);
	creds_key("http://10.0.2.2:5000/v2/", key, sizeof(key));
	CHECK(strcmp(key, "10.0.2.2:5000") == 0);

	char b64[64];
	CHECK_EQ_INT(base64_encode("user:pass", 9, b64, sizeof(b64)), 12);
	CHECK(strcmp(b64, "dXNlcjpwYXNz") == 0);
	CHECK(base64_encode("user:pass", 9, b64, 12) == -ENOSPC);

	/* Docker's file: "auth", or username and password. */
	const char *file = "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"dXNlcjpwYXNz\"},"
			   "\"reg.example:5000\":{\"username\":\"u\",\"password\":\"p\"},"
			   "\"helper.example\":{}},\"credsStore\":\"desktop\"}";
	char h[CREDS_HEADER_MAX];
	struct berr err = {0};
	CHECK_EQ_INT(creds_parse(file, strlen(file), "auth.json", "docker.io", h, sizeof(h), &err), 1);
	CHECK(strcmp(h, "Authorization: Basic dXNlcjpwYXNz") == 0);
	CHECK_EQ_INT(creds_parse(file, strlen(file), "auth.json", "reg.example:5000", h, sizeof(h), &err), 1);
	CHECK(strcmp(h, "Authorization: Basic dTpw") == 0);
	CHECK_EQ_INT(creds_parse(file, strlen(file), "auth.json", "helper.example", h, sizeof(h), &err), 0);
	CHECK_EQ_INT(creds_parse(file, strlen(file), "auth.json", "other", h, sizeof(h), &err), 0);
	const char *broken = "{\"auths\":{\"x\":{\"auth\":\"not base64!\"}}}";
	CHECK(creds_parse(broken, strlen(broken), "auth.json", "x", h, sizeof(h), &err) < 0);
	/* The message names the file and the registry, never the secret. */
	CHECK_STR_CONTAINS(err.msg, "auth.json: the entry for x");
	CHECK(strstr(err.msg, "not base64") == NULL);

	/* berth login's file: 0600, entries replaced, others kept; logout. */
	char dir[] = "/tmp/berth-test-creds-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[128];
	snprintf(path, sizeof(path), "%s/sub/auth.json", dir);
	CHECK_EQ_INT(creds_store(path, "reg.example:5000", "alice", "s3cret", &err), 0);
	CHECK_EQ_INT(creds_store(path, "docker.io", "bob", "hunter2", &err), 0);
	CHECK_EQ_INT(creds_store(path, "reg.example:5000", "alice", "n3w", &err), 0);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	const char *files[] = {NULL, path};
	CHECK_EQ_INT(creds_lookup(files, 2, "reg.example:5000", h, sizeof(h), &err), 1);
	snprintf(b64, sizeof(b64), "Authorization: Basic ");
	char enc[64];
	base64_encode("alice:n3w", 9, enc, sizeof(enc));
	CHECK(strstr(h, enc) != NULL);
	CHECK_EQ_INT(creds_lookup(files, 2, "docker.io", h, sizeof(h), &err), 1);
	CHECK_EQ_INT(creds_store(path, "docker.io", NULL, NULL, &err), 1);
	CHECK_EQ_INT(creds_lookup(files, 2, "docker.io", h, sizeof(h), &err), 0);
	CHECK_EQ_INT(creds_store(path, "docker.io", NULL, NULL, &err), 0);
	CHECK_EQ_INT(check_rmtree(dir), 0);
}

/* ---- the store's side of a pull -------------------------------------------------------- */

/* A layer: one file in a tar, gzip-compressed. */
static size_t make_layer(const char *name, const char *content, unsigned char *tar, unsigned char *gz, size_t gz_size,
			 size_t *gz_len)
{
	memset(tar, 0, 2048);
	snprintf((char *)tar, 100, "%s", name);
	snprintf((char *)tar + 100, 8, "%07o", 0644);
	snprintf((char *)tar + 108, 8, "%07o", 0);
	snprintf((char *)tar + 116, 8, "%07o", 0);
	snprintf((char *)tar + 124, 12, "%011o", (unsigned)strlen(content));
	snprintf((char *)tar + 136, 12, "%011o", 0);
	tar[156] = '0';
	memcpy(tar + 257, "ustar", 6);
	memcpy(tar + 263, "00", 2);
	memset(tar + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++) {
		sum += tar[i];
	}
	snprintf((char *)tar + 148, 8, "%06o", sum);
	memcpy(tar + 512, content, strlen(content));
	size_t tar_len = 2048; /* header, one data block, two zero blocks */
	uLongf out = gz_size;
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	zs.next_in = tar;
	zs.avail_in = (uInt)tar_len;
	zs.next_out = gz;
	zs.avail_out = (uInt)out;
	deflate(&zs, Z_FINISH);
	*gz_len = zs.total_out;
	deflateEnd(&zs);
	return tar_len;
}

struct mem_src {
	const unsigned char *data;
	size_t len;
	size_t pos;
	size_t fail_at; /* a read past this fails, as a cut connection */
};

static ssize_t mem_read(void *ctx, void *buf, size_t len, struct berr *err)
{
	struct mem_src *m = ctx;
	if (m->pos >= m->fail_at) {
		return berr_setx(err, ECONNRESET, "connection reset");
	}
	size_t n = m->len - m->pos < len ? m->len - m->pos : len;
	n = n > 100 ? 100 : n; /* small reads, as a network gives */
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static void digest_of(const void *data, size_t len, char out[STORE_ID_SIZE])
{
	char hex[SHA256_HEX_LEN + 1];
	sha256_hex(data, len, hex);
	snprintf(out, STORE_ID_SIZE, "sha256:%s", hex);
}

static size_t count_entries(const char *path)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", path);
	FILE *f = popen(cmd, "r");
	size_t n = 0;
	if (f != NULL && fscanf(f, "%zu", &n) != 1) {
		n = 0;
	}
	if (f != NULL) {
		pclose(f);
	}
	return n;
}

static void test_store_pulls(void)
{
	char dir[] = "/tmp/berth-test-pull-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	struct store *s;
	struct berr err = {0};
	CHECK_EQ_INT(store_open(&s, dir, &err), 0);
	store_set_keep_blobs(s, 1);
	unsigned char tar[2048];
	unsigned char gz[4096];
	size_t gz_len;
	size_t tar_len = make_layer("hello.txt", "hello from a registry\n", tar, gz, sizeof(gz), &gz_len);
	char diff_id[STORE_ID_SIZE];
	char blob[STORE_ID_SIZE];
	digest_of(tar, tar_len, diff_id);
	digest_of(gz, gz_len, blob);
	char cfg[512];
	int cfg_len = snprintf(cfg, sizeof(cfg),
			       "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]},"
			       "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
			       diff_id);
	char cfg_digest[STORE_ID_SIZE];
	digest_of(cfg, (size_t)cfg_len, cfg_digest);
	struct arena a = {0};
	struct store_pull_layer *layers;
	size_t n;
	CHECK_EQ_INT(store_pull_begin(s, &err), 0);
	CHECK_EQ_INT(store_pull_config("reg/app:1", cfg, (size_t)cfg_len, cfg_digest, &a, &layers, &n, &err), 0);
	CHECK(n == 1 && strcmp(layers[0].chain, diff_id) == 0 && layers[0].parent[0] == '\0');
	/* A config that is not what its digest says. */
	CHECK(store_pull_config("reg/app:1", cfg, (size_t)cfg_len, blob, &a, &layers, &n, &err) == -EINVAL);

	char path[300];
	snprintf(path, sizeof(path), "%s/tmp", dir);
	/* A blob that does not match its digest: refused, nothing left. */
	char wrong[STORE_ID_SIZE];
	digest_of("other", 5, wrong);
	struct mem_src m = {gz, gz_len, 0, (size_t)-1};
	struct dstream_source src = {.read = mem_read, .ctx = &m};
	uint64_t size = 0;
	CHECK(store_pull_layer(s, &layers[0], wrong, "layer 1", &src, &size, &err) == -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "blob does not match its digest");
	CHECK(!store_layer_present(s, layers[0].chain, blob, &size));
	CHECK_EQ_INT((int)count_entries(path), 0);
	/* A connection cut in the middle: nothing left either. */
	m = (struct mem_src){gz, gz_len, 0, gz_len / 2};
	CHECK(store_pull_layer(s, &layers[0], blob, "layer 1", &src, &size, &err) == -ECONNRESET);
	CHECK_EQ_INT((int)count_entries(path), 0);
	/* Publishing before the layer is there is refused. */
	struct store_loaded out;
	const char *name = "reg.example/app:1";
	const char(*blobs)[STORE_ID_SIZE] = (const char(*)[STORE_ID_SIZE]) & blob;
	CHECK(store_pull_publish(s, "reg/app:1", cfg, (size_t)cfg_len, blobs, blob, "reg.example/app@sha256:1", &name,
				 1, &out, &err) == -ENOENT);
	/* The good blob: the layer, then the image. */
	m = (struct mem_src){gz, gz_len, 0, (size_t)-1};
	CHECK_EQ_INT(store_pull_layer(s, &layers[0], blob, "layer 1", &src, &size, &err), 0);
	CHECK(store_layer_present(s, layers[0].chain, blob, &size) && size == strlen("hello from a registry\n"));
	char repo_digest[200];
	snprintf(repo_digest, sizeof(repo_digest), "reg.example/app@%s", cfg_digest);
	CHECK_EQ_INT(store_pull_publish(s, "reg/app:1", cfg, (size_t)cfg_len, blobs, cfg_digest, repo_digest, &name, 1,
					&out, &err),
		     0);
	store_pull_end(s);
	CHECK(strcmp(out.id, cfg_digest) == 0 && out.nlayers == 1);
	struct store_image_info *infos;
	size_t ninfos;
	CHECK_EQ_INT(store_list(s, &a, &infos, &ninfos, &err), 0);
	CHECK(ninfos == 1 && infos[0].ndigests == 1 && strcmp(infos[0].digests[0], repo_digest) == 0);
	struct store_image img;
	CHECK_EQ_INT(store_resolve(s, "reg.example/app:1", &a, &img, &err), 0);
	snprintf(path, sizeof(path), "%s/hello.txt", img.layer_dirs[0]);
	CHECK(access(path, F_OK) == 0);

	/* Saved, then loaded into another store: the same image ID. */
	char arch[300];
	snprintf(arch, sizeof(arch), "%s/saved.tar", dir);
	int fd = open(arch, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	const char *refs[] = {"reg.example/app:1"};
	CHECK_EQ_INT(store_save(s, refs, 1, fd, &err), 0);
	close(fd);
	char other[300];
	snprintf(other, sizeof(other), "%s/other", dir);
	struct store *s2;
	CHECK_EQ_INT(store_open(&s2, other, &err), 0);
	struct store_loaded *l;
	size_t nl;
	CHECK_EQ_INT(store_load_path(s2, arch, &a, &l, &nl, &err), 0);
	CHECK(nl == 1 && strcmp(l[0].id, cfg_digest) == 0 && l[0].nnames == 1 &&
	      strcmp(l[0].names[0], "reg.example/app:1") == 0);
	store_close(s2);
	/* gc keeps the blobs an image needs. */
	struct store_gc_stats gc;
	CHECK_EQ_INT(store_gc(s, &gc, &err), 0);
	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", dir, blob + 7);
	CHECK(access(path, F_OK) == 0);
	arena_free(&a);
	store_close(s);
	CHECK_EQ_INT(check_rmtree(dir), 0);
}

/* ---- bad input names its field --------------------------------------------------------- */

static void bad_manifest(const char *doc, const char *want)
{
	struct arena a = {0};
	struct reg_manifest m;
	struct berr err = {0};
	CHECK(reg_parse_manifest(NULL, doc, strlen(doc), "r/app:1: manifest 1", &a, &m, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, want);
	arena_free(&a);
}

static void bad_token(const char *doc, const char *want)
{
	char token[REG_TOKEN_MAX];
	long expires;
	struct berr err = {0};
	CHECK(reg_parse_token(doc, strlen(doc), token, sizeof(token), &expires, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, want);
}

static void bad_auths(const char *doc, const char *want)
{
	char h[CREDS_HEADER_MAX];
	struct berr err = {0};
	CHECK(creds_parse(doc, strlen(doc), "/config/auth.json", "reg.example", h, sizeof(h), &err) < 0);
	CHECK_STR_CONTAINS(err.msg, want);
	CHECK(strstr(err.msg, "s3cret") == NULL);
}

static void bad_config(const char *doc, const char *want)
{
	struct arena a = {0};
	struct store_pull_layer *layers;
	size_t n;
	struct berr err = {0};
	CHECK(store_pull_config("r/app:1", doc, strlen(doc), "", &a, &layers, &n, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, want);
	arena_free(&a);
}

#define CFG_DESC                                                                                                       \
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"" DG("ee") "\",\"size\":" \
													"5}"
#define LAYER_DESC \
	"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"" DG("ff") "\",\"size\":7}"

static void test_bad_input_names_the_field(void)
{
	/* Manifests and indexes: the descriptor and its member. */
	bad_manifest("{\"schemaVersion\":2,\"layers\":[]}",
		     "r/app:1: manifest 1: not an image manifest (config is missing)");
	bad_manifest("{\"schemaVersion\":2," CFG_DESC ",\"layers\":{}}", "layers is missing or not an array");
	bad_manifest("{\"schemaVersion\":2," CFG_DESC ",\"layers\":[" LAYER_DESC
		     ",{\"digest\":\"sha256:12\",\"size\":1}]}",
		     "r/app:1: manifest 1: layers[1].digest: malformed sha256 digest 'sha256:12'");
	bad_manifest("{\"schemaVersion\":2," CFG_DESC
		     ",\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"size\":1}]}",
		     "layers[0].digest is missing");
	bad_manifest("{\"schemaVersion\":2," CFG_DESC
		     ",\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"" DG(
			     "ff") "\",\"size\":\"7\"}]}",
		     "layers[0].size is not an integer");
	bad_manifest("{\"schemaVersion\":2," CFG_DESC ",\"layers\":[{\"mediaType\":\"application/"
		     "vnd.oci.image.layer.v1.tar\",\"digest\":\"md5:0\",\"size\":7}]}",
		     "layers[0].digest: digest algorithm 'md5' is not supported");
	bad_manifest("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"text/html\",\"digest\":\"" DG(
			     "ee") "\",\"size\":5},\"layers\":[]}",
		     "config.mediaType 'text/html' is not a container image config");
	bad_manifest(
		"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"digest\":\"" DG("aa") "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":7}}]}",
		"manifests[0].platform.architecture is not a string");
	bad_manifest(
		"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		"\"digest\":\"" DG("aa") "\"}]}",
		"manifests[0].size is missing");

	/* Token answers. */
	bad_token("{\"token\":\"a b\"}", "token response: \"token\" has a character a header cannot carry");
	bad_token("{\"access_token\":\"a\\nb\"}", "\"access_token\" has a character");
	bad_token("{\"token\":7}", "no \"token\" (or \"access_token\") string");
	bad_token("[1]", "token response: not a JSON object");

	/* Auths files: the file, the registry, the key; never the secret. */
	bad_auths("{\"auths\":[]}", "/config/auth.json: \"auths\" is not an object");
	bad_auths("{\"auths\":{\"reg.example\":\"x\"}}",
		  "/config/auth.json: the entry for reg.example is not an object");
	bad_auths("{\"auths\":{\"reg.example\":{\"auth\":5}}}",
		  "the entry for reg.example has an \"auth\" that is not a string");
	bad_auths("{\"auths\":{\"reg.example\":{\"username\":\"u\"}}}", "needs \"username\" and \"password\" both");
	bad_auths("{\"auths\":{\"reg.example\":{\"username\":\"u\",\"password\":5}}}",
		  "needs \"username\" and \"password\"");
	bad_auths("{\"auths\":{\"reg.example\":{\"auth\":\"s3cret!!\"}}}",
		  "the entry for reg.example has a malformed \"auth\"");

	/* Image configs, as a registry serves them. */
	bad_config("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"}}",
		   "rootfs.diff_ids is missing or not an array");
	bad_config("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},"
		   "\"config\":{\"Labels\":[]}}",
		   "config.Labels is not an object");
	bad_config("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":["
		   "\"sha256:1\"]}}",
		   "rootfs.diff_ids[0]: malformed sha256 digest 'sha256:1'");
}

int main(void)
{
	RUN(test_challenges);
	RUN(test_tokens);
	RUN(test_references);
	RUN(test_manifests);
	RUN(test_credentials);
	RUN(test_bad_input_names_the_field);
	if (geteuid() == 0) {
		RUN(test_store_pulls);
	} else {
		printf("test_store_pulls needs root (whiteouts): skipped\n");
	}
	return check_summary();
}
