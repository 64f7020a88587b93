"""Networking: net/type veth gives a container a real interface wired to the host (and a
bridge); none shares the host's network, empty is loopback only. Checked from the kernel's
side with ip and ping (inside through nsenter --net=NAME/ns/net), in the private network
namespace scripts/run-tests gives the suite, with 10.77.x.x addresses only."""
import errno
import os
import signal
from typing import Dict, Optional

import pytest

from lib.fsops import read_file, write_file
from lib.lxc import LXC_2012
from lib.lifecycle import (Ctr, cgroups_below_parent, containers, payload_cmd,
                           procs_in_parent, run_dir_files, wait_for, wait_gone)
from lib.net import (GATEWAY, bridge, default_route, delete_link, in_private_netns, ip,
                     ipv4_addrs, kind, link, links, ping, ports_of, private_netns,
                     veth_names)

assert containers and bridge and private_netns  # fixtures, imported for the tests below

NET_OTHER = {"type": "none", "link": "br1", "name": "eth7", "hwaddr": "02:77:00:00:00:01",
             "mtu": "1400", "ipv4": "10.77.1.9/24", "ipv4.gateway": "10.77.1.254",
             "veth.pair": "vother"}  # a valid value for each [net] file


@pytest.fixture(autouse=True)
def no_veth_left(private_netns):
    """Every test ends (its containers killed, its daemon gone) with the veths it began
    with: none."""
    before = veth_names()
    yield
    left = [v for v in veth_names() if v not in before]
    for v in left:
        delete_link(v)
    assert not left, f"veth interfaces left behind: {left}"


def veth_ctr(containers, ctr: str, link_to: str = "", addr: str = "", /,
             other: Optional[Dict[str, str]] = None, **net) -> Ctr:
    """A container running `payload sleep 100` with net/type veth on bridge link_to;
    more [net] settings as keyword arguments (ipv4_gateway -> net/ipv4.gateway), other
    settings in other ({"namespaces": ...})."""
    settings = {"net/type": "veth", **(other or {})}
    if link_to:
        settings["net/link"] = link_to
    if addr:
        settings["net/ipv4"] = addr
    for k, v in net.items():
        settings["net/" + k.replace("_", ".")] = v
    return containers(ctr, "sleep", 100, settings=settings)


def nsnet(c: Ctr) -> str:
    return c.path("ns", "net")


def host_side(c: Ctr) -> dict:
    """The host-side link whose peer is the container's interface (by ifindex)."""
    name = c.read("net/name")
    inside = link(name, ns=nsnet(c))
    assert inside, f"no {name} inside {c.name}"
    host = [l for l in links() if l.get("ifindex") == inside.get("link_index")]
    assert len(host) == 1, f"host side of {c.name}: {host}"
    return host[0]


def assert_failed_cleanly(daemon, c: Ctr, res, want_errno: int, *words: str):
    assert res == want_errno, f"start: {res}, want {errno.errorcode[want_errno]}; " \
                              f"last_error {c.last_error()!r}"
    assert c.state() == "STOPPED"
    le = c.last_error()
    for w in words:
        assert w in le, f"last_error {le!r} does not name {w!r}"
    assert veth_names() == [], "a veth was left by the failed start"
    assert procs_in_parent(daemon) == [] and cgroups_below_parent(daemon) == []
    assert "veth" not in [os.path.basename(f) for f in run_dir_files(daemon)]


# ---- a bridge, two containers ----

