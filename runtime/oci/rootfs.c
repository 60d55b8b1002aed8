/* The container's root filesystem (see rootfs.h). Bind mounts use the new
 * mount API (open_tree, mount_setattr, move_mount) so that a mount is
 * configured before it becomes visible and attached by fd; filesystems
 * are mounted onto /proc/self/fd/N of a target resolved inside the root. */
#include "oci/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "oci/paths.h"

/* ---- the new mount API, by raw syscall (musl 1.2.3 has no wrappers) ---- */

static int sys_open_tree(int dfd, const char *path, unsigned flags)
{
	return (int)syscall(SYS_open_tree, dfd, path, flags);
}

static int sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned flags)
{
	return (int)syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}

static int sys_mount_setattr(int dfd, const char *path, unsigned flags, struct mount_attr *attr)
{
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof(*attr));
}

/* A detached mount of a new filesystem (fsopen/fsconfig/fsmount): needs
 * no path at all, so it works before /proc exists in the container. */
static int new_fs_mount(const char *type, const char *const *opts, unsigned attrs)
{
	auto_close int fs = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);
	if (fs < 0) {
		return -errno;
	}
	for (size_t i = 0; opts && opts[i]; i += 2) {
		if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, opts[i], opts[i + 1], 0) < 0) {
			return -errno;
		}
	}
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		return -errno;
	}
	int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attrs);
	return mnt < 0 ? -errno : mnt;
}

/* ---- mount options ------------------------------------------------------------- */

struct mount_opts {
	unsigned long flags; /* MS_* for mount(2) */
	uint64_t attr_set;   /* MOUNT_ATTR_* for binds */
	uint64_t attr_clr;
	unsigned long propagation; /* MS_PRIVATE... */
	int bind;
	int recursive;	  /* rbind */
	int recursive_ro; /* rro */
	int idmap;
	char data[1024]; /* options passed to the filesystem */
};

static const struct {
	const char *name;
	unsigned long set;   /* MS_ flag to set */
	unsigned long clear; /* MS_ flag to clear */
	uint64_t attr_set;
	uint64_t attr_clr;
} flag_options[] = {
	{"ro", MS_RDONLY, 0, MOUNT_ATTR_RDONLY, 0},
	{"rw", 0, MS_RDONLY, 0, MOUNT_ATTR_RDONLY},
	{"nosuid", MS_NOSUID, 0, MOUNT_ATTR_NOSUID, 0},
	{"suid", 0, MS_NOSUID, 0, MOUNT_ATTR_NOSUID},
	{"nodev", MS_NODEV, 0, MOUNT_ATTR_NODEV, 0},
	{"dev", 0, MS_NODEV, 0, MOUNT_ATTR_NODEV},
	{"noexec", MS_NOEXEC, 0, MOUNT_ATTR_NOEXEC, 0},
	{"exec", 0, MS_NOEXEC, 0, MOUNT_ATTR_NOEXEC},
	{"sync", MS_SYNCHRONOUS, 0, 0, 0},
	{"async", 0, MS_SYNCHRONOUS, 0, 0},
	{"dirsync", MS_DIRSYNC, 0, 0, 0},
	{"mand", MS_MANDLOCK, 0, 0, 0},
	{"nomand", 0, MS_MANDLOCK, 0, 0},
	{"noatime", MS_NOATIME, 0, 0, 0},
	{"atime", 0, MS_NOATIME, 0, 0},
	{"nodiratime", MS_NODIRATIME, 0, MOUNT_ATTR_NODIRATIME, 0},
	{"diratime", 0, MS_NODIRATIME, 0, MOUNT_ATTR_NODIRATIME},
	{"relatime", MS_RELATIME, 0, 0, 0},
	{"norelatime", 0, MS_RELATIME, 0, 0},
	{"strictatime", MS_STRICTATIME, 0, 0, 0},
	{"nostrictatime", 0, MS_STRICTATIME, 0, 0},
	{"remount", MS_REMOUNT, 0, 0, 0},
	{"silent", MS_SILENT, 0, 0, 0},
	{"loud", 0, MS_SILENT, 0, 0},
};

/* The atime options choose one mode, not independent bits. */
static int atime_mode(const char *opt, uint64_t *mode)
{
	static const struct {
		const char *name;
		uint64_t mode;
	} modes[] = {
		{"noatime", MOUNT_ATTR_NOATIME},	 {"atime", MOUNT_ATTR_RELATIME},
		{"relatime", MOUNT_ATTR_RELATIME},	 {"norelatime", MOUNT_ATTR_STRICTATIME},
		{"strictatime", MOUNT_ATTR_STRICTATIME}, {"nostrictatime", MOUNT_ATTR_RELATIME},
	};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(opt, modes[i].name) == 0) {
			*mode = modes[i].mode;
			return 1;
		}
	}
	return 0;
}

