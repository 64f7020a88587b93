"""One containerfs daemon under test: its own mount point, state dir, run dir and cgroup
parent; start/stop/restart/kill -9; and the checks that nothing leaked once it is gone."""
import itertools
import os
import re
import shutil
import signal
import subprocess
import time
from typing import List, Optional, Tuple

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")
_counter = itertools.count()


def build_dir() -> str:
    b = os.environ.get("CFS_BUILD")
    if b:
        return os.path.abspath(b)
    san = os.path.join(REPO, "build-san")
    return san if os.path.isdir(san) else os.path.join(REPO, "build")


def binary() -> str:
    return os.path.join(build_dir(), "containerfs")


# ---- mounts ----

def _unescape(s: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def mountinfo() -> List[dict]:
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.rstrip("\n").split(" - ", 1)
            a, b = pre.split(), post.split()
            out.append({"dev": a[2], "root": _unescape(a[3]), "mnt": _unescape(a[4]),
                        "fstype": b[0], "source": b[1], "super": b[2] if len(b) > 2 else ""})
    return out


def mounts_under(path: str) -> List[str]:
    path = os.path.realpath(path)
    return [m["mnt"] for m in mountinfo() if m["mnt"] == path or m["mnt"].startswith(path + "/")]


def unmount(path: str) -> Optional[str]:
    """fusermount3 -u, falling back to umount -l. None or a description of what failed."""
    try:
        p = subprocess.run(["fusermount3", "-u", path], capture_output=True, text=True, timeout=10)
        if p.returncode == 0:
            return None
        first = f"fusermount3 -u: rc {p.returncode}: {p.stderr.strip()}"
    except subprocess.TimeoutExpired:
        first = "fusermount3 -u: timed out"
    p = subprocess.run(["umount", "-l", path], capture_output=True, text=True, timeout=10)
    if p.returncode == 0:
        return None
    return f"{first}; umount -l: rc {p.returncode}: {p.stderr.strip()}"


# ---- cgroups ----

def cgroup_hierarchies() -> List[Tuple[str, str]]:
    """[(mount point, our own cgroup's directory)] for every cgroup hierarchy mounted."""
    own_v1, own_v2 = {}, None
    with open("/proc/self/cgroup") as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            if hid == "0" and ctrls == "":
                own_v2 = path
            else:
                own_v1[frozenset(ctrls.split(","))] = path
    out, seen = [], set()
    for m in mountinfo():
        if m["fstype"] == "cgroup2":
            path = own_v2
        elif m["fstype"] == "cgroup":
            opts = set(m["super"].split(","))
            path = next((p for c, p in own_v1.items() if c <= opts), None)
        else:
            continue
        if path is None or not path.startswith(m["root"]):
            continue
        rel = os.path.relpath(path, m["root"])
        d = os.path.normpath(os.path.join(m["mnt"], rel))
        if m["mnt"] not in seen:
            seen.add(m["mnt"])
            out.append((m["mnt"], d))
    return out


def has_controller(name: str) -> bool:
    """A mounted cgroup hierarchy (v1 option or v2 cgroup.controllers) offers name."""
    for m in mountinfo():
        if m["fstype"] == "cgroup" and name in m["super"].split(","):
            return True
        if m["fstype"] == "cgroup2":
            try:
                with open(os.path.join(m["mnt"], "cgroup.controllers")) as f:
                    if name in f.read().split():
                        return True
            except OSError:
                pass
    return False


# What a kernel build may lack, as .checkconfig names it: need -> (feature, a status
# meaning "has it"). Host-dependent expectations come from here, never from the kernel
# the tests were written on.
HOST_NEEDS = {
    "net_cls": ("cgroup controller net_cls", lambda s: s != "missing"),
    "io weight": ("cgroup io weight", lambda s: s.startswith("yes")),
    "swap accounting": ("cgroup swap accounting", lambda s: s.startswith("yes")),
    "idmapped mounts": ("idmapped mounts", lambda s: s == "yes"),
    "mount_setattr": ("mount_setattr", lambda s: s == "yes"),
}
_checkconfig_cache: dict = {}


def checkconfig(daemon) -> dict:
    """.checkconfig of this host as {feature: status} (read once: the host does not change
    during a run)."""
    if not _checkconfig_cache:
        with open(daemon.path(".checkconfig")) as f:
            for line in f:
                feat, _sep, status = line.rstrip("\n").partition(": ")
                _checkconfig_cache[feat] = status
    return _checkconfig_cache


def host_lacks(daemon, need: Optional[str]) -> bool:
    """True when .checkconfig says this host lacks `need` (a key of HOST_NEEDS)."""
    if need is None:
        return False
    feature, has = HOST_NEEDS[need]
    status = checkconfig(daemon).get(feature)
    assert status is not None, f".checkconfig has no line {feature!r}"
    return not has(status)


def cgroup_layout() -> str:
    """v2, hybrid or v1, as the host has it."""
    types = {m["mnt"]: m["fstype"] for m in mountinfo()}
    if types.get("/sys/fs/cgroup") == "cgroup2":
        return "v2"
    has_v1 = any(t == "cgroup" for t in types.values())
    has_v2 = any(t == "cgroup2" for t in types.values())
    return "hybrid" if has_v1 and has_v2 else ("v1" if has_v1 else "v2")


def _procs_below(d: str) -> List[int]:
    pids = []
    for root, _dirs, files in os.walk(d):
        if "cgroup.procs" in files:
            try:
                with open(os.path.join(root, "cgroup.procs")) as f:
                    pids += [int(x) for x in f.read().split()]
            except OSError:
                pass
    return pids


def _rmdir_tree(d: str):
    for root, dirs, _files in os.walk(d, topdown=False):
        for x in dirs:
            try:
                os.rmdir(os.path.join(root, x))
            except OSError:
                pass
    try:
        os.rmdir(d)
    except OSError:
        pass


def procs_mentioning(needle: str, exclude=()) -> List[Tuple[int, str]]:
    out = []
    nb = needle.encode()
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) in exclude or int(p) == os.getpid():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if nb in cmd:
            out.append((int(p), cmd.replace(b"\0", b" ").decode(errors="replace")))
    return out


