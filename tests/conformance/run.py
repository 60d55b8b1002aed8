"""make conformance: an independent OCI runtime test suite run against
berth-oci, Debian's crun and Debian's runc, in one Berth VM (Berth's kernel,
cgroup v2) under QEMU.

The suite is crun's own (tests/test_*.py of the crun source Debian ships,
pinned in tests/conformance/conformance.pins): Python programs that write a bundle
per check, run the runtime named by $OCI_RUNTIME with runc's verbs, and
print TAP. berth-oci and runc run it through tests/conformance/oci-runtime, which
drops the two options of crun's own command line the suite passes to every
container. The conformance disk (tests/conformance/mkdisk) carries the suite, the
Python and coreutils that run it, and crun and runc with glibc; it is laid
over Berth's read-only root with overlayfs, and each program runs in a mount
namespace whose root is that one tree (tests/tools/newroot.c: pivot_root,
rshared like a Berth host's /): berth-oci is the image's own
/usr/bin/berth-oci, and the glibc programs find their loader where they
expect it. (A chroot breaks `exec` and user namespaces for every runtime; a
loader called by hand breaks runc, which re-executes /proc/self/exe as
`runc init`.)

Writes out/conformance/results.md (per program and in total: passed, failed
and skipped checks per runtime; every check whose results differ) and
results.json, each program's output in out/conformance/logs/. A runtime
failing checks is a measurement, not an error: the exit status is non-zero
only when the suite could not run.

    python3 tests/conformance/run.py [--only test_hooks.py,...] [--runtimes berth-oci,runc]
"""
import argparse
import datetime
import json
import os
import re
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "qemu-tests"))
from sshhost import SshHost  # noqa: E402

OUT = os.environ.get("BERTH_OUT", os.path.join(TOP, "out"))
RESULTS = os.path.join(OUT, "conformance")
ROOT = "/run/conformance/root"  # the overlay: the disk over Berth's root
WORK = "/tmp/work"  # inside ROOT: where the suite writes its bundles
# Programs whose checks need a terminal on their stdout (else they skip).
TTY = ("test_tty.py",)
TIMEOUT = 300  # seconds for one test program (its checks take seconds; runc hangs in one)

# name: (the runtime, whether it goes through the adapter)
RUNTIMES = {
    "berth-oci": ("/usr/bin/berth-oci", True),
    "crun": ("/usr/bin/crun", False),
    "runc": ("/usr/bin/runc", True),
}

NEWROOT = "/run/conformance/disk/conformance/newroot"  # tests/tools/newroot.c

SETUP = f"""
set -e
mkdir -p /run/conformance/disk {ROOT}
mount -o ro /dev/vdb /run/conformance/disk
mount -t overlay overlay -o lowerdir=/run/conformance/disk:/ {ROOT}
mount -t proc proc {ROOT}/proc
mount --rbind /sys {ROOT}/sys
mount --rbind /dev {ROOT}/dev
mount -t tmpfs -o mode=0755 tmpfs {ROOT}/run
mount -t tmpfs -o mode=1777 tmpfs {ROOT}/tmp
"""


def inside(command):
    """A shell command run with ROOT as the root of its mount namespace."""
    return f"{NEWROOT} {ROOT} sh -c {shlex.quote(command)}"


# What a program killed at its timeout left: containers (deleted through
# the runtime, then any process still rooted under WORK), and WORK itself.
CLEANUP = f"""
for state in {ROOT}{WORK}/.testsuite-run-*/root; do
    [ -d "$state" ] || continue
    for c in $(ls "$state"); do
        {NEWROOT} {ROOT} $RT --root "${{state#{ROOT}}}" delete --force "$c" >/dev/null 2>&1 || true
    done
done
for p in /proc/[0-9]*; do
    case "$(readlink $p/root 2>/dev/null)" in {ROOT}{WORK}/*) kill -9 "${{p#/proc/}}" 2>/dev/null || true ;; esac
done
rm -rf {ROOT}{WORK}
"""

