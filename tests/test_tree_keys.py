"""Every setting, driven from the key table (tests/lib/keys.py, checked against
engine/config/keys.c): good values read back as written (sizes too: 96M reads 96M), bad values are
refused with EINVAL by the write itself, change nothing, and land in last_error."""
import errno
import os

import pytest

from lib.daemon import host_lacks
from lib.fsops import last_error, names_value, parse_ini, read_file, write_file
from lib.keys import KEYS, STATS, good_nondefault, keys_c_path, parse_keys_c

CONTAINER = "web"


def test_key_table_matches_engine():
    """A setting added to engine/config/keys.c needs its test values in tests/lib/keys.py."""
    rows, aliases, stats = parse_keys_c(keys_c_path())
    assert rows, "no ROW() parsed from engine/config/keys.c"
    ours = {k.rel: (k.section, k.name, k.is_list) for k in KEYS if not k.alias_of}
    ours_alias = {k.rel: k.alias_of for k in KEYS if k.alias_of}
    missing = sorted(set(rows) - set(ours))
    extra = sorted(set(ours) - set(rows))
    assert not missing, f"settings in engine/config/keys.c without test values: {missing}"
    assert not extra, f"settings tested but not in engine/config/keys.c: {extra}"
    assert rows == ours, "section or list flag differ: " + str(
        {r: (rows[r], ours[r]) for r in rows if rows[r] != ours[r]})
    assert aliases == ours_alias
    assert stats == STATS


def _payload(value: str) -> str:
    """What a client writes for value: an empty value is a lone newline (`echo > f`);
    O_TRUNC with nothing written applies nothing."""
    return value if value.endswith("\n") else value + "\n"


def _expected_reads(value: str):
    v = value.rstrip("\n")
    return {v + "\n"} if v else {"", "\n"}


def _needs_missing(k, daemon) -> bool:
    return host_lacks(daemon, k.needs)


@pytest.mark.parametrize("k", KEYS, ids=lambda k: k.id)
def test_good_values(daemon, k):
    os.mkdir(daemon.path(CONTAINER))
    p = daemon.path(CONTAINER, k.rel)
    wrong = []
    for i, (w, r) in enumerate(k.goods()):
        cur = read_file(p)
        # one-line values with and without their newline
        data = _payload(w) if (i % 2 == 0 or not w or k.is_list) else w
        res = write_file(p, data)
        if (_needs_missing(k, daemon) and cur not in _expected_reads(r)
                and r.rstrip("\n") != k.host_default):
            if res != errno.EOPNOTSUPP:
                wrong.append(f"{data!r}: host lacks {k.needs}: want EOPNOTSUPP, got {res}")
            continue
        if res != 0:
            wrong.append(f"{data!r}: write failed: {res}; last_error: {last_error(daemon, CONTAINER)!r}")
            continue
        got = read_file(p)
        if got not in _expected_reads(r):
            wrong.append(f"{data!r}: reads back {got!r}, want {r!r}")
        # writing the value it already has always succeeds
        res = write_file(p, _payload(r))
        if res != 0:
            wrong.append(f"rewriting {r!r}: {res}")
    assert not wrong, "\n".join(wrong)
    assert daemon.alive()


def _needle(k, bad: str):
    """The text last_error must quote for this bad value, if any."""
    if k.is_list:
        lines = [l for l in bad.split("\n") if l]
        bad = lines[-1] if len(lines) == 1 or bad.startswith("A=1") else ""
    if bad and bad.isprintable() and len(bad) < 100:
        return bad
    return None


