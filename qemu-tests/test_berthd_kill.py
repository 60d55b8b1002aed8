"""berthd killed (SIGKILL) in the middle of an image import, a container
start, a `berth up` and a network change, at several points each. init
restarts it; afterwards nothing may be half done or left behind: no
half-imported image or temporary directory in the store, no mount,
network namespace, veth or nf_tables rule of a container that does not
run, and `berth ps -a` says what runs (monitors, cgroups). A second `berth
up` then brings back exactly the state of before. One VM serves the module,
the checks run in order."""
import json
import os
import subprocess
import time

import pytest

import imagegen
from sshhost import SshHost, wait

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("BERTH_OUT", os.path.join(TOP, "out"))
BUSYBOX = os.path.join(OUT, "pkg", "busybox", "busybox")
STORE_TMP = "/data/berth/store/tmp"

# Several services on two networks, a published port (nf_tables rules),
# replicas, and an ordering.
STACK_A = """
name: k
services:
  web:
    image: busybox
    command: ["sleep", "100000"]
    ports: ["8080:80"]
    networks: [front]
  app:
    image: busybox
    command: ["sleep", "100001"]
    networks: [front, back]
    depends_on: [db]
  db:
    image: busybox
    command: ["sleep", "100002"]
    networks: [back]
  worker:
    image: busybox
    command: ["sleep", "100003"]
    networks: [back]
    deploy:
      replicas: 3
networks:
  front: {}
  back: {}
"""

# The network change: back goes, extra comes, three services move to it
# (so they are recreated) and the port moves.
STACK_B = STACK_A.replace("[front, back]", "[front, extra]").replace(
    "networks: [back]", "networks: [extra]").replace("back: {}", "extra: {}").replace("8080:80", "8081:80")

# The berthd that init runs (its children, the imports, are berthd too).
pytestmark = pytest.mark.heavy

BERTHD = "for p in $(pidof berthd); do [ \"$(cut -d' ' -f4 /proc/$p/stat)\" = 1 ] && echo $p; done"


def heavy_point(value):
    """A timed kill point (about 1 minute each under TCG): make check-faults
    runs them; make check-updates runs the moments that found leaks and one
    import delay (the module is too long for make check)."""
    return pytest.param(value, marks=pytest.mark.delay)


@pytest.fixture(scope="module")
def host(image, workdir):
    base = imagegen.busybox_layer(BUSYBOX, imagegen.applets(BUSYBOX))
    tar = os.path.join(workdir, "busybox.tar")
    imagegen.oci_tar(tar, [("busybox:latest", [base], imagegen.config([base]))])
    # Big enough that its import takes seconds under TCG: four layers of
    # incompressible data, so that a kill lands between and inside them.
    big_layers = [imagegen.layer({f"big/{i}": os.urandom(8 << 20)}) for i in range(4)]
    big = os.path.join(workdir, "big.tar")
    imagegen.oci_tar(big, [("big:latest", [base] + big_layers, imagegen.config([base] + big_layers))])
    files = {"compose.yaml": STACK_A, "images/busybox.tar": open(tar, "rb").read()}
    h = SshHost(workdir, image, config_files=files, memory=768)
    # Room on DATA for the big image, twice (its blobs and its layers).
    subprocess.run(["qemu-img", "resize", "-q", "-f", "raw", h.disk, "+512M"], check=True)
    h.boot("berthd-kill")
    h.put("/tmp/big.tar", open(big, "rb").read())
    wait(h, lambda: converged(h, 6), 400, "the stack to run")
    h.baseline = {"A": fingerprint(h)}
    yield h
    h.kill()


def berthd_pid(h):
    out = h.run(BERTHD).stdout.split()
    return int(out[0]) if out else 0


def containers(h):
    names = h.run("berth ps -aq", check=True).stdout.split()
    if not names:
        return {}
    # A container may go between the two calls: inspect says so and
    # prints the others.
    r = h.run("berth inspect " + " ".join(names))
    assert r.stdout.strip().startswith("["), r.stdout + r.stderr
    return {c["name"]: c for c in json.loads(r.stdout)}


def converged(h, n):
    """n containers, all running, and nothing else in `berth ps -a`."""
    cs = containers(h)
    return len(cs) == n and all(c["state"] == "running" for c in cs.values())


