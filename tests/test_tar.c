/* SHA-256, the decompressing stream and the tar reader, on archives built
 * here byte by byte (so that every malformed field can be made), and the
 * unpacker on small layers in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "image/dstream.h"
#include "image/fstree.h"
#include "image/tar.h"
#include "image/unpack.h"
#include "lib/sha256.h"

/* ---- building archives -------------------------------------------------------- */

struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

static void put(struct buf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap == 0 ? 4096 : b->cap;
		while (cap < b->len + len) {
			cap *= 2;
		}
		b->p = realloc(b->p, cap);
		if (b->p == NULL) {
			abort();
		}
		b->cap = cap;
	}
	if (len > 0) {
		memcpy(b->p + b->len, data, len);
	}
	b->len += len;
}

static void put_zeros(struct buf *b, size_t len)
{
	uint8_t z[512] = {0};
	while (len > 0) {
		size_t n = len < sizeof(z) ? len : sizeof(z);
		put(b, z, n);
		len -= n;
	}
}

static void octal(uint8_t *f, size_t len, unsigned long long v)
{
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%0*llo", (int)(len - 1), v);
	memcpy(f, tmp, len - 1);
	f[len - 1] = '\0';
}

static void set_checksum(uint8_t *h)
{
	unsigned sum = 0;
	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < 512; i++) {
		sum += h[i];
	}
	char tmp[8];
	snprintf(tmp, sizeof(tmp), "%06o", sum);
	memcpy(h + 148, tmp, 6);
	h[154] = '\0';
	h[155] = ' ';
}

/* A ustar header; callers may change fields and call set_checksum again. */
static void make_header(uint8_t h[512], const char *name, char type, uint64_t size, unsigned mode, const char *link)
{
	memset(h, 0, 512);
	memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
	octal(h + 100, 8, mode);
	octal(h + 108, 8, 0);
	octal(h + 116, 8, 0);
	octal(h + 124, 12, size);
	octal(h + 136, 12, 1700000000);
	h[156] = (uint8_t)type;
	if (link != NULL) {
		memcpy(h + 157, link, strlen(link) < 100 ? strlen(link) : 100);
	}
	memcpy(h + 257,
	       "ustar\0"
	       "00",
	       8);
	octal(h + 329, 8, 0);
	octal(h + 337, 8, 0);
	set_checksum(h);
}

static void put_data(struct buf *b, const void *data, size_t len)
{
	put(b, data, len);
	put_zeros(b, (512 - len % 512) % 512);
}

static void add(struct buf *b, const char *name, char type, const char *data, unsigned mode, const char *link)
{
	uint8_t h[512];
	size_t len = data != NULL ? strlen(data) : 0;
	make_header(h, name, type, len, mode, link);
	put(b, h, 512);
	put_data(b, data, len);
}

static void add_pax(struct buf *b, const char *records, size_t len)
{
	uint8_t h[512];
	make_header(h, "PaxHeaders/x", 'x', len, 0644, NULL);
	put(b, h, 512);
	put_data(b, records, len);
}

static void end_archive(struct buf *b)
{
	put_zeros(b, 1024);
}

/* "<len> key=value\n" with the length counting itself. */
static size_t pax_record(char *out, size_t size, const char *key, const char *value, size_t vlen)
{
	size_t body = 1 + strlen(key) + 1 + vlen + 1;
	size_t n = body + 1;
	while ((size_t)snprintf(NULL, 0, "%zu", n) + body != n) {
		n = (size_t)snprintf(NULL, 0, "%zu", n) + body;
	}
	int off = snprintf(out, size, "%zu %s=", n, key);
	memcpy(out + off, value, vlen);
	out[off + (int)vlen] = '\n';
	return n;
}

/* ---- reading them ---------------------------------------------------------------- */

struct mem {
	const uint8_t *p;
	size_t len;
	size_t pos;
	size_t chunk; /* at most this many bytes per read: exercises refills */
};

