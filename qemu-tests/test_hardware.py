"""One image on the hardware servers and hypervisors give it: the same
out/berth.img boots from an NVMe, SATA (AHCI), virtio-scsi and LSI SAS
(MegaRAID) disk and comes up reachable over ssh through an e1000, e1000e,
vmxnet3 and rtl8139 NIC. (QEMU's other LSI SAS, mptsas1068, shows Linux
6.1 no disk, with Debian's kernel too: see berthvm.DISK_BUSES.) One boot per disk and NIC pair; the
network tests ride along: with no interfaces in host.yaml every wired
interface with a link gets DHCP (one whose link comes later gets it then),
and host.yaml can name an interface by its MAC address."""
import re
import time

import pytest

from sshhost import SshHost

# MAC addresses given to QEMU's NICs, so that tests find interfaces by them
# rather than by the kernel's names (which follow the driver order).
MAC_SSH = "52:54:00:b0:00:01"
MAC_SECOND = "52:54:00:b0:00:02"
MAC_LATE = "52:54:00:b0:00:03"


def iface_with_mac(h, mac):
    r = h.run(f"grep -l '{mac}' /sys/class/net/*/address", check=True)
    return r.stdout.strip().split("/")[-2]


def boot(workdir, image, disk_bus, nic_model, name, host_yaml_extra="", extra=(), started=None):
    h = SshHost(workdir, image, host_yaml_extra=host_yaml_extra, memory=384)
    h.disk_bus = disk_bus
    h.nic_model = nic_model
    h.nic_extra = [f"mac={MAC_SSH}"]
    h.vm_extra = list(extra)
    h.boot(name, started=started)
    return h


def drivers_of(h, path):
    """The drivers of a sysfs device and of every device above it."""
    r = h.run(f"p=$(readlink -f {path}); while [ \"$p\" != / ]; do "
              "[ -e $p/driver ] && basename $(readlink $p/driver); p=$(dirname $p); done", check=True)
    return r.stdout.split()


def check_disk_and_nic(h, disk_driver, block, nic_driver):
    """DATA is on the disk behind disk_driver and ssh came in through
    nic_driver: what the kernel says, not only that the VM answered."""
    r = h.run("grep ' /data ' /proc/mounts", check=True)
    assert re.search(rf"^/dev/{block}p?5 /data ext4 rw", r.stdout), r.stdout
    assert disk_driver in drivers_of(h, f"/sys/block/{block}/device"), drivers_of(h, f"/sys/block/{block}/device")
    ifname = iface_with_mac(h, MAC_SSH)
    assert nic_driver in drivers_of(h, f"/sys/class/net/{ifname}/device")


@pytest.fixture(scope="module")
def nvme_e1000(image, workdir):
    """NVMe disk, e1000 NIC for ssh, and two more NICs on their own user
    networks: a virtio-net one with a link, and one whose cable is out at
    boot. host.yaml names no interface."""
    extra = ["-device", "VGA",
             "-netdev", "user,id=second,net=10.0.3.0/24,restrict=on",
             "-device", f"virtio-net-pci,netdev=second,mac={MAC_SECOND}",
             "-netdev", "user,id=late,net=10.0.4.0/24,restrict=on",
             "-device", f"virtio-net-pci,netdev=late,id=latenic,mac={MAC_LATE}"]

    def pull_cable(vm):
        assert "error" not in vm.qmp("set_link", name="latenic", up=False)

    h = boot(workdir, image, "nvme", "e1000", "nvme-e1000", extra=extra, started=pull_cable)
    yield h
    h.kill()


def test_nvme_disk_and_e1000_nic(nvme_e1000):
    check_disk_and_nic(nvme_e1000, "nvme", "nvme0n1", "e1000")


def test_kernel_messages_on_the_vga_text_screen_too(nvme_e1000):
    """A BIOS boot with a display adapter: the VGA text console and the
    serial line at once, the serial line staying /dev/console."""
    r = nvme_e1000.run("cat /sys/class/tty/console/active /sys/class/vtconsole/vtcon*/name", check=True)
    assert "tty0 ttyS0" in r.stdout, r.stdout
    assert "VGA+" in r.stdout, r.stdout


def test_every_wired_interface_with_a_link_gets_dhcp(nvme_e1000):
    h = nvme_e1000
    ssh_if = iface_with_mac(h, MAC_SSH)
    second = iface_with_mac(h, MAC_SECOND)
    late = iface_with_mac(h, MAC_LATE)
    # e1000's link comes a moment after it is up: its DHCP client may
    # start after init's banner (netwatch), as may the address.
    deadline = time.monotonic() + 60
    while True:
        r = h.run("ip -4 -o addr show; pidof udhcpc", check=False)
        if "10.0.3.15/24" in r.stdout and "10.0.2.15/24" in r.stdout or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert re.search(rf"{ssh_if}\s+inet 10\.0\.2\.15/24", r.stdout), r.stdout
    assert re.search(rf"{second}\s+inet 10\.0\.3\.15/24", r.stdout), r.stdout
    assert not re.search(rf"{late}\s+inet ", r.stdout), r.stdout
    log = h.run("hostlog | grep 'init: network'", check=True).stdout
    assert f"{late} has no link yet; DHCP when it comes" in log, log


def test_dhcp_starts_when_a_link_comes(nvme_e1000):
    h = nvme_e1000
    late = iface_with_mac(h, MAC_LATE)
    assert "error" not in h.vm.qmp("set_link", name="latenic", up=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = h.run(f"ip -4 -o addr show dev {late}", check=False)
        if "10.0.4.15/24" in r.stdout:
            break
        time.sleep(1)
    assert "10.0.4.15/24" in r.stdout, h.run("hostlog | tail -30").stdout
    log = h.run("hostlog | grep 'init: network'", check=True).stdout
    assert f"{late} has a link; starting DHCP on it" in log, log


def test_ahci_disk_and_e1000e_nic_named_by_mac(image, workdir):
    # host.yaml gives the NIC a static address by its MAC address under a
    # label of the operator's choosing: ssh reaching it proves the match.
    yaml = (f"network:\n  interfaces:\n    uplink:\n      match: {{macaddress: '{MAC_SSH.upper()}'}}\n"
            "      addresses: [10.0.2.15/24]\n      gateway: 10.0.2.2\n  dns: [10.0.2.3]\n")
    h = boot(workdir, image, "ahci", "e1000e", "ahci-e1000e", host_yaml_extra=yaml)
    try:
        check_disk_and_nic(h, "ahci", "sda", "e1000e")
        r = h.run("pidof udhcpc || echo no-dhcp; hostlog | grep 'init: network'", check=True)
        assert "no-dhcp" in r.stdout
        assert re.search(rf"network: uplink is \S+ \({MAC_SSH}\)", r.stdout), r.stdout
    finally:
        h.kill()


# QEMU's rtl8139 is an RTL-8139C+, which 8139cp drives.
@pytest.mark.parametrize("disk_bus,disk_driver,nic_model,nic_driver", [
    ("virtio-scsi", "virtio_scsi", "vmxnet3", "vmxnet3"),
    ("megasas", "megaraid_sas", "rtl8139", "8139cp"),
])
def test_scsi_disk_and_nic(image, workdir, disk_bus, disk_driver, nic_model, nic_driver):
    h = boot(workdir, image, disk_bus, nic_model, f"{disk_bus}-{nic_model}")
    try:
        check_disk_and_nic(h, disk_driver, "sda", nic_driver)
    finally:
        h.kill()
