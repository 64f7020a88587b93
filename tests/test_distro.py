"""Real distributions as system containers: a Debian image with systemd as init (made
once by `mkimage --debian` and cached, see lib/distro.py) boots to `running`, halts
cleanly on `stop`, starts again after a reboot inside, stays stopped after a power-off,
has the container's hostname and a getty on tty1; busybox init halts on the default
stop signal and restarts after its own reboot.

Each test runs in every mode of MODES: `privileged` (privileged = 1: no user namespace)
and `unprivileged` (the default, privileged = 0: a user namespace with an allocated
idmap over an idmapped image, skipped where the host lacks idmapped mounts)."""
import hashlib
import os
import stat

import pytest

from lib.daemon import checkconfig, host_lacks, wait_gone
from lib.distro import debian_image, is_cached
from lib.fsops import read_file
from lib.lifecycle import (containers, event_states, is_subsequence, proc_status, read_until,
                           wait_for)
from lib.system import attach, console, image, mounts_at, mounts_of, system_container, wait_log

assert containers and image  # fixtures, imported for the tests below

# The first test that needs the image may have to build it (a few minutes, once).
pytestmark = pytest.mark.timeout(60 if is_cached("systemd") and is_cached("sysvinit") else 900)

# mode name -> settings every container of that mode gets
MODES = {"privileged": {}, "unprivileged": {}}
SIGHUP, SIGINT, SIGKILL, SIGTERM = 1, 2, 9, 15


@pytest.fixture(params=sorted(MODES))
def mode(request, daemon):
    if request.param == "unprivileged" and host_lacks(daemon, "idmapped mounts"):
        pytest.skip("idmapped mounts: " + checkconfig(daemon)["idmapped mounts"])
    return request.param


def allocated_first(c) -> int:
    """The first outside id of the container's allocated idmap (u and g alike)."""
    u, g = (ln.split() for ln in c.read("idmap").splitlines())
    assert u[:2] == ["u", "0"] and g[:2] == ["g", "0"] and u[2] == g[2], (u, g)
    return int(u[2])


@pytest.fixture
def debian():
    path, why = debian_image()
    if not path:
        pytest.skip(why)
    return path


def _container(containers, mode, name, rootfs, settings=None):
    c = system_container(containers, name, rootfs)
    if os.path.exists(c.path("privileged")):  # the key, where the tree has it
        c.set("privileged", "1" if mode == "privileged" else "0")
    for rel, v in {**MODES[mode], **(settings or {})}.items():
        c.set(rel, v)
    return c


def _debian(containers, mode, debian, name="deb", settings=None):
    return _container(containers, mode, name, debian,
                      {"rootfs.overlay": "1", "tty": "2", **(settings or {})})


def systemctl(c, *args, timeout=20):
    return attach(c, "systemctl", "--no-pager", *args, timeout=timeout)


def wait_booted(c):
    """Until systemd says the boot is over; its last answer must be `running`."""
    def over():
        st = systemctl(c, "is-system-running").stdout.strip()
        return st if st in ("running", "degraded", "maintenance", "stopping") else None
    st = wait_for(over, 30, interval=0.2, what=f"{c.name}: systemd's boot to end")
    assert st == "running", \
        f"{c.name} is {st}:\n{systemctl(c, 'list-units', '--failed').stdout}\n{c.log()[-3000:]}"


def last_run(c):
    """(exit status, how) of the newest line of `runs`."""
    lines = read_file(c.path("runs")).splitlines()
    assert lines, f"{c.name}/runs is empty"
    _ended, status, how = lines[-1].split()
    return int(status), how


def _image_digest(root: str) -> str:
    """Every entry of the image: its path, type, mode, owner, size, link target and the
    SHA-256 of its content, in one digest."""
    h = hashlib.sha256()
    for d, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(d, name)
            st = os.lstat(p)
            h.update(f"{os.path.relpath(p, root)}\0{st.st_mode}\0{st.st_uid}:{st.st_gid}"
                     f"\0{st.st_size}\0".encode())
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(p).encode())
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
    return h.hexdigest()


