/* Update bundles (see bundle.h). Every length and offset read from the
 * file is checked before it is used. */
#include "osupdate/bundle.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium/crypto_sign_ed25519.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/decimal.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/sha256.h"

static const char *const part_names[PART_COUNT] = {"kernel", "root", "hashtree"};

const char *bundle_part_name(enum bundle_part_kind k)
{
	return (unsigned)k < PART_COUNT ? part_names[k] : "?";
}

/* A header line "WORD N\n" at *pos: its number. */
static int header_number(const uint8_t *data, size_t size, size_t *pos, const char *word, uint64_t max, uint64_t *out,
			 struct berr *err)
{
	size_t wl = strlen(word);
	if (size - *pos < wl + 2 || memcmp(data + *pos, word, wl) != 0 || data[*pos + wl] != ' ') {
		return berr_setx(err, EINVAL, "not a Berth update bundle (no '%s' line in its header)", word);
	}
	size_t p = *pos + wl + 1;
	uint64_t v = 0;
	size_t digits = 0;
	while (p < size && data[p] >= '0' && data[p] <= '9' && digits < 12) {
		v = v * 10 + (uint64_t)(data[p] - '0');
		p++;
		digits++;
	}
	if (digits == 0 || p >= size || data[p] != '\n' || v > max) {
		return berr_setx(err, EINVAL, "bundle header: a bad '%s' length", word);
	}
	*pos = p + 1;
	*out = v;
	return 0;
}

static int parse_sigs(struct bundle *b, const char *text, size_t len, struct berr *err)
{
	size_t p = 0;
	b->nsigs = 0;
	while (p < len) {
		const char *line = text + p;
		const char *nl = memchr(line, '\n', len - p);
		size_t ll = nl != NULL ? (size_t)(nl - line) : len - p;
		p += ll + 1;
		/* "ed25519 " 16 " " 128 */
		if (ll != 8 + 16 + 1 + 128 || memcmp(line, "ed25519 ", 8) != 0 || line[24] != ' ') {
			return berr_setx(err, EINVAL, "bundle: a signature line is not 'ed25519 KEYID SIGNATURE'");
		}
		if (b->nsigs == BUNDLE_SIGS_MAX) {
			return berr_setx(err, EINVAL, "bundle: more than %d signatures", BUNDLE_SIGS_MAX);
		}
		struct bundle_sig *s = &b->sigs[b->nsigs];
		if (hex_decode(line + 8, 16, s->keyid, sizeof(s->keyid)) < 0 ||
		    hex_decode(line + 25, 128, s->sig, sizeof(s->sig)) < 0) {
			return berr_setx(err, EINVAL, "bundle: a signature line is not hexadecimal");
		}
		b->nsigs++;
	}
	if (b->nsigs == 0) {
		return berr_setx(err, EINVAL, "bundle: not signed");
	}
	return 0;
}

int bundle_parse(struct bundle *b, const uint8_t *data, size_t size, struct berr *err)
{
	memset(b, 0, sizeof(*b));
	b->data = data;
	b->size = size;
	size_t ml = strlen(BUNDLE_MAGIC);
	if (size < ml || memcmp(data, BUNDLE_MAGIC, ml) != 0) {
		return berr_setx(err, EINVAL, "not a Berth update bundle (it does not start with 'BERTH-BUNDLE 1')");
	}
	size_t pos = ml;
	uint64_t mlen;
	uint64_t slen;
	if (header_number(data, size, &pos, "manifest", BUNDLE_MANIFEST_MAX, &mlen, err) < 0) {
		return -EINVAL;
	}
	if (size - pos < mlen) {
		return berr_setx(err, EINVAL, "bundle: truncated in its manifest");
	}
	b->manifest_text = (const char *)data + pos;
	b->manifest_len = (size_t)mlen;
	pos += (size_t)mlen;
	if (header_number(data, size, &pos, "signatures", BUNDLE_SIGS_MAX * 160, &slen, err) < 0) {
		return -EINVAL;
	}
	if (size - pos < slen) {
		return berr_setx(err, EINVAL, "bundle: truncated in its signatures");
	}
	if (parse_sigs(b, (const char *)data + pos, (size_t)slen, err) < 0) {
		return -EINVAL;
	}
	pos += (size_t)slen;
	b->payload = ((uint64_t)pos + BUNDLE_ALIGN - 1) / BUNDLE_ALIGN * BUNDLE_ALIGN;
	if (manifest_parse(&b->m, b->manifest_text, b->manifest_len, err) < 0) {
		return -EINVAL;
	}
	for (int k = 0; k < PART_COUNT; k++) {
		const struct bundle_part *part = &b->m.parts[k];
		if (b->payload > size || part->offset > size - b->payload ||
		    part->size > size - b->payload - part->offset) {
			return berr_setx(err, EINVAL,
					 "bundle: truncated: its %s (%" PRIu64 " bytes at %" PRIu64
					 ") ends after the file's %zu bytes",
					 part_names[k], part->size, b->payload + part->offset, size);
		}
	}
	return 0;
}

