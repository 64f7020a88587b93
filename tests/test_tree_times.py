"""Times that file tools can rely on: a setting's mtime is its last change (or the
time set on it), kept across restarts; `config` and the container's directories show
the latest of their settings; rsync -a, cp -p and touch -d keep the times they set."""
import os
import shutil

import pytest

from lib.fsops import read_file, read_value, run, write_file
from lib.lifecycle import containers

assert containers  # the fixture, imported for the tests below

OLD = 1_500_000_000_123_456_789  # 2017, with nanoseconds: no change happened then


def mtime(path):
    return os.stat(path).st_mtime_ns


def test_utime_is_kept_and_persisted(daemon, web):
    mem = os.path.join(web, "cgroup", "memory.max")
    os.utime(mem, ns=(OLD, OLD))
    assert mtime(mem) == OLD
    # one setting's time is its own: another setting keeps its own
    assert mtime(os.path.join(web, "hostname")) != OLD
    # a v1 name shows its setting's time
    assert mtime(os.path.join(web, "cgroup", "memory.limit_in_bytes")) == OLD
    daemon.stop()
    daemon.start()
    assert mtime(mem) == OLD, "the time set on a setting did not survive a restart"


def test_a_change_moves_the_times(daemon, web):
    mem = os.path.join(web, "cgroup", "memory.max")
    host = os.path.join(web, "hostname")
    cfg = os.path.join(web, "config")
    os.utime(cfg, ns=(OLD, OLD))  # every setting's time
    assert mtime(cfg) == mtime(web) == mtime(os.path.join(web, "cgroup")) == OLD
    # writing the value it already has is no change
    assert write_file(mem, "max\n") == 0
    assert mtime(mem) == OLD
    assert write_file(mem, "96M\n") == 0
    changed = mtime(mem)
    assert changed > OLD
    assert mtime(host) == OLD, "a change of one setting moved another's time"
    # config, the container directory and cgroup/ show the latest change; net/ has none
    assert mtime(cfg) == mtime(web) == mtime(os.path.join(web, "cgroup")) == changed
    assert mtime(os.path.join(web, "net")) != changed
    # listing the container (directory attributes cached by the kernel) agrees
    assert os.stat(web).st_mtime_ns == changed


def test_touch_d_and_cp_p(daemon, web, tmp_path):
    host = os.path.join(web, "hostname")
    r = run(["touch", "-d", "2019-05-04 03:02:01 UTC", host])
    assert r.returncode == 0, r.stderr
    assert int(os.stat(host).st_mtime) == 1556938921
    src = tmp_path / "hostname"
    src.write_text("copied\n")
    os.utime(src, ns=(OLD, OLD))
    r = run(["cp", "-p", str(src), host])
    assert r.returncode == 0, r.stderr
    assert read_value(host) == "copied"
    assert mtime(host) == OLD


def test_cp_p_onto_a_list_and_config(daemon, web, tmp_path):
    """cp -p sets the time before it closes: a list or config, applied at that close,
    keeps it."""
    for rel, text in (("env", "A=1\nB=2\n"), ("mounts", ""), ("config", None)):
        src = tmp_path / rel
        if text is None:
            text = read_file(os.path.join(web, "config")).replace("hostname = web",
                                                                  "hostname = copied")
        src.write_text(text)
        os.chmod(src, os.stat(os.path.join(web, rel)).st_mode & 0o777)
        os.utime(src, ns=(OLD, OLD))
        r = run(["cp", "-p", str(src), os.path.join(web, rel)])
        assert r.returncode == 0, r.stderr
        assert read_file(os.path.join(web, rel)) == (text or "\n"), rel
        assert mtime(os.path.join(web, rel)) == OLD, rel
    assert read_value(os.path.join(web, "hostname")) == "copied"
    # and within a process: write, set the time, close
    env = os.path.join(web, "env")
    fd = os.open(env, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, b"C=3\n")
        os.utime(env, ns=(OLD, OLD))
    finally:
        os.close(fd)
    assert read_file(env) == "C=3\n" and mtime(env) == OLD


def test_config_time_sets_every_setting(daemon, web):
    cfg = os.path.join(web, "config")
    os.utime(cfg, ns=(OLD, OLD))
    assert mtime(cfg) == OLD
    for rel in ("hostname", "net/type", "cgroup/pids.max", "env"):
        assert mtime(os.path.join(web, rel)) == OLD, rel


def _rsync(src, dst):
    r = run(["rsync", "-a", "--stats", "--itemize-changes", f"{src}/", f"{dst}/"], timeout=60)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    files = [line for line in r.stdout.splitlines() if line.startswith(">f")]
    return files, r.stdout


