"""The remote CLI: what a command costs from the desk (out/host/berth
-H ssh://...) against the same command typed on the host. `berth ps` and
`berth exec NAME true` on the host under `timeit` (guest clock, icount);
from the build machine, the same commands through ssh (wall clock: ssh's
key exchange and QEMU's user network included), beside a bare
`ssh HOST true`, the floor any ssh transport pays. And `berth config apply`
of a change to one service of the 20-service stack (bench/stack.py), on the
host and from the desk."""
import os
import subprocess
import time

import benchvm
import stack
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


def changed_compose(i):
    """The stack with worker01's command changed (the i-th change)."""
    text = stack.compose()
    head, rest = text.split("  worker01:\n", 1)
    block, tail = rest.split("\n  worker02:", 1)
    return head + "  worker01:\n" + block.replace('"100000"', f'"{100001 + i}"') + "\n  worker02:" + tail


def measure_apply(ctx, berth, n):
    """Applies that recreate one service of 20: on the host (guest clock)
    and from the desk (wall). Medians, ms."""
    tar = benchvm.busybox_images(ctx, os.path.join(ctx.workdir, "apply-images.tar"))
    files = {"compose.yaml": stack.compose(), "images/busybox.tar": open(tar, "rb").read()}
    with benchvm.BenchVM(ctx, "apply", config_files=files) as vm:
        vm.wait_for("berth ps", lambda out: out.count(" Up ") >= stack.SERVICES, 900, "the stack to run")
        timeit = vm.put_tool("timeit")
        host_ms = []
        for i in range(n):
            vm.sh("rm -rf /data/next && mkdir /data/next && cp -a /config/. /data/next/")
            vm.host.put("/data/next/compose.yaml", changed_compose(i))
            r = vm.host.run(f"{timeit} -n 1 -- sh -c 'berth config apply /data/next >/tmp/apply.log 2>&1'",
                            timeout=600)
            log = vm.host.run("cat /tmp/apply.log").stdout
            recreated = [line for line in log.splitlines() if line.startswith("recreated:")]
            if r.returncode != 0 or recreated != ["recreated: worker01"]:
                raise RuntimeError(f"remote: the apply on the host failed or recreated more:\n{log[-3000:]}")
            host_ms.append(benchvm.ints(r.stdout)[0] / 1000)
        h = vm.host
        env = dict(os.environ, BERTH_SSH_COMMAND=" ".join(h._args()[:-1]))
        url = f"ssh://root@127.0.0.1:{h.port}"
        desk_ms = []
        for i in range(n):
            d = os.path.join(ctx.workdir, "apply-desk")
            os.makedirs(os.path.join(d, "images"), exist_ok=True)
            with open(os.path.join(d, "compose.yaml"), "w") as f:
                f.write(changed_compose(n + i))
            with open(os.path.join(d, "images", "busybox.tar"), "wb") as f:
                f.write(files["images/busybox.tar"])
            with open(os.path.join(h.workdir, "config", "host.yaml")) as src, \
                    open(os.path.join(d, "host.yaml"), "w") as dst:
                dst.write(src.read())
            t0 = time.monotonic()
            r = subprocess.run([berth, "-H", url, "config", "apply", d], env=env, capture_output=True, text=True,
                               stdin=subprocess.DEVNULL, timeout=600)
            desk_ms.append((time.monotonic() - t0) * 1000)
            if r.returncode != 0:
                raise RuntimeError(f"remote: config apply from the desk exited {r.returncode}: {r.stderr[-2000:]}")
    return round(med(host_ms), 1), round(med(desk_ms), 1)


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
    apply_host, apply_desk = measure_apply(ctx, berth, 2 if ctx.quick else 5)
    figures = {
        "remote_ps_local_ms": fig(ms(local_ps), "ms", "`berth ps` on the host (guest clock)"),
        "remote_exec_local_ms": fig(ms(local_exec), "ms", "`berth exec idle true` on the host (guest clock)"),
        "remote_ssh_true_ms": fig(floor, "ms", "`ssh HOST true` from the desk (wall): the transport's floor"),
        "remote_ps_ms": fig(remote_ps, "ms", "`berth -H ssh://HOST ps` from the desk (wall): ssh + dial-stdio"),
        "remote_ssh_berth_ps_ms": fig(ssh_ps, "ms", "`ssh HOST berth ps` from the desk (wall), for comparison"),
        "remote_exec_ms": fig(remote_exec, "ms", "`berth -H ssh://HOST exec idle true` from the desk (wall)"),
        "config_apply_host_ms": fig(apply_host, "ms",
                                    "`berth config apply` recreating 1 service of 20, on the host (guest clock)"),
        "config_apply_desk_ms": fig(apply_desk, "ms",
                                    "`berth -H ssh://HOST config apply` of the same, from the desk (wall)"),
    }
    method = f"""\
One VM (QEMU TCG, `-icount shift=0,sleep=on`, one vCPU, 512 MiB) runs one BusyBox container. On the host,
`timeit -n {n}` runs `berth ps` and `berth exec idle true` (guest clock: instructions, load-independent). From
the build machine, out/host/berth runs the same commands {n} times each against the VM through OpenSSH
(`-H ssh://root@127.0.0.1:PORT`, QEMU's user-network port forward), timed on the wall clock, beside
`ssh HOST true` (a connection, key exchange and a command: the floor of any ssh transport) and
`ssh HOST berth ps`. Medians. The wall-clock figures include TCG's slowness on the guest side of ssh
(Dropbear's key exchange runs emulated), so they overstate what a real host costs; their differences are
what the remote CLI adds.

`berth config apply`: a second VM (the same settings) runs the 20-service stack of the `stack` module; a
changed command of one service (worker01) is applied {2 if ctx.quick else 5} times on the host (`timeit` around
the command: check, staging with hard links, the switch, init's host.yaml reload, `up` recreating worker01,
the gate) and as many times from the desk (the directory, with its image archive, sent as a tar over
ssh). Medians."""
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
                ["config apply (1 of 20 services changed)", f"{apply_host} ms", f"{apply_desk} ms"],
            ],
            "note": "",
        }],
    }


if __name__ == "__main__":
    benchvm.standalone(run)
