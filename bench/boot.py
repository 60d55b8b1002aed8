"""Boot: the guest's own clock from kernel start to every service of the
reference stack (bench/stack.py) running and healthy, under QEMU TCG with
instruction counting; side by side, Debian's generic kernel with an
initramfs booting to a BusyBox shell; and the wall-clock time of an
ordinary TCG boot (no icount, 2 vCPUs) to Berth's shell prompt, with
SeaBIOS and with OVMF.

Berth's milestones come from the kernel log (`hostlog`, read over ssh only
once the stack is up: the first ssh connection is checked to come after the
last milestone, so that it cannot have disturbed them). The baseline's come
from its own kernel log, which the initramfs shell prints on the console."""
import os
import re
import shutil
import subprocess
import time

import benchvm
import stack
from benchvm import fig, med
from berthvm import OVMF_CODE, VM, copy_image

DEBIAN_PKG = "linux-image-6.1.0-56-amd64"
DEBIAN_VERSION = "6.1.0-56-amd64"
MEMORY = 512

BANNER = re.compile(r"all services started at (\d+\.\d+) s")
KLINE = re.compile(r"^\[\s*(\d+\.\d+)\]\s?(.*)$")


def icount(sleep):
    return ["-icount", f"shift=0,sleep={sleep}"]


# ---------------------------------------------------------------- Berth --

def berth_milestones(log):
    """Seconds (kernel clock) of Berth's milestones in a hostlog text."""
    t = stack.timeline(log)
    for line in log.splitlines():
        m = BANNER.search(line)
        if m:
            t["init_ready"] = float(m.group(1))
        m = stack.LINE.search(line)
        if m and "sshd:" in m.group(2) and "Child connection from" in m.group(2):
            t.setdefault("first_ssh", float(m.group(1)))
    return t


def complete(t):
    return (len(t["running"]) >= stack.SERVICES and "db_healthy" in t and "berthd_ready" in t
            and "init_ready" in t and "init_start" in t and "kernel_runs_init" in t)


def berth_boot(ctx, host, disk, name, extra, wait=20, timeout=600):
    """Boots disk, waits for init's console banner, then (after `wait` s of
    wall time, so that the stack is up before ssh touches the guest) reads
    hostlog until every milestone is in it. Returns (milestones, hostlog)."""
    vm = VM(disk, host.workdir, name=name, memory=MEMORY, cpus=1,
            hostfwd=[f"tcp:127.0.0.1:{host.port}-:22"], extra=extra, drive_extra=",cache=unsafe")
    host.vm = vm
    t0 = time.monotonic()
    vm.start()
    try:
        vm.wait_for(r"Berth \S+ on \S+ - up in", 300)
        time.sleep(wait)
        deadline = time.monotonic() + timeout
        while True:
            r = host.run("hostlog", timeout=120)
            t = berth_milestones(r.stdout) if r.returncode == 0 else None
            if t and complete(t):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"boot: {name}: milestones missing after {timeout} s: "
                                   f"{sorted(t) if t else r.stderr[-500:]}")
            time.sleep(10)
        t["wall_s"] = time.monotonic() - t0
        last = max(max(t["running"].values()), t["db_healthy"])
        t["disturbed"] = t.get("first_ssh", 1e9) < last
        return t, r.stdout
    except Exception:
        vm.kill()
        raise


def berth_row(t):
    """Milliseconds from kernel start of each milestone."""
    ms = lambda s: round(s * 1000.0, 1)  # noqa: E731
    return {
        "run_init": ms(t["kernel_runs_init"]),
        "init_start": ms(t["init_start"]),
        "init_ready": ms(t["init_ready"]),
        "berthd_started": ms(t["berthd_started"]),
        "berthd_ready": ms(t["berthd_ready"]),
        "first_running": ms(min(t["running"].values())),
        "db_running": ms(t["running"]["db"]),
        "db_healthy": ms(t["db_healthy"]),
        "all_running": ms(max(t["running"].values())),
    }


BERTH_COLS = ["run_init", "init_start", "init_ready", "berthd_started", "berthd_ready", "first_running", "db_healthy",
              "all_running"]


