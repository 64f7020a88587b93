"""The lifecycle of application containers (empty rootfs), checked from outside the daemon:
namespaces, the reaper as pid 1, hostname/env/cwd/user inside, exit statuses, stop with
its signal and timeout, failed starts that leave nothing, idempotent verbs, EBUSY, target
states, restart, ps and log."""
import errno
import os
import time

import pytest

from lib.fsops import ename, errno_of, read_file, run, sh, write_file
from lib.lifecycle import (NS_NEW_DEFAULT, Ctr, children, cgroups_below_parent, cmdline,
                           containers, ns_ino, nspids, payload, payload_cmd,
                           pid_alive, ppid, procs_in_parent, run_dir_files, wait_for,
                           wait_gone)
from lib.daemon import procs_mentioning

assert containers  # the fixture, imported for the tests below

ALL_NS = ["mnt", "pid", "uts", "ipc", "net", "user", "cgroup", "time"]


def _no_leftovers(d, c: Ctr, token: str = ""):
    """A stopped container left nothing: no cgroup below the parent, no process in it or
    naming the run dir (or token), no record in the run dir but logs, ns/ empty, no pid."""
    assert c.state() == "STOPPED"
    assert c.read("pid") == ""
    assert os.listdir(c.path("ns")) == [], "ns/ not empty after the container stopped"
    assert cgroups_below_parent(d) == [], "cgroups left"
    assert procs_in_parent(d) == [], "processes left in the cgroups"
    assert procs_mentioning(d.run_dir, exclude=d.pids) == [], "processes naming the run dir"
    if token:
        assert procs_mentioning(token) == [], f"processes naming {token!r}"
    recs = [f for f in run_dir_files(d) if not os.path.basename(f).startswith("log")]
    return recs


# ---- a running container, seen from outside ----

def test_start_namespaces_reaper_hostname(daemon, containers):
    c = containers("web", "sleep", 100, settings={"hostname": "lchost"})
    assert c.state() == "STOPPED" and c.read("pid") == "" and c.exit_status() == ""
    assert os.listdir(c.path("ns")) == []
    p = c.start()
    assert pid_alive(p)
    # the hostname seen inside, through the tree's ns/uts link
    r = run(["nsenter", f"--uts={c.path('ns', 'uts')}", "hostname"], check=True)
    assert r.stdout.strip() == "lchost"
    assert run(["hostname"]).stdout.strip() != "lchost"
    # pid 1 inside is the reaper; the command is its child, pid 2 or more inside
    assert nspids(p)[-1] == 1, f"NSpid of the init pid {p}: {nspids(p)}"
    cmd = c.command_pid()
    assert ppid(cmd) == p
    assert cmdline(cmd) == [payload(), "sleep", "100"]
    assert len(nspids(cmd)) == 2 and nspids(cmd)[-1] > 1
    # namespaces: the defaults are new (user too: privileged = 0), time is the host's
    for ns in ALL_NS:
        link = c.path("ns", ns)
        assert os.path.islink(link), f"ns/{ns} missing"
        assert ns_ino(link) == ns_ino(f"/proc/{p}/ns/{ns}"), f"ns/{ns} is not init's"
        assert ns_ino(f"/proc/{cmd}/ns/{ns}") == ns_ino(f"/proc/{p}/ns/{ns}")
        host = ns_ino(f"/proc/self/ns/{ns}")
        if ns in NS_NEW_DEFAULT:
            assert ns_ino(link) != host, f"{ns} namespace is the host's"
        else:
            assert ns_ino(link) == host, f"{ns} namespace is new but was not asked for"
    assert sorted(os.listdir(c.path("ns"))) == sorted(ALL_NS)
    # ps: every process, host pid, pid inside, command line
    rows = c.ps()
    assert {int(r[0]) for r in rows} == {p, cmd}, rows
    for r in rows:
        hp = int(r[0])
        assert int(r[1]) == nspids(hp)[-1], f"ps row {r}: NSpid {nspids(hp)}"
    row = next(r for r in rows if int(r[0]) == cmd)
    assert row[2] == f"{payload()} sleep 100"
    c.do("stop")
    assert c.state() == "STOPPED"
    assert wait_gone(p, 5) and wait_gone(cmd, 5)
    assert os.listdir(c.path("ns")) == []
    assert c.read("pid") == ""
    assert c.ps() == []


