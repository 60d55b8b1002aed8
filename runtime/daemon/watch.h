/* An fd in berthd's event loop and what to call when it is ready. */
#ifndef BERTH_WATCH_H
#define BERTH_WATCH_H

#include <stdint.h>

struct watch;
typedef void (*watch_fn)(struct watch *w, uint32_t events);

struct watch {
	int fd;
	watch_fn fn;
	void *ctx;
};

int watch_add(struct watch *w, uint32_t events);
void watch_del(struct watch *w);

#endif
