#!/usr/bin/python3
"""Write a directory tree as a one-layer OCI image archive (an OCI image
layout in a tar, with docker save's manifest.json beside it), the form
Berth loads from CONFIG's images/ and `docker load` takes.

The archive is reproducible: entries sorted, owned by root, every time
SOURCE_DATE_EPOCH, gzip without a name or time; the same tree and options
give the same bytes, so the image's digest says what went into it.

  ocitar.py TREE OUTPUT.tar --name REPO:TAG [--entrypoint JSON]
            [--cmd JSON] [--env K=V]... [--workdir DIR] [--label K=V]...
"""

import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def normalise(epoch):
    def fix(info):
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = epoch
        info.pax_headers = {}
        return info
    return fix


def layer_tar(tree, epoch):
    """The layer, uncompressed: every entry of tree, sorted by path."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        fix = normalise(epoch)
        for name in sorted(os.listdir(tree)):
            # tarfile.add walks directories in sorted order itself.
            tar.add(os.path.join(tree, name), arcname=name, filter=fix)
    return buf.getvalue()


def gzipped(data):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buf.getvalue()


def sha(data):
    return hashlib.sha256(data).hexdigest()


def pairs(items, what):
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            sys.exit(f"ocitar.py: {what} '{item}' is not KEY=VALUE")
        out[key] = value
    return out


def image_config(args, diff_id, epoch):
    cfg = {"Env": args.env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
    if args.entrypoint:
        cfg["Entrypoint"] = json.loads(args.entrypoint)
    if args.cmd:
        cfg["Cmd"] = json.loads(args.cmd)
    if args.workdir:
        cfg["WorkingDir"] = args.workdir
    labels = pairs(args.label, "--label")
    if labels:
        cfg["Labels"] = labels
    created = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
        "history": [{"created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "created_by": "image-build/engine/ocitar.py"}],
    }


def add_bytes(tar, name, data, epoch):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = epoch
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def add_dir(tar, name, epoch):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.mtime = epoch
    tar.addfile(info)


def canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("tree")
    p.add_argument("output")
    p.add_argument("--name", required=True)
    p.add_argument("--entrypoint")
    p.add_argument("--cmd")
    p.add_argument("--env", action="append")
    p.add_argument("--workdir")
    p.add_argument("--label", action="append")
    args = p.parse_args()
    repo, sep, tag = args.name.rpartition(":")
    if not sep or not repo or not tag or "/" in tag:
        sys.exit(f"ocitar.py: --name '{args.name}' is not REPOSITORY:TAG")
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))

    raw = layer_tar(args.tree, epoch)
    diff_id = sha(raw)
    layer = gzipped(raw)
    config = canon(image_config(args, diff_id, epoch))
    manifest = canon({
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": "sha256:" + sha(config), "size": len(config)},
        "layers": [{"mediaType": MEDIA_LAYER, "digest": "sha256:" + sha(layer), "size": len(layer)}],
    })
    index = canon({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": MEDIA_MANIFEST,
            "digest": "sha256:" + sha(manifest),
            "size": len(manifest),
            "annotations": {
                "io.containerd.image.name": args.name,
                "org.opencontainers.image.ref.name": tag,
            },
        }],
    })
    # docker save's index, so that `docker load` names the image too.
    docker_manifest = canon([{
        "Config": "blobs/sha256/" + sha(config),
        "RepoTags": [args.name],
        "Layers": ["blobs/sha256/" + sha(layer)],
    }])

    tmp = args.output + ".tmp"
    with open(tmp, "wb") as f:
        with tarfile.open(fileobj=f, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            add_bytes(tar, "oci-layout", canon({"imageLayoutVersion": "1.0.0"}), epoch)
            add_bytes(tar, "index.json", index, epoch)
            add_bytes(tar, "manifest.json", docker_manifest, epoch)
            add_dir(tar, "blobs", epoch)
            add_dir(tar, "blobs/sha256", epoch)
            for blob in sorted([config, manifest, layer], key=sha):
                add_bytes(tar, "blobs/sha256/" + sha(blob), blob, epoch)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, args.output)
    print(f"{args.output}: {args.name}, layer {len(layer)} bytes, manifest sha256:{sha(manifest)}")


if __name__ == "__main__":
    main()
