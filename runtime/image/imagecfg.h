/* What an image's configuration says about running it (the "config" of an
 * OCI image, in the form Docker writes): the part the daemon needs to turn
 * a compose service into an OCI runtime config. Filled by the image store
 * (runtime/image), read by the compose translation (runtime/compose).
 * Strings and arrays live in the arena given to whoever fills it. */
#ifndef BERTH_IMAGECFG_H
#define BERTH_IMAGECFG_H

#include <stddef.h>
#include <stdint.h>

struct image_healthcheck {
	char **test; /* ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"]; NULL: none */
	size_t ntest;
	int64_t interval_ns; /* 0: default */
	int64_t timeout_ns;
	int64_t start_period_ns;
	int retries; /* 0: default */
};

struct image_config {
	char id[72]; /* "sha256:<hex>" of the config blob */
	char **entrypoint;
	size_t nentrypoint;
	char **cmd;
	size_t ncmd;
	char **env; /* "NAME=value" */
	size_t nenv;
	char *working_dir; /* NULL: "/" */
	char *user;	   /* NULL: root; "uid[:gid]" or names */
	char *stop_signal; /* NULL: SIGTERM */
	char **volumes;	   /* container paths of anonymous volumes */
	size_t nvolumes;
	char **exposed_ports; /* "80/tcp" */
	size_t nexposed_ports;
	char **label_keys;
	char **label_values;
	size_t nlabels;
	int has_healthcheck;
	struct image_healthcheck healthcheck;
};

#endif
