"""berth-oci, the OCI runtime, inside a Berth VM (Berth's kernel, cgroup
v2): real containers from a BusyBox bundle, driven with runc's command line
the way containerd or a user would, and checked from inside and outside."""
import copy
import json
import os
import re
import time

import pytest

from sshhost import SshHost

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.environ.get("BERTH_OUT", os.path.join(TOP, "out"))
ROOTFS = "/tmp/rootfs"

MKROOTFS = """
set -e
rm -rf {r}; mkdir -p {r}/bin {r}/proc {r}/dev {r}/sys {r}/tmp {r}/etc {r}/root
cp /bin/busybox {r}/bin/
for a in $(/bin/busybox --list); do ln -sf busybox {r}/bin/$a; done
echo 'root:x:0:0:root:/root:/bin/sh' > {r}/etc/passwd
"""


@pytest.fixture(scope="module")
def host(image, workdir):
    h = SshHost(workdir, image)
    h.boot("oci")
    h.run(MKROOTFS.format(r=ROOTFS), check=True)
    h.put("/tmp/recvtty", open(os.path.join(OUT, "target", "tests", "recvtty"), "rb").read(), mode="755")
    r = h.run("mkdir -p /tmp/specdir && cd /tmp/specdir && rm -f config.json && berth-oci spec && cat config.json",
              check=True)
    h.base = json.loads(r.stdout)
    yield h
    h.kill()


_n = [0]


def bundle(h, args, mutate=None, rootfs=ROOTFS):
    """Writes a bundle (config.json only; the root is shared) and returns
    (its directory, a fresh container ID)."""
    _n[0] += 1
    name = f"c{_n[0]}"
    cfg = copy.deepcopy(h.base)
    cfg["root"] = {"path": rootfs, "readonly": True}
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = args
    if mutate:
        mutate(cfg)
    d = f"/tmp/b/{name}"
    h.run(f"mkdir -p {d}", check=True)
    h.put(f"{d}/config.json", json.dumps(cfg, indent=1))
    return d, name


def run(h, args, mutate=None, rootfs=ROOTFS, timeout=120):
    d, name = bundle(h, args, mutate, rootfs)
    r = h.run(f"cd {d} && berth-oci run {name}", timeout=timeout)
    r.cid = name
    return r


def state(h, cid):
    r = h.run(f"berth-oci state {cid}")
    return json.loads(r.stdout) if r.returncode == 0 else None


