"""System containers (rootfs set), checked from outside through the kernel: busybox
init booted from its rootfs after pivot_root, its own /proc, a read-only /sys, a fresh
/dev with exactly the nodes the device rules allow and its own devpts, the mounts
setting (targets resolved inside the root), capabilities, denied devices, and failed starts that
leave nothing behind."""
import errno
import os
import subprocess

import pytest

from lib.fsops import ename, read_file
from lib.lifecycle import (cgroups_below_parent, cmdline, containers, nspids,
                           procs_in_parent, wait_for, wait_gone)
from lib.system import (DEV_LINKS, STD_NODES, attach_sh, cap_mask, console, dev_entries,
                        host_capbnd, host_mounts_under, image, mounts_at, mounts_of,
                        pids_inside, system_container, wait_log)
from lib.daemon import host_lacks, procs_mentioning

assert containers and image  # fixtures, imported for the tests below


def _ns_ino(pid: int, ns: str) -> int:
    return os.stat(f"/proc/{pid}/ns/{ns}").st_ino


def _pids_in_ns_of(init: int):
    """The pid inside of every process in init's pid namespace, from the host's /proc."""
    ino, out = _ns_ino(init, "pid"), []
    for x in os.listdir("/proc"):
        if not x.isdigit():
            continue
        try:
            if _ns_ino(int(x), "pid") == ino:
                out.append(nspids(int(x))[-1])
        except (OSError, KeyError):
            pass  # gone meanwhile
    return sorted(out)


def _nothing_left(d, c, where=()):
    """After a failed start or a stop: STOPPED, no cgroup, no process, no mount."""
    assert c.state() == "STOPPED"
    assert c.read("pid") == ""
    assert cgroups_below_parent(d) == [], "cgroups left"
    assert procs_in_parent(d) == [], "processes left in the cgroups"
    assert procs_mentioning(d.run_dir, exclude=d.pids) == []
    assert not os.path.exists(os.path.join(d.run_dir, c.name, "console.sock"))
    for w in where:
        assert host_mounts_under(w) == [], f"mounts left under {w}"


@pytest.mark.timeout(90)
def test_boot_busybox_init_pivot_root_own_proc(daemon, containers, image):
    c = system_container(containers, "web", image, {"tty": "2"})
    p = c.start()
    # busybox init from the image is pid 1 of the container's own pid namespace
    assert nspids(p)[-1] == 1
    assert cmdline(p)[0] in ("/sbin/init", "init")  # busybox init renames itself
    exe, busybox = os.stat(f"/proc/{p}/exe"), os.stat(os.path.join(image, "bin/busybox"))
    assert (exe.st_dev, exe.st_ino) == (busybox.st_dev, busybox.st_ino)
    # /proc/PID/root is the rootfs
    root, img = os.stat(f"/proc/{p}/root"), os.stat(image)
    assert (root.st_dev, root.st_ino) == (img.st_dev, img.st_ino)
    assert read_file(f"/proc/{p}/root/etc/inittab") == read_file(f"{image}/etc/inittab")
    # pivot_root, not chroot: "/" of its mount namespace is the image, and none of the
    # host's mounts (our tree, the host's root) is left in it
    mounts = mounts_of(p)
    assert mounts[0]["mnt"] == "/" and os.path.realpath(image).endswith(mounts[0]["root"])
    assert not [m for m in mounts if m["fstype"].startswith("fuse")], mounts
    assert len([m for m in mounts if m["mnt"] == "/"]) == 1, mounts
    # the boot went through /dev/console into the log
    wait_log(c, "containerfs busybox: web is up")
    wait_log(c, "Please press Enter to activate this console")
    # its /proc shows its processes and nothing else
    wait_for(lambda: pids_inside(p) == _pids_in_ns_of(p), 10,
             what="the container's /proc listing exactly its own processes")
    assert 1 in pids_inside(p) and len(pids_inside(p)) < 20
    ps = c.ps()
    assert {int(r[0]) for r in ps} >= {p} and any(r[1] == "1" for r in ps)
    # stop: SIGTERM makes busybox init end the container
    c.do("stop")
    assert wait_gone(p, 5)
    assert c.exit_status() != ""
    _nothing_left(daemon, c, [image])


