"""cgroups of running containers, read from the kernel's own files (found through
/proc/PID/cgroup): the limits at start, live changes, statistics, OOM kill at memory.max,
a fork bomb stopped at pids.max, the freezer (no CPU while FROZEN), tasks."""
import errno
import os
import re
import time

import pytest

from lib.daemon import cgroup_layout, has_controller
from lib.fsops import read_file, read_value, write_file
from lib.lifecycle import (HostSleep, cgroup_dir, cgroup_dirs, cgroups_below_parent,
                           containers, cpu_usage_ns, dead_pid, payload_cmd, pid_alive, proc_cgroups,
                           proc_state, read_kernel, wait_for, wait_gone)

assert containers  # the fixture, imported for the tests below

V1 = cgroup_layout() in ("v1", "hybrid")
needs_v1 = pytest.mark.skipif(not V1, reason="v1 controller files (this host is pure v2)")


def _kernel(pid, ctrl, name):
    d = cgroup_dir(pid, ctrl)
    assert d, f"no {ctrl or 'unified'} hierarchy for {pid}"
    return read_kernel(d, name)


def test_cgroup_in_every_hierarchy_below_parent(daemon, containers):
    c = containers("web", "sleep", 100)
    p = c.start()
    cmd = c.command_pid()
    cgs = proc_cgroups(p)
    assert cgs, "no cgroups"
    for ctrl, path in cgs.items():
        assert path.endswith(f"/{daemon.cgroup_parent}/web"), \
            f"{ctrl or 'unified'}: {path} is not below the cgroup parent"
    assert proc_cgroups(cmd) == cgs
    dirs = cgroup_dirs(p)
    for ctrl, d in dirs.items():
        assert os.path.isdir(d)
        procs = {int(x) for x in read_kernel(d, "cgroup.procs").split()}
        assert {p, cmd} <= procs, f"{d}/cgroup.procs: {procs}"
    tasks = {int(x) for x in read_file(c.path("tasks")).split()}
    assert tasks == {p, cmd}
    c.do("stop")
    for ctrl, d in dirs.items():
        assert not os.path.exists(d), f"{d} left after stop"
    assert cgroups_below_parent(daemon) == []


@needs_v1
def test_limits_in_kernel_files(daemon, containers):
    settings = {
        "cgroup/memory.max": "128M",
        "cgroup/cpu.shares": "512",
        "cgroup/cpu.max": "50000 100000",
        "cgroup/pids.max": "50",
        "cgroup/cpuset.cpus": "0",
        "cgroup/devices.allow": "c 1:3 rwm\nc 1:5 rwm\n",
    }
    c = containers("web", "sleep", 100, settings=settings)
    p = c.start()
    assert _kernel(p, "memory", "memory.limit_in_bytes") == str(128 << 20)
    assert _kernel(p, "cpu", "cpu.shares") == "512"
    assert _kernel(p, "cpu", "cpu.cfs_quota_us") == "50000"
    assert _kernel(p, "cpu", "cpu.cfs_period_us") == "100000"
    assert _kernel(p, "pids", "pids.max") == "50"
    assert _kernel(p, "cpuset", "cpuset.cpus") == "0"
    with open(f"/proc/{p}/status") as f:
        allowed = [l.split(":")[1].strip() for l in f if l.startswith("Cpus_allowed_list")]
    assert allowed == ["0"], f"init's Cpus_allowed_list {allowed}"
    devs = _kernel(p, "devices", "devices.list").splitlines()
    assert sorted(devs) == ["c 1:3 rwm", "c 1:5 rwm"], devs
    c.do("stop")


