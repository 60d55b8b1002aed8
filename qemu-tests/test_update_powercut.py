"""Power cuts during OS updates: QEMU is killed at many points while an
update writes the inactive slot and while the boot state changes, in
every phase: `berth os update` (its failpoints, BERTH_FAILPOINT), GRUB's
count of trial boots and the trial boot itself (kills timed by the
console), init's health gate marking the slot good or recording a failed
trial (failpoints on the new slot's command line, berth.failpoint=). After
each cut the host is powered on again and must settle on a good slot,
running a version it was given; then a retried update must succeed (boot
into the new slot and pass its gate), and both copies of the boot state
must be whole again.

The full loop (22 points) is `make check-updates` (marked heavy); `make
check` runs three of them, one from each writer."""
import re
import time

import pytest

import updstack
from updatehost import base_version, bump

HEALTH_TIMEOUT = 40

# Failpoints in `berth os update`, in the order an update reaches them.
UPDATER = ["begin", "writing-backup", "writing-torn", "root-25", "root-50", "root-75", "root-written", "readback",
           "kernel-tmp", "kernel", "slotenv-tmp", "slotenv", "esp-verified", "arm-backup", "arm-torn", "armed"]
# init's writes: marking a passing trial good, recording a failing one
# (on the first trial boot: two boots left after it).
INIT_GOOD = ["good-backup@2", "good-torn@2"]
INIT_FAIL = ["fail-backup@2", "fail-torn@2"]
# Kills timed by the console: GRUB and the kernel of a trial boot, and
# init while its gate waits.
TIMED = ["trial-early", "gate-wait"]
ALL = UPDATER + INIT_GOOD + INIT_FAIL + TIMED
SAMPLE = ["root-50", "arm-torn", "good-torn@2"]
# Cut while the target slot is marked "writing" on the disk: the host
# comes back on its old slot and says the other is incomplete.
INCOMPLETE = UPDATER[UPDATER.index("writing-torn"):UPDATER.index("arm-backup") + 1]
# Cut after the armed trial is on the disk: the host boots it next.
ARMED = ["arm-torn", "armed"]


@pytest.fixture(scope="module")
def host(image, workdir):
    h = updstack.boot_host(image, workdir, "powercut", health_timeout=HEALTH_TIMEOUT, watchdog=30)
    h.v2 = bump(base_version())
    h.unhealthy = bump(base_version(), patch=2, pre="unhealthy")
    h.known = {base_version(), h.v2}
    h.cuts = 0
    yield h
    h.kill()


def power_on(h):
    h.cuts += 1
    h.boot(f"after-cut-{h.cuts}")


def settle(h, timeout=600):
    """Waits until no trial is in progress (its gate passed or failed,
    reboots included), then checks the host runs its good slot."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = h.run("berth os status", timeout=30)
        states = re.findall(r"^[AB]\s+(.*?)\s{2,}\S+$", r.stdout, re.M) if r.returncode == 0 else []
        # One slot plainly "active" and none on trial: a host that runs the
        # slot it has just marked failed ("active, failed") is on its way
        # back to the good one.
        if states.count("active") == 1 and not any("trial" in s for s in states):
            break
        time.sleep(2)
    else:
        raise AssertionError(f"the host did not settle on a good slot:\n{r.stdout}{r.stderr}\n" + h.vm.text()[-3000:])
    slots, text = h.status()
    active = [s for s, (state, _) in slots.items() if state == "active"]
    assert len(active) == 1, text
    version = h.version()
    assert version in h.known, (version, text)
    other = "B" if active[0] == "A" else "A"
    assert slots[other][0] in ("good", "failed", "incomplete", "empty"), text
    return active[0], version


def retry(h):
    """A clean update to the other slot: written, booted, marked good."""
    before, _ = settle(h)
    target = "B" if before == "A" else "A"
    h.install(h.bundles.bundle("v2", h.v2), target, h.v2, args="--force")
    slot, version = settle(h)
    assert (slot, version) == (target, h.v2)
    primary, backup = h.boot_state()
    assert primary is not None and backup is not None and primary["berth_seq"] == backup["berth_seq"], (primary,
                                                                                                           backup)


def cut_in_updater(h, point):
    start = h.mark()
    proc = h.update_async(h.bundles.bundle("v2", h.v2), args="--force", env=f"BERTH_FAILPOINT={point}")
    h.wait_console(rf"failpoint {re.escape(point)} reached", start, 300)
    h.vm.kill()
    proc.kill()


def cut_in_trial(h, bundle, point):
    """Installs bundle, then cuts the power at point of its trial boot."""
    start = h.mark()
    r = h.update(bundle, args="--force")
    assert "rebooting into slot" in r.stdout, r.stdout + r.stderr
    if point == "trial-early":
        # Just after the reset: the firmware, GRUB (saving the count of
        # tries) or the kernel (the firmware writes nothing on the serial
        # console, so the old kernel's last line is the mark).
        h.wait_console(r"reboot: Restarting system", start, 300)
        time.sleep(1.5)
    elif point == "gate-wait":
        h.wait_console(r"berth: trial boot of slot", start, 300)
    else:
        h.wait_console(rf"failpoint {re.escape(point.split('@')[0])} reached", start, 300 + 2 * HEALTH_TIMEOUT)
    h.vm.kill()


def check_cut_on_disk(h, point, seq_before):
    """What the boot state's two copies hold right after the cut."""
    primary, backup = h.boot_state()
    name = point.split("@")[0]
    if name.endswith("-torn"):
        # The primary's first sector is new, its last old: GRUB and init
        # must see a torn block, and the backup holds the new state whole.
        assert primary is None and backup is not None, (primary, backup)
        assert int(backup["berth_seq"]) > seq_before, backup
    elif name.endswith("-backup"):
        assert primary is not None and backup is not None, (primary, backup)
        assert int(backup["berth_seq"]) == int(primary["berth_seq"]) + 1, (primary, backup)


def one_cut(h, point):
    before, _ = settle(h)
    target = "B" if before == "A" else "A"
    primary, _ = h.boot_state()
    seq_before = int(primary["berth_seq"])
    if point in UPDATER:
        cut_in_updater(h, point)
    elif point in INIT_GOOD:
        cut_in_trial(h, h.bundles.bundle(f"fp-{point}", h.v2, cmdline_extra=f"berth.failpoint={point}"), point)
    elif point in INIT_FAIL:
        h.known.add(h.unhealthy)
        bundle = h.bundles.bundle(f"fp-{point}", h.unhealthy, cmdline_extra=f"berth.failpoint={point}")
        cut_in_trial(h, bundle, point)
    else:
        cut_in_trial(h, h.bundles.bundle("v2", h.v2), point)
    check_cut_on_disk(h, point, seq_before)
    power_on(h)
    slot, _ = settle(h)
    slots, text = h.status()
    if point in INCOMPLETE:
        assert slot == before and slots[target][0] == "incomplete", text
    elif point in ARMED:
        assert slot == target, text
    retry(h)


@pytest.mark.parametrize("point", SAMPLE)
def test_power_cut_sample(host, point):
    one_cut(host, point)


@pytest.mark.heavy
@pytest.mark.parametrize("point", [p for p in ALL if p not in SAMPLE])
def test_power_cut(host, point):
    one_cut(host, point)
