"""What the kernel keeps of the tree: a read-only `state` is served from the page cache
while it is unchanged, and every change reaches readers at once — a new open, and a
descriptor kept open and read again from its start (pread), whether the change came
from a write or from the container's own exit. The top level's listing is kept between
opens until a mkdir or rmdir changes it."""
import os
import re
import signal
import threading

import pytest

from lib.fsops import read_file
from lib.lifecycle import containers, read_until

assert containers  # the fixture, imported for the tests below


def _pread(fd):
    return os.pread(fd, 4096, 0).decode()


def test_open_state_follows_written_changes(daemon, containers):
    c = containers("web", "sleep", 100)
    fd = os.open(c.path("state"), os.O_RDONLY | os.O_CLOEXEC)
    try:
        assert _pread(fd) == "STOPPED\n"
        assert _pread(fd) == "STOPPED\n"
        c.start()
        # the write returned: the open descriptor, a new open and stat agree
        assert _pread(fd) == "RUNNING\n"
        assert os.fstat(fd).st_size == len("RUNNING\n")
        assert read_file(c.path("state")) == "RUNNING\n"
        c.do("freeze")
        assert _pread(fd) == "FROZEN\n"
        assert os.fstat(fd).st_size == len("FROZEN\n")
        c.do("thaw")
        assert _pread(fd) == "RUNNING\n"
        c.do("kill")
        assert _pread(fd) == "STOPPED\n"
        assert os.stat(c.path("state")).st_size == len("STOPPED\n")
        # a plain read continues from the offset, as with any file
        assert os.read(fd, 4096) == b"STOPPED\n"
        assert os.read(fd, 4096) == b""
    finally:
        os.close(fd)


def test_open_state_follows_an_exit(daemon, containers):
    # the change comes from the monitor, not from a write through the tree
    c = containers("web", "sleep", 100)
    c.start()
    fd = os.open(c.path("state"), os.O_RDONLY | os.O_CLOEXEC)
    ev = os.open(c.path("events"), os.O_RDONLY | os.O_CLOEXEC)
    try:
        assert _pread(fd) == "RUNNING\n"
        assert os.read(ev, 4096) == b"web RUNNING\n"
        os.kill(c.command_pid(), signal.SIGKILL)
        read_until(ev, lambda t: "web STOPPED\n" in t)
        assert _pread(fd) == "STOPPED\n"
        assert os.fstat(fd).st_size == len("STOPPED\n")
    finally:
        os.close(ev)
        os.close(fd)


def test_unchanged_state_is_read_without_the_daemon(daemon, web):
    """Once read, an unchanged state answers from the page the kernel kept: even
    with the daemon stopped (SIGSTOP), where any request would wait."""
    fd = os.open(os.path.join(web, "state"), os.O_RDONLY | os.O_CLOEXEC)
    got = []
    try:
        assert _pread(fd) == "STOPPED\n"  # the page is filled
        os.kill(daemon.proc.pid, signal.SIGSTOP)
        try:
            t = threading.Thread(target=lambda: got.append(_pread(fd)), daemon=True)
            t.start()
            t.join(20)
            done = not t.is_alive()
        finally:
            os.kill(daemon.proc.pid, signal.SIGCONT)
        t.join(20)
        assert done, "a pread of an unchanged open state waited for the daemon"
        assert got == ["STOPPED\n"]
    finally:
        os.close(fd)


def _listings(daemon):
    """READDIR and READDIRPLUS requests the daemon has seen (its -d trace)."""
    with open(daemon.stderr_files[-1], errors="replace") as f:
        return len(re.findall(r"opcode: READDIR(?:PLUS)? ", f.read()))


@pytest.mark.daemon_opts("-d")
def test_top_listing_is_kept_until_it_changes(daemon):
    for n in ("a", "b"):
        os.mkdir(daemon.path(n))
    names = {".version", ".checkconfig", ".events"}
    assert set(os.listdir(daemon.mnt)) == names | {"a", "b"}
    before = _listings(daemon)
    assert before > 0
    assert set(os.listdir(daemon.mnt)) == names | {"a", "b"}
    assert _listings(daemon) == before, "an unchanged top level was listed again"
    os.mkdir(daemon.path("c"))
    assert set(os.listdir(daemon.mnt)) == names | {"a", "b", "c"}
    os.rmdir(daemon.path("a"))
    assert set(os.listdir(daemon.mnt)) == names | {"b", "c"}
    # a container's own directory is listed each time (ns/ links, temp files)
    before = _listings(daemon)
    os.listdir(daemon.path("b"))
    os.listdir(daemon.path("b"))
    assert _listings(daemon) >= before + 2
    for n in ("b", "c"):
        os.rmdir(daemon.path(n))


@pytest.mark.timeout(90)
def test_state_read_during_a_waiting_stop(daemon, containers):
    """A stop that waits (init ignores SIGTERM) is a write to state in progress. Every
    read meanwhile is a whole state, and once events has announced STOPPING every new
    read says so (with its length), though the writer's O_TRUNC open emptied the
    kernel's idea of the file's length."""
    c = containers("web", "ignore-term-sleep", "1000", settings={"stop.timeout": "2"})
    for _ in range(3):
        c.start()
        assert read_file(c.path("state")) == "RUNNING\n"  # the page is filled
        ev = os.open(c.path("events"), os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        res, seen = {}, set()
        t = threading.Thread(target=lambda: res.setdefault("stop", c.write_state("stop")),
                             daemon=True)
        try:
            assert os.read(ev, 4096) == b"web RUNNING\n"
            t.start()
            text = ""
            while "web STOPPING\n" not in text:
                seen.add(read_file(c.path("state")))
                try:
                    text += os.read(ev, 4096).decode()
                except BlockingIOError:
                    pass
            for _ in range(3):
                assert read_file(c.path("state")) == "STOPPING\n"
                assert os.stat(c.path("state")).st_size == len("STOPPING\n")
        finally:
            t.join(40)
            os.close(ev)
        assert seen <= {"RUNNING\n", "STOPPING\n"}, seen
        assert res.get("stop") == 0, res
        assert read_file(c.path("state")) == "STOPPED\n"