@pytest.mark.timeout(90)
def test_two_containers_on_a_bridge(daemon, containers, bridge):
    a = veth_ctr(containers, "a", bridge, "10.77.1.2/24", ipv4_gateway=GATEWAY,
                 name="eth1", hwaddr="02:77:01:00:00:02", mtu="1400", veth_pair="cfs-a-host")
    b = veth_ctr(containers, "b", bridge, "10.77.1.3/24", ipv4_gateway=GATEWAY)
    a.start()
    b.start()

    # inside a: the configured name, MAC, MTU, address, up, lo up, default route
    la = link("eth1", ns=nsnet(a))
    assert la, f"no eth1 inside a: {[l['ifname'] for l in links(nsnet(a))]}"
    assert la["address"] == "02:77:01:00:00:02"
    assert la["mtu"] == 1400
    assert "UP" in la["flags"]
    assert ipv4_addrs("eth1", ns=nsnet(a)) == ["10.77.1.2/24"]
    assert "UP" in link("lo", ns=nsnet(a))["flags"]
    r = default_route(ns=nsnet(a))
    assert r and r["gateway"] == GATEWAY and r["dev"] == "eth1", r
    assert sorted(l["ifname"] for l in links(nsnet(a))) == ["eth1", "lo"]
    # inside b: the defaults (eth0, a random locally administered unicast MAC)
    lb = link("eth0", ns=nsnet(b))
    assert lb and ipv4_addrs("eth0", ns=nsnet(b)) == ["10.77.1.3/24"]
    first = int(lb["address"].split(":")[0], 16)
    assert first & 0x02 and not first & 0x01, lb["address"]

    # the host sides: a's carries its configured name, b's a generated one; both
    # are veths enslaved to the bridge and up, and the peers of the interfaces inside
    ha, hb = host_side(a), host_side(b)
    assert ha["ifname"] == "cfs-a-host"
    assert hb["ifname"].startswith("cfs") and len(hb["ifname"]) <= 15
    for h in (ha, hb):
        assert kind(h) == "veth" and h.get("master") == bridge and "UP" in h["flags"], h
    assert ha["mtu"] == 1400
    assert ports_of(bridge) == sorted([ha["ifname"], hb["ifname"]])

    # the host reaches both; they reach each other and the gateway
    assert ping("10.77.1.2") and ping("10.77.1.3")
    assert ping("10.77.1.3", ns=nsnet(a)) and ping(GATEWAY, ns=nsnet(a))
    assert ping("10.77.1.2", ns=nsnet(b)) and ping(GATEWAY, ns=nsnet(b))

    a.do("stop")
    assert link("cfs-a-host") is None, "a's host side outlived its stop"
    assert veth_names() == [hb["ifname"]]
    b.do("stop")
    assert veth_names() == [] and ports_of(bridge) == []


def test_without_bridge_and_hwaddr_patterns(daemon, containers):
    """No net/link: an unattached pair. x digits of net/hwaddr are random at each start."""
    c = veth_ctr(containers, "web", "", "10.77.2.2/24", hwaddr="02:77:xx:xx:xx:0X")
    c.start()
    h = host_side(c)
    assert kind(h) == "veth" and "master" not in h and "UP" in h["flags"]
    mac1 = link("eth0", ns=nsnet(c))["address"]
    assert mac1.startswith("02:77:") and mac1[-2] == "0", mac1
    c.do("stop")
    c.set("net/hwaddr", "")
    macs = set()
    for _ in range(2):
        c.start()
        macs.add(link("eth0", ns=nsnet(c))["address"])
        c.do("stop")
    assert len(macs) == 2, f"an empty net/hwaddr gave the same MAC twice: {macs}"
    assert veth_names() == []
    # restart: the old pair goes before the new one comes, under the same name
    c.start()
    first = host_side(c)
    c.do("restart")
    again = host_side(c)
    assert len(veth_names()) == 1 and again["ifname"] == first["ifname"]
    assert again["ifindex"] != first["ifindex"]
    c.do("stop")


def test_generated_host_names_are_unique(daemon, containers, bridge):
    """Names cut to IFNAMSIZ still differ: long container names sharing a prefix."""
    cs = [veth_ctr(containers, f"longcontainer{i}", bridge) for i in range(2)]
    for c in cs:
        c.start()
    names = [host_side(c)["ifname"] for c in cs]
    assert len(set(names)) == 2 and all(len(n) <= 15 for n in names), names
    for c in cs:
        c.do("stop")


# ---- failed starts leave nothing ----

def test_missing_bridge_fails_cleanly(daemon, containers, private_netns):
    c = veth_ctr(containers, "web", "br9", "10.77.1.2/24")
    res = c.write_state("start")
    assert_failed_cleanly(daemon, c, res, errno.ENODEV, "net/link", "br9")


def test_link_that_is_not_a_bridge(daemon, containers, private_netns):
    c = veth_ctr(containers, "web", "lo")
    res = c.write_state("start")
    assert_failed_cleanly(daemon, c, res, errno.EINVAL, "net/link", "lo", "not a bridge")


def test_taken_host_name_fails_and_spares_the_owner(daemon, containers, bridge):
    ip("link", "add", "vtaken", "type", "bridge")  # any kind of link: not a veth
    try:
        c = veth_ctr(containers, "web", bridge, veth_pair="vtaken")
        res = c.write_state("start")
        assert_failed_cleanly(daemon, c, res, errno.EEXIST, "net/veth.pair", "vtaken")
        assert link("vtaken") is not None, "the failed start removed someone else's link"
    finally:
        delete_link("vtaken")
    # taken by another container's veth: that one keeps running and answering
    a = veth_ctr(containers, "a", bridge, "10.77.1.2/24", veth_pair="vshared")
    b = veth_ctr(containers, "b", bridge, "10.77.1.3/24", veth_pair="vshared")
    a.start()
    res = b.write_state("start")
    assert res == errno.EEXIST and b.state() == "STOPPED"
    assert "net/veth.pair" in b.last_error() and "vshared" in b.last_error()
    assert veth_names() == ["vshared"] and ping("10.77.1.2")
    a.do("stop")


