"""System containers from the config partition, as a user runs them: a
compose.yaml and image archives in CONFIG, a boot, and the berth CLI over
ssh. One VM serves the whole module (it is rebooted once); the checks run
in order, each from the state the previous ones left."""
import json
import os
import re

import pytest

import imagegen
from sshhost import SshHost, wait

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("BERTH_OUT", os.path.join(TOP, "out"))
BUSYBOX = os.path.join(OUT, "pkg", "busybox", "busybox")

COMPOSE = """
services:
  db:
    image: busybox
    command: ["sh", "-c", "echo db starting; sleep 1; date +%s >> /var/lib/db/boots; touch /tmp/ready; exec sleep 100000"]
    volumes:
      - dbdata:/var/lib/db
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      retries: 30
    restart: always
  api:
    image: app:1
    depends_on:
      db:
        condition: service_healthy
    restart: on-failure
    environment:
      GREETING: ${GREETING:-hello}
    volumes:
      - appdata:/app/data
  web:
    image: busybox
    command: ["sh", "-c", "echo web up; exec sleep 100000"]
    depends_on: [api]
    restart: "no"
  chatty:
    image: busybox
    command: ["sh", "-c", "i=0; while [ $$i -lt 4000 ]; do echo line $$i of a chatty container; i=$$((i+1)); done; exec sleep 100000"]
    logging:
      options:
        max-size: 20k
        max-file: "3"
volumes:
  dbdata: {}
  appdata: {}
"""

APP_SERVER = """#!/bin/sh
echo "api says $GREETING (uid $(id -u))"
trap 'echo api stopping; exit 0' TERM
while true; do sleep 1; done
"""


def ps(h):
    r = h.run("berth ps -a", check=True)
    rows = {}
    for line in r.stdout.splitlines()[1:]:
        parts = line.split(None, 3)
        if len(parts) >= 2:
            rows[parts[0]] = line
    return rows


def inspect(h, name):
    r = h.run(f"berth inspect {name}", check=True)
    return json.loads(r.stdout)[0]


def running(h, *names):
    states = {n: inspect(h, n)["state"] for n in names}
    return all(s == "running" for s in states.values()) and states


def images(workdir):
    apps = imagegen.applets(BUSYBOX)
    base = imagegen.busybox_layer(BUSYBOX, apps)
    bb_cfg = imagegen.config([base])
    app_layer = imagegen.layer({"app/server.sh": APP_SERVER,
                                "app/data": {"dir": True, "uid": 1000, "mode": 0o750},
                                "app/data/seed.txt": {"data": "seeded by the image\n", "uid": 1000}})
    app_cfg = imagegen.config([base, app_layer], Entrypoint=["/app/server.sh"], Cmd=[], User="1000:1000",
                              StopSignal="SIGTERM")
    paths = {}
    for name in ("busybox.tar", "app.tar", "extra.tar", "extra-oci.tar"):
        paths[name] = os.path.join(workdir, name)
    imagegen.oci_tar(paths["busybox.tar"], [("busybox:latest", [base], bb_cfg)])
    imagegen.docker_tar(paths["app.tar"], [("app:1", [base, app_layer], app_cfg)])
    extra = imagegen.layer({"extra/hello": "#!/bin/sh\necho extra image\n"})
    extra_cfg = imagegen.config([base, extra], Cmd=["/extra/hello"])
    imagegen.docker_tar(paths["extra.tar"], [("extra:docker", [base, extra], extra_cfg)])
    imagegen.oci_tar(paths["extra-oci.tar"], [("extra:oci", [base, extra], extra_cfg)])
    return paths


@pytest.fixture(scope="module")
def host(image, workdir):
    paths = images(workdir)
    files = {
        "compose.yaml": COMPOSE,
        ".env": "GREETING=hi from .env\n",
        "images/busybox.tar": open(paths["busybox.tar"], "rb").read(),
        "images/app.tar": open(paths["app.tar"], "rb").read(),
    }
    h = SshHost(workdir, image, config_files=files, memory=512,
                host_yaml_extra="containers:\n  bind_mounts: [/run/shared]\n")
    h.paths = paths
    h.boot("containers")
    yield h
    h.kill()


