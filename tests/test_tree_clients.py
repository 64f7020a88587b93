"""Real clients through subprocess and the syscalls editors, shells and copy tools make
around a write (doc/reference.md, "Rules every file follows"): echo, printf, tee, cp, cp -r, sed -i,
Python, install, truncate, touch, mv (rename over), temp files, O_APPEND, O_TRUNC,
fsync, chmod/chown, xattrs, ioctls, unlink, access."""
import errno
import fcntl
import os
import pathlib
import shutil
import stat
import termios
import time

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
    # all but the hostname, which follows the copy's name (web's is its default)
    assert read_file(daemon.path("web2", "config")) == \
        read_file(os.path.join(web, "config")).replace("hostname = web\n", "hostname = web2\n")
    assert val(daemon.path("web2"), "env") == "A=1\nB=2"


def test_cp_config_hostname_follows_the_name(daemon, web):
    """A copied configuration whose hostname is the source's own name (its default)
    names the copy after itself; a hostname set to anything else is copied."""
    os.mkdir(daemon.path("web2"))
    r = run(["cp", os.path.join(web, "config"), daemon.path("web2", "config")])
    assert r.returncode == 0, r.stderr
    assert val(daemon.path("web2"), "hostname") == "web2"
    assert val(web, "hostname") == "web"
    assert write_file(os.path.join(web, "hostname"), "h1\n") == 0
    r = run(["cp", os.path.join(web, "config"), daemon.path("web2", "config")])
    assert r.returncode == 0, r.stderr
    assert val(daemon.path("web2"), "hostname") == "h1"
    # a hostname naming another container that is not named after itself is kept
    assert write_file(os.path.join(web, "hostname"), "web2\n") == 0
    os.mkdir(daemon.path("web3"))
    r = run(["cp", os.path.join(web, "config"), daemon.path("web3", "config")])
    assert r.returncode == 0, r.stderr
    assert val(daemon.path("web3"), "hostname") == "web2"
    # the hostname file itself takes any name
    assert write_file(daemon.path("web3", "hostname"), "web\n") == 0
    assert val(daemon.path("web3"), "hostname") == "web"
    daemon.restart()
    assert val(daemon.path("web2"), "hostname") == "h1"
    assert val(daemon.path("web3"), "hostname") == "web"


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


def tmpfiles_held(daemon) -> int:
    """The number of client temp files the daemon holds in memory (an extended
    attribute of the mount's root)."""
    return int(os.getxattr(daemon.mnt, "user.containerfs.tmpfiles"))


def test_sed_i_frees_its_temp_files(daemon, web):
    """Each sed -i makes a temp file and renames it over the setting: once the kernel
    forgets the temp file's inode the daemon frees it, however many edits were made."""
    assert tmpfiles_held(daemon) == 0
    for i in range(200):
        rel = ("cgroup/cpu.weight", "hostname", "config")[i % 3]
        expr = {"cgroup/cpu.weight": f"s/.*/{100 + i}/", "hostname": f"s/.*/h{i}/",
                "config": "s/^hostname *=.*/&x/"}[rel]
        r = run(["sed", "-i", expr, os.path.join(web, rel)])
        assert r.returncode == 0, r.stderr
    # a last look at each name makes the kernel drop what it kept of the temp files
    # (their names are never cached); its FORGETs arrive in their own time
    for rel in ("cgroup/cpu.weight", "hostname", "config"):
        os.stat(os.path.join(web, rel))
    deadline = time.monotonic() + 30
    while tmpfiles_held(daemon) and time.monotonic() < deadline:
        for rel in ("cgroup/cpu.weight", "hostname", "config"):
            os.stat(os.path.join(web, rel))
        time.sleep(0.05)
    assert tmpfiles_held(daemon) == 0
    assert set(os.listdir(web)) == container_listing()


def test_temp_file_unlinked_while_open_is_freed_at_close(daemon, web):
    p = os.path.join(web, ".tmpedit")
    fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
    try:
        os.write(fd, b"x\n")
        os.unlink(p)
        assert tmpfiles_held(daemon) == 1  # still readable through fd
        assert os.pread(fd, 10, 0) == b"x\n"
    finally:
        os.close(fd)
    deadline = time.monotonic() + 30
    while tmpfiles_held(daemon) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tmpfiles_held(daemon) == 0


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


def _keeps_working(tool, web, scratch):
    """(shell script, file, content it must leave) for one tool editing in web."""
    env = os.path.join(web, "env")
    if tool == "perl -pi":
        return f"perl -pi -e 's/^B=2$/B=3/' {env}", "env", "A=1\nB=3\n"
    if tool == "patch":
        with open(os.path.join(scratch, "env"), "w") as f:
            f.write("A=1\nB=3\n")
        return (f"diff -u {env} {scratch}/env > {scratch}/p.diff; patch {env} {scratch}/p.diff",
                "env", "A=1\nB=3\n")
    if tool == "dd":
        return (f"printf '128M\\n' | dd of={web}/cgroup/memory.max status=none",
                "cgroup/memory.max", "128M\n")
    if tool == "rsync --inplace":
        with open(os.path.join(scratch, "m"), "w") as f:
            f.write("256M\n")
        return (f"rsync --inplace -I {scratch}/m {web}/cgroup/memory.max",
                "cgroup/memory.max", "256M\n")
    if tool == "tee -a":
        return f"echo C=4 | tee -a {env} >/dev/null", "env", "A=1\nB=2\nC=4\n"
    raise AssertionError(tool)