def test_unreachable_gateway_removes_the_pair(daemon, containers, bridge):
    """The pair exists by the time the route fails: the rollback removes it."""
    c = veth_ctr(containers, "web", bridge, "10.77.1.5/24", ipv4_gateway="10.77.9.1")
    res = c.write_state("start")
    assert_failed_cleanly(daemon, c, res, errno.ENETUNREACH, "net/ipv4.gateway", "10.77.9.1")
    assert ports_of(bridge) == []
    # and the same container starts once the setting is fixed
    c.set("net/ipv4.gateway", GATEWAY)
    c.start()
    assert ping("10.77.1.5")
    c.do("stop")


def test_veth_needs_a_network_namespace(daemon, containers, private_netns):
    c = veth_ctr(containers, "web")
    c.set("namespaces", "mnt pid uts ipc cgroup")
    res = c.write_state("start")
    assert_failed_cleanly(daemon, c, res, errno.EINVAL, "net/type", "namespaces")


def test_loopback_name_refused(daemon, containers, private_netns):
    c = veth_ctr(containers, "web", name="lo")
    res = c.write_state("start")
    assert_failed_cleanly(daemon, c, res, errno.EINVAL, "net/name", "lo")


def test_exec_failure_after_the_pair_removes_it(daemon, containers, bridge):
    """The pair is made before init execs its command: an exec that fails removes it."""
    c = veth_ctr(containers, "web", bridge, "10.77.1.2/24", veth_pair="vexec")
    c.set("init", "/nonexistent/bin/cfs-net-missing")
    res = c.write_state("start")
    assert_failed_cleanly(daemon, c, res, errno.ENOENT, "/nonexistent/bin/cfs-net-missing")


def test_veth_in_a_user_namespace(daemon, containers, bridge):
    """The network namespace belongs to the container's user namespace: the daemon
    still wires and configures it."""
    c = veth_ctr(containers, "web", bridge, "10.77.1.2/24", ipv4_gateway=GATEWAY,
                 other={"namespaces": "mnt pid uts ipc net cgroup user",
                        "idmap": "u 0 100000 65536\ng 0 100000 65536\n"})
    c.start()
    assert ipv4_addrs("eth0", ns=nsnet(c)) == ["10.77.1.2/24"]
    assert ping("10.77.1.2") and ping(GATEWAY, ns=nsnet(c))
    c.do("stop")


# ---- while running, at the end, across a daemon restart ----

def test_net_settings_busy_while_running(daemon, containers, bridge):
    c = veth_ctr(containers, "web", bridge, "10.77.1.2/24")
    c.start()
    for f in NET_OTHER:
        before = c.read(f"net/{f}")
        res = write_file(c.path("net", f), NET_OTHER[f] + "\n")
        assert res == errno.EBUSY, f"net/{f} while running: {res}"
        assert c.read(f"net/{f}") == before
    c.do("stop")


def test_exit_of_init_removes_the_host_side(daemon, containers, bridge):
    c = containers("web", "sleep", 1, settings={"net/type": "veth", "net/link": bridge,
                                                "net/veth.pair": "vshort"})
    c.start()
    assert link("vshort") is not None
    c.wait_state("STOPPED", 15)
    assert link("vshort") is None and veth_names() == []
    assert "veth" not in [os.path.basename(f) for f in run_dir_files(daemon)]


# The daemon ends at unmount only once no mount namespace holds a copy of the tree; a
# container with a mount namespace of its own still does (open in the spawn code), so
# the restart tests keep the daemon's.
SHARED_MNT = {"namespaces": "pid uts ipc net cgroup"}


@pytest.mark.timeout(90)
def test_daemon_restart_leaves_interfaces_untouched(daemon, containers, bridge):
    c = veth_ctr(containers, "web", bridge, "10.77.1.2/24", veth_pair="vkeep",
                 other=SHARED_MNT)
    c.start()
    before = link("vkeep")
    inside = link("eth0", ns=nsnet(c))
    daemon.restart()
    assert c.state() == "RUNNING"
    after = link("vkeep")
    assert after and after["ifindex"] == before["ifindex"] and after.get("master") == bridge
    assert link("eth0", ns=nsnet(c))["address"] == inside["address"]
    assert ping("10.77.1.2")
    c.do("stop")
    assert link("vkeep") is None


@pytest.mark.timeout(90)
def test_container_dead_while_daemon_down(daemon, containers, bridge):
    """The run ends while no daemon watches: the next one finishes it, veth included."""
    c = veth_ctr(containers, "web", bridge, "10.77.1.2/24", veth_pair="vdown",
                 other=SHARED_MNT)
    pid = c.start()
    assert daemon.stop() == 0
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid, 10)
    daemon.start()
    c.wait_state("STOPPED", 15)
    wait_for(lambda: link("vdown") is None, 10, what="vdown gone")
    assert "veth" not in [os.path.basename(f) for f in run_dir_files(daemon)]


