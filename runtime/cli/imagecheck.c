/* Checking image archives (see imagecheck.h). */
#include "cli/imagecheck.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/archive.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/sha256.h"

/* Hashes a member and compares it with the promised digest. */
static int check_blob(struct archive *a, const char *member, const char *digest, struct berr *err)
{
	if (digest[0] == '\0') {
		return 0;
	}
	struct archive_member m;
	if (archive_member_open(a, member, &m, err) < 0) {
		return -err->code;
	}
	struct sha256 h;
	sha256_init(&h);
	char buf[65536];
	uint64_t left = m.size;
	while (left > 0) {
		size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t n = pread(m.fd, buf, want, (off_t)(m.offset + (m.size - left)));
		if (n <= 0) {
			archive_member_close(&m);
			return berr_set(err, n < 0 ? errno : EIO, "%s: read %s", archive_name(a), member);
		}
		sha256_update(&h, buf, (size_t)n);
		left -= (uint64_t)n;
	}
	archive_member_close(&m);
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];
	sha256_final(&h, d);
	sha256_to_hex(d, hex);
	if (strncmp(digest, "sha256:", 7) != 0 || strcmp(digest + 7, hex) != 0) {
		return berr_setx(err, EBADMSG, "%s: %s: content does not match its digest %s", archive_name(a), member,
				 digest);
	}
	return 0;
}

static int check_archive(const char *path, const char *display, FILE *out, char ***names, size_t *nnames)
{
	auto_close int tmpfd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct archive *a = NULL;
	struct berr err = {0};
	if (archive_open_path(&a, path, tmpfd, &err) < 0) {
		fprintf(out, "%s: %s\n", display, err.msg);
		return 1;
	}
	struct arena ar = {0};
	struct archive_image *imgs = NULL;
	size_t n = 0;
	int problems = 0;
	if (archive_images(a, &ar, &imgs, &n, &err) < 0) {
		fprintf(out, "%s: %s\n", display, err.msg);
		problems++;
	}
	for (size_t i = 0; i < n; i++) {
		const struct archive_image *im = &imgs[i];
		int bad = check_blob(a, im->config_member, im->config_digest, &err) < 0;
		for (size_t k = 0; !bad && k < im->nlayers; k++) {
			bad = check_blob(a, im->layers[k].member, im->layers[k].digest, &err) < 0;
		}
		if (bad) {
			fprintf(out, "%s: %s\n", display, err.msg);
			problems++;
			continue;
		}
		fprintf(out, "%s: %s, %zu layer%s, OK\n", display, im->nnames > 0 ? im->names[0] : "(no name)",
			im->nlayers, im->nlayers == 1 ? "" : "s");
		for (size_t k = 0; k < im->nnames; k++) {
			char **grown = realloc(*names, (*nnames + 1) * sizeof(**names));
			if (grown == NULL) {
				break;
			}
			*names = grown;
			(*names)[*nnames] = strdup(im->names[k]);
			if ((*names)[*nnames] != NULL) {
				(*nnames)++;
			}
		}
	}
	arena_free(&ar);
	archive_close(a);
	return problems;
}

int image_check_dir(const char *dir, FILE *out, char ***names, size_t *nnames)
{
	auto_closedir DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(out, "%s: %s\n", dir, strerror(errno));
		return 1;
	}
	int problems = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.') {
			continue;
		}
		char path[PATH_MAX];
		char display[PATH_MAX];
		if (path_join(path, sizeof(path), dir, e->d_name) < 0) {
			continue;
		}
		snprintf(display, sizeof(display), "images/%s", e->d_name);
		problems += check_archive(path, display, out, names, nnames);
	}
	return problems;
}
