"""Unprivileged system containers over a root-owned image: the busybox image booted in
a user namespace through an idmapped mount of the image (as is, and as the overlay's
lower layer), checked from the host through the kernel: init's host uid is the idmap's
first outside id, what root writes inside lands in the upper layer owned by that id,
the image never changes, the cgroup is handed to the container's root; bad idmaps are
refused at write."""
import errno
import hashlib
import os

import subprocess

import pytest

from lib.daemon import host_lacks, procs_mentioning
from lib.fsops import write_file
from lib.lifecycle import (cgroup_dirs, cgroups_below_parent, containers, nspids,
                           proc_status, procs_in_parent)
from lib.system import attach_sh, host_mounts_under, image, system_container, wait_log

assert containers and image  # fixtures, imported for the tests below

IDMAP = "u 0 1100000 65536\ng 0 1100000 65536"
FIRST = 1100000


def _tree_hash(root: str) -> str:
    """Every entry of the tree: path, type, mode, owner, size, link target, contents."""
    h = hashlib.sha256()
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(d, name)
            st = os.lstat(p)
            h.update(f"{os.path.relpath(p, root)} {st.st_mode:o} {st.st_uid} {st.st_gid} "
                     f"{st.st_size}\n".encode())
            if os.path.islink(p):
                h.update(os.readlink(p).encode())
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()


def _skip_without_idmapped_mounts(daemon):
    if host_lacks(daemon, "idmapped mounts"):
        from lib.daemon import checkconfig
        pytest.skip("idmapped mounts: " + checkconfig(daemon)["idmapped mounts"])


def _ids(pid: int, field: str):
    return [int(x) for x in proc_status(pid)[field].split()]


def _nothing_left(d, c, where=()):
    assert c.state() == "STOPPED"
    assert cgroups_below_parent(d) == [], "cgroups left"
    assert procs_in_parent(d) == [], "processes left in the cgroups"
    assert procs_mentioning(d.run_dir, exclude=d.pids) == []
    for w in where:
        assert host_mounts_under(w) == [], f"mounts left under {w}"


def _unprivileged(containers, name, img, overlay: bool, idmap: str = IDMAP):
    return system_container(containers, name, img, {
        "namespaces": "mnt pid uts ipc net cgroup user",
        "idmap": idmap,
        "rootfs.overlay": "1" if overlay else "0",
    })


@pytest.mark.timeout(120)
@pytest.mark.parametrize("overlay", [True, False], ids=["overlay", "idmapped"])
def test_boot_unprivileged_over_root_owned_image(daemon, containers, image, overlay):
    _skip_without_idmapped_mounts(daemon)
    st = os.stat(image)
    assert (st.st_uid, st.st_gid) == (0, 0)
    before = _tree_hash(image)
    c = _unprivileged(containers, "web", image, overlay)
    p = c.start()
    assert nspids(p)[-1] == 1
    # init runs as the idmap's first outside id, in all four uid and gid slots
    assert _ids(p, "Uid") == [FIRST] * 4 and _ids(p, "Gid") == [FIRST] * 4
    with open(f"/proc/{p}/uid_map") as f:
        assert f.read().split() == ["0", str(FIRST), "65536"]
    wait_log(c, "containerfs busybox: web is up")
    # inside, the image's files are root's; /dev has the host's nodes bound
    r = attach_sh(c, "id -u; stat -c %u:%g /bin/busybox /etc; echo x > /dev/null && "
                     "cat /dev/null; head -c 4 /dev/zero | wc -c")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "0:0", "0:0", "4"], r.stdout
    # the cgroup is the container's root's to manage
    for ctrl, d in cgroup_dirs(p).items():
        if d:
            assert os.stat(d).st_uid == FIRST, (ctrl, d)
    # root writes a file inside
    r = attach_sh(c, "echo hello > /root-was-here && mkdir -p /etc/new && "
                     "echo x > /etc/new/f && stat -c %u /root-was-here")
    if overlay:
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["0"]
        upper = os.path.join(daemon.state_dir, "web", "overlay", "upper")
        for rel in ("root-was-here", "etc/new/f", "etc/new"):
            s = os.stat(os.path.join(upper, rel))
            assert (s.st_uid, s.st_gid) == (FIRST, FIRST), rel
        assert not os.path.exists(os.path.join(image, "root-was-here"))
        assert _tree_hash(image) == before
    else:
        # no overlay: the image is the container's own, written through the idmap, so
        # what root inside makes is root's on the host
        assert r.returncode == 0, r.stderr
        s = os.stat(os.path.join(image, "root-was-here"))
        assert (s.st_uid, s.st_gid) == (0, 0)
    c.do("stop")
    _nothing_left(daemon, c, [image, daemon.state_dir])
    if overlay:
        assert _tree_hash(image) == before


