"""OS updates under OVMF (UEFI): bundles that must be refused before a
byte is written (bad signature, unknown key, bad hash, truncated part,
older version), an update from A to B and the way back, and a byte
flipped on disk in the running root, which dm-verity turns into read
errors. One VM; reboots stay in QEMU."""
import os
import re
import shutil

import pytest

import updstack
from updatehost import OUT, base_version, bump, file_offset


@pytest.fixture(scope="module")
def host(image, workdir):
    h = updstack.boot_host(image, workdir, "update-uefi", firmware="uefi")
    yield h
    h.kill()


def copy_with(src, dst, change):
    shutil.copy(src, dst)
    data = bytearray(open(dst, "rb").read())
    data = change(data)
    with open(dst, "wb") as f:
        f.write(data)
    return dst


def test_bad_bundles_are_refused_before_anything_is_written(host):
    h = host
    b = h.bundles
    good = b.bundle("good", bump(base_version()))
    data = open(good, "rb").read()
    payload = (data.index(b"signatures ") // 4096 + 1) * 4096
    d = b.dir

    def flip(at):
        def change(buf):
            buf[at] ^= 0x01
            return buf
        return change

    cases = [
        (b.bundle("untrusted", bump(base_version()), key=b.untrusted_key()), "not signed by a key this host trusts"),
        (copy_with(good, os.path.join(d, "altered.bundle"), flip(data.index(b"version ") + 10)), "bad signature"),
        (copy_with(good, os.path.join(d, "badhash.bundle"), flip(payload + 5000)), "bad hash: the kernel"),
        (copy_with(good, os.path.join(d, "truncated.bundle"), lambda buf: buf[:len(buf) - 4096]), "truncated"),
        (b.bundle("older", "0.0.1+gtest"), "refusing a downgrade"),
    ]
    before = {p: h.part_sha256(p) for p in ("BERTH-ROOT-B", "ESP")}
    state = h.boot_state()
    for bundle, why in cases:
        r = h.update(bundle, args="--no-reboot")
        assert r.returncode == 1 and why in r.stderr, (bundle, r.stdout, r.stderr)
        assert "writing slot" not in r.stdout, r.stdout
    assert {p: h.part_sha256(p) for p in before} == before
    assert h.boot_state() == state
    slots, text = h.status()
    assert slots["B"][0] == "empty", text


def test_update_to_b_and_back(host):
    h = host
    v2 = bump(base_version())
    h.install(os.path.join(h.bundles.dir, "good.bundle"), "B", v2)
    assert h.run("test -d /sys/firmware/efi").returncode == 0
    slots, text = h.status()
    assert slots["B"] == ("active", v2) and slots["A"] == ("good", base_version()), text
    h.install(os.path.join(OUT, "berth.bundle"), "A", base_version(), args="--force")
    slots, text = h.status()
    assert slots["A"] == ("active", base_version()) and slots["B"] == ("good", v2), text
    assert h.run("berth exec db cat /var/lib/db/boots").stdout.count("\n") == 3


def test_flipped_byte_on_disk_fails_reads(host):
    """Last: it damages the running root (slot A) for good."""
    h = host
    off = file_offset(os.path.join(OUT, "rootfs.erofs"), "/sbin/dumpe2fs") + 100
    assert h.run("/sbin/dumpe2fs -V").returncode == 0
    # Flip the byte through the partition, then forget what memory holds.
    r = h.run(f"b=$(dd if=/dev/vda2 bs=1 skip={off} count=1 2>/dev/null | od -An -tu1); "
              f"printf \"$(printf '\\\\%03o' $(( (b ^ 1) & 255 )))\" | "
              f"dd of=/dev/vda2 bs=1 seek={off} count=1 conv=notrunc,fsync 2>&1 && "
              "echo 3 > /proc/sys/vm/drop_caches")
    assert r.returncode == 0, r.stdout + r.stderr
    r = h.run("cat /sbin/dumpe2fs > /dev/null")
    assert r.returncode != 0 and "I/O error" in r.stderr, r.stdout + r.stderr
    r = h.run("/sbin/dumpe2fs -V")
    assert r.returncode != 0, r.stdout + r.stderr
    assert re.search(r"verity.*(corrupted|data block)", h.run("dmesg").stdout), h.run("dmesg | tail").stdout
    # The rest of the root still reads.
    assert h.run("/sbin/tune2fs 2>&1 | head -1").returncode == 0
