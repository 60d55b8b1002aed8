"""A Berth VM reached over ssh with a real OpenSSH client: the channel the
runtime tests use (the serial console mixes kernel messages into output,
ssh does not)."""
import os
import shlex
import socket
import subprocess
import time

import imagegen
from berthvm import OUT, VM, copy_image

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(TOP, "image-build", "berth-image")
BERTH = os.path.join(OUT, "host", "berth")  # the build machine's CLI: the desk


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SshHost:
    def __init__(self, workdir, image, host_yaml_extra="", memory=512, config_files=None, host_yaml=None):
        """host_yaml: the whole file (no key of its own); by default root's
        key is this host's test key, NTP is off, then host_yaml_extra."""
        self.workdir = workdir
        self.disk = copy_image(image, os.path.join(workdir, "disk.img"))
        self.key = os.path.join(workdir, "id_ed25519")
        if not os.path.exists(self.key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", self.key],
                           check=True)
        self.port = free_port()
        self.memory = memory
        cfg = os.path.join(workdir, "config")
        os.makedirs(cfg, exist_ok=True)
        with open(os.path.join(cfg, "host.yaml"), "w") as f:
            f.write(host_yaml if host_yaml is not None else "ssh_authorized_keys:\n  - %s\nntp:\n  servers: []\n%s" %
                    (open(self.key + ".pub").read().strip(), host_yaml_extra))
        for name, data in (config_files or {}).items():
            path = os.path.join(cfg, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data.encode() if isinstance(data, str) else data)
        subprocess.run([TOOL, "set-config", self.disk, cfg], check=True)
        self.vm = None
        self.vm_extra = []
        self.nic_extra = []  # more QEMU user-net options: hostfwd=..., guestfwd=...
        self.drive_extra = ""  # more options of the system disk's -drive: ",cache=unsafe"
        self.disk_bus = "virtio"  # how the system disk is attached (berthvm.DISK_BUSES)
        self.nic_model = "virtio-net-pci"  # the NIC that ssh comes in through
        self.cpus = 2
        self.firmware = "bios"
        self.reboot_in_place = False  # guest reboots stay in the same QEMU (VM reboot=)

    def boot(self, name="vm", started=None):
        """started(vm), when given, runs once QEMU is up, before the guest
        has booted (QMP commands that set the scene: a cable pulled)."""
        if self.vm:
            self.vm.kill()
        self.vm = VM(self.disk, self.workdir, name=name, memory=self.memory, cpus=self.cpus,
                     hostfwd=[f"tcp:127.0.0.1:{self.port}-:22"], extra=self.vm_extra, nic_extra=self.nic_extra,
                     drive_extra=self.drive_extra, disk_bus=self.disk_bus, nic_model=self.nic_model,
                     firmware=self.firmware, reboot=self.reboot_in_place)
        self.vm.start()
        if started is not None:
            started(self.vm)
        self.vm.wait_boot()
        self.run("true", timeout=60)
        return self

    def _args(self, tty=False):
        return ["ssh", "-p", str(self.port), "-i", self.key, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                *(["-tt"] if tty else []), "root@127.0.0.1"]

    def run(self, command, input=None, timeout=120, tty=False, check=False):
        """Runs a shell command on the host; returns CompletedProcess
        (retries the connection while sshd starts)."""
        deadline = time.monotonic() + 60
        while True:
            r = subprocess.run(self._args(tty) + [command], capture_output=True, text=True, input=input,
                               timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)
            if r.returncode == 255 and ("refused" in r.stderr or "reset" in r.stderr or
                                        "kex_exchange" in r.stderr) and time.monotonic() < deadline:
                time.sleep(1)
                continue
            break
        if check and r.returncode != 0:
            raise AssertionError(f"`{command}` exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r

    def put(self, path, data, mode=None):
        if isinstance(data, str):
            data = data.encode()
        cmd = f"cat > {shlex.quote(path)}"
        if mode:
            cmd += f" && chmod {mode} {shlex.quote(path)}"
        r = subprocess.run(self._args() + [cmd], input=data, capture_output=True, timeout=120)
        assert r.returncode == 0, r.stderr

    def reboot(self, name="vm-reboot"):
        """A clean reboot from inside; waits for ssh to come back."""
        self.run("reboot", timeout=30)
        self.vm.wait_exit(timeout=120)
        return self.boot(name)

    def kill(self):
        if self.vm:
            self.vm.kill()

    def reach_from_desk(self):
        """Points the desk's CLI at this host: its own config home, ssh with
        the test key, and a context "vm" (self.url is the host's URL)."""
        self.url = f"ssh://root@127.0.0.1:{self.port}"
        self.env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(self.workdir, "desk-config"),
                        BERTH_SSH_COMMAND=f"ssh -i {self.key} -o BatchMode=yes -o StrictHostKeyChecking=no "
                                          "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR")
        self.env.pop("BERTH_HOST", None)
        self.env.pop("BERTH_CONTEXT", None)
        r = self.desk("context", "create", "vm", "--host", self.url)
        assert r.returncode == 0, r.stderr
        return self

    def desk(self, *args, input=None, env=None, timeout=120, text=False):
        """out/host/berth ARGS on the build machine (after reach_from_desk)."""
        return subprocess.run([BERTH, *args], capture_output=True, input=input, timeout=timeout, text=text,
                              env=dict(self.env, **(env or {})),
                              stdin=None if input is not None else subprocess.DEVNULL)


def stack_host(image, workdir, compose, name, ready, what, memory=384, **config):
    """A booted host whose CONFIG runs COMPOSE with the busybox image
    (config: more of imagegen.busybox_config_files' arguments), once
    ready(h) holds."""
    files = imagegen.busybox_config_files(workdir, compose, **config)
    h = SshHost(workdir, image, config_files=files, memory=memory)
    h.boot(name)
    wait(h, lambda: ready(h), 180, what)
    return h


def up_at_least(n):
    """A ready() for stack_host: N containers or more are up."""
    return lambda h: h.run("berth ps").stdout.count(" Up ") >= n


def wait(h, cond, timeout=60, what="condition"):
    """Polls cond() until it is true (returned), or fails after timeout
    seconds with the last value and `berth ps -a`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}\n" + h.run("berth ps -a").stdout)


def host_pids(h):
    """The oldest pid of init, sshd (dropbear), berthd and hostlog: a
    restart would change it (dropbear's sessions come and go)."""
    pids = {}
    for line in h.run("ps -o pid,comm", check=True).stdout.splitlines()[1:]:
        f = line.split()
        if len(f) == 2 and f[1] in ("init", "dropbear", "berthd", "hostlog"):
            pids[f[1]] = min(pids.get(f[1], 1 << 30), int(f[0]))
    return pids