@pytest.mark.parametrize("idmap,why", [
    ("u 1 1100000 65536\ng 0 1100000 65536", "uid 0"),
    ("u 0 1100000 65536\ng 1 1100000 65536", "gid 0"),
    ("u 0 1100000 100\nu 50 1200000 100\ng 0 1100000 65536", "overlaps"),
    ("u 0 1100000 100\nu 100 1100050 100\ng 0 1100000 65536", "overlaps"),
    ("b 0 1100000 100\ng 10 1300000 5", "overlaps"),
])
def test_bad_idmap_refused_at_write(daemon, containers, idmap, why):
    c = containers("web")
    old = c.read("idmap")
    res = write_file(c.path("idmap"), idmap + "\n")
    assert res == errno.EINVAL, f"idmap {idmap!r}: {res}"
    assert why in c.last_error() and "idmap" in c.last_error(), c.last_error()
    assert c.read("idmap") == old


def _subid_first(path: str) -> int:
    """The start of root's first range in /etc/subuid or /etc/subgid (None if none)."""
    with open(path) as f:
        for line in f:
            name, start, count = line.strip().split(":")
            if name in ("root", "0"):
                return int(start), int(count)
    return None


def _allocated(c) -> int:
    """The first outside id of an allocated idmap ("u 0 X 65536", "g 0 X 65536")."""
    lines = c.read("idmap").splitlines()
    assert len(lines) == 2, lines
    u, g = (ln.split() for ln in lines)
    assert u[0] == "u" and g[0] == "g" and u[1] == g[1] == "0" and u[3] == g[3] == "65536"
    assert u[2] == g[2]
    return int(u[2])


@pytest.mark.timeout(120)
def test_default_allocates_distinct_persistent_ranges(daemon, containers, image):
    """The default (privileged = 0) with no idmap: a user namespace and 65536 ids of
    root's subordinate ranges, different for each container, kept across a daemon
    restart."""
    _skip_without_idmapped_mounts(daemon)
    cs = [system_container(containers, n, image, {"rootfs.overlay": "1"}) for n in ("a", "b")]
    assert all(c.read("idmap") == "" and c.read("privileged") == "0" for c in cs)
    firsts = []
    for c in cs:
        p = c.start()
        first = _allocated(c)
        firsts.append(first)
        assert _ids(p, "Uid") == [first] * 4 and _ids(p, "Gid") == [first] * 4
        with open(f"/proc/{p}/uid_map") as f:
            assert f.read().split() == ["0", str(first), "65536"]
        wait_log(c, f"containerfs busybox: {c.name} is up")
    assert abs(firsts[0] - firsts[1]) >= 65536, firsts
    for path in ("/etc/subuid", "/etc/subgid"):
        start, count = _subid_first(path)
        assert all(start <= f and f + 65536 <= start + count for f in firsts), (path, firsts)
    # root inside may not make device nodes, nor write a host-wide sysctl through a
    # proc of its own
    r = attach_sh(cs[0], "mknod /tmp/mem c 1 1")
    assert r.returncode != 0 and "not permitted" in r.stderr, r
    with open("/proc/sys/kernel/core_pattern") as f:
        core = f.read()
    r = attach_sh(cs[0], "mkdir -p /tmp/p && mount -t proc proc /tmp/p && echo mounted && "
                         "echo '|/bin/false' > /tmp/p/sys/kernel/core_pattern")
    assert "mounted" in r.stdout and r.returncode != 0, r
    assert "denied" in r.stderr or "not permitted" in r.stderr, r
    with open("/proc/sys/kernel/core_pattern") as f:
        assert f.read() == core
    for c in cs:
        c.do("stop")
    daemon.restart()
    assert [_allocated(c) for c in cs] == firsts
    p = cs[1].start()
    assert _ids(p, "Uid") == [firsts[1]] * 4
    cs[1].do("stop")
    _nothing_left(daemon, cs[1], [image, daemon.state_dir])


def test_privileged_0_keeps_an_explicit_idmap(daemon, containers, image):
    _skip_without_idmapped_mounts(daemon)
    c = system_container(containers, "web", image, {"privileged": "0", "idmap": IDMAP,
                                                    "namespaces": "mnt pid uts ipc net"})
    p = c.start()
    # namespaces without user does not make it privileged: privileged = 0 does the rest
    assert _ids(p, "Uid") == [FIRST] * 4
    assert os.stat(f"/proc/{p}/ns/user").st_ino != os.stat("/proc/self/ns/user").st_ino
    assert c.read("idmap") == IDMAP
    c.do("stop")
    _nothing_left(daemon, c, [image])


def test_privileged_1_is_root_outside(daemon, containers, image):
    """privileged = 1 keeps the host's user namespace: root inside is root outside."""
    c = system_container(containers, "web", image, {"privileged": "1", "rootfs.overlay": "1"})
    p = c.start()
    assert _ids(p, "Uid") == [0] * 4
    assert os.stat(f"/proc/{p}/ns/user").st_ino == os.stat("/proc/self/ns/user").st_ino
    assert c.read("idmap") == ""
    c.do("stop")
    _nothing_left(daemon, c, [image])


