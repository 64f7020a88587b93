"""A fleet managed with the tools admins already use (doc/fleet.md): several hosts, each
a network namespace of its own with a containerfs daemon and an sshd in it; the
playbook doc/fleet/web.yml run against an inventory of them (the second run changes
nothing); and their trees mounted side by side with sshfs, FLEET/HOST, so that
`cat FLEET/*/*/state` is a fleet-wide status."""
import os
import re
import signal
import subprocess

import pytest

from lib.daemon import REPO, Daemon
from lib.fsops import read_value
from lib.net import private_netns  # noqa: F401  (a fixture)
from lib.remote import (SFTP_SERVER, SSHD, Sshd, Sshfs, ansible_env, missing_tools)

HOSTS = 3
PLAYBOOK = os.path.join(REPO, "doc", "fleet", "web.yml")


def _ip(*args, ns_pid=None):
    pre = ["nsenter", f"--net=/proc/{ns_pid}/ns/net"] if ns_pid else []
    subprocess.run(pre + ["ip", *args], check=True, capture_output=True, timeout=10)


class Host:
    """One host of the fleet: a network namespace (held by a sleeping process), a veth
    pair to the test's namespace (10.77.(100+N).1 here, .2 there), and in it a daemon
    and an sshd."""

    def __init__(self, n: int, tmp):
        self.name = f"host{n}"
        self.link = f"cfsfl{os.getpid() % 10000}-{n}"
        self.addr = f"10.77.{100 + n}.2"
        self.holder = subprocess.Popen(["unshare", "--net", "sleep", "infinity"])
        self.netns = f"/proc/{self.holder.pid}/ns/net"
        while os.readlink(self.netns) == os.readlink("/proc/self/ns/net"):
            pass  # unshare has not made it yet
        _ip("link", "add", self.link, "type", "veth", "peer", "name", "eth0",
            "netns", str(self.holder.pid))
        _ip("addr", "add", f"10.77.{100 + n}.1/24", "dev", self.link)
        _ip("link", "set", self.link, "up")
        for args in (("addr", "add", f"{self.addr}/24", "dev", "eth0"),
                     ("link", "set", "eth0", "up"), ("link", "set", "lo", "up")):
            _ip(*args, ns_pid=self.holder.pid)
        self.prefix = ["nsenter", f"--net={self.netns}"]
        self.sshd = Sshd(str(tmp / self.name / "ssh"), address=self.addr, prefix=self.prefix)
        self.daemon = None

    def end(self) -> list:
        problems = self.sshd.stop()
        self.holder.send_signal(signal.SIGKILL)
        self.holder.wait()
        subprocess.run(["ip", "link", "del", self.link], capture_output=True, timeout=10)
        return problems


@pytest.fixture
def fleet(private_netns, tmp_path, daemon_factory):  # noqa: F811
    miss = missing_tools("sshfs", SSHD, SFTP_SERVER, "ssh", "ssh-keygen", "ansible-playbook",
                         "/usr/bin/python3", "nsenter", "unshare", "fusermount3")
    if miss:
        pytest.skip(f"not installed: {' '.join(miss)} (scripts/deps installs them)")
    hosts = []
    try:
        for n in range(1, HOSTS + 1):
            h = Host(n, tmp_path)
            hosts.append(h)
            d = daemon_factory(start=False)
            base_argv = d.argv
            d.argv = lambda base_argv=base_argv, h=h: h.prefix + base_argv()
            d.start()
            h.daemon = d
            h.sshd.start()
        yield hosts
    finally:
        problems = []
        for h in hosts:
            problems += h.end()
        if problems:
            pytest.fail("fleet teardown: " + "; ".join(problems), pytrace=False)