KEEPS_WORKING = ["perl -pi", "patch", "dd", "rsync --inplace", "tee -a"]


@pytest.mark.parametrize("tool", KEEPS_WORKING)
def test_tools_that_edit_in_place_or_by_rename(daemon, web, tmp_path, tool):
    """perl -pi, patch, dd, rsync --inplace and tee -a: the value lands whole, and
    nothing of the tool is left in the tree."""
    if shutil.which(tool.split()[0]) is None:
        pytest.skip(f"{tool.split()[0]} is not installed")
    assert sh(f"printf 'A=1\\nB=2\\n' > {web}/env").returncode == 0
    script, rel, want = _keeps_working(tool, web, str(tmp_path))
    r = sh(script, cwd=str(tmp_path))
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert read_file(os.path.join(web, rel)) == want
    assert set(os.listdir(web)) == container_listing()
    for sec in ("net", "cgroup"):
        left = [n for n in os.listdir(os.path.join(web, sec)) if n not in section_files(sec)
                and n not in STATS]
        assert not left, (sec, left)


VIMS = {  # backupskip= : the test's tree is under /tmp, which vim makes no backup for
    "defaults": ["vim", "--clean", "-i", "NONE", "-es", "-c", "set backupskip="],
    "vi-compatible": ["vim", "-u", "NONE", "-i", "NONE", "-es", "-c", "set backupskip="],
}


@pytest.mark.parametrize("vim", sorted(VIMS))
def test_vim_edits_a_setting(daemon, web, vim):
    """vim as installed (backupcopy=auto, writebackup): it tries to rename the file to
    its backup (refused), copies it there instead, unlinks the file and writes it anew:
    the unlink is held for vim, its create makes the replacement, its close lands it.
    With 'compatible' (backupcopy=yes) it writes in place. A bad value fails the write
    and changes nothing; no backup, swap or probe file is left."""
    if shutil.which("vim") is None:
        pytest.skip("vim is not installed")
    argv = VIMS[vim]
    mem = os.path.join(web, "cgroup", "memory.max")
    env = os.path.join(web, "env")
    assert run(["sh", "-c", f"echo 96M > {mem} && printf 'A=1\\nB=2\\n' > {env}"]).returncode == 0
    for path, cmd, want in ((mem, "%s/96M/128M/", "128M\n"), (env, "%s/B=2/B=3/", "A=1\nB=3\n"),
                            (os.path.join(web, "hostname"), "%s/web/edited/", "edited\n")):
        r = run(argv + ["-c", cmd, "-c", "wq", path])
        assert r.returncode == 0, (path, r.stdout, r.stderr)
        assert read_file(path) == want, path
    r = run(argv + ["-c", "%s/128M/lots/", "-c", "wq", mem])
    assert r.returncode != 0
    assert read_value(mem) == "128M"  # neither the bad value nor the default
    assert "lots" in last_error(daemon, "web")
    # after a failed write vim keeps its backup, if it made a copy (a temp file)
    backup = os.path.join(web, "cgroup", "memory.max~")
    if os.path.exists(backup):
        assert read_file(backup) == "128M\n"
        os.unlink(backup)
    # once vim is gone nothing is reset, and nothing of it is left
    assert read_value(mem) == "128M" and read_file(env) == "A=1\nB=3\n"
    assert set(os.listdir(web)) == container_listing()
    for sec in ("net", "cgroup"):
        left = [n for n in os.listdir(os.path.join(web, sec)) if n not in section_files(sec)
                and n not in STATS]
        assert not left, (sec, left)


@pytest.mark.parametrize("rel,mode", [("hostname", 0o644), ("config", 0o600), ("pid", 0o444),
                                      ("net/type", 0o644), ("cgroup/memory.current", 0o444),
                                      ("env", 0o600), ("", 0o755), ("net", 0o755),
                                      ("cgroup", 0o755)])
def test_chmod_chown(daemon, web, rel, mode):
    """chmod and chown to what the file is succeed. A chmod of a setting, config or a
    container directory to another mode succeeds and keeps the tree's mode (it is
    delegation's: widening would let others write), a chown to another owner keeps the
    container's; of a runtime file both fail."""
    p = os.path.join(web, rel)
    assert errno_of(os.chmod, p, mode) == 0
    assert errno_of(os.chown, p, 0, 0) == 0
    assert errno_of(os.chown, p, -1, -1) == 0
    runtime = rel in ("pid", "cgroup/memory.current")
    for other in (0o666, 0o777, 0o600, 0o000, 0o4755):
        if other != mode:
            assert errno_of(os.chmod, p, other) == (errno.EPERM if runtime else 0), oct(other)
            assert stat.S_IMODE(os.stat(p).st_mode) == mode, oct(other)
    # root's chown of the container's directory delegates it (test_delegation.py); of a
    # setting, config, net/ or cgroup/ it succeeds and keeps the container's owner
    if rel:
        assert errno_of(os.chown, p, 1000, 1000) == (errno.EPERM if runtime else 0)
    st = os.stat(p)
    assert stat.S_IMODE(st.st_mode) == mode and (st.st_uid, st.st_gid) == (0, 0)
    # nobody else may write what root's chmod 0666 did not open up
    if not runtime and not os.path.isdir(p) and shutil.which("setpriv"):
        r = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c",
                 f"echo x >> {p}"])
        assert r.returncode != 0 and "Permission denied" in r.stderr, r.stderr


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
