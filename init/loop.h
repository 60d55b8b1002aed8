/* init's event loop: one epoll set, fed by signalfd and by whatever else
 * init watches (service output, power buttons). A watch carries its own
 * handler, so modules register fds without the loop knowing them. */
#ifndef BERTH_INIT_LOOP_H
#define BERTH_INIT_LOOP_H

#include <stdint.h>

struct watch {
	int fd;
	void (*ready)(struct watch *w, uint32_t events);
};

/* Creates the epoll set and the signalfd (all signals are already
 * blocked). Returns 0, or a negative errno when either cannot be made. */
int loop_init(void);

int loop_add(struct watch *w);
void loop_del(struct watch *w);

/* Runs until a shutdown is requested; returns the requested action
 * (enum shutdown_action). Calls svc_tick between events. */
int loop_run(void);

/* Asks the loop to return action at its next turn. */
void loop_request_shutdown(int action);

/* fn runs when init gets SIGHUP from a process (berth config apply). */
void loop_on_hangup(void (*fn)(void));

#endif