@pytest.mark.timeout(240)
def test_fifty_containers_leave_no_interface(daemon, containers, bridge):
    cs = [veth_ctr(containers, f"c{i:02d}", bridge, f"10.77.1.{10 + i}/24")
          for i in range(50)]
    for i, c in enumerate(cs):
        c.start()
        assert len(ports_of(bridge)) == 1, f"round {i}: ports {ports_of(bridge)}"
        c.do("stop")
        assert veth_names() == [], f"round {i}: veths left {veth_names()}"
    # and five at once, stopped in a different order than started
    for c in cs[:5]:
        c.start()
    assert len(ports_of(bridge)) == 5
    assert ping("10.77.1.14", ns=nsnet(cs[0]))
    for c in reversed(cs[:5]):
        c.do("stop")
    assert veth_names() == [] and ports_of(bridge) == []
    assert "veth" not in [os.path.basename(f) for f in run_dir_files(daemon)]


# ---- the 2012 configuration (tests/lib/lxc.py) ----


def test_lxc_2012_config_boots_and_answers_ping(daemon, containers, bridge):
    c = containers("debian")
    res = write_file(c.path("config"), LXC_2012 + f"lxc.network.link = {bridge}\n")
    assert res == 0, f"{res}: {c.last_error()}"
    assert c.read("net/veth.pair") == "veth1-0" and c.read("net/link") == bridge
    # an application container: system containers (rootfs) are another issue's
    c.set("rootfs", "")
    c.set("mounts", "")  # the config's fstab entries are for its rootfs
    c.set("init", payload_cmd("sleep", 100))
    c.start()
    h = link("veth1-0")
    assert h and kind(h) == "veth" and h.get("master") == bridge and "UP" in h["flags"]
    e = link("eth0", ns=nsnet(c))
    assert e["address"] == "00:16:3e:4d:01:fd" and e["link_index"] == h["ifindex"]
    assert ipv4_addrs("eth0", ns=nsnet(c)) == ["10.77.1.253/24"]
    assert default_route(ns=nsnet(c)) is None  # the 2012 config names no gateway
    assert ping("10.77.1.253")
    assert ping(GATEWAY, ns=nsnet(c))
    c.do("stop")
    assert link("veth1-0") is None


# ---- the other types, and .checkconfig ----

def test_type_empty_is_loopback_only(daemon, containers, private_netns):
    c = containers("web", "sleep", 100, settings={"net/type": "empty"})
    c.start()
    ls = links(nsnet(c))
    assert [l["ifname"] for l in ls] == ["lo"] and "UP" in ls[0]["flags"]
    assert os.stat(nsnet(c)).st_ino != os.stat("/proc/self/ns/net").st_ino
    c.do("stop")


def test_type_none_shares_the_host_network(daemon, containers, bridge):
    c = containers("web", "sleep", 100, settings={"net/type": "none"})
    c.start()
    assert os.stat(f"/proc/{c.pid()}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino
    assert veth_names() == []
    c.do("stop")


def test_checkconfig_veth_and_bridge(daemon, private_netns):
    text = read_file(daemon.path(".checkconfig"))
    lines = dict(l.split(": ", 1) for l in text.splitlines())
    assert lines.get("veth") == "yes" and lines.get("bridge") == "yes", text
    # the probe ran in a namespace of its own: nothing of it here
    assert not [l["ifname"] for l in links() if l["ifname"].startswith("cfsprobe")]


def test_suite_runs_in_a_private_network_namespace():
    assert in_private_netns(), "network tests must not run in the machine's namespace"


# ---- addresses an interface may not have ----

NOT_HOST_ADDRS = {
    "ipv4": ["224.0.0.1/24", "239.1.2.3/8", "255.255.255.255/32", "240.0.0.1/8",
             "0.0.0.0/0", "0.0.0.0/24", "0.1.2.3/8", "10.77.1.255/24", "10.77.1.0/24"],
    "ipv4.gateway": ["224.0.0.1", "255.255.255.255", "0.0.0.0", "240.0.0.1"],
}


@pytest.mark.parametrize("key", sorted(NOT_HOST_ADDRS))
def test_multicast_broadcast_and_any_refused(daemon, containers, key):
    c = containers("web", "sleep", 100)
    c.set(f"net/{key}", NET_OTHER[key])
    for bad in NOT_HOST_ADDRS[key]:
        res = write_file(c.path("net", key), bad + "\n")
        assert res == errno.EINVAL, f"net/{key} = {bad}: {res}"
        assert read_file(c.path("net", key)).strip() == NET_OTHER[key], bad
        assert bad.split("/")[0] in c.last_error(), c.last_error()
