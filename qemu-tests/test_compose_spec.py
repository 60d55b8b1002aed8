"""The Compose specification beyond the basics (issue 15), as a user sees it
on a booted host: secrets and configs readable with their owner and mode,
a project made of included files and services that extend others, x- keys
and every spelling of linux/amd64. One VM serves the module."""
import json
import os
import re
import time

import pytest

import imagegen
from sshhost import SshHost, wait

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("BERTH_OUT", os.path.join(TOP, "out"))
BUSYBOX = os.path.join(OUT, "pkg", "busybox", "busybox")

COMPOSE = """
name: spec
include:
  - db/compose.yaml
x-base: &base
  image: busybox
  command: ["sh", "-c", "exec sleep 100000"]
services:
  web:
    <<: *base
    platform: linux/x86_64
    x-team: ops
    secrets:
      - db_password
      - source: api_token
        target: token
        uid: "100"
        gid: "101"
        mode: 0400
    configs:
      - source: site
        target: /etc/site.conf
        mode: 0440
      - motd
    logging:
      driver: json-file
      x-note: kept by berthd
  worker:
    extends:
      file: common.yaml
      service: base
    environment:
      ROLE: worker
  limited:
    <<: *base
    deploy:
      resources:
        limits: {cpus: "0.5", memory: 64m, pids: 40}
        reservations: {cpus: "0.25", memory: 16m}
      restart_policy: {condition: on-failure, max_attempts: 2}
      placement: {constraints: ["node.role == manager"]}
    cpuset: "0"
    oom_score_adj: 300
  replica:
    image: busybox
    command: ["sh", "-c", "exec netserve http 8080 $$(hostname)"]
    scale: 3
  hooked:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    volumes: ["hookvol:/shared"]
    post_start:
      - command: ["sh", "-c", "echo started as $$(id -u) in $$(pwd) $$STAGE > /tmp/post"]
        user: "1000"
        working_dir: /tmp
        environment: {STAGE: post}
    pre_stop:
      - command: ["sh", "-c", "echo drained > /shared/pre"]
  netty:
    <<: *base
    networks:
      back:
        gw_priority: 5
      front:
        priority: 10
        interface_name: lan0
        mac_address: "02:42:ac:11:00:99"
  anyport:
    image: busybox
    command: ["netserve", "http", "80", "picked"]
    ports: ["80"]
  client:
    <<: *base
    depends_on: [replica, web]
    links: ["db:database"]
    external_links: ["web:front"]
    dns_search: [example.internal]
    dns_opt: ["timeout:3"]
  hostpid:
    <<: *base
    pid: host
    ipc: host
    uts: host
    devices: ["/dev/zero:/dev/myzero:r", "/dev/kmsg:/dev/mykmsg:r"]
    group_add: ["4321"]
    security_opt: ["no-new-privileges:true"]
    annotations: {com.example.note: spec-test}
    cgroup_parent: batch
networks:
  front: {}
  back: {}
volumes:
  hookvol: {}
secrets:
  db_password:
    file: ./secrets/db_password.txt
  api_token:
    environment: API_TOKEN
configs:
  site:
    file: ./site.conf
  motd:
    content: |
      welcome to ${HOST_LABEL}
"""

DB = """
services:
  db:
    image: busybox
    command: ["sh", "-c", "cat /run/secrets/db_password > /tmp/pw; exec sleep 100000"]
    secrets: [db_password]
"""

COMMON = """
services:
  base:
    image: busybox
    command: ["sh", "-c", "echo role=$$ROLE shared=$$SHARED; exec sleep 100000"]
    environment:
      SHARED: "from common"
      ROLE: base
"""


def state(h, name):
    r = h.run(f"berth inspect {name}")
    return json.loads(r.stdout)[0]["state"] if r.returncode == 0 else None


@pytest.fixture(scope="module")
def host(image, workdir):
    base = imagegen.busybox_layer(BUSYBOX, imagegen.applets(BUSYBOX))
    serve = imagegen.layer({"bin/netserve": open(os.path.join(OUT, "target", "tests", "netserve"), "rb").read()})
    tar = os.path.join(workdir, "busybox.tar")
    imagegen.oci_tar(tar, [("busybox:latest", [base, serve], imagegen.config([base, serve]))])
    files = {
        "compose.yaml": COMPOSE,
        "db/compose.yaml": DB,
        "common.yaml": COMMON,
        ".env": "API_TOKEN=tok-123\nHOST_LABEL=berth-test\n",
        "secrets/db_password.txt": "hunter2\n",
        "site.conf": "listen 80\n",
        "images/busybox.tar": open(tar, "rb").read(),
    }
    h = SshHost(workdir, image, config_files=files, memory=512)
    h.boot("spec")
    names = ("web", "worker", "db", "limited", "client", "hostpid", "anyport", "hooked", "netty", "spec-replica-1", "spec-replica-2",
             "spec-replica-3")
    wait(h, lambda: all(state(h, n) == "running" for n in names), 120, "the stack to run")
    yield h
    h.kill()


