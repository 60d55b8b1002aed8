/* What the compose tests share (test_compose.c, test_compose_spec.c): a
 * scratch directory to write config files into, and lookups in the OCI
 * configs the translation gives. */
#ifndef BERTH_TESTS_COMPOSETEST_H
#define BERTH_TESTS_COMPOSETEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "oci/config.h"

static char tmpdir[] = "/tmp/test_compose.XXXXXX";

/* Writes tmpdir/rel, making its directories. */
static void put_file(const char *rel, const char *content)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	for (char *p = path + strlen(tmpdir) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		perror(path);
		exit(2);
	}
	fputs(content, f);
	fclose(f);
}

/* The mount at dest, and its place in the list (index may be NULL). */
static const struct oci_mount *find_mount(const struct oci_config *c, const char *dest, size_t *index)
{
	for (size_t i = 0; i < c->nmounts; i++) {
		if (strcmp(c->mounts[i].destination, dest) == 0) {
			if (index) {
				*index = i;
			}
			return &c->mounts[i];
		}
	}
	return NULL;
}

static int has_option(const struct oci_mount *m, const char *opt)
{
	for (size_t i = 0; m && i < m->noptions; i++) {
		if (strcmp(m->options[i], opt) == 0) {
			return 1;
		}
	}
	return 0;
}

#endif
