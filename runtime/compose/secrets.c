/* Writes a service's secrets and configs for berthd (see compose.h): the
 * content of each (a file on the host, or what the project holds: a
 * variable of .env, a config's content) into a directory of its own with
 * the owner and mode the service asks for, which the translation then
 * binds read-only at the target. The directory is berthd's on /run: a
 * secret never lands on DATA. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compose/compose.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"

/* Docker Compose's largest config; secrets are far smaller. */
#define FILE_MAX (4u << 20)

static int write_one(int dirfd, const struct compose_project *p, const struct compose_service *s, size_t i,
		     struct berr *err)
{
	const struct compose_file_ref *r = &s->files[i];
	const char *kind = r->config ? "configs" : "secrets";
	const struct compose_filedef *d = compose_filedef_find(p, r->config, r->source);
	if (d == NULL || !d->valid) {
		return berr_setx(err, EINVAL, "services.%s.%s: '%s' is not declared (or is invalid)", s->name, kind,
				 r->source);
	}
	auto_free char *data = NULL;
	size_t len = 0;
	const void *content = d->content;
	if (d->file != NULL) {
		/* O_NONBLOCK: a FIFO named by the file must not hang berthd. */
		if (read_file_alloc(AT_FDCWD, d->file, O_NONBLOCK, FILE_MAX, d->file, &data, &len, err) < 0) {
			return berr_prefix(err, "services.%s.%s: %s", s->name, kind, r->source);
		}
		content = data;
	} else {
		len = d->content != NULL ? strlen(d->content) : 0;
		content = d->content != NULL ? d->content : "";
	}
	char name[32];
	snprintf(name, sizeof(name), "%zu", i);
	/* The directory is berthd's alone (0700): the file may be readable
	 * by all before its owner is set. */
	if (write_file_atomic_at(dirfd, name, content, len, r->mode, 0, err) < 0) {
		return berr_prefix(err, "services.%s.%s: %s", s->name, kind, r->source);
	}
	if (fchownat(dirfd, name, r->uid, r->gid, AT_SYMLINK_NOFOLLOW) < 0 || fchmodat(dirfd, name, r->mode, 0) < 0) {
		return berr_set(err, errno, "services.%s.%s: %s: set owner %u:%u and mode %04o", s->name, kind,
				r->source, r->uid, r->gid, r->mode);
	}
	return 0;
}

int compose_write_files(const struct compose_project *p, const struct compose_service *s, const char *dir,
			struct berr *err)
{
	if (s->nfiles == 0) {
		return 0;
	}
	if (mkdir_p(dir, 0700, err) < 0) {
		return berr_prefix(err, "services.%s", s->name);
	}
	auto_close int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dirfd < 0) {
		return berr_set(err, errno, "services.%s: open %s", s->name, dir);
	}
	if (fchmod(dirfd, 0700) < 0) {
		return berr_set(err, errno, "services.%s: chmod %s", s->name, dir);
	}
	for (size_t i = 0; i < s->nfiles; i++) {
		int ret = write_one(dirfd, p, s, i, err);
		if (ret < 0) {
			return ret;
		}
	}
	return 0;
}
