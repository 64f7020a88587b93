"""Real clients through subprocess and the syscalls editors, shells and copy tools make
around a write (doc/reference.md, "Rules every file follows"): echo, printf, tee, cp, cp -r, sed -i,
Python, install, truncate, touch, mv (rename over), temp files, O_APPEND, O_TRUNC,
fsync, chmod/chown, xattrs, ioctls, unlink, access."""
import errno
import fcntl
import os
import pathlib
import stat
import termios

import pytest

from lib.fsops import (errno_of, last_error, read_file, read_value, run, sh, write_file)
from lib.keys import DEF_DEVICES_ALLOW, SETTINGS, STATS, container_listing, section_files


def val(web, rel):
    return read_value(os.path.join(web, rel))


def test_echo(daemon, web):
    r = sh("echo 1G > cgroup/memory.max && echo db01 > hostname && echo veth > net/type", cwd=web)
    assert r.returncode == 0, r.stderr
    assert val(web, "cgroup/memory.max") == "1G"
    assert val(web, "hostname") == "db01"
    assert val(web, "net/type") == "veth"


def test_echo_bad_value_is_a_write_error(daemon, web):
    r = sh("echo bad > cgroup/memory.max", cwd=web)
    assert r.returncode != 0
    assert "write error: Invalid argument" in r.stderr, r.stderr
    assert val(web, "cgroup/memory.max") == "max"
    assert "memory.max" in last_error(daemon, "web")


def test_echo_n_without_newline(daemon, web):
    assert sh("echo -n 4 > tty", cwd=web).returncode == 0
    assert read_file(os.path.join(web, "tty")) == "4\n"


def test_printf_list_two_writes(daemon, web):
    r = sh(r"printf 'A=1\nB=2\n' > env", cwd=web)
    assert r.returncode == 0, r.stderr
    assert read_file(os.path.join(web, "env")) == "A=1\nB=2\n"


def test_tee(daemon, web):
    r = run(["tee", os.path.join(web, "cgroup/memory.max")], input="2G\n")
    assert r.returncode == 0, r.stderr
    assert val(web, "cgroup/memory.max") == "2G"
    r = run(["tee", os.path.join(web, "cgroup/memory.max")], input="bogus\n")
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert val(web, "cgroup/memory.max") == "2G"


def test_cp_file_onto_setting(daemon, web, tmp_path):
    src = tmp_path / "hostname"
    src.write_text("copied\n")
    r = run(["cp", str(src), os.path.join(web, "hostname")])
    assert r.returncode == 0, r.stderr
    assert val(web, "hostname") == "copied"
    src.write_text("-bad\n")
    r = run(["cp", str(src), os.path.join(web, "hostname")])
    assert r.returncode != 0
    assert val(web, "hostname") == "copied"


def test_cp_config_between_containers(daemon, web):
    """cp within the same FUSE mount: copy_file_range falls back to read+write."""
    for rel, v in (("cgroup/memory.max", "1G\n"), ("env", "A=1\nB=2\n"), ("net/type", "veth\n")):
        assert write_file(os.path.join(web, rel), v) == 0
    os.mkdir(daemon.path("web2"))
    r = run(["cp", os.path.join(web, "config"), daemon.path("web2", "config")])
    assert r.returncode == 0, r.stderr
    assert read_file(daemon.path("web2", "config")) == read_file(os.path.join(web, "config"))
    assert val(daemon.path("web2"), "env") == "A=1\nB=2"


def test_cp_r_clone(daemon, web):
    """Clone a container's settings into one made with mkdir.
    `cp -r web/. web2/` would also read web/events, which blocks by contract until a
    state changes (lxc-wait's semantics), so the clone copies `config` for the
    [container] section and `cp -r` only the net/ and cgroup/ directories."""
    for rel, v in (("hostname", "h1\n"), ("env", "A=1\n"), ("net/type", "veth\n"),
                   ("net/ipv4", "10.0.0.2/24\n"), ("cgroup/memory.max", "64M\n"),
                   ("cgroup/devices.allow", "c 1:3 rwm\n"), ("cgroup/cpu.weight", "300\n")):
        assert write_file(os.path.join(web, rel), v) == 0, rel
    os.mkdir(daemon.path("web2"))
    web2 = daemon.path("web2")
    r1 = run(["cp", os.path.join(web, "config"), os.path.join(web2, "config")])
    r2 = run(["cp", "-r", os.path.join(web, "net") + "/.", os.path.join(web2, "net") + "/"])
    r3 = run(["cp", "-r", os.path.join(web, "cgroup") + "/.", os.path.join(web2, "cgroup") + "/"])
    wrong = [f"{k.rel}: {val(web2, k.rel)!r} != {val(web, k.rel)!r}"
             for k in SETTINGS if val(web2, k.rel) != val(web, k.rel)]
    assert not wrong, "\n".join(wrong)
    assert read_file(os.path.join(web2, "config")) == read_file(os.path.join(web, "config"))
    # no stray names appeared (each setting listed once, no temp files)
    assert set(os.listdir(web2)) == container_listing()
    assert set(os.listdir(os.path.join(web2, "net"))) == set(section_files("net"))
    assert set(os.listdir(os.path.join(web2, "cgroup"))) == set(section_files("cgroup")) | set(STATS)
    for r in (r1, r2, r3):
        assert r.returncode == 0, f"{r.args}: rc {r.returncode}: {r.stderr}"


