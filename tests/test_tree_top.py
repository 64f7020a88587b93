"""The top of the tree: .version, .checkconfig, creating and destroying containers."""
import errno
import os
import re

import pytest

from lib.daemon import cgroup_layout
from lib.fsops import errno_of, read_file, read_value, run, write_file
from lib.keys import NS_NAMES

TOP_FILES = {".version", ".checkconfig", ".events"}


def test_version_is_one_line(daemon):
    t = read_file(daemon.path(".version"))
    assert t.endswith("\n") and t.count("\n") == 1, repr(t)
    assert t.strip(), "empty version"


def _features(text):
    """[(feature tokens, feature, status)] of the `feature: status` lines."""
    out = []
    for line in text.splitlines():
        feature, status = line.split(": ", 1)
        out.append((set(re.split(r"[^a-z0-9_]+", feature.lower())) - {""}, feature, status))
    return out


def test_checkconfig_says_which_system_calls_the_kernel_has(daemon):
    """openat2 and mount_setattr: the lines agree with what the kernel answers here."""
    import ctypes
    import errno
    libc = ctypes.CDLL(None, use_errno=True)
    text = read_file(daemon.path(".checkconfig"))
    for name, nr in (("openat2", 437), ("mount_setattr", 442)):  # one number on every arch
        ctypes.set_errno(0)
        r = libc.syscall(nr, -1, b"", None, 0, 0)
        has = r == 0 or ctypes.get_errno() != errno.ENOSYS
        lines = [l for l in text.splitlines() if l.startswith(name + ": ")]
        assert len(lines) == 1, (name, text)
        assert lines[0].startswith(f"{name}: yes") == has, (lines[0], has)


def test_checkconfig_lines(daemon):
    text = read_file(daemon.path(".checkconfig"))
    assert text.endswith("\n")
    bad = [l for l in text.splitlines() if not re.match(r"^[^:\s][^:]*: \S.*$", l)]
    assert not bad, f"lines not `feature: status`: {bad}"
    feats = _features(text)

    def lines_with(*tokens):
        return [(f, s) for toks, f, s in feats if set(tokens) <= toks]

    missing = []
    synonyms = {"mnt": ["mnt", "mount"], "net": ["net", "network"]}
    for ns in NS_NAMES:
        found = any(lines_with(name, w) for name in synonyms.get(ns, [ns])
                    for w in ("namespace", "ns", "namespaces"))
        if not found:
            missing.append(f"{ns} namespace")
    layout = [(f, s) for toks, f, s in feats
              if "cgroup" in toks and ({"layout", "version", "hierarchy", "mode"} & toks)]
    if not layout:
        missing.append("cgroup layout")
    else:
        want = cgroup_layout()
        assert any(want in s.lower() for _f, s in layout), \
            f"cgroup layout of this host is {want}; .checkconfig says {layout}"
    for ctrl in (["cpu"], ["cpuset"], ["memory"], ["pids"], ["devices"], ["freezer"],
                 ["io", "blkio"], ["net_cls"]):
        if not any(lines_with(c) for c in ctrl):
            missing.append(f"controller {'/'.join(ctrl)}")
    for f in ("overlay", "veth"):
        if not any(f in toks or any(t.startswith(f) for t in toks) for toks, _f, _s in feats):
            missing.append(f)
    assert not missing, f".checkconfig lacks {missing}:\n{text}"


def test_top_modes(daemon):
    st = os.stat(daemon.path())
    assert oct(st.st_mode & 0o7777) == oct(0o755) and st.st_uid == 0 and st.st_gid == 0
    for f in TOP_FILES:
        st = os.lstat(daemon.path(f))
        assert os.path.stat.S_ISREG(st.st_mode), f
        assert oct(st.st_mode & 0o7777) == oct(0o444), f
        assert (st.st_uid, st.st_gid) == (0, 0), f


def test_mkdir_rmdir(daemon):
    p = daemon.path("web")
    os.mkdir(p)
    assert os.path.isdir(p)
    assert read_file(daemon.path("web", "state")) == "STOPPED\n"
    assert "web" in os.listdir(daemon.path())
    os.rmdir(p)
    assert not os.path.exists(p)
    assert "web" not in os.listdir(daemon.path())
    assert errno_of(os.stat, p) == errno.ENOENT


@pytest.mark.parametrize("name", ["a", "A-b_c.1", "0abc", "web.example.com", "x" * 64, "a..b", "a-"])
def test_mkdir_good_names(daemon, name):
    os.mkdir(daemon.path(name))
    assert name in os.listdir(daemon.path())
    assert read_value(daemon.path(name, "hostname")) == name


BAD_NAMES = [".x", "-x", "x" * 65, "a b", "a:b", "a*", "caf\u00e9", "a\\b", "..x", ".hidden",
             "a\tb", "a\nb", "a$b", "a;b", "a'b", "~x", "-", "._"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda n: repr(n)[:20])
def test_mkdir_bad_names(daemon, name):
    assert errno_of(os.mkdir, daemon.path(name)) == errno.EINVAL
    assert set(os.listdir(daemon.path())) == TOP_FILES


def test_mkdir_existing_eexist(daemon):
    os.mkdir(daemon.path("web"))
    os.mkdir(daemon.path("db"))
    assert errno_of(os.mkdir, daemon.path("web")) == errno.EEXIST
    assert set(os.listdir(daemon.path())) == TOP_FILES | {"web", "db"}


