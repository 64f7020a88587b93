"""`events` and `.events`: the current state first, blocking reads that wake on a change,
poll/select/epoll readiness, EAGAIN with O_NONBLOCK, an interrupted read that returns at
once, the lxc-wait and lxc-monitor idioms, and a thousand blocked readers that cost no
daemon thread each."""
import errno
import os
import re
import resource
import select
import signal
import subprocess
import sys
import threading
import time

import pytest

from lib.fsops import read_file, run
from lib.lifecycle import (containers, daemon_threads, event_states, is_subsequence,
                           read_until)

assert containers  # the fixture, imported for the tests below


def _open(path, flags=0):
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC | flags)


def test_first_read_is_current_state(daemon, containers):
    c = containers("web", "sleep", 100)
    fd = _open(c.path("events"), os.O_NONBLOCK)
    try:
        assert os.read(fd, 4096) == b"web STOPPED\n"
    finally:
        os.close(fd)
    c.start()
    fd = _open(c.path("events"), os.O_NONBLOCK)
    try:
        assert os.read(fd, 4096) == b"web RUNNING\n"
    finally:
        os.close(fd)
    c.do("stop")


def test_nonblocking_read_without_data_is_eagain(daemon, containers):
    c = containers("web", "sleep", 100)
    fd = _open(c.path("events"), os.O_NONBLOCK)
    try:
        assert os.read(fd, 4096) == b"web STOPPED\n"
        for _ in range(3):
            with pytest.raises(BlockingIOError) as e:
                os.read(fd, 4096)
            assert e.value.errno == errno.EAGAIN
        c.start()
        text = read_until(fd, lambda t: "web RUNNING\n" in t, 5)
        assert is_subsequence(["RUNNING"], event_states(text, "web"))
        with pytest.raises(BlockingIOError):
            os.read(fd, 4096)
    finally:
        os.close(fd)
    c.do("stop")


def test_blocking_read_wakes_on_change(daemon, containers):
    c = containers("web", "sleep", 100)
    fd = _open(c.path("events"))
    try:
        assert os.read(fd, 4096) == b"web STOPPED\n"
        got, when = [], []

        def reader():
            try:
                got.append(os.read(fd, 4096))
            except OSError as e:
                got.append(e)
            when.append(time.monotonic())

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        time.sleep(0.4)
        assert t.is_alive() and not got, f"the read did not block: {got}"
        t0 = time.monotonic()
        c.start()
        t.join(5)
        assert not t.is_alive(), "the blocked read did not wake on start"
        assert isinstance(got[0], bytes), got
        assert when[0] >= t0
        lines = got[0].decode()
        st = event_states(lines, "web")
        assert st and st[0] in ("STARTING", "RUNNING"), lines
        # the rest of the changes follow
        if "web RUNNING\n" not in lines:
            lines += read_until(fd, lambda x: "web RUNNING\n" in x, 5)
        assert is_subsequence(["RUNNING"], event_states(lines, "web")), lines
        # and the next change wakes the next read
        th = threading.Thread(target=reader, daemon=True)
        got.clear()
        th.start()
        time.sleep(0.2)
        assert not got
        c.do("stop")
        th.join(5)
        assert got and b"web STOP" in got[0], got
    finally:
        os.close(fd)


def test_event_when_init_exits_by_itself(daemon, containers):
    # long enough that a loaded machine still reads RUNNING and the pid after start
    c = containers("web", "sleep", 3)
    fd = _open(c.path("events"))
    try:
        assert os.read(fd, 4096) == b"web STOPPED\n"
        c.start()
        text = read_until(fd, lambda t: "web STOPPED\n" in t, 20)
        assert is_subsequence(["RUNNING", "STOPPED"], event_states(text, "web")), text
        assert c.exit_status() == "0"
    finally:
        os.close(fd)


def test_every_change_in_order(daemon, containers):
    c = containers("web", "sleep", 100)
    fd = _open(c.path("events"), os.O_NONBLOCK)
    try:
        assert os.read(fd, 4096) == b"web STOPPED\n"
        c.start()
        c.do("freeze")
        c.do("thaw")
        c.do("stop")
        text = read_until(fd, lambda t: t.endswith("web STOPPED\n"), 5)
        st = event_states(text, "web")
        assert is_subsequence(["RUNNING", "FROZEN", "RUNNING", "STOPPED"], st), st
        assert set(st) <= {"STARTING", "RUNNING", "FREEZING", "FROZEN", "STOPPING", "STOPPED"}
        for a, b in zip(st, st[1:]):
            assert a != b, f"the same state twice in a row: {st}"
    finally:
        os.close(fd)


