/* berth-sign: the build machine's half of update signatures (the host's
 * half, verification, is runtime/osupdate/bundle.c). Never in the image.
 *
 *   berth-sign keygen SECRET PUBLIC [COMMENT]  a new ed25519 key pair
 *   berth-sign sign SECRET FILE                a signature line for FILE's
 *                                              bytes: "ed25519 KEYID SIG"
 *   berth-sign public SECRET                   the public key line
 *
 * Files: SECRET is "ed25519-secret HEX" (libsodium's 64-byte secret key:
 * seed, then public key), mode 0600; PUBLIC is "ed25519 HEX COMMENT", the
 * form the host reads from /etc/berth/update-keys/. A key's id is the first
 * 8 bytes of the public key's sha256. */
#include <errno.h>
#include <fcntl.h>
#include <sodium/core.h>
#include <sodium/crypto_sign_ed25519.h>
#include <sodium/utils.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/hex.h"
#include "lib/sha256.h"

#define SK_PREFIX "ed25519-secret "

/* "berth-sign: WHAT PATH: strerror(errno)"; returns 1. */
static int die(const char *what, const char *path)
{
	fprintf(stderr, "berth-sign: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

static void keyid_hex(const unsigned char pk[32], char out[17])
{
	uint8_t d[SHA256_LEN];
	struct sha256 s;
	sha256_init(&s);
	sha256_update(&s, pk, 32);
	sha256_final(&s, d);
	hex_encode(d, 8, out);
}

static int load_secret(const char *path, unsigned char sk[64])
{
	char text[256];
	if (read_file(path, text, sizeof(text), NULL) < 0) {
		return die("cannot read the secret key", path);
	}
	trim_end(text);
	if (strncmp(text, SK_PREFIX, strlen(SK_PREFIX)) != 0 ||
	    hex_decode(text + strlen(SK_PREFIX), strlen(text + strlen(SK_PREFIX)), sk, 64) < 0) {
		errno = EINVAL;
		return die("not a Berth signing key:", path);
	}
	return 0;
}

static int public_line(const unsigned char pk[32], const char *comment, char *out, size_t size)
{
	char hex[65];
	hex_encode(pk, 32, hex);
	return snprintf(out, size, "ed25519 %s %s\n", hex, comment);
}

static int cmd_keygen(const char *secret, const char *public, const char *comment)
{
	unsigned char pk[32];
	unsigned char sk[64];
	char hex[129];
	char line[256];
	if (access(secret, F_OK) == 0) {
		errno = EEXIST;
		return die("will not overwrite", secret);
	}
	crypto_sign_ed25519_keypair(pk, sk);
	hex_encode(sk, 64, hex);
	sodium_memzero(sk, sizeof(sk));
	snprintf(line, sizeof(line), SK_PREFIX "%s\n", hex);
	sodium_memzero(hex, sizeof(hex));
	auto_close int fd = open(secret, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, line, strlen(line)) < 0 || fsync(fd) < 0) {
		return die("cannot write", secret);
	}
	sodium_memzero(line, sizeof(line));
	public_line(pk, comment, line, sizeof(line));
	struct berr err;
	if (write_file_atomic(public, line, strlen(line), 0644, ATOMIC_FSYNC_FILE, &err) < 0) {
		fprintf(stderr, "berth-sign: %s\n", err.msg);
		return 1;
	}
	char id[17];
	keyid_hex(pk, id);
	fprintf(stderr, "berth-sign: new key %s: %s (secret), %s (public)\n", id, secret, public);
	return 0;
}

static int cmd_sign(const char *secret, const char *file)
{
	unsigned char sk[64];
	if (load_secret(secret, sk) != 0) {
		return 1;
	}
	auto_free char *data = NULL;
	size_t len;
	struct berr err;
	if (read_file_alloc(AT_FDCWD, file, 0, 64u << 20, NULL, &data, &len, &err) < 0) {
		fprintf(stderr, "berth-sign: %s\n", err.msg);
		return 1;
	}
	unsigned char sig[64];
	char id[17];
	char hex[129];
	crypto_sign_ed25519_detached(sig, NULL, (const unsigned char *)data, len, sk);
	keyid_hex(sk + 32, id);
	sodium_memzero(sk, sizeof(sk));
	hex_encode(sig, 64, hex);
	printf("ed25519 %s %s\n", id, hex);
	return 0;
}

static int cmd_public(const char *secret)
{
	unsigned char sk[64];
	char line[256];
	if (load_secret(secret, sk) != 0) {
		return 1;
	}
	public_line(sk + 32, "berth-update-key", line, sizeof(line));
	sodium_memzero(sk, sizeof(sk));
	fputs(line, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "berth-sign: libsodium could not start\n");
		return 1;
	}
	if (argc >= 4 && argc <= 5 && strcmp(argv[1], "keygen") == 0) {
		return cmd_keygen(argv[2], argv[3], argc == 5 ? argv[4] : "berth-update-key");
	}
	if (argc == 4 && strcmp(argv[1], "sign") == 0) {
		return cmd_sign(argv[2], argv[3]);
	}
	if (argc == 3 && strcmp(argv[1], "public") == 0) {
		return cmd_public(argv[2]);
	}
	fprintf(stderr, "usage: berth-sign keygen SECRET PUBLIC [COMMENT]\n"
			"       berth-sign sign SECRET FILE\n"
			"       berth-sign public SECRET\n");
	return 2;
}
