"""Boot Berth images in QEMU and drive them the way a user would: through
the serial console (and, with QMP, the virtual power button).

Each VM runs under TCG unless KVM really works on this machine (a probe
boots the kernel once and caches the answer). Networking is QEMU's user
mode with restrict=on: nothing leaves the machine.
"""
import atexit
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("BERTH_OUT", os.path.join(TOP, "out"))
CACHE = os.environ.get("BERTH_CACHE", "/var/cache/berth")
QEMU = "qemu-system-x86_64"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"


def _qemu_version():
    return subprocess.run([QEMU, "--version"], capture_output=True, text=True).stdout.split("\n")[0]


def kvm_works():
    """True when KVM can run a guest here. /dev/kvm may exist and accept
    ioctls while vCPUs still fail (nested virtualisation), so the probe
    boots the kernel and waits for its panic on the missing root."""
    if os.environ.get("BERTH_ACCEL") in ("tcg", "kvm"):
        return os.environ["BERTH_ACCEL"] == "kvm"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    kernel = os.path.join(OUT, "kernel", "bzImage")
    key = hashlib.sha256((os.uname().release + _qemu_version()).encode()).hexdigest()[:16]
    stamp = os.path.join(CACHE, "kvm-probe", key)
    if os.path.exists(stamp):
        return open(stamp).read().strip() == "yes"
    ok = False
    if os.path.exists(kernel):
        try:
            r = subprocess.run([QEMU, "-accel", "kvm", "-m", "128", "-nodefaults", "-display", "none",
                                "-serial", "stdio", "-no-reboot", "-kernel", kernel,
                                "-append", "console=ttyS0 panic=-1"],
                               capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
            ok = b"Kernel panic" in r.stdout
        except subprocess.TimeoutExpired:
            ok = False
    os.makedirs(os.path.dirname(stamp), exist_ok=True)
    with open(stamp, "w") as f:
        f.write("yes\n" if ok else "no\n")
    return ok


def copy_image(src, dst):
    """A fresh, sparse copy of an image for one group of tests."""
    subprocess.run(["cp", "--sparse=always", "--reflink=auto", src, dst], check=True)
    return dst


KMSG_LINE = re.compile(r"^\[\s*\d+\.\d+\] ")

# How the system disk is attached: QEMU's options for each controller a
# Berth image must boot from (SeaBIOS boots GRUB from all of them). q35 has
# its AHCI controller built in, bus ide.0 to ide.5.
DISK_BUSES = {
    "virtio": lambda drive: ["-drive", f"{drive},if=virtio"],
    "nvme": lambda drive: ["-drive", f"{drive},if=none,id=sysdisk",
                           "-device", "nvme,drive=sysdisk,serial=berth-system"],
    "ahci": lambda drive: ["-drive", f"{drive},if=none,id=sysdisk", "-device", "ide-hd,drive=sysdisk,bus=ide.0"],
    "virtio-scsi": lambda drive: ["-device", "virtio-scsi-pci,id=hba", "-drive", f"{drive},if=none,id=sysdisk",
                                  "-device", "scsi-hd,drive=sysdisk,bus=hba.0"],
    # LSI MegaRAID SAS 2108. (QEMU's LSI SAS1068, mptsas1068, boots GRUB
    # but Linux 6.1's mptsas finds no disk behind it, Debian's kernel
    # neither: the driver is built in for VMware's LSI Logic SAS.)
    "megasas": lambda drive: ["-device", "megasas-gen2,id=hba", "-drive", f"{drive},if=none,id=sysdisk",
                              "-device", "scsi-hd,drive=sysdisk,bus=hba.0"],
}


def _disk_nodes(disk, disk_format):
    """The system disk as two named block nodes (its file, then its format)
    behind a virtio disk that reports write errors to the guest: the shape
    VM.fail_disk_writes needs to slip a fault between them while it runs."""
    return ["-blockdev", json.dumps({"driver": "file", "filename": disk, "node-name": "sysfile"}),
            "-blockdev", json.dumps({"driver": disk_format, "file": "sysfile", "node-name": "sysdisk"}),
            "-device", "virtio-blk-pci,drive=sysdisk,werror=report,rerror=report"]


# A kernel message on the serial console: "[    7.325088] text" up to its
# line end.
KERNEL_LINE = re.compile(rb"\[ *\d+\.\d+\] [^\n]*\n")


class Timeout(Exception):
    pass


_running = []


@atexit.register
def _kill_leftovers():
    """No QEMU outlives the test run, whatever happened to it."""
    for vm in list(_running):
        vm.kill()


class VM:
    def __init__(self, disk, workdir, firmware="bios", memory=256, cpus=2, name="vm", hostfwd=(),
                 disk_format="raw", extra=(), nic_extra=(), drive_extra="", disk_bus="virtio",
                 nic_model="virtio-net-pci", reboot=False):
        self.disk = disk
        self.workdir = workdir
        self.firmware = firmware
        self.memory = memory
        self.cpus = cpus
        self.name = name
        self.hostfwd = list(hostfwd)
        self.disk_format = disk_format
        self.extra = list(extra)
        self.nic_extra = list(nic_extra)
        # More options of the system disk's -drive (",cache=unsafe" ...).
        self.drive_extra = drive_extra
        self.disk_bus = disk_bus  # a key of DISK_BUSES, or "virtio-nodes" (see _disk_nodes)
        self.nic_model = nic_model  # QEMU's NIC model: e1000, e1000e, vmxnet3, rtl8139 ...
        # reboot: what a guest reboot (or a watchdog reset) does. False: it
        # ends QEMU (-no-reboot). True: the guest restarts in the same QEMU
        # (a warm reset). "cold": QEMU ends and is started again on the same
        # disk and firmware variables, a power cycle, the console output
        # carrying on (see _restart_after_reset for why UEFI hosts use it).
        self.reboot = reboot
        self.proc = None
        self._proc_start = 0  # where the running QEMU's output begins
        self._stopping = False  # kill() was called: no restart
        self._ended = True  # the reader saw the last QEMU end
        self.output = bytearray()
        self.lock = threading.Condition()
        self.log_path = os.path.join(workdir, f"{name}.console.log")
        self.qmp_path = os.path.join(workdir, f"{name}.qmp")
        self.started_at = None
        self._qmp = None
        self._qmp_file = None

    def command(self):
        accel = "kvm" if kvm_works() else "tcg"
        cmd = [QEMU, "-machine", "q35", "-accel", accel, "-m", str(self.memory), "-smp", str(self.cpus),
               "-nodefaults", "-display", "none", *([] if self.reboot is True else ["-no-reboot"]), "-serial", "stdio",
               *self._disk_args(),
               "-device", "virtio-rng-pci",
               "-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        nic = f"user,model={self.nic_model},restrict=on"
        for fwd in self.hostfwd:
            nic += f",hostfwd={fwd}"
        for opt in self.nic_extra:
            nic += f",{opt}"
        cmd += ["-nic", nic]
        if self.firmware == "uefi":
            vars_copy = os.path.join(self.workdir, f"{self.name}.OVMF_VARS.fd")
            if not os.path.exists(vars_copy):
                shutil.copy(OVMF_VARS, vars_copy)
            cmd += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                    "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}"]
        return cmd + self.extra

    def _disk_args(self):
        if self.disk_bus == "virtio-nodes":
            assert not self.drive_extra, "drive_extra is for -drive disks"
            return _disk_nodes(self.disk, self.disk_format)
        return DISK_BUSES[self.disk_bus](f"file={self.disk},format={self.disk_format}{self.drive_extra}")

    def fail_disk_writes(self):
        """From now on every write to the system disk fails with EIO, as a
        dying disk's would (reads still work): QEMU's blkdebug driver is put
        between the disk's format and its file. Needs disk_bus="virtio-nodes"."""
        for command, args in (("blockdev-add", {"driver": "blkdebug", "node-name": "sysfail", "image": "sysfile",
                                                "inject-error": [{"event": "pwritev", "iotype": "write",
                                                                  "errno": 5}]}),
                              ("blockdev-reopen", {"options": [{"driver": self.disk_format, "node-name": "sysdisk",
                                                                "file": "sysfail"}]})):
            reply = self.qmp(command, **args)
            if "error" in reply:
                raise RuntimeError(f"{self.name}: {command}: {reply['error']}")

    def start(self):
        self.output = bytearray()
        self.log = open(self.log_path, "ab")
        self.started_at = time.monotonic()
        self._stopping = False
        self._ended = False
        with self.lock:
            self._spawn()
        threading.Thread(target=self._reader, daemon=True).start()
        return self

    def _spawn(self):
        """Starts QEMU; the caller holds self.lock (kill() cannot come
        between its check and the start)."""
        self._proc_start = len(self.output)
        if self._qmp:
            self._qmp.close()
            self._qmp = None
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        if self not in _running:
            _running.append(self)

    def _reader(self):
        while True:
            proc = self.proc
            while True:
                chunk = proc.stdout.read1(65536)
                if not chunk:
                    break
                self.log.write(chunk)
                self.log.flush()
                with self.lock:
                    self.output += chunk
                    self.lock.notify_all()
            proc.wait()
            if not self._restart_after_reset(proc):
                break
        with self.lock:
            self._ended = True
            self.lock.notify_all()

    def _restart_after_reset(self, proc):
        """reboot="cold": starts QEMU again when the guest reset (a reboot,
        a watchdog reset), not when it powered off or QEMU was killed.
        Why: OVMF 2022.11 under QEMU 7.2's TCG now and then spins forever
        after a warm reset, before its first output or after GRUB's
        greeting (the CPU busy in firmware code, in about 1 of 25 resets in
        make check's UEFI update tests; never after a cold start). A
        power cycle keeps what the guest can leave for its next boot (the
        disk, the firmware variables), so a hang that Berth caused would
        come back after it; only the emulator's warm-reset path is left
        out. SeaBIOS hosts keep the warm reset."""
        with self.lock:
            if self.reboot != "cold" or self._stopping or proc.returncode != 0:
                return False
            if b"reboot: Power down" in self.output[self._proc_start:]:
                return False
            note = b"\r\n[berthvm: the guest reset; QEMU started again (a power cycle)]\r\n"
            self.output += note
            self.log.write(note)
            self._spawn()
        return True

    def text(self, skip_kernel_lines=False):
        with self.lock:
            out = bytes(self.output)
        if skip_kernel_lines:
            out = KERNEL_LINE.sub(b"", out)
        return out.decode(errors="replace")

    def wait_for(self, pattern, timeout=120, start=0, skip_kernel_lines=False):
        """Waits until the console output (from byte offset start) matches
        pattern; returns the match. skip_kernel_lines: match as if kernel
        messages were not there; the serial console interleaves them with
        a process's output at any byte (the UART's FIFO is 16 bytes), so a
        line that init writes can arrive split by one. The match is then on
        that view, and its offsets are not offsets in self.output."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                text = self.output
                if skip_kernel_lines:
                    text = KERNEL_LINE.sub(b"", bytes(self.output[start:]))
                m = rx.search(text, 0 if skip_kernel_lines else start)
                if m:
                    return m
                if self._ended:
                    raise Timeout(f"{self.name}: QEMU exited (status {self.proc.returncode}) "
                                  f"before {pattern!r} appeared; the console's last lines:\n{self._tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout(f"{self.name}: {pattern!r} did not appear within {timeout} s; "
                                  f"the console's last lines:\n{self._tail()}")
                self.lock.wait(min(left, 1.0))

    def _diagnose(self):
        """When init's banner does not come: what the console shell (if one
        answers) sees of init and the kernel log, for the failure message."""
        with self.lock:
            start = len(self.output)
        if self.proc.poll() is not None:
            return "(QEMU has exited)"
        self.send("\n(echo; cat /proc/1/wchan; echo; ps; dmesg | tail -n 40; echo @@DIAG''@@END) 2>&1\n")
        try:
            m = self.wait_for(r"@@DIAG@@END", 30, start=start)
        except Timeout:
            return "(no shell answered on the console)"
        return "the console shell's view:\n" + bytes(self.output[start:m.end()]).decode(errors="replace")

    def _tail(self, size=2000):
        """The end of the console output, for failure messages (CI keeps
        only what the test prints)."""
        return bytes(self.output[-size:]).decode(errors="replace")

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def wait_boot(self, timeout=180):
        """Waits for init's banner and the shell prompt; returns the wall
        time from QEMU start to the prompt."""
        try:
            self.wait_for(r"Berth \S+ on \S+ - up in", timeout, skip_kernel_lines=True)
        except Timeout as e:
            raise Timeout(f"{e}\n{self._diagnose()}") from None
        with self.lock:
            after = len(self.output)
        self.send("\n")
        self.wait_for(r"[#$] $|[#$] \x1b", timeout, start=after, skip_kernel_lines=True)
        self.boot_seconds = time.monotonic() - self.started_at
        return self.boot_seconds

    _counter = 0

    def sh(self, command, timeout=60, check=True):
        """Runs a shell command on the console; returns (status, output).
        The markers are split in the typed line so that its echo never
        matches them."""
        VM._counter += 1
        tag = f"{os.getpid()}x{VM._counter}"
        with self.lock:
            start = len(self.output)
        self.send(f"echo '@@B''EGIN{tag}@@'; {command}; echo \"@@E\"\"ND{tag}@@$?@@\"\n")
        m = self.wait_for(rf"@@END{tag}@@(\d+)@@", timeout, start=start)
        b = self.wait_for(rf"@@BEGIN{tag}@@\r?\n", 1, start=start)
        out = self.output[b.end():m.start()].decode(errors="replace").replace("\r\n", "\n")
        # Kernel and service messages share the console; they are not output.
        out = "".join(line for line in out.splitlines(keepends=True) if not KMSG_LINE.match(line))
        status = int(m.group(1))
        if check and status != 0:
            raise AssertionError(f"{self.name}: `{command}` exited with {status}:\n{out}")
        return status, out

    def qmp(self, command, **arguments):
        if self._qmp is None:
            deadline = time.monotonic() + 10
            while True:
                try:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(self.qmp_path)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            self._qmp = s
            self._qmp_file = s.makefile("rw")
            json.loads(self._qmp_file.readline())  # greeting
            self._qmp_send("qmp_capabilities")
        return self._qmp_send(command, **arguments)

    def _qmp_send(self, command, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self._qmp_file.write(json.dumps(msg) + "\n")
        self._qmp_file.flush()
        while True:
            reply = json.loads(self._qmp_file.readline())
            if "return" in reply or "error" in reply:
                return reply

    def wait_exit(self, timeout=120):
        """Waits until QEMU ended for good (reboot="cold": a power-off);
        returns its exit status."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not self._ended:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout(f"{self.name}: QEMU still running after {timeout} s")
                self.lock.wait(min(left, 1.0))
        return self.proc.wait()

    def kill(self):
        with self.lock:
            self._stopping = True
            proc = self.proc
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        if self in _running:
            _running.remove(self)
        if self._qmp:
            self._qmp.close()
            self._qmp = None

    def __enter__(self):
        return self if self.proc is not None else self.start()

    def __exit__(self, *exc):
        self.kill()
        self.log.close()


def partition_offset(image, name):
    """(offset, size) in bytes of the partition called name in a raw image."""
    dump = subprocess.run(["sfdisk", "--json", image], capture_output=True, text=True, check=True).stdout
    table = json.loads(dump)["partitiontable"]
    sector = table.get("sectorsize", 512)
    for p in table["partitions"]:
        if p.get("name") == name:
            return p["start"] * sector, p["size"] * sector
    raise KeyError(f"{image} has no partition {name}")


def extract_partition(image, name, dest):
    off, size = partition_offset(image, name)
    subprocess.run(["dd", f"if={image}", f"of={dest}", "bs=1M", f"skip={off}", f"count={size}",
                    "iflag=skip_bytes,count_bytes", "conv=sparse", "status=none"], check=True)
    return dest


def fsck_partition(image, name, workdir):
    """e2fsck -fn of a partition of a raw image: (status, output)."""
    part = extract_partition(image, name, os.path.join(workdir, f"{name}.ext4"))
    r = subprocess.run(["e2fsck", "-fn", part], capture_output=True, text=True)
    os.unlink(part)
    return r.returncode, r.stdout + r.stderr
