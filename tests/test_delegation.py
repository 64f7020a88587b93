"""Delegation by ownership, with a real user made for the test (useradd, its own
/etc/subuid and /etc/subgid ranges, removed after with both files restored byte for
byte): root gives a container away with chown; the owner runs it with echo and cat;
every widening the owner tries is refused with its errno and last_error; another user
reads state but not env, config or log; only root makes containers; the owner
survives a daemon restart."""
import errno
import json
import os
import pwd
import shutil
import subprocess

import pytest

from lib.fsops import read_file, write_file
from lib.lifecycle import Ctr, containers, wait_for
from lib.system import image, system_container

assert containers and image  # fixtures

RANGE_START, RANGE_COUNT = 1500000000, 131072
USERNET = "/etc/containerfs/usernet"

PROBE = r"""
import errno, json, os, sys
ops = json.loads(sys.argv[1])
out = []
for op in ops:
    kind, path = op[0], op[1]
    try:
        if kind == "read":
            with open(path) as f:
                out.append(["ok", f.read()])
        elif kind == "write":
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            try:
                os.write(fd, op[2].encode())
            finally:
                os.close(fd)
            out.append(["ok", None])
        elif kind == "mkdir":
            os.mkdir(path)
            out.append(["ok", None])
        elif kind == "rmdir":
            os.rmdir(path)
            out.append(["ok", None])
        elif kind == "chown":
            os.chown(path, op[2], op[3])
            out.append(["ok", None])
        elif kind == "listdir":
            out.append(["ok", sorted(os.listdir(path))])
        elif kind == "chmod":
            os.chmod(path, op[2])
            out.append(["ok", oct(os.stat(path).st_mode & 0o7777)])
    except OSError as e:
        out.append([errno.errorcode[e.errno], None])
print(json.dumps(out))
"""


def _restore(path: str, saved):
    if saved is None:
        if os.path.exists(path):
            os.unlink(path)
    else:
        with open(path, "wb") as f:
            f.write(saved)


def _save(path: str):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