@pytest.mark.timeout(120)
def test_rsync_twice_and_same_size_change(daemon, web, tmp_path):
    if shutil.which("rsync") is None:
        pytest.skip("rsync is not installed")
    src = tmp_path / "src"
    (src / "cgroup").mkdir(parents=True)
    (src / "net").mkdir()
    values = {"hostname": "synced", "cgroup/memory.max": "96M", "cgroup/pids.max": "64",
              "net/type": "veth", "env": "A=1\nB=2"}
    for rel, v in values.items():
        (src / rel).write_text(v + "\n")
        # the tree's own modes (env is its owner's alone: 0600): a chmod to another
        # succeeds and changes nothing, so rsync -a would set it again at every run
        os.chmod(src / rel, os.stat(os.path.join(web, rel)).st_mode & 0o777)
        # written before the container existed (rsync itself, like any copy to a
        # local filesystem, skips a same-size file whose mtime is in the same second)
        os.utime(src / rel, ns=(OLD, OLD))
    for d in (src, src / "cgroup", src / "net"):
        os.chmod(d, 0o755)
    files, out = _rsync(src, web)
    assert len(files) == len(values), out
    for rel, v in values.items():
        assert read_value(os.path.join(web, rel)) == v, rel
        assert mtime(os.path.join(web, rel)) == mtime(src / rel), rel
    # the second run finds everything up to date
    files, out = _rsync(src, web)
    assert files == [] and "Number of regular files transferred: 0" in out, out
    # a change of the same size, its time one second on (rsync compares whole seconds):
    # transferred and applied; the setting kept the source's time, not its own
    mem = src / "cgroup" / "memory.max"
    before = mtime(mem)
    mem.write_text("97M\n")
    os.utime(mem, ns=(before + 1_000_000_000, before + 1_000_000_000))
    files, out = _rsync(src, web)
    assert [f.split()[-1] for f in files] == ["cgroup/memory.max"], out
    assert read_value(os.path.join(web, "cgroup", "memory.max")) == "97M"
    files, out = _rsync(src, web)
    assert files == [], out


def test_state_and_log_times(daemon, containers):
    c = containers("web", "echo", "line")
    state, log = c.path("state"), c.path("log")
    before = mtime(state)
    c.do("start")
    assert c.wait_state("STOPPED", 10)
    # the state's time moved with the run (the kernel's cached attributes too), and
    # pid and exit_status share it
    after = mtime(state)
    assert after > before
    assert mtime(c.path("exit_status")) == mtime(c.path("pid")) == after
    # log: the time of its last line, at most the time the run ended
    assert "line\n" in read_value(log) + "\n"
    assert before < mtime(log) <= after
    # a setting's time did not move with the run
    assert mtime(c.path("hostname")) <= before


def test_a_configuration_without_times_loads(daemon, web):
    """A state dir written before times were kept: every setting takes the INI file's
    mtime."""
    assert write_file(os.path.join(web, "hostname"), "kept\n") == 0
    daemon.stop()
    times = os.path.join(daemon.state_dir, "web", "times")
    assert os.path.exists(times)
    os.unlink(times)
    os.utime(os.path.join(daemon.state_dir, "web", "config"), ns=(OLD, OLD))
    daemon.start()
    assert read_value(os.path.join(web, "hostname")) == "kept"
    for rel in ("hostname", "cgroup/memory.max", "config"):
        assert mtime(os.path.join(web, rel)) == OLD, rel
    # the next change writes the times again
    assert write_file(os.path.join(web, "env"), "A=1\n") == 0
    assert os.path.exists(times)
    assert mtime(os.path.join(web, "hostname")) == OLD


def test_a_new_container_is_its_config_alone(daemon):
    """mkdir writes the configuration only (its times are the file's own mtime, what a
    configuration without times loads with), so a restart shows the same times; the
    first change writes them."""
    os.mkdir(daemon.path("web"))
    sd = os.path.join(daemon.state_dir, "web")
    assert sorted(os.listdir(sd)) == ["config"]
    rels = ("hostname", "cgroup/memory.max", "net/type", "config", "cgroup", "")
    before = {rel: mtime(daemon.path("web", rel)) for rel in rels}
    assert len(set(before.values())) == 1, before
    assert before["hostname"] == os.stat(os.path.join(sd, "config")).st_mtime_ns
    daemon.restart()
    assert {rel: mtime(daemon.path("web", rel)) for rel in rels} == before
    assert write_file(daemon.path("web", "hostname"), "changed\n") == 0
    assert sorted(os.listdir(sd)) == ["config", "times"]
    assert mtime(daemon.path("web", "hostname")) > before["hostname"]
    daemon.restart()
    assert mtime(daemon.path("web", "cgroup/memory.max")) == before["cgroup/memory.max"]


def test_a_new_containers_times_survive_its_first_start(daemon):
    """An unprivileged container's first start stores its ids in the configuration (a
    new file mtime); a container that had no times file yet keeps its times."""
    os.mkdir(daemon.path("web"))
    before = mtime(daemon.path("web", "hostname"))
    write_file(daemon.path("web", "state"), "start\n")  # empty init: it may fail
    if read_value(daemon.path("web", "state")) != "STOPPED":
        assert write_file(daemon.path("web", "state"), "kill\n") == 0
    if not read_value(daemon.path("web", "idmap")):
        pytest.skip("no ids were allocated (privileged host setup)")
    assert mtime(daemon.path("web", "hostname")) == before
    daemon.restart()
    assert mtime(daemon.path("web", "hostname")) == before
    assert mtime(daemon.path("web", "idmap")) == before