def test_debian_boots_to_running(daemon, containers, debian, mode):
    with open(os.path.join(debian, "etc/hostname")) as f:
        image_hostname = f.read()
    image_before = _image_digest(debian)
    c = _debian(containers, mode, debian, settings={"hostname": "deb-one"})
    pid = c.start()
    wait_booted(c)
    assert systemctl(c, "list-units", "--failed", "--plain", "--no-legend").stdout.strip() == ""
    # systemd is pid 1 and knows it is in a container
    assert os.path.basename(os.readlink(f"/proc/{pid}/exe")) == "systemd"
    assert attach(c, "systemd-detect-virt", "--container").stdout.strip() == "container-other"
    with open(f"/proc/{pid}/environ", "rb") as f:
        assert b"container=containerfs" in f.read().split(b"\0")
    # journald keeps the boot
    assert systemctl(c, "is-active", "systemd-journald").stdout.strip() == "active"
    j = attach(c, "journalctl", "-b", "--no-pager", "-q", "-o", "cat")
    assert j.returncode == 0 and "Reached target" in j.stdout, j
    # the hostname inside is the setting, the image's file is untouched
    assert attach(c, "hostname").stdout.strip() == "deb-one"
    assert attach(c, "cat", "/etc/hostname").stdout.strip() == "deb-one"
    with open(os.path.join(debian, "etc/hostname")) as f:
        assert f.read() == image_hostname
    assert not os.path.exists(os.path.join(daemon.state_dir, "deb/overlay/upper/etc/hostname"))
    upper = os.path.join(daemon.state_dir, "deb/overlay/upper")
    r = attach(c, "sh", "-c", "echo hi > /root/was-here && stat -c %u:%g /root/was-here")
    assert r.returncode == 0 and r.stdout.strip() == "0:0", r
    assert not os.path.exists(os.path.join(debian, "root/was-here"))
    st = os.stat(debian)
    assert (st.st_uid, st.st_gid) == (0, 0)
    s = os.stat(os.path.join(upper, "root/was-here"))
    if mode == "unprivileged":
        # init is the idmap's first outside id on the host, in all four slots, and
        # what root writes inside is that id's in the upper layer
        first = allocated_first(c)
        for field in ("Uid", "Gid"):
            assert proc_status(pid)[field].split() == [str(first)] * 4, field
        assert (s.st_uid, s.st_gid) == (first, first)
    else:
        assert proc_status(pid)["Uid"].split() == ["0"] * 4
        assert (s.st_uid, s.st_gid) == (0, 0)
    # a whole boot and a write later, the image is byte for byte what it was
    assert _image_digest(debian) == image_before


def test_debian_mount_through_var_run(daemon, containers, debian, mode):
    """Debian's var/run is a link to /run: a mounts entry beneath it lands in the
    container's /run, and the boot goes on."""
    assert os.readlink(os.path.join(debian, "var/run")) == "/run"
    c = _debian(containers, mode, debian, settings={
        "mounts": "tmpfs /var/run/cfs-extra tmpfs size=1m,create=dir 0 0"})
    pid = c.start()
    wait_booted(c)
    m = mounts_at(pid, "/run/cfs-extra")
    assert m and m[-1]["fstype"] == "tmpfs", mounts_of(pid)
    r = attach(c, "sh", "-c", "echo x > /var/run/cfs-extra/f && cat /run/cfs-extra/f")
    assert r.returncode == 0 and r.stdout == "x\n", r
    assert not os.path.exists("/run/cfs-extra")


def test_debian_image_shared_by_two(daemon, containers, debian, mode):
    # one root-owned image, two containers at once, each its own system in its layer
    with open(os.path.join(debian, "etc/machine-id")) as f:
        image_id = f.read()
    a = _debian(containers, mode, debian, "deb-a")
    b = _debian(containers, mode, debian, "deb-b")
    a.start()
    b.start()
    wait_booted(a)
    wait_booted(b)
    assert [attach(c, "hostname").stdout.strip() for c in (a, b)] == ["deb-a", "deb-b"]
    ids = [attach(c, "cat", "/etc/machine-id").stdout.strip() for c in (a, b)]
    assert all(len(i) == 32 for i in ids) and ids[0] != ids[1], ids
    st = os.stat(debian)
    assert (st.st_uid, st.st_gid) == (0, 0)
    with open(os.path.join(debian, "etc/machine-id")) as f:
        assert f.read() == image_id  # each wrote its own into its layer
    for c in (a, b):
        assert os.path.exists(os.path.join(daemon.state_dir, c.name, "overlay/upper/etc/machine-id"))


def test_debian_stop_halts_cleanly(containers, debian, mode):
    c = _debian(containers, mode, debian, settings={"stop.timeout": "60"})
    pid = c.start()
    wait_booted(c)
    c.do("stop")
    assert c.state() == "STOPPED" and wait_gone(pid, 5)
    # systemd halted (reboot(2) with halt ends a pid namespace's init by SIGINT);
    # a stop that ran out of time would have ended in SIGKILL (137)
    assert c.exit_status() == str(128 + SIGINT), c.log()[-2000:]
    assert last_run(c) == (128 + SIGINT, "stop")
    assert "System Halt" in c.log() or "Halting system" in c.log()


