/* Checking a config directory (see configcheck.h). */
#include "cli/configcheck.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/imagecheck.h"
#include "compose/compose.h"
#include "image/imgref.h"
#include "image/store.h"
#include "lib/fsutil.h"
#include "lib/hostcfg.h"

#define HOST_STORE "/data/berth/store"

/* Every service's image must come from somewhere: images/ of this config,
 * (on a Berth host) the store, where `berth load` puts images, or its
 * registry, unless pull_policy says never. */
static size_t check_service_images(const char *dir, const struct host_config *hc, char **names, size_t nnames)
{
	struct berr err = {0};
	struct compose_options opt = {.host = hc};
	struct compose_project p;
	int ret = compose_load_dir(&p, dir, &opt, &err);
	struct store *store = NULL;
	if (ret >= 0 && access(HOST_STORE, F_OK) == 0 && store_open(&store, HOST_STORE, &err) < 0) {
		store = NULL;
	}
	size_t errors = 0;
	for (size_t i = 0; ret >= 0 && i < p.nservices; i++) {
		const struct compose_service *s = &p.services[i];
		char canon[IMGREF_MAX];
		if (!s->active || s->image == NULL || imgref_normalize(s->image, canon, sizeof(canon), &err) < 0) {
			continue;
		}
		int found = 0;
		for (size_t k = 0; k < nnames && !found; k++) {
			found = strcmp(names[k], canon) == 0;
		}
		if (!found && store != NULL) {
			struct arena a = {0};
			struct store_image img;
			found = store_resolve(store, s->image, &a, &img, &err) == 0;
			arena_free(&a);
		}
		if (!found && s->pull_policy == COMPOSE_PULL_NEVER) {
			printf("compose.yaml:%d: services.%s.image: %s is not in images/%s (pull_policy: never)\n",
			       s->line, s->name, s->image, store != NULL ? " nor loaded on this host" : "");
			errors++;
		} else if (!found) {
			struct imgref r;
			if (imgref_parse(s->image, &r, &err) == 0) {
				printf("compose.yaml:%d: services.%s.image: %s is not in images/: the host pulls it "
				       "from %s\n",
				       s->line, s->name, s->image, r.domain);
			}
		}
	}
	if (store != NULL) {
		store_close(store);
	}
	compose_free(&p);
	return errors;
}

int config_check(const char *dir)
{
	return config_check_as(dir, dir);
}

int config_check_as(const char *dir, const char *name)
{
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "berth config check: %s: %s\n", dir, errno ? strerror(errno) : "not a directory");
		return 1;
	}
	size_t errors = 0;
	char path[PATH_MAX];
	char host_yaml[PATH_MAX];
	/* host.yaml first: compose.yaml's bind mounts are checked against it. */
	struct host_config hc;
	hostcfg_defaults(&hc);
	if (path_join(host_yaml, sizeof(host_yaml), dir, "host.yaml") == 0) {
		hostcfg_load(&hc, host_yaml, "host.yaml");
	}
	int compose = path_join(path, sizeof(path), dir, "compose.yaml") == 0 && access(path, F_OK) == 0;
	if (compose) {
		int n = compose_check_dir(dir, &hc, stdout);
		errors += n > 0 ? (size_t)n : (size_t)(n < 0);
	} else {
		printf("%s/compose.yaml: not present (no system containers)\n", name);
	}
	size_t shown = hc.nerrors < HOST_MAX_ERRORS ? hc.nerrors : HOST_MAX_ERRORS;
	for (size_t i = 0; i < shown; i++) {
		printf("%s\n", hc.errors[i]);
	}
	if (hc.nerrors > shown) {
		printf("%s: ... and %zu more problems\n", host_yaml, hc.nerrors - shown);
	}
	errors += hc.nerrors;

	char **names = NULL;
	size_t nnames = 0;
	if (path_join(path, sizeof(path), dir, "images") == 0 && access(path, F_OK) == 0) {
		errors += (size_t)image_check_dir(path, stdout, &names, &nnames);
	}
	if (compose) {
		errors += check_service_images(dir, &hc, names, nnames);
	}
	for (size_t i = 0; i < nnames; i++) {
		free(names[i]);
	}
	free(names);
	hostcfg_free(&hc);

	if (errors > 0) {
		printf("%s: %zu error%s\n", name, errors, errors == 1 ? "" : "s");
		return 1;
	}
	printf("%s: OK\n", name);
	return 0;
}
