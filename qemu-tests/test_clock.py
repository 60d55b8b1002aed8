"""The wall clock jumps a day forward and a day back (NTP correcting a dead
RTC, an operator's `date -s`): restart backoff, healthchecks, container
log rotation and the host log go on as before. Everything that measures a
duration must use the monotonic clock; the wall clock only stamps records.
One VM serves the module, the checks run in order."""
import json
import time

import pytest

from sshhost import stack_host, up_at_least, wait

DAY = 86400

COMPOSE = """
name: clk
services:
  crashy:
    image: busybox
    command: ["sh", "-c", "sleep 1; exit 3"]
    restart: always
  fine:
    image: busybox
    command: ["sleep", "100000"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  never:
    image: busybox
    command: ["sleep", "100000"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      retries: 2
      start_period: 40s
  chatty:
    image: busybox
    command: ["sh", "-c", "i=0; while :; do i=$$((i+1)); echo line $$i; sleep 0.02; done"]
    logging:
      options:
        max-size: 8k
        max-file: "2"
"""


@pytest.fixture(scope="module")
def host(image, workdir):
    h = stack_host(image, workdir, COMPOSE, "clock", up_at_least(3), "the stack to run")
    yield h
    h.kill()


def inspect(h, name):
    return json.loads(h.run(f"berth inspect {name}", check=True).stdout)[0]


def jump(h, seconds):
    h.run(f"date -s @$(( $(date +%s) + {seconds} ))", check=True)


def last_line(h):
    out = h.run("berth logs --tail 1 chatty", check=True).stdout.split()
    return int(out[-1]) if out else 0


def log_bytes(h):
    """The bytes of chatty's log files on DATA (the current file and the
    rotated ones)."""
    path = inspect(h, "chatty")["log_path"]
    return int(h.run(f"cat {path} {path}.* | wc -c", check=True).stdout.strip())


@pytest.mark.parametrize("seconds", [DAY, -DAY])
def test_everything_goes_on_after_a_jump(host, seconds):
    restarts = inspect(host, "crashy")["restart_count"]
    checks = len(inspect(host, "fine")["health_check"]["log"])
    line = last_line(host)
    jump(host, seconds)
    host.run("echo clock-jump-marker-%d > /dev/kmsg" % seconds, check=True)
    # Restart policy: the crash loop goes on (its backoff is capped at 60 s).
    wait(host, lambda: inspect(host, "crashy")["restart_count"] > restarts, 90, "crashy to restart")
    # Healthchecks keep running on time and stay healthy.
    fine = wait(host, lambda: (lambda c: c if c["health_check"]["log"][-1]["end_ms"] / 1000 > time.time() + seconds
                               - 3600 else None)(inspect(host, "fine")), 30, "a healthcheck after the jump")
    assert fine["health"] == "healthy"
    assert len(fine["health_check"]["log"]) >= min(checks, 4)
    # The container's log goes on, and rotation keeps it within max-size x max-file.
    wait(host, lambda: last_line(host) > line + 50, 60, "new log lines")
    assert log_bytes(host) <= 2 * 8192 + 512
    # The host log was written after the jump.
    wait(host, lambda: "clock-jump-marker-%d" % seconds in host.run("hostlog -n 200").stdout, 30,
         "the host log to go on")


def test_start_period_is_measured_on_the_monotonic_clock(host):
    """never's check never passes; restarted, then the wall clock set a day
    back: its 40 s start period must end 40 s after the start, not a day
    later (which is what measuring it on the wall clock did)."""
    before = inspect(host, "never")["started_ms"]
    host.run("berth restart never", check=True)
    wait(host, lambda: inspect(host, "never")["started_ms"] != before, 60, "never to start again")
    assert inspect(host, "never")["health"] == "starting"
    jump(host, -DAY)
    try:
        wait(host, lambda: inspect(host, "never")["health"] == "unhealthy", 120, "never to be unhealthy")
    finally:
        jump(host, DAY)
