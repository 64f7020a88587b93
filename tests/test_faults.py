"""Trustworthy under faults and bad input: one size limit for the whole container (what is
accepted is saved, loaded and copied; what is over the limit changes nothing), containers
whose config cannot be loaded are kept and shown, a failed rmdir loses nothing, deep
container-written trees are removed, one daemon per state dir, kill beside a running stop,
and daemon crashes during a storm of writers."""
import errno
import os
import resource
import subprocess
import threading
import time

import pytest

from lib.daemon import Daemon, pid_alive, unmount, wait_gone
from lib.fsops import errno_of, read_file, read_value, write_file
from lib.lifecycle import containers, payload, wait_for  # noqa: F401

MAX_LIST = 65536
MAX_CONFIG = 262144


def env_lines(n, width=10):
    """n distinct env lines of `width` bytes each (newline included)."""
    return "".join(f"V{i:0{width - 4}d}=x\n" for i in range(n))


def test_largest_list_is_saved_loaded_and_copied(daemon):
    os.mkdir(daemon.path("web"))
    os.mkdir(daemon.path("clone"))
    env = env_lines(6300)  # 63,000 bytes: within the list limit, >64 KiB as INI
    assert len(env) <= MAX_LIST
    assert write_file(daemon.path("web", "env"), env) == 0
    doc = read_file(daemon.path("web", "config"))
    assert len(doc) > MAX_LIST, len(doc)
    assert write_file(daemon.path("clone", "config"), doc) == 0
    p = subprocess.run(["cp", daemon.path("web", "config"), daemon.path("clone", "config")],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    daemon.restart()
    assert {"clone", "web"} <= set(os.listdir(daemon.path()))
    assert read_file(daemon.path("web", "env")) == env
    assert read_file(daemon.path("clone", "env")) == env
    assert "skipping" not in daemon.stderr_text()


def test_whole_container_limit_refuses_and_keeps(daemon):
    """Lists that each fit but together would make the INI longer than the limit: the
    write that would cross it fails with EINVAL and changes nothing."""
    os.mkdir(daemon.path("web"))
    short = "".join(f"A{i:x}=\n" for i in range(9800))  # 4-8 bytes a line, "env = " each
    assert len(short) <= MAX_LIST
    assert write_file(daemon.path("web", "env"), short) == 0
    before = read_file(daemon.path("web", "config"))
    assert len(before) < MAX_CONFIG
    dev = "".join(f"c {i // 250 + 1}:{i % 250} rwm\n" for i in range(5300))
    assert len(dev) <= MAX_LIST
    r = write_file(daemon.path("web", "cgroup", "devices.allow"), dev)
    assert r == errno.EINVAL, r
    assert "at most 262144" in read_value(daemon.path("web", "last_error"))
    assert read_file(daemon.path("web", "config")) == before
    daemon.restart()
    assert read_file(daemon.path("web", "config")) == before


@pytest.mark.parametrize("target", ["config", "env"])
def test_over_limit_write_changes_nothing(daemon, target):
    """dd of an oversized document in 4 KiB writes: an error, and nothing of it is
    persisted, not even the part that arrived before the limit."""
    os.mkdir(daemon.path("web"))
    assert write_file(daemon.path("web", "hostname"), "keep\n") == 0
    before = read_file(daemon.path("web", "config"))
    if target == "config":
        big = "[container]\nhostname = changed\nenv = A=1\n" + "# padding\n" * 30000 + \
            "[cgroup]\nmemory.max = 1G\n"
        assert len(big) > MAX_CONFIG
    else:
        big = env_lines(100000)
    data = big.encode()
    chunks = [data[i:i + 4096] for i in range(0, len(data), 4096)]
    r = write_file(daemon.path("web", target), chunks)
    assert r == errno.EINVAL, r
    assert read_file(daemon.path("web", "config")) == before
    p = subprocess.run(["dd", f"of={daemon.path('web', target)}", "bs=4k"], input=data,
                       capture_output=True, timeout=20)
    assert p.returncode != 0, p.stderr
    assert read_file(daemon.path("web", "config")) == before
    daemon.restart()
    assert read_file(daemon.path("web", "config")) == before


def test_oversized_temp_file_is_not_renamed_in(daemon):
    os.mkdir(daemon.path("web"))
    before = read_file(daemon.path("web", "config"))
    tmp = daemon.path("web", "sedXYZ")
    data = ("[container]\nhostname = changed\n" + env_lines(30000)).encode()
    assert len(data) > MAX_CONFIG
    r = write_file(tmp, [data[i:i + 4096] for i in range(0, len(data), 4096)],
                   flags=os.O_WRONLY | os.O_CREAT)
    assert r == errno.EFBIG, r
    assert errno_of(os.rename, tmp, daemon.path("web", "config")) == errno.EFBIG
    os.unlink(tmp)
    assert read_file(daemon.path("web", "config")) == before


def _nest(top, depth, name="d123456789"):
    """depth nested directories below top, each holding a file (paths far beyond PATH_MAX)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = sub
            with open(os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
                f.write("x")
    finally:
        os.close(fd)


@pytest.mark.timeout(120)
def test_rmdir_removes_a_deep_container_layer(daemon):
    """A container's overlay layer holding 3,000 nested directories (a path of 33,000
    bytes): rmdir removes it all and the daemon stays up."""
    os.mkdir(daemon.path("web"))
    upper = os.path.join(daemon.state_dir, "web", "overlay", "upper")
    os.makedirs(upper, exist_ok=True)
    _nest(upper, 3000)
    os.rmdir(daemon.path("web"))
    assert not os.path.exists(os.path.join(daemon.state_dir, "web"))
    assert os.listdir(daemon.state_dir) == []
    os.mkdir(daemon.path("web"))
    assert read_value(daemon.path("web", "hostname")) == "web"


def _remount(path, ro):
    subprocess.run(["mount", "-o", f"remount,bind,{'ro' if ro else 'rw'}", path], check=True,
                   timeout=10)


def test_failed_rmdir_keeps_the_container(daemon):
    """rmdir on a read-only state dir: the error comes back and the configuration stays,
    in the tree and on disk (it is there after a restart)."""
    os.mkdir(daemon.path("web"))
    assert write_file(daemon.path("web", "hostname"), "keep-me\n") == 0
    subprocess.run(["mount", "--bind", daemon.state_dir, daemon.state_dir], check=True, timeout=10)
    try:
        _remount(daemon.state_dir, ro=True)
        assert errno_of(os.rmdir, daemon.path("web")) == errno.EROFS
        assert read_value(daemon.path("web", "hostname")) == "keep-me"
        assert "read-only" in read_value(daemon.path("web", "last_error")).lower()
        assert write_file(daemon.path("web", "hostname"), "other\n") == errno.EROFS
        _remount(daemon.state_dir, ro=False)
    finally:
        subprocess.run(["umount", daemon.state_dir], timeout=10)
    daemon.restart()
    assert read_value(daemon.path("web", "hostname")) == "keep-me"


def test_failed_rmdir_immutable_state_dir(daemon, tmp_path):
    os.mkdir(daemon.path("web"))
    assert write_file(daemon.path("web", "hostname"), "keep-me\n") == 0
    sub = daemon.state_dir
    p = subprocess.run(["chattr", "+i", sub], capture_output=True, text=True, timeout=10)
    if p.returncode != 0:
        pytest.skip(f"the state dir's file system takes no immutable flag: {p.stderr.strip()}")
    try:
        assert errno_of(os.rmdir, daemon.path("web")) == errno.EPERM
        assert read_value(daemon.path("web", "hostname")) == "keep-me"
    finally:
        subprocess.run(["chattr", "-i", sub], timeout=10)
    daemon.restart()
    assert read_value(daemon.path("web", "hostname")) == "keep-me"
    os.rmdir(daemon.path("web"))
    assert os.listdir(daemon.state_dir) == []


def test_leftovers_of_a_killed_daemon_are_cleaned(daemon):
    os.mkdir(daemon.path("web"))
    os.mkdir(daemon.path("old"))
    assert daemon.stop() == 0
    with open(os.path.join(daemon.state_dir, "web", ".config.tmp"), "w") as f:
        f.write("[container]\nhostname = half")
    with open(os.path.join(daemon.state_dir, "web", ".times.tmp"), "w") as f:
        f.write("hostname 1")
    os.rename(os.path.join(daemon.state_dir, "old"), os.path.join(daemon.state_dir, ".old.removed"))
    daemon.start()
    assert sorted(os.listdir(daemon.state_dir)) == ["web"]
    # (a new container's times are its configuration's mtime: no times file yet)
    assert sorted(os.listdir(os.path.join(daemon.state_dir, "web"))) == ["config"]
    assert read_value(daemon.path("web", "hostname")) == "web"


def test_running_container_with_unloadable_config_stays_adopted(daemon, containers):
    c = containers("web", init=f"/bin/sh -c 'echo hello; exec {payload()} sleep 100'")
    p = c.start()
    wait_for(lambda: "hello\n" in c.log(), 5, what="output")
    daemon.proc.kill()
    daemon.proc.wait()
    unmount(daemon.mnt)
    cfg = os.path.join(daemon.state_dir, "web", "config")
    with open(cfg, "w") as f:
        f.write("[container]\nno_such_key = 1\n")
    daemon.start()
    assert c.state() == "RUNNING" and c.pid() == p and pid_alive(p)
    assert "no_such_key" in c.last_error()
    assert errno_of(os.mkdir, daemon.path("web")) == errno.EEXIST
    assert c.write_state("start") == 0  # already running
    c.do("kill")
    c.wait_state("STOPPED")
    assert wait_gone(p)
    assert "hello\n" in c.log()
    assert c.write_state("start") == errno.EIO
    assert c.state() == "STOPPED"
    assert "hello\n" in c.log(), "a refused start must keep the log of the last run"
    assert c.exit_status() != ""
    with open(cfg) as f:
        assert f.read() == "[container]\nno_such_key = 1\n"


def test_config_cut_mid_line_loads_with_a_warning(daemon):
    os.mkdir(daemon.path("web"))
    assert write_file(daemon.path("web", "namespaces"), "mnt pid uts\n") == 0
    assert daemon.stop() == 0
    cfg = os.path.join(daemon.state_dir, "web", "config")
    with open(cfg) as f:
        doc = f.read()
    cut = doc.index("namespaces = mnt pid") + len("namespaces = mnt pid")
    with open(cfg, "w") as f:
        f.write(doc[:cut])
    daemon.start()
    assert "ends in the middle of a line" in daemon.stderr_text()
    assert read_value(daemon.path("web", "namespaces")) == "mnt pid"


@pytest.mark.parametrize("shared", ["state", "run"])
def test_second_daemon_on_the_same_dirs_refuses(daemon, tmp_path, shared):
    os.mkdir(daemon.path("web"))
    other = Daemon(str(tmp_path))
    if shared == "state":
        other.state_dir = daemon.state_dir
    else:
        other.run_dir = daemon.run_dir
    with pytest.raises(AssertionError, match="exited with 1"):
        other.start()
    assert "in use by another containerfs daemon" in other.stderr_text()
    assert not other.is_mounted()
    assert read_value(daemon.path("web", "hostname")) == "web"
    # the lock goes with the daemon
    daemon.restart()
    assert read_value(daemon.path("web", "hostname")) == "web"


def write_promptly(path, value, what, timeout=10):
    """write_file in a thread of its own, which must return within timeout seconds
    (else it waited behind something: `what` says what); its result."""
    res = {}
    w = threading.Thread(target=lambda: res.setdefault("r", write_file(path, value)), daemon=True)
    w.start()
    w.join(timeout)
    assert not w.is_alive(), what
    return res["r"]


@pytest.mark.timeout(90)
def test_writes_do_not_wait_behind_stop(daemon, containers):
    """A stop waiting out stop.timeout (init ignores SIGTERM) holds the container's other
    files free: a live setting is written at once, and tasks is refused (EBUSY) at once
    rather than moving a process into a container being stopped."""
    c = containers("web", "ignore-term-sleep", "1000", settings={"stop.timeout": "20"})
    p = c.start()
    res = {}
    # made before any write is in flight: a fork's close of a busy handle would wait
    other = subprocess.Popen(["sleep", "100"])
    t = threading.Thread(target=lambda: res.setdefault("stop", c.write_state("stop")), daemon=True)
    t.start()
    try:
        c.wait_state("STOPPING")
        r = write_promptly(c.path("cgroup", "pids.max"), "50\n",
                           "a live setting write waited behind the stop")
        assert r == 0, r
        r = write_promptly(c.path("tasks"), f"{other.pid}\n",
                           "a tasks write waited behind the stop")
        assert r == errno.EBUSY, r
    finally:
        t.join(40)
        other.kill()
        other.wait()
    assert not t.is_alive()
    assert res["stop"] == 0, res
    assert c.state() == "STOPPED"
    assert wait_gone(p)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("round_", range(3))
def test_sigkill_during_a_storm_of_writers(daemon, round_):
    """Writers hammer settings of several containers; the daemon is killed with SIGKILL
    among them. After a restart every acknowledged write is there (or the one in flight
    when the daemon died, never anything older)."""
    names = [f"s{i}" for i in range(3)]
    keys = [("cgroup/pids.max", lambda n: str(100 + n)), ("stop.timeout", lambda n: str(n))]
    for n in names:
        os.mkdir(daemon.path(n))
    acked, tried = {}, {}
    stop = threading.Event()

    def writer(name, rel, fmt):
        i = 0
        while not stop.is_set() and i < 9000:
            i += 1
            tried[(name, rel)] = i
            if write_file(daemon.path(name, rel), fmt(i) + "\n") != 0:
                return
            acked[(name, rel)] = i

    threads = [threading.Thread(target=writer, args=(n, rel, fmt), daemon=True)
               for n in names for rel, fmt in keys]
    for t in threads:
        t.start()
    wait_for(lambda: len(acked) == len(threads) and min(acked.values()) > 2 + round_ * 3, 40,
             what="every writer to have some writes acknowledged")
    daemon.proc.kill()
    daemon.proc.wait()
    stop.set()
    for t in threads:
        t.join(20)
        assert not t.is_alive()
    unmount(daemon.mnt)
    daemon.start()
    for n in names:
        for rel, fmt in keys:
            got = read_value(daemon.path(n, rel))
            ok = {fmt(i) for i in range(acked[(n, rel)], tried[(n, rel)] + 1)}
            assert got in ok, f"{n}/{rel} = {got}, acknowledged up to {fmt(acked[(n, rel)])}"
    leftovers = [os.path.join(r, f) for r, _d, fs in os.walk(daemon.state_dir) for f in fs
                 if f not in ("config", "times")]
    assert not leftovers, leftovers


def test_read_only_state_dir_refuses_writes_and_keeps_values(daemon):
    os.mkdir(daemon.path("web"))
    assert write_file(daemon.path("web", "cgroup", "pids.max"), "77\n") == 0
    subprocess.run(["mount", "--bind", daemon.state_dir, daemon.state_dir], check=True, timeout=10)
    try:
        _remount(daemon.state_dir, ro=True)
        assert write_file(daemon.path("web", "cgroup", "pids.max"), "88\n") == errno.EROFS
        assert write_file(daemon.path("web", "env"), "A=1\n") == errno.EROFS
        assert write_file(daemon.path("web", "config"), "[container]\nhostname = x\n") == errno.EROFS
        assert errno_of(os.mkdir, daemon.path("new")) == errno.EROFS
        assert read_value(daemon.path("web", "cgroup", "pids.max")) == "77"
        assert read_value(daemon.path("web", "hostname")) == "web"
        assert "new" not in os.listdir(daemon.path())
    finally:
        subprocess.run(["umount", daemon.state_dir], timeout=10)
    daemon.restart()
    assert read_value(daemon.path("web", "cgroup", "pids.max")) == "77"
    assert "new" not in os.listdir(daemon.path())


@pytest.mark.parametrize("kind", ["oversized", "truncated-section", "nul"])
def test_bad_config_at_load_is_kept_and_shown(daemon, kind):
    os.mkdir(daemon.path("web"))
    os.mkdir(daemon.path("ok"))
    assert daemon.stop() == 0
    cfg = os.path.join(daemon.state_dir, "web", "config")
    data = {"oversized": b"[container]\n" + b"# pad\n" * 50000,
            "truncated-section": b"[container]\nhostname = web\n[cgr",
            "nul": b"[container]\nhostname = w\x00eb\n"}[kind]
    with open(cfg, "wb") as f:
        f.write(data)
    daemon.start()
    assert {"web", "ok"} <= set(os.listdir(daemon.path()))
    assert "cannot be loaded" in read_value(daemon.path("web", "last_error"))
    assert read_value(daemon.path("ok", "hostname")) == "ok"
    with open(cfg, "rb") as f:
        assert f.read() == data
    os.rmdir(daemon.path("web"))
    assert not os.path.exists(os.path.join(daemon.state_dir, "web"))


def _nofile(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError(f"no 'Max open files' in /proc/{pid}/limits")


def test_daemon_raises_its_fd_limit_containers_keep_theirs(daemon, containers):
    """The daemon needs an fd per running container: it raises its soft RLIMIT_NOFILE to
    the hard limit; the containers it starts get the limit it was started with."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(soft, hard // 2, 1024)
    assert daemon.stop() == 0
    resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
    try:
        daemon.start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    c = containers("web", "sleep", "100")
    p = c.start()
    assert _nofile(daemon.proc.pid) == (hard, hard)
    assert _nofile(p) == (low, hard)
    assert _nofile(c.command_pid()) == (low, hard)
    c.do("kill")


