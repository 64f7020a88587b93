"""Supervision does not depend on the daemon: after kill -9 of the daemon, an unmount or
SIGTERM, running containers keep running (same process), a new daemon on the same state
and run dirs shows them RUNNING with the same pid, and stop, freeze and exit_status work
on them; a container that exits while no daemon runs shows STOPPED with its status."""
import os
import shutil
import tempfile

import pytest

from lib.fsops import read_file, run
from lib.lifecycle import (cgroup_dir, cgroup_dirs, cgroups_below_parent, cmdline,
                           containers, kill9_and_unmount, payload, pid_alive, ppid,
                           read_kernel, read_until, starttime, wait_for, wait_gone)

assert containers  # the fixture, imported for the tests below


def _tree_mounts_in(pid, daemon):
    """Lines of pid's mountinfo that are this daemon's FUSE mount (the tree)."""
    try:
        with open(f"/proc/{pid}/mountinfo") as f:
            return [l.strip() for l in f if " fuse.containerfs " in l and daemon.mnt in l]
    except OSError:
        return []


def _bring_back(daemon, how, pids=()):
    """End the daemon (kill9, unmount, sigterm) and start a new one on the same dirs.
    Returns the problems seen on the way (a bad exit code), so that the test goes on to
    check the containers and fails at its end."""
    if how == "kill9":
        daemon.kill9()
        return []
    problems = []
    rc = daemon.stop(how, timeout=6)
    if rc != 0:
        held = {p: _tree_mounts_in(p, daemon) for p in pids}
        problems.append(f"daemon exit code {rc} after {how} (want 0; -9: still running 6 s "
                        f"after); containers' mount namespaces holding the tree: {held}; "
                        f"stderr: {daemon.stderr_tail(5)}")
    if daemon.is_mounted():
        unmount_err = run(["umount", "-l", daemon.mnt]).stderr
        problems.append(f"{daemon.mnt} still mounted after {how} {unmount_err}")
    daemon.start()
    return problems


def test_supervisor_is_inits_parent(daemon, containers):
    c = containers("web", "sleep", 100)
    p = c.start()
    sup = ppid(p)
    assert sup != daemon.proc.pid, "init's parent is the daemon itself"
    assert any("containerfs-supervisor" in a for a in cmdline(sup)[:1]), cmdline(sup)
    c.do("stop")
    assert wait_gone(sup, 5), "the supervisor outlived its container"


@pytest.mark.parametrize("how", ["kill9", "unmount", "sigterm"])
def test_container_survives_daemon(daemon, containers, how):
    c = containers("web", init=f"/bin/sh -c 'echo before; exec {payload()} sleep 100'",
                   settings={"hostname": "survivor"})
    p = c.start()
    cmd = c.command_pid()
    sup = ppid(p)
    st_p, st_cmd = starttime(p), starttime(cmd)
    dirs = cgroup_dirs(p)
    wait_for(lambda: "before\n" in c.log(), 5, what="output before")
    old_daemon = daemon.proc.pid

    problems = _bring_back(daemon, how, (p, cmd))
    assert daemon.proc.pid != old_daemon
    # the same processes, untouched
    assert pid_alive(p) and pid_alive(cmd) and pid_alive(sup)
    assert starttime(p) == st_p and starttime(cmd) == st_cmd
    assert ppid(p) == sup
    assert cgroup_dirs(p) == dirs
    # the new daemon knows them
    assert c.state() == "RUNNING"
    assert c.pid() == p
    assert "before\n" in c.log()
    assert {int(x) for x in read_file(c.path("tasks")).split()} == {p, cmd}
    assert sorted(int(r[0]) for r in c.ps()) == sorted([p, cmd])
    r = run(["nsenter", f"--uts={c.path('ns', 'uts')}", "hostname"], check=True)
    assert r.stdout.strip() == "survivor"
    # live cgroup settings and statistics still reach the kernel
    assert read_file(c.path("cgroup", "pids.current")).strip() == "2"
    c.set("cgroup/pids.max", "33")
    if cgroup_dir(p, "pids"):
        assert read_kernel(cgroup_dir(p, "pids"), "pids.max") == "33"
    # freeze, thaw and stop work on it
    c.do("freeze")
    assert c.state() == "FROZEN"
    if cgroup_dir(p, "freezer"):
        assert read_kernel(cgroup_dir(p, "freezer"), "freezer.state") == "FROZEN"
    c.do("thaw")
    assert c.state() == "RUNNING"
    c.do("stop")
    assert c.state() == "STOPPED"
    assert c.exit_status() == "143"
    assert wait_gone(p, 5) and wait_gone(cmd, 5) and wait_gone(sup, 5)
    for d in dirs.values():
        assert not os.path.exists(d), f"{d} left"
    assert not problems, "\n".join(problems)


def test_container_does_not_hold_the_tree_mount(daemon, containers):
    """The container's mount namespace must not keep a copy of the daemon's own FUSE
    mount: it would keep the FUSE connection alive after `fusermount3 -u` on the host, so
    the daemon never ends (and the container could reach the management tree)."""
    c = containers("web", "sleep", 100)
    p = c.start()
    held = _tree_mounts_in(p, daemon)
    assert held == [], f"init's mount namespace holds the tree mount: {held}"
    r = run(["nsenter", f"--mount={c.path('ns', 'mnt')}", "ls", daemon.mnt])
    assert "web" not in r.stdout.split(), f"the tree is reachable inside: {r.stdout!r}"
    c.do("stop")


