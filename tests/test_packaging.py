"""Installing containerfs like Debian software: the service manager's readiness protocol
(sd_notify), `make install`/`uninstall`, the man pages, the systemd unit and the Debian
package."""
import glob
import os
import re
import shutil
import socket
import signal
import subprocess
import time

import pytest

from lib.daemon import REPO, build_dir, mountinfo, pid_alive
from lib.fsops import read_value, write_file
from lib.keys import KEYS
from lib.remote import descendants

MAN_PAGES = {"containerfs.8", "containerfs.5", "cfs-attach.1", "cfs-console.1", "cfs-mkimage.1"}
HELPERS = ("cfs-attach", "cfs-console", "cfs-mkimage")


def _version() -> str:
    with open(os.path.join(REPO, "include", "engine.h")) as f:
        return re.search(r'#define CFS_VERSION "([^"]+)"', f.read()).group(1)


# The suite may run under make (make check passes SAN=1 down, in MAKEFLAGS and in the
# environment): the makes run here choose their own variables.
MAKE_ENV = {k: v for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "SAN", "FUZZ")}


def _make(*args, timeout=300) -> subprocess.CompletedProcess:
    """make in the tree, on the build the suite runs against (build or build-san)."""
    san = ["SAN=1"] if os.path.basename(build_dir()) == "build-san" else []
    return subprocess.run(["make", "-s", "-C", REPO, *san, *args], capture_output=True,
                          text=True, timeout=timeout, env=MAKE_ENV)


def _files_under(root: str) -> list:
    out = []
    for d, _dirs, files in os.walk(root):
        out += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted(out)


def _render(page: str, width: int = 200) -> subprocess.CompletedProcess:
    env = dict(os.environ, MANWIDTH=str(width), LC_ALL="C")
    return subprocess.run(["man", "--warnings", "-l", os.path.join(REPO, "man", page)],
                          capture_output=True, text=True, timeout=60, env=env)


def _words(text: str) -> set:
    """The words of a rendered page, without the punctuation around them."""
    return {w.strip(",;:()[]\"'").rstrip(".,;:") for w in text.split()}


# ---- what the unit relies on: a restart leaves the containers alone ----

def _cgroup_roots() -> list:
    return [m["mnt"] for m in mountinfo() if m["fstype"] in ("cgroup", "cgroup2")
            and m["root"] == "/"]


@pytest.fixture
def abs_parent():
    """An absolute cgroup parent like the unit's /containerfs, removed at the very end
    (after the daemon fixture's checks, which run first)."""
    name = f"/cfs-test-svc-{os.getpid()}"
    yield name
    for root in _cgroup_roots():
        d = root + name
        for sub, dirs, _files in os.walk(d, topdown=False):
            for x in dirs:
                os.rmdir(os.path.join(sub, x))
        if os.path.isdir(d):
            with open(os.path.join(d, "cgroup.procs")) as f:
                assert f.read() == "", f"processes left in {d}"
            os.rmdir(d)


def _cgroup_of(pid: int) -> dict:
    with open(f"/proc/{pid}/cgroup") as f:
        return {ctrls: path for _hid, ctrls, path in
                (line.rstrip("\n").split(":", 2) for line in f)}


def test_unit_restart_keeps_containers(abs_parent, daemon_factory):
    # as containerfs.service runs it: an absolute cgroup parent, SIGTERM to the daemon
    # alone (KillMode=process), a new daemon in the same cgroup
    d = daemon_factory(start=False)
    d.cgroup_parent = abs_parent
    d.start()
    os.mkdir(d.path("web"))
    assert write_file(d.path("web", "init"), "sleep 1000") == 0
    assert write_file(d.path("web", "state"), "start") == 0
    init = int(read_value(d.path("web", "pid")))
    sup = int(_status(init)["PPid"])
    daemon_cg, init_cg, sup_cg = _cgroup_of(d.proc.pid), _cgroup_of(init), _cgroup_of(sup)
    # the container is beneath the absolute parent, outside the daemon's (the unit's)
    # cgroup; its supervisor is in the daemon's cgroup, which is why the unit may only
    # ever kill the main process
    assert any(p.startswith(abs_parent + "/web") for p in init_cg.values()), init_cg
    assert sup_cg == daemon_cg, (sup_cg, daemon_cg)
    assert d.stop("sigterm") == 0
    assert pid_alive(init) and pid_alive(sup)
    d.start()
    assert read_value(d.path("web", "state")) == "RUNNING"
    assert int(read_value(d.path("web", "pid"))) == init
    assert write_file(d.path("web", "state"), "kill") == 0
    assert not pid_alive(init)
    os.rmdir(d.path("web"))