@pytest.mark.parametrize("k", KEYS, ids=lambda k: k.id)
def test_bad_values(daemon, k):
    os.mkdir(daemon.path(CONTAINER))
    p = daemon.path(CONTAINER, k.rel)
    canon = daemon.path(CONTAINER, "cgroup", k.alias_of) if k.alias_of else None
    if not _needs_missing(k, daemon):
        w, _r = good_nondefault(k, CONTAINER)
        assert write_file(p, _payload(w)) == 0
    before = read_file(p)
    before_canon = read_file(canon) if canon else None
    before_mem = read_file(daemon.path(CONTAINER, "cgroup", "memory.max"))
    allowed = {errno.EINVAL} | ({errno.EOPNOTSUPP} if _needs_missing(k, daemon) else set())
    wrong = []
    for bad in k.bad + k.generic_bad():
        show = repr(bad if len(bad) < 60 else bad[:20] + f"...({len(bad)} bytes)")
        data = _payload(bad)
        res = write_file(p, data)
        if res not in allowed:
            wrong.append(f"{show}: want EINVAL, got {res}")
        elif not k.is_list and res.stage != "write":
            wrong.append(f"{show}: the error must come from write(2), got {res}")
        elif k.is_list and res.stage not in ("write", "close"):
            wrong.append(f"{show}: got {res}")
        if not daemon.alive():
            wrong.append(f"{show}: the daemon died")
            break
        now = read_file(p)
        if now != before:
            wrong.append(f"{show}: value changed from {before!r} to {now[:80]!r}")
            assert write_file(p, before if before else "\n") == 0
        if canon and read_file(canon) != before_canon:
            wrong.append(f"{show}: {k.alias_of} changed")
        if read_file(daemon.path(CONTAINER, "cgroup", "memory.max")) != before_mem:
            wrong.append(f"{show}: cgroup/memory.max changed (smuggled)")
        le = last_error(daemon, CONTAINER)
        if k.name not in le:
            wrong.append(f"{show}: last_error does not name {k.name}: {le!r}")
        needle = _needle(k, bad)
        if needle and not names_value(le, needle):
            wrong.append(f"{show}: last_error does not quote the value: {le!r}")
        if le.count("\n") > 1 or (le and not le.endswith("\n")):
            wrong.append(f"{show}: last_error is not one line: {le[:200]!r}")
    # the document is still one [cgroup] section, nothing smuggled in
    parse_ini(read_file(daemon.path(CONTAINER, "config")))
    assert not wrong, f"{k.rel}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("k", [k for k in KEYS if not k.is_list], ids=lambda k: k.id)
def test_one_line_value_in_pieces_is_not_a_list(daemon, k):
    """A one-line setting acts on each write: a second line in a second write is
    refused by that write, the first write's value stays."""
    os.mkdir(daemon.path(CONTAINER))
    if _needs_missing(k, daemon):
        pytest.skip(f"host lacks {k.needs}")
    p = daemon.path(CONTAINER, k.rel)
    w, r = good_nondefault(k, CONTAINER)
    res = write_file(p, [_payload(w), "x\n[cgroup]\nmemory.max=1\n"])
    assert res.writes[0] == 0, res
    assert res == errno.EINVAL and res.stage == "write", res
    assert read_file(p) in _expected_reads(r)
    mem_changes = "memory.max" in (k.name, k.alias_of)
    assert read_file(daemon.path(CONTAINER, "cgroup", "memory.max")) in (
        _expected_reads(r) if mem_changes else {"max\n"})


def test_one_mib_config_refused(daemon):
    os.mkdir(daemon.path(CONTAINER))
    p = daemon.path(CONTAINER, "config")
    before = read_file(p)
    doc = "[container]\n" + "env = A=" + "1" * (1 << 20) + "\n"
    res = write_file(p, doc)
    assert res == errno.EINVAL, res
    assert read_file(p) == before
    assert daemon.alive()


def test_errors_name_the_failure_in_words(daemon):
    os.mkdir(daemon.path(CONTAINER))
    res = write_file(daemon.path(CONTAINER, "cgroup", "memory.max"), "lots\n")
    assert res == errno.EINVAL and res.stage == "write"
    le = last_error(daemon, CONTAINER)
    assert "memory.max" in le and "lots" in le, le
    # a later good write does not erase the reason of the earlier failure
    assert write_file(daemon.path(CONTAINER, "hostname"), "x1\n") == 0
    assert last_error(daemon, CONTAINER) == le


@pytest.mark.parametrize("rel", [f"cgroup/{s}" for s in STATS] + ["pid", "exit_status", "runs"])
def test_write_to_read_only_file_names_it(daemon, rel):
    """Root may open a 0444 file for writing (CAP_DAC_OVERRIDE); the write is refused
    and last_error says which file."""
    os.mkdir(daemon.path(CONTAINER))
    res = write_file(daemon.path(CONTAINER, rel), "1\n")
    assert res != 0, rel
    err = last_error(daemon, CONTAINER)
    assert rel in err and "read-only" in err, (rel, res, err)
