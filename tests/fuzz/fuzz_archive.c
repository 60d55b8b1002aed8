/* libFuzzer entry point for the image archive formats: the first byte
 * picks a target, the rest is its input. 0-3: the JSON documents (index,
 * manifest, docker save manifest.json, image config); 4: an image name;
 * anything else: a whole archive tar, in a memfd, through archive_images
 * and a read of every member it names. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/imgjson.h"
#include "image/imgref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int tmp_fd = -1;

static void archive_case(const uint8_t *data, size_t size)
{
	if (tmp_fd < 0) {
		char path[] = "/tmp/berth-fuzz-archive-XXXXXX";
		if (mkdtemp(path) == NULL) {
			abort();
		}
		tmp_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	int fd = memfd_create("archive", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0) {
		abort();
	}
	struct archive *ar;
	struct berr err = {0};
	if (archive_open_fd(&ar, fd, "fuzz", tmp_fd, &err) == 0) {
		struct arena a = {0};
		struct archive_image *imgs;
		size_t n;
		if (archive_images(ar, &a, &imgs, &n, &err) == 0) {
			for (size_t i = 0; i < n; i++) {
				char *cfg;
				size_t len;
				if (archive_read(ar, imgs[i].config_member, 1 << 20, &cfg, &len, &err) == 0) {
					struct imgjson_config_meta meta;
					struct image_config ic;
					imgjson_parse_config(cfg, len, "config", &a, &meta, &ic, &err);
					free(cfg);
				}
			}
		}
		arena_free(&a);
		archive_close(ar);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0) {
		return 0;
	}
	const char *doc = (const char *)data + 1;
	size_t len = size - 1;
	struct arena a = {0};
	struct berr err = {0};
	switch (data[0]) {
	case 0: {
		struct imgjson_index idx;
		imgjson_parse_index(doc, len, "index", &a, &idx, &err);
		break;
	}
	case 1: {
		struct imgjson_manifest m;
		imgjson_parse_manifest(doc, len, "manifest", &a, &m, &err);
		break;
	}
	case 2: {
		struct imgjson_docker_image *imgs;
		size_t n;
		imgjson_parse_docker_manifest(doc, len, "manifest.json", &a, &imgs, &n, &err);
		break;
	}
	case 3: {
		struct imgjson_config_meta meta;
		struct image_config cfg;
		imgjson_parse_config(doc, len, "config", &a, &meta, &cfg, &err);
		break;
	}
	case 4: {
		char *name = strndup(doc, len);
		char out[IMGREF_MAX];
		if (name != NULL) {
			imgref_normalize(name, out, sizeof(out), &err);
			free(name);
		}
		break;
	}
	default:
		archive_case(data + 1, len);
		break;
	}
	arena_free(&a);
	return 0;
}
