/* Store commands without berthd (see local.h): pull with its progress
 * display, images, load, save, rmi, login and logout. */
#include "cli/local.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "image/imgref.h"
#include "image/store.h"
#include "lib/fsutil.h"
#include "lib/hostcfg.h"
#include "registry/creds.h"
#include "registry/registry.h"

static int open_store(const struct local_opts *o, struct store **s, const char *cmd)
{
	struct berr err = {0};
	if (store_open(s, o->root, &err) < 0) {
		fprintf(stderr, "berth %s: %s\n", cmd, err.msg);
		return -1;
	}
	store_set_keep_blobs(*s, o->keep_blobs);
	return 0;
}

/* host.yaml's registry settings (mirrors, insecure registries, proxy). */
static void load_host(const struct local_opts *o, struct host_config *h)
{
	hostcfg_defaults(h);
	if (o->config_dir == NULL) {
		return;
	}
	char path[PATH_MAX];
	if (path_join(path, sizeof(path), o->config_dir, "host.yaml") == 0) {
		hostcfg_load(h, path, "host.yaml");
	}
	for (size_t i = 0; i < h->nerrors && i < HOST_MAX_ERRORS; i++) {
		fprintf(stderr, "warning: %s\n", h->errors[i]);
	}
}

/* ---- pull: progress ------------------------------------------------------------- */

#define BAR_WIDTH 30
#define MAX_SHOWN 64

struct progress {
	int tty;
	size_t nlayers;
	size_t shown; /* lines drawn below the title, on a terminal */
	struct {
		char id[13];
		int state; /* 0 waiting, 1 exists, 2 downloading, 3 done */
		uint64_t done;
		uint64_t total;
	} layers[MAX_SHOWN];
	int64_t last_draw_ms;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void human(uint64_t b, char *out, size_t size)
{
	if (b < 1000 * 1000) {
		snprintf(out, size, "%.1fkB", (double)b / 1000);
	} else if (b < 1000ull * 1000 * 1000) {
		snprintf(out, size, "%.1fMB", (double)b / 1e6);
	} else {
		snprintf(out, size, "%.2fGB", (double)b / 1e9);
	}
}

static void draw(struct progress *pr, int force)
{
	int64_t now = mono_ms();
	if (!force && now - pr->last_draw_ms < 100) {
		return;
	}
	pr->last_draw_ms = now;
	size_t n = pr->nlayers < MAX_SHOWN ? pr->nlayers : MAX_SHOWN;
	if (pr->shown > 0) {
		printf("\033[%zuA", pr->shown);
	}
	for (size_t i = 0; i < n; i++) {
		char line[160];
		char a[32];
		char b[32];
		switch (pr->layers[i].state) {
		case 1:
			snprintf(line, sizeof(line), "Already exists");
			break;
		case 2: {
			uint64_t t = pr->layers[i].total > 0 ? pr->layers[i].total : 1;
			int fill = (int)(pr->layers[i].done * BAR_WIDTH / t);
			char bar[BAR_WIDTH + 1];
			for (int k = 0; k < BAR_WIDTH; k++) {
				bar[k] = k < fill ? '=' : k == fill ? '>' : ' ';
			}
			bar[BAR_WIDTH] = '\0';
			human(pr->layers[i].done, a, sizeof(a));
			human(pr->layers[i].total, b, sizeof(b));
			snprintf(line, sizeof(line), "Downloading [%s] %s/%s", bar, a, b);
			break;
		}
		case 3:
			snprintf(line, sizeof(line), "Pull complete");
			break;
		default:
			snprintf(line, sizeof(line), "Waiting");
		}
		printf("\033[2K%s: %s\n", pr->layers[i].id, line);
	}
	pr->shown = n;
	fflush(stdout);
}

static void on_progress(void *ctx, const struct registry_progress *p)
{
	struct progress *pr = ctx;
	if (p->event == REG_EV_MIRROR_FAILED) {
		fprintf(stderr, "mirror failed, trying the next: %s\n", p->text);
		pr->shown = 0;
		return;
	}
	if (p->event == REG_EV_RESOLVED) {
		pr->nlayers = p->nlayers;
		pr->shown = 0;
		return;
	}
	if (p->layer >= MAX_SHOWN || p->digest == NULL) {
		return;
	}
	typeof(pr->layers[0]) *l = &pr->layers[p->layer];
	snprintf(l->id, sizeof(l->id), "%.12s", strncmp(p->digest, "sha256:", 7) == 0 ? p->digest + 7 : p->digest);
	int was = l->state;
	switch (p->event) {
	case REG_EV_LAYER_EXISTS:
		l->state = 1;
		break;
	case REG_EV_LAYER_START:
	case REG_EV_LAYER_BYTES:
		l->state = 2;
		l->done = p->done;
		l->total = p->total;
		break;
	case REG_EV_LAYER_DONE:
		l->state = 3;
		break;
	default:
		break;
	}
	if (pr->tty) {
		draw(pr, l->state != was);
	} else if (l->state != was && l->state != 2) {
		printf("%s: %s\n", l->id, l->state == 1 ? "Already exists" : "Pull complete");
		fflush(stdout);
	} else if (l->state != was) {
		char b[32];
		human(l->total, b, sizeof(b));
		printf("%s: Downloading %s\n", l->id, b);
		fflush(stdout);
	}
}

int local_pull(const struct local_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {{"quiet", no_argument, NULL, 'q'}, {NULL, 0, NULL, 0}};
	int quiet = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "+q", longopts, NULL)) != -1) {
		if (opt != 'q') {
			return 1;
		}
		quiet = 1;
	}
	if (optind >= argc) {
		fprintf(stderr,
			"berth pull: give at least one image (busybox, ghcr.io/org/app:1.2, name@sha256:...)\n");
		return 1;
	}
	struct store *s;
	if (open_store(o, &s, "pull") < 0) {
		return 1;
	}
	struct host_config *host = malloc(sizeof(*host));
	if (host == NULL) {
		store_close(s);
		return 1;
	}
	load_host(o, host);
	int failed = 0;
	for (int i = optind; i < argc; i++) {
		struct progress pr = {.tty = isatty(STDOUT_FILENO)};
		struct registry_opts ro = {.host = host,
					   .config_dir = o->config_dir,
					   .login_file = o->login_file,
					   .progress = quiet ? NULL : on_progress,
					   .progress_ctx = &pr};
		struct imgref ref;
		struct berr err = {0};
		if (imgref_parse(argv[i], &ref, &err) < 0) {
			fprintf(stderr, "berth pull: %s\n", err.msg);
			failed = 1;
			continue;
		}
		if (!quiet) {
			printf("%s: pulling from %s/%s\n", ref.digest[0] != '\0' ? ref.digest : ref.tag, ref.domain,
			       ref.path);
		}
		struct registry_pulled res;
		if (registry_pull(s, argv[i], &ro, &res, &err) < 0) {
			if (pr.tty && pr.shown > 0) {
				draw(&pr, 1);
			}
			fprintf(stderr, "berth pull: %s\n", err.msg);
			failed = 1;
			continue;
		}
		if (pr.tty && pr.shown > 0) {
			draw(&pr, 1);
		}
		if (quiet) {
			printf("%s\n", res.name);
			continue;
		}
		char b[32];
		human(res.bytes, b, sizeof(b));
		printf("Digest: %s\n", res.digest);
		printf("Status: %s %s (%zu layers, %zu new, %s downloaded)\n",
		       res.up_to_date ? "Image is up to date for" : "Downloaded newer image for", res.name, res.nlayers,
		       res.new_layers, b);
	}
	hostcfg_free(host);
	free(host);
	store_close(s);
	return failed;
}

