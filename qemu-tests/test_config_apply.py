"""berth config apply/diff/history/rollback from the desk against a VM:
a good change recreates only the service it changes, a bad one is
refused with nothing changed (on the desk and, sent anyway, on the host),
a service that never becomes healthy is rolled back with the reason
shown, rollback goes back to a generation, and QEMU killed at every
phase of an apply leaves the old configuration or the new one, whole.
One VM serves the module; the checks run in order."""
import json
import os
import shutil
import subprocess

import pytest

from sshhost import stack_host, wait


COMPOSE = """
name: app
services:
  web:
    image: busybox
    command: ["sleep", "1000000"]
    environment:
      COLOR: blue
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  db:
    image: busybox
    command: ["sleep", "1000000"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
"""

# Every phase of an apply: staging (from a directory and from a tar), the
# rename, the switch of the name in use, /config's bind, berthd's up, the
# prune after a good gate, and a rollback's two halves (a sick change).
POINTS = [("config-copying", "dir"), ("config-unpacked", "tar"), ("config-staged", "dir"), ("config-renamed", "dir"),
          ("config-current", "dir"), ("config-switched", "dir"), ("config-up", "dir"), ("config-prune", "dir"),
          ("config-rollback", "sick"), ("config-rolled-back", "sick"), ("config-current", "tar")]
# make check cuts at a sample (a tar being staged, the switch, a rollback);
# make check-faults at every point (about 9 minutes more).
SAMPLE = {("config-unpacked", "tar"), ("config-switched", "dir"), ("config-rollback", "sick")}
POINT_PARAMS = [pytest.param(p, h, marks=() if (p, h) in SAMPLE else pytest.mark.heavy) for p, h in POINTS]


@pytest.fixture(scope="module")
def host(image, workdir):
    h = stack_host(image, workdir, COMPOSE, "apply", lambda h: healthy(h) >= 2, "the stack to be healthy")
    h.reach_from_desk()
    h.base = os.path.join(workdir, "config")  # what SshHost put on CONFIG
    yield h
    h.kill()


def healthy(h):
    rows = [json.loads(line) for line in h.run("berth ps --format json").stdout.splitlines()]
    return sum(1 for c in rows if c.get("health") == "healthy")


def desk(h, *args, timeout=300):
    return h.desk(*args, timeout=timeout, text=True)


def variant(h, name, compose):
    """A copy of the flashed config directory with another compose.yaml."""
    d = os.path.join(os.path.dirname(h.base), name)
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(h.base, d)
    with open(os.path.join(d, "compose.yaml"), "w") as f:
        f.write(compose)
    return d


def pids(h):
    out = {}
    for line in h.run("berth ps --format json", check=True).stdout.splitlines():
        c = json.loads(line)
        out[c["service"]] = c["pid"]
    return out


def in_use(h):
    r = h.run("berth config history", check=True)
    rows = [line.split() for line in r.stdout.splitlines()[1:]]
    return [row[0] for row in rows if "in use" in " ".join(row)], r.stdout


def test_good_change_recreates_only_its_service(host):
    h = host
    before = pids(h)
    d = variant(h, "green", COMPOSE.replace("COLOR: blue", "COLOR: green"))
    r = desk(h, "-c", "vm", "config", "diff", d)
    assert r.returncode == 0 and "service web: changed" in r.stdout and "service db" not in r.stdout, r
    assert "file compose.yaml: changed" in r.stdout, r.stdout
    r = desk(h, "-c", "vm", "config", "apply", d)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "recreated: web" in r.stdout and "generation 1 is healthy" in r.stdout, r.stdout
    after = pids(h)
    assert after["db"] == before["db"] and after["web"] != before["web"], (before, after)
    assert h.run("berth exec web sh -c 'echo $COLOR'").stdout.strip() == "green"
    assert h.run("cat /config/compose.yaml").stdout == open(os.path.join(d, "compose.yaml")).read()
    assert in_use(h)[0] == ["1"], in_use(h)[1]