def test_exit_while_daemon_is_down(daemon, containers):
    trigger = os.path.join(daemon.base, "trigger")
    c = containers("web", init="/bin/sh -c 'echo started; "
                               f"while [ ! -e {trigger} ]; do sleep 0.05; done; "
                               "echo exiting; exit 7'")
    p = c.start()
    sup = ppid(p)
    dirs = cgroup_dirs(p)
    kill9_and_unmount(daemon)
    open(trigger, "w").close()
    assert wait_gone(p, 10), "the container did not exit"
    assert wait_gone(sup, 10), "the supervisor did not end after its container"
    daemon.start()
    assert c.state() == "STOPPED"
    assert c.exit_status() == "7"
    assert c.read("pid") == ""
    assert os.listdir(c.path("ns")) == []
    assert "started\n" in c.log() and "exiting\n" in c.log(), c.log()
    for d in dirs.values():
        assert not os.path.exists(d), f"{d} left"
    assert cgroups_below_parent(daemon) == []
    # and it starts again
    c.set("init", f"{payload()} sleep 100")
    c.start()
    c.do("stop")


def test_killed_while_daemon_is_down(daemon, containers):
    c = containers("web", "sleep", 100)
    p = c.start()
    cmd = c.command_pid()
    kill9_and_unmount(daemon)
    os.kill(cmd, 9)
    assert wait_gone(p, 10)
    daemon.start()
    assert c.state() == "STOPPED"
    assert c.exit_status() == "137"
    assert cgroups_below_parent(daemon) == []


def test_output_while_daemon_is_down_is_logged(daemon, containers):
    # a dir the container's root (an unprivileged id outside) can write to
    sig = tempfile.mkdtemp(prefix="cfs-sig-")
    try:
        os.chmod(sig, 0o777)
        _output_while_down(daemon, containers, sig)
    finally:
        shutil.rmtree(sig)


def _output_while_down(daemon, containers, sig):
    trigger = os.path.join(sig, "trigger")
    ack = os.path.join(sig, "ack")
    c = containers("web", init="/bin/sh -c 'echo before; "
                               f"while [ ! -e {trigger} ]; do sleep 0.05; done; "
                               f"echo during; touch {ack}; exec {payload()} sleep 100'")
    p = c.start()
    wait_for(lambda: "before\n" in c.log(), 5, what="output")
    kill9_and_unmount(daemon)
    open(trigger, "w").close()
    wait_for(lambda: os.path.exists(ack), 10, what="the output while the daemon is down")
    daemon.start()
    assert c.state() == "RUNNING" and c.pid() == p
    log = c.log()
    assert "before\nduring\n" in log, repr(log)
    c.do("stop")


def test_frozen_container_survives_daemon(daemon, containers):
    c = containers("web", "sleep", 100)
    p = c.start()
    c.do("freeze")
    daemon.kill9()
    assert pid_alive(p)
    assert c.state() == "FROZEN"
    c.do("thaw")
    assert c.state() == "RUNNING" and c.pid() == p
    c.do("stop")
    assert c.exit_status() == "143"


def test_events_after_daemon_restart(daemon, containers):
    c = containers("web", "sleep", 100)
    c.start()
    daemon.kill9()
    fd = os.open(c.path("events"), os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert os.read(fd, 4096) == b"web RUNNING\n"
        c.do("stop")
        assert "web STOPPED\n" in read_until(fd, lambda t: "web STOPPED\n" in t, 5)
    finally:
        os.close(fd)


def test_exit_noticed_after_restart_wakes_readers(daemon, containers):
    """A container adopted by a new daemon that then exits by itself: STOPPED, its
    status, an event."""
    trigger = os.path.join(daemon.base, "trigger")
    c = containers("web", init=f"/bin/sh -c 'while [ ! -e {trigger} ]; do sleep 0.05; done;"
                               " exit 5'")
    p = c.start()
    daemon.kill9()
    assert c.state() == "RUNNING" and c.pid() == p
    fd = os.open(c.path("events"), os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert os.read(fd, 4096) == b"web RUNNING\n"
        open(trigger, "w").close()
        read_until(fd, lambda t: "web STOPPED\n" in t, 10)
    finally:
        os.close(fd)
    assert c.exit_status() == "5"
    assert wait_gone(p, 5)
    assert cgroups_below_parent(daemon) == []


def test_several_containers_across_restarts(daemon, containers):
    cs = [containers(f"c{i}", "sleep", 100) for i in range(3)]
    pids = [c.start() for c in cs]
    daemon.kill9()
    daemon.restart("unmount")
    for c, p in zip(cs, pids):
        assert c.state() == "RUNNING" and c.pid() == p and pid_alive(p)
    fd = os.open(daemon.path(".events"), os.O_RDONLY | os.O_NONBLOCK)
    try:
        text = read_until(fd, lambda t: t.count("\n") >= 3, 3)
        assert sorted(text.splitlines()) == ["c0 RUNNING", "c1 RUNNING", "c2 RUNNING"]
    finally:
        os.close(fd)
    for c in cs:
        c.do("kill")
        assert c.exit_status() == "137"
