/* libFuzzer entry point: arbitrary bytes as an image layer, through the
 * decompressing stream, the tar reader and the unpacker, into a scratch
 * directory that is emptied after every input. Whatever the bytes, the
 * unpacker must not crash, leak, or write outside that directory. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/dstream.h"
#include "image/fstree.h"
#include "image/unpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t *p;
	size_t len;
	size_t pos;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len, struct berr *err)
{
	struct mem *m = ctx;
	(void)err;
	size_t n = m->len - m->pos;
	if (n > len) {
		n = len;
	}
	/* Odd-sized reads reach the refill paths. */
	if (n > 4093) {
		n = 4093;
	}
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

static int scratch_fd = -1;

static int scratch(void)
{
	if (scratch_fd < 0) {
		char path[] = "/tmp/berth-fuzz-tar-XXXXXX";
		if (mkdtemp(path) == NULL) {
			abort();
		}
		scratch_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (scratch_fd < 0) {
			abort();
		}
	}
	return scratch_fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int top = scratch();
	if (mkdirat(top, "layer", 0755) < 0) {
		abort();
	}
	int dir = openat(top, "layer", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		abort();
	}
	struct mem m = {data, size, 0};
	struct dstream_source src = {mem_read, NULL, &m};
	struct dstream *d = NULL;
	struct berr err = {0};
	/* Small limits keep decompression bombs fast. */
	struct unpack_limits lim = {.max_bytes = 16u << 20, .max_entries = 5000};
	if (dstream_open(&d, &src, 0, lim.max_bytes, &err) == 0) {
		struct unpack_stats st;
		if (unpack_layer(dir, d, &lim, &st, &err) == 0) {
			char in[72];
			char out[72];
			if (dstream_digests(d, in, out) < 0) {
				abort(); /* a finished unpack always has its digests */
			}
		}
		dstream_close(d);
	}
	close(dir);
	if (fstree_remove(top, "layer", NULL, &err) < 0) {
		fprintf(stderr, "cleanup: %s\n", err.msg);
		abort();
	}
	/* Nothing may appear beside the layer directory. */
	struct stat st;
	if (fstatat(top, "escape", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		abort();
	}
	return 0;
}
