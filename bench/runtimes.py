"""Container lifecycle latency of berth-oci, crun and runc, measured in one
Berth VM (Berth's kernel, cgroup v2) under QEMU with -icount, so that the
times are guest instruction counts, not the build machine's load.

Each runtime runs `run` of /bin/true from the same BusyBox bundle (create,
start, wait and delete in one command); rounds interleave the runtimes so
that drift affects all alike. crun and runc are Debian's, from the benchmark
disk (bench/mkbenchdisk), run in a chroot on it."""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "qemu-tests"))
from sshhost import SshHost  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("BERTH_OUT", os.path.join(TOP, "out"))

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

RUNTIMES = {
    "berth-oci": ("", "berth-oci run --bundle /run/bench/tmp/bundle b{}"),
    "crun": ("-r /run/bench", "/usr/bin/crun --root /run/crun run --bundle /tmp/bundle c{}"),
    "runc": ("-r /run/bench", "/usr/bin/runc --root /run/runc run --bundle /tmp/bundle r{}"),
}


def measure(host, rounds, per_round, parallel=1, rss=None):
    samples = {name: [] for name in RUNTIMES}
    for r in range(rounds):
        for name, (opts, cmd) in RUNTIMES.items():
            ids = cmd.replace("{}", f"x{r}p{parallel}n{{}}")
            res = host.run(f"/tmp/timeit -n {per_round} -p {parallel} {opts} -- {ids}", timeout=1800)
            if res.returncode != 0:
                raise RuntimeError(f"{name}: {res.stderr}{res.stdout[-500:]}")
            lines = res.stdout.split("\n")
            samples[name] += [int(x) for x in lines if x.strip().isdigit()]
            if rss is not None:
                for line in lines:
                    if line.startswith("maxrss_kib"):
                        rss[name] = max(rss.get(name, 0), int(line.split()[1]))
    return samples


def sizes(host):
    r = host.run("ls -lL /usr/bin/berth /run/bench/usr/bin/crun /run/bench/usr/bin/runc", check=True)
    return {os.path.basename(line.split()[-1]): int(line.split()[4]) for line in r.stdout.splitlines()}


def main():
    rounds = int(os.environ.get("ROUNDS", "5"))
    per_round = int(os.environ.get("PER_ROUND", "10"))
    workdir = os.path.join(OUT, "bench", "runtimes")
    os.makedirs(workdir, exist_ok=True)
    image = os.path.join(OUT, "berth.img")
    host = SshHost(workdir, image, memory=512)
    # icount runs one vCPU: with two, the guest does not come up.
    host.cpus = 1
    host.vm_extra = ["-drive", f"file={os.path.join(OUT, 'bench', 'bench.ext4')},format=raw,if=virtio,readonly=on",
                     "-icount", "shift=0,sleep=off"]
    try:
        host.boot("bench")
        host.put("/tmp/timeit", open(os.path.join(OUT, "target", "tests", "timeit"), "rb").read(), mode="755")
        host.run(SETUP, check=True)
        # Warm-up: first runs page the binaries in.
        measure(host, 1, 2)
        rss = {}
        seq = measure(host, rounds, per_round, rss=rss)
        par = measure(host, 1, 2, parallel=10)
        result = {
            "method": "QEMU TCG with -icount shift=0,sleep=off (guest time); `run` of /bin/true; "
                      f"{rounds} interleaved rounds of {per_round} runs per runtime",
            "median_us": {k: statistics.median(v) for k, v in seq.items()},
            "samples": {k: len(v) for k, v in seq.items()},
            "parallel10_median_us": {k: statistics.median(v) for k, v in par.items()},
            "binary_bytes": sizes(host),
            "peak_rss_kib": rss,
        }
        b = result["median_us"]["berth-oci"]
        result["ratio_vs_berth"] = {k: round(v / b, 2) for k, v in result["median_us"].items()}
        print(json.dumps(result, indent=2))
        with open(os.path.join(workdir, "result.json"), "w") as f:
            json.dump(result, f, indent=2)
    finally:
        host.kill()


if __name__ == "__main__":
    main()
