/* A compose service into an OCI runtime config (see translate.h). Where
 * Docker's behaviour is the reference, the comments say which part of it
 * each rule reproduces, since those are the rules users rely on without
 * knowing it (an image's Cmd vanishing under a compose entrypoint, root's
 * supplementary groups, the variables every container gets). */
#include "compose/translate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <dirent.h>

#include "compose/formats.h"
#include "compose/profile.h"
#include "lib/cleanup.h"
#include "lib/signame.h"

#define ETC_FILE_MAX (4u << 20) /* bytes of /etc/passwd or /etc/group read */
#define DEFAULT_SHM "size=65536k"
#define CPU_PERIOD 100000

struct tx {
	const struct compose_translate_in *in;
	const struct compose_service *s;
	struct compose_runtime *out;
	struct arena *a;
	struct berr *err;
};

__attribute__((format(printf, 2, 3))) static int tfail(struct tx *t, const char *fmt, ...)
{
	char msg[800];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0) {
		msg[0] = '\0';
	}
	va_end(ap);
	return berr_setx(t->err, EINVAL, "services.%s: %s", t->s->name, msg);
}

static int toom(struct tx *t)
{
	return berr_set(t->err, ENOMEM, "services.%s", t->s->name);
}

static char *tdup(struct tx *t, const char *s)
{
	return arena_strdup(t->a, s);
}

__attribute__((format(printf, 2, 3))) static char *tfmt(struct tx *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0) {
		return NULL;
	}
	char *s = arena_alloc(t->a, (size_t)len + 1);
	if (s == NULL) {
		return NULL;
	}
	va_start(ap, fmt);
	if (vsnprintf(s, (size_t)len + 1, fmt, ap) < 0) {
		s[0] = '\0';
	}
	va_end(ap);
	return s;
}

/* ---- capabilities ------------------------------------------------------------------------ */

static uint64_t all_caps(void)
{
	int last = oci_cap_last();
	return last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
}

uint64_t compose_capabilities(const struct compose_service *s)
{
	if (s->privileged) {
		return all_caps();
	}
	/* Docker's order: ALL in cap_add wins over everything but the named
	 * drops; ALL in cap_drop leaves only what cap_add names; otherwise
	 * the defaults lose the drops and gain the adds (a name in both is
	 * added). */
	if (s->cap_add_all) {
		return all_caps() & ~s->cap_drop;
	}
	if (s->cap_drop_all) {
		return s->cap_add & all_caps();
	}
	return ((PROFILE_DEFAULT_CAPS & ~s->cap_drop) | s->cap_add) & all_caps();
}

/* ---- user and groups ------------------------------------------------------------------------ */

/* Reads a small regular file of the rootfs, resolving symlinks as if the
 * rootfs were "/": an image's /etc/passwd -> /../../host/file stays in. A
 * missing file gives *buf NULL. */
static int read_root_file(struct tx *t, int rootfd, const char *rel, char **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd_raw;
	do {
		fd_raw = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	} while (fd_raw < 0 && errno == EAGAIN);
	auto_close int fd = fd_raw;
	if (fd < 0) {
		if (errno == ENOENT) {
			return 0;
		}
		return berr_set(t->err, errno, "services.%s: open /%s in %s", t->s->name, rel, t->in->rootfs);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		return berr_set(t->err, errno, "services.%s: stat /%s", t->s->name, rel);
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > ETC_FILE_MAX) {
		return tfail(t, "the image's /%s is not a regular file of at most %u bytes", rel, ETC_FILE_MAX);
	}
	auto_free char *data = malloc((size_t)st.st_size + 1);
	if (data == NULL) {
		return toom(t);
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return berr_set(t->err, errno, "services.%s: read /%s", t->s->name, rel);
		}
		if (n == 0) {
			break;
		}
		got += (size_t)n;
	}
	data[got] = '\0';
	*buf = take_ptr(&data);
	*len = got;
	return 0;
}

/* Splits one line of a colon-separated file into at most max fields. */
static size_t split_fields(const char *line, size_t len, const char **f, size_t *flen, size_t max)
{
	size_t n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len && n < max; i++) {
		if (i == len || line[i] == ':') {
			f[n] = line + start;
			flen[n] = i - start;
			n++;
			start = i + 1;
		}
	}
	return n;
}

static int field_is(const char *f, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(f, s, len) == 0;
}

struct exec_user {
	uint32_t uid;
	uint32_t gid;
	char *name; /* of the matched passwd entry, NULL if none */
	char *home;
	gid_t *sgids;
	size_t nsgids;
};

/* Calls fn for each line of a file's text with its fields. */
typedef int (*line_fn)(void *ctx, const char **f, const size_t *flen, size_t n);

static int each_line(const char *buf, size_t len, size_t max_fields, line_fn fn, void *ctx)
{
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		const char *line = buf + pos;
		size_t llen = end - pos;
		while (llen > 0 && (line[llen - 1] == '\r' || line[llen - 1] == ' ' || line[llen - 1] == '\t')) {
			llen--;
		}
		while (llen > 0 && (line[0] == ' ' || line[0] == '\t')) {
			line++;
			llen--;
		}
		pos = end + 1;
		if (llen == 0 || line[0] == '#') {
			continue;
		}
		const char *f[7];
		size_t flen[7];
		size_t n = split_fields(line, llen, f, flen, max_fields);
		int ret = fn(ctx, f, flen, n);
		if (ret != 0) {
			return ret;
		}
	}
	return 0;
}

struct pw_match {
	struct tx *t;
	const char *user; /* "" : uid 0 */
	int numeric;
	uint32_t uid_arg;
	struct exec_user *u;
	int found;
};

static int pw_line(void *ctx, const char **f, const size_t *flen, size_t n)
{
	struct pw_match *m = ctx;
	uint32_t uid;
	uint32_t gid;
	if (n < 4 || compose_parse_id(f[2], flen[2], &uid) < 0 || compose_parse_id(f[3], flen[3], &gid) < 0) {
		return 0;
	}
	int match = m->user[0] == '\0' ? uid == 0 : m->numeric ? uid == m->uid_arg : field_is(f[0], flen[0], m->user);
	if (!match) {
		return 0;
	}
	/* The first match wins, as in runc. */
	m->u->uid = uid;
	m->u->gid = gid;
	m->u->name = arena_strndup(m->t->a, f[0], flen[0]);
	if (n >= 6 && flen[5] > 0) {
		m->u->home = arena_strndup(m->t->a, f[5], flen[5]);
	}
	m->found = 1;
	return m->u->name == NULL ? -ENOMEM : 1;
}

