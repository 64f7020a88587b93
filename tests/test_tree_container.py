"""A new container's directory: what it lists, its defaults, its runtime files while
stopped, the hidden v1 aliases, modes and owners."""
import errno
import os
import stat

import pytest

from lib.daemon import host_lacks
from lib.fsops import errno_of, last_error, names_value, read_file, read_value, sh, write_file
from lib.keys import (ALIASES, RUNTIME_RO, RUNTIME_RW, SETTINGS, STATS, container_listing,
                      section_files)


def test_listing_is_exact(daemon, web):
    assert set(os.listdir(web)) == container_listing()
    assert set(os.listdir(os.path.join(web, "net"))) == set(section_files("net"))
    assert set(os.listdir(os.path.join(web, "cgroup"))) == set(section_files("cgroup")) | set(STATS)
    assert os.listdir(os.path.join(web, "ns")) == []


def test_listing_has_no_duplicates(daemon, web):
    # cp -r copies each setting once: every name is listed once
    for d in ("", "net", "cgroup"):
        names = os.listdir(os.path.join(web, d))
        assert len(names) == len(set(names)), d


@pytest.mark.parametrize("alias", ALIASES, ids=lambda k: k.name)
def test_hidden_alias_not_listed_but_there(daemon, web, alias):
    assert alias.name not in os.listdir(os.path.join(web, "cgroup"))
    st = os.stat(os.path.join(web, alias.rel))
    assert stat.S_ISREG(st.st_mode) and oct(st.st_mode & 0o7777) == oct(0o644)
    assert read_file(os.path.join(web, alias.rel)).endswith("\n")


def test_every_setting_has_its_default(daemon, web):
    wrong = []
    for k in SETTINGS:
        raw = read_file(os.path.join(web, k.rel))
        want = k.default_for("web")
        ok = raw == want + "\n" if want else raw in ("", "\n")
        if not ok:
            wrong.append(f"{k.rel}: want {want!r}, got {raw!r}")
    assert not wrong, "\n".join(wrong)


def test_hostname_defaults_to_the_name(daemon):
    os.mkdir(daemon.path("db-1"))
    assert read_file(daemon.path("db-1", "hostname")) == "db-1\n"


def test_alias_cpu_shares(daemon, web):
    r = sh("echo 512 > cgroup/cpu.shares", cwd=web)
    assert r.returncode == 0, r.stderr
    assert sh("cat cgroup/cpu.shares", cwd=web).stdout == "512\n"
    w = int(read_value(os.path.join(web, "cgroup/cpu.weight")))
    assert w != 100 and 1 <= w <= 10000, w
    # and back through the canonical name
    assert write_file(os.path.join(web, "cgroup/cpu.weight"), "100\n") == 0
    assert read_value(os.path.join(web, "cgroup/cpu.weight")) == "100"
    assert read_value(os.path.join(web, "cgroup/cpu.shares")) != "512"


def test_alias_memory_limit_in_bytes(daemon, web):
    r = sh("echo 128M > cgroup/memory.limit_in_bytes", cwd=web)
    assert r.returncode == 0, r.stderr
    assert read_value(os.path.join(web, "cgroup/memory.max")) == "128M"
    assert read_value(os.path.join(web, "cgroup/memory.limit_in_bytes")) == "128M"


def test_alias_blkio_weight(daemon, web):
    if host_lacks(daemon, "io weight"):
        # a kernel without BFQ has no I/O weight: refused, saying why, nothing changed
        r = sh("echo 300 > cgroup/blkio.weight", cwd=web)
        assert r.returncode != 0 and "not supported" in r.stderr, r.stderr
        assert "BFQ" in read_value(os.path.join(web, "last_error"))
        assert read_value(os.path.join(web, "cgroup/io.weight")) == "100"
        return
    r = sh("echo 500 > cgroup/blkio.weight", cwd=web)
    assert r.returncode == 0, r.stderr
    assert read_value(os.path.join(web, "cgroup/blkio.weight")) == "500"
    w = int(read_value(os.path.join(web, "cgroup/io.weight")))
    assert w != 100 and 1 <= w <= 10000, w


def test_alias_keeps_config_consistent(daemon, web):
    assert write_file(os.path.join(web, "cgroup/cpu.shares"), "512\n") == 0
    weight = read_value(os.path.join(web, "cgroup/cpu.weight"))
    cfg = read_file(os.path.join(web, "config"))
    # the document written back changes nothing
    assert write_file(os.path.join(web, "config"), cfg) == 0
    assert read_file(os.path.join(web, "config")) == cfg
    assert read_value(os.path.join(web, "cgroup/cpu.weight")) == weight
    assert read_value(os.path.join(web, "cgroup/cpu.shares")) == "512"


def test_runtime_files_when_stopped(daemon, web):
    got = {f: read_file(os.path.join(web, f))
           for f in ("state", "pid", "exit_status", "tasks", "log", "last_error", "runs")}
    assert got == {"state": "STOPPED\n", "pid": "", "exit_status": "", "tasks": "",
                   "log": "", "last_error": "", "runs": ""}
    ps = read_file(os.path.join(web, "ps"))
    assert ps == "" or ps.count("\n") == 1 and ps.endswith("\n"), repr(ps)
    assert os.listdir(os.path.join(web, "ns")) == []


