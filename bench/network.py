"""Container networking: connection set-up latency, request latency and
throughput from the host to a container's server through a published port
(Berth's nf_tables DNAT), against the same server in the host's network
namespace, the container's address over the bridge, and a userspace port
forwarder (tcpproxy, what docker-proxy does); and what a container's network
endpoint adds to its start.

One Berth VM under QEMU with -icount: every time is the guest's, counted in
instructions while the vCPU runs (client, server, kernel and proxy share
the one vCPU, so the figures are CPU cost per connection or per MiB)."""
import os
import re

import benchvm
from benchvm import fig, med, ms, ratio

HTTP_PORT = 8080      # published: 127.0.0.1:8080 -> web:80
SINK_PORT = 9090      # published: 127.0.0.1:9090 -> sink:9000
HOST_HTTP = 18080     # netserve in the host's network namespace
HOST_SINK = 19000
PROXY_HTTP = 28080    # tcpproxy in the host's netns -> container
PROXY_SINK = 29000


def compose():
    return f"""services:
  web:
    image: busybox
    init: true
    command: ["netserve", "http", "80", "hello from the container"]
    ports: ["{HTTP_PORT}:80"]
  sink:
    image: busybox
    init: true
    command: ["netserve", "sink", "9000"]
    ports: ["{SINK_PORT}:9000"]
"""


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


def container_ip(vm, name):
    out = vm.sh(f"berth exec {name} ip -4 -o addr show eth0")
    m = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    if not m:
        raise RuntimeError(f"network: no address for {name}: {out}")
    return m.group(1)