def wait_status(h, cid, status, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = state(h, cid)
        if s and s["status"] == status:
            return s
        time.sleep(0.3)
    raise AssertionError(f"{cid} never became {status}: {state(h, cid)}")


def add_mount(cfg, **m):
    cfg["mounts"].append(m)


def tmp_tmpfs(cfg):
    add_mount(cfg, destination="/tmp", type="tmpfs", source="tmpfs", options=["nosuid", "nodev", "size=8m"])


# ---- command line ---------------------------------------------------------------------


def test_spec_features_version(host):
    assert host.base["ociVersion"].startswith("1.")
    feats = json.loads(host.run("berth-oci features", check=True).stdout)
    assert "user" in feats["linux"]["namespaces"]
    assert feats["linux"]["cgroup"]["v2"] is True
    assert "SCMP_CMP_MASKED_EQ" in feats["linux"]["seccomp"]["operators"]
    assert "berth-oci version" in host.run("berth-oci --version", check=True).stdout
    r = host.run("berth-oci create --no-such-flag x")
    assert r.returncode != 0 and "unknown option '--no-such-flag'" in r.stderr
    r = host.run("berth-oci exec --apparmor x y true")
    assert r.returncode != 0 and "not supported" in r.stderr


# ---- lifecycle ------------------------------------------------------------------------


def test_lifecycle_and_states(host):
    d, cid = bundle(host, ["sleep", "1000"])
    host.run(f"cd {d} && berth-oci create --pid-file {d}/pid {cid}", check=True)
    s = state(host, cid)
    assert s["status"] == "created" and s["pid"] > 0 and s["bundle"] == d
    assert host.run(f"cat {d}/pid").stdout.strip() == str(s["pid"])
    host.run(f"berth-oci start {cid}", check=True)
    assert state(host, cid)["status"] == "running"
    r = host.run(f"berth-oci start {cid}")
    assert r.returncode != 0 and "not created" in r.stderr
    r = host.run(f"berth-oci delete {cid}")
    assert r.returncode != 0 and "running" in r.stderr
    listing = json.loads(host.run("berth-oci list --format json", check=True).stdout)
    assert any(c["id"] == cid and c["status"] == "running" for c in listing)
    host.run(f"berth-oci kill {cid} KILL", check=True)
    wait_status(host, cid, "stopped")
    host.run(f"berth-oci delete {cid}", check=True)
    r = host.run(f"berth-oci state {cid}")
    assert r.returncode != 0 and "does not exist" in r.stderr
    # Nothing left behind: no cgroup, no state directory.
    assert host.run(f"ls /sys/fs/cgroup/berth-oci/{cid} /run/berth-oci/{cid} 2>&1").returncode != 0


def test_exit_codes_and_signals(host):
    assert run(host, ["sh", "-c", "exit 7"]).returncode == 7
    for sig in ["TERM", "SIGTERM", "15"]:
        d, cid = bundle(host, ["sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.1; done"])
        host.run(f"cd {d} && berth-oci create {cid} && berth-oci start {cid}", check=True)
        time.sleep(0.5)
        host.run(f"berth-oci kill {cid} {sig}", check=True)
        wait_status(host, cid, "stopped")
        host.run(f"berth-oci delete {cid}", check=True)
    r = host.run("berth-oci kill nosuch BOGUS")
    assert r.returncode != 0 and "unknown signal" in r.stderr
    # A foreground run returns 128+signal when the process is killed.
    d, cid = bundle(host, ["sleep", "1000"])
    r = host.run(f"cd {d} && (berth-oci run {cid} & sleep 1; berth-oci kill {cid} KILL; wait $!; echo rc=$?)")
    assert "rc=137" in r.stdout


def test_realtime_signals_use_the_kernels_numbers(host):
    # RTMIN+3 is signal 37 as Docker and runc count (musl's SIGRTMIN is 35,
    # which would make it 38): the handler for 37 must be the one that runs.
    d, cid = bundle(host, ["sh", "-c", "trap 'exit 3' 37; trap 'exit 4' 38; while :; do sleep 0.1; done"])
    r = host.run(f"cd {d} && (berth-oci run {cid} & sleep 1; berth-oci kill {cid} RTMIN+3; wait $!; echo rc=$?)",
                 timeout=60)
    assert "rc=3" in r.stdout, r.stdout + r.stderr


# ---- namespaces -------------------------------------------------------------------------


def test_each_namespace(host):
    host_ns = host.run("for n in ipc uts net mnt cgroup pid; do readlink /proc/self/ns/$n; done").stdout.split()

    def m(cfg):
        cfg["hostname"] = "ns-test"
        cfg["linux"]["namespaces"].append({"type": "time"})
        cfg["linux"]["timeOffsets"] = {"boottime": {"secs": 86400 * 365, "nanosecs": 0}}

    r = run(host, ["sh", "-c", "echo pid=$$; hostname; ls /sys/class/net; for n in ipc uts net mnt cgroup; do "
                   "readlink /proc/self/ns/$n; done; cat /proc/self/cgroup; cut -d. -f1 /proc/uptime"], m)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert "pid=1" in lines
    assert "ns-test" in lines
    assert lines[lines.index("ns-test") + 1] == "lo"
    inside = [x for x in lines if x.startswith(("ipc:", "uts:", "net:", "mnt:", "cgroup:"))]
    assert len(inside) == 5 and not set(inside) & set(host_ns)
    assert "0::/" in lines
    assert int(lines[-1]) >= 86400 * 365


def test_join_namespace_by_path(host):
    d, a = bundle(host, ["sleep", "1000"])
    host.run(f"cd {d} && berth-oci create {a} && berth-oci start {a}", check=True)
    pid = state(host, a)["pid"]
    want = host.run(f"readlink /proc/{pid}/ns/net").stdout.strip()

    def m(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "network"]
        cfg["linux"]["namespaces"].append({"type": "network", "path": f"/proc/{pid}/ns/net"})

    r = run(host, ["readlink", "/proc/self/ns/net"], m)
    assert r.stdout.strip() == want, r.stderr
    host.run(f"berth-oci delete --force {a}", check=True)


def test_user_namespace_mappings(host):
    def m(cfg):
        cfg["linux"]["namespaces"].append({"type": "user"})
        cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]

    d, cid = bundle(host, ["sh", "-c", "id -u; cat /proc/self/uid_map; sleep 1000"], m)
    r = host.run(f"cd {d} && berth-oci create {cid} && berth-oci start {cid} && sleep 1 && "
                 f"stat -c %u /proc/$(cat /sys/fs/cgroup/berth-oci/{cid}/cgroup.procs | head -1)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-1] == "100000"
    host.run(f"berth-oci delete --force {cid}", check=True)
    r = run(host, ["sh", "-c", "id -u; cat /proc/self/uid_map"], m)
    assert r.stdout.split()[:4] == ["0", "0", "100000", "65536"], r.stderr


# ---- mounts -------------------------------------------------------------------------------


def test_mounts_binds_tmpfs_readonly(host):
    host.run("mkdir -p /tmp/hostrw /tmp/hostro && echo from-host > /tmp/hostro/f", check=True)

    def m(cfg):
        add_mount(cfg, destination="/rw", type="bind", source="/tmp/hostrw", options=["rbind", "rw"])
        add_mount(cfg, destination="/ro", type="bind", source="/tmp/hostro", options=["rbind", "ro"])
        add_mount(cfg, destination="/scratch", type="tmpfs", source="tmpfs", options=["size=1m", "mode=700"])

    r = run(host, ["sh", "-c", "echo written > /rw/out; cat /ro/f; touch /ro/x 2>&1; "
                   "grep ' /scratch ' /proc/self/mounts; stat -c %a /scratch"], m)
    assert r.returncode == 0, r.stderr
    assert "from-host" in r.stdout
    assert "Read-only file system" in r.stdout
    assert re.search(r"/scratch tmpfs \S*size=1024k", r.stdout)
    assert r.stdout.split()[-1] == "700"
    assert host.run("cat /tmp/hostrw/out").stdout.strip() == "written"


def test_mount_propagation(host):
    host.run("mkdir -p /tmp/prop && mount --make-shared -t tmpfs tmpfs /tmp/prop 2>/dev/null || "
             "mount -t tmpfs tmpfs /tmp/prop; mount --make-rshared /tmp/prop; mkdir -p /tmp/prop/sub", check=True)
    results = {}
    for prop in ["rslave", "rprivate"]:
        def m(cfg, prop=prop):
            add_mount(cfg, destination="/p", type="bind", source="/tmp/prop", options=["rbind", prop])

        d, cid = bundle(host, ["sleep", "1000"], m)
        host.run(f"cd {d} && berth-oci create {cid} && berth-oci start {cid}", check=True)
        host.run("mount -t tmpfs -o size=1m late /tmp/prop/sub", check=True)
        r = host.run(f"berth-oci exec {cid} grep -c ' /p/sub ' /proc/self/mounts")
        results[prop] = r.stdout.strip()
        host.run(f"umount /tmp/prop/sub; berth-oci delete --force {cid}", check=True)
    assert results == {"rslave": "1", "rprivate": "0"}


# ---- process -------------------------------------------------------------------------------


def caps_of(out):
    return {k: int(v, 16) for k, v in re.findall(r"^(Cap\w+):\s+([0-9a-f]+)$", out, re.M)}


def test_capabilities(host):
    r = run(host, ["grep", "^Cap", "/proc/self/status"])
    c = caps_of(r.stdout)
    want = (1 << 29) | (1 << 5) | (1 << 10)  # AUDIT_WRITE, KILL, NET_BIND_SERVICE
    assert c["CapEff"] == want and c["CapBnd"] == want and c["CapPrm"] == want
    assert c["CapInh"] == 0 and c["CapAmb"] == 0

    def m(cfg):
        caps = cfg["process"]["capabilities"]
        caps["inheritable"] = ["CAP_NET_BIND_SERVICE"]
        caps["ambient"] = ["CAP_NET_BIND_SERVICE"]
        cfg["process"]["user"] = {"uid": 1000, "gid": 1000}

    c = caps_of(run(host, ["grep", "^Cap", "/proc/self/status"], m).stdout)
    assert c["CapInh"] == 1 << 10 and c["CapAmb"] == 1 << 10


def test_user_groups_umask_cwd_env(host):
    def m(cfg):
        cfg["process"]["user"] = {"uid": 1234, "gid": 5678, "additionalGids": [10, 20], "umask": 0o077}
        cfg["process"]["cwd"] = "/tmp"
        cfg["process"]["env"].append("GREETING=hello there")
        tmp_tmpfs(cfg)
        cfg["mounts"][-1]["options"].append("mode=1777")

    r = run(host, ["sh", "-c", "id; umask; pwd; echo $GREETING"], m)
    assert "uid=1234 gid=5678 groups=10,20" in r.stdout.replace("groups=5678,", "groups="), r.stdout
    assert "0077" in r.stdout and "/tmp" in r.stdout and "hello there" in r.stdout


def test_a_user_reopens_its_own_stdout(host):
    """stdio is handed to the process's user, as runc does: a program that
    is not root can open /dev/stdout (a pipe of root's) again."""
    def m(cfg):
        cfg["process"]["user"] = {"uid": 1000, "gid": 1000}

    r = run(host, ["sh", "-c", "echo reopened > /dev/stdout; stat -L -c %u /proc/self/fd/1"], m)
    assert r.returncode == 0 and r.stdout.split() == ["reopened", "1000"], r.stdout + r.stderr
    # /dev/null stays root's.
    assert host.run("stat -c %u /dev/null", check=True).stdout.strip() == "0"


def test_rlimits(host):
    def m(cfg):
        cfg["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024},
                                     {"type": "RLIMIT_NPROC", "soft": 77, "hard": 77}]

    r = run(host, ["sh", "-c", "ulimit -Sn; ulimit -Hn; ulimit -u"], m)
    assert r.stdout.split() == ["512", "1024", "77"], r.stderr


def test_seccomp_denied_syscall_returns_errno(host):
    def m(errno_ret):
        def f(cfg):
            tmp_tmpfs(cfg)
            cfg["linux"]["seccomp"] = {
                "defaultAction": "SCMP_ACT_ALLOW",
                "architectures": ["SCMP_ARCH_X86_64"],
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno_ret}],
            }
        return f

    assert "Permission denied" in run(host, ["mkdir", "/tmp/x"], m(13)).stderr
    assert "Cross-device link" in run(host, ["mkdir", "/tmp/x"], m(18)).stderr
    # The same rule, without it: mkdir works.
    assert run(host, ["mkdir", "/tmp/x"], lambda c: tmp_tmpfs(c)).returncode == 0


