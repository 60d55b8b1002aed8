/* berth context (see context.h). */
#include "cli/context.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "proto/proto.h"

#define CONTEXT_FILE_MAX 4096

/* .../berth, from XDG_CONFIG_HOME or HOME. */
static int config_dir(char *out, size_t size, struct berr *err)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;
	if (xdg != NULL && xdg[0] == '/') {
		n = snprintf(out, size, "%s/berth", xdg);
	} else if (home != NULL && home[0] == '/') {
		n = snprintf(out, size, "%s/.config/berth", home);
	} else {
		return berr_setx(err, ENOENT, "contexts: neither XDG_CONFIG_HOME nor HOME is an absolute path");
	}
	if (n < 0 || (size_t)n >= size) {
		return berr_setx(err, ENAMETOOLONG, "contexts: the configuration directory's path is too long");
	}
	return 0;
}

int context_name_valid(const char *name, struct berr *err)
{
	size_t n = strlen(name);
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	if (n == 0 || n >= CONTEXT_NAME_MAX || strchr(alnum, name[0]) == NULL ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n) {
		return berr_setx(
			err, EINVAL,
			"context name '%s': a letter or digit, then letters, digits, '.', '_' or '-' (at most %d)",
			name, CONTEXT_NAME_MAX - 1);
	}
	return 0;
}

static int context_path(const char *name, char *out, size_t size, struct berr *err)
{
	char dir[PATH_MAX];
	int ret = config_dir(dir, sizeof(dir), err);
	if (ret < 0) {
		return ret;
	}
	int n = snprintf(out, size, "%s/contexts/%s", dir, name);
	return n < 0 || (size_t)n >= size ? berr_setx(err, ENAMETOOLONG, "context %s: path too long", name) : 0;
}

/* The value of key in a context file's text (a copy in out). */
static int file_value(const char *text, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	for (const char *line = text; *line != '\0';) {
		size_t len = strcspn(line, "\n");
		if (len > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
			size_t vlen = len - klen - 1;
			if (vlen >= size) {
				return -ENAMETOOLONG;
			}
			memcpy(out, line + klen + 1, vlen);
			out[vlen] = '\0';
			return 1;
		}
		line += len + (line[len] == '\n');
	}
	out[0] = '\0';
	return 0;
}

static int read_context(const char *name, char **text, struct berr *err)
{
	char path[PATH_MAX];
	int ret = context_path(name, path, sizeof(path), err);
	if (ret < 0) {
		return ret;
	}
	size_t len = 0;
	ret = read_file_alloc(AT_FDCWD, path, O_NOFOLLOW | O_NONBLOCK, CONTEXT_FILE_MAX, NULL, text, &len, err);
	if (ret == -ENOENT) {
		berr_setx(err, ENOENT, "context '%s' does not exist (berth context ls lists them)", name);
	}
	return ret;
}

int context_host(const char *name, struct remote *r, struct berr *err)
{
	if (strcmp(name, CONTEXT_DEFAULT) == 0) {
		return 0;
	}
	int ret = context_name_valid(name, err);
	if (ret < 0) {
		return ret;
	}
	auto_free char *text = NULL;
	ret = read_context(name, &text, err);
	if (ret < 0) {
		return ret;
	}
	char url[REMOTE_URL_MAX];
	if (file_value(text, "host", url, sizeof(url)) <= 0) {
		return berr_setx(err, EINVAL, "context '%s': no host= line", name);
	}
	ret = remote_parse(url, r, err);
	if (ret < 0) {
		return berr_prefix(err, "context '%s'", name);
	}
	char known[sizeof(r->known_hosts_opt) - 20];
	if (file_value(text, "ssh_key", r->identity, sizeof(r->identity)) < 0 ||
	    file_value(text, "known_hosts", known, sizeof(known)) < 0) {
		return berr_setx(err, ENAMETOOLONG, "context '%s': a path is too long", name);
	}
	if (known[0] != '\0') {
		snprintf(r->known_hosts_opt, sizeof(r->known_hosts_opt), "UserKnownHostsFile=%s", known);
	}
	return 1;
}

/* An ssh file a context names: absolute, one line, not too long. */
static int ssh_file_valid(const char *option, const char *path)
{
	if (path[0] != '/' || strchr(path, '\n') != NULL || strlen(path) >= 1000) {
		fprintf(stderr, "berth context create: %s: an absolute path of one line, below 1000 bytes\n", option);
		return 0;
	}
	return 1;
}