def pid_alive(pid: int) -> bool:
    """Exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[-1][:1] not in ("Z", "X")
    except OSError:
        return False


def _describe_proc(pid: int) -> str:
    """A leftover process in a leak report: its command line, state and cgroups."""
    out = []
    for what in ("cmdline", "stat", "cgroup"):
        try:
            with open(f"/proc/{pid}/{what}", "rb") as f:
                text = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError as e:
            text = f"({e.strerror})"
        out.append(f"{what}: {text[:300]}")
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        kids = []
    for k in kids[:4]:
        try:
            with open(f"/proc/{k}/stat") as f:
                st = f.read().strip()[:120]
            with open(f"/proc/{k}/wchan") as f:
                st += " wchan " + f.read().strip()
        except OSError as e:
            st = f"({e.strerror})"
        out.append(f"child {k}: {st}")
    return "; ".join(out).replace("\n", " | ")


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# ---- the daemon ----

def _veth_names() -> List[str]:
    """veth interfaces of this (the test's private) network namespace."""
    r = subprocess.run(["ip", "-o", "link", "show", "type", "veth"], capture_output=True,
                       text=True, timeout=10)
    return sorted(line.split(":")[1].strip().split("@")[0] for line in r.stdout.splitlines()
                  if line.count(":") >= 2)


class Daemon:
    """A containerfs in the foreground (-f) on BASE/mnt with BASE/state, BASE/run and
    the cgroup parent cfs-test-<pid>-<n> (relative: beneath our own cgroup)."""

    def __init__(self, base: str, opts=()):
        self.base = base
        self.mnt = os.path.join(base, "mnt")
        self.state_dir = os.path.join(base, "state")
        self.run_dir = os.path.join(base, "run")
        self.cgroup_parent = f"cfs-test-{os.getpid()}-{next(_counter)}"
        self.opts = list(opts)
        self.proc: Optional[subprocess.Popen] = None
        self.stderr_files: List[str] = []
        self.pids: List[int] = []
        self._problems_extra: List[str] = []
        self.detached_pid: Optional[int] = None
        self.veths_before = _veth_names()
        for d in (self.mnt, self.state_dir, self.run_dir):
            os.makedirs(d, exist_ok=True)

    # paths
    def path(self, name: str = "", *parts: str) -> str:
        """MOUNTPOINT/name/parts..."""
        return os.path.join(self.mnt, name, *parts) if name else self.mnt

    def argv(self) -> List[str]:
        return [binary(), "-f", *self.opts, "--state-dir", self.state_dir,
                "--run-dir", self.run_dir, "--cgroup-parent", self.cgroup_parent, self.mnt]

    # life
    def is_mounted(self) -> bool:
        return self.mnt in (m["mnt"] for m in mountinfo())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 10.0):
        b = binary()
        if not os.access(b, os.X_OK):
            raise AssertionError(f"containerfs not built: {b} (make SAN=1, or set CFS_BUILD)")
        errpath = os.path.join(self.base, f"daemon.{len(self.stderr_files)}.stderr")
        self.stderr_files.append(errpath)
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        with open(errpath, "wb") as errf:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=errf,
                                         stderr=errf, env=env, close_fds=True)
        self.pids.append(self.proc.pid)
        deadline = time.monotonic() + timeout
        while not self.is_mounted():
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(f"daemon exited with {rc} before mounting:\n{self.stderr_tail()}")
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"daemon did not mount {self.mnt} within {timeout}s:\n"
                                     f"{self.stderr_tail()}")
            time.sleep(0.005)

    def start_detached(self, timeout: float = 10.0):
        """Start without -f: the command returns once the tree is mounted."""
        errpath = os.path.join(self.base, f"daemon.{len(self.stderr_files)}.stderr")
        self.stderr_files.append(errpath)
        argv = [a for a in self.argv() if a != "-f"]
        with open(errpath, "wb") as errf:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=errf, stderr=errf,
                               timeout=timeout)
        assert p.returncode == 0, f"containerfs (detaching) exit code {p.returncode}:\n" \
                                  f"{self.stderr_tail()}"
        pids = [pid for pid, _ in procs_mentioning(self.mnt)]
        assert len(pids) == 1, f"want one daemon process, found {pids}"
        self.detached_pid = pids[0]
        self.pids.append(pids[0])

    def stop(self, how: str = "unmount", timeout: float = 10.0) -> int:
        """End the daemon by unmounting (fusermount3 -u / umount -l) or SIGTERM; wait for
        it; return its exit code (-9 if it had to be killed after the timeout)."""
        assert self.proc is not None
        if how == "sigterm":
            self.proc.send_signal(signal.SIGTERM)
        else:
            err = unmount(self.mnt)
            if err:
                self._problems_extra.append(f"unmount of {self.mnt} failed: {err}")
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9

    def restart(self, how: str = "unmount"):
        """End the daemon cleanly (unmount or SIGTERM) and start it again on the same dirs."""
        rc = self.stop(how)
        if self.is_mounted():
            unmount(self.mnt)
            raise AssertionError(f"daemon ended ({how}, rc {rc}) but left {self.mnt} mounted")
        assert rc == 0, f"daemon exit code {rc} after {how} (want 0):\n{self.stderr_tail()}"
        self.start()

    def kill9(self):
        """SIGKILL the daemon, unmount the dead mount, start again on the same dirs."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        if self.is_mounted():
            err = unmount(self.mnt)
            assert err is None, err
        self.start()

    # diagnostics
    def stderr_text(self) -> str:
        out = []
        for p in self.stderr_files:
            try:
                with open(p, errors="replace") as f:
                    out.append(f.read())
            except OSError:
                pass
        return "".join(out)

    def stderr_tail(self, n: int = 60) -> str:
        """The sanitizer report's first lines if there is one, else the last n lines."""
        lines = self.stderr_text().splitlines()
        for i, l in enumerate(lines):
            if any(m in l for m in SANITIZER_MARKERS):
                return "\n".join(lines[max(0, i - 5):i + n])
        return "\n".join(lines[-n:])

    def fuse_connection(self) -> Optional[str]:
        for m in mountinfo():
            if m["mnt"] == self.mnt and m["fstype"].startswith("fuse"):
                minor = m["dev"].split(":")[1]
                return f"/sys/fs/fuse/connections/{minor}"
        return None

    def abort_connection(self):
        """Abort a wedged FUSE connection (the watchdog's last resort)."""
        c = self.fuse_connection()
        if c and os.path.exists(os.path.join(c, "abort")):
            try:
                with open(os.path.join(c, "abort"), "w") as f:
                    f.write("1")
            except OSError:
                pass

    # teardown
    def finish(self) -> List[str]:
        """Stop the daemon and check that nothing leaked. Returns the problems found."""
        problems: List[str] = self._problems_extra
        if self.proc is None and self.detached_pid is None:
            return problems
        # file descriptors of the test itself still open in the tree
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target == self.mnt or target.startswith(self.mnt + "/"):
                problems.append(f"the test left fd {fd} open on {target}")
                try:
                    os.close(int(fd))
                except OSError:
                    pass
        # containers' processes: in our cgroups, or naming our run dir
        def scan():
            found = []
            for _mnt, own in cgroup_hierarchies():
                found += _procs_below(os.path.join(own, self.cgroup_parent))
            found += [p for p, _ in procs_mentioning(self.run_dir, exclude=self.pids)]
            return sorted(set(found) - set(self.pids))

        # a process on its way out (e.g. a start's init that saw its daemon die and
        # exits) is not a leak: give such ones a moment before reporting
        leftovers = scan()
        deadline = time.monotonic() + 3
        while leftovers and time.monotonic() < deadline:
            time.sleep(0.05)
            leftovers = scan()
        if leftovers:
            problems.append(f"container processes left: {leftovers}")
            for p in leftovers:
                problems.append(f"  {p}: {_describe_proc(p)}")
            for p in leftovers:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        if self.proc is None:
            if pid_alive(self.detached_pid):
                unmount(self.mnt)
                if not wait_gone(self.detached_pid, 10):
                    problems.append(f"detached daemon {self.detached_pid} still runs after unmount")
                    os.kill(self.detached_pid, signal.SIGKILL)
            else:
                problems.append(f"detached daemon {self.detached_pid} died during the test")
        elif self.alive():
            rc = self.stop("unmount")
            if rc != 0:
                problems.append(f"daemon exit code {rc} after unmount (want 0)")
        else:
            problems.append(f"daemon died during the test (exit code {self.proc.returncode})")
        if self.is_mounted():
            unmount(self.mnt)
        left = mounts_under(self.base)
        if left:
            problems.append(f"mounts left under {self.base}: {left}")
            for m in reversed(left):
                subprocess.run(["umount", "-l", m], capture_output=True, timeout=10)
        # network devices: the veths a test's containers made are gone with them
        left_veths = sorted(set(_veth_names()) - set(self.veths_before))
        if left_veths:
            problems.append(f"veth interfaces left: {left_veths}")
            for v in left_veths:
                subprocess.run(["ip", "link", "del", v], capture_output=True, timeout=10)
        err = self.stderr_text()
        for marker in SANITIZER_MARKERS:
            if marker in err:
                problems.append(f"sanitizer report in the daemon's stderr ({marker!r})")
                break
        # cgroups: only the empty parent itself may remain (and is removed here)
        for mnt, own in cgroup_hierarchies():
            mine = os.path.join(own, self.cgroup_parent)
            for root, dirs, _files in os.walk(mnt):
                for dname in dirs:
                    d = os.path.join(root, dname)
                    if dname == self.cgroup_parent and d != mine:
                        problems.append(f"cgroup {d} created outside our own cgroup")
                        _rmdir_tree(d)
            if os.path.isdir(mine):
                subs = [os.path.join(r, x) for r, ds, _ in os.walk(mine) for x in ds]
                if subs:
                    problems.append(f"cgroups left: {subs}")
                _rmdir_tree(mine)
                if os.path.isdir(mine):
                    problems.append(f"cgroup parent {mine} cannot be removed")
        procs = procs_mentioning(self.run_dir)
        if procs:
            problems.append(f"processes naming the run dir left: {procs}")
        if problems:
            problems.append(f"daemon stderr (last lines):\n{self.stderr_tail()}")
        return problems

    def cleanup_dirs(self):
        if not mounts_under(self.base):
            shutil.rmtree(self.base, ignore_errors=True)