def test_bad_change_is_refused_and_nothing_changes(host):
    h = host
    d = variant(h, "bad", COMPOSE.replace("image: busybox\n", "image: busybox\n    restart: sometimes\n", 1))
    r = desk(h, "-c", "vm", "config", "apply", d)
    assert r.returncode != 0 and "nothing was sent" in r.stderr and "restart" in r.stdout + r.stderr, r
    # Sent anyway (a tar on the host's stdin): the host's own check refuses it.
    tar = subprocess.run(["tar", "c", "-C", d, "."], capture_output=True, check=True).stdout
    r = subprocess.run(h._args() + ["berth config apply -"], input=tar, capture_output=True, timeout=300)
    assert r.returncode != 0 and b"nothing changed" in r.stderr, r
    assert in_use(h)[0] == ["1"], in_use(h)[1]
    assert "COLOR: green" in h.run("cat /config/compose.yaml").stdout


def test_a_service_that_never_becomes_healthy_is_rolled_back(host):
    h = host
    sick = COMPOSE.replace("COLOR: blue", "COLOR: sick").replace('test: ["CMD", "true"]', 'test: ["CMD", "false"]', 1)
    d = variant(h, "sick", sick)
    r = desk(h, "-c", "vm", "config", "apply", "--timeout", "15", d)
    assert r.returncode != 0, r.stdout + r.stderr
    assert "web (started by this apply) is running, health" in r.stderr, r.stderr
    assert "rolling back to generation 1" in r.stderr and "generation 1 is in use again" in r.stderr, r.stderr
    rows, text = in_use(h)
    assert rows == ["1"] and "rolled back: web (started by this apply)" in text, text
    wait(h, lambda: h.run("berth exec web sh -c 'echo $COLOR'").stdout.strip() == "green", 60,
         "web to run generation 1 again")


def test_rollback_goes_back_to_the_flashed_configuration(host):
    h = host
    r = desk(h, "-c", "vm", "config", "rollback", "0")
    assert r.returncode == 0, r.stdout + r.stderr
    assert in_use(h)[0] == ["0"], in_use(h)[1]
    wait(h, lambda: h.run("berth exec web sh -c 'echo $COLOR'").stdout.strip() == "blue", 60,
         "web to run the flashed configuration")


def ssh_with(h, key):
    return subprocess.run(["ssh", "-p", str(h.port), "-i", key, "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o",
                           "LogLevel=ERROR", "root@127.0.0.1", "true"], capture_output=True, timeout=60)


def ntpd_args(h):
    return [line for line in h.run("ps -o args").stdout.splitlines() if "ntpd" in line]