@pytest.mark.timeout(60)
def test_sys_readonly_proc_and_dev(daemon, containers, image):
    c = system_container(containers, "web", image, {"tty": "2", "pts": "16"})
    p = c.start()
    # /sys read-only, /proc with its host-wide sysctls read-only
    sys_m = mounts_at(p, "/sys")
    assert sys_m and sys_m[-1]["fstype"] == "sysfs" and "ro" in sys_m[-1]["opts"], sys_m
    r = attach_sh(c, "echo 1 > /sys/kernel/profiling")
    assert r.returncode != 0 and "Read-only file system" in r.stderr, r
    proc_m = mounts_at(p, "/proc")
    assert proc_m and proc_m[-1]["fstype"] == "proc"
    assert {"nosuid", "nodev", "noexec"} <= set(proc_m[-1]["opts"])
    assert "ro" in mounts_at(p, "/proc/sys")[-1]["opts"]
    # /dev: a tmpfs with exactly the standard nodes, the console and two ttys
    assert mounts_at(p, "/dev")[-1]["fstype"] == "tmpfs"
    dev = dev_entries(p)
    chars = {n: v[1] for n, v in dev.items() if v[0] == "c"}
    assert set(chars) == set(STD_NODES) | {"console", "tty1", "tty2"}, sorted(dev)
    for n, num in STD_NODES.items():
        assert chars[n] == num, f"/dev/{n} is {chars[n]}"
    ptys = [chars["console"], chars["tty1"], chars["tty2"]]
    assert all(m == 136 for m, _ in ptys) and len(set(ptys)) == 3, ptys
    assert {n: v[1] for n, v in dev.items() if v[0] == "l"} == {**DEV_LINKS, "ptmx": "pts/ptmx"}
    assert {n for n, v in dev.items() if v[0] == "d"} == {"pts", "shm"}
    assert not [n for n, v in dev.items() if v[0] == "f"], dev
    # /dev/pts: an instance of its own, limited to pts
    pts = mounts_at(p, "/dev/pts")[-1]
    assert pts["fstype"] == "devpts" and "max=16" in pts["super"] and "ptmxmode=666" in pts["super"]
    assert os.stat(f"/proc/{p}/root/dev/pts").st_dev != os.stat("/dev/pts").st_dev
    r = attach_sh(c, "ls /dev/pts")
    assert r.returncode == 0 and r.stdout.split() == ["ptmx"], r
    assert mounts_at(p, "/dev/shm")[-1]["fstype"] == "tmpfs"
    c.do("kill")


@pytest.mark.timeout(60)
def test_mount_entries(daemon, containers, image):
    shared = os.path.join(daemon.base, "shared")
    os.mkdir(shared)
    with open(os.path.join(shared, "hello"), "w") as f:
        f.write("hi\n")
    c = system_container(containers, "web", image, {"mounts": "\n".join([
        f"{shared} /mnt/host none bind,ro,create=dir 0 0",
        "tmpfs mnt/scratch tmpfs size=1m,mode=700,nosuid,create=dir 0 0",
        f"{shared}/hello /etc/hello.txt none bind,create=file 0 0",
    ])})
    p = c.start()
    host = mounts_at(p, "/mnt/host")
    assert host and "ro" in host[-1]["opts"], mounts_of(p)
    scratch = mounts_at(p, "/mnt/scratch")
    assert scratch and scratch[-1]["fstype"] == "tmpfs", mounts_of(p)
    assert "nosuid" in scratch[-1]["opts"] and "mode=700" in scratch[-1]["super"]
    assert mounts_at(p, "/etc/hello.txt")
    assert read_file(f"/proc/{p}/root/mnt/host/hello") == "hi\n"
    assert read_file(f"/proc/{p}/root/etc/hello.txt") == "hi\n"
    r = attach_sh(c, "touch /mnt/host/new")
    assert r.returncode != 0 and not os.path.exists(os.path.join(shared, "new"))
    # all of it in the container's mount namespace: nothing on the host
    assert host_mounts_under(image) == [] and host_mounts_under(shared) == []
    c.do("kill")


@pytest.mark.timeout(60)
def test_rbind_ro_reaches_submounts(daemon, containers, image):
    """ro on an rbind makes what is mounted beneath the source read-only too; a kernel
    without mount_setattr cannot, and such a start is refused (ENOSYS) rather than
    leave the submounts writable."""
    shared = os.path.join(daemon.base, "shared")
    sub = os.path.join(shared, "sub")
    os.makedirs(sub)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "cfs-sub", sub], check=True)
    try:
        c = system_container(containers, "web", image, {
            "mounts": f"{shared} /mnt/host none rbind,ro,create=dir 0 0"})
        if host_lacks(daemon, "mount_setattr"):
            assert c.write_state("start") == errno.ENOSYS, c.last_error()
            _nothing_left(daemon, c, [image])
            return
        p = c.start()
        top, below = mounts_at(p, "/mnt/host"), mounts_at(p, "/mnt/host/sub")
        assert top and below, mounts_of(p)
        assert "ro" in top[-1]["opts"] and "ro" in below[-1]["opts"], (top, below)
        r = attach_sh(c, "touch /mnt/host/sub/new")
        assert r.returncode != 0 and "Read-only file system" in r.stderr, r
        assert not os.path.exists(os.path.join(sub, "new"))
        # the host's own mount stays writable
        with open(os.path.join(sub, "host"), "w") as f:
            f.write("x")
        os.unlink(os.path.join(sub, "host"))
        c.do("kill")
        _nothing_left(daemon, c, [image])
    finally:
        subprocess.run(["umount", "-l", sub], check=False)