def test_poll_select_epoll_readiness(daemon, containers):
    c = containers("web", "sleep", 100)
    fd = _open(c.path("events"))
    ep = select.epoll()
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        # the current state is there at once
        assert p.poll(2000), "not readable before the first read"
        assert os.read(fd, 4096) == b"web STOPPED\n"
        # now nothing until a change
        assert p.poll(300) == [], "readable with no change"
        r, _, _ = select.select([fd], [], [], 0.2)
        assert r == [], "select: readable with no change"
        ep.register(fd, select.EPOLLIN)
        assert ep.poll(0.2) == [], "epoll: readable with no change"
        c.start()
        ev = p.poll(3000)
        assert ev and ev[0][1] & select.POLLIN, f"poll after start: {ev}"
        r, _, _ = select.select([fd], [], [], 3)
        assert r == [fd], "select not readable after start"
        assert ep.poll(3), "epoll not readable after start"
        text = read_until(fd, lambda t: "web RUNNING\n" in t, 5)
        assert "web RUNNING" in text
        # drained: not readable again until the next change
        time.sleep(0.1)
        while p.poll(100):
            os.read(fd, 4096)
        assert p.poll(300) == []
        c.do("stop")
        assert p.poll(3000), "poll after stop"
        assert "web STOPPED" in read_until(fd, lambda t: "web STOPPED\n" in t, 5)
    finally:
        ep.close()
        os.close(fd)


def test_poll_wakes_in_another_thread(daemon, containers):
    """A poll already waiting when the change happens wakes."""
    c = containers("web", "sleep", 100)
    fd = _open(c.path("events"))
    try:
        os.read(fd, 4096)
        p = select.poll()
        p.register(fd, select.POLLIN)
        out = []
        t = threading.Thread(target=lambda: out.append(p.poll(8000)), daemon=True)
        t.start()
        time.sleep(0.3)
        assert t.is_alive()
        c.start()
        t.join(5)
        assert not t.is_alive() and out and out[0], f"poll did not wake: {out}"
        c.do("stop")
    finally:
        os.close(fd)


def test_interrupted_read_returns_at_once(daemon, containers):
    c = containers("web", "sleep", 100)
    t = time.monotonic()
    r = run(["timeout", "-s", "INT", "1", "cat", c.path("events")], timeout=15)
    took = time.monotonic() - t
    assert r.stdout == "web STOPPED\n"
    assert took < 3, f"cat of events took {took:.1f} s to end after SIGINT at 1 s"
    assert r.returncode == 124, (r.returncode, r.stderr)
    # the daemon is fine afterwards, and the container works
    c.start()
    c.do("stop")


def test_interrupted_read_python(daemon, containers):
    """A blocked read in a thread of ours, interrupted by a signal: EINTR at once."""
    c = containers("web", "sleep", 100)
    proc = subprocess.Popen([sys.executable, "-c", f"""
import os, signal, sys, time
class Interrupted(Exception):
    pass
def handler(*a):
    raise Interrupted()  # else Python retries the read after EINTR (PEP 475)
signal.signal(signal.SIGUSR1, handler)
fd = os.open({c.path('events')!r}, os.O_RDONLY)
sys.stdout.write(os.read(fd, 4096).decode()); sys.stdout.flush()
t = time.monotonic()
try:
    os.read(fd, 4096)
    print("returned")
except Interrupted:
    print("EINTR")
print("%.2f" % (time.monotonic() - t))
"""], stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first == "web STOPPED\n"
        time.sleep(0.3)
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGUSR1)
        out, _ = proc.communicate(timeout=3)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = out.split()
    assert lines[0] in ("EINTR", "returned") and float(lines[1]) < 2.5, out


def test_dot_events_lists_every_container(daemon, containers):
    a = containers("a", "sleep", 100)
    b = containers("b", "sleep", 100)
    containers("c", "sleep", 100)
    a.start()
    fd = _open(daemon.path(".events"), os.O_NONBLOCK)
    try:
        text = read_until(fd, lambda t: t.count("\n") >= 3, 3)
        first = sorted(text.splitlines())
        assert first == ["a RUNNING", "b STOPPED", "c STOPPED"], text
        with pytest.raises(BlockingIOError):
            os.read(fd, 4096)
        b.start()
        text = read_until(fd, lambda t: "b RUNNING\n" in t, 5)
        assert "a " not in text and "c " not in text, text
        a.do("stop")
        b.do("stop")
        read_until(fd, lambda t: "a STOPPED\n" in t and "b STOPPED\n" in t, 5)
    finally:
        os.close(fd)


