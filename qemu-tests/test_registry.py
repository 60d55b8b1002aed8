"""Images from registries, as users pull them: a real registry (Debian's
docker-registry) on the loopback with a CA of its own, fixture images
pushed with skopeo, pulled into a store on the build machine with
out/host/berth --root (no berthd, no root needed for the registry side),
and into a Berth VM that reaches the registries at 10.0.2.100: at boot for
its compose services, and with `berth pull` over ssh. Basic auth, a bearer
token flow, a manifest list, a blob that does not match its digest, a
connection cut in the middle of a layer, the wrong CA, a mirror that is
down, and credentials kept out of every output and log."""
import base64
import json
import os
import pty
import re
import shutil
import subprocess
import time

import pytest

import registryfix as rf
from sshhost import SshHost, free_port

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("BERTH_OUT", os.path.join(TOP, "out"))
BERTH = os.path.join(OUT, "host", "berth")
BUSYBOX = os.path.join(OUT, "pkg", "busybox", "busybox")

BASIC_USER, BASIC_PASS = "alice", "basic-s3cret-pw"
TOKEN_USER, TOKEN_PASS = "bob", "token-s3cret-pw"
SECRETS = [BASIC_PASS, TOKEN_PASS,
           base64.b64encode(f"{BASIC_USER}:{BASIC_PASS}".encode()).decode(),
           base64.b64encode(f"{TOKEN_USER}:{TOKEN_PASS}".encode()).decode()]

outputs = []  # everything berth printed in this module, for the credentials check


class Env:
    pass


@pytest.fixture(scope="module")
def env(workdir):
    e = Env()
    e.dir = workdir
    e.pki = rf.Pki(os.path.join(workdir, "pki"))
    e.plain = rf.Registry(workdir, "plain", e.pki)
    e.basic = rf.Registry(workdir, "basic", e.pki, auth="htpasswd", users={BASIC_USER: BASIC_PASS})
    e.token = rf.TokenServer(e.pki, "berth-registry", "berth-token", {TOKEN_USER: TOKEN_PASS}, public=["open/app"])
    e.tokreg = rf.Registry(workdir, "token", e.pki, auth="token", token=e.token)
    e.proxy = rf.CutProxy(e.plain.port)
    e.cdn = rf.Registry(workdir, "cdn", e.pki, auth="htpasswd", users={BASIC_USER: BASIC_PASS}, redirect=True)
    layers = rf.busybox_layers(BUSYBOX, extra_layers=3, extra_size=1 << 20)
    e.bb_digest, e.bb_blobs = rf.oci_layout(os.path.join(workdir, "bb"), "v1", {"amd64": layers})
    e.plain.push(os.path.join(workdir, "bb"), "test/bb:v1")
    rf.oci_layout(os.path.join(workdir, "zst"), "1", {"amd64": layers[:2]}, compress="zstd")
    e.plain.push(os.path.join(workdir, "zst"), "test/zst:1")
    marker = {a: rf.imagegen.layer({"arch": a + "\n"}) for a in ("amd64", "arm64")}
    e.multi_digest, _ = rf.oci_layout(os.path.join(workdir, "multi"), "1",
                                      {"arm64": [layers[0], marker["arm64"]], "amd64": [layers[0], marker["amd64"]]})
    e.plain.push(os.path.join(workdir, "multi"), "test/multi:1")
    # Uncompressed, so that the changed byte below is file content that
    # still unpacks: only the digest can tell.
    rf.oci_layout(os.path.join(workdir, "corrupt"), "1", {"amd64": [layers[0], rf.imagegen.layer({"c": "x" * 5000})]},
                  compress="tar")
    e.plain.push(os.path.join(workdir, "corrupt"), "test/corrupt:1")
    # The registry serves what its storage holds: the second layer's blob,
    # changed after the push, no longer matches its digest.
    man = json.load(open(os.path.join(workdir, "corrupt", "index.json")))["manifests"][0]["digest"]
    m = json.load(open(os.path.join(workdir, "corrupt", "blobs", "sha256", man[7:])))
    path = e.plain.blob_path(m["layers"][1]["digest"])
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xff
    open(path, "wb").write(bytes(data))
    e.basic.push(os.path.join(workdir, "bb"), "private/app:1", creds=f"{BASIC_USER}:{BASIC_PASS}")
    e.tokreg.push(os.path.join(workdir, "bb"), "secure/app:1", creds=f"{TOKEN_USER}:{TOKEN_PASS}")
    e.tokreg.push(os.path.join(workdir, "zst"), "open/app:1", creds=f"{TOKEN_USER}:{TOKEN_PASS}")
    e.cdn.push(os.path.join(workdir, "bb"), "cdn/app:1", creds=f"{BASIC_USER}:{BASIC_PASS}")
    yield e
    e.proxy.stop()
    for r in (e.plain, e.basic, e.tokreg, e.cdn):
        r.stop()
    e.token.stop()


