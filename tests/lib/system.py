"""Helpers for the system-container tests (test_system*.py): the busybox image made by
scripts/mkimage, the attach and console tools (tools/cfs-attach.c, cfs-console.c, built
into the build dir),
and the kernel's view of a running container read on the host: its mountinfo, its
/dev, its /proc, through /proc/PID/."""
import os
import re
import stat
import subprocess
from typing import Dict, List, Optional, Tuple

import pytest

from lib.daemon import REPO, build_dir, mountinfo
from lib.fsops import read_file
from lib.lifecycle import Ctr, proc_status, wait_for

SCRIPTS = os.path.join(REPO, "scripts")
MKIMAGE = os.path.join(SCRIPTS, "mkimage")
ATTACH = os.path.join(build_dir(), "cfs-attach")
CONSOLE = os.path.join(build_dir(), "cfs-console")

# The nodes /dev gets with the default devices.allow, with their numbers.
STD_NODES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8),
             "urandom": (1, 9), "tty": (5, 0)}
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
             "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}


def mkimage(dest: str) -> str:
    """A busybox rootfs in dest (scripts/mkimage); returns dest."""
    p = subprocess.run([MKIMAGE, dest], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"mkimage: rc {p.returncode}\n{p.stdout}\n{p.stderr}"
    return dest


@pytest.fixture
def image(daemon) -> str:
    """A fresh busybox image of the test's own (in the daemon's base dir)."""
    return mkimage(os.path.join(daemon.base, "image"))


def system_container(containers, name: str, rootfs: str,
                     settings: Optional[Dict[str, str]] = None) -> Ctr:
    """A container with rootfs set (init: the default /sbin/init), then settings.
    Made through the `containers` fixture, so it is killed at teardown."""
    c = containers(name)
    c.set("rootfs", rootfs)
    for rel, v in (settings or {}).items():
        c.set(rel, v)
    return c


def attach(c: Ctr, *cmd: str, input: Optional[str] = None, timeout: float = 20,
           opts=()) -> subprocess.CompletedProcess:
    """cfs-attach CONTAINER_DIR -- cmd..."""
    return subprocess.run([ATTACH, *opts, c.path(), "--", *cmd], input=input, text=True,
                          capture_output=True, timeout=timeout)


def attach_sh(c: Ctr, script: str, **kw) -> subprocess.CompletedProcess:
    return attach(c, "/bin/sh", "-c", script, **kw)


def console(c: Ctr, tty: int, text: str, quiet: float = 1.0,
            timeout: float = 20) -> subprocess.CompletedProcess:
    """Type text into tty N (0: the console) with cfs-console; its output."""
    return subprocess.run([CONSOLE, "-t", str(tty), "-q", str(quiet), c.path()],
                          input=text, text=True, capture_output=True, timeout=timeout)


def wait_log(c: Ctr, needle: str, timeout: float = 10) -> str:
    return wait_for(lambda: needle in c.log() and c.log(), timeout,
                    what=f"{needle!r} in {c.name}/log")


def _unescape(s: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def mounts_of(pid: int) -> List[dict]:
    """/proc/PID/mountinfo: mount point (as init sees it), fstype, source, per-mount
    options and superblock options, in mount order."""
    out = []
    with open(f"/proc/{pid}/mountinfo") as f:
        for line in f:
            pre, post = line.rstrip("\n").split(" - ", 1)
            a, b = pre.split(), post.split()
            out.append({"mnt": _unescape(a[4]), "root": _unescape(a[3]),
                        "opts": a[5].split(","), "fstype": b[0], "source": b[1],
                        "super": b[2].split(",") if len(b) > 2 else []})
    return out


def mounts_at(pid: int, path: str) -> List[dict]:
    return [m for m in mounts_of(pid) if m["mnt"] == path]


def dev_entries(pid: int) -> Dict[str, Tuple[str, object]]:
    """/dev of the container, seen from the host through /proc/PID/root:
    {name: ('c', (major, minor)) | ('l', target) | ('d', None) | ('f', None)}."""
    d = f"/proc/{pid}/root/dev"
    out = {}
    for name in os.listdir(d):
        st = os.lstat(os.path.join(d, name))
        if stat.S_ISCHR(st.st_mode):
            out[name] = ("c", (os.major(st.st_rdev), os.minor(st.st_rdev)))
        elif stat.S_ISLNK(st.st_mode):
            out[name] = ("l", os.readlink(os.path.join(d, name)))
        elif stat.S_ISDIR(st.st_mode):
            out[name] = ("d", None)
        else:
            out[name] = ("f", None)
    return out


def pids_inside(pid: int) -> List[int]:
    """The numeric entries of the container's /proc (what its processes can see)."""
    return sorted(int(x) for x in os.listdir(f"/proc/{pid}/root/proc") if x.isdigit())


def host_capbnd() -> int:
    return int(proc_status(os.getpid())["CapBnd"], 16)


# Capability numbers (linux/capability.h: kernel ABI).
CAP = {"net_raw": 13, "sys_module": 16, "sys_rawio": 17, "sys_admin": 21, "sys_boot": 22,
       "sys_time": 25, "mknod": 27, "mac_override": 32, "mac_admin": 33}


def cap_mask(*names: str) -> int:
    m = 0
    for n in names:
        m |= 1 << CAP[n]
    return m


def tree_snapshot(root: str) -> Dict[str, tuple]:
    """Everything under root: type, mode, size, mtime, link target."""
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (
                stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_size,
                st.st_mtime_ns, os.readlink(p) if stat.S_ISLNK(st.st_mode) else None)
    return out


def host_mounts_under(path: str) -> List[str]:
    path = os.path.realpath(path)
    return [m["mnt"] for m in mountinfo() if m["mnt"] == path or m["mnt"].startswith(path + "/")]


def log_text(c: Ctr) -> str:
    return read_file(c.path("log"))
