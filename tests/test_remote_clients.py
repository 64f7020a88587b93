"""Beyond one machine (doc/reference.md, "Over sshfs, and with Ansible"): the tree
managed by remote clients with no agent of ours. sshfs through a private sshd on 127.0.0.1 (sftp-server does the file operations,
writes arrive in 32 KiB SFTP pieces), and Ansible's copy, lineinfile and file modules
(read, compare, write a temp file and rename it over the setting; idempotent runs).

What sshfs (3.7, default options) adds between the client and the daemon, measured here:
- writes are asynchronous: a write the daemon rejects fails the client's close(2)
  (FUSE FLUSH) with EIO, not the write(2) itself. Python's close raises; a shell's
  `echo bad > file` ignores errors of close(2), so the shell sees the error only on a
  mount with `-o sshfs_sync` (then `write error: Input/output error`).
- the SFTP CLOSE of a file goes out on FUSE RELEASE, after close(2) has returned: a list
  or `config`, applied when the daemon's file is closed, is settled a moment later
  (Sshfs.settle waits for exactly that).
- the sshfs mount has a page cache and attributes of its own (attr_timeout 1 s): a file
  whose length changes through another file (env through config) may read short there
  for up to a second, so such values are checked on the daemon's mount."""
import errno
import json
import os
import pathlib
import re
import subprocess

import pytest

from lib.fsops import (last_error, parse_ini, read_file, read_value, sh, write_file)
from lib.keys import container_listing, section_files
from lib.lifecycle import wait_for
from lib.remote import (SFTP_SERVER, SSHD, Sshd, Sshfs, ansible_adhoc, ansible_env,
                        missing_tools)

SFTP_PIECE = 32768  # sftp cuts writes into pieces of this size


def state_entries(daemon, container):
    """Files and directories of the state dir that belong to the container (its name is
    the first component of their path there, or that component's stem)."""
    out = []
    for root, dirs, files in os.walk(daemon.state_dir):
        for n in dirs + files:
            p = os.path.join(root, n)
            top = os.path.relpath(p, daemon.state_dir).split(os.sep)[0]
            if top == container or top.startswith(container + "."):
                out.append(p)
    return out


def persisted(daemon, container, needle):
    """needle is in a state-dir file of the container (the setting is on disk)."""
    hits = []
    for p in state_entries(daemon, container):
        try:
            with open(p, "rb") as f:
                if needle.encode() in f.read():
                    hits.append(p)
        except OSError:  # its directories
            pass
    return hits


# ---- sshfs ----

@pytest.fixture
def sshd(tmp_path):
    miss = missing_tools("sshfs", SSHD, SFTP_SERVER, "ssh", "ssh-keygen", "fusermount3")
    if miss:
        pytest.skip(f"not installed: {' '.join(miss)} (scripts/deps installs them)")
    s = Sshd(str(tmp_path / "ssh"))
    s.start()
    yield s
    problems = s.stop()
    if problems:
        pytest.fail("sshd teardown: " + "; ".join(problems), pytrace=False)


@pytest.fixture
def sshfs(daemon, sshd, tmp_path):
    """mount(opts=()) -> Sshfs of the daemon's tree through sshd; all are unmounted (and
    sshfs reaped) at teardown, before sshd and the daemon end."""
    mounts = []

    def mount(opts=()) -> Sshfs:
        n = len(mounts)
        m = Sshfs(sshd, daemon.mnt, str(tmp_path / f"sshfs{n}"), opts,
                  log=str(tmp_path / f"sshfs{n}.log"))
        mounts.append(m)
        m.mount()
        return m

    yield mount
    problems = []
    for m in reversed(mounts):
        problems += m.unmount()
    if problems:
        pytest.fail("sshfs teardown: " + "; ".join(problems), pytrace=False)


