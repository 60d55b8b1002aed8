"""`make bench`: runs the benchmark modules and writes the report.

    python3 bench/run.py [--quick] [--only sizes,boot,...]

Each module (bench/NAME.py) has run(ctx) returning a dict: name, title,
method (markdown), figures {key: {value, unit, label}}, tables [{title,
columns, rows, note}], and optionally timeline {system: [[phase, start_ms,
end_ms], ...]} for the boot chart. This file owns what they share: the
machine's description, bench/results/REPORT.md, results.json and
boot-timeline.png (bench/results/quick/ for QUICK runs), and the headline
figures in README.md (between the bench markers, rewritten by complete full
runs only, so that every figure there comes from a run of this script).

A module that fails is reported as failed (with its error) in the report,
and the run exits non-zero; the other modules still run."""
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import traceback

BENCH = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
import benchvm  # noqa: E402
from berthvm import kvm_works  # noqa: E402

MODULES = ["sizes", "boot", "memory", "runtimes", "stack", "network", "registry", "updates", "remote", "engine"]

# (module, figure) pairs shown in README.md, in this order.
HEADLINES = [
    ("boot", "boot_kernel_to_init_ms"),
    ("boot", "boot_kernel_to_berthd_ready_ms"),
    ("boot", "boot_kernel_to_all_services_ms"),
    ("boot", "boot_debian_kernel_to_shell_ms"),
    ("boot", "boot_wall_bios_s"),
    ("boot", "boot_wall_uefi_s"),
    ("sizes", "disk_qcow2_bytes"),
    ("sizes", "kernel_bytes"),
    ("sizes", "rootfs_bytes"),
    ("memory", "memory_min_mib"),
    ("memory", "memavailable_256_bare_mib"),
    ("memory", "init_rss_kib"),
    ("runtimes", "oci_run_berth_ms"),
    ("runtimes", "oci_run_crun_ms"),
    ("runtimes", "oci_run_runc_ms"),
    ("runtimes", "oci_life_berth_ms"),
    ("runtimes", "oci_life_crun_ms"),
    ("runtimes", "berth_run_rm_none_ms"),
    ("stack", "stack_all_running_ms"),
    ("stack", "berthd_rss_kib"),
    ("network", "net_rr_dnat_over_host"),
    ("network", "net_rr_proxy_over_dnat"),
    ("network", "net_stream_dnat_mibs"),
    ("network", "net_endpoint_setup_us"),
    ("registry", "pull_berth_over_skopeo"),
    ("registry", "registry_root_image_bytes"),
    ("updates", "update_bundle_bytes"),
    ("updates", "update_apply_ms"),
    ("updates", "update_kernel_to_good_ms"),
    ("updates", "update_downtime_ms"),
]

README_BEGIN = "<!-- bench:begin (written by `make bench`; do not edit) -->"
README_END = "<!-- bench:end -->"


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    cpu = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    commit = sh(f"git -C {TOP} rev-parse --short HEAD")
    if sh(f"git -C {TOP} status --porcelain --untracked-files=no"):
        commit += " (with uncommitted changes)"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1048576, 1),
        "os": sh(". /etc/os-release && echo $PRETTY_NAME") or platform.platform(),
        "kernel": platform.release(),
        "qemu": sh("qemu-system-x86_64 --version | head -1"),
        "kvm": "yes" if kvm_works() else "no (TCG)",
        "commit": commit,
        "load_at_start": sh("cut -d' ' -f1-3 /proc/loadavg"),
    }


def fmt_value(v):
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return "–" if v is None else str(v)


