/* The ssh transport to a Berth host (see remote.h). */
#include "cli/remote.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"

static const struct remote *target;

const struct remote *remote_target(void)
{
	return target;
}

void remote_set_target(const struct remote *r)
{
	target = r;
}

static int all_of(const char *s, size_t n, const char *allowed)
{
	for (size_t i = 0; i < n; i++) {
		if (strchr(allowed, s[i]) == NULL || s[i] == '\0') {
			return 0;
		}
	}
	return 1;
}

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

static int parse_port(const char *p, size_t n, struct remote *r, const char *url, struct berr *err)
{
	if (n == 0 || n > 5 || !all_of(p, n, "0123456789") || atoi(p) < 1 || atoi(p) > 65535) {
		return berr_setx(err, EINVAL, "%s: the port is not a number from 1 to 65535", url);
	}
	memcpy(r->port, p, n);
	r->port[n] = '\0';
	return 0;
}

/* HOST[:PORT] or [IPV6][:PORT] */
static int parse_hostport(const char *s, struct remote *r, const char *url, struct berr *err)
{
	const char *host = s;
	size_t hlen;
	const char *rest;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL) {
			return berr_setx(err, EINVAL, "%s: no ']' after the IPv6 address", url);
		}
		host = s + 1;
		hlen = (size_t)(close - host);
		if (!all_of(host, hlen, "0123456789abcdefABCDEF:.")) {
			return berr_setx(err, EINVAL, "%s: not an IPv6 address in [ ]", url);
		}
		rest = close + 1;
	} else {
		hlen = strcspn(s, ":");
		rest = s + hlen;
		if (!all_of(host, hlen, NAME_CHARS ".-_")) {
			return berr_setx(err, EINVAL,
					 "%s: the host name has characters other than letters, digits, '.', "
					 "'-' and '_'",
					 url);
		}
	}
	if (hlen == 0 || hlen >= sizeof(r->host) || host[0] == '-') {
		return berr_setx(err, EINVAL, "%s: no host name (or one that begins with '-')", url);
	}
	memcpy(r->host, host, hlen);
	r->host[hlen] = '\0';
	if (rest[0] == '\0') {
		return 0;
	}
	if (rest[0] != ':') {
		return berr_setx(err, EINVAL, "%s: '%c' after the host name", url, rest[0]);
	}
	return parse_port(rest + 1, strlen(rest + 1), r, url, err);
}

int remote_parse(const char *url, struct remote *r, struct berr *err)
{
	memset(r, 0, sizeof(*r));
	static const char scheme[] = "ssh://";
	if (strncmp(url, scheme, sizeof(scheme) - 1) != 0) {
		return berr_setx(err, EINVAL, "%s: a host is ssh://[USER@]HOST[:PORT]", url);
	}
	if (copy_string(r->url, sizeof(r->url), url) < 0) {
		return berr_setx(err, ENAMETOOLONG, "%.40s...: longer than %d bytes", url, REMOTE_URL_MAX - 1);
	}
	const char *s = url + sizeof(scheme) - 1;
	if (strchr(s, '/') != NULL || strchr(s, '?') != NULL) {
		return berr_setx(err, EINVAL, "%s: a host has no path", url);
	}
	const char *at = strchr(s, '@');
	if (at != NULL) {
		size_t ulen = (size_t)(at - s);
		if (ulen == 0 || ulen >= sizeof(r->user) || s[0] == '-' || !all_of(s, ulen, NAME_CHARS "._-")) {
			return berr_setx(err, EINVAL,
					 "%s: the user name is empty, too long or has characters other "
					 "than letters, digits, '.', '_' and '-'",
					 url);
		}
		memcpy(r->user, s, ulen);
		r->user[ulen] = '\0';
		s = at + 1;
	}
	return parse_hostport(s, r, url, err);
}

/* ---- quoting and the ssh command line ------------------------------------------------------------------- */