@needs_v1
def test_defaults_in_kernel_files(daemon, containers):
    c = containers("web", "sleep", 100)
    p = c.start()
    assert _kernel(p, "pids", "pids.max") == "max"
    assert _kernel(p, "cpu", "cpu.cfs_quota_us") == "-1"
    assert _kernel(p, "cpu", "cpu.shares") == read_value(c.path("cgroup", "cpu.shares"))
    devs = set(_kernel(p, "devices", "devices.list").splitlines())
    assert "a *:* rwm" not in devs, "devices not restricted by default"
    want = set(read_file(c.path("cgroup", "devices.allow")).splitlines())
    assert devs == want, f"kernel {sorted(devs)} vs allow {sorted(want)}"
    c.do("stop")


@needs_v1
def test_devices_enforced_inside(daemon, containers):
    """The default devices rules: /dev/null opens, /dev/loop-control (10:237) does not.
    Privileged: unprivileged, root inside is not the owner of the host's root-owned 0600
    node, so EACCES would come before the devices cgroup is asked."""
    out = {}
    for name, path in (("null", "/dev/null"), ("loopctl", "/dev/loop-control")):
        if not os.path.exists(path):
            continue
        c = containers(name, "open", path, settings={"privileged": "1"})
        c.do("start")
        c.wait_state("STOPPED")
        out[name] = c.log().strip()
    assert out.get("null") == "ok", out
    if "loopctl" in out:
        assert out["loopctl"] == "EPERM", out


@needs_v1
def test_live_changes_reach_kernel(daemon, containers):
    c = containers("web", "sleep", 100, settings={"cgroup/memory.max": "128M"})
    p = c.start()
    changes = [
        ("memory.max", "256M", "memory", "memory.limit_in_bytes", str(256 << 20)),
        ("memory.limit_in_bytes", "64M", "memory", "memory.limit_in_bytes", str(64 << 20)),
        ("cpu.shares", "700", "cpu", "cpu.shares", "700"),
        ("cpu.max", "20000 100000", "cpu", "cpu.cfs_quota_us", "20000"),
        ("cpu.max", "max 100000", "cpu", "cpu.cfs_quota_us", "-1"),
        ("pids.max", "77", "pids", "pids.max", "77"),
        ("pids.max", "max", "pids", "pids.max", "max"),
        ("cpuset.cpus", "0", "cpuset", "cpuset.cpus", "0"),
    ]
    for name, val, ctrl, kfile, want in changes:
        res = write_file(c.path("cgroup", name), val + "\n")
        assert res == 0, f"{name} = {val} while running: {res}: {c.last_error()}"
        got = _kernel(p, ctrl, kfile)
        assert got == want, f"after {name} = {val}: kernel {kfile} = {got}, want {want}"
    # cpu.weight reaches cpu.shares (whatever the mapping, the alias reads what the kernel has)
    assert write_file(c.path("cgroup", "cpu.weight"), "200\n") == 0
    assert _kernel(p, "cpu", "cpu.shares") == read_value(c.path("cgroup", "cpu.shares"))
    assert _kernel(p, "cpu", "cpu.shares") != "700"
    # devices: a live change of the allow list
    assert write_file(c.path("cgroup", "devices.allow"), "c 1:3 rwm\n") == 0
    devs = _kernel(p, "devices", "devices.list").splitlines()
    assert devs == ["c 1:3 rwm"], devs
    # a value the kernel refuses while running: the write fails, nothing changes
    before = read_value(c.path("cgroup", "memory.max"))
    res = write_file(c.path("cgroup", "cpuset.cpus"), "99\n")
    assert res in (errno.EINVAL, errno.ERANGE), f"cpuset.cpus 99 while running: {res}"
    assert read_value(c.path("cgroup", "cpuset.cpus")) == "0"
    assert _kernel(p, "cpuset", "cpuset.cpus") == "0"
    assert read_value(c.path("cgroup", "memory.max")) == before
    c.do("stop")
    # the settings written while running are kept for the next start
    p = c.start()
    assert _kernel(p, "memory", "memory.limit_in_bytes") == str(64 << 20)
    assert _kernel(p, "pids", "pids.max") == "max"
    c.do("stop")


