/* Signal names (see signame.h). */
#include "lib/signame.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <strings.h>

static const struct {
	const char *name;
	int sig;
} names[] = {
	{"ABRT", SIGABRT},   {"ALRM", SIGALRM}, {"BUS", SIGBUS},   {"CHLD", SIGCHLD},	  {"CONT", SIGCONT},
	{"FPE", SIGFPE},     {"HUP", SIGHUP},	{"ILL", SIGILL},   {"INT", SIGINT},	  {"IO", SIGIO},
	{"IOT", SIGIOT},     {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},	  {"PROF", SIGPROF},
	{"PWR", SIGPWR},     {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV}, {"STKFLT", SIGSTKFLT}, {"STOP", SIGSTOP},
	{"SYS", SIGSYS},     {"TERM", SIGTERM}, {"TRAP", SIGTRAP}, {"TSTP", SIGTSTP},	  {"TTIN", SIGTTIN},
	{"TTOU", SIGTTOU},   {"URG", SIGURG},	{"USR1", SIGUSR1}, {"USR2", SIGUSR2},	  {"VTALRM", SIGVTALRM},
	{"WINCH", SIGWINCH}, {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};

/* A decimal number of at most three digits, nothing else; -1 otherwise. */
static int small_number(const char *s)
{
	int n = 0;
	int digits = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (++digits > 3) {
			return -1;
		}
		n = n * 10 + (*s - '0');
	}
	return digits > 0 && *s == '\0' ? n : -1;
}

int signal_parse(const char *s, int *sig)
{
	int n = small_number(s);
	if (n >= 0) {
		if (n < 1 || n > SIGNAME_RTMAX) {
			return -EINVAL;
		}
		*sig = n;
		return 0;
	}
	const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(names[i].name, name) == 0) {
			*sig = names[i].sig;
			return 0;
		}
	}
	int base;
	char sign;
	if (strncasecmp(name, "RTMIN", 5) == 0) {
		base = SIGNAME_RTMIN;
		sign = '+';
	} else if (strncasecmp(name, "RTMAX", 5) == 0) {
		base = SIGNAME_RTMAX;
		sign = '-';
	} else {
		return -EINVAL;
	}
	const char *rest = name + 5;
	if (*rest == '\0') {
		*sig = base;
		return 0;
	}
	n = *rest == sign ? small_number(rest + 1) : -1;
	if (n < 0 || n > SIGNAME_RTMAX - SIGNAME_RTMIN) {
		return -EINVAL;
	}
	*sig = sign == '+' ? base + n : base - n;
	return 0;
}
