"""Containment: a container's root tries each known way out (tests/helpers/probe.c runs
as the container's init and reports without changing the host) and each must be closed
by the defaults; with `seccomp = unconfined` (and `privileged = 1` where that setting
exists) the same probes document what stays closed there and what opens. Also: the
seccomp setting and its edits, the filter and no_new_privs in application containers,
tasks refusing foreign pids, and cleanup leaving alone a cgroup containerfs did not make.

What a kernel lacks (no /proc/kcore, no sysrq, no kexec, no v1 devices hierarchy) is
read from the host's own /proc, /sys and .checkconfig, never assumed."""
import errno
import os
import shutil
import stat

import pytest

from lib.daemon import (build_dir, cgroup_hierarchies, cgroup_layout, checkconfig, has_controller,
                        host_lacks)
from lib.fsops import read_file, write_file
from lib.lifecycle import HostSleep, containers, pid_alive, ppid, proc_status, wait_for
from lib.system import attach, image, mounts_of, system_container

assert containers and image  # fixtures, imported for the tests below

PROBE = os.path.join(build_dir(), "helpers", "probe")
V1_DEVICES = cgroup_layout() in ("v1", "hybrid") and has_controller("devices")


@pytest.fixture
def probe_image(daemon, image):
    if checkconfig(daemon).get("seccomp filter") != "yes":
        pytest.skip(".checkconfig: this kernel has no seccomp filters")
    dst = os.path.join(image, "cfs-probe")
    shutil.copy(PROBE, dst)
    os.chmod(dst, 0o755)
    return image


def run_probes(containers, image, name, settings=None, which="all") -> dict:
    """Boot a container whose init is the probe; its results {probe: result}."""
    c = system_container(containers, name, image,
                         {"init": f"/cfs-probe {which}", **(settings or {})})
    c.do("start")
    c.wait_state("STOPPED", 30)
    log = c.log().replace("\r", "")
    assert "probe done" in log, log
    assert c.exit_status() == "0", log
    res = {}
    for line in log.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "probe":
            res[parts[1]] = parts[2]
    return res


def _host_has(path: str) -> bool:
    return os.path.exists(path)


def masked_or_absent(path: str) -> str:
    """What the probe of a masked file answers on this host."""
    return "masked" if _host_has(path) else "ENOENT"


def always_closed(unpriv: bool = False) -> dict:
    """Closed in every container whatever its privileges: the masks, the device rules
    and the default filter (with `seccomp = default`). In a user namespace the host's
    files refuse the container's root (EACCES) before the read-only mount does."""
    return {
        "core_pattern": "EACCES" if unpriv else "EROFS",  # /proc/sys: a read-only bind
        "sysrq": ("EACCES" if unpriv else "EROFS") if _host_has("/proc/sysrq-trigger")
                 else "ENOENT",
        "kcore": masked_or_absent("/proc/kcore"),
        "keys": masked_or_absent("/proc/keys"),
        "timer_list": masked_or_absent("/proc/timer_list"),
        "firmware": "masked" if _host_has("/sys/firmware") else "ENOENT",
        "mknod_console": "EPERM@mknod",    # c 5:1 is not in the default devices.allow
        "dev_mem": "EPERM@mknod",          # /dev has no mem, c 1:1 is not allowed
        "open_by_handle_at": "EPERM",      # the filter
        "kexec_load": "EPERM",
        "init_module": "EPERM",
        "bpf": "EPERM",
        "keyctl": "EPERM",
        "tree": "absent",                  # the tree is not in its mount namespace
        "seccomp": "2",
    }


# What a container whose root keeps CAP_SYS_ADMIN of the host's user namespace can
# still do (LXC: privileged containers are not root-safe): a fresh proc has writable
# host sysctls, /sys can be made writable, its own v1 devices cgroup opened for
# writing. An unprivileged container (user namespace) has them closed.
ROOT_SAFE_ONLY_UNPRIVILEGED = ["fresh_proc_core_pattern", "remount_sys_rw", "devices_v1"]


def is_unprivileged(c) -> bool:
    if os.path.exists(c.path("privileged")):
        return c.read("privileged") == "0"
    return "user" in c.read("namespaces").split()


def check_closed(res: dict, want: dict):
    wrong = {k: (res.get(k), v) for k, v in want.items() if res.get(k) != v}
    assert not wrong, f"probe: (got, want) {wrong}\nall: {res}"


