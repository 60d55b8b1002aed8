/* Block device discovery (see blkdev.h). Reads sysfs only. */
#include "lib/blkdev.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"

/* Resolves a sysfs block device directory to its whole disk, following a
 * device-mapper device to the partition beneath it. */
static int disk_of_sysdir(const char *sysdir, char *disk, size_t size, int depth, struct berr *err)
{
	char path[PATH_MAX];
	char real[PATH_MAX];
	if (depth > 4) {
		return berr_setx(err, ELOOP, "block device stack too deep at %s", sysdir);
	}
	if (realpath(sysdir, real) == NULL) {
		return berr_set(err, errno, "resolve %s", sysdir);
	}
	if (path_join(path, sizeof(path), real, "partition") < 0) {
		return berr_setx(err, ENAMETOOLONG, "sysfs path too long: %s", real);
	}
	if (access(path, F_OK) == 0) {
		char *slash = strrchr(real, '/');
		if (slash == NULL) {
			return berr_setx(err, EINVAL, "unexpected sysfs path %s", real);
		}
		*slash = '\0';
		slash = strrchr(real, '/');
		return copy_string(disk, size, slash ? slash + 1 : real) < 0
			       ? berr_setx(err, ENAMETOOLONG, "disk name too long")
			       : 0;
	}
	if (path_join(path, sizeof(path), real, "slaves") < 0) {
		return berr_setx(err, ENAMETOOLONG, "sysfs path too long: %s", real);
	}
	auto_closedir DIR *d = opendir(path);
	if (d != NULL) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.') {
				continue;
			}
			char slave[PATH_MAX];
			if (path_join(slave, sizeof(slave), path, de->d_name) < 0) {
				continue;
			}
			return disk_of_sysdir(slave, disk, size, depth + 1, err);
		}
	}
	/* A whole disk without partitions (or a dm device without slaves). */
	char *slash = strrchr(real, '/');
	return copy_string(disk, size, slash ? slash + 1 : real) < 0
		       ? berr_setx(err, ENAMETOOLONG, "disk name too long")
		       : 0;
}

int blk_disk_of(const char *path, char *disk, size_t size, struct berr *err)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		return berr_set(err, errno, "stat %s", path);
	}
	if (major(st.st_dev) == 0) {
		return berr_setx(err, ENODEV, "%s is not on a block device", path);
	}
	char sysdir[64];
	snprintf(sysdir, sizeof(sysdir), "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
	return disk_of_sysdir(sysdir, disk, size, 0, err);
}

/* Value of KEY= in a uevent file's text, or NULL. */
static const char *uevent_value(char *text, const char *key)
{
	size_t klen = strlen(key);
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
			return line + klen + 1;
		}
	}
	return NULL;
}

int blk_find_partition(const char *disk, const char *label, char *devnode, size_t size, int *partno, struct berr *err)
{
	char dirpath[PATH_MAX];
	if (path_join(dirpath, sizeof(dirpath), "/sys/block", disk) < 0) {
		return berr_setx(err, ENAMETOOLONG, "disk name too long: %s", disk);
	}
	auto_closedir DIR *d = opendir(dirpath);
	if (d == NULL) {
		return berr_set(err, errno, "open %s", dirpath);
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.') {
			continue;
		}
		char part[PATH_MAX];
		char path[PATH_MAX];
		char text[1024];
		if (path_join(part, sizeof(part), dirpath, de->d_name) < 0 ||
		    path_join(path, sizeof(path), part, "uevent") < 0) {
			continue;
		}
		if (read_file(path, text, sizeof(text), NULL) < 0) {
			continue;
		}
		char copy[sizeof(text)];
		memcpy(copy, text, sizeof(copy));
		const char *devtype = uevent_value(copy, "DEVTYPE");
		if (devtype == NULL || strcmp(devtype, "partition") != 0) {
			continue;
		}
		memcpy(copy, text, sizeof(copy));
		const char *name = uevent_value(copy, "PARTNAME");
		if (name == NULL || strcmp(name, label) != 0) {
			continue;
		}
		memcpy(copy, text, sizeof(copy));
		const char *pn = uevent_value(copy, "PARTN");
		memcpy(copy, text, sizeof(copy));
		const char *devname = uevent_value(copy, "DEVNAME");
		if (pn == NULL || devname == NULL) {
			return berr_setx(err, EINVAL, "%s: uevent lacks PARTN or DEVNAME", path);
		}
		*partno = atoi(pn);
		if ((size_t)snprintf(devnode, size, "/dev/%s", devname) >= size) {
			return berr_setx(err, ENAMETOOLONG, "device name %s too long", devname);
		}
		return 0;
	}
	return berr_setx(err, ENOENT, "no partition named %s on %s", label, disk);
}
