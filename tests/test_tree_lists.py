"""List settings (env, mounts, idmap, devices.*): each complete line is checked when its
write arrives, the whole list is applied at close, and a close-time error comes back
from close(2)."""
import errno
import os

import pytest

from lib.fsops import last_error, names_value, read_file, sh, write_file
from lib.keys import KEYS

LISTS = [k for k in KEYS if k.is_list]
GOOD_LINE = {"env": "A=1", "idmap": "b 0 100000 65536", "mounts": "proc proc proc nodev 0 0",
             "devices.deny": "c 1:3 rwm", "devices.allow": "c 1:5 rwm"}
BAD_LINE = {"env": "NOEQ", "idmap": "u 0 0 0", "mounts": "onlyone",
            "devices.deny": "x 1:3 rwm", "devices.allow": "c 1:3 rwx"}


def test_every_list_has_lines():
    assert {k.name for k in LISTS} == set(GOOD_LINE) == set(BAD_LINE)


def test_printf_two_writes_both_applied(daemon, web):
    res = write_file(os.path.join(web, "env"), ["A=1\n", "B=2\n"])
    assert res == 0 and res.writes == [0, 0], res
    assert read_file(os.path.join(web, "env")) == "A=1\nB=2\n"
    r = sh(r"printf 'C=3\nD=4\n' > env", cwd=web)
    assert r.returncode == 0, r.stderr
    assert read_file(os.path.join(web, "env")) == "C=3\nD=4\n"


def test_nothing_applied_before_close(daemon, web):
    p = os.path.join(web, "env")
    assert write_file(p, "OLD=1\n") == 0
    fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, b"A=1\n")
        assert read_file(p) == "OLD=1\n", "a list is applied when the file is closed"
        os.write(fd, b"B=2\n")
    finally:
        os.close(fd)
    assert read_file(p) == "A=1\nB=2\n"


@pytest.mark.parametrize("k", LISTS, ids=lambda k: k.rel)
def test_bad_line_fails_its_write(daemon, web, k):
    p = os.path.join(web, k.rel)
    before = read_file(p)
    res = write_file(p, [GOOD_LINE[k.name] + "\n", BAD_LINE[k.name] + "\n"])
    assert res.writes == [0, errno.EINVAL], res
    assert read_file(p) == before, "a rejected write changes nothing"
    le = last_error(daemon, "web")
    assert k.name in le and names_value(le, BAD_LINE[k.name]), le


@pytest.mark.parametrize("k", LISTS, ids=lambda k: k.rel)
def test_bad_line_split_across_writes(daemon, web, k):
    """A line is checked once complete, even when its pieces came in several writes."""
    p = os.path.join(web, k.rel)
    before = read_file(p)
    bad = BAD_LINE[k.name]
    res = write_file(p, [GOOD_LINE[k.name] + "\n" + bad[:2], bad[2:] + "\n"])
    assert res.writes == [0, errno.EINVAL], res
    assert read_file(p) == before


@pytest.mark.parametrize("k", LISTS, ids=lambda k: k.rel)
def test_unfinished_bad_last_line_fails_at_close(daemon, web, k):
    p = os.path.join(web, k.rel)
    before = read_file(p)
    res = write_file(p, GOOD_LINE[k.name] + "\n" + BAD_LINE[k.name])
    assert res.writes == [0] and res.close_errno == errno.EINVAL, res
    assert read_file(p) == before
    le = last_error(daemon, "web")
    assert k.name in le and names_value(le, BAD_LINE[k.name]), le


@pytest.mark.parametrize("k", LISTS, ids=lambda k: k.rel)
def test_last_line_without_newline_applies(daemon, web, k):
    p = os.path.join(web, k.rel)
    res = write_file(p, GOOD_LINE[k.name])
    assert res == 0, res
    assert read_file(p) == GOOD_LINE[k.name] + "\n"


def test_blank_lines_carry_nothing(daemon, web):
    assert write_file(os.path.join(web, "env"), "\nA=1\n\n\nB=2\n\n") == 0
    assert read_file(os.path.join(web, "env")) == "A=1\nB=2\n"


def test_empty_list_by_echo(daemon, web):
    assert write_file(os.path.join(web, "env"), "A=1\n") == 0
    assert sh("echo > env", cwd=web).returncode == 0
    assert read_file(os.path.join(web, "env")) in ("", "\n")
    assert sh("echo > cgroup/devices.allow", cwd=web).returncode == 0
    assert read_file(os.path.join(web, "cgroup/devices.allow")) in ("", "\n")


def test_large_list_in_pieces(daemon, web):
    """sftp cuts writes into 32 KiB pieces, lines cut anywhere."""
    lines = [f"VAR_{i}=" + "v" * 40 for i in range(1200)]
    text = "\n".join(lines) + "\n"
    chunks = [text[i:i + 32768] for i in range(0, len(text), 32768)]
    assert len(chunks) > 1
    res = write_file(os.path.join(web, "env"), chunks)
    assert res == 0, res
    assert read_file(os.path.join(web, "env")) == text


def test_append_bad_line_changes_nothing(daemon, web):
    p = os.path.join(web, "cgroup/devices.allow")
    before = read_file(p)
    res = write_file(p, "c 1:3 rwx\n", flags=os.O_WRONLY | os.O_APPEND)
    assert res == errno.EINVAL and res.stage == "write", res
    assert read_file(p) == before


@pytest.mark.parametrize("cut", [None, 12, 1])
def test_pending_blanks_without_a_newline_apply_an_empty_list(daemon, web, cut):
    """Two writes of blanks fill the pending buffer to its end without a newline (and an
    ftruncate may cut it): the close reads no byte beyond what is pending (the daemon
    runs under AddressSanitizer in the suite) and applies an empty list."""
    p = os.path.join(web, "env")
    assert write_file(p, "A=1\n") == 0
    assert write_file(p, [" " * 8, "\t" * 8], ftruncate=None) == 0
    assert read_file(p) == "\n"
    if cut is not None:
        fd = os.open(p, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, b" " * 8)
            os.write(fd, b" " * 8)
            os.ftruncate(fd, cut)
        finally:
            os.close(fd)
        assert read_file(p) == "\n"
    assert daemon.alive()
