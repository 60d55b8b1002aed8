"""Three Berth hosts form a Docker Swarm from CONFIG alone (issue 18,
docs/fleet.md): each runs the example of docs/examples/swarm with the engine
image; they share one private virtual network (QEMU's multicast socket
netdev on loopback: no other address is reached) besides each one's own
user-mode network for ssh. The first node starts the swarm; the others join
at boot with the token in their CONFIG; a stack with an overlay network, 3
replicas and a published port answers through the routing mesh on every
node, a container reaches the service by name over the overlay; one VM is
killed and its replicas come back on the others while the stack keeps
answering; booted again, it rejoins; its swarm.env changed to manager and back
to worker with `berth config apply`, a node follows both ways.

Heavy (three 1 GiB VMs under TCG): `make check-fleet` runs it."""
import os
import random
import subprocess
import threading
import time

import pytest

from sshhost import wait
from test_engine import ENGINE, busybox_tar, docker, engine_host

pytestmark = pytest.mark.heavy

NODES = ("node1", "node2", "node3")
STACK = """\
version: "3.8"
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "exec netserve http 80 $$(hostname)"]
    networks: [front]
    ports: ["8080:80"]
    deploy:
      replicas: 3
      restart_policy: {condition: any}
networks:
  front:
    driver: overlay
"""


def private_ip(i):
    return f"192.168.50.1{i + 1}"


def host_yaml(key, i):
    return f"""\
hostname: {NODES[i]}
ssh_authorized_keys:
  - {key}
ntp:
  servers: []
network:
  interfaces:
    lan:
      match: {{macaddress: "52:54:00:12:34:56"}}
      dhcp: true
    swarm:
      match: {{macaddress: "52:54:00:be:50:1{i + 1}"}}
      addresses: [{private_ip(i)}/24]
"""


def swarm_env(i, role, token=""):
    managers = "" if i == 0 else private_ip(0)
    return (f"SWARM_ROLE={role}\nSWARM_MANAGERS={managers}\nSWARM_TOKEN={token}\n"
            f"SWARM_ADVERTISE_ADDR={private_ip(i)}\n")