def test_name_traversal_cannot_be_made(daemon):
    os.mkdir(daemon.path("web"))
    # '/' never reaches the daemon as part of a name: the kernel walks the path
    assert errno_of(os.mkdir, daemon.path("a/b")) == errno.ENOENT
    assert errno_of(os.mkdir, daemon.path("..")) == errno.EEXIST
    assert errno_of(os.mkdir, daemon.path(".")) == errno.EEXIST
    # no directory can be made inside a container (it would be `web/b`)
    assert errno_of(os.mkdir, daemon.path("web", "b")) != 0
    assert errno_of(os.mkdir, daemon.path("web", "..x")) != 0
    assert set(os.listdir(daemon.path())) == TOP_FILES | {"web"}
    assert "b" not in os.listdir(daemon.path("web"))
    # nothing escaped into the state dir's parent either
    assert sorted(os.listdir(daemon.base)) == sorted(
        ["mnt", "state", "run"] + [os.path.basename(f) for f in daemon.stderr_files])


def test_name_length_64_ok_65_einval(daemon):
    os.mkdir(daemon.path("n" * 64))
    assert errno_of(os.mkdir, daemon.path("m" * 65)) == errno.EINVAL
    assert set(os.listdir(daemon.path())) == TOP_FILES | {"n" * 64}


def test_no_regular_file_at_top(daemon):
    p = daemon.path("file")
    assert errno_of(os.open, p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644) == errno.EPERM
    assert errno_of(os.open, p, os.O_WRONLY | os.O_CREAT, 0o644) == errno.EPERM
    assert write_file(p, "x", flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC) == errno.EPERM
    r = run(["touch", p])
    assert r.returncode != 0
    assert errno_of(os.symlink, "web", daemon.path("link")) != 0
    assert set(os.listdir(daemon.path())) == TOP_FILES


def test_top_files_cannot_be_unlinked_or_written(daemon):
    for f in TOP_FILES:
        assert errno_of(os.unlink, daemon.path(f)) == errno.EPERM, f
        assert os.path.exists(daemon.path(f))
    before = read_file(daemon.path(".version"))
    assert write_file(daemon.path(".version"), "9.9.9\n") != 0
    assert read_file(daemon.path(".version")) == before


def test_ls_lists_containers(daemon):
    for n in ("web", "db", "cache"):
        os.mkdir(daemon.path(n))
    r = run(["ls", daemon.path()], check=True)
    assert r.stdout.split() == ["cache", "db", "web"]
    assert set(os.listdir(daemon.path())) == TOP_FILES | {"web", "db", "cache"}
    os.rmdir(daemon.path("db"))
    assert run(["ls", daemon.path()], check=True).stdout.split() == ["cache", "web"]


def _mentions(d, needle):
    """Paths under d whose name or content mentions needle."""
    hits = []
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            if needle in n:
                hits.append(os.path.join(root, n))
        for n in files:
            try:
                with open(os.path.join(root, n), "rb") as f:
                    if needle.encode() in f.read():
                        hits.append(os.path.join(root, n))
            except OSError:
                pass
    return hits


def test_rmdir_removes_config_and_state(daemon):
    os.mkdir(daemon.path("gone"))
    os.mkdir(daemon.path("kept"))
    assert write_file(daemon.path("gone", "hostname"), "zq-gone-host\n") == 0
    assert write_file(daemon.path("gone", "cgroup", "memory.max"), "77M\n") == 0
    assert write_file(daemon.path("kept", "hostname"), "zq-kept-host\n") == 0
    assert _mentions(daemon.state_dir, "zq-gone-host"), "the setting is not in the state dir"
    assert _mentions(daemon.state_dir, "gone"), "the container is not in the state dir"
    os.rmdir(daemon.path("gone"))
    assert not _mentions(daemon.state_dir, "zq-gone-host")
    assert not [p for p in _mentions(daemon.state_dir, "gone") if "gone" in os.path.basename(p)]
    assert not [p for p in _mentions(daemon.run_dir, "gone") if "gone" in os.path.basename(p)]
    assert _mentions(daemon.state_dir, "zq-kept-host")
    # a new container of the same name starts from the defaults
    os.mkdir(daemon.path("gone"))
    assert read_value(daemon.path("gone", "hostname")) == "gone"
    assert read_value(daemon.path("gone", "cgroup", "memory.max")) == "max"


def test_rmdir_missing_enoent(daemon):
    assert errno_of(os.rmdir, daemon.path("nothere")) == errno.ENOENT
    assert errno_of(os.rmdir, daemon.path(".version")) == errno.ENOTDIR


def test_rmdir_of_container_subdirs_refused(daemon):
    os.mkdir(daemon.path("web"))
    for sub in ("net", "cgroup", "ns"):
        assert errno_of(os.rmdir, daemon.path("web", sub)) != 0, sub
        assert os.path.isdir(daemon.path("web", sub))


def test_detaches_once_mounted(daemon_factory):
    """Without -f the command returns when the tree is usable; unmounting ends it."""
    d = daemon_factory(start=False)
    d.start_detached()
    assert d.is_mounted()
    assert read_file(d.path(".version")).strip()
    os.mkdir(d.path("web"))
    assert read_file(d.path("web", "state")) == "STOPPED\n"
    # teardown unmounts it and checks the process ends and nothing leaked


def test_top_events_first_read_lists_every_container(daemon):
    for n in ("a", "b"):
        os.mkdir(daemon.path(n))
    fd = os.open(daemon.path(".events"), os.O_RDONLY | os.O_NONBLOCK)
    try:
        first = os.read(fd, 4096).decode()
        assert errno_of(os.read, fd, 4096) == errno.EAGAIN
    finally:
        os.close(fd)
    assert first.endswith("\n")
    assert sorted(first.splitlines()) == ["a STOPPED", "b STOPPED"]