/* ---- images, load, rmi ------------------------------------------------------------------ */

void local_repo_digest(const char *name, const char *const *digests, size_t n, char *out, size_t size)
{
	snprintf(out, size, "<none>");
	size_t base = strcspn(name, "@");
	if (name[base] != '@') {
		const char *colon = strrchr(name, ':');
		base = colon != NULL && strchr(colon, '/') == NULL ? (size_t)(colon - name) : strlen(name);
	}
	for (size_t i = 0; i < n; i++) {
		if (digests[i] != NULL && strncmp(digests[i], name, base) == 0 && digests[i][base] == '@') {
			snprintf(out, size, "%s", digests[i] + base + 1);
		}
	}
}

int local_images(const struct local_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"digests", no_argument, NULL, 'D'}, {"quiet", no_argument, NULL, 'q'}, {NULL, 0, NULL, 0}};
	int digests = 0;
	int quiet = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "+q", longopts, NULL)) != -1) {
		if (opt == 'D') {
			digests = 1;
		} else if (opt == 'q') {
			quiet = 1;
		} else {
			return 1;
		}
	}
	struct store *s;
	if (open_store(o, &s, "images") < 0) {
		return 1;
	}
	struct arena a = {0};
	struct store_image_info *infos;
	size_t n;
	struct berr err = {0};
	if (store_list(s, &a, &infos, &n, &err) < 0) {
		fprintf(stderr, "berth images: %s\n", err.msg);
		arena_free(&a);
		store_close(s);
		return 1;
	}
	if (!quiet) {
		printf("%-40s %s%-14s %-12s %s\n", "REPOSITORY:TAG",
		       digests ? "DIGEST                                                                    " : "",
		       "IMAGE ID", "LAYERS", "SIZE");
	}
	for (size_t i = 0; i < n; i++) {
		const struct store_image_info *im = &infos[i];
		if (quiet) {
			printf("%.12s\n", im->id + 7);
			continue;
		}
		char size[32];
		human(im->size, size, sizeof(size));
		size_t rows = im->nnames > 0 ? im->nnames : 1;
		for (size_t k = 0; k < rows; k++) {
			const char *name = im->nnames > 0 ? im->names[k] : "<none>";
			char digest[80];
			local_repo_digest(name, im->digests, im->ndigests, digest, sizeof(digest));
			if (digests) {
				printf("%-40s %-73s %-14.12s %-12zu %s\n", name, digest, im->id + 7, im->nlayers, size);
			} else {
				printf("%-40s %-14.12s %-12zu %s\n", name, im->id + 7, im->nlayers, size);
			}
		}
	}
	arena_free(&a);
	store_close(s);
	return 0;
}

