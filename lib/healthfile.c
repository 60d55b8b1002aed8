/* berthd's status for init (see healthfile.h). */
#include "lib/healthfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fsutil.h"

static const char *const state_names[] = {"starting", "ready", "refused"};

/* Keeps a field on one line of the file. */
static void one_line(char *s)
{
	for (; *s; s++) {
		if (*s == '\n' || *s == '\r') {
			*s = ' ';
		}
	}
}

char *healthfile_format(const struct healthfile *h)
{
	size_t size = 1024 + sizeof(h->message) + h->nwaiting * 200;
	char *out = malloc(size);
	if (out == NULL) {
		return NULL;
	}
	char msg[sizeof(h->message)];
	copy_string(msg, sizeof(msg), h->message);
	one_line(msg);
	size_t n = (size_t)snprintf(out, size, "berthd-status 1\npid %d\nstate %s\n", (int)h->pid,
				    state_names[(unsigned)h->state < 3 ? h->state : 0]);
	if (msg[0] != '\0') {
		n += (size_t)snprintf(out + n, size - n, "message %s\n", msg);
	}
	n += (size_t)snprintf(out + n, size - n, "checked %d\nhealthy %d\n", h->checked, h->healthy);
	for (size_t i = 0; i < h->nwaiting && i < HEALTHFILE_MAX_WAITING; i++) {
		n += (size_t)snprintf(out + n, size - n, "waiting %s %s\n", h->waiting[i].name, h->waiting[i].status);
	}
	return out;
}

int healthfile_parse(struct healthfile *h, const char *text, struct berr *err)
{
	memset(h, 0, sizeof(*h));
	if (strncmp(text, "berthd-status 1\n", 16) != 0) {
		return berr_setx(err, EINVAL, "not a berthd status file");
	}
	const char *p = text + 16;
	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		char line[768];
		if (len >= sizeof(line)) {
			return berr_setx(err, EINVAL, "berthd status: a line is too long");
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (eol != NULL);
		char *sp = strchr(line, ' ');
		if (sp == NULL) {
			continue;
		}
		*sp = '\0';
		const char *v = sp + 1;
		if (strcmp(line, "pid") == 0) {
			h->pid = (pid_t)atoi(v);
		} else if (strcmp(line, "state") == 0) {
			for (int i = 0; i < 3; i++) {
				if (strcmp(v, state_names[i]) == 0) {
					h->state = (enum berthd_state)i;
				}
			}
		} else if (strcmp(line, "message") == 0) {
			copy_string(h->message, sizeof(h->message), v);
		} else if (strcmp(line, "checked") == 0) {
			h->checked = atoi(v);
		} else if (strcmp(line, "healthy") == 0) {
			h->healthy = atoi(v);
		} else if (strcmp(line, "waiting") == 0 && h->nwaiting < HEALTHFILE_MAX_WAITING) {
			const char *st = strrchr(v, ' ');
			size_t nlen = st != NULL ? (size_t)(st - v) : strlen(v);
			if (nlen >= sizeof(h->waiting[0].name)) {
				continue;
			}
			memcpy(h->waiting[h->nwaiting].name, v, nlen);
			h->waiting[h->nwaiting].name[nlen] = '\0';
			copy_string(h->waiting[h->nwaiting].status, sizeof(h->waiting[0].status),
				    st != NULL ? st + 1 : "");
			h->nwaiting++;
		}
	}
	return 0;
}

int healthfile_write(const char *path, const struct healthfile *h, struct berr *err)
{
	char *text = healthfile_format(h);
	if (text == NULL) {
		return berr_setx(err, ENOMEM, "berthd status");
	}
	int ret = write_file_atomic(path, text, strlen(text), 0644, 0, err);
	free(text);
	return ret;
}

int healthfile_read(const char *path, struct healthfile *h, struct berr *err)
{
	char buf[8192];
	ssize_t n = read_file(path, buf, sizeof(buf), err);
	if (n < 0) {
		return (int)n;
	}
	return healthfile_parse(h, buf, err);
}
