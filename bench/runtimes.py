"""Container lifecycle of Berth's OCI runtime (berth-oci) against crun and
runc, in one Berth VM (Berth's kernel, cgroup v2) under QEMU with -icount,
so that the times are guest instruction counts, not the build machine's load;
and `berth run --rm` (the whole path through berthd) against `crun run`.

crun and runc are Debian's, from the benchmark disk (bench/mkbenchdisk,
versions pinned in bench/bench.pins), attached read-only as a second drive
and run in a chroot on it (glibc). All three runtimes run the same
BusyBox bundle's /bin/true. Each measurement is repeated in rounds that
interleave the runtimes, so that any drift affects all alike."""
import os
import subprocess

import benchvm
from benchvm import fig, med, ms, ratio

SETUP = """
set -e
# crun and runc pivot_root from a chroot: the mounts above it must not be
# shared (Berth makes / rshared for its own containers).
mount --make-rprivate /
mkdir -p /run/bench && mount -o ro /dev/vdb /run/bench
mount -t tmpfs tmpfs /run/bench/run; mount -t tmpfs tmpfs /run/bench/tmp
mount --rbind /proc /run/bench/proc; mount --rbind /sys /run/bench/sys; mount --rbind /dev /run/bench/dev
B=/run/bench/tmp/bundle
mkdir -p $B/rootfs/bin $B/rootfs/proc $B/rootfs/dev $B/rootfs/sys $B/rootfs/tmp
cp /bin/busybox $B/rootfs/bin/ && ln -s busybox $B/rootfs/bin/true && ln -s busybox $B/rootfs/bin/sh
cd $B && berth-oci spec
sed -i 's/"terminal": true/"terminal": false/; s/"args": \\["sh"\\]/"args": ["\\/bin\\/true"]/' config.json
# crun 1.8 knows spec versions up to 1.1.
sed -i 's/"ociVersion": "1.2.0"/"ociVersion": "1.0.2"/' config.json
"""

BUNDLE = "/run/bench/tmp/bundle"

# name: (timeit/ocilife chroot option, bundle as the runtime sees it, runtime and global options)
RUNTIMES = {
    "berth-oci": ("", BUNDLE, "berth-oci"),
    "crun": ("-r /run/bench", "/tmp/bundle", "/usr/bin/crun --root /run/crun"),
    "runc": ("-r /run/bench", "/tmp/bundle", "/usr/bin/runc --root /run/runc"),
}

# `berth run --rm` variants (through berthd) compared with `crun run`.
BERTH_RUN = {
    "berth run --rm --network none": "berth run --rm --network none busybox true",
    "berth run --rm (bridge network)": "berth run --rm busybox true",
}


def bench_disk(ctx):
    path = os.path.join(ctx.out, "bench", "bench.ext4")
    if not os.path.exists(path):
        ctx.log("runtimes: building the benchmark disk (bench/mkbenchdisk)")
        subprocess.run([os.path.join(benchvm.BENCH, "mkbenchdisk"), path], cwd=benchvm.TOP, check=True)
    return path


def pct(st):
    total = st.busy + st.idle
    return f"{100.0 * st.idle / total:.0f}%" if total else "n/a"


class Stat:
    """Busy and idle ticks (USER_HZ) of /proc/stat over the measurements."""

    def __init__(self):
        self.busy = 0
        self.idle = 0

    def around(self, vm, command, timeout=1800):
        out = vm.sh(f"head -1 /proc/stat; {command}; head -1 /proc/stat", timeout=timeout)
        lines = out.splitlines()
        a = [int(x) for x in lines[0].split()[1:]]
        b = [int(x) for x in lines[-1].split()[1:]]
        d = [y - x for x, y in zip(a, b)]
        self.busy += d[0] + d[1] + d[2] + d[5] + d[6]
        self.idle += d[3] + d[4]
        return "\n".join(lines[1:-1])