int local_one_flag(int argc, char **argv, char name, int *set)
{
	const char shortopts[] = {'+', name, '\0'};
	int opt;
	while ((opt = getopt(argc, argv, shortopts)) != -1) {
		if (opt != name) {
			return -1;
		}
		*set = 1;
	}
	return 0;
}

int local_one_option(int argc, char **argv, char name, const char *longname, const char **value)
{
	const struct option longopts[] = {{longname, required_argument, NULL, name}, {NULL, 0, NULL, 0}};
	const char shortopts[] = {'+', name, ':', '\0'};
	int opt;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (opt != name) {
			return -1;
		}
		*value = optarg;
	}
	return 0;
}

int local_load(const struct local_opts *o, int argc, char **argv)
{
	const char *input = NULL;
	if (local_one_option(argc, argv, 'i', "input", &input) < 0) {
		return 1;
	}
	if (optind < argc) {
		input = argv[optind];
	}
	struct store *s;
	if (open_store(o, &s, "load") < 0) {
		return 1;
	}
	struct arena a = {0};
	struct store_loaded *l = NULL;
	size_t n = 0;
	struct berr err = {0};
	int ret;
	if (input == NULL || strcmp(input, "-") == 0) {
		ret = store_load_fd(s, STDIN_FILENO, "stdin", &a, &l, &n, &err);
	} else {
		ret = store_load_path(s, input, &a, &l, &n, &err);
	}
	if (ret < 0) {
		fprintf(stderr, "berth load: %s\n", err.msg);
	}
	for (size_t i = 0; ret == 0 && i < n; i++) {
		for (size_t k = 0; k < l[i].nnames; k++) {
			printf("Loaded image: %s\n", l[i].names[k]);
		}
		if (l[i].nnames == 0) {
			printf("Loaded image ID: %s\n", l[i].id);
		}
	}
	arena_free(&a);
	store_close(s);
	return ret < 0;
}

int local_rmi(const struct local_opts *o, int argc, char **argv)
{
	int force = 0;
	if (local_one_flag(argc, argv, 'f', &force) < 0) {
		return 1;
	}
	struct store *s;
	if (open_store(o, &s, "rmi") < 0) {
		return 1;
	}
	int failed = 0;
	for (int i = optind; i < argc; i++) {
		struct store_removed r;
		struct berr err = {0};
		if (store_remove(s, argv[i], force, NULL, NULL, &r, &err) < 0) {
			fprintf(stderr, "berth rmi: %s\n", err.msg);
			failed = 1;
			continue;
		}
		printf("%s: %s\n", r.deleted ? "Deleted" : "Untagged", argv[i]);
	}
	struct store_gc_stats gc;
	struct berr err = {0};
	if (store_gc(s, &gc, &err) < 0) {
		fprintf(stderr, "berth rmi: %s\n", err.msg);
	}
	store_close(s);
	return failed;
}

/* ---- login, logout --------------------------------------------------------------------------- */