def test_cat_dot_events_monitor(daemon, containers):
    """`cat .events` watches every container (lxc-monitor)."""
    a = containers("a", "sleep", 100)
    p = subprocess.Popen(["cat", daemon.path(".events")], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "a STOPPED\n"
        a.start()
        lines = []
        while "a RUNNING" not in lines:
            lines.append(p.stdout.readline().strip())
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()
    a.do("stop")


def test_grep_waits_for_stop(daemon, containers):
    """grep -m1 -x 'web STOPPED' web/events: the lxc-wait idiom."""
    c = containers("web", "sleep", 100)
    # already STOPPED: it ends at once
    r = run(["grep", "-m1", "-x", "web STOPPED", c.path("events")], timeout=5)
    assert r.returncode == 0 and r.stdout == "web STOPPED\n"
    c.start()
    p = subprocess.Popen(["grep", "-m1", "-x", "web STOPPED", c.path("events")],
                         stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        assert p.poll() is None, "grep ended while the container runs"
        c.do("stop")
        out, _ = p.communicate(timeout=5)
        assert p.returncode == 0 and out == "web STOPPED\n"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # and RUNNING
    p = subprocess.Popen(["grep", "-m1", "-x", "web RUNNING", c.path("events")],
                         stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.2)
        assert p.poll() is None
        c.start()
        out, _ = p.communicate(timeout=5)
        assert out == "web RUNNING\n"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    c.do("stop")


def test_events_of_a_removed_container(daemon, containers):
    """A reader blocked on the events of a container that is then removed gets an end
    (EOF or an error), not a hang (`grep -m1 -x 'web STOPPED' web/events` of a container
    someone destroys). Not spelled out by the contract."""
    c = containers("web", "sleep", 100)
    p = subprocess.Popen(["cat", c.path("events")], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "web STOPPED\n"
        time.sleep(0.2)
        os.rmdir(c.path())
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            pytest.fail("a blocked reader of a removed container still hangs 5 s later")
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)  # an interrupted read returns at once
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


N_READERS = 1000


@pytest.mark.timeout(90)
def test_thousand_blocked_readers(daemon, containers):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < N_READERS + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    c = containers("web", "sleep", 100)
    threads_before = daemon_threads(daemon)
    fds = []
    results = [None] * N_READERS
    old_stack = threading.stack_size(256 * 1024)
    try:
        for _ in range(N_READERS):
            fds.append(_open(c.path("events")))
        for fd in fds:
            assert os.read(fd, 4096) == b"web STOPPED\n"

        def reader(i):
            try:
                results[i] = os.read(fds[i], 4096)
            except OSError as e:
                results[i] = e

        ths = [threading.Thread(target=reader, args=(i,), daemon=True)
               for i in range(N_READERS)]
        for t in ths:
            t.start()
        time.sleep(1.0)
        assert all(r is None for r in results), "reads returned with no change"
        # other operations are answered while they all wait
        os.mkdir(daemon.path("other"))
        assert read_file(daemon.path("other", "state")) == "STOPPED\n"
        assert read_file(daemon.path(".version"))
        assert all(r is None for r in results), "a reader returned with no change"
        nthreads = daemon_threads(daemon)
        assert nthreads < 40, f"the daemon has {nthreads} threads with {N_READERS} blocked " \
                              f"readers (had {threads_before})"
        # one change wakes them all
        t0 = time.monotonic()
        c.start()
        for t in ths:
            t.join(max(0.1, 20 - (time.monotonic() - t0)))
        woke = sum(1 for r in results if r is not None)
        errs = [r for r in results if isinstance(r, OSError)][:3]
        assert woke == N_READERS, f"{woke} of {N_READERS} readers woke; errors: {errs}"
        # every reader gets the change itself: its own copy of the new state's line(s)
        bad = [r for r in results
               if not isinstance(r, bytes) or not r.endswith(b"\n") or
               not all(re.fullmatch(rb"web (STARTING|RUNNING)", ln) for ln in r.splitlines())]
        assert not bad, f"{len(bad)} readers got something else, e.g. {bad[:3]}"
        assert daemon_threads(daemon) < 40
    finally:
        threading.stack_size(old_stack)
        for fd in fds:
            os.close(fd)
    c.do("stop")
    os.rmdir(daemon.path("other"))


def test_poll_only_reader_keeps_at_most_the_ring(daemon, containers):
    """A reader that polls and never reads holds nothing in the daemon beyond the last
    4096 changes: when it reads at last it gets at most those, the newest last."""
    c = containers("web", "sleep", 100)
    c.start()
    fd = _open(c.path("events"), os.O_NONBLOCK)
    sfd = os.open(c.path("state"), os.O_WRONLY | os.O_CLOEXEC)
    try:
        assert os.read(fd, 4096) == b"web RUNNING\n"
        p = select.poll()
        p.register(fd, select.POLLIN)
        changes = 0
        while changes < 4096 + 300:
            for verb in (b"freeze\n", b"thaw\n"):
                os.write(sfd, verb)
                changes += 1
                assert p.poll(5000), "not readable after a change"
        text = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            text += chunk
    finally:
        os.close(sfd)
        os.close(fd)
    lines = text.decode().splitlines()
    assert 0 < len(lines) <= 4096, len(lines)
    assert lines[-1] == "web RUNNING"
    assert set(lines) <= {"web FREEZING", "web FROZEN", "web RUNNING"}
    c.do("stop")
