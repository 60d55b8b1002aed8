/* berth's commands that work on an image store directly, without berthd:
 * on the build machine (`berth --root DIR pull|images|load|save|rmi|login`)
 * and, on a host, the pull and login that berthd's store shares (the
 * store is safe to change beside berthd: see image/store.h). */
#ifndef BERTH_CLI_LOCAL_H
#define BERTH_CLI_LOCAL_H

#include <stddef.h>

struct local_opts {
	const char *root;	/* the store directory */
	const char *config_dir; /* host.yaml, auth.json, certs.d/, ca-certificates/; NULL: none */
	const char *login_file; /* where berth login keeps credentials */
	int keep_blobs;		/* keep layers' blobs, for save (stores made with --root) */
};

/* The digest a name ("repo:tag", "repo@sha256:...") was pulled as, from
 * an image's repo digests ("repo@sha256:..."); "<none>" when none. */
void local_repo_digest(const char *name, const char *const *digests, size_t n, char *out, size_t size);

int local_pull(const struct local_opts *o, int argc, char **argv);
int local_images(const struct local_opts *o, int argc, char **argv);
int local_load(const struct local_opts *o, int argc, char **argv);
int local_save(const struct local_opts *o, int argc, char **argv);
int local_rmi(const struct local_opts *o, int argc, char **argv);
int local_login(const struct local_opts *o, int argc, char **argv);
int local_logout(const struct local_opts *o, int argc, char **argv);

#endif
