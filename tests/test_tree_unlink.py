"""Unlink-then-create tools: install, mv from another filesystem, cp
--remove-destination and tar -x remove the destination and create it again. The
unlink of a setting is held for the process that made it until it creates the name
again; everyone else sees the setting all along; `rm` alone resets it to its default."""
import errno
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import threading

import pytest

from lib.fsops import errno_of, last_error, read_file, read_value, run
from lib.keys import container_listing

OLD = 1_500_000_000_000_000_000


def _src(tmp_path, name, text, mode=0o644):
    p = tmp_path / name
    p.write_text(text)
    os.chmod(p, mode)
    os.utime(p, ns=(OLD, OLD))
    return str(p)


def _clean(web):
    assert set(os.listdir(web)) == container_listing()


def test_install(daemon, web, tmp_path):
    src = _src(tmp_path, "h", "installed\n")
    r = run(["install", "-m", "644", src, os.path.join(web, "hostname")])
    assert r.returncode == 0, r.stderr
    assert read_value(os.path.join(web, "hostname")) == "installed"
    r = run(["install", "-p", "-m", "644", _src(tmp_path, "m", "96M\n"),
             os.path.join(web, "cgroup", "memory.max")])
    assert r.returncode == 0, r.stderr
    assert read_value(os.path.join(web, "cgroup", "memory.max")) == "96M"
    assert os.stat(os.path.join(web, "cgroup", "memory.max")).st_mtime_ns == OLD
    _clean(web)


def test_install_bad_value_changes_nothing(daemon, web, tmp_path):
    r = run(["install", "-m", "644", _src(tmp_path, "m", "lots\n"),
             os.path.join(web, "cgroup", "memory.max")])
    assert r.returncode != 0
    assert read_value(os.path.join(web, "cgroup", "memory.max")) == "max"
    assert "lots" in last_error(daemon, "web")
    _clean(web)


def test_mv_from_another_filesystem(daemon, web, tmp_path):
    assert os.stat(tmp_path).st_dev != os.stat(web).st_dev
    src = _src(tmp_path, "env", "A=1\nB=2\n")
    r = run(["mv", src, os.path.join(web, "env")])
    assert r.returncode == 0, r.stderr
    assert read_file(os.path.join(web, "env")) == "A=1\nB=2\n"
    assert not os.path.exists(src)
    assert os.stat(os.path.join(web, "env")).st_mtime_ns == OLD  # mv keeps the time
    _clean(web)


def test_cp_remove_destination(daemon, web, tmp_path):
    r = run(["cp", "--remove-destination", _src(tmp_path, "t", "veth\n"),
             os.path.join(web, "net", "type")])
    assert r.returncode == 0, r.stderr
    assert read_value(os.path.join(web, "net", "type")) == "veth"
    assert "type" in os.listdir(os.path.join(web, "net"))
    _clean(web)


@pytest.mark.parametrize("overwrite", [False, True])
def test_tar_x(daemon, web, tmp_path, overwrite):
    tree = tmp_path / "tree"
    (tree / "cgroup").mkdir(parents=True)
    os.chmod(tree, 0o755)
    os.chmod(tree / "cgroup", 0o755)
    _src(tree, "hostname", "from-tar\n")
    _src(tree / "cgroup", "pids.max", "64\n")
    archive = tmp_path / "t.tar"
    with tarfile.open(archive, "w") as t:
        t.add(tree / "hostname", arcname="hostname")
        t.add(tree / "cgroup" / "pids.max", arcname="cgroup/pids.max")
    argv = ["tar", "-xf", str(archive), "-C", web] + (["--overwrite"] if overwrite else [])
    r = run(argv)
    assert r.returncode == 0, r.stderr
    assert read_value(os.path.join(web, "hostname")) == "from-tar"
    assert read_value(os.path.join(web, "cgroup", "pids.max")) == "64"
    assert os.stat(os.path.join(web, "hostname")).st_mtime_ns // 10**9 == OLD // 10**9
    _clean(web)


def test_rm_alone_resets_to_the_default(daemon, web):
    host = os.path.join(web, "hostname")
    env = os.path.join(web, "env")
    assert run(["sh", "-c", f"echo other > {host} && echo A=1 > {env}"]).returncode == 0
    r = run(["rm", host, env])
    assert r.returncode == 0, r.stderr
    # the container never lacks the setting: back to the default
    assert read_value(host) == "web"
    assert read_file(env) == "\n"
    _clean(web)
    # runtime files and config still cannot be removed
    assert errno_of(os.unlink, os.path.join(web, "state")) == errno.EPERM
    assert errno_of(os.unlink, os.path.join(web, "config")) == errno.EPERM