/* ---- the manifest ------------------------------------------------------------ */

static int version_text_ok(const char *s)
{
	if (*s == '\0') {
		return 0;
	}
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr(".+-~_", *s) != NULL)) {
			return 0;
		}
	}
	return 1;
}

/* What may go on a kernel command line that GRUB passes along: printable
 * ASCII without quotes, escapes or GRUB's own syntax, and none of the
 * parameters the updater and GRUB set themselves. */
static int cmdline_ok(const char *s, const char **why)
{
	for (const char *p = s; *p; p++) {
		if (*p < 0x20 || *p > 0x7e || strchr("\"'\\$;{}&|<>`#", *p) != NULL) {
			*why = "a quote, escape, control or GRUB script character";
			return 0;
		}
	}
	static const char *const reserved[] = {
		"berth.slot=", "berth.trial=", "dm-mod.create=", "dm-mod.waitfor=", NULL};
	for (const char *const *r = reserved; *r; r++) {
		if (strstr(s, *r) != NULL) {
			*why = "a parameter the updater sets itself (berth.slot=, berth.trial=, dm-mod.*)";
			return 0;
		}
	}
	return 1;
}

/* Splits line into at most max space-separated fields (in place). */
static size_t split(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " ", &save); t != NULL && n < max; t = strtok_r(NULL, " ", &save)) {
		fields[n++] = t;
	}
	return n;
}

static int parse_part(struct bundle_manifest *m, int k, char *rest, int line, struct berr *err)
{
	char *f[4];
	uint64_t off;
	uint64_t size;
	if (split(rest, f, 4) != 3 || decimal_parse(f[0], UINT64_MAX, &off) < 0 ||
	    decimal_parse(f[1], UINT64_MAX, &size) < 0 || hex_decode(f[2], strlen(f[2]), m->parts[k].sha256, 32) < 0) {
		return berr_setx(err, EINVAL, "manifest:%d: expected '%s OFFSET SIZE SHA256'", line, part_names[k]);
	}
	if (off % BUNDLE_ALIGN != 0 || size == 0 || size > (1ULL << 40)) {
		return berr_setx(err, EINVAL, "manifest:%d: %s: a misaligned offset or a bad size", line,
				 part_names[k]);
	}
	m->parts[k].offset = off;
	m->parts[k].size = size;
	return 0;
}

static int parse_verity(struct bundle_manifest *m, char *rest, int line, struct berr *err)
{
	char *f[6];
	uint64_t block;
	uint8_t bin[64];
	if (split(rest, f, 6) != 5 || strcmp(f[0], "sha256") != 0 || decimal_parse(f[1], UINT64_MAX, &block) < 0 ||
	    decimal_parse(f[2], UINT64_MAX, &m->data_blocks) < 0 || hex_decode(f[3], strlen(f[3]), bin, 32) < 0 ||
	    strlen(f[4]) % 2 != 0 || strlen(f[4]) > 128 || hex_decode(f[4], strlen(f[4]), bin, strlen(f[4]) / 2) < 0) {
		return berr_setx(err, EINVAL, "manifest:%d: expected 'verity sha256 BLOCK DATA_BLOCKS ROOT_HASH SALT'",
				 line);
	}
	if (block != 4096 || m->data_blocks == 0 || m->data_blocks > (1ULL << 28)) {
		return berr_setx(err, EINVAL, "manifest:%d: verity: 4096-byte blocks and a sane block count only",
				 line);
	}
	m->verity_block = (uint32_t)block;
	copy_string(m->root_hash, sizeof(m->root_hash), f[3]);
	copy_string(m->salt, sizeof(m->salt), f[4]);
	return 0;
}

