"""OS updates: how big a bundle is, how long `berth os update` takes to
verify and write it, how long from the reboot until the new slot is marked
good, and how long the 20-service stack (stack.py's) is down for an
update.

One VM (the stack's CONFIG, an i6300esb watchdog, reboots kept in QEMU)
boots, stages the build's own bundle a few times (`--no-reboot`: verify,
write slot B, read it back, arm), then installs it for real and follows
the trial boot to its mark-good. Times are the guest's (icount, see
benchvm.py): `timeit` inside the guest for the update, the kernel log's
timestamps (`hostlog`, this boot and the one before) for the rest."""
import os
import re
import subprocess

import benchvm
import stack
from benchvm import fig, med, ms

LINE = re.compile(r"\[\s*(\d+\.\d+)\]\s+\S+\s+(.*)$")


def stamps(log, patterns):
    """The first kernel timestamp (s) of a line matching each pattern."""
    out = {}
    for line in log.splitlines():
        m = LINE.search(line)
        if not m:
            continue
        for key, rx in patterns.items():
            if key not in out and re.search(rx, m.group(2)):
                out[key] = float(m.group(1))
    return out


def last_running(log):
    times = {}
    for line in log.splitlines():
        m = LINE.search(line)
        m2 = m and re.match(r"berthd: (\S+): running \(pid", m.group(2))
        if m2:
            times.setdefault(m2.group(1), float(m.group(1)))
    return times


def run(ctx):
    rounds = 1 if ctx.quick else 3
    bundle = os.path.join(ctx.out, "berth.bundle")
    size = os.path.getsize(bundle)
    tar = benchvm.busybox_images(ctx, os.path.join(ctx.workdir, "updates-images.tar"))
    files = {"compose.yaml": stack.compose(), "images/busybox.tar": open(tar, "rb").read()}
    with benchvm.BenchVM(ctx, "updates", config_files=files, extra=("-device", "i6300esb"), reboot=True) as vm:
        vm.wait_for("berth ps", lambda out: out.count(" Up ") >= stack.SERVICES, 600, "the stack to run")
        timeit = vm.put_tool("timeit")
        vm.host.put("/tmp/berth.bundle", open(bundle, "rb").read())
        apply_us = []
        for r in range(rounds):
            out = vm.sh(f"{timeit} -n 1 -- berth os update --no-reboot /tmp/berth.bundle")
            apply_us += benchvm.ints(out)
        ctx.log(f"updates: staged {rounds} time(s), median {ms(med(apply_us))} ms")
        vm.sh("rm /tmp/berth.bundle")
        # The real one: reboot into B, its trial boot, mark-good.
        h = vm.host
        start = len(h.vm.text())
        with open(bundle, "rb") as f:
            subprocess.run(h._args() + ["berth os update -"], stdin=f, capture_output=True, timeout=600)
        h.vm.wait_for(r"slot B \(.*\) is healthy: marked good", 900, start=start)
        h.vm.wait_for(r"Berth \S+ on \S+ - up in", 60, start=start)
        new = vm.wait_for("hostlog -n 100000", lambda out: len(last_running(out)) >= stack.SERVICES, 600,
                          "the stack to run on slot B")
        old = vm.sh("hostlog -b -1 -n 100000")
        status = vm.sh("berth os status")
    t_new = stamps(new, {"init": r"init started at|Run /sbin/init", "gate": r"passed its health gate",
                         "trial": r"trial boot of slot B"})
    t_old = stamps(old, {"request": r"reboot requested by signal", "stopping": r"berthd: stopping all containers",
                         "stopped": r"berthd: all containers stopped"})
    running = last_running(new)
    if "gate" not in t_new or "stopped" not in t_old or len(running) < stack.SERVICES:
        raise RuntimeError(f"updates: milestones missing: new {sorted(t_new)}, old {sorted(t_old)}, "
                           f"{len(running)} running\n{status}")
    all_running = max(running.values())
    stop_ms = (t_old["stopped"] - t_old.get("stopping", t_old["stopped"])) * 1000
    figures = {
        "update_bundle_bytes": fig(size, "bytes", "update bundle (kernel, root image, hash tree, signed manifest)"),
        "update_apply_ms": fig(ms(med(apply_us)), "ms", "`berth os update --no-reboot`: verify, write slot B, read "
                                                        f"it back, arm (median of {len(apply_us)})"),
        "update_kernel_to_good_ms": fig(round(t_new["gate"] * 1000), "ms",
                                        "trial boot: kernel start to the slot marked good"),
        "update_kernel_to_all_running_ms": fig(round(all_running * 1000), "ms",
                                               f"trial boot: kernel start to all {stack.SERVICES} services running"),
        "update_stop_ms": fig(round(stop_ms), "ms", f"old slot: stopping all {stack.SERVICES} containers"),
        "update_downtime_ms": fig(round(stop_ms + all_running * 1000), "ms",
                                  "container downtime of an update: old slot's stop + new slot's kernel start to "
                                  "all running (firmware and GRUB not included)"),
    }
    method = f"""\
One VM as in the stack module (QEMU TCG, `-icount shift=0,sleep=on`, one vCPU, 512 MiB, `cache=unsafe`), with
the same {stack.SERVICES}-service compose.yaml, an i6300esb watchdog and guest reboots kept in QEMU. The bundle
is this build's `out/berth.bundle`.

**Apply**: the bundle is copied to /tmp in the guest and `berth os update --no-reboot` runs {rounds} time(s)
under `timeit` (guest clock): read into memory, signature and every hash checked, slot B's partition written
and read back from the disk, its kernel and slot.env written to the ESP and read back, the trial armed.

**Reboot to mark-good**: then `berth os update -` (the bundle over ssh, as an operator sends it) reboots into
slot B; its kernel log gives the time from the kernel's start to init's "passed its health gate" (CONFIG and
DATA mounted, berthd up, every system container with a healthcheck healthy).

**Downtime**: the old slot's log (`hostlog -b -1`) gives berthd's "stopping all containers" to "all
containers stopped"; the new slot's, kernel start to the last "NAME: running". Their sum is the time the
stack is down, except what no guest clock sees: the old kernel's unmount and reboot, the firmware and GRUB
(on this VM about a second of wall time under TCG; on hardware, the board's POST)."""
    return {
        "name": "updates",
        "title": "OS updates: bundle size, apply time, reboot to mark-good, stack downtime",
        "method": method,
        "figures": figures,
        "tables": [{
            "title": "The update's timeline (guest clock)",
            "columns": ["phase", "ms"],
            "rows": [["apply (--no-reboot), median", ms(med(apply_us))],
                     ["old slot: containers stopping", round(stop_ms)],
                     ["new slot: kernel start to init", round(t_new.get("init", 0) * 1000)],
                     ["new slot: kernel start to all services running", round(all_running * 1000)],
                     ["new slot: kernel start to marked good", round(t_new["gate"] * 1000)]],
            "note": "The health gate checks once a second, so mark-good comes up to a second after the stack is "
                    "healthy.",
        }],
    }


if __name__ == "__main__":
    benchvm.standalone(run)