def test_sed_i_on_config(daemon, web):
    r = run(["sed", "-i", "s/^hostname *=.*/hostname = edited/", os.path.join(web, "config")])
    assert r.returncode == 0, r.stderr
    assert val(web, "hostname") == "edited"
    assert set(os.listdir(web)) == container_listing(), "sed's temp file stayed"


def test_sed_i_on_setting(daemon, web):
    r = run(["sed", "-i", "s/100/250/", os.path.join(web, "cgroup/cpu.weight")])
    assert r.returncode == 0, r.stderr
    assert val(web, "cgroup/cpu.weight") == "250"
    st = os.stat(os.path.join(web, "cgroup/cpu.weight"))
    assert stat.S_IMODE(st.st_mode) == 0o644 and (st.st_uid, st.st_gid) == (0, 0)
    assert set(os.listdir(os.path.join(web, "cgroup"))) == set(section_files("cgroup")) | set(STATS)
    assert "preserving permissions" not in r.stderr, r.stderr


def test_sed_i_bad_value_fails_the_rename(daemon, web):
    r = run(["sed", "-i", "s/.*/bogus/", os.path.join(web, "net/type")])
    assert r.returncode == 4, (r.returncode, r.stderr)
    assert "cannot rename" in r.stderr, r.stderr
    assert val(web, "net/type") == "empty"
    assert set(os.listdir(os.path.join(web, "net"))) == set(section_files("net")), \
        "sed's temp file stayed"
    assert "type" in last_error(daemon, "web")


def test_python_write_text(daemon, web):
    p = pathlib.Path(web, "cgroup", "pids.max")
    p.write_text("100")
    assert p.read_text() == "100\n"
    with pytest.raises(OSError) as e:
        p.write_text("lots")
    assert e.value.errno == errno.EINVAL
    assert p.read_text() == "100\n"
    with open(p, "w") as f:
        f.write("200\n")
    assert p.read_text() == "200\n"


def test_install_replaces(daemon, web, tmp_path):
    """install(1) unlinks the destination first, then creates it: the unlink is held
    for install until its create, whose content becomes the setting at its close
    (tests/test_tree_unlink.py covers the other tools)."""
    src = tmp_path / "hostname"
    src.write_text("installed\n")
    r = run(["install", "-m644", str(src), os.path.join(web, "hostname")])
    assert r.returncode == 0, r.stderr
    assert val(web, "hostname") == "installed"
    assert set(os.listdir(web)) == container_listing()


def test_truncate_s0_applies_nothing(daemon, web):
    assert write_file(os.path.join(web, "hostname"), "kept\n") == 0
    assert write_file(os.path.join(web, "env"), "A=1\n") == 0
    for rel in ("hostname", "env", "config", "cgroup/memory.max"):
        before = read_file(os.path.join(web, rel))
        r = run(["truncate", "-s0", os.path.join(web, rel)])
        assert r.returncode == 0, (rel, r.stderr)
        assert read_file(os.path.join(web, rel)) == before, rel


def test_touch(daemon, web):
    for rel in ("hostname", "config", "env", "net/type", "cgroup/memory.max"):
        before = read_file(os.path.join(web, rel))
        r = run(["touch", os.path.join(web, rel)])
        assert r.returncode == 0, (rel, r.stderr)
        assert read_file(os.path.join(web, rel)) == before
    os.utime(os.path.join(web, "hostname"), (1000000000, 1000000000))


def _tmp(web, name, data):
    p = os.path.join(web, name)
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)
    return p


def test_mv_over_setting(daemon, web):
    t = _tmp(web, ".hostname.new", "moved\n")
    r = run(["mv", t, os.path.join(web, "hostname")])
    assert r.returncode == 0, r.stderr
    assert val(web, "hostname") == "moved"
    assert not os.path.exists(t)
    assert set(os.listdir(web)) == container_listing()