@pytest.mark.timeout(90)
def test_default_container_is_contained(daemon, containers, probe_image):
    c = containers("probe0")
    unpriv = is_unprivileged(c)
    res = run_probes(containers, probe_image, "dflt")
    check_closed(res, always_closed(unpriv))
    # release_agent: a new hierarchy cannot be made inside a cgroup namespace, and an
    # existing one shows the container's own cgroup as its root, which has none
    assert res["release_agent"] != "ok", res
    if V1_DEVICES:
        assert res["release_agent"] in ("ENOENT", "EPERM@mount"), res
    opened = [p for p in ROOT_SAFE_ONLY_UNPRIVILEGED if res[p] == "ok"]
    if unpriv:
        assert opened == [], res
    else:
        # documented in doc/design.md: these stay open in a privileged container
        want = ["fresh_proc_core_pattern", "remount_sys_rw"] + (["devices_v1"] if V1_DEVICES else [])
        assert opened == want, res


@pytest.mark.timeout(60)
def test_user_namespace_application_container_is_contained(daemon, containers):
    """An application container with a user namespace (it shares the host's files, so
    the kernel's own checks are what hold): every probe closed, with the errno."""
    if checkconfig(daemon).get("seccomp filter") != "yes":
        pytest.skip(".checkconfig: this kernel has no seccomp filters")
    scratch = os.path.join(daemon.base, "scratch")
    os.mkdir(scratch)
    os.chmod(scratch, 0o777)  # the container's root is uid 100000 here
    c = containers("u", init=f"{PROBE} all", settings={
        "namespaces": "mnt pid uts ipc net cgroup user",
        "idmap": "u 0 100000 65536\ng 0 100000 65536", "env": f"PROBE_DIR={scratch}"})
    c.do("start")
    c.wait_state("STOPPED", 20)
    log = c.log()
    assert "probe done" in log and c.exit_status() == "0", log
    res = {p[1]: p[2] for p in (x.split() for x in log.splitlines()) if len(p) == 3}
    check_closed(res, always_closed(unpriv=True))
    assert res["fresh_proc_core_pattern"] == "EACCES", res  # the sysctl is the host's
    assert res["remount_sys_rw"] == "EPERM@remount", res     # the host's sysfs, locked
    if V1_DEVICES:
        assert res["devices_v1"] == "EACCES", res            # devices.allow is the host's
        assert res["release_agent"] == "ENOENT", res
    assert [p for p in ROOT_SAFE_ONLY_UNPRIVILEGED + ["release_agent"] if res[p] == "ok"] == []
    assert os.listdir(scratch) == []


@pytest.mark.timeout(90)
def test_unconfined_privileged_documents_what_opens(daemon, containers, probe_image):
    c = containers("probe0")
    settings = {"seccomp": "unconfined", **host_privileges(c)}
    res = run_probes(containers, probe_image, "unconf", settings)
    # the masks and device rules hold without the filter
    want = always_closed()
    for k in ("open_by_handle_at", "kexec_load", "init_module", "bpf", "keyctl", "seccomp"):
        del want[k]
    check_closed(res, want)
    assert res["seccomp"] == "0"
    # what only the filter closed is open: the host's inodes by handle (root keeps
    # CAP_DAC_READ_SEARCH), the host's BPF programs and the kernel keyrings
    assert res["open_by_handle_at"] == "ok" and res["bpf"] == "ok" and res["keyctl"] == "ok", res
    # module loading stays closed by the dropped CAP_SYS_MODULE (ENOSYS: no modules)
    assert res["init_module"] == ("EPERM" if _host_has("/proc/modules") else "ENOSYS"), res
    # kexec: CAP_SYS_BOOT is kept, so only the kernel's own switch closes it
    if not _host_has("/sys/kernel/kexec_loaded"):
        assert res["kexec_load"] == "ENOSYS", res
    assert res["fresh_proc_core_pattern"] == "ok" and res["remount_sys_rw"] == "ok", res


def host_privileges(c) -> dict:
    """Settings that give c root's privileges on the host, so that what a probe shows
    is the filter's doing, not the user namespace's (bpf and open_by_handle_at need
    capabilities of the host's user namespace)."""
    return {"privileged": "1"} if os.path.exists(c.path("privileged")) else {}


@pytest.mark.timeout(90)
def test_seccomp_edits(daemon, containers, probe_image):
    priv = host_privileges(containers("probe0"))
    res = run_probes(containers, probe_image, "minus", {"seccomp": "default -keyctl", **priv},
                     which="keyctl bpf seccomp")
    assert res == {"keyctl": "ok", "bpf": "EPERM", "seccomp": "2"}, res
    res = run_probes(containers, probe_image, "plus", {"seccomp": "unconfined +keyctl", **priv},
                     which="keyctl bpf open_by_handle_at seccomp")
    assert res == {"keyctl": "EPERM", "bpf": "ok", "open_by_handle_at": "ok", "seccomp": "2"}, res