def config_dir(e, name, cas=(), host_yaml="", auth=None, ca=None):
    """A CONFIG directory: certs.d/HOST/ca.crt for each host in cas."""
    d = os.path.join(e.dir, "config-" + name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for host in cas:
        os.makedirs(os.path.join(d, "certs.d", host))
        shutil.copy(ca or e.pki.ca, os.path.join(d, "certs.d", host, "ca.crt"))
    with open(os.path.join(d, "host.yaml"), "w") as f:
        f.write(host_yaml)
    if auth:
        with open(os.path.join(d, "auth.json"), "w") as f:
            json.dump({"auths": {h: {"auth": base64.b64encode(c.encode()).decode()} for h, c in auth.items()}}, f)
    return d


def berth(*args, input=None, check=False, timeout=300):
    r = subprocess.run([BERTH, *args], capture_output=True, text=True, input=input, timeout=timeout,
                       stdin=None if input is not None else subprocess.DEVNULL)
    outputs.append(r.stdout + r.stderr)
    if check:
        assert r.returncode == 0, f"berth {' '.join(args)}: {r.stdout}{r.stderr}"
    return r


def store(e, name):
    d = os.path.join(e.dir, "store-" + name)
    shutil.rmtree(d, ignore_errors=True)
    return d


def images(root):
    return berth("--root", root, "images", "--digests", check=True).stdout


def tmp_empty(root):
    return os.listdir(os.path.join(root, "tmp")) == []


# ---- on the build machine ----------------------------------------------------------------


def test_pull_images_save_load(env):
    e = env
    cfg = config_dir(e, "plain", cas=[e.plain.host])
    root = store(e, "plain")
    ref = f"{e.plain.host}/test/bb:v1"
    r = berth("--root", root, "--config", cfg, "pull", ref, check=True)
    # Not a terminal: plain lines, one per layer event.
    assert "\x1b[" not in r.stdout
    assert r.stdout.count("Pull complete") == 4, r.stdout
    assert f"Digest: {e.bb_digest}" in r.stdout
    assert "Downloaded newer image for " + ref in r.stdout
    out = images(root)
    assert re.search(re.escape(ref) + r"\s+" + re.escape(e.bb_digest) + r"\s+[0-9a-f]{12}\s+4\s", out), out
    # Again: nothing to download.
    r = berth("--root", root, "--config", cfg, "pull", ref, check=True)
    assert "Image is up to date" in r.stdout and r.stdout.count("Already exists") == 4, r.stdout
    # By digest.
    r = berth("--root", root, "--config", cfg, "pull", f"{e.plain.host}/test/bb@{e.bb_digest}", check=True)
    assert "up to date" in r.stdout
    # save writes what load (and CONFIG's images/) take: same image ID.
    arch = os.path.join(e.dir, "bb.tar")
    berth("--root", root, "save", "-o", arch, ref, check=True)
    other = store(e, "loaded")
    r = berth("--root", other, "load", "-i", arch, check=True)
    assert f"Loaded image: {ref}" in r.stdout
    ids = [re.findall(r"\s([0-9a-f]{12})\s", images(x)) for x in (root, other)]
    assert ids[0][0] == ids[1][0]
    # ... and a config directory with it in images/ passes config check.
    check_dir = os.path.join(e.dir, "config-saved")
    os.makedirs(os.path.join(check_dir, "images"), exist_ok=True)
    shutil.copy(arch, os.path.join(check_dir, "images", "bb.tar"))
    with open(os.path.join(check_dir, "compose.yaml"), "w") as f:
        f.write(f"services:\n  web:\n    image: {ref}\n    pull_policy: never\n")
    r = berth("config", "check", check_dir)
    assert r.returncode == 0, r.stdout + r.stderr


def test_progress_bars_on_a_terminal(env):
    e = env
    cfg = config_dir(e, "tty", cas=[e.plain.host])
    root = store(e, "tty")
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(BERTH, [BERTH, "--root", root, "--config", cfg, "pull", f"{e.plain.host}/test/bb:v1"])
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    _, status = os.waitpid(pid, 0)
    text = data.decode(errors="replace")
    outputs.append(text)
    assert status == 0, text
    assert "\x1b[" in text and "Downloading [" in text and "Pull complete" in text, text


def test_manifest_list_resolves_to_amd64(env):
    e = env
    cfg = config_dir(e, "multi", cas=[e.plain.host])
    root = store(e, "multi")
    ref = f"{e.plain.host}/test/multi:1"
    berth("--root", root, "--config", cfg, "pull", ref, check=True)
    assert e.multi_digest in images(root)
    layers = os.path.join(root, "layers")
    arch = [open(os.path.join(layers, d, "fs", "arch")).read() for d in os.listdir(layers)
            if os.path.exists(os.path.join(layers, d, "fs", "arch"))]
    assert arch == ["amd64\n"]


def test_zstd_layers(env):
    e = env
    cfg = config_dir(e, "zstd", cas=[e.plain.host])
    root = store(e, "zstd")
    berth("--root", root, "--config", cfg, "pull", f"{e.plain.host}/test/zst:1", check=True)
    assert "test/zst:1" in images(root)


def test_blob_not_matching_its_digest_is_refused(env):
    e = env
    cfg = config_dir(e, "corrupt", cas=[e.plain.host])
    root = store(e, "corrupt")
    r = berth("--root", root, "--config", cfg, "pull", f"{e.plain.host}/test/corrupt:1")
    assert r.returncode == 1
    assert "does not match its digest" in r.stderr, r.stderr
    assert "test/corrupt" not in images(root)
    assert tmp_empty(root)


def test_connection_cut_mid_layer(env):
    e = env
    host = f"127.0.0.1:{e.proxy.port}"
    cfg = config_dir(e, "cut", cas=[host])
    root = store(e, "cut")
    e.proxy.cut = True
    r = berth("--root", root, "--config", cfg, "pull", f"{host}/test/bb:v1")
    assert r.returncode == 1, r.stdout
    assert e.proxy.cuts > 0
    assert "test/bb" not in images(root)
    assert tmp_empty(root)
    # The BusyBox layer (small enough to pass the proxy) was finished and
    # kept; the cut ones left nothing.
    assert r.stdout.count("Pull complete") == 1, r.stdout
    e.proxy.cut = False
    r = berth("--root", root, "--config", cfg, "pull", f"{host}/test/bb:v1", check=True)
    assert "Downloaded newer image" in r.stdout
    # The second pull resumes: the finished layer is not fetched again.
    assert r.stdout.count("Already exists") == 1 and r.stdout.count("Pull complete") == 3, r.stdout
    assert f"Digest: {e.bb_digest}" in r.stdout


def test_blobs_redirected_elsewhere(env):
    """A registry that keeps its blobs elsewhere (S3, a CDN) answers 307:
    the pull follows, verifies what it gets, and does not carry the
    registry's credentials to the other host."""
    e = env
    cfg = config_dir(e, "cdn", cas=[e.cdn.host], auth={e.cdn.host: f"{BASIC_USER}:{BASIC_PASS}"})
    root = store(e, "cdn")
    seen = len(e.cdn.blobserver.gets())
    r = berth("--root", root, "--config", cfg, "pull", f"{e.cdn.host}/cdn/app:1", check=True)
    assert r.stdout.count("Pull complete") == 4, r.stdout
    got = e.cdn.blobserver.gets()[seen:]
    # The config and the four layers came from the blob server.
    assert len(got) == 5, got
    assert all(auth == "" for _, _, auth in got), "credentials went to the redirect's target"
    assert e.bb_digest in images(root)


def test_wrong_ca_is_a_clear_tls_error(env):
    e = env
    root = store(e, "ca")
    ref = f"{e.plain.host}/test/bb:v1"
    for cfg in (config_dir(e, "wrong-ca", cas=[e.plain.host], ca=e.pki.wrong_ca), config_dir(e, "no-ca")):
        r = berth("--root", root, "--config", cfg, "pull", ref)
        assert r.returncode == 1
        assert f"GET https://{e.plain.host}/v2/test/bb/manifests/v1: TLS: the server's certificate is not " \
               "trusted" in r.stderr, r.stderr
        assert "certs.d/HOST:PORT/ca.crt" in r.stderr


def test_plain_http_and_insecure_registries(env):
    """Plain HTTP where Docker allows it: a registry on the loopback; and a
    registry listed in insecure_registries is pulled from without a CA."""
    e = env
    plain_http = rf.Registry(e.dir, "plain-http", e.pki, tls=False)
    try:
        plain_http.push(os.path.join(e.dir, "zst"), "test/zst:1")
        r = berth("--root", store(e, "http"), "--config", config_dir(e, "http"), "pull",
                  f"{plain_http.host}/test/zst:1", check=True)
        assert "Pull complete" in r.stdout
    finally:
        plain_http.stop()
    ref = f"{e.plain.host}/test/zst:1"
    r = berth("--root", store(e, "no-ca"), "--config", config_dir(e, "no-ca"), "pull", ref)
    assert r.returncode == 1 and "not trusted" in r.stderr, r.stderr
    cfg = config_dir(e, "insecure", host_yaml=f"insecure_registries: [{e.plain.host}]\n")
    berth("--root", store(e, "insecure"), "--config", cfg, "pull", ref, check=True)


def test_mirror_down_falls_through_to_upstream(env):
    e = env
    dead = free_port()
    cfg = config_dir(e, "mirror", cas=[e.plain.host],
                     host_yaml=f"registry_mirrors:\n  {e.plain.host}:\n    - https://127.0.0.1:{dead}\n")
    root = store(e, "mirror")
    r = berth("--root", root, "--config", cfg, "pull", f"{e.plain.host}/test/bb:v1", check=True)
    assert "mirror failed, trying the next" in r.stderr and f"127.0.0.1:{dead}" in r.stderr, r.stderr
    # A mirror that works is used first: the registry through the proxy.
    e.proxy.cut = False
    cfg = config_dir(e, "mirror-up", cas=[e.plain.host, f"127.0.0.1:{e.proxy.port}"],
                     host_yaml=f"registry_mirrors:\n  {e.plain.host}: [https://127.0.0.1:{e.proxy.port}]\n")
    root = store(e, "mirror-up")
    r = berth("--root", root, "--config", cfg, "pull", f"{e.plain.host}/test/zst:1", check=True)
    assert "mirror failed" not in r.stderr


def test_proxy_from_host_yaml(env):
    """host.yaml's proxy carries the pulls (CONNECT, its credentials to the
    proxy only); no_proxy passes it by."""
    e = env
    proxy = rf.ConnectProxy()
    try:
        # Credentials in the proxy's URL go to the proxy, and nowhere else.
        yaml = f"proxy:\n  https_proxy: http://{BASIC_USER}:{BASIC_PASS}@127.0.0.1:{proxy.port}\n"
        cfg = config_dir(e, "proxy", cas=[e.plain.host], host_yaml=yaml)
        root = store(e, "proxy")
        r = berth("--root", root, "--config", cfg, "pull", f"{e.plain.host}/test/zst:1", check=True)
        assert "Pull complete" in r.stdout
        targets = [t for t, _ in proxy.requests]
        # The manifest, the config and the two layers, each a CONNECT.
        assert len(targets) >= 4 and set(targets) == {e.plain.host}, proxy.requests
        assert all(a.startswith("Basic ") for _, a in proxy.requests), proxy.requests
        seen = len(proxy.requests)
        cfg = config_dir(e, "no-proxy", cas=[e.plain.host],
                         host_yaml=yaml + "  no_proxy: [localhost, 127.0.0.1]\n")
        berth("--root", store(e, "no-proxy"), "--config", cfg, "pull", f"{e.plain.host}/test/zst:1", check=True)
        assert len(proxy.requests) == seen, proxy.requests[seen:]
        # A proxy that is not there is named as the proxy.
        dead = free_port()
        cfg = config_dir(e, "dead-proxy", cas=[e.plain.host],
                         host_yaml=f"proxy:\n  https_proxy: http://127.0.0.1:{dead}\n")
        r = berth("--root", store(e, "dead-proxy"), "--config", cfg, "pull", f"{e.plain.host}/test/zst:1")
        assert r.returncode == 1 and f"cannot connect to the proxy 127.0.0.1:{dead}" in r.stderr, r.stderr
    finally:
        proxy.stop()


def test_basic_auth(env):
    e = env
    ref = f"{e.basic.host}/private/app:1"
    cfg = config_dir(e, "basic", cas=[e.basic.host])
    root = store(e, "basic")
    r = berth("--root", root, "--config", cfg, "pull", ref)
    assert r.returncode == 1 and f"berth login {e.basic.host}" in r.stderr, r.stderr
    # berth login: checked against the registry, kept mode 0600 with the store.
    r = berth("--root", root, "--config", cfg, "login", "-u", BASIC_USER, "--password-stdin", e.basic.host,
              input="wrong-password\n")
    assert r.returncode == 1 and "refused" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(root, "auth.json"))
    r = berth("--root", root, "--config", cfg, "login", "-u", BASIC_USER, "-p", BASIC_PASS, e.basic.host)
    assert r.returncode == 1 and "--password-stdin" in r.stderr
    r = berth("--root", root, "--config", cfg, "login", "-u", BASIC_USER, "--password-stdin", e.basic.host,
              input=BASIC_PASS + "\n", check=True)
    assert "Login Succeeded" in r.stdout
    assert os.stat(os.path.join(root, "auth.json")).st_mode & 0o777 == 0o600
    berth("--root", root, "--config", cfg, "pull", ref, check=True)
    berth("--root", root, "logout", e.basic.host, check=True)
    # The auths file on CONFIG serves too.
    cfg = config_dir(e, "basic-auth", cas=[e.basic.host], auth={e.basic.host: f"{BASIC_USER}:{BASIC_PASS}"})
    root = store(e, "basic-auth")
    berth("--root", root, "--config", cfg, "pull", ref, check=True)


