/* Logging for Berth's programs. One line per message, with the program's
 * name; a message is written once, at the top level that decides it is
 * worth telling (see STYLE.md). In PID 1 the sink is /dev/kmsg, so that
 * init's messages and the kernel's share one log and one console filter. */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

enum blog_level {
	BLOG_ERR = 3,
	BLOG_WARN = 4,
	BLOG_NOTICE = 5,
	BLOG_INFO = 6,
	BLOG_DEBUG = 7,
};

/* ident prefixes every line. kmsg_fd >= 0 sends messages to the kernel log
 * (the fd is kept, not closed); otherwise they go to stderr. */
void blog_init(const char *ident, int kmsg_fd);

/* Messages go to fn instead (the message without the program's name): for
 * a runtime whose stderr belongs to a container (berth-oci --log). */
void blog_sink(void (*fn)(enum blog_level level, const char *msg));

void blog(enum blog_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like blog, with another name than the program's (init logs its services'
 * output under the service's name). */
void blog_as(enum blog_level level, const char *ident, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define blog_err(...) blog(BLOG_ERR, __VA_ARGS__)
#define blog_warn(...) blog(BLOG_WARN, __VA_ARGS__)
#define blog_notice(...) blog(BLOG_NOTICE, __VA_ARGS__)
#define blog_info(...) blog(BLOG_INFO, __VA_ARGS__)
#define blog_debug(...) blog(BLOG_DEBUG, __VA_ARGS__)

#endif