def test_debian_stop_signal_explicit_wins(containers, debian, mode):
    # SIGTERM means nothing to systemd as pid 1: the stop runs out of time and kills
    c = _debian(containers, mode, debian, settings={"stop.signal": "SIGTERM",
                                                     "stop.timeout": "1"})
    c.start()
    wait_booted(c)
    c.do("stop")
    assert c.exit_status() == str(128 + SIGKILL)


def _events(c):
    return os.open(c.path("events"), os.O_RDONLY)


def test_debian_reboot_starts_again(containers, debian, mode):
    c = _debian(containers, mode, debian)
    pid = c.start()
    wait_booted(c)
    fd = _events(c)
    try:
        read_until(fd, lambda t: "RUNNING" in t)
        systemctl(c, "reboot")
        text = read_until(fd, lambda t: is_subsequence(
            ["STOPPED", "STARTING", "RUNNING"], event_states(t, c.name)), timeout=40)
    finally:
        os.close(fd)
    assert is_subsequence(["STOPPED", "STARTING", "RUNNING"], event_states(text, c.name))
    assert wait_gone(pid, 5)
    new = c.pid()
    assert c.state() == "RUNNING" and new and new != pid
    # the run that rebooted is in the history: init ended by SIGHUP
    assert last_run(c) == (128 + SIGHUP, "reboot")
    wait_booted(c)
    assert os.path.basename(os.readlink(f"/proc/{new}/exe")) == "systemd"


def test_debian_poweroff_stays_stopped(containers, debian, mode):
    c = _debian(containers, mode, debian)
    pid = c.start()
    wait_booted(c)
    systemctl(c, "poweroff")
    c.wait_state("STOPPED", 40)
    assert wait_gone(pid, 5)
    # the history is written before STOPPED: this run was not a reboot
    assert last_run(c) == (128 + SIGINT, "exit")
    assert c.exit_status() == str(128 + SIGINT)
    assert c.state() == "STOPPED" and c.pid() is None


def test_debian_getty_on_tty1(containers, debian, mode):
    c = _debian(containers, mode, debian, settings={"hostname": "deb-tty"})
    c.start()
    wait_booted(c)
    out = wait_for(lambda: (lambda o: "login:" in o and o)(console(c, 1, "\n").stdout),
                   20, interval=0.5, what="a login prompt on tty1")
    assert "deb-tty login:" in out, out


# ---- sysvinit ----

@pytest.fixture
def sysvinit():
    path, why = debian_image("sysvinit")
    if not path:
        pytest.skip(why)
    return path


def test_sysvinit_stop_shuts_down_cleanly(containers, sysvinit, mode):
    c = _container(containers, mode, "sv", sysvinit,
                   {"rootfs.overlay": "1", "stop.timeout": "50"})
    pid = c.start()
    wait_log(c, "Entering runlevel: 2", 30)
    c.do("stop")
    assert wait_gone(pid, 5)
    # SIGINT: the inittab's ctrlaltdel entry, `shutdown -r now`; its reboot(2) ends
    # init by SIGHUP, and as a stop was under way the container stays STOPPED
    # (the exit status says the shutdown ran to its reboot(2); the log's last lines
    # may still be in the console pty when the namespace ends)
    assert c.exit_status() == str(128 + SIGHUP), c.log()[-3000:]
    log = c.log()
    assert "Switching to runlevel: 6" in log or "Will now restart" in log, log[-3000:]
    assert last_run(c) == (128 + SIGHUP, "stop")
    assert c.state() == "STOPPED"


# ---- busybox init (the default image) ----

def test_busybox_stop_default_powers_off(containers, image, mode):
    c = _container(containers, mode, "bb", image, {"stop.timeout": "60"})
    pid = c.start()
    wait_log(c, "is up")
    c.do("stop")
    assert wait_gone(pid, 5)
    # SIGUSR2: busybox init powers off (SIGINT through reboot(2)); no SIGKILL
    assert c.exit_status() == str(128 + SIGINT), c.log()
    assert "poweroff" in c.log()
    assert last_run(c) == (128 + SIGINT, "stop")


def test_busybox_shell_as_init_gets_sigterm(containers, image, mode):
    # busybox running as sh is no init: auto sends it SIGTERM, which it traps
    c = _container(containers, mode, "bb", image, {
        "init": "/bin/sh -c 'trap \"exit 7\" TERM; while true; do sleep 1; done'"})
    pid = c.start()
    # RUNNING means init was exec'd, not that the shell has set its trap yet: a SIGTERM
    # before that is dropped (no handler, and pid 1 of its namespace)
    wait_for(lambda: int(proc_status(pid)["SigCgt"], 16) & (1 << (SIGTERM - 1)),
             what="the shell's TERM trap")
    c.do("stop")
    assert wait_gone(pid, 5)
    assert c.exit_status() == "7"


