/* Streaming tar reader (see tar.h). Owns the current entry's strings and
 * the pending extended-header values; never allocates more than one PAX
 * header (TAR_PAX_MAX) at a time, whatever the archive claims. */
#include "image/tar.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512
/* Extended headers ('x', 'L', 'K', 'g') in a row before a real entry. */
#define MAX_META_RUN 16

/* ustar header field offsets and lengths (POSIX.1-2001, pax/ustar). */
enum {
	F_NAME = 0,
	L_NAME = 100,
	F_MODE = 100,
	F_UID = 108,
	F_GID = 116,
	F_SIZE = 124,
	F_MTIME = 136,
	F_CHKSUM = 148,
	F_TYPE = 156,
	F_LINK = 157,
	L_LINK = 100,
	F_MAGIC = 257,
	F_VERSION = 263,
	F_DEVMAJOR = 329,
	F_DEVMINOR = 337,
	F_PREFIX = 345,
	L_PREFIX = 155,
};

struct pax_values {
	const char *path; /* NULL: not set */
	const char *linkpath;
	int has_size;
	uint64_t size;
	int has_uid;
	uint32_t uid;
	int has_gid;
	uint32_t gid;
	int has_mtime;
	int64_t mtime;
	uint32_t mtime_nsec;
};

struct tar_reader {
	struct dstream *in;
	uint64_t remaining; /* data bytes of the current entry not yet read */
	uint64_t padding;   /* bytes after the data up to the next block */
	uint64_t data_offset;
	uint64_t headers;
	int ended;
	int failed;
	struct tar_entry entry;
	/* Pending extended values, for the next real entry. */
	int has_long_path;
	int has_long_link;
	uint8_t *pax; /* the pending 'x' header's data, parsed in place */
	struct pax_values pv;
	struct tar_xattr xattrs[TAR_XATTR_MAX];
	size_t nxattrs;
	uint8_t block[BLOCK];
	char long_path[TAR_PATH_MAX + 2];
	char long_link[TAR_PATH_MAX + 2];
	char path[TAR_PATH_MAX + 1];
	char link[TAR_PATH_MAX + 1];
};

int tar_open(struct tar_reader **out, struct dstream *in, struct berr *err)
{
	struct tar_reader *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		*out = NULL;
		return berr_set(err, ENOMEM, "tar reader");
	}
	t->in = in;
	*out = t;
	return 0;
}

static void reset_pending(struct tar_reader *t)
{
	free(t->pax);
	t->pax = NULL;
	memset(&t->pv, 0, sizeof(t->pv));
	t->nxattrs = 0;
	t->has_long_path = 0;
	t->has_long_link = 0;
}

void tar_close(struct tar_reader *t)
{
	if (t != NULL) {
		reset_pending(t);
		free(t);
	}
}