def test_others_see_the_setting_until_it_is_created_again(daemon, web):
    host = os.path.join(web, "hostname")
    assert run(["sh", "-c", f"echo before > {host}"]).returncode == 0
    os.unlink(host)
    # to this process the name is gone ...
    assert errno_of(os.stat, host) == errno.ENOENT
    # ... to every other one the setting is there, unchanged
    out = subprocess.run(["cat", host], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and out.stdout == "before\n", out
    assert "hostname" in subprocess.run(["ls", web], capture_output=True, text=True,
                                        timeout=10).stdout.split()
    fd = os.open(host, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, b"after\n")
        # not landed until the close
        out = subprocess.run(["cat", host], capture_output=True, text=True, timeout=10)
        assert out.stdout == "before\n", out
    finally:
        os.close(fd)
    assert read_value(host) == "after"
    out = subprocess.run(["cat", host], capture_output=True, text=True, timeout=10)
    assert out.stdout == "after\n", out
    _clean(web)


def test_rm_r_changes_nothing(daemon, web):
    """rm -r of a container's directory fails (runtime files, config and the
    directories cannot go while it has them): the unlinks of its settings it made on
    the way reset nothing."""
    host = os.path.join(web, "hostname")
    mem = os.path.join(web, "cgroup", "memory.max")
    assert run(["sh", "-c", f"echo kept > {host} && echo 96M > {mem}"]).returncode == 0
    r = run(["rm", "-rf", os.path.join(web, "cgroup")])
    assert r.returncode != 0
    assert read_value(mem) == "96M"
    r = run(["rm", "-r", "-f", web])
    assert read_value(host) == "kept"
    assert read_value(mem) == "96M"
    _clean(web)


def test_every_thread_of_the_process_is_its_client(daemon, web):
    """A hole is the process's, not the thread's: one thread unlinks, another creates."""
    host = os.path.join(web, "hostname")
    t = threading.Thread(target=os.unlink, args=(host,))
    t.start()
    t.join()
    fd = os.open(host, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, b"threaded\n")
    finally:
        os.close(fd)
    assert read_value(host) == "threaded"
    out = subprocess.run(["cat", host], capture_output=True, text=True, timeout=10)
    assert out.stdout == "threaded\n", out
    _clean(web)


NS_LAST_PID = "/proc/sys/kernel/ns_last_pid"


def test_a_recycled_pid_is_another_process(daemon, web):
    """A process that got the pid of one that unlinked a setting and ended is not that
    process: the name is there for it, and the unlink alone reset the setting."""
    host = os.path.join(web, "hostname")
    assert run(["sh", "-c", f"echo before > {host}"]).returncode == 0
    if not os.access(NS_LAST_PID, os.W_OK):
        pytest.skip(f"{NS_LAST_PID} is not writable here: no pid can be had again")
    first = run([sys.executable, "-c", f"import os; os.unlink({host!r}); print(os.getpid())"])
    assert first.returncode == 0, first.stderr
    pid = int(first.stdout)
    # nothing here touches the tree until the pid is another process's: the first
    # look at it, the second process's own, is where the hole is settled
    code = None
    for _ in range(100):
        with open(NS_LAST_PID, "w") as f:
            f.write(str(pid - 1))
        child = os.fork()
        if child == 0:
            if os.getpid() != pid:
                os._exit(3)  # another process took the pid first: try again
            try:
                fd = os.open(host, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                os._exit(1)
            except BaseException:
                os._exit(2)
            os.write(fd, b"intruder\n")
            os.close(fd)
            os._exit(0)
        _, status = os.waitpid(child, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 3:
            break
    if code == 3:
        pytest.skip(f"pid {pid} was always taken by another process first")
    assert code == 1, "the second process filled the first one's hole"
    assert read_value(host) == "web"  # the unlink alone: back to the default
    _clean(web)


# unlink NAME, write a temp file, rename it onto NAME: one process, as a script
_UNLINK_THEN_RENAME = """
import ctypes, os, sys
dst, value, noreplace = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
tmp = os.path.join(os.path.dirname(dst), "." + os.path.basename(dst) + ".new")
os.unlink(dst)
with open(tmp, "w") as f:
    f.write(value + "\\n")
os.utime(tmp, ns=(%d, %d))
if noreplace:  # renameat2(RENAME_NOREPLACE): the name is free to this process
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(-100, tmp.encode(), -100, dst.encode(), 1) != 0:
        print("rename", ctypes.get_errno())
        sys.exit(0)
else:
    try:
        os.rename(tmp, dst)
    except OSError as e:
        os.unlink(tmp)
        print("rename", e.errno)
        sys.exit(0)
with open(dst) as f:  # the name is the setting again, to this process too
    print("reads", f.read().strip())
""" % (OLD, OLD)


def _unlink_then_rename(dst, value, noreplace=False):
    r = run([sys.executable, "-c", _UNLINK_THEN_RENAME, dst, value, "1" if noreplace else "0"])
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


@pytest.mark.parametrize("noreplace", [False, True])
def test_a_rename_fills_the_hole(daemon, web, noreplace):
    """unlink, then a temp file renamed onto the name: the rename is the create the
    hole waited for; the value lands whole and stays once the process is gone."""
    mem = os.path.join(web, "cgroup", "memory.max")
    assert run(["sh", "-c", f"echo 96M > {mem}"]).returncode == 0
    assert _unlink_then_rename(mem, "97M", noreplace) == ["reads", "97M"]
    assert read_value(mem) == "97M"  # and not reset to the default
    assert os.stat(mem).st_mtime_ns == OLD  # the temp file's time
    _clean(web)
    assert set(os.listdir(os.path.join(web, "cgroup"))) >= {"memory.max"}
    assert not [n for n in os.listdir(os.path.join(web, "cgroup")) if n.startswith(".")]


def test_a_bad_value_renamed_into_the_hole_changes_nothing(daemon, web):
    mem = os.path.join(web, "cgroup", "memory.max")
    assert run(["sh", "-c", f"echo 96M > {mem}"]).returncode == 0
    assert _unlink_then_rename(mem, "lots") == ["rename", str(errno.EINVAL)]
    assert read_value(mem) == "96M"  # neither the bad value nor the default
    assert "lots" in last_error(daemon, "web")
    _clean(web)


def _modes(web):
    return {rel: stat.S_IMODE(os.stat(os.path.join(web, rel)).st_mode)
            for rel in ("", "cgroup", "hostname", "env", "cgroup/pids.max")}


@pytest.mark.parametrize("tool", ["cp -p", "rsync -a", "install -m", "tar -x"])
def test_tools_that_chmod_after_writing(daemon, web, tmp_path, tool):
    """cp -p, rsync -a, install -m and tar -x set the source's mode after writing: the
    value and the time land, the chmod succeeds, and the mode stays the tree's (a
    setting 0644, env 0600: what the source's 0666/0775 would widen, none gets)."""
    if shutil.which(tool.split()[0]) is None:
        pytest.skip(f"{tool.split()[0]} is not installed")
    before = _modes(web)
    tree = tmp_path / "tree"
    (tree / "cgroup").mkdir(parents=True)
    values = {"hostname": "moded", "env": "A=1", "cgroup/pids.max": "64"}
    for rel, v in values.items():
        _src(tree, rel, v + "\n", mode=0o666 if rel != "env" else 0o644)
    for d in (tree / "cgroup", tree):
        os.chmod(d, 0o777)
        os.utime(d, ns=(OLD, OLD))
    if tool == "cp -p":
        argv = [["cp", "-p", str(tree / rel), os.path.join(web, rel)] for rel in values]
    elif tool == "rsync -a":
        argv = [["rsync", "-a", f"{tree}/", f"{web}/"]] * 2  # the second: nothing to send
    elif tool == "install -m":
        argv = [["install", "-m", "666", str(tree / rel), os.path.join(web, rel)]
                for rel in values]
    else:
        archive = tmp_path / "t.tar"
        r = run(["tar", "-cf", str(archive), "-C", str(tree), "."])
        assert r.returncode == 0, r.stderr
        argv = [["tar", "-xf", str(archive), "-C", web]]
    for a in argv:
        r = run(a, timeout=60)
        assert r.returncode == 0, (a, r.stdout, r.stderr)
    for rel, v in values.items():
        assert read_value(os.path.join(web, rel)) == v, rel
        if tool != "install -m":  # install sets the time of its copy
            assert os.stat(os.path.join(web, rel)).st_mtime_ns // 10**9 == OLD // 10**9, rel
    assert _modes(web) == before
    _clean(web)