def test_private_proc_inside(daemon, containers):
    """The new pid namespace gets its own /proc: pid 1 there is the reaper."""
    c = containers("web", "sleep", 100)
    p = c.start()
    r = run(["nsenter", f"--mount={c.path('ns', 'mnt')}", "cat", "/proc/1/status"], check=True)
    name = [l for l in r.stdout.splitlines() if l.startswith("Name:")][0].split()[1]
    with open(f"/proc/{p}/status") as f:
        want = [l for l in f.read().splitlines() if l.startswith("Name:")][0].split()[1]
    assert name == want, f"/proc/1 inside is {name!r}, want the reaper {want!r}"
    r = run(["nsenter", f"--mount={c.path('ns', 'mnt')}", "ls", "/proc"], check=True)
    pids = sorted(int(x) for x in r.stdout.split() if x.isdigit())
    assert pids[:2] == [1, 2] and len(pids) < 10, f"/proc inside lists {pids}"


def test_net_none_shares_host_network(daemon, containers):
    c = containers("web", "sleep", 100, settings={"net/type": "none"})
    p = c.start()
    assert ns_ino(c.path("ns", "net")) == ns_ino("/proc/self/ns/net")
    assert ns_ino(c.path("ns", "uts")) != ns_ino("/proc/self/ns/uts")
    c.do("stop")
    assert wait_gone(p, 5)


def test_net_empty_has_loopback_up(daemon, containers):
    c = containers("web", "sleep", 100)
    c.start()
    r = run(["nsenter", f"--net={c.path('ns', 'net')}", "ip", "-o", "link"], check=True)
    names = [l.split(":")[1].strip() for l in r.stdout.splitlines()]
    assert names == ["lo"], r.stdout
    assert "UP" in r.stdout.split("lo:")[1].split(">")[0], f"lo not up: {r.stdout}"
    c.do("stop")


@pytest.mark.parametrize("privileged", ["0", "1"])
def test_namespaces_setting_respected(daemon, containers, privileged):
    """namespaces lists what is new; privileged = 0 adds the user namespace to it."""
    c = containers("web", "sleep", 100, settings={"namespaces": "pid uts",
                                                  "privileged": privileged})
    p = c.start()
    want = ("pid", "uts") + (("user",) if privileged == "0" else ())
    for ns in ALL_NS:
        new = ns_ino(c.path("ns", ns)) != ns_ino(f"/proc/self/ns/{ns}")
        assert new == (ns in want), f"{ns}: new={new}"
    c.do("stop")
    assert wait_gone(p, 5)


# ---- what init sees: env, cwd, user, word splitting ----

def _run_to_exit(c: Ctr, timeout: float = 10.0) -> str:
    c.do("start")
    c.wait_state("STOPPED", timeout)
    return c.log()


def test_env_cwd_user_and_word_splitting(daemon, containers):
    c = containers("env", "env", settings={"env": "A=1\nB=two words\n"})
    out = _run_to_exit(c)
    assert "A=1\n" in out and "B=two words\n" in out, out
    assert c.exit_status() == "0"

    c = containers("cwd", "cwd", settings={"cwd": "/tmp"})
    assert _run_to_exit(c).strip() == "/tmp"

    c = containers("ids", "ids", settings={"user": "1000:1001"})
    assert _run_to_exit(c).strip() == "1000 1001"

    c = containers("words", init=f"{payload()} echo 'a  b' c\\ d \"e'f\"")
    out = _run_to_exit(c)
    assert out == "a  b c d e'f\n" * 2, repr(out)  # stdout and stderr both


# ---- exit statuses ----

@pytest.mark.parametrize("args,want", [
    (("exit", 0), "0"),
    (("exit", 3), "3"),
    (("exit", 255), "255"),
    (("kill-self", "KILL"), "137"),
    (("kill-self", "SEGV"), "139"),
    (("kill-self", "TERM"), "143"),
])
def test_exit_status(daemon, containers, args, want):
    c = containers("web", *args)
    c.do("start")
    st = c.wait_state("STOPPED", 10)
    assert st
    assert c.exit_status() == want
    assert c.read("pid") == ""
    assert cgroups_below_parent(daemon) == [], "cgroups left after init exited"
    assert os.listdir(c.path("ns")) == []


