"""`berth config check` on the build machine (out/host/berth, the image's
own static binary): the examples of docs/compose.md are good configs, and
each kind of mistake is reported with its file, line and field. No VM."""
import os
import re
import subprocess

import pytest

import imagegen

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("BERTH_OUT", os.path.join(TOP, "out"))
BERTH = os.path.join(OUT, "host", "berth")
BUSYBOX = os.path.join(OUT, "pkg", "busybox", "busybox")


def check(tmp_path, files):
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return subprocess.run([BERTH, "config", "check", str(tmp_path)], capture_output=True, text=True)


def doc_examples():
    text = open(os.path.join(TOP, "docs", "compose.md")).read()
    return [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "services:" in b]


@pytest.mark.parametrize("n", range(len(doc_examples())))
def test_documented_examples_are_valid(tmp_path, n):
    text = doc_examples()[n]
    # The images it names, as `docker save` would give them.
    layer = imagegen.busybox_layer(BUSYBOX, ["sh"])
    names = re.findall(r"^\s+image:\s*(\S+)", text, re.M)
    (tmp_path / "images").mkdir()
    imagegen.docker_tar(str(tmp_path / "images" / "stack.tar"),
                        [(name, [layer], imagegen.config([layer])) for name in names])
    # What it binds from the config directory, there as the user puts it.
    for src in re.findall(r"^\s+- \./([^:]+):", text, re.M):
        (tmp_path / src).mkdir(parents=True, exist_ok=True)
    r = check(tmp_path, {"compose.yaml": text, ".env": "DB_PASSWORD=x\n"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith(": OK")


def test_missing_image_is_named(tmp_path):
    r = check(tmp_path, {"compose.yaml": "services:\n  web:\n    image: nosuch:2\n"})
    assert r.returncode == 1
    assert "compose.yaml:2: services.web.image: nosuch:2 is not in images/" in r.stdout, r.stdout


MISTAKES = [
    ("services:\n  web:\n    image: [a\n", "compose.yaml:"),
    ("services:\n  web:\n    image: busybox\n    restart: sometimes\n", "compose.yaml:4: services.web.restart"),
    ("services:\n  web:\n    image: busybox\n    deploy: {}\n", "deploy"),
    ("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n", "cycle"),
    ("services:\n  a:\n    image: x\n    environment:\n      P: ${NOPE:?needs NOPE}\n", "NOPE"),
    # What berthd refuses when it applies the file, found before flashing.
    ("services:\n  web:\n    image: x\n    ports: [\"53:53/sctp\"]\n",
     "compose.yaml:4: services.web.ports: sctp: only tcp and udp are supported"),
    ("services:\n  web:\n    image: x\n    volumes: [\"./site:/srv:ro\"]\n",
     "compose.yaml:4: services.web.volumes: bind mount source /config/site: No such file or directory"),
    ("services:\n  web:\n    image: x\n    volumes: [\"/srv:/srv\"]\n",
     "compose.yaml:4: services.web.volumes: bind mount of /srv: only paths under /config"),
]


def test_bind_mounts_follow_host_yaml(tmp_path):
    (tmp_path / "site").mkdir()
    compose = "services:\n  web:\n    image: x\n    volumes: [\"./site:/site:ro\", \"/srv/media:/media\"]\n"
    r = check(tmp_path, {"compose.yaml": compose, "host.yaml": "containers:\n  bind_mounts: [/srv/media]\n"})
    assert "volumes" not in r.stdout, r.stdout


@pytest.mark.parametrize("text,message", MISTAKES)
def test_mistakes_are_named(tmp_path, text, message):
    r = check(tmp_path, {"compose.yaml": text})
    assert r.returncode == 1, r.stdout
    assert message in r.stdout, r.stdout


def test_host_yaml_and_broken_image_archive(tmp_path):
    r = check(tmp_path, {"host.yaml": "hostname: bad_name!\n", "images/broken.tar": "not a tar at all"})
    assert r.returncode == 1
    assert "host.yaml:1" in r.stdout and "images/broken.tar" in r.stdout, r.stdout


def test_missing_directory():
    r = subprocess.run([BERTH, "config", "check", "/nonexistent-config"], capture_output=True, text=True)
    assert r.returncode == 1 and "/nonexistent-config" in r.stderr


def test_host_yaml_with_many_problems_lists_them_bounded(tmp_path):
    text = "".join(f"unknown{i}: 1\n" for i in range(40))
    r = check(tmp_path, {"host.yaml": text})
    assert r.returncode == 1
    assert "host.yaml:1: " in r.stdout and "unknown0" in r.stdout, r.stdout
    assert "... and 24 more problems" in r.stdout, r.stdout


def test_host_yaml_interface_matched_by_mac(tmp_path):
    good = ("network:\n  interfaces:\n    uplink:\n      match: {macaddress: '52:54:00:12:34:56'}\n"
            "      addresses: [192.0.2.10/24]\n")
    r = check(tmp_path, {"host.yaml": good})
    assert r.returncode == 0, r.stdout
    bad = good.replace("52:54:00:12:34:56", "52:54:00:12:34")
    r = check(tmp_path, {"host.yaml": bad})
    assert r.returncode == 1
    assert ("host.yaml:4: network.interfaces.uplink.match.macaddress: '52:54:00:12:34' is not a MAC address"
            in r.stdout), r.stdout
