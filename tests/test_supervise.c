/* The wait for retired services that a live network change continues from
 * (svc_retire_await, svc_after_retired): its step runs from svc_tick once
 * every awaited service has ended, or at its deadline with those left
 * named, never twice, never from the call that starts the wait, and never
 * once services are stopping. Real children (sleep) stand for DHCP
 * clients; times are passed in, so no test waits for a clock. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "init/supervise.h"
#include "lib/log.h"

static int done_calls;
static char warned[1024];

static void done(void)
{
	done_calls++;
}

static void capture(enum blog_level level, const char *msg)
{
	if (level == BLOG_WARN) {
		snprintf(warned, sizeof(warned), "%s", msg);
	}
}

/* A sleeping child under name; stop_signal 0 is SIGTERM, which ends it. */
static pid_t start_sleeper(const char *name, int stop_signal)
{
	struct svc_def def = {.name = name, .argv = {"/bin/sleep", "100", NULL}, .stop_signal = stop_signal};
	CHECK_EQ_INT(svc_add_start(&def, 1000), 0);
	pid_t pid = svc_pid(name);
	CHECK(pid > 0);
	return pid;
}

/* Reaps pid as init's loop does on SIGCHLD. */
static void reap(pid_t pid, uint64_t now_ms)
{
	int status = 0;
	CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
	CHECK_EQ_INT(svc_child_exited(pid, status, now_ms), 1);
}

static void test_step_runs_once_every_awaited_service_has_ended(void)
{
	done_calls = 0;
	pid_t one = start_sleeper("dhcp-eth0", 0);
	pid_t two = start_sleeper("dhcp-eth1", 0);
	svc_retire_await("dhcp-eth0");
	svc_retire_await("dhcp-eth1");
	svc_after_retired(1000 + 3000, done);
	CHECK_EQ_INT(done_calls, 0);
	/* The loop sleeps until the deadline at most, never past it. */
	CHECK_EQ_INT(svc_timeout_ms(1000), 3000);
	reap(one, 1100);
	svc_tick(1100);
	CHECK_EQ_INT(done_calls, 0);
	reap(two, 1200);
	svc_tick(1200);
	CHECK_EQ_INT(done_calls, 1);
	svc_tick(1300);
	CHECK_EQ_INT(done_calls, 1);
	CHECK_EQ_INT(svc_timeout_ms(1300), -1);
	/* Retired: not started again. */
	CHECK_EQ_INT(svc_pid("dhcp-eth0"), 0);
	CHECK_EQ_INT(svc_pid("dhcp-eth1"), 0);
}

static void test_deadline_goes_on_without_a_service_that_does_not_stop(void)
{
	done_calls = 0;
	warned[0] = '\0';
	/* SIGWINCH: sleep ignores it, as a client stuck in its script would. */
	pid_t stuck = start_sleeper("dhcp-stuck", SIGWINCH);
	svc_retire_await("dhcp-stuck");
	svc_after_retired(2000 + 3000, done);
	svc_tick(4999);
	CHECK_EQ_INT(done_calls, 0);
	CHECK_EQ_INT(svc_timeout_ms(4999), 1);
	svc_tick(5000);
	CHECK_EQ_INT(done_calls, 1);
	CHECK_STR_CONTAINS(warned, "dhcp-stuck: still running");
	/* Let go: its end later is no step of a wait. */
	kill(stuck, SIGKILL);
	reap(stuck, 6000);
	svc_tick(6000);
	CHECK_EQ_INT(done_calls, 1);
}

/* No client ran (a static network), or the one named is gone already: the
 * step runs at the loop's next tick, not from the call. */
static void test_nothing_to_wait_for_runs_at_the_next_tick(void)
{
	done_calls = 0;
	svc_retire_await("dhcp-none");
	svc_retire_await("dhcp-eth0"); /* ended in the first test */
	svc_after_retired(7000 + 3000, done);
	CHECK_EQ_INT(done_calls, 0);
	svc_tick(7000);
	CHECK_EQ_INT(done_calls, 1);
}

/* A reload while a wait is pending moves its deadline; the step runs once. */
static void test_a_second_wait_replaces_the_first(void)
{
	done_calls = 0;
	pid_t stuck = start_sleeper("dhcp-slow", SIGWINCH);
	svc_retire_await("dhcp-slow");
	svc_after_retired(8000 + 3000, done);
	svc_after_retired(9000 + 3000, done);
	svc_tick(11000);
	CHECK_EQ_INT(done_calls, 0);
	svc_tick(12000);
	CHECK_EQ_INT(done_calls, 1);
	kill(stuck, SIGKILL);
	reap(stuck, 12000);
}

/* Last: stopping is for good. A shutdown drops a pending step. */
static void test_no_step_once_services_are_stopping(void)
{
	done_calls = 0;
	svc_after_retired(13000 + 3000, done);
	svc_stop_all(0);
	svc_tick(20000);
	CHECK_EQ_INT(done_calls, 0);
}

int main(void)
{
	blog_sink(capture);
	RUN(test_step_runs_once_every_awaited_service_has_ended);
	RUN(test_deadline_goes_on_without_a_service_that_does_not_stop);
	RUN(test_nothing_to_wait_for_runs_at_the_next_tick);
	RUN(test_a_second_wait_replaces_the_first);
	RUN(test_no_step_once_services_are_stopping);
	return check_summary();
}