static int parse_options(const struct oci_mount *m, size_t index, struct mount_opts *o, struct berr *err)
{
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < m->noptions; i++) {
		const char *opt = m->options[i];
		int done = 0;
		uint64_t mode;
		if (atime_mode(opt, &mode)) {
			o->attr_set = (o->attr_set & ~(uint64_t)MOUNT_ATTR__ATIME) | mode;
			o->attr_clr |= MOUNT_ATTR__ATIME;
		}
		for (size_t k = 0; !done && k < sizeof(flag_options) / sizeof(flag_options[0]); k++) {
			if (strcmp(opt, flag_options[k].name) == 0) {
				o->flags = (o->flags | flag_options[k].set) & ~flag_options[k].clear;
				o->attr_set = (o->attr_set | flag_options[k].attr_set) & ~flag_options[k].attr_clr;
				o->attr_clr = (o->attr_clr | flag_options[k].attr_clr) & ~flag_options[k].attr_set;
				done = 1;
			}
		}
		unsigned long propagation = done ? 0 : oci_propagation_from_name(opt);
		if (propagation != 0) {
			o->propagation = propagation;
			done = 1;
		}
		if (done) {
			continue;
		}
		if (strcmp(opt, "bind") == 0) {
			o->bind = 1;
		} else if (strcmp(opt, "rbind") == 0) {
			o->bind = 1;
			o->recursive = 1;
		} else if (strcmp(opt, "rro") == 0) {
			o->recursive_ro = 1;
			o->attr_set |= MOUNT_ATTR_RDONLY;
		} else if (strcmp(opt, "idmap") == 0 || strcmp(opt, "ridmap") == 0) {
			o->idmap = 1;
			if (opt[0] == 'r') {
				o->recursive = 1;
			}
		} else if (strcmp(opt, "tmpcopyup") == 0) {
			return berr_setx(err, EINVAL, "mounts[%zu].options: tmpcopyup is not supported by berth-oci",
					 index);
		} else if (opt[0] == 'r' && strlen(opt) > 1 &&
			   (strcmp(opt + 1, "nosuid") == 0 || strcmp(opt + 1, "nodev") == 0 ||
			    strcmp(opt + 1, "noexec") == 0 || strcmp(opt + 1, "rw") == 0)) {
			return berr_setx(err, EINVAL, "mounts[%zu].options: recursive option %s is not supported",
					 index, opt);
		} else {
			/* Filesystem-specific: "mode=755", "size=64m", "newinstance"... */
			size_t len = strlen(o->data);
			if (len + strlen(opt) + 2 > sizeof(o->data)) {
				return berr_setx(err, E2BIG, "mounts[%zu].options: too long", index);
			}
			snprintf(o->data + len, sizeof(o->data) - len, "%s%s", len ? "," : "", opt);
		}
	}
	return 0;
}

/* ---- helpers ------------------------------------------------------------------------ */

/* A user namespace holding a mount's id mapping, for MOUNT_ATTR_IDMAP:
 * a child process parks in a new user namespace while we write its maps
 * and open its ns file. */
static int idmap_userns(const struct oci_mount *m, struct berr *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		return berr_set(err, errno, "pipe");
	}
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		char c;
		close(p[1]);
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return berr_set(err, errno, "idmapped mount %s: new user namespace", m->destination);
	}
	int ret = 0;
	const struct oci_id_map *maps[] = {m->uid_maps, m->gid_maps};
	size_t nmaps[] = {m->nuid_maps, m->ngid_maps};
	const char *files[] = {"uid_map", "gid_map"};
	for (int k = 0; k < 2 && ret == 0; k++) {
		char text[8192] = "";
		for (size_t i = 0; i < nmaps[k]; i++) {
			size_t len = strlen(text);
			snprintf(text + len, sizeof(text) - len, "%u %u %u\n", maps[k][i].container_id,
				 maps[k][i].host_id, maps[k][i].size);
		}
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, files[k]);
		struct berr e2;
		if (write_file(path, text, &e2) < 0) {
			ret = berr_setx(err, e2.code, "idmapped mount %s: %s", m->destination, e2.msg);
		}
	}
	int fd = -1;
	if (ret == 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ret = berr_set(err, errno, "open %s", path);
		}
	}
	close(p[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
	}
	return ret < 0 ? ret : fd;
}