struct gr_match {
	const char *group;  /* explicit group, or NULL */
	const char *member; /* user name for supplementary groups */
	uint32_t found_gid;
	int found;
	gid_t *gids;
	size_t ngids;
	size_t cap;
};

static int gr_line(void *ctx, const char **f, const size_t *flen, size_t n)
{
	struct gr_match *m = ctx;
	uint32_t gid;
	if (n < 3 || compose_parse_id(f[2], flen[2], &gid) < 0) {
		return 0;
	}
	if (m->group != NULL) {
		uint32_t want;
		if (field_is(f[0], flen[0], m->group) ||
		    (compose_parse_id(m->group, strlen(m->group), &want) == 0 && want == gid)) {
			m->found_gid = gid;
			m->found = 1;
			return 1;
		}
		return 0;
	}
	if (n < 4) {
		return 0;
	}
	const char *p = f[3];
	size_t left = flen[3];
	while (left > 0) {
		const char *comma = memchr(p, ',', left);
		size_t l = comma ? (size_t)(comma - p) : left;
		if (field_is(p, l, m->member)) {
			for (size_t i = 0; i < m->ngids; i++) {
				if (m->gids[i] == gid) {
					return 0;
				}
			}
			if (m->ngids == m->cap) {
				size_t cap = m->cap ? m->cap * 2 : 8;
				if (cap > NGROUPS_MAX) {
					return 0;
				}
				gid_t *g = realloc(m->gids, cap * sizeof(*g));
				if (g == NULL) {
					return -ENOMEM;
				}
				m->gids = g;
				m->cap = cap;
			}
			m->gids[m->ngids++] = gid;
			return 0;
		}
		if (comma == NULL) {
			break;
		}
		p = comma + 1;
		left -= l + 1;
	}
	return 0;
}

/* runc's rules, which Docker uses: USER and GROUP are names or numbers. A
 * name must exist in the image; a number need not. A user found in
 * /etc/passwd brings its primary group and home; without an explicit
 * GROUP, also the groups of /etc/group that list it (for root too). */
static int resolve_user(struct tx *t, const char *spec, struct exec_user *u)
{
	memset(u, 0, sizeof(*u));
	char user[COMPOSE_USER_MAX];
	const char *group = NULL;
	struct berr e;
	/* The image's USER too: compose checked the service's. */
	if (compose_check_user(spec, &e) < 0) {
		return tfail(t, "%s", e.msg);
	}
	memcpy(user, spec, strlen(spec) + 1);
	char *colon = strchr(user, ':');
	if (colon != NULL) {
		*colon = '\0';
		group = colon[1] ? colon + 1 : NULL;
	}
	struct pw_match pm = {.t = t, .user = user, .u = u};
	pm.numeric = compose_parse_id(user, strlen(user), &pm.uid_arg) == 0;
	auto_close int rootfd = open(t->in->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0 && errno != ENOENT) {
		return berr_set(t->err, errno, "services.%s: open %s", t->s->name, t->in->rootfs);
	}
	auto_free char *passwd = NULL;
	size_t plen = 0;
	if (rootfd >= 0 && read_root_file(t, rootfd, "etc/passwd", &passwd, &plen) < 0) {
		return -EINVAL;
	}
	if (passwd != NULL && each_line(passwd, plen, 7, pw_line, &pm) < 0) {
		return toom(t);
	}
	if (!pm.found) {
		if (user[0] != '\0' && !pm.numeric) {
			return tfail(t, "user '%s' is not in the image's /etc/passwd", user);
		}
		u->uid = pm.numeric ? pm.uid_arg : 0;
		u->gid = 0;
	}
	if (u->home == NULL) {
		u->home = "/";
	}
	if (group == NULL && !pm.found) {
		return 0;
	}
	auto_free char *groupf = NULL;
	size_t glen = 0;
	if (rootfd >= 0 && read_root_file(t, rootfd, "etc/group", &groupf, &glen) < 0) {
		return -EINVAL;
	}
	struct gr_match gm = {.group = group, .member = u->name};
	int ret = groupf != NULL ? each_line(groupf, glen, 4, gr_line, &gm) : 0;
	if (ret < 0) {
		free(gm.gids);
		return toom(t);
	}
	if (group != NULL) {
		free(gm.gids);
		if (gm.found) {
			u->gid = gm.found_gid;
			return 0;
		}
		if (compose_parse_id(group, strlen(group), &u->gid) < 0) {
			return tfail(t, "group '%s' is not in the image's /etc/group", group);
		}
		return 0;
	}
	if (gm.ngids > 0) {
		u->sgids = arena_alloc(t->a, gm.ngids * sizeof(gid_t));
		if (u->sgids == NULL) {
			free(gm.gids);
			return toom(t);
		}
		memcpy(u->sgids, gm.gids, gm.ngids * sizeof(gid_t));
		u->nsgids = gm.ngids;
	}
	free(gm.gids);
	return 0;
}

/* group_add: more supplementary groups, by name (from the image's
 * /etc/group) or number, after the user's own. */
