"""Container networking as a Compose user sees it: services reach each
other by name on their networks, published ports are reachable from the
build machine (through QEMU's port forwards), from the host itself and
from containers (hairpin), containers reach the outside through NAT,
networks are isolated, and nothing is left in the kernel once the stack
is gone. QEMU's user network has restrict=on: nothing leaves the machine;
"outside" is a server on the build machine reached through a guestfwd."""
import http.server
import json
import os
import re
import socket
import socketserver
import subprocess
import threading
import time

import pytest

import imagegen
from sshhost import SshHost, free_port

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("BERTH_OUT", os.path.join(TOP, "out"))
BUSYBOX = os.path.join(OUT, "pkg", "busybox", "busybox")
OUTSIDE = "10.0.2.100"  # the build machine's test server, as the guest sees it

COMPOSE = """
services:
  web:
    image: site
    command: ["netserve", "http", "80", "hello from web\\n"]
    ports:
      - "8080:80"
      - "127.0.0.1:8081:80"
  client:
    image: busybox
    command: ["sleep", "100000"]
    networks: [default, back]
  other:
    image: busybox
    command: ["sleep", "100000"]
    networks:
      back:
        aliases: [other-alias]
  udp:
    image: busybox
    command: ["netserve", "udp", "5353", "/tmp/got"]
    ports: ["5353:5353/udp"]
  vault:
    image: busybox
    command: ["sleep", "100000"]
    networks: [secret]
  sidecar:
    image: busybox
    command: ["sleep", "100000"]
    network_mode: "service:web"
  hostnet:
    image: busybox
    command: ["sleep", "100000"]
    network_mode: host
    extra_hosts: ["gw.example:host-gateway"]
networks:
  back: {}
  secret:
    internal: true
"""


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        body = b"hello from outside\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def outside():
    srv = socketserver.TCPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1]
    srv.shutdown()


@pytest.fixture(scope="module")
def host(image, workdir, outside):
    apps = imagegen.applets(BUSYBOX)
    base = imagegen.busybox_layer(BUSYBOX, apps)
    site = imagegen.layer({"bin/netserve": open(os.path.join(OUT, "target", "tests", "netserve"), "rb").read()})
    tar = os.path.join(workdir, "images.tar")
    imagegen.docker_tar(tar, [("busybox:latest", [base, site], imagegen.config([base, site])),
                              ("site:latest", [base, site], imagegen.config([base, site]))])
    h = SshHost(workdir, image, memory=512,
                config_files={"compose.yaml": COMPOSE, "images/images.tar": open(tar, "rb").read()})
    h.http_port = free_port()
    h.udp_port = free_port()
    h.nic_extra = [f"hostfwd=tcp:127.0.0.1:{h.http_port}-:8080", f"hostfwd=udp:127.0.0.1:{h.udp_port}-:5353",
                   f"guestfwd=tcp:{OUTSIDE}:80-tcp:127.0.0.1:{outside}"]
    h.boot("network")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r = h.run("berth ps")
        if all(f"{n} " in r.stdout for n in ("web", "client", "other", "udp", "vault", "sidecar", "hostnet")):
            break
        time.sleep(1)
    else:
        raise AssertionError(h.run("berth ps -a; hostlog | grep berthd | tail -30").stdout)
    yield h
    h.kill()


def ip_of(h, name, network="default"):
    r = h.run(f"berth inspect {name}", check=True)
    return json.loads(r.stdout)[0]["networks"][network]


def test_published_port_from_the_build_machine(host):
    r = subprocess.run(["curl", "-s", "--max-time", "20", f"http://127.0.0.1:{host.http_port}/"],
                       capture_output=True, text=True)
    assert r.stdout == "hello from web\n", (r.returncode, r.stdout, r.stderr)


def test_published_port_from_the_host_itself(host):
    h = host
    r = h.run("wget -qO- -T 5 http://127.0.0.1:8081/ && wget -qO- -T 5 http://127.0.0.1:8080/", check=True)
    assert r.stdout == "hello from web\n" * 2
    # 8081 is published on 127.0.0.1 only: not on the host's own address.
    addr = h.run("ip -4 -o addr show eth0", check=True).stdout.split()[3].split("/")[0]
    r = h.run(f"wget -qO- -T 3 http://{addr}:8081/")
    assert r.returncode != 0