/* A line from stdin; with echo off when it is a terminal. */
static int read_secret(const char *prompt, char *buf, size_t size, int echo)
{
	int tty = isatty(STDIN_FILENO);
	struct termios old;
	if (tty) {
		fprintf(stderr, "%s", prompt);
		if (!echo && tcgetattr(STDIN_FILENO, &old) == 0) {
			struct termios t = old;
			t.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
		} else {
			echo = 1;
		}
	}
	size_t n = 0;
	int ok = 0;
	for (;;) {
		char c;
		ssize_t r = read(STDIN_FILENO, &c, 1);
		if (r <= 0 || c == '\n') {
			ok = r > 0 || n > 0;
			break;
		}
		if (n + 1 < size) {
			buf[n++] = c;
		}
	}
	if (n > 0 && buf[n - 1] == '\r') {
		n--;
	}
	buf[n] = '\0';
	if (tty && !echo) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	return ok ? 0 : -1;
}

int local_login(const struct local_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {{"username", required_argument, NULL, 'u'},
						 {"password", required_argument, NULL, 'p'},
						 {"password-stdin", no_argument, NULL, 'S'},
						 {NULL, 0, NULL, 0}};
	char user[256] = "";
	int from_stdin = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "+u:p:", longopts, NULL)) != -1) {
		if (opt == 'u') {
			copy_string(user, sizeof(user), optarg);
		} else if (opt == 'S') {
			from_stdin = 1;
		} else if (opt == 'p') {
			/* A password in argv is in every ps listing. */
			fprintf(stderr, "berth login: -p would show the password to anyone running ps; use "
					"--password-stdin, or type it when asked\n");
			return 1;
		} else {
			return 1;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: berth login [-u USER] [--password-stdin] REGISTRY\n");
		return 1;
	}
	char registry[256];
	registry_login_key(argv[optind], registry, sizeof(registry));
	if (user[0] == '\0' && read_secret("Username: ", user, sizeof(user), 1) < 0) {
		fprintf(stderr, "berth login: no user name\n");
		return 1;
	}
	char pass[4096];
	if (read_secret(from_stdin ? "" : "Password: ", pass, sizeof(pass), 0) < 0 || pass[0] == '\0') {
		fprintf(stderr, "berth login: no password\n");
		return 1;
	}
	struct host_config *host = malloc(sizeof(*host));
	if (host == NULL) {
		return 1;
	}
	load_host(o, host);
	struct registry_opts ro = {.host = host, .config_dir = o->config_dir};
	struct berr err = {0};
	int ret = registry_login_check(registry, user, pass, &ro, &err);
	if (ret == 0) {
		ret = creds_store(o->login_file, registry, user, pass, &err);
	}
	explicit_bzero(pass, sizeof(pass));
	hostcfg_free(host);
	free(host);
	if (ret < 0) {
		fprintf(stderr, "berth login: %s\n", err.msg);
		return 1;
	}
	printf("Login Succeeded (kept in %s)\n", o->login_file);
	return 0;
}

int local_logout(const struct local_opts *o, int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: berth logout REGISTRY\n");
		return 1;
	}
	char registry[256];
	registry_login_key(argv[1], registry, sizeof(registry));
	struct berr err = {0};
	int ret = creds_store(o->login_file, registry, NULL, NULL, &err);
	if (ret < 0) {
		fprintf(stderr, "berth logout: %s\n", err.msg);
		return 1;
	}
	printf(ret > 0 ? "Removed login credentials for %s\n" : "Not logged in to %s\n", registry);
	return 0;
}

/* ---- save -------------------------------------------------------------------------------- */

int local_save(const struct local_opts *o, int argc, char **argv)
{
	const char *output = NULL;
	if (local_one_option(argc, argv, 'o', "output", &output) < 0) {
		return 1;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: berth save [-o FILE] IMAGE...\n");
		return 1;
	}
	if (output == NULL && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "berth save: give -o FILE, or send the archive to a file or pipe\n");
		return 1;
	}
	struct store *s;
	if (open_store(o, &s, "save") < 0) {
		return 1;
	}
	char tmp[PATH_MAX];
	int fd = STDOUT_FILENO;
	if (output != NULL) {
		/* Written aside and renamed: a failed save leaves no half archive. */
		snprintf(tmp, sizeof(tmp), "%s.tmp", output);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "berth save: create %s: %s\n", tmp, strerror(errno));
			store_close(s);
			return 1;
		}
	}
	struct berr err = {0};
	int ret = store_save(s, (const char *const *)argv + optind, (size_t)(argc - optind), fd, &err);
	if (output != NULL) {
		if (ret == 0 && (fsync(fd) < 0 || rename(tmp, output) < 0)) {
			ret = berr_set(&err, errno, "write %s", output);
		}
		close(fd);
		if (ret < 0) {
			unlink(tmp);
		}
	}
	store_close(s);
	if (ret < 0) {
		fprintf(stderr, "berth save: %s\n", err.msg);
		return 1;
	}
	return 0;
}