def test_stop_sleep_gives_143(daemon, containers):
    c = containers("web", "sleep", 100)
    p = c.start()
    cmd = c.command_pid()
    t = time.monotonic()
    c.do("stop")
    took = time.monotonic() - t
    assert c.state() == "STOPPED"
    assert c.exit_status() == "143"
    assert not pid_alive(p) and not pid_alive(cmd)
    assert took < 5, f"stop of a sleep took {took:.1f} s"


def test_stop_signal_is_forwarded(daemon, containers):
    c = containers("web", "sleep", 100, settings={"stop.signal": "SIGUSR1"})
    c.start()
    c.do("stop")
    assert c.exit_status() == str(128 + 10)


def test_stop_timeout_with_init_ignoring_sigterm(daemon, containers):
    c = containers("web", "ignore-term-sleep", 100, settings={"stop.timeout": "1"})
    p = c.start()
    wait_for(lambda: "ignoring SIGTERM" in c.log(), 5, what="the payload to ignore SIGTERM")
    cmd = c.command_pid()
    t = time.monotonic()
    c.do("stop")
    took = time.monotonic() - t
    assert c.state() == "STOPPED"
    assert took < 6, f"stop with stop.timeout 1 took {took:.1f} s"
    assert took > 0.8, f"stop did not wait for stop.timeout (took {took:.2f} s)"
    assert c.exit_status() == "137"
    assert not pid_alive(p) and not pid_alive(cmd)


def test_kill_is_immediate(daemon, containers):
    c = containers("web", "ignore-term-sleep", 100, settings={"stop.timeout": "30"})
    p = c.start()
    t = time.monotonic()
    c.do("kill")
    took = time.monotonic() - t
    assert c.state() == "STOPPED"
    assert took < 3, f"kill took {took:.1f} s"
    assert c.exit_status() == "137"
    assert not pid_alive(p)


def test_stop_and_kill_work_on_frozen(daemon, containers):
    a = containers("a", "sleep", 100, settings={"stop.timeout": "2"})
    b = containers("b", "sleep", 100, settings={"stop.timeout": "2"})
    pa, pb = a.start(), b.start()
    a.do("freeze")
    b.do("freeze")
    assert a.state() == "FROZEN" and b.state() == "FROZEN"
    t = time.monotonic()
    a.do("stop")
    assert time.monotonic() - t < 8
    assert a.state() == "STOPPED" and a.exit_status() in ("143", "137")
    b.do("kill")
    assert b.state() == "STOPPED" and b.exit_status() == "137"
    assert wait_gone(pa, 5) and wait_gone(pb, 5)
    assert cgroups_below_parent(daemon) == []


# ---- log ----

def test_log_holds_stdout_and_stderr(daemon, containers):
    c = containers("web", init="/bin/sh -c 'echo to-out; echo to-err >&2; "
                               f"exec {payload()} echo from-payload'")
    out = _run_to_exit(c)
    assert "to-out\n" in out and "to-err\n" in out
    assert out.count("from-payload\n") == 2, repr(out)
    # kept after stop, replaced at the next start
    assert c.log() == out
    c.set("init", payload_cmd("echo", "second"))
    out2 = _run_to_exit(c)
    assert "to-out" not in out2 and out2 == "second\n" * 2, repr(out2)


def test_log_while_running(daemon, containers):
    c = containers("web", init=f"/bin/sh -c 'echo started; exec {payload()} sleep 100'")
    c.start()
    wait_for(lambda: "started\n" in c.log(), 5, what="the output in log")
    c.do("stop")
    assert "started\n" in c.log()


# ---- failed starts leave nothing ----

def _failed_start(d, c: Ctr, want_errnos, step_words, token=""):
    t = time.monotonic()
    res = c.write_state("start")
    assert time.monotonic() - t < 10
    assert res != 0, "start succeeded"
    assert res in want_errnos, f"start failed with {ename(res)} ({res}), want one of " \
                               f"{[ename(e) for e in want_errnos]}"
    le = c.last_error()
    assert le, "last_error empty after a failed start"
    assert any(w in le for w in step_words), f"last_error {le!r} does not name the step " \
                                             f"({step_words})"
    recs = _no_leftovers(d, c, token)
    assert recs == [], f"records left in the run dir: {recs}"
    return le


