"""Docker's engine as a Berth system container (issue 18, docs/fleet.md):
the example of docs/examples/swarm with the engine image of `make engine`,
in one Berth VM. dockerd runs its containers with berth-oci (through
containerd's runc shim); docker's everyday commands work; published ports
and a one-node swarm's routing mesh answer; the engine sees only its own
cgroups; after a reboot the engine and its swarm are back.

Heavy (a 1 GiB VM and a 70 MB image): `make check-fleet` runs it, with
BERTH_ENGINE naming the image."""
import os
import shlex
import subprocess
import time

import pytest

import imagegen
from berthvm import OUT
from sshhost import SshHost, wait

pytestmark = pytest.mark.heavy

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(TOP, "docs", "examples", "swarm")
OUT_TESTS = os.path.join(OUT, "target", "tests")
ENGINE = os.environ.get("BERTH_ENGINE", os.path.join(TOP, "out", "engine", "berth-engine.tar"))


def docker(h, args, timeout=120, check=True, input_path=None):
    """docker ARGS in the engine container, as an operator on the host runs it."""
    cmd = "berth exec" + (" -i" if input_path else "") + " engine docker " + args
    if input_path:
        cmd += " < " + shlex.quote(input_path)
    r = h.run(cmd, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"docker {args} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def busybox_tar(workdir):
    """busybox:latest for dockerd, in docker save's format: the image's
    BusyBox and the tests' HTTP server (netserve http PORT TEXT)."""
    tool = open(os.path.join(OUT_TESTS, "netserve"), "rb").read()
    layers = [imagegen.busybox_layer(imagegen.BUSYBOX, imagegen.applets(imagegen.BUSYBOX)),
              imagegen.layer({"bin/netserve": {"data": tool, "mode": 0o755}})]
    tar = os.path.join(workdir, "busybox-docker.tar")
    imagegen.docker_tar(tar, [("busybox:latest", layers, imagegen.config(layers, Cmd=["sh"]))])
    return tar


def engine_up(h):
    r = docker(h, "info --format '{{.DefaultRuntime}} {{.Swarm.LocalNodeState}}'", check=False, timeout=30)
    return r.returncode == 0 and r.stdout.split() == ["berth-oci", "active"]


def engine_host(workdir, image, swarm_env, **kw):
    """A 1 GiB host with the example's compose.yaml, the engine image and
    swarm_env in CONFIG, and room on DATA for /var/lib/docker (DATA grows
    into the disk at the first boot). test_swarm's nodes are these too."""
    files = {"compose.yaml": open(os.path.join(EXAMPLE, "compose.yaml")).read(), "swarm.env": swarm_env}
    with open(ENGINE, "rb") as f:
        files["images/engine.tar"] = f.read()
    h = SshHost(workdir, image, memory=1024, config_files=files, **kw)
    os.truncate(h.disk, 4 << 30)
    return h


@pytest.fixture(scope="module")
def host(image, workdir):
    if not os.path.exists(ENGINE):
        pytest.fail(f"{ENGINE} is missing: run 'make engine' (make check-fleet does)")
    h = engine_host(workdir, image, "SWARM_ROLE=manager\nSWARM_ADVERTISE_ADDR=10.0.2.15\n")
    started = time.monotonic()
    h.boot("engine")
    wait(h, lambda: engine_up(h), 300, "dockerd with berth-oci in a one-node swarm")
    print(f"engine: power-on to a swarm manager answering: {time.monotonic() - started:.1f} s")
    h.put("/data/busybox-docker.tar", open(busybox_tar(workdir), "rb").read())
    r = docker(h, "load", input_path="/data/busybox-docker.tar")
    assert "busybox:latest" in r.stdout, r.stdout + r.stderr
    yield h
    h.kill()


def test_containers_run_on_berth_oci(host):
    h = host
    r = docker(h, "run --rm --network none busybox echo hello from berth-oci")
    assert r.stdout.strip() == "hello from berth-oci", r.stdout + r.stderr
    r = docker(h, "run --rm busybox sh -c 'exit 7'", check=False)
    assert r.returncode == 7, r.stdout + r.stderr
    # A user that is not root reopens its stdout (runc hands stdio over).
    r = docker(h, "run --rm -u 1000 busybox sh -c 'echo as-user > /dev/stdout'")
    assert r.stdout.strip() == "as-user", r.stdout + r.stderr
    r = docker(h, "run --rm busybox no-such-command", check=False)
    assert r.returncode == 127, r.stdout + r.stderr
    # The shim runs berth-oci: a running container's state is berth-oci's.
    docker(h, "run -d --name probe busybox sleep 600")
    assert docker(h, "inspect -f '{{.HostConfig.Runtime}}' probe").stdout.strip() == "berth-oci"
    # dockerd 20.10 gives every runtime the state root of runc's name; the
    # state there is berth-oci's own (runc's would not parse).
    cid = docker(h, "inspect -f '{{.Id}}' probe").stdout.strip()
    r = h.run(f"berth exec engine berth-oci --root /run/docker/runtime-runc/moby state {cid}", check=True)
    assert '"status": "running"' in r.stdout or '"status":"running"' in r.stdout, r.stdout
    docker(h, "rm -f probe")


def test_everyday_commands(host):
    h = host
    docker(h, "run -d --name web --memory 96m busybox sleep 600")
    assert docker(h, "exec web echo inside").stdout.strip() == "inside"
    assert "sleep 600" in docker(h, "top web").stdout
    assert docker(h, "exec web cat /sys/fs/cgroup/memory.max").stdout.strip() == str(96 << 20)
    docker(h, "update --memory 64m --memory-swap 128m web")
    assert docker(h, "exec web cat /sys/fs/cgroup/memory.max").stdout.strip() == str(64 << 20)
    docker(h, "pause web")
    assert docker(h, "inspect -f '{{.State.Status}}' web").stdout.strip() == "paused"
    docker(h, "unpause web")
    stats = docker(h, "stats --no-stream --format '{{.Name}} {{.MemUsage}}' web").stdout
    assert stats.startswith("web "), stats
    docker(h, "exec web sh -c 'echo to-the-log > /proc/1/fd/1'")
    assert "to-the-log" in docker(h, "logs web").stdout
    docker(h, "kill -s USR1 web", check=False)
    docker(h, "stop -t 2 web")
    assert docker(h, "inspect -f '{{.State.Status}}' web").stdout.strip() == "exited"
    docker(h, "rm web")
    assert "web" not in docker(h, "ps -a --format '{{.Names}}'").stdout.split()


def test_published_port_through_the_bridge(host):
    h = host
    docker(h, "run -d --name www -p 8080:80 busybox netserve http 80 served-by-docker")
    wait(h, lambda: "served-by-docker" in h.run("wget -qO- -T 5 http://10.0.2.15:8080/").stdout, 60,
         "the published port")
    # dockerd's rules went in through iptables-nft.
    nat = h.run("berth exec engine iptables -t nat -S DOCKER", check=True).stdout
    assert "--dport 8080" in nat and "DNAT" in nat, nat
    docker(h, "rm -f www")


def test_service_through_the_routing_mesh(host):
    h = host
    docker(h, "network create -d overlay mesh-net")
    docker(h, "service create --detach --name hello --replicas 2 --network mesh-net -p 8081:80 busybox "
              "sh -c 'exec netserve http 80 $(hostname)'", timeout=180)
    wait(h, lambda: docker(h, "service ls --format '{{.Replicas}}'").stdout.strip() == "2/2", 180,
         "two replicas running")
    seen = set()
    deadline = time.monotonic() + 60
    while len(seen) < 2 and time.monotonic() < deadline:
        out = h.run("wget -qO- -T 5 http://10.0.2.15:8081/").stdout.strip()
        if out:
            seen.add(out)
    assert len(seen) == 2, f"IPVS answered from {seen} only"
    docker(h, "service rm hello")


DESK_STACK = """\
version: "3.8"
services:
  desk:
    image: busybox:latest
    command: ["sleep", "100000"]
    deploy:
      replicas: 1
"""


def test_docker_cli_from_the_desk(host, workdir):
    """A desk's own docker CLI (Debian's, as `make engine` leaves it beside
    the image) over ssh: the host's `docker system dial-stdio` reaches the
    engine container's dockerd."""
    h = host
    cli = os.path.join(os.path.dirname(ENGINE), "docker")
    bindir = os.path.join(workdir, "desk-bin")
    os.makedirs(bindir, exist_ok=True)
    # docker runs plain `ssh`: this one adds the test's key and host options.
    with open(os.path.join(bindir, "ssh"), "w") as f:
        f.write("#!/bin/sh\nexec /usr/bin/ssh -i %s -o BatchMode=yes -o StrictHostKeyChecking=no "
                "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \"$@\"\n" % shlex.quote(h.key))
    os.chmod(os.path.join(bindir, "ssh"), 0o755)
    env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"], DOCKER_HOST=f"ssh://root@127.0.0.1:{h.port}",
               DOCKER_CONFIG=os.path.join(workdir, "desk-docker"))
    env.pop("DOCKER_CONTEXT", None)

    def desk(*args):
        return subprocess.run([cli, *args], capture_output=True, text=True, env=env, timeout=180)
    r = desk("version", "--format", "{{.Server.Version}}")
    assert r.returncode == 0 and r.stdout.startswith("20.10.24"), r.stdout + r.stderr
    stack = os.path.join(workdir, "desk-stack.yaml")
    with open(stack, "w") as f:
        f.write(DESK_STACK)
    r = desk("stack", "deploy", "--resolve-image", "never", "-c", stack, "fromdesk")
    assert r.returncode == 0, r.stdout + r.stderr
    wait(h, lambda: desk("service", "ls", "--format", "{{.Name}} {{.Replicas}}").stdout.strip() == "fromdesk_desk 1/1",
         180, "the desk's stack running")
    assert desk("stack", "rm", "fromdesk").returncode == 0
    # Any other docker command on the host says where docker runs.
    r = h.run("docker ps")
    assert r.returncode == 1 and "berth exec engine docker" in r.stderr, r.stdout + r.stderr


def test_engine_sees_only_its_own_cgroups(host):
    h = host
    procs = h.run("berth exec engine cat /proc/self/cgroup", check=True).stdout.strip()
    assert procs.startswith("0::/"), procs
    tree = h.run("berth exec engine ls /sys/fs/cgroup", check=True).stdout.split()
    assert "engine" in tree and "berth" not in tree, tree
    # The host's view: the engine's groups are below the container's own.
    host_tree = h.run("find /sys/fs/cgroup -maxdepth 3 -type d -name docker", check=True).stdout.split()
    assert host_tree and all("/engine" in p or "/berth/" in p for p in host_tree), host_tree


def test_engine_and_swarm_back_after_reboot(host):
    h = host
    h.reboot("engine-reboot")
    wait(h, lambda: engine_up(h), 300, "the engine back in its swarm")
    assert "busybox" in docker(h, "images --format '{{.Repository}}'").stdout
    # swarm-member says so once the swarm's control API answers.
    wait(h, lambda: "in the swarm as a manager, as declared" in h.run("berth logs engine 2>&1").stdout, 180,
         "swarm-member's word")
