"""A 20-service stack from the config partition: how long from init's start
until every service runs, what berthd and the containers' monitors cost in
memory and disk, how fast `berth ps` answers with the stack up, and how
long berthd takes to start one more container.

One VM boots twice with the same CONFIG: the first boot creates DATA and
imports the image into the store; the second (a reboot) is the ordinary
power-on of a configured host. The timeline comes from the kernel log's
timestamps (`hostlog`): init's own start, "started berthd", berthd's
"ready", and its "NAME: running" per service."""
import os
import re

import benchvm
from benchvm import fig, med, ms

SERVICES = 20
HEALTH_INTERVAL_MS = 500


def compose():
    """20 services on one network: a database with a healthcheck, three
    services that wait for it to be healthy, two web servers with published
    ports that wait for those, and fourteen others with no dependencies.
    Every container stops on SIGTERM (init: true), so reboots are quick."""
    s = ["services:"]

    def svc(name, command, extra=""):
        s.append(f"  {name}:\n    image: busybox\n    init: true\n    command: {command}\n{extra}")

    svc("db", '["sh", "-c", "touch /tmp/ready; exec sleep 100000"]',
        "    healthcheck:\n      test: [\"CMD\", \"test\", \"-f\", \"/tmp/ready\"]\n"
        f"      interval: {HEALTH_INTERVAL_MS}ms\n      retries: 20\n")
    for i in range(1, 4):
        svc(f"api{i}", '["sleep", "100000"]', "    depends_on:\n      db:\n        condition: service_healthy\n")
    for i in range(1, 3):
        svc(f"web{i}", f'["netserve", "http", "80", "web{i}"]',
            f"    ports: [\"{8079 + i}:80\"]\n    depends_on: [api1, api2, api3]\n")
    for i in range(1, SERVICES - 6 + 1):
        svc(f"worker{i:02d}", '["sleep", "100000"]')
    return "\n".join(s) + "\n"


LINE = re.compile(r"\[\s*(\d+\.\d+)\]\s+\S+\s+(.*)$")


def timeline(log):
    """Seconds (kernel clock) of the boot's milestones, from hostlog."""
    t = {"running": {}}
    for line in log.splitlines():
        m = LINE.search(line)
        if not m:
            continue
        ts, msg = float(m.group(1)), m.group(2)
        if "Run /sbin/init as init process" in msg:
            t.setdefault("kernel_runs_init", ts)
        m2 = re.search(r"init started at (\d+\.\d+) s", msg)
        if m2:
            t["init_start"] = float(m2.group(1))
        if msg.startswith("init: started berthd"):
            t.setdefault("berthd_started", ts)
        if msg == "berthd: ready":
            t.setdefault("berthd_ready", ts)
        m2 = re.match(r"berthd: loaded .* in (\d+) ms", msg)
        if m2:
            t["image_import_ms"] = int(m2.group(1))
        m2 = re.match(r"berthd: (\S+): running \(pid", msg)
        if m2:
            t["running"].setdefault(m2.group(1), ts)
        if msg == "berthd: db: healthy":
            t.setdefault("db_healthy", ts)
    if "init_start" not in t and "kernel_runs_init" in t:
        t["init_start"] = t["kernel_runs_init"]
    return t


def measure_boot(vm, which):
    log = vm.wait_for("hostlog", lambda out: len(timeline(out)["running"]) >= SERVICES, 300,
                      f"all {SERVICES} services to run ({which} boot)")
    t = timeline(log)
    if not all(k in t for k in ("init_start", "berthd_started", "berthd_ready")):
        raise RuntimeError(f"stack: milestones missing from the {which} boot's log: {sorted(t)}")
    times = sorted(t["running"].values())
    t0 = t["init_start"]
    row = {
        "init_start_s": t0,
        "berthd_started_ms": (t["berthd_started"] - t0) * 1000,
        "berthd_ready_ms": (t["berthd_ready"] - t0) * 1000,
        "first_running_ms": (times[0] - t0) * 1000,
        "last_running_ms": (times[-1] - t0) * 1000,
        "db_healthy_ms": (t["db_healthy"] - t0) * 1000 if "db_healthy" in t else None,
        "image_import_ms": t.get("image_import_ms"),
    }
    vm.ctx.log(f"stack: {which} boot: init at {t0:.3f} s, berthd ready +{row['berthd_ready_ms']:.0f} ms, "
               f"services running +{row['first_running_ms']:.0f} .. +{row['last_running_ms']:.0f} ms")
    return row