TAP = re.compile(r"^(not ok|ok) (\d+) - (.*?)\s*(#\s*SKIP.*)?$")


def parse_tap(text):
    """{check: "pass" | "fail" | "skip"} and the plan's count (None without one)."""
    plan = None
    checks = {}
    for line in text.splitlines():
        m = re.match(r"^1\.\.(\d+)$", line.strip())
        if m:
            plan = int(m.group(1))
            continue
        m = TAP.match(line.strip())
        if m:
            checks[m.group(3)] = "skip" if m.group(4) else ("pass" if m.group(1) == "ok" else "fail")
    return checks, plan


def run_program(h, runtime, program):
    """Runs one test program with one runtime; returns (checks, plan, output, seconds)."""
    path, adapted = RUNTIMES[runtime]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C", "PYTHONDONTWRITEBYTECODE": "1",
           "INIT": "/conformance/init"}
    if adapted:
        env.update(OCI_RUNTIME="/conformance/oci-runtime", CONFORMANCE_RUNTIME=path)
    else:
        env["OCI_RUNTIME"] = path
    # Some programs run ./tests/init, as from crun's source tree.
    inner = (f"mkdir -p {WORK}/tests && ln -sf /conformance/init {WORK}/tests/init && cd {WORK} && "
             f"exec timeout -s KILL {TIMEOUT} "
             f"python3.11 /conformance/tests/{program} 2>&1")
    cmd = inside(f"exec env -i {' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items())} sh -c {shlex.quote(inner)}")
    t0 = time.monotonic()
    r = h.run(cmd, timeout=TIMEOUT + 120, tty=program in TTY)
    took = time.monotonic() - t0
    h.run(f"RT={path}\n{CLEANUP}", timeout=300)
    out = r.stdout + r.stderr
    if r.returncode == 137:
        out += f"\n[conformance] killed after {TIMEOUT} s\n"
    checks, plan = parse_tap(out)
    return checks, plan, out, took


def counts(checks, plan):
    """pass, fail, skip; checks the plan announced but the program never
    reported (it died or hung) count as failed."""
    n = {"pass": 0, "fail": 0, "skip": 0}
    for v in checks.values():
        n[v] += 1
    if plan is not None and plan > len(checks):
        n["fail"] += plan - len(checks)
    if plan is None and not checks:
        n["fail"] += 1  # the program itself failed before its plan
    return n


def commit():
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=TOP, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=TOP, capture_output=True,
                           text=True).stdout.strip()
    return (r.stdout.strip() or "unknown") + ("+dirty" if dirty else "")