@pytest.mark.timeout(30)
def test_sshfs_manages_a_container(daemon, sshfs):
    fs = sshfs()
    rweb = os.path.join(fs.mnt, "web")          # through sshfs
    lweb = daemon.path("web")                   # the daemon's own mount

    def both(rel):
        return read_value(os.path.join(rweb, rel)), read_value(os.path.join(lweb, rel))

    # mkdir creates the container, with the defaults
    os.mkdir(rweb)
    assert "web" in os.listdir(daemon.path())
    assert state_entries(daemon, "web"), "the new container is not in the state dir"
    assert set(os.listdir(rweb)) == container_listing()
    assert both("hostname") == ("web", "web")
    assert both("cgroup/memory.max") == ("max", "max")
    assert both("net/type") == ("empty", "empty")
    assert both("env") == ("", "")
    assert read_file(os.path.join(rweb, "config")) == read_file(os.path.join(lweb, "config"))

    # echo with a suffix; reads give it back as written on both sides
    r = sh("echo 128M > cgroup/memory.max", cwd=rweb)
    assert r.returncode == 0, r.stderr
    assert both("cgroup/memory.max") == ("128M", "128M")
    assert persisted(daemon, "web", "memory.max = 128M")

    # a bad value: an error the client sees, and nothing changes. sshfs writes
    # asynchronously, so the error comes back from close(2), as EIO.
    res = write_file(os.path.join(rweb, "cgroup/memory.max"), "bad\n")
    assert int(res) in (errno.EINVAL, errno.EIO), res
    fs.settle(os.path.join(lweb, "cgroup/memory.max"))
    assert both("cgroup/memory.max") == ("128M", "128M")
    msg = last_error(daemon, "web")
    assert "memory.max" in msg and "bad" in msg, msg
    # the shell ignores close(2)'s error: `echo bad >` on a default sshfs mount exits 0
    # (not asserted either way); it still changes nothing
    sh("echo bad > cgroup/memory.max", cwd=rweb)
    fs.settle(os.path.join(lweb, "cgroup/memory.max"))
    assert both("cgroup/memory.max") == ("128M", "128M")
    # with -o sshfs_sync the write itself fails, and the shell says so
    rweb_sync = os.path.join(sshfs(["sshfs_sync"]).mnt, "web")
    r = sh("echo 1X > cgroup/memory.max", cwd=rweb_sync)
    assert r.returncode != 0 and "write error" in r.stderr, (r.returncode, r.stderr)
    assert both("cgroup/memory.max") == ("128M", "128M")
    assert "1X" in last_error(daemon, "web")

    # a list in two writes, then sed -i (temp file sedXXXXXX in web/, renamed over env)
    r = sh(r"printf 'A=1\nB=2\n' > env", cwd=rweb)
    assert r.returncode == 0, r.stderr
    fs.settle(os.path.join(lweb, "env"))
    assert both("env") == ("A=1\nB=2", "A=1\nB=2")
    r = sh("sed -i 's/^B=2$/B=3/' env", cwd=rweb)
    assert r.returncode == 0, r.stderr
    assert both("env") == ("A=1\nB=3", "A=1\nB=3")
    assert persisted(daemon, "web", "B=3")
    assert set(os.listdir(lweb)) == container_listing(), "sed's temp file stayed"
    r = sh("sed -i 's/.*/bogus/' type", cwd=os.path.join(rweb, "net"))
    assert r.returncode != 0, "sed -i with a bad value must fail (the rename is refused)"
    assert both("net/type") == ("empty", "empty")
    assert set(os.listdir(os.path.join(lweb, "net"))) == set(section_files("net"))

    # Python
    p = pathlib.Path(rweb, "hostname")
    p.write_text("remote-host\n")
    assert p.read_text() == "remote-host\n"
    assert read_value(os.path.join(lweb, "hostname")) == "remote-host"
    assert persisted(daemon, "web", "remote-host")
    with pytest.raises(OSError) as e:
        p.write_text("-bad\n")
    assert e.value.errno in (errno.EINVAL, errno.EIO), e.value
    fs.settle(os.path.join(lweb, "hostname"))
    assert both("hostname") == ("remote-host", "remote-host")

    # rmdir destroys it: gone from both mounts and from the state dir
    os.rmdir(rweb)
    assert "web" not in os.listdir(daemon.path())
    assert "web" not in os.listdir(fs.mnt)
    assert not state_entries(daemon, "web"), state_entries(daemon, "web")


@pytest.mark.timeout(30)
def test_sshfs_reads_runtime_files(daemon, sshfs):
    """`cat NAME/state` over sshfs (the same echo/cat/mkdir, every rule holds).
    The sshfs mount reads through the page cache of its own kernel, clipped to the size
    sftp-server's stat reports; a file whose st_size is not its length reads short there
    (so the daemon reports a correct st_size; direct_io does not cross sftp)."""
    fs = sshfs()
    os.mkdir(daemon.path("web"))
    assert write_file(daemon.path("web", "hostname"), "-bad\n") != 0  # sets last_error
    rweb = os.path.join(fs.mnt, "web")
    wrong = []
    for rel in ("web/state", "web/last_error", "web/exit_status", "web/pid",
                ".version", ".checkconfig"):
        host = read_file(daemon.path(rel))
        remote = read_file(os.path.join(fs.mnt, rel))
        if remote != host:
            st = os.stat(daemon.path(rel)).st_size
            wrong.append(f"{rel}: sshfs read {remote[:40]!r}, the host {host[:40]!r} "
                         f"(st_size {st}, length {len(host.encode())})")
    r = sh("cat state", cwd=rweb)
    if r.stdout != "STOPPED\n":
        wrong.append(f"`cat state` over sshfs printed {r.stdout!r}")
    assert not wrong, "\n".join(wrong)


