"""OS update bundles for the QEMU tests, and a host that takes them.

Bundles are built from this build's kernel and binaries with the image
builder's own tools (rootfs/mkrootfs, image-build/mkverity and mkbundle),
under another version string where a test needs one ("the same tree with
another version"), with the test-only PID 1 that hangs (out/test/init-hang),
a root image with a flipped byte, a command line with a failpoint, or
signed by a key the host does not trust. They are signed with the build's
signing key (BERTH_SIGNING_KEY, as `make` uses)."""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time

from berthvm import partition_offset
from sshhost import SshHost

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("BERTH_OUT", os.path.join(TOP, "out"))
sys.path.insert(0, os.path.join(TOP, "image-build"))
import bootfiles  # noqa: E402

SIGNER = os.path.join(OUT, "host", "berth-sign")
KEY = os.environ.get("BERTH_SIGNING_KEY") or os.path.join(
    os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "berth", "update-signing.key")
PUB = os.path.join(OUT, "update-keys", "signing.pub")


def base_version():
    """The version of out/berth.img's root (what `make` stamped)."""
    return open(os.path.join(OUT, "version")).read().strip()


def bump(version, minor=0, patch=1, pre=""):
    """0.1.0+gX -> 0.1.1+gX (patch), 0.2.0+gX (minor), 0.1.1-PRE+gX."""
    core, _, build = version.partition("+")
    nums = [int(x) for x in re.match(r"(\d+)\.(\d+)\.(\d+)", core).groups()]
    nums = [nums[0], nums[1] + minor, 0 if minor else nums[2] + patch]
    out = ".".join(str(n) for n in nums) + (f"-{pre}" if pre else "")
    return out + (f"+{build}" if build else "")