def _unit_lines(key: str) -> list:
    with open(os.path.join(REPO, "systemd", "containerfs.service.in")) as f:
        return [line.split("=", 1)[1].strip() for line in f if line.startswith(key + "=")]


def test_unit_restarts_after_a_crash(abs_parent, daemon_factory):
    # Restart=on-failure after the daemon died: the unit's ExecStartPre commands (on
    # this daemon's mount point) clear the dead mount, and the new daemon finds the
    # running container
    d = daemon_factory(start=False)
    d.cgroup_parent = abs_parent
    d.start()
    os.mkdir(d.path("web"))
    assert write_file(d.path("web", "init"), "sleep 1000") == 0
    assert write_file(d.path("web", "state"), "start") == 0
    init = int(read_value(d.path("web", "pid")))
    d.proc.kill()
    d.proc.wait()
    assert d.is_mounted()  # dead: ENOTCONN
    pre = _unit_lines("ExecStartPre")
    assert pre and any("fusermount3 -u -z" in c for c in pre), pre
    for cmd in pre:
        may_fail = cmd.startswith("-")
        argv = cmd.lstrip("-").replace("/containers", d.mnt).split()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        assert may_fail or r.returncode == 0, (argv, r.stderr)
    assert not d.is_mounted()
    d.start()
    assert read_value(d.path("web", "state")) == "RUNNING"
    assert int(read_value(d.path("web", "pid"))) == init
    assert write_file(d.path("web", "state"), "kill") == 0
    os.rmdir(d.path("web"))
    # and when nothing is mounted, the commands the unit may let fail are the only ones
    # that fail: a clean start
    assert d.stop() == 0
    for cmd in pre:
        argv = cmd.lstrip("-").replace("/containers", d.mnt).split()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        assert r.returncode == 0 or cmd.startswith("-"), (argv, r.stderr)
    d.start()


# ---- the unit under a real systemd ----

# Boots this host's systemd as pid 1 of new namespaces (mount, pid, cgroup, network,
# uts, ipc), in an overlay of the host's root into which the tree is installed: nothing
# of it reaches the host, and killing it ends everything it started.
SD_OUTER = r"""
set -e
for d in $CGDIRS; do
	mkdir "$d"
	case $d in */cpuset/*)
		cat "${d%/*}/cpuset.cpus" >"$d/cpuset.cpus"; cat "${d%/*}/cpuset.mems" >"$d/cpuset.mems";;
	esac
	echo $$ >"$d/cgroup.procs"
done
exec unshare --cgroup --mount --pid --fork --net --uts --ipc sh -c "$SD_INNER"
"""
SD_INNER = r"""
set -e
mount --make-rprivate /
R=$T/root
mount -t overlay overlay -o lowerdir=/,upperdir=$T/upper,workdir=$T/work $R
mount -t proc proc $R/proc
mount -t sysfs -o ro sysfs $R/sys
eval "$CGMOUNTS"
mount -t tmpfs tmpfs $R/run
mount -t tmpfs tmpfs $R/tmp
mount --rbind /dev $R/dev
make -s -C "$REPO" $MAKEARGS install PREFIX=/usr DESTDIR=$R >$T/install.log 2>&1
ln -s /lib/systemd/system/containerfs.service $R/etc/systemd/system/multi-user.target.wants/
mkdir -p $R/var/lib/containerfs/demo
printf '[container]\ninit = sleep 100000\nautostart = 1\n' >$R/var/lib/containerfs/demo/config
# pivot_root, not chroot: the kernel refuses new user namespaces (every default
# container has one) to a process whose root is not its mount namespace's root
exec 3>$T/systemd.log
mkdir -p $R/.oldroot
cd $R
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot
exec env container=containerfs-test /lib/systemd/systemd --system \
	--unit=multi-user.target >&3 2>&1 3>&- </dev/null
"""