def prepare_berth(ctx):
    """A disk with the reference stack's CONFIG that has already booted once
    (DATA created, image imported) and was powered off cleanly: every
    measured boot starts from a fresh copy of it."""
    wd = os.path.join(ctx.workdir, "berth")
    if os.path.isdir(wd):
        shutil.rmtree(wd)
    os.makedirs(wd)
    tar = benchvm.busybox_images(ctx, os.path.join(wd, "images.tar"))
    files = {"compose.yaml": stack.compose(), "images/busybox.tar": open(tar, "rb").read()}
    host = benchvm.SshHost(wd, os.path.join(ctx.out, "berth.img"), memory=MEMORY, config_files=files)
    ctx.log("boot: Berth first boot (DATA created, image imported), icount sleep=on")
    t, _ = berth_boot(ctx, host, host.disk, "first", icount("on"))
    host.run("poweroff", timeout=30)
    host.vm.wait_exit(180)
    host.vm.kill()
    prepared = os.path.join(wd, "prepared.img")
    os.rename(host.disk, prepared)
    return host, prepared, t


def berth_runs(ctx, host, prepared, mode, n):
    rows = []
    for i in range(n):
        disk = copy_image(prepared, os.path.join(host.workdir, "disk.img"))
        name = f"{mode}-{i + 1}"
        ctx.log(f"boot: Berth boot {name} (icount sleep={mode})")
        try:
            t, log = berth_boot(ctx, host, disk, name, icount(mode))
        finally:
            if host.vm:
                host.vm.kill()
            os.unlink(disk)
        with open(os.path.join(host.workdir, f"{name}.hostlog"), "w") as f:
            f.write(log)
        row = berth_row(t)
        row["disturbed"] = t["disturbed"]
        row["wall_s"] = round(t["wall_s"], 1)
        ctx.log(f"boot: {name}: init {row['init_start']} ms, ready {row['init_ready']}, berthd ready "
                f"{row['berthd_ready']}, db healthy {row['db_healthy']}, all running {row['all_running']} ms"
                f"{' (DISTURBED by ssh)' if t['disturbed'] else ''}")
        rows.append(row)
    return rows


def spread(rows, key):
    """(median, (max - min) / median in %) of a milestone over the boots."""
    v = [r[key] for r in rows]
    m = med(v)
    return m, (round((max(v) - min(v)) / m * 100.0, 3) if m else None)


# --------------------------------------------------------------- Debian --

