"""Boot under SeaBIOS, with a user's CONFIG put in by the image tool, and
look at the host the way its operator would; end with `poweroff`."""
import os
import re
import subprocess

import pytest

from berthvm import VM, copy_image, fsck_partition
from conftest import record

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def vm(image, workdir):
    disk = copy_image(image, os.path.join(workdir, "disk.img"))
    config = os.path.join(workdir, "config")
    os.makedirs(config)
    with open(os.path.join(config, "hello.txt"), "w") as f:
        f.write("hello from the config partition\n")
    subprocess.run([os.path.join(TOP, "image-build", "berth-image"), "set-config", disk, config], check=True)
    v = VM(disk, workdir, firmware="bios", name="bios")
    v.start()
    record("bios_wall_seconds_to_prompt", round(v.wait_boot(), 2))
    yield v
    v.kill()


def test_banner_names_version_and_boot_time(vm):
    m = re.search(r"Berth (\S+) on \S+ - up in ([0-9.]+) s", vm.text(skip_kernel_lines=True))
    assert m, "no boot banner on the console"
    version = open(os.path.join(TOP, "VERSION")).read().strip()
    assert m.group(1).startswith(version)
    assert float(m.group(2)) > 0


def test_shell_on_serial_console(vm):
    status, out = vm.sh("echo $((6 * 7)); id -u")
    assert out.split() == ["42", "0"]


def test_root_filesystem_is_read_only(vm):
    status, out = vm.sh("touch /etc/berth-test", check=False)
    assert status != 0
    assert "Read-only file system" in out
    _, mounts = vm.sh("cat /proc/mounts")
    root = [line.split() for line in mounts.splitlines() if line.split()[1:2] == ["/"]]
    assert root and root[0][2] == "erofs" and root[0][3].startswith("ro")


def test_config_is_mounted_read_only_with_user_files(vm):
    _, out = vm.sh("cat /config/hello.txt")
    assert "hello from the config partition" in out
    status, out = vm.sh("touch /config/x", check=False)
    assert status != 0 and "Read-only file system" in out


def test_data_is_read_write(vm):
    vm.sh("echo persistent > /data/probe && sync")
    _, out = vm.sh("cat /data/probe; grep ' /data ' /proc/mounts")
    assert "persistent" in out
    assert re.search(r"/dev/vda5 /data ext4 rw", out)


def test_poweroff_ends_qemu_with_clean_filesystems(vm, workdir):
    vm.send("poweroff\n")
    assert vm.wait_exit(90) == 0
    for part in ("BERTH-DATA", "BERTH-CONFIG"):
        status, out = fsck_partition(vm.disk, part, workdir)
        assert status == 0, f"{part} is not clean after poweroff:\n{out}"