/* Propagation of an attached mount, through its fd (MS_REC applies it to
 * the whole tree). */
static int set_propagation(int mnt_fd, unsigned long propagation, const char *what, struct berr *err)
{
	if (propagation == 0) {
		return 0;
	}
	struct mount_attr attr = {.propagation = propagation & ~(unsigned long)MS_REC};
	unsigned flags = AT_EMPTY_PATH | ((propagation & MS_REC) ? AT_RECURSIVE : 0);
	if (sys_mount_setattr(mnt_fd, "", flags, &attr) < 0) {
		return berr_set(err, errno, "propagation of %s", what);
	}
	return 0;
}

/* The bind mount's source cloned, with its options (and idmap) applied:
 * a detached tree, ready to be moved onto its target. */
static int bind_tree(const struct oci_mount *m, size_t index, const struct mount_opts *o, struct berr *err)
{
	unsigned tree_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (o->recursive ? AT_RECURSIVE : 0);
	auto_close int tree = sys_open_tree(AT_FDCWD, m->source, tree_flags);
	if (tree < 0) {
		return berr_set(err, errno, "mounts[%zu]: bind %s", index, m->source);
	}
	struct mount_attr attr = {.attr_set = o->attr_set, .attr_clr = o->attr_clr, .propagation = 0};
	auto_close int userns = -1;
	if (o->idmap) {
		if (m->nuid_maps == 0 || m->ngid_maps == 0) {
			return berr_setx(err, EINVAL, "mounts[%zu]: idmap needs uidMappings and gidMappings", index);
		}
		userns = idmap_userns(m, err);
		if (userns < 0) {
			return userns;
		}
		attr.attr_set |= MOUNT_ATTR_IDMAP;
		attr.userns_fd = (uint64_t)userns;
	}
	if (attr.attr_set != 0 || attr.attr_clr != 0) {
		unsigned flags = AT_EMPTY_PATH | ((o->recursive || o->recursive_ro) ? AT_RECURSIVE : 0);
		if (sys_mount_setattr(tree, "", flags, &attr) < 0) {
			return berr_set(err, errno, "mounts[%zu]: options of the bind mount of %s on %s", index,
					m->source, m->destination);
		}
	}
	int out = tree;
	tree = -1;
	return out;
}

static int bind_mount(const struct rootfs_ctx *c, const struct oci_mount *m, size_t index, const struct mount_opts *o,
		      int target_fd, struct berr *err)
{
	auto_close int tree = -1;
	if (c->bind_trees != NULL && c->bind_trees[index] >= 0 && m == &c->cfg->mounts[index]) {
		tree = c->bind_trees[index];
		c->bind_trees[index] = -1;
	} else {
		tree = bind_tree(m, index, o, err);
		if (tree < 0) {
			return tree;
		}
	}
	if (sys_move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		return berr_set(err, errno, "mounts[%zu]: bind %s on %s", index, m->source, m->destination);
	}
	return set_propagation(tree, o->propagation, m->destination, err);
}

void rootfs_clone_bind_sources(const struct oci_config *cfg, int *trees)
{
	for (size_t i = 0; i < cfg->nmounts; i++) {
		const struct oci_mount *m = &cfg->mounts[i];
		struct mount_opts o;
		struct berr ignored;
		trees[i] = -1;
		if (m->source == NULL || parse_options(m, i, &o, &ignored) < 0) {
			continue;
		}
		if (o.bind || (m->type != NULL && strcmp(m->type, "bind") == 0)) {
			trees[i] = bind_tree(m, i, &o, &ignored);
		}
	}
}

/* A filesystem mount through fsopen/fsconfig/fsmount: each option of the
 * config's data string becomes an fsconfig call, so a bad option is
 * reported by name. */