def test_mv_bad_value_fails_with_einval(daemon, web):
    net = os.path.join(web, "net")
    t = _tmp(net, "tmp.type", "bogus\n")
    assert errno_of(os.rename, t, os.path.join(net, "type")) == errno.EINVAL
    assert val(web, "net/type") == "empty"
    assert "type" in last_error(daemon, "web")
    r = run(["mv", t, os.path.join(net, "type")])
    # (mv words EINVAL from rename as "cannot move ... to a subdirectory of itself")
    assert r.returncode != 0, r.stderr
    assert val(web, "net/type") == "empty"
    # the temp file is still there until unlinked
    assert os.path.exists(t)
    os.unlink(t)
    assert not os.path.exists(t)
    assert set(os.listdir(net)) == set(section_files("net"))


def test_rename_over_config(daemon, web):
    t = _tmp(web, ".ansible_tmpab12cd34config", "[container]\nhostname = viarename\n")
    os.chmod(t, 0o644)
    os.utime(t, (1000000000, 1000000000))
    os.rename(t, os.path.join(web, "config"))
    assert val(web, "hostname") == "viarename"
    t = _tmp(web, ".ansible_tmpzz12cd34config", "[container]\nhostname = -bad\n")
    assert errno_of(os.rename, t, os.path.join(web, "config")) == errno.EINVAL
    assert val(web, "hostname") == "viarename"
    os.unlink(t)


def test_rename_in_cgroup_dir(daemon, web):
    t = _tmp(os.path.join(web, "cgroup"), "sedAbC123", "512M\n")
    os.rename(t, os.path.join(web, "cgroup", "memory.max"))
    assert val(web, "cgroup/memory.max") == "512M"


def test_temp_file_is_not_configuration(daemon, web):
    before = read_file(os.path.join(web, "config"))
    t = _tmp(web, "4913", "junk\n")
    assert read_file(t) == "junk\n"
    assert read_file(os.path.join(web, "config")) == before
    os.unlink(t)
    assert errno_of(os.stat, t) == errno.ENOENT
    assert set(os.listdir(web)) == container_listing()


def test_temp_file_goes_with_rmdir(daemon, web):
    _tmp(web, ".config.swp", "x")
    _tmp(os.path.join(web, "net"), "tmpnet", "x")
    _tmp(os.path.join(web, "cgroup"), "tmpcg", "x")
    os.rmdir(web)
    assert "web" not in os.listdir(daemon.path())
    os.mkdir(web)
    assert set(os.listdir(web)) == container_listing()
    assert "tmpnet" not in os.listdir(os.path.join(web, "net"))
    assert "tmpcg" not in os.listdir(os.path.join(web, "cgroup"))


def test_o_append_adds_a_line(daemon, web):
    r = sh("echo A=1 > env && echo B=2 >> env && echo 'c 10:200 rwm' >> cgroup/devices.allow",
           cwd=web)
    assert r.returncode == 0, r.stderr
    assert read_file(os.path.join(web, "env")) == "A=1\nB=2\n"
    assert val(web, "cgroup/devices.allow").split("\n")[-1] == "c 10:200 rwm"
    assert len(val(web, "cgroup/devices.allow").split("\n")) == len(DEF_DEVICES_ALLOW.split("\n")) + 1
    r = sh("echo NOEQ >> env", cwd=web)
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    assert read_file(os.path.join(web, "env")) == "A=1\nB=2\n"


def test_o_append_whatever_the_offset(daemon, web):
    assert write_file(os.path.join(web, "env"), "A=1\n") == 0
    fd = os.open(os.path.join(web, "env"), os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, b"B=2\n")
        os.write(fd, b"C=3\n")
    finally:
        os.close(fd)
    assert read_file(os.path.join(web, "env")) == "A=1\nB=2\nC=3\n"


def test_o_trunc_nothing_written_applies_nothing(daemon, web):
    assert write_file(os.path.join(web, "hostname"), "kept\n") == 0
    assert write_file(os.path.join(web, "env"), "A=1\n") == 0
    for rel in ("hostname", "env", "state", "config", "cgroup/devices.allow"):
        before = read_file(os.path.join(web, rel))
        assert write_file(os.path.join(web, rel), []) == 0, rel
        assert write_file(os.path.join(web, rel), [],
                          flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC) == 0, rel
        assert read_file(os.path.join(web, rel)) == before, rel


def test_fsync_succeeds(daemon, web):
    res = write_file(os.path.join(web, "hostname"), "synced\n", fsync=True)
    assert res == 0, res
    assert val(web, "hostname") == "synced"
    res = write_file(os.path.join(web, "env"), "A=1\n", fsync=True)
    assert res == 0, res
    fd = os.open(os.path.join(web, "config"), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def test_vim_in_place_write(daemon, web):
    """open(O_WRONLY|O_CREAT) without O_TRUNC, ftruncate(0), write, fsync, fchmod."""
    p = os.path.join(web, "config")
    fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, b"[container]\nhostname = vim\n")
        os.fsync(fd)
        os.fchmod(fd, 0o600)  # the mode vim read: config may hold secrets
    finally:
        os.close(fd)
    assert val(web, "hostname") == "vim"