def test_stack_starts_in_dependency_order(host):
    h = host
    wait(h, lambda: running(h, "db", "api", "web", "chatty"), 90, "the stack to run")
    db, api, web = inspect(h, "db"), inspect(h, "api"), inspect(h, "web")
    # api waits for db's healthcheck (db becomes ready after 1 s), web for api.
    assert api["started_ms"] >= db["started_ms"] + 900, (db["started_ms"], api["started_ms"])
    assert web["started_ms"] >= api["started_ms"]
    assert db["health"] == "healthy"
    rows = ps(h)
    assert "Up" in rows["db"] and "(healthy)" in rows["db"], rows
    # The image's entrypoint with the variable from .env, as the image's user.
    logs = h.run("berth logs api", check=True).stdout
    assert "api says hi from .env (uid 1000)" in logs, logs
    assert "db starting" in h.run("berth logs db", check=True).stdout


def test_exec_and_inspect(host):
    h = host
    r = h.run("berth exec api id -u", check=True)
    assert r.stdout.strip() == "1000"
    r = h.run("berth exec -u 0 -w /tmp -e X=42 api sh -c 'echo $(id -u) $(pwd) $X'", check=True)
    assert r.stdout.strip() == "0 /tmp 42"
    # A new named volume gets the image's files there, owners and modes too.
    r = h.run("berth exec api sh -c 'cat /app/data/seed.txt; stat -c %u:%a /app/data; touch /app/data/mine'",
              check=True)
    assert r.stdout.split("\n")[:2] == ["seeded by the image", "1000:750"], r.stdout
    r = h.run("berth exec api sh -c 'exit 7'")
    assert r.returncode == 7
    r = h.run("berth exec nosuch true")
    assert r.returncode != 0 and "no such container: nosuch" in r.stderr
    info = inspect(h, "db")
    assert info["service"] == "db" and info["restart_policy"] == "always"
    assert info["health_check"]["log"][-1]["exit_code"] == 0


def test_restart_policies(host):
    h = host
    before = {n: inspect(h, n) for n in ("db", "api", "web")}
    for n in ("db", "api", "web"):
        h.run(f"kill -9 {before[n]['pid']}", check=True)
    # always and on-failure (killed: a failure) come back; "no" stays down.
    wait(h, lambda: running(h, "db", "api"), 60, "db and api to be restarted")
    wait(h, lambda: inspect(h, "web")["state"] == "exited", 30, "web to stay exited")
    for n in ("db", "api"):
        after = inspect(h, n)
        assert after["restart_count"] == before[n]["restart_count"] + 1, after
        assert after["pid"] != before[n]["pid"]
    assert "Exited (137)" in ps(h)["web"]
    h.run("berth start web", check=True)
    wait(h, lambda: running(h, "web"), 30, "web to start again")


def test_berthd_restart_readopts_containers(host):
    h = host
    pids = {n: inspect(h, n)["pid"] for n in ("db", "api", "web")}
    r = h.run("pidof berthd || pgrep -x berthd", check=True)
    old = r.stdout.split()[0]
    h.run(f"kill -9 {old}", check=True)
    # While berthd is down the containers run on.
    r = h.run(" && ".join(f"kill -0 {p}" for p in pids.values()))
    assert r.returncode == 0
    wait(h, lambda: h.run("berth ps").returncode == 0, 30, "init to restart berthd")
    new = h.run("pidof berthd || pgrep -x berthd", check=True).stdout.split()[0]
    assert new != old
    for n, p in pids.items():
        assert inspect(h, n)["pid"] == p, n
    # The new berthd follows them: a crash is still restarted.
    h.run(f"kill -9 {pids['db']}", check=True)
    wait(h, lambda: inspect(h, "db")["pid"] not in (0, pids["db"]) and running(h, "db"), 60,
         "the adopted db to be restarted")


