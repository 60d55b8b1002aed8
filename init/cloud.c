/* Cloud metadata (see cloud.h). Runs in PID 1 during boot: every failure is
 * logged and the host goes on with what it has. */
#include "init/cloud.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/cloudmeta.h"
#include "lib/fslabel.h"
#include "lib/fsutil.h"
#include "lib/log.h"

#define MOUNTPOINT "/run/berth/cloud-source"
#define MAX_DEVICES 128

struct source {
	enum cloud_source kind;
	char dev[80];	/* /dev/vdb */
	char label[64]; /* as written on the filesystem */
	enum fs_kind fs;
};

int cloud_skipped_device(const char *name, const char *boot_disk)
{
	static const char *const prefixes[] = {"loop", "ram", "zram", "dm-", "md", "nbd", NULL};
	for (const char *const *p = prefixes; *p != NULL; p++) {
		if (strncmp(name, *p, strlen(*p)) == 0) {
			return 1;
		}
	}
	/* The boot disk and its partitions (vda5; nvme0n1p5, since a name
	 * that ends in a digit gets a 'p' before the partition's) are Berth's
	 * own. */
	size_t n = strlen(boot_disk);
	if (n == 0 || strncmp(name, boot_disk, n) != 0) {
		return 0;
	}
	const char *rest = name + n;
	if (*rest == '\0') {
		return 1;
	}
	if (isdigit((unsigned char)boot_disk[n - 1]) && *rest++ != 'p') {
		return 0;
	}
	return *rest != '\0' && strspn(rest, "0123456789") == strlen(rest);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the start of /dev/NAME and says what it holds, when it is a cloud
 * metadata filesystem. An empty drive (size 0) is never opened. */
static enum cloud_source probe_device(const char *name, struct source *out)
{
	char path[300];
	char text[32];
	snprintf(path, sizeof(path), "/sys/class/block/%s/size", name);
	if (read_file(path, text, sizeof(text), NULL) < 0 || strtoull(text, NULL, 10) == 0) {
		return CLOUD_NONE;
	}
	snprintf(out->dev, sizeof(out->dev), "/dev/%.60s", name);
	auto_close int fd = open(out->dev, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		return CLOUD_NONE;
	}
	static unsigned char buf[FSLABEL_PROBE_BYTES];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	if (n <= 0) {
		return CLOUD_NONE;
	}
	out->fs = fslabel_probe(buf, (size_t)n, out->label, sizeof(out->label));
	if (out->fs == FS_UNKNOWN) {
		return CLOUD_NONE;
	}
	if (strcasecmp(out->label, "cidata") == 0) {
		out->kind = CLOUD_NOCLOUD;
	} else if (strcasecmp(out->label, "config-2") == 0) {
		out->kind = CLOUD_CONFIG_DRIVE;
	} else {
		out->kind = CLOUD_NONE;
	}
	return out->kind;
}

/* The first metadata filesystem, in name order (sr0 after vdb: a seed disk
 * wins over a CD-ROM). */
static int find_source(const char *boot_disk, struct source *found)
{
	auto_closedir DIR *d = opendir("/sys/class/block");
	if (d == NULL) {
		return -errno;
	}
	char *names[MAX_DEVICES];
	size_t count = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && count < MAX_DEVICES) {
		if (de->d_name[0] == '.' || cloud_skipped_device(de->d_name, boot_disk)) {
			continue;
		}
		names[count] = strdup(de->d_name);
		if (names[count] != NULL) {
			count++;
		}
	}
	qsort(names, count, sizeof(names[0]), compare_names);
	int ret = -ENOENT;
	for (size_t i = 0; i < count; i++) {
		struct source s;
		memset(&s, 0, sizeof(s));
		if (probe_device(names[i], &s) == CLOUD_NONE) {
			continue;
		}
		if (ret == 0) {
			blog_warn("cloud metadata: %s (label %s) ignored: %s comes first", s.dev, s.label, found->dev);
			continue;
		}
		*found = s;
		ret = 0;
	}
	for (size_t i = 0; i < count; i++) {
		free(names[i]);
	}
	return ret;
}

typedef int (*parse_fn)(struct cloud_meta *m, const char *name, const char *buf, size_t len);

/* Reads MOUNTPOINT/path (when present) into the parser; name is the file
 * as messages name it. */