def _cgroup_layout(name: str):
    """The directories to make (one per cgroup hierarchy) and the shell commands that
    mount the same hierarchies inside the new root."""
    dirs, mounts = [], []
    for m in mountinfo():
        if m["fstype"] not in ("cgroup", "cgroup2") or m["root"] != "/" \
                or not m["mnt"].startswith("/sys/fs/cgroup"):
            continue
        dirs.append(os.path.join(m["mnt"], name))
        if m["mnt"] == "/sys/fs/cgroup":
            mounts.append(f"mount -t {m['fstype']} {m['fstype']} $R/sys/fs/cgroup")
            continue
        if not mounts:
            mounts.append("mount -t tmpfs tmpfs $R/sys/fs/cgroup")
        opts = [o for o in m["super"].split(",") if o not in ("rw", "ro")] \
            if m["fstype"] == "cgroup" else []
        if any(o.startswith("name=") for o in opts) and "none" not in opts:
            opts.insert(0, "none")
        o = f"-o {','.join(opts)} " if opts else ""
        mounts.append(f"mkdir -p $R{m['mnt']} && mount -t {m['fstype']} {o}{m['fstype']} $R{m['mnt']}")
    return dirs, "\n".join(mounts)


class _Booted:
    def __init__(self, tmp):
        self.t = tmp
        self.name = f"cfs-test-systemd-{os.getpid()}"
        self.dirs, mounts = _cgroup_layout(self.name)
        for d in ("upper", "work", "root"):
            os.makedirs(os.path.join(tmp, d))
        san = ["SAN=1"] if os.path.basename(build_dir()) == "build-san" else []
        env = dict(MAKE_ENV, T=tmp, REPO=REPO, MAKEARGS=" ".join(san), CGDIRS=" ".join(self.dirs),
                   CGMOUNTS=mounts, SD_INNER=SD_INNER)
        self.proc = subprocess.Popen(["sh", "-c", SD_OUTER], env=env, stdin=subprocess.DEVNULL)
        self.pid1 = None

    def log(self) -> str:
        out = []
        for f in ("install.log", "systemd.log"):
            try:
                with open(os.path.join(self.t, f), errors="replace") as fh:
                    out.append(f"--- {f}\n" + "\n".join(fh.read().splitlines()[-30:]))
            except OSError:
                pass
        return "\n".join(out)

    def run(self, *argv, check=True) -> subprocess.CompletedProcess:
        r = subprocess.run(["nsenter", "-t", str(self.pid1), "-m", "-p", "-r", "-w", *argv],
                           capture_output=True, text=True, timeout=120)
        assert not check or r.returncode == 0, (argv, r.stdout, r.stderr, self.log())
        return r

    def wait(self, what, cond, timeout=120.0):
        deadline = time.monotonic() + timeout
        while True:
            if self.pid1 is None:
                kids = [p for p in descendants(self.proc.pid) if _comm(p) == "systemd"]
                self.pid1 = kids[0] if kids else None
            if self.pid1 is not None and cond():
                return
            assert self.proc.poll() is None, f"the boot ended: {self.log()}"
            assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s\n{self.log()}"
            time.sleep(0.2)

    def end(self) -> list:
        problems = []
        if self.pid1 is not None:
            os.kill(self.pid1, signal.SIGKILL)  # pid 1 of its namespace: all of it ends
        if self.proc.poll() is None:
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problems.append("the boot did not end")
        for d in self.dirs:
            deadline = time.monotonic() + 10
            for sub, dirs, _files in os.walk(d, topdown=False):
                for x in dirs:
                    while True:
                        try:
                            os.rmdir(os.path.join(sub, x))
                            break
                        except OSError:
                            if time.monotonic() > deadline:
                                problems.append(f"cannot remove {os.path.join(sub, x)}")
                                break
                            time.sleep(0.05)
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
            except OSError as e:
                problems.append(f"cannot remove {d}: {e}")
        return problems


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


@pytest.mark.timeout(400)
@pytest.mark.skipif(any(not os.access(p, os.X_OK) for p in ("/lib/systemd/systemd",
                                                             "/usr/bin/nsenter", "/usr/bin/unshare")),
                    reason="needs systemd (/lib/systemd/systemd), nsenter and unshare")