def run(ctx):
    quick = ctx.quick
    rounds = 2 if quick else 6
    per_round = 5 if quick else 10          # runs of each runtime per round
    seq_n = 20 if quick else 100            # containers in sequence (throughput)
    par_p = 10                              # containers at once
    par_rounds = 1 if quick else 3
    disk = bench_disk(ctx)
    tar = benchvm.busybox_images(ctx, os.path.join(ctx.workdir, "runtimes-images.tar"), extra_tools=())
    files = {"images/busybox.tar": open(tar, "rb").read()}
    st_rt = {name: Stat() for name in RUNTIMES}  # the OCI runtimes' commands, per runtime
    st_run = {label: Stat() for label in BERTH_RUN}  # berth run
    run_us = {k: [] for k in list(RUNTIMES) + list(BERTH_RUN)}
    life = {k: [] for k in RUNTIMES}        # rows: total create start wait delete
    rss = {k: 0 for k in RUNTIMES}          # peak RSS of a runtime command (run)
    life_rss = {k: 0 for k in RUNTIMES}     # ... of create/start/delete
    ctr_rss = {k: 0 for k in RUNTIMES}      # the container's process before its exec
    seq_all = {}
    par_us = {k: [] for k in RUNTIMES}
    with benchvm.BenchVM(ctx, "runtimes", config_files=files,
                         extra=["-drive", f"file={disk},format=raw,if=virtio,readonly=on"]) as vm:
        vm.sh(SETUP)
        timeit = vm.put_tool("timeit")
        ocilife = vm.put_tool("ocilife")
        vm.wait_for("berth images", lambda out: "busybox" in out, 120, "berthd to import busybox")
        versions = vm.sh("chroot /run/bench /usr/bin/crun --version | head -1; "
                         "chroot /run/bench /usr/bin/runc --version | head -1").strip().splitlines()
        sizes = {}
        for name, path in (("berth-oci", "/usr/bin/berth-oci"), ("crun", "/run/bench/usr/bin/crun"),
                           ("runc", "/run/bench/usr/bin/runc")):
            sizes[name] = int(vm.sh(f"stat -L -c %s {path}").strip())
        libs = vm.sh("chroot /run/bench /lib64/ld-linux-x86-64.so.2 --list /usr/bin/crun 2>/dev/null | awk '{print $1}' | "
                     "sed 's,.*/,,' | tr '\\n' ' ' || true").strip()

        def one_run(name, n, tag):
            opt, bundle, rt = RUNTIMES[name]
            out = vm.sh(f"{timeit} -q -n {n} {opt} -- {rt} run --bundle {bundle} {tag}{{}}")
            rss[name] = max(rss[name], benchvm.keyed(out, "maxrss_kib")[0])
            return benchvm.ints(out)

        def one_life(name, n, tag, parallel=0):
            opt, bundle, rt = RUNTIMES[name]
            p = f"-p {parallel}" if parallel else ""
            out = st_rt[name].around(vm, f"{ocilife} -n {n} {p} {opt} -b {bundle} -i {tag}{{}} -- {rt}")
            return out

        # Warm-up: the first runs page the binaries in.
        ctx.log("runtimes: warm-up")
        for name in RUNTIMES:
            one_run(name, 2, f"w{name[0]}")
            one_life(name, 2, f"wl{name[0]}")
        for cmd in BERTH_RUN.values():
            vm.sh(f"{timeit} -q -n 2 -- {cmd}")
        for x in st_rt.values():  # count the measured commands only
            x.busy = x.idle = 0
        for r in range(rounds):
            ctx.log(f"runtimes: round {r + 1} of {rounds}")
            for name in RUNTIMES:
                opt, bundle, rt = RUNTIMES[name]
                out = st_rt[name].around(vm, f"{timeit} -q -n {per_round} {opt} -- {rt} run --bundle {bundle} "
                                    f"r{r}{name[0]}{{}}")
                rss[name] = max(rss[name], benchvm.keyed(out, "maxrss_kib")[0])
                run_us[name] += benchvm.ints(out)
                out = one_life(name, per_round, f"l{r}{name[0]}")
                life[name] += [row for row in benchvm.ints(out) if isinstance(row, list)]
                life_rss[name] = max(life_rss[name], benchvm.keyed(out, "maxrss_kib")[0])
                ctr_rss[name] = max(ctr_rss[name], benchvm.keyed(out, "ctr_maxrss_kib")[0])
            for label, cmd in BERTH_RUN.items():
                out = st_run[label].around(vm, f"{timeit} -q -n {per_round} -- {cmd}")
                run_us[label] += benchvm.ints(out)
        ctx.log(f"runtimes: throughput, {seq_n} in sequence and {par_p} at once")
        for name in RUNTIMES:
            out = one_life(name, seq_n, f"s{name[0]}")
            seq_all[name] = benchvm.keyed(out, "all_us")[0]
        for r in range(par_rounds):
            for name in RUNTIMES:
                out = one_life(name, 1, f"p{r}{name[0]}", parallel=par_p)
                par_us[name] += benchvm.ints(out)
        removed = vm.sh("hostlog | grep -c 'berthd: network default: removed' || true").strip()
        left = vm.sh("berth ps -a -q | wc -l; ls /run/berth-oci 2>/dev/null | wc -l").split()

    # ---- figures and tables ----
    def m(name):
        return med(run_us[name])

    def lm(name, k=0):
        return med([row[k] for row in life[name]])

    nrun = len(run_us["berth-oci"])
    nlife = len(life["berth-oci"])
    figures = {
        "oci_run_berth_ms": fig(ms(m("berth-oci")), "ms", f"berth-oci run of /bin/true, median of {nrun}"),
        "oci_run_crun_ms": fig(ms(m("crun")), "ms", f"crun run of /bin/true, median of {nrun}"),
        "oci_run_runc_ms": fig(ms(m("runc")), "ms", f"runc run of /bin/true, median of {nrun}"),
        "oci_run_crun_over_berth": fig(ratio(m("crun"), m("berth-oci")), "x", "crun run / berth-oci run (>1: berth-oci faster)"),
        "oci_run_runc_over_berth": fig(ratio(m("runc"), m("berth-oci")), "x", "runc run / berth-oci run"),
        "oci_life_berth_ms": fig(ms(lm("berth-oci")), "ms",
                                 f"berth-oci create+start+wait+delete, median of {nlife}"),
        "oci_life_crun_ms": fig(ms(lm("crun")), "ms", f"crun create+start+wait+delete, median of {nlife}"),
        "oci_life_runc_ms": fig(ms(lm("runc")), "ms", f"runc create+start+wait+delete, median of {nlife}"),
        "oci_life_crun_over_berth": fig(ratio(lm("crun"), lm("berth-oci")), "x",
                                        "crun lifecycle / berth-oci lifecycle (>1: berth-oci faster)"),
        "oci_seq_berth_per_s": fig(round(seq_n / (seq_all["berth-oci"] / 1e6), 1), "containers/s",
                                   f"berth-oci: {seq_n} lifecycles in sequence"),
        "oci_seq_crun_per_s": fig(round(seq_n / (seq_all["crun"] / 1e6), 1), "containers/s",
                                  f"crun: {seq_n} lifecycles in sequence"),
        "oci_seq_runc_per_s": fig(round(seq_n / (seq_all["runc"] / 1e6), 1), "containers/s",
                                  f"runc: {seq_n} lifecycles in sequence"),
        "oci_par10_berth_ms": fig(ms(med(par_us["berth-oci"])), "ms",
                                  f"berth-oci: {par_p} lifecycles at once, median of {par_rounds}"),
        "oci_par10_crun_ms": fig(ms(med(par_us["crun"])), "ms", f"crun: {par_p} lifecycles at once"),
        "oci_par10_runc_ms": fig(ms(med(par_us["runc"])), "ms", f"runc: {par_p} lifecycles at once"),
        "berth_oci_binary_bytes": fig(sizes["berth-oci"], "bytes",
                                      "/usr/bin/berth-oci (-> berth: static, also berthd and the CLI)"),
        "crun_binary_bytes": fig(sizes["crun"], "bytes", "Debian's /usr/bin/crun (dynamic, glibc)"),
        "runc_binary_bytes": fig(sizes["runc"], "bytes", "Debian's /usr/bin/runc (Go)"),
        "berth_oci_peak_rss_kib": fig(max(rss["berth-oci"], life_rss["berth-oci"]), "KiB",
                                      "berth-oci: largest ru_maxrss of a runtime command"),
        "crun_peak_rss_kib": fig(max(rss["crun"], life_rss["crun"]), "KiB", "crun: largest ru_maxrss"),
        "runc_peak_rss_kib": fig(max(rss["runc"], life_rss["runc"]), "KiB", "runc: largest ru_maxrss"),
        "berth_run_rm_none_ms": fig(ms(m("berth run --rm --network none")), "ms",
                                    f"`berth run --rm --network none busybox true` (berthd), median of "
                                    f"{len(run_us['berth run --rm --network none'])}"),
        "berth_run_rm_ms": fig(ms(m("berth run --rm (bridge network)")), "ms",
                               "`berth run --rm busybox true` on the default bridge network, median"),
        "berth_run_none_over_crun_run": fig(ratio(m("berth run --rm --network none"), m("crun")), "x",
                                            "berth run --rm --network none / crun run (<1: berth faster)"),
    }
    rt_rows = []
    for name in RUNTIMES:
        rt_rows.append([name, ms(m(name)), ratio(m(name), m("berth-oci")), ms(lm(name, 0)), ms(lm(name, 1)),
                        ms(lm(name, 2)), ms(lm(name, 3)), ms(lm(name, 4)), ratio(lm(name), lm("berth-oci")),
                        pct(st_rt[name])])
    thr_rows = [[name, round(seq_all[name] / 1000.0, 1), round(seq_n / (seq_all[name] / 1e6), 1),
                 ms(med(par_us[name])), round(par_p / (med(par_us[name]) / 1e6), 1)] for name in RUNTIMES]
    mem_rows = [[name, sizes[name], rss[name], life_rss[name], ctr_rss[name]] for name in RUNTIMES]
    br_rows = [[label, ms(m(label)), len(run_us[label]), ratio(m(label), m("crun")),
                round(st_run[label].busy * 10.0 / len(run_us[label]), 1),
                round(st_run[label].idle * 10.0 / len(run_us[label]), 1)] for label in BERTH_RUN]
    br_rows.append(["crun run", ms(m("crun")), len(run_us["crun"]), 1.0, None, None])
    nremoved = int(removed) if removed.isdigit() else 0
    bridge_note = (f"No other container uses the default bridge network here, so bridged runs also create and "
                   f"remove its bridge (berthd logged 'network default: removed' {nremoved} times)."
                   if nremoved else "berthd did not log the default network's removal during the runs.")
    st = Stat()
    st.busy = sum(x.busy for x in st_rt.values())
    st.idle = sum(x.idle for x in st_rt.values())
    st_berth = Stat()
    st_berth.busy = sum(x.busy for x in st_run.values())
    st_berth.idle = sum(x.idle for x in st_run.values())
    method = f"""\
One Berth VM under QEMU TCG with `-icount shift=0,sleep=on`, one vCPU, 512 MiB; Berth's kernel (cgroup v2).
The benchmark disk (bench/mkbenchdisk: Debian 12's {'; '.join(versions)}) is a second, read-only drive
mounted at /run/bench; crun and runc run chrooted into it (glibc, their Debian build), berth-oci from the
system image. All three run the same bundle (BusyBox rootfs, `berth-oci spec` with args `/bin/true`, no
terminal, ociVersion 1.0.2 for crun), state under tmpfs.

* **run**: `RUNTIME run --bundle B ID` (create, start, wait, delete in one command), timed by `timeit` (fork
  to exit, CLOCK_MONOTONIC in the guest).
* **lifecycle**: `ocilife` drives `create --pid-file`, `start`, waits for the container's process (it is a
  child subreaper, as a shim is), then `delete`, one command per step, as a container manager does.
* Both are done in {rounds} rounds of {per_round} runs per runtime, the runtimes interleaved within each round
  (after a warm-up of 2 runs each); the medians are over {nrun} runs per runtime.
* **Throughput**: {seq_n} lifecycles one after the other (the whole batch's time), and {par_p} lifecycles at
  once (each in its own process), {par_rounds} round(s).
* **berth run**: `berth run --rm busybox true` goes through berthd (image store, compose translation, bundle,
  monitor, attach, removal), with `--network none` and on the default bridge network (network namespace,
  veth, bridge, IPAM, nf_tables); interleaved in the same rounds and compared with `crun run` of the bundle
  (which does much less: no image, no daemon).
* Peak RSS is the largest `ru_maxrss` (wait4) of any runtime command; the container's process row is the
  runtime's code in the container before it execs /bin/true. Binary sizes are `stat -L`; berth-oci is a
  link to /usr/bin/berth, one static binary that is also berthd, the monitor and the CLI.

**Stability.** While the vCPU runs, guest time counts instructions, whatever the build machine's load. Idle
time (waiting on the disk or on sleeps) advances by real time with `sleep=on`. Over the OCI runtimes' commands
(run, lifecycles, throughput) the vCPU was busy {st.busy} and idle {st.idle} ticks (USER_HZ) of /proc/stat
({pct(st)} idle); over the `berth run` commands busy {st_berth.busy} and idle {st_berth.idle} ({pct(st_berth)} idle;
not broken down here, its likely sources are berthd's fsyncs on DATA, which `cache=unsafe` completes at once,
and the CLI's attach retry sleeps, from 1 ms doubling). The idle
part is real time, not instruction-counted, and varies a little from run to run.
After the run, `berth ps -a -q` listed {left[0]} containers and berth-oci's state dir held {left[1]} entries."""
    tables = [
        {"title": "OCI runtimes: /bin/true (ms, medians)",
         "columns": ["runtime", "run", "run vs berth-oci", "lifecycle", "create", "start", "wait", "delete",
                     "lifecycle vs berth-oci", "vCPU idle"],
         "rows": rt_rows,
         "note": f"Medians of {nrun} runs each (the lifecycle's steps are medians of their own, so they need not "
                 "add up to its total). Ratios > 1: slower than berth-oci. vCPU idle: share of /proc/stat "
                 "idle+iowait ticks over all of that runtime's measured commands (real time, not counted)."},
        {"title": "Throughput (lifecycles)",
         "columns": ["runtime", f"{seq_n} in sequence (ms)", "per second", f"{par_p} at once (ms)",
                     "per second at once"],
         "rows": thr_rows,
         "note": "One vCPU: containers at once share it, so this measures per-container overhead and lock "
                 "contention, not parallel speedup."},
        {"title": "Size and memory",
         "columns": ["runtime", "binary (bytes)", "peak RSS, run (KiB)", "peak RSS, create/start/delete (KiB)",
                     "container process before exec (KiB)"],
         "rows": mem_rows,
         "note": "crun is dynamically linked; its size excludes the libraries it loads"
                 + (f" (ldd: {libs})." if libs else ".")},
        {"title": "berth run --rm against crun run (ms)",
         "columns": ["command", "median", "runs", "vs crun run", "vCPU busy per run (ms, mean)",
                     "vCPU idle per run (ms, mean)"],
         "rows": br_rows,
         "note": "berth run includes the daemon's work (and the CLI's attach); crun run only the runtime's. "
                 "Busy and idle: /proc/stat ticks (10 ms each) over the runs, divided by their number; "
                 "idle is real time, not instructions (likely: the CLI retries connecting to the monitor's "
                 "attach socket from 1 ms doubling, runtime/cli/attach.c, and berthd waits for its fsyncs). " + bridge_note},
    ]
    return {
        "name": "runtimes",
        "title": "Container runtimes: berth-oci, crun and runc",
        "method": method,
        "figures": figures,
        "tables": tables,
    }


if __name__ == "__main__":
    benchvm.standalone(run)
