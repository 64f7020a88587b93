"""Unprivileged system containers over a root-owned image: the busybox image booted in
a user namespace through an idmapped mount of the image (as is, and as the overlay's
lower layer), checked from the host through the kernel: init's host uid is the idmap's
first outside id, what root writes inside lands in the upper layer owned by that id,
the image never changes, the cgroup is handed to the container's root; bad idmaps are
refused at write."""
import errno
import hashlib
import os

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
