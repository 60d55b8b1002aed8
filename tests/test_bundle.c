/* Update bundles: parsing, signatures, hashes and versions, on bundles
 * made here (signed with a key made here, as image-build/mkbundle and
 * berth-sign do on the build machine). */
#include <errno.h>
#include <sodium/crypto_sign_ed25519.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lib/hex.h"
#include "lib/sha256.h"
#include "osupdate/bundle.h"

#define BLOCKS 300u

static unsigned char pk[32];
static unsigned char sk[64];
static unsigned char other_pk[32];
static unsigned char other_sk[64];

struct made {
	uint8_t *data;
	size_t size;
	size_t payload;
	size_t part_off[PART_COUNT]; /* in the file */
};

static void hexdigest(const uint8_t *d, size_t n, char out[65])
{
	uint8_t dg[32];
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, d, n);
	sha256_final(&s, dg);
	hex_encode(dg, 32, out);
}

/* A bundle: a fake bzImage, an "erofs" image of BLOCKS blocks and a tree
 * of the size verity needs (3 + 1 blocks for 300), signed by key (NULL: by
 * the trusted key). manifest_extra replaces the cmdline line when set. */
static struct made make_bundle(const char *version, const unsigned char *key, const char *cmdline_line)
{
	size_t sizes[PART_COUNT] = {8192 + 123, BLOCKS * 4096, 4 * 4096};
	uint8_t *parts[PART_COUNT];
	for (int k = 0; k < PART_COUNT; k++) {
		parts[k] = calloc(1, sizes[k]);
		for (size_t i = 0; i < sizes[k]; i++) {
			parts[k][i] = (uint8_t)(i * 7 + (size_t)k);
		}
	}
	memcpy(parts[PART_KERNEL] + 0x202, "HdrS", 4);
	static const uint8_t erofs[4] = {0xe2, 0xe1, 0xf5, 0xe0};
	memcpy(parts[PART_ROOT] + 1024, erofs, 4);
	char manifest[4096];
	size_t n = (size_t)snprintf(manifest, sizeof(manifest),
				    "berth-manifest 1\nversion %s\nbuild abc123\ncreated 1700000000\n", version);
	size_t off = 0;
	size_t offs[PART_COUNT];
	for (int k = 0; k < PART_COUNT; k++) {
		char h[65];
		hexdigest(parts[k], sizes[k], h);
		offs[k] = off;
		n += (size_t)snprintf(manifest + n, sizeof(manifest) - n, "%s %zu %zu %s\n",
				      bundle_part_name((enum bundle_part_kind)k), off, sizes[k], h);
		off += (sizes[k] + 4095) / 4096 * 4096;
	}
	n += (size_t)snprintf(manifest + n, sizeof(manifest) - n, "verity sha256 4096 %u %064d %064d\n%s\n", BLOCKS, 1,
			      2, cmdline_line != NULL ? cmdline_line : "cmdline root=/dev/dm-0 ro panic=10");
	unsigned char sig[64];
	crypto_sign_ed25519_detached(sig, NULL, (unsigned char *)manifest, n, key != NULL ? key : sk);
	uint8_t id[BUNDLE_KEYID_LEN];
	bundle_keyid(key != NULL ? key + 32 : pk, id);
	char idh[17];
	char sigh[129];
	hex_encode(id, sizeof(id), idh);
	hex_encode(sig, sizeof(sig), sigh);
	char sigline[200];
	int sl = snprintf(sigline, sizeof(sigline), "ed25519 %s %s\n", idh, sigh);
	char head[8192];
	size_t hl = (size_t)snprintf(head, sizeof(head), "BERTH-BUNDLE 1\nmanifest %zu\n", n);
	memcpy(head + hl, manifest, n);
	hl += n;
	hl += (size_t)snprintf(head + hl, sizeof(head) - hl, "signatures %d\n%s", sl, sigline);
	struct made m;
	m.payload = (hl + 4095) / 4096 * 4096;
	m.size = m.payload + off - (off - offs[PART_HASHTREE] - sizes[PART_HASHTREE]);
	m.data = calloc(1, m.size);
	memcpy(m.data, head, hl);
	for (int k = 0; k < PART_COUNT; k++) {
		m.part_off[k] = m.payload + offs[k];
		memcpy(m.data + m.part_off[k], parts[k], sizes[k]);
		free(parts[k]);
	}
	return m;
}

static struct trusted_key trusted(void)
{
	struct trusted_key k;
	char text[128];
	char hex[65];
	hex_encode(pk, 32, hex);
	snprintf(text, sizeof(text), "ed25519 %s test key\n", hex);
	CHECK_EQ_INT(trusted_key_parse(&k, text, "test.pub", NULL), 0);
	return k;
}

static int verify(const struct made *m, struct berr *err)
{
	static struct bundle b;
	struct trusted_key keys[2] = {trusted(), trusted()};
	keys[0].pk[0] ^= 1; /* a second, unrelated key: several are allowed */
	bundle_keyid(keys[0].pk, keys[0].keyid);
	const struct trusted_key *signer;
	int ret = bundle_parse(&b, m->data, m->size, err);
	if (ret == 0) {
		ret = bundle_check_signature(&b, keys, 2, &signer, err);
	}
	if (ret == 0) {
		ret = bundle_check_parts(&b, NULL, NULL, err);
	}
	return ret;
}