@needs_v1
def test_swap_limit(daemon, containers):
    if not os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"):
        pytest.skip("no swap accounting")
    c = containers("web", "sleep", 100, settings={"cgroup/memory.max": "64M",
                                                  "cgroup/memory.swap.max": "32M"})
    p = c.start()
    assert _kernel(p, "memory", "memory.limit_in_bytes") == str(64 << 20)
    assert _kernel(p, "memory", "memory.memsw.limit_in_bytes") == str(96 << 20)
    c.do("stop")


STATS_V2 = ["memory.current", "memory.peak", "memory.stat", "cpu.stat", "pids.current"]
STATS_V1 = ["memory.usage_in_bytes", "memory.max_usage_in_bytes", "cpuacct.usage"]


def test_statistics_running_and_stopped(daemon, containers):
    c = containers("web", "sleep", 100)
    stats = STATS_V2 + STATS_V1
    for s in stats + ["io.stat"]:
        assert read_file(c.path("cgroup", s)) == "", f"{s} not empty while stopped"
    p = c.start()
    c.command_pid()
    for s in stats:
        assert read_file(c.path("cgroup", s)).strip(), f"{s} empty while running"
    assert read_value(c.path("cgroup", "pids.current")) == "2"
    if V1:
        assert _kernel(p, "pids", "pids.current") == "2"
        cur = int(read_value(c.path("cgroup", "memory.current")))
        kern = int(_kernel(p, "memory", "memory.usage_in_bytes"))
        assert cur > 0 and abs(cur - kern) < (8 << 20), (cur, kern)
    usage = int(read_value(c.path("cgroup", "cpuacct.usage")))
    stat = dict(l.split() for l in read_file(c.path("cgroup", "cpu.stat")).splitlines())
    assert "usage_usec" in stat and "user_usec" in stat and "system_usec" in stat, stat
    assert usage > 0
    c.do("stop")
    for s in stats + ["io.stat"]:
        assert read_file(c.path("cgroup", s)) == "", f"{s} not empty after stop"


@pytest.mark.timeout(60)
def test_oom_kill_inside(daemon, containers):
    c = containers("web", "alloc", 512, 30, settings={"cgroup/memory.max": "32M",
                                                      "cgroup/memory.swap.max": "0"})
    c.do("start")
    try:  # the allocation may already have been killed (the teardown checks leaks too)
        dirs = cgroup_dirs(c.pid()) if c.pid() else {}
    except (FileNotFoundError, ValueError):
        dirs = {}
    c.wait_state("STOPPED", 30)
    log = c.log()
    assert "allocated 1 MB" in log, log[-500:]
    assert "done" not in log, "allocated 512 MB under a 32 MB limit"
    assert c.exit_status() == "137", f"exit_status {c.exit_status()}: {log[-300:]}"
    n = max(int(m) for m in re.findall(r"allocated (\d+) MB", log))
    assert n < 40, f"allocated {n} MB under a 32 MB limit"
    # the daemon and the host are fine
    assert daemon.alive()
    assert read_value(daemon.path(".version"))
    for d in dirs.values():
        assert not os.path.exists(d)
    # and the container can run again
    c.set("init", payload_cmd("sleep", 100))
    c.start()
    c.do("stop")


def test_forkbomb_stops_at_pids_max(daemon, containers):
    limit = 10
    c = containers("web", "forkbomb", 200, 60, settings={"cgroup/pids.max": str(limit)})
    p = c.start()
    log = wait_for(lambda: "forked" in c.log() and c.log(), 15, what="the fork bomb's report")
    m = re.search(r"forked (\d+)", log)
    n = int(m.group(1))
    assert 1 <= n <= limit - 2, f"{n} forks succeeded under pids.max {limit} (init and the " \
                                f"command count too): {log}"
    assert "EAGAIN" in log, log
    assert int(read_value(c.path("cgroup", "pids.current"))) <= limit
    if V1:
        assert int(_kernel(p, "pids", "pids.current")) <= limit
        events = _kernel(p, "pids", "pids.events")
        assert int(events.split()[1]) > 0, events
    # the host can still fork
    with HostSleep(1) as h:
        assert pid_alive(h.pid)
    c.do("kill")
    assert cgroups_below_parent(daemon) == []


