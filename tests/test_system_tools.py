"""System containers with the tools around them: the attach helper (lxc-attach) and
its exit statuses, the console helper (lxc-console) on ttys and the console, overlay
containers sharing one image, and the 2012 LXC configuration of the seed talk."""
import os
import subprocess

import pytest

from lib.fsops import read_file, write_file
from lib.lifecycle import (cgroup_dir, cmdline, containers, proc_cgroups, proc_status,
                           read_kernel, wait_for)
from lib.system import (ATTACH, CONSOLE, attach, attach_sh, console, dev_entries, image, mounts_at,
                        system_container, tree_snapshot, wait_log)

assert containers and image  # fixtures, imported for the tests below


@pytest.mark.timeout(90)
def test_attach_runs_inside_and_returns_the_status(daemon, containers, image):
    c = system_container(containers, "web", image, {"hostname": "inside",
                                                     "caps.drop": "sys_module net_raw"})
    p = c.start()
    r = attach(c, "hostname")
    assert r.returncode == 0 and r.stdout == "inside\n", r
    # exit statuses, shell style
    assert attach_sh(c, "exit 7").returncode == 7
    r = attach(c, "/no/such/command")
    assert r.returncode == 127 and "No such file" in r.stderr, r
    assert attach(c, "/etc/inittab").returncode == 126  # not executable
    assert attach_sh(c, "kill -9 $$").returncode == 128 + 9
    assert attach_sh(c, "kill -TERM $$").returncode == 128 + 15
    # stdin, stdout and stderr pass through
    r = attach(c, "cat", input="through stdin\n")
    assert r.returncode == 0 and r.stdout == "through stdin\n", r
    r = attach_sh(c, "echo to-err >&2")
    assert r.stderr == "to-err\n" and r.stdout == ""
    # every namespace, the root and the cgroups of init; its capability limits
    script = ("for n in mnt pid uts ipc net cgroup; do readlink /proc/self/ns/$n; done; "
              "grep -E '^(CapBnd|NoNewPrivs)' /proc/self/status; cat /proc/self/cgroup; "
              "ls -d /etc/inittab; cat /proc/1/comm")
    r = attach_sh(c, script)
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    for i, n in enumerate(["mnt", "pid", "uts", "ipc", "net", "cgroup"]):
        assert lines[i] == os.readlink(f"/proc/{p}/ns/{n}"), (n, lines[i])
    st = proc_status(p)
    assert f"CapBnd:\t{st['CapBnd']}" in lines and "NoNewPrivs:\t1" in lines
    assert "/etc/inittab" in lines and lines[-1] == "init"
    # a stopped container cannot be attached to
    c.do("kill")
    r = attach(c, "true")
    assert r.returncode == 125 and "not RUNNING" in r.stderr, r


@pytest.mark.timeout(90)
def test_attach_joins_cgroups(daemon, containers, image):
    c = system_container(containers, "web", image)
    p = c.start()
    proc = subprocess.Popen([ATTACH, c.path(), "--", "sleep", "31"])
    try:
        def attached():
            for x in read_file(c.path("tasks")).split():
                try:
                    if cmdline(int(x)) == ["sleep", "31"]:
                        return int(x)
                except OSError:
                    pass
            return None
        pid = wait_for(attached, 10, what="the attached command in tasks")
        # the tool's child put itself there before it forked the command, so the
        # command was never outside; the tool itself stays on the host
        with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
            joiner = f.read().split()
        tasks = read_file(c.path("tasks")).split()
        assert len(joiner) == 1 and joiner[0] in tasks, (joiner, tasks)
        assert str(proc.pid) not in tasks
        for ctrl in ("memory", "pids", "devices", "freezer"):
            if ctrl in proc_cgroups(p):
                assert cgroup_dir(pid, ctrl) == cgroup_dir(p, ctrl), ctrl
        assert proc_status(pid)["CapBnd"] == proc_status(p)["CapBnd"]
        assert proc_status(pid)["NSpid"].split()[-1] != str(pid)  # in its pid namespace
    finally:
        proc.kill()
        proc.wait()
    c.do("kill")