def test_unit_under_systemd(tmp_path):
    b = _Booted(str(tmp_path / "boot"))
    try:
        def active():
            r = b.run("systemctl", "is-active", "containerfs", check=False)
            return r.stdout.strip() == "active"

        def main_pid():
            return b.run("systemctl", "show", "-p", "MainPID", "--value", "containerfs").stdout.strip()

        def state():
            return b.run("cat", "/containers/demo/state").stdout.strip()

        b.wait("containerfs.service active", active)
        # Type=notify: active only once READY=1 came, after the autostart container ran
        assert state() == "RUNNING", b.run("cat", "/containers/demo/last_error").stdout
        init = b.run("cat", "/containers/demo/pid").stdout.strip()
        # restart: the daemon goes, the container stays and the new daemon adopts it
        first = main_pid()
        b.run("systemctl", "restart", "containerfs")
        assert main_pid() != first
        assert state() == "RUNNING"
        assert b.run("cat", "/containers/demo/pid").stdout.strip() == init
        # a crash: Restart=on-failure, the dead mount cleared, the container adopted
        second = main_pid()
        b.run("systemctl", "kill", "-s", "KILL", "--kill-whom=main", "containerfs")
        b.wait("restart after the crash", lambda: main_pid() not in ("0", second) and active())
        assert state() == "RUNNING"
        assert b.run("cat", "/containers/demo/pid").stdout.strip() == init
        # stop: the tree is unmounted, the container keeps running
        b.run("systemctl", "stop", "containerfs")
        assert b.run("findmnt", "/containers", check=False).returncode != 0
        assert b.run("kill", "-0", init, check=False).returncode == 0
    finally:
        problems = b.end()
    assert not problems, problems


# ---- make install / uninstall ----

def test_install_lays_out_and_uninstall_removes(tmp_path):
    dest = str(tmp_path / "dest")
    r = _make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    assert r.returncode == 0, r.stderr
    want = sorted(["usr/sbin/containerfs", "usr/libexec/containerfs/containerfs-supervisor",
                   "lib/systemd/system/containerfs.service"]
                  + [f"usr/bin/{h}" for h in HELPERS]
                  + [f"usr/share/man/man{p[-1]}/{p}" for p in MAN_PAGES])
    assert _files_under(dest) == want
    for f in want:
        mode = os.stat(os.path.join(dest, f)).st_mode & 0o777
        assert mode == (0o644 if "/man/" in f or f.endswith(".service") else 0o755), (f, oct(mode))
    # the unit runs the installed daemon, which finds its supervisor beside itself
    with open(os.path.join(dest, "lib/systemd/system/containerfs.service")) as f:
        assert "ExecStart=/usr/sbin/containerfs -f " in f.read()
    out = subprocess.run([os.path.join(dest, "usr/sbin/containerfs"), "--version"],
                         capture_output=True, text=True, timeout=10).stdout
    assert out.split() == ["containerfs", _version()]
    r = _make("uninstall", f"DESTDIR={dest}", "PREFIX=/usr")
    assert r.returncode == 0, r.stderr
    assert _files_under(dest) == []
    assert not os.path.exists(os.path.join(dest, "usr/libexec/containerfs"))


# ---- man pages ----

@pytest.mark.skipif(shutil.which("man") is None, reason="man (man-db) is not installed")
@pytest.mark.parametrize("page", sorted(MAN_PAGES))
def test_man_page_renders_without_warnings(page):
    r = _render(page, 80)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.count("\n") > 20


def test_man_pages_are_all_installed():
    assert {os.path.basename(p) for p in glob.glob(os.path.join(REPO, "man", "*.[0-9]"))} \
        == MAN_PAGES


@pytest.mark.skipif(shutil.which("man") is None, reason="man (man-db) is not installed")
def test_daemon_man_page_documents_every_option():
    with open(os.path.join(REPO, "fusefs", "main.c")) as f:
        src = f.read()
    longs = re.findall(r'\{ "([a-z-]+)", (?:no|required)_argument', src)
    shorts = re.search(r'getopt_long\(argc, argv, "([^"]+)"', src).group(1).replace(":", "")
    assert longs and shorts
    words = _words(_render("containerfs.8").stdout)
    missing = [f"--{o}" for o in longs if f"--{o}" not in words]
    missing += [f"-{c}" for c in shorts if f"-{c}" not in words]
    assert not missing, f"containerfs(8) does not document {missing}"