def run(ctx):
    quick = ctx.quick
    rounds = 2 if quick else 5
    rr_n = 20 if quick else 40          # connections per path per round
    mib = 16 if quick else 64           # per stream
    streams = 1 if quick else 2         # streams per path per round
    start_n = 4 if quick else 10        # berth run per variant per round
    tar = benchvm.busybox_images(ctx, os.path.join(ctx.workdir, "network-images.tar"))
    files = {"compose.yaml": compose(), "images/busybox.tar": open(tar, "rb").read()}
    st = Stat()      # the network paths
    st_run = {}      # berth run, per variant
    with benchvm.BenchVM(ctx, "network", config_files=files) as vm:
        netbench = vm.put_tool("netbench")
        netserve = vm.put_tool("netserve")
        tcpproxy = vm.put_tool("tcpproxy")
        timeit = vm.put_tool("timeit")
        vm.wait_for("berth ps", lambda out: "web" in out and "sink" in out and out.count(" Up ") >= 2,
                    300, "web and sink to run")
        web_ip = container_ip(vm, "web")
        sink_ip = container_ip(vm, "sink")
        ctx.log(f"network: web {web_ip}, sink {sink_ip}")
        bg = "</dev/null >/dev/null 2>&1 &"
        vm.sh(f"setsid {netserve} http {HOST_HTTP} 'hello from the host' {bg} "
              f"setsid {netserve} sink {HOST_SINK} {bg} "
              f"setsid {tcpproxy} -l 127.0.0.1 {PROXY_HTTP} {web_ip} 80 {bg} "
              f"setsid {tcpproxy} -l 127.0.0.1 {PROXY_SINK} {sink_ip} 9000 {bg} true")
        paths = {
            "host netns (baseline)": ("127.0.0.1", HOST_HTTP, "127.0.0.1", HOST_SINK),
            "published port (nf_tables DNAT)": ("127.0.0.1", HTTP_PORT, "127.0.0.1", SINK_PORT),
            "container IP over the bridge": (web_ip, 80, sink_ip, 9000),
            "userspace proxy (tcpproxy)": ("127.0.0.1", PROXY_HTTP, "127.0.0.1", PROXY_SINK),
        }
        # Every path answers before anything is timed (servers started).
        for name, (ha, hp, sa, sp) in paths.items():
            vm.wait_for(f"{netbench} rr {ha} {hp} 1 && {netbench} stream {sa} {sp} 1 1",
                        lambda out: True, 60, f"{name} to answer")
        rr = {k: [] for k in paths}          # [connect_us, total_us]
        stream = {k: [] for k in paths}      # us per stream of `mib` MiB
        variants = {
            "--network none": "berth run --rm --network none busybox true",
            "bridge network": "berth run --rm busybox true",
        }
        start_us = {k: [] for k in variants}
        st_run.update({k: Stat() for k in variants})
        # Warm-up.
        for name, (ha, hp, sa, sp) in paths.items():
            vm.sh(f"{netbench} rr {ha} {hp} 5 && {netbench} stream {sa} {sp} 4 1")
        for cmd in variants.values():
            vm.sh(f"{timeit} -q -n 2 -- {cmd}")
        for r in range(rounds):
            ctx.log(f"network: round {r + 1} of {rounds}")
            for name, (ha, hp, sa, sp) in paths.items():
                out = st.around(vm, f"{netbench} rr {ha} {hp} {rr_n}")
                rr[name] += [row for row in benchvm.ints(out) if isinstance(row, list)]
                out = st.around(vm, f"{netbench} stream {sa} {sp} {mib} {streams}")
                stream[name] += benchvm.ints(out)
            for label, cmd in variants.items():
                out = st_run[label].around(vm, f"{timeit} -q -n {start_n} -- {cmd}")
                start_us[label] += benchvm.ints(out)
        netls = vm.sh("berth network ls").strip()
        log = vm.sh("hostlog | grep 'berthd: network' || true")
        # berthd logs each container's endpoint set-up time (network
        # namespace, veth pairs, addresses, routes; clock of the guest).
        eplog = vm.sh("hostlog | grep 'endpoints set up in' || true")
    endpoint_us = [int(m.group(1)) for m in re.finditer(r"endpoints set up in (\d+) us", eplog)]

    def conn(name):
        return med([c for c, _ in rr[name]])

    def quart(name, k):
        v = sorted(row[k] for row in rr[name])
        return f"{v[len(v) // 4]}..{v[(3 * len(v)) // 4]}" if v else None

    def total(name):
        return med([t for _, t in rr[name]])

    def mibs(name):
        m = med(stream[name])
        return None if not m else round(mib / (m / 1e6), 1)

    base, dnat, bridge, proxy = list(paths)
    none_us = med(start_us["--network none"])
    net_us = med(start_us["bridge network"])
    nrr = len(rr[base])
    figures = {
        "net_connect_host_us": fig(conn(base), "us", f"TCP connect, host netns server (median of {nrr})"),
        "net_connect_dnat_us": fig(conn(dnat), "us", "TCP connect through the published port (nf_tables DNAT)"),
        "net_connect_bridge_us": fig(conn(bridge), "us", "TCP connect to the container's IP over the bridge"),
        "net_connect_proxy_us": fig(conn(proxy), "us", "TCP connect to tcpproxy (its listener only; see the table note)"),
        "net_rr_host_us": fig(total(base), "us", "connect + HTTP request + answer + close, host netns"),
        "net_rr_dnat_us": fig(total(dnat), "us", "the same through the published port (DNAT)"),
        "net_rr_bridge_us": fig(total(bridge), "us", "the same to the container's IP"),
        "net_rr_proxy_us": fig(total(proxy), "us", "the same through tcpproxy"),
        "net_rr_dnat_over_host": fig(ratio(total(dnat), total(base)), "x", "request via DNAT / host netns"),
        "net_rr_proxy_over_dnat": fig(ratio(total(proxy), total(dnat)), "x", "request via tcpproxy / via DNAT"),
        "net_stream_host_mibs": fig(mibs(base), "MiB/s", f"TCP stream of {mib} MiB, host netns"),
        "net_stream_dnat_mibs": fig(mibs(dnat), "MiB/s", "TCP stream through the published port (DNAT)"),
        "net_stream_bridge_mibs": fig(mibs(bridge), "MiB/s", "TCP stream to the container's IP"),
        "net_stream_proxy_mibs": fig(mibs(proxy), "MiB/s", "TCP stream through tcpproxy (splice)"),
        "net_run_none_ms": fig(ms(none_us), "ms", f"`berth run --rm --network none busybox true`, median of "
                                                  f"{len(start_us['--network none'])}"),
        "net_run_bridge_ms": fig(ms(net_us), "ms", "`berth run --rm busybox true` (bridge network), median"),
        "net_endpoint_ms": fig(ms(None if none_us is None or net_us is None else net_us - none_us), "ms",
                               "what a network adds to a container's run (difference of the medians)"),
        "net_endpoint_setup_us": fig(med(endpoint_us), "us",
                                     f"berthd: network namespace + endpoint created and attached, median of "
                                     f"{len(endpoint_us)} containers (its own log)"),
    }
    def per_run(k, what):
        return round(getattr(st_run[k], what) * 10.0 / len(start_us[k]), 1) if start_us[k] else None

    run_busy = sum(x.busy for x in st_run.values())
    run_idle = sum(x.idle for x in st_run.values())
    rows = []
    for name in paths:
        rows.append([name, conn(name), quart(name, 0), total(name), quart(name, 1),
                     ratio(total(name), total(base)), mibs(name), ratio(mibs(name), mibs(base))])
    method = f"""\
One Berth VM under QEMU TCG with `-icount shift=0,sleep=on`, one vCPU, 512 MiB. CONFIG's compose.yaml runs two
BusyBox containers on the project's bridge network: `web` (`netserve http 80`, published as {HTTP_PORT}) and `sink`
(`netserve sink 9000`, published as {SINK_PORT}); Berth publishes ports with nf_tables DNAT (prerouting and output
hooks; 127.0.0.1 works through route_localnet and a masquerade rule). In the host's network namespace run the
same two servers (ports {HOST_HTTP}, {HOST_SINK}) and two `tcpproxy` processes (a userspace forwarder as
docker-proxy is: one epoll loop, splice) on 127.0.0.1:{PROXY_HTTP} and :{PROXY_SINK} forwarding to the containers'
addresses ({web_ip}:80, {sink_ip}:9000). The client, `netbench`, runs in the host's network namespace:

* **rr**: connect (time to connect(2) returning), then an HTTP/1.0 request and the whole answer until the
  server closes: {rr_n} connections per path per round.
* **stream**: a new connection sends {mib} MiB, half-closes and waits for the sink to close; MiB/s from the
  median time, {streams} stream(s) per path per round.
* {rounds} rounds, the four paths interleaved in each, after a warm-up; medians over {nrr} connections and
  {len(stream[base])} streams per path.
* **Endpoint**: berthd logs, per container, the time from creating its network namespace to the last
  endpoint attached (veth pair moved in, addresses, routes, bridge port): median {med(endpoint_us)} us over
  {len(endpoint_us)} containers. From outside: `berth run --rm busybox true` on the ad hoc project's default bridge network (network namespace, veth pair
  moved into it, addresses, routes, bridge port, IPAM lease, nf_tables update, and their removal) against
  the same with `--network none`, {start_n} runs each per round, interleaved; the difference of the medians is
  what the network adds to a container's whole run (create, attach, detach, delete), not the attach alone.
  Per run, the vCPU was busy {per_run('bridge network', 'busy')} ms and idle {per_run('bridge network', 'idle')} ms
  (means from /proc/stat ticks) with the network, against {per_run('--network none', 'busy')} and
  {per_run('--network none', 'idle')} ms without. The idle part is waiting in real time, not counted instructions; not broken down
  further here, its likely sources are berthd's fsyncs, the CLI's attach retry (runtime/cli/attach.c, from 1 ms
  doubling) and, with a network, berthd's wait for the links to be up (`wait_oper_up` in runtime/net/endpoint.c, which
  polls every 0.2 ms).

**Stability.** Guest time counts instructions while the vCPU runs (the build machine's load does not matter);
client, servers, proxy and the kernel's network stack share the one vCPU, so throughput is CPU cost per byte,
not a network's bandwidth, and the ratios between paths are what carries over to real hardware. Idle time
advances by real time (`sleep=on`): over the rr and stream measurements the vCPU was busy {st.busy} and idle
{st.idle} ticks (USER_HZ) of /proc/stat; over the `berth run` ones busy {run_busy} and idle {run_idle} (berthd's
fsyncs on DATA, completed at once by `cache=unsafe`, and the CLI's attach retry sleeps: real time, not counted
instructions, so the endpoint figure is the least stable one here).
The ad hoc `berth run` containers join the `default` network that web and sink are on, so its bridge already
exists: the difference is the endpoint, not the bridge.

`berth network ls` in the VM:

```
{netls}
```"""
    return {
        "name": "network",
        "title": "Container networking: published ports (nf_tables DNAT vs userspace proxy), endpoint cost",
        "method": method,
        "figures": figures,
        "tables": [
            {"title": "Host -> server, by path (medians; guest time)",
             "columns": ["path", "connect (us)", "connect p25..p75", "request (us)", "request p25..p75",
                         "request vs host", "stream (MiB/s)", "stream vs host"],
             "rows": rows,
             "note": "request: connect + HTTP request + answer + close. The published port is Berth's way "
                     "(kernel DNAT); the userspace proxy is the alternative, docker-proxy's way. Through the "
                     "proxy, connect(2) returns once the proxy's own listener has answered; the proxy's "
                     "connection to the container follows its accept, and whether that runs before the "
                     "client's connect returns depends on scheduling on the one vCPU (the quartiles show both "
                     "cases), so compare the request column."},
            {"title": "Container run with and without a network endpoint (ms, medians)",
             "columns": ["berth run --rm busybox true", "median", "runs", "vCPU busy per run (ms, mean)",
                         "vCPU idle per run (ms, mean)"],
             "rows": [[k, ms(med(v)), len(v), round(st_run[k].busy * 10.0 / len(v), 1),
                       round(st_run[k].idle * 10.0 / len(v), 1)] for k, v in start_us.items()],
             "note": "The difference is the network's whole cost in a container's life: netns, veth, attach, "
                     "IPAM, nf_tables, detach. Idle: /proc/stat idle+iowait ticks (10 ms each) over the runs "
                     "(real time: berthd's fsyncs, the CLI's attach retry). berthd's network log: " + " | ".join(
                         line.split("berthd: ", 1)[-1].strip() for line in log.splitlines()[-3:])},
        ],
    }


if __name__ == "__main__":
    benchvm.standalone(run)
