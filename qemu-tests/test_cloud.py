"""A cloud or OpenStack instance configures itself from its metadata when
host.yaml does not say otherwise: a NoCloud seed disk (vfat, made without
root the way image-build makes the ESP) names the host, gives root's ssh
key and the network with an empty host.yaml; an OpenStack config drive
(ISO 9660 on a CD-ROM, as nova makes it) likewise, under a host.yaml whose
host name wins; garbage metadata is one clear log line and the host boots
with its defaults. The clock rides along on the NoCloud boot: it comes from
the RTC (QEMU's -rtc base=), and goes back into it after NTP has
synchronised and at shutdown."""
import json
import os
import re
import subprocess

import pytest

from sshhost import SshHost

MAC = "52:54:00:c1:00:01"
RTC_BASE = "2031-01-02T03:04:05"

NETWORK_V2 = f"""\
network:
  version: 2
  ethernets:
    uplink:
      match:
        macaddress: "{MAC}"
      addresses: [10.0.2.15/24]
      gateway4: 10.0.2.2
      nameservers:
        addresses: [10.0.2.3]
"""


def run(*cmd):
    subprocess.run(cmd, check=True, capture_output=True, env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))


def vfat_seed(path, label, files):
    """A vfat filesystem labelled label holding files {name: text}, built
    with mkfs.vfat and mtools: no root, no loop device."""
    if os.path.exists(path):
        os.unlink(path)
    run("mkfs.vfat", "-n", label, "-C", path, "2048")
    for name, text in files.items():
        src = path + ".file"
        with open(src, "w") as f:
            f.write(text)
        parts = name.split("/")
        for i in range(1, len(parts)):
            subprocess.run(["mmd", "-i", path, "::/" + "/".join(parts[:i])], capture_output=True,
                           env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
        run("mcopy", "-i", path, src, "::/" + name)
        os.unlink(src)
    return path


def iso_seed(path, label, files, workdir):
    """An ISO 9660 image with Joliet and Rock Ridge names, as OpenStack's
    nova and cloud-localds make them."""
    tree = os.path.join(workdir, label + ".tree")
    subprocess.run(["rm", "-rf", tree], check=True)
    for name, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(tree, name)), exist_ok=True)
        with open(os.path.join(tree, name), "w") as f:
            f.write(text)
    run("genisoimage", "-quiet", "-J", "-r", "-V", label, "-o", path, tree)
    return path


def cloud_host(workdir, image, name, host_yaml, seed_args, rtc=None):
    h = SshHost(workdir, image, memory=384, host_yaml=host_yaml)
    h.nic_extra = [f"mac={MAC}"]
    h.vm_extra = list(seed_args) + (["-rtc", f"base={rtc}"] if rtc else [])
    h.boot(name)
    return h


def rtc_date(vm):
    """QEMU's RTC as the guest last set it (QOM's struct tm of mc146818rtc)."""
    children = vm.qmp("qom-list", path="/machine/unattached")["return"]
    rtc = [c["name"] for c in children if c["type"] == "child<mc146818rtc>"][0]
    tm = vm.qmp("qom-get", path=f"/machine/unattached/{rtc}", property="date")["return"]
    return (tm["tm_year"] + 1900, tm["tm_mon"] + 1, tm["tm_mday"], tm["tm_hour"], tm["tm_min"])


