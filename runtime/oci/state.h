/* Container state on disk: ROOT/ID/state.json (what berth-oci knows about a
 * container between commands) and ROOT/ID/exec.fifo (present while the
 * container is created and not yet started). The status is never stored:
 * it is derived each time from the process (alive, and the same process,
 * by its start time), the fifo, and the cgroup's freezer. */
#ifndef BERTH_OCI_STATE_H
#define BERTH_OCI_STATE_H

#include <stdint.h>
#include <sys/types.h>

#include "lib/berr.h"
#include "oci/config.h"

#define OCI_DEFAULT_ROOT "/run/berth-oci"
#define OCI_ID_MAX 256

enum oci_status {
	OCI_CREATING,
	OCI_CREATED,
	OCI_RUNNING,
	OCI_PAUSED,
	OCI_STOPPED,
};

struct oci_state {
	char id[OCI_ID_MAX];
	pid_t pid;
	uint64_t pid_start; /* field 22 of /proc/PID/stat */
	char bundle[4096];
	char rootfs[4096];
	char cgroup[4096]; /* relative to the cgroup root */
	char created[40];  /* RFC 3339, UTC */
	int oom_kills;	   /* filled in by callers that read the cgroup */
	/* How many hooks of these kinds: start and delete read config.json only
	 * when there are some. */
	int poststart_hooks;
	int poststop_hooks;
	/* Annotations, as JSON text (kept verbatim for `state`). */
	char annotations[8192];
};

/* A container ID: letters, digits, '_', '-', '.', not starting with '.',
 * at most OCI_ID_MAX - 1 bytes (it names a directory). */
int state_valid_id(const char *id, struct berr *err);

/* ROOT/ID; the directory is made (mode 0700) by state_dir_create, which
 * fails with EEXIST naming the ID when it exists. */
int state_dir(const char *root, const char *id, char *out, size_t size, struct berr *err);
int state_dir_create(const char *root, const char *id, char *out, size_t size, struct berr *err);

int state_save(const char *dir, const struct oci_state *st, struct berr *err);
int state_load(const char *root, const char *id, struct oci_state *st, struct berr *err);

/* The start time of pid, or 0 when it does not exist. */
uint64_t state_pid_start(pid_t pid);

enum oci_status state_status(const char *root, const struct oci_state *st);
const char *state_status_name(enum oci_status s);

/* The runtime-spec state JSON (what `state` prints), without a newline. */
int state_to_json(const struct oci_state *st, enum oci_status status, char **out, struct berr *err);

/* Annotations of a config as a JSON object text. */
void state_set_annotations(struct oci_state *st, const struct oci_config *cfg);

#endif