@pytest.mark.skipif(shutil.which("man") is None, reason="man (man-db) is not installed")
def test_tree_man_page_documents_every_file(daemon):
    # every file the tree shows in a container, and the hidden v1 names
    words = _words(_render("containerfs.5").stdout)
    os.mkdir(daemon.path("web"))
    missing = []
    for name in os.listdir(daemon.path("web")):
        if name not in words and name + "/" not in words:
            missing.append(name)
    for sub in ("net", "cgroup"):
        missing += [f"{sub}/{n}" for n in os.listdir(daemon.path("web", sub))
                    if f"{sub}/{n}" not in words]
    missing += [k.rel for k in KEYS if k.rel not in words]
    missing += [n for n in os.listdir(daemon.path()) if n not in words and n != "web"]
    assert not missing, f"containerfs(5) does not document {missing}"


# ---- the systemd unit ----

@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (Debian package systemd)")
def test_unit_verifies(tmp_path):
    # installed under a prefix of its own, so the unit names binaries that exist;
    # the man pages it cites are found through MANPATH
    prefix = str(tmp_path / "usr")
    r = _make("install", f"PREFIX={prefix}")
    assert r.returncode == 0, r.stderr
    unit = os.path.join(prefix, "lib/systemd/system/containerfs.service")
    r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, MANPATH=os.path.join(prefix, "share/man")))
    assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr
    with open(unit) as f:
        settings = [line.strip() for line in f if "=" in line and not line.startswith("#")]
    for want in ("Type=notify", "KillMode=process", "RequiresMountsFor=/var/lib/containerfs",
                 "ExecStop=/bin/fusermount3 -u /containers",
                 f"ExecStart={prefix}/sbin/containerfs -f --cgroup-parent /containerfs /containers"):
        assert want in settings, (want, settings)


# ---- sd_notify ----

def _notify_socket(tmp_path, abstract: bool):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"cfs-notify-test-{os.getpid()}-{id(s)}"
        s.bind("\0" + name)
        return s, "@" + name
    path = str(tmp_path / "notify.sock")
    s.bind(path)
    return s, path


def _status(pid: int) -> dict:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _environ(pid: int) -> list:
    with open(f"/proc/{pid}/environ", "rb") as f:
        return [e.decode(errors="replace") for e in f.read().split(b"\0") if e]


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_sd_notify_ready_after_mount_and_autostart(daemon_factory, monkeypatch, tmp_path,
                                                   abstract):
    d = daemon_factory()
    os.mkdir(d.path("web"))
    assert write_file(d.path("web", "init"), "/bin/sh -c 'exec sleep 100'") == 0
    assert write_file(d.path("web", "autostart"), "1") == 0
    assert d.stop() == 0
    assert not d.is_mounted()

    sock, addr = _notify_socket(tmp_path, abstract)
    sock.settimeout(20)
    monkeypatch.setenv("NOTIFY_SOCKET", addr)
    try:
        d.start()  # returns once mounted: READY=1 may come later, never before
        msg = sock.recv(4096).decode()
        mounted_at_ready = d.is_mounted()
        state_at_ready = read_value(d.path("web", "state"))
        assert msg.split("\n") == ["READY=1"], msg
        assert mounted_at_ready
        # autostart containers were started before the daemon said it is ready
        assert state_at_ready == "RUNNING"
        # the variable is the daemon's alone: neither the supervisor nor init sees it
        init = int(read_value(d.path("web", "pid")))
        sup = int(_status(init)["PPid"])
        for pid in (init, sup):
            assert not [e for e in _environ(pid) if e.startswith("NOTIFY_SOCKET=")], pid
        assert write_file(d.path("web", "state"), "kill") == 0
        assert write_file(d.path("web", "autostart"), "0") == 0
        assert d.stop() == 0
        assert sock.recv(4096).decode().split("\n") == ["STOPPING=1"]
        assert not pid_alive(init)
    finally:
        sock.close()
    monkeypatch.delenv("NOTIFY_SOCKET")
    d.start()  # the fixture ends it and checks that nothing leaked


