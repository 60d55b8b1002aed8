"""Faults a host meets unattended, caused from inside containers: memory
run out (with a limit and without one), a fork bomb, and 50 containers
killed at once. Each ends the way an operator wants: only the guilty
container suffers, the host keeps answering, and the restart policies bring
everything back. One VM serves the module, the checks run in order."""
import json
import time

import pytest

import imagegen
from sshhost import SshHost, host_pids, wait

REPLICAS = 50

# A shell string that doubles until the memory is gone.
EAT = "a=xxxxxxxxxxxxxxxx; while :; do a=$$a$$a; done"

COMPOSE = f"""
name: f
services:
  hog:
    image: busybox
    command: ["sh", "-c", "while [ ! -f /tmp/go ]; do sleep 1; done; {EAT}"]
    mem_limit: 48m
    restart: "no"
  bomb:
    image: busybox
    command: ["sleep", "100000"]
    pids_limit: 40
  many:
    image: busybox
    command: ["sleep", "100001"]
    restart: always
    deploy:
      replicas: {REPLICAS}
"""


@pytest.fixture(scope="module")
def host(image, workdir):
    files = imagegen.busybox_config_files(workdir, COMPOSE)
    h = SshHost(workdir, image, config_files=files, memory=512)
    h.boot("faults")
    wait(h, lambda: up_count(h) >= REPLICAS + 2, 400, "the stack to run")  # hog, bomb, the replicas
    yield h
    h.kill()


def up_count(h):
    return h.run("berth ps").stdout.count(" Up ")


def inspect(h, name):
    return json.loads(h.run(f"berth inspect {name}", check=True).stdout)[0]


def restart_counts(h, names):
    return {c["name"]: c["restart_count"]
            for c in json.loads(h.run("berth inspect " + " ".join(names), check=True).stdout)}


def test_a_container_over_its_memory_limit_is_the_one_killed(host):
    before = host_pids(host)
    host.run("berth exec hog touch /tmp/go", check=True)
    wait(host, lambda: inspect(host, "hog")["state"] != "running", 120, "hog to be OOM killed")
    hog = inspect(host, "hog")
    assert hog["oom_killed"] is True, hog
    line = [x for x in host.run("berth ps -a", check=True).stdout.splitlines() if x.startswith("hog ")][0]
    assert "(out of memory)" in line, line
    assert host_pids(host) == before
    assert "OOM killer killed a process of it" in host.run("hostlog | grep hog").stdout


def test_a_container_without_a_limit_takes_only_itself_down(host):
    """No memory limit at all: the whole VM's memory is eaten, and the
    kernel's OOM killer must pick the container, not init, sshd or berthd."""
    before = host_pids(host)
    r = host.run(f"berth exec f-many-1 sh -c '{EAT.replace('$$', '$')}'", timeout=600)
    assert r.returncode != 0
    assert host_pids(host) == before
    assert host.run("berth ps", check=True).returncode == 0
    # The shell berth exec ran is what the OOM killer took.
    killed = host.run("dmesg | grep -i 'Killed process'", check=True).stdout
    assert " (sh) " in killed and "berthd" not in killed and "dropbear" not in killed, killed


def test_a_fork_bomb_hits_its_pids_limit_and_the_host_answers(host):
    # Every fork is kept alive: the pids limit is what stops the loop.
    host.run("berth exec -d bomb sh -c 'while :; do sleep 1000 & done'", check=True, timeout=60)
    time.sleep(5)
    start = time.monotonic()
    r = host.run("berth ps", timeout=60)
    assert r.returncode == 0 and time.monotonic() - start < 30
    cg = host.run("cat /sys/fs/cgroup/berth/bomb/pids.current /sys/fs/cgroup/berth/bomb/pids.events",
                  check=True).stdout.split()
    assert int(cg[0]) <= 40 and int(cg[2]) > 0, cg
    host.run("berth restart bomb", check=True, timeout=120)
    wait(host, lambda: inspect(host, "bomb")["state"] == "running", 60, "bomb to run again")


def test_fifty_containers_killed_at_once_all_come_back(host):
    names = [f"f-many-{i}" for i in range(1, REPLICAS + 1)]
    counts = restart_counts(host, names)
    host.run("ps -o pid,args | awk '$2 == \"sleep\" && $3 == \"100001\" {print $1}' | xargs kill -KILL", check=True)
    wait(host, lambda: all(v > counts[n] for n, v in restart_counts(host, names).items()), 300,
         "every replica to restart")
    wait(host, lambda: up_count(host) >= REPLICAS + 1, 300, "every replica to run")  # and bomb
    zombies = host.run("ps -o stat,pid,comm | awk '$1 ~ /^Z/'").stdout.strip()
    assert zombies == "", zombies