const char *tar_quote(const char *s, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (size < 8) {
		if (size > 0) {
			buf[0] = '\0';
		}
		return buf;
	}
	buf[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		/* Room for the longest escape, "...", the quote and the NUL. */
		if (o + 4 + 3 + 2 > size) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		} else {
			buf[o++] = (char)*p;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

uint64_t tar_data_offset(const struct tar_reader *t)
{
	return t->data_offset;
}

uint64_t tar_headers(const struct tar_reader *t)
{
	return t->headers;
}

/* A numeric header field: octal digits (optionally led by spaces and ended
 * by NULs or spaces, as the various writers do), or GNU base-256 when the
 * top bit of the first byte is set (0x80 positive, 0xff negative). An
 * all-NUL or all-space field reads as 0. Returns -1 for anything else. */
static int parse_number(const uint8_t *f, size_t len, int allow_negative, int64_t *out)
{
	if (f[0] & 0x80) {
		uint64_t v = 0;
		if (f[0] == 0x80) {
			for (size_t i = 1; i < len; i++) {
				if (v > (UINT64_MAX >> 8)) {
					return -1;
				}
				v = v << 8 | f[i];
			}
			if (v > INT64_MAX) {
				return -1;
			}
			*out = (int64_t)v;
			return 0;
		}
		if (f[0] != 0xff || !allow_negative || len < 8) {
			return -1;
		}
		/* Two's complement over the field: all but the last 8 bytes
		 * must be sign bytes, and the value must be negative. */
		for (size_t i = 0; i < len - 8; i++) {
			if (f[i] != 0xff) {
				return -1;
			}
		}
		for (size_t i = len - 8; i < len; i++) {
			v = v << 8 | f[i];
		}
		if (!(v & (UINT64_C(1) << 63))) {
			return -1;
		}
		*out = (int64_t)v;
		return 0;
	}
	size_t i = 0;
	while (i < len && f[i] == ' ') {
		i++;
	}
	uint64_t v = 0;
	while (i < len && f[i] >= '0' && f[i] <= '7') {
		if (v > ((uint64_t)INT64_MAX >> 3)) {
			return -1;
		}
		v = v << 3 | (uint64_t)(f[i] - '0');
		i++;
	}
	for (; i < len; i++) {
		if (f[i] != '\0' && f[i] != ' ') {
			return -1;
		}
	}
	*out = (int64_t)v;
	return 0;
}

/* A NUL-padded string field: copied out; bytes after the first NUL must
 * all be NUL, so that no reader sees a name another one does not. */
static int field_string(const uint8_t *f, size_t len, char *out, size_t *outlen)
{
	size_t n = 0;
	while (n < len && f[n] != '\0') {
		n++;
	}
	for (size_t i = n; i < len; i++) {
		if (f[i] != '\0') {
			return -1;
		}
	}
	memcpy(out, f, n);
	out[n] = '\0';
	*outlen = n;
	return 0;
}

static int checksum_ok(const uint8_t *b)
{
	int64_t stored;
	if (parse_number(b + F_CHKSUM, 8, 0, &stored) < 0) {
		return 0;
	}
	/* The sum of all header bytes with the checksum field read as spaces;
	 * historic writers summed signed chars, so accept either. */
	int64_t usum = 0;
	int64_t ssum = 0;
	for (size_t i = 0; i < BLOCK; i++) {
		uint8_t c = (i >= F_CHKSUM && i < F_CHKSUM + 8) ? ' ' : b[i];
		usum += c;
		ssum += (signed char)c;
	}
	return stored == usum || stored == ssum;
}

static int all_zero(const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (b[i] != 0) {
			return 0;
		}
	}
	return 1;
}

/* Reads one 512-byte block: 1, or 0 at a clean end of the stream. */
static int read_block(struct tar_reader *t, struct berr *err)
{
	size_t done = 0;
	while (done < BLOCK) {
		ssize_t n = dstream_read(t->in, t->block + done, BLOCK - done, err);
		if (n < 0) {
			return (int)n;
		}
		if (n == 0) {
			if (done == 0) {
				return 0;
			}
			return berr_setx(err, EINVAL, "tar: archive ends inside a header");
		}
		done += (size_t)n;
	}
	return 1;
}

static int parse_decimal(const uint8_t *p, size_t len, uint64_t max, uint64_t *out)
{
	if (len == 0 || len > 20) {
		return -1;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9') {
			return -1;
		}
		uint64_t d = (uint64_t)(p[i] - '0');
		if (v > (max - d) / 10) {
			return -1;
		}
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* PAX mtime: [-]seconds[.fraction]; the fraction is kept to nanoseconds. */
static int parse_pax_time(const uint8_t *p, size_t len, int64_t *sec, uint32_t *nsec)
{
	int neg = 0;
	if (len > 0 && p[0] == '-') {
		neg = 1;
		p++;
		len--;
	}
	const uint8_t *dot = memchr(p, '.', len);
	size_t ilen = dot != NULL ? (size_t)(dot - p) : len;
	uint64_t v;
	if (parse_decimal(p, ilen, INT64_MAX, &v) < 0) {
		return -1;
	}
	uint32_t ns = 0;
	if (dot != NULL) {
		size_t flen = len - ilen - 1;
		if (flen == 0) {
			return -1;
		}
		for (size_t i = 0; i < flen; i++) {
			uint8_t c = dot[1 + i];
			if (c < '0' || c > '9') {
				return -1;
			}
			if (i < 9) {
				ns = ns * 10 + (uint32_t)(c - '0');
			}
		}
		for (size_t i = flen; i < 9; i++) {
			ns *= 10;
		}
	}
	if (neg) {
		/* -1.5 is 1.5 s before the epoch: -2 s + 0.5 s. */
		*sec = -(int64_t)v;
		if (ns > 0) {
			*sec -= 1;
			ns = 1000000000u - ns;
		}
	} else {
		*sec = (int64_t)v;
	}
	*nsec = ns;
	return 0;
}

static int pax_path_value(uint8_t *value, size_t len, const char *key, const char **out, struct berr *err)
{
	if (memchr(value, '\0', len) != NULL) {
		return berr_setx(err, EINVAL, "tar: PAX %s contains a NUL byte", key);
	}
	if (len > TAR_PATH_MAX) {
		return berr_setx(err, ENAMETOOLONG, "tar: PAX %s is longer than %d bytes", key, TAR_PATH_MAX);
	}
	value[len] = '\0'; /* overwrites the record's '\n' */
	/* An empty value removes the keyword: the header's own field counts. */
	*out = len > 0 ? (const char *)value : NULL;
	return 0;
}

static int pax_xattr(struct tar_reader *t, const char *name, const uint8_t *value, size_t len, struct berr *err)
{
	size_t nlen = strlen(name);
	if (nlen == 0 || nlen > 255) {
		return berr_setx(err, EINVAL, "tar: PAX extended attribute name of %zu bytes", nlen);
	}
	if (len > TAR_XATTR_VALUE_MAX) {
		return berr_setx(err, EINVAL, "tar: extended attribute %.255s has a %zu-byte value (limit %d)", name,
				 len, TAR_XATTR_VALUE_MAX);
	}
	for (size_t i = 0; i < t->nxattrs; i++) {
		if (strcmp(t->xattrs[i].name, name) == 0) {
			t->xattrs[i].value = value;
			t->xattrs[i].len = len;
			return 0;
		}
	}
	if (t->nxattrs == TAR_XATTR_MAX) {
		return berr_setx(err, EINVAL, "tar: more than %d extended attributes on one entry", TAR_XATTR_MAX);
	}
	t->xattrs[t->nxattrs].name = name;
	t->xattrs[t->nxattrs].value = value;
	t->xattrs[t->nxattrs].len = len;
	t->nxattrs++;
	return 0;
}

/* Records are "<len> <key>=<value>\n", len counting the whole record. */
static int parse_pax(struct tar_reader *t, uint8_t *buf, size_t len, struct berr *err)
{
	size_t off = 0;
	while (off < len) {
		uint8_t *rec = buf + off;
		size_t left = len - off;
		size_t digits = 0;
		while (digits < left && digits < 20 && rec[digits] >= '0' && rec[digits] <= '9') {
			digits++;
		}
		uint64_t reclen;
		if (digits == 0 || digits >= left || rec[digits] != ' ' ||
		    parse_decimal(rec, digits, left, &reclen) < 0 || reclen < digits + 3 || reclen > left ||
		    rec[reclen - 1] != '\n') {
			return berr_setx(err, EINVAL, "tar: malformed PAX record at byte %zu", off);
		}
		uint8_t *kv = rec + digits + 1;
		size_t kvlen = (size_t)reclen - digits - 2;
		uint8_t *eq = memchr(kv, '=', kvlen);
		if (eq == NULL || eq == kv) {
			return berr_setx(err, EINVAL, "tar: PAX record without a key at byte %zu", off);
		}
		if (memchr(kv, '\0', (size_t)(eq - kv)) != NULL) {
			return berr_setx(err, EINVAL, "tar: PAX key contains a NUL byte");
		}
		*eq = '\0';
		const char *key = (const char *)kv;
		uint8_t *value = eq + 1;
		size_t vlen = kvlen - (size_t)(eq - kv) - 1;
		int ret = 0;
		uint64_t num;
		if (strcmp(key, "path") == 0) {
			ret = pax_path_value(value, vlen, "path", &t->pv.path, err);
		} else if (strcmp(key, "linkpath") == 0) {
			ret = pax_path_value(value, vlen, "linkpath", &t->pv.linkpath, err);
		} else if (strcmp(key, "size") == 0) {
			if (parse_decimal(value, vlen, INT64_MAX, &t->pv.size) < 0) {
				return berr_setx(err, EINVAL, "tar: bad PAX size");
			}
			t->pv.has_size = 1;
		} else if (strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0) {
			/* (uid_t)-1 means "unchanged" to chown: never an owner. */
			if (parse_decimal(value, vlen, UINT32_MAX - 1, &num) < 0) {
				return berr_setx(err, EINVAL, "tar: bad PAX %s", key);
			}
			if (key[0] == 'u') {
				t->pv.uid = (uint32_t)num;
				t->pv.has_uid = 1;
			} else {
				t->pv.gid = (uint32_t)num;
				t->pv.has_gid = 1;
			}
		} else if (strcmp(key, "mtime") == 0) {
			if (parse_pax_time(value, vlen, &t->pv.mtime, &t->pv.mtime_nsec) < 0) {
				return berr_setx(err, EINVAL, "tar: bad PAX mtime");
			}
			t->pv.has_mtime = 1;
		} else if (strncmp(key, "SCHILY.xattr.", 13) == 0) {
			ret = pax_xattr(t, key + 13, value, vlen, err);
		} else if (strncmp(key, "GNU.sparse.", 11) == 0) {
			/* The data of a sparse file is not its content: reading it as
			 * a plain file would unpack the wrong bytes. */
			return berr_setx(err, ENOTSUP, "tar: sparse files (PAX %s) are not supported", key);
		}
		/* Other keys (atime, uname, comment, charset, vendor keys) do
		 * not change what is unpacked. */
		if (ret < 0) {
			return ret;
		}
		off += (size_t)reclen;
	}
	return 0;
}

/* Reads an extended header's data (size bytes and the block padding). */
static int read_meta_data(struct tar_reader *t, uint64_t size, uint64_t max, const char *what, uint8_t **out,
			  struct berr *err)
{
	if (size > max) {
		return berr_setx(err, EINVAL, "tar: %s of %llu bytes (limit %llu)", what, (unsigned long long)size,
				 (unsigned long long)max);
	}
	uint8_t *buf = malloc((size_t)size + 1);
	if (buf == NULL) {
		return berr_set(err, ENOMEM, "tar: %s", what);
	}
	int ret = dstream_read_full(t->in, buf, (size_t)size, what, err);
	if (ret == 0) {
		ret = dstream_skip(t->in, (BLOCK - size % BLOCK) % BLOCK, err);
	}
	if (ret < 0) {
		free(buf);
		return ret;
	}
	buf[size] = '\0';
	*out = buf;
	return 0;
}

/* GNU 'L'/'K': the name, NUL-terminated, padded with NULs only. */
static int read_long_name(struct tar_reader *t, uint64_t size, char *out, const char *what, struct berr *err)
{
	uint8_t *buf;
	int ret = read_meta_data(t, size, TAR_PATH_MAX + 1, what, &buf, err);
	if (ret < 0) {
		return ret;
	}
	size_t n;
	if (field_string(buf, (size_t)size, out, &n) < 0) {
		free(buf);
		return berr_setx(err, EINVAL, "tar: %s has bytes after its NUL", what);
	}
	free(buf);
	if (n == 0) {
		return berr_setx(err, EINVAL, "tar: empty %s", what);
	}
	if (n > TAR_PATH_MAX) {
		return berr_setx(err, ENAMETOOLONG, "tar: %s is longer than %d bytes", what, TAR_PATH_MAX);
	}
	return 0;
}

static int header_only_type(char type)
{
	return type == TAR_HARDLINK || type == TAR_SYMLINK || type == TAR_CHAR || type == TAR_BLOCK ||
	       type == TAR_DIR || type == TAR_FIFO;
}

static int build_entry(struct tar_reader *t, int posix, char type, struct berr *err)
{
	const uint8_t *b = t->block;
	struct tar_entry *e = &t->entry;
	memset(e, 0, sizeof(*e));
	e->type = (type == '\0' || type == '7') ? TAR_REG : type;

	/* Path: PAX, else GNU long name, else ustar prefix "/" name. */
	size_t n;
	char name[L_NAME + 1];
	char prefix[L_PREFIX + 1];
	if (field_string(b + F_NAME, L_NAME, name, &n) < 0) {
		return berr_setx(err, EINVAL, "tar: name field has bytes after its NUL");
	}
	prefix[0] = '\0';
	/* The GNU format keeps times and sparse data where ustar has the
	 * prefix: only POSIX headers have one. */
	if (posix && field_string(b + F_PREFIX, L_PREFIX, prefix, &n) < 0) {
		return berr_setx(err, EINVAL, "tar: prefix field has bytes after its NUL");
	}
	if (t->pv.path != NULL) {
		memcpy(t->path, t->pv.path, strlen(t->pv.path) + 1);
	} else if (t->has_long_path) {
		memcpy(t->path, t->long_path, strlen(t->long_path) + 1);
	} else if (prefix[0] != '\0') {
		if (snprintf(t->path, sizeof(t->path), "%s/%s", prefix, name) < 0) {
			return berr_setx(err, EINVAL, "tar: bad name");
		}
	} else {
		memcpy(t->path, name, strlen(name) + 1);
	}
	if (t->path[0] == '\0') {
		return berr_setx(err, EINVAL, "tar: entry with an empty name");
	}
	e->path = t->path;

	char link[L_LINK + 1];
	if (field_string(b + F_LINK, L_LINK, link, &n) < 0) {
		return berr_setx(err, EINVAL, "tar: link name field has bytes after its NUL");
	}
	if (t->pv.linkpath != NULL) {
		memcpy(t->link, t->pv.linkpath, strlen(t->pv.linkpath) + 1);
	} else if (t->has_long_link) {
		memcpy(t->link, t->long_link, strlen(t->long_link) + 1);
	} else {
		memcpy(t->link, link, strlen(link) + 1);
	}
	if (e->type != TAR_HARDLINK && e->type != TAR_SYMLINK) {
		t->link[0] = '\0';
	} else if (t->link[0] == '\0') {
		return berr_setx(err, EINVAL, "tar: link without a target");
	}
	e->linkpath = t->link;

	int64_t v;
	if (parse_number(b + F_MODE, 8, 0, &v) < 0 || v > 07777777) {
		return berr_setx(err, EINVAL, "tar: bad mode field");
	}
	/* Some writers include the file type bits; the type byte decides. */
	e->mode = (uint32_t)v & 07777;
	if (parse_number(b + F_UID, 8, 0, &v) < 0 || v >= (int64_t)UINT32_MAX) {
		return berr_setx(err, EINVAL, "tar: bad uid field");
	}
	e->uid = t->pv.has_uid ? t->pv.uid : (uint32_t)v;
	if (parse_number(b + F_GID, 8, 0, &v) < 0 || v >= (int64_t)UINT32_MAX) {
		return berr_setx(err, EINVAL, "tar: bad gid field");
	}
	e->gid = t->pv.has_gid ? t->pv.gid : (uint32_t)v;
	if (parse_number(b + F_MTIME, 12, 1, &v) < 0) {
		return berr_setx(err, EINVAL, "tar: bad mtime field");
	}
	e->mtime = t->pv.has_mtime ? t->pv.mtime : v;
	e->mtime_nsec = t->pv.has_mtime ? t->pv.mtime_nsec : 0;
	if (parse_number(b + F_SIZE, 12, 0, &v) < 0) {
		return berr_setx(err, EINVAL, "tar: bad size field");
	}
	e->size = t->pv.has_size ? t->pv.size : (uint64_t)v;
	if (parse_number(b + F_DEVMAJOR, 8, 0, &v) < 0 || v > (int64_t)UINT32_MAX) {
		return berr_setx(err, EINVAL, "tar: bad devmajor field");
	}
	e->devmajor = (uint32_t)v;
	if (parse_number(b + F_DEVMINOR, 8, 0, &v) < 0 || v > (int64_t)UINT32_MAX) {
		return berr_setx(err, EINVAL, "tar: bad devminor field");
	}
	e->devminor = (uint32_t)v;
	if (header_only_type(e->type) && e->size != 0) {
		/* Readers disagree on whether such data exists; refuse rather
		 * than guess where the next header starts. */
		return berr_setx(err, EINVAL, "tar: entry of type '%c' claims %llu data bytes", e->type,
				 (unsigned long long)e->size);
	}
	e->xattrs = t->xattrs;
	e->nxattrs = t->nxattrs;
	t->remaining = e->size;
	t->padding = (BLOCK - e->size % BLOCK) % BLOCK;
	t->data_offset = dstream_position(t->in);
	return 0;
}

/* Skips what is left of the current entry's data and its padding. */
static int skip_rest(struct tar_reader *t, struct berr *err)
{
	int ret = dstream_skip(t->in, t->remaining, err);
	if (ret == 0) {
		ret = dstream_skip(t->in, t->padding, err);
	}
	if (ret < 0) {
		char q[256];
		return berr_prefix(err, "tar: entry %s", tar_quote(t->path, q, sizeof(q)));
	}
	t->remaining = 0;
	t->padding = 0;
	return 0;
}

/* The block just read (got: 1 read, 0 end of input) is zero or missing:
 * the archive ends here, if that is a valid end. */
static int archive_end(struct tar_reader *t, int got, int meta, struct berr *err)
{
	if (meta) {
		return berr_setx(err, EINVAL, "tar: extended header without an entry");
	}
	if (got == 1) {
		/* The end is two zero blocks; a lone zero block followed by a
		 * header is not an end. */
		int ret = read_block(t, err);
		if (ret < 0) {
			return ret;
		}
		if (ret == 1 && !all_zero(t->block, BLOCK)) {
			return berr_setx(err, EINVAL, "tar: zero block followed by a header");
		}
	}
	t->ended = 1;
	return 0;
}

/* Checks the header block's checksum and magic; 1 for POSIX ustar/PAX, 0
 * for GNU. */
static int header_kind(struct tar_reader *t, struct berr *err)
{
	if (!checksum_ok(t->block)) {
		return berr_setx(err, EINVAL, "tar: header checksum mismatch at byte %llu",
				 (unsigned long long)(dstream_position(t->in) - BLOCK));
	}
	int posix = memcmp(t->block + F_MAGIC, "ustar\0", 6) == 0 && memcmp(t->block + F_VERSION, "00", 2) == 0;
	int gnu = memcmp(t->block + F_MAGIC, "ustar ", 6) == 0 && memcmp(t->block + F_VERSION, " \0", 2) == 0;
	if (!posix && !gnu) {
		return berr_setx(err, EINVAL, "tar: not a ustar, PAX or GNU header at byte %llu",
				 (unsigned long long)(dstream_position(t->in) - BLOCK));
	}
	return posix;
}

static int read_pax_header(struct tar_reader *t, int64_t size, struct berr *err)
{
	uint8_t *pax;
	/* A second 'x' replaces the first: drop what it set. */
	free(t->pax);
	t->pax = NULL;
	memset(&t->pv, 0, sizeof(t->pv));
	t->nxattrs = 0;
	int ret = read_meta_data(t, (uint64_t)size, TAR_PAX_MAX, "PAX header", &pax, err);
	if (ret < 0) {
		return ret;
	}
	t->pax = pax;
	return parse_pax(t, pax, (size_t)size, err);
}

/* Consumes a header that describes the next entry rather than being one
 * (PAX, GNU long names); 1 when it was one, 0 for an entry's own header. */
static int read_meta_header(struct tar_reader *t, char type, int64_t size, struct berr *err)
{
	int ret = 1;
	switch (type) {
	case 'x':
		ret = read_pax_header(t, size, err);
		break;
	case 'g':
		/* Global headers hold defaults for a whole archive; layer
		 * writers do not use them and Docker ignores them. */
		if ((uint64_t)size > TAR_PAX_MAX) {
			return berr_setx(err, EINVAL, "tar: global PAX header of %lld bytes", (long long)size);
		}
		ret = dstream_skip(t->in, (uint64_t)size + (BLOCK - (uint64_t)size % BLOCK) % BLOCK, err);
		break;
	case 'L':
		ret = read_long_name(t, (uint64_t)size, t->long_path, "GNU long name", err);
		t->has_long_path = ret >= 0;
		break;
	case 'K':
		ret = read_long_name(t, (uint64_t)size, t->long_link, "GNU long link name", err);
		t->has_long_link = ret >= 0;
		break;
	case 'S':
		return berr_setx(err, ENOTSUP, "tar: GNU sparse files are not supported");
	default:
		return 0;
	}
	return ret < 0 ? ret : 1;
}

static int next_header(struct tar_reader *t, const struct tar_entry **entry, struct berr *err)
{
	int ret = skip_rest(t, err);
	if (ret < 0) {
		return ret;
	}
	reset_pending(t);
	int posix = 0;
	for (unsigned run = 0;; run++) {
		int meta = t->has_long_path || t->has_long_link || t->pax != NULL;
		if (run > MAX_META_RUN) {
			return berr_setx(err, EINVAL, "tar: more than %d extended headers in a row", MAX_META_RUN);
		}
		ret = read_block(t, err);
		if (ret < 0) {
			return ret;
		}
		if (ret == 0 || all_zero(t->block, BLOCK)) {
			return archive_end(t, ret, meta, err);
		}
		t->headers++;
		posix = header_kind(t, err);
		if (posix < 0) {
			return posix;
		}
		char type = (char)t->block[F_TYPE];
		int64_t size;
		if (parse_number(t->block + F_SIZE, 12, 0, &size) < 0) {
			return berr_setx(err, EINVAL, "tar: bad size field");
		}
		ret = read_meta_header(t, type, size, err);
		if (ret < 0) {
			return ret;
		}
		if (ret == 0) {
			break;
		}
	}
	ret = build_entry(t, posix, (char)t->block[F_TYPE], err);
	if (ret < 0) {
		return ret;
	}
	*entry = &t->entry;
	return 1;
}

int tar_next(struct tar_reader *t, const struct tar_entry **entry, struct berr *err)
{
	*entry = NULL;
	if (t->failed) {
		return berr_setx(err, EINVAL, "tar: reading after an error");
	}
	if (t->ended) {
		return 0;
	}
	int ret = next_header(t, entry, err);
	if (ret < 0) {
		t->failed = 1;
	}
	return ret;
}

ssize_t tar_read(struct tar_reader *t, void *buf, size_t len, struct berr *err)
{
	if (t->failed) {
		return berr_setx(err, EINVAL, "tar: reading after an error");
	}
	if (len > t->remaining) {
		len = (size_t)t->remaining;
	}
	if (len == 0) {
		return 0;
	}
	ssize_t n = dstream_read(t->in, buf, len, err);
	if (n == 0) {
		char q[256];
		n = berr_setx(err, EINVAL, "tar: archive ends inside the data of %s", tar_quote(t->path, q, sizeof(q)));
	}
	if (n < 0) {
		t->failed = 1;
		return n;
	}
	t->remaining -= (uint64_t)n;
	return n;
}