def _env_lines(n, tag):
    return [f"VAR{i:04d}={tag}-{'v' * 34}" for i in range(n)]


def _big_config(env, memory="64M"):
    """A config document over 32 KiB: the first SFTP piece ends inside a line."""
    doc = ("[container]\nhostname = big\n" + "".join(f"env = {e}\n" for e in env)
           + "\n[net]\ntype = veth\n\n[cgroup]\n"
           + f"memory.max = {memory}\ndevices.allow = c 1:3 rwm\ndevices.allow = c 1:5 rwm\n")
    return doc


@pytest.mark.timeout(30)
def test_sshfs_lists_in_32k_pieces(daemon, sshfs):
    """Lists and config over 32 KiB arrive as several SFTP writes, cut anywhere (inside
    a line too): each is checked as it comes, the whole applied at the close."""
    fs = sshfs()
    os.mkdir(os.path.join(fs.mnt, "web"))
    rweb, lweb = os.path.join(fs.mnt, "web"), daemon.path("web")

    # env itself, ~40 KiB in one write(2): sftp-server writes it to the daemon in pieces
    env = _env_lines(950, "e")
    text = "".join(e + "\n" for e in env)
    assert 40000 < len(text) < 65536 and text[SFTP_PIECE - 1] != "\n"
    assert write_file(os.path.join(rweb, "env"), text) == 0
    fs.settle(os.path.join(lweb, "env"))
    assert read_file(os.path.join(lweb, "env")) == text
    assert persisted(daemon, "web", env[-1])

    # the whole configuration, ~44 KiB
    env = _env_lines(800, "c")
    doc = _big_config(env)
    assert 40000 < len(doc) < 65536 and doc[SFTP_PIECE - 1] != "\n"
    assert write_file(os.path.join(rweb, "config"), doc) == 0
    fs.settle(os.path.join(lweb, "config"))
    assert read_file(os.path.join(lweb, "env")) == "".join(e + "\n" for e in env)
    assert read_value(os.path.join(lweb, "hostname")) == "big"
    assert read_value(os.path.join(lweb, "net/type")) == "veth"
    assert read_value(os.path.join(lweb, "cgroup/memory.max")) == "64M"
    assert read_value(os.path.join(lweb, "cgroup/devices.allow")) == "c 1:3 rwm\nc 1:5 rwm"
    # read back (in SFTP pieces too) through sshfs: the same document as on the host
    local = read_file(os.path.join(lweb, "config"))
    assert read_file(os.path.join(rweb, "config")) == local
    assert parse_ini(local)["container"]["env"] == env
    assert persisted(daemon, "web", env[-1]) and persisted(daemon, "web", "hostname = big")

    # a bad line in the second piece: the client sees an error and nothing changes
    bad = _big_config(_env_lines(800, "x"), memory="bogus")
    assert bad.index("memory.max = bogus") > SFTP_PIECE
    res = write_file(os.path.join(rweb, "config"), bad)
    assert int(res) in (errno.EINVAL, errno.EIO), res
    fs.settle(os.path.join(lweb, "config"))
    assert read_file(os.path.join(lweb, "config")) == local
    assert "memory.max" in last_error(daemon, "web")
    assert not persisted(daemon, "web", "VAR0000=x-")

    # a bad line cut in two by the piece boundary is put together and refused as well
    head = "[container]\n"
    tail = []
    for e in _env_lines(800, "y"):
        line = f"env = {e}\n"
        if tail or len(head) + len(line) > SFTP_PIECE - 10:
            tail.append(line)
        else:
            head += line
    bad_line = "stop.signal = SIGNOPE" + "Z" * 40 + "\n"
    straddle = head + bad_line + "".join(tail)
    assert len(head) < SFTP_PIECE < len(head) + len(bad_line) - 1, "must straddle the cut"
    res = write_file(os.path.join(rweb, "config"), straddle)
    assert int(res) in (errno.EINVAL, errno.EIO), res
    fs.settle(os.path.join(lweb, "config"))
    assert read_file(os.path.join(lweb, "config")) == local
    assert "stop.signal" in last_error(daemon, "web")