def test_seccomp_setting_checked_at_write(daemon, containers):
    c = containers("web")
    for bad in ("-nosuchcall", "strict", "default +kexec_load unconfined"):
        res = write_file(c.path("seccomp"), bad + "\n")
        assert res == errno.EINVAL, (bad, res)
        le = c.last_error()
        assert le.startswith("seccomp: ") and bad.split()[-1].lstrip("+-") in le, le
    assert c.read("seccomp") == "default"
    c.set("seccomp", "default -bpf +ptrace")
    assert c.read("seccomp") == "default -bpf +ptrace"


def test_application_container_filter_nnp_masks(daemon, containers):
    if checkconfig(daemon).get("seccomp filter") != "yes":
        pytest.skip(".checkconfig: this kernel has no seccomp filters")
    a = containers("app", "sleep", 100)
    b = containers("free", "sleep", 100, settings={"seccomp": "unconfined"})
    pa, pb = a.start(), b.start()
    for p in (pa, a.command_pid()):
        st = proc_status(p)
        assert st["Seccomp"] == "2" and st["NoNewPrivs"] == "1", (p, st)
    st = proc_status(b.command_pid())
    assert st["Seccomp"] == "0" and st["NoNewPrivs"] == "1", st
    mounts = mounts_of(pa)
    assert not [m for m in mounts if m["fstype"].startswith("fuse.containerfs")], mounts
    ro = {m["mnt"] for m in mounts if "ro" in m["opts"]}
    assert "/proc/sys" in ro, sorted(ro)
    if _host_has("/proc/keys"):
        keys = [m for m in mounts if m["mnt"] == "/proc/keys"]
        assert keys and keys[-1]["root"].endswith("/null"), keys  # /dev/null bound over it
    a.do("kill")
    b.do("kill")


def _descriptors(pid: int) -> dict:
    """{fd: what it points at} of a host pid, with "<dir>" for a directory."""
    out = {}
    for f in os.listdir(f"/proc/{pid}/fd"):
        p = f"/proc/{pid}/fd/{f}"
        try:
            out[int(f)] = "<dir>" if stat.S_ISDIR(os.stat(p).st_mode) else os.readlink(p)
        except FileNotFoundError:
            pass
    return out


def _no_host_descriptor(daemon, c):
    """No process of c holds a directory or a file of the host's cgroups, the daemon's
    dirs or the tree (what the daemon opened to start it: its cgroup2 directory to be
    cloned into, the run dir): through /proc/self/fd and `..` it would lead out."""
    pids = [int(x) for x in read_file(c.path("tasks")).split()]
    assert pids
    outside = ("/sys/fs/cgroup", daemon.run_dir, daemon.state_dir, daemon.mnt)
    seen = {}
    for p in pids:
        fds = _descriptors(p)
        seen[p] = fds
        for fd, what in fds.items():
            assert what != "<dir>", (p, fd, fds)
            assert not what.startswith(outside), (p, fd, fds)
    return seen


def test_no_descriptor_of_the_host_reaches_a_container(daemon, containers, image):
    a = containers("app", "sleep", 100)
    a.start()
    a.command_pid()
    seen = _no_host_descriptor(daemon, a)
    assert all(set(fds) == {0, 1, 2} for fds in seen.values()), seen
    a.do("kill")
    if host_lacks(daemon, "idmapped mounts"):
        pytest.skip(".checkconfig: no idmapped mounts, so no unprivileged system container")
    s = system_container(containers, "sys", image, {"init": "/bin/sleep 1000"})
    s.do("start")
    _no_host_descriptor(daemon, s)
    s.do("kill")


def test_tasks_refuses_foreign_pids(daemon, containers):
    a = containers("a", "sleep", 100)
    b = containers("b", "sleep", 100)
    # c runs in the host's pid namespace but in its own cgroup
    c = containers("c", "sleep", 100, settings={"namespaces": "mnt uts ipc net cgroup"})
    pa = a.start()
    b.start()
    c.start()
    cases = [
        (1, "host's init"),
        (daemon.proc.pid, "daemon"),
        (ppid(pa), "supervisor"),
        (b.command_pid(), "another pid namespace"),
        (c.command_pid(), "belongs to container 'c'"),
    ]
    for pid, why in cases:
        before = read_file(f"/proc/{pid}/cgroup")
        res = write_file(a.path("tasks"), f"{pid}\n")
        assert res == errno.EPERM, (pid, why, res)
        le = a.last_error()
        assert le.startswith("tasks: ") and why in le and str(pid) in le, (why, le)
        assert read_file(f"/proc/{pid}/cgroup") == before, f"{pid} was moved"
    # an ordinary host process is still taken
    with HostSleep(100) as h:
        assert write_file(a.path("tasks"), f"{h.pid}\n") == 0, a.last_error()
        assert str(h.pid) in read_file(a.path("tasks")).split()
        a.do("kill")
        assert wait_for(lambda: not pid_alive(h.pid), 10, what="the moved process killed")
    for x in (b, c):
        x.do("kill")


