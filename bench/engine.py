"""Docker's engine on Berth (docs/fleet.md): `docker run --rm busybox true`
under one dockerd with berth-oci, its default runtime, and with Debian's
runc (bench/bench.pins, the reference runtime; copied into the engine for
this measurement only, never part of Berth), in interleaved rounds; and what
the idle engine costs in memory.

The engine image is `make engine`'s; the VM runs the example of
docs/examples/swarm without a swarm (SWARM_ROLE unset)."""
import os
import subprocess

import benchvm
from benchvm import fig, med, ms, ratio

RUNTIMES = ("berth-oci", "runc-debian")
RUNC_DEBS = ("runc_1.1.5+ds1-1+deb12u1_amd64.deb", "libseccomp2_2.5.4-1+deb12u1_amd64.deb")
RUNC_FILES = (("usr/sbin/runc", "/opt/debian/runc"),
              ("usr/lib/x86_64-linux-gnu/libseccomp.so.2", "/usr/lib/x86_64-linux-gnu/libseccomp.so.2"))


def engine_tar(ctx):
    path = os.environ.get("BERTH_ENGINE", os.path.join(ctx.out, "engine", "berth-engine.tar"))
    if not os.path.exists(path):
        raise RuntimeError(f"{path} is missing: run 'make engine' (make bench does)")
    return path


def runc_tree(ctx):
    """Debian's runc and its libseccomp, unpacked from their pinned debs."""
    env = dict(os.environ, BERTH_PINS=os.path.join(benchvm.BENCH, "bench.pins"))
    subprocess.run([os.path.join(benchvm.TOP, "rootfs", "fetch"), "runc", "libseccomp2"], check=True, env=env)
    dl = os.path.join(os.environ.get("BERTH_CACHE", "/var/cache/berth"), "dl")
    tree = os.path.join(ctx.workdir, "runc-tree")
    for deb in RUNC_DEBS:
        subprocess.run(["dpkg-deb", "-x", os.path.join(dl, deb), tree], check=True)
    return tree


def docker(vm, args, timeout=600):
    return vm.sh(f"berth exec engine docker {args}", timeout=timeout)


def into_engine(vm, data, dst):
    vm.host.put("/data/copy", data)
    vm.sh(f"berth exec engine mkdir -p {os.path.dirname(dst)} && berth cp /data/copy engine:{dst} "
          f"&& berth exec engine chmod 755 {dst} && rm /data/copy")


def add_runc(ctx, vm):
    """runc-debian: a second runtime of dockerd, beside berth-oci."""
    tree = runc_tree(ctx)
    for src, dst in RUNC_FILES:
        into_engine(vm, open(os.path.join(tree, src), "rb").read(), dst)
    vm.sh("berth exec engine sed -i 's#\"runtimes\": {#\"runtimes\": { \"runc-debian\": "
          "{ \"path\": \"/opt/debian/runc\" },#' /etc/docker/daemon.json")
    vm.sh("berth exec engine sh -c 'kill -HUP $(pidof dockerd)'")
    vm.wait_for("berth exec engine docker info --format '{{json .Runtimes}}'", lambda out: "runc-debian" in out,
                120, "dockerd to know runc-debian")


def memory(vm):
    """The idle engine container's memory.current and the host's used
    memory (free), KiB."""
    cur = int(vm.sh("cat /sys/fs/cgroup/berth/engine/memory.current").strip())
    used = int(vm.sh("free -k | awk '$1 == \"Mem:\" { print $3 }'").strip())
    return cur // 1024, used


def run(ctx):
    tar = engine_tar(ctx)
    files = {"compose.yaml": open(os.path.join(benchvm.TOP, "docs", "examples", "swarm", "compose.yaml")).read(),
             "swarm.env": "SWARM_ROLE=\n", "images/engine.tar": open(tar, "rb").read()}
    rounds, per_round = (2, 3) if ctx.quick else (4, 5)
    times = {rt: [] for rt in RUNTIMES}
    vm = benchvm.BenchVM(ctx, "engine", config_files=files, memory=1024)
    # DATA grows into the disk at the first boot: room for /var/lib/docker.
    os.truncate(vm.host.disk, 4 << 30)
    with vm:
        vm.wait_for("berth exec engine docker info --format '{{.DefaultRuntime}}'",
                    lambda out: out.strip() == "berth-oci", 600, "dockerd with berth-oci")
        bb = benchvm.busybox_images(ctx, os.path.join(ctx.workdir, "engine-busybox.tar"), extra_tools=())
        vm.host.put("/data/busybox.tar", open(bb, "rb").read())
        vm.sh("berth exec -i engine docker load < /data/busybox.tar && rm /data/busybox.tar")
        vm.sh("sleep 20")
        mem_kib, used_kib = memory(vm)
        add_runc(ctx, vm)
        into_engine(vm, open(benchvm.tool(ctx, "timeit"), "rb").read(), "/usr/local/bin/timeit")
        for r in range(rounds + 1):
            for rt in RUNTIMES:
                n = 1 if r == 0 else per_round
                out = vm.sh(f"berth exec engine timeit -n {n} -q -- docker run --rm --network none "
                            f"--runtime {rt} busybox true", timeout=1200)
                if r > 0:
                    times[rt] += benchvm.ints(out)
    n = len(times["berth-oci"])
    b, c = med(times["berth-oci"]), med(times["runc-debian"])
    figures = {
        "engine_run_berth_oci_ms": fig(ms(b, 0), "ms", "docker run --rm busybox true, berth-oci (median)"),
        "engine_run_runc_ms": fig(ms(c, 0), "ms", "docker run --rm busybox true, Debian's runc (median)"),
        "engine_run_runc_over_berth": fig(ratio(c, b), "x", "runc's time over berth-oci's"),
        "engine_idle_memory_mib": fig(round(mem_kib / 1024, 1), "MiB", "idle engine container (memory.current)"),
        "engine_host_used_mib": fig(round(used_kib / 1024, 1), "MiB", "host memory used with the idle engine"),
    }
    method = f"""\
One Berth VM under QEMU TCG with `-icount shift=0,sleep=on`, one vCPU, 1 GiB, running the example of
docs/examples/swarm (the engine image of `make engine`: Debian 12's docker.io 20.10 and containerd 1.6) with
SWARM_ROLE unset (no swarm). dockerd has two runtimes: berth-oci (the image's default) and runc-debian, Debian's
runc 1.1.5 with its libseccomp (bench/bench.pins), copied into the engine container for this run. `timeit`
(guest clock) runs `docker run --rm --network none --runtime RUNTIME busybox true` inside the engine container:
the whole path (CLI, dockerd, containerd, its runc shim, the runtime, the exit's report and the removal).
After one warm-up run each, {rounds} rounds of {per_round} runs per runtime, interleaved; medians of {n} runs.
Memory: the engine container's memory.current and `free`'s used, 20 s after the image was loaded, before runc
was added. containerd's shim and dockerd wait on each other (idle vCPU time is real time, not counted), so these
figures vary more than the runtimes module's."""
    table = {"title": "docker run --rm busybox true under dockerd (ms)",
             "columns": ["runtime", "median", "runs", "vs berth-oci"],
             "rows": [["berth-oci", ms(b, 0), n, 1.0],
                      ["runc (Debian 12)", ms(c, 0), len(times["runc-debian"]), ratio(c, b)]],
             "note": "Ratio > 1: slower than berth-oci."}
    return {"name": "engine", "title": "Docker's engine: docker run with berth-oci and with runc",
            "method": method, "figures": figures, "tables": [table]}


if __name__ == "__main__":
    benchvm.standalone(run)
