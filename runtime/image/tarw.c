/* The tar writer (see tarw.h). */
#include "image/tarw.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsutil.h"

#define USTAR_MAX_SIZE 077777777777ULL
#define PAX_MAX 16384

/* value in width - 1 octal digits and a NUL (callers keep it in range). */
static void octal(char *field, size_t width, uint64_t value)
{
	field[width - 1] = '\0';
	for (size_t i = width - 1; i > 0; i--) {
		field[i - 1] = (char)('0' + (value & 7));
		value >>= 3;
	}
}

static int write_block(int fd, const char *h, const char *path, struct berr *err)
{
	if (write_all(fd, h, TARW_BLOCK) < 0) {
		return berr_set(err, errno, "tar: write the header of %s", path);
	}
	return 0;
}

static void checksum(char *h)
{
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < TARW_BLOCK; i++) {
		sum += (unsigned char)h[i];
	}
	snprintf(h + 148, 8, "%06o", sum);
}

static void fill(char *h, const char *name, char type, uint64_t size, mode_t mode, uid_t uid, gid_t gid, int64_t mtime,
		 const char *link)
{
	memset(h, 0, TARW_BLOCK);
	memcpy(h, name, strnlen(name, 99));
	octal(h + 100, 8, mode & 07777);
	octal(h + 108, 8, uid <= 07777777 ? uid : 0);
	octal(h + 116, 8, gid <= 07777777 ? gid : 0);
	octal(h + 124, 12, size <= USTAR_MAX_SIZE ? size : 0);
	octal(h + 136, 12, mtime > 0 ? (uint64_t)mtime : 0);
	h[156] = type;
	if (link != NULL) {
		memcpy(h + 157, link, strnlen(link, 99));
	}
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	checksum(h);
}

/* One "LEN key=value\n" record; LEN counts itself. */
static size_t pax_record(char *buf, size_t size, const char *key, const char *value)
{
	size_t body = strlen(key) + strlen(value) + 3; /* ' ', '=', '\n' */
	size_t len = body + 1;
	while (len != body + (size_t)snprintf(NULL, 0, "%zu", len)) {
		len = body + (size_t)snprintf(NULL, 0, "%zu", len);
	}
	if (len >= size) {
		return 0;
	}
	snprintf(buf, size, "%zu %s=%s\n", len, key, value);
	return len;
}

static int pax_header(int fd, const struct tarw_entry *e, struct berr *err)
{
	static char pax[PAX_MAX];
	size_t n = 0;
	if (strlen(e->path) > 99) {
		n += pax_record(pax + n, sizeof(pax) - n, "path", e->path);
	}
	if (e->linkpath != NULL && strlen(e->linkpath) > 99) {
		n += pax_record(pax + n, sizeof(pax) - n, "linkpath", e->linkpath);
	}
	if (e->size > USTAR_MAX_SIZE) {
		char v[24];
		snprintf(v, sizeof(v), "%llu", (unsigned long long)e->size);
		n += pax_record(pax + n, sizeof(pax) - n, "size", v);
	}
	if (n == 0) {
		return strlen(e->path) > 99 ? berr_setx(err, ENAMETOOLONG, "tar: %.60s...: path too long", e->path) : 0;
	}
	char h[TARW_BLOCK];
	fill(h, "PaxHeader", 'x', n, 0644, 0, 0, e->mtime, NULL);
	int ret = write_block(fd, h, e->path, err);
	if (ret == 0 && write_all(fd, pax, n) < 0) {
		ret = berr_set(err, errno, "tar: write the header of %s", e->path);
	}
	return ret < 0 ? ret : tarw_pad(fd, n, err);
}

int tarw_header(int fd, const struct tarw_entry *e, struct berr *err)
{
	int ret = pax_header(fd, e, err);
	if (ret < 0) {
		return ret;
	}
	char h[TARW_BLOCK];
	fill(h, e->path, e->type, e->type == '0' ? e->size : 0, e->mode, e->uid, e->gid, e->mtime,
	     e->type == '2' ? e->linkpath : NULL);
	return write_block(fd, h, e->path, err);
}

int tarw_pad(int fd, uint64_t size, struct berr *err)
{
	static const char zero[TARW_BLOCK];
	size_t pad = (size_t)((TARW_BLOCK - size % TARW_BLOCK) % TARW_BLOCK);
	if (pad > 0 && write_all(fd, zero, pad) < 0) {
		return berr_set(err, errno, "tar: write");
	}
	return 0;
}

int tarw_copy(int fd, int src, uint64_t size, const char *path, struct berr *err)
{
	static char buf[65536];
	uint64_t left = size;
	while (left > 0) {
		ssize_t n = read(src, buf, left < sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return berr_set(err, errno, "tar: read %s", path);
		}
		if (n == 0) {
			return berr_setx(err, EIO, "tar: %s shrank while it was read", path);
		}
		if (write_all(fd, buf, (size_t)n) < 0) {
			return berr_set(err, errno, "tar: write %s", path);
		}
		left -= (uint64_t)n;
	}
	return tarw_pad(fd, size, err);
}

int tarw_end(int fd, struct berr *err)
{
	static const char zero[2 * TARW_BLOCK];
	if (write_all(fd, zero, sizeof(zero)) < 0) {
		return berr_set(err, errno, "tar: write the end");
	}
	return 0;
}