def sh(h, container, script):
    r = h.run(f"berth exec {container} sh -c '{script}'", check=True)
    return r.stdout


def test_secrets_readable_with_owner_and_mode(host):
    h = host
    assert sh(h, "web", "cat /run/secrets/db_password") == "hunter2\n"
    assert sh(h, "web", "stat -c %a:%u:%g /run/secrets/db_password") == "444:0:0\n"
    # from .env, at a relative target, with the owner and mode asked for
    assert sh(h, "web", "cat /run/secrets/token") == "tok-123"
    assert sh(h, "web", "stat -c %a:%u:%g /run/secrets/token") == "400:100:101\n"
    # read-only, even for root in the container
    r = h.run("berth exec web sh -c 'echo x > /run/secrets/token'")
    assert r.returncode != 0
    # a secret never lands on DATA (but for the copy of CONFIG berthd keeps, .env and all)
    r = h.run("grep -rl tok-123 /data/berth 2>/dev/null | grep -v '^/data/berth/last-good/'")
    assert r.stdout == "", r.stdout


def test_configs_at_their_targets(host):
    h = host
    assert sh(h, "web", "cat /etc/site.conf") == "listen 80\n"
    assert sh(h, "web", "stat -c %a /etc/site.conf") == "440\n"
    # content: interpolated from .env, at /NAME by default
    assert sh(h, "web", "cat /motd") == "welcome to berth-test\n"


def test_included_file_and_its_secret(host):
    h = host
    # db comes from db/compose.yaml; its secret is the project's
    assert sh(h, "db", "cat /tmp/pw") == "hunter2\n"


def test_extends_merges_the_base(host):
    h = host
    logs = wait(h, lambda: "role=" in (out := h.run("berth logs worker").stdout) and out, 30, "worker's log")
    assert "role=worker shared=from common" in logs, logs


def test_secret_changes_with_the_file_on_apply(host):
    h = host
    h.run("mount -o remount,rw /config", check=True)
    h.put("/config/secrets/db_password.txt", "s3cret\n")
    h.run("mount -o remount,ro /config", check=True)
    # `berth up` writes the files again; the next start of web binds them
    r = h.run("berth up", check=True)
    h.run("berth restart web", check=True, timeout=120)
    wait(h, lambda: state(h, "web") == "running", 60, "web to run again")
    assert sh(h, "web", "cat /run/secrets/db_password") == "s3cret\n", r.stdout


def cgroup(h, path, name):
    return h.run(f"cat /sys/fs/cgroup/{path}/{name}", check=True).stdout.strip()


def test_deploy_resources_in_cgroup_files(host):
    h = host
    assert cgroup(h, "berth/limited", "memory.max") == str(64 << 20)
    assert cgroup(h, "berth/limited", "memory.low") == str(16 << 20)
    assert cgroup(h, "berth/limited", "cpu.max") == "50000 100000"
    assert cgroup(h, "berth/limited", "pids.max") == "40"
    # reservations.cpus: 256 shares, cgroup v2 weight 10 as runc converts them
    assert cgroup(h, "berth/limited", "cpu.weight") == "10"
    assert cgroup(h, "berth/limited", "cpuset.cpus") == "0"
    assert sh(h, "limited", "cat /proc/self/oom_score_adj") == "300\n"


def test_replicas_named_and_resolved(host):
    h = host
    ps = h.run("berth ps", check=True).stdout
    for i in (1, 2, 3):
        assert f"spec-replica-{i}" in ps, ps
    # the service name resolves to every replica; each answers by name
    out = sh(h, "client", "nslookup replica 2>&1 || true")
    seen = set()
    for _ in range(30):
        seen.add(sh(h, "client", "wget -qO- http://replica:8080/"))
        if len(seen) == 3:
            break
    assert seen == {"spec-replica-1", "spec-replica-2", "spec-replica-3"}, (seen, out)
    assert sh(h, "client", "wget -qO- http://spec-replica-2:8080/") == "spec-replica-2"


