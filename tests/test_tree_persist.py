"""Every accepted change is on disk before the write returns: it survives an unmount,
SIGTERM and SIGKILL of the daemon; a corrupt container is kept and shown at load."""
import errno
import os

import pytest

from lib.daemon import host_lacks
from lib.fsops import errno_of, read_file, read_value, write_file
from lib.keys import ALIASES, SETTINGS, good_nondefault

LXC = """lxc.utsname=debian
lxc.network.type=veth
lxc.network.ipv4=10.77.1.253/24
lxc.cgroup.memory.limit_in_bytes=134217728
lxc.cgroup.devices.allow=c 1:3 rwm
"""


def snapshot(d, name):
    snap = {k.rel: read_file(d.path(name, k.rel)) for k in SETTINGS + ALIASES}
    snap["config"] = read_file(d.path(name, "config"))
    snap["state"] = read_file(d.path(name, "state"))
    return snap


def _diff(a, b):
    return "\n".join(f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b))
                     if a.get(k) != b.get(k))


def _set_everything(d, name):
    for k in SETTINGS:
        if host_lacks(d, k.needs):
            continue
        w, _r = good_nondefault(k, name)
        data = w if w.endswith("\n") else w + "\n"
        res = write_file(d.path(name, k.rel), data)
        assert res == 0, (k.rel, res)


@pytest.mark.parametrize("how", ["unmount", "sigterm"])
def test_everything_survives_restart(daemon, how):
    for n in ("c1", "c2", "c3"):
        os.mkdir(daemon.path(n))
    _set_everything(daemon, "c1")
    assert write_file(daemon.path("c2", "config"), LXC) == 0
    assert write_file(daemon.path("c3", "cgroup", "cpu.shares"), "512\n") == 0
    before = {n: snapshot(daemon, n) for n in ("c1", "c2", "c3")}
    listing = sorted(os.listdir(daemon.path()))
    daemon.restart(how)
    assert sorted(os.listdir(daemon.path())) == listing
    for n in ("c1", "c2", "c3"):
        after = snapshot(daemon, n)
        assert after == before[n], f"{n} after {how}:\n{_diff(before[n], after)}"


def test_accepted_change_survives_kill9(daemon):
    """kill -9 right after the write returns: the value is there after the restart."""
    os.mkdir(daemon.path("web"))
    want = {}
    # a hidden v1 alias keeps the text written through it (blkio.weight where this
    # host has an I/O weight at all)
    alias = "cpu.shares" if host_lacks(daemon, "io weight") else "blkio.weight"

    def check(step):
        for (name, rel), v in want.items():
            got = read_value(daemon.path(name, rel))
            assert got == v, f"after {step}: {name}/{rel} = {got!r}, want {v!r}"

    steps = [
        ("one-line", lambda: write_file(daemon.path("web", "hostname"), "k9host\n"),
         {("web", "hostname"): "k9host"}),
        ("size", lambda: write_file(daemon.path("web", "cgroup", "memory.max"), "96M\n"),
         {("web", "cgroup/memory.max"): "96M"}),
        ("list", lambda: write_file(daemon.path("web", "env"), ["A=1\n", "B=2\n"]),
         {("web", "env"): "A=1\nB=2"}),
        ("append", lambda: write_file(daemon.path("web", "env"), "C=3\n",
                                      flags=os.O_WRONLY | os.O_APPEND),
         {("web", "env"): "A=1\nB=2\nC=3"}),
        ("alias", lambda: write_file(daemon.path("web", "cgroup", alias), "500\n"),
         {("web", "cgroup/" + alias): "500"}),
        ("mkdir", lambda: os.mkdir(daemon.path("db")) or 0, {("db", "hostname"): "db"}),
        ("config", lambda: write_file(daemon.path("db", "config"),
                                      "[container]\nhostname = cfg9\n[net]\ntype = veth\n"),
         {("db", "hostname"): "cfg9", ("db", "net/type"): "veth"}),
        ("rename", lambda: _rename_over(daemon, "db", "net", "mtu", "1400\n"),
         {("db", "net/mtu"): "1400"}),
    ]
    for step, act, adds in steps:
        res = act()
        assert res == 0, (step, res)
        want.update(adds)
        daemon.kill9()
        check(step)
    os.rmdir(daemon.path("db"))
    want = {k: v for k, v in want.items() if k[0] != "db"}
    daemon.kill9()
    assert "db" not in os.listdir(daemon.path()), "rmdir did not survive kill -9"
    check("rmdir")


