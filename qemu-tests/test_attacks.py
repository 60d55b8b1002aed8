"""Attacks from inside a system container, as a hostile image would try
them: each must fail to get out. The container is what compose.yaml makes
by default (root inside, Docker's capabilities, Berth's default seccomp
profile, its own namespaces and cgroup, a bridge network); the attempts are
made by tests/tools/escape, which prints "blocked: ..." or "ESCAPED: ...".
The runtime-level CVE classes (/proc/self/exe, symlinked mount targets,
leaked fds and cwd, planted /dev/null and /dev/console) are in test_oci.py.
One VM serves the module."""
import json
import os

import pytest

import imagegen
from sshhost import SshHost, wait

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("BERTH_OUT", os.path.join(TOP, "out"))
BUSYBOX = os.path.join(OUT, "pkg", "busybox", "busybox")

COMPOSE = """
services:
  hostile:
    image: attacker
    command: ["sleep", "100000"]
  peer:
    image: attacker
    command: ["netserve", "http", "8080", "peer"]
    ports: ["8080:8080"]
"""


def tool(name):
    return open(os.path.join(OUT, "target", "tests", name), "rb").read()


@pytest.fixture(scope="module")
def host(image, workdir):
    base = imagegen.busybox_layer(BUSYBOX, imagegen.applets(BUSYBOX))
    tools = imagegen.layer({"bin/escape": tool("escape"), "bin/netserve": tool("netserve")})
    tar = os.path.join(workdir, "attacker.tar")
    imagegen.oci_tar(tar, [("attacker:latest", [base, tools], imagegen.config([base, tools]))])
    files = {"compose.yaml": COMPOSE, "images/attacker.tar": open(tar, "rb").read()}
    h = SshHost(workdir, image, config_files=files, memory=512)
    h.boot("attacks")
    wait(h, lambda: h.run("berth ps").stdout.count(" Up ") >= 2, 120, "the containers to run")
    yield h
    h.kill()


def attempt(h, *args):
    r = h.run("berth exec hostile escape " + " ".join(args))
    assert r.returncode in (0, 1), f"escape {args}: {r.stdout}{r.stderr}"
    return r


def blocked(h, *args):
    r = attempt(h, *args)
    assert r.returncode == 0 and r.stdout.startswith("blocked:"), r.stdout + r.stderr


def host_value(h, command):
    return h.run(command, check=True).stdout.strip()


@pytest.mark.parametrize("args", [
    ["mount"],
    ["unshare-mount"],
    ["unshare-user"],
    ["keyring"],
    ["bpf"],
    ["kmsg"],
    ["module"],
    ["handle"],
    ["clock"],
    ["perf"],
    ["reboot"],
    ["cgroup"],
    ["write", "/proc/sys/kernel/hostname"],
    ["write", "/proc/sys/vm/drop_caches"],
    ["write", "/proc/sysrq-trigger"],
    ["write", "/sys/kernel/uevent_helper"],
    ["unix", "/run/berth/berth.sock"],
])
def test_kernel_interfaces_are_closed(host, args):
    blocked(host, *args)


def test_raw_block_devices_cannot_be_read(host):
    # Every disk the host has, by its numbers (vda, sda, nvme0n1 ...).
    disks = host_value(host, "cat /sys/class/block/*/dev").split()
    assert disks
    for majmin in disks:
        blocked(host, "blockdev", majmin)


def test_processes_outside_cannot_be_traced(host):
    """The host's daemons, by their host pids: outside the container's pid
    namespace they cannot even be named."""
    pids = host_value(host, "ps -o pid,comm | awk '$1 > 1 && $2 ~ /^(berthd|berth|dropbear|hostlog|ntpd)$/ "
                            "{print $1}'").split()
    assert len(pids) >= 2, pids
    for pid in pids:
        blocked(host, "ptrace", pid)


def test_the_hosts_own_services_are_out_of_reach(host):
    """From a bridge network: the host's ssh on every address it has, and
    the gateway of the bridge, answer nothing; another container's port
    answers, so the network itself works."""
    gateway = host_value(host, "berth exec hostile ip route | awk '/^default/ {print $3}'")
    addrs = host_value(host, "ip -4 -o addr show | awk '{print $4}' | cut -d/ -f1").split()
    for addr in set(addrs + [gateway]):
        blocked(host, "tcp", addr, "22")
    peer = json.loads(host_value(host, "berth inspect peer"))[0]["networks"]["default"]
    r = attempt(host, "tcp", peer, "8080")
    assert r.stdout.startswith("ESCAPED: tcp: connected"), r.stdout