/* Appends s to the growing buffer *buf (of *len bytes used), quoted for a
 * POSIX shell: ssh hands its command to the remote user's shell. */
static int append_quoted(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t need = *len + 4 * strlen(s) + 4;
	if (need > *cap) {
		size_t ncap = need * 2;
		char *n = realloc(*buf, ncap);
		if (n == NULL) {
			return -ENOMEM;
		}
		*buf = n;
		*cap = ncap;
	}
	char *p = *buf + *len;
	if (*len > 0) {
		*p++ = ' ';
	}
	*p++ = '\'';
	for (const char *c = s; *c != '\0'; c++) {
		if (*c == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else {
			*p++ = *c;
		}
	}
	*p++ = '\'';
	*p = '\0';
	*len = (size_t)(p - *buf);
	return 0;
}

/* "berth" and the quoted words, for the remote shell; NULL when out of
 * memory. */
static char *remote_command(int argc, char **argv)
{
	size_t cap = 64;
	size_t len = 5;
	char *buf = malloc(cap);
	if (buf == NULL) {
		return NULL;
	}
	memcpy(buf, "berth", 6);
	for (int i = 0; i < argc; i++) {
		if (append_quoted(&buf, &len, &cap, argv[i]) < 0) {
			free(buf);
			return NULL;
		}
	}
	return buf;
}

#define SSH_ARGS_MAX 32

/* The ssh options for r and how to run it; av gets NULL-terminated words
 * after the ssh command itself. */
static size_t ssh_args(const struct remote *r, const char **av, const char *mode, const char *command)
{
	size_t n = 0;
	av[n++] = mode;
	if (r->port[0] != '\0') {
		av[n++] = "-p";
		av[n++] = r->port;
	}
	if (r->user[0] != '\0') {
		av[n++] = "-l";
		av[n++] = r->user;
	}
	if (r->identity[0] != '\0') {
		av[n++] = "-i";
		av[n++] = r->identity;
		av[n++] = "-o";
		av[n++] = "IdentitiesOnly=yes";
	}
	if (r->known_hosts_opt[0] != '\0') {
		av[n++] = "-o";
		av[n++] = r->known_hosts_opt;
		av[n++] = "-o";
		av[n++] = "StrictHostKeyChecking=accept-new";
	}
	if (r->fresh) {
		static const char *const fresh[] = {"ConnectTimeout=5", "ServerAliveInterval=2",
						    "ServerAliveCountMax=3", "ControlPath=none"};
		for (size_t i = 0; i < sizeof(fresh) / sizeof(fresh[0]); i++) {
			av[n++] = "-o";
			av[n++] = fresh[i];
		}
	}
	av[n++] = "--";
	av[n++] = r->host;
	av[n++] = command;
	av[n] = NULL;
	return n;
}

static void av_insert_batchmode(const char **av)
{
	size_t n = 0;
	while (av[n] != NULL) {
		n++;
	}
	memmove(av + 3, av + 1, n * sizeof(*av)); /* after the mode, with the NULL */
	av[1] = "-o";
	av[2] = "BatchMode=yes";
}

/* The child starts clean: the CLI may have blocked signals for its
 * signalfd (attach) or ignored SIGPIPE. */
static void child_signals(void)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
}

/* In the child: runs ssh with av (BERTH_SSH_COMMAND through the shell,
 * so that its quotes work as the user wrote them). Never returns. */