def test_host_settings_change_live_and_go_back(host, workdir):
    h = host
    key = os.path.join(workdir, "second")
    if not os.path.exists(key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    d = variant(h, "hostcfg", COMPOSE)
    with open(os.path.join(d, "host.yaml")) as f:
        base = f.read()
    with open(key + ".pub") as f:
        pub = f.read().strip()
    text = base.replace("ssh_authorized_keys:\n", f"ssh_authorized_keys:\n  - {pub}\n", 1)
    text = text.replace("servers: []", "servers: [127.0.0.1]")
    text += "hostname: applied-live\nsysctls:\n  vm.swappiness: 13\ntimezone: CET-1CEST,M3.5.0,M10.5.0/3\n"
    with open(os.path.join(d, "host.yaml"), "w") as f:
        f.write(text)
    name = h.run("hostname", check=True).stdout.strip()
    swappiness = h.run("cat /proc/sys/vm/swappiness", check=True).stdout.strip()
    assert ssh_with(h, key).returncode == 255 and not ntpd_args(h)
    r = desk(h, "-c", "vm", "config", "apply", d)
    assert r.returncode == 0, r.stdout + r.stderr
    for line in ("host setting hostname: created (now)", "host setting sysctls: created (now)",
                 "host setting ssh_authorized_keys: changed (now)", "host setting ntp: changed (now)",
                 "host setting timezone: created (now)"):
        assert line in r.stdout, r.stdout
    assert h.run("hostname").stdout.strip() == "applied-live"
    assert h.run("cat /proc/sys/vm/swappiness").stdout.strip() == "13"
    assert ssh_with(h, key).returncode == 0
    wait(h, lambda: any("-p 127.0.0.1" in a for a in ntpd_args(h)), 30, "ntpd to run with the new server")
    # ntpd started again with the new time zone in its environment.
    env = h.run("tr '\\0' '\\n' < /proc/$(pidof ntpd)/environ", check=True).stdout
    assert "TZ=CET-1CEST,M3.5.0,M10.5.0/3" in env.splitlines(), env
    # Back to the one before, live too (a sysctl keeps its value until the next boot).
    r = desk(h, "-c", "vm", "config", "rollback")
    assert r.returncode == 0, r.stdout + r.stderr
    assert h.run("hostname").stdout.strip() == name
    assert ssh_with(h, key).returncode == 255
    wait(h, lambda: not ntpd_args(h), 30, "ntpd to stop")
    assert h.run("cat /proc/sys/vm/swappiness").stdout.strip() in ("13", swappiness)
    assert in_use(h)[0] == ["0"], in_use(h)[1]


@pytest.mark.parametrize("point,how", POINT_PARAMS)
def test_power_cut_during_apply_leaves_old_or_new_whole(host, point, how):
    h = host
    old = h.run("cat /config/compose.yaml", check=True).stdout
    new_compose = COMPOSE.replace("COLOR: blue", f"COLOR: cut-{point}-{how}")
    if how == "sick":
        new_compose = new_compose.replace('test: ["CMD", "true"]', 'test: ["CMD", "false"]', 1)
    d = variant(h, f"cut-{point}-{how}", new_compose)
    tar = subprocess.run(["tar", "c", "-C", d, "."], capture_output=True, check=True).stdout
    if how == "tar":
        command, stdin = "berth config apply --timeout 120 -", subprocess.PIPE
    else:
        subprocess.run(h._args() + ["rm -rf /data/newcfg && mkdir /data/newcfg && tar x -C /data/newcfg"],
                       input=tar, check=True, capture_output=True)
        command, stdin = f"berth config apply --timeout {10 if how == 'sick' else 120} /data/newcfg", subprocess.DEVNULL
    with h.vm.lock:
        start = len(h.vm.output)
    proc = subprocess.Popen(h._args() + [f"BERTH_FAILPOINT={point} {command}"], stdin=stdin,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if how == "tar":
        proc.stdin.write(tar)
        proc.stdin.close()
    h.vm.wait_for(rf"failpoint {point} reached", 300, start=start)
    h.vm.kill()
    proc.kill()
    h.boot(f"after-{point}-{how}")
    now = h.run("cat /config/compose.yaml", check=True).stdout
    assert now in (old, new_compose), now
    rows, text = in_use(h)
    assert len(rows) == 1, text
    # The stack runs what /config says.
    color = now.split("COLOR: ")[1].split("\n")[0]
    wait(h, lambda: h.run("berth exec web sh -c 'echo $COLOR'").stdout.strip() == color, 120, f"web to run {color}")
    if how == "sick" and now == new_compose:
        # A cut before the rollback finished leaves the sick one in use: the way out works.
        r = h.run("berth config rollback", timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr


def test_a_good_apply_after_the_cuts(host):
    h = host
    d = variant(h, "final", COMPOSE.replace("COLOR: blue", "COLOR: final"))
    r = desk(h, "-c", "vm", "config", "apply", d)
    assert r.returncode == 0, r.stdout + r.stderr
    rows, text = in_use(h)
    # Kept: the one in use, the one before, and CONFIGGEN_KEEP more; 0 always.
    kept = [line.split()[0] for line in text.splitlines()[1:]]
    assert "0" in kept and len(kept) <= 5 + 3, text
    assert h.run("ls /run/berth/config-part/.berth/tmp 2>/dev/null | wc -l").stdout.strip() in ("", "0")


def with_network(h, name, network):
    """A copy of the flashed config whose host.yaml declares network."""
    d = variant(h, name, COMPOSE.replace("COLOR: blue", "COLOR: final"))
    with open(os.path.join(d, "host.yaml"), "a") as f:
        f.write(network)
    return d


def addresses(h):
    return h.run("ip -4 -o addr show dev eth0", check=True).stdout


# The same address QEMU's DHCP hands out, made static, and one more.
REACHABLE = ("network:\n  interfaces:\n    eth0:\n      addresses: [10.0.2.15/24, 10.0.2.99/24]\n"
             "      gateway: 10.0.2.2\n  dns: [10.0.2.3]\n")
# An address QEMU's port forward does not reach: the host is cut off.
CUT_OFF = "network:\n  interfaces:\n    eth0:\n      addresses: [10.0.3.15/24]\n      gateway: 10.0.3.2\n"


def test_a_network_change_that_keeps_the_host_reachable_is_kept(host):
    h = host
    d = with_network(h, "net-good", REACHABLE)
    r = desk(h, "-c", "vm", "config", "diff", d)
    assert "host setting network: created (now, on trial" in r.stdout, r.stdout
    r = desk(h, "-c", "vm", "config", "apply", "--confirm-timeout", "60", d)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "goes on trial" in r.stdout and "confirmed from this connection" in r.stdout, r.stdout
    assert "is healthy" in r.stdout, r.stdout
    assert "10.0.2.99/24" in addresses(h)
    # DHCP's client is gone for good: the address is host.yaml's now.
    assert "udhcpc" not in h.run("ps -o args").stdout
    good = in_use(h)[0]
    h.good_network = good
    assert h.run("ls /run/berth/config-part/.berth/trial 2>&1").returncode != 0


def test_a_dns_only_change_touches_no_link(host):
    """Only network.dns differs: resolv.conf is rewritten, and no address,
    route or DHCP client is touched (init's reload does the minimum)."""
    h = host
    before = addresses(h) + h.run("ip -4 route", check=True).stdout
    d = with_network(h, "net-dns", REACHABLE.replace("dns: [10.0.2.3]", "dns: [10.0.2.3, 192.0.2.53]"))
    r = desk(h, "-c", "vm", "config", "apply", "--confirm-timeout", "60", d)
    assert r.returncode == 0, r.stdout + r.stderr
    resolv = h.run("cat /etc/resolv.conf", check=True).stdout
    assert "nameserver 10.0.2.3" in resolv and "nameserver 192.0.2.53" in resolv, resolv
    assert addresses(h) + h.run("ip -4 route", check=True).stdout == before
    log = h.run("hostlog -n 200", check=True).stdout
    assert "only host.yaml's DNS servers changed" in log, log[-3000:]
    h.good_network = in_use(h)[0]


def test_a_network_change_that_cuts_the_host_off_is_reverted(host):
    h = host
    d = with_network(h, "net-cut", CUT_OFF)
    r = desk(h, "-c", "vm", "config", "apply", "--confirm-timeout", "20", d, timeout=400)
    assert r.returncode != 0, r.stdout + r.stderr
    assert "could not be reached over a new connection within 20 s" in r.stderr, r.stderr
    # Reached again once the host went back: the trial's own account of it.
    assert "not confirmed within 20 s" in r.stdout + r.stderr, r.stdout + r.stderr
    rows, text = in_use(h)
    assert rows == h.good_network and "not confirmed within 20 s" in text, text
    assert "10.0.2.99/24" in addresses(h) and "10.0.3.15" not in addresses(h)


def test_a_restart_during_a_network_trial_comes_back_on_the_one_before(host):
    h = host
    d = with_network(h, "net-cut-power", CUT_OFF)
    tar = subprocess.run(["tar", "c", "-C", d, "."], capture_output=True, check=True).stdout
    subprocess.run(h._args() + ["rm -rf /data/newcfg && mkdir /data/newcfg && tar x -C /data/newcfg"],
                   input=tar, check=True, capture_output=True)
    with h.vm.lock:
        start = len(h.vm.output)
    proc = subprocess.Popen(h._args() + ["BERTH_FAILPOINT=config-trial berth config apply /data/newcfg"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    h.vm.wait_for(r"failpoint config-trial reached", 300, start=start)
    h.vm.kill()
    proc.kill()
    h.boot("after-network-trial")
    rows, text = in_use(h)
    assert rows == h.good_network and "not confirmed before the host restarted" in text, text
    assert "10.0.2.99/24" in addresses(h)
    assert h.run("ls /run/berth/config-part/.berth/trial 2>&1").returncode != 0
