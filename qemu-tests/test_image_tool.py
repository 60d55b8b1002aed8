"""The image tool and `make image CONFIG=dir`, on the build machine: a user
re-configures a built or downloaded image without root; bad input is a
clear error and never leaves the image half-written."""
import hashlib
import os
import subprocess

import pytest

from berthvm import copy_image, extract_partition

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(TOP, "image-build", "berth-image")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tool(*args):
    return subprocess.run([TOOL, *args], capture_output=True, text=True)


def config_file(image, workdir, name):
    """A file's content from the CONFIG partition of a raw image (debugfs)."""
    part = extract_partition(image, "BERTH-CONFIG", os.path.join(workdir, "config.ext4"))
    r = subprocess.run(["debugfs", "-R", f"cat /{name}", part], capture_output=True, text=True)
    os.unlink(part)
    return r.stdout


@pytest.fixture(scope="module")
def disk(image, workdir):
    return copy_image(image, os.path.join(workdir, "disk.img"))


def make_config(workdir, name, files):
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    for fname, content in files.items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(content)
    return d


def test_set_config_on_raw_image(disk, workdir):
    cfg = make_config(workdir, "cfg1", {"host.yaml": b"hostname: tool-test\n"})
    r = tool("set-config", disk, cfg)
    assert r.returncode == 0, r.stderr
    assert config_file(disk, workdir, "host.yaml") == "hostname: tool-test\n"


def test_set_config_on_qcow2_image(disk, workdir):
    qcow = os.path.join(workdir, "disk.qcow2")
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", disk, qcow], check=True)
    cfg = make_config(workdir, "cfg2", {"host.yaml": b"hostname: from-qcow2\n"})
    r = tool("set-config", qcow, cfg)
    assert r.returncode == 0, r.stderr
    raw = os.path.join(workdir, "back.img")
    subprocess.run(["qemu-img", "convert", "-O", "raw", qcow, raw], check=True)
    assert config_file(raw, workdir, "host.yaml") == "hostname: from-qcow2\n"


def test_missing_directory_is_a_clear_error(disk, workdir):
    before = sha256(disk)
    r = tool("set-config", disk, os.path.join(workdir, "no-such-dir"))
    assert r.returncode != 0
    assert "no-such-dir" in r.stderr and "does not exist" in r.stderr
    assert sha256(disk) == before


def test_too_large_config_is_refused_and_image_untouched(disk, workdir):
    before = sha256(disk)
    big = make_config(workdir, "big", {})
    with open(os.path.join(big, "blob"), "wb") as f:
        for _ in range(140):
            f.write(os.urandom(1 << 20))
    r = tool("set-config", disk, big)
    assert r.returncode != 0
    assert "CONFIG partition" in r.stderr and "MiB" in r.stderr
    assert sha256(disk) == before
    assert not [f for f in os.listdir(workdir) if f.startswith(".berth-image")]


def test_not_a_berth_image(workdir):
    other = os.path.join(workdir, "other.img")
    with open(other, "wb") as f:
        f.truncate(16 << 20)
    cfg = make_config(workdir, "cfg3", {"a": b"b"})
    r = tool("set-config", other, cfg)
    assert r.returncode != 0
    assert "no BERTH-CONFIG partition" in r.stderr


def test_mkimage_with_config_dir(workdir):
    cfg = make_config(workdir, "cfg4", {"compose.yaml": b"services: {}\n"})
    out = os.path.join(workdir, "made.img")
    r = subprocess.run([os.path.join(TOP, "image-build", "mkimage"), out, "--config", cfg],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert config_file(out, workdir, "compose.yaml") == "services: {}\n"
    r = subprocess.run([os.path.join(TOP, "image-build", "mkimage"), out + "2", "--config", "/nonexistent"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "/nonexistent" in r.stderr
    assert not os.path.exists(out + "2") and not os.path.exists(out + "2.tmp")
