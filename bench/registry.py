"""Pulls from a registry: a ~100 MB image of five layers (BusyBox and four
layers of incompressible data, gzip) from Debian's docker-registry on the
loopback over TLS, pulled by out/host/berth into a store (downloaded,
verified, decompressed and unpacked, three layers at a time) and copied by
skopeo into an OCI layout (downloaded and verified; skopeo neither
decompresses nor unpacks), in the same run, alternating; the throughput of
each, their ratio, and each one's peak RSS. Also what the HTTP/TLS stack
adds to the root image: a static GET client over the same libcurl and
wolfSSL, and the CA bundle, as erofs stores them (lz4hc)."""
import os
import shutil
import subprocess
import tempfile

import benchvm
from benchvm import fig, med

import registryfix as rf

LAYER_MB = 24
GET_C = r"""
#include <curl/curl.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, argv[1]);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	if (argc > 2)
		curl_easy_setopt(e, CURLOPT_CAINFO, argv[2]);
	return curl_easy_perform(e) != CURLE_OK;
}
"""
EMPTY_C = "int main(void) { return 0; }\n"


def timed(ctx, args):
    """Runs args under timeit; (seconds, peak RSS in KiB). Not from here:
    a child forked from this Python process, which holds the image, would
    report Python's resident set (Linux keeps the peak across exec)."""
    r = subprocess.run([benchvm.tool(ctx, "timeit"), "-q", "-n", "1", "--", *args], capture_output=True, text=True)
    if r.returncode != 0:
        again = subprocess.run(args, capture_output=True, text=True)
        raise RuntimeError(f"registry: {' '.join(args)} failed: {(again.stderr or r.stderr)[-2000:]}")
    lines = r.stdout.split()
    return int(lines[0]) / 1e6, int(lines[lines.index("maxrss_kib") + 1])


def lz4hc(path):
    r = subprocess.run(["lz4", "-9", "-c", path], capture_output=True, check=True)
    return len(r.stdout)


def stack_size(ctx, tmp):
    """Bytes a static GET client over libcurl and wolfSSL takes beyond an
    empty static program, raw and lz4hc-compressed."""
    cc = os.path.join(ctx.out, "toolchain", "cc")
    flags = ["-Os", "-fPIE", "-ffunction-sections", "-fdata-sections", "-static-pie", "-Wl,--gc-sections", "-s"]
    sizes = {}
    for name, src, libs in (("get", GET_C, [os.path.join(ctx.out, "pkg", "curl", "musl", "libcurl.a"),
                                             os.path.join(ctx.out, "pkg", "wolfssl", "musl", "libwolfssl.a")]),
                            ("empty", EMPTY_C, [])):
        c = os.path.join(tmp, name + ".c")
        with open(c, "w") as f:
            f.write(src)
        exe = os.path.join(tmp, name)
        subprocess.run([cc, *flags, "-I" + os.path.join(ctx.out, "pkg", "curl", "include"), "-o", exe, c, *libs],
                       check=True, capture_output=True)
        sizes[name] = (os.path.getsize(exe), lz4hc(exe))
    return sizes["get"][0] - sizes["empty"][0], sizes["get"][1] - sizes["empty"][1], sizes["get"][0]