static int fs_mount(const char *type, const char *source, const struct mount_opts *o, const struct oci_mount *m,
		    size_t index, int target_fd, struct berr *err)
{
	auto_close int fs = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);
	if (fs < 0) {
		return berr_set(err, errno, "mounts[%zu]: filesystem type %s", index, type);
	}
	if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", source, 0) < 0) {
		return berr_set(err, errno, "mounts[%zu]: source %s", index, source);
	}
	static const struct {
		unsigned long flag;
		const char *name;
	} sb_flags[] = {{MS_SYNCHRONOUS, "sync"}, {MS_DIRSYNC, "dirsync"}, {MS_MANDLOCK, "mand"}};
	for (size_t i = 0; i < sizeof(sb_flags) / sizeof(sb_flags[0]); i++) {
		if ((o->flags & sb_flags[i].flag) &&
		    syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, sb_flags[i].name, NULL, 0) < 0) {
			return berr_set(err, errno, "mounts[%zu]: option %s", index, sb_flags[i].name);
		}
	}
	char data[sizeof(o->data)];
	memcpy(data, o->data, sizeof(data));
	char *save = NULL;
	for (char *opt = strtok_r(data, ",", &save); opt != NULL; opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		long r;
		if (eq != NULL) {
			*eq = '\0';
			r = syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, opt, eq + 1, 0);
		} else {
			r = syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, opt, NULL, 0);
		}
		if (r < 0) {
			if (eq != NULL) {
				*eq = '=';
			}
			return berr_set(err, errno, "mounts[%zu] (%s on %s): option %s", index, type, m->destination,
					opt);
		}
	}
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		return berr_set(err, errno, "mounts[%zu]: mount %s (%s) on %s", index, source, type, m->destination);
	}
	unsigned attrs = (unsigned)o->attr_set;
	auto_close int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attrs);
	if (mnt < 0) {
		return berr_set(err, errno, "mounts[%zu]: mount %s on %s", index, type, m->destination);
	}
	if (sys_move_mount(mnt, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		return berr_set(err, errno, "mounts[%zu]: attach %s on %s", index, type, m->destination);
	}
	return set_propagation(mnt, o->propagation, m->destination, err);
}

static int do_mount(struct rootfs_ctx *c, const struct oci_mount *m, size_t index, struct berr *err)
{
	struct mount_opts o;
	int ret = parse_options(m, index, &o, err);
	if (ret < 0) {
		return ret;
	}
	const char *type = m->type;
	if (type == NULL || strcmp(type, "bind") == 0 || strcmp(type, "none") == 0) {
		if (!o.bind && type != NULL && strcmp(type, "bind") == 0) {
			o.bind = 1;
		}
	}
	if (strcmp(m->destination, "/") == 0) {
		return berr_setx(err, EINVAL, "mounts[%zu]: cannot mount over the container's root", index);
	}
	if (o.flags & MS_REMOUNT) {
		return berr_setx(err, EINVAL, "mounts[%zu]: remount is not supported in mounts", index);
	}
	int is_dir = 1;
	if (o.bind) {
		struct stat st;
		if (m->source == NULL) {
			return berr_setx(err, EINVAL, "mounts[%zu]: a bind mount needs a source", index);
		}
		int tree = c->bind_trees != NULL ? c->bind_trees[index] : -1;
		if ((tree >= 0 ? fstat(tree, &st) : stat(m->source, &st)) < 0) {
			return berr_set(err, errno, "mounts[%zu]: source %s", index, m->source);
		}
		is_dir = S_ISDIR(st.st_mode);
	}
	auto_close int target = root_mknode(c->root_fd, m->destination, is_dir, err);
	if (target < 0) {
		return berr_prefix(err, "mounts[%zu] (%s)", index, m->destination);
	}
	if (o.bind) {
		return bind_mount(c, m, index, &o, target, err);
	}
	if (type == NULL) {
		return berr_setx(err, EINVAL, "mounts[%zu] (%s): no type and not a bind mount", index, m->destination);
	}
	if (o.idmap) {
		return berr_setx(err, EINVAL, "mounts[%zu]: idmap applies to bind mounts only", index);
	}
	const char *source = m->source ? m->source : type;
	if (strcmp(type, "cgroup") == 0 || strcmp(type, "cgroup2") == 0) {
		if (!c->new_cgroupns) {
			/* Without a cgroup namespace the container sees its own
			 * cgroup, bound in, rather than the host's tree. */
			char host[4200];
			snprintf(host, sizeof(host), "/sys/fs/cgroup%s", c->cgroup_path ? c->cgroup_path : "");
			struct oci_mount bm = *m;
			bm.source = host;
			struct mount_opts bo = o;
			bo.bind = 1;
			bo.recursive = 1;
			return bind_mount(c, &bm, index, &bo, target, err);
		}
		type = "cgroup2";
	}
	ret = fs_mount(type, source, &o, m, index, target, err);
	if (ret == -EPERM && strcmp(type, "sysfs") == 0 && c->in_userns && !c->new_netns) {
		/* sysfs cannot be mounted in a user namespace that does not own
		 * a network namespace; bind the host's, read-only, instead. */
		struct oci_mount bm = *m;
		bm.source = "/sys";
		struct mount_opts bo = o;
		bo.bind = 1;
		bo.recursive = 1;
		bo.attr_set |= MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
		return bind_mount(c, &bm, index, &bo, target, err);
	}
	return ret;
}

