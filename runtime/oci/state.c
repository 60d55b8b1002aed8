/* Container state (see state.h). */
#include "oci/state.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"

int state_valid_id(const char *id, struct berr *err)
{
	size_t len = strlen(id);
	if (len == 0 || len >= OCI_ID_MAX) {
		return berr_setx(err, EINVAL, "container ID must be 1 to %d characters", OCI_ID_MAX - 1);
	}
	if (id[0] == '.') {
		return berr_setx(err, EINVAL, "container ID '%s' must not start with '.'", id);
	}
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '-' && id[i] != '.') {
			return berr_setx(err, EINVAL,
					 "container ID '%.64s' may only contain letters, digits, '_', '-' and '.'", id);
		}
	}
	return 0;
}

int state_dir(const char *root, const char *id, char *out, size_t size, struct berr *err)
{
	int ret = state_valid_id(id, err);
	if (ret < 0) {
		return ret;
	}
	if (path_join(out, size, root, id) < 0) {
		return berr_setx(err, ENAMETOOLONG, "state directory path too long");
	}
	return 0;
}

int state_dir_create(const char *root, const char *id, char *out, size_t size, struct berr *err)
{
	int ret = state_dir(root, id, out, size, err);
	if (ret < 0) {
		return ret;
	}
	ret = mkdir_p(root, 0711, err);
	if (ret < 0) {
		return ret;
	}
	if (mkdir(out, 0700) < 0) {
		if (errno == EEXIST) {
			return berr_setx(err, EEXIST, "container %s already exists", id);
		}
		return berr_set(err, errno, "mkdir %s", out);
	}
	return 0;
}

uint64_t state_pid_start(pid_t pid)
{
	char path[64];
	char buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pid <= 0 || read_file(path, buf, sizeof(buf), NULL) < 0) {
		return 0;
	}
	/* Field 22 (starttime), counted after the ")" that ends the name. */
	const char *p = strrchr(buf, ')');
	if (p == NULL) {
		return 0;
	}
	char state = 0;
	unsigned long long start = 0;
	if (sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &state,
		   &start) != 2) {
		return 0;
	}
	/* A zombie has finished: for a container, that is stopped. */
	if (state == 'Z' || state == 'X') {
		return 0;
	}
	return start;
}

static int add_str(json_object *o, const char *key, const char *value)
{
	json_object *s = json_object_new_string(value);
	if (s == NULL) {
		return -ENOMEM;
	}
	return json_object_object_add(o, key, s) == 0 ? 0 : -ENOMEM;
}

int state_save(const char *dir, const struct oci_state *st, struct berr *err)
{
	json_object *o = json_object_new_object();
	if (o == NULL) {
		return berr_set(err, ENOMEM, "state");
	}
	int ret = 0;
	ret |= add_str(o, "id", st->id);
	ret |= json_object_object_add(o, "pid", json_object_new_int64(st->pid));
	ret |= json_object_object_add(o, "pidStart", json_object_new_uint64(st->pid_start));
	ret |= add_str(o, "bundle", st->bundle);
	ret |= add_str(o, "rootfs", st->rootfs);
	ret |= add_str(o, "cgroup", st->cgroup);
	ret |= add_str(o, "created", st->created);
	ret |= add_str(o, "annotations", st->annotations);
	ret |= json_object_object_add(o, "poststartHooks", json_object_new_int(st->poststart_hooks));
	ret |= json_object_object_add(o, "poststopHooks", json_object_new_int(st->poststop_hooks));
	if (ret != 0) {
		json_object_put(o);
		return berr_set(err, ENOMEM, "state");
	}
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char path[PATH_MAX];
	char tmp[PATH_MAX];
	if (path_join(path, sizeof(path), dir, "state.json") < 0 ||
	    path_join(tmp, sizeof(tmp), dir, ".state.json") < 0) {
		json_object_put(o);
		return berr_setx(err, ENAMETOOLONG, "state path too long");
	}
	auto_close int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	size_t len = strlen(text);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		ret = berr_set(err, errno ? errno : EIO, "write %s", tmp);
	} else if (rename(tmp, path) < 0) {
		ret = berr_set(err, errno, "rename %s", path);
	}
	json_object_put(o);
	return ret;
}

static void copy_field(json_object *o, const char *key, char *out, size_t size)
{
	json_object *v;
	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)) {
		snprintf(out, size, "%s", json_object_get_string(v));
	}
}