def test_memory_limit_oom_kill_reported(host):
    def m(cfg):
        cfg["linux"]["resources"]["memory"] = {"limit": 16 * 1024 * 1024, "swap": 16 * 1024 * 1024}

    d, cid = bundle(host, ["sh", "-c", "x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; while :; do x=$x$x; done"], m)
    host.run(f"cd {d} && berth-oci create {cid} && berth-oci start {cid}", check=True)
    s = wait_status(host, cid, "stopped", timeout=60)
    assert s.get("oomKills", 0) >= 1, s
    assert host.run(f"cat /sys/fs/cgroup/berth-oci/{cid}/memory.max").stdout.strip() == str(16 * 1024 * 1024)
    host.run(f"berth-oci delete {cid}", check=True)
    r = run(host, ["sh", "-c", "x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; while :; do x=$x$x; done"], m)
    assert r.returncode == 137


def test_pids_limit(host):
    def m(cfg):
        cfg["linux"]["resources"]["pids"] = {"limit": 8}

    r = run(host, ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 3 & done 2>&1; wait"], m)
    assert "can't fork" in r.stderr + r.stdout


def test_hooks_run_in_order_with_state(host):
    host.run("rm -rf /tmp/hooks; mkdir -p /tmp/hooks", check=True)

    def hook(name):
        return {"path": "/bin/sh", "args": ["sh", "-c", f"cat > /tmp/hooks/{name}.json; echo {name} >> /tmp/hooks/order"]}

    def m(cfg):
        cfg["hooks"] = {k: [hook(k)] for k in ["prestart", "createRuntime", "createContainer", "startContainer",
                                               "poststart", "poststop"]}
        add_mount(cfg, destination="/tmp/hooks", type="bind", source="/tmp/hooks", options=["rbind"])
        cfg["annotations"] = {"org.example.test": "hooks"}

    d, cid = bundle(host, ["true"], m)
    host.run(f"cd {d} && berth-oci create {cid} && berth-oci start {cid}", check=True)
    wait_status(host, cid, "stopped")
    host.run(f"berth-oci delete {cid}", check=True)
    order = host.run("cat /tmp/hooks/order").stdout.split()
    assert order == ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
    st = json.loads(host.run("cat /tmp/hooks/createRuntime.json").stdout)
    assert st["id"] == cid and st["pid"] > 0 and st["bundle"] == d
    assert st["annotations"]["org.example.test"] == "hooks"
    statuses = {k: json.loads(host.run(f"cat /tmp/hooks/{k}.json").stdout)["status"] for k in order}
    # The hooks of create run once the runtime environment is made: the
    # spec's "created" (crun agrees; runc says "creating").
    assert statuses == {"prestart": "created", "createRuntime": "created", "createContainer": "created",
                        "startContainer": "created", "poststart": "running", "poststop": "stopped"}


def test_hook_failure_and_timeout_are_reported(host):
    def m(cfg):
        cfg["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]}

    r = run(host, ["true"], m)
    assert r.returncode != 0 and "createRuntime hook 0 (/bin/sh) exited with status 3" in r.stderr

    def t(cfg):
        cfg["hooks"] = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}

    r = run(host, ["true"], t)
    assert r.returncode != 0 and "timed out after 1 s" in r.stderr


def test_late_hook_failures_do_not_skip_the_rest(host):
    """poststart and poststop: a failing hook is a warning, and the hooks
    after it still run (runtime-spec, config.md "Posix-platform Hooks")."""
    host.run("rm -rf /tmp/hk; mkdir -p /tmp/hk", check=True)

    def m(cfg):
        fail = {"path": "/bin/sh", "args": ["sh", "-c", "exit 5"]}
        cfg["hooks"] = {k: [fail, {"path": "/bin/sh", "args": ["sh", "-c", f"touch /tmp/hk/{k}"]}]
                        for k in ["poststart", "poststop"]}

    d, cid = bundle(host, ["true"], m)
    r = host.run(f"cd {d} && berth-oci create {cid} && berth-oci start {cid}")
    assert r.returncode == 0, r.stderr
    assert "poststart hook 0 (/bin/sh) exited with status 5" in r.stderr
    wait_status(host, cid, "stopped")
    r = host.run(f"berth-oci delete {cid}")
    assert r.returncode == 0 and "poststop hook 0 (/bin/sh) exited with status 5" in r.stderr
    assert host.run("ls /tmp/hk").stdout.split() == ["poststart", "poststop"]


# ---- terminal, exec, kill --all, delete --force -----------------------------------------------


def test_terminal_through_console_socket(host):
    def m(cfg):
        cfg["process"]["terminal"] = True
        cfg["process"]["args"] = ["sh"]
        cfg["process"]["consoleSize"] = {"height": 30, "width": 100}

    d, cid = bundle(host, ["sh"], m)
    r = host.run(f"cd {d} && (/tmp/recvtty /tmp/tty.sock 'tty; stty size; exit' > /tmp/tty.out &) && sleep 0.5 && "
                 f"berth-oci create --console-socket /tmp/tty.sock {cid} && berth-oci start {cid} && "
                 f"sleep 2; cat /tmp/tty.out; berth-oci delete --force {cid}")
    assert "/dev/pts/0" in r.stdout and "30 100" in r.stdout, r.stdout + r.stderr


def test_exec_into_running_container(host):
    d, cid = bundle(host, ["sleep", "1000"], tmp_tmpfs)
    host.run(f"cd {d} && berth-oci create {cid} && berth-oci start {cid}", check=True)
    assert host.run(f"berth-oci exec {cid} cat /proc/1/cmdline").stdout.startswith("sleep")
    r = host.run(f"berth-oci exec --env FOO=bar --cwd /tmp --user 1000:1000 {cid} sh -c 'echo $FOO; pwd; id -u'")
    assert r.stdout.split() == ["bar", "/tmp", "1000"], r.stderr
    assert host.run(f"berth-oci exec {cid} sh -c 'exit 5'").returncode == 5
    r = host.run(f"berth-oci exec -t {cid} tty", tty=True)
    assert "/dev/pts/" in r.stdout
    proc = copy.deepcopy(host.base["process"])
    proc.update({"terminal": False, "args": ["sh", "-c", "echo from-process-file"]})
    host.put("/tmp/process.json", json.dumps(proc))
    assert "from-process-file" in host.run(f"berth-oci exec --process /tmp/process.json {cid}").stdout
    r = host.run(f"berth-oci exec {cid} /no/such/program")
    assert r.returncode != 0 and "exec /no/such/program: no such file" in r.stderr
    host.run(f"berth-oci delete --force {cid}", check=True)


def test_kill_all_and_delete_force(host):
    def m(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "pid"]

    d, cid = bundle(host, ["sh", "-c", "sleep 1000 & sleep 1000 & wait"], m)
    host.run(f"cd {d} && berth-oci create {cid} && berth-oci start {cid} && sleep 1", check=True)
    pids = json.loads(host.run(f"berth-oci ps --format json {cid}", check=True).stdout)
    assert len(pids) == 3
    host.run(f"berth-oci kill --all {cid} KILL", check=True)
    wait_status(host, cid, "stopped")
    time.sleep(0.5)
    assert host.run(f"cat /sys/fs/cgroup/berth-oci/{cid}/cgroup.procs").stdout.strip() == ""
    host.run(f"berth-oci delete {cid}", check=True)
    # delete --force of a running container.
    d, cid = bundle(host, ["sleep", "1000"])
    host.run(f"cd {d} && berth-oci create {cid} && berth-oci start {cid}", check=True)
    host.run(f"berth-oci delete --force {cid}", check=True)
    assert host.run(f"berth-oci state {cid}").returncode != 0


def test_pause_resume(host):
    d, cid = bundle(host, ["sleep", "1000"])
    host.run(f"cd {d} && berth-oci create {cid} && berth-oci start {cid}", check=True)
    host.run(f"berth-oci pause {cid}", check=True)
    assert state(host, cid)["status"] == "paused"
    host.run(f"berth-oci resume {cid}", check=True)
    assert state(host, cid)["status"] == "running"
    host.run(f"berth-oci delete --force {cid}", check=True)


# ---- security regressions ------------------------------------------------------------------------


def test_mount_destination_cannot_escape_through_symlinks(host):
    host.run(MKROOTFS.format(r="/tmp/evil") + "ln -s / /tmp/evil/abs; ln -s ../../../../../../tmp /tmp/evil/rel; "
             "mkdir -p /tmp/outside", check=True)

    def m(cfg):
        add_mount(cfg, destination="/abs/tmp/outside/a", type="tmpfs", source="tmpfs", options=["size=1m"])
        add_mount(cfg, destination="/rel/outside/b", type="tmpfs", source="tmpfs", options=["size=1m"])

    r = run(host, ["grep", "-E", " /tmp/outside/(a|b) ", "/proc/self/mounts"], m, rootfs="/tmp/evil")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 2
    # Both landed inside the container's root, nothing on the host side.
    assert host.run("ls /tmp/evil/tmp/outside").stdout.split() == ["a", "b"]
    assert host.run("ls /tmp/outside").stdout.strip() == ""


def test_runtime_binary_not_reachable_from_container(host):
    """CVE-2019-5736 class: while berth-oci exec joins a container, nothing in
    the container may open the runtime's executable through /proc."""
    d, cid = bundle(host, ["sh", "-c", "while :; do for p in /proc/[0-9]*; do cat $p/exe > /dev/null 2>&1 && "
                                         "readlink $p/exe >> /tmp/seen; done; done"], tmp_tmpfs)
    host.run(f"cd {d} && berth-oci create {cid} && berth-oci start {cid}", check=True)
    for _ in range(15):
        host.run(f"berth-oci exec {cid} true", check=True)
    seen = host.run(f"berth-oci exec {cid} cat /tmp/seen").stdout
    assert "berth" not in seen, seen
    host.run(f"berth-oci delete --force {cid}", check=True)
    # And the binary itself is on the read-only root.
    assert "Read-only file system" in host.run("echo x >> /usr/bin/berth").stderr


def test_no_leaked_fds_and_cwd_inside(host):
    """CVE-2024-21626 class: only stdio crosses into the container, and a cwd
    pointing outside through /proc/self/fd is refused."""
    r = run(host, ["ls", "/proc/self/fd"])
    assert r.stdout.split() == ["0", "1", "2", "3"], r.stdout
    for fd in range(3, 10):
        r = run(host, ["true"], lambda c, fd=fd: c["process"].__setitem__("cwd", f"/proc/self/fd/{fd}"))
        assert r.returncode != 0, f"cwd /proc/self/fd/{fd} was accepted"


def test_masked_paths_survive_a_planted_dev_null(host):
    """CVE-2025-31133 class: a /dev/null planted by the image as a symlink
    (here to a sysctl) must not turn masking into a bind of what it points
    at: the masked file reads empty, and the sysctl is not mounted over it."""
    host.run(MKROOTFS.format(r="/tmp/evil2") + "ln -s /proc/sys/kernel/domainname /tmp/evil2/dev/null",
             check=True)

    def m(cfg):
        cfg["mounts"] = [x for x in cfg["mounts"] if x["destination"] != "/dev"]
        cfg["linux"]["maskedPaths"].append("/proc/cmdline")

    # (The image's /dev lies on the host's nodev /tmp here, so the node
    # cannot be opened; what it is and what is mounted is what matters.)
    r = run(host, ["sh", "-c", "stat -c '%t:%T %F' /proc/cmdline /dev/null; grep -c domainname /proc/self/mountinfo"],
            m, rootfs="/tmp/evil2")
    assert r.stdout.split("\n")[:3] == ["1:3 character special file"] * 2 + ["0"], r.stdout + r.stderr


def test_console_cannot_be_redirected(host):
    """CVE-2025-52565 class: a /dev/console planted as a symlink is not
    followed when the terminal is bound there."""
    host.run(MKROOTFS.format(r="/tmp/evil3") + "ln -s /proc/sys/kernel/domainname /tmp/evil3/dev/console",
             check=True)

    def m(cfg):
        cfg["mounts"] = [x for x in cfg["mounts"] if x["destination"] != "/dev"]
        cfg["process"]["terminal"] = True

    d, cid = bundle(host, ["sh", "-c", "grep -c domainname /proc/self/mountinfo; sleep 1"], m, rootfs="/tmp/evil3")
    r = host.run(f"(/tmp/recvtty /tmp/tty3.sock > /tmp/tty3.out &) && sleep 0.5 && cd {d} && "
                 f"berth-oci create --console-socket /tmp/tty3.sock {cid}; echo rc=$?; "
                 f"berth-oci start {cid} 2>/dev/null; sleep 2; cat /tmp/tty3.out; berth-oci delete --force {cid}")
    # Either refused outright, or the sysctl was never a mount target.
    assert "rc=0" not in r.stdout or r.stdout.split()[-1].strip() == "0", r.stdout + r.stderr


# ---- errors a user can act on ----------------------------------------------------------------


def test_config_errors_name_the_field(host):
    def m(cfg):
        cfg["process"]["user"]["uid"] = "root"

    r = run(host, ["true"], m)
    assert r.returncode != 0 and "process.user.uid: expected an integer, got a string" in r.stderr

    r = run(host, ["true"], lambda c: c["process"].__setitem__("apparmorProfile", "docker-default"))
    assert "process.apparmorProfile: not supported" in r.stderr


def test_missing_executable_says_why(host):
    host.run(MKROOTFS.format(r="/tmp/r2") + "printf '#!/bin/bash\\necho hi\\n' > /tmp/r2/script; "
             "chmod +x /tmp/r2/script; echo data > /tmp/r2/data", check=True)
    r = run(host, ["/nope"], rootfs="/tmp/r2")
    assert "exec /nope: no such file or directory in the container's root filesystem" in r.stderr
    r = run(host, ["nope"], rootfs="/tmp/r2")
    assert "exec nope: executable file not found in the container's PATH" in r.stderr
    r = run(host, ["/script"], rootfs="/tmp/r2")
    assert "its interpreter /bin/bash is missing" in r.stderr
    r = run(host, ["/data"], rootfs="/tmp/r2")
    assert "not executable (mode 0644): permission denied" in r.stderr


def test_refused_cgroup_limit_names_file_and_value(host):
    def m(cfg):
        cfg["linux"]["resources"]["cpu"] = {"cpus": "99"}

    r = run(host, ["true"], m)
    assert r.returncode != 0 and "cpuset.cpus" in r.stderr and "99" in r.stderr
    # And the failed create left nothing behind.
    assert host.run(f"ls /run/berth-oci/{r.cid} /sys/fs/cgroup/berth-oci/{r.cid} 2>&1").returncode != 0


# ---- conformance: what an independent suite found ------------------------------------------------


def mountinfo(h):
    return h.run("cat /proc/self/mountinfo", check=True).stdout.splitlines()


def root_tags(line):
    """The propagation tags of a mountinfo line (shared:N, master:N, unbindable)."""
    fields = line.split(" - ")[0].split()[6:]
    return {f.split(":")[0] for f in fields}


def test_oom_score_adj_is_applied(host):
    r = run(host, ["cat", "/proc/self/oom_score_adj"], lambda c: c["process"].__setitem__("oomScoreAdj", 345))
    assert r.returncode == 0 and r.stdout.strip() == "345", r.stderr


@pytest.mark.parametrize("prop,want", [("private", set()), ("rprivate", set()), ("slave", {"master"}),
                                       ("rslave", {"master"}), ("shared", {"shared"}), ("rshared", {"shared"}),
                                       ("unbindable", {"unbindable"}), ("runbindable", {"unbindable"})])
def test_rootfs_propagation_on_an_rshared_host(host, prop, want):
    """Berth's / is rshared: every mode works there, the container's / has
    it, and nothing the container mounted is left in the host's table."""
    before = mountinfo(host)

    def m(cfg):
        cfg["linux"]["rootfsPropagation"] = prop

    r = run(host, ["sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo"], m)
    assert r.returncode == 0, r.stderr
    assert root_tags(r.stdout.strip()) - {"master"} == want - {"master"}, r.stdout
    if "master" in want:
        assert "master" in root_tags(r.stdout.strip()), r.stdout
    assert mountinfo(host) == before


def test_failed_creates_leave_no_mount_on_the_host(host):
    before = mountinfo(host)

    def hook_fails(kind):
        return lambda c: c.__setitem__("hooks", {kind: [{"path": "/bin/false"}]})

    failures = [
        (["/nope"], None),
        (["true"], hook_fails("prestart")),
        (["true"], hook_fails("createContainer")),
        (["true"], lambda c: c["linux"]["resources"].__setitem__("cpu", {"cpus": "99"})),
        (["true"], lambda c: add_mount(c, destination="/x", type="nosuchfs", source="none")),
    ]
    for prop in [None, "private", "rslave", "shared", "unbindable"]:
        for args, fail in failures:
            def m(cfg, prop=prop, fail=fail):
                if prop:
                    cfg["linux"]["rootfsPropagation"] = prop
                if fail:
                    fail(cfg)

            r = run(host, args, m)
            assert r.returncode != 0, (prop, args)
    assert mountinfo(host) == before


def without_mount_ns(cfg):
    cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "mount"]
    cfg["mounts"] = []
    cfg["linux"]["maskedPaths"] = []
    cfg["linux"]["readonlyPaths"] = []
    cfg["root"]["readonly"] = False