@pytest.mark.timeout(90)
def test_attach_passes_no_fd_above_stderr(daemon, containers, image):
    """A descriptor the caller left open without close-on-exec (here fd 37, a host
    directory) does not reach the command inside."""
    c = system_container(containers, "web", image)
    c.start()
    fd = os.open(daemon.base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.dup2(fd, 37, inheritable=True)
        r = subprocess.run([ATTACH, c.path(), "--", "/bin/sh", "-c", "ls /proc/$$/fd; :"],
                           capture_output=True, text=True, timeout=20, pass_fds=(37,))
    finally:
        os.close(fd)
        os.close(37)
    assert r.returncode == 0, r
    assert sorted(int(x) for x in r.stdout.split()) == [0, 1, 2], r.stdout
    c.do("kill")


@pytest.mark.timeout(90)
def test_console_helper_ttys_and_console(daemon, containers, image):
    c = system_container(containers, "web", image, {"tty": "2"})
    c.start()
    # tty1 has a login shell (the image's inittab): what we type runs there
    r = wait_for(lambda: (lambda r: "tty-42" in r.stdout and r)(
        console(c, 1, "echo tty-$((6*7))\n")), 15, what="output of tty1")
    assert r.returncode == 0
    r = console(c, 2, "tty\n")
    assert "/dev/tty2" in r.stdout, r
    # the console: the same through the supervisor, and the log keeps it
    r = console(c, 0, "\necho console-$((6*7))\n")
    assert "console-42" in r.stdout, r
    wait_log(c, "console-42")
    # without -t it is the console too, as the reference and the manual say
    r = subprocess.run([CONSOLE, "-q", "1", c.path()], input="\necho plain-$((6*7))\ntty\n",
                       text=True, capture_output=True, timeout=20)
    assert "plain-42" in r.stdout and "/dev/console" in r.stdout, r
    wait_log(c, "plain-42")
    # only the ttys the container has
    r = console(c, 3, "")
    assert r.returncode != 0 and "no such tty" in r.stderr, r
    c.do("kill")
    r = console(c, 1, "")
    assert r.returncode != 0 and "not running" in r.stderr, r


@pytest.mark.timeout(90)
def test_overlay_containers_share_an_image(daemon, containers, image):
    before = tree_snapshot(image)
    a = system_container(containers, "a", image, {"rootfs.overlay": "1"})
    b = system_container(containers, "b", image, {"rootfs.overlay": "1"})
    pa, pb = a.start(), b.start()
    assert attach_sh(a, "echo from-a > /etc/marker && rm /etc/profile").returncode == 0
    r = attach_sh(b, "cat /etc/marker; ls /etc/profile")
    assert "from-a" not in r.stdout and "/etc/profile" in r.stdout, r
    assert read_file(f"/proc/{pa}/root/etc/marker") == "from-a\n"
    assert not os.path.exists(f"/proc/{pb}/root/etc/marker")
    assert mounts_at(pa, "/")[0]["fstype"] == "overlay"
    upper = os.path.join(daemon.state_dir, "a", "overlay", "upper")
    assert read_file(os.path.join(upper, "etc/marker")) == "from-a\n"
    a.do("stop")
    b.do("kill")
    # the image is as it was; a's layer survives a restart
    assert tree_snapshot(image) == before
    pa = a.start()
    assert read_file(f"/proc/{pa}/root/etc/marker") == "from-a\n"
    a.do("kill")
    # rmdir takes the layer with it
    os.rmdir(a.path())
    assert not os.path.exists(os.path.join(daemon.state_dir, "a"))
    assert tree_snapshot(image) == before


LXC_2012 = """lxc.utsname=debian
lxc.tty=4
lxc.rootfs={rootfs}
lxc.pts=1024
lxc.network.type=empty
lxc.mount.entry=proc {rootfs}/proc proc nodev,noexec,nosuid 0 0
lxc.mount.entry=sysfs {rootfs}/sys sysfs defaults 0 0
lxc.cgroup.memory.limit_in_bytes=134217728
lxc.cgroup.devices.deny=all
lxc.cgroup.devices.allow=c 1:3 rwm # /dev/null
lxc.cgroup.devices.allow=c 1:5 rwm # /dev/zero
"""


@pytest.mark.timeout(90)
def test_lxc_2012_configuration_boots(daemon, containers, image):
    c = containers("debian")
    res = write_file(c.path("config"), LXC_2012.format(rootfs=image))
    assert res == 0, f"{res}: {c.last_error()}"
    p = c.start()
    assert attach(c, "hostname").stdout == "debian\n"
    # 4 ttys, a devpts of 1024 ptys
    dev = dev_entries(p)
    assert {f"tty{i}" for i in range(1, 5)} <= set(dev) and "tty5" not in dev
    assert "max=1024" in mounts_at(p, "/dev/pts")[-1]["super"]
    # proc and sysfs mounted by its mount entries, with their options
    proc = mounts_at(p, "/proc")[-1]
    assert proc["fstype"] == "proc" and {"nodev", "noexec", "nosuid"} <= set(proc["opts"])
    sysfs = mounts_at(p, "/sys")[-1]
    assert sysfs["fstype"] == "sysfs" and "rw" in sysfs["opts"]  # "defaults"
    # 128 MiB in the kernel
    mem = cgroup_dir(p, "memory") if "memory" in proc_cgroups(p) else None
    if mem and os.path.exists(os.path.join(mem, "memory.limit_in_bytes")):
        assert read_kernel(mem, "memory.limit_in_bytes") == "134217728"
    else:
        assert read_kernel(cgroup_dir(p, ""), "memory.max") == "134217728"
    # only /dev/null and /dev/zero can be opened
    r = attach_sh(c, "for f in /dev/* /dev/pts/ptmx; do [ -c $f ] && [ ! -L $f ] && "
                     "( : <$f ) 2>/dev/null && echo $f; done; true")
    assert r.stdout.split() == ["/dev/null", "/dev/zero"], r
    # it boots all the same: its console works (the fds init got are not reopened)
    wait_log(c, "containerfs busybox: debian is up")
    c.do("kill")
    assert c.state() == "STOPPED"


def _ctty_child(slave: int):
    """preexec for a process whose controlling terminal is `slave` (like a shell's)."""
    def pre():
        import fcntl
        import termios
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    return pre


def _pending_input(master: int, slave: int) -> bytes:
    """What waits in the terminal's input queue (what the caller's shell would read
    next), without blocking: the slave in non-canonical, non-blocking mode."""
    import termios
    attrs = termios.tcgetattr(slave)
    raw = list(attrs)
    raw[3] &= ~termios.ICANON
    raw[6] = list(raw[6])
    raw[6][termios.VMIN], raw[6][termios.VTIME] = 0, 0
    termios.tcsetattr(slave, termios.TCSANOW, raw)
    try:
        return os.read(slave, 4096)
    except BlockingIOError:
        return b""
    finally:
        termios.tcsetattr(slave, termios.TCSANOW, attrs)


INJECT = ("import fcntl, termios\n"
          "for ch in b'echo INJECTED\\n':\n"
          "    fcntl.ioctl(1, termios.TIOCSTI, bytes([ch]))\n")


@pytest.mark.timeout(60)
def test_attach_gives_a_new_pty_so_tiocsti_cannot_reach_the_caller(daemon, containers):
    """A command inside pushing keystrokes with TIOCSTI fills its own pty, never the
    terminal of the admin who attached (whose shell would run them on the host)."""
    import pty as ptymod
    import sys
    c = containers("app", "sleep", 100)
    c.start()
    master, slave = ptymod.openpty()
    try:
        # the control: run directly on that terminal, the injection lands in its queue
        subprocess.run([sys.executable, "-c", INJECT], stdin=slave, stdout=slave,
                       stderr=slave, preexec_fn=_ctty_child(slave), timeout=20, check=True)
        assert b"INJECTED" in _pending_input(master, slave)
        # through cfs-attach: the command's terminal is a pty of the tool's own
        p = subprocess.run([ATTACH, c.path(), "--", sys.executable, "-c",
                            INJECT + "import os; print(os.ttyname(1))"],
                           stdin=slave, stdout=slave, stderr=slave,
                           preexec_fn=_ctty_child(slave), timeout=20)
        assert p.returncode == 0
        assert _pending_input(master, slave) == b""
        out = b""
        while True:
            import select
            r, _, _ = select.select([master], [], [], 0.5)
            if not r:
                break
            out += os.read(master, 4096)
        assert b"/dev/pts/" in out and os.ttyname(slave).encode() not in out, out
    finally:
        os.close(master)
        os.close(slave)
    c.do("kill")


@pytest.mark.timeout(90)
def test_attach_takes_inits_credentials(daemon, containers, image):
    """The attached command has init's capability sets (not only its bounding set),
    its no_new_privs and seccomp mode, and uid/gid 0 inside."""
    c = system_container(containers, "web", image, {"caps.drop": "sys_module net_raw"})
    p = c.start()
    st = proc_status(p)
    r = attach_sh(c, "grep -E '^(Uid|Gid|Cap[A-Za-z]+|NoNewPrivs|Seccomp):' /proc/self/status")
    assert r.returncode == 0, r
    got = dict(line.split(":", 1) for line in r.stdout.splitlines())
    got = {k: v.strip() for k, v in got.items()}
    for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "NoNewPrivs", "Seccomp"):
        assert got[k] == st[k], (k, got[k], st[k])
    assert got["CapAmb"] == "0000000000000000"
    assert got["Uid"].split()[0] == "0" and got["Gid"].split()[0] == "0"
    c.do("kill")