/* ---- devices ------------------------------------------------------------------------ */

static const struct oci_device default_devices[] = {
	{.type = 'c', .path = "/dev/null", .major = 1, .minor = 3, .has_file_mode = 1, .file_mode = 0666},
	{.type = 'c', .path = "/dev/zero", .major = 1, .minor = 5, .has_file_mode = 1, .file_mode = 0666},
	{.type = 'c', .path = "/dev/full", .major = 1, .minor = 7, .has_file_mode = 1, .file_mode = 0666},
	{.type = 'c', .path = "/dev/random", .major = 1, .minor = 8, .has_file_mode = 1, .file_mode = 0666},
	{.type = 'c', .path = "/dev/urandom", .major = 1, .minor = 9, .has_file_mode = 1, .file_mode = 0666},
	{.type = 'c', .path = "/dev/tty", .major = 5, .minor = 0, .has_file_mode = 1, .file_mode = 0666},
};

static int split_parent(const char *path, char *dir, size_t size, const char **base)
{
	if (copy_string(dir, size, path) < 0) {
		return -ENAMETOOLONG;
	}
	char *slash = strrchr(dir, '/');
	if (slash == NULL || slash[1] == '\0') {
		return -EINVAL;
	}
	*base = path + (slash - dir) + 1;
	if (slash == dir) {
		slash[1] = '\0';
	} else {
		*slash = '\0';
	}
	return 0;
}