def report(results, versions, programs, runtimes, seconds):
    """results[runtime][program] = {"checks": {...}, "plan": N}: the markdown report."""
    date = datetime.date.today().isoformat()
    lines = [f"# OCI runtime conformance: crun's test suite against {', '.join(runtimes)}", "",
             f"Measured {date} at commit {commit()} with `make conformance` in a Berth VM (QEMU, "
             f"Berth's kernel, cgroup v2), {seconds / 60:.0f} minutes. Runtimes:", ""]
    lines += [f"- {name}: {versions.get(name, '?')}" for name in runtimes]
    lines += ["", "A check the program announced but never reported (it died or hit its "
              f"{TIMEOUT} s timeout) counts as failed.", "", "## Totals", "",
              "| runtime | passed | failed | skipped | checks |", "|---|---|---|---|---|"]
    totals = {}
    for name in runtimes:
        t = {"pass": 0, "fail": 0, "skip": 0}
        for p in programs:
            for k, v in counts(results[name][p]["checks"], results[name][p]["plan"]).items():
                t[k] += v
        totals[name] = t
        lines.append(f"| {name} | {t['pass']} | {t['fail']} | {t['skip']} | {sum(t.values())} |")
    lines += ["", "## Per program (passed/failed/skipped)", "",
              "| program | " + " | ".join(runtimes) + " |", "|---" * (len(runtimes) + 1) + "|"]
    for p in programs:
        cells = []
        for name in runtimes:
            c = counts(results[name][p]["checks"], results[name][p]["plan"])
            cells.append(f"{c['pass']}/{c['fail']}/{c['skip']}")
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    lines += ["", "## Checks whose results differ between the runtimes", "",
              "| program | check | " + " | ".join(runtimes) + " |", "|---" * (len(runtimes) + 2) + "|"]
    for p in programs:
        names = []
        for name in runtimes:
            names += [c for c in results[name][p]["checks"] if c not in names]
        for c in names:
            row = [results[name][p]["checks"].get(c, "not run") for name in runtimes]
            if len(set(row)) > 1:
                lines.append(f"| {p} | {c} | " + " | ".join(row) + " |")
    lines += ["", "Each program's output: `out/conformance/logs/RUNTIME/PROGRAM.log`.", ""]
    return "\n".join(lines), totals


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="comma-separated test programs (test_hooks.py,...)")
    ap.add_argument("--runtimes", default=",".join(RUNTIMES), help="comma-separated, of " + ", ".join(RUNTIMES))
    args = ap.parse_args()
    runtimes = args.runtimes.split(",")
    for name in runtimes:
        if name not in RUNTIMES:
            sys.exit(f"conformance: no runtime {name}; there are {', '.join(RUNTIMES)}")
    disk = os.path.join(RESULTS, "conformance.ext4")
    image = os.path.join(OUT, "berth.img")
    for path in (disk, image):
        if not os.path.exists(path):
            sys.exit(f"conformance: {path} is missing (make conformance builds it)")
    work = os.path.join(RESULTS, "vm")
    logs = os.path.join(RESULTS, "logs")
    os.makedirs(work, exist_ok=True)
    t0 = time.monotonic()
    h = SshHost(work, image)
    h.vm_extra = ["-drive", f"file={disk},format=raw,if=virtio,readonly=on"]
    try:
        log("booting the VM")
        h.boot("conformance")
        h.run(SETUP, check=True)
        programs = h.run(f"ls {ROOT}/conformance/tests", check=True).stdout.split()
        programs = [p for p in programs if p.startswith("test_") and p.endswith(".py")]
        if args.only:
            programs = [p for p in programs if p in args.only.split(",")]
        versions = {}
        for name in runtimes:
            r = h.run(inside(f"{RUNTIMES[name][0]} --version"))
            versions[name] = r.stdout.strip().splitlines()[0] if r.returncode == 0 else "?"
        results = {name: {} for name in runtimes}
        for name in runtimes:
            os.makedirs(os.path.join(logs, name), exist_ok=True)
            for p in programs:
                checks, plan, out, took = run_program(h, name, p)
                results[name][p] = {"checks": checks, "plan": plan, "seconds": round(took, 1)}
                with open(os.path.join(logs, name, p.replace(".py", ".log")), "w") as f:
                    f.write(out)
                c = counts(checks, plan)
                log(f"{name} {p}: {c['pass']} passed, {c['fail']} failed, {c['skip']} skipped ({took:.0f} s)")
    finally:
        h.kill()
        if os.path.exists(h.disk):
            os.unlink(h.disk)
    text, totals = report(results, versions, programs, runtimes, time.monotonic() - t0)
    with open(os.path.join(RESULTS, "results.md"), "w") as f:
        f.write(text)
    with open(os.path.join(RESULTS, "results.json"), "w") as f:
        json.dump({"versions": versions, "results": results, "totals": totals}, f, indent=1)
    print(f"\nconformance: crun's test suite, {len(programs)} programs (out/conformance/results.md)")
    for name in runtimes:
        t = totals[name]
        print(f"  {name:10} {t['pass']:4} passed {t['fail']:4} failed {t['skip']:4} skipped")


def log(msg):
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] conformance: {msg}\n")
    sys.stderr.flush()


if __name__ == "__main__":
    main()