def test_no_mount_namespace_inherits_the_runtimes(host):
    """The spec: a namespace not in the list is the runtime's. The process
    shares the host's mount namespace, chrooted into its root; exec joins it
    there."""
    before = mountinfo(host)
    d, cid = bundle(host, ["sleep", "1000"], without_mount_ns)
    host.run(f"cd {d} && berth-oci create {cid} && berth-oci start {cid}", check=True)
    pid = state(host, cid)["pid"]
    ns = [host.run(f"readlink {p}", check=True).stdout.strip() for p in [f"/proc/{pid}/ns/mnt", "/proc/self/ns/mnt"]]
    assert ns[0] == ns[1]
    assert host.run(f"readlink /proc/{pid}/root", check=True).stdout.strip() == ROOTFS
    r = host.run(f"berth-oci exec {cid} ls /etc")
    assert r.returncode == 0 and r.stdout.split() == ["passwd"], r.stdout + r.stderr
    host.run(f"berth-oci delete --force {cid}", check=True)
    assert mountinfo(host) == before


def test_no_mount_namespace_refuses_what_needs_one(host):
    def m(cfg):
        without_mount_ns(cfg)
        tmp_tmpfs(cfg)

    r = run(host, ["true"], m)
    assert r.returncode != 0
    assert "mounts needs a mount namespace, and linux.namespaces has none" in r.stderr


