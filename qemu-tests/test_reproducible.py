"""The root filesystem image is reproducible: two builds from the same
inputs, in different places and at different times, are byte-identical."""
import hashlib
import os
import subprocess
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build(workdir, name, version):
    out = os.path.join(workdir, name)
    tmp = os.path.join(workdir, f"tmp-{name}")
    os.makedirs(tmp)
    env = dict(os.environ, TMPDIR=tmp)
    subprocess.run([os.path.join(TOP, "rootfs", "mkrootfs"), out, version], check=True, env=env)
    with open(out, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_two_builds_are_identical(workdir):
    first = build(workdir, "a.erofs", "1.2.3")
    time.sleep(1.1)
    second = build(workdir, "b.erofs", "1.2.3")
    assert first == second


def test_a_changed_input_changes_the_image(workdir):
    assert build(workdir, "c.erofs", "1.2.3") != build(workdir, "d.erofs", "1.2.4")