static ssize_t mem_read(void *ctx, void *buf, size_t len, struct berr *err)
{
	struct mem *m = ctx;
	(void)err;
	size_t n = m->len - m->pos;
	if (n > len) {
		n = len;
	}
	if (m->chunk != 0 && n > m->chunk) {
		n = m->chunk;
	}
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

struct reader {
	struct mem mem;
	struct dstream *d;
	struct tar_reader *t;
	struct berr err;
};

static int open_reader(struct reader *r, const void *p, size_t len, size_t chunk, uint64_t max)
{
	memset(r, 0, sizeof(*r));
	r->mem = (struct mem){p, len, 0, chunk};
	struct dstream_source src = {mem_read, NULL, &r->mem};
	int ret = dstream_open(&r->d, &src, 0, max, &r->err);
	if (ret == 0) {
		ret = tar_open(&r->t, r->d, &r->err);
	}
	return ret;
}

static void close_reader(struct reader *r)
{
	tar_close(r->t);
	dstream_close(r->d);
}

/* Reads every entry and its data; the error code, or the entry count. */
static int read_all(const void *p, size_t len, struct berr *err)
{
	struct reader r;
	int ret = open_reader(&r, p, len, 0, 0);
	int count = 0;
	while (ret == 0) {
		const struct tar_entry *e;
		ret = tar_next(r.t, &e, &r.err);
		if (ret <= 0) {
			break;
		}
		ret = 0;
		count++;
		char tmp[700];
		ssize_t n;
		while ((n = tar_read(r.t, tmp, sizeof(tmp), &r.err)) > 0) {
		}
		if (n < 0) {
			ret = (int)n;
		}
	}
	if (ret == 0) {
		ret = dstream_drain(r.d, &r.err);
	}
	*err = r.err;
	close_reader(&r);
	return ret < 0 ? ret : count;
}

static void hex_of(const void *p, size_t len, char out[72])
{
	char hex[65];
	sha256_hex(p, len, hex);
	snprintf(out, 72, "sha256:%s", hex);
}

/* ---- sha256 ---------------------------------------------------------------------- */

static void test_sha256_vectors(void)
{
	char hex[65];
	sha256_hex("", 0, hex);
	CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	sha256_hex("abc", 3, hex);
	CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256_hex(m448, strlen(m448), hex);
	CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
	const char *m896 =
		"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
		"mnopqrstnopqrstu";
	sha256_hex(m896, strlen(m896), hex);
	CHECK(strcmp(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1") == 0);
}

static void test_sha256_streaming(void)
{
	/* One million 'a', fed in uneven pieces across block boundaries. */
	static char chunk[1000];
	memset(chunk, 'a', sizeof(chunk));
	struct sha256 s;
	sha256_init(&s);
	size_t done = 0;
	size_t step = 1;
	while (done < 1000000) {
		size_t n = step < 1000000 - done ? step : 1000000 - done;
		if (n > sizeof(chunk)) {
			n = sizeof(chunk);
		}
		sha256_update(&s, chunk, n);
		done += n;
		step = step * 7 % 997 + 1;
	}
	uint8_t d[SHA256_LEN];
	char hex[65];
	sha256_final(&s, d);
	sha256_to_hex(d, hex);
	CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
	/* Lengths around the padding boundary agree with the one-shot form. */
	for (size_t len = 50; len < 140; len++) {
		char one[65];
		char two[65];
		sha256_hex(chunk, len, one);
		sha256_init(&s);
		sha256_update(&s, chunk, len / 3);
		sha256_update(&s, chunk, len - len / 3);
		sha256_final(&s, d);
		sha256_to_hex(d, two);
		CHECK(strcmp(one, two) == 0);
	}
}

/* ---- headers ------------------------------------------------------------------------ */

static void test_basic_entries(void)
{
	struct buf b = {0};
	add(&b, "dir/", TAR_DIR, NULL, 0755, NULL);
	add(&b, "dir/file", TAR_REG, "hello", 04755, NULL);
	add(&b, "dir/link", TAR_SYMLINK, NULL, 0777, "file");
	add(&b, "dir/hard", TAR_HARDLINK, NULL, 0644, "dir/file");
	add(&b, "fifo", TAR_FIFO, NULL, 0600, NULL);
	uint8_t h[512];
	make_header(h, "old", '\0', 3, 0100644, NULL); /* v7 regular type, file type bits in mode */
	put(&b, h, 512);
	put_data(&b, "abc", 3);
	end_archive(&b);

	struct reader r;
	CHECK_EQ_INT(open_reader(&r, b.p, b.len, 100, 0), 0);
	const struct tar_entry *e;
	CHECK_EQ_INT(tar_next(r.t, &e, &r.err), 1);
	CHECK(e->type == TAR_DIR && strcmp(e->path, "dir/") == 0 && e->mode == 0755 && e->mtime == 1700000000);
	CHECK_EQ_INT(tar_next(r.t, &e, &r.err), 1);
	CHECK(e->type == TAR_REG && e->size == 5 && e->mode == 04755);
	char data[16] = {0};
	CHECK_EQ_INT(tar_read(r.t, data, 2, &r.err), 2);
	CHECK_EQ_INT(tar_read(r.t, data + 2, sizeof(data), &r.err), 3);
	CHECK(strcmp(data, "hello") == 0);
	CHECK_EQ_INT(tar_read(r.t, data, sizeof(data), &r.err), 0);
	CHECK_EQ_INT(tar_next(r.t, &e, &r.err), 1);
	CHECK(e->type == TAR_SYMLINK && strcmp(e->linkpath, "file") == 0 && e->size == 0);
	CHECK_EQ_INT(tar_next(r.t, &e, &r.err), 1);
	CHECK(e->type == TAR_HARDLINK && strcmp(e->linkpath, "dir/file") == 0);
	CHECK_EQ_INT(tar_next(r.t, &e, &r.err), 1);
	CHECK(e->type == TAR_FIFO && strcmp(e->path, "fifo") == 0);
	CHECK_EQ_INT(tar_next(r.t, &e, &r.err), 1);
	CHECK(e->type == TAR_REG && e->mode == 0644 && e->size == 3); /* data left unread: skipped */
	CHECK_EQ_INT(tar_next(r.t, &e, &r.err), 0);
	CHECK_EQ_INT(tar_next(r.t, &e, &r.err), 0);
	close_reader(&r);
	free(b.p);
}

static void test_ustar_prefix_and_gnu_long_names(void)
{
	struct buf b = {0};
	uint8_t h[512];
	/* ustar: prefix "/" name. */
	make_header(h, "name.txt", TAR_REG, 0, 0644, NULL);
	memcpy(h + 345, "some/prefix", 11);
	set_checksum(h);
	put(&b, h, 512);
	/* GNU 'L' and 'K' for a long symlink. */
	char longname[300];
	char longlink[400];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memset(longlink, 'k', sizeof(longlink) - 1);
	longlink[sizeof(longlink) - 1] = '\0';
	make_header(h, "././@LongLink", 'L', strlen(longname) + 1, 0644, NULL);
	memcpy(h + 257, "ustar  \0", 8);
	set_checksum(h);
	put(&b, h, 512);
	put_data(&b, longname, strlen(longname) + 1);
	make_header(h, "././@LongLink", 'K', strlen(longlink) + 1, 0644, NULL);
	memcpy(h + 257, "ustar  \0", 8);
	set_checksum(h);
	put(&b, h, 512);
	put_data(&b, longlink, strlen(longlink) + 1);
	make_header(h, "short", TAR_SYMLINK, 0, 0777, "shortlink");
	memcpy(h + 257, "ustar  \0", 8);
	memset(h + 345, 0x7f, 12); /* GNU keeps atime here: not a prefix */
	set_checksum(h);
	put(&b, h, 512);
	end_archive(&b);

	struct reader r;
	CHECK_EQ_INT(open_reader(&r, b.p, b.len, 0, 0), 0);
	const struct tar_entry *e;
	CHECK_EQ_INT(tar_next(r.t, &e, &r.err), 1);
	CHECK(strcmp(e->path, "some/prefix/name.txt") == 0);
	CHECK_EQ_INT(tar_next(r.t, &e, &r.err), 1);
	CHECK(e->type == TAR_SYMLINK && strcmp(e->path, longname) == 0 && strcmp(e->linkpath, longlink) == 0);
	CHECK_EQ_INT(tar_next(r.t, &e, &r.err), 0);
	close_reader(&r);
	free(b.p);
}

static void test_pax_headers(void)
{
	char longpath[4097];
	memset(longpath, 'p', 4096);
	longpath[4096] = '\0';
	longpath[100] = '/';
	char rec[9000];
	size_t n = 0;
	n += pax_record(rec + n, sizeof(rec) - n, "path", longpath, 4096);
	n += pax_record(rec + n, sizeof(rec) - n, "uid", "4000000000", 10);
	n += pax_record(rec + n, sizeof(rec) - n, "gid", "70000", 5);
	n += pax_record(rec + n, sizeof(rec) - n, "mtime", "1700000000.123456789123", 23);
	n += pax_record(rec + n, sizeof(rec) - n, "size", "7", 1);
	n += pax_record(rec + n, sizeof(rec) - n, "SCHILY.xattr.user.bin", "a\0b=c\n", 6);
	n += pax_record(rec + n, sizeof(rec) - n, "comment", "ignored", 7);
	struct buf b = {0};
	/* A global header is skipped. */
	uint8_t h[512];
	make_header(h, "global", 'g', 20, 0644, NULL);
	put(&b, h, 512);
	put_data(&b, "20 path=ignored/x/y\n", 20);
	add_pax(&b, rec, n);
	make_header(h, "short", TAR_REG, 0, 0644, NULL); /* the PAX size wins */
	put(&b, h, 512);
	put_data(&b, "1234567", 7);
	/* Negative fractional time; an empty path value keeps the header's. */
	n = pax_record(rec, sizeof(rec), "mtime", "-1.25", 5);
	n += pax_record(rec + n, sizeof(rec) - n, "path", "", 0);
	add_pax(&b, rec, n);
	add(&b, "after", TAR_REG, "x", 0644, NULL);
	end_archive(&b);

	struct reader r;
	CHECK_EQ_INT(open_reader(&r, b.p, b.len, 333, 0), 0);
	const struct tar_entry *e;
	CHECK_EQ_INT(tar_next(r.t, &e, &r.err), 1);
	CHECK(strcmp(e->path, longpath) == 0);
	CHECK(e->uid == 4000000000u && e->gid == 70000);
	CHECK(e->mtime == 1700000000 && e->mtime_nsec == 123456789);
	CHECK_EQ_INT(e->size, 7);
	CHECK_EQ_INT(e->nxattrs, 1);
	CHECK(e->nxattrs == 1 && strcmp(e->xattrs[0].name, "user.bin") == 0 && e->xattrs[0].len == 6 &&
	      memcmp(e->xattrs[0].value, "a\0b=c\n", 6) == 0);
	char data[8] = {0};
	size_t got = 0;
	ssize_t n1;
	while ((n1 = tar_read(r.t, data + got, sizeof(data) - 1 - got, &r.err)) > 0) {
		got += (size_t)n1;
	}
	CHECK(got == 7 && strcmp(data, "1234567") == 0);
	CHECK_EQ_INT(tar_next(r.t, &e, &r.err), 1);
	CHECK(strcmp(e->path, "after") == 0 && e->mtime == -2 && e->mtime_nsec == 750000000);
	CHECK_EQ_INT(e->nxattrs, 0);
	CHECK_EQ_INT(tar_next(r.t, &e, &r.err), 0);
	close_reader(&r);
	free(b.p);
}

static int read_pax_case(const char *records, size_t len, struct berr *err)
{
	struct buf b = {0};
	add_pax(&b, records, len);
	add(&b, "f", TAR_REG, "x", 0644, NULL);
	end_archive(&b);
	int ret = read_all(b.p, b.len, err);
	free(b.p);
	return ret;
}

static void test_pax_errors(void)
{
	struct berr err;
	char rec[512];
	size_t n = pax_record(rec, sizeof(rec), "path", "a\0b", 3);
	CHECK(read_pax_case(rec, n, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "NUL");
	n = pax_record(rec, sizeof(rec), "GNU.sparse.map", "0,1", 3);
	CHECK(read_pax_case(rec, n, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "sparse");
	CHECK(read_pax_case("5 a=b\n", 6, &err) < 0); /* length wrong */
	CHECK_STR_CONTAINS(err.msg, "malformed PAX record");
	CHECK(read_pax_case("99 path=x\n", 10, &err) < 0); /* longer than the header */
	CHECK(read_pax_case("7 =abc\n", 7, &err) < 0);	   /* no key */
	n = pax_record(rec, sizeof(rec), "uid", "4294967295", 10);
	CHECK(read_pax_case(rec, n, &err) < 0); /* (uid_t)-1 */
	n = pax_record(rec, sizeof(rec), "size", "-1", 2);
	CHECK(read_pax_case(rec, n, &err) < 0);
	n = pax_record(rec, sizeof(rec), "mtime", "12.", 3);
	CHECK(read_pax_case(rec, n, &err) < 0);
	/* An extended header with no entry after it. */
	struct buf b = {0};
	n = pax_record(rec, sizeof(rec), "path", "x", 1);
	add_pax(&b, rec, n);
	end_archive(&b);
	CHECK(read_all(b.p, b.len, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "without an entry");
	free(b.p);
}

static void test_base256_numbers(void)
{
	struct buf b = {0};
	uint8_t h[512];
	make_header(h, "big", TAR_REG, 0, 0644, NULL);
	/* uid 3000000000 (needs base-256 in 8 bytes), mtime -100, size 600. */
	memset(h + 108, 0, 8);
	h[108] = 0x80;
	uint32_t uid = 3000000000u;
	for (int i = 0; i < 4; i++) {
		h[115 - i] = (uint8_t)(uid >> (8 * i));
	}
	memset(h + 136, 0xff, 12);
	int64_t mt = -100;
	for (int i = 0; i < 8; i++) {
		h[147 - i] = (uint8_t)((uint64_t)mt >> (8 * i));
	}
	memset(h + 124, 0, 12);
	h[124] = 0x80;
	h[134] = 600 >> 8;
	h[135] = 600 & 0xff;
	set_checksum(h);
	put(&b, h, 512);
	put_zeros(&b, 1024);
	end_archive(&b);
	struct reader r;
	CHECK_EQ_INT(open_reader(&r, b.p, b.len, 0, 0), 0);
	const struct tar_entry *e;
	CHECK_EQ_INT(tar_next(r.t, &e, &r.err), 1);
	CHECK(e->uid == 3000000000u);
	CHECK(e->mtime == -100);
	CHECK_EQ_INT(e->size, 600);
	close_reader(&r);

	/* A negative size is refused, as is a size beyond 63 bits. */
	memset(h + 124, 0xff, 12);
	set_checksum(h);
	memcpy(b.p, h, 512);
	struct berr err;
	CHECK(read_all(b.p, b.len, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "size");
	memset(h + 124, 0, 12);
	h[124] = 0x80;
	h[127] = 1;
	set_checksum(h);
	memcpy(b.p, h, 512);
	CHECK(read_all(b.p, b.len, &err) < 0);
	free(b.p);
}

static void test_header_errors(void)
{
	struct berr err;
	uint8_t h[512];
	struct buf b = {0};
	add(&b, "f", TAR_REG, "data", 0644, NULL);
	end_archive(&b);
	CHECK_EQ_INT(read_all(b.p, b.len, &err), 1);

	memcpy(h, b.p, 512);
	b.p[0] = 'g'; /* checksum no longer matches */
	CHECK(read_all(b.p, b.len, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "checksum");
	memcpy(b.p, h, 512);

	memcpy(b.p + 257, "ustaX", 5);
	set_checksum(b.p);
	CHECK(read_all(b.p, b.len, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "not a ustar");
	memcpy(b.p, h, 512);

	b.p[101] = '9'; /* not octal */
	set_checksum(b.p);
	CHECK(read_all(b.p, b.len, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "mode");
	memcpy(b.p, h, 512);

	b.p[3] = 'x'; /* a byte hidden after the name's NUL */
	set_checksum(b.p);
	CHECK(read_all(b.p, b.len, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "after its NUL");
	memcpy(b.p, h, 512);

	/* A directory with data bytes. */
	make_header(b.p, "d/", TAR_DIR, 512, 0755, NULL);
	CHECK(read_all(b.p, b.len, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "claims 512 data bytes");
	memcpy(b.p, h, 512);

	/* A symlink without a target; an empty name. */
	make_header(b.p, "l", TAR_SYMLINK, 0, 0777, NULL);
	CHECK(read_all(b.p, b.len, &err) < 0);
	make_header(b.p, "", TAR_REG, 4, 0644, NULL);
	CHECK(read_all(b.p, b.len, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "empty name");

	/* GNU sparse files. */
	make_header(b.p, "s", 'S', 4, 0644, NULL);
	CHECK(read_all(b.p, b.len, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "sparse");

	/* A zero block followed by a header is not an end. */
	struct buf z = {0};
	put_zeros(&z, 512);
	add(&z, "f", TAR_REG, "x", 0644, NULL);
	end_archive(&z);
	CHECK(read_all(z.p, z.len, &err) < 0);
	free(z.p);
	free(b.p);
}

static void test_truncation(void)
{
	struct berr err;
	struct buf b = {0};
	char big[3000];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	add(&b, "f", TAR_REG, big, 0644, NULL);
	end_archive(&b);
	CHECK(read_all(b.p, 300, &err) < 0); /* inside the header */
	CHECK_STR_CONTAINS(err.msg, "inside a header");
	CHECK(read_all(b.p, 512 + 1000, &err) < 0); /* inside the data */
	CHECK_STR_CONTAINS(err.msg, "inside the data");
	/* Ending at a header boundary without the zero blocks is accepted,
	 * like GNU tar and Go do; an empty stream is an empty archive. */
	CHECK_EQ_INT(read_all(b.p, 512 + 3072, &err), 1);
	CHECK_EQ_INT(read_all(b.p, 0, &err), 0);
	/* Docker's empty layer: just the end-of-archive blocks. */
	struct buf empty = {0};
	end_archive(&empty);
	CHECK_EQ_INT(read_all(empty.p, empty.len, &err), 0);
	free(empty.p);
	free(b.p);
}

/* ---- compression and digests ------------------------------------------------------ */

static void gzip_into(struct buf *out, const void *data, size_t len, int level)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		abort();
	}
	uint8_t chunk[4096];
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	int ret;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		ret = deflate(&z, Z_FINISH);
		put(out, chunk, sizeof(chunk) - z.avail_out);
	} while (ret == Z_OK);
	deflateEnd(&z);
}

/* A zstd frame of raw blocks (the library here only decompresses). */
static void zstd_raw_into(struct buf *out, const uint8_t *data, size_t len)
{
	static const uint8_t frame[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38};
	put(out, frame, sizeof(frame));
	size_t off = 0;
	do {
		size_t n = len - off < (1u << 17) ? len - off : (1u << 17);
		uint32_t last = off + n == len;
		uint32_t hdr = (uint32_t)(n << 3) | last;
		uint8_t h[3] = {(uint8_t)hdr, (uint8_t)(hdr >> 8), (uint8_t)(hdr >> 16)};
		put(out, h, 3);
		put(out, data + off, n);
		off += n;
	} while (off < len);
}

static void sample_tar(struct buf *b)
{
	static char data[200000];
	for (size_t i = 0; i < sizeof(data) - 1; i++) {
		data[i] = (char)('a' + i * 7 % 26);
	}
	data[sizeof(data) - 1] = '\0';
	add(b, "big", TAR_REG, data, 0644, NULL);
	add(b, "small", TAR_REG, "hello\n", 0644, NULL);
	end_archive(b);
	put_zeros(b, 10240 - b->len % 10240); /* record padding counts toward the diff ID */
}

static int digests_of(const struct buf *in, size_t chunk, enum dstream_kind *kind, char din[72], char dout[72],
		      int *entries)
{
	struct reader r;
	int ret = open_reader(&r, in->p, in->len, chunk, 0);
	*entries = 0;
	while (ret == 0) {
		const struct tar_entry *e;
		ret = tar_next(r.t, &e, &r.err);
		if (ret <= 0) {
			break;
		}
		ret = 0;
		(*entries)++;
	}
	if (ret == 0) {
		ret = dstream_drain(r.d, &r.err);
	}
	if (ret == 0) {
		*kind = dstream_kind(r.d);
		ret = dstream_digests(r.d, din, dout);
	}
	close_reader(&r);
	return ret;
}

static void test_compression_and_digests(void)
{
	struct buf tar = {0};
	sample_tar(&tar);
	char tar_digest[72];
	hex_of(tar.p, tar.len, tar_digest);
	enum dstream_kind kind;
	char din[72];
	char dout[72];
	int entries;

	CHECK_EQ_INT(digests_of(&tar, 1000, &kind, din, dout, &entries), 0);
	CHECK(kind == DSTREAM_PLAIN && entries == 2);
	CHECK(strcmp(din, tar_digest) == 0 && strcmp(dout, tar_digest) == 0);

	struct buf gz = {0};
	gzip_into(&gz, tar.p, tar.len, 6);
	char gz_digest[72];
	hex_of(gz.p, gz.len, gz_digest);
	CHECK_EQ_INT(digests_of(&gz, 777, &kind, din, dout, &entries), 0);
	CHECK(kind == DSTREAM_GZIP && entries == 2);
	CHECK(strcmp(din, gz_digest) == 0 && strcmp(dout, tar_digest) == 0);

	/* Two gzip members (pigz, cat a.gz b.gz), then zero padding. */
	struct buf multi = {0};
	size_t half = tar.len / 2;
	gzip_into(&multi, tar.p, half, 1);
	gzip_into(&multi, tar.p + half, tar.len - half, 9);
	put_zeros(&multi, 100);
	CHECK_EQ_INT(digests_of(&multi, 0, &kind, din, dout, &entries), 0);
	CHECK(strcmp(dout, tar_digest) == 0 && entries == 2);
	/* ... but not garbage after it. */
	put(&multi, "junk", 4);
	CHECK(digests_of(&multi, 0, &kind, din, dout, &entries) < 0);
	/* A truncated gzip stream. */
	gz.len -= 10;
	CHECK(digests_of(&gz, 0, &kind, din, dout, &entries) < 0);

	struct buf zs = {0};
	zstd_raw_into(&zs, tar.p, tar.len);
	char zs_digest[72];
	hex_of(zs.p, zs.len, zs_digest);
	CHECK_EQ_INT(digests_of(&zs, 5000, &kind, din, dout, &entries), 0);
	CHECK(kind == DSTREAM_ZSTD && entries == 2);
	CHECK(strcmp(din, zs_digest) == 0 && strcmp(dout, tar_digest) == 0);
	zs.len -= 3;
	CHECK(digests_of(&zs, 0, &kind, din, dout, &entries) < 0);

	/* Real zstd compression, when the command is on this machine. */
	char dir[] = "/tmp/berth-test-tar-XXXXXX";
	if (mkdtemp(dir) != NULL) {
		char path[256];
		char cmd[600];
		snprintf(path, sizeof(path), "%s/t.tar", dir);
		FILE *f = fopen(path, "we");
		if (f != NULL) {
			fwrite(tar.p, 1, tar.len, f);
			fclose(f);
		}
		snprintf(cmd, sizeof(cmd), "zstd -q -19 %s -o %s.zst 2>/dev/null", path, path);
		if (system(cmd) == 0) {
			snprintf(path, sizeof(path), "%s/t.tar.zst", dir);
			struct buf real = {0};
			f = fopen(path, "re");
			char chunk[4096];
			size_t n;
			while (f != NULL && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
				put(&real, chunk, n);
			}
			if (f != NULL) {
				fclose(f);
			}
			CHECK_EQ_INT(digests_of(&real, 0, &kind, din, dout, &entries), 0);
			CHECK(kind == DSTREAM_ZSTD && strcmp(dout, tar_digest) == 0 && entries == 2);
			free(real.p);
		} else {
			printf("     (zstd command not found: real zstd streams not tested)\n");
		}
		CHECK_EQ_INT(check_rmtree(dir), 0);
	}

	/* The output limit stops a decompression bomb. */
	struct reader r;
	CHECK_EQ_INT(open_reader(&r, gz.p, gz.len, 0, 50000), 0);
	const struct tar_entry *e;
	int ret = tar_next(r.t, &e, &r.err);
	if (ret == 1) {
		ret = dstream_drain(r.d, &r.err);
	}
	CHECK(ret < 0);
	CHECK_STR_CONTAINS(r.err.msg, "limit");
	close_reader(&r);

	/* Digests are not there before the end. */
	CHECK_EQ_INT(open_reader(&r, tar.p, tar.len, 0, 0), 0);
	CHECK(dstream_digests(r.d, din, dout) < 0);
	close_reader(&r);
	free(tar.p);
	free(gz.p);
	free(multi.p);
	free(zs.p);
}

/* ---- unpacking ---------------------------------------------------------------------- */

struct tmpdir {
	char path[64];
	int fd;
};

static int make_tmpdir(struct tmpdir *t)
{
	snprintf(t->path, sizeof(t->path), "/tmp/berth-test-unpack-XXXXXX");
	if (mkdtemp(t->path) == NULL) {
		return -1;
	}
	t->fd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return t->fd;
}

static void remove_tmpdir(struct tmpdir *t)
{
	close(t->fd);
	CHECK_EQ_INT(check_rmtree(t->path), 0);
}

static int unpack_buf(int dirfd, const struct buf *b, const struct unpack_limits *lim, struct unpack_stats *st,
		      struct berr *err)
{
	struct mem m = {b->p, b->len, 0, 0};
	struct dstream_source src = {mem_read, NULL, &m};
	struct dstream *d;
	int ret = dstream_open(&d, &src, 0, lim != NULL ? lim->max_bytes : 0, err);
	if (ret == 0) {
		ret = unpack_layer(dirfd, d, lim, st, err);
		dstream_close(d);
	}
	return ret;
}

static void test_unpack_replacements(void)
{
	struct tmpdir t;
	if (make_tmpdir(&t) < 0) {
		CHECK(0);
		return;
	}
	struct buf b = {0};
	add(&b, "a/b/file", TAR_REG, "first", 0644, NULL);  /* parents made implicitly */
	add(&b, "a/b/file", TAR_REG, "second", 0600, NULL); /* a later entry replaces */
	add(&b, "a/d", TAR_DIR, NULL, 0755, NULL);
	add(&b, "a/d/inner", TAR_REG, "x", 0644, NULL);
	add(&b, "a/d", TAR_SYMLINK, NULL, 0777, "b"); /* a directory replaced by a symlink */
	add(&b, "a/hard", TAR_HARDLINK, NULL, 0644, "a/b/file");
	add(&b, "a/hard", TAR_HARDLINK, NULL, 0644, "a/b/file"); /* again: same inode */
	add(&b, "a/b/", TAR_DIR, NULL, 0555, NULL);		 /* a directory entry after its content */
	add(&b, "a/wh", TAR_CHAR, NULL, 0, NULL);		 /* an overlay whiteout as such */
	add(&b, "./", TAR_DIR, NULL, 0711, NULL);
	end_archive(&b);
	struct unpack_stats st;
	struct berr err = {0};
	CHECK_EQ_INT(unpack_buf(t.fd, &b, NULL, &st, &err), 0);
	if (err.code) {
		fprintf(stderr, "%s\n", err.msg);
	}
	char buf[16] = {0};
	int fd = openat(t.fd, "a/b/file", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 6 && strcmp(buf, "second") == 0);
	close(fd);
	struct stat s1;
	struct stat s2;
	CHECK(fstatat(t.fd, "a/b/file", &s1, AT_SYMLINK_NOFOLLOW) == 0 && (s1.st_mode & 07777) == 0600);
	CHECK(fstatat(t.fd, "a/hard", &s2, AT_SYMLINK_NOFOLLOW) == 0 && s1.st_ino == s2.st_ino);
	CHECK(fstatat(t.fd, "a/d", &s1, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(s1.st_mode));
	CHECK(fstatat(t.fd, "a/b", &s1, AT_SYMLINK_NOFOLLOW) == 0 && (s1.st_mode & 07777) == 0555 &&
	      s1.st_mtime == 1700000000);
	CHECK(fstatat(t.fd, "a/wh", &s1, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(s1.st_mode) &&
	      s1.st_rdev == makedev(0, 0));
	CHECK(fstatat(t.fd, ".", &s1, 0) == 0 && (s1.st_mode & 07777) == 0711);
	CHECK_EQ_INT(st.files, 3);
	CHECK_EQ_INT(st.whiteouts, 1);
	CHECK_EQ_INT(st.entries, 10);
	free(b.p);
	remove_tmpdir(&t);
}

static void test_unpack_limits(void)
{
	struct tmpdir t;
	if (make_tmpdir(&t) < 0) {
		CHECK(0);
		return;
	}
	struct buf b = {0};
	for (int i = 0; i < 20; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%d", i);
		add(&b, name, TAR_REG, "0123456789", 0644, NULL);
	}
	end_archive(&b);
	struct berr err = {0};
	struct unpack_limits lim = {.max_entries = 10};
	CHECK(unpack_buf(t.fd, &b, &lim, NULL, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "more than 10 entries");
	CHECK_EQ_INT(fstree_remove(AT_FDCWD, t.path, NULL, &err), 0);
	CHECK_EQ_INT(mkdir(t.path, 0700), 0);
	close(t.fd);
	t.fd = open(t.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	lim = (struct unpack_limits){.max_bytes = 4096};
	CHECK(unpack_buf(t.fd, &b, &lim, NULL, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "limit");
	free(b.p);
	remove_tmpdir(&t);
}

static void test_unpack_xattrs_and_refusals(void)
{
	struct tmpdir t;
	if (make_tmpdir(&t) < 0) {
		CHECK(0);
		return;
	}
	char rec[512];
	size_t n = pax_record(rec, sizeof(rec), "SCHILY.xattr.user.ok", "1", 1);
	n += pax_record(rec + n, sizeof(rec) - n, "SCHILY.xattr.trusted.overlay.opaque", "y", 1);
	n += pax_record(rec + n, sizeof(rec) - n, "SCHILY.xattr.security.selinux", "x", 1);
	struct buf b = {0};
	add_pax(&b, rec, n);
	add(&b, "f", TAR_REG, "x", 0644, NULL);
	end_archive(&b);
	struct unpack_stats st;
	struct berr err = {0};
	CHECK_EQ_INT(unpack_buf(t.fd, &b, NULL, &st, &err), 0);
	CHECK_EQ_INT(st.xattrs_set, 1);
	CHECK_EQ_INT(st.xattrs_skipped, 2);
	char path[128];
	char val[8];
	snprintf(path, sizeof(path), "%s/f", t.path);
	CHECK(getxattr(path, "user.ok", val, sizeof(val)) == 1);
	CHECK(getxattr(path, "trusted.overlay.opaque", val, sizeof(val)) < 0);
	free(b.p);

	/* A path component over NAME_MAX; a hard link to a directory. */
	char longcomp[300];
	memset(longcomp, 'c', 299);
	longcomp[299] = '\0';
	char pax[600];
	n = pax_record(pax, sizeof(pax), "path", longcomp, 299);
	b = (struct buf){0};
	add_pax(&b, pax, n);
	add(&b, "x", TAR_REG, "", 0644, NULL);
	end_archive(&b);
	CHECK(unpack_buf(t.fd, &b, NULL, NULL, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "longer than 255");
	free(b.p);
	b = (struct buf){0};
	add(&b, "dir/", TAR_DIR, NULL, 0755, NULL);
	add(&b, "h", TAR_HARDLINK, NULL, 0644, "dir");
	end_archive(&b);
	CHECK(unpack_buf(t.fd, &b, NULL, NULL, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "not a regular file");
	free(b.p);
	/* A control character in a refused name is escaped in the message. */
	b = (struct buf){0};
	add(&b, "../bad\x1bname", TAR_REG, "", 0644, NULL);
	end_archive(&b);
	CHECK(unpack_buf(t.fd, &b, NULL, NULL, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "\"../bad\\x1bname\"");
	free(b.p);
	remove_tmpdir(&t);
}

static void test_fstree_remove_deep(void)
{
	struct tmpdir t;
	if (make_tmpdir(&t) < 0) {
		CHECK(0);
		return;
	}
	/* Deeper than the fd budget of fstree_remove. */
	int cur = dup(t.fd);
	CHECK_EQ_INT(mkdirat(cur, "top", 0755), 0);
	int next = openat(cur, "top", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(cur);
	cur = next;
	for (int i = 0; i < 100 && cur >= 0; i++) {
		mkdirat(cur, "d", 0700);
		int fd = openat(cur, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		/* Data, so that something is freed on any filesystem (tmpfs
		 * directories and empty files take no blocks). */
		static const char data[8192] = {1};
		if (fd >= 0 && write(fd, data, sizeof(data)) != (ssize_t)sizeof(data)) {
			CHECK(0);
		}
		close(fd);
		next = openat(cur, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(cur);
		cur = next;
	}
	close(cur);
	struct berr err = {0};
	uint64_t freed = 0;
	CHECK_EQ_INT(fstree_remove(t.fd, "top", &freed, &err), 0);
	struct stat st;
	CHECK(fstatat(t.fd, "top", &st, 0) < 0 && errno == ENOENT);
	CHECK(freed > 0);
	/* Nothing of the moved subtrees is left behind. */
	CHECK(unlinkat(t.fd, ".", AT_REMOVEDIR) < 0); /* (sanity: "." is never removable) */
	remove_tmpdir(&t);
}

int main(void)
{
	RUN(test_sha256_vectors);
	RUN(test_sha256_streaming);
	/* Again with the portable code, where the CPU would use SHA-NI. */
	sha256_set_portable(1);
	RUN(test_sha256_vectors);
	RUN(test_sha256_streaming);
	sha256_set_portable(0);
	RUN(test_basic_entries);
	RUN(test_ustar_prefix_and_gnu_long_names);
	RUN(test_pax_headers);
	RUN(test_pax_errors);
	RUN(test_base256_numbers);
	RUN(test_header_errors);
	RUN(test_truncation);
	RUN(test_compression_and_digests);
	RUN(test_unpack_replacements);
	RUN(test_unpack_limits);
	RUN(test_unpack_xattrs_and_refusals);
	RUN(test_fstree_remove_deep);
	return check_summary();
}
