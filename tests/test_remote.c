/* The remote CLI's pieces that need no host: host URLs, the sockets
 * dial-stdio may join, context names and files, frames over pipes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "cli/context.h"
#include "cli/dialstdio.h"
#include "cli/remote.h"
#include "proto/proto.h"

static void test_urls(void)
{
	struct remote r;
	struct berr err = {0};
	CHECK_EQ_INT(remote_parse("ssh://root@host.example:2222", &r, &err), 0);
	CHECK(strcmp(r.user, "root") == 0 && strcmp(r.host, "host.example") == 0 && strcmp(r.port, "2222") == 0);
	CHECK_EQ_INT(remote_parse("ssh://10.0.0.7", &r, &err), 0);
	CHECK(r.user[0] == '\0' && strcmp(r.host, "10.0.0.7") == 0 && r.port[0] == '\0');
	CHECK_EQ_INT(remote_parse("ssh://admin@[fe80::1]:22", &r, &err), 0);
	CHECK(strcmp(r.host, "fe80::1") == 0 && strcmp(r.port, "22") == 0);
	static const char *const bad[] = {
		"host",			  /* no scheme */
		"tcp://host:2375",	  /* not ssh */
		"ssh://",		  /* no host */
		"ssh://root@",		  /* no host */
		"ssh://@host",		  /* empty user */
		"ssh://-oProxyCommand=x", /* an option to ssh */
		"ssh://-l@host",	  /* a user that is an option */
		"ssh://host:0",		  /* port */
		"ssh://host:65536",
		"ssh://host:22x",
		"ssh://host:",
		"ssh://host/path",
		"ssh://ho st",
		"ssh://host;reboot",
		"ssh://[::1",
		"ssh://[zz::1]:22",
		"ssh://root@[::1]x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		berr_clear(&err);
		int ret = remote_parse(bad[i], &r, &err);
		CHECK_EQ_INT(ret, -EINVAL);
		CHECK_STR_CONTAINS(err.msg, bad[i]);
	}
}

static void test_dial_paths(void)
{
	CHECK(dialstdio_path_allowed("/run/berth/berth.sock"));
	CHECK(dialstdio_path_allowed("/run/berth/c/web/attach.sock"));
	CHECK(!dialstdio_path_allowed("/run/berth/c/../berth.sock/attach.sock"));
	CHECK(!dialstdio_path_allowed("/run/berth/c/../attach.sock"));
	CHECK(!dialstdio_path_allowed("/run/berth/c/./attach.sock"));
	CHECK(!dialstdio_path_allowed("/run/berth/c/a/b/attach.sock"));
	CHECK(!dialstdio_path_allowed("/run/berth/c//attach.sock"));
	CHECK(!dialstdio_path_allowed("/etc/passwd"));
	CHECK(!dialstdio_path_allowed("/run/berth/berth.sock2"));
	CHECK(!dialstdio_path_allowed("/run/berth/c/web/attach.sock/x"));
}