static void exec_ssh(const char **av)
{
	const char *custom = getenv("BERTH_SSH_COMMAND");
	if (custom != NULL && custom[0] != '\0') {
		const char *sv[SSH_ARGS_MAX + 5];
		size_t n = 0;
		sv[n++] = "/bin/sh";
		sv[n++] = "-c";
		sv[n++] = "eval \"exec $BERTH_SSH_COMMAND \\\"\\$@\\\"\"";
		sv[n++] = "berth-ssh";
		for (size_t i = 0; av[i] != NULL; i++) {
			sv[n++] = av[i];
		}
		sv[n] = NULL;
		execv("/bin/sh", (char *const *)sv);
	} else {
		const char *sv[SSH_ARGS_MAX + 2];
		size_t n = 0;
		sv[n++] = "ssh";
		for (size_t i = 0; av[i] != NULL; i++) {
			sv[n++] = av[i];
		}
		sv[n] = NULL;
		execvp("ssh", (char *const *)sv);
	}
	fprintf(stderr, "berth: run ssh: %s\n", strerror(errno));
	_exit(255);
}

/* The ssh processes of earlier connections. Each ends when its socket
 * closes; reaping them at the next dial keeps a long `berth stats`, which
 * dials once a sample, from piling up zombies. */
#define DIALED_MAX 16
static pid_t dialed[DIALED_MAX];
static size_t ndialed;

static void remember_dialed(pid_t pid)
{
	size_t kept = 0;
	for (size_t i = 0; i < ndialed; i++) {
		if (waitpid(dialed[i], NULL, WNOHANG) == 0) {
			dialed[kept++] = dialed[i];
		}
	}
	ndialed = kept;
	if (ndialed < DIALED_MAX) {
		dialed[ndialed++] = pid;
	}
}

int remote_dial(const struct remote *r, const char *path, struct berr *err)
{
	char *words[] = {"system", "dial-stdio", (char *)path};
	auto_free char *command = remote_command(3, words);
	if (command == NULL) {
		return berr_set(err, ENOMEM, "connect to %s", r->url);
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		return berr_set(err, errno, "connect to %s: socketpair", r->url);
	}
	/* No prompt can be answered from another process group (ssh would
	 * stop on the terminal): keys come from files or an agent, as with
	 * docker -H ssh://. BERTH_SSH_COMMAND's own -o BatchMode comes first
	 * and wins. */
	const char *av[SSH_ARGS_MAX];
	ssh_args(r, av, "-T", command);
	av_insert_batchmode(av);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return berr_set(err, e, "connect to %s: fork", r->url);
	}
	if (pid == 0) {
		setpgid(0, 0);
		child_signals();
		if (dup2(sv[1], STDIN_FILENO) < 0 || dup2(sv[1], STDOUT_FILENO) < 0) {
			_exit(255);
		}
		exec_ssh(av);
	}
	close(sv[1]);
	remember_dialed(pid);
	return sv[0];
}

static pid_t spawn(const struct remote *r, int argc, char **argv, const char *mode, int in_fd, int out_fd)
{
	auto_free char *command = remote_command(argc, argv);
	if (command == NULL) {
		fprintf(stderr, "berth: %s: out of memory\n", r->url);
		return -1;
	}
	const char *av[SSH_ARGS_MAX];
	ssh_args(r, av, mode, command);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "berth: %s: fork: %s\n", r->url, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		child_signals();
		if ((in_fd >= 0 && dup2(in_fd, STDIN_FILENO) < 0) || (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)) {
			_exit(255);
		}
		exec_ssh(av);
	}
	return pid;
}

int remote_wait(pid_t pid)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			return 255;
		}
	}
	if (WIFEXITED(status)) {
		return WEXITSTATUS(status);
	}
	return 128 + WTERMSIG(status);
}

pid_t remote_spawn(const struct remote *r, int argc, char **argv, int in_fd, int out_fd)
{
	return spawn(r, argc, argv, "-T", in_fd, out_fd);
}

int remote_exec(const struct remote *r, int argc, char **argv, int tty, int no_stdin)
{
	pid_t pid = spawn(r, argc, argv, tty ? "-t" : no_stdin ? "-nT" : "-T", -1, -1);
	if (pid < 0) {
		return 255;
	}
	/* ssh owns the terminal meanwhile: Ctrl-C goes to the host through it. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	return remote_wait(pid);
}
