"""The berth CLI of the build machine (out/host/berth) against a Berth VM
over ssh: -H, BERTH_HOST and contexts; API commands through `berth system
dial-stdio` on the host (ps, inspect, logs, load, run, attach), commands
that run on the host through the same ssh (exec, info, config check of
the host's /config). Terminals through a pty: typing, a resize, Ctrl-C,
exit codes. One VM serves the module."""
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time

import pytest

import imagegen
from sshhost import BERTH, stack_host, up_at_least, wait


COMPOSE = """
name: rem
services:
  talker:
    image: busybox
    command: ["sh", "-c", "i=0; while :; do i=$$((i+1)); echo out $$i; echo err $$i >&2; sleep 0.5; done"]
  burner:
    image: busybox
    command: ["sh", "-c", "while :; do :; done"]
  holder:
    image: busybox
    shm_size: 128m
    volumes: ["kept:/kept"]
    command: ["sh", "-c", "dd if=/dev/urandom of=/kept/mb bs=1M count=1 && sync && \\
              dd if=/dev/zero of=/dev/shm/held bs=1M count=64 && touch /tmp/held && exec sleep 1000000"]
volumes:
  kept:
"""


@pytest.fixture(scope="module")
def host(image, workdir):
    h = stack_host(image, workdir, COMPOSE, "remote", up_at_least(3), "the stack to run").reach_from_desk()
    yield h
    h.kill()


def desk(h, *args, **kw):
    return h.desk(*args, **kw)


def test_contexts_and_host_choose_where_commands_go(host):
    h = host
    r = desk(h, "context", "create", "other", "--host", h.url, "--description", "the test VM")
    assert r.returncode == 0, r.stderr
    ls = desk(h, "context", "ls").stdout.decode()
    assert "default *" in ls and h.url in ls and "the test VM" in ls, ls
    for how in (["-H", h.url, "ps"], ["-c", "other", "ps"], ["--host=" + h.url, "ps"]):
        r = desk(h, *how)
        assert r.returncode == 0 and b"talker" in r.stdout and b" Up " in r.stdout, (how, r.stdout, r.stderr)
    r = desk(h, "ps", env={"BERTH_HOST": h.url})
    assert b"talker" in r.stdout, r.stderr
    assert desk(h, "context", "use", "other").returncode == 0
    try:
        r = desk(h, "ps")
        assert b"talker" in r.stdout, r.stderr
        assert desk(h, "context", "rm", "other").returncode != 0  # in use
    finally:
        assert desk(h, "context", "use", "default").returncode == 0
    assert desk(h, "context", "rm", "other").returncode == 0
    assert "other" not in desk(h, "context", "ls").stdout.decode()
    r = desk(h, "-H", h.url, "-c", "vm", "ps")
    assert r.returncode != 0 and b"not both" in r.stderr


def test_a_host_that_cannot_be_reached_is_named(host):
    r = desk(host, "-H", "ssh://root@127.0.0.1:1", "ps")
    assert r.returncode != 0 and b"ssh://root@127.0.0.1:1" in r.stderr, r.stderr
    r = desk(host, "-H", "ssh://root@-oProxyCommand=x", "ps")
    assert r.returncode != 0 and b"host name" in r.stderr, r.stderr


def test_inspect_and_version_match_the_hosts_own(host):
    h = host
    r = desk(h, "-c", "vm", "inspect", "talker")
    assert r.returncode == 0, r.stderr
    mine = json.loads(r.stdout)[0]
    theirs = json.loads(h.run("berth inspect talker", check=True).stdout)[0]
    assert mine["name"] == theirs["name"] == "talker" and mine["pid"] == theirs["pid"] > 0, (mine, theirs)
    r = desk(h, "-c", "vm", "version")
    assert b"berthd " in r.stdout, r.stdout + r.stderr


def test_listings_as_json_lines_for_scripts(host):
    h = host
    for args, key, want in ((["ps", "-a"], "name", "talker"), (["images"], "tags", ["busybox:latest"])):
        r = desk(h, "-c", "vm", *args, "--format", "json")
        assert r.returncode == 0, r.stderr
        rows = [json.loads(line) for line in r.stdout.decode().splitlines()]
        assert any(row.get(key) == want for row in rows), (args, rows)
    r = desk(h, "-c", "vm", "network", "ls", "--format", "json")
    theirs = h.run("berth network ls --format json", check=True).stdout
    assert r.returncode == 0 and r.stdout.decode() == theirs and json.loads(theirs.splitlines()[0])["subnet"], \
        (r.stdout, theirs)
    r = desk(h, "-c", "vm", "ps", "--format", "table")
    assert r.returncode != 0 and b"json" in r.stderr