int context_current(char *name, size_t size, struct berr *err)
{
	char dir[PATH_MAX];
	char path[PATH_MAX + 16];
	if (config_dir(dir, sizeof(dir), NULL) < 0) {
		/* No home (a service, a healthcheck): nothing was chosen. */
		return copy_string(name, size, CONTEXT_DEFAULT);
	}
	snprintf(path, sizeof(path), "%s/context", dir);
	char buf[CONTEXT_NAME_MAX + 2];
	ssize_t n = read_file(path, buf, sizeof(buf), err);
	if (n == -ENOENT) {
		return copy_string(name, size, CONTEXT_DEFAULT);
	}
	if (n < 0) {
		return (int)n;
	}
	trim_end(buf);
	if (buf[0] != '\0' && strcmp(buf, CONTEXT_DEFAULT) != 0 && context_name_valid(buf, err) < 0) {
		return berr_prefix(err, "%s", path);
	}
	return copy_string(name, size, buf[0] != '\0' ? buf : CONTEXT_DEFAULT);
}

/* ---- the commands --------------------------------------------------------------------------------------- */

static int set_current(const char *name, struct berr *err)
{
	char dir[PATH_MAX];
	char path[PATH_MAX + 16];
	int ret = config_dir(dir, sizeof(dir), err);
	if (ret == 0) {
		ret = mkdir_p(dir, 0700, err);
	}
	if (ret < 0) {
		return ret;
	}
	snprintf(path, sizeof(path), "%s/context", dir);
	char text[CONTEXT_NAME_MAX + 2];
	snprintf(text, sizeof(text), "%s\n", name);
	return write_file_atomic(path, text, strlen(text), 0600, ATOMIC_FSYNC_FILE, err);
}

static int fail(const char *what, const struct berr *err)
{
	fprintf(stderr, "berth context %s: %s\n", what, err->msg);
	return 1;
}

#define CREATE_USAGE                                                                              \
	"usage: berth context create NAME --host ssh://[USER@]HOST[:PORT] [--description TEXT]\n" \
	"                            [--ssh-key FILE] [--known-hosts FILE]\n"

static int cmd_create(int argc, char **argv)
{
	const char *host = NULL;
	const char *description = "";
	const char *name = NULL;
	const char *key = "";
	const char *known = "";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ssh-key") == 0 && i + 1 < argc) {
			key = argv[++i];
		} else if (strcmp(argv[i], "--known-hosts") == 0 && i + 1 < argc) {
			known = argv[++i];
		} else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
			host = argv[++i];
		} else if (strncmp(argv[i], "--host=", 7) == 0) {
			host = argv[i] + 7;
		} else if (strcmp(argv[i], "--description") == 0 && i + 1 < argc) {
			description = argv[++i];
		} else if (argv[i][0] != '-' && name == NULL) {
			name = argv[i];
		} else {
			fprintf(stderr, CREATE_USAGE);
			return 1;
		}
	}
	struct berr err = {0};
	struct remote r;
	if (name == NULL || host == NULL) {
		fprintf(stderr, CREATE_USAGE);
		return 1;
	}
	if ((key[0] != '\0' && !ssh_file_valid("--ssh-key", key)) ||
	    (known[0] != '\0' && !ssh_file_valid("--known-hosts", known))) {
		return 1;
	}
	if (strcmp(name, CONTEXT_DEFAULT) == 0) {
		fprintf(stderr, "berth context create: '%s' is this machine's berthd\n", CONTEXT_DEFAULT);
		return 1;
	}
	if (context_name_valid(name, &err) < 0 || remote_parse(host, &r, &err) < 0) {
		return fail("create", &err);
	}
	if (strchr(description, '\n') != NULL || strlen(description) > 512) {
		fprintf(stderr, "berth context create: the description is one line of at most 512 bytes\n");
		return 1;
	}
	char path[PATH_MAX];
	char dir[PATH_MAX];
	if (context_path(name, path, sizeof(path), &err) < 0 || path_dirname(dir, sizeof(dir), path) < 0 ||
	    mkdir_p(dir, 0700, &err) < 0) {
		return fail("create", &err);
	}
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "berth context create: context '%s' exists (berth context rm %s first)\n", name, name);
		return 1;
	}
	char text[REMOTE_URL_MAX + 2700];
	snprintf(text, sizeof(text), "host=%s\ndescription=%s\n%s%s%s%s%s%s", r.url, description,
		 key[0] != '\0' ? "ssh_key=" : "", key, key[0] != '\0' ? "\n" : "",
		 known[0] != '\0' ? "known_hosts=" : "", known, known[0] != '\0' ? "\n" : "");
	if (write_file_atomic(path, text, strlen(text), 0600, ATOMIC_FSYNC_FILE, &err) < 0) {
		return fail("create", &err);
	}
	printf("%s\n", name);
	fprintf(stderr, "Successfully created context \"%s\"\n", name);
	return 0;
}