def md_table(columns, rows):
    out = ["| " + " | ".join(str(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        out.append("| " + " | ".join(fmt_value(c).replace("|", "\\|") for c in r) + " |")
    return "\n".join(out)


def report(results, mach, quick, wall, only=None):
    lines = [f"# Berth benchmark report{' (QUICK: reduced set)' if quick else ''}", ""]
    if only:
        lines.append("Written by `make bench" + (" QUICK=1" if quick else "") + f" ONLY={','.join(only)}` on "
                     f"{mach['date']}, in {wall / 60:.0f} minutes: those modules were measured in this run, the "
                     "others come from their last run (each section says when and at which commit). "
                     "Comparisons with other systems are their published figures, cited.")
    else:
        lines.append("Written by `make bench`" + (" QUICK=1" if quick else "") +
                     f" on {mach['date']}, in {wall / 60:.0f} minutes. Every number below was measured in "
                     "this run; comparisons with other systems are their published figures, cited.")
    lines += ["", "## Machine", "", md_table(["", ""], [[k, v] for k, v in mach.items()]), ""]
    lines += ["## Summary", ""]
    rows = []
    for mod, key in HEADLINES:
        f = results.get(mod, {}).get("figures", {}).get(key)
        if f:
            rows.append([f["label"], fmt_value(f["value"]), f["unit"]])
    lines += [md_table(["figure", "value", "unit"], rows), ""]
    if "timeline" in results.get("boot", {}):
        lines += ["![boot timeline](boot-timeline.png)", ""]
    for name in MODULES:
        r = results.get(name)
        if r is None:
            continue
        lines += [f"## {r.get('title', name)}", ""]
        if only and r.get("measured"):
            lines += [f"Measured {r['measured']['date']}, commit {r['measured']['commit']}.", ""]
        if "error" in r:
            lines += [f"**This module failed:** `{r['error']}`", ""]
            continue
        lines += ["### Method", "", r.get("method", "").strip(), ""]
        figs = r.get("figures", {})
        if figs:
            lines += ["### Figures", "",
                      md_table(["figure", "value", "unit", "key"],
                               [[f["label"], f["value"], f["unit"], f"`{k}`"] for k, f in figs.items()]), ""]
        for t in r.get("tables", []):
            lines += [f"### {t['title']}", "", md_table(t["columns"], t["rows"]), ""]
            if t.get("note"):
                lines += [t["note"], ""]
    return "\n".join(lines)


def draw_timeline(timeline, path):
    """One band per system; a phase that overlaps the one before it (work
    that runs in parallel) goes on a lane of its own within the band. Wide
    bars carry their label; every phase is in the legend with its length."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    colors = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c",
              "#ccb974", "#64b5cd"]
    systems = list(timeline)
    end_max = max(e for phases in timeline.values() for _, _, e in phases)
    fig, ax = plt.subplots(figsize=(12, 1.6 + 1.3 * len(systems)))
    handles = []
    ci = 0
    yticks = []
    for band, system in enumerate(reversed(systems)):
        lanes = []  # end of the last phase on each lane
        placed = []
        for phase, start, end in timeline[system]:
            lane = next((i for i, e in enumerate(lanes) if start >= e - 1e-6), None)
            if lane is None:
                lanes.append(end)
                lane = len(lanes) - 1
            else:
                lanes[lane] = end
            placed.append((phase, start, end, lane))
        height = 0.8 / max(len(lanes), 1)
        for phase, start, end, lane in placed:
            y = band + 0.4 - height * (lane + 0.5)
            color = colors[ci % len(colors)]
            ci += 1
            width = max(end - start, end_max / 400)
            h = ax.barh(y, width, left=start, height=height * 0.9, color=color, edgecolor="white",
                        label=f"{system}: {phase} ({start:,.0f} to {end:,.0f} ms, {end - start:,.0f} ms)")
            handles.append(h)
            if width > end_max * 0.065:
                ax.text(start + width / 2, y, f"{phase}\n{end - start:,.0f} ms", ha="center", va="center",
                        fontsize=7, color="white")
        yticks.append(band)
    ax.set_yticks(yticks)
    ax.set_yticklabels(list(reversed(systems)))
    ax.set_xlim(0, end_max * 1.02)
    ax.set_xlabel("guest time since kernel start (ms; QEMU -icount, see the report for the mode)")
    ax.set_title("Boot timeline")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=7,
              frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return True


def update_readme(results, mach):
    path = os.path.join(TOP, "README.md")
    text = open(path).read()
    if README_BEGIN not in text or README_END not in text:
        return
    rows = []
    for mod, key in HEADLINES:
        f = results.get(mod, {}).get("figures", {}).get(key)
        if f:
            rows.append([f["label"], f"{fmt_value(f['value'])} {f['unit']}"])
    block = [README_BEGIN, "",
             f"Measured by `make bench` on {mach['date']} (commit {mach['commit']}; {mach['cpu']}, "
             f"{mach['cores']} cores, QEMU under {'KVM' if mach['kvm'] == 'yes' else 'TCG'}). "
             "Method, every figure and the comparisons: [bench/results/REPORT.md](bench/results/REPORT.md).", "",
             md_table(["figure", "value"], rows), "", README_END]
    head, rest = text.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    with open(path + ".tmp", "w") as f:
        f.write(head + "\n".join(block) + tail)
    os.replace(path + ".tmp", path)


def main():
    args = sys.argv[1:]
    quick = "--quick" in args or os.environ.get("QUICK") == "1"
    only = None
    if "--only" in args:
        only = args[args.index("--only") + 1].split(",")
        unknown = [m for m in only if m not in MODULES]
        if unknown:
            sys.exit(f"bench: unknown module(s) {', '.join(unknown)}; modules: {', '.join(MODULES)}")
    # A QUICK run never replaces the full report that README.md points to.
    results_dir = os.path.join(BENCH, "results", "quick") if quick else os.path.join(BENCH, "results")
    os.makedirs(results_dir, exist_ok=True)
    ctx = benchvm.Ctx(quick=quick)
    mach = machine()
    t0 = time.monotonic()
    results = {}
    failed = []
    # A partial run (--only) keeps the other modules' last results.
    json_path = os.path.join(results_dir, "results.json")
    if only and os.path.exists(json_path):
        try:
            last = json.load(open(json_path))
            results = last.get("modules", {})
            for r in results.values():
                r.setdefault("measured", {k: last.get("machine", {}).get(k, "?") for k in ("date", "commit")})
        except (OSError, ValueError, AttributeError):
            results = {}
    for name in MODULES:
        if only and name not in only:
            continue
        ctx.log(f"== {name}{' (quick)' if quick else ''}")
        mod_t0 = time.monotonic()
        ctx.workdir = os.path.join(ctx.out, "bench", "work", name)
        os.makedirs(ctx.workdir, exist_ok=True)
        try:
            module = __import__(name)
            r = module.run(ctx)
        except Exception as e:  # noqa: BLE001 - one module's failure must not lose the others
            traceback.print_exc()
            r = {"name": name, "title": name, "error": f"{type(e).__name__}: {e}"[:2000]}
            failed.append(name)
        r["wall_s"] = round(time.monotonic() - mod_t0)
        r["quick"] = quick
        r["measured"] = {"date": mach["date"], "commit": mach["commit"]}
        results[name] = r
        ctx.log(f"== {name}: {r['wall_s']} s")
    wall = time.monotonic() - t0
    timeline = results.get("boot", {}).get("timeline")
    png = os.path.join(results_dir, "boot-timeline.png")
    if timeline:
        if not draw_timeline(timeline, png):
            ctx.log("bench: matplotlib is missing: no boot-timeline.png (apt-get install python3-matplotlib)")
    with open(json_path + ".tmp", "w") as f:
        json.dump({"machine": mach, "quick": quick, "wall_s": round(wall), "modules": results}, f, indent=2)
    os.replace(json_path + ".tmp", json_path)
    with open(os.path.join(results_dir, "REPORT.md"), "w") as f:
        f.write(report(results, mach, quick, wall, only) + "\n")
    if not quick and not only and not failed:
        update_readme(results, mach)
    ctx.log(f"bench: wrote {os.path.relpath(results_dir, TOP)}/REPORT.md in {wall / 60:.1f} min")
    if failed:
        ctx.log(f"bench: failed modules: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
