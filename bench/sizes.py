"""Sizes of what Berth ships: the kernel, the root image, the disk image
(raw and compressed qcow2), each program, and the largest files in the
root image, from the build's own outputs (no VM). Other systems' sizes are
their published figures, cited with their source; none was measured here."""
import os
import shutil
import subprocess
import tempfile

import benchvm
from benchvm import fig

# Published figures of other container hosts. Only what their own
# documentation or source states; a system with no published figure says so.
PUBLISHED = [
    ("Talos Linux", "less than 100 MB of disk space for the OS itself; minimum 1 GiB memory (worker), "
     "2 GiB (control plane)",
     "Sidero Labs, Talos system requirements: https://docs.siderolabs.com/talos/v1.14/getting-started "
     "(also talos.dev/v1.10/introduction/system-requirements)"),
    ("Bottlerocket", "OS disk image 2 GiB by default, split into two banks with roughly 40% of it for each "
     "root filesystem partition (a partition size, not the size of the content)",
     "bottlerocket-os/bottlerocket, tools/buildsys/src/manifest.rs (DEFAULT_OS_IMAGE_SIZE_GIB = 2, and the "
     "image-layout documentation in that file)"),
    ("RancherOS", "boots \"generally in 5-10 seconds\"; at least 512 MB memory (1024 MB to install to disk); "
     "the 1.5.x ISO needs at least 1280 MB to boot",
     "Rancher, RancherOS v1.2 overview: https://rancher.com/docs/os/v1.2/en/; rancher/docs pull request "
     "#1466 (RancherOS v1.5.2 boot-from-ISO page)"),
    ("LinuxKit", "no published size or boot-time figure found for a reference image (the size depends on "
     "the YAML a user builds)", "searched LinuxKit's README, docs and issues"),
]


def du_bytes(path):
    return os.stat(path).st_blocks * 512


def extract_rootfs(image, dest):
    r = subprocess.run(["fsck.erofs", f"--extract={dest}", "--no-preserve", image], capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError(f"sizes: fsck.erofs --extract {image}: {r.stderr.strip()}")


def files_of(root):
    out = []
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            out.append(("/" + os.path.relpath(p, root), os.path.getsize(p)))
    return out


def is_elf(path):
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def run(ctx):
    out = ctx.out
    kernel = os.path.join(out, "kernel", "bzImage")
    rootfs = os.path.join(out, "rootfs.erofs")
    raw = os.path.join(out, "berth.img")
    qcow2 = os.path.join(out, "berth.qcow2")
    for p in (kernel, rootfs, raw, qcow2):
        if not os.path.exists(p):
            raise RuntimeError(f"sizes: {p} is missing (run make first)")
    tmp = tempfile.mkdtemp(prefix="berth-sizes-")
    try:
        extract_rootfs(rootfs, os.path.join(tmp, "root"))
        files = files_of(os.path.join(tmp, "root"))
        programs = sorted(((p, s) for p, s in files if is_elf(os.path.join(tmp, "root", p.lstrip("/")))),
                          key=lambda x: -x[1])
        # The raw image compressed the way one would ship it, for the record.
        zst = os.path.join(tmp, "berth.img.zst")
        subprocess.run(["zstd", "-q", "-19", "-T0", "-o", zst, raw], check=True)
        raw_zst = os.path.getsize(zst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    largest = sorted(files, key=lambda x: -x[1])[:15]
    total_files = sum(s for _, s in files)
    with open(os.path.join(out, "kernel", "config")) as f:
        kconfig = f.read()
    builtin = sum(1 for line in kconfig.splitlines() if line.endswith("=y"))
    modules = sum(1 for line in kconfig.splitlines() if line.endswith("=m"))

    figures = {
        "kernel_bytes": fig(os.path.getsize(kernel), "bytes", "kernel (bzImage, no modules, no initramfs)"),
        "rootfs_bytes": fig(os.path.getsize(rootfs), "bytes", "root filesystem image (erofs, read-only)"),
        "rootfs_content_bytes": fig(total_files, "bytes", "root filesystem content (sum of regular files)"),
        "disk_raw_bytes": fig(os.path.getsize(raw), "bytes", "raw disk image, apparent size (partitions laid out)"),
        "disk_raw_allocated_bytes": fig(du_bytes(raw), "bytes", "raw disk image, blocks allocated (sparse file)"),
        "disk_qcow2_bytes": fig(os.path.getsize(qcow2), "bytes", "qcow2 disk image (compressed), the download"),
        "disk_raw_zstd_bytes": fig(raw_zst, "bytes", "raw disk image compressed with zstd -19"),
        "programs_bytes": fig(sum(s for _, s in programs), "bytes",
                              f"all {len(programs)} executables of the root image"),
    }
    for p, s in programs:
        figures[f"program_{os.path.basename(p)}_bytes"] = fig(s, "bytes", f"{p} (static)")
    method = f"""\
Sizes of the build's outputs in `out/`: `kernel/bzImage`, `rootfs.erofs`, `berth.img` (apparent size and
allocated blocks of the sparse file), `berth.qcow2` (compressed qcow2 as built), and the raw image compressed
with `zstd -19`. The root image is unpacked with `fsck.erofs --extract` to list its files; executables are
the ELF files among them (all static, musl). The kernel config has {builtin} options built in and {modules}
modules. The other systems' figures are from their own documentation or source, cited; they were not
measured here and measure different things (an OS partition size is not the size of its content)."""
    return {
        "name": "sizes",
        "title": "Size: kernel, root image, disk image, programs",
        "method": method,
        "figures": figures,
        "tables": [
            {"title": "Executables in the root image (bytes)", "columns": ["path", "bytes"],
             "rows": [[p, s] for p, s in programs]},
            {"title": "The 15 largest files in the root image (bytes)", "columns": ["path", "bytes"],
             "rows": [[p, s] for p, s in largest]},
            {"title": "Published figures of other container hosts (not measured here)",
             "columns": ["system", "published figure", "source"], "rows": [list(x) for x in PUBLISHED],
             "note": f"Berth for comparison: the whole download (qcow2) is "
                     f"{os.path.getsize(qcow2) / 1e6:.1f} MB, the kernel {os.path.getsize(kernel) / 1e6:.1f} MB "
                     f"and the root image {os.path.getsize(rootfs) / 1e6:.1f} MB; memory: see the memory section."},
        ],
    }


if __name__ == "__main__":
    benchvm.standalone(run)