static void print_row(const char *name, int current, const char *description, const char *host)
{
	char shown[CONTEXT_NAME_MAX + 3];
	snprintf(shown, sizeof(shown), "%s%s", name, current ? " *" : "");
	printf("%-20s %-30s %s\n", shown, description, host);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the contexts directory, sorted; *n of them. */
static char **list_names(size_t *n, struct berr *err)
{
	*n = 0;
	char path[PATH_MAX];
	char dir[PATH_MAX];
	if (context_path("x", path, sizeof(path), err) < 0 || path_dirname(dir, sizeof(dir), path) < 0) {
		return NULL;
	}
	auto_closedir DIR *d = opendir(dir);
	size_t cap = 16;
	char **names = calloc(cap, sizeof(*names));
	if (d == NULL || names == NULL) {
		return names;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || context_name_valid(e->d_name, NULL) < 0) {
			continue;
		}
		if (*n + 1 >= cap) {
			char **more = realloc(names, 2 * cap * sizeof(*names));
			if (more == NULL) {
				break;
			}
			names = more;
			cap *= 2;
		}
		names[(*n)++] = strdup(e->d_name);
	}
	qsort(names, *n, sizeof(*names), name_cmp);
	return names;
}

static int cmd_ls(void)
{
	struct berr err = {0};
	char current[CONTEXT_NAME_MAX];
	if (context_current(current, sizeof(current), &err) < 0) {
		return fail("ls", &err);
	}
	size_t n = 0;
	char **names = list_names(&n, &err);
	printf("%-20s %-30s %s\n", "NAME", "DESCRIPTION", "HOST");
	print_row(CONTEXT_DEFAULT, strcmp(current, CONTEXT_DEFAULT) == 0, "this machine's berthd",
		  "unix://" BERTH_SOCKET);
	for (size_t i = 0; i < n; i++) {
		auto_free char *text = NULL;
		char host[REMOTE_URL_MAX] = "?";
		char description[520] = "";
		if (names[i] != NULL && read_context(names[i], &text, NULL) == 0) {
			file_value(text, "host", host, sizeof(host));
			file_value(text, "description", description, sizeof(description));
			print_row(names[i], strcmp(current, names[i]) == 0, description, host);
		}
		free(names[i]);
	}
	free(names);
	return 0;
}

static int cmd_use(int argc, char **argv)
{
	struct berr err = {0};
	struct remote r;
	if (argc != 2) {
		fprintf(stderr, "usage: berth context use NAME\n");
		return 1;
	}
	if (context_host(argv[1], &r, &err) < 0 || set_current(argv[1], &err) < 0) {
		return fail("use", &err);
	}
	printf("%s\n", argv[1]);
	fprintf(stderr, "Current context is now \"%s\"\n", argv[1]);
	return 0;
}

static int cmd_rm(int argc, char **argv)
{
	int force = 0;
	int first = 1;
	if (argc > 1 && (strcmp(argv[1], "-f") == 0 || strcmp(argv[1], "--force") == 0)) {
		force = 1;
		first = 2;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: berth context rm [-f] NAME...\n");
		return 1;
	}
	struct berr err = {0};
	char current[CONTEXT_NAME_MAX];
	if (context_current(current, sizeof(current), &err) < 0) {
		return fail("rm", &err);
	}
	int status = 0;
	for (int i = first; i < argc; i++) {
		struct remote r;
		char path[PATH_MAX];
		if (strcmp(argv[i], CONTEXT_DEFAULT) == 0) {
			fprintf(stderr, "berth context rm: '%s' cannot be removed\n", CONTEXT_DEFAULT);
			status = 1;
		} else if (context_host(argv[i], &r, &err) < 0 || context_path(argv[i], path, sizeof(path), &err) < 0) {
			status = fail("rm", &err);
		} else if (strcmp(argv[i], current) == 0 && !force) {
			fprintf(stderr, "berth context rm: '%s' is in use (berth context use another, or -f)\n",
				argv[i]);
			status = 1;
		} else if ((strcmp(argv[i], current) == 0 && set_current(CONTEXT_DEFAULT, &err) < 0)) {
			status = fail("rm", &err);
		} else if (unlink(path) < 0) {
			fprintf(stderr, "berth context rm: %s: %s\n", path, strerror(errno));
			status = 1;
		} else {
			printf("%s\n", argv[i]);
		}
	}
	return status;
}

int context_main(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	if (strcmp(sub, "create") == 0) {
		return cmd_create(argc - 1, argv + 1);
	}
	if ((strcmp(sub, "ls") == 0 || strcmp(sub, "list") == 0) && argc == 2) {
		return cmd_ls();
	}
	if (strcmp(sub, "use") == 0) {
		return cmd_use(argc - 1, argv + 1);
	}
	if (strcmp(sub, "rm") == 0 || strcmp(sub, "remove") == 0) {
		return cmd_rm(argc - 1, argv + 1);
	}
	if (strcmp(sub, "show") == 0 && argc == 2) {
		struct berr err = {0};
		char current[CONTEXT_NAME_MAX];
		if (context_current(current, sizeof(current), &err) < 0) {
			return fail("show", &err);
		}
		printf("%s\n", current);
		return 0;
	}
	fprintf(stderr, CREATE_USAGE "       berth context ls | use NAME | rm [-f] NAME... | show\n");
	return 1;
}