def debian_kernel(ctx):
    wd = os.path.join(ctx.workdir, "debian")
    root = os.path.join(wd, "root")
    vmlinuz = os.path.join(root, "boot", f"vmlinuz-{DEBIAN_VERSION}")
    if not os.path.exists(vmlinuz):
        env = dict(os.environ, BERTH_PINS=os.path.join(benchvm.BENCH, "bench.pins"))
        subprocess.run([os.path.join(benchvm.TOP, "rootfs", "fetch"), DEBIAN_PKG], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        cache = os.environ.get("BERTH_CACHE", "/var/cache/berth")
        pin = [line.split() for line in open(os.path.join(benchvm.BENCH, "bench.pins"))
               if line.startswith(DEBIAN_PKG + " ")][0]
        os.makedirs(root, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", os.path.join(cache, "dl", pin[3]), root], check=True)
    return wd, root, vmlinuz


# The interactive shell's $ENV file (the kernel command line's ENV=/benchrc
# reaches init's environment, and Debian's init hands it to `sh -i`): it marks
# the shell's start in the kernel log and prints the log on the console.
BENCHRC = """\
echo "bench: initramfs shell" > /dev/kmsg
echo BENCH-DMESG-BEGIN
dmesg
echo BENCH-DMESG-END
"""

HOOK = """\
#!/bin/sh
PREREQ=""
prereqs() { echo "$PREREQ"; }
case "$1" in prereqs) prereqs; exit 0 ;; esac
cp "%s" "${DESTDIR}/benchrc"
"""


def mkinitramfs(ctx, wd, root):
    """Debian's own initramfs (initramfs-tools' mkinitramfs, Debian's default
    initramfs.conf with BUSYBOX=y) for the extracted kernel. Its modules
    directory is bind-mounted at /lib/modules/VERSION in a private mount
    namespace (an overlay on /usr/lib), so the build machine is untouched."""
    out = os.path.join(wd, f"initrd.img-{DEBIAN_VERSION}")
    if os.path.exists(out):
        return out
    if not shutil.which("mkinitramfs"):
        raise RuntimeError("mkinitramfs is not installed (apt-get install initramfs-tools busybox)")
    conf = os.path.join(wd, "initramfs-tools")
    if os.path.isdir(conf):
        shutil.rmtree(conf)
    shutil.copytree("/etc/initramfs-tools", conf, symlinks=True)
    cfg = open(os.path.join(conf, "initramfs.conf")).read()
    cfg = re.sub(r"(?m)^BUSYBOX=.*$", "BUSYBOX=y", cfg)
    with open(os.path.join(conf, "initramfs.conf"), "w") as f:
        f.write(cfg)
    rc = os.path.join(wd, "benchrc")
    with open(rc, "w") as f:
        f.write(BENCHRC)
    os.makedirs(os.path.join(conf, "hooks"), exist_ok=True)
    hook = os.path.join(conf, "hooks", "zz-berth-bench")
    with open(hook, "w") as f:
        f.write(HOOK % rc)
    os.chmod(hook, 0o755)
    subprocess.run(["depmod", "-b", root, DEBIAN_VERSION], check=True)
    ovl = os.path.join(wd, "ovl")
    if os.path.isdir(ovl):
        shutil.rmtree(ovl)
    os.makedirs(os.path.join(ovl, "upper"))
    os.makedirs(os.path.join(ovl, "work"))
    mods = os.path.join(root, "lib", "modules", DEBIAN_VERSION)
    script = f"""set -e
mount -t overlay overlay -o lowerdir=/usr/lib,upperdir={ovl}/upper,workdir={ovl}/work /usr/lib
mkdir -p /usr/lib/modules/{DEBIAN_VERSION}
mount --bind {mods} /usr/lib/modules/{DEBIAN_VERSION}
mount -t tmpfs none /boot
cp {root}/boot/config-{DEBIAN_VERSION} /boot/
mkinitramfs -d {conf} -o {out}.tmp {DEBIAN_VERSION}
"""
    r = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True)
    shutil.rmtree(ovl, ignore_errors=True)
    if r.returncode != 0:
        raise RuntimeError(f"mkinitramfs failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    os.rename(out + ".tmp", out)
    return out


MINI_INIT = """\
#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin
export ENV=/benchrc
exec setsid sh -c 'exec sh -i <>/dev/console 1>&0 2>&1'
"""


def mini_initramfs(ctx, wd):
    """The fallback: a newc cpio with Berth's static BusyBox, whose /init
    mounts the kernel filesystems and starts an interactive shell."""
    out = os.path.join(wd, "initrd-minimal.cpio.gz")
    tree = os.path.join(wd, "mini")
    if os.path.isdir(tree):
        shutil.rmtree(tree)
    os.makedirs(os.path.join(tree, "bin"))
    shutil.copy(benchvm.busybox_path(ctx), os.path.join(tree, "bin", "busybox"))
    with open(os.path.join(tree, "init"), "w") as f:
        f.write(MINI_INIT)
    os.chmod(os.path.join(tree, "init"), 0o755)
    with open(os.path.join(tree, "benchrc"), "w") as f:
        f.write(BENCHRC)
    subprocess.run(f"cd {tree} && find . | cpio -o -H newc --quiet | gzip -9 > {out}", shell=True, check=True)
    return out


def debian_boot(ctx, wd, vmlinuz, initrd, name, extra):
    """Boots the Debian kernel with the initramfs to its shell; the guest's
    kernel log, as the shell's $ENV printed it, parsed to milestones."""
    cmd = ["qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-m", str(MEMORY), "-smp", "1",
           "-nodefaults", "-display", "none", "-no-reboot", "-serial", "stdio",
           "-kernel", vmlinuz, "-initrd", initrd,
           # Debian's default command line has `quiet`; break=mount stops its
           # init after init-top, module loading and init-premount, before it
           # would mount a root file system, in a BusyBox `sh -i`.
           "-append", "console=ttyS0,115200 quiet break=mount ENV=/benchrc"] + extra
    log = os.path.join(wd, f"{name}.console.log")
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    buf = b""
    try:
        deadline = time.monotonic() + 600
        os.set_blocking(p.stdout.fileno(), False)
        while b"BENCH-DMESG-END\r\n" not in buf and b"BENCH-DMESG-END\n" not in buf:
            if time.monotonic() > deadline or p.poll() is not None:
                raise RuntimeError(f"boot: {name}: no shell (see {log})")
            chunk = p.stdout.read(65536)
            if chunk:
                buf += chunk
            else:
                time.sleep(0.05)
        wall = time.monotonic() - t0
    finally:
        p.kill()
        p.wait()
        with open(log, "wb") as f:
            f.write(buf)
    text = buf.decode(errors="replace").replace("\r", "")
    dm = text[text.rindex("BENCH-DMESG-BEGIN"):]
    t = {"wall_s": wall}
    for line in dm.splitlines():
        m = KLINE.match(line)
        if not m:
            continue
        ts, msg = float(m.group(1)), m.group(2)
        if msg.startswith("Freeing initrd memory"):
            t["initrd_done"] = ts
        if msg.startswith("Run /init as init process"):
            t["init_start"] = ts
        if msg.startswith("bench: initramfs shell"):
            t["shell"] = ts
    if "init_start" not in t or "shell" not in t:
        raise RuntimeError(f"boot: {name}: milestones missing from the kernel log (see {log})")
    return t


# ------------------------------------------------------------ wall clock --

def wall_boots(ctx, firmware, n):
    """QEMU start to the console's shell prompt, plain TCG (no icount), two
    vCPUs, 256 MiB, as the qemu-tests boot: one disk, first boot and then n
    more boots, each ended by `poweroff` on the console."""
    wd = os.path.join(ctx.workdir, f"wall-{firmware}")
    if os.path.isdir(wd):
        shutil.rmtree(wd)
    os.makedirs(wd)
    disk = copy_image(os.path.join(ctx.out, "berth.img"), os.path.join(wd, "disk.img"))
    times = []
    try:
        for i in range(n + 1):
            vm = VM(disk, wd, firmware=firmware, memory=256, cpus=2, name=f"{firmware}-{i}")
            with vm:
                s = vm.wait_boot(timeout=300)
                times.append(s)
                ctx.log(f"boot: wall clock, {firmware}, {'first boot' if i == 0 else f'boot {i + 1}'}: "
                        f"{s:.1f} s to the prompt")
                vm.send("poweroff\n")
                vm.wait_exit(180)
    finally:
        os.unlink(disk)
    return times[0], times[1:]


# ------------------------------------------------------------------ run --

def run(ctx):
    n_off = 2 if ctx.quick else 3
    n_on = 2 if ctx.quick else 5
    n_deb = 2 if ctx.quick else 3
    n_deb_on = 1 if ctx.quick else 2
    n_wall = 1 if ctx.quick else 3
    load0 = os.getloadavg()

    # Debian's kernel and initramfs first: if they cannot be had the module
    # fails before the long part.
    wd, root, vmlinuz = debian_kernel(ctx)
    initrd_kind = "debian"
    initrd_error = None
    try:
        ctx.log("boot: building Debian's initramfs with mkinitramfs")
        initrd = mkinitramfs(ctx, wd, root)
    except Exception as e:  # noqa: BLE001 - the fallback is said in the method
        initrd_error = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
        ctx.log(f"boot: mkinitramfs failed ({initrd_error}); using a minimal BusyBox initramfs")
        initrd = mini_initramfs(ctx, wd)
        initrd_kind = "minimal"
    initrd_size = os.path.getsize(initrd)

    host, prepared, first = prepare_berth(ctx)
    off = berth_runs(ctx, host, prepared, "off", n_off)
    on = berth_runs(ctx, host, prepared, "on", n_on)

    deb, deb_on = [], []
    for mode, n, rows_ in (("off", n_deb, deb), ("on", n_deb_on, deb_on)):
        for i in range(n):
            ctx.log(f"boot: Debian kernel boot {i + 1} of {n} (icount sleep={mode})")
            t = debian_boot(ctx, wd, vmlinuz, initrd, f"debian-{mode}-{i + 1}", icount(mode))
            rows_.append({"init_start": round(t["init_start"] * 1000, 1), "shell": round(t["shell"] * 1000, 1),
                          "initrd_done": round(t["initrd_done"] * 1000, 1) if "initrd_done" in t else None,
                          "wall_s": round(t["wall_s"], 1)})
            ctx.log(f"boot: debian-{mode}-{i + 1}: init {rows_[-1]['init_start']} ms, shell {rows_[-1]['shell']} ms")

    bios_first, bios = wall_boots(ctx, "bios", n_wall)
    uefi_first, uefi = None, []
    uefi_error = None
    if os.path.exists(OVMF_CODE):
        try:
            uefi_first, uefi = wall_boots(ctx, "uefi", n_wall)
        except Exception as e:  # noqa: BLE001 - reported
            uefi_error = str(e)
            ctx.log(f"boot: UEFI boot failed: {e}")
    else:
        uefi_error = f"{OVMF_CODE} missing"
    load1 = os.getloadavg()
    shutil.rmtree(os.path.join(ctx.workdir, "berth"), ignore_errors=True)

    # ---- Berth's figures are the sleep=on boots' (see the method: why)
    off_s = {k: spread(off, k) for k in BERTH_COLS}
    on_s = {k: spread(on, k) for k in BERTH_COLS}
    dm = {k: (round(m, 1), sp) for k, (m, sp) in ((k, spread(deb, k)) for k in ("init_start", "shell"))}
    dm_on = {k: spread(deb_on, k) for k in ("init_start", "shell")} if deb_on else None
    LIMIT = 1.0  # % (max-min)/median: "the same guest times"
    off_worst = max(off_s[k][1] for k in BERTH_COLS)
    b = {k: round(on_s[k][0], 1) for k in BERTH_COLS}
    kernel_ms = b["run_init"]
    late_mode, late_rows, kernel_mode = "on", on, "on"
    on_worst = max(on_s[k][1] for k in BERTH_COLS) if len(on) > 1 else None
    disturbed = sum(1 for r in off + on if r["disturbed"])
    first_row = berth_row(first)

    def lab(text, mode, n):
        return f"{text} (icount sleep={mode}, median of {n})"

    figures = {
        "boot_kernel_to_init_ms": fig(kernel_ms, "ms", lab("Berth: kernel start to the kernel running /sbin/init",
                                                           kernel_mode, n_on)),
        "boot_kernel_to_init_start_ms": fig(b["init_start"], "ms",
                                            lab("Berth: kernel start to init's own start", late_mode,
                                                len(late_rows))),
        "boot_kernel_to_init_ready_ms": fig(b["init_ready"], "ms",
                                            lab("Berth: kernel start to init ready (\"all services started\")",
                                                late_mode, len(late_rows))),
        "boot_kernel_to_berthd_ready_ms": fig(b["berthd_ready"], "ms",
                                              lab("Berth: kernel start to berthd ready", late_mode,
                                                  len(late_rows))),
        "boot_kernel_to_all_services_ms": fig(b["all_running"], "ms",
                                              lab(f"Berth: kernel start to all {stack.SERVICES} services running "
                                                  "(\"all services up\")", late_mode, len(late_rows))),
        "boot_kernel_to_db_healthy_ms": fig(b["db_healthy"], "ms",
                                            lab("Berth: kernel start to the stack's db healthy", late_mode,
                                                len(late_rows))),
        "boot_spread_sleep_off_pct": fig(off_worst, "%",
                                         f"Berth, sleep=off: largest (max-min)/median of any milestone over {n_off} "
                                         "boots of one disk"),
        "boot_first_boot_all_services_ms": fig(first_row["all_running"], "ms",
                                               "first boot (DATA created, image imported): kernel start to all "
                                               "services running (sleep=on, one boot)"),
        "boot_debian_kernel_to_init_ms": fig(dm["init_start"][0], "ms",
                                             lab("Debian generic kernel: kernel start to running the initramfs's "
                                                 "/init", "off", n_deb)),
        "boot_debian_kernel_to_shell_ms": fig(dm["shell"][0], "ms",
                                              lab("Debian generic kernel: kernel start to the BusyBox shell", "off",
                                                  n_deb)),
        "boot_wall_bios_s": fig(round(med(bios), 1), "s",
                                f"wall clock, QEMU start to Berth's shell prompt, SeaBIOS (plain TCG, 2 vCPUs, "
                                f"median of {len(bios)})"),
        "boot_wall_bios_first_s": fig(round(bios_first, 1), "s", "same, first boot of a fresh image (SeaBIOS)"),
    }
    if on_worst is not None:
        figures["boot_spread_sleep_on_pct"] = fig(on_worst, "%", f"Berth, sleep=on (the figures' mode): largest "
                                                                 f"(max-min)/median of any milestone over {n_on} "
                                                                 "boots of one disk")
    if len(deb) > 1:
        figures["boot_debian_spread_pct"] = fig(max(dm["init_start"][1], dm["shell"][1]), "%",
                                                f"Debian kernel: (max-min)/median over {n_deb} boots (sleep=off)")
    if uefi:
        figures["boot_wall_uefi_s"] = fig(round(med(uefi), 1), "s",
                                          f"wall clock, QEMU start to Berth's shell prompt, OVMF (plain TCG, "
                                          f"2 vCPUs, median of {len(uefi)})")
        figures["boot_wall_uefi_first_s"] = fig(round(uefi_first, 1), "s",
                                                "same, first boot of a fresh image (OVMF)")

    def trow(label, mode, r):
        return [label, mode] + [r[k] for k in BERTH_COLS] + ["yes" if r.get("disturbed") else "no"]

    rows = [trow("first boot", "on", dict(first_row, disturbed=first["disturbed"]))]
    rows += [trow(f"boot {i + 1}", "off", r) for i, r in enumerate(off)]
    rows += [trow(f"boot {i + 1}", "on", r) for i, r in enumerate(on)]
    rows.append(["spread %", "off"] + [off_s[k][1] for k in BERTH_COLS] + [""])
    if len(on) > 1:
        rows.append(["spread %", "on"] + [on_s[k][1] for k in BERTH_COLS] + [""])
    deb_rows = [[f"boot {i + 1}", "off", r["initrd_done"], r["init_start"], r["shell"], r["wall_s"]]
                for i, r in enumerate(deb)]
    deb_rows += [[f"boot {i + 1}", "on", r["initrd_done"], r["init_start"], r["shell"], r["wall_s"]]
                 for i, r in enumerate(deb_on)]
    if len(deb) > 1:
        deb_rows.append(["spread %", "off", "", dm["init_start"][1], dm["shell"][1], ""])
    if len(deb_on) > 1:
        deb_rows.append(["spread %", "on", "", dm_on["init_start"][1], dm_on["shell"][1], ""])
    wall_rows = [["SeaBIOS (bios)", round(bios_first, 1)] + [round(x, 1) for x in bios]]
    if uefi:
        wall_rows.append(["OVMF (uefi)", round(uefi_first, 1)] + [round(x, 1) for x in uefi])

    db_running = round(med([r["db_running"] for r in late_rows]), 1)
    timeline = {
        "Berth": [["kernel", 0.0, kernel_ms],
                  ["init (to its banner)", b["init_start"], b["init_ready"]],
                  ["berthd start-up", b["berthd_started"], b["berthd_ready"]],
                  ["containers starting", b["berthd_ready"], b["all_running"]],
                  ["db healthcheck", db_running, b["db_healthy"]]],
        "Debian generic kernel": [["kernel", 0.0, dm["init_start"][0]],
                                  ["initramfs init to shell", dm["init_start"][0], dm["shell"][0]]],
    }

    if initrd_kind == "debian":
        initrd_text = (f"Debian's own initramfs, made by initramfs-tools' `mkinitramfs` for this kernel with "
                       f"Debian's default initramfs.conf (MODULES=most, COMPRESS=zstd) and BUSYBOX=y "
                       f"({initrd_size // 1024} KiB, with udev); the kernel's modules come from the extracted "
                       "package (depmod'ed in place, bind-mounted at /lib/modules/VERSION in a private mount "
                       "namespace). The command line is `console=ttyS0,115200 quiet break=mount ENV=/benchrc`: "
                       "Debian's init runs init-top (udev), loads modules, runs init-premount, then `break=mount` "
                       "stops it before mounting a root file system and starts its BusyBox `sh -i` (prompt "
                       "`(initramfs)`). A hook adds /benchrc, the shell's $ENV file, which writes \"bench: "
                       "initramfs shell\" to /dev/kmsg: the shell milestone. No disk is attached.")
    else:
        initrd_text = (f"mkinitramfs could not be used ({initrd_error}), so the baseline has a minimal initramfs "
                       f"instead of Debian's: a newc cpio ({initrd_size // 1024} KiB gzip) with Berth's static "
                       "BusyBox, whose /init mounts proc, sysfs and devtmpfs, installs the applet links and starts "
                       "`sh -i` with $ENV=/benchrc, which writes \"bench: initramfs shell\" to /dev/kmsg. This is "
                       "lighter than Debian's real initramfs (no udev, no module loading).")
    if off_worst >= LIMIT:
        off_text = (f"Measured here: over {n_off} boots of the same disk with sleep=off, the milestones varied by up "
                    f"to {off_worst}% ((max-min)/median; the kernel phase alone, kernel start to \"Run /sbin/init\", "
                    f"by {off_s['run_init'][1]}%).")
    else:
        off_text = (f"In this run the {n_off} sleep=off boots of the same disk happened to agree within {off_worst}% "
                    "((max-min)/median), but that is luck, not a property: one idle wait on the disk that falls "
                    "differently jumps the clock by up to a timer period (see the sleep=off rows).")
    mode_text = (
        f"{off_text} The kernel reads the disk (partition scan, the erofs root), init writes its random seed and "
        "DATA's journal, berthd writes its store; whenever the vCPU idles for such a request, sleep=off jumps the "
        "clock to the next timer, however long before that the disk would have answered. **So sleep=off is not "
        "workable for any phase of Berth's boot, which has a disk from the first instruction; every Berth figure "
        f"uses sleep=on** (median of {n_on} boots): the disk waits (short, `cache=unsafe`) cost their real length, "
        "timers (the healthcheck's interval) their length, and the rest is instruction-counted. Those times are "
        "therefore stable only to the spread measured over the sleep=on boots: "
        f"{on_worst if on_worst is not None else 'n/a (one boot)'}% (largest (max-min)/median of any milestone). "
        "**The Debian baseline uses sleep=off**: it has no disk (its initramfs is in RAM), so nothing it waits for "
        "is outside the guest; its sleep=on boots are listed as a cross-check "
        f"(kernel start to shell: median {dm['shell'][0]} ms with sleep=off"
        + (f", {dm_on['shell'][0]} ms with sleep=on" if dm_on else "") + ").")
    method = f"""\
**Guest time.** QEMU TCG with `-icount shift=0`, q35, one vCPU (icount runs one), {MEMORY} MiB, the system disk with
`cache=unsafe`. With icount the guest's clock advances one nanosecond per instruction while the vCPU runs. When it is
idle, `sleep=off` jumps the clock to the next timer (time counts instructions only, independent of the build machine's
load), `sleep=on` lets it advance by real time. All milestones are the guest kernel's own log timestamps, in ms from
the kernel's start (its clock's 0; firmware, GRUB and decompression come before and are counted in neither system):
the kernel's "Run /sbin/init", init's "init started at X s", init's banner "all services started at X s" (init ready),
"init: started berthd", berthd's "ready", "NAME: running" per service and "db: healthy" (the stack's healthcheck), read
with `hostlog` over ssh. The log is read only once the stack is up; the first ssh connection's log line is checked to
come after the last milestone (column "ssh before end": "no" means ssh did not disturb the boot).

**The image.** The reference stack of bench/stack.py ({stack.SERVICES} services, `db` with a healthcheck every
{stack.HEALTH_INTERVAL_MS} ms that api1..3 wait for, web1..2 after them) is in CONFIG. The disk boots once ("first
boot", sleep=on: DATA is created, the image imported), is powered off cleanly, and every measured boot starts from a
fresh copy of that disk: the same image, booted {n_off} times with sleep=off and {n_on} times with sleep=on.

**Which mode, and why.** bench/benchvm.py warns that with sleep=off an idle wait for the disk can cost an arbitrary
time. {mode_text}

**Baseline.** Debian's generic kernel, {DEBIAN_PKG} (6.1.192-2, pinned in bench/bench.pins, fetched with rootfs/fetch),
started by QEMU's `-kernel`/`-initrd` on the same machine (q35, one vCPU, {MEMORY} MiB, icount sleep=off). {initrd_text}
Its milestones are that kernel's log timestamps: "Run /init as init process" and the shell's mark, which the shell then
prints with `dmesg` on the console. Berth's kernel logs to the console at loglevel 5, Debian's with `quiet` (4): both
print little on the serial port. The comparable kernel phase is kernel start to "Run ... as init process" on both.

**Wall clock.** Plain TCG (no icount), two vCPUs, 256 MiB, as qemu-tests/berthvm.py boots: time from starting QEMU to
the console's shell prompt (init's banner "Berth ... - up in", a newline, then the prompt), with SeaBIOS and with
OVMF (UEFI). One fresh copy of out/berth.img per firmware (no CONFIG, so no containers): its first boot (DATA
created), then {n_wall} more boots of the same disk, each ended by `poweroff`. This includes firmware, GRUB and the
kernel's decompression, and is wall time on a shared 2-core build machine (load average {load0[0]:.1f} before,
{load1[0]:.1f} after): it varies with the load, unlike the guest times."""
    if uefi_error:
        method += f"\n\nThe UEFI boot failed: {uefi_error}"
    if disturbed:
        method += (f"\n\n**Warning:** in {disturbed} boot(s) an ssh connection came before the last milestone "
                   "(marked in the table).")
    return {
        "name": "boot",
        "title": "Boot: kernel to a healthy stack, against Debian's generic kernel",
        "method": method,
        "figures": figures,
        "tables": [
            {"title": "Berth boot milestones (ms from kernel start, guest clock, icount)",
             "columns": ["boot", "sleep", "kernel runs init", "init start", "init ready", "berthd started",
                         "berthd ready", "first running", "db healthy", f"all {stack.SERVICES} running",
                         "ssh before end"],
             "rows": rows,
             "note": "Same disk (after one first boot) copied fresh for every boot. api1..3 and web1..2 wait for "
                     "db's healthcheck, so 'all running' comes after 'db healthy'. Spread: (max-min)/median in %."},
            {"title": "Debian generic kernel to a BusyBox shell (ms from kernel start, icount)",
             "columns": ["boot", "sleep", "initramfs unpacked", "/init start", "shell", "wall s"],
             "rows": deb_rows,
             "note": f"initramfs: {'Debian mkinitramfs' if initrd_kind == 'debian' else 'minimal BusyBox'}, "
                     f"{initrd_size // 1024} KiB. 'initramfs unpacked' is the kernel's \"Freeing initrd memory\": "
                     "most of the kernel phase is unpacking the compressed initramfs; wall s is the wall time of "
                     "the whole icount boot."},
            {"title": "Wall clock to Berth's shell prompt (s, plain TCG, 2 vCPUs)",
             "columns": ["firmware", "first boot"] + [f"boot {i + 2}" for i in range(n_wall)],
             "rows": wall_rows,
             "note": "Wall time on a shared build machine: indicative only."},
        ],
        "timeline": timeline,
    }


if __name__ == "__main__":
    benchvm.standalone(run)