def _inventory(hosts, path):
    """The inventory of doc/fleet/inventory.ini, with these hosts' addresses, keys and
    trees (each daemon of the test has its own mount point)."""
    ssh_args = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes"
    lines = ["[fleet]"]
    for h in hosts:
        lines.append(f"{h.name} ansible_host={h.addr} tree={h.daemon.mnt} "
                     f"ansible_ssh_private_key_file={h.sshd.identity}")
    lines += ["", "[fleet:vars]", "ansible_user=root",
              "ansible_python_interpreter=/usr/bin/python3", "ansible_pipelining=true",
              f"ansible_ssh_common_args='{ssh_args}'", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def _recap(out: str) -> dict:
    """PLAY RECAP lines -> {host: {ok: N, changed: N, ...}}."""
    recap = {}
    for m in re.finditer(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", out, re.M):
        recap[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return recap


def _playbook(env, inventory):
    p = subprocess.run(["ansible-playbook", "-i", inventory, PLAYBOOK], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
                       cwd=env["HOME"])
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    return _recap(p.stdout), p.stdout


@pytest.mark.timeout(600)
def test_fleet_playbook_and_sshfs_status(fleet, tmp_path):
    env = ansible_env(str(tmp_path / "ansible"))
    env.update({"ANSIBLE_STDOUT_CALLBACK": "default",
                # no ssh master left behind once the playbook has ended
                "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ControlPersist=no",
                "ANSIBLE_FORKS": str(HOSTS)})
    inventory = str(tmp_path / "inventory.ini")
    _inventory(fleet, inventory)

    first, out = _playbook(env, inventory)
    assert set(first) == {h.name for h in fleet}, out
    for name, r in first.items():
        assert r["failed"] == 0 and r["unreachable"] == 0 and r["changed"] > 0, (name, out)
    for h in fleet:
        d = h.daemon
        assert read_value(d.path("web", "state")) == "RUNNING"
        assert read_value(d.path("web", "init")) == "sleep 1000000"
        assert read_value(d.path("web", "autostart")) == "1"
        assert read_value(d.path("web", "cgroup", "memory.max")) == "128M"
        assert read_value(d.path("web", "cgroup", "pids.max")) == "64"
        assert not [n for n in os.listdir(d.path("web")) if n.startswith(".ansible")]
    pids = {h.name: read_value(h.daemon.path("web", "pid")) for h in fleet}

    again, out = _playbook(env, inventory)
    assert set(again) == {h.name for h in fleet}, out
    for name, r in again.items():
        assert r["changed"] == 0 and r["failed"] == 0, (name, out)
    assert {h.name: read_value(h.daemon.path("web", "pid")) for h in fleet} == pids

    # the trees side by side: FLEET/HOST, one sshfs each
    fleet_dir = tmp_path / "fleet"
    mounts = []
    try:
        for h in fleet:
            m = Sshfs(h.sshd, h.daemon.mnt, str(fleet_dir / h.name), ["sshfs_sync", "direct_io"],
                      log=str(tmp_path / f"sshfs-{h.name}.log"))
            mounts.append(m)
            m.mount()
        st = subprocess.run("cat fleet/*/*/state", shell=True, cwd=tmp_path,
                            capture_output=True, text=True, timeout=30)
        assert st.returncode == 0 and st.stdout.split() == ["RUNNING"] * HOSTS, st
        st = subprocess.run("grep -H . fleet/*/*/state", shell=True, cwd=tmp_path,
                            capture_output=True, text=True, timeout=30)
        assert st.stdout.splitlines() == [f"fleet/{h.name}/web/state:RUNNING" for h in fleet]
        # and stopped fleet-wide the same way
        st = subprocess.run("for s in fleet/*/web/state; do echo stop > $s || exit 1; done; "
                            "cat fleet/*/*/state", shell=True, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
        assert st.returncode == 0 and st.stdout.split() == ["STOPPED"] * HOSTS, st
    finally:
        problems = []
        for m in mounts:
            problems += m.unmount()
        assert not problems, problems
    for h in fleet:
        os.rmdir(h.daemon.path("web"))
