"""Helpers for the network tests: a guard that the test runs in a private network
namespace (never the machine's own), bridges and links made there, the kernel's view
through `ip -j`, and ping from the test's namespace or from inside a container (nsenter
through the tree's ns/net link). Addresses are 10.77.x.x only.

Import the fixtures into a test module with `from lib.net import bridge, private_netns`."""
import json
import os
import shutil
import subprocess
from typing import List, Optional, Tuple

import pytest

GATEWAY = "10.77.1.1"
BRIDGE_CIDR = "10.77.1.1/24"


def _netns_of(pid) -> Optional[Tuple[int, int]]:
    try:
        st = os.stat(f"/proc/{pid}/ns/net")
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(") ", 1)[1].split()[1])


def in_private_netns() -> bool:
    """True if we left the network namespace we were started from: pid 1's differs,
    or (where pid 1's cannot be read, as in some sandboxes) an ancestor's does, as
    scripts/run-tests' `unshare --net` gives."""
    mine = _netns_of("self")
    init = _netns_of(1)
    if mine is None:
        return False
    if init is not None:
        return mine != init
    pid = os.getpid()
    while pid > 1:
        try:
            pid = _parent_of(pid)
        except (OSError, ValueError, IndexError):
            return False
        other = _netns_of(pid)
        if other is not None and other != mine:
            return True
    return False


@pytest.fixture
def private_netns():
    """Fail (touching nothing) unless the test runs in a network namespace of its own,
    as scripts/run-tests provides."""
    if not in_private_netns():
        pytest.fail("not in a private network namespace: run the suite through "
                    "scripts/run-tests (unshare --net); nothing was created", pytrace=False)


def _nsenter(ns: Optional[str], argv: List[str]) -> List[str]:
    return ["nsenter", f"--net={ns}", *argv] if ns else argv


def run(argv: List[str], ns: Optional[str] = None, timeout: float = 20,
        check: bool = True) -> subprocess.CompletedProcess:
    """Run argv in our namespace, or in the network namespace file ns."""
    p = subprocess.run(_nsenter(ns, argv), text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{_nsenter(ns, argv)} -> rc {p.returncode}\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def ip(*args: str, ns: Optional[str] = None, check: bool = True) -> subprocess.CompletedProcess:
    return run(["ip", *args], ns=ns, check=check)


def ip_json(*args: str, ns: Optional[str] = None) -> list:
    out = ip("-j", *args, ns=ns).stdout.strip()
    return json.loads(out) if out else []


def links(ns: Optional[str] = None) -> List[dict]:
    """Every link with details (linkinfo, master, mtu, address, flags)."""
    return ip_json("-d", "link", "show", ns=ns)


def link(name: str, ns: Optional[str] = None) -> Optional[dict]:
    return next((l for l in links(ns) if l["ifname"] == name), None)


def kind(l: dict) -> str:
    return l.get("linkinfo", {}).get("info_kind", "")


def veth_names(ns: Optional[str] = None) -> List[str]:
    return sorted(l["ifname"] for l in links(ns) if kind(l) == "veth")


def ports_of(bridge: str) -> List[str]:
    return sorted(l["ifname"] for l in links() if l.get("master") == bridge)


def ipv4_addrs(name: str, ns: Optional[str] = None) -> List[str]:
    """["10.77.1.2/24", ...] of link name."""
    out = []
    for l in ip_json("addr", "show", "dev", name, ns=ns):
        for a in l.get("addr_info", []):
            if a.get("family") == "inet":
                out.append(f"{a['local']}/{a['prefixlen']}")
    return out


def default_route(ns: Optional[str] = None) -> Optional[dict]:
    return next((r for r in ip_json("-4", "route", "show", ns=ns) if r.get("dst") == "default"),
                None)


def make_bridge(name: str, cidr: Optional[str] = BRIDGE_CIDR):
    """A bridge, up, with an address (our namespace only: callers use private_netns)."""
    assert in_private_netns()
    ip("link", "add", name, "type", "bridge")
    if cidr:
        ip("addr", "add", cidr, "dev", name)
    ip("link", "set", name, "up")


def delete_link(name: str):
    ip("link", "del", name, check=False)


def _ping_argv() -> List[str]:
    # iputils' ping if installed, else busybox's (busybox-static is a dependency)
    return ["ping"] if shutil.which("ping") else ["busybox", "ping"]


def ping(addr: str, ns: Optional[str] = None, tries: int = 3) -> bool:
    """One echo answered within 2 s, from our namespace or from ns; a few tries, since
    the first packet may wait for ARP."""
    for _ in range(tries):
        if run([*_ping_argv(), "-c", "1", "-W", "2", addr], ns=ns, check=False).returncode == 0:
            return True
    return False


@pytest.fixture
def bridge(private_netns):
    """A bridge cfsbr0 with 10.77.1.1/24, up, in the test's private namespace; removed
    at teardown. Returns its name."""
    name = "cfsbr0"
    delete_link(name)
    make_bridge(name)
    yield name
    delete_link(name)