SNAPSHOT = f"""
echo @@monitors; for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done |
  sed -n 's/^[^ ]* monitor --name \\([^ ]*\\) .*/\\1/p'
echo @@cgroups; for d in /sys/fs/cgroup/berth/*/; do
  grep -qs 'populated 1' "$d/cgroup.events" && basename "$d"; done
echo @@mounts; awk '$5 ~ "^/run/berth/" {{print $5}}' /proc/self/mountinfo
echo @@netns; ls /run/berth/netns
echo @@links; ls /sys/class/net
echo @@nslinks; for n in /run/berth/netns/*; do [ -e "$n" ] && nsenter --net="$n" ip -o link | grep -vc ': lo:'; done
echo @@storetmp; ls {STORE_TMP}
echo @@zombies; ps -o stat,pid,comm | awk '$1 ~ /^Z/'
echo @@rules; berth network ls | sed -n 's/^nf_tables: \\([0-9]*\\) rules.*/\\1/p'
"""


def snapshot(h):
    # `berth images` first: opening the store clears what an interrupted
    # import left, when no import runs.
    h.run("berth images", check=True)
    out = h.run(SNAPSHOT, check=True).stdout
    s = {}
    for part in out.split("@@")[1:]:
        lines = part.splitlines()
        s[lines[0]] = sorted(x for x in lines[1:] if x.strip())
    s["containers"] = containers(h)
    return s


def fingerprint(h):
    """What must be the same each time the same compose file has converged."""
    s = snapshot(h)
    return {k: s[k] for k in ("monitors", "cgroups", "mounts", "netns", "links", "rules")} | {
        "running": sorted(n for n, c in s["containers"].items() if c["state"] == "running")}


def check_consistent(h, what):
    """What berthd says matches what is there, and nothing is left over."""
    s = snapshot(h)
    cs = s["containers"]
    running = sorted(n for n, c in cs.items() if c["state"] == "running")
    bridges = {n for n in s["links"] if n.startswith("br-") or n.startswith("berth")}
    problems = []
    if s["monitors"] != running:
        problems.append(f"monitors {s['monitors']} but running {running}")
    if s["cgroups"] != running:
        problems.append(f"populated cgroups {s['cgroups']} but running {running}")
    for m in s["mounts"]:
        p = m.split("/")
        if m.startswith("/run/berth/c/") and len(p) == 6 and p[5] == "rootfs":
            if p[4] not in running:
                problems.append(f"rootfs mount of {p[4]}, which does not run: {m}")
        elif m.startswith("/run/berth/netns/"):
            if p[4] not in cs:
                problems.append(f"netns mount of {p[4]}, which does not exist: {m}")
        elif m not in ("/run/berth", "/run/berth/config-part"):  # init's: CONFIG with its generations
            problems.append(f"mount {m}")
    for n in s["netns"]:
        if n not in cs:
            problems.append(f"network namespace of {n}, which does not exist")
    # Every veth on the host has its peer in a container's namespace.
    host_veths = [n for n in s["links"] if n not in ("lo", "eth0") and n not in bridges]
    in_ns = sum(int(x) for x in s["nslinks"])
    if len(host_veths) != in_ns:
        problems.append(f"{len(host_veths)} veths on the host ({host_veths}) but {in_ns} in namespaces")
    if s["storetmp"]:
        problems.append(f"left in {STORE_TMP}: {s['storetmp']}")
    if s["zombies"]:
        problems.append(f"zombies: {s['zombies']}")
    assert not problems, f"{what}:\n" + "\n".join(problems) + "\n" + h.run("berth ps -a").stdout


def stable(h):
    """berthd answers and nothing is half way (starting, stopping)."""
    a = fingerprint(h)
    if any(c["state"] in ("starting", "stopping") for c in containers(h).values()):
        return False
    time.sleep(2)
    return fingerprint(h) == a


# Kill points that a delay would hit only by luck: the moment berthd has
# the image mounted to translate a service (apply.c), and the moment the
# root filesystem of a container starting is being mounted (its overlay's
# work directory is made just before), before the start is saved
# (sup.c, start_now).
TRIGGERS = {
    "image-mounted": 'set -- /run/berth/tmp/image-*; [ -e "$1" ]',
    "rootfs-mounted": "[ -d /data/berth/containers/adhoc/work ]",
}