def test_logs_options_and_rotation(host):
    h = host
    r = h.run("berth logs --tail 2 chatty", check=True)
    assert r.stdout.splitlines() == ["line 3998 of a chatty container", "line 3999 of a chatty container"]
    r = h.run("berth logs -t --tail 1 db", check=True)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ", r.stdout), r.stdout
    r = h.run("berth logs --since 1h db", check=True)
    assert "db starting" in r.stdout
    r = h.run("berth logs --since 2099-01-01T00:00:00Z db", check=True)
    assert r.stdout == ""
    # 4000 lines of ~40 bytes: rotated at 20k, at most three files kept.
    r = h.run("ls -l /data/berth/containers/chatty/", check=True)
    names = re.findall(r"\blog(?:\.\d+)?$", r.stdout, re.M)
    assert sorted(names) == ["log", "log.1", "log.2"], r.stdout
    r = h.run("du -k /data/berth/containers/chatty/log*", check=True)
    for line in r.stdout.splitlines():
        assert int(line.split()[0]) <= 24, r.stdout
    # logs -f: what a running container says, as it says it.
    r = h.run("timeout 3 berth logs -f --tail 0 db & sleep 1; berth exec db sh -c 'echo via-exec > /proc/1/fd/1'; "
              "wait", timeout=30)
    assert "via-exec" in r.stdout, r.stdout + r.stderr


def test_run_and_attach(host):
    h = host
    r = h.run("mkdir -p /data/app && echo data-file > /data/app/f && chown 1000:1000 /data/app && "
              "berth run --rm -u 1000:1000 -v /data/app:/app -w /app busybox sh -c 'cat f; id -u; pwd; "
              "echo made > new'")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["data-file", "1000", "/app"], r.stdout
    assert h.run("cat /data/app/new", check=True).stdout.strip() == "made"
    # --rm: gone afterwards; the exit code is the container's.
    r = h.run("berth run --rm busybox sh -c 'exit 5'")
    assert r.returncode == 5
    assert "busybox-" not in h.run("berth ps -a", check=True).stdout
    # -it over a terminal, as a user types.
    r = h.run("berth run -it --rm busybox sh -c 'tty; echo in-a-tty'", tty=True)
    assert "/dev/pts/" in r.stdout and "in-a-tty" in r.stdout, r.stdout
    # -i: our stdin reaches the container.
    r = h.run("berth run -i --rm busybox sh -c 'read x; echo got $x'", input="hello\n")
    assert r.stdout.strip() == "got hello", r.stdout + r.stderr
    # -d, then attach to its output.
    r = h.run("berth run -d --name ticker busybox sh -c 'sleep 2; echo tick; sleep 1; echo tock; exit 3'",
              check=True)
    assert r.stdout.strip() == "ticker"
    r = h.run("berth attach ticker", timeout=30)
    assert "tock" in r.stdout and r.returncode == 3, r.stdout
    h.run("berth rm ticker", check=True)
    # Bind mounts: /config, /data and what host.yaml allows; nothing else.
    r = h.run("mkdir -p /run/shared && echo hi > /run/shared/f && berth run --rm -v /run/shared:/s:ro busybox cat /s/f")
    assert r.returncode == 0 and r.stdout == "hi\n", r.stderr
    r = h.run("berth run --rm -v /etc:/e busybox true")
    assert r.returncode == 125 and "bind mount of /etc" in r.stderr, r.stderr
    r = h.run("berth run --rm -v /data/berth:/e busybox true")
    assert r.returncode == 125 and "not /data/berth" in r.stderr, r.stderr
    r = h.run("berth run --rm nosuch:image true")
    assert r.returncode == 125 and "nosuch:image is not loaded" in r.stderr