def test_bearer_token_flow(env):
    e = env
    cfg = config_dir(e, "token-anon", cas=[e.tokreg.host])
    root = store(e, "token-anon")
    # Anonymous: a token for the public repository only.
    berth("--root", root, "--config", cfg, "pull", f"{e.tokreg.host}/open/app:1", check=True)
    r = berth("--root", root, "--config", cfg, "pull", f"{e.tokreg.host}/secure/app:1")
    assert r.returncode == 1 and "denied" in r.stderr, r.stderr
    seen = len(e.token.requests)
    cfg = config_dir(e, "token", cas=[e.tokreg.host], auth={e.tokreg.host: f"{TOKEN_USER}:{TOKEN_PASS}"})
    root = store(e, "token")
    berth("--root", root, "--config", cfg, "pull", f"{e.tokreg.host}/secure/app:1", check=True)
    # The credentials went to the token endpoint, as basic auth.
    assert any(a.startswith("Basic ") for a in e.token.requests[seen:])
    cfg = config_dir(e, "token-bad", cas=[e.tokreg.host], auth={e.tokreg.host: f"{TOKEN_USER}:nope"})
    r = berth("--root", store(e, "token-bad"), "--config", cfg, "pull", f"{e.tokreg.host}/secure/app:1")
    assert r.returncode == 1 and "refused the credentials" in r.stderr, r.stderr


