"""DATA fills the disk: first boot creates it, and after the disk is
enlarged (qemu-img resize, or dd to a bigger disk) the next boot grows the
partition and the filesystem, keeping what was on it."""
import json
import os
import subprocess

import pytest

from berthvm import VM, copy_image, fsck_partition, partition_offset

MIB = 1024 * 1024


def boot(disk, workdir, name):
    v = VM(disk, workdir, name=name)
    v.start()
    v.wait_boot()
    return v


def data_kib(vm):
    _, out = vm.sh("df -k /data | tail -1")
    return int(out.split()[1])


@pytest.fixture(scope="module")
def disk(image, workdir):
    return copy_image(image, os.path.join(workdir, "disk.img"))


def test_first_boot_creates_data(disk, workdir):
    with boot(disk, workdir, "first") as vm:
        _, log = vm.sh("sleep 1; hostlog | grep init:")
        assert "created the BERTH-DATA filesystem" in log
        vm.sh("echo kept > /data/keep")
        vm.send("poweroff\n")
        assert vm.wait_exit(90) == 0


def test_resized_disk_grows_data(disk, workdir):
    before, _ = partition_offset(disk, "BERTH-DATA")
    subprocess.run(["qemu-img", "resize", "-q", "-f", "raw", disk, "+1G"], check=True)
    with boot(disk, workdir, "grown") as vm:
        _, log = vm.sh("sleep 1; hostlog | grep init:")
        assert "grew BERTH-DATA" in log
        assert data_kib(vm) > 900 * 1024
        _, out = vm.sh("cat /data/keep")
        assert "kept" in out
        vm.send("poweroff\n")
        assert vm.wait_exit(90) == 0
    # The host's tools agree: a valid GPT with its backup at the new end,
    # DATA reaching it, and a clean filesystem.
    subprocess.run(["sfdisk", "--verify", disk], check=True, capture_output=True)
    table = json.loads(subprocess.run(["sfdisk", "--json", disk], capture_output=True, check=True,
                                      text=True).stdout)["partitiontable"]
    data = [p for p in table["partitions"] if p["name"] == "BERTH-DATA"][0]
    disk_sectors = os.path.getsize(disk) // 512
    assert disk_sectors - (data["start"] + data["size"]) < 2048 + 34
    status, out = fsck_partition(disk, "BERTH-DATA", workdir)
    assert status == 0, out


def test_unchanged_disk_boots_without_growing(disk, workdir):
    with boot(disk, workdir, "again") as vm:
        _, log = vm.sh("sleep 1; hostlog | grep init:")
        assert "grew BERTH-DATA" not in log
        assert "created the BERTH-DATA filesystem" not in log
        _, out = vm.sh("cat /data/keep")
        assert "kept" in out
        vm.send("poweroff\n")
        assert vm.wait_exit(90) == 0