def test_host_network_unprivileged(daemon, containers, image):
    """net/type none keeps the host's network namespace, which the container's user
    namespace does not own: /sys is then the host's, bound read-only."""
    _skip_without_idmapped_mounts(daemon)
    c = system_container(containers, "web", image, {"rootfs.overlay": "1", "net/type": "none"})
    p = c.start()
    wait_log(c, "containerfs busybox: web is up")
    assert os.stat(f"/proc/{p}/ns/net").st_ino == os.stat("/proc/self/ns/net").st_ino
    r = attach_sh(c, "ls /sys/class/net && touch /sys/x")
    assert r.returncode != 0 and "lo" in r.stdout.split(), r
    assert "Read-only" in r.stderr, r
    c.do("stop")
    _nothing_left(daemon, c, [image])


def test_image_that_cannot_be_idmapped_fails_clearly(daemon, containers):
    """A rootfs on a filesystem without idmapped mounts (sysfs has none on any kernel):
    the start fails naming what is missing, and leaves nothing behind."""
    c = system_container(containers, "web", "/sys/kernel")
    res = c.write_state("start")
    assert res != 0, "an unprivileged start over sysfs succeeded"
    le = c.last_error()
    assert "idmapped mount" in le and "/sys/kernel" in le and "privileged = 1" in le, le
    _nothing_left(daemon, c, [daemon.state_dir])
    assert not os.path.exists(os.path.join(daemon.run_dir, "web", "console.sock"))


@pytest.mark.timeout(120)
def test_hostname_file_bound_unprivileged(daemon, containers, image):
    """The default (privileged = 0): the hostname file the engine writes in its 0700 run
    dir is bound over the image's /etc/hostname, though init in its user namespace
    cannot look it up there (the daemon hands init a detached clone of it)."""
    _skip_without_idmapped_mounts(daemon)
    c = system_container(containers, "web", image, {"rootfs.overlay": "1",
                                                    "hostname": "box-seven"})
    assert c.read("privileged") == "0"
    image_name = "localhost\n"  # the busybox image has none: this one has
    with open(os.path.join(image, "etc", "hostname"), "w") as f:
        f.write(image_name)
    p = c.start()
    first = _allocated(c)
    assert _ids(p, "Uid") == [first] * 4
    wait_log(c, "containerfs busybox: box-seven is up")
    r = attach_sh(c, "hostname; cat /etc/hostname")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["box-seven", "box-seven"], r.stdout
    # the image and the upper layer are untouched
    with open(os.path.join(image, "etc", "hostname")) as f:
        assert f.read() == image_name
    upper = os.path.join(daemon.state_dir, "web", "overlay", "upper")
    assert not os.path.exists(os.path.join(upper, "etc", "hostname"))
    c.do("stop")
    _nothing_left(daemon, c, [image, daemon.state_dir])


# ---- allocation against private copies of /etc/subuid and /etc/subgid ----

@pytest.fixture
def subids(daemon):
    """set(text): /etc/subuid and /etc/subgid both hold text, for this test only: copies
    bound over them in the suite's private mount namespace (the host's files are never
    written), unmounted after."""
    bound = []

    def set_(text: str):
        for f in ("/etc/subuid", "/etc/subgid"):
            copy = os.path.join(daemon.base, os.path.basename(f))
            with open(copy, "w") as fh:
                fh.write(text)
            if f not in bound:
                subprocess.run(["mount", "--bind", copy, f], check=True, timeout=10)
                bound.append(f)
    yield set_
    for f in bound:
        subprocess.run(["umount", f], check=True, timeout=10)
    assert not [m for m in host_mounts_under("/etc") if m in ("/etc/subuid", "/etc/subgid")]


def _alloc(c) -> int:
    """Start (an application container: the host's /bin/sleep), the allocated block."""
    c.start()
    first = _allocated(c)
    c.do("kill")
    return first


BLOCK = 65536


def test_allocation_avoids_other_users_ranges(daemon, containers, subids):
    base = 1000000
    subids(f"root:{base}:{4 * BLOCK}\n"
           f"alice:{base}:{BLOCK}\n"            # root's first block is alice's too
           f"bob:{base + 2 * BLOCK + 5}:10\n"    # a few ids in root's third
           f"carol:{base + 40 * BLOCK}:{BLOCK}\n")
    got = [_alloc(containers(n, init="/bin/sleep 100")) for n in ("a", "b")]
    assert got == [base + BLOCK, base + 3 * BLOCK], got
    c = containers("c", init="/bin/sleep 100")
    assert c.write_state("start") == errno.ENOSPC
    assert "no free block" in c.last_error() and "another user's range" in c.last_error()
    assert c.read("idmap") == ""


def test_allocation_sees_every_idmap_and_range(daemon, containers, subids):
    """More ranges than any fixed table: 72 one-id ranges of three containers' idmaps,
    one in each of root's first 72 blocks, and root's ranges spread over 80 lines."""
    base = 2000000
    subids("".join(f"root:{base + i * BLOCK}:{BLOCK}\n" for i in range(80)))
    for n in range(3):
        blocks = range(24 * n, 24 * n + 24)
        containers(f"used{n}").set("idmap", "\n".join(
            f"{k} {j} {base + i * BLOCK + 7} 1" for k in "ug" for j, i in enumerate(blocks)))
    assert _alloc(containers("web", init="/bin/sleep 100")) == base + 72 * BLOCK