def test_failed_start_missing_binary(daemon, containers):
    c = containers("web", init="/nonexistent/bin/cfs-missing-binary arg")
    le = _failed_start(daemon, c, {errno.ENOENT}, ["exec", "/nonexistent/bin/cfs-missing-binary"])
    assert "/nonexistent/bin/cfs-missing-binary" in le
    # the container is usable afterwards
    c.set("init", payload_cmd("sleep", 100))
    c.start()
    c.do("stop")


def test_failed_start_bad_cwd(daemon, containers):
    c = containers("web", "sleep", 97.25, settings={"cwd": "/nonexistent-cfs-dir"})
    _failed_start(daemon, c, {errno.ENOENT, errno.ENOTDIR}, ["cwd", "chdir"],
                  token="sleep\x0097.25")


def test_failed_start_cwd_not_a_directory(daemon, containers):
    c = containers("web", "sleep", 97.5, settings={"cwd": "/etc/hostname"})
    _failed_start(daemon, c, {errno.ENOTDIR}, ["cwd", "chdir"], token="sleep\x0097.5")


def test_failed_start_not_executable(daemon, containers):
    f = os.path.join(daemon.base, "not-executable")
    with open(f, "w") as fh:
        fh.write("#!/bin/sh\nexit 0\n")
    os.chmod(f, 0o644)
    c = containers("web", init=f)
    _failed_start(daemon, c, {errno.EACCES}, ["exec", f])


def test_failed_start_cgroup_write_refused(daemon, containers):
    ncpu = os.cpu_count() or 1
    bad = str(max(99, ncpu + 10))
    c = containers("web", "sleep", 97.75)
    c.set("cgroup/cpuset.cpus", bad)  # parses; the kernel refuses it at start
    le = _failed_start(daemon, c, {errno.EINVAL, errno.ERANGE}, ["cpuset.cpus"],
                       token="sleep\x0097.75")
    assert bad in le


def test_idmap_overlap_refused_at_write(daemon, containers):
    """An idmap with overlapping ranges is refused when written, not at start."""
    c = containers("web", "sleep", 97.125, settings={
        "namespaces": "mnt pid uts ipc net cgroup user"})
    res = write_file(c.path("idmap"), "u 0 100000 10\nu 5 200000 10\ng 0 100000 10\n")
    assert res == errno.EINVAL, res
    assert "overlaps" in c.last_error()
    assert c.read("idmap") == ""


# ---- verbs: idempotent, EBUSY, target states, restart ----

def test_idempotent_verbs(daemon, containers):
    c = containers("web", "sleep", 100)
    # on STOPPED: stop, kill, thaw? (thaw is only idempotent on RUNNING)
    for v in ("stop", "kill", "STOPPED"):
        assert c.write_state(v) == 0, v
        assert c.state() == "STOPPED"
    assert c.exit_status() == ""
    p = c.start()
    cmd = c.command_pid()
    for v in ("start", "thaw", "RUNNING"):
        assert c.write_state(v) == 0, v
        assert c.state() == "RUNNING" and c.pid() == p and pid_alive(cmd)
    c.do("freeze")
    for v in ("freeze", "FROZEN"):
        assert c.write_state(v) == 0, v
        assert c.state() == "FROZEN" and c.pid() == p
    c.do("thaw")
    assert c.state() == "RUNNING" and c.pid() == p
    c.do("stop")
    status = c.exit_status()
    for v in ("stop", "kill"):
        assert c.write_state(v) == 0, v
        assert c.state() == "STOPPED" and c.exit_status() == status