@pytest.mark.parametrize("rel,mode", [("hostname", 0o644), ("config", 0o600), ("pid", 0o444),
                                      ("net/type", 0o644), ("cgroup/memory.current", 0o444),
                                      ("", 0o755), ("net", 0o755)])
def test_chmod_chown_to_current_ok_other_eperm(daemon, web, rel, mode):
    p = os.path.join(web, rel)
    assert errno_of(os.chmod, p, mode) == 0
    assert errno_of(os.chown, p, 0, 0) == 0
    assert errno_of(os.chown, p, -1, -1) == 0
    other = 0o600 if mode != 0o600 else 0o644
    assert errno_of(os.chmod, p, other) == errno.EPERM
    if rel:  # root's chown of the container's directory delegates it (test_delegation.py)
        assert errno_of(os.chown, p, 1000, 1000) == errno.EPERM
    st = os.stat(p)
    assert stat.S_IMODE(st.st_mode) == mode and (st.st_uid, st.st_gid) == (0, 0)


def test_xattrs_and_ioctls_not_eperm(daemon, web):
    p = os.path.join(web, "hostname")
    assert errno_of(os.setxattr, p, "user.test", b"1") == errno.EOPNOTSUPP
    assert errno_of(os.getxattr, p, "user.test") in (errno.EOPNOTSUPP, errno.ENODATA)
    assert errno_of(os.listxattr, p) in (0, errno.EOPNOTSUPP)
    acl = b"\x02\x00\x00\x00\x01\x00\x06\x00\xff\xff\xff\xff\x04\x00\x04\x00\xff\xff\xff\xff" \
          b"\x20\x00\x04\x00\xff\xff\xff\xff"
    assert errno_of(os.setxattr, p, "system.posix_acl_access", acl) == errno.EOPNOTSUPP
    fd = os.open(p, os.O_RDONLY)
    try:
        e = errno_of(fcntl.ioctl, fd, termios.TCGETS, bytes(64))
        assert e in (errno.ENOTTY, errno.EOPNOTSUPP), e
        assert errno_of(fcntl.ioctl, fd, 0x80086601, bytes(8)) in (errno.ENOTTY, errno.EOPNOTSUPP)
    finally:
        os.close(fd)


@pytest.mark.parametrize("rel", ["config", "state", "pid", "last_error", "events",
                                 "cgroup/memory.current"])
def test_unlink_eperm_and_stays(daemon, web, rel):
    p = os.path.join(web, rel)
    before = read_file(p) if rel not in ("events", "last_error") else None
    assert errno_of(os.unlink, p) == errno.EPERM
    assert os.path.exists(p)
    if before is not None:
        assert read_file(p) == before
    r = run(["rm", "-f", p])
    assert r.returncode != 0 and os.path.exists(p)


@pytest.mark.parametrize("rel,value,default", [
    ("hostname", "other", "web"), ("net/type", "veth", "empty"),
    ("cgroup/memory.max", "96M", "max"), ("cgroup/cpu.shares", "512", "1024")])
def test_rm_setting_resets_it(daemon, web, rel, value, default):
    """rm alone: the unlink no create followed resets the setting to its default once
    rm has ended; the name never goes away."""
    p = os.path.join(web, rel)
    assert write_file(p, value + "\n") == 0
    r = run(["rm", "-f", p])
    assert r.returncode == 0, r.stderr
    assert os.path.exists(p)
    assert read_value(p) == default


def test_access(daemon, web):
    assert os.access(os.path.join(web, "hostname"), os.R_OK | os.W_OK)
    assert os.access(os.path.join(web, "config"), os.R_OK | os.W_OK)
    assert os.access(web, os.R_OK | os.W_OK | os.X_OK)
    assert os.access(os.path.join(web, "cgroup"), os.W_OK)
    assert os.access(os.path.join(web, "pid"), os.R_OK)
    assert not os.access(os.path.join(web, "pid"), os.X_OK)


def test_bash_read_loop_over_a_list(daemon, web):
    assert write_file(os.path.join(web, "env"), "A=1\nB=2\nC=3\n") == 0
    r = sh("while IFS= read -r l; do echo \"<$l>\"; done < env", cwd=web)
    assert r.stdout == "<A=1>\n<B=2>\n<C=3>\n"
    r = sh("v=$(<hostname); echo \"[$v]\"", cwd=web)
    assert r.stdout == "[web]\n"