# ---- conformance: what crun's test suite found (make conformance) -------------------------------


def test_unknown_capability_is_a_warning(host):
    """The spec: a capability that cannot be mapped MUST be logged as a
    warning, and the runtime SHOULD NOT fail; exec --cap likewise."""
    def m(cfg):
        cfg["process"]["capabilities"] = {k: ["CAP_KILL", "CAP_NOT_YET"] for k in
                                          ["bounding", "effective", "permitted"]}
        tmp_tmpfs(cfg)

    r = run(host, ["grep", "^Cap", "/proc/self/status"], m)
    assert r.returncode == 0, r.stderr
    assert "process.capabilities.bounding[1]: ignoring unknown capability 'CAP_NOT_YET'" in r.stderr
    c = caps_of(r.stdout)
    assert c["CapBnd"] == c["CapEff"] == c["CapPrm"] == 1 << 5


def test_exec_cap_no_new_privs_groups_and_env_override(host):
    """runc's exec options: --cap, --no-new-privs, --additional-gids; an
    --env NAME=... replaces the config's NAME (a program reads the first)."""
    def m(cfg):
        cfg["process"]["capabilities"] = {}
        cfg["process"]["noNewPrivileges"] = False
        cfg["process"]["env"] = ["PATH=/bin", "WHO=config"]

    d, cid = bundle(host, ["sleep", "1000"], m)
    host.run(f"cd {d} && berth-oci create {cid} && berth-oci start {cid}", check=True)
    st = host.run(f"berth-oci exec {cid} cat /proc/self/status", check=True).stdout
    assert caps_of(st)["CapEff"] == 0 and re.search(r"^NoNewPrivs:\s+0$", st, re.M)
    r = host.run(f"berth-oci exec --cap CAP_KILL --cap CAP_NOPE --no-new-privs -g 432 -g 433 {cid} "
                 "cat /proc/self/status")
    assert r.returncode == 0 and "ignoring unknown capability 'CAP_NOPE'" in r.stderr, r.stderr
    c = caps_of(r.stdout)
    assert c["CapEff"] == c["CapPrm"] == c["CapBnd"] == 1 << 5 and c["CapInh"] == c["CapAmb"] == 0
    assert re.search(r"^NoNewPrivs:\s+1$", r.stdout, re.M)
    assert re.search(r"^Groups:\s+432 433\s*$", r.stdout, re.M), r.stdout
    r = host.run(f"berth-oci exec --env WHO=flag --env NEW=1 {cid} sh -c 'echo $WHO $NEW; env | grep -c ^WHO='")
    assert r.stdout.split() == ["flag", "1", "1"], r.stdout + r.stderr
    host.run(f"berth-oci delete --force {cid}", check=True)