def _states_match_kernel(daemon, names):
    """Every container's state agrees with the kernel: RUNNING/FROZEN with a live pid,
    STOPPED without one."""
    for n in names:
        st = read_value(daemon.path(n, "state"))
        pid = read_value(daemon.path(n, "pid"))
        if st in ("RUNNING", "FROZEN"):
            assert pid and pid_alive(int(pid)), f"{n} is {st} with pid {pid!r}"
        else:
            assert st == "STOPPED" and not pid, f"{n}: state {st}, pid {pid!r}"


@pytest.mark.timeout(90)
def test_sigkill_during_start_kill_loops(daemon, containers):
    """Start/kill loops on several containers while the daemon is killed with SIGKILL:
    after the restart every state matches the kernel, and once all are killed nothing is
    left (the fixtures check cgroups, processes and mounts)."""
    names = [f"l{i}" for i in range(3)]
    for n in names:
        containers(n, "sleep", "100")
    stop = threading.Event()
    done = {n: 0 for n in names}

    def loop(n):
        while not stop.is_set():
            for verb in ("start", "kill"):
                if write_file(daemon.path(n, "state"), verb + "\n") not in (0, errno.EBUSY):
                    return
            done[n] += 1

    threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in names]
    for t in threads:
        t.start()
    wait_for(lambda: min(done.values()) >= 2, 40, what="two start/kill rounds each")
    daemon.proc.kill()
    daemon.proc.wait()
    stop.set()
    for t in threads:
        t.join(20)
        assert not t.is_alive()
    unmount(daemon.mnt)
    daemon.start()
    _states_match_kernel(daemon, names)
    for n in names:
        assert write_file(daemon.path(n, "state"), "kill\n") == 0
    _states_match_kernel(daemon, names)


