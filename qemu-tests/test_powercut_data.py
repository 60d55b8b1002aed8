"""Power cuts while DATA is busy: QEMU killed while a container writes a
volume as fast as it can, and while another's log rotates several times a
second. Each boot after a cut must find DATA repaired (journal replay and
e2fsck -p at boot, never "uncorrected" or the tmpfs fallback), every record
berthd keeps must parse (both containers listed and running again), the
volume's last completed write must be intact, and after a clean poweroff
the filesystem must check clean from the outside. Ten cuts per load: too
long for `make check` (about 5 minutes); `make check-updates` runs them."""
import random
import time

import pytest

import imagegen
from berthvm import fsck_partition
from sshhost import SshHost, wait


# writer: 512 KiB files in turn, then a counter renamed into place (the
# last complete round). logger: lines as fast as the shell makes them,
# its log rotated at 16 KiB.
COMPOSE = {
    "volume": """
name: pc
services:
  load:
    image: busybox
    command: ["sh", "-c", "i=$$(cat /v/n 2>/dev/null || echo 0); while :; do i=$$((i+1)); dd if=/dev/zero of=/v/f$$((i % 8)) bs=64k count=8 conv=fsync 2>/dev/null; echo $$i > /v/n.tmp; sync /v/n.tmp; mv /v/n.tmp /v/n; done"]
    volumes: ["vol:/v"]
    restart: always
volumes:
  vol: {}
""",
    "logs": """
name: pc
services:
  load:
    image: busybox
    command: ["sh", "-c", "while :; do seq 1 500; done"]
    restart: always
    logging:
      options:
        max-size: 16k
        max-file: "3"
""",
}


def boot_and_check(h, name):
    h.boot(name)
    text = h.vm.text()
    assert "uncorrected" not in text and "is unusable" not in text, text[-3000:]
    wait(h, lambda: " Up " in h.run("berth ps").stdout, 180, "the load to run again")
    bad = h.run("hostlog | grep -E 'not valid JSON|record.*(damaged|invalid)|is unusable' || true").stdout
    assert not bad.strip(), bad


def progress(h, kind):
    if kind == "volume":
        r = h.run("berth exec load cat /v/n")
        return int(r.stdout.strip()) if r.stdout.strip().isdigit() else 0
    return len(h.run("berth logs --tail 20 load").stdout)


def cut_power(workdir, image, kind, rounds):
    rng = random.Random(f"{kind}-{rounds}")
    files = imagegen.busybox_config_files(workdir, COMPOSE[kind])
    h = SshHost(workdir, image, config_files=files, memory=384)
    try:
        last = 0
        for i in range(rounds):
            boot_and_check(h, f"{kind}{i}")
            now = wait(h, lambda: (lambda p: p if p > last else None)(progress(h, kind)), 120, "the load to go on")
            if kind == "volume":
                # The counter never goes back: a completed, synced round survives a cut.
                assert now >= last, (now, last)
                last = now
            time.sleep(rng.uniform(0.5, 3.0))
            h.vm.kill()
        boot_and_check(h, f"{kind}-final")
        h.run("poweroff", timeout=30)
        h.vm.wait_exit(120)
        status, out = fsck_partition(h.disk, "BERTH-DATA", workdir)
        assert status == 0, out
    finally:
        h.kill()


@pytest.mark.heavy
@pytest.mark.parametrize("kind", ["volume", "logs"])
def test_power_cut_ten_times_during(image, workdir, kind):
    cut_power(workdir, image, kind, 10)