def kill_during(h, command, point, children=False):
    """Runs command in the background on the host, SIGKILLs berthd at
    point (seconds later, or when a TRIGGERS condition holds; children:
    its import children too), and waits for init to start it again and for
    the state to settle."""
    # init gives up to a crash-looping service for a minute: keep the
    # kills more than its stable time apart.
    time.sleep(max(0, getattr(h, "last_start", 0) + 11 - time.monotonic()))
    old = berthd_pid(h)
    assert old > 0
    kids = f"$(for c in $(pidof berthd); do [ \"$(cut -d' ' -f4 /proc/$c/stat)\" = {old} ] && echo $c; done)"
    if point in TRIGGERS:
        until = f"i=0; until {TRIGGERS[point]}; do i=$((i+1)); [ $i -lt 200000 ] || break; done"
    else:
        until = f"sleep {point}"
    h.run(f"({command}) >/tmp/op.log 2>&1 </dev/null & {until}; kill -KILL {old} {kids if children else ''}",
          check=True, timeout=300)
    wait(h, lambda: berthd_pid(h) not in (0, old) and h.run("berth ps").returncode == 0, 120, "berthd to restart")
    h.last_start = time.monotonic()
    # The command may have finished, or failed with berthd gone; either is fine.
    h.run("while ps -o args | grep -q '^berth [lsru]'; do sleep 1; done", timeout=300)
    wait(h, lambda: stable(h), 300, "the state to settle")


def set_compose(h, text):
    h.run("mount -o remount,rw /config", check=True)
    if text is None:
        h.run("rm -f /config/compose.yaml", check=True)
    else:
        h.put("/config/compose.yaml", text)
    h.run("mount -o remount,ro /config", check=True)


def up_and_converge(h, n, name):
    h.run("berth up", check=True, timeout=300)
    wait(h, lambda: converged(h, n), 300, f"stack {name} to run")
    wait(h, lambda: stable(h), 120, "the state to settle")
    check_consistent(h, f"after stack {name} converged")
    fp = fingerprint(h)
    if name in h.baseline:
        assert fp == h.baseline[name], f"stack {name} did not come back as it was"
    else:
        h.baseline[name] = fp


def test_the_stack_starts_consistent(host):
    check_consistent(host, "after boot")


@pytest.mark.parametrize("delay,children", [pytest.param(0.3, True, marks=pytest.mark.delay), (1.5, True),
                                            pytest.param(4, True, marks=pytest.mark.delay),
                                            pytest.param(1.5, False, marks=pytest.mark.delay)])
def test_killed_during_an_image_import(host, delay, children):
    h = host
    h.run("berth rmi big", timeout=120)
    kill_during(h, "berth load -i /tmp/big.tar", delay, children)
    check_consistent(h, f"import killed at {delay}")
    images = h.run("berth images", check=True).stdout
    if "big" in images:
        # All there, or not at all: the image runs.
        h.run("berth run --rm big sh -c 'ls /big | wc -l'", check=True, timeout=120)
    # The import works afterwards.
    r = h.run("berth load -i /tmp/big.tar", check=True, timeout=300)
    assert "big" in h.run("berth images", check=True).stdout, r.stdout + r.stderr
    assert h.run("berth run --rm big sh -c 'ls /big | wc -l'", check=True, timeout=120).stdout.strip() == "4"
    check_consistent(h, "after the import")


@pytest.mark.parametrize("delay", [heavy_point(0.2), heavy_point(0.6), heavy_point(1.2), heavy_point(2.5), "rootfs-mounted"])
def test_killed_during_a_container_start(host, delay):
    h = host
    kill_during(h, "berth run -d --name adhoc busybox sleep 100004", delay)
    check_consistent(h, f"`berth run` killed at {delay}")
    h.run("berth rm -f adhoc", timeout=120)
    h.run("berth stop db", check=True, timeout=120)
    # (adhoc's trigger does not apply to db, whose bundle is there already)
    kill_during(h, "berth start db", 0.3 if delay in TRIGGERS else delay)
    check_consistent(h, f"`berth start` killed at {delay}")
    up_and_converge(h, 6, "A")


def killed_up(h, text, name, delay):
    """Sets compose.yaml to text, kills berthd during the `berth up` that
    applies it, then converges with a second `berth up`."""
    set_compose(h, text)
    kill_during(h, "berth up", delay)
    check_consistent(h, f"`berth up` of stack {name} killed at {delay}")
    up_and_converge(h, 6, name)


@pytest.mark.parametrize("delay", [heavy_point(0.5), heavy_point(2), heavy_point(5), heavy_point(10),
                                   "image-mounted"])
def test_killed_during_berth_up(host, delay):
    h = host
    set_compose(h, None)
    h.run("berth up", check=True, timeout=300)
    wait(h, lambda: containers(h) == {}, 300, "the stack to go")
    check_consistent(h, "without a stack")
    killed_up(h, STACK_A, "A", delay)


@pytest.mark.parametrize("delay", [heavy_point(0.5), heavy_point(2), heavy_point(5), heavy_point(10),
                                   "image-mounted"])
def test_killed_during_a_network_change(host, delay):
    # There, and back.
    killed_up(host, STACK_B, "B", delay)
    killed_up(host, STACK_A, "A", delay)