int state_load(const char *root, const char *id, struct oci_state *st, struct berr *err)
{
	char dir[PATH_MAX];
	char path[PATH_MAX];
	memset(st, 0, sizeof(*st));
	int ret = state_dir(root, id, dir, sizeof(dir), err);
	if (ret < 0) {
		return ret;
	}
	if (path_join(path, sizeof(path), dir, "state.json") < 0) {
		return berr_setx(err, ENAMETOOLONG, "state path too long");
	}
	char buf[16384];
	ssize_t n = read_file(path, buf, sizeof(buf), err);
	if (n < 0) {
		if (err->code == ENOENT) {
			struct stat sb;
			if (stat(dir, &sb) == 0) {
				return berr_setx(err, ENOENT, "container %s is still being created", id);
			}
			return berr_setx(err, ENOENT, "container %s does not exist", id);
		}
		return (int)n;
	}
	json_object *o = json_tokener_parse(buf);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return berr_setx(err, EINVAL, "%s is damaged", path);
	}
	snprintf(st->id, sizeof(st->id), "%s", id);
	json_object *v;
	if (json_object_object_get_ex(o, "pid", &v)) {
		st->pid = (pid_t)json_object_get_int64(v);
	}
	if (json_object_object_get_ex(o, "pidStart", &v)) {
		st->pid_start = json_object_get_uint64(v);
	}
	if (json_object_object_get_ex(o, "poststartHooks", &v)) {
		st->poststart_hooks = json_object_get_int(v);
	}
	if (json_object_object_get_ex(o, "poststopHooks", &v)) {
		st->poststop_hooks = json_object_get_int(v);
	}
	copy_field(o, "bundle", st->bundle, sizeof(st->bundle));
	copy_field(o, "rootfs", st->rootfs, sizeof(st->rootfs));
	copy_field(o, "cgroup", st->cgroup, sizeof(st->cgroup));
	copy_field(o, "created", st->created, sizeof(st->created));
	copy_field(o, "annotations", st->annotations, sizeof(st->annotations));
	json_object_put(o);
	return 0;
}

enum oci_status state_status(const char *root, const struct oci_state *st)
{
	if (st->pid <= 0 || state_pid_start(st->pid) != st->pid_start) {
		return OCI_STOPPED;
	}
	char dir[PATH_MAX];
	char fifo[PATH_MAX];
	if (state_dir(root, st->id, dir, sizeof(dir), NULL) == 0 &&
	    path_join(fifo, sizeof(fifo), dir, "exec.fifo") == 0 && access(fifo, F_OK) == 0) {
		return OCI_CREATED;
	}
	char events[PATH_MAX + 64];
	char text[512];
	snprintf(events, sizeof(events), "/sys/fs/cgroup%s/cgroup.events", st->cgroup);
	if (st->cgroup[0] != '\0' && read_file(events, text, sizeof(text), NULL) > 0 && strstr(text, "frozen 1")) {
		return OCI_PAUSED;
	}
	return OCI_RUNNING;
}

const char *state_status_name(enum oci_status s)
{
	switch (s) {
	case OCI_CREATING:
		return "creating";
	case OCI_CREATED:
		return "created";
	case OCI_RUNNING:
		return "running";
	case OCI_PAUSED:
		return "paused";
	case OCI_STOPPED:
		return "stopped";
	}
	return "unknown";
}

int state_to_json(const struct oci_state *st, enum oci_status status, char **out, struct berr *err)
{
	json_object *o = json_object_new_object();
	if (o == NULL) {
		return berr_set(err, ENOMEM, "state");
	}
	int ret = 0;
	ret |= add_str(o, "ociVersion", "1.2.0");
	ret |= add_str(o, "id", st->id);
	ret |= add_str(o, "status", state_status_name(status));
	ret |= json_object_object_add(o, "pid", json_object_new_int64(status == OCI_STOPPED ? 0 : st->pid));
	ret |= add_str(o, "bundle", st->bundle);
	ret |= add_str(o, "rootfs", st->rootfs);
	ret |= add_str(o, "created", st->created);
	if (st->oom_kills > 0) {
		ret |= json_object_object_add(o, "oomKills", json_object_new_int(st->oom_kills));
	}
	json_object *ann = st->annotations[0] ? json_tokener_parse(st->annotations) : NULL;
	if (ann != NULL && json_object_object_length(ann) > 0) {
		ret |= json_object_object_add(o, "annotations", ann);
	} else {
		json_object_put(ann);
	}
	if (ret != 0) {
		json_object_put(o);
		return berr_set(err, ENOMEM, "state");
	}
	*out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return *out ? 0 : berr_set(err, ENOMEM, "state");
}

void state_set_annotations(struct oci_state *st, const struct oci_config *cfg)
{
	json_object *o = json_object_new_object();
	for (size_t i = 0; o != NULL && i < cfg->nannotations; i++) {
		json_object_object_add(o, cfg->annotations[i].key, json_object_new_string(cfg->annotations[i].value));
	}
	const char *text = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : "{}";
	if (strlen(text) < sizeof(st->annotations)) {
		snprintf(st->annotations, sizeof(st->annotations), "%s", text);
	} else {
		snprintf(st->annotations, sizeof(st->annotations), "{}");
	}
	json_object_put(o);
}
