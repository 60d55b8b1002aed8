"""berth machine from the desk: create makes a VM of the built image with a
config directory and a context of its name (berth -c NAME ps shows the
stack), ls shows its state, URL and version, stop and start, rm takes
the machine and its context away; a bad config or a taken name creates
nothing. The checks run in order on one machine."""
import os
import subprocess
import time

import pytest

import imagegen
import berthvm
from berthvm import OUT
from sshhost import BERTH

COMPOSE = """
name: dev
services:
  web:
    image: busybox
    command: ["sleep", "1000000"]
"""


@pytest.fixture(scope="module")
def desk(image, workdir):
    env = dict(os.environ, XDG_DATA_HOME=os.path.join(workdir, "data"),
               XDG_CONFIG_HOME=os.path.join(workdir, "desk-config"), BERTH_MACHINE_IMAGE=image,
               BERTH_MACHINE_RESTRICT="1",
               # The harness's own finding: /dev/kvm may open and still not run a guest.
               BERTH_MACHINE_ACCEL="kvm" if berthvm.kvm_works() else "tcg")
    for name in ("BERTH_HOST", "BERTH_CONTEXT", "BERTH_SSH_COMMAND"):
        env.pop(name, None)
    yield env
    subprocess.run([BERTH, "machine", "rm", "-f", "dev"], env=env, capture_output=True, timeout=120)


def berth(env, *args, timeout=120):
    return subprocess.run([BERTH, *args], env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def config_dir(workdir, name, compose):
    d = os.path.join(workdir, name)
    for path, data in imagegen.busybox_config_files(workdir, compose).items():
        os.makedirs(os.path.dirname(os.path.join(d, path)), exist_ok=True)
        with open(os.path.join(d, path), "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
    with open(os.path.join(d, "host.yaml"), "w") as f:
        f.write(f"ssh_authorized_keys:\n  - {other_key(workdir)}\nntp:\n  servers: []\n")
    return d


def other_key(workdir):
    """A key the config lists already: the machine's own goes after it."""
    path = os.path.join(workdir, "someone")
    if not os.path.exists(path):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "someone@else", "-f", path], check=True)
    with open(path + ".pub") as f:
        return f.read().strip()


def ls(env):
    rows = [line.split() for line in berth(env, "machine", "ls").stdout.splitlines()[1:]]
    return {row[0]: row[1:] for row in rows}


def until(cond, timeout, why):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, why()
        time.sleep(1)


def web_up(env):
    return " Up " in berth(env, "-c", "dev", "ps").stdout


def test_create_runs_the_stack_behind_a_context(desk, workdir):
    r = berth(desk, "machine", "create", "dev", "--config", config_dir(workdir, "cfg", COMPOSE), "--memory", "384",
              "--cpus", "1", "--disk", "1G", timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    until(lambda: web_up(desk), 180, lambda: berth(desk, "-c", "dev", "ps", "-a").stdout)
    with open(os.path.join(OUT, "version")) as f:
        version = f.read().strip()
    state, url, shown = ls(desk)["dev"]
    assert state == "running" and url.startswith("ssh://root@127.0.0.1:") and shown == version, ls(desk)
    assert "dev" in berth(desk, "context", "ls").stdout
    r = berth(desk, "machine", "ssh", "dev", "cat", "/config/host.yaml")
    assert r.returncode == 0 and other_key(workdir) in r.stdout and "berth machine dev" in r.stdout, r.stdout + r.stderr
    # The disk grew to the size asked for, DATA with it.
    r = berth(desk, "machine", "ssh", "dev", "cat", "/sys/block/vda/size")
    assert int(r.stdout) * 512 == 1 << 30, r.stdout


def test_a_bad_config_or_a_taken_name_creates_nothing(desk, workdir):
    bad = config_dir(workdir, "bad", COMPOSE.replace("image: busybox", "image: busybox\n    restart: sometimes"))
    r = berth(desk, "machine", "create", "broken", "--config", bad, timeout=300)
    assert r.returncode != 0 and "compose.yaml" in r.stderr and "restart" in r.stderr, r.stderr
    r2 = berth(desk, "machine", "create", "dev", timeout=300)
    assert r2.returncode != 0 and "exists" in r2.stderr, r2.stderr
    r3 = berth(desk, "machine", "create", "-bad name", timeout=60)
    assert r3.returncode != 0
    assert set(ls(desk)) == {"dev"}
    assert "broken" not in berth(desk, "context", "ls").stdout
    store = os.path.join(desk["XDG_DATA_HOME"], "berth", "machines")
    assert sorted(os.listdir(store)) == ["dev"], os.listdir(store)


def test_stop_start_and_rm(desk):
    r = berth(desk, "machine", "stop", "dev", timeout=180)
    assert r.returncode == 0, r.stderr
    assert ls(desk)["dev"][0] == "stopped"
    r = berth(desk, "-c", "dev", "ps", timeout=60)
    assert r.returncode != 0 and r.stderr, r
    r = berth(desk, "machine", "start", "dev", timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    until(lambda: web_up(desk), 180, lambda: berth(desk, "-c", "dev", "ps", "-a").stdout)
    r = berth(desk, "machine", "rm", "dev")
    assert r.returncode != 0 and "running" in r.stderr, r.stderr
    r = berth(desk, "machine", "rm", "-f", "dev", timeout=180)
    assert r.returncode == 0, r.stderr
    assert ls(desk) == {} and "dev" not in berth(desk, "context", "ls").stdout
    assert os.listdir(os.path.join(desk["XDG_DATA_HOME"], "berth", "machines")) == []