static int make_device(struct rootfs_ctx *c, const struct oci_device *d, struct berr *err)
{
	char dir[4096];
	const char *base;
	if (split_parent(d->path, dir, sizeof(dir), &base) < 0 || strcmp(base, "..") == 0 || strcmp(base, ".") == 0) {
		return berr_setx(err, EINVAL, "device path %s is not a file name", d->path);
	}
	auto_close int parent = root_mkdir_p(c->root_fd, dir, 0755, err);
	if (parent < 0) {
		return parent;
	}
	mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
	mode_t perm = d->has_file_mode ? d->file_mode : 0666;
	if (c->in_userns && d->type != 'p') {
		/* mknod of devices is not allowed in a user namespace: bind
		 * the host's node over an empty file instead. */
		int f = openat(parent, base, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (f < 0 && errno != EEXIST) {
			return berr_set(err, errno, "create %s in the container", d->path);
		}
		if (f >= 0) {
			close(f);
		}
		auto_close int target = openat(parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		auto_close int tree = sys_open_tree(AT_FDCWD, d->path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (target < 0 || tree < 0 ||
		    sys_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
			return berr_set(err, errno, "bind the host's %s into the container", d->path);
		}
		return 0;
	}
	unlinkat(parent, base, 0);
	if (mknodat(parent, base, type | perm, makedev((unsigned)d->major, (unsigned)d->minor)) < 0) {
		return berr_set(err, errno, "mknod %s (%c %lld:%lld) in the container", d->path, d->type,
				(long long)d->major, (long long)d->minor);
	}
	auto_close int node = openat(parent, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (node < 0) {
		return berr_set(err, errno, "open %s in the container", d->path);
	}
	char p[64];
	fd_path(node, p, sizeof(p));
	/* mknod applied the umask: set the mode exactly. */
	if (chmod(p, perm) < 0) {
		return berr_set(err, errno, "chmod %s in the container", d->path);
	}
	if ((d->has_uid || d->has_gid) &&
	    chown(p, d->has_uid ? d->uid : (uid_t)-1, d->has_gid ? d->gid : (gid_t)-1) < 0) {
		return berr_set(err, errno, "chown %s in the container", d->path);
	}
	return 0;
}

static int make_devices(struct rootfs_ctx *c, struct berr *err)
{
	const struct oci_linux *l = &c->cfg->linux_;
	for (size_t i = 0; i < sizeof(default_devices) / sizeof(default_devices[0]); i++) {
		int overridden = 0;
		for (size_t j = 0; j < l->ndevices; j++) {
			if (strcmp(l->devices[j].path, default_devices[i].path) == 0) {
				overridden = 1;
			}
		}
		if (!overridden) {
			int ret = make_device(c, &default_devices[i], err);
			if (ret < 0) {
				return ret;
			}
		}
	}
	for (size_t i = 0; i < l->ndevices; i++) {
		int ret = make_device(c, &l->devices[i], err);
		if (ret < 0) {
			return berr_prefix(err, "linux.devices[%zu]", i);
		}
	}
	static const char *const links[][2] = {
		{"/proc/self/fd", "fd"},
		{"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"},
	};
	auto_close int dev = root_mkdir_p(c->root_fd, "/dev", 0755, err);
	if (dev < 0) {
		return dev;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST) {
			return berr_set(err, errno, "symlink /dev/%s in the container", links[i][1]);
		}
	}
	/* /dev/ptmx of the container's own devpts instance. */
	struct stat st;
	if (fstatat(dev, "pts/ptmx", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		unlinkat(dev, "ptmx", 0);
		if (symlinkat("pts/ptmx", dev, "ptmx") < 0) {
			return berr_set(err, errno, "symlink /dev/ptmx in the container");
		}
	}
	if (c->cfg->process.terminal) {
		/* Where the terminal will be bound: a plain file made here. */
		int f = openat(dev, "console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (f < 0 && errno != EEXIST) {
			return berr_set(err, errno, "create /dev/console in the container");
		}
		if (f >= 0) {
			close(f);
		}
	}
	return 0;
}

/* ---- the phases ------------------------------------------------------------------- */

int rootfs_prepare(struct rootfs_ctx *c, struct berr *err)
{
	if (!c->new_mountns) {
		c->root_fd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		return c->root_fd < 0 ? berr_set(err, errno, "open the root %s", c->rootfs) : 0;
	}
	/* Recursively, whatever the config asks for /: a mount left shared
	 * (Berth's / is rshared) would carry the container's mounts into the
	 * host's namespace, and pivot_root refuses a shared parent. The
	 * asked propagation is applied to the new / after pivot_root. */
	unsigned long asked = c->cfg->linux_.rootfs_propagation;
	unsigned long setup = (asked & MS_PRIVATE) ? MS_PRIVATE | MS_REC : MS_SLAVE | MS_REC;
	if (mount(NULL, "/", NULL, setup, NULL) < 0) {
		return berr_set(err, errno, "set mount propagation of the container");
	}
	/* pivot_root needs the new root to be a mount point. */
	if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) {
		return berr_set(err, errno, "bind the root %s onto itself", c->rootfs);
	}
	c->root_fd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->root_fd < 0) {
		return berr_set(err, errno, "open the root %s", c->rootfs);
	}
	for (size_t i = 0; i < c->cfg->nmounts; i++) {
		int ret = do_mount(c, &c->cfg->mounts[i], i, err);
		if (ret < 0) {
			return ret;
		}
	}
	/* A missing process.cwd is made (0755, root's), as runc and crun make
	 * it, while the root can still be written (crun's suite,
	 * cwd-not-exist). When that fails, the chdir that follows says so. */
	if (c->cfg->has_process && c->cfg->process.cwd != NULL) {
		struct berr ignored;
		int cwd = root_mkdir_p(c->root_fd, c->cfg->process.cwd, 0755, &ignored);
		if (cwd >= 0) {
			close(cwd);
		}
	}
	return make_devices(c, err);
}

/* pivot_root's EINVAL has many causes; only a root on the initial ramfs is
 * what --no-pivot is for. */
static int pivot_failed(const struct rootfs_ctx *c, struct berr *err)
{
	int e = errno;
	struct statfs fs;
	if (e == EINVAL && statfs("/", &fs) == 0 && (fs.f_type == RAMFS_MAGIC || fs.f_type == TMPFS_MAGIC)) {
		return berr_set(err, e,
				"pivot_root into %s: the host's / is a ramfs, which pivot_root cannot leave "
				"(use --no-pivot)",
				c->rootfs);
	}
	return berr_set(err, e, "pivot_root into %s", c->rootfs);
}

static int enter_by_pivot(const struct rootfs_ctx *c, int no_pivot, struct berr *err)
{
	if (no_pivot) {
		if (mount(c->rootfs, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0) {
			return berr_set(err, errno, "move the root %s to / (--no-pivot)", c->rootfs);
		}
		return 0;
	}
	/* pivot_root(".", "."): the old root ends up stacked on the new one,
	 * and is then detached from it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		return pivot_failed(c, err);
	}
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) {
		return berr_set(err, errno, "make the old root a slave");
	}
	if (umount2(".", MNT_DETACH) < 0) {
		return berr_set(err, errno, "detach the old root");
	}
	return 0;
}

int rootfs_pivot(struct rootfs_ctx *c, int no_pivot, struct berr *err)
{
	auto_close int root = open(c->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0 || fchdir(root) < 0) {
		return berr_set(err, errno, "enter the root %s", c->rootfs);
	}
	if (!c->new_mountns) {
		if (chroot(".") < 0) {
			return berr_set(err, errno, "chroot into %s", c->rootfs);
		}
	} else {
		int ret = enter_by_pivot(c, no_pivot, err);
		if (ret < 0) {
			return ret;
		}
	}
	if (chdir("/") < 0) {
		return berr_set(err, errno, "chdir /");
	}
	close(c->root_fd);
	c->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->root_fd < 0) {
		return berr_set(err, errno, "open /");
	}
	return 0;
}

int proc_open_verified(const char *rel, int flags, struct berr *err)
{
	auto_close int proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (proc < 0) {
		return berr_set(err, errno, "open /proc");
	}
	struct statfs sf;
	if (fstatfs(proc, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC) {
		return berr_setx(err, EXDEV, "/proc is not procfs");
	}
	/* No symlinks, no crossing into something mounted over a /proc file:
	 * a write meant for procfs can only reach procfs. */
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC | O_NOFOLLOW),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
	};
	int fd = (int)syscall(SYS_openat2, proc, rel, &how, sizeof(how));
	if (fd < 0) {
		return berr_set(err, errno, "open /proc/%s", rel);
	}
	if (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC) {
		close(fd);
		return berr_setx(err, EXDEV, "/proc/%s is not on procfs", rel);
	}
	return fd;
}

/* Which namespace a sysctl belongs to; NULL when it is not namespaced
 * (writing it from a container would change the host). */
static const char *sysctl_namespace(const char *key)
{
	static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
					  "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
	for (size_t i = 0; i < sizeof(ipc) / sizeof(ipc[0]); i++) {
		if (strcmp(key, ipc[i]) == 0) {
			return "ipc";
		}
	}
	if (strncmp(key, "fs.mqueue.", 10) == 0) {
		return "ipc";
	}
	if (strncmp(key, "net.", 4) == 0) {
		return "network";
	}
	if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0) {
		return "uts";
	}
	return NULL;
}