# ---- the Debian package ----

DEB_TOOLS = ("dpkg-buildpackage", "dh", "lintian", "dpkg-deb", "unshare", "chroot")

# dpkg -i / -r / -P in a throwaway root: an overlay whose lower layer is this host's
# root (so the package's dependencies are there) and whose upper layer shows what the
# package changed. Run in a mount namespace of its own: nothing reaches the host.
THROWAWAY = r"""
set -e
mount --make-rprivate /
mount -t overlay overlay -o lowerdir=/,upperdir="$T/upper",workdir="$T/work" "$T/root"
mount --rbind /dev "$T/root/dev"
mount -t proc proc "$T/root/proc"
cp "$DEB" "$T/root/tmp/containerfs.deb"
chroot "$T/root" dpkg -i /tmp/containerfs.deb
chroot "$T/root" dpkg -L containerfs >"$T/listed"
for f in /usr/sbin/containerfs /lib/systemd/system/containerfs.service \
	/usr/share/man/man5/containerfs.5.gz; do
	test -e "$T/root$f" || { echo "not installed: $f"; exit 1; }
done
chroot "$T/root" /usr/sbin/containerfs --version
chroot "$T/root" dpkg -r containerfs
chroot "$T/root" dpkg -P containerfs
rm "$T/root/tmp/containerfs.deb"
umount "$T/root/proc"
umount -R "$T/root/dev"
umount "$T/root"
"""


@pytest.mark.timeout(900)
@pytest.mark.skipif(any(shutil.which(t) is None for t in DEB_TOOLS),
                    reason=f"needs {', '.join(DEB_TOOLS)} (scripts/deps)")
def test_deb_builds_installs_and_removes_cleanly(tmp_path):
    # slow (a full build in a copy of the sources, then lintian): one test does it all
    r = subprocess.run(["make", "-s", "-C", REPO, "deb"], capture_output=True, text=True,
                       timeout=600, env=MAKE_ENV)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()
    deb = os.path.join(REPO, "build", "deb", f"containerfs_{_version()}_{arch}.deb")
    assert os.path.exists(deb), os.listdir(os.path.dirname(deb))

    def field(name):
        return subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True, text=True,
                              check=True).stdout.strip()

    assert field("Version") == _version()
    # computed from the binaries: the libraries the daemon links
    depends = {d.split()[0] for d in field("Depends").split(", ")}
    assert {"libc6", "libfuse3-3", "libnl-3-200", "libnl-route-3-200", "libcap2",
            "fuse3"} <= depends, depends
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                             check=True).stdout
    paths = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
    want = {"/usr/sbin/containerfs", "/usr/libexec/containerfs/containerfs-supervisor",
            "/lib/systemd/system/containerfs.service", "/var/lib/containerfs/"} \
        | {f"/usr/bin/{h}" for h in HELPERS} \
        | {f"/usr/share/man/man{p[-1]}/{p}.gz" for p in MAN_PAGES}
    assert want <= paths, want - paths

    lint = subprocess.run(["lintian", deb], capture_output=True, text=True, timeout=300)
    errors = [line for line in lint.stdout.splitlines() if line.startswith("E:")]
    assert not errors, lint.stdout

    t = tmp_path / "throwaway"
    for d in ("upper", "work", "root"):
        (t / d).mkdir(parents=True)
    r = subprocess.run(["unshare", "-m", "sh", "-c", THROWAWAY], capture_output=True, text=True,
                       timeout=300, env=dict(os.environ, T=str(t), DEB=deb))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert f"containerfs {_version()}" in r.stdout
    with open(t / "listed") as f:
        assert "/usr/sbin/containerfs" in f.read().split()
    # after the purge, only dpkg's own records (and directories it touched) remain
    left = [f for f in _files_under(str(t / "upper"))
            if not f.startswith(("var/lib/dpkg/", "var/log/", "var/cache/"))]
    links = []
    for d, dirs, _files in os.walk(t / "upper"):
        links += [os.path.join(d, x) for x in dirs if os.path.islink(os.path.join(d, x))]
    assert not left and not links, (left, links)