def test_home_from_the_containers_passwd(host):
    """Without HOME in env, a process gets its user's home from the
    container's /etc/passwd, or /, as runc and crun give it; run and exec."""
    def m(cfg):
        cfg["process"]["env"] = ["PATH=/bin"]

    assert run(host, ["sh", "-c", "echo $HOME"], m).stdout.strip() == "/root"

    def other(cfg):
        m(cfg)
        cfg["process"]["user"] = {"uid": 4321, "gid": 4321}

    assert run(host, ["sh", "-c", "echo $HOME"], other).stdout.strip() == "/"

    def given(cfg):
        cfg["process"]["env"] = ["PATH=/bin", "HOME=/given"]

    assert run(host, ["sh", "-c", "echo $HOME"], given).stdout.strip() == "/given"
    d, cid = bundle(host, ["sleep", "1000"], m)
    host.run(f"cd {d} && berth-oci create {cid} && berth-oci start {cid}", check=True)
    assert host.run(f"berth-oci exec {cid} sh -c 'echo $HOME'").stdout.strip() == "/root"
    assert host.run(f"berth-oci exec --user 99 {cid} sh -c 'echo $HOME'").stdout.strip() == "/"
    # strtoul would take these as 4294967295 (the kernel's "no change") and 0.
    for spec in ("-1", "4294967295", " 0", "0:+0"):
        r = host.run(f"berth-oci exec --user '{spec}' {cid} true")
        assert r.returncode != 0 and "expected UID[:GID]" in r.stderr, (spec, r)
    host.run(f"berth-oci delete --force {cid}", check=True)