/* One manifest line (key, then the rest after one space); seen counts the
 * keys met so far, by bit. */
static int manifest_line(struct bundle_manifest *m, char *key, char *rest, int line, unsigned *seen, struct berr *err)
{
	static const char *const keys[] = {"version",  "build",	 "created", "kernel", "root",
					   "hashtree", "verity", "cmdline", NULL};
	int k = 0;
	while (keys[k] != NULL && strcmp(keys[k], key) != 0) {
		k++;
	}
	if (keys[k] == NULL) {
		return berr_setx(err, EINVAL, "manifest:%d: unknown key '%.40s' (a newer bundle format?)", line, key);
	}
	if (*seen & (1u << k)) {
		return berr_setx(err, EINVAL, "manifest:%d: '%s' given twice", line, key);
	}
	*seen |= 1u << k;
	uint64_t v;
	const char *why = NULL;
	switch (k) {
	case 0:
	case 1: {
		char *dst = k == 0 ? m->version : m->build;
		if (!version_text_ok(rest) || copy_string(dst, BUNDLE_VERSION_MAX, rest) < 0) {
			return berr_setx(err, EINVAL, "manifest:%d: %s: letters, digits and .+-~_ only, at most %d",
					 line, key, BUNDLE_VERSION_MAX - 1);
		}
		return 0;
	}
	case 2:
		if (decimal_parse(rest, INT64_MAX, &v) < 0) {
			return berr_setx(err, EINVAL, "manifest:%d: created: expected seconds since the epoch", line);
		}
		m->created = (int64_t)v;
		return 0;
	case 3:
	case 4:
	case 5:
		return parse_part(m, k - 3, rest, line, err);
	case 6:
		return parse_verity(m, rest, line, err);
	default:
		if (!cmdline_ok(rest, &why) || copy_string(m->cmdline, sizeof(m->cmdline), rest) < 0) {
			return berr_setx(err, EINVAL, "manifest:%d: cmdline: %s", line, why != NULL ? why : "too long");
		}
		return 0;
	}
}

int manifest_parse(struct bundle_manifest *m, const char *text, size_t len, struct berr *err)
{
	memset(m, 0, sizeof(*m));
	static const char first[] = "berth-manifest 1\n";
	if (len < sizeof(first) - 1 || memcmp(text, first, sizeof(first) - 1) != 0) {
		return berr_setx(err, EINVAL, "manifest: it does not start with 'berth-manifest 1'");
	}
	size_t p = sizeof(first) - 1;
	unsigned seen = 0;
	int line = 1;
	while (p < len) {
		line++;
		const char *nl = memchr(text + p, '\n', len - p);
		if (nl == NULL) {
			return berr_setx(err, EINVAL, "manifest:%d: no newline at its end", line);
		}
		size_t ll = (size_t)(nl - (text + p));
		char buf[BUNDLE_CMDLINE_MAX + 32];
		if (ll >= sizeof(buf) || memchr(text + p, '\0', ll) != NULL) {
			return berr_setx(err, EINVAL, "manifest:%d: too long, or holds a NUL", line);
		}
		memcpy(buf, text + p, ll);
		buf[ll] = '\0';
		p += ll + 1;
		char *sp = strchr(buf, ' ');
		if (sp == NULL || sp[1] == '\0') {
			return berr_setx(err, EINVAL, "manifest:%d: expected 'KEY VALUE'", line);
		}
		*sp = '\0';
		if (manifest_line(m, buf, sp + 1, line, &seen, err) < 0) {
			return -EINVAL;
		}
	}
	if (seen != 0xffu) {
		return berr_setx(err, EINVAL,
				 "manifest: incomplete (version, build, created, kernel, root, hashtree, verity and "
				 "cmdline are all required)");
	}
	const struct bundle_part *root = &m->parts[PART_ROOT];
	if (root->size != m->data_blocks * m->verity_block) {
		return berr_setx(err, EINVAL,
				 "manifest: the root image is %" PRIu64 " bytes, not verity's %" PRIu64 " blocks of %u",
				 root->size, m->data_blocks, m->verity_block);
	}
	for (int a = 0; a < PART_COUNT; a++) {
		for (int b = a + 1; b < PART_COUNT; b++) {
			const struct bundle_part *x = &m->parts[a];
			const struct bundle_part *y = &m->parts[b];
			if (x->offset < y->offset + y->size && y->offset < x->offset + x->size) {
				return berr_setx(err, EINVAL, "manifest: %s and %s overlap", part_names[a],
						 part_names[b]);
			}
		}
	}
	return 0;
}