def _unmarked_cgroups(daemon, name):
    """Cgroups made by somebody else (no containerfs mark) where containerfs would put
    name's, in every hierarchy; a v1 cpuset gets its parent's cpus and mems, so a process
    can be moved in. Their paths."""
    made = []
    for _mnt, own in cgroup_hierarchies():
        d = os.path.join(own, daemon.cgroup_parent, name)
        if os.path.isdir(os.path.dirname(d)):
            os.mkdir(d)
            made.append(d)
            for f in ("cpuset.cpus", "cpuset.mems"):  # a v1 cpuset starts empty
                if os.path.exists(os.path.join(d, f)):
                    with open(os.path.join(os.path.dirname(d), f)) as src, \
                            open(os.path.join(d, f), "w") as dst:
                        dst.write(src.read())
    assert made
    return made


@pytest.mark.timeout(60)
def test_cleanup_leaves_a_foreign_cgroup_alone(daemon, containers):
    c = containers("web", "sleep", 100)
    # somebody else's cgroup where containerfs would put web's, with a process in it
    made = _unmarked_cgroups(daemon, "web")
    with HostSleep(100) as h:
        for d in made:
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(h.pid))
        # the daemon's start cleans up after every stopped container: not this one
        daemon.restart()
        assert pid_alive(h.pid), "a restart killed a process in a foreign cgroup"
        assert all(os.path.isdir(d) for d in made)
        # nor does a start take it over
        res = c.write_state("start")
        assert res == errno.EBUSY, res
        assert "not made by containerfs" in c.last_error(), c.last_error()
        assert pid_alive(h.pid) and all(os.path.isdir(d) for d in made)
        for d in made:  # give the process back to our own cgroup, then remove ours
            with open(os.path.join(os.path.dirname(os.path.dirname(d)), "cgroup.procs"), "w") as f:
                f.write(str(h.pid))
    for d in made:
        os.rmdir(d)
    # with the foreign cgroup gone, the container starts and stops as usual
    c.start()
    c.do("stop")
    assert c.state() == "STOPPED"


@pytest.mark.timeout(60)
def test_an_empty_unmarked_cgroup_is_taken_back(daemon, containers):
    """What a daemon killed between its mkdir of a container's cgroup and marking it
    leaves: an empty cgroup without the mark. Nothing is in it, so the cleanup at the next
    daemon start removes it, and a start takes it rather than refusing for ever."""
    c = containers("web", "sleep", 100)
    made = _unmarked_cgroups(daemon, "web")
    daemon.restart()
    assert not [d for d in made if os.path.exists(d)], "the restart left unmarked empty cgroups"
    made = _unmarked_cgroups(daemon, "web")
    c.start()
    c.do("stop")
    assert c.state() == "STOPPED"
    assert not [d for d in made if os.path.exists(d)]


@pytest.mark.timeout(60)
def test_attached_command_runs_under_the_filter(daemon, containers, probe_image):
    """cfs-attach puts its command under the filter the engine leaves in the run dir."""
    c = system_container(containers, "web", probe_image, {"seccomp": "default -bpf"})
    for k, v in host_privileges(c).items():
        c.set(k, v)
    p = c.start()
    filt = os.path.join(daemon.run_dir, "web", "seccomp.bpf")
    assert os.path.getsize(filt) % 8 == 0 and os.path.getsize(filt) > 0
    r = attach(c, "/cfs-probe", "keyctl", "bpf", "seccomp")
    assert r.returncode == 0, r
    assert r.stdout.replace("\r", "").splitlines()[:3] == \
        ["probe keyctl EPERM", "probe bpf ok", "probe seccomp 2"], r.stdout
    assert proc_status(p)["Seccomp"] == "2"
    c.do("kill")
    c.set("seccomp", "unconfined")
    c.start()
    assert not os.path.exists(filt), "an unconfined run left a filter for attach"
    r = attach(c, "/cfs-probe", "keyctl", "seccomp")
    assert r.stdout.replace("\r", "").splitlines()[:2] == ["probe keyctl ok", "probe seccomp 0"], r
    c.do("kill")
