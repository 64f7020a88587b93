"""What the kernel keeps of the tree: the top level's listing between opens, until a
mkdir or rmdir changes it; and what it must not keep: `state` read while a write to it
is in progress (the writer's O_TRUNC open) is always whole and current."""
import os
import re
import threading

import pytest

from lib.fsops import read_file
from lib.lifecycle import containers, read_until

assert containers  # the fixture, imported for the tests below


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