@pytest.mark.timeout(120)
def test_many_clients_doing_verbs(daemon, containers):
    """50 clients doing random verbs on 10 containers for a while: every answer is success
    or EBUSY, and afterwards the states match the kernel (the fixtures then check that
    nothing leaked)."""
    import random
    names = [f"v{i}" for i in range(10)]
    for n in names:
        containers(n, "sleep", "100")
    verbs = ["start", "stop", "kill", "freeze", "thaw", "restart"]
    bad, stop = [], threading.Event()

    def client(seed):
        rnd = random.Random(seed)
        while not stop.is_set():
            n, v = rnd.choice(names), rnd.choice(verbs)
            r = write_file(daemon.path(n, "state"), v + "\n")
            if r not in (0, errno.EBUSY):
                bad.append((n, v, r, read_value(daemon.path(n, "last_error"))))
            read_value(daemon.path(n, "state"))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(50)]
    for t in threads:
        t.start()
    stop.wait(10)
    stop.set()
    for t in threads:
        t.join(60)
        assert not t.is_alive()
    assert not bad, bad[:5]
    _states_match_kernel(daemon, names)
    for n in names:
        assert write_file(daemon.path(n, "state"), "kill\n") == 0
    _states_match_kernel(daemon, names)


def test_mkdir_never_overwrites_a_config_on_disk(daemon):
    """A configuration put in the state dir while the daemon runs is not loaded; mkdir of
    its name fails with EEXIST instead of replacing it with the defaults."""
    d = os.path.join(daemon.state_dir, "late")
    os.mkdir(d, 0o700)
    with open(os.path.join(d, "config"), "w") as f:
        f.write("[container]\nhostname = precious\n")
    assert errno_of(os.mkdir, daemon.path("late")) == errno.EEXIST
    with open(os.path.join(d, "config")) as f:
        assert f.read() == "[container]\nhostname = precious\n"
    daemon.restart()
    assert read_value(daemon.path("late", "hostname")) == "precious"