def test_port_without_host_port_gets_one(host):
    h = host
    ports = json.loads(h.run("berth inspect anyport", check=True).stdout)[0]["ports"]
    m = re.fullmatch(r"0\.0\.0\.0:(\d+)->80/tcp", ports[0]) if len(ports) == 1 else None
    assert m and 32768 <= int(m.group(1)) <= 60999, ports
    assert h.run(f"wget -qO- -T 5 http://127.0.0.1:{m.group(1)}/", check=True).stdout == "picked"
    # an apply keeps it
    h.run("berth up", check=True)
    assert json.loads(h.run("berth inspect anyport", check=True).stdout)[0]["ports"] == ports


def test_scale_down_removes_replicas(host):
    h = host
    h.run("mount -o remount,rw /config", check=True)
    h.put("/config/compose.yaml", COMPOSE.replace("scale: 3", "scale: 1"))
    h.run("mount -o remount,ro /config", check=True)
    r = h.run("berth up", check=True)
    assert "removed: spec-replica-2" in r.stdout and "removed: spec-replica-3" in r.stdout, r.stdout
    wait(h, lambda: "spec-replica-3" not in h.run("berth ps -a").stdout, 60, "replica 3 to go")
    # one replica is named after the service, as Docker Compose names it then
    assert "created: replica" in r.stdout, r.stdout


def test_dns_search_and_options(host):
    h = host
    resolv = sh(h, "client", "cat /etc/resolv.conf")
    assert "search example.internal" in resolv and "options timeout:3" in resolv, resolv


def test_host_namespaces_devices_and_security(host):
    h = host
    # pid: host: the host's init is there
    assert "init" in sh(h, "hostpid", "cat /proc/1/comm")
    assert sh(h, "hostpid", "hostname") == h.run("hostname", check=True).stdout
    assert sh(h, "hostpid", "head -c 4 /dev/myzero | wc -c").strip() == "4"
    # kmsg is not among the nodes every container may use: allowed r only
    assert sh(h, "hostpid", "stat -c %t:%T /dev/mykmsg") == "1:b\n"
    r = h.run("berth exec hostpid sh -c 'echo x > /dev/mykmsg'")
    assert r.returncode != 0 and "not permitted" in r.stderr + r.stdout, (r.stdout, r.stderr)
    assert "4321" in sh(h, "hostpid", "id -G")
    assert sh(h, "hostpid", "grep NoNewPrivs /proc/self/status").split()[1] == "1"
    # cgroup_parent: under berthd's own group
    assert h.run("test -d /sys/fs/cgroup/berth/batch/hostpid").returncode == 0
    config = json.loads(h.run("cat /data/berth/containers/hostpid/config.json", check=True).stdout)
    assert config["annotations"]["com.example.note"] == "spec-test", config["annotations"]


def test_post_start_and_pre_stop_hooks(host):
    h = host
    vol = "/data/berth/volumes/hookvol"
    wait(h, lambda: h.run("berth exec hooked cat /tmp/post").stdout, 30, "the post_start hook")
    assert sh(h, "hooked", "cat /tmp/post") == "started as 1000 in /tmp post\n"
    # pre_stop runs before the stop signal; the container then stops at once
    t0 = time.monotonic()
    h.run("berth stop hooked", check=True, timeout=60)
    wait(h, lambda: state(h, "hooked") == "exited", 30, "hooked to stop")
    assert time.monotonic() - t0 < 9, "the stop signal waited for the grace period"
    assert h.run(f"cat {vol}/pre", check=True).stdout == "drained\n"


def test_links_in_etc_hosts(host):
    h = host
    hosts = sh(h, "client", "cat /etc/hosts")
    db_addr = sh(h, "db", "hostname -i").split()[0]
    web_addr = sh(h, "web", "hostname -i").split()[0]
    assert f"{db_addr}\tdatabase db\n" in hosts, hosts
    assert f"{web_addr}\tfront web\n" in hosts, hosts


def test_network_attachment_keys(host):
    h = host
    # front has the higher priority: joined first, as lan0, with its MAC
    assert sh(h, "netty", "cat /sys/class/net/lan0/address") == "02:42:ac:11:00:99\n"
    assert int(sh(h, "netty", "cat /sys/class/net/lan0/ifindex")) < int(sh(h, "netty", "cat /sys/class/net/eth1/ifindex"))
    # back's gw_priority gives it the default route
    routes = sh(h, "netty", "cat /proc/net/route")
    default = [line.split()[0] for line in routes.splitlines()[1:] if line.split()[1] == "00000000"]
    assert default == ["eth1"], routes