def test_services_find_each_other_by_name(host):
    h = host
    r = h.run("berth exec client wget -qO- -T 5 http://web/", check=True)
    assert r.stdout == "hello from web\n"
    r = h.run("berth exec client nslookup other-alias 2>&1; berth exec client nslookup web 2>&1")
    assert ip_of(h, "other", "back") in r.stdout and ip_of(h, "web") in r.stdout, r.stdout
    # A name that is not a service goes to the host's resolvers (none here): not ours to answer.
    r = h.run("berth exec client cat /etc/resolv.conf", check=True)
    assert re.search(r"^nameserver \d+\.\d+\.\d+\.1$", r.stdout, re.M), r.stdout
    # The sidecar shares web's network: web is localhost to it.
    r = h.run("berth exec sidecar wget -qO- -T 5 http://127.0.0.1/", check=True)
    assert r.stdout == "hello from web\n"


def test_name_follows_a_recreated_service(host):
    h = host
    old = ip_of(h, "web")
    h.run("berth rm -f web", check=True)
    # Someone else takes web's old address meanwhile.
    h.run("berth run -d --name squatter busybox sleep 100000", check=True)
    assert ip_of(h, "squatter") == old
    h.run("berth up", check=True)
    deadline = time.monotonic() + 60
    while "web " not in h.run("berth ps").stdout and time.monotonic() < deadline:
        time.sleep(1)
    new = ip_of(h, "web")
    assert new != old
    r = h.run("berth exec client wget -qO- -T 5 http://web/", check=True)
    assert r.stdout == "hello from web\n"
    r = h.run("berth exec client nslookup web 2>&1", check=True)
    assert new in r.stdout and old not in r.stdout.split("Name:")[-1], r.stdout
    h.run("berth rm -f squatter", check=True)


def test_networks_are_isolated(host):
    h = host
    web = ip_of(h, "web")
    # other is only on back: web's network is out of reach, its name unknown.
    r = h.run(f"berth exec other wget -qO- -T 3 http://{web}/")
    assert r.returncode != 0
    r = h.run("berth exec other nslookup web 2>&1")
    assert web not in r.stdout
    # client is on both, and reaches other's network by name.
    assert h.run("berth exec client ping -c 1 -W 3 other", timeout=30).returncode == 0
    # An internal network leads nowhere.
    addr = h.run("ip -4 -o addr show eth0", check=True).stdout.split()[3].split("/")[0]
    assert h.run(f"berth exec vault ping -c 1 -W 3 {addr}", timeout=30).returncode != 0
    assert h.run(f"berth exec vault wget -qO- -T 3 http://{OUTSIDE}/").returncode != 0


def test_outbound_nat(host):
    h = host
    r = h.run(f"berth exec client wget -qO- -T 10 http://{OUTSIDE}/", check=True)
    assert r.stdout == "hello from outside\n"


def test_published_udp(host):
    h = host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(10):
            s.sendto(b"ping-over-udp\n", ("127.0.0.1", host.udp_port))
            time.sleep(0.5)
            if "ping-over-udp" in h.run("berth exec udp cat /tmp/got").stdout:
                break
    assert "ping-over-udp" in h.run("berth exec udp cat /tmp/got", check=True).stdout


def test_hairpin(host):
    h = host
    addr = h.run("ip -4 -o addr show eth0", check=True).stdout.split()[3].split("/")[0]
    # From another container, and from web itself, through the published port.
    for name in ("client", "web"):
        r = h.run(f"berth exec {name} wget -qO- -T 5 http://{addr}:8080/")
        assert r.stdout == "hello from web\n", (name, r.stdout, r.stderr)


def test_host_network_and_extra_hosts(host):
    h = host
    r = h.run("berth exec hostnet cat /etc/hosts", check=True)
    assert re.search(r"^127\.0\.0\.1\s+gw\.example$", r.stdout, re.M), r.stdout
    r = h.run("berth exec hostnet ip -4 -o addr show eth0", check=True)
    assert "10.0.2.15" in r.stdout


def test_nothing_leaks(host):
    h = host
    links = lambda: sorted(h.run("ls /sys/class/net", check=True).stdout.split())
    # Ad hoc containers come and go.
    before_links = links()
    for i in range(10):
        h.run("berth run --rm busybox true", check=True)
    assert links() == before_links
    # The whole stack goes.
    h.run("mount -o remount,rw /config && rm /config/compose.yaml && mount -o remount,ro /config", check=True)
    h.run("berth up", check=True)
    deadline = time.monotonic() + 60
    while h.run("berth ps -q").stdout.strip() and time.monotonic() < deadline:
        time.sleep(1)
    assert h.run("berth ps -aq", check=True).stdout.strip() == ""
    assert links() == ["eth0", "lo"], links()
    r = h.run("berth network ls", check=True)
    assert "nf_tables: 0 rules" in r.stdout or "nf_tables" not in r.stdout, r.stdout
    assert len(r.stdout.strip().splitlines()) <= 2, r.stdout
    assert h.run("ls /run/berth/netns", check=True).stdout.strip() == ""
    assert h.run("ip -4 -o addr", check=True).stdout.count("inet ") == 2  # lo and eth0
