"""What the VM benchmarks (runtimes, stack, network) share: a Berth VM under
QEMU TCG with -icount, reached over ssh; the benchmark tools copied into it;
BusyBox container images; small statistics; and running a module on its own.

With `-icount shift=0` the guest's clock advances one nanosecond per guest
instruction while the vCPU runs: a time measured inside the guest is then a
count of instructions, whatever the build machine's load (instruction-counted,
stable). What happens while the vCPU is idle depends on `sleep`:
  sleep=off  the clock jumps to the guest's next timer. A wait for the disk
             (every fsync of berthd) then costs an arbitrary time, up to
             seconds: unusable for anything that writes to DATA.
  sleep=on   the clock advances by real time while idle. Disk waits cost
             their real (short: the disk has cache=unsafe, flushes complete
             at once) time, sleeps their length.
The benchmarks use sleep=on; where a figure includes idle time the module
says how much (from /proc/stat), since that part is wall clock, not counted.
With no idle time, both modes give the same numbers (checked: berth-oci run,
netbench). icount runs one vCPU (with two, the guest does not come up)."""
import json
import os
import shlex
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(TOP, "qemu-tests"))
import imagegen  # noqa: E402
from sshhost import SshHost  # noqa: E402

ICOUNT = ["-icount", "shift=0,sleep=on"]


class Ctx:
    """The context bench/run.py hands to a module's run(ctx), for running
    one module on its own."""

    def __init__(self, quick=False, out=None, workdir=None):
        self.quick = quick
        self.out = out or os.environ.get("BERTH_OUT", os.path.join(TOP, "out"))
        self.workdir = workdir or os.path.join(self.out, "bench", "work")
        os.makedirs(self.workdir, exist_ok=True)

    def log(self, msg):
        sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {msg}\n")
        sys.stderr.flush()


def standalone(run):
    """`python3 bench/NAME.py [--quick]`: runs the module, prints its dict."""
    quick = "--quick" in sys.argv[1:] or os.environ.get("QUICK") == "1"
    name = os.path.splitext(os.path.basename(sys.modules[run.__module__].__file__))[0]
    ctx = Ctx(quick=quick)
    ctx.workdir = os.path.join(ctx.out, "bench", "work", name)
    os.makedirs(ctx.workdir, exist_ok=True)
    t0 = time.monotonic()
    result = run(ctx)
    ctx.log(f"{name}: {time.monotonic() - t0:.0f} s of wall time")
    print(json.dumps(result, indent=2))


def tool(ctx, name):
    path = os.path.join(ctx.out, "target", "tests", name)
    if not os.path.exists(path):
        # The Makefile's pattern rule builds bench/tools/NAME.c there.
        subprocess.run(["make", "-s", path], cwd=TOP, check=True)
    return path


def busybox_path(ctx):
    return os.path.join(ctx.out, "pkg", "busybox", "busybox")


def busybox_images(ctx, path, names=("busybox:latest",), extra_tools=("netserve",)):
    """A docker-save tar of BusyBox images (the given names, one content),
    with benchmark tools in /bin."""
    bb = busybox_path(ctx)
    base = imagegen.busybox_layer(bb, imagegen.applets(bb))
    layers = [base]
    if extra_tools:
        layers.append(imagegen.layer({f"bin/{t}": open(tool(ctx, t), "rb").read() for t in extra_tools}))
    imagegen.docker_tar(path, [(n, layers, imagegen.config(layers)) for n in names])
    return path


class BenchVM:
    """A Berth VM (fresh copy of out/berth.img, CONFIG from config_files)
    under icount (sleep=on) with one vCPU, driven over ssh. reboot: guest
    reboots stay in the same QEMU (an OS update's) instead of ending it."""

    def __init__(self, ctx, name, config_files=None, memory=512, extra=(), nic_extra=(), reboot=False):
        self.ctx = ctx
        self.name = name
        self.dir = os.path.join(ctx.workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        for f in os.listdir(self.dir):
            if f.endswith(".console.log"):
                os.unlink(os.path.join(self.dir, f))
        self.host = SshHost(self.dir, os.path.join(ctx.out, "berth.img"), memory=memory,
                            config_files=config_files)
        self.host.cpus = 1
        self.host.reboot_in_place = reboot
        self.host.vm_extra = ICOUNT + list(extra)
        self.host.nic_extra = list(nic_extra)
        # Guest flushes complete at once: see the module's comment.
        self.host.drive_extra = ",cache=unsafe"
        self.boot_wall = None

    def __enter__(self):
        t0 = time.monotonic()
        self.ctx.log(f"{self.name}: booting the VM (icount, 1 vCPU)")
        self.host.boot(self.name)
        self.boot_wall = time.monotonic() - t0
        self.ctx.log(f"{self.name}: up after {self.boot_wall:.0f} s of wall time")
        return self

    def __exit__(self, *exc):
        self.host.kill()
        if os.path.exists(self.host.disk):
            os.unlink(self.host.disk)

    def sh(self, command, timeout=600):
        """Runs a shell command; its stdout, or an error with its output."""
        r = self.host.run(command, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"{self.name}: `{command}` exited {r.returncode}:\n{r.stdout[-2000:]}\n"
                               f"{r.stderr[-2000:]}")
        return r.stdout

    def put_tool(self, name):
        self.host.put(f"/tmp/{name}", open(tool(self.ctx, name), "rb").read(), mode="755")
        return f"/tmp/{name}"

    def wait_for(self, command, predicate, timeout=300, what="condition"):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            r = self.host.run(command, timeout=120)
            last = r.stdout
            if r.returncode == 0 and predicate(r.stdout):
                return r.stdout
            time.sleep(1)
        raise RuntimeError(f"{self.name}: timed out waiting for {what}; last output:\n{last}")


def q(s):
    return shlex.quote(s)


def med(values):
    return statistics.median(values) if values else None


def ints(text):
    """The lines of text that are a number, or rows of numbers."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if parts and all(p.isdigit() for p in parts):
            out.append([int(p) for p in parts] if len(parts) > 1 else int(parts[0]))
    return out


def keyed(text, key):
    """The numbers after `key` on its line of text (the tools' summaries)."""
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == key:
            return [int(p) for p in parts[1:]]
    return None


def ms(us, digits=2):
    return None if us is None else round(us / 1000.0, digits)


def ratio(a, b, digits=2):
    return None if not a or not b else round(a / b, digits)


def fig(value, unit, label):
    return {"value": value, "unit": unit, "label": label}
