/* Update bundles: one file holding a new Berth version (docs/updates.md).
 *
 *   "BERTH-BUNDLE 1\n"
 *   "manifest N\n"    N bytes of manifest text, the signed part
 *   "signatures M\n"  M bytes: "ed25519 KEYID SIGNATURE\n" lines (hex)
 *   zeros up to the next 4096-byte boundary: the payload starts there
 *   the parts, each at the payload offset its manifest line gives
 *
 * The manifest names the version and build, and each part's offset, size
 * and sha256 (kernel, root: the erofs image, hashtree: its dm-verity tree),
 * the verity parameters (root hash and salt) and the kernel's command line.
 * One ed25519 signature by a key the host trusts covers the manifest, and
 * the manifest covers every byte of the parts, so nothing is trusted before
 * bundle_verify has checked all of it. Parsing is pure (no I/O) and takes
 * any bytes: tests/fuzz/fuzz_bundle feeds it. */
#ifndef BERTH_OSUPDATE_BUNDLE_H
#define BERTH_OSUPDATE_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/berr.h"

#define BUNDLE_MAGIC "BERTH-BUNDLE 1\n"
#define BUNDLE_ALIGN 4096
#define BUNDLE_MANIFEST_MAX 16384
#define BUNDLE_SIGS_MAX 8
#define BUNDLE_VERSION_MAX 96
#define BUNDLE_CMDLINE_MAX 1024
#define BUNDLE_KEYID_LEN 8

enum bundle_part_kind {
	PART_KERNEL,
	PART_ROOT,
	PART_HASHTREE,
	PART_COUNT,
};

struct bundle_part {
	uint64_t offset; /* from the payload's start */
	uint64_t size;
	uint8_t sha256[32];
};

struct bundle_manifest {
	char version[BUNDLE_VERSION_MAX];
	char build[BUNDLE_VERSION_MAX];
	int64_t created;
	struct bundle_part parts[PART_COUNT];
	uint32_t verity_block; /* data and hash block size */
	uint64_t data_blocks;  /* the root image's blocks; the tree follows them */
	char root_hash[65];
	char salt[129];
	char cmdline[BUNDLE_CMDLINE_MAX];
};

struct bundle_sig {
	uint8_t keyid[BUNDLE_KEYID_LEN];
	uint8_t sig[64];
};

struct bundle {
	const uint8_t *data; /* the whole file (not owned) */
	size_t size;
	const char *manifest_text;
	size_t manifest_len;
	struct bundle_sig sigs[BUNDLE_SIGS_MAX];
	size_t nsigs;
	uint64_t payload; /* the payload's offset in the file */
	struct bundle_manifest m;
};

/* A public key the host trusts, and where it came from. */
struct trusted_key {
	uint8_t pk[32];
	uint8_t keyid[BUNDLE_KEYID_LEN];
	char source[128];
};

const char *bundle_part_name(enum bundle_part_kind k);

/* Parses the header, the manifest and the signatures of size bytes; checks
 * that every part lies within them. Nothing is verified yet. */
int bundle_parse(struct bundle *b, const uint8_t *data, size_t size, struct berr *err);

/* Parses manifest text (the signed part). */
int manifest_parse(struct bundle_manifest *m, const char *text, size_t len, struct berr *err);

/* The key id of a public key: the first 8 bytes of its sha256. */
void bundle_keyid(const uint8_t pk[32], uint8_t keyid[BUNDLE_KEYID_LEN]);

/* Parses a public key file's text ("ed25519 HEX [comment]"). */
int trusted_key_parse(struct trusted_key *k, const char *text, const char *source, struct berr *err);

/* 0 when a signature by one of keys verifies the manifest; *signer then
 * points at that key. -EKEYREJECTED otherwise, naming the keys seen. */
int bundle_check_signature(const struct bundle *b, const struct trusted_key *keys, size_t nkeys,
			   const struct trusted_key **signer, struct berr *err);

/* Progress of long work: done of total bytes. */
typedef void (*bundle_progress)(const char *what, uint64_t done, uint64_t total, void *ctx);

/* Checks the sha256 and the shape of every part (a bzImage, an erofs
 * image, a hash tree of the right size for the verity parameters). */
int bundle_check_parts(const struct bundle *b, bundle_progress progress, void *ctx, struct berr *err);

/* A part's bytes in the file. */
const uint8_t *bundle_part_data(const struct bundle *b, enum bundle_part_kind k);

/* Orders two versions (semantic versioning's precedence: numeric fields
 * as numbers, a pre-release before its release, build metadata after '+'
 * ignored): <0, 0 or >0. */
int version_compare(const char *a, const char *b);

#endif
