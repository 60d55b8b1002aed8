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
    tools = imagegen.layer({"bin/escape": tool("escape"), "bin/netserve": tool("netserve")})
    files = imagegen.busybox_config_files(workdir, COMPOSE, name="attacker", extra_layers=[tools])
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


# Least privilege on the host itself (issue 16, item 5).

CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_NET_RAW = 10, 12, 13
CAP_SYS_NICE, CAP_SYS_TIME, CAP_SYSLOG = 23, 25, 34
SERVICE_CAPS = {
    "hostlog": 1 << CAP_SYSLOG,
    "udhcpc": (1 << CAP_NET_RAW) | (1 << CAP_NET_ADMIN) | (1 << CAP_NET_BIND_SERVICE),
    "ntpd": (1 << CAP_SYS_TIME) | (1 << CAP_SYS_NICE) | (1 << CAP_NET_BIND_SERVICE),
}


def sockets(h, kind):
    """(local address, port) of every TCP socket listening, or every UDP
    socket bound, in the host's network namespace."""
    found = []
    for proto in (kind, kind + "6"):
        lines = host_value(h, f"cat /proc/net/{proto}").splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            if kind == "tcp" and state != "0A":
                continue
            addr, port = local.split(":")
            if len(addr) == 8:
                addr = ".".join(str(b) for b in reversed(bytes.fromhex(addr)))
            found.append((addr, int(port, 16)))
    return found


def test_nothing_but_ssh_listens_outside_the_bridges(host):
    """The only listener the outside can reach is sshd; berthd's DNS for
    containers answers on the bridges' gateway addresses only (and the
    input chain admits only containers to it); the DHCP client's port 68
    is a client's."""
    gateways = set(host_value(host, "ip -4 -o addr show | awk '$2 ~ /^(br-|berth)/ {print $4}' "
                                    "| cut -d/ -f1").split())
    assert gateways, "no bridge on the host"
    for addr, port in sockets(host, "tcp"):
        assert port == 22 or (port == 53 and addr in gateways), f"TCP {addr}:{port} listens"
    for addr, port in sockets(host, "udp"):
        assert port in (68, 123) and addr in ("0.0.0.0", "00000000000000000000000000000000") or \
            (port == 53 and addr in gateways), f"UDP {addr}:{port} is bound"
    r = host.run("grep -c PasswordAuthentication /etc/ssh/sshd_config 2>/dev/null; dropbear -h 2>&1 | grep -ci "
                 "password")
    assert r.stdout.split()[-1] == "0", "Dropbear offers password options"


def test_services_keep_only_the_capabilities_they_need(host):
    """hostlog, the DHCP client and ntpd run as root with a narrow bounding
    set (so nothing they run gets more); sshd (the operator's way in) and
    berthd (the container runtime) keep everything."""
    seen = set()
    for line in host_value(host, "for d in /proc/[0-9]*; do echo $(cat $d/comm) "
                                 "$(awk '/^CapBnd|^CapEff/ {print $2}' $d/status); done 2>/dev/null").splitlines():
        fields = line.split()
        if len(fields) != 3:
            continue
        comm, bnd, eff = fields[0], int(fields[1], 16), int(fields[2], 16)
        if comm in SERVICE_CAPS:
            assert bnd == SERVICE_CAPS[comm] and eff == SERVICE_CAPS[comm], f"{comm}: CapBnd {bnd:#x} CapEff {eff:#x}"
            seen.add(comm)
        if comm in ("berthd", "dropbear"):
            assert bnd == eff and bnd > SERVICE_CAPS["ntpd"], f"{comm}: CapBnd {bnd:#x}"
            seen.add(comm)
    assert {"hostlog", "udhcpc", "berthd", "dropbear"} <= seen, seen


def test_kernel_hardening_is_on(host):
    """Lockdown (integrity), restricted dmesg and kernel pointers, Yama's
    ptrace scope, no /dev/port, /dev/mem or /dev/kmem."""
    assert "Kernel is locked down from Kernel configuration" in host_value(host, "dmesg")
    assert host_value(host, "cat /proc/sys/kernel/dmesg_restrict /proc/sys/kernel/kptr_restrict "
                            "/proc/sys/kernel/yama/ptrace_scope").split() == ["1", "1", "1"]
    assert host_value(host, "ls /dev/port /dev/mem /dev/kmem 2>/dev/null | wc -l") == "0"
    # From inside, with root and the default capabilities: no kernel log.
    r = host.run("berth exec hostile dmesg")
    assert r.returncode != 0 and "not permitted" in r.stderr + r.stdout, r.stdout + r.stderr