@pytest.mark.timeout(60)
def test_frozen_busy_loop_uses_no_cpu(daemon, containers):
    c = containers("web", "spin", settings={"cgroup/cpu.max": "50000 100000"})
    p = c.start()
    cmd = c.command_pid()
    d_acct = cgroup_dir(p, "cpuacct") if has_controller("cpuacct") else None
    d_uni = cgroup_dir(p, "")

    def usage():
        return cpu_usage_ns(d_acct, d_uni)

    u0 = usage()
    wait_for(lambda: usage() - u0 > 50_000_000, 10, what="the spin to use 50 ms of CPU")
    c.do("freeze")
    assert c.state() == "FROZEN"
    if V1 and has_controller("freezer"):
        assert _kernel(p, "freezer", "freezer.state") == "FROZEN"
    time.sleep(0.1)
    f0, t0 = usage(), time.monotonic()
    time.sleep(0.6)
    f1 = usage()
    assert f1 - f0 < 5_000_000, f"used {(f1 - f0) / 1e6:.1f} ms of CPU in " \
                                f"{time.monotonic() - t0:.2f} s while FROZEN"
    # the daemon's own counter agrees that nothing moved
    a = int(read_value(c.path("cgroup", "cpuacct.usage")))
    time.sleep(0.2)
    b = int(read_value(c.path("cgroup", "cpuacct.usage")))
    assert b - a < 5_000_000
    assert pid_alive(cmd)
    c.do("thaw")
    assert c.state() == "RUNNING"
    if V1 and has_controller("freezer"):
        assert _kernel(p, "freezer", "freezer.state") == "THAWED"
    wait_for(lambda: usage() - f1 > 50_000_000, 10, what="the spin to resume after thaw")
    assert proc_state(cmd) == "R" or usage() > f1
    c.do("kill")
    assert wait_gone(cmd, 5)


def test_tasks_moves_a_host_process(daemon, containers):
    c = containers("web", "sleep", 100)
    p = c.start()
    with HostSleep(100) as h:
        before = proc_cgroups(h.pid)
        assert write_file(c.path("tasks"), f"{h.pid}\n") == 0, c.last_error()
        after = proc_cgroups(h.pid)
        want = proc_cgroups(p)
        assert after != before
        for ctrl, path in want.items():
            if ctrl.startswith("name="):
                continue
            assert after.get(ctrl) == path, f"{ctrl}: {after.get(ctrl)}, want {path}"
        tasks = {int(x) for x in read_file(c.path("tasks")).split()}
        assert h.pid in tasks
        assert h.pid in {int(r.split()[0]) for r in read_file(c.path("ps")).splitlines()}
        # a pid that does not exist
        dp = dead_pid()
        res = write_file(c.path("tasks"), f"{dp}\n")
        assert res == errno.ESRCH, f"tasks <- dead pid {dp}: {res}"
        for bad in ("abc", "-1", "0"):
            res = write_file(c.path("tasks"), bad + "\n")
            assert res in (errno.EINVAL, errno.ESRCH), f"tasks <- {bad!r}: {res}"
        # stop kills everything in the cgroup, the moved process too
        c.do("stop")
        assert wait_gone(h.pid, 15), "the moved process survived the stop"


def test_tasks_on_stopped_container(daemon, containers):
    c = containers("web", "sleep", 100)
    assert read_file(c.path("tasks")) == ""
    with HostSleep(100) as h:
        res = write_file(c.path("tasks"), f"{h.pid}\n")
        assert res != 0, "moving a process into a stopped container succeeded"
        assert not any(daemon.cgroup_parent in x for x in proc_cgroups(h.pid).values())
        assert cgroups_below_parent(daemon) == []