static void read_into(struct cloud_meta *m, const char *path, const char *name, parse_fn parse)
{
	char full[256];
	char *data = NULL;
	size_t len = 0;
	struct berr err;
	snprintf(full, sizeof(full), MOUNTPOINT "/%s", path);
	if (read_file_alloc(AT_FDCWD, full, O_NOFOLLOW | O_NONBLOCK, CLOUD_MAX_FILE, name, &data, &len, &err) < 0) {
		if (err.code != ENOENT) {
			cloud_error(m, "%s", err.msg);
		}
		return;
	}
	parse(m, name, data, len);
	free(data);
}

static void read_source(const struct source *s, struct cloud_meta *m)
{
	if (s->kind == CLOUD_NOCLOUD) {
		read_into(m, "meta-data", "meta-data", nocloud_parse_meta_data);
		read_into(m, "user-data", "user-data", cloud_parse_user_data);
		read_into(m, "network-config", "network-config", cloud_parse_network_config);
	} else {
		read_into(m, "openstack/latest/meta_data.json", "meta_data.json", configdrive_parse_meta_data);
		read_into(m, "openstack/latest/user_data", "user_data", cloud_parse_user_data);
		read_into(m, "openstack/latest/network_data.json", "network_data.json", configdrive_parse_network_data);
	}
}

/* /run/berth/metadata: what `berth info` shows. */
static void write_summary(const struct source *s, const struct cloud_meta *m, const struct cloud_report *r)
{
	auto_free char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL) {
		return;
	}
	if (s == NULL) {
		fprintf(f, "source: none (no filesystem labelled cidata or config-2)\n");
	} else {
		fprintf(f, "source: %s on %s (%s, label %s)\n", cloud_source_name(s->kind), s->dev,
			fslabel_kind_name(s->fs), s->label);
		fprintf(f, "instance-id: %s\n", m->instance_id[0] ? m->instance_id : "(none)");
		for (size_t i = 0; i < r->n; i++) {
			fprintf(f, "%s\n", r->lines[i]);
		}
		size_t shown = m->nerrors < CLOUD_MAX_ERRORS ? m->nerrors : CLOUD_MAX_ERRORS;
		for (size_t i = 0; i < shown; i++) {
			fprintf(f, "problem: %s\n", m->errors[i]);
		}
		if (m->nerrors > shown) {
			fprintf(f, "problem: %zu more\n", m->nerrors - shown);
		}
	}
	if (fclose(f) != 0 || text == NULL) {
		return;
	}
	struct berr err;
	if (write_file_atomic(CLOUD_SUMMARY, text, len, 0644, 0, &err) < 0) {
		blog_warn("cloud metadata: %s", err.msg);
	}
}

void cloud_setup(struct host_config *cfg, const char *boot_disk)
{
	struct source s;
	memset(&s, 0, sizeof(s));
	if (find_source(boot_disk, &s) < 0) {
		write_summary(NULL, NULL, NULL);
		return;
	}
	if (mkdir(MOUNTPOINT, 0700) < 0 && errno != EEXIST) {
		blog_err("cloud metadata: mkdir %s: %s", MOUNTPOINT, strerror(errno));
		return;
	}
	const char *fstype = s.fs == FS_VFAT ? "vfat" : "iso9660";
	if (mount(s.dev, MOUNTPOINT, fstype, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		blog_err("cloud metadata: mount %s (%s, label %s): %s; not used", s.dev, fstype, s.label,
			 strerror(errno));
		rmdir(MOUNTPOINT);
		return;
	}
	struct cloud_meta m;
	cloud_meta_init(&m, s.kind);
	read_source(&s, &m);
	if (umount(MOUNTPOINT) < 0) {
		blog_warn("cloud metadata: umount %s: %s", MOUNTPOINT, strerror(errno));
	} else {
		rmdir(MOUNTPOINT);
	}

	blog_notice("cloud metadata: %s on %s (%s, label %s), instance %s", cloud_source_name(s.kind), s.dev, fstype,
		    s.label, m.instance_id[0] ? m.instance_id : "(no id)");
	size_t shown = m.nerrors < CLOUD_MAX_ERRORS ? m.nerrors : CLOUD_MAX_ERRORS;
	for (size_t i = 0; i < shown; i++) {
		blog_err("cloud metadata (%s): %s", s.dev, m.errors[i]);
	}
	if (m.nerrors > shown) {
		blog_err("cloud metadata (%s): %zu more problems", s.dev, m.nerrors - shown);
	}
	struct cloud_report r;
	cloud_merge(cfg, &m, &r);
	for (size_t i = 0; i < r.n; i++) {
		blog_info("cloud metadata: %s", r.lines[i]);
	}
	write_summary(&s, &m, &r);
	cloud_meta_free(&m);
}
