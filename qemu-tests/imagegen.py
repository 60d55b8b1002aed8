"""Container images for the QEMU tests, made offline from the image's own
static BusyBox: a root filesystem with every applet, /etc/passwd and
/etc/group, as an OCI image layout tar or a `docker save` tar, with the
image config a test asks for (Entrypoint, Cmd, Healthcheck, ...). Layers
are plain tars, deterministic (fixed mtimes and owners)."""
import hashlib
import io
import json
import os
import tarfile

MTIME = 1700000000


def _tar(entries):
    """entries: (name, kind, data_or_target, mode, uid, gid) in order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data, mode, uid, gid in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = MTIME
            ti.mode = mode
            ti.uid, ti.gid = uid, gid
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = data
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def busybox_layer(busybox, applets, files=None):
    """A root filesystem: /bin/busybox and a symlink per applet."""
    entries = []
    for d, mode in (("bin", 0o755), ("etc", 0o755), ("tmp", 0o1777), ("root", 0o700), ("home", 0o755),
                    ("var", 0o755), ("proc", 0o755), ("sys", 0o755), ("dev", 0o755), ("data", 0o755)):
        entries.append((d, "dir", None, mode, 0, 0))
    entries.append(("bin/busybox", "file", open(busybox, "rb").read(), 0o755, 0, 0))
    for a in sorted(set(applets)):
        if a != "busybox":
            entries.append(("bin/" + a, "symlink", "busybox", 0o777, 0, 0))
    entries.append(("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n"
                    b"app:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
                    0o644, 0, 0))
    entries.append(("etc/group", "file", b"root:x:0:\napp:x:1000:\nnogroup:x:65534:\n", 0o644, 0, 0))
    for name, data in sorted((files or {}).items()):
        entries.append((name, "file", data if isinstance(data, bytes) else data.encode(), 0o755, 0, 0))
    return _tar(entries)


def layer(files):
    """A layer of extra files {path: content}; content may also be a dict
    {"data": ..., "uid": N, "mode": M} or {"dir": True, "uid": N, "mode": M}."""
    entries = []
    for n, d in sorted(files.items()):
        if isinstance(d, dict):
            uid = d.get("uid", 0)
            if d.get("dir"):
                entries.append((n, "dir", None, d.get("mode", 0o755), uid, uid))
            else:
                data = d["data"] if isinstance(d["data"], bytes) else d["data"].encode()
                entries.append((n, "file", data, d.get("mode", 0o644), uid, uid))
        else:
            entries.append((n, "file", d if isinstance(d, bytes) else d.encode(), 0o755, 0, 0))
    return _tar(entries)


def _sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def config(layers, **cfg):
    """An image config; cfg holds Docker's config keys (Cmd, Entrypoint...)."""
    c = {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]}
    c.update(cfg)
    return json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-01-02T03:04:05Z",
        "config": c,
        "rootfs": {"type": "layers", "diff_ids": [_sha(l) for l in layers]},
    }, sort_keys=True).encode()


def _tar_files(path, files):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.mtime = MTIME
            ti.mode = 0o644
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


def oci_tar(path, images):
    """images: [(name, layers, config_bytes)] into one OCI layout tar."""
    blobs = {}
    manifests = []
    for name, layers, cfg in images:
        for b in layers + [cfg]:
            blobs[_sha(b)] = b
        m = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _sha(cfg),
                       "size": len(cfg)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": _sha(l),
                        "size": len(l)} for l in layers],
        }, sort_keys=True).encode()
        blobs[_sha(m)] = m
        manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": _sha(m),
                          "size": len(m), "annotations": {"io.containerd.image.name": name}})
    index = json.dumps({"schemaVersion": 2, "manifests": manifests}, sort_keys=True).encode()
    files = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index)]
    files += [("blobs/sha256/" + d[7:], b) for d, b in sorted(blobs.items())]
    _tar_files(path, files)


def docker_tar(path, images):
    """images: [(name, layers, config_bytes)] into one legacy docker save tar."""
    files = []
    manifest = []
    seen = set()
    for name, layers, cfg in images:
        cfg_name = _sha(cfg)[7:] + ".json"
        layer_names = []
        for l in layers:
            ln = _sha(l)[7:] + "/layer.tar"
            layer_names.append(ln)
            if ln not in seen:
                seen.add(ln)
                files.append((ln, l))
        if cfg_name not in seen:
            seen.add(cfg_name)
            files.append((cfg_name, cfg))
        manifest.append({"Config": cfg_name, "RepoTags": [name], "Layers": layer_names})
    files.insert(0, ("manifest.json", json.dumps(manifest).encode()))
    _tar_files(path, files)


def applets(busybox):
    """The applets a BusyBox binary has (asks it)."""
    import subprocess
    r = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True)
    return r.stdout.split()


# The image's own BusyBox, as the build leaves it.
BUSYBOX = os.path.join(os.environ.get("BERTH_OUT", os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "out")), "pkg", "busybox", "busybox")


def busybox_config_files(workdir, compose, name="busybox", extra_layers=()):
    """CONFIG partition files for a stack of NAME:latest (every BusyBox
    applet, then extra_layers): compose.yaml and images/NAME.tar."""
    layers = [busybox_layer(BUSYBOX, applets(BUSYBOX)), *extra_layers]
    tar = os.path.join(workdir, f"{name}.tar")
    oci_tar(tar, [(f"{name}:latest", layers, config(layers))])
    with open(tar, "rb") as f:
        return {"compose.yaml": compose, f"images/{name}.tar": f.read()}