def test_ebusy_cases(daemon, containers):
    c = containers("web", "sleep", 100)
    # freeze/thaw/FROZEN on STOPPED
    for v in ("freeze", "FROZEN"):
        assert c.write_state(v) == errno.EBUSY, v
        assert c.state() == "STOPPED"
        assert c.last_error()
    p = c.start()
    # settings outside cgroup/ while running; the same value is fine
    for rel, v in [("hostname", "other"), ("init", payload_cmd("sleep", 5)), ("cwd", "/tmp"),
                   ("net/type", "none"), ("namespaces", "pid")]:
        before = c.read(rel)
        r = write_file(c.path(rel), v + "\n")
        assert r == errno.EBUSY, f"{rel} = {v!r} while running: {r}"
        assert c.read(rel) == before
        assert rel.split("/")[-1] in c.last_error() or rel in c.last_error(), c.last_error()
        assert write_file(c.path(rel), before + "\n") == 0, f"{rel}: same value refused"
    r = run(["nsenter", f"--uts={c.path('ns', 'uts')}", "hostname"], check=True)
    assert r.stdout.strip() == "web"
    # rmdir of a running container
    assert errno_of(os.rmdir, c.path()) == errno.EBUSY
    assert os.path.isdir(c.path()) and c.state() == "RUNNING"
    # start on FROZEN
    c.do("freeze")
    assert c.write_state("start") == errno.EBUSY
    assert c.state() == "FROZEN" and c.pid() == p
    assert errno_of(os.rmdir, c.path()) == errno.EBUSY
    c.do("thaw")
    c.do("stop")
    os.rmdir(c.path())
    assert not os.path.exists(c.path())


def test_bad_verb_is_einval(daemon, containers):
    c = containers("web", "sleep", 100)
    for v in ("bogus", "Start", "start now", ""):
        r = c.write_state(v)
        assert r == errno.EINVAL, f"{v!r}: {r}"
        assert c.state() == "STOPPED"


def test_target_states(daemon, containers):
    c = containers("web", "sleep", 100)
    c.do("RUNNING")
    assert c.state() == "RUNNING"
    p = c.pid()
    assert p and pid_alive(p)
    c.do("FROZEN")
    assert c.state() == "FROZEN"
    c.do("RUNNING")  # from FROZEN: thaw
    assert c.state() == "RUNNING" and c.pid() == p
    c.do("FROZEN")
    c.do("STOPPED")
    assert c.state() == "STOPPED"
    assert wait_gone(p, 5)


def test_restart(daemon, containers):
    c = containers("web", init=f"/bin/sh -c 'echo run; exec {payload()} sleep 100'")
    p1 = c.start()
    wait_for(lambda: "run\n" in c.log(), 5, what="output")
    c.do("restart")
    assert c.state() == "RUNNING"
    p2 = c.pid()
    assert p2 and p2 != p1 and pid_alive(p2) and wait_gone(p1, 5)
    wait_for(lambda: c.log() == "run\n", 5, what="a fresh log")
    c.do("stop")
    # restart of a stopped container starts it
    c.do("restart")
    assert c.state() == "RUNNING"
    c.do("stop")


def test_rmdir_stopped_removes_records(daemon, containers):
    c = containers("web", "echo", "hi")
    _run_to_exit(c)
    os.rmdir(c.path())
    assert run_dir_files(daemon) == [], run_dir_files(daemon)
    os.mkdir(c.path())
    assert Ctr(daemon, "web").exit_status() == "" and Ctr(daemon, "web").log() == ""


def test_ps_lists_every_process(daemon, containers):
    c = containers("web", "forkbomb", 3, 100)
    p = c.start()
    cmd = c.command_pid()
    wait_for(lambda: len(children(cmd)) == 3, 5, what="3 children")
    kids = children(cmd)
    rows = wait_for(lambda: len(c.ps()) == 5 and c.ps(), 5, what="5 ps rows")
    assert {int(r[0]) for r in rows} == {p, cmd, *kids}
    for r in rows:
        assert int(r[1]) == nspids(int(r[0]))[-1], r
    c.do("stop")
    for x in (p, cmd, *kids):
        assert wait_gone(x, 5), f"{x} still alive"


def test_several_containers_at_once(daemon, containers):
    cs = [containers(f"c{i}", "hostname", settings={"hostname": f"host{i}"}) for i in range(4)]
    for c in cs:
        c.do("start")
    for i, c in enumerate(cs):
        c.wait_state("STOPPED")
        assert c.log() == f"host{i}\n"
        assert c.exit_status() == "0"


def test_bash_echo_start_fails_visibly(daemon, containers):
    c = containers("web", init="/nonexistent-cfs")
    r = sh(f"echo start > {c.path('state')}")
    assert r.returncode != 0
    assert "No such file or directory" in r.stderr, r.stderr
    assert read_file(c.path("state")) == "STOPPED\n"
