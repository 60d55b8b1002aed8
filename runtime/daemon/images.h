/* berthd's side of the image store (runtime/image): listing, removing,
 * importing archives (from a client's fd, and from CONFIG/images at
 * boot), and resolving an image reference for a new container. */
#ifndef BERTH_IMAGES_H
#define BERTH_IMAGES_H

#include <json-c/json.h>

#include "image/imagecfg.h"
#include "image/store.h"
#include "lib/berr.h"

#define STORE_DIR STORE_HOST_ROOT

/* Adds one object per image to list: id, tags, size, created. */
int images_list(json_object *list, struct berr *err);

/* Removes an image (by tag or id). Refused while a container uses it,
 * unless force. Collects garbage (unreferenced blobs and layers). */
int images_remove(const char *ref, int force, json_object *out, struct berr *err);

/* Imports every image of an archive read from fd (OCI layout tar or
 * docker save); out gets "loaded": [names]. */
int images_load_fd(int fd, json_object *out, struct berr *err);

/* Imports CONFIG/images/ (files and OCI layout directories) whose content
 * is not in the store yet; errors are logged, one archive at a time. */
void images_load_config_dir(const char *config_dir);

/* What a container of image ref needs: the image's id, its config and
 * the unpacked layer directories, lowest first. Strings are malloc'ed;
 * free with images_resolved_free. */
struct image_resolved {
	char id[80];
	struct image_config cfg;
	char **layers;
	size_t nlayers;
	void *priv;
};
int images_resolve(const char *ref, struct image_resolved *out, struct berr *err);
void images_resolved_free(struct image_resolved *r);

#endif