@pytest.mark.timeout(60)
def test_sshfs_file_tools_times_and_replacement(daemon, sshfs, tmp_path):
    """Over sshfs: rsync -a twice (the second transfers nothing), touch -d and install
    (unlink, then create by the same sftp-server) land."""
    if missing_tools("rsync", "install"):
        pytest.skip("rsync or install is not installed")
    fs = sshfs(["sshfs_sync"])
    os.mkdir(daemon.path("web"))
    rweb = os.path.join(fs.mnt, "web")
    lweb = daemon.path("web")
    src = tmp_path / "src"
    (src / "cgroup").mkdir(parents=True)
    for d in (src, src / "cgroup"):
        os.chmod(d, 0o755)
    old = 1_500_000_000
    for rel, v in (("hostname", "over-sftp"), ("cgroup/memory.max", "96M")):
        (src / rel).write_text(v + "\n")
        os.chmod(src / rel, 0o644)
        os.utime(src / rel, (old, old))

    def rsync():
        r = sh(f"rsync -a --stats --itemize-changes {src}/ {rweb}/", cwd=str(tmp_path))
        assert r.returncode == 0, (r.stdout, r.stderr)
        return [line for line in r.stdout.splitlines() if line.startswith(">f")], r.stdout

    files, out = rsync()
    assert len(files) == 2, out
    assert read_value(os.path.join(lweb, "cgroup/memory.max")) == "96M"
    assert int(os.stat(os.path.join(lweb, "hostname")).st_mtime) == old
    files, out = rsync()
    assert files == [] and "Number of regular files transferred: 0" in out, out

    r = sh("touch -d '2019-05-04 03:02:01 UTC' hostname", cwd=rweb)
    assert r.returncode == 0, r.stderr
    assert int(os.stat(os.path.join(lweb, "hostname")).st_mtime) == 1556938921

    (tmp_path / "h").write_text("installed\n")
    r = sh(f"install -m 644 {tmp_path}/h hostname", cwd=rweb)
    assert r.returncode == 0, r.stderr
    fs.settle(os.path.join(lweb, "hostname"))
    assert read_value(os.path.join(lweb, "hostname")) == "installed"
    assert set(os.listdir(lweb)) == container_listing()


