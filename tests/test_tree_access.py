"""Who may do what: two daemons side by side; the tree is mounted allow_other: other
users read what holds no secret (not config, env or log) and change nothing (delegation
to an owner: test_delegation.py); the tree over sshfs (optional)."""
import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from lib.daemon import mountinfo, mounts_under
from lib.fsops import read_file, read_value, run, write_file


def test_two_daemons_side_by_side(daemon, second_daemon):
    other = second_daemon()
    assert other.mnt != daemon.mnt and other.cgroup_parent != daemon.cgroup_parent
    for d, host in ((daemon, "one"), (other, "two")):
        os.mkdir(d.path("web"))
        assert write_file(d.path("web", "hostname"), host + "\n") == 0
    os.mkdir(daemon.path("only-in-one"))
    assert read_value(daemon.path("web", "hostname")) == "one"
    assert read_value(other.path("web", "hostname")) == "two"
    assert "only-in-one" not in os.listdir(other.path())
    # one goes away and comes back; the other is untouched meanwhile
    other.restart()
    assert read_value(daemon.path("web", "hostname")) == "one"
    assert read_value(other.path("web", "hostname")) == "two"
    assert "only-in-one" not in os.listdir(other.path())
    os.rmdir(other.path("web"))
    assert read_value(daemon.path("web", "hostname")) == "one"


NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]

PROBE = r"""
import errno, json, os, sys
web = sys.argv[1]
out = {}
def t(name, fn):
    try:
        r = fn()
        out[name] = ["ok", r]
    except OSError as e:
        out[name] = [errno.errorcode[e.errno], None]
def rd(p):
    with open(p) as f:
        return f.read()
def wr(p, data):
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
t("read hostname", lambda: rd(os.path.join(web, "hostname")))
t("read config", lambda: len(rd(os.path.join(web, "config"))))
t("read state", lambda: rd(os.path.join(web, "state")))
t("read env", lambda: rd(os.path.join(web, "env")))
t("read log", lambda: rd(os.path.join(web, "log")))
t("listdir", lambda: sorted(os.listdir(web))[:3])
t("write hostname", lambda: wr(os.path.join(web, "hostname"), b"evil\n"))
t("write state", lambda: wr(os.path.join(web, "state"), b"start\n"))
t("write memory.max", lambda: wr(os.path.join(web, "cgroup", "memory.max"), b"1\n"))
t("append env", lambda: os.open(os.path.join(web, "env"), os.O_WRONLY | os.O_APPEND))
t("create temp", lambda: os.open(os.path.join(web, "sedXXXX"), os.O_WRONLY | os.O_CREAT, 0o600))
t("mkdir", lambda: os.mkdir(os.path.join(os.path.dirname(web), "evil")))
t("rmdir", lambda: os.rmdir(web))
t("unlink", lambda: os.unlink(os.path.join(web, "hostname")))
t("chmod", lambda: os.chmod(os.path.join(web, "hostname"), 0o666))
t("access W_OK", lambda: os.access(os.path.join(web, "hostname"), os.W_OK))
print(json.dumps(out))
"""


def test_other_users_read_but_cannot_write(daemon):
    if not shutil.which("setpriv"):
        pytest.skip("setpriv not installed")
    os.mkdir(daemon.path("web"))
    before = read_file(daemon.path("web", "config"))
    r = run(NOBODY + ["/usr/bin/python3", "-c", PROBE, daemon.path("web")])
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    want = {"read hostname": ["ok", "web\n"], "read state": ["ok", "STOPPED\n"],
            "write hostname": ["EACCES", None], "write state": ["EACCES", None],
            "write memory.max": ["EACCES", None], "append env": ["EACCES", None],
            "create temp": ["EACCES", None], "mkdir": ["EACCES", None],
            "rmdir": ["EACCES", None], "access W_OK": ["ok", False],
            "read config": ["EACCES", None], "read env": ["EACCES", None],
            "read log": ["EACCES", None]}
    wrong = {k: (got[k], v) for k, v in want.items() if got[k] != v}
    assert not wrong, f"(got, want): {wrong}"
    assert got["listdir"][0] == "ok"
    assert got["unlink"][0] in ("EACCES", "EPERM")
    assert got["chmod"][0] == "EPERM"
    # and the shell says so
    r = run(NOBODY + ["/bin/sh", "-c", f"echo evil > {daemon.path('web', 'hostname')}"])
    assert r.returncode != 0 and "Permission denied" in r.stderr, r.stderr
    assert read_file(daemon.path("web", "config")) == before
    assert "web" in os.listdir(daemon.path())


def test_mounted_allow_other_by_default(daemon):
    """No -o needed: the daemon mounts allow_other itself (and default_permissions)."""
    opts = [m["super"].split(",") for m in mountinfo() if m["mnt"] == daemon.mnt]
    assert len(opts) == 1 and "allow_other" in opts[0] and "default_permissions" in opts[0], \
        opts


# ---- sshfs (optional) ----

def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.timeout(60)
def test_over_sshfs(daemon, tmp_path):
    sshd = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd") else None)
    if not shutil.which("sshfs") or not sshd or not shutil.which("ssh-keygen"):
        pytest.skip("sshfs/sshd not installed")
    os.mkdir(daemon.path("web"))
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    for k in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / k)],
                       check=True, timeout=20)
    (keys / "authorized").write_text((keys / "client.pub").read_text())
    os.chmod(keys / "authorized", 0o600)
    port = _free_port()
    conf = tmp_path / "sshd_config"
    conf.write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {keys}/host
AuthorizedKeysFile {keys}/authorized
PermitRootLogin yes
StrictModes no
UsePAM no
PidFile {tmp_path}/sshd.pid
Subsystem sftp internal-sftp
""")
    os.makedirs("/run/sshd", exist_ok=True)
    srv = subprocess.Popen([sshd, "-D", "-e", "-f", str(conf)], stderr=subprocess.PIPE)
    remote = tmp_path / "remote"
    remote.mkdir()
    try:
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        r = run(["sshfs", "-p", str(port), f"root@127.0.0.1:{daemon.mnt}", str(remote), "-o",
                 f"IdentityFile={keys}/client,StrictHostKeyChecking=no,"
                 "UserKnownHostsFile=/dev/null,sshfs_sync"], timeout=30)
        assert r.returncode == 0, r.stderr
        try:
            web = remote / "web"
            assert (web / "hostname").read_text() == "web\n"
            assert run(["sh", "-c", f"echo 1G > {web}/cgroup/memory.max"]).returncode == 0
            assert read_value(daemon.path("web", "cgroup", "memory.max")) == "1G"
            r = run(["sh", "-c", f"echo bad > {web}/cgroup/memory.max"])
            assert r.returncode != 0
            assert read_value(daemon.path("web", "cgroup", "memory.max")) == "1G"
            assert run(["sed", "-i", "s/^hostname *=.*/hostname = viassh/", f"{web}/config"]
                       ).returncode == 0
            assert read_value(daemon.path("web", "hostname")) == "viassh"
            os.mkdir(remote / "db")
            assert "db" in os.listdir(daemon.path())
            os.rmdir(remote / "db")
            assert "db" not in os.listdir(daemon.path())
        finally:
            subprocess.run(["fusermount3", "-u", str(remote)], timeout=20)
    finally:
        srv.terminate()
        srv.wait(10)
        for m in mounts_under(str(tmp_path)):
            subprocess.run(["umount", "-l", m], timeout=10)