def test_stats_and_top_show_what_containers_use(host):
    h = host
    wait(h, lambda: h.run("berth exec holder test -f /tmp/held").returncode == 0, 120, "holder to hold 64 MiB")
    r = desk(h, "-c", "vm", "stats", "--no-stream", "--format", "json", "burner", "holder", "talker")
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in map(json.loads, r.stdout.decode().splitlines())}
    assert set(rows) == {"burner", "holder", "talker"}, rows
    # One CPU busy (less when the build machine's load takes the vCPU away), no more than one.
    assert 40 <= rows["burner"]["cpu_percent"] <= 130, rows["burner"]
    assert rows["talker"]["cpu_percent"] < 40, rows["talker"]
    assert rows["holder"]["mem"] >= 64 << 20 > rows["talker"]["mem"], (rows["holder"], rows["talker"])
    assert rows["holder"]["mem_limit"] >= rows["holder"]["mem"] and rows["holder"]["pids"] >= 1
    table = desk(h, "-c", "vm", "stats", "--no-stream").stdout.decode()
    assert table.splitlines()[0].split()[:3] == ["NAME", "CPU", "%"] and "holder" in table and "MiB" in table, table
    r = desk(h, "-c", "vm", "stats", "--no-stream", "nosuch")
    assert r.returncode != 0 and b"nosuch" in r.stderr
    # Streaming: a sample each second, each over its own ssh, which the CLI reaps once it ends.
    p = subprocess.Popen([BERTH, "-c", "vm", "stats", "--format", "json", "talker"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=h.env, stdin=subprocess.DEVNULL)
    try:
        samples = [p.stdout.readline() for _ in range(6)]
        assert all(b'"talker"' in line for line in samples), samples
        assert len(zombies_of(p.pid)) <= 1, zombies_of(p.pid)
    finally:
        p.kill()
        p.wait()
    r = desk(h, "-c", "vm", "top", "burner")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0].split() == ["UID", "PID", "PPID", "TIME", "CMD"], lines
    pid = json.loads(h.run("berth inspect burner", check=True).stdout)[0]["pid"]
    assert any(line.split()[1] == str(pid) and "while :" in line for line in lines[1:]), (pid, lines)