static int add_groups(struct tx *t, struct oci_user *u)
{
	const struct compose_service *s = t->s;
	if (s->ngroup_add == 0) {
		return 0;
	}
	gid_t *all = arena_alloc(t->a, (u->nadditional_gids + s->ngroup_add) * sizeof(gid_t));
	if (all == NULL) {
		return toom(t);
	}
	if (u->nadditional_gids > 0) {
		memcpy(all, u->additional_gids, u->nadditional_gids * sizeof(gid_t));
	}
	auto_close int rootfd = open(t->in->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	auto_free char *groupf = NULL;
	size_t glen = 0;
	if (rootfd >= 0 && read_root_file(t, rootfd, "etc/group", &groupf, &glen) < 0) {
		return -EINVAL;
	}
	size_t n = u->nadditional_gids;
	for (size_t i = 0; i < s->ngroup_add; i++) {
		struct gr_match gm = {.group = s->group_add[i]};
		if (groupf != NULL && each_line(groupf, glen, 4, gr_line, &gm) < 0) {
			return toom(t);
		}
		uint32_t gid = gm.found_gid;
		if (!gm.found && compose_parse_id(s->group_add[i], strlen(s->group_add[i]), &gid) < 0) {
			return tfail(t, "group_add: group '%s' is not in the image's /etc/group", s->group_add[i]);
		}
		int dup = 0;
		for (size_t k = 0; k < n; k++) {
			dup |= all[k] == gid;
		}
		if (!dup) {
			all[n++] = gid;
		}
	}
	u->additional_gids = all;
	u->nadditional_gids = n;
	return 0;
}

/* ---- process ----------------------------------------------------------------------------------- */

static int build_args(struct tx *t, struct oci_process *pr)
{
	const struct compose_service *s = t->s;
	const struct image_config *img = t->in->image;
	/* A compose entrypoint (even an empty one) replaces the image's and
	 * drops its Cmd; a compose command replaces the Cmd. */
	char *const *ep = s->has_entrypoint ? s->entrypoint : img->entrypoint;
	size_t nep = s->has_entrypoint ? s->nentrypoint : img->nentrypoint;
	char *const *cmd = s->has_command ? s->command : s->has_entrypoint ? NULL : img->cmd;
	size_t ncmd = s->has_command ? s->ncommand : s->has_entrypoint ? 0 : img->ncmd;
	if (nep + ncmd == 0) {
		return tfail(t, "no command: the image has no Entrypoint or Cmd and the service gives none");
	}
	pr->args = arena_alloc(t->a, (nep + ncmd + 1) * sizeof(char *));
	if (pr->args == NULL) {
		return toom(t);
	}
	for (size_t i = 0; i < nep + ncmd; i++) {
		pr->args[i] = tdup(t, i < nep ? ep[i] : cmd[i - nep]);
		if (pr->args[i] == NULL) {
			return toom(t);
		}
	}
	pr->nargs = nep + ncmd;
	return 0;
}

struct envlist {
	char **names;
	char **values; /* NULL: unset (removes the name) */
	size_t n;
	size_t cap;
};

static int env_find(const struct envlist *e, const char *name, size_t len)
{
	for (size_t i = 0; i < e->n; i++) {
		if (strlen(e->names[i]) == len && memcmp(e->names[i], name, len) == 0) {
			return (int)i;
		}
	}
	return -1;
}

/* Replaces name's value where it is, or appends it. */
static int env_set(struct tx *t, struct envlist *e, const char *name, size_t len, const char *value)
{
	int i = env_find(e, name, len);
	char *v = value ? tdup(t, value) : NULL;
	if (value != NULL && v == NULL) {
		return toom(t);
	}
	if (i >= 0) {
		e->values[i] = v;
		return 0;
	}
	if (e->n == e->cap) {
		return toom(t);
	}
	e->names[e->n] = arena_strndup(t->a, name, len);
	if (e->names[e->n] == NULL) {
		return toom(t);
	}
	e->values[e->n++] = v;
	return 0;
}

static int build_env(struct tx *t, struct oci_process *pr, const char *hostname, const struct exec_user *u)
{
	const struct compose_service *s = t->s;
	const struct image_config *img = t->in->image;
	size_t cap = img->nenv + s->nenv + 4;
	struct envlist conf = {0};
	struct envlist all = {0};
	conf.names = arena_alloc(t->a, cap * sizeof(char *));
	conf.values = arena_alloc(t->a, cap * sizeof(char *));
	all.names = arena_alloc(t->a, cap * sizeof(char *));
	all.values = arena_alloc(t->a, cap * sizeof(char *));
	if (conf.names == NULL || conf.values == NULL || all.names == NULL || all.values == NULL) {
		return toom(t);
	}
	conf.cap = all.cap = cap;
	/* The image's Env, then env_file and environment (already merged in
	 * that order by the parser): later wins, by name. */
	for (size_t i = 0; i < img->nenv; i++) {
		const char *eq = strchr(img->env[i], '=');
		if (eq != NULL && eq != img->env[i] &&
		    env_set(t, &conf, img->env[i], (size_t)(eq - img->env[i]), eq + 1) < 0) {
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < s->nenv; i++) {
		if (env_set(t, &conf, s->env[i].name, strlen(s->env[i].name), s->env[i].value) < 0) {
			return -ENOMEM;
		}
	}
	/* What Docker's daemon puts first: PATH when the config has none,
	 * HOSTNAME, TERM with a terminal. The config's entries replace them in
	 * place or follow; an unset name removes it. */
	if (env_find(&conf, "PATH", 4) < 0 && env_set(t, &all, "PATH", 4, COMPOSE_DEFAULT_PATH) < 0) {
		return -ENOMEM;
	}
	if (env_set(t, &all, "HOSTNAME", 8, hostname) < 0 || (s->tty && env_set(t, &all, "TERM", 4, "xterm") < 0)) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < conf.n; i++) {
		if (env_set(t, &all, conf.names[i], strlen(conf.names[i]), conf.values[i]) < 0) {
			return -ENOMEM;
		}
	}
	/* runc sets HOME from the user's passwd entry when nothing else does. */
	if (env_find(&all, "HOME", 4) < 0 && env_set(t, &all, "HOME", 4, u->home) < 0) {
		return -ENOMEM;
	}
	pr->env = arena_alloc(t->a, (all.n + 1) * sizeof(char *));
	if (pr->env == NULL) {
		return toom(t);
	}
	for (size_t i = 0; i < all.n; i++) {
		if (all.values[i] == NULL) {
			continue;
		}
		pr->env[pr->nenv] = tfmt(t, "%s=%s", all.names[i], all.values[i]);
		if (pr->env[pr->nenv] == NULL) {
			return toom(t);
		}
		pr->nenv++;
	}
	return 0;
}

static int build_process(struct tx *t, const char *hostname, uint64_t caps)
{
	const struct compose_service *s = t->s;
	const struct image_config *img = t->in->image;
	struct oci_process *pr = &t->out->oci.process;
	t->out->oci.has_process = 1;
	pr->terminal = s->tty;
	const char *cwd = s->working_dir ? s->working_dir : img->working_dir;
	if (cwd == NULL || cwd[0] == '\0') {
		cwd = "/";
	}
	pr->cwd = cwd[0] == '/' ? tdup(t, cwd) : tfmt(t, "/%s", cwd);
	if (pr->cwd == NULL) {
		return toom(t);
	}
	struct exec_user u;
	const char *spec = s->user ? s->user : img->user ? img->user : "";
	if (resolve_user(t, spec, &u) < 0) {
		return -EINVAL;
	}
	pr->user.uid = u.uid;
	pr->user.gid = u.gid;
	pr->user.additional_gids = u.sgids;
	pr->user.nadditional_gids = u.nsgids;
	if (add_groups(t, &pr->user) < 0) {
		return -EINVAL;
	}
	if (build_args(t, pr) < 0 || build_env(t, pr, hostname, &u) < 0) {
		return -EINVAL;
	}
	pr->has_caps = 1;
	pr->caps.bounding = caps;
	pr->caps.effective = caps;
	pr->caps.permitted = caps;
	pr->no_new_privileges = s->privileged ? 0 : PROFILE_NO_NEW_PRIVILEGES;
	if (s->no_new_privileges >= 0) {
		pr->no_new_privileges = s->no_new_privileges; /* security_opt says */
	}
	if (s->has_oom_score_adj) {
		pr->has_oom_score_adj = 1;
		pr->oom_score_adj = s->oom_score_adj;
	}
	if (s->nulimits > 0) {
		pr->rlimits = arena_alloc(t->a, s->nulimits * sizeof(*pr->rlimits));
		if (pr->rlimits == NULL) {
			return toom(t);
		}
		for (size_t i = 0; i < s->nulimits; i++) {
			pr->rlimits[i].resource = s->ulimits[i].resource;
			pr->rlimits[i].soft = s->ulimits[i].soft;
			pr->rlimits[i].hard = s->ulimits[i].hard;
		}
		pr->nrlimits = s->nulimits;
	}
	return 0;
}

/* ---- mounts ------------------------------------------------------------------------------------- */

static int set_options(struct tx *t, struct oci_mount *m, const char *const *opts, size_t n)
{
	m->options = arena_alloc(t->a, (n + 1) * sizeof(char *));
	if (m->options == NULL) {
		return toom(t);
	}
	for (size_t i = 0; i < n; i++) {
		m->options[i] = tdup(t, opts[i]);
		if (m->options[i] == NULL) {
			return toom(t);
		}
	}
	m->noptions = n;
	return 0;
}

static int add_mount(struct tx *t, struct oci_mount *list, size_t *n, const char *dest, const char *type,
		     const char *source, const char *const *opts, size_t nopts)
{
	struct oci_mount *m = &list[(*n)++];
	memset(m, 0, sizeof(*m));
	m->destination = tdup(t, dest);
	m->type = type ? tdup(t, type) : NULL;
	m->source = tdup(t, source);
	if (m->destination == NULL || (type && m->type == NULL) || m->source == NULL) {
		return toom(t);
	}
	return set_options(t, m, opts, nopts);
}

static size_t depth(const char *path)
{
	size_t d = 0;
	for (const char *p = path; *p; p++) {
		d += *p == '/';
	}
	return d;
}

/* The image's volumes that no service mount covers become anonymous
 * volumes (Docker matches the exact path). */
static int anonymous_volumes(struct tx *t)
{
	const struct image_config *img = t->in->image;
	const struct compose_service *s = t->s;
	struct compose_runtime *out = t->out;
	out->anon_volumes = arena_alloc(t->a, (img->nvolumes + 1) * sizeof(char *));
	if (out->anon_volumes == NULL) {
		return toom(t);
	}
	for (size_t i = 0; i < img->nvolumes; i++) {
		const char *v = img->volumes[i];
		if (v == NULL || v[0] == '\0') {
			continue;
		}
		/* Image volume paths are absolute and clean in practice; trailing
		 * slashes are the one variation seen ("/data/"). */
		char *path = v[0] == '/' ? tdup(t, v) : tfmt(t, "/%s", v);
		if (path == NULL) {
			return toom(t);
		}
		size_t len = strlen(path);
		while (len > 1 && path[len - 1] == '/') {
			path[--len] = '\0';
		}
		int covered = strcmp(path, "/") == 0;
		for (size_t k = 0; !covered && k < s->nmounts; k++) {
			covered = strcmp(s->mounts[k].target, path) == 0;
		}
		for (size_t k = 0; !covered && k < out->nanon_volumes; k++) {
			covered = strcmp(out->anon_volumes[k], path) == 0;
		}
		if (!covered) {
			out->anon_volumes[out->nanon_volumes++] = path;
		}
	}
	return 0;
}

static int volume_source(struct tx *t, const struct compose_mount *m, char **out)
{
	const char *host = NULL;
	if (t->in->volume_path == NULL) {
		return tfail(t, "no volume resolver given for %s", m->target);
	}
	int ret = t->in->volume_path(t->in->volume_ctx, t->s, m, &host, t->err);
	if (ret < 0) {
		return ret;
	}
	if (host == NULL || host[0] != '/') {
		return tfail(t, "volume for %s: the host path must be absolute", m->target);
	}
	*out = tdup(t, host);
	return *out ? 0 : toom(t);
}

/* One mount for a service's volume, tmpfs or anonymous volume. */
static int user_mount(struct tx *t, const struct compose_mount *m, struct oci_mount *om)
{
	memset(om, 0, sizeof(*om));
	om->destination = tdup(t, m->target);
	if (om->destination == NULL) {
		return toom(t);
	}
	if (m->type == COMPOSE_MOUNT_TMPFS) {
		/* Docker's tmpfs defaults; the service's options come after, so
		 * that "exec" undoes "noexec". */
		const char *opts[32];
		size_t n = 0;
		char *size = NULL;
		char *mode = NULL;
		opts[n++] = "noexec";
		opts[n++] = "nosuid";
		opts[n++] = "nodev";
		opts[n++] = "rprivate";
		if (m->read_only) {
			opts[n++] = "ro";
		}
		if (m->has_tmpfs_size) {
			size = tfmt(t, "size=%llu", (unsigned long long)m->tmpfs_size);
			opts[n++] = size;
		}
		if (m->has_tmpfs_mode) {
			mode = tfmt(t, "mode=%o", m->tmpfs_mode);
			opts[n++] = mode;
		}
		if ((m->has_tmpfs_size && size == NULL) || (m->has_tmpfs_mode && mode == NULL)) {
			return toom(t);
		}
		size_t total = n + m->ntmpfs_options;
		om->options = arena_alloc(t->a, (total + 1) * sizeof(char *));
		om->type = tdup(t, "tmpfs");
		om->source = tdup(t, "tmpfs");
		if (om->options == NULL || om->type == NULL || om->source == NULL) {
			return toom(t);
		}
		for (size_t i = 0; i < total; i++) {
			om->options[i] = tdup(t, i < n ? opts[i] : m->tmpfs_options[i - n]);
			if (om->options[i] == NULL) {
				return toom(t);
			}
		}
		om->noptions = total;
		return 0;
	}
	int ret = volume_source(t, m, &om->source);
	if (ret < 0) {
		return ret;
	}
	om->type = tdup(t, "bind");
	/* bind.recursive: disabled leaves the source's submounts out. */
	const char *opts[] = {m->non_recursive ? "bind" : "rbind", m->read_only ? "ro" : "rw",
			      m->propagation ? m->propagation : "rprivate"};
	if (om->type == NULL) {
		return toom(t);
	}
	return set_options(t, om, opts, 3);
}

static int taken(const struct oci_mount *list, size_t n, const char *dest)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].destination, dest) == 0) {
			return 1;
		}
	}
	return 0;
}