# ---- on a Berth host ----------------------------------------------------------------------

COMPOSE = """
services:
  web:
    image: {plain}/test/bb:v1
    command: ["sh", "-c", "echo web up; exec sleep 100000"]
  private:
    image: {basic}/private/app:1
    command: ["sh", "-c", "exec sleep 100000"]
  late:
    image: {late}/test/bb:v1
    command: ["sh", "-c", "exec sleep 100000"]
  local:
    image: localonly:1
    command: ["sh", "-c", "exec sleep 100000"]
  never:
    image: {plain}/test/zst:1
    pull_policy: never
  saved:
    image: {saved}
    pull_policy: never
    command: ["sh", "-c", "exec sleep 100000"]
  fresh:
    image: {plain}/test/fresh:1
    pull_policy: always
    command: ["sh", "-c", "exec sleep 100000"]
"""


def ps(h):
    """name -> the rest of its `berth ps -a` line."""
    rows = {}
    for line in h.run("berth ps -a", check=True).stdout.splitlines()[1:]:
        name, _, rest = line.partition(" ")
        rows[name] = rest
    return rows


def wait_for(h, cond, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = ps(h)
        if cond(last):
            return last
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}: {last}")


def test_host_pulls_at_boot_and_with_berth_pull(env, image, workdir):
    e = env
    g = rf.GUEST_HOST
    plain, basic = f"{g}:{e.plain.port}", f"{g}:{e.basic.port}"
    late_port = free_port()
    late = f"{g}:{late_port}"
    layer = rf.busybox_layers(BUSYBOX)[0]
    local_tar = os.path.join(workdir, "local.tar")
    rf.imagegen.oci_tar(local_tar, [("localonly:1", [layer], rf.imagegen.config([layer]))])
    # The CONFIG partition made on the build machine from a registry, with
    # no Docker (docs/registries.md): pull into a store, save into images/.
    saved = f"{e.plain.host}/test/zst:1"
    cfg = config_dir(e, "for-host", cas=[e.plain.host])
    store_dir = store(e, "for-host")
    berth("--root", store_dir, "--config", cfg, "pull", saved, check=True)
    saved_tar = os.path.join(workdir, "saved.tar")
    berth("--root", store_dir, "save", "-o", saved_tar, saved, check=True)
    saved_id = re.findall(r"\s([0-9a-f]{12})\s", images(store_dir))[0]

    def push_fresh(version):
        layout = os.path.join(workdir, f"fresh{version}")
        shutil.rmtree(layout, ignore_errors=True)
        rf.oci_layout(layout, "1", {"amd64": [layer, rf.imagegen.layer({"version": f"{version}\n"})]})
        e.plain.push(layout, "test/fresh:1")

    push_fresh(1)
    files = {
        "compose.yaml": COMPOSE.format(plain=plain, basic=basic, late=late, saved=saved),
        "images/local.tar": open(local_tar, "rb").read(),
        "images/saved.tar": open(saved_tar, "rb").read(),
        "auth.json": json.dumps({"auths": {basic: {"auth": base64.b64encode(
            f"{BASIC_USER}:{BASIC_PASS}".encode()).decode()}}}),
    }
    for host in (plain, basic, late):
        files[f"certs.d/{host}/ca.crt"] = open(e.pki.ca, "rb").read()
    h = SshHost(workdir, image, config_files=files, memory=512)
    h.nic_extra = rf.guest_forwards([e.plain.port, e.basic.port, late_port])
    try:
        h.boot("registry")
        # The services whose images are at hand do not wait for the others.
        rows = wait_for(h, lambda r: " Up " in r.get("local", "") and " Up " in r.get("saved", ""), 120,
                        "local and saved up")
        # The saved image is the pulled one: same ID, loaded from images/.
        r = h.run("berth images", check=True)
        outputs.append(r.stdout)
        assert any(saved in line and saved_id in line for line in r.stdout.splitlines()), r.stdout
        rows = wait_for(h, lambda r: " Up " in r.get("web", "") and " Up " in r.get("private", ""),
                        300, "web and private pulled and up")
        assert "Error:" in rows["never"] and "pull_policy: never" in rows["never"], rows
        # The late registry is not there: the service waits, retrying.
        rows = wait_for(h, lambda r: "trying again in" in r.get("late", ""), 120, "late retrying")
        assert "Waiting: pull of image" in rows["late"], rows
        late_reg = rf.Registry(workdir, "late", e.pki, port=late_port)
        try:
            late_reg.push(os.path.join(e.dir, "bb"), "test/bb:v1")
            wait_for(h, lambda r: " Up " in r.get("late", ""), 240, "late up once its registry is")
        finally:
            late_reg.stop()
        # pull_policy: always: berth up pulls again, and a newer image
        # under the same tag recreates the container.
        wait_for(h, lambda r: " Up " in r.get("fresh", ""), 240, "fresh up")
        assert h.run("berth exec fresh cat /version", check=True).stdout == "1\n"
        push_fresh(2)
        r = h.run("berth up", timeout=120)
        outputs.append(r.stdout + r.stderr)
        # It fails for the service whose image is never pulled, and only that.
        assert "unchanged: fresh" in r.stdout and "services.never" in r.stderr, r.stdout + r.stderr
        assert r.stderr.count("error:") == 1, r.stderr
        deadline = time.monotonic() + 240
        version = ""
        while time.monotonic() < deadline:
            version = h.run("berth exec fresh cat /version").stdout
            if version == "2\n":
                break
            time.sleep(2)
        assert version == "2\n", (version, ps(h))
        r = h.run("berth images --digests", check=True)
        outputs.append(r.stdout)
        assert re.search(re.escape(f"{plain}/test/bb:v1") + r"\s+" + re.escape(e.bb_digest), r.stdout), r.stdout
        # berth pull on the host, over ssh: plain lines (no terminal).
        r = h.run(f"berth pull {plain}/test/multi:1", timeout=300)
        outputs.append(r.stdout + r.stderr)
        assert r.returncode == 0 and "Pull complete" in r.stdout, r.stdout + r.stderr
        # berth login on the host keeps the credentials on DATA, 0600.
        r = h.run(f"berth login -u {BASIC_USER} --password-stdin {basic}", input=BASIC_PASS + "\n")
        outputs.append(r.stdout + r.stderr)
        assert r.returncode == 0, r.stderr
        assert h.run("stat -c %a /data/berth/auth.json", check=True).stdout.strip() == "600"
        log = h.run("hostlog", check=True).stdout
        outputs.append(log)
        assert f"pulled {plain}/test/bb:v1" in log, log[-3000:]
    finally:
        h.kill()


def test_credentials_are_absent_from_every_output(env):
    """Every output and log of this module, Berth's and the host's."""
    assert outputs
    for text in outputs:
        for secret in SECRETS:
            assert secret not in text
