"""The Debian images of the distribution tests (test_distro.py), each made once and
cached in /var/cache/containerfs-tests: `systemd`, by scripts/mkimage --debian
(mmdebstrap), keyed by the suite and the mkimage script (which holds the package list
and what fits the image for containers); `sysvinit`, a minimal Debian booting
sysvinit-core, made by mmdebstrap directly, keyed by the suite and its command. A
change of what makes an image makes a new one.

The suite runs in a private network namespace (scripts/run-tests), where Debian's
mirror is not reachable; run-tests keeps the host's network namespace open as a file
descriptor (CFS_HOST_NETNS_FD), and the build runs there through nsenter. Without it
(tests run outside run-tests) the build uses the current network. A build that fails
(no mirror, no mmdebstrap) is remembered for the session and the tests skip with its
reason."""
import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
from typing import Optional, Tuple

from lib.system import MKIMAGE

CACHE = os.environ.get("CFS_IMAGE_CACHE", "/var/cache/containerfs-tests")
SUITE = os.environ.get("CFS_DEBIAN_SUITE", "bookworm")
BUILD_TIMEOUT = 900

# kind -> the command that makes it in DIR (appended)
KINDS = {
    "systemd": [MKIMAGE, "--debian", SUITE],
    "sysvinit": ["mmdebstrap", "--mode=root", "--variant=minbase",
                 "--include=sysvinit-core,procps", SUITE],
}
_results = {}  # kind -> (image dir or None, why not)


def image_key(kind: str) -> str:
    h = hashlib.sha256("\0".join(KINDS[kind]).encode())
    if kind == "systemd":
        with open(MKIMAGE, "rb") as f:
            h.update(f.read())
    return f"debian-{SUITE}-{kind}-{h.hexdigest()[:12]}"


def image_path(kind: str) -> str:
    return os.path.join(CACHE, image_key(kind))


def is_cached(kind: str = "systemd") -> bool:
    return os.path.isfile(os.path.join(image_path(kind), ".containerfs-image"))


def _host_net_prefix():
    fd = os.environ.get("CFS_HOST_NETNS_FD")
    if not fd:
        return []
    ns = f"/proc/{os.getpid()}/fd/{fd}"
    if not os.path.exists(ns):
        return []
    return ["nsenter", f"--net={ns}", "--"]


def _build(kind: str, dest: str) -> Tuple[bool, str]:
    if not shutil.which("mmdebstrap"):
        return False, "mmdebstrap is not installed (scripts/deps installs it)"
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = _host_net_prefix() + KINDS[kind] + [tmp]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        shutil.rmtree(tmp, ignore_errors=True)
        return False, f"the {kind} image ({SUITE}) took more than {BUILD_TIMEOUT} s"
    if p.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tail = "\n".join((p.stderr or p.stdout).strip().splitlines()[-5:])
        return False, f"the {kind} image ({SUITE}) failed (is Debian's mirror reachable?): {tail}"
    with open(os.path.join(tmp, ".containerfs-image"), "w") as f:
        f.write(f"{SUITE} {image_key(kind)}\n")
    os.rename(tmp, dest)
    return True, ""


def debian_image(kind: str = "systemd") -> Tuple[Optional[str], str]:
    """(the cached image's directory, "") or (None, why there is none)."""
    if kind in _results:
        return _results[kind]
    os.makedirs(CACHE, exist_ok=True)
    dest = image_path(kind)
    with open(os.path.join(CACHE, ".distro.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be building it
        if is_cached(kind):
            _results[kind] = (dest, "")
            return _results[kind]
        ok, why = _build(kind, dest)
        if ok:  # images of older keys are stale now
            for old in glob.glob(os.path.join(CACHE, f"debian-{SUITE}-{kind}-*")):
                if old != dest and not old.endswith(".tmp"):
                    shutil.rmtree(old, ignore_errors=True)
        _results[kind] = (dest, "") if ok else (None, why)
    return _results[kind]