@pytest.fixture(scope="module")
def nocloud(image, workdir):
    key = os.path.join(workdir, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", key], check=True)
    seed = vfat_seed(os.path.join(workdir, "seed.img"), "CIDATA", {
        "meta-data": "instance-id: iid-seed-1\nlocal-hostname: seeded-host\n",
        "user-data": "#cloud-config\nssh_authorized_keys:\n  - %s\n" % open(key + ".pub").read().strip(),
        "network-config": NETWORK_V2,
    })
    # An empty host.yaml: everything comes from the seed.
    h = cloud_host(workdir, image, "nocloud", "", ["-drive", f"file={seed},format=raw,if=virtio,readonly=on"],
                   rtc=RTC_BASE)
    yield h
    h.kill()


def test_nocloud_names_the_host_and_lets_its_key_in(nocloud):
    # SshHost.boot logged in with the key: it came from user-data.
    r = nocloud.run("hostname; id -u", check=True)
    assert r.stdout.split() == ["seeded-host", "0"]


def test_nocloud_network_config_by_mac_address(nocloud):
    r = nocloud.run("ip -4 -o addr; ip route; cat /etc/resolv.conf; pidof udhcpc || echo no-dhcp", check=True)
    assert "10.0.2.15/24" in r.stdout
    assert "default via 10.0.2.2" in r.stdout
    assert "nameserver 10.0.2.3" in r.stdout
    assert "no-dhcp" in r.stdout


def test_nocloud_shown_by_berth_info_and_in_the_host_log(nocloud):
    r = nocloud.run("berth info", check=True)
    assert re.search(r"source: NoCloud on /dev/vd[b-z] \(vfat, label CIDATA\)", r.stdout), r.stdout
    assert "instance-id: iid-seed-1" in r.stdout
    assert "hostname: seeded-host (meta-data:2: local-hostname)" in r.stdout
    assert "ssh keys: 1 (user-data:3: ssh_authorized_keys)" in r.stdout
    assert "network: 1 interface (network-config version 2)" in r.stdout
    log = nocloud.run("hostlog | grep 'cloud metadata'", check=True).stdout
    assert "init: cloud metadata: NoCloud on /dev/vd" in log
    assert "init: cloud metadata: hostname: seeded-host" in log


def test_clock_comes_from_the_rtc(nocloud):
    r = nocloud.run("date -u +%Y-%m-%d; hostlog | grep 'init: clock'", check=True)
    assert r.stdout.startswith("2031-01-02"), r.stdout
    assert re.search(r"clock: 2031-01-02 03:0\d:\d\d UTC from the RTC", r.stdout), r.stdout


def test_ntp_synchronisation_writes_the_rtc(nocloud):
    # What ntpd's -S hook does once it has stepped the clock.
    nocloud.run("date -u -s '2033-05-06 07:08:09' >/dev/null && "
                "offset=1.5 stratum=2 /usr/libexec/berth/ntp-event step", check=True)
    r = nocloud.run("cat /sys/class/rtc/rtc0/date; hostlog | grep 'clock: NTP'", check=True)
    assert r.stdout.startswith("2033-05-06"), r.stdout
    assert "clock: NTP stepped the clock by +1.500 s (stratum 2); RTC set to 2033-05-06" in r.stdout
    assert rtc_date(nocloud.vm)[:3] == (2033, 5, 6)


def test_shutdown_writes_the_rtc(nocloud):
    nocloud.run("date -u -s '2035-07-08 09:10:11' >/dev/null", check=True)
    # halt leaves QEMU running, so that its RTC can be read afterwards.
    nocloud.vm.send("halt\n")
    nocloud.vm.wait_for(r"berth: halt", 120)
    assert rtc_date(nocloud.vm)[:3] == (2035, 7, 8)
    nocloud.kill()  # the next tests boot other disks from this directory


META_JSON = {
    "uuid": "83679162-1378-4288-a2d4-70e13ec132aa",
    "hostname": "cfgdrive-host.novalocal",
    "name": "cfgdrive host",
    "availability_zone": "nova",
    "public_keys": {},
}

NETWORK_JSON = {
    "links": [{"id": "tap0", "type": "ovs", "ethernet_mac_address": MAC, "mtu": 1500}],
    "networks": [{"id": "network0", "type": "ipv4", "link": "tap0", "ip_address": "10.0.2.15",
                  "netmask": "255.255.255.0",
                  "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.2.2"}]}],
    "services": [{"type": "dns", "address": "10.0.2.3"}],
}


def test_config_drive_under_host_yaml(image, workdir):
    """A config-2 ISO on a SATA CD-ROM; host.yaml sets the host name (which
    wins) and nothing else: key and network come from the drive."""
    key = os.path.join(workdir, "id_ed25519")
    if not os.path.exists(key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", key], check=True)
    meta = dict(META_JSON, public_keys={"test": open(key + ".pub").read()})
    iso = iso_seed(os.path.join(workdir, "config-2.iso"), "config-2", {
        "openstack/latest/meta_data.json": json.dumps(meta),
        "openstack/latest/network_data.json": json.dumps(NETWORK_JSON),
        "openstack/latest/user_data": "#!/bin/sh\necho a script Berth does not run\n",
    }, workdir)
    cd = ["-drive", f"file={iso},format=raw,if=none,id=cd,media=cdrom,readonly=on",
          "-device", "ide-cd,drive=cd,bus=ide.1"]
    h = cloud_host(workdir, image, "config-drive", "hostname: yaml-wins\nntp:\n  servers: []\n", cd)
    try:
        r = h.run("hostname; ip -4 -o addr; pidof udhcpc || echo no-dhcp; berth info", check=True)
        assert r.stdout.split()[0] == "yaml-wins"
        assert "10.0.2.15/24" in r.stdout and "no-dhcp" in r.stdout
        assert "source: OpenStack config drive on /dev/sr0 (iso9660, label config-2)" in r.stdout, r.stdout
        assert "instance-id: 83679162-1378-4288-a2d4-70e13ec132aa" in r.stdout
        assert "hostname: host.yaml's yaml-wins, not the metadata's cfgdrive-host.novalocal" in r.stdout
        assert "ssh keys: 1 (meta_data.json: public_keys.test)" in r.stdout
        assert "problem: user_data:1: a script: Berth reads only #cloud-config user-data; ignored" in r.stdout
    finally:
        h.kill()


def test_garbage_metadata_is_one_clear_line_and_the_host_boots(image, workdir):
    seed = vfat_seed(os.path.join(workdir, "garbage.img"), "cidata", {
        "meta-data": "instance-id: [unclosed\nlocal-hostname: {{{\n",
        "network-config": "version: 2\nethernets:\n  eth0:\n    addresses: [not-an-address]\n",
    })
    h = SshHost(workdir, image, memory=384)
    h.vm_extra = ["-drive", f"file={seed},format=raw,if=virtio,readonly=on"]
    h.boot("garbage")
    try:
        text = h.vm.text()
        m = re.search(r"cloud metadata \(/dev/vd[b-z]\): meta-data:\d+: .*the whole file is ignored", text)
        assert m, "no clear console line for the broken meta-data"
        r = h.run("hostname; hostlog | grep 'cloud metadata'", check=True)
        assert r.stdout.split()[0].startswith("berth-")  # the default name
        assert "network-config:4: addresses: 'not-an-address' is not an address" in r.stdout, r.stdout
        assert "network-config: the network configuration is not used" in r.stdout, r.stdout
    finally:
        h.kill()