def test_stats_empty_when_stopped(daemon, web):
    for s in STATS:
        assert read_file(os.path.join(web, "cgroup", s)) == "", s


def test_events_first_read_is_the_current_state(daemon, web):
    fd = os.open(os.path.join(web, "events"), os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert os.read(fd, 4096) == b"web STOPPED\n"
        assert errno_of(os.read, fd, 4096) == errno.EAGAIN
    finally:
        os.close(fd)


@pytest.mark.parametrize("verb", ["stop", "STOPPED", "stop\n", "STOPPED\n"], ids=repr)
def test_state_stop_when_stopped_succeeds(daemon, web, verb):
    res = write_file(os.path.join(web, "state"), verb)
    assert res == 0, res
    assert read_file(os.path.join(web, "state")) == "STOPPED\n"
    assert read_file(os.path.join(web, "last_error")) == ""


def test_state_echo_stop_and_stopped(daemon, web):
    for cmd in ("echo stop > state", "echo STOPPED > state", "echo stop > state"):
        r = sh(cmd, cwd=web)
        assert r.returncode == 0, (cmd, r.stderr)
    assert read_file(os.path.join(web, "state")) == "STOPPED\n"


@pytest.mark.parametrize("bad", ["bogus", "", "Stop", "stop now", "stop\nstart", "STOPPED\0",
                                 "RUNNING STOPPED", "x" * 5000], ids=lambda v: repr(v)[:16])
def test_state_bad_verb_einval(daemon, web, bad):
    res = write_file(os.path.join(web, "state"), bad + "\n")
    assert res == errno.EINVAL and res.stage == "write", res
    assert read_file(os.path.join(web, "state")) == "STOPPED\n"
    le = last_error(daemon, "web")
    assert "state" in le
    if bad.isprintable() and 0 < len(bad) < 100:
        assert names_value(le, bad), le
    assert daemon.alive()


def test_state_bad_verb_shell_message(daemon, web):
    r = sh("echo bogus > state", cwd=web)
    assert r.returncode != 0
    assert "Invalid argument" in r.stderr, r.stderr
    assert read_file(os.path.join(web, "state")) == "STOPPED\n"


def _mode(p):
    st = os.lstat(p)
    return stat.S_IFMT(st.st_mode), st.st_mode & 0o7777, st.st_uid, st.st_gid


def test_modes_and_owners(daemon, web):
    want = {}
    for d in ("", "net", "cgroup", "ns"):
        want[d] = (stat.S_IFDIR, 0o755)
    for k in SETTINGS:
        want[k.rel] = (stat.S_IFREG, 0o644)
    for k in ALIASES:
        want[k.rel] = (stat.S_IFREG, 0o644)
    for f in RUNTIME_RW + ["config"]:
        want[f] = (stat.S_IFREG, 0o644)
    for f in RUNTIME_RO:
        want[f] = (stat.S_IFREG, 0o444)
    for s in STATS:
        want[f"cgroup/{s}"] = (stat.S_IFREG, 0o444)
    # what may hold secrets is the owner's alone
    want["env"] = want["init"] = want["config"] = (stat.S_IFREG, 0o600)
    want["log"] = want["ps"] = want["last_error"] = (stat.S_IFREG, 0o400)
    wrong = []
    for rel, (fmt, mode) in want.items():
        got = _mode(os.path.join(web, rel))
        if got != (fmt, mode, 0, 0):
            wrong.append(f"{rel or '.'}: want {oct(fmt)} {oct(mode)} 0:0, "
                         f"got {oct(got[0])} {oct(got[1])} {got[2]}:{got[3]}")
    assert not wrong, "\n".join(wrong)


def test_reads_in_small_pieces_are_consistent(daemon, web):
    p = os.path.join(web, "config")
    whole = read_file(p)
    fd = os.open(p, os.O_RDONLY)
    try:
        parts = []
        while True:
            b = os.read(fd, 7)
            if not b:
                break
            parts.append(b)
        # bash `read` seeks back and reads again from the new offset
        os.lseek(fd, 3, os.SEEK_SET)
        again = os.read(fd, 10)
    finally:
        os.close(fd)
    assert b"".join(parts).decode() == whole
    assert again.decode() == whole[3:13]
    r = sh('n=0; while IFS= read -r l; do n=$((n+1)); done < config; echo $n', cwd=web)
    assert r.stdout.strip() == str(whole.count("\n"))


def test_st_size_does_not_clip_reads(daemon, web):
    # cat must see the whole value whatever st_size says (direct_io or a true size)
    assert write_file(os.path.join(web, "hostname"), "a-much-longer-hostname-than-before\n") == 0
    r = sh("cat hostname", cwd=web)
    assert r.stdout == "a-much-longer-hostname-than-before\n"
    assert open(os.path.join(web, "hostname")).read() == "a-much-longer-hostname-than-before\n"
