"""A real registry for the pull tests: Debian's docker-registry on the
loopback, TLS with a CA made here, optionally behind basic auth (an
htpasswd with bcrypt hashes from Python's crypt) or a bearer token flow
(a small token endpoint here, issuing ES256 JWTs the registry verifies
through their x5c chain). Fixture images are built from the static
BusyBox (imagegen, mkimages' zstd frames) as OCI layouts and pushed with
skopeo, as a user would push theirs. A cutting proxy stands in for a
network that drops a connection in the middle of a layer.

Everything listens on 127.0.0.1 only; a Berth VM reaches it at
GUEST_HOST, forwarded there port by port (guest_forwards) on QEMU's
restricted user network."""
import base64
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # bcrypt hashes for htpasswd (Python 3.11, Debian 12)
import gzip
import hashlib
import http.server
import importlib.machinery
import importlib.util
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

import imagegen
from sshhost import free_port

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_loader = importlib.machinery.SourceFileLoader("mkimages", os.path.join(TOP, "tests", "fixtures", "mkimages"))
_spec = importlib.util.spec_from_loader("mkimages", _loader)
mkimages = importlib.util.module_from_spec(_spec)
_loader.exec_module(mkimages)

GUEST_HOST = "10.0.2.100"  # the build machine's registries, as a QEMU guest sees them
RELAY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tcprelay.py")


def guest_forwards(ports):
    """QEMU user-net options: GUEST_HOST:port in the guest is 127.0.0.1:port
    here, a relay per connection (the server may start after the VM)."""
    return [f"guestfwd=tcp:{GUEST_HOST}:{p}-cmd:{sys.executable} {RELAY} 127.0.0.1 {p}" for p in ports]


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---- certificates ---------------------------------------------------------------------


class Pki:
    """A CA and a server certificate for 127.0.0.1, localhost and GUEST_HOST;
    a second CA that signed nothing (the wrong one); an EC key and
    self-signed certificate that sign tokens."""

    def __init__(self, d):
        self.dir = d
        os.makedirs(d, exist_ok=True)
        self.ca = os.path.join(d, "ca.crt")
        self.crt = os.path.join(d, "server.crt")
        self.key = os.path.join(d, "server.key")
        self.wrong_ca = os.path.join(d, "wrong-ca.crt")
        self.token_crt = os.path.join(d, "token.crt")
        self.token_key = os.path.join(d, "token.key")
        if os.path.exists(self.token_key):
            return
        ossl = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa: E731
        for name in ("ca", "wrong-ca"):
            ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
                 "-subj", f"/CN=Berth test {name}", "-keyout", os.path.join(d, name + ".key"),
                 "-out", os.path.join(d, name + ".crt"))
        ext = os.path.join(d, "san.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName=IP:127.0.0.1,IP:{GUEST_HOST},DNS:localhost\n"
                    "extendedKeyUsage=serverAuth\n")
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=registry", "-keyout", self.key,
             "-out", os.path.join(d, "server.csr"))
        ossl("x509", "-req", "-in", os.path.join(d, "server.csr"), "-CA", self.ca,
             "-CAkey", os.path.join(d, "ca.key"), "-CAcreateserial", "-days", "30", "-extfile", ext,
             "-out", self.crt)
        ossl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
             "-subj", "/CN=Berth test token signer", "-keyout", self.token_key, "-out", self.token_crt)

    def cert_dir(self):
        """A directory with ca.crt, for skopeo's --dest-cert-dir."""
        d = os.path.join(self.dir, "skopeo-certs")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "ca.crt"), "wb") as f:
            f.write(open(self.ca, "rb").read())
        return d


