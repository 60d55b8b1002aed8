"""OS updates under SeaBIOS, as an operator does them: slot A to B with a
newer build, back to A with the older one (--force), and back to B with
`berth os rollback`; every time the running version, `berth os status`,
the named volume's data and the containers are checked. Ends with berthd
refusing a DATA format newer than its own. One VM; reboots stay in QEMU."""
import json
import os
import re
import time

import pytest

import updstack
from updatehost import OUT, base_version, bump


@pytest.fixture(scope="module")
def host(image, workdir):
    h = updstack.boot_host(image, workdir, "update-ab")
    yield h
    h.kill()


def inspect(h, name):
    r = h.run(f"berth inspect {name}")
    return json.loads(r.stdout)[0] if r.returncode == 0 else {}


def wait_healthy(h, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if inspect(h, "db").get("health") == "healthy" and inspect(h, "web").get("state") == "running":
            return
        time.sleep(1)
    raise AssertionError("db did not become healthy:\n" + h.run("berth ps -a").stdout)


def check_stack(h, boots):
    """The containers run, db is healthy, and the volume kept its data."""
    wait_healthy(h)
    assert h.run("berth exec db cat /var/lib/db/probe", check=True).stdout == "kept across updates\n"
    lines = h.run("berth exec db cat /var/lib/db/boots", check=True).stdout.split()
    assert len(lines) == boots, lines


def test_fresh_host_runs_slot_a(host):
    h = host
    assert h.version() == base_version()
    slots, text = h.status()
    assert slots["A"] == ("active", base_version()), text
    assert slots["B"][0] == "empty", text
    assert "last rollback: none" in text
    # Root is the verity device (dm-0, "vroot") over slot A's partition.
    r = h.run("awk '$5 == \"/\" {print $3, $9}' /proc/self/mountinfo; cat /sys/block/dm-0/dev /sys/block/dm-0/dm/name; "
              "ls /sys/block/dm-0/slaves", check=True)
    root, dev, name, slaves = r.stdout.split("\n", 3)
    assert root.split() == [dev, "erofs"] and name == "vroot" and slaves.strip() == "vda2", r.stdout
    wait_healthy(h)
    h.run("berth exec db sh -c 'echo kept across updates > /var/lib/db/probe'", check=True)
    check_stack(h, 1)


def test_update_to_b(host):
    h = host
    v2 = bump(base_version())
    r = h.install(h.bundles.bundle("v2", v2), "B", v2)
    assert r.returncode in (0, 255), r.stdout + r.stderr
    assert "verified: signature, kernel, root image, hash tree" in r.stdout, r.stdout + r.stderr
    assert "armed for a trial boot" in r.stdout, r.stdout
    slots, text = h.status()
    assert slots["B"] == ("active", v2) and slots["A"] == ("good", base_version()), text
    check_stack(h, 2)
    assert "berth.slot=B" in h.run("cat /proc/cmdline").stdout


def test_older_version_needs_force_then_back_to_a(host):
    h = host
    v2 = bump(base_version())
    before = h.part_sha256("BERTH-ROOT-A")
    r = h.update(os.path.join(OUT, "berth.bundle"), args="--no-reboot")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"refusing a downgrade from {v2} to {base_version()}" in r.stderr, r.stderr
    assert h.part_sha256("BERTH-ROOT-A") == before
    h.install(os.path.join(OUT, "berth.bundle"), "A", base_version(), args="--force")
    slots, text = h.status()
    assert slots["A"] == ("active", base_version()) and slots["B"] == ("good", v2), text
    check_stack(h, 3)


def test_rollback_command_boots_the_other_good_slot(host):
    h = host
    v2 = bump(base_version())
    start = h.mark()
    r = h.run("berth os rollback")
    assert "slot B" in r.stdout and "rebooting into slot B" in r.stdout, r.stdout + r.stderr
    h.wait_console(r"slot B \(.*\) is healthy: marked good", start, 400)
    h.wait_up(start)
    assert h.version() == v2
    slots, text = h.status()
    assert slots["B"] == ("active", v2) and slots["A"] == ("good", base_version()), text
    assert re.search(r"last rollback: from slot A \(.*\) at .*: requested by the operator", text), text
    check_stack(h, 4)


def test_older_berthd_refuses_newer_data(host):
    h = host
    h.run("echo 99 > /data/berth/format && kill $(pidof berthd)", check=True)
    deadline = time.monotonic() + 60
    log = ""
    while time.monotonic() < deadline and "format 99" not in log:
        time.sleep(1)
        log = h.run("hostlog -n 200").stdout
    assert re.search(r"/data/berth is in format 99, written by a newer Berth; this berthd .* knows format 1", log), log
    assert "Refusing to start rather than damage it" in log
    assert h.run("cat /data/berth/format").stdout == "99\n"
    # Put right, berthd starts again (init's restart) and finds its containers.
    h.run("echo 1 > /data/berth/format", check=True)
    wait_healthy(h, 180)