def test_load_formats_and_rmi(host):
    h = host
    for name in ("extra.tar", "extra-oci.tar"):
        h.put(f"/tmp/{name}", open(h.paths[name], "rb").read())
    r = h.run("berth load < /tmp/extra.tar", check=True)
    assert "Loaded image: extra:docker" in r.stdout
    r = h.run("berth load -i /tmp/extra-oci.tar", check=True)
    assert "Loaded image: extra:oci" in r.stdout
    r = h.run("berth images", check=True)
    assert "extra:docker" in r.stdout and "extra:oci" in r.stdout and "busybox:latest" in r.stdout
    assert h.run("berth run --rm extra:oci", check=True).stdout.strip() == "extra image"
    # An image a container uses stays.
    r = h.run("berth rmi busybox")
    assert r.returncode != 0 and "use" in r.stderr, r.stderr
    h.run("berth rmi extra:docker extra:oci", check=True)
    assert "extra:" not in h.run("berth images", check=True).stdout
    r = h.run("printf 'not a tar' | berth load")
    assert r.returncode != 0 and r.stderr.strip(), r.stderr


def test_up_recreates_only_what_changed(host):
    h = host
    before = {n: inspect(h, n) for n in ("db", "api", "web")}
    edited = COMPOSE.replace('command: ["sh", "-c", "echo web up; exec sleep 100000"]',
                             'command: ["sh", "-c", "echo web v2; exec sleep 100000"]')
    h.run("mount -o remount,rw /config", check=True)
    h.put("/config/compose.yaml", edited)
    h.run("mount -o remount,ro /config", check=True)
    r = h.run("berth up", check=True)
    assert "recreated: web" in r.stdout and "unchanged: db" in r.stdout, r.stdout
    wait(h, lambda: running(h, "web") and "web v2" in h.run("berth logs web").stdout, 60, "the new web")
    for n in ("db", "api"):
        assert inspect(h, n)["pid"] == before[n]["pid"], n


def test_up_restarts_dependents_that_ask_for_it(host):
    # depends_on.web.restart: true: chatty restarts when web is recreated.
    h = host
    v2 = COMPOSE.replace('command: ["sh", "-c", "echo web up; exec sleep 100000"]',
                         'command: ["sh", "-c", "echo web v2; exec sleep 100000"]')
    with_dep = v2.replace("  chatty:\n    image: busybox\n",
                          "  chatty:\n    image: busybox\n    depends_on:\n      web: {condition: service_started, "
                          "restart: true}\n")
    for text in (with_dep, with_dep.replace("echo web v2", "echo web v3")):
        h.run("mount -o remount,rw /config", check=True)
        h.put("/config/compose.yaml", text)
        h.run("mount -o remount,ro /config", check=True)
        wait(h, lambda: running(h, "chatty"), 60, "chatty running")
        before = {n: inspect(h, n)["pid"] for n in ("db", "chatty")}
        r = h.run("berth up", check=True)
    assert "recreated: web" in r.stdout and "restarted: chatty" in r.stdout, r.stdout
    wait(h, lambda: running(h, "chatty") and inspect(h, "chatty")["pid"] != before["chatty"], 60, "chatty restarted")
    assert inspect(h, "db")["pid"] == before["db"]
    # The file back as the tests after this one expect it.
    h.run("mount -o remount,rw /config", check=True)
    h.put("/config/compose.yaml", v2)
    h.run("mount -o remount,ro /config", check=True)
    h.run("berth up", check=True)
    wait(h, lambda: running(h, "web") and running(h, "chatty"), 60, "web and chatty")


BROKEN = [
    ("unknown key", COMPOSE.replace("  web:\n", "  web:\n    frobnicate: 1\n"), "frobnicate"),
    ("wrong type", COMPOSE.replace('restart: "no"', "restart: [no]"), "restart"),
    # Not pulled (a missing image with the default pull_policy is; see test_registry.py).
    ("missing image", COMPOSE.replace("image: app:1", "image: nosuch:2\n    pull_policy: never"), "nosuch:2"),
    ("cycle", COMPOSE.replace("    depends_on: [api]\n", "    depends_on: [api]\n").replace(
        "      db:\n        condition: service_healthy\n",
        "      db:\n        condition: service_healthy\n      web:\n        condition: service_started\n"),
     "cycle"),
    # Refused by berthd alone until config check learnt the same rules.
    ("sctp port", COMPOSE.replace('    restart: "no"\n', '    restart: "no"\n    ports: ["8053:53/sctp"]\n'),
     "services.web.ports: sctp: only tcp and udp are supported"),
    ("bind of /etc", COMPOSE.replace('    restart: "no"\n', '    restart: "no"\n    volumes: ["/etc:/host-etc:ro"]\n'),
     "services.web.volumes: bind mount of /etc: only paths under /config"),
    # Last: the reboot test after these boots with a compose.yaml that does not parse.
    ("syntax", "services:\n  web: [unclosed\n", "compose.yaml:"),
]


