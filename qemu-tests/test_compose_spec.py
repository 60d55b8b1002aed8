"""The Compose specification beyond the basics (issue 15), as a user sees it
on a booted host: secrets and configs readable with their owner and mode,
a project made of included files and services that extend others, x- keys
and every spelling of linux/amd64. One VM serves the module."""
import json
import os
import time

import pytest

import imagegen
from sshhost import SshHost

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


def wait(h, cond, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}\n" + h.run("berth ps -a").stdout)


def state(h, name):
    r = h.run(f"berth inspect {name}")
    return json.loads(r.stdout)[0]["state"] if r.returncode == 0 else None


@pytest.fixture(scope="module")
def host(image, workdir):
    base = imagegen.busybox_layer(BUSYBOX, imagegen.applets(BUSYBOX))
    tar = os.path.join(workdir, "busybox.tar")
    imagegen.oci_tar(tar, [("busybox:latest", [base], imagegen.config([base]))])
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
    wait(h, lambda: all(state(h, n) == "running" for n in ("web", "worker", "db")), 90, "the stack to run")
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
    # a secret never lands on DATA
    r = h.run("grep -rl tok-123 /data/berth 2>/dev/null")
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