@pytest.mark.timeout(120)
def test_sshfs_unlink_then_create_tools_and_modes(daemon, sshfs, tmp_path):
    """Over sshfs (sftp-server makes every operation): tar -x with and without
    --overwrite, mv from another filesystem, cp --remove-destination, cp -p and rsync -a
    from sources of other modes, rsync's same-size change one second on, and vim with its
    defaults land their values (and times); the modes stay the tree's."""
    if missing_tools("rsync", "tar", "vim"):
        pytest.skip("rsync, tar or vim is not installed")
    fs = sshfs(["sshfs_sync"])
    os.mkdir(daemon.path("web"))
    rweb = os.path.join(fs.mnt, "web")
    lweb = daemon.path("web")
    old = 1_500_000_000
    modes = {rel: os.stat(os.path.join(lweb, rel)).st_mode for rel in
             ("", "cgroup", "hostname", "env", "cgroup/pids.max", "cgroup/memory.max")}

    def src(name, text, mode=0o664, t=old):
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        os.chmod(p, mode)
        os.utime(p, (t, t))
        return str(p)

    def check(rel, want, t=old):
        fs.settle(os.path.join(lweb, rel))
        assert read_file(os.path.join(lweb, rel)) == want, rel
        if t is not None:
            assert int(os.stat(os.path.join(lweb, rel)).st_mtime) == t, rel

    def ok(script):
        r = sh(script, cwd=rweb, timeout=60)
        assert r.returncode == 0, (script, r.stdout, r.stderr)

    # tar -x, without and with --overwrite (modes 0664/0775 in the archive)
    for n, overwrite in enumerate(("", "--overwrite")):
        tree = tmp_path / f"tree{n}"
        src(f"tree{n}/hostname", f"tar{n}\n")
        src(f"tree{n}/cgroup/pids.max", f"{64 + n}\n")
        for d in (tree / "cgroup", tree):
            os.chmod(d, 0o775)
        ok(f"tar -cf {tmp_path}/t{n}.tar -C {tree} . && tar -xf {tmp_path}/t{n}.tar {overwrite}")
        check("hostname", f"tar{n}\n")
        check("cgroup/pids.max", f"{64 + n}\n")
    # mv from another filesystem
    e = src("env", "A=1\nB=2\n")
    ok(f"mv {e} env")
    check("env", "A=1\nB=2\n")
    # cp --remove-destination, cp -p
    h1 = src("h1", "removed\n")
    ok(f"cp --remove-destination {h1} hostname")
    check("hostname", "removed\n", None)
    h2 = src("h2", "kept-time\n", t=old + 7)
    ok(f"cp -p {h2} hostname")
    check("hostname", "kept-time\n", old + 7)
    e2 = src("e2", "C=3\n", mode=0o644, t=old + 9)  # a list: applied at close, time kept
    ok(f"cp -p {e2} env")
    check("env", "C=3\n", old + 9)
    # rsync -a: a same-size change one second on is sent and lands; then nothing is
    rs = tmp_path / "rs"
    src("rs/cgroup/memory.max", "96M\n")
    os.chmod(rs / "cgroup", 0o700)
    os.chmod(rs, 0o755)
    ok(f"rsync -a {rs}/ ./")
    check("cgroup/memory.max", "96M\n")
    src("rs/cgroup/memory.max", "97M\n", t=old + 1)
    r = sh(f"rsync -a --itemize-changes {rs}/ ./", cwd=rweb, timeout=60)
    assert r.returncode == 0, r.stderr
    assert [x.split()[-1] for x in r.stdout.splitlines() if x.startswith(">f")] == \
        ["cgroup/memory.max"], r.stdout
    check("cgroup/memory.max", "97M\n", old + 1)
    # vim with its defaults (backupskip=: the mount is under /tmp)
    ok("vim --clean -i NONE -es -c 'set backupskip=' -c '%s/97M/128M/' -c wq cgroup/memory.max")
    check("cgroup/memory.max", "128M\n", None)
    assert {rel: os.stat(os.path.join(lweb, rel)).st_mode for rel in modes} == modes
    # rm alone: sftp-server lives on, so the setting goes back to its default when the
    # wait for a create is over; meanwhile every other process sees it unchanged
    ok("rm hostname")
    assert read_value(os.path.join(lweb, "hostname")) == "kept-time"
    wait_for(lambda: read_value(os.path.join(lweb, "hostname")) == "web", 60,
             what="the reset of an unlink no create followed")
    assert read_value(os.path.join(rweb, "hostname")) == "web"
    assert set(os.listdir(lweb)) == container_listing()
    assert not [n for n in os.listdir(os.path.join(lweb, "cgroup")) if n.startswith(".")
                or n.endswith("~")]


# ---- Ansible ----

@pytest.fixture
def ansible(tmp_path):
    """run(module, args) -> AdHoc, ansible kept quiet and inside tmp_path."""
    miss = missing_tools("ansible", "/usr/bin/python3")
    if miss:
        pytest.skip(f"not installed: {' '.join(miss)} (scripts/deps installs ansible-core)")
    env = ansible_env(str(tmp_path / "ansible"))
    return lambda module, args: ansible_adhoc(env, module, args)


def _no_temp_left(daemon, container="web"):
    d = daemon.path(container)
    assert set(os.listdir(d)) == container_listing(), sorted(set(os.listdir(d)) -
                                                              container_listing())
    for sec in ("net", "cgroup"):
        names = set(os.listdir(os.path.join(d, sec)))
        assert not [n for n in names if n.startswith(".ansible_tmp")], names


@pytest.mark.timeout(60)
def test_ansible_copy(daemon, web, ansible):
    dest = os.path.join(web, "hostname")
    first = ansible("copy", {"content": "ans-host\n", "dest": dest})
    assert first.ok and first.changed, first
    assert read_value(dest) == "ans-host"
    assert persisted(daemon, "web", "ans-host"), "the value is not in the state dir"
    _no_temp_left(daemon)
    again = ansible("copy", {"content": "ans-host\n", "dest": dest})
    assert again.ok and not again.changed, again  # what reads back is what was written

    # a size in bytes is read back as written: idempotent too
    mem = os.path.join(web, "cgroup", "memory.max")
    first = ansible("copy", {"content": "134217728\n", "dest": mem})
    assert first.ok and first.changed, first
    assert read_value(mem) == "134217728"
    again = ansible("copy", {"content": "134217728\n", "dest": mem})
    assert again.ok and not again.changed, again

    # a bad value: the final rename is refused, the module fails, nothing changes
    bad = ansible("copy", {"content": "-bad\n", "dest": dest})
    assert bad.rc != 0 and bad.status == "FAILED!", bad
    assert read_value(dest) == "ans-host"
    assert "hostname" in last_error(daemon, "web")
    _no_temp_left(daemon)