def test_missing_cwd_is_made_before_the_root_is_read_only(host):
    def m(cfg):
        cfg["process"]["cwd"] = "/made/for/you"

    host.run(f"rm -rf /tmp/rootfs-cwd && cp -a {ROOTFS} /tmp/rootfs-cwd", check=True)
    r = run(host, ["sh", "-c", "pwd"], m, rootfs="/tmp/rootfs-cwd")
    assert r.returncode == 0 and r.stdout.strip() == "/made/for/you", r.stderr
    assert host.run("stat -c '%a %u' /tmp/rootfs-cwd/made/for/you").stdout.strip() == "755 0"


def test_sysctl_kernel_hostname_is_refused(host):
    def m(cfg):
        cfg["linux"]["sysctl"] = {"kernel.hostname": "other"}

    r = run(host, ["hostname"], m)
    assert r.returncode != 0 and "linux.sysctl.kernel.hostname: set the container's host name with hostname" in \
        r.stderr, r.stderr


def test_hook_without_env_inherits_the_runtimes(host):
    host.run("rm -rf /tmp/hkenv; mkdir -p /tmp/hkenv", check=True)

    def m(cfg):
        cfg["hooks"] = {"prestart": [
            {"path": "/bin/sh", "args": ["sh", "-c", "echo \"[$FROM_RUNTIME]\" > /tmp/hkenv/inherited"]},
            {"path": "/bin/sh", "args": ["sh", "-c", "echo \"[$FROM_RUNTIME]\" > /tmp/hkenv/empty"], "env": []},
            {"path": "/bin/sh", "args": ["sh", "-c", "echo \"[$FROM_RUNTIME]\" > /tmp/hkenv/own"],
             "env": ["FROM_RUNTIME=own"]}]}

    d, cid = bundle(host, ["true"], m)
    r = host.run(f"cd {d} && FROM_RUNTIME=yes berth-oci run {cid}")
    assert r.returncode == 0, r.stderr
    got = {f: host.run(f"cat /tmp/hkenv/{f}").stdout.strip() for f in ["inherited", "empty", "own"]}
    assert got == {"inherited": "[yes]", "empty": "[]", "own": "[own]"}


def test_userns_bind_source_only_the_hosts_root_may_reach(host):
    """A bind source under a directory only the host's root may search is
    cloned before the user namespace is entered (as runc and crun do)."""
    host.run("rm -rf /tmp/locked && mkdir -p /tmp/locked/m && echo hello > /tmp/locked/m/content && "
             "chmod 000 /tmp/locked", check=True)

    def m(cfg):
        cfg["linux"]["namespaces"].append({"type": "user"})
        cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        # /tmp is in the root already: the container's root (host uid
        # 100000) could not make a directory in a root owned by host root.
        add_mount(cfg, destination="/tmp", type="bind", source="/tmp/locked/m", options=["bind", "ro"])

    r = run(host, ["cat", "/tmp/content"], m)
    assert r.returncode == 0 and r.stdout.strip() == "hello", r.stderr
