"""Helpers for the lifecycle tests (test_lifecycle, test_cgroups, test_events,
test_supervision): containers that run the static test payload, the kernel's view of
processes and cgroups (read from /proc and /sys/fs/cgroup, never from the daemon), and
a `containers` fixture that kills every container a test made before the daemon fixture
checks for leaks.

Import the fixture into a test module with `from lib.lifecycle import containers`."""
import os
import select
import shlex
import signal
import subprocess
import time
from typing import Callable, Dict, List, Optional

import pytest

from lib.daemon import build_dir, cgroup_hierarchies, mountinfo, pid_alive, unmount, wait_gone
from lib.fsops import read_file, read_value, write_file

# privileged = 0 (the default) adds the user namespace to the namespaces setting's
NS_NEW_DEFAULT = ["mnt", "pid", "uts", "ipc", "net", "cgroup", "user"]


def payload() -> str:
    return os.path.join(build_dir(), "helpers", "payload")


def payload_cmd(*args) -> str:
    """The init command line running the test payload with args."""
    return shlex.join([payload(), *map(str, args)])


def wait_for(fn: Callable, timeout: float = 10.0, interval: float = 0.02, what: str = ""):
    """Poll fn() until it returns something true; return it. AssertionError on timeout
    (with the last value seen)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or fn}; "
                                 f"last value {last!r}")
        time.sleep(interval)


# ---- processes, as the kernel sees them ----

def proc_status(pid: int) -> Dict[str, str]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def nspids(pid: int) -> List[int]:
    """NSpid: the pid in every pid namespace, outermost first."""
    return [int(x) for x in proc_status(pid)["NSpid"].split()]


def ppid(pid: int) -> int:
    return int(proc_status(pid)["PPid"])


def children(pid: int) -> List[int]:
    out = []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/children") as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def cmdline(pid: int) -> List[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]


def starttime(pid: int) -> int:
    """Start time in clock ticks since boot (field 22): a pid plus this names a process."""
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(") ", 1)[1].split()[19])


def proc_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(") ", 1)[1].split()[0]


def ns_ino(path: str) -> int:
    """The inode of a namespace (stat follows /proc/PID/ns/* and the tree's ns/ links)."""
    return os.stat(path).st_ino


class HostSleep:
    """A `sleep` of our own on the host (a process to move into a container)."""

    def __init__(self, seconds: int = 100):
        self.proc = subprocess.Popen(["sleep", str(seconds)], stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def dead_pid() -> int:
    """A pid no process has: one we ran, waited for, and checked is free."""
    for _ in range(20):
        p = subprocess.Popen(["true"])
        p.wait()
        if not os.path.exists(f"/proc/{p.pid}"):
            return p.pid
    raise AssertionError("could not find a free pid")


# ---- cgroups, as the kernel has them ----

def proc_cgroups(pid: int) -> Dict[str, str]:
    """{controller: path} from /proc/PID/cgroup; '' is the unified (v2) hierarchy,
    named hierarchies keep their `name=` prefix."""
    out = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            if hid == "0" and ctrls == "":
                out[""] = path
            else:
                for c in ctrls.split(","):
                    out[c] = path
    return out


def _mount_for(controller: str) -> Optional[dict]:
    for m in mountinfo():
        if controller == "" and m["fstype"] == "cgroup2":
            return m
        if controller and m["fstype"] == "cgroup" and controller in m["super"].split(","):
            return m
    return None


def cgroup_dir(pid: int, controller: str) -> Optional[str]:
    """The directory in /sys/fs/cgroup of pid's cgroup in the hierarchy of controller
    ('' = unified); None if the host has no such hierarchy."""
    path = proc_cgroups(pid).get(controller)
    m = _mount_for(controller)
    if path is None or m is None:
        return None
    rel = os.path.relpath(path, m["root"]) if path.startswith(m["root"]) else path.lstrip("/")
    return os.path.normpath(os.path.join(m["mnt"], rel))


def cgroup_dirs(pid: int) -> Dict[str, str]:
    """{controller: directory} for every hierarchy pid belongs to."""
    out = {}
    for c in proc_cgroups(pid):
        d = cgroup_dir(pid, c)
        if d:
            out[c] = d
    return out


def read_kernel(d: str, name: str) -> str:
    with open(os.path.join(d, name)) as f:
        return f.read().strip()


def cgroups_below_parent(daemon) -> List[str]:
    """Every cgroup directory beneath the daemon's cgroup parent, in every hierarchy."""
    out = []
    for _mnt, own in cgroup_hierarchies():
        mine = os.path.join(own, daemon.cgroup_parent)
        for root, dirs, _files in os.walk(mine):
            out += [os.path.join(root, x) for x in dirs]
    return out


def procs_in_parent(daemon) -> List[int]:
    out = set()
    for _mnt, own in cgroup_hierarchies():
        mine = os.path.join(own, daemon.cgroup_parent)
        for root, _dirs, files in os.walk(mine):
            if "cgroup.procs" in files:
                try:
                    with open(os.path.join(root, "cgroup.procs")) as f:
                        out |= {int(x) for x in f.read().split()}
                except OSError:
                    pass
    return sorted(out)


def run_dir_files(daemon) -> List[str]:
    """Files in the daemon's run dir, relative paths."""
    out = []
    for root, _dirs, files in os.walk(daemon.run_dir):
        out += [os.path.relpath(os.path.join(root, f), daemon.run_dir) for f in files]
    return sorted(out)


def cpu_usage_ns(d_cpuacct: Optional[str], d_unified: Optional[str]) -> int:
    """CPU time used by a cgroup, from the kernel: cpuacct.usage (v1) or cpu.stat (v2)."""
    if d_cpuacct and os.path.exists(os.path.join(d_cpuacct, "cpuacct.usage")):
        return int(read_kernel(d_cpuacct, "cpuacct.usage"))
    stat = dict(l.split() for l in read_kernel(d_unified, "cpu.stat").splitlines())
    return int(stat["usage_usec"]) * 1000


# ---- containers through the tree ----

class Ctr:
    """One container of a daemon's tree."""

    def __init__(self, daemon, name: str):
        self.daemon, self.name = daemon, name

    def path(self, *parts: str) -> str:
        return self.daemon.path(self.name, *parts)

    def read(self, rel: str) -> str:
        return read_value(self.path(rel))

    def set(self, rel: str, value: str):
        data = value if value.endswith("\n") else value + "\n"
        res = write_file(self.path(rel), data)
        assert res == 0, f"{self.name}/{rel} = {value!r}: {res}; last_error: " \
                         f"{read_file(self.path('last_error')).strip()}"

    def state(self) -> str:
        return self.read("state")

    def pid(self) -> Optional[int]:
        v = self.read("pid")
        return int(v) if v else None

    def exit_status(self) -> str:
        return self.read("exit_status")

    def last_error(self) -> str:
        return self.read("last_error")

    def log(self) -> str:
        return read_file(self.path("log"))

    def write_state(self, verb: str):
        """echo VERB > state: the WriteResult (0 = success)."""
        return write_file(self.path("state"), verb + "\n")

    def do(self, verb: str):
        res = self.write_state(verb)
        assert res == 0, f"echo {verb} > {self.name}/state: {res}; state {self.state()}; " \
                         f"last_error: {self.last_error()!r}\n{self.daemon.stderr_tail(20)}"

    def start(self) -> int:
        """Start; the write must succeed and leave RUNNING with a pid. Returns the pid."""
        self.do("start")
        st = self.state()
        assert st == "RUNNING", f"state after start: {st}"
        p = self.pid()
        assert p, "no pid after start"
        return p

    def wait_state(self, want: str, timeout: float = 10.0) -> str:
        return wait_for(lambda: self.state() == want and want, timeout,
                        what=f"{self.name} state {want}")

    def command_pid(self, timeout: float = 5.0) -> int:
        """The host pid of the command (the reaper's child)."""
        p = self.pid()
        assert p
        kids = wait_for(lambda: children(p), timeout, what=f"a child of the reaper {p}")
        assert len(kids) == 1, f"the reaper {p} has children {kids}, want one (the command)"
        return kids[0]

    def ps(self) -> List[List[str]]:
        """[[host pid, inside pid, command line]]"""
        out = []
        for line in read_file(self.path("ps")).splitlines():
            if line.strip():
                out.append(line.split(None, 2))
        return out


def make_container(daemon, name: str, init: Optional[str] = None,
                   settings: Optional[Dict[str, str]] = None) -> Ctr:
    """mkdir NAME, then write init (a command line) and settings ({"cgroup/pids.max": "10"})."""
    os.mkdir(daemon.path(name))
    c = Ctr(daemon, name)
    if init is not None:
        c.set("init", init)
    for rel, v in (settings or {}).items():
        c.set(rel, v)
    return c


@pytest.fixture
def containers(daemon):
    """new(name='web', *payload_args, init=None, settings={}) -> Ctr.
    At teardown every container made is killed and awaited (before the daemon fixture
    checks for leaks)."""
    made: List[Ctr] = []

    def new(name: str = "web", *args, init: Optional[str] = None,
            settings: Optional[Dict[str, str]] = None) -> Ctr:
        if init is None and args:
            init = payload_cmd(*args)
        c = make_container(daemon, name, init, settings)
        made.append(c)
        return c

    yield new
    for c in made:
        if not daemon.alive() or not daemon.is_mounted():
            continue
        try:
            if not os.path.isdir(c.path()):
                continue
            if c.state() != "STOPPED":
                c.write_state("kill")
                c.wait_state("STOPPED", 15)
        except (OSError, AssertionError):
            pass


# ---- events ----

def read_some(fd: int, timeout: float) -> bytes:
    """Wait up to timeout for fd to be readable (poll), then read once; b'' on timeout."""
    p = select.poll()
    p.register(fd, select.POLLIN)
    if not p.poll(int(timeout * 1000)):
        return b""
    return os.read(fd, 65536)


def read_until(fd: int, pred: Callable[[str], bool], timeout: float = 10.0) -> str:
    """Read (poll + read) until the text read so far satisfies pred; return it."""
    deadline = time.monotonic() + timeout
    text = ""
    while not pred(text):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out; events read so far: {text!r}")
        text += read_some(fd, min(left, 0.5)).decode()
    return text


def event_states(text: str, name: str) -> List[str]:
    out = []
    for line in text.splitlines():
        parts = line.split()
        assert len(parts) == 2, f"bad event line {line!r}"
        if parts[0] == name:
            out.append(parts[1])
    return out


def is_subsequence(want: List[str], got: List[str]) -> bool:
    it = iter(got)
    return all(any(w == g for g in it) for w in want)


# ---- the daemon down for a while ----

def daemon_threads(daemon) -> int:
    return int(proc_status(daemon.proc.pid)["Threads"])


def kill9_and_unmount(daemon):
    """SIGKILL the daemon and unmount its dead mount, without starting it again
    (daemon.start() brings it back on the same dirs)."""
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait()
    if daemon.is_mounted():
        err = unmount(daemon.mnt)
        assert err is None, err