/* The service's mounts and the image's anonymous volumes, parents before
 * children (/data before /data/cache), otherwise in order. */
static int user_mounts(struct tx *t, struct oci_mount *user, size_t nuser)
{
	const struct compose_service *s = t->s;
	for (size_t i = 0; i < s->nmounts; i++) {
		int ret = user_mount(t, &s->mounts[i], &user[i]);
		if (ret < 0) {
			return ret;
		}
	}
	for (size_t i = 0; i < t->out->nanon_volumes; i++) {
		struct compose_mount anon = {.type = COMPOSE_MOUNT_VOLUME, .target = t->out->anon_volumes[i]};
		int ret = user_mount(t, &anon, &user[s->nmounts + i]);
		if (ret < 0) {
			return ret;
		}
	}
	for (size_t i = 1; i < nuser; i++) {
		struct oci_mount m = user[i];
		size_t j = i;
		while (j > 0 && depth(user[j - 1].destination) > depth(m.destination)) {
			user[j] = user[j - 1];
			j--;
		}
		user[j] = m;
	}
	return 0;
}

/* Docker's default mounts; a service mount on a default's path replaces
 * it, as in Docker. */
static int default_mounts(struct tx *t, const struct oci_mount *user, size_t nuser, struct oci_mount *all, size_t *n)
{
	const struct compose_service *s = t->s;
	int priv = s->privileged;
	char *shm = s->shm_size > 0 ? tfmt(t, "size=%lld", (long long)s->shm_size) : tdup(t, DEFAULT_SHM);
	if (shm == NULL) {
		return toom(t);
	}
	const char *proc[] = {"nosuid", "noexec", "nodev"};
	const char *dev[] = {"nosuid", "strictatime", "mode=755", "size=65536k"};
	const char *pts[] = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"};
	const char *shmo[] = {"nosuid", "noexec", "nodev", "mode=1777", shm};
	const char *mq[] = {"nosuid", "noexec", "nodev"};
	/* privileged: sysfs and the cgroup tree writable, as in Docker. */
	const char *sys[] = {"nosuid", "noexec", "nodev", priv ? "rw" : "ro"};
	const char *cg[] = {"nosuid", "noexec", "nodev", "relatime", priv ? "rw" : "ro"};
	const struct {
		const char *dest;
		const char *type;
		const char *source;
		const char *const *opts;
		size_t n;
	} defaults[] = {
		{"/proc", "proc", "proc", proc, 3},
		{"/dev", "tmpfs", "tmpfs", dev, 4},
		{"/dev/pts", "devpts", "devpts", pts, 6},
		{"/dev/shm", "tmpfs", "shm", shmo, 5},
		{"/dev/mqueue", "mqueue", "mqueue", mq, 3},
		{"/sys", "sysfs", "sysfs", sys, 4},
		{"/sys/fs/cgroup", "cgroup2", "cgroup", cg, 5},
	};
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		if (!taken(user, nuser, defaults[i].dest) &&
		    add_mount(t, all, n, defaults[i].dest, defaults[i].type, defaults[i].source, defaults[i].opts,
			      defaults[i].n) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* The files berthd writes for the container, bound read-only over the
 * image's, but where a service mount takes the path. */
static int etc_files(struct tx *t, const struct oci_mount *user, size_t nuser, struct oci_mount *all, size_t *n)
{
	const char *etc_opts[] = {"rbind", "ro", "nosuid", "nodev", "noexec", "rprivate"};
	const struct {
		const char *dest;
		const char *source;
	} files[] = {
		{"/etc/hostname", t->in->hostname_file},
		{"/etc/hosts", t->in->hosts_file},
		{"/etc/resolv.conf", t->in->resolv_file},
	};
	for (size_t i = 0; i < 3; i++) {
		if (files[i].source == NULL || taken(user, nuser, files[i].dest)) {
			continue;
		}
		if (files[i].source[0] != '/') {
			return tfail(t, "the file for %s must be an absolute path", files[i].dest);
		}
		if (add_mount(t, all, n, files[i].dest, "bind", files[i].source, etc_opts, 6) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* Secrets and configs: file i of the service is files_dir/i, which berthd
 * wrote with its owner and mode; bound read-only after the volumes, so
 * that one may land inside a volume, as in Docker. */
static int secret_files(struct tx *t, struct oci_mount *all, size_t *n)
{
	const struct compose_service *s = t->s;
	const char *opts[] = {"rbind", "ro", "nosuid", "nodev", "noexec", "rprivate"};
	if (s->nfiles > 0 && (t->in->files_dir == NULL || t->in->files_dir[0] != '/')) {
		return tfail(t, "secrets and configs need the directory berthd wrote them in");
	}
	for (size_t i = 0; i < s->nfiles; i++) {
		char *src = tfmt(t, "%s/%zu", t->in->files_dir, i);
		if (src == NULL || add_mount(t, all, n, s->files[i].target, "bind", src, opts, 6) < 0) {
			return toom(t);
		}
	}
	return 0;
}

static int build_mounts(struct tx *t)
{
	struct compose_runtime *out = t->out;
	size_t nuser = t->s->nmounts + out->nanon_volumes;
	struct oci_mount *user = arena_alloc(t->a, (nuser + 1) * sizeof(*user));
	struct oci_mount *all = arena_alloc(t->a, (nuser + t->s->nfiles + 11) * sizeof(*all));
	if (user == NULL || all == NULL) {
		return toom(t);
	}
	size_t n = 0;
	int ret = user_mounts(t, user, nuser);
	if (ret == 0) {
		ret = default_mounts(t, user, nuser, all, &n);
	}
	if (ret < 0) {
		return ret;
	}
	for (size_t i = 0; i < nuser; i++) {
		all[n++] = user[i];
	}
	ret = secret_files(t, all, &n);
	if (ret == 0) {
		ret = etc_files(t, user, nuser, all, &n);
	}
	if (ret < 0) {
		return ret;
	}
	out->oci.mounts = all;
	out->oci.nmounts = n;
	return 0;
}

/* ---- linux ------------------------------------------------------------------------------------------ */

/* The type and numbers of host device node path. */
static int device_node(struct tx *t, const char *path, char *type, int64_t *major, int64_t *minor, uint32_t *mode)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		return berr_set(t->err, errno, "services.%s: device %s", t->s->name, path);
	}
	if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
		return tfail(t, "%s is not a device node", path);
	}
	*type = S_ISCHR(st.st_mode) ? 'c' : 'b';
	*major = major(st.st_rdev);
	*minor = minor(st.st_rdev);
	*mode = st.st_mode & 07777;
	return 0;
}

static int add_rule(struct tx *t, struct oci_resources *r, char type, int64_t major, int64_t minor, const char *access)
{
	struct oci_device_rule *rules = arena_alloc(t->a, (r->ndevices + 1) * sizeof(*rules));
	if (rules == NULL) {
		return toom(t);
	}
	if (r->ndevices > 0) {
		memcpy(rules, r->devices, r->ndevices * sizeof(*rules));
	}
	rules[r->ndevices] = (struct oci_device_rule){.allow = 1, .type = type, .major = major, .minor = minor};
	snprintf(rules[r->ndevices].access, sizeof(rules[r->ndevices].access), "%s", access);
	r->devices = rules;
	r->ndevices++;
	return 0;
}

static int add_device(struct tx *t, const char *source, const char *target, const char *perms)
{
	struct oci_linux *l = &t->out->oci.linux_;
	struct oci_device d = {0};
	if (device_node(t, source, &d.type, &d.major, &d.minor, &d.file_mode) < 0) {
		return -EINVAL;
	}
	d.has_file_mode = 1;
	d.has_uid = 1;
	d.has_gid = 1;
	d.path = tdup(t, target);
	/* What the permissions leave out of read and write is denied (the
	 * runtime allows a node it creates otherwise). mknod stays allowed:
	 * the runtime makes the node inside the container's cgroup, and a
	 * node made again opens no more than the rules say. */
	char denied[4] = "";
	size_t nd = 0;
	for (const char *p = "rw"; *p; p++) {
		if (strchr(perms, *p) == NULL) {
			denied[nd++] = *p;
		}
	}
	if (nd > 0 && add_rule(t, &l->resources, d.type, d.major, d.minor, denied) < 0) {
		return -ENOMEM;
	}
	if (nd > 0) {
		l->resources.devices[l->resources.ndevices - 1].allow = 0;
	}
	struct oci_device *all = arena_alloc(t->a, (l->ndevices + 1) * sizeof(*all));
	if (d.path == NULL || all == NULL) {
		return toom(t);
	}
	if (l->ndevices > 0) {
		memcpy(all, l->devices, l->ndevices * sizeof(*all));
	}
	all[l->ndevices++] = d;
	l->devices = all;
	char allowed[4];
	snprintf(allowed, sizeof(allowed), "%s%s", perms, strchr(perms, 'm') != NULL ? "" : "m");
	return add_rule(t, &l->resources, d.type, d.major, d.minor, allowed);
}

/* devices: each node, or each node of a directory (/dev/snd), created in
 * the container and allowed by the device cgroup; device_cgroup_rules:
 * more that are allowed (nodes made later, by mknod). */
static int build_devices(struct tx *t)
{
	const struct compose_service *s = t->s;
	for (size_t i = 0; i < s->ndevices; i++) {
		const struct compose_device *d = &s->devices[i];
		const char *target = d->target ? d->target : d->source;
		struct stat st;
		if (stat(d->source, &st) == 0 && S_ISDIR(st.st_mode)) {
			auto_closedir DIR *dir = opendir(d->source);
			struct dirent *e;
			while (dir != NULL && (e = readdir(dir)) != NULL) {
				char *src = tfmt(t, "%s/%s", d->source, e->d_name);
				char *dst = tfmt(t, "%s/%s", target, e->d_name);
				struct stat est;
				if (src == NULL || dst == NULL) {
					return toom(t);
				}
				if (lstat(src, &est) == 0 && (S_ISCHR(est.st_mode) || S_ISBLK(est.st_mode)) &&
				    add_device(t, src, dst, d->perms) < 0) {
					return -EINVAL;
				}
			}
			continue;
		}
		if (add_device(t, d->source, target, d->perms) < 0) {
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < s->ndevrules; i++) {
		const struct compose_devrule *d = &s->devrules[i];
		if (add_rule(t, &t->out->oci.linux_.resources, d->type, d->major, d->minor, d->access) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

/* One blkio_config list of devices into OCI's, by device number. */
static int blkio_list(struct tx *t, const struct compose_blkio_dev *in, size_t n, struct oci_throttle_device **out,
		      size_t *nout)
{
	if (n == 0) {
		return 0;
	}
	*out = arena_alloc(t->a, n * sizeof(**out));
	if (*out == NULL) {
		return toom(t);
	}
	for (size_t i = 0; i < n; i++) {
		char type;
		uint32_t mode;
		if (device_node(t, in[i].path, &type, &(*out)[i].major, &(*out)[i].minor, &mode) < 0) {
			return -EINVAL;
		}
		if (type != 'b') {
			return tfail(t, "blkio_config: %s is not a block device", in[i].path);
		}
		(*out)[i].rate = in[i].value;
	}
	*nout = n;
	return 0;
}

static int build_blkio(struct tx *t, struct oci_resources *r)
{
	const struct compose_blkio *b = &t->s->blkio;
	if (b->weight > 0) {
		r->has_blkio_weight = 1;
		r->blkio_weight = (uint16_t)b->weight;
	}
	if (b->nweight_device > 0) {
		r->weight_devices = arena_alloc(t->a, b->nweight_device * sizeof(*r->weight_devices));
		if (r->weight_devices == NULL) {
			return toom(t);
		}
		for (size_t i = 0; i < b->nweight_device; i++) {
			struct oci_weight_device *w = &r->weight_devices[i];
			char type;
			uint32_t mode;
			if (device_node(t, b->weight_device[i].path, &type, &w->major, &w->minor, &mode) < 0) {
				return -EINVAL;
			}
			w->has_weight = 1;
			w->weight = (uint16_t)b->weight_device[i].value;
		}
		r->nweight_devices = b->nweight_device;
	}
	if (blkio_list(t, b->read_bps, b->nread_bps, &r->throttle_read_bps, &r->nthrottle_read_bps) < 0 ||
	    blkio_list(t, b->write_bps, b->nwrite_bps, &r->throttle_write_bps, &r->nthrottle_write_bps) < 0 ||
	    blkio_list(t, b->read_iops, b->nread_iops, &r->throttle_read_iops, &r->nthrottle_read_iops) < 0 ||
	    blkio_list(t, b->write_iops, b->nwrite_iops, &r->throttle_write_iops, &r->nthrottle_write_iops) < 0) {
		return -EINVAL;
	}
	return 0;
}

/* CPU time beyond cpus: cpu_quota and cpu_period as given; cpu_count
 * CPUs' worth, cpu_percent of all the host's CPUs; cpu_shares (or a CPU
 * reservation, as shares of 1024 a CPU) as cpu.weight; cpuset. */
static int build_cpu(struct tx *t, struct oci_resources *r)
{
	const struct compose_service *s = t->s;
	uint64_t period = s->cpu_period ? s->cpu_period : CPU_PERIOD;
	if (s->cpu_quota != 0 || s->cpu_period != 0) {
		r->has_cpu_period = 1;
		r->cpu_period = period;
		if (s->cpu_quota != 0) {
			r->has_cpu_quota = 1;
			r->cpu_quota = s->cpu_quota;
		}
	}
	if (s->cpu_count > 0 || s->cpu_percent > 0) {
		long online = sysconf(_SC_NPROCESSORS_ONLN);
		int64_t quota = s->cpu_count > 0
					? (int64_t)s->cpu_count * (int64_t)period
					: (int64_t)(online > 0 ? online : 1) * (int64_t)period * s->cpu_percent / 100;
		r->has_cpu_period = 1;
		r->cpu_period = period;
		r->has_cpu_quota = 1;
		r->cpu_quota = quota < 1000 ? 1000 : quota;
	}
	if (s->cpu_shares > 0) {
		r->has_cpu_shares = 1;
		r->cpu_shares = s->cpu_shares;
	} else if (s->cpus_reservation > 0) {
		r->has_cpu_shares = 1;
		r->cpu_shares = (uint64_t)(s->cpus_reservation * 1024 + 0.5);
		r->cpu_shares = r->cpu_shares < 2 ? 2 : r->cpu_shares;
	}
	if (s->cpuset != NULL && (r->cpuset_cpus = tdup(t, s->cpuset)) == NULL) {
		return toom(t);
	}
	if (s->mem_reservation > 0) {
		r->has_memory_reservation = 1;
		r->memory_reservation = s->mem_reservation;
	}
	return 0;
}

/* Whether the container gets namespace type of its own: pid, ipc, uts
 * and cgroup may be the host's. */
static int own_namespace(const struct compose_service *s, enum oci_ns_type type)
{
	switch (type) {
	case OCI_NS_PID:
		return s->pid.mode != COMPOSE_NS_HOST;
	case OCI_NS_IPC:
		return s->ipc.mode != COMPOSE_NS_HOST;
	case OCI_NS_UTS:
		return !s->uts_host;
	case OCI_NS_CGROUP:
		return !s->cgroup_host;
	default:
		return 1;
	}
}

static int build_linux(struct tx *t, uint64_t caps)
{
	const struct compose_service *s = t->s;
	struct oci_linux *l = &t->out->oci.linux_;
	static const struct {
		enum oci_ns_type type;
		int flag;
	} ns[] = {
		{OCI_NS_PID, CLONE_NEWPID}, {OCI_NS_NET, CLONE_NEWNET},	 {OCI_NS_IPC, CLONE_NEWIPC},
		{OCI_NS_UTS, CLONE_NEWUTS}, {OCI_NS_MOUNT, CLONE_NEWNS}, {OCI_NS_CGROUP, CLONE_NEWCGROUP},
	};
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		struct oci_namespace *n = &l->namespaces[l->nnamespaces];
		if (!own_namespace(s, ns[i].type)) {
			continue;
		}
		if (ns[i].type == OCI_NS_NET) {
			if (s->network_mode == COMPOSE_NET_HOST) {
				continue;
			}
			if (s->network_mode == COMPOSE_NET_SERVICE || s->network_mode == COMPOSE_NET_CONTAINER) {
				if (t->in->netns_path == NULL || t->in->netns_path[0] != '/') {
					return tfail(t, "network_mode %s:%s needs the path of that network namespace",
						     s->network_mode == COMPOSE_NET_SERVICE ? "service" : "container",
						     s->network_mode_target);
				}
				n->path = tdup(t, t->in->netns_path);
				if (n->path == NULL) {
					return toom(t);
				}
			}
		}
		n->type = ns[i].type;
		n->clone_flag = ns[i].flag;
		l->nnamespaces++;
	}
	if (t->in->cgroups_path != NULL && (l->cgroups_path = tdup(t, t->in->cgroups_path)) == NULL) {
		return toom(t);
	}
	struct oci_resources *r = &l->resources;
	l->has_resources = 1;
	r->devices = arena_alloc(t->a, sizeof(*r->devices));
	if (r->devices == NULL) {
		return toom(t);
	}
	/* Deny everything; berth-oci then allows the standard nodes. */
	r->devices[0] = (struct oci_device_rule){.allow = s->privileged, .type = 'a', .major = -1, .minor = -1};
	memcpy(r->devices[0].access, "rwm", 4);
	r->ndevices = 1;
	if (s->mem_limit > 0) {
		r->has_memory_limit = 1;
		r->memory_limit = s->mem_limit;
		r->has_memory_swap = 1;
		/* memswap_limit counts memory plus swap. Without it Docker
		 * allows as much swap as memory. */
		if (s->memswap_limit != 0) {
			r->memory_swap = s->memswap_limit;
		} else {
			r->memory_swap = s->mem_limit > INT64_MAX / 2 ? -1 : s->mem_limit * 2;
		}
	}
	if (s->cpus > 0) {
		r->has_cpu_quota = 1;
		r->cpu_quota = (int64_t)(s->cpus * CPU_PERIOD + 0.5);
		r->has_cpu_period = 1;
		r->cpu_period = CPU_PERIOD;
	}
	r->has_pids_limit = 1;
	r->pids_limit = !s->has_pids_limit ? PROFILE_PIDS_LIMIT : s->pids_limit <= 0 ? -1 : s->pids_limit;
	if (build_cpu(t, r) < 0 || build_blkio(t, r) < 0 || build_devices(t) < 0) {
		return -EINVAL;
	}
	if (s->nsysctls > 0) {
		l->sysctl = arena_alloc(t->a, s->nsysctls * sizeof(*l->sysctl));
		if (l->sysctl == NULL) {
			return toom(t);
		}
		for (size_t i = 0; i < s->nsysctls; i++) {
			l->sysctl[i].key = tdup(t, s->sysctls[i].key);
			l->sysctl[i].value = tdup(t, s->sysctls[i].value);
			if (l->sysctl[i].key == NULL || l->sysctl[i].value == NULL) {
				return toom(t);
			}
		}
		l->nsysctl = s->nsysctls;
	}
	if (!s->privileged) {
		if (profile_paths(t->a, l, t->err) < 0 || profile_seccomp(t->a, caps, &l->seccomp, t->err) < 0) {
			return -ENOMEM;
		}
		/* security_opt: seccomp=unconfined, systempaths=unconfined */
		if (s->seccomp_unconfined) {
			l->seccomp = NULL;
		}
		if (s->systempaths_unconfined) {
			l->nmasked_paths = 0;
			l->nreadonly_paths = 0;
		}
	}
	return 0;
}

static int add_annotation(struct tx *t, const char *key, const char *value)
{
	struct oci_config *c = &t->out->oci;
	for (size_t i = 0; i < c->nannotations; i++) {
		if (strcmp(c->annotations[i].key, key) == 0) {
			c->annotations[i].value = tdup(t, value);
			return c->annotations[i].value ? 0 : toom(t);
		}
	}
	c->annotations[c->nannotations].key = tdup(t, key);
	c->annotations[c->nannotations].value = tdup(t, value);
	if (c->annotations[c->nannotations].key == NULL || c->annotations[c->nannotations].value == NULL) {
		return toom(t);
	}
	c->nannotations++;
	return 0;
}

/* Image labels, then the service's (Docker merges them so), then the
 * names Compose labels its containers with. */
static int build_annotations(struct tx *t)
{
	const struct image_config *img = t->in->image;
	const struct compose_service *s = t->s;
	size_t cap = img->nlabels + s->nlabels + s->nannotations + 2;
	t->out->oci.annotations = arena_alloc(t->a, cap * sizeof(struct oci_kv));
	if (t->out->oci.annotations == NULL) {
		return toom(t);
	}
	for (size_t i = 0; i < img->nlabels; i++) {
		if (add_annotation(t, img->label_keys[i], img->label_values[i]) < 0) {
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < s->nlabels; i++) {
		if (add_annotation(t, s->labels[i].key, s->labels[i].value) < 0) {
			return -ENOMEM;
		}
	}
	/* annotations: the OCI config's own, as Docker passes them */
	for (size_t i = 0; i < s->nannotations; i++) {
		if (add_annotation(t, s->annotations[i].key, s->annotations[i].value ? s->annotations[i].value : "") <
		    0) {
			return -ENOMEM;
		}
	}
	if (add_annotation(t, "com.docker.compose.project", t->in->project->name) < 0 ||
	    add_annotation(t, "com.docker.compose.service", s->name) < 0) {
		return -ENOMEM;
	}
	return 0;
}

static int effective_healthcheck(struct tx *t)
{
	const struct image_config *img = t->in->image;
	const struct compose_service *s = t->s;
	struct compose_healthcheck *h = &t->out->healthcheck;
	memset(h, 0, sizeof(*h));
	if (img->has_healthcheck) {
		h->test = img->healthcheck.test;
		h->ntest = img->healthcheck.ntest;
		h->interval_ns = img->healthcheck.interval_ns;
		h->timeout_ns = img->healthcheck.timeout_ns;
		h->start_period_ns = img->healthcheck.start_period_ns;
		h->retries = img->healthcheck.retries;
	}
	if (s->has_healthcheck) {
		/* Field by field: what the service leaves out, the image gives. */
		const struct compose_healthcheck *c = &s->healthcheck;
		if (c->test != NULL) {
			h->test = c->test;
			h->ntest = c->ntest;
		}
		h->interval_ns = c->interval_ns ? c->interval_ns : h->interval_ns;
		h->timeout_ns = c->timeout_ns ? c->timeout_ns : h->timeout_ns;
		h->start_period_ns = c->start_period_ns ? c->start_period_ns : h->start_period_ns;
		h->start_interval_ns = c->start_interval_ns;
		h->retries = c->retries ? c->retries : h->retries;
	}
	if (h->test == NULL || h->ntest == 0 || strcmp(h->test[0], "NONE") == 0 || s->healthcheck_disabled) {
		memset(h, 0, sizeof(*h));
		t->out->has_healthcheck = 0;
		return 0;
	}
	char **test = arena_alloc(t->a, (h->ntest + 1) * sizeof(char *));
	if (test == NULL) {
		return toom(t);
	}
	for (size_t i = 0; i < h->ntest; i++) {
		test[i] = tdup(t, h->test[i]);
		if (test[i] == NULL) {
			return toom(t);
		}
	}
	h->test = test;
	h->interval_ns = h->interval_ns ? h->interval_ns : COMPOSE_HEALTH_INTERVAL_NS;
	h->timeout_ns = h->timeout_ns ? h->timeout_ns : COMPOSE_HEALTH_TIMEOUT_NS;
	h->start_interval_ns = h->start_interval_ns ? h->start_interval_ns : COMPOSE_HEALTH_START_INTERVAL_NS;
	h->retries = h->retries ? h->retries : COMPOSE_HEALTH_RETRIES;
	t->out->has_healthcheck = 1;
	return 0;
}

int compose_translate(const struct compose_translate_in *in, struct compose_runtime *out, struct berr *err)
{
	memset(out, 0, sizeof(*out));
	const struct compose_service *s = in->service;
	if (s == NULL) {
		return berr_setx(err, EINVAL, "compose: no service to translate");
	}
	struct tx t = {.in = in, .s = s, .out = out, .a = &out->oci.arena, .err = err};
	int ret = -EINVAL;
	if (!s->valid) {
		ret = tfail(&t, "its definition has errors");
		goto fail;
	}
	if (in->rootfs == NULL || in->image == NULL || in->project == NULL) {
		ret = tfail(&t, "no image or root filesystem given");
		goto fail;
	}
	const char *hostname = s->hostname ? s->hostname : in->hostname ? in->hostname : s->name;
	struct oci_config *c = &out->oci;
	c->oci_version = tdup(&t, "1.2.0");
	c->root_path = tdup(&t, in->rootfs);
	c->root_readonly = s->read_only;
	/* uts: host: the host's name, which a container may not set */
	c->hostname = s->uts_host ? NULL : tdup(&t, hostname);
	if (c->oci_version == NULL || c->root_path == NULL || (c->hostname == NULL && !s->uts_host) ||
	    (s->domainname && (c->domainname = tdup(&t, s->domainname)) == NULL)) {
		ret = toom(&t);
		goto fail;
	}
	out->stop_signal = SIGTERM;
	if (s->stop_signal) {
		out->stop_signal = s->stop_signal;
	} else if (in->image->stop_signal != NULL && in->image->stop_signal[0] != '\0' &&
		   signal_parse(in->image->stop_signal, &out->stop_signal) < 0) {
		ret = tfail(&t, "the image's StopSignal '%.40s' is not a signal", in->image->stop_signal);
		goto fail;
	}
	out->stop_grace_ns = s->stop_grace_ns >= 0 ? s->stop_grace_ns : COMPOSE_STOP_GRACE_NS;
	uint64_t caps = compose_capabilities(s);
	if ((ret = build_process(&t, hostname, caps)) < 0 || (ret = anonymous_volumes(&t)) < 0 ||
	    (ret = build_mounts(&t)) < 0 || (ret = build_linux(&t, caps)) < 0 || (ret = build_annotations(&t)) < 0 ||
	    (ret = effective_healthcheck(&t)) < 0) {
		goto fail;
	}
	return 0;
fail:
	compose_runtime_free(out);
	return ret < 0 ? ret : -EINVAL;
}

void compose_runtime_free(struct compose_runtime *rt)
{
	oci_config_free(&rt->oci);
	memset(rt, 0, sizeof(*rt));
}