static int write_sysctls(struct rootfs_ctx *c, struct berr *err)
{
	const struct oci_linux *l = &c->cfg->linux_;
	for (size_t i = 0; i < l->nsysctl; i++) {
		const char *key = l->sysctl[i].key;
		if (strcmp(key, "kernel.hostname") == 0) {
			/* Two sources for one name, as runc and crun refuse it. */
			return berr_setx(err, EINVAL, "linux.sysctl.%s: set the container's host name with hostname",
					 key);
		}
		const char *ns = sysctl_namespace(key);
		if (ns == NULL) {
			return berr_setx(err, EPERM,
					 "linux.sysctl.%s: not a namespaced sysctl; it would change the host", key);
		}
		enum oci_ns_type t = strcmp(ns, "ipc") == 0   ? OCI_NS_IPC
				     : strcmp(ns, "uts") == 0 ? OCI_NS_UTS
							      : OCI_NS_NET;
		const struct oci_namespace *n = oci_config_namespace(c->cfg, t);
		if (n == NULL) {
			return berr_setx(err, EPERM, "linux.sysctl.%s: needs a %s namespace of the container's own",
					 key, ns);
		}
		char rel[300] = "sys/";
		size_t len = strlen(rel);
		for (const char *k = key; *k && len < sizeof(rel) - 1; k++) {
			rel[len++] = *k == '.' ? '/' : *k;
		}
		rel[len] = '\0';
		if (strstr(rel, "..") != NULL) {
			return berr_setx(err, EINVAL, "linux.sysctl.%s: not a sysctl name", key);
		}
		auto_close int fd = proc_open_verified(rel, O_WRONLY, err);
		if (fd < 0) {
			return berr_prefix(err, "linux.sysctl.%s", key);
		}
		const char *v = l->sysctl[i].value;
		if (write(fd, v, strlen(v)) < 0) {
			return berr_set(err, errno, "linux.sysctl.%s = %s", key, v);
		}
	}
	return 0;
}

static int verified_dev_null(struct berr *err)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/dev/null", &how, sizeof(how));
	if (fd < 0) {
		return berr_set(err, errno, "open /dev/null in the container");
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
		close(fd);
		/* A container that replaced /dev/null could turn a mask into
		 * a bind of anything onto /proc (CVE-2025-31133). */
		return berr_setx(err, EPERM, "/dev/null in the container is not the null device");
	}
	return fd;
}

