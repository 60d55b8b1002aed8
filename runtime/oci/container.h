/* The container lifecycle behind berth-oci's commands: create, start,
 * run, state, kill, delete, exec, list, ps, pause, resume. Each function is
 * one command with its options already parsed; errors come back in err. */
#ifndef BERTH_OCI_CONTAINER_H
#define BERTH_OCI_CONTAINER_H

#include <sys/types.h>

#include "lib/berr.h"

struct oci_resources;

struct oci_opts {
	const char *root; /* state directory root (--root) */
	/* create / run */
	const char *bundle;
	const char *pid_file;
	const char *console_socket;
	int no_pivot;
	int detach;
	/* exec */
	int tty;
	const char *process_file;
	const char *cwd;
	const char *user; /* UID[:GID] */
	const char **env;
	size_t nenv;
	const char **caps; /* --cap: added to the process's bounding, effective and permitted sets */
	size_t ncaps;
	const char **gids; /* --additional-gids */
	size_t ngids;
	int no_new_privs;
	char **args;
	size_t nargs;
	/* kill / delete / list */
	int all;
	int force;
	int json;
};

int container_create(const struct oci_opts *o, const char *id, struct berr *err);
int container_start(const struct oci_opts *o, const char *id, struct berr *err);
/* Returns the container process's exit status (0..255) when foreground. */
int container_run(const struct oci_opts *o, const char *id, struct berr *err);
int container_state(const struct oci_opts *o, const char *id, struct berr *err);
int container_kill(const struct oci_opts *o, const char *id, int sig, struct berr *err);
int container_delete(const struct oci_opts *o, const char *id, struct berr *err);

/* New limits for a created, running or paused container's cgroup. */
int container_update(const struct oci_opts *o, const char *id, const struct oci_resources *r, struct berr *err);
int container_exec(const struct oci_opts *o, const char *id, struct berr *err);
int container_list(const struct oci_opts *o, struct berr *err);
int container_ps(const struct oci_opts *o, const char *id, struct berr *err);
int container_pause(const struct oci_opts *o, const char *id, int pause, struct berr *err);

#endif
