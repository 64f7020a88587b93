"""Installing containerfs like Debian software: the service manager's readiness protocol
(sd_notify), `make install`/`uninstall`, the man pages, the systemd unit and the Debian
package."""
import os
import socket

import pytest

from lib.daemon import pid_alive
from lib.fsops import read_value, write_file


# ---- sd_notify ----

def _notify_socket(tmp_path, abstract: bool):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"cfs-notify-test-{os.getpid()}-{id(s)}"
        s.bind("\0" + name)
        return s, "@" + name
    path = str(tmp_path / "notify.sock")
    s.bind(path)
    return s, path


def _status(pid: int) -> dict:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _environ(pid: int) -> list:
    with open(f"/proc/{pid}/environ", "rb") as f:
        return [e.decode(errors="replace") for e in f.read().split(b"\0") if e]


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_sd_notify_ready_after_mount_and_autostart(daemon_factory, monkeypatch, tmp_path,
                                                   abstract):
    d = daemon_factory()
    os.mkdir(d.path("web"))
    assert write_file(d.path("web", "init"), "/bin/sh -c 'exec sleep 100'") == 0
    assert write_file(d.path("web", "autostart"), "1") == 0
    assert d.stop() == 0
    assert not d.is_mounted()

    sock, addr = _notify_socket(tmp_path, abstract)
    sock.settimeout(20)
    monkeypatch.setenv("NOTIFY_SOCKET", addr)
    try:
        d.start()  # returns once mounted: READY=1 may come later, never before
        msg = sock.recv(4096).decode()
        mounted_at_ready = d.is_mounted()
        state_at_ready = read_value(d.path("web", "state"))
        assert msg.split("\n") == ["READY=1"], msg
        assert mounted_at_ready
        # autostart containers were started before the daemon said it is ready
        assert state_at_ready == "RUNNING"
        # the variable is the daemon's alone: neither the supervisor nor init sees it
        init = int(read_value(d.path("web", "pid")))
        sup = int(_status(init)["PPid"])
        for pid in (init, sup):
            assert not [e for e in _environ(pid) if e.startswith("NOTIFY_SOCKET=")], pid
        assert write_file(d.path("web", "state"), "kill") == 0
        assert write_file(d.path("web", "autostart"), "0") == 0
        assert d.stop() == 0
        assert sock.recv(4096).decode().split("\n") == ["STOPPING=1"]
        assert not pid_alive(init)
    finally:
        sock.close()
    monkeypatch.delenv("NOTIFY_SOCKET")
    d.start()  # the fixture ends it and checks that nothing leaked