def test_busybox_explicit_sigterm_reboots_but_stop_wins(containers, image, mode):
    # busybox init reboots on SIGTERM; a reboot during a stop is not a restart
    c = _container(containers, mode, "bb", image, {"stop.signal": "SIGTERM"})
    c.start()
    wait_log(c, "is up")
    c.do("stop")
    assert c.exit_status() == str(128 + SIGHUP)
    assert last_run(c) == (128 + SIGHUP, "stop")
    assert c.state() == "STOPPED" and c.pid() is None


def test_busybox_reboot_inside_starts_again(containers, image, mode):
    c = _container(containers, mode, "bb", image)
    pid = c.start()
    wait_log(c, "is up")
    fd = _events(c)
    try:
        read_until(fd, lambda t: "RUNNING" in t)
        attach(c, "/sbin/reboot")
        read_until(fd, lambda t: is_subsequence(
            ["STOPPED", "STARTING", "RUNNING"], event_states(t, c.name)), timeout=20)
    finally:
        os.close(fd)
    assert wait_gone(pid, 5)
    assert c.state() == "RUNNING" and c.pid() not in (None, pid)
    assert last_run(c) == (128 + SIGHUP, "reboot")
    # and halt inside ends it for good
    pid = c.pid()
    wait_log(c, "is up")
    attach(c, "/sbin/halt")
    c.wait_state("STOPPED", 20)
    assert wait_gone(pid, 5)
    assert last_run(c) == (128 + SIGINT, "exit")


# ---- what any init gets: the cgroup tree, /run ----

def _host_cgroup_mounts():
    """{superblock (major:minor): (fstype, super options)} of the host's cgroup mounts."""
    out = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.rstrip("\n").split(" - ", 1)
            fstype, _src, sup = post.split()[:3]
            if fstype in ("cgroup", "cgroup2"):
                out[pre.split()[2]] = (fstype, sup)
    return out


def test_cgroup_tree_and_run_inside(daemon, containers, image, mode):
    c = _container(containers, mode, "bb", image)
    pid = c.start()
    layout = checkconfig(daemon)["cgroup layout"]
    host = _host_cgroup_mounts()
    with open(f"/proc/{pid}/mountinfo") as f:
        inside = {}
        for line in f:
            pre, post = line.split(" - ", 1)
            a = pre.split()
            if a[4].startswith("/sys/fs/cgroup"):
                inside[a[4]] = (a[2], a[3], post.split()[0])  # superblock, root, fstype
    if layout == "v2":
        assert set(inside) == {"/sys/fs/cgroup"}, inside
        dev, root, fstype = inside["/sys/fs/cgroup"]
        assert fstype == "cgroup2" and dev in host and root.endswith("/" + c.name), inside
        procs = f"/proc/{pid}/root/sys/fs/cgroup/cgroup.procs"
    else:
        # a read-only tmpfs holding every hierarchy of the host, each one the same
        # superblock as the host's and rooted at the container's own cgroup
        top = mounts_at(pid, "/sys/fs/cgroup")
        assert top[0]["fstype"] == "tmpfs" and "ro" in top[-1]["opts"], top
        hier = {m: v for m, v in inside.items() if m != "/sys/fs/cgroup"}
        assert sorted(v[0] for v in hier.values()) == sorted(host), (hier, host)
        # (mountinfo shows a cgroup mount's root as the reader's namespace sees it)
        assert all(v[1].endswith("/" + c.name) for v in hier.values()), hier
        named = [m for m, v in hier.items() if "name=systemd" in host[v[0]][1]]
        assert named == ["/sys/fs/cgroup/systemd"] or "name=systemd" not in str(host)
        if layout == "hybrid":
            assert hier["/sys/fs/cgroup/unified"][2] == "cgroup2"
        procs = f"/proc/{pid}/root/sys/fs/cgroup/{'systemd' if named else 'pids'}/cgroup.procs"
    # the root of the tree inside is the container's cgroup: init is in it
    with open(procs) as f:
        assert str(pid) in f.read().split()
    # /run and /run/lock are fresh tmpfs
    run = [m["fstype"] for m in mounts_of(pid) if m["mnt"] in ("/run", "/run/lock")]
    assert run == ["tmpfs", "tmpfs"]
