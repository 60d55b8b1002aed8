"""Faults of the DATA partition, with the outcome an operator wants: DATA
filled to the last block by a container (everything keeps running, writes
fail cleanly, logs resume once space is freed, nothing is corrupt), then
DATA's disk failing every write until the kernel makes it read-only (the
host stays up and says so; a reboot without the fault repairs and brings
the stack back). One disk, the checks in order."""
import json
import re
import time

import pytest

import imagegen
from berthvm import fsck_partition
from sshhost import SshHost, host_pids, wait


# talker writes a line a second to its log; fill is where DATA gets filled.
COMPOSE = """
name: d
services:
  talker:
    image: busybox
    command: ["sh", "-c", "i=0; while :; do echo tick $$i; i=$$((i+1)); sleep 1; done"]
    volumes:
      - fill:/fill
    restart: always
volumes:
  fill: {}
"""


@pytest.fixture(scope="module")
def host(image, workdir):
    files = imagegen.busybox_config_files(workdir, COMPOSE)
    h = SshHost(workdir, image, config_files=files)
    h.boot("full")
    wait(h, lambda: running(h, "talker"), 300, "talker to run")
    yield h
    h.kill()


def running(h, name):
    r = h.run(f"berth inspect {name}")
    return r.returncode == 0 and json.loads(r.stdout)[0]["state"] == "running"


def data_avail_kib(h):
    return int(h.run("df -k /data | tail -1", check=True).stdout.split()[3])


def logs(h, name):
    return h.run(f"berth logs {name}", check=True).stdout


def poweroff_and_fsck(h, workdir):
    h.run("poweroff", timeout=30)
    assert h.vm.wait_exit(120) == 0
    status, out = fsck_partition(h.disk, "BERTH-DATA", workdir)
    assert status == 0, out


def full_then_freed(h):
    """The host log, once it says DATA was full and then had space again."""
    log = h.run("hostlog").stdout
    full = log.find("DATA (/data) is full")
    return 0 <= full < log.find("DATA (/data) has free space again") and log


def test_data_full(host, workdir):
    before = host_pids(host)
    start = time.monotonic()
    r = host.run("berth exec talker dd if=/dev/zero of=/fill/filler bs=1M", timeout=600)
    fill_s = time.monotonic() - start
    assert r.returncode != 0 and "No space left on device" in r.stdout + r.stderr, r
    assert data_avail_kib(host) == 0
    # A write on the host fails cleanly too.
    r = host.run("dd if=/dev/zero of=/data/probe bs=1M count=4")
    assert r.returncode != 0 and "No space left on device" in r.stderr, r
    host.run("rm -f /data/probe")

    # Everything keeps running and answering.
    start = time.monotonic()
    assert host.run("berth ps", timeout=60).returncode == 0
    assert running(host, "talker")
    r = host.run("berth run --rm busybox echo still-works", timeout=120)
    run_s = time.monotonic() - start
    if r.returncode == 0:
        assert "still-works" in r.stdout
    else:
        assert "No space left on device" in r.stderr and "/data" in r.stderr, r
    assert host_pids(host) == before
    wait(host, lambda: "DATA (/data) is full" in host.run("dmesg").stdout, 30, "init to say DATA is full")
    print(f"filled DATA in {fill_s:.1f} s; berth ps and berth run {run_s:.1f} s, run: {r.returncode} {r.stderr!r}")
    full_at = time.monotonic()

    # Space freed: the log resumes, and the host log holds what happened.
    host.run("berth exec talker rm /fill/filler", check=True)
    host.run("berth exec talker sh -c 'echo after-full > /proc/1/fd/1'", check=True)
    wait(host, lambda: "after-full" in logs(host, "talker"), 60, "the log to resume")
    ticks = [int(x) for x in re.findall(r"^tick (\d+)$", logs(host, "talker"), re.M)]
    wait(host, lambda: f"tick {ticks[-1] + 2}\n" in logs(host, "talker"), 60, "the ticks to go on")
    log = wait(host, lambda: full_then_freed(host), 30, "the host log to say DATA was full, then not")
    told = "".join(x + "\n" for x in log.splitlines() if re.search(r"DATA \(/data\)|No space|log again", x))
    print(f"logs resumed and the host log told it {time.monotonic() - full_at:.1f} s after DATA was full:\n{told}")

    # Nothing corrupt: every record parses after a reboot, fsck is clean.
    host.reboot("full-reboot")
    wait(host, lambda: running(host, "talker"), 300, "talker to run after the reboot")
    ps = host.run("berth ps -a", timeout=60)
    assert ps.returncode == 0
    # The berth run that failed left no container behind.
    assert [x.split()[0] for x in ps.stdout.splitlines()[1:]] == ["talker"], ps.stdout
    assert host.run("berth inspect talker").returncode == 0
    poweroff_and_fsck(host, workdir)


def test_data_failing_writes(host, workdir):
    """Every write to the disk fails from some moment on. ext4 on Debian's
    Linux 6.1 cannot write its journal then and aborts it: creating and
    removing files fails with EROFS, fsync with EIO, and writes into files
    reach only memory, while the mount still says rw (older kernels made it
    read-only). init tells it by ext4's error count."""
    host.disk_bus = "virtio-nodes"
    host.boot("eio")
    wait(host, lambda: running(host, "talker"), 300, "talker to run")
    before = host_pids(host)
    host.vm.fail_disk_writes()
    start = time.monotonic()
    host.run("echo x > /data/probe; sync")  # fails one way or another
    said = host.vm.wait_for(r"BERTH-DATA \(/data\) (went read-only|had \d+ filesystem errors)[^\r\n]*", 120)
    failed_s = time.monotonic() - start

    # The host stays up and says so: console, berth info, login.
    assert "data: FAILED" in host.run("berth info", check=True).stdout
    assert "WARNING: DATA failed" in host.run("sh -l -c true").stdout
    assert host.run("berth ps", timeout=60).returncode == 0
    assert running(host, "talker")
    assert host_pids(host) == before
    r = host.run("echo x > /data/probe2")
    assert r.returncode != 0 and re.search("I/O error|Read-only file system", r.stderr), r
    # The host logger stopped writing: each of its writes made ext4 log an
    # error, which it read and wrote again, in a loop.
    hostlog_errors = [host.vm.text().count("comm hostlog")]
    time.sleep(10)
    hostlog_errors.append(host.vm.text().count("comm hostlog"))
    assert hostlog_errors[0] == hostlog_errors[1], hostlog_errors
    print(f"DATA failed {failed_s:.1f} s after the first failed write: {said.group(0).decode()!r}")

    # A shutdown with a failing disk still ends.
    host.run("poweroff", timeout=30)
    host.vm.wait_exit(120)

    # Rebooted without the fault: fsck repairs, DATA is writable, the stack is back.
    host.disk_bus = "virtio"
    host.boot("eio-recovered")
    fsck = host.run("hostlog | grep 'fsck BERTH-DATA'", check=True).stdout
    assert re.search(r"fsck BERTH-DATA \S+: (clean|errors found and corrected)", fsck), fsck
    assert re.search(r"\S+ /data ext4 rw[,\s]", host.run("cat /proc/mounts").stdout)
    host.run("echo x > /data/probe && rm /data/probe", check=True)
    wait(host, lambda: running(host, "talker"), 300, "talker to run after the reboot")
    assert host.run("berth ps -a", timeout=60).returncode == 0
    assert "FAILED" not in host.run("berth info", check=True).stdout
    poweroff_and_fsck(host, workdir)