static void test_contexts(void)
{
	char dir[] = "/tmp/test_remote.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	setenv("XDG_CONFIG_HOME", dir, 1);
	struct berr err = {0};
	char name[CONTEXT_NAME_MAX];
	CHECK_EQ_INT(context_current(name, sizeof(name), &err), 0);
	CHECK(strcmp(name, "default") == 0);
	struct remote r;
	CHECK_EQ_INT(context_host("default", &r, &err), 0);
	CHECK_EQ_INT(context_host("nope", &r, &err), -ENOENT);
	CHECK_STR_CONTAINS(err.msg, "'nope' does not exist");
	CHECK_EQ_INT(context_host("../x", &r, &err), -EINVAL);
	CHECK_EQ_INT(context_name_valid("prod-1.eu_west", &err), 0);
	CHECK_EQ_INT(context_name_valid("-x", &err), -EINVAL);
	CHECK_EQ_INT(context_name_valid("", &err), -EINVAL);

	char *create[] = {"context", "create", "prod", "--host", "ssh://root@10.1.2.3:2200", NULL};
	CHECK_EQ_INT(context_main(5, create), 0);
	CHECK_EQ_INT(context_main(5, create), 1); /* exists */
	CHECK_EQ_INT(context_host("prod", &r, &err), 1);
	CHECK(strcmp(r.host, "10.1.2.3") == 0 && strcmp(r.port, "2200") == 0);
	CHECK(r.identity[0] == '\0' && r.known_hosts_opt[0] == '\0');
	/* berth machine's: a key and a known_hosts file of its own. */
	char *keyed[] = {"context",
			 "create",
			 "vm",
			 "--host",
			 "ssh://root@127.0.0.1:2230",
			 "--ssh-key",
			 "/m/vm/id",
			 "--known-hosts",
			 "/m/vm/known_hosts",
			 NULL};
	CHECK_EQ_INT(context_main(9, keyed), 0);
	CHECK_EQ_INT(context_host("vm", &r, &err), 1);
	CHECK(strcmp(r.identity, "/m/vm/id") == 0);
	CHECK(strcmp(r.known_hosts_opt, "UserKnownHostsFile=/m/vm/known_hosts") == 0);
	char *relative[] = {"context", "create", "vm2", "--host", "ssh://h", "--ssh-key", "id", NULL};
	CHECK_EQ_INT(context_main(7, relative), 1);
	CHECK_EQ_INT(context_host("vm2", &r, &err), -ENOENT);
	char *use[] = {"context", "use", "prod", NULL};
	CHECK_EQ_INT(context_main(3, use), 0);
	CHECK_EQ_INT(context_current(name, sizeof(name), &err), 0);
	CHECK(strcmp(name, "prod") == 0);
	char *rm[] = {"context", "rm", "prod", NULL};
	CHECK_EQ_INT(context_main(3, rm), 1); /* in use */
	char *rmf[] = {"context", "rm", "-f", "prod", NULL};
	CHECK_EQ_INT(context_main(4, rmf), 0);
	CHECK_EQ_INT(context_current(name, sizeof(name), &err), 0);
	CHECK(strcmp(name, "default") == 0);

	/* A context file edited by hand into nonsense is named. */
	char path[256];
	snprintf(path, sizeof(path), "%s/berth/contexts/broken", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs("host=ssh://a b\n", f);
		fclose(f);
	}
	CHECK_EQ_INT(context_host("broken", &r, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "context 'broken'");
	/* Without a home (a service, a healthcheck) berth talks to this
	 * machine's berthd. */
	unsetenv("XDG_CONFIG_HOME");
	char *home = getenv("HOME") != NULL ? strdup(getenv("HOME")) : NULL;
	unsetenv("HOME");
	CHECK_EQ_INT(context_current(name, sizeof(name), &err), 0);
	CHECK(strcmp(name, "default") == 0);
	if (home != NULL) {
		setenv("HOME", home, 1);
		free(home);
	}
	CHECK_EQ_INT(check_rmtree(dir), 0);
	unsetenv("XDG_CONFIG_HOME");
}

/* dial-stdio reads and writes frames on pipes (sshd's stdio). */
static void test_frames_over_pipes(void)
{
	int p[2];
	CHECK_EQ_INT(pipe2(p, O_CLOEXEC), 0);
	struct berr err = {0};
	CHECK_EQ_INT(proto_send_str(p[1], PROTO_REQUEST, "{\"cmd\":\"ps\"}", &err), 0);
	CHECK_EQ_INT(proto_send(p[1], PROTO_STDIN_EOF, "", 0, NULL, 0, &err), 0);
	close(p[1]);
	struct proto_frame f;
	CHECK_EQ_INT(proto_recv(p[0], &f, &err), 1);
	CHECK(f.type == PROTO_REQUEST && strcmp(f.data, "{\"cmd\":\"ps\"}") == 0 && f.nfds == 0);
	proto_frame_release(&f);
	CHECK_EQ_INT(proto_recv(p[0], &f, &err), 1);
	CHECK(f.type == PROTO_STDIN_EOF && f.len == 0);
	proto_frame_release(&f);
	CHECK_EQ_INT(proto_recv(p[0], &f, &err), 0);
	close(p[0]);
}

int main(void)
{
	RUN(test_urls);
	RUN(test_dial_paths);
	RUN(test_contexts);
	RUN(test_frames_over_pipes);
	return check_summary();
}