# Targets resolve as the container sees them: link -> its text, the entry, and where
# the mount lands inside ({outside}: a host path, which inside names the image's).
IN_ROOT = {
    "debian var/run": ("var/run", "/run", "tmpfs /var/run/cfs tmpfs create=dir 0 0",
                       "/run/cfs"),
    "absolute symlink": ("mnt/abs", "{outside}", "tmpfs /mnt/abs tmpfs defaults 0 0",
                         "{outside}"),
    "relative symlink": ("mnt/rel", "../../../../../../../../../../..{outside}",
                         "tmpfs mnt/rel/sub tmpfs create=dir 0 0", "{outside}/sub"),
    "dot-dot": (None, None, "tmpfs ../../escape tmpfs create=dir 0 0", "/escape"),
    "bind onto a link": ("etc/evil", "{outside}/victim",
                         "/etc/hostname /etc/evil none bind 0 0", "{outside}/victim"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", sorted(IN_ROOT))
def test_mount_target_resolved_in_root(daemon, containers, image, case):
    outside = os.path.join(daemon.base, "outside")
    os.mkdir(outside)
    with open(os.path.join(outside, "victim"), "w") as f:
        f.write("untouched\n")
    # the same path inside the image: what a link to the host's path names there
    os.makedirs(image + outside)
    with open(image + outside + "/victim", "w") as f:
        f.write("inside\n")
    link, target, entry, lands = IN_ROOT[case]
    lands = lands.format(outside=outside)
    if link:
        os.symlink(target.format(outside=outside), os.path.join(image, link))
    c = system_container(containers, "web", image, {"mounts": entry})
    before = sorted(os.listdir(daemon.base)), sorted(os.listdir(outside))
    p = c.start()
    assert mounts_at(p, lands), (lands, mounts_of(p))
    # nothing mounted or made on the host
    assert (sorted(os.listdir(daemon.base)), sorted(os.listdir(outside))) == before
    assert read_file(os.path.join(outside, "victim")) == "untouched\n"
    assert not os.path.exists(os.path.join(os.path.dirname(daemon.base), "escape"))
    assert host_mounts_under(outside) == [] and host_mounts_under(image) == []
    c.do("kill")
    _nothing_left(daemon, c, [outside, image])
    assert host_mounts_under(daemon.base) == [daemon.mnt]


@pytest.mark.timeout(60)
def test_mount_target_dangling_link_refused(daemon, containers, image):
    """A link to what the root lacks is missing, even where the host has it."""
    outside = os.path.join(daemon.base, "outside")
    os.mkdir(outside)
    os.symlink(outside, os.path.join(image, "mnt/abs"))
    c = system_container(containers, "web", image,
                         {"mounts": "tmpfs /mnt/abs/sub tmpfs create=dir 0 0"})
    res = c.write_state("start")
    assert res == errno.ENOENT, f"start: {ename(res)}; last_error {c.last_error()!r}"
    err = c.last_error()
    assert "mounts" in err and "/mnt/abs/sub" in err, err
    assert os.listdir(outside) == []
    _nothing_left(daemon, c, [outside, image])


@pytest.mark.timeout(60)
def test_capabilities(daemon, containers, image):
    host = host_capbnd()
    dropped = cap_mask("sys_module", "sys_time", "net_raw")
    c1 = system_container(containers, "drop", image, {"caps.drop": "sys_module CAP_SYS_TIME net_raw"})
    kept = cap_mask("mknod", "sys_admin", "net_raw")
    c2 = system_container(containers, "keep", image, {"caps.keep": "mknod sys_admin CAP_NET_RAW"})
    c3 = system_container(containers, "dflt", image)
    p1, p2, p3 = c1.start(), c2.start(), c3.start()

    def caps(p):
        st = {}
        with open(f"/proc/{p}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                st[k] = v.strip()
        return {k: int(st[k], 16) for k in ("CapBnd", "CapEff", "CapPrm", "CapInh")}, st

    c, st = caps(p1)
    assert c["CapBnd"] == host & ~dropped, f"{c['CapBnd']:x} want {host & ~dropped:x}"
    assert c["CapEff"] == c["CapPrm"] == c["CapBnd"] and c["CapInh"] == 0
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "2"  # the default filter (seccomp.c)
    c, _ = caps(p2)
    assert c["CapBnd"] == host & kept and c["CapEff"] == host & kept
    # the default: LXC's drop list
    c, _ = caps(p3)
    default = cap_mask("sys_module", "sys_time", "sys_rawio", "mac_admin", "mac_override")
    assert c["CapBnd"] == host & ~default
    # what the bounding set says is what the container can do
    r = attach_sh(c1, "date -s 2001-01-01")
    assert "can't set date: Operation not permitted" in r.stderr, r
    r = attach_sh(c2, "touch /tmp/f && chown 1 /tmp/f")
    assert r.returncode != 0 and "not permitted" in r.stderr, r  # chown is not kept
    r = attach_sh(c2, "hostname other && hostname")
    assert r.returncode == 0 and r.stdout.strip() == "other", r  # sys_admin is
    for ctr in (c1, c2, c3):
        ctr.do("kill")


@pytest.mark.timeout(60)
def test_denied_devices(daemon, containers, image):
    # mknod needs the host's privileges: a user namespace never may (test_unprivileged)
    c = system_container(containers, "web", image, {"privileged": "1"})
    dflt = c.read("cgroup/devices.allow")
    c.set("cgroup/devices.allow", dflt + "\nc 1:1 m")  # /dev/mem: mknod only
    c.start()
    r = attach_sh(c, "mknod /tmp/sda b 8 0")
    assert r.returncode != 0 and "not permitted" in r.stderr, r
    r = attach_sh(c, "mknod /tmp/mem c 1 1 && echo made && head -c1 /tmp/mem")
    assert "made" in r.stdout and r.returncode != 0 and "not permitted" in r.stderr, r
    r = attach_sh(c, "head -c1 /dev/zero | wc -c")
    assert r.returncode == 0 and r.stdout.strip() == "1", r
    c.do("kill")


@pytest.mark.timeout(60)
def test_failed_starts_leave_nothing(daemon, containers, image):
    c = system_container(containers, "web", os.path.join(daemon.base, "no-such-dir"))
    res = c.write_state("start")
    assert res == errno.ENOENT, ename(res)
    assert "rootfs" in c.last_error() and "no-such-dir" in c.last_error()
    _nothing_left(daemon, c)
    c.set("rootfs", os.path.join(image, "etc/inittab"))
    assert c.write_state("start") == errno.ENOTDIR
    _nothing_left(daemon, c)
    c.set("rootfs", image)
    c.set("init", "/sbin/no-such-init")
    assert c.write_state("start") == errno.ENOENT
    assert "exec /sbin/no-such-init" in c.last_error(), c.last_error()
    _nothing_left(daemon, c, [image])
    c.set("init", "")
    c.set("namespaces", "pid uts ipc net")
    assert c.write_state("start") == errno.EINVAL
    assert "mnt" in c.last_error()
    _nothing_left(daemon, c, [image])


@pytest.mark.timeout(60)
def test_without_sys_admin_sys_and_proc_stay(daemon, containers, image):
    c = system_container(containers, "web", image,
                         {"caps.drop": "sys_admin sys_module sys_time sys_rawio mac_admin mac_override"})
    p = c.start()
    # it boots all the same
    wait_log(c, "containerfs busybox: web is up")
    r = attach_sh(c, "mount -o remount,rw /sys")
    assert r.returncode != 0, r
    assert "ro" in mounts_at(p, "/sys")[-1]["opts"]
    r = attach_sh(c, "mount -t tmpfs none /proc/sys")
    assert r.returncode != 0, r
    r = attach_sh(c, "mount --bind /tmp /proc/sys")
    assert r.returncode != 0, r
    assert mounts_at(p, "/proc/sys")[-1]["fstype"] == "proc"
    assert "ro" in mounts_at(p, "/proc/sys")[-1]["opts"]
    c.do("kill")


@pytest.mark.timeout(90)
def test_freeze_thaw_and_daemon_restart(daemon, containers, image):
    c = system_container(containers, "web", image, {"tty": "1"})
    p = c.start()
    wait_log(c, "is up")
    c.do("freeze")
    assert c.state() == "FROZEN"
    c.do("thaw")
    assert c.state() == "RUNNING"
    # the daemon goes and comes back: the container runs on, its ptys with it
    daemon.restart()
    assert c.state() == "RUNNING" and c.pid() == p
    r = attach_sh(c, "hostname")
    assert r.stdout == "web\n", r
    r = wait_for(lambda: (lambda r: "again-42" in r.stdout and r)(
        console(c, 1, "echo again-$((6*7))\n")), 15, what="tty1 after the restart")
    c.do("stop")
    assert wait_gone(p, 5)
    _nothing_left(daemon, c, [image])
