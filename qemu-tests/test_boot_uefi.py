"""Boot the same image under OVMF (UEFI) and end with the ACPI power button
(QEMU's system_powerdown), as a hypervisor's "shut down" does."""
import os

import pytest

from berthvm import VM, copy_image, fsck_partition
from conftest import record


@pytest.fixture(scope="module")
def vm(image, workdir):
    disk = copy_image(image, os.path.join(workdir, "disk.img"))
    # A display adapter, as a server's or a VM's screen: OVMF hands the
    # kernel its framebuffer.
    v = VM(disk, workdir, firmware="uefi", name="uefi", extra=["-device", "VGA"])
    v.start()
    record("uefi_wall_seconds_to_prompt", round(v.wait_boot(240), 2))
    yield v
    v.kill()


def test_booted_through_uefi(vm):
    status, _ = vm.sh("test -d /sys/firmware/efi")
    assert status == 0


def test_kernel_and_init_messages_on_the_screen_too(vm):
    """The EFI framebuffer console and the serial line at once; the serial
    line stays /dev/console (the last console= wins)."""
    _, out = vm.sh("cat /sys/class/tty/console/active; cat /proc/fb; cat /sys/class/vtconsole/vtcon*/name")
    assert "tty0 ttyS0" in out, out
    assert "EFI VGA" in out, out
    assert "frame buffer device" in out, out


def test_shell_and_partitions(vm):
    _, out = vm.sh("grep -E ' /(config|data) ' /proc/mounts")
    assert "/config ext4 ro" in out
    assert "/data ext4 rw" in out


def test_acpi_power_button_shuts_down_cleanly(vm, workdir):
    vm.sh("echo x > /data/before-powerdown")
    vm.qmp("system_powerdown")
    assert vm.wait_exit(90) == 0
    assert "power button pressed" in vm.text()
    status, out = fsck_partition(vm.disk, "BERTH-DATA", workdir)
    assert status == 0, out