# ---- the token endpoint ------------------------------------------------------------------


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """GET /token?service=S&scope=repository:NAME:ACTIONS with basic auth
    from users: an ES256 JWT for the registry. Anonymous requests get a
    token for the repositories in public only. Every request's
    Authorization header is kept (the tests check what Berth sent)."""

    def __init__(self, pki, service, issuer, users, public=()):
        from cryptography.hazmat.primitives import serialization
        self.pki = pki
        self.service = service
        self.issuer = issuer
        self.users = users
        self.public = set(public)
        self.requests = []
        self.key = serialization.load_pem_private_key(open(pki.token_key, "rb").read(), None)
        der = subprocess.run(["openssl", "x509", "-in", pki.token_crt, "-outform", "DER"], check=True,
                             capture_output=True).stdout
        self.x5c = [base64.b64encode(der).decode()]
        self.port = free_port()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.handle(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.crt, pki.key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def realm(self):
        return f"https://127.0.0.1:{self.port}/token"

    def sign(self, claims):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, utils
        header = {"typ": "JWT", "alg": "ES256", "x5c": self.x5c}
        signing = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        der = self.key.sign(signing.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = utils.decode_dss_signature(der)
        return signing + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def handle(self, req):
        from urllib.parse import parse_qs, urlparse
        q = parse_qs(urlparse(req.path).query)
        auth = req.headers.get("Authorization", "")
        self.requests.append(auth)
        user = None
        if auth.startswith("Basic "):
            u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
            if self.users.get(u) != p:
                req.send_response(401)
                req.send_header("Content-Length", "0")
                req.end_headers()
                return
            user = u
        access = []
        for scope in q.get("scope", []):
            typ, name, actions = scope.split(":")
            if user is not None or name in self.public:
                access.append({"type": typ, "name": name,
                               "actions": actions.split(",") if user else ["pull"]})
        now = int(time.time())
        token = self.sign({"iss": self.issuer, "sub": user or "", "aud": self.service, "exp": now + 300,
                           "nbf": now - 10, "iat": now, "jti": _b64url(os.urandom(8)), "access": access})
        body = json.dumps({"token": token, "expires_in": 300}).encode()
        req.send_response(200)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- the registry -------------------------------------------------------------------------


class Registry:
    """docker-registry serving TLS (or plain HTTP) on 127.0.0.1:port; auth None, "htpasswd"
    (users: {name: password}) or "token" (a TokenServer)."""

    def __init__(self, workdir, name, pki, auth=None, users=None, token=None, port=None, redirect=False, tls=True):
        self.dir = os.path.join(workdir, name)
        self.storage = os.path.join(self.dir, "storage")
        os.makedirs(self.storage, exist_ok=True)
        self.pki = pki
        self.port = port or free_port()
        self.users = users or {}
        self.token = token
        self.tls = tls
        # Blobs from somewhere else, as from S3 or a CDN: docker-registry's
        # redirect middleware answers a blob GET with 307 to the blob
        # server, which serves the storage directory's files.
        self.blobserver = BlobServer(pki, self.storage) if redirect else None
        cfg = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": False}},
            "storage": {"filesystem": {"rootdirectory": self.storage}},
            "http": {"addr": f"127.0.0.1:{self.port}", "secret": "berth-test"},
        }
        if tls:
            cfg["http"]["tls"] = {"certificate": pki.crt, "key": pki.key}
        if self.blobserver:
            cfg["middleware"] = {"storage": [{"name": "redirect",
                                              "options": {"baseurl": f"https://127.0.0.1:{self.blobserver.port}/"}}]}
        if auth == "htpasswd":
            path = os.path.join(self.dir, "htpasswd")
            with open(path, "w") as f:
                for u, p in self.users.items():
                    f.write(f"{u}:{crypt.crypt(p, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n")
            cfg["auth"] = {"htpasswd": {"realm": "berth-test", "path": path}}
        elif auth == "token":
            cfg["auth"] = {"token": {"realm": token.realm, "service": token.service, "issuer": token.issuer,
                                     "rootcertbundle": pki.token_crt}}
        self.config = os.path.join(self.dir, "config.yml")
        with open(self.config, "w") as f:
            json.dump(cfg, f)  # JSON is YAML
        self.log = os.path.join(self.dir, "registry.log")
        self.proc = subprocess.Popen(["docker-registry", "serve", self.config], stdout=open(self.log, "ab"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("docker-registry did not start:\n" + open(self.log).read())
                time.sleep(0.2)

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def push(self, layout, ref, creds=None):
        """Copies an OCI layout (every platform of it) to host/ref with skopeo."""
        args = ["skopeo", "--insecure-policy", "copy", "--all", "--quiet", "--preserve-digests",
                "--dest-cert-dir", self.pki.cert_dir()]
        if not self.tls:
            args.append("--dest-tls-verify=false")
        if creds:
            args += ["--dest-creds", creds]
        # The layout's one tag names what to copy.
        tag = json.load(open(os.path.join(layout, "index.json")))["manifests"][0]["annotations"][
            "org.opencontainers.image.ref.name"]
        r = subprocess.run(args + [f"oci:{layout}:{tag}", f"docker://{self.host}/{ref}"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"skopeo copy to {self.host}/{ref}: {r.stderr}"

    def blob_path(self, digest):
        algo, hexd = digest.split(":")
        return os.path.join(self.storage, "docker", "registry", "v2", "blobs", algo, hexd[:2], hexd, "data")

    def stop(self):
        if self.blobserver:
            self.blobserver.stop()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---- where blobs are redirected to ---------------------------------------------------------


class BlobServer:
    """HTTPS GET and HEAD of a registry's storage directory, the target of
    its redirects. Keeps each request's path and Authorization header (a
    client must not carry the registry's credentials to another host)."""

    def __init__(self, pki, root):
        self.requests = []  # (method, path, authorization)
        self.port = free_port()
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=root, **kw)

            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.requests.append(("GET", self.path, self.headers.get("Authorization", "")))
                super().do_GET()

            def do_HEAD(self):
                outer.requests.append(("HEAD", self.path, self.headers.get("Authorization", "")))
                super().do_HEAD()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.crt, pki.key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def gets(self):
        return [r for r in self.requests if r[0] == "GET"]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- proxies: one that cuts, an HTTP one -----------------------------------------------


class _Listener:
    """A TCP server on 127.0.0.1 (port: its port) that hands each
    connection to serve(conn) on a thread of its own."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.running:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def stop(self):
        self.running = False
        self.sock.close()


def _pipe(src, dst, stop=None):
    """Copies src to dst until either ends, or stop(bytes so far) says so;
    then closes both."""
    sent = 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
            sent += len(data)
            if stop is not None and stop(sent):
                break
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


class CutProxy(_Listener):
    """A TCP proxy to target that, while cut is set, closes a connection
    once it has carried limit bytes toward the client (only layers are that
    big: manifests, configs and the fixtures' BusyBox layer, ~330 KB, pass;
    their 1 MB layers are cut)."""

    def __init__(self, target_port, limit=640 * 1024):
        self.target = target_port
        self.limit = limit
        self.cut = True
        self.cuts = 0
        super().__init__()

    def _cut(self, sent):
        if self.cut and sent > self.limit:
            self.cuts += 1
            return True
        return False

    def serve(self, c):
        s = socket.create_connection(("127.0.0.1", self.target))
        threading.Thread(target=_pipe, args=(c, s), daemon=True).start()
        _pipe(s, c, self._cut)


class ConnectProxy(_Listener):
    """An HTTP proxy that takes CONNECT only (what a client sends for an
    https:// URL) and keeps each request's target and Proxy-Authorization."""

    def __init__(self):
        self.requests = []  # (target, proxy-authorization)
        super().__init__()

    def serve(self, c):
        head = b""
        while b"\r\n\r\n" not in head:
            data = c.recv(4096)
            if not data:
                c.close()
                return
            head += data
        lines = head.split(b"\r\n\r\n")[0].decode(errors="replace").split("\r\n")
        method, target, _ = (lines[0].split(" ") + ["", "", ""])[:3]
        auth = next((v.strip() for k, _, v in (h.partition(":") for h in lines[1:])
                     if k.lower() == "proxy-authorization"), "")
        self.requests.append((target, auth))
        if method != "CONNECT":
            c.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            c.close()
            return
        host, _, port = target.rpartition(":")
        try:
            s = socket.create_connection((host, int(port)))
        except (OSError, ValueError):
            c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            c.close()
            return
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=_pipe, args=(c, s), daemon=True).start()
        _pipe(s, c)


# ---- fixture images ------------------------------------------------------------------------


MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"


def _manifest(blobs, cfg, layers, compress):
    pack = {"gzip": lambda l: gzip.compress(l, compresslevel=1, mtime=0), "zstd": mkimages.zstd_raw,
            "tar": lambda l: l}[compress]
    packed = [pack(l) for l in layers]
    media = "application/vnd.oci.image.layer.v1.tar" + ("" if compress == "tar" else "+" + compress)
    for b in packed + [cfg]:
        blobs[sha(b)] = b
    m = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(cfg),
                               "size": len(cfg)},
                    "layers": [{"mediaType": media, "digest": sha(b), "size": len(b)} for b in packed]},
                   sort_keys=True).encode()
    blobs[sha(m)] = m
    return m


def oci_layout(path, tag, platforms, compress="gzip"):
    """An OCI layout with one tag: platforms is {arch: [layer tars]} (the
    config is made from the layers); more than one arch makes an index."""
    blobs = {}
    manifests = []
    for arch, layers in platforms.items():
        cfg = json.loads(imagegen.config(layers, Cmd=["sh"]))
        cfg["architecture"] = arch
        cfg = json.dumps(cfg, sort_keys=True).encode()
        m = _manifest(blobs, cfg, layers, compress)
        manifests.append({"mediaType": MANIFEST, "digest": sha(m), "size": len(m),
                          "platform": {"os": "linux", "architecture": arch}})
    if len(manifests) > 1:
        idx = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests},
                         sort_keys=True).encode()
        blobs[sha(idx)] = idx
        top = {"mediaType": INDEX, "digest": sha(idx), "size": len(idx)}
    else:
        top = dict(manifests[0])
        del top["platform"]
    top["annotations"] = {"org.opencontainers.image.ref.name": tag}
    os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
    for d, b in blobs.items():
        with open(os.path.join(path, "blobs", "sha256", d[7:]), "wb") as f:
            f.write(b)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": INDEX, "manifests": [top]}, f)
    return top["digest"], blobs


def busybox_layers(busybox, extra_layers=0, extra_size=0):
    """BusyBox's root filesystem, then extra layers of incompressible
    bytes (extra_size each)."""
    layers = [imagegen.busybox_layer(busybox, imagegen.applets(busybox))]
    for i in range(extra_layers):
        # Incompressible: a keystream, not a repeated block.
        data = b"".join(hashlib.sha256(b"%d:%d" % (i, k)).digest() for k in range(extra_size // 32))
        layers.append(imagegen.layer({f"data/blob{i}": data}))
    return layers
