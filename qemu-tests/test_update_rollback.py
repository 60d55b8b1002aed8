"""New versions that must not stay: each gets its trial boots (under
SeaBIOS, then all again under OVMF: GRUB counts the tries down with its
own save_env on either) and the host comes back on slot A by itself,
saying why.
- a root image with one byte flipped (signed anyway): dm-verity fails the
  read, berthd cannot start, the health gate fails;
- a version whose system container never becomes healthy;
- a test-only build whose init hangs once the kernel is up: the watchdog
  resets it, GRUB's tries run out.
One VM per firmware; reboots and watchdog resets stay in QEMU."""
import re

import pytest

import updstack
from updatehost import OUT, base_version, bump

HEALTH_TIMEOUT = 30
WATCHDOG = 15


@pytest.fixture(scope="module", params=["bios", "uefi"])
def host(request, image, workdir):
    h = updstack.boot_host(image, workdir, f"update-rollback-{request.param}", firmware=request.param,
                           health_timeout=HEALTH_TIMEOUT, watchdog=WATCHDOG)
    yield h
    h.kill()


def update_and_come_back(h, bundle, version, timeout=600):
    """Installs, then waits until slot A runs again; returns the console
    text of the whole episode."""
    start = h.mark()
    r = h.update(bundle)
    assert "rebooting into slot B" in r.stdout, r.stdout + r.stderr
    m = h.wait_console(r"init: the update to .* \(slot B\) was rolled back: .*", start, timeout)
    h.wait_up(m.end())
    assert h.version() == base_version()
    assert "berth.slot=A" in h.run("cat /proc/cmdline").stdout
    slots, text = h.status()
    assert slots["A"] == ("active", base_version()) and slots["B"][0] == "failed", text
    return h.vm.text()[start:], text


def test_flipped_byte_in_the_root_fails_the_trial(host):
    h = host
    v = bump(base_version())
    bundle = h.bundles.bundle("flipped", v, root=h.bundles.flipped_root(v))
    console, status = update_and_come_back(h, bundle, v)
    assert re.search(r"device-mapper: verity: .*data block \d+ is corrupted", console), console[-3000:]
    assert f"slot B ({v}) failed its trial boot: the health gate failed" in console
    assert re.search(rf"last rollback: from slot B \({re.escape(v)}\) at .*: the health gate failed after \d+ s: "
                     r"berthd", status), status


def test_containers_that_never_become_healthy(host):
    h = host
    v = bump(base_version(), patch=2, pre="unhealthy")
    console, status = update_and_come_back(h, h.bundles.bundle("unhealthy", v), v)
    assert re.search(r"health gate failed after \d+ s: 1 of 1 system containers with a healthcheck are not "
                     r"healthy: db \(unhealthy\)", status), status
    # The old slot's host log says it too.
    log = h.run("hostlog -n 300").stdout
    assert re.search(rf"the update to {re.escape(v)} \(slot B\) was rolled back: the health gate failed", log), log


def test_a_hang_is_reset_by_the_watchdog_until_the_tries_run_out(host):
    h = host
    v = bump(base_version(), patch=3)
    bundle = h.bundles.bundle("hang", v, init_bin=f"{OUT}/test/init-hang")
    console, status = update_and_come_back(h, bundle, v, timeout=900)
    assert console.count("TEST BUILD: init hangs here, the watchdog armed") == 3, console[-3000:]
    assert re.search(r"last rollback: from slot B .*: it did not pass its health gate within its trial boots", status), \
        status