def run(ctx):
    berth = os.path.join(ctx.out, "host", "berth")
    busybox = os.path.join(ctx.out, "pkg", "busybox", "busybox")
    bundle = os.path.join(ctx.out, "pkg", "ca-certificates", "ca-certificates.crt")
    for p in (berth, busybox, bundle):
        if not os.path.exists(p):
            raise RuntimeError(f"registry: {p} is missing (run make first)")
    rounds = 1 if ctx.quick else 3
    tmp = tempfile.mkdtemp(prefix="berth-bench-registry-", dir=ctx.workdir)
    reg = None
    try:
        ctx.log("registry: a ~100 MB image, pushed with skopeo")
        pki = rf.Pki(os.path.join(tmp, "pki"))
        reg = rf.Registry(tmp, "reg", pki)
        layers = rf.busybox_layers(busybox, extra_layers=4, extra_size=LAYER_MB << 20)
        _, blobs = rf.oci_layout(os.path.join(tmp, "layout"), "1", {"amd64": layers})
        blob_bytes = sum(len(b) for b in blobs.values())
        reg.push(os.path.join(tmp, "layout"), "bench/big:1")
        ref = f"{reg.host}/bench/big:1"
        cfg = os.path.join(tmp, "config")
        os.makedirs(os.path.join(cfg, "certs.d", reg.host))
        shutil.copy(pki.ca, os.path.join(cfg, "certs.d", reg.host, "ca.crt"))
        berth_runs = []
        skopeo_runs = []
        for i in range(rounds):
            store = os.path.join(tmp, f"store{i}")
            berth_runs.append(timed(ctx, [berth, "--root", store, "--config", cfg, "pull", ref]))
            shutil.rmtree(store)
            dest = os.path.join(tmp, f"oci{i}")
            skopeo_runs.append(timed(ctx, ["skopeo", "--insecure-policy", "copy", "--quiet", "--src-cert-dir",
                                           pki.cert_dir(), f"docker://{ref}", f"oci:{dest}:1"]))
            shutil.rmtree(dest)
            ctx.log(f"registry: round {i + 1}: berth {berth_runs[-1][0]:.2f} s, skopeo {skopeo_runs[-1][0]:.2f} s")
        get_raw, get_lz4, get_total = stack_size(ctx, tmp)
        bundle_raw, bundle_lz4 = os.path.getsize(bundle), lz4hc(bundle)
    finally:
        if reg is not None:
            reg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    mb = blob_bytes / 1e6
    b_s = med([t for t, _ in berth_runs])
    s_s = med([t for t, _ in skopeo_runs])
    figures = {
        "pull_image_mb": fig(round(mb, 1), "MB", "the image pulled: its blobs (5 layers, gzip, and the config)"),
        "pull_berth_s": fig(round(b_s, 2), "s", "berth --root pull over TLS on the loopback (median)"),
        "pull_skopeo_s": fig(round(s_s, 2), "s", "skopeo copy to an OCI layout, same registry (median)"),
        "pull_berth_mbs": fig(round(mb / b_s, 1), "MB/s", "berth pull throughput (blob bytes / wall time)"),
        "pull_skopeo_mbs": fig(round(mb / s_s, 1), "MB/s", "skopeo copy throughput"),
        "pull_berth_over_skopeo": fig(round(s_s / b_s, 2), "x",
                                      "berth's throughput / skopeo's (above 1: berth faster)"),
        "pull_berth_rss_kib": fig(max(r for _, r in berth_runs), "KiB", "berth pull peak RSS"),
        "pull_skopeo_rss_kib": fig(max(r for _, r in skopeo_runs), "KiB", "skopeo copy peak RSS"),
        "http_tls_stack_bytes": fig(get_raw, "bytes",
                                    "libcurl + wolfSSL in a static program (a GET client minus an empty one)"),
        "http_tls_stack_lz4hc_bytes": fig(get_lz4, "bytes", "the same, lz4hc-compressed as in the erofs root"),
        "ca_bundle_bytes": fig(bundle_raw, "bytes", "Debian's CA bundle (/etc/ssl/certs/ca-certificates.crt)"),
        "ca_bundle_lz4hc_bytes": fig(bundle_lz4, "bytes", "the CA bundle, lz4hc-compressed"),
        "registry_root_image_bytes": fig(get_lz4 + bundle_lz4, "bytes",
                                         "what the HTTP/TLS stack and the CA bundle add to the root image"),
    }
    method = f"""\
A TLS registry (Debian's docker-registry, its own CA) on 127.0.0.1 serves one image of {mb:.0f} MB: BusyBox
and four layers of {LAYER_MB} MiB of incompressible bytes each, gzip, pushed with skopeo. Each of {rounds}
round(s) runs `out/host/berth --root STORE --config CFG pull` into an empty store, then `skopeo copy
docker://... oci:DIR` into an empty layout, one after the other on the same registry. Berth downloads three
layers at a time, verifies every digest as it streams, decompresses and unpacks each layer into the store
(and keeps its blob, as `--root` stores do); skopeo downloads and verifies but neither decompresses nor
unpacks, so it does less work per byte. Throughput is blob bytes over wall time (median); peak RSS is the
command's ru_maxrss (through bench/tools/timeit). The TLS suite is the client's first choice the server
has: ChaCha20-Poly1305 for berth (wolfSSL without assembly), AES-GCM with AES-NI for skopeo (Go). The root
image cost is measured on a static GET client linked with the same libcurl ({get_total} bytes) minus an
empty static program, both stripped, raw and as lz4hc (how the erofs root compresses files); the registry
client's own code in the berth binary comes on top. Loopback only: this measures the client, not a
network."""
    return {
        "name": "registry",
        "title": "Registry pulls: berth against skopeo, and the HTTP/TLS stack's size",
        "method": method,
        "figures": figures,
        "tables": [{"title": "Rounds (seconds, peak RSS KiB)", "columns": ["round", "berth s", "berth RSS",
                                                                            "skopeo s", "skopeo RSS"],
                    "rows": [[i + 1, round(b[0], 2), b[1], round(s[0], 2), s[1]]
                             for i, (b, s) in enumerate(zip(berth_runs, skopeo_runs))]}],
    }


if __name__ == "__main__":
    benchvm.standalone(run)