def test_mounts_of_an_application_container_are_refused_at_start(daemon, containers):
    c = containers("web", "sleep", "100")
    c.set("mounts", "tmpfs /mnt tmpfs defaults 0 0")
    assert c.write_state("start") == errno.EINVAL
    assert "mounts apply to system containers only" in c.last_error()
    assert c.state() == "STOPPED"
    assert write_file(c.path("mounts"), "\n") == 0
    assert read_value(c.path("mounts")) == ""
    c.start()
    c.do("kill")


@pytest.mark.parametrize("rel", ["hostname", "env", "config"])
def test_handle_of_a_removed_container_does_not_write_into_its_successor(daemon, rel):
    os.mkdir(daemon.path("web"))
    fd = os.open(daemon.path("web", rel), os.O_WRONLY)
    try:
        os.rmdir(daemon.path("web"))
        os.mkdir(daemon.path("web"))
        before = read_file(daemon.path("web", "config"))
        data = b"[container]\nhostname = intruder\n" if rel == "config" else b"intruder\n"
        if rel == "env":
            data = b"INTRUDER=1\n"
        try:
            os.write(fd, data)
        except OSError as e:
            assert e.errno == errno.ENOENT
    finally:
        err = errno_of(os.close, fd)
    assert err in (0, errno.ENOENT)
    assert read_file(daemon.path("web", "config")) == before