def run(*cmd, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{r.stdout}{r.stderr}")
    return r.stdout


class Bundles:
    """Builds and caches bundles under workdir/bundles."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "bundles")
        os.makedirs(self.dir, exist_ok=True)
        self.roots = {}

    def root(self, version, init_bin=None):
        """A root image of this build saying it is version (and its tree)."""
        key = (version, init_bin)
        if key not in self.roots:
            d = os.path.join(self.dir, f"root-{len(self.roots)}")
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, "rootfs.erofs")
            env = {"BERTH_UPDATE_KEYS": PUB}
            if init_bin:
                env["BERTH_INIT_BIN"] = init_bin
            run(os.path.join(TOP, "rootfs", "mkrootfs"), path, version, env=env)
            run(os.path.join(TOP, "image-build", "mkverity"), path)
            self.roots[key] = path
        return self.roots[key]

    def bundle(self, name, version, init_bin=None, cmdline_extra="", key=None, root=None, extra_keys=()):
        """out: the bundle's path. root: another image (with this version's
        tree and root hash, so that dm-verity finds the difference)."""
        base = self.root(version, init_bin)
        out = os.path.join(self.dir, name + ".bundle")
        cmd = [os.path.join(TOP, "image-build", "mkbundle"), out, "--kernel", os.path.join(OUT, "kernel", "bzImage"),
               "--root", root or base, "--tree", base + ".verity", "--verity-env", base + ".verity.env",
               "--key", key or KEY, "--signer", SIGNER, "--version", version, "--build",
               "test-" + re.sub(r"[^A-Za-z0-9.+~_-]", "-", name)]
        if cmdline_extra:
            cmd += ["--cmdline-extra", cmdline_extra]
        for k in extra_keys:
            cmd += ["--extra-key", k]
        run(*cmd)
        return out

    def flipped_root(self, version, path_in_root="/usr/bin/berth"):
        """A copy of version's root with one byte flipped in the first block
        of a file (dump.erofs says where it lies)."""
        base = self.root(version)
        out = os.path.join(self.dir, "flipped.erofs")
        shutil.copy(base, out)
        off = file_offset(base, path_in_root)
        with open(out, "r+b") as f:
            f.seek(off + 100)
            b = f.read(1)
            f.seek(off + 100)
            f.write(bytes([b[0] ^ 0x01]))
        return out

    def untrusted_key(self):
        k = os.path.join(self.dir, "untrusted.key")
        if not os.path.exists(k):
            run(SIGNER, "keygen", k, k + ".pub", "a key no host trusts")
        return k


def file_offset(erofs, path):
    """The byte offset in an erofs image of the first block of a file."""
    out = run("dump.erofs", "-e", f"--path={path}", erofs)
    m = re.search(r"^\s*0:\s+\d+\.\.\s*\d+\s*\|\s*\d+\s*:\s*(\d+)\.\.", out, re.M)
    if not m:
        raise AssertionError(f"no extent for {path} in {erofs}:\n{out}")
    return int(m.group(1))


class UpdateHost(SshHost):
    """A host with an i6300esb watchdog whose reboots (and watchdog resets)
    are followed through its console: warm in the same QEMU (SeaBIOS), or
    a power cycle of QEMU (OVMF, see below)."""

    def __init__(self, workdir, image, firmware="bios", **kw):
        super().__init__(workdir, image, **kw)
        self.firmware = firmware
        self.reboot_in_place = True
        self.vm_extra = ["-device", "i6300esb"]
        # OVMF under TCG now and then never leaves the firmware after a
        # warm reset (the CPU spins in OVMF, nothing more on the console):
        # with two vCPUs 2 of about 20 reboots right after an update; with
        # one, 2 in about 50 (make check's UEFI update tests, twice in CI).
        # A cold start of the same disk and variables always worked, so
        # UEFI hosts are power-cycled on a reset (VM reboot="cold") and keep
        # one vCPU. SeaBIOS reboots fine warm, with two.
        if firmware == "uefi":
            self.reboot_in_place = "cold"
            self.cpus = 1

    def mark(self):
        """The console's length now: wait_console looks after it."""
        with self.vm.lock:
            return len(self.vm.output)

    def wait_console(self, pattern, start, timeout=300):
        return self.vm.wait_for(pattern, timeout, start=start)

    def update(self, bundle, args="", env="", timeout=300):
        """`ssh host berth os update ARGS - < bundle`."""
        with open(bundle, "rb") as f:
            return subprocess.run(self._args() + [f"{env} berth os update {args} -"], stdin=f, capture_output=True,
                                  text=True, timeout=timeout)

    def update_async(self, bundle, args="", env=""):
        """The same, left running (a failpoint stops it)."""
        with open(bundle, "rb") as f:
            return subprocess.Popen(self._args() + [f"{env} berth os update {args} -"], stdin=f,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def install(self, bundle, target, version, args="", timeout=500):
        """`berth os update ARGS -`, followed through the reboot into slot
        target until its gate marks it good and ssh is back, running
        version; returns the update's CompletedProcess."""
        start = self.mark()
        r = self.update(bundle, args=args)
        assert f"rebooting into slot {target}" in r.stdout, r.stdout + r.stderr
        self.wait_console(rf"slot {target} \({re.escape(version)}\) is healthy: marked good", start, timeout)
        self.wait_up(start)
        assert self.version() == version
        return r

    def wait_up(self, start, timeout=400):
        """After a reboot: init's banner, then ssh."""
        self.vm.wait_for(r"Berth \S+ on \S+ - up in", timeout, start=start, skip_kernel_lines=True)
        deadline = time.monotonic() + 120
        while True:
            r = self.run("true", timeout=30)
            if r.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"ssh did not come back: {r.stderr}")
            time.sleep(1)

    def version(self):
        r = self.run(". /etc/os-release && echo $VERSION_ID", check=True)
        return r.stdout.strip()

    def status(self):
        """berth os status as {slot: (state, version)}, and the rest."""
        r = self.run("berth os status", check=True)
        slots = {}
        for line in r.stdout.splitlines()[1:]:
            m = re.match(r"^([AB])\s+(.*?)\s{2,}(\S+)$", line)
            if m:
                slots[m.group(1)] = (m.group(2), m.group(3))
        return slots, r.stdout

    def part_sha256(self, name):
        """sha256 of a partition of the disk, read on the build machine
        (after a sync in the guest)."""
        self.run("sync", check=True)
        off, size = partition_offset(self.disk, name)
        h = hashlib.sha256()
        with open(self.disk, "rb") as f:
            f.seek(off)
            left = size
            while left:
                chunk = f.read(min(left, 1 << 20))
                if not chunk:
                    break
                h.update(chunk)
                left -= len(chunk)
        return h.hexdigest()

    def boot_state(self):
        """Both copies of the boot state, read from the disk image (as GRUB
        would): (primary, backup), each a dict or None when torn."""
        return read_boot_state(self.disk)


def read_boot_state(disk):
    """The ESP's grubenv copies, found with mtools (no mount needed)."""
    off, size = partition_offset(disk, "ESP")
    out = []
    for name in ("grubenv", "grubenv.bak"):
        r = subprocess.run(["mcopy", "-n", "-i", f"{disk}@@{off}", f"::/boot/grub/{name}", "-"], capture_output=True,
                           env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
        out.append(bootfiles.read_state(r.stdout) if r.returncode == 0 else None)
    return tuple(out)