HUMAN_VALUES = {  # human units and mixed spellings: each reads back as written
    "cgroup/memory.max": "96M",
    "cgroup/pids.max": "64",
    "cgroup/cpuset.cpus": "0",
    "stop.signal": "TERM",
    "caps.drop": "CAP_SYS_MODULE sys_time",
    "net/hwaddr": "00:16:3E:aA:bB:cC",
    "cgroup/devices.allow": "c 1:3 rwm\nc 1:5 rw",
    "env": "A=1\nB=two words",
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("via", ["tree", "sshfs"])
def test_ansible_playbook_human_units_idempotent(daemon, web, tmp_path, request, via):
    """A playbook copying human units and mixed spellings reports changed=0 when run
    again, on the tree and on an sshfs mount of it."""
    miss = missing_tools("ansible-playbook", "/usr/bin/python3")
    if miss:
        pytest.skip(f"not installed: {' '.join(miss)} (scripts/deps installs ansible-core)")
    dest_web = web
    if via == "sshfs":
        dest_web = os.path.join(request.getfixturevalue("sshfs")(["sshfs_sync"]).mnt, "web")
    env = dict(ansible_env(str(tmp_path / "ansible")), ANSIBLE_STDOUT_CALLBACK="default")
    tasks = "".join(f"    - copy:\n        dest: {json.dumps(os.path.join(dest_web, rel))}\n"
                    f"        content: {json.dumps(v + chr(10))}\n"
                    for rel, v in HUMAN_VALUES.items())
    book = tmp_path / "human.yml"
    book.write_text("- hosts: localhost\n  connection: local\n  gather_facts: false\n"
                    "  tasks:\n" + tasks)

    def run():
        p = subprocess.run(["ansible-playbook", "-i", "localhost,", str(book)], env=env,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=100, cwd=env["HOME"])
        m = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=0\s+failed=0",
                      p.stdout)
        assert p.returncode == 0 and m, (p.returncode, p.stdout, p.stderr)
        return int(m.group(2))

    assert run() == len(HUMAN_VALUES)
    for rel, v in HUMAN_VALUES.items():
        assert read_value(os.path.join(web, rel)) == v, rel
    ini = read_file(os.path.join(web, "config"))
    assert "memory.max = 96M\n" in ini and "stop.signal = TERM\n" in ini, ini
    assert persisted(daemon, "web", "memory.max = 96M")
    assert run() == 0, "the second run changed something"
    _no_temp_left(daemon)


@pytest.mark.timeout(60)
def test_ansible_lineinfile(daemon, web, ansible):
    env = os.path.join(web, "env")
    first = ansible("lineinfile", {"path": env, "line": "FOO=bar"})
    assert first.ok and first.changed, first
    assert read_file(env) == "FOO=bar\n"
    again = ansible("lineinfile", {"path": env, "line": "FOO=bar"})
    assert again.ok and not again.changed, again
    more = ansible("lineinfile", {"path": env, "line": "BAR=2"})
    assert more.ok and more.changed, more
    repl = ansible("lineinfile", {"path": env, "regexp": "^FOO=", "line": "FOO=baz"})
    assert repl.ok and repl.changed, repl
    assert read_file(env) == "FOO=baz\nBAR=2\n"
    assert persisted(daemon, "web", "FOO=baz") and not persisted(daemon, "web", "FOO=bar")
    again = ansible("lineinfile", {"path": env, "regexp": "^FOO=", "line": "FOO=baz"})
    assert again.ok and not again.changed, again
    _no_temp_left(daemon)


@pytest.mark.timeout(60)
def test_ansible_file_creates_a_container(daemon, ansible):
    path = daemon.path("web2")
    first = ansible("file", {"path": path, "state": "directory"})
    assert first.ok and first.changed, first
    assert "web2" in os.listdir(daemon.path())
    assert read_value(os.path.join(path, "hostname")) == "web2"
    assert read_value(os.path.join(path, "state")) == "STOPPED"
    assert state_entries(daemon, "web2"), "the new container is not in the state dir"
    again = ansible("file", {"path": path, "state": "directory"})
    assert again.ok and not again.changed, again
    assert sorted(os.listdir(daemon.path())) == [".checkconfig", ".events", ".version", "web2"]
