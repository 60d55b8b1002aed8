/* berthd's status file (see status.h). */
#include "daemon/status.h"

#include <string.h>
#include <unistd.h>

#include "daemon/ctrtab.h"
#include "lib/fsutil.h"
#include "lib/healthfile.h"
#include "lib/log.h"

static enum berthd_state state = BERTHD_STARTING;

static void status_write(const char *message)
{
	static struct healthfile h;
	memset(&h, 0, sizeof(h));
	h.pid = getpid();
	h.state = state;
	if (message != NULL) {
		copy_string(h.message, sizeof(h.message), message);
	}
	ctr_foreach(c) {
		/* System containers (compose services) with a healthcheck. */
		if (!c->has_def || c->def.service == NULL || c->def.health.test == NULL) {
			continue;
		}
		h.checked++;
		if (c->state == CS_RUNNING && c->health == HEALTH_HEALTHY) {
			h.healthy++;
		} else if (h.nwaiting < HEALTHFILE_MAX_WAITING) {
			copy_string(h.waiting[h.nwaiting].name, sizeof(h.waiting[0].name), c->def.name);
			copy_string(h.waiting[h.nwaiting].status, sizeof(h.waiting[0].status),
				    c->state == CS_RUNNING ? health_status_name(c->health) : ctr_state_name(c->state));
			h.nwaiting++;
		}
	}
	struct berr err;
	if (healthfile_write(HEALTHFILE_PATH, &h, &err) < 0) {
		blog_warn("status for init: %s", err.msg);
	}
}

static void on_ctr_event(struct ctr *c, enum ctr_event ev)
{
	(void)c;
	(void)ev;
	status_write(NULL);
}

int status_init(void)
{
	status_write(NULL);
	return ctr_observe(on_ctr_event);
}

void status_ready(void)
{
	state = BERTHD_READY;
	status_write(NULL);
}

void status_refused(const char *why)
{
	state = BERTHD_REFUSED;
	status_write(why);
}