def zombies_of(pid):
    """The children of PID on this machine that ended and were not reaped."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] == "Z" and fields[1] == str(pid):
            found.append(int(entry))
    return found


def test_system_df_counts_images_containers_and_volumes(host):
    h = host
    r = desk(h, "-c", "vm", "system", "df", "--format", "json")
    assert r.returncode == 0, r.stderr
    df = json.loads(r.stdout)
    assert df["images"]["total"] >= 1 and df["images"]["active"] >= 1 and df["images"]["size"] > 0, df
    assert df["containers"]["total"] >= 3 and df["containers"]["active"] >= 3, df
    # talker's log grows on DATA: its container directory is not empty.
    assert df["containers"]["size"] > 0, df
    assert df["volumes"]["total"] >= 1 and df["volumes"]["active"] >= 1, df
    kept = [size for name, size in df["volume_sizes"].items() if name.endswith("kept")]
    assert kept and kept[0] >= 1 << 20, df
    table = desk(h, "-c", "vm", "system", "df", "-v").stdout.decode()
    assert table.splitlines()[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], table
    assert any(line.startswith("Images") for line in table.splitlines()), table


def test_cp_both_ways_and_never_out_of_the_container(host, workdir):
    h = host
    h.run("berth exec talker sh -c 'mkdir -p /tmp/d/sub && echo inner > /tmp/d/sub/f && ln -sf /etc/passwd /tmp/d/link "
          "&& ln -sfn / /tmp/esc'", check=True)
    here = os.path.join(workdir, "cp")
    os.makedirs(here, exist_ok=True)
    # Out of the container: a file to a new name, a directory to a new directory.
    r = desk(h, "-c", "vm", "cp", "talker:/etc/hosts", os.path.join(here, "hn"))
    assert r.returncode == 0, r.stderr
    assert open(os.path.join(here, "hn")).read() == h.run("berth exec talker cat /etc/hosts").stdout
    r = desk(h, "-c", "vm", "cp", "talker:/tmp/d", os.path.join(here, "dcopy"))
    assert r.returncode == 0, r.stderr
    assert open(os.path.join(here, "dcopy", "sub", "f")).read() == "inner\n"
    assert os.readlink(os.path.join(here, "dcopy", "link")) == "/etc/passwd"
    # A tar stream of it.
    r = desk(h, "-c", "vm", "cp", "talker:/tmp/d", "-")
    names = subprocess.run(["tar", "t"], input=r.stdout, capture_output=True).stdout.decode().split()
    assert "d/sub/f" in names and "d/link" in names, names
    # Into the container: a file into a directory, a directory to a new name.
    with open(os.path.join(here, "note"), "w") as f:
        f.write("from the desk\n")
    assert desk(h, "-c", "vm", "cp", os.path.join(here, "note"), "talker:/tmp/").returncode == 0
    assert h.run("berth exec talker cat /tmp/note").stdout == "from the desk\n"
    assert desk(h, "-c", "vm", "cp", os.path.join(here, "dcopy"), "talker:/tmp/d2").returncode == 0
    assert h.run("berth exec talker cat /tmp/d2/sub/f").stdout == "inner\n"
    # Through a symlink to "/" inside the container: its own /etc, not the host's.
    assert desk(h, "-c", "vm", "cp", os.path.join(here, "note"), "talker:/tmp/esc/etc/escaped").returncode == 0
    assert h.run("berth exec talker cat /etc/escaped").stdout == "from the desk\n"
    assert h.run("test -e /etc/escaped").returncode != 0
    # A crafted archive with ".." is refused by name, nothing written.
    evil = os.path.join(here, "evil.tar")
    subprocess.run(["tar", "cf", evil, "-C", here, "--transform", "s,^note,../../evil,", "note"], check=True)
    with open(evil, "rb") as f:
        r = subprocess.run([BERTH, "-c", "vm", "cp", "-", "talker:/tmp"], stdin=f, capture_output=True, env=h.env,
                           timeout=120)
    assert r.returncode != 0 and b"'..'" in r.stderr, r.stderr
    assert h.run("berth exec talker test -e /evil").returncode != 0
    # On the host itself, the same command.
    assert h.run("berth cp talker:/tmp/note /tmp/n && cat /tmp/n").stdout == "from the desk\n"


def test_logs_keep_stdout_and_stderr_apart(host):
    r = desk(host, "-c", "vm", "logs", "--tail", "6", "talker")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode().splitlines()
    err = r.stderr.decode().splitlines()
    assert out and all(line.startswith("out ") for line in out), out
    assert err and all(line.startswith("err ") for line in err), err


def test_logs_follow_ends_with_ctrl_c_and_leaves_nothing_on_the_host(host):
    h = host
    p = subprocess.Popen([BERTH, "-c", "vm", "logs", "-f", "--tail", "1", "talker"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=h.env, stdin=subprocess.DEVNULL)
    seen = []
    deadline = time.monotonic() + 60
    while len(seen) < 4 and time.monotonic() < deadline:
        line = p.stdout.readline()
        if line:
            seen.append(line)
    assert len(seen) >= 4, seen
    numbers = [int(x.split()[1]) for x in seen]
    assert numbers == sorted(numbers) and numbers[-1] > numbers[0], seen
    p.send_signal(signal.SIGINT)  # what Ctrl-C does to the foreground CLI
    assert p.wait(timeout=20) != 0
    wait(h, lambda: "dial-stdio" not in h.run("ps -o args").stdout, 30, "dial-stdio to end on the host")


def test_events_stream_replay_and_filter(host):
    h = host
    p = subprocess.Popen([BERTH, "-c", "vm", "events", "--filter", "container=talker", "--format", "json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=h.env, stdin=subprocess.DEVNULL)
    try:
        wait(h, lambda: "dial-stdio" in h.run("ps -o args").stdout, 30, "the stream to be open")
        r = desk(h, "-c", "vm", "restart", "-t", "1", "talker")
        assert r.returncode == 0, r.stderr
        seen = []
        while "start" not in seen:
            event = json.loads(p.stdout.readline())
            assert event["Actor"]["Attributes"]["name"] == "talker", event
            seen.append(event["Action"])
        assert seen == ["stop", "die", "start"], seen
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(timeout=20)
    wait(h, lambda: "dial-stdio" not in h.run("ps -o args").stdout, 30, "dial-stdio to end on the host")
    # What berthd kept: the die, with its exit code, in docker's words; --until ends the command.
    r = desk(h, "-c", "vm", "events", "--since", "10m", "--until", "0s", "--filter", "event=die", timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines and all(" container die " in line for line in lines), lines
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z container die talker \(image=busybox, "
                    r"name=talker, exitCode=\d+\)$", lines[-1]), lines
    r = desk(h, "-c", "vm", "events", "--since", "soon")
    assert r.returncode != 0 and b"--since soon" in r.stderr, r.stderr
    assert h.run("berth events --since 1h --until 0s --filter event=start").stdout.count("talker") >= 1


def test_load_streams_an_archive_from_the_desk(host, workdir):
    h = host
    layers = [imagegen.layer({"hello.txt": b"streamed\n"})]
    tar = os.path.join(workdir, "streamed.tar")
    imagegen.oci_tar(tar, [("streamed:1", layers, imagegen.config(layers))])
    r = desk(h, "-c", "vm", "load", "-i", tar)
    assert r.returncode == 0 and b"Loaded image: streamed:1" in r.stdout, r.stdout + r.stderr
    with open(tar, "rb") as f:
        data = f.read()
    imagegen.oci_tar(tar, [("streamed:2", layers, imagegen.config(layers))])
    with open(tar, "rb") as f:
        r = subprocess.run([BERTH, "-c", "vm", "load"], stdin=f, capture_output=True, env=h.env, timeout=120)
    assert r.returncode == 0 and b"Loaded image: streamed:2" in r.stdout, r.stdout + r.stderr
    images = desk(h, "-c", "vm", "images").stdout.decode()
    assert "streamed" in images, images
    r = desk(h, "-c", "vm", "load", input=data[:len(data) // 2])
    assert r.returncode != 0 and r.stderr, r.stdout + r.stderr


def test_run_and_exec_give_output_and_exit_codes(host):
    h = host
    r = desk(h, "-c", "vm", "run", "--rm", "busybox", "sh", "-c", "echo from run; echo to err >&2; exit 3")
    assert r.returncode == 3 and r.stdout == b"from run\n" and b"to err" in r.stderr, r
    r = desk(h, "-c", "vm", "exec", "talker", "sh", "-c", "echo from exec; echo 'it''s' >&2; exit 5")
    assert r.returncode == 5 and r.stdout == b"from exec\n" and b"its" in r.stderr, r
    r = desk(h, "-c", "vm", "exec", "-i", "talker", "cat", input=b"through stdin\n")
    assert r.returncode == 0 and r.stdout == b"through stdin\n", r


class Pty:
    """A command on a pseudo-terminal, as a user's terminal runs it."""

    def __init__(self, argv, env, rows=24, cols=80):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(argv[0], argv, env)
        self.resize(rows, cols)
        self.out = b""

    def resize(self, rows, cols):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def expect(self, needle, timeout=60):
        deadline = time.monotonic() + timeout
        while needle.encode() not in self.out:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{needle!r} did not come; the terminal shows:\n{self.out[-2000:]!r}")
            if select.select([self.fd], [], [], min(left, 1))[0]:
                try:
                    self.out += os.read(self.fd, 4096)
                except OSError:
                    raise AssertionError(f"the terminal closed before {needle!r}:\n{self.out[-2000:]!r}")
        start = self.out.index(needle.encode())
        self.out = self.out[start + len(needle):]

    def type(self, text):
        os.write(self.fd, text.encode())

    def exit_code(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            if select.select([self.fd], [], [], 0.5)[0]:
                try:
                    self.out += os.read(self.fd, 4096)
                except OSError:
                    pass
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"the command did not end; the terminal shows:\n{self.out[-2000:]!r}")


