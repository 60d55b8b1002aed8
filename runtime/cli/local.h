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

/* Parses the options of a command that has one, with a value (load's
 * -i/--input FILE, save's -o/--output FILE); optind is left at the first
 * operand. 0, or -1 after an unknown option (getopt has said which). */
int local_one_option(int argc, char **argv, char name, const char *longname, const char **value);
/* The same for a command whose one option is a flag (rmi's -f). */
int local_one_flag(int argc, char **argv, char name, int *set);

int local_pull(const struct local_opts *o, int argc, char **argv);
int local_images(const struct local_opts *o, int argc, char **argv);
int local_load(const struct local_opts *o, int argc, char **argv);
int local_save(const struct local_opts *o, int argc, char **argv);
int local_rmi(const struct local_opts *o, int argc, char **argv);
int local_login(const struct local_opts *o, int argc, char **argv);
int local_logout(const struct local_opts *o, int argc, char **argv);

#endif