@pytest.mark.timeout(90)
def test_attach_is_not_dumpable_before_exec(daemon, containers, image):
    """What cfs-attach runs before the command's exec holds the host's descriptors: it is
    not dumpable, so root inside (even one that could name it) cannot ptrace it or open
    its /proc files; /proc shows the private files of a non-dumpable process (environ,
    fd, mem; not the world-readable /proc/PID itself) as owned by the host's root.
    The command after its exec is an ordinary process of the container. (In a user
    namespace the change of uid alone would also leave the joiner non-dumpable; the
    tool's own PR_SET_DUMPABLE covers the time before it and privileged containers.)"""
    c = system_container(containers, "web", image)
    p = c.start()
    mapped = proc_status(p)["Uid"].split()[0]
    proc = subprocess.Popen([ATTACH, c.path(), "--", "sleep", "32"])
    try:
        def joined():
            with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                kids = f.read().split()
            if not kids:
                return None
            j = int(kids[0])
            with open(f"/proc/{j}/task/{j}/children") as f:
                cmd = f.read().split()
            return (j, int(cmd[0])) if cmd and cmd_is(int(cmd[0]), "sleep") else None

        def cmd_is(pid, name):
            try:
                return cmdline(pid)[:1] == [name]
            except OSError:
                return False

        joiner, command = wait_for(joined, 10, what="the attached command")
        if mapped != "0":  # unprivileged: the joiner runs as the container's root ...
            assert proc_status(joiner)["Uid"].split()[0] == mapped
            # ... yet /proc keeps it the host root's: not dumpable
            assert os.stat(f"/proc/{joiner}/environ").st_uid == 0
            # the command, after its exec, is dumpable again: owned by its own uid
            assert os.stat(f"/proc/{command}/environ").st_uid == int(mapped)
        # and the container cannot even name the joiner: it is outside its pid namespace
        assert proc_status(joiner)["NSpid"].split() == [str(joiner)]
    finally:
        proc.kill()
        proc.wait()
    c.do("kill")