static int mask_paths(struct rootfs_ctx *c, struct berr *err)
{
	const struct oci_linux *l = &c->cfg->linux_;
	if (l->nmasked_paths == 0) {
		return 0;
	}
	auto_close int null_fd = verified_dev_null(err);
	if (null_fd < 0) {
		return null_fd;
	}
	for (size_t i = 0; i < l->nmasked_paths; i++) {
		const char *p = l->masked_paths[i];
		struct open_how how = {.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
				       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
		auto_close int target = (int)syscall(SYS_openat2, c->root_fd, p, &how, sizeof(how));
		if (target < 0) {
			if (errno == ENOENT) {
				continue;
			}
			return berr_set(err, errno, "linux.maskedPaths[%zu] (%s)", i, p);
		}
		struct stat st;
		if (fstat(target, &st) < 0) {
			return berr_set(err, errno, "linux.maskedPaths[%zu] (%s)", i, p);
		}
		if (S_ISDIR(st.st_mode)) {
			/* An empty read-only tmpfs hides the directory. */
			static const char *const opts[] = {"size", "0", "nr_inodes", "1", NULL};
			auto_close int mnt = new_fs_mount("tmpfs", opts,
							  MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
								  MOUNT_ATTR_NOEXEC);
			if (mnt < 0 || sys_move_mount(mnt, "", target, "",
						      MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
				return berr_set(err, mnt < 0 ? -mnt : errno, "linux.maskedPaths[%zu]: mask %s", i, p);
			}
			continue;
		}
		auto_close int tree = sys_open_tree(null_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (tree < 0 ||
		    sys_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
			return berr_set(err, errno, "linux.maskedPaths[%zu]: mask %s", i, p);
		}
	}
	return 0;
}

static int readonly_paths(struct rootfs_ctx *c, struct berr *err)
{
	const struct oci_linux *l = &c->cfg->linux_;
	for (size_t i = 0; i < l->nreadonly_paths; i++) {
		const char *p = l->readonly_paths[i];
		struct open_how how = {.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
				       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
		auto_close int target = (int)syscall(SYS_openat2, c->root_fd, p, &how, sizeof(how));
		if (target < 0) {
			if (errno == ENOENT) {
				continue;
			}
			return berr_set(err, errno, "linux.readonlyPaths[%zu] (%s)", i, p);
		}
		auto_close int tree =
			sys_open_tree(target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
		struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
						      MOUNT_ATTR_NOEXEC};
		if (tree < 0 || sys_mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0 ||
		    sys_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
			return berr_set(err, errno, "linux.readonlyPaths[%zu]: make %s read-only", i, p);
		}
	}
	return 0;
}

int rootfs_finish(struct rootfs_ctx *c, struct berr *err)
{
	int ret = write_sysctls(c, err);
	if (!c->new_mountns) {
		return ret;
	}
	if (ret == 0) {
		ret = mask_paths(c, err);
	}
	if (ret == 0) {
		ret = readonly_paths(c, err);
	}
	if (ret == 0 && c->cfg->root_readonly) {
		struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
		if (sys_mount_setattr(c->root_fd, "", AT_EMPTY_PATH, &attr) < 0) {
			ret = berr_set(err, errno, "make the root read-only");
		}
	}
	/* Last: masking binds /dev/null, which an unbindable tree refuses. */
	unsigned long asked = c->cfg->linux_.rootfs_propagation;
	if (ret == 0 && asked != 0 && mount(NULL, "/", NULL, asked, NULL) < 0) {
		ret = berr_set(err, errno, "linux.rootfsPropagation %s on the container's /",
			       oci_propagation_name(asked) ? oci_propagation_name(asked) : "?");
	}
	return ret;
}

int rootfs_bind_console(int slave_fd, struct berr *err)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW,
			       .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	auto_close int target = (int)syscall(SYS_openat2, AT_FDCWD, "/dev/console", &how, sizeof(how));
	struct stat st;
	/* Only the plain file rootfs_prepare made (CVE-2025-52565). */
	if (target < 0 || fstat(target, &st) < 0 || !S_ISREG(st.st_mode)) {
		return berr_set(err, errno ? errno : EPERM,
				"/dev/console in the container is not the file berth-oci made");
	}
	auto_close int tree = sys_open_tree(slave_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0 || sys_move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		return berr_set(err, errno, "bind the terminal on /dev/console");
	}
	return 0;
}