class User:
    def __init__(self, name: str):
        pw = pwd.getpwnam(name)
        self.name, self.uid, self.gid = name, pw.pw_uid, pw.pw_gid

    def run(self, *ops):
        """Run file operations as this user; [[errno name or "ok", value], ...]."""
        r = subprocess.run(["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}",
                            "--init-groups", "/usr/bin/python3", "-c", PROBE,
                            json.dumps(list(ops))], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def one(self, *op):
        return self.run(op)[0]


def _make_user(tag: str, subids: bool) -> User:
    name = f"cfsd{tag}{os.getpid() % 100000}"
    subprocess.run(["useradd", "-r", "-M", "-N", "-s", "/usr/sbin/nologin", name],
                   check=True, timeout=30)
    u = User(name)
    if subids:
        for f in ("/etc/subuid", "/etc/subgid"):
            with open(f, "a") as fh:
                fh.write(f"{name}:{RANGE_START}:{RANGE_COUNT}\n")
    return u


def _drop_lines(path: str, name: str):
    """Remove name's lines from a subid file, leaving every other line as it is (other
    test runs may change the file meanwhile, so it is not rewritten from a copy)."""
    with open(path) as f:
        lines = f.readlines()
    keep = [line for line in lines if not line.startswith(name + ":")]
    if keep != lines:
        with open(path, "w") as f:
            f.writelines(keep)


@pytest.fixture
def users():
    """(owner, other): two users made for the test; the owner has subordinate ids.
    Removed after, with their /etc/subuid and /etc/subgid lines and the usernet file."""
    if not shutil.which("setpriv") or not shutil.which("useradd"):
        pytest.skip("setpriv/useradd not installed")
    saved_usernet = _save(USERNET)
    made = []
    try:
        made.append(_make_user("o", True))
        made.append(_make_user("x", False))
        yield made[0], made[1]
    finally:
        for u in made:
            subprocess.run(["userdel", u.name], timeout=30)
            for f in ("/etc/subuid", "/etc/subgid"):
                _drop_lines(f, u.name)
        _restore(USERNET, saved_usernet)
        if saved_usernet is None and os.path.isdir(os.path.dirname(USERNET)):
            try:
                os.rmdir(os.path.dirname(USERNET))
            except OSError:
                pass
        for u in made:
            for f in ("/etc/passwd", "/etc/group", "/etc/subuid", "/etc/subgid"):
                with open(f) as fh:
                    assert not any(line.startswith(u.name + ":") for line in fh), \
                        f"{u.name} left in {f}"


def _delegate(daemon, name, owner: User):
    os.chown(daemon.path(name), owner.uid, owner.gid)
    st = os.stat(daemon.path(name))
    assert (st.st_uid, st.st_gid) == (owner.uid, owner.gid)


def _owner_lifecycle(daemon, c: Ctr, owner: User, timeout=30):
    p = c.path
    got = owner.run(("write", p("stop.timeout"), "5\n"), ("write", p("state"), "start\n"),
                    ("read", p("state")))
    assert got[0] == ["ok", None] and got[1] == ["ok", None], \
        (got, read_file(p("last_error")))
    wait_for(lambda: c.state() == "RUNNING", timeout, what="RUNNING")
    assert owner.one("read", p("state")) == ["ok", "RUNNING\n"]
    # the ids come from the owner's ranges
    idmap = c.read("idmap").split("\n")
    for line in idmap:
        kind, _inside, outside, count = line.split()
        assert RANGE_START <= int(outside) and \
            int(outside) + int(count) <= RANGE_START + RANGE_COUNT, idmap
    assert c.read("privileged") == "0"
    assert owner.one("write", p("state"), "stop\n") == ["ok", None], read_file(p("last_error"))
    wait_for(lambda: c.state() == "STOPPED", timeout, what="STOPPED")


@pytest.mark.timeout(120)
def test_owner_runs_application_container(daemon, containers, users):
    owner, other = users
    c = containers("app", init="/bin/sleep 300")
    _delegate(daemon, "app", owner)
    for f in ("config", "env", "init", "log", "ps", "last_error"):
        st = os.stat(c.path(f))
        assert st.st_uid == owner.uid and st.st_mode & 0o077 == 0, (f, oct(st.st_mode))
    assert os.stat(c.path("state")).st_mode & 0o777 == 0o644
    assert owner.one("write", c.path("env"), "TOKEN=secret\n") == ["ok", None]
    assert owner.one("read", c.path("env")) == ["ok", "TOKEN=secret\n"]
    # editors work for the owner too: sed -i makes a temp file and renames it over
    r = subprocess.run(["setpriv", f"--reuid={owner.uid}", f"--regid={owner.gid}",
                        "--init-groups", "sed", "-i", "s/^TOKEN=.*/TOKEN=other/", c.path("env")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, (r.stderr, c.read("last_error"))
    assert c.read("env") == "TOKEN=other"
    _owner_lifecycle(daemon, c, owner)
    # another user: state and the listing yes, secrets no, changes no
    got = other.run(("read", c.path("state")), ("listdir", c.path()),
                    ("read", c.path("env")), ("read", c.path("config")),
                    ("read", c.path("log")), ("read", c.path("init")),
                    ("read", c.path("ps")), ("read", c.path("last_error")),
                    ("write", c.path("state"), "start\n"),
                    ("write", c.path("hostname"), "evil\n"), ("read", c.path("hostname")))
    assert got[0] == ["ok", "STOPPED\n"] and got[1][0] == "ok" and "state" in got[1][1]
    assert [g[0] for g in got[2:-1]] == ["EACCES"] * 8, got
    assert got[-1] == ["ok", "app\n"]
    assert c.state() == "STOPPED" and c.read("hostname") == "app"


@pytest.mark.timeout(180)
def test_owner_runs_system_container(daemon, containers, image, users):
    owner, _other = users
    c = system_container(containers, "sys", image)
    _delegate(daemon, "sys", owner)
    _owner_lifecycle(daemon, c, owner, timeout=60)


def test_refused_widenings(daemon, containers, users):
    owner, _other = users
    c = containers("web", init="/bin/sleep 300")
    _delegate(daemon, "web", owner)
    # the daemon's base dir is reachable by other users (the mount point is in it)
    secret = os.path.join(daemon.base, "secret")
    readable = os.path.join(daemon.base, "pub")
    for d, mode in ((secret, 0o700), (readable, 0o755)):
        os.mkdir(d)
        os.chmod(d, mode)
    os.makedirs(os.path.dirname(USERNET), exist_ok=True)
    with open(USERNET, "w") as f:
        f.write(f"# test grant\n{owner.name} veth cfsgrant0 1\n")
    cases = [
        ("privileged", "1\n", "privileged"),
        ("idmap", "u 0 1100000 65536\ng 0 1100000 65536\n", "idmap"),
        ("cgroup/devices.allow", "c 1:3 rwm\nb 8:0 rwm\n", "devices.allow"),
        ("cgroup/devices.deny", "c 1:3 rwm\n", "devices.deny"),
        ("mounts", f"{secret} /mnt none bind,ro 0 0\n", str(secret)),
        ("rootfs", f"{readable}\n", "rootfs"),  # root's choice: it is mounted idmapped
        ("net/veth.pair", "eth9\n", "veth.pair"),
    ]
    before = read_file(c.path("config"))
    assert owner.one("write", c.path("net/type"), "veth\n")[0] == "EPERM"  # no bridge yet
    assert "bridge" in c.read("last_error")
    for rel, value, needle in cases:
        got = owner.one("write", c.path(rel), value)
        assert got == ["EPERM", None], (rel, got)
        err = c.read("last_error")
        assert needle in err, (rel, err)
    assert read_file(c.path("config")) == before
    c.set("net/type", "veth")  # root may; the owner's bridge must still be granted
    assert owner.one("write", c.path("net/link"), "cfsother0\n") == ["EPERM", None]
    assert "cfsother0" in c.read("last_error")
    # what is inside the owner's rights is accepted
    ok = [("idmap", f"u 0 {RANGE_START} 65536\ng 0 {RANGE_START} 65536\n"),
          ("mounts", f"{readable} /mnt none bind,ro 0 0\n"),
          ("net/link", "cfsgrant0\n")]
    for rel, value in ok:
        assert owner.one("write", c.path(rel), value) == ["ok", None], \
            (rel, c.read("last_error"))
    # a path the owner could swap for another before the start is refused
    mine = os.path.join(daemon.base, "mine")
    os.mkdir(mine)
    os.chown(mine, owner.uid, owner.gid)
    os.mkdir(os.path.join(mine, "data"))
    os.chown(os.path.join(mine, "data"), owner.uid, owner.gid)
    os.symlink(readable, os.path.join(daemon.base, "link"))
    for src, needle in ((os.path.join(mine, "data"), f"can change {mine}"),
                        (os.path.join(daemon.base, "link"), "symbolic link")):
        got = owner.one("write", c.path("mounts"), f"{src} /mnt none bind,ro 0 0\n")
        assert got == ["EPERM", None], src
        assert needle in c.read("last_error")
    assert owner.one("write", c.path("mounts"), f"{mine} /mnt none bind 0 0\n") == \
        ["ok", None], c.read("last_error")
    assert owner.one("write", c.path("rootfs"), mine + "\n") == ["EPERM", None]
    # the grant counts the owner's containers on the bridge: one here
    c2 = containers("web2", init="/bin/sleep 300")
    _delegate(daemon, "web2", owner)
    c2.set("net/type", "veth")
    # an image root set with an overlay stays read-only for the owner
    c2.set("rootfs", readable)
    c2.set("rootfs.overlay", "1")
    assert owner.one("write", c2.path("rootfs.overlay"), "0\n") == ["EPERM", None]
    assert "rootfs" in c2.read("last_error")
    assert owner.one("write", c2.path("net/link"), "cfsgrant0\n") == ["EPERM", None]
    assert "may attach 1" in c2.read("last_error")
    # tasks, chown, mkdir, rmdir: root's
    got = owner.run(("write", c.path("tasks"), f"{os.getpid()}\n"),
                    ("chown", c.path(), 0, 0),
                    ("chown", c.path(), owner.uid, 0),
                    ("mkdir", daemon.path("mine")), ("rmdir", c.path()))
    assert [g[0] for g in got] == ["EPERM", "EPERM", "EPERM", "EACCES", "EACCES"], got
    assert "mine" not in os.listdir(daemon.path())
    st = os.stat(c.path())
    assert (st.st_uid, st.st_gid) == (owner.uid, owner.gid)
    # root still may do everything
    c.set("privileged", "1")
    c.set("privileged", "0")


def test_an_owners_chmod_opens_nothing(daemon, containers, users):
    """The modes are delegation's: the owner's chmod succeeds (cp -p, tar -x and rsync -a
    set modes after writing) and neither opens its files to others nor closes them."""
    owner, other = users
    c = containers("web", init="/bin/sleep 300")
    _delegate(daemon, "web", owner)
    got = owner.run(("chmod", c.path("hostname"), 0o666), ("chmod", c.path("env"), 0o644),
                    ("chmod", c.path("config"), 0o666), ("chmod", c.path(), 0o777),
                    ("chmod", c.path("cgroup"), 0o700), ("chmod", c.path("hostname"), 0o600))
    assert got == [["ok", "0o644"], ["ok", "0o600"], ["ok", "0o600"], ["ok", "0o755"],
                   ["ok", "0o755"], ["ok", "0o644"]], got
    got = other.run(("write", c.path("hostname"), "evil\n"), ("read", c.path("env")),
                    ("read", c.path("config")), ("read", c.path("hostname")),
                    ("listdir", c.path("cgroup")))
    assert [g[0] for g in got] == ["EACCES", "EACCES", "EACCES", "ok", "ok"], got
    assert got[3][1] == "web\n"
    assert other.one("chmod", c.path("hostname"), 0o666)[0] == "EPERM"  # not its file


def test_roots_copies_keep_the_owner(daemon, containers, users, tmp_path):
    """root's cp -p, rsync -a, tar -x and install into a delegated container chown what
    they wrote to the source's owner: the values land, the files stay the owner's."""
    owner, _other = users
    c = containers("web", init="/bin/sleep 300")
    _delegate(daemon, "web", owner)
    src = tmp_path / "src"
    (src / "cgroup").mkdir(parents=True)
    for rel, v in (("hostname", "h0"), ("cgroup/pids.max", "60"), ("env", "A=0")):
        (src / rel).write_text(v + "\n")
        os.chown(src / rel, 1234, 1234)
    os.chown(src / "cgroup", 1234, 1234)
    archive = tmp_path / "t.tar"

    def retar(host, pids):
        (src / "hostname").write_text(host + "\n")
        (src / "cgroup" / "pids.max").write_text(pids + "\n")
        subprocess.run(["tar", "-cf", str(archive), "-C", str(src), "hostname", "cgroup"],
                       check=True, timeout=30)

    steps = [
        (None, ["cp", "-p", str(src / "hostname"), c.path("hostname")], {"hostname": "h0"}),
        (None, ["rsync", "-a", f"{src}/cgroup/", c.path("cgroup") + "/"],
         {"cgroup/pids.max": "60"}),
        (None, ["rsync", "-a", str(src / "env"), c.path("env")], {"env": "A=0"}),
        (lambda: retar("h1", "61"), ["tar", "-xf", str(archive), "-C", c.path()],
         {"hostname": "h1", "cgroup/pids.max": "61"}),
        (lambda: (src / "hostname").write_text("h2\n"),
         ["install", "-o", "1234", "-m", "666", str(src / "hostname"), c.path("hostname")],
         {"hostname": "h2"}),
    ]
    for prepare, argv, want in steps:
        if shutil.which(argv[0]) is None:
            continue
        if prepare:
            prepare()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (argv, r.stderr)
        for rel, v in want.items():
            assert c.read(rel) == v, (argv, rel)
    for rel in ("", "cgroup", "hostname", "env", "cgroup/pids.max", "config"):
        st = os.stat(c.path(rel))
        assert (st.st_uid, st.st_gid) == (owner.uid, owner.gid), rel
    assert owner.one("write", c.path("hostname"), "mine\n") == ["ok", None]


def test_ownership_survives_restart(daemon, containers, users):
    owner, other = users
    containers("kept", init="/bin/sleep 300")
    _delegate(daemon, "kept", owner)
    daemon.restart()
    st = os.stat(daemon.path("kept"))
    assert (st.st_uid, st.st_gid) == (owner.uid, owner.gid)
    assert owner.one("write", daemon.path("kept", "hostname"), "mine\n") == ["ok", None]
    assert other.one("read", daemon.path("kept", "config"))[0] == "EACCES"
    # root takes it back
    os.chown(daemon.path("kept"), 0, 0)
    assert owner.one("write", daemon.path("kept", "hostname"), "again\n")[0] == "EACCES"
    assert errno.EACCES  # the names above are errno's


@pytest.mark.timeout(120)
def test_unlink_then_create_keeps_the_owners_limits(daemon, containers, image, users):
    """An unlinked setting lands (install, mv, tar -x) or goes back to its default (rm)
    with the rights of the user who unlinked it: neither is a way around the owner's
    limits."""
    owner, _other = users
    c = system_container(containers, "web", image)
    _delegate(daemon, "web", owner)

    def as_owner(script):
        return subprocess.run(["setpriv", f"--reuid={owner.uid}", f"--regid={owner.gid}",
                               "--init-groups", "sh", "-c", script], capture_output=True,
                              text=True, timeout=60)

    src = os.path.join(daemon.base, "priv")
    with open(src, "w") as f:
        f.write("1\n")
    os.chmod(src, 0o644)
    # install unlinks and creates again: the landing is the owner's write, refused
    r = as_owner(f"install -m 644 {src} {c.path('privileged')}")
    assert r.returncode != 0, r
    assert c.read("privileged") == "0" and "privileged" in c.read("last_error")
    # rm of rootfs alone would reset it to its default (empty: the host's files);
    # rootfs is root's choice, so the reset is refused and the setting stays
    r = as_owner(f"rm {c.path('rootfs')}")
    assert r.returncode == 0, r
    wait_for(lambda: "rootfs" in c.read("last_error"), 20, what="the refused reset")
    assert c.read("rootfs") == image
    # what the owner may change lands as usual
    with open(src, "w") as f:
        f.write("owned\n")
    r = as_owner(f"install -m 644 {src} {c.path('hostname')}")
    assert r.returncode == 0, r
    assert c.read("hostname") == "owned"