def node(workdir, image, i, mcast, role, token=""):
    """Node i: the engine example with its swarm.env, its own ssh key and
    host.yaml, and a second NIC on the swarm's private network."""
    d = os.path.join(workdir, NODES[i])
    os.makedirs(d, exist_ok=True)
    key = os.path.join(d, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", key], check=True)
    n = engine_host(d, image, swarm_env(i, role, token), host_yaml=host_yaml(open(key + ".pub").read().strip(), i))
    n.i = i
    n.vm_extra = ["-netdev", f"socket,id=swarm,mcast={mcast},localaddr=127.0.0.1",
                  "-device", f"virtio-net-pci,netdev=swarm,mac=52:54:00:be:50:1{i + 1}"]
    return n


def node_states(h):
    r = docker(h, "node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'", check=False, timeout=30)
    return r.stdout.split("\n") if r.returncode == 0 else []


def ready_nodes(h):
    return sorted(line.split()[0] for line in node_states(h) if " Ready" in line)


def engine_active(h):
    r = docker(h, "info --format '{{.Swarm.LocalNodeState}}'", check=False, timeout=30)
    return r.returncode == 0 and r.stdout.strip() == "active"


def load_busybox(h, tar):
    h.put("/data/busybox-docker.tar", open(tar, "rb").read())
    docker(h, "load", input_path="/data/busybox-docker.tar")


def running_tasks(h):
    """{node: n} of the stack's running tasks."""
    r = docker(h, "service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' hello_web",
               check=False, timeout=30)
    out = {}
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 2 and f[1] == "Running":
            out[f[0]] = out.get(f[0], 0) + 1
    return out


@pytest.fixture(scope="module")
def swarm(image, workdir):
    if not os.path.exists(ENGINE):
        pytest.fail(f"{ENGINE} is missing: run 'make engine' (make check-fleet does)")
    mcast = f"230.0.0.1:{random.randint(20000, 40000)}"
    bb = busybox_tar(workdir)
    started = time.monotonic()
    first = node(workdir, image, 0, mcast, "manager")
    first.boot("node1")
    wait(first, lambda: engine_active(first), 300, "the first manager's swarm")
    t_first = time.monotonic() - started
    token = docker(first, "swarm join-token -q worker").stdout.strip()
    assert token.startswith("SWMTKN-"), token
    others = [node(workdir, image, i, mcast, "worker", token) for i in (1, 2)]
    t0 = time.monotonic()
    threads = [threading.Thread(target=n.boot, args=(NODES[n.i],)) for n in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    nodes = [first, *others]
    wait(first, lambda: ready_nodes(first) == list(NODES), 300, "three nodes ready")
    print(f"swarm: first manager {t_first:.1f} s from power-on; two workers joined "
          f"{time.monotonic() - t0:.1f} s after their power-on")
    for n in nodes:
        load_busybox(n, bb)
    yield nodes
    for n in nodes:
        n.kill()


def test_swarm_formed_from_config(swarm):
    first = swarm[0]
    lines = node_states(first)
    assert any(line.startswith("node1 ") and "Leader" in line for line in lines), lines
    for name in ("node2", "node3"):
        assert any(line.startswith(name + " ") and "Ready" in line for line in lines), lines
    for n in swarm[1:]:
        log = n.run("berth logs engine").stdout + n.run("berth logs engine").stderr
        assert "joined the swarm through 192.168.50.11 as a worker" in log, log[-2000:]


def test_stack_answers_on_every_node(swarm):
    first = swarm[0]
    first.put("/data/stack.yaml", STACK)
    first.run("berth cp /data/stack.yaml engine:/tmp/stack.yaml", check=True)
    t0 = time.monotonic()
    docker(first, "stack deploy -c /tmp/stack.yaml hello", timeout=180)
    wait(first, lambda: sum(running_tasks(first).values()) == 3, 300, "three replicas running")
    print(f"swarm: stack deploy to 3 replicas running: {time.monotonic() - t0:.1f} s")
    for n in swarm:
        seen = set()
        deadline = time.monotonic() + 90
        while len(seen) < 2 and time.monotonic() < deadline:
            out = n.run(f"wget -qO- -T 5 http://{private_ip(n.i)}:8080/").stdout.strip()
            if out:
                seen.add(out)
        assert len(seen) >= 2, f"{NODES[n.i]}'s routing mesh answered from {seen} only"


def test_service_reached_by_name_over_the_overlay(swarm):
    first = swarm[0]
    docker(first, "service create --detach --name probe --network hello_front "
                  "--constraint node.hostname==node3 busybox sleep 100000", timeout=120)
    third = swarm[2]
    cid = wait(third, lambda: docker(third, "ps -q -f name=probe", check=False).stdout.strip(), 180,
               "the probe on node3")
    out = docker(third, f"exec {cid} wget -qO- -T 5 http://web/", check=False).stdout.strip()
    assert out, "node3 could not reach the service 'web' by name"
    docker(first, "service rm probe")


def test_failover_and_rejoin(swarm):
    first, second, third = swarm
    before = running_tasks(first)
    assert sum(before.values()) == 3, before
    third.kill()
    t0 = time.monotonic()
    wait(first, lambda: "node3" not in running_tasks(first) and sum(running_tasks(first).values()) == 3, 300,
         "the replicas back on node1 and node2")
    print(f"swarm: node3 killed, its replicas running elsewhere after {time.monotonic() - t0:.1f} s")
    assert first.run(f"wget -qO- -T 5 http://{private_ip(0)}:8080/").stdout.strip()
    assert second.run(f"wget -qO- -T 5 http://{private_ip(1)}:8080/").stdout.strip()
    t1 = time.monotonic()
    third.boot("node3-again")
    wait(first, lambda: "node3" in ready_nodes(first), 300, "node3 rejoined")
    print(f"swarm: node3 Ready again {time.monotonic() - t1:.1f} s after its power-on")


def test_an_encrypted_overlay_carries_traffic(swarm):
    """`--opt encrypted`: the overlay's VXLAN goes inside ESP between the
    nodes (the kernel's XFRM, ESP and AES-GCM of berth.config). dockerd
    drops the network's VXLAN packets that arrive without IPsec, so an
    answer across nodes is traffic that went through ESP."""
    first, third = swarm[0], swarm[2]
    docker(first, "network create -d overlay --opt encrypted sealed-net")
    docker(first, "service create --detach --name sealed --network sealed-net "
                  "--constraint node.hostname==node1 busybox sh -c 'exec netserve http 80 sealed'", timeout=120)
    docker(first, "service create --detach --name sprobe --network sealed-net "
                  "--constraint node.hostname==node3 busybox sleep 100000", timeout=120)
    cid = wait(third, lambda: docker(third, "ps -q -f name=sprobe", check=False).stdout.strip(), 180,
               "the probe on node3")
    out = wait(third, lambda: docker(third, f"exec {cid} wget -qO- -T 5 http://sealed/", check=False).stdout.strip(),
               120, "node3 reaching node1's service over the encrypted overlay")
    assert out == "sealed", out
    # The rule that makes the proof: unencrypted VXLAN of this network is dropped.
    rules = first.run("berth exec engine iptables -S", check=True).stdout
    assert any("--pol none" in r and "4789" in r and "DROP" in r for r in rules.splitlines()), rules
    docker(first, "service rm sealed sprobe")


def apply_swarm_env(n, text):
    """n's CONFIG with swarm.env replaced, applied with `berth config apply`."""
    cfg = os.path.join(n.workdir, "config")
    with open(os.path.join(cfg, "swarm.env"), "w") as f:
        f.write(text)
    tar = subprocess.run(["tar", "c", "-C", cfg, "."], capture_output=True, check=True).stdout
    subprocess.run(n._args() + ["rm -rf /data/newcfg && mkdir /data/newcfg && tar x -C /data/newcfg"],
                   input=tar, check=True, capture_output=True)
    r = n.run("berth config apply /data/newcfg", timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr


def node2_status(first):
    """node2's manager status as node1 lists it ("" for a worker); None
    while no node2 is Ready (the one that left is listed Down)."""
    for line in node_states(first):
        f = line.split()
        if len(f) >= 2 and f[0] == "node2" and f[1] == "Ready":
            return f[2] if len(f) > 2 else ""
    return None


def engine_log(n):
    r = n.run("berth logs engine 2>&1")
    return r.stdout + r.stderr


def wait_node2(first, second, cond, what):
    try:
        wait(first, cond, 300, what)
    except AssertionError as e:
        # What each side saw: the membership script's lines and dockerd's.
        log = engine_log(second)
        member = "\n".join(line for line in log.splitlines() if "swarm-member" in line)
        raise AssertionError(f"{e}\nnode1 says: {node_states(first)}\nnode2's swarm-member:\n{member}\n"
                             f"node2's engine log:\n{log[-4000:]}") from None


def test_a_role_change_in_config_is_followed(swarm):
    """node2's swarm.env says manager now (with the manager token), applied
    with `berth config apply`: the engine restarts and the node comes back
    as a manager; said worker again, it demotes itself."""
    first, second = swarm[0], swarm[1]
    token = docker(first, "swarm join-token -q manager").stdout.strip()
    apply_swarm_env(second, swarm_env(1, "manager", token))
    wait_node2(first, second, lambda: node2_status(first) == "Reachable", "node2 a manager")
    log = engine_log(second)
    assert "left the swarm to rejoin as a manager" in log and "joined the swarm through" in log, log[-2000:]
    token = docker(first, "swarm join-token -q worker").stdout.strip()
    apply_swarm_env(second, swarm_env(1, "worker", token))
    wait_node2(first, second, lambda: node2_status(first) == "", "node2 a worker again")
    assert "demoted itself to a worker, as declared" in engine_log(second)
    # The stack still answers on node2 (the routing mesh is every node's)
    # once its restarted engine has set the ingress up again.
    wait(second, lambda: second.run(f"wget -qO- -T 5 http://{private_ip(1)}:8080/").stdout.strip(), 120,
         "node2's routing mesh after its role changes")