def test_last_error_of_a_read_only_stat_file_names_it(daemon):
    os.mkdir(daemon.path("web"))
    stats = [f for f in os.listdir(daemon.path("web", "cgroup"))
             if not os.stat(daemon.path("web", "cgroup", f)).st_mode & 0o200]
    assert stats
    name = sorted(stats)[0]
    r = write_file(daemon.path("web", "cgroup", name), "1\n")
    assert r in (errno.EACCES, errno.EPERM), r
    assert f"cgroup/{name}" in read_value(daemon.path("web", "last_error"))


def test_full_state_dir_refuses_writes_and_keeps_values(daemon):
    """A state dir on a full file system: writes fail with ENOSPC, nothing changes, no
    temp file is left, and once there is room again writes work."""
    assert daemon.stop() == 0
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "cfs-full", daemon.state_dir],
                   check=True, timeout=10)
    try:
        daemon.start()
        os.mkdir(daemon.path("web"))
        assert write_file(daemon.path("web", "hostname"), "before\n") == 0
        filler = os.path.join(daemon.state_dir, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC
        finally:
            os.close(fd)
        before = read_file(daemon.path("web", "config"))
        assert write_file(daemon.path("web", "env"), env_lines(6000)) == errno.ENOSPC
        assert write_file(daemon.path("web", "hostname"), "after\n") in (0, errno.ENOSPC)
        if read_value(daemon.path("web", "hostname")) == "before":
            assert read_file(daemon.path("web", "config")) == before
        assert not [f for f in os.listdir(os.path.join(daemon.state_dir, "web")) if f not in ("config", "times")]
        os.unlink(filler)
        assert write_file(daemon.path("web", "env"), env_lines(6000)) == 0
        daemon.restart()
        assert read_file(daemon.path("web", "env")) == env_lines(6000)
        assert daemon.stop() == 0
    finally:
        subprocess.run(["umount", "-l", daemon.state_dir], timeout=10)
    daemon.start()


@pytest.mark.parametrize("rel", ["hostname", "env", "config", "state", "cgroup/memory.max"])
def test_handle_of_a_removed_container_leaves_its_successor_untouched(daemon, rel):
    """Not a value and not a last_error: a handle acts on the container it was opened in."""
    os.mkdir(daemon.path("web"))
    fd = os.open(daemon.path("web", rel), os.O_WRONLY)
    try:
        os.rmdir(daemon.path("web"))
        os.mkdir(daemon.path("web"))
        before = read_file(daemon.path("web", "config"))
        data = {"config": b"[container]\nhostname = intruder\n", "env": b"INTRUDER=1\n",
                "state": b"start\n", "cgroup/memory.max": b"64M\n"}.get(rel, b"intruder\n")
        assert errno_of(os.write, fd, data) in (0, errno.ENOENT)
    finally:
        err = errno_of(os.close, fd)
    assert err in (0, errno.ENOENT)
    assert read_file(daemon.path("web", "config")) == before
    assert read_value(daemon.path("web", "state")) == "STOPPED"
    assert read_file(daemon.path("web", "last_error")) == ""


def test_temp_file_of_a_removed_container_is_not_renamed_into_its_successor(daemon):
    os.mkdir(daemon.path("web"))
    tmp = daemon.path("web", ".edit.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    try:
        os.write(fd, b"intruder\n")
        os.rmdir(daemon.path("web"))
        os.mkdir(daemon.path("web"))
        assert errno_of(os.rename, tmp, daemon.path("web", "hostname")) == errno.ENOENT
    finally:
        os.close(fd)
    assert read_value(daemon.path("web", "hostname")) == "web"
    assert ".edit.tmp" not in os.listdir(daemon.path("web"))
    assert read_file(daemon.path("web", "last_error")) == ""


def _lowest_free_fd(pid: int) -> int:
    fds = {int(f) for f in os.listdir(f"/proc/{pid}/fd")}
    n = 0
    while n in fds:
        n += 1
    return n


def test_a_failed_directory_fsync_after_the_rename_keeps_the_change(daemon):
    """The fsync of the state directory comes after the rename that made the change:
    when it fails (here: the daemon may open one file more, the temp file, and not the
    directory) the change is in effect and on disk, and the write says so."""
    os.mkdir(daemon.path("web"))
    pid = daemon.proc.pid
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    free = _lowest_free_fd(pid)
    old = resource.prlimit(pid, resource.RLIMIT_NOFILE, (free + 1, hard))
    try:
        res = write_file(daemon.path("web", "hostname"), "durable\n")
    finally:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, old)
    with open(os.path.join(daemon.state_dir, "web", "config")) as f:
        on_disk = "hostname = durable" in f.read()
    if not on_disk:
        pytest.skip("the daemon opened another file before the temp file (the limit hit "
                    f"earlier: {res}); nothing to show here")
    assert res == 0, res
    assert read_value(daemon.path("web", "hostname")) == "durable"
    assert ".config.tmp" not in os.listdir(os.path.join(daemon.state_dir, "web"))
    daemon.restart()
    assert read_value(daemon.path("web", "hostname")) == "durable"


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def test_open_readers_of_log_hold_no_copy_of_it(daemon, containers):
    """Each read-open of log used to copy up to 1 MiB of output into the daemon: a
    reader holding many descriptors grew it without bound. Reads come from the log's
    files now; each descriptor still reads the output as it was when it was opened."""
    c = containers("web", init="/bin/sh -c 'yes 0123456789abcdef | head -c 700000; "
                               "echo; echo end'")
    c.do("start")
    c.wait_state("STOPPED", 30)
    text = c.log()
    assert len(text) > 700000 and text.endswith("\nend\n"), len(text)
    pid = daemon.proc.pid
    fds = []
    try:
        for _ in range(8):  # what the daemon allocates once (thread stacks, arenas)
            fd = os.open(c.path("log"), os.O_RDONLY | os.O_CLOEXEC)
            os.read(fd, 1)
            os.close(fd)
        before = _rss_kib(pid)
        for _ in range(300):
            fd = os.open(c.path("log"), os.O_RDONLY | os.O_CLOEXEC)
            fds.append(fd)
            assert os.pread(fd, 16, 0) == text[:16].encode()
        grown = _rss_kib(pid) - before
        # 300 copies would be 200 MiB; nothing of the kind may stay per descriptor
        assert grown < 64 * 1024, f"the daemon grew by {grown} KiB for 300 open logs"
        whole = b""
        while True:
            chunk = os.read(fds[-1], 1 << 17)
            if not chunk:
                break
            whole += chunk
        assert whole.decode() == text
    finally:
        for fd in fds:
            os.close(fd)


def test_an_open_log_reads_the_output_as_it_was_at_the_open(daemon, containers):
    go = os.path.join(daemon.base, "go")
    c = containers("web", init=f"/bin/sh -c 'echo first; while [ ! -e {go} ]; do sleep 0.05; "
                               f"done; echo second; exec {payload()} sleep 100'")
    c.start()
    wait_for(lambda: c.log() == "first\n", 10, what="the first line in log")
    fd = os.open(c.path("log"), os.O_RDONLY | os.O_CLOEXEC)
    try:
        with open(go, "w"):
            pass
        wait_for(lambda: c.log() == "first\nsecond\n", 10, what="the second line in log")
        assert os.pread(fd, 4096, 0) == b"first\n"
        assert os.pread(fd, 4096, 3) == b"st\n"
        assert os.pread(fd, 4096, 6) == b""
    finally:
        os.close(fd)
    c.do("kill")


def test_kill_acts_at_once_while_a_stop_waits(daemon, containers):
    """A stop of an init that ignores SIGTERM waits up to stop.timeout (30 s); a kill
    written meanwhile (without O_TRUNC) ends the container at once, and the stop
    returns with it — on a kernel without parallel FUSE writes too: the kill's open
    hands the stop over before its write."""
    c = containers("web", "ignore-term-sleep", "1000", settings={"stop.timeout": "30"})
    p = c.start()
    wait_for(lambda: "ignoring SIGTERM" in c.log(), 10, what="the payload to ignore SIGTERM")
    res, order = {}, []

    def verb(v):
        # without O_TRUNC: `printf kill 1<>state` (the O_TRUNC case is tested below)
        res[v] = write_file(c.path("state"), v + "\n", flags=os.O_WRONLY)
        order.append(v)

    t = threading.Thread(target=verb, args=("stop",), daemon=True)
    t.start()
    try:
        c.wait_state("STOPPING")
        # other writes to the container do not wait behind the stop
        r = write_promptly(c.path("cgroup", "pids.max"), "60\n",
                           "a setting write waited behind the stop")
        assert r == 0, r
        assert order == [], f"the stop ended before the kill: {order}"
        k = threading.Thread(target=verb, args=("kill",), daemon=True)
        k.start()
        k.join(10)
        assert not k.is_alive(), "kill waited behind the stop"
        assert res["kill"] == 0, res
        t.join(10)
        assert not t.is_alive(), "the stop still waits after the kill"
    finally:
        t.join(40)
    assert sorted(order) == ["kill", "stop"], order
    assert res["stop"] == 0, res
    assert c.state() == "STOPPED"
    assert c.exit_status() == "137"
    assert wait_gone(p)


def stop_in_thread(c, res):
    """`echo stop > state` in a thread of its own (its result in res["stop"]); returns the
    thread once the container is STOPPING (the stop waits for init to end)."""
    t = threading.Thread(target=lambda: res.setdefault("stop", write_file(c.path("state"),
                                                                          "stop\n")),
                         daemon=True)
    t.start()
    c.wait_state("STOPPING")
    return t


def ignoring_term(containers, timeout, name="web"):
    c = containers(name, "ignore-term-sleep", "1000", settings={"stop.timeout": str(timeout)})
    p = c.start()
    wait_for(lambda: "ignoring SIGTERM" in c.log(), 10, what="the payload to ignore SIGTERM")
    return c, p


def test_echo_kill_acts_at_once_while_a_stop_waits(daemon, containers):
    """What users type: `echo kill > state` (O_TRUNC, which the kernel holds behind a
    write in flight) from a shell while another client's `echo stop` waits out a
    stop.timeout of 30 s: the kill acts at once, and the stop's write returns too."""
    c, p = ignoring_term(containers, 30)
    res = {}
    t = stop_in_thread(c, res)
    try:
        sh = subprocess.run(["sh", "-c", 'echo kill > "$1"', "sh", c.path("state")],
                            capture_output=True, text=True, timeout=10)
        assert sh.returncode == 0, sh.stderr
        assert c.state() == "STOPPED"
        t.join(10)
        assert not t.is_alive(), "the stop's write still waits after the kill"
    finally:
        t.join(40)
    assert res["stop"] == 0, res
    assert c.exit_status() == "137"
    assert wait_gone(p)


@pytest.mark.parametrize("verb,want", [("kill", 0), ("start", errno.EBUSY),
                                       ("freeze", errno.EBUSY), ("stop", 0)])
def test_any_verb_over_o_trunc_is_answered_while_a_stop_waits(daemon, containers, verb, want):
    """Every verb written with O_TRUNC (open(O_WRONLY|O_TRUNC): the kernel truncates only
    when no write to the file is in flight) reaches the daemon while a stop waits (30 s):
    kill acts at once, start and freeze are refused at once (STOPPING), a second stop
    waits for STOPPED like any stop, which the first one's kill at its stop.timeout (2 s
    for this case) brings."""
    c, p = ignoring_term(containers, 2 if verb == "stop" else 30)
    res = {}
    t = stop_in_thread(c, res)
    try:
        got = write_file(c.path("state"), verb + "\n")
        assert got == want, (verb, got, c.last_error())
        t.join(10)
        assert not t.is_alive(), "the first stop's write still waits"
        assert res["stop"] == 0, res
        if verb in ("kill", "stop"):
            assert c.state() == "STOPPED"
            assert c.exit_status() == "137"
        else:
            assert c.state() == "STOPPING"
            assert "STOPPING" in c.last_error(), c.last_error()
    finally:
        c.write_state("kill")
        t.join(40)
    assert c.state() == "STOPPED"
    assert wait_gone(p)


def test_stop_alone_returns_only_when_stopped(daemon, containers):
    """A stop that no other writer meets waits for init: readers of `state` meanwhile do
    not make it return early, and its write returns with the container STOPPED."""
    c, p = ignoring_term(containers, 2)
    res = {}
    t = stop_in_thread(c, res)
    try:
        for _ in range(5):
            read_file(c.path("state"))
        t.join(20)
        assert not t.is_alive(), "the stop did not end"
    finally:
        t.join(40)
    assert res["stop"] == 0, res
    assert c.state() == "STOPPED"
    assert c.exit_status() == "137"
    assert wait_gone(p)


def test_handed_over_stop_still_kills_at_its_timeout(daemon, containers):
    """A writer that opens `state` and writes nothing still frees the stop's write; the
    stop then goes on by itself and kills init at stop.timeout (2 s), recorded as a stop."""
    c, p = ignoring_term(containers, 2)
    res = {}
    t = stop_in_thread(c, res)
    try:
        os.close(os.open(c.path("state"), os.O_WRONLY | os.O_CLOEXEC))
        t.join(10)
        assert not t.is_alive(), "the stop's write did not return at the open"
        assert res["stop"] == 0, res
        c.wait_state("STOPPED", 20)
    finally:
        t.join(40)
    assert c.exit_status() == "137"
    assert read_file(c.path("runs")).splitlines()[-1].split()[1:] == ["137", "stop"]
    assert wait_gone(p)


def test_handed_over_stop_leaves_a_new_run_alone(daemon, containers):
    """A handed-over stop whose run was killed meanwhile does nothing at its deadline to
    the run started after it."""
    c, _p = ignoring_term(containers, 2)
    res = {}
    t = stop_in_thread(c, res)
    try:
        assert write_file(c.path("state"), "kill\n") == 0
        t.join(10)
        assert not t.is_alive()
    finally:
        t.join(40)
    assert res["stop"] == 0, res
    p2 = c.start()
    # past the old stop's deadline
    time.sleep(4)
    assert c.state() == "RUNNING"
    assert c.pid() == p2 and pid_alive(p2)
    c.do("kill")
    assert wait_gone(p2)


def test_rmdir_during_a_handed_over_stop(daemon, containers):
    """rmdir while a handed-over stop goes on is refused (STOPPING); once killed the
    container is removed, and a new container of the same name is not touched."""
    c, p = ignoring_term(containers, 30)
    res = {}
    t = stop_in_thread(c, res)
    try:
        os.close(os.open(c.path("state"), os.O_WRONLY | os.O_CLOEXEC))
        t.join(10)
        assert not t.is_alive()
        assert errno_of(os.rmdir, c.path()) == errno.EBUSY
        assert c.state() == "STOPPING"
        assert write_file(c.path("state"), "kill\n") == 0
    finally:
        t.join(40)
    assert res["stop"] == 0, res
    assert wait_gone(p)
    os.rmdir(c.path())
    c2, p2 = ignoring_term(containers, 1)
    assert c2.state() == "RUNNING" and pid_alive(p2)
    c2.do("kill")
    assert wait_gone(p2)