/* ---- keys and signatures ----------------------------------------------------- */

void bundle_keyid(const uint8_t pk[32], uint8_t keyid[BUNDLE_KEYID_LEN])
{
	struct sha256 s;
	uint8_t d[SHA256_LEN];
	sha256_init(&s);
	sha256_update(&s, pk, 32);
	sha256_final(&s, d);
	memcpy(keyid, d, BUNDLE_KEYID_LEN);
}

int trusted_key_parse(struct trusted_key *k, const char *text, const char *source, struct berr *err)
{
	memset(k, 0, sizeof(*k));
	copy_string(k->source, sizeof(k->source), source);
	if (strncmp(text, "ed25519 ", 8) != 0 || strlen(text) < 8 + 64 ||
	    hex_decode(text + 8, 64, k->pk, sizeof(k->pk)) < 0 ||
	    (text[72] != '\0' && text[72] != ' ' && text[72] != '\n')) {
		return berr_setx(err, EINVAL, "%s: not a public key ('ed25519 HEX [comment]')", source);
	}
	bundle_keyid(k->pk, k->keyid);
	return 0;
}

int bundle_check_signature(const struct bundle *b, const struct trusted_key *keys, size_t nkeys,
			   const struct trusted_key **signer, struct berr *err)
{
	char seen[BUNDLE_SIGS_MAX * 18 + 1] = "";
	size_t n = 0;
	int bad = 0;
	for (size_t i = 0; i < b->nsigs; i++) {
		const struct bundle_sig *s = &b->sigs[i];
		char id[2 * BUNDLE_KEYID_LEN + 1];
		hex_encode(s->keyid, BUNDLE_KEYID_LEN, id);
		n += (size_t)snprintf(seen + n, sizeof(seen) - n, "%s%s", i > 0 ? ", " : "", id);
		for (size_t j = 0; j < nkeys; j++) {
			if (memcmp(keys[j].keyid, s->keyid, BUNDLE_KEYID_LEN) != 0) {
				continue;
			}
			if (crypto_sign_ed25519_verify_detached(s->sig, (const unsigned char *)b->manifest_text,
								b->manifest_len, keys[j].pk) == 0) {
				*signer = &keys[j];
				return 0;
			}
			bad = 1;
		}
	}
	if (bad) {
		return berr_setx(err, EKEYREJECTED,
				 "bad signature: the manifest is not what key %s signed (altered or corrupted)", seen);
	}
	return berr_setx(err, EKEYREJECTED, "not signed by a key this host trusts (signed by %s; %zu trusted key%s)",
			 seen, nkeys, nkeys == 1 ? "" : "s");
}

/* ---- parts --------------------------------------------------------------------- */

const uint8_t *bundle_part_data(const struct bundle *b, enum bundle_part_kind k)
{
	return b->data + b->payload + b->m.parts[k].offset;
}

/* The size of a dm-verity hash tree (no superblock) over blocks data
 * blocks: every level down to one block, 32-byte digests. */
static uint64_t verity_tree_size(uint64_t blocks, uint32_t bs)
{
	uint64_t per = bs / 32;
	uint64_t total = 0;
	do {
		blocks = (blocks + per - 1) / per;
		total += blocks;
	} while (blocks > 1);
	return total * bs;
}