static void test_good_bundle(void)
{
	struct made m = make_bundle("1.2.3+gabc", NULL, NULL);
	struct berr err = {0};
	CHECK_EQ_INT(verify(&m, &err), 0);
	static struct bundle b;
	CHECK_EQ_INT(bundle_parse(&b, m.data, m.size, NULL), 0);
	CHECK(strcmp(b.m.version, "1.2.3+gabc") == 0 && b.m.data_blocks == BLOCKS);
	CHECK(strcmp(b.m.cmdline, "root=/dev/dm-0 ro panic=10") == 0);
	CHECK(bundle_part_data(&b, PART_ROOT) == m.data + m.part_off[PART_ROOT]);
	free(m.data);
}

static void test_refusals(void)
{
	struct berr err = {0};
	/* Signed by a key the host does not trust. */
	struct made m = make_bundle("1.0", other_sk, NULL);
	CHECK_EQ_INT(verify(&m, &err), -EKEYREJECTED);
	CHECK_STR_CONTAINS(err.msg, "not signed by a key this host trusts");
	free(m.data);
	/* A manifest altered after signing. */
	m = make_bundle("1.0", NULL, NULL);
	char *v = memmem(m.data, m.size, "version 1.0", 11);
	v[10] = '9';
	CHECK_EQ_INT(verify(&m, &err), -EKEYREJECTED);
	CHECK_STR_CONTAINS(err.msg, "bad signature");
	free(m.data);
	/* One byte of a part. */
	for (int k = 0; k < PART_COUNT; k++) {
		m = make_bundle("1.0", NULL, NULL);
		m.data[m.part_off[k] + 4000] ^= 0x40;
		CHECK_EQ_INT(verify(&m, &err), -EBADMSG);
		CHECK_STR_CONTAINS(err.msg, bundle_part_name((enum bundle_part_kind)k));
		free(m.data);
	}
	/* Truncated anywhere: in the header, the manifest, a part. */
	m = make_bundle("1.0", NULL, NULL);
	size_t cuts[] = {0, 10, 40, 300, m.payload, m.part_off[PART_ROOT] + 5, m.size - 1};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		CHECK(verify(&(struct made){m.data, cuts[i], 0, {0}}, &err) < 0);
	}
	CHECK_EQ_INT(verify(&(struct made){m.data, m.size - 1, 0, {0}}, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "truncated");
	free(m.data);
	/* A command line that would smuggle GRUB syntax or our own parameters. */
	static const char *const bad[] = {"cmdline ro $(reboot)", "cmdline ro \"x\"", "cmdline berth.slot=A",
					  "cmdline dm-mod.create=x", "cmdline x\ncmdline y"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = make_bundle("1.0", NULL, bad[i]);
		CHECK_EQ_INT(verify(&m, &err), -EINVAL);
		free(m.data);
	}
	m = make_bundle("1.0", NULL, "cmdline ro\nfancy new-key");
	CHECK_EQ_INT(verify(&m, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "unknown key 'fancy'");
	free(m.data);
}

static void test_manifest_rules(void)
{
	struct bundle_manifest mf;
	struct berr err;
#define MANIFEST(tree)                                                              \
	"berth-manifest 1\nversion 1\nbuild b\ncreated 1\n"                         \
	"kernel 0 4096 %064d\nroot 4096 8192 %064d\nhashtree " tree " 4096 %064d\n" \
	"verity sha256 4096 2 %064d %064d\ncmdline ro\n",                           \
		0, 0, 0, 0, 0
	char text[1024];
	snprintf(text, sizeof(text), MANIFEST("12288"));
	CHECK_EQ_INT(manifest_parse(&mf, text, strlen(text), &err), 0);
	snprintf(text, sizeof(text), MANIFEST("8192")); /* overlaps root */
	CHECK(manifest_parse(&mf, text, strlen(text), &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "overlap");
	snprintf(text, sizeof(text), MANIFEST("12289"));
	CHECK(manifest_parse(&mf, text, strlen(text), &err) < 0);
	const char *missing = "berth-manifest 1\nversion 1\n";
	CHECK(manifest_parse(&mf, missing, strlen(missing), &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "incomplete");
	const char *twice = "berth-manifest 1\nversion 1\nversion 2\n";
	CHECK(manifest_parse(&mf, twice, strlen(twice), &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "twice");
}

static void test_versions(void)
{
	CHECK(version_compare("0.1.0", "0.1.0") == 0);
	CHECK(version_compare("0.1.0+ga", "0.1.0+gb") == 0);
	CHECK(version_compare("0.1.0", "0.1.1") < 0);
	CHECK(version_compare("0.10.0", "0.9.9") > 0);
	CHECK(version_compare("1.0.0-rc1", "1.0.0") < 0);
	CHECK(version_compare("1.0.0-rc.2", "1.0.0-rc.10") < 0);
	CHECK(version_compare("1.0.0-alpha", "1.0.0-1") > 0);
	CHECK(version_compare("1.0", "1.0.1") < 0);
	CHECK(version_compare("2", "10") < 0);
	CHECK(version_compare("0.0.9+gabc", "0.1.0+gabc") < 0);
}

int main(void)
{
	crypto_sign_ed25519_keypair(pk, sk);
	crypto_sign_ed25519_keypair(other_pk, other_sk);
	RUN(test_good_bundle);
	RUN(test_refusals);
	RUN(test_manifest_rules);
	RUN(test_versions);
	return check_summary();
}
