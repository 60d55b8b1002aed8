"""The remote CLI: what a command costs from the desk (out/host/berth
-H ssh://...) against the same command typed on the host. `berth ps` and
`berth exec NAME true` on the host under `timeit` (guest clock, icount);
from the build machine, the same commands through ssh (wall clock: ssh's
key exchange and QEMU's user network included), beside a bare
`ssh HOST true`, the floor any ssh transport pays."""
import os
import subprocess
import time

import benchvm
from benchvm import fig, med, ms

COMPOSE = """
name: remote
services:
  idle:
    image: busybox
    command: ["sleep", "1000000"]
"""


def wall(argv, env, n):
    """Median wall time (ms) of n runs of argv, each checked."""
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        r = subprocess.run(argv, env=env, capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
        times.append((time.monotonic() - t0) * 1000)
        if r.returncode != 0:
            raise RuntimeError(f"remote: {' '.join(argv)} exited {r.returncode}: {r.stderr[-1000:]!r}")
    return round(med(times), 1)


def run(ctx):
    n = 3 if ctx.quick else 10
    berth = os.path.join(ctx.out, "host", "berth")
    tar = benchvm.busybox_images(ctx, os.path.join(ctx.workdir, "remote-images.tar"), extra_tools=())
    files = {"compose.yaml": COMPOSE, "images/busybox.tar": open(tar, "rb").read()}
    with benchvm.BenchVM(ctx, "remote", config_files=files) as vm:
        vm.wait_for("berth ps", lambda out: " Up " in out, 600, "the container to run")
        timeit = vm.put_tool("timeit")
        local_ps = med(benchvm.ints(vm.sh(f"{timeit} -n {n} -- berth ps")))
        local_exec = med(benchvm.ints(vm.sh(f"{timeit} -n {n} -- berth exec idle true")))
        h = vm.host
        ssh = h._args()[:-1]
        env = dict(os.environ, BERTH_SSH_COMMAND=" ".join(ssh))
        url = f"ssh://root@127.0.0.1:{h.port}"
        floor = wall([*ssh, "root@127.0.0.1", "true"], env, n)
        remote_ps = wall([berth, "-H", url, "ps"], env, n)
        remote_exec = wall([berth, "-H", url, "exec", "idle", "true"], env, n)
        ssh_ps = wall([*ssh, "root@127.0.0.1", "berth ps"], env, n)
    figures = {
        "remote_ps_local_ms": fig(ms(local_ps), "ms", "`berth ps` on the host (guest clock)"),
        "remote_exec_local_ms": fig(ms(local_exec), "ms", "`berth exec idle true` on the host (guest clock)"),
        "remote_ssh_true_ms": fig(floor, "ms", "`ssh HOST true` from the desk (wall): the transport's floor"),
        "remote_ps_ms": fig(remote_ps, "ms", "`berth -H ssh://HOST ps` from the desk (wall): ssh + dial-stdio"),
        "remote_ssh_berth_ps_ms": fig(ssh_ps, "ms", "`ssh HOST berth ps` from the desk (wall), for comparison"),
        "remote_exec_ms": fig(remote_exec, "ms", "`berth -H ssh://HOST exec idle true` from the desk (wall)"),
    }
    method = f"""\
One VM (QEMU TCG, `-icount shift=0,sleep=on`, one vCPU, 512 MiB) runs one BusyBox container. On the host,
`timeit -n {n}` runs `berth ps` and `berth exec idle true` (guest clock: instructions, load-independent). From
the build machine, out/host/berth runs the same commands {n} times each against the VM through OpenSSH
(`-H ssh://root@127.0.0.1:PORT`, QEMU's user-network port forward), timed on the wall clock, beside
`ssh HOST true` (a connection, key exchange and a command: the floor of any ssh transport) and
`ssh HOST berth ps`. Medians. The wall-clock figures include TCG's slowness on the guest side of ssh
(Dropbear's key exchange runs emulated), so they overstate what a real host costs; their differences are
what the remote CLI adds."""
    return {
        "name": "remote",
        "title": "The remote CLI: a command from the desk against the same command on the host",
        "method": method,
        "figures": figures,
        "tables": [{
            "title": "Latency (median)",
            "columns": ["command", "on the host (guest clock)", "from the desk over ssh (wall)"],
            "rows": [
                ["berth ps", f"{ms(local_ps)} ms", f"{remote_ps} ms"],
                ["berth exec idle true", f"{ms(local_exec)} ms", f"{remote_exec} ms"],
                ["ssh HOST true (floor)", "", f"{floor} ms"],
                ["ssh HOST berth ps", "", f"{ssh_ps} ms"],
            ],
            "note": "",
        }],
    }


if __name__ == "__main__":
    benchvm.standalone(run)
