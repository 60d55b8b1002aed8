/* Power button (see power.h). Runs in PID 1: non-blocking reads only. */
#include "init/power.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"

#define BITS_PER_LONG_ (8 * sizeof(unsigned long))

static int has_power_key(int fd)
{
	unsigned long keys[KEY_CNT / BITS_PER_LONG_ + 1];
	memset(keys, 0, sizeof(keys));
	if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(keys)), keys) < 0) {
		return 0;
	}
	return (keys[KEY_POWER / BITS_PER_LONG_] >> (KEY_POWER % BITS_PER_LONG_)) & 1;
}

int power_buttons_watch(int *fds, int max)
{
	auto_closedir DIR *d = opendir("/dev/input");
	if (d == NULL) {
		return 0;
	}
	int count = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && count < max) {
		if (strncmp(de->d_name, "event", 5) != 0) {
			continue;
		}
		char path[sizeof(de->d_name) + 16];
		snprintf(path, sizeof(path), "/dev/input/%s", de->d_name);
		int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			continue;
		}
		if (!has_power_key(fd)) {
			close(fd);
			continue;
		}
		blog_info("watching %s for the power button", path);
		fds[count++] = fd;
	}
	return count;
}

int power_button_pressed(int fd)
{
	struct input_event ev[16];
	int pressed = 0;
	for (;;) {
		ssize_t n = read(fd, ev, sizeof(ev));
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++) {
			if (ev[i].type == EV_KEY && ev[i].code == KEY_POWER && ev[i].value == 1) {
				pressed = 1;
			}
		}
	}
	return pressed;
}