def proc_kib(vm, pids):
    """Rss and Pss (KiB) of each pid, from smaps_rollup, which walks the
    page tables. /proc/PID/status's VmRSS is not used: the kernel batches
    its counters per thread, so for a small process that has faulted few
    pages it can read near zero (we saw 4 KiB for a monitor whose Pss was
    125 KiB)."""
    out = vm.sh("for p in " + " ".join(str(p) for p in pids) + "; do "
                "r=$(awk '/^Rss:/ {print $2}' /proc/$p/smaps_rollup); "
                "s=$(awk '/^Pss:/ {print $2}' /proc/$p/smaps_rollup); "
                "echo $p ${r:-0} ${s:-0}; done")
    res = {}
    for line in out.splitlines():
        p, r, s = line.split()
        res[int(p)] = (int(r), int(s))
    return res


def run(ctx):
    rounds = 1 if ctx.quick else 2  # reboots after the first boot
    ps_n = 10 if ctx.quick else 30
    run_n = 5 if ctx.quick else 15
    tar = benchvm.busybox_images(ctx, os.path.join(ctx.workdir, "stack-images.tar"))
    files = {"compose.yaml": compose(), "images/busybox.tar": open(tar, "rb").read()}
    boots = []
    with benchvm.BenchVM(ctx, "stack", config_files=files) as vm:
        boots.append(("first", measure_boot(vm, "first")))
        for r in range(rounds):
            ctx.log(f"stack: reboot {r + 1} of {rounds}")
            vm.host.reboot(f"stack-reboot{r + 1}")
            boots.append(("reboot", measure_boot(vm, f"reboot {r + 1}")))
        timeit = vm.put_tool("timeit")
        # Memory with the stack up: berthd, and each container's monitor.
        berthd = int(vm.sh("pidof berthd").split()[0])
        monitors = [int(x) for x in vm.sh("cat /run/berth/c/*/monitor.pid").split()]
        if len(monitors) != SERVICES:
            raise RuntimeError(f"stack: {len(monitors)} monitors, expected {SERVICES}")
        kib = proc_kib(vm, [berthd] + monitors)
        mon_rss = [kib[p][0] for p in monitors]
        mon_pss = [kib[p][1] for p in monitors if kib[p][1] is not None]
        size = int(vm.sh("stat -L -c %s /usr/bin/berth").strip())
        ps_out = vm.sh(f"{timeit} -q -n {ps_n} -- berth ps")
        ps_us = benchvm.ints(ps_out)
        stat0 = vm.sh("head -1 /proc/stat")
        run_out = vm.sh(f"{timeit} -n {run_n} -- berth run --rm busybox true")
        stat1 = vm.sh("head -1 /proc/stat")
        run_us = benchvm.ints(run_out)
        ps_lines = len(vm.sh("berth ps").strip().splitlines()) - 1
    busy, idle = cpu_split(stat0, stat1)

    warm = [b for kind, b in boots if kind == "reboot"]
    first = boots[0][1]

    def wmed(key):
        return med([b[key] for b in warm])

    fmt = lambda v: None if v is None else round(v, 1)  # noqa: E731
    rows = [[("first boot" if kind == "first" else f"reboot {i}"), round(b["init_start_s"], 3),
             fmt(b["berthd_started_ms"]), fmt(b["berthd_ready_ms"]), fmt(b["first_running_ms"]),
             fmt(b["db_healthy_ms"]), fmt(b["last_running_ms"]), b["image_import_ms"]]
            for i, (kind, b) in enumerate(boots)]
    figures = {
        "stack_all_running_ms": fig(round(wmed("last_running_ms")), "ms",
                                    f"init start to all {SERVICES} services running (reboot, median of {len(warm)})"),
        "stack_first_running_ms": fig(round(wmed("first_running_ms")), "ms",
                                      "init start to the first service running (reboot)"),
        "stack_berthd_ready_ms": fig(round(wmed("berthd_ready_ms")), "ms", "init start to berthd ready (reboot)"),
        "stack_first_boot_all_running_ms": fig(round(first["last_running_ms"]), "ms",
                                               "first boot (DATA created, image imported): init start to all running"),
        "berthd_rss_kib": fig(kib[berthd][0], "KiB", f"berthd RSS with {SERVICES} containers"),
        "monitor_rss_kib": fig(round(med(mon_rss)), "KiB", f"monitor RSS, median of {len(mon_rss)}"),
        "berth_binary_bytes": fig(size, "bytes", "/usr/bin/berth (berthd, monitor, CLI and OCI runtime in one "
                                                 "static binary)"),
        "berth_ps_ms": fig(ms(med(ps_us)), "ms", f"`berth ps` with {SERVICES} containers, median of {len(ps_us)}"),
        "berthd_run_rm_ms": fig(ms(med(run_us)), "ms",
                                f"`berth run --rm busybox true` with the stack up, median of {len(run_us)}"),
    }
    if mon_pss:
        figures["monitor_pss_kib"] = fig(round(med(mon_pss)), "KiB", "monitor Pss (shared pages split), median")
        figures["berthd_pss_kib"] = fig(kib[berthd][1], "KiB", "berthd Pss")
    mem_rows = [["berthd", 1, kib[berthd][0], kib[berthd][1]],
                ["monitor (median)", len(mon_rss), round(med(mon_rss)), round(med(mon_pss)) if mon_pss else None],
                ["monitors (sum)", len(mon_rss), sum(mon_rss), sum(mon_pss) if mon_pss else None]]
    method = f"""\
One VM under QEMU TCG with `-icount shift=0,sleep=on`, one vCPU, 512 MiB, the system disk with `cache=unsafe`.
CONFIG holds a {SERVICES}-service compose.yaml (BusyBox image; `db` has a healthcheck every {HEALTH_INTERVAL_MS} ms,
`api1..3` wait for it to be healthy, `web1..2` publish ports and wait for the apis, 14 workers have no
dependencies; all `init: true`). The VM boots once (first boot: DATA is created, the image imported into the
store), then reboots {rounds} time(s); the reboot figures are the medians over the reboots.

Milestones are the kernel log's timestamps (`hostlog`), counted from init's own start ("init started at"):
init's "started berthd", berthd's "ready" and "NAME: running" per service.

**Stability.** While the vCPU runs, the guest clock counts instructions (stable whatever the build machine's
load). While it is idle (waiting for the disk, or sleeping), `sleep=on` advances it by real time; with
`sleep=off` it would jump to the next timer, and every fsync of berthd would cost an arbitrary amount (we saw
24 s for one `berth run`). `cache=unsafe` makes the host complete flushes at once, so a guest fsync costs the
guest's own work plus a short real-time wait; a real disk adds its flush latency to each of berthd's fsyncs.
The boot timeline therefore mixes instruction-counted time with short real-time waits: stable to a few
percent, not exactly. During the `berth run` measurements the vCPU was busy {busy} and idle {idle} ticks
(USER_HZ) of /proc/stat: the idle part is real time (disk and the CLI's attach retry sleep).

Memory is Rss and Pss (shared pages divided among sharers) from /proc/PID/smaps_rollup with the stack up
(not VmRSS of /proc/PID/status, whose per-thread batched counters read near zero for small processes); monitors are found by /run/berth/c/*/monitor.pid. `berth ps` ({ps_n} runs) and `berth run --rm
busybox true` ({run_n} runs) are timed inside the guest by timeit with all {SERVICES} services running.
The stack's `berth ps` lists {ps_lines} containers."""
    return {
        "name": "stack",
        "title": f"A {SERVICES}-service stack: start-up, memory, berth ps",
        "method": method,
        "figures": figures,
        "tables": [
            {"title": "Boot timeline (ms after init's start; kernel clock)",
             "columns": ["boot", "init start (s)", "berthd started", "berthd ready", "first running",
                         "db healthy", "all running", "image import (ms)"],
             "rows": rows,
             "note": f"db's first healthcheck comes {HEALTH_INTERVAL_MS} ms after it starts; api1..3 and web1..2 "
                     "wait for it, so 'all running' includes that interval. The first boot also imports the "
                     "image into the store on DATA."},
            {"title": f"Memory with {SERVICES} containers (KiB)",
             "columns": ["process", "count", "Rss", "Pss"],
             "rows": mem_rows,
             "note": "berthd and the monitors are the same static binary (/usr/bin/berth), so their text pages "
                     "are shared; Pss counts each shared page once in total."},
        ],
    }


def cpu_split(before, after):
    a = [int(x) for x in before.split()[1:]]
    b = [int(x) for x in after.split()[1:]]
    d = [y - x for x, y in zip(a, b)]
    busy = d[0] + d[1] + d[2] + d[5] + d[6]
    idle = d[3] + d[4]
    return busy, idle


if __name__ == "__main__":
    benchvm.standalone(run)