def _rename_over(d, name, sub, setting, data):
    t = d.path(name, sub, ".tmp-rename")
    fd = os.open(t, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)
    os.rename(t, d.path(name, sub, setting))
    return 0


def test_rejected_change_is_not_persisted(daemon):
    os.mkdir(daemon.path("web"))
    assert write_file(daemon.path("web", "hostname"), "good\n") == 0
    assert write_file(daemon.path("web", "hostname"), "-bad\n") != 0
    assert write_file(daemon.path("web", "config"), "[container]\nhostname = x\nbogus = 1\n") != 0
    daemon.kill9()
    assert read_value(daemon.path("web", "hostname")) == "good"


def test_temp_files_are_not_persisted(daemon):
    os.mkdir(daemon.path("web"))
    fd = os.open(daemon.path("web", "sedXYZ123"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"x")
    os.close(fd)
    before = read_file(daemon.path("web", "config"))
    daemon.restart()
    assert "sedXYZ123" not in os.listdir(daemon.path("web"))
    assert read_file(daemon.path("web", "config")) == before


def _files_of(state_dir, name):
    hits = []
    for root, _dirs, files in os.walk(state_dir):
        for f in files:
            p = os.path.join(root, f)
            if name in os.path.relpath(p, state_dir):
                hits.append(p)
    return hits


@pytest.mark.parametrize("garbage", [b"\x00\x01\xffgarbage[[[\n=\n", b"[container]\nhostname = -x\n",
                                     b""], ids=["binary", "bad-value", "empty"])
def test_corrupt_state_file_is_kept(daemon, garbage):
    """A container whose configuration cannot be loaded stays in the tree, says why in
    last_error, and its file is neither dropped nor overwritten by mkdir or a setting."""
    for n in ("alpha", "beta", "gamma"):
        os.mkdir(daemon.path(n))
    assert write_file(daemon.path("beta", "hostname"), "beta-host\n") == 0
    assert write_file(daemon.path("gamma", "cgroup", "memory.max"), "1G\n") == 0
    files = _files_of(daemon.state_dir, "alpha")
    assert files, f"no file of alpha in the state dir: {list(os.walk(daemon.state_dir))}"
    assert daemon.stop() == 0
    for p in files:
        with open(p, "wb") as f:
            f.write(garbage)
    daemon.start()
    names = set(os.listdir(daemon.path()))
    assert {"alpha", "beta", "gamma"} <= names, names
    assert "cannot be loaded" in read_value(daemon.path("alpha", "last_error"))
    assert read_value(daemon.path("beta", "hostname")) == "beta-host"
    assert read_value(daemon.path("gamma", "cgroup", "memory.max")) == "1G"
    assert errno_of(os.mkdir, daemon.path("alpha")) == errno.EEXIST
    assert write_file(daemon.path("alpha", "hostname"), "other\n") == errno.EIO
    assert errno_of(read_file, daemon.path("alpha", "hostname")) == errno.EIO
    assert write_file(daemon.path("alpha", "state"), "start\n") == errno.EIO
    for p in files:
        with open(p, "rb") as f:
            assert f.read() == garbage, p
    # a whole new config replaces it
    assert write_file(daemon.path("alpha", "config"), "[container]\nhostname = fixed\n") == 0
    assert read_value(daemon.path("alpha", "hostname")) == "fixed"
    daemon.restart()
    assert read_value(daemon.path("alpha", "hostname")) == "fixed"


def test_state_dir_holds_no_temp_files(daemon):
    os.mkdir(daemon.path("web"))
    for i in range(20):
        assert write_file(daemon.path("web", "cgroup", "cpu.weight"), f"{100 + i}\n") == 0
    leftovers = [os.path.join(r, f) for r, _d, fs in os.walk(daemon.state_dir) for f in fs
                 if f.startswith(".") or "tmp" in f or f.endswith("~")]
    assert not leftovers, leftovers