@pytest.mark.parametrize("what,text,message", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_compose_is_reported_and_harmless(host, what, text, message):
    h = host
    pids = {n: inspect(h, n)["pid"] for n in ("db", "chatty")}
    h.run("mount -o remount,rw /config", check=True)
    h.put("/config/compose.yaml", text)
    h.run("mount -o remount,ro /config", check=True)
    r = h.run("berth up")
    assert r.returncode != 0 and message in r.stderr, (what, r.stderr)
    # Services the mistake does not touch keep running, untouched.
    for n, p in pids.items():
        assert inspect(h, n)["pid"] == p, (what, n)
    # The same checker, before flashing: the same message.
    r = h.run("berth config check /config")
    assert r.returncode == 1 and message in r.stdout, (what, r.stdout)


def test_reboot_brings_the_stack_back_with_its_data(host):
    h = host
    # compose.yaml does not parse (the last test): the last good one is used at boot.
    boots_before = h.run("berth exec db cat /var/lib/db/boots", check=True).stdout.split()
    h.reboot("containers-reboot")
    wait(h, lambda: running(h, "db", "api", "web", "chatty"), 120, "the stack after the reboot")
    boots_after = h.run("berth exec db cat /var/lib/db/boots", check=True).stdout.split()
    assert boots_after[:len(boots_before)] == boots_before and len(boots_after) == len(boots_before) + 1
    # Logs of the previous boot are still there.
    assert h.run("berth logs db", check=True).stdout.count("db starting") >= 2
    # At the shutdown, dependents stopped before what they depend on, each
    # with its stop signal (api handles SIGTERM and says so).
    r = h.run("hostlog -b -1 | grep -E 'berthd: (web|api|db): stopping'", check=True)
    order = [re.search(r"berthd: (\w+): stopping", l).group(1) for l in r.stdout.splitlines()]
    assert "web" in order and "api" in order and "db" in order, h.run("hostlog -b -1 | grep berthd").stdout
    assert order.index("web") < order.index("api") < order.index("db"), order
    assert "api stopping" in h.run("berth logs api", check=True).stdout
    r = h.run("hostlog | grep 'last good compose.yaml'")
    assert r.returncode == 0, "no message about the fallback"


def test_crafted_layers_are_refused(host, workdir):
    """Archives whose layers try to escape the store, or smuggle devices in:
    each refused, naming the entry, with nothing written outside the store."""
    h = host
    import subprocess
    mal = os.path.join(workdir, "mal")
    subprocess.run([os.path.join(TOP, "tests", "fixtures", "mkimages"), mal, BUSYBOX], check=True,
                   capture_output=True)
    expected = json.load(open(os.path.join(mal, "malicious.json")))
    for name in sorted(expected):
        tar = os.path.join(workdir, name + ".tar")
        subprocess.run(["tar", "-C", os.path.join(mal, name), "-cf", tar, "oci-layout", "index.json", "blobs"],
                       check=True)
        h.put(f"/tmp/{name}.tar", open(tar, "rb").read())
    for name, entry in sorted(expected.items()):
        r = h.run(f"berth load -i /tmp/{name}.tar")
        assert r.returncode != 0, name
        assert entry in r.stderr, (name, r.stderr)
    r = h.run("ls -d /berth-evil-abs /tmp/berth-evil-symlink /tmp/berth-evil-dir /data/berth/escape "
              "/data/berth/store/escape /data/escape 2>/dev/null")
    assert r.stdout.strip() == "", r.stdout
    assert h.run("ls /data/berth/store/tmp", check=True).stdout.strip() == ""
    r = h.run("berth images", check=True)
    assert len(r.stdout.strip().splitlines()) == 3, r.stdout  # header, busybox, app