@pytest.mark.parametrize("how", ["exec", "run"])
def test_a_terminal_types_resizes_interrupts_and_exits(host, how):
    """exec -it (over ssh's own terminal) and run --rm -it (berthd's API
    and the attach socket through dial-stdio)."""
    h = host
    cmd = ["exec", "-it", "talker", "sh"] if how == "exec" else ["run", "--rm", "-it", "busybox", "sh"]
    t = Pty([BERTH, "-c", "vm", *cmd], h.env)
    t.type("echo ready$((6*7))\r")
    t.expect("ready42")
    t.resize(33, 101)
    time.sleep(1)
    t.type("stty size\r")
    t.expect("33 101")
    t.type("sleep 300\r")
    time.sleep(2)
    t.type("\x03")  # Ctrl-C: the sleep ends, the shell goes on
    t.type("echo back$((1+1))\r")
    t.expect("back2", timeout=30)
    t.type("exit 7\r")
    assert t.exit_code() == 7


def test_attach_follows_a_running_container(host):
    p = subprocess.Popen([BERTH, "-c", "vm", "attach", "talker"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=host.env, stdin=subprocess.DEVNULL)
    line = p.stdout.readline()
    assert line.startswith(b"out "), line
    p.kill()
    p.wait()


def test_config_check_here_and_there(host, workdir):
    h = host
    r = desk(h, "-c", "vm", "config", "check")
    assert r.returncode == 0, r.stdout + r.stderr  # the host's /config, on the host
    bad = os.path.join(workdir, "badconfig")
    os.makedirs(bad, exist_ok=True)
    with open(os.path.join(bad, "compose.yaml"), "w") as f:
        f.write("services:\n  x:\n    image: busybox\n    restart: sometimes\n")
    r = desk(h, "-c", "vm", "config", "check", bad)  # a directory on the desk, checked here
    assert r.returncode != 0 and b"compose.yaml" in r.stdout + r.stderr and b"restart" in r.stdout + r.stderr, r


def test_dial_stdio_joins_only_berths_sockets(host):
    r = host.run("berth system dial-stdio /etc/passwd </dev/null")
    assert r.returncode == 2 and "not berthd's socket" in r.stderr, r
    r = host.run("berth system dial-stdio /run/berth/c/../berth.sock/attach.sock </dev/null")
    assert r.returncode == 2, r
