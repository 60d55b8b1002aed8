"""Memory: the smallest `-m` with which the image boots and runs the
reference stack (bench/stack.py) healthy, found by bisection; the resident
memory of init (PID 1) and berthd after boot; MemAvailable at 256 MiB with
and without the stack.

Memory does not depend on timing, so the VMs run under plain TCG (no
icount), two vCPUs, as the qemu-tests boot. Every probe boots a fresh copy
of out/berth.img with the stack's CONFIG: the first boot, which also
creates DATA and imports the image into the store."""
import os
import re
import shutil
import time

import benchvm
import stack
from benchvm import fig
from berthvm import VM, Timeout

OOM = re.compile(r"invoked oom-killer|Out of memory|oom-kill:|Kernel panic")
MEMINFO = ("MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "Shmem", "Slab")


def stack_files(ctx):
    tar = os.path.join(ctx.workdir, "images.tar")
    if not os.path.exists(tar):
        benchvm.busybox_images(ctx, tar)
    return {"compose.yaml": stack.compose(), "images/busybox.tar": open(tar, "rb").read()}


def stack_up(t):
    return len(t["running"]) >= stack.SERVICES and "db_healthy" in t


def boot(ctx, name, memory, files, want_stack, timeout, banner_timeout=120):
    """Boots a fresh disk at `memory` MiB; waits until init's banner (and,
    with want_stack, every service running and db healthy). Returns
    (host, None) when up, or (None, reason) when not; the caller kills
    host."""
    wd = os.path.join(ctx.workdir, name)
    if os.path.isdir(wd):
        shutil.rmtree(wd)
    os.makedirs(wd)
    host = benchvm.SshHost(wd, os.path.join(ctx.out, "berth.img"), memory=memory, config_files=files)
    vm = VM(host.disk, wd, name=name, memory=memory, cpus=2, hostfwd=[f"tcp:127.0.0.1:{host.port}-:22"],
            drive_extra=",cache=unsafe")
    host.vm = vm
    vm.start()
    deadline = time.monotonic() + timeout

    def oom():
        m = OOM.search(vm.text())
        return m.group(0) if m else None

    try:
        # A boot that is going to work shows init's banner within seconds.
        vm.wait_for(r"Berth \S+ on \S+ - up in|invoked oom-killer|Out of memory|Kernel panic", banner_timeout)
    except Timeout:
        lines = [x.strip() for x in vm.text().splitlines() if x.strip()]
        last = f"; console's last line: {lines[-1][:100]!r}" if lines else "; nothing on the console"
        return host, oom() or f"no init banner within {banner_timeout} s{last}"
    if oom():
        return host, oom()
    while True:
        r = host.run("hostlog", timeout=60) if vm.proc.poll() is None else None
        if r is not None and r.returncode == 0:
            if OOM.search(r.stdout):
                return host, "OOM in the kernel log: " + OOM.search(r.stdout).group(0)
            t = stack.timeline(r.stdout)
            if not want_stack and "berthd_ready" in t:
                return host, None
            if want_stack and stack_up(t):
                return host, None
        if oom():
            return host, oom()
        if vm.proc.poll() is not None:
            return host, f"QEMU exited ({vm.proc.returncode})"
        if time.monotonic() > deadline:
            return host, f"stack not up within {timeout} s"
        time.sleep(5)


def finish(host):
    if host:
        host.kill()
        if os.path.exists(host.disk):
            os.unlink(host.disk)


def probe(ctx, memory, files, timeout):
    banner = 45  # an ordinary TCG boot shows the banner in about 3 s
    ctx.log(f"memory: probe -m {memory}")
    t0 = time.monotonic()
    host, why = boot(ctx, f"probe-{memory}", memory, files, True, timeout, banner)
    if why is None:
        # Still healthy a little later, with no OOM since.
        time.sleep(5)
        r = host.run("hostlog", timeout=60)
        if r.returncode != 0:
            why = "ssh failed after the stack came up"
        elif OOM.search(r.stdout):
            why = "OOM in the kernel log"
    finish(host)
    ok = why is None
    ctx.log(f"memory: -m {memory}: {'ok' if ok else 'FAILED: ' + why} ({time.monotonic() - t0:.0f} s)")
    return ok, why


def readings(host):
    """Rss and Pss (KiB) of init and berthd from smaps_rollup (VmRSS in
    /proc/PID/status is batched per thread and can read low), and
    /proc/meminfo (KiB)."""
    out = host.run("p=$(pidof berthd | cut -d' ' -f1); for x in 1 $p; do "
                   "r=$(awk '/^Rss:/ {print $2}' /proc/$x/smaps_rollup); "
                   "s=$(awk '/^Pss:/ {print $2}' /proc/$x/smaps_rollup 2>/dev/null); "
                   "echo proc $x ${r:-0} ${s:--1}; done; cat /proc/meminfo", timeout=60, check=True).stdout
    procs = []
    mem = {}
    for line in out.splitlines():
        p = line.split()
        if p and p[0] == "proc":
            procs.append((int(p[2]), int(p[3]) if p[3] != "-1" else None))
        elif len(p) >= 2 and p[0].endswith(":"):
            mem[p[0][:-1]] = int(p[1])
    if len(procs) != 2:
        raise RuntimeError(f"memory: init and berthd not both found:\n{out}")
    return {"init": procs[0], "berthd": procs[1], "meminfo": mem}


def measure_256(ctx, files, want_stack, timeout):
    name = "m256-stack" if want_stack else "m256-bare"
    host, why = boot(ctx, name, 256, files, want_stack, timeout)
    try:
        if why:
            raise RuntimeError(f"memory: -m 256 ({name}) did not come up: {why}")
        time.sleep(10)  # let the boot's last work settle
        return readings(host)
    finally:
        finish(host)


def run(ctx):
    step = 16 if ctx.quick else 4
    timeout = 240 if ctx.quick else 300
    files = stack_files(ctx)
    base_files = {}

    ctx.log("memory: -m 256 with the reference stack")
    with_stack = measure_256(ctx, files, True, timeout)
    ctx.log("memory: -m 256 without a stack")
    bare = measure_256(ctx, base_files, False, timeout)

    # Bisection: hi boots and runs the stack healthy, lo does not (0 trivially).
    probes = []
    hi, lo = 256, 0
    ok, why = probe(ctx, hi, files, timeout)
    probes.append([hi, "ok" if ok else why])
    if not ok:
        raise RuntimeError(f"memory: the stack does not come up at -m {hi}: {why}")
    while hi - lo > step:
        mid = (hi + lo) // 2 // step * step or step
        if mid <= lo:
            mid = lo + step
        ok, why = probe(ctx, mid, files, timeout)
        probes.append([mid, "ok" if ok else why])
        if ok:
            hi = mid
        else:
            lo = mid
    if not ctx.quick:
        # The smallest size once more: a boot near the limit can pass by luck.
        ok, why = probe(ctx, hi, files, timeout)
        probes.append([hi, ("ok" if ok else why) + " (repeat)"])
        while not ok and hi < 256:
            hi += step
            ok, why = probe(ctx, hi, files, timeout)
            probes.append([hi, ("ok" if ok else why) + " (repeat)"])
    min_mb = hi

    def kib(r, who, i):
        return r[who][i]

    figures = {
        "memory_min_mib": fig(min_mb, "MiB", f"smallest -m that boots and runs the {stack.SERVICES}-service "
                                             f"stack healthy (bisected to {step} MiB)"),
        "init_rss_kib": fig(kib(with_stack, "init", 0), "KiB", "init (PID 1) RSS after boot, stack up"),
        "berthd_rss_kib_boot": fig(kib(with_stack, "berthd", 0), "KiB",
                                   f"berthd RSS after boot, {stack.SERVICES} services up"),
        "memavailable_256_stack_mib": fig(round(with_stack["meminfo"]["MemAvailable"] / 1024), "MiB",
                                          f"MemAvailable at -m 256 with the {stack.SERVICES}-service stack up"),
        "memavailable_256_bare_mib": fig(round(bare["meminfo"]["MemAvailable"] / 1024), "MiB",
                                         "MemAvailable at -m 256, no containers"),
    }
    if with_stack["init"][1] is not None:
        figures["init_pss_kib"] = fig(with_stack["init"][1], "KiB", "init Pss after boot, stack up")
        figures["berthd_pss_kib_boot"] = fig(with_stack["berthd"][1], "KiB", "berthd Pss after boot, stack up")

    def pss(v):
        return v if v is not None else "n/a"

    rss_rows = [["init (PID 1)", "no containers", bare["init"][0], pss(bare["init"][1])],
                ["init (PID 1)", f"{stack.SERVICES}-service stack", with_stack["init"][0],
                 pss(with_stack["init"][1])],
                ["berthd", "no containers", bare["berthd"][0], pss(bare["berthd"][1])],
                ["berthd", f"{stack.SERVICES}-service stack", with_stack["berthd"][0],
                 pss(with_stack["berthd"][1])]]
    mem_rows = [[k, round(bare["meminfo"].get(k, 0) / 1024, 1), round(with_stack["meminfo"].get(k, 0) / 1024, 1)]
                for k in MEMINFO]
    method = f"""\
QEMU TCG without icount (memory does not depend on timing), q35, two vCPUs, the system disk with `cache=unsafe`.
Every VM boots a fresh copy of out/berth.img whose CONFIG holds the reference stack of bench/stack.py
({stack.SERVICES} services, BusyBox image, `db` with a healthcheck that api1..3 wait for): a first boot, so it also
creates DATA and imports the image into the store.

**Smallest -m.** A probe passes when init's banner appears on the console within 45 s of wall
time (a working boot shows it within seconds), and within {timeout} s `hostlog` (over ssh)
shows all {stack.SERVICES} services "running" and "db: healthy", ssh still works 5 s later, and neither the console nor
the kernel log shows the OOM killer ("invoked oom-killer", "Out of memory", "oom-kill:") or a kernel panic.
Bisection between 0 and 256 MiB (which must pass) down to {step} MiB{"" if ctx.quick else
", then the result probed once more (a boot near the limit may pass by luck; on a failure the size goes up a step)"};
the figure is the smallest size that passed. Probes in order: {", ".join(f"{m} MiB {r}" for m, r in probes)}.

**RSS and MemAvailable.** At -m 256, once the stack is up (or, without CONFIG's stack, once berthd is ready) and
10 s more: Rss and Pss (shared pages divided among the processes that map them) from /proc/PID/smaps_rollup
(not VmRSS, whose per-thread batched counters can read low), of init (PID 1) and berthd; /proc/meminfo. These are the first boot's values: berthd has
just imported the image."""
    return {
        "name": "memory",
        "title": "Memory: smallest -m, init and berthd RSS, MemAvailable",
        "method": method,
        "figures": figures,
        "tables": [
            {"title": "Resident memory after boot at -m 256 (KiB)",
             "columns": ["process", "with", "Rss", "Pss"],
             "rows": rss_rows,
             "note": "berthd, the monitors and the CLI are one static binary; init is another."},
            {"title": "/proc/meminfo after boot at -m 256 (MiB)",
             "columns": ["field", "no containers", f"{stack.SERVICES}-service stack"],
             "rows": mem_rows,
             "note": "MemTotal is what the kernel leaves of -m after its own image and reservations."},
            {"title": "Bisection probes", "columns": ["-m (MiB)", "result"], "rows": probes,
             "note": "Each probe is a fresh disk and a first boot."},
        ],
    }


if __name__ == "__main__":
    benchvm.standalone(run)