int bundle_check_parts(const struct bundle *b, bundle_progress progress, void *ctx, struct berr *err)
{
	uint64_t total = 0;
	uint64_t done = 0;
	for (int k = 0; k < PART_COUNT; k++) {
		total += b->m.parts[k].size;
	}
	for (int k = 0; k < PART_COUNT; k++) {
		const struct bundle_part *part = &b->m.parts[k];
		const uint8_t *data = bundle_part_data(b, (enum bundle_part_kind)k);
		struct sha256 s;
		uint8_t d[SHA256_LEN];
		sha256_init(&s);
		for (uint64_t off = 0; off < part->size; off += 1u << 20) {
			uint64_t n = part->size - off < (1u << 20) ? part->size - off : 1u << 20;
			sha256_update(&s, data + off, (size_t)n);
			done += n;
			if (progress != NULL) {
				progress("checking", done, total, ctx);
			}
		}
		sha256_final(&s, d);
		if (memcmp(d, part->sha256, SHA256_LEN) != 0) {
			return berr_setx(err, EBADMSG, "bad hash: the %s's sha256 is not the one its manifest gives",
					 part_names[k]);
		}
	}
	const struct bundle_part *kernel = &b->m.parts[PART_KERNEL];
	const uint8_t *kd = bundle_part_data(b, PART_KERNEL);
	if (kernel->size < 0x300 || memcmp(kd + 0x202, "HdrS", 4) != 0) {
		return berr_setx(err, EINVAL, "the kernel part is not a Linux bzImage");
	}
	const uint8_t *rd = bundle_part_data(b, PART_ROOT);
	static const uint8_t erofs_magic[4] = {0xe2, 0xe1, 0xf5, 0xe0};
	if (b->m.parts[PART_ROOT].size < 2048 || memcmp(rd + 1024, erofs_magic, 4) != 0) {
		return berr_setx(err, EINVAL, "the root part is not an erofs image");
	}
	uint64_t tree = verity_tree_size(b->m.data_blocks, b->m.verity_block);
	if (b->m.parts[PART_HASHTREE].size != tree) {
		return berr_setx(err, EINVAL,
				 "the hash tree is %" PRIu64 " bytes; %" PRIu64 " data blocks need %" PRIu64,
				 b->m.parts[PART_HASHTREE].size, b->m.data_blocks, tree);
	}
	return 0;
}

/* ---- versions ------------------------------------------------------------------ */

static int is_number(const char *s, size_t n)
{
	if (n == 0) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return 0;
		}
	}
	return 1;
}

/* Compares dot-separated fields of a[0..an) and b[0..bn). */
static int compare_fields(const char *a, size_t an, const char *b, size_t bn)
{
	while (an > 0 || bn > 0) {
		if (an == 0 || bn == 0) {
			return an == 0 ? -1 : 1; /* more fields: later */
		}
		size_t al = 0;
		size_t bl = 0;
		while (al < an && a[al] != '.') {
			al++;
		}
		while (bl < bn && b[bl] != '.') {
			bl++;
		}
		int an_num = is_number(a, al);
		int bn_num = is_number(b, bl);
		int c;
		if (an_num && bn_num) {
			while (al > 1 && *a == '0') {
				a++, al--, an--;
			}
			while (bl > 1 && *b == '0') {
				b++, bl--, bn--;
			}
			c = al != bl ? (al < bl ? -1 : 1) : memcmp(a, b, al);
		} else if (an_num != bn_num) {
			c = an_num ? -1 : 1; /* numbers before words */
		} else {
			c = memcmp(a, b, al < bl ? al : bl);
			if (c == 0) {
				c = al < bl ? -1 : al > bl ? 1 : 0;
			}
		}
		if (c != 0) {
			return c < 0 ? -1 : 1;
		}
		a += al;
		an -= al;
		b += bl;
		bn -= bl;
		if (an > 0) {
			a++, an--;
		}
		if (bn > 0) {
			b++, bn--;
		}
	}
	return 0;
}

int version_compare(const char *a, const char *b)
{
	size_t an = strcspn(a, "+");
	size_t bn = strcspn(b, "+");
	size_t ar = strcspn(a, "-+");
	size_t br = strcspn(b, "-+");
	int c = compare_fields(a, ar, b, br);
	if (c != 0) {
		return c;
	}
	int apre = ar < an;
	int bpre = br < bn;
	if (apre != bpre) {
		return apre ? -1 : 1; /* 1.0.0-rc1 < 1.0.0 */
	}
	if (!apre) {
		return 0;
	}
	return compare_fields(a + ar + 1, an - ar - 1, b + br + 1, bn - br - 1);
}
