"""Benchmark driver (run by scripts/bench inside a private mount namespace).

Measures, in one run, side by side:
  files     open+read+close of NAME/state against a cgroupfs file, a tmpfs file and
            the same file of a FUSE filesystem that does nothing (the floor of FUSE);
            pread of an open state; `cat */state` over 1,000 containers
  app       start-run-exit of /bin/true (containerfs, crun run, lxc-execute, unshare);
            start until RUNNING + stop of `sleep` (containerfs, crun run -d + delete -f)
  system    a system container (one busybox rootfs for all) started and killed:
            containerfs, crun run -d + delete -f, lxc-start -d + lxc-stop -k; then 100
            started one after another and left running (supervisor memory with 100)
  events    1,000 readers blocked on one container's events, woken by one start
  scale     10,000 containers: mkdir each, daemon RSS, restart
Writes doc/benchmarks.md (the part above the notes marker), the data under doc/bench/
and SVG plots drawn by gnuplot from it.
  bench.py [--cycles N] [--build DIR] [--out FILE] [--only SECTION,...]
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(TOP, "build")
BUSYBOX = "/bin/busybox"
SECTIONS = ("files", "app", "system", "events", "scale", "uring")
# the kernel's switch for FUSE over io_uring (containerfs uses it where it is on)
URING = "/sys/module/fuse/parameters/enable_uring"


def set_uring(on):
    with open(URING, "w") as fh:
        fh.write("Y" if on else "N")


def median_ms(samples):
    return statistics.median(samples) * 1000.0


def timed(fn, cycles, warmup=3):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(cycles):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def timed_idle(fn, n=8, idle=0.5):
    """fn timed n times, each after `idle` seconds of nothing: what a single start
    costs, without the state a run just before leaves in the kernel."""
    fn()
    out = []
    for _ in range(n):
        time.sleep(idle)
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def per_op_us(fn, n=500, rounds=15, warmup=100):
    """Median over rounds of the mean time of one call, in microseconds."""
    for _ in range(warmup):
        fn()
    means = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        means.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(means)


def make_rootfs(path):
    os.makedirs(os.path.join(path, "bin"))
    for d in ("proc", "sys", "dev", "tmp", "etc", "sbin"):
        os.makedirs(os.path.join(path, d))
    shutil.copy(BUSYBOX, os.path.join(path, "bin", "busybox"))
    for applet in ("true", "sleep", "sh"):
        os.symlink("busybox", os.path.join(path, "bin", applet))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def nthreads(pid):
    return len(os.listdir("/proc/%d/task" % pid))


def read_pss(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def orc(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.read(fd, 4096)
    finally:
        os.close(fd)


class Containerfs:
    def __init__(self, tmp, state=None):
        self.tmp = tmp
        self.mnt = os.path.join(tmp, "mnt")
        os.makedirs(self.mnt, exist_ok=True)
        self.state = state or os.path.join(tmp, "state")
        # runtime records live on tmpfs, as the default /run/containerfs does
        self.run = tempfile.mkdtemp(prefix="cfs-bench-", dir="/run")
        if subprocess.run(["stat", "-f", "-c", "%T", "/run"], capture_output=True,
                          text=True).stdout.strip() != "tmpfs":
            # a host whose /run is on disk: a tmpfs of our own (we are in a private
            # mount namespace), or the supervisor's fsync of its exit record is timed
            subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0700", "cfs-bench-run", self.run],
                           check=True)
        self.parent = "cfs-bench-%d" % os.getpid()
        self.proc = None
        self.mount_s = self.launch()

    def launch(self):
        """Start the daemon; returns seconds until the tree answered."""
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "containerfs"), "-f", "--state-dir", self.state,
             "--run-dir", self.run, "--cgroup-parent", self.parent, self.mnt],
            stderr=open(os.path.join(self.tmp, "daemon.log"), "a"))
        deadline = time.time() + 60
        while not os.path.exists(os.path.join(self.mnt, ".version")):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("daemon did not mount")
            time.sleep(0.001)
        return time.perf_counter() - t0

    def unmount(self):
        subprocess.run(["fusermount3", "-u", self.mnt], check=False)
        self.proc.wait(timeout=60)

    def path(self, *p):
        return os.path.join(self.mnt, *p)

    def make(self, name, init, rootfs=None):
        os.mkdir(self.path(name))
        if rootfs:
            self.write(self.path(name, "rootfs"), rootfs)
        with open(self.path(name, "init"), "w") as f:
            f.write(init)
        return self.path(name)

    @staticmethod
    def write(path, value):
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)

    def run_true(self, c):
        ev = os.open(os.path.join(c, "events"), os.O_RDONLY)
        try:
            os.read(ev, 4096)  # the current state
            self.write(os.path.join(c, "state"), "start\n")
            buf = b""
            while b" STOPPED\n" not in buf:
                buf += os.read(ev, 4096)
        finally:
            os.close(ev)

    def start(self, c):
        self.write(os.path.join(c, "state"), "start\n")

    def kill(self, c):
        self.write(os.path.join(c, "state"), "kill\n")

    def start_kill(self, c):
        self.start(c)
        self.kill(c)

    def supervisor_of(self, c):
        init = int(open(os.path.join(c, "pid")).read())
        return int(open("/proc/%d/stat" % init).read().rsplit(")", 1)[1].split()[1])

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.unmount()
        subprocess.run(["umount", self.run], check=False, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.run, ignore_errors=True)


def run(cmd, **kw):
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, **kw)


def have(tool):
    return shutil.which(tool) is not None


def crun_bundle(tmp, name, args, rootfs=None):
    b = os.path.join(tmp, "bundle-" + name)
    os.makedirs(b)
    if rootfs is None:
        rootfs = os.path.join(b, "rootfs")
        make_rootfs(rootfs)
    subprocess.run(["crun", "spec"], cwd=b, check=True)
    spec = json.load(open(os.path.join(b, "config.json")))
    spec["process"]["args"] = args
    spec["process"]["terminal"] = False
    spec["root"] = {"path": rootfs, "readonly": False}
    json.dump(spec, open(os.path.join(b, "config.json"), "w"))
    return b


def lxc_conf(tmp, name, rootfs, init):
    path = os.path.join(tmp, "lxc-%s.conf" % name)
    with open(path, "w") as f:
        f.write("lxc.uts.name = %s\nlxc.net.0.type = empty\nlxc.console.path = none\n"
                "lxc.tty.max = 0\nlxc.apparmor.profile = unconfined\n" % name)
        if rootfs:
            f.write("lxc.rootfs.path = dir:%s\nlxc.init.cmd = %s\n"
                    "lxc.mount.auto = proc sys\nlxc.autodev = 1\n" % (rootfs, init))
    return path


# ---- sections ----

def bench_files(cfs, r, wake_here=True):
    os.mkdir(cfs.path("web"))
    state = cfs.path("web", "state")
    # a small cgroupfs file of the daemon's own making, and a tmpfs file of the same length
    cg = None
    for cand in ("/sys/fs/cgroup/cpu/%s/cpu.shares" % cfs.parent,
                 "/sys/fs/cgroup/%s/cgroup.type" % cfs.parent,
                 "/sys/fs/cgroup/cpu/cpu.shares", "/sys/fs/cgroup/cgroup.controllers"):
        if os.path.exists(cand):
            cg = cand
            break
    tf = os.path.join(cfs.run, "bench-tmpfs-file")
    with open(tf, "w") as f:
        f.write("STOPPED\n")
    r["files"] = {
        "cgroup_file": cg,
        "state_orc_us": per_op_us(lambda: orc(state)),
        "cgroup_orc_us": per_op_us(lambda: orc(cg)) if cg else None,
        "tmpfs_orc_us": per_op_us(lambda: orc(tf)),
    }
    fd = os.open(state, os.O_RDONLY)
    r["files"]["state_pread_us"] = per_op_us(lambda: os.pread(fd, 4096, 0))
    os.close(fd)
    tfd = os.open(tf, os.O_RDONLY)
    r["files"]["tmpfs_pread_us"] = per_op_us(lambda: os.pread(tfd, 4096, 0))
    os.close(tfd)
    bench_files_floor(cfs, r["files"])
    bench_files_busy(cfs, state, r["files"])
    # a kernel whose fuse module has the wake_here parameter: the same two measures
    # with it on (the host's setting is put back)
    wh = "/sys/module/fuse/parameters/wake_here"
    if wake_here and os.path.exists(wh) and os.access(wh, os.W_OK):
        before = open(wh).read().strip()
        try:
            with open(wh, "w") as fh:
                fh.write("Y")
            wr = {}
            wr["state_orc_us"] = per_op_us(lambda: orc(state))
            fd = os.open(state, os.O_RDONLY)
            wr["state_pread_us"] = per_op_us(lambda: os.pread(fd, 4096, 0))
            os.close(fd)
            bench_files_floor(cfs, wr, cat=False)
            r["files"]["wake_here"] = wr
        finally:
            with open(wh, "w") as fh:
                fh.write(before)
    os.rmdir(cfs.path("web"))
    # cat */state over 1,000
    for i in range(1000):
        os.mkdir(cfs.path("k%04d" % i))
    r["files"]["cat_1000_s"], r["files"]["cat_1000_first_s"] = cat_all_s(cfs.mnt)
    for i in range(1000):
        os.rmdir(cfs.path("k%04d" % i))
    # the same layout on tmpfs: what the shell and cat cost by themselves
    tdir = tempfile.mkdtemp(prefix="cat-", dir=cfs.run)
    for i in range(1000):
        os.mkdir(os.path.join(tdir, "k%04d" % i))
        with open(os.path.join(tdir, "k%04d" % i, "state"), "w") as fh:
            fh.write("STOPPED\n")
    r["files"]["cat_1000_tmpfs_s"], _ = cat_all_s(tdir)
    shutil.rmtree(tdir, ignore_errors=True)


def invol_switches():
    for line in open("/proc/self/status"):
        if line.startswith("nonvoluntary_ctxt_switches:"):
            return int(line.split()[1])
    return 0


def bench_files_busy(cfs, state, f):
    """On one CPU: how often the reader is preempted per open+read+close (by the
    daemon's thread taking the RELEASE the close sends), a setting's write (answered
    by a worker), and both again with a busy loop on that CPU (a container's)."""
    setting = cfs.path("web", "hostname")

    def write_setting():
        fd = os.open(setting, os.O_WRONLY | os.O_TRUNC)
        os.write(fd, b"web\n")
        os.close(fd)

    # as a shell's echo writes: wherever the scheduler puts the writer
    f["setting_write_us"] = per_op_us(write_setting, n=100, rounds=9, warmup=20)
    mine = os.sched_getaffinity(0)
    cpu = min(mine)
    os.sched_setaffinity(0, {cpu})
    hog = None
    try:
        for _ in range(200):
            orc(state)
        n = 5000
        before = invol_switches()
        for _ in range(n):
            orc(state)
        f["state_orc_invol"] = (invol_switches() - before) / n
        f["setting_write_one_cpu_us"] = per_op_us(write_setting, n=100, rounds=9, warmup=20)
        hog = subprocess.Popen(["taskset", "-c", str(cpu), "sh", "-c", "while :; do :; done"])
        time.sleep(0.2)
        f["state_orc_busy_us"] = per_op_us(lambda: orc(state), n=200, rounds=9, warmup=20)
        f["setting_write_busy_us"] = per_op_us(write_setting, n=50, rounds=9, warmup=10)
    finally:
        if hog:
            hog.kill()
            hog.wait()
        os.sched_setaffinity(0, mine)


def cat_all_s(top):
    """Median seconds of `cat TOP/*/state` (the first of six runs left out) and the first."""
    samples = []
    for i in range(6):
        t0 = time.perf_counter()
        subprocess.run("cat %s/*/state >/dev/null" % top, shell=True, check=True)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples[1:]), samples[0]


def bench_files_floor(cfs, f, cat=True):
    """The same measures on tests/bench/fusefloor: a FUSE filesystem of 1,000
    directories with a `state` each, run by the same libfuse loop, that does nothing
    else: what FUSE itself costs on this machine."""
    prog = os.path.join(BUILD, "bench", "fusefloor")
    if not os.path.exists(prog):
        return
    mnt = tempfile.mkdtemp(prefix="floor-", dir=cfs.tmp)
    proc = subprocess.Popen([prog, mnt, "1000"])
    try:
        deadline = time.time() + 30
        while not os.path.exists(os.path.join(mnt, "k0000", "state")):
            if time.time() > deadline or proc.poll() is not None:
                return
            time.sleep(0.001)
        state = os.path.join(mnt, "k0000", "state")
        f["floor_orc_us"] = per_op_us(lambda: orc(state))
        fd = os.open(state, os.O_RDONLY)
        f["floor_pread_us"] = per_op_us(lambda: os.pread(fd, 4096, 0))
        os.close(fd)
        if cat:
            f["cat_1000_floor_s"], _ = cat_all_s(mnt)
    finally:
        subprocess.run(["fusermount3", "-u", mnt], check=False)
        proc.wait(timeout=30)
        os.rmdir(mnt)


def bench_app(cfs, tmp, r, cycles):
    t = cfs.make("true", "%s true" % BUSYBOX)
    r["cfs_true"] = timed(lambda: cfs.run_true(t), cycles)
    r["cfs_true_idle"] = timed_idle(lambda: cfs.run_true(t))
    s = cfs.make("sleep", "%s sleep 1000" % BUSYBOX)
    r["cfs_startstop"] = timed(lambda: cfs.start_kill(s), cycles)
    pss = []
    names = [cfs.make("pss%d" % i, "%s sleep 1000" % BUSYBOX) for i in range(20)]
    for c in names:
        cfs.start(c)
    time.sleep(0.5)
    for c in names:
        pss.append(read_pss(cfs.supervisor_of(c)))
    for c in names:
        cfs.kill(c)
    r["app_pss"] = pss


def bench_app_others(tmp, r, cycles):
    if have("crun"):
        bt = crun_bundle(tmp, "true", ["/bin/true"])
        bs = crun_bundle(tmp, "sleep", ["/bin/sleep", "1000"])
        r["crun_true"] = timed(lambda: run(["crun", "run", "-b", bt, "bench-true"]), cycles)
        r["crun_true_idle"] = timed_idle(lambda: run(["crun", "run", "-b", bt, "bench-true"]))

        def crun_startstop():
            run(["crun", "run", "-d", "-b", bs, "bench-sleep"])
            run(["crun", "delete", "-f", "bench-sleep"])
        r["crun_startstop"] = timed(crun_startstop, cycles)
    if have("lxc-execute"):
        conf = lxc_conf(tmp, "bench", None, None)
        try:
            r["lxc_true"] = timed(lambda: run(["lxc-execute", "-P", tmp, "-n", "bench", "-f", conf,
                                               "--", "/bin/true"]), cycles)
        except subprocess.CalledProcessError:
            r["lxc_true"] = None
    r["unshare_true"] = timed(lambda: run(["unshare", "-mpuin", "--fork", "/bin/true"]), cycles)
    r["unshare_true_idle"] = timed_idle(lambda: run(["unshare", "-mpuin", "--fork", "/bin/true"]))


def bench_system_cfs(cfs, rootfs, r, cycles):
    c = cfs.make("sys", "/bin/sleep 1000", rootfs=rootfs)
    starts, kills = [], []
    for i in range(cycles + 3):
        t0 = time.perf_counter()
        cfs.start(c)
        t1 = time.perf_counter()
        cfs.kill(c)
        t2 = time.perf_counter()
        if i >= 3:
            starts.append(t1 - t0)
            kills.append(t2 - t1)
    r["sys"]["containerfs"] = {"start": starts, "kill": kills}
    # 100 started one after another, left running
    names = [cfs.make("s%03d" % i, "/bin/sleep 1000", rootfs=rootfs) for i in range(100)]
    seq = []
    for c in names:
        t0 = time.perf_counter()
        cfs.start(c)
        seq.append(time.perf_counter() - t0)
    r["seq"]["containerfs"] = seq
    time.sleep(0.5)
    r["sys_pss"] = [read_pss(cfs.supervisor_of(c)) for c in names]
    r["sys_daemon_rss_kb"] = rss_kb(cfs.proc.pid)
    for c in names:
        cfs.kill(c)
    for c in names:
        os.rmdir(c)


def bench_system_others(tmp, rootfs, r, cycles):
    if have("crun"):
        b = crun_bundle(tmp, "sys", ["/bin/sleep", "1000"], rootfs=rootfs)
        starts, kills = [], []
        for i in range(cycles + 3):
            t0 = time.perf_counter()
            run(["crun", "run", "-d", "-b", b, "bench-sys"])
            t1 = time.perf_counter()
            run(["crun", "delete", "-f", "bench-sys"])
            t2 = time.perf_counter()
            if i >= 3:
                starts.append(t1 - t0)
                kills.append(t2 - t1)
        r["sys"]["crun"] = {"start": starts, "kill": kills}
        seq = []
        for i in range(100):
            t0 = time.perf_counter()
            run(["crun", "run", "-d", "-b", b, "bench-seq%03d" % i])
            seq.append(time.perf_counter() - t0)
        r["seq"]["crun"] = seq
        for i in range(100):
            run(["crun", "delete", "-f", "bench-seq%03d" % i])
    if have("lxc-start"):
        conf = lxc_conf(tmp, "sys", rootfs, "/bin/sleep 1000")
        lxcp = os.path.join(tmp, "lxcpath")
        os.makedirs(lxcp)

        def lxc_start(name):
            run(["lxc-start", "-P", lxcp, "-n", name, "-f", conf, "-d"])

        def lxc_kill(name):
            run(["lxc-stop", "-P", lxcp, "-n", name, "-k"])
        try:
            starts, kills = [], []
            for i in range(cycles + 3):
                t0 = time.perf_counter()
                lxc_start("bench-sys")
                t1 = time.perf_counter()
                lxc_kill("bench-sys")
                t2 = time.perf_counter()
                if i >= 3:
                    starts.append(t1 - t0)
                    kills.append(t2 - t1)
            r["sys"]["lxc"] = {"start": starts, "kill": kills}
            seq = []
            for i in range(100):
                t0 = time.perf_counter()
                lxc_start("seq%03d" % i)
                seq.append(time.perf_counter() - t0)
            r["seq"]["lxc"] = seq
            for i in range(100):
                lxc_kill("seq%03d" % i)
        except subprocess.CalledProcessError as e:
            r["sys"]["lxc_error"] = str(e)


def bench_events(cfs, r, n=1000):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
    c = cfs.make("ev", "%s sleep 1000" % BUSYBOX)
    threads0, rss0 = nthreads(cfs.proc.pid), rss_kb(cfs.proc.pid)
    fds = [os.open(os.path.join(c, "events"), os.O_RDONLY) for _ in range(n)]
    for fd in fds:
        os.read(fd, 4096)
    woke = [None] * n
    results = [None] * n

    def reader(i):
        results[i] = os.read(fds[i], 4096)
        woke[i] = time.perf_counter()
    old = threading.stack_size(256 * 1024)
    ths = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(n)]
    for t in ths:
        t.start()
    threading.stack_size(old)
    time.sleep(1.0)
    blocked_threads, blocked_rss = nthreads(cfs.proc.pid), rss_kb(cfs.proc.pid)
    t0 = time.perf_counter()
    orc(os.path.join(cfs.mnt, ".version"))
    other = time.perf_counter() - t0
    t0 = time.perf_counter()
    cfs.start(c)
    for t in ths:
        t.join(30)
    got = sum(1 for x in results if x)
    r["events"] = {
        "readers": n, "woken": got,
        "wake_all_ms": (max(w for w in woke if w) - t0) * 1000 if got else None,
        "threads_before": threads0, "threads_blocked": blocked_threads,
        "rss_before_kb": rss0, "rss_blocked_kb": blocked_rss,
        "other_read_us": other * 1e6,
    }
    for fd in fds:
        os.close(fd)
    cfs.kill(c)
    os.rmdir(c)


def disk_floor_ms(parent, n=300):
    """What a mkdir waits for on the state dir's disk, without containerfs: a directory
    made, its file written through a temp file (fsync, rename), the directory and its
    parent fsynced. Mean milliseconds over n."""
    def fsync_dir(p):
        fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    base = tempfile.mkdtemp(prefix="disk-", dir=parent)
    lat = []
    try:
        for i in range(n):
            t0 = time.perf_counter()
            d = os.path.join(base, "c%04d" % i)
            os.mkdir(d, 0o700)
            fd = os.open(os.path.join(d, ".config.tmp"), os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, b"x" * 800)
            os.fsync(fd)
            os.close(fd)
            os.rename(os.path.join(d, ".config.tmp"), os.path.join(d, "config"))
            fsync_dir(d)
            fsync_dir(base)
            lat.append(time.perf_counter() - t0)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return statistics.mean(lat) * 1000


def bench_scale(cfs, r, n=10000, step=500):
    disk_ms = disk_floor_ms(os.path.dirname(cfs.state))
    points = []
    made = 0
    lat = []
    while made < n:
        t0 = time.perf_counter()
        for i in range(made, made + step):
            t1 = time.perf_counter()
            os.mkdir(cfs.path("n%05d" % i))
            lat.append(time.perf_counter() - t1)
        took = time.perf_counter() - t0
        made += step
        t0 = time.perf_counter()
        cnt = len(os.listdir(cfs.mnt))
        ls = time.perf_counter() - t0
        t0 = time.perf_counter()
        orc(cfs.path("n%05d" % (made - 1), "state"))
        one = time.perf_counter() - t0
        points.append({"n": made, "mkdir_ms": took / step * 1000, "rss_kb": rss_kb(cfs.proc.pid),
                       "ls_ms": ls * 1000, "state_read_us": one * 1e6, "entries": cnt})
    rss = rss_kb(cfs.proc.pid)
    cfs.unmount()
    restarts = []
    for _ in range(3):
        restarts.append(cfs.launch())
        if len(os.listdir(cfs.mnt)) < n:
            raise RuntimeError("a restart lost containers")
        rss_restarted = rss_kb(cfs.proc.pid)
        cfs.unmount()
    cfs.launch()
    lat.sort()
    r["scale"] = {"n": n, "points": points, "mkdir_mean_ms": statistics.mean(lat) * 1000,
                  "mkdir_p99_ms": lat[int(len(lat) * 0.99)] * 1000,
                  "mkdir_max_ms": lat[-1] * 1000, "rss_kb": rss,
                  "rss_restarted_kb": rss_restarted, "restart_s": statistics.median(restarts),
                  "disk_ms": disk_ms}
    for i in range(n):
        os.rmdir(cfs.path("n%05d" % i))


# ---- report ----

NOTES = "<!-- notes (kept by scripts/bench) -->"


def write_data(datadir, r):
    os.makedirs(datadir, exist_ok=True)
    with open(os.path.join(datadir, "results.json"), "w") as f:
        json.dump(r, f, indent=1, sort_keys=True)
    files = []
    if r.get("sys"):
        # start latency distribution per tool: sorted samples against their fraction
        for tool, d in r["sys"].items():
            if not isinstance(d, dict):
                continue
            p = os.path.join(datadir, "start-%s.dat" % tool)
            s = sorted(d["start"])
            with open(p, "w") as f:
                for i, v in enumerate(s):
                    f.write("%.3f %.4f\n" % (v * 1000, (i + 1) / len(s)))
            files.append(("start", tool, p))
            p = os.path.join(datadir, "cycle-%s.dat" % tool)
            s = sorted(a + b for a, b in zip(d["start"], d["kill"]))
            with open(p, "w") as f:
                for i, v in enumerate(s):
                    f.write("%.3f %.4f\n" % (v * 1000, (i + 1) / len(s)))
            files.append(("cycle", tool, p))
    for tool, seq in (r.get("seq") or {}).items():
        p = os.path.join(datadir, "seq-%s.dat" % tool)
        with open(p, "w") as f:
            for i, v in enumerate(seq):
                f.write("%d %.3f\n" % (i + 1, v * 1000))
        files.append(("seq", tool, p))
    if r.get("scale"):
        p = os.path.join(datadir, "scale.dat")
        with open(p, "w") as f:
            f.write("# containers mkdir_ms rss_MB ls_ms state_read_us\n")
            for pt in r["scale"]["points"]:
                f.write("%d %.3f %.2f %.2f %.1f\n" % (pt["n"], pt["mkdir_ms"], pt["rss_kb"] / 1024,
                                                     pt["ls_ms"], pt["state_read_us"]))
        files.append(("scale", "containerfs", p))
    return files


def plot(datadir, files):
    if not have("gnuplot"):
        return []
    made = []
    head = ('set terminal svg size 720,420 dynamic font "sans,11" background "white"\n'
            'set grid\nset key bottom right\n')

    def rel(p):
        return os.path.relpath(p, datadir)

    def draw(name, body):
        script = head + 'set output "%s"\n' % (name + ".svg") + body
        res = subprocess.run(["gnuplot"], input=script, text=True, cwd=datadir,
                             capture_output=True)
        if res.returncode == 0:
            made.append(name + ".svg")
        else:
            sys.stderr.write("gnuplot %s: %s\n" % (name, res.stderr))

    for kind, title, xl in (("start", "system container start latency (busybox rootfs)", "start (ms)"),
                            ("cycle", "system container start + kill cycle (busybox rootfs)",
                             "start + kill (ms)")):
        lines = ['"%s" using 1:2 with steps lw 2 title "%s"' % (rel(p), t)
                 for k, t, p in files if k == kind]
        if lines:
            draw(kind + "-cdf", 'set title "%s, distribution per tool"\nset xlabel "%s"\n'
                 'set ylabel "fraction of starts"\nset logscale x\nset yrange [0:1]\n'
                 'plot %s\n' % (title, xl, ", ".join(lines)))
    lines = ['"%s" using 1:2 with linespoints pt 7 ps 0.4 title "%s"' % (rel(p), t)
             for k, t, p in files if k == "seq"]
    if lines:
        draw("seq", 'set title "100 system containers started one after another"\n'
             'set xlabel "containers running (incl. this one)"\nset ylabel "start (ms)"\n'
             'set logscale y\nset key top left\nplot %s\n' % ", ".join(lines))
    for k, t, p in files:
        if k == "scale":
            draw("scale", 'set title "cost against number of containers (containerfs)"\n'
                 'set xlabel "containers"\nset ylabel "ms"\nset y2label "MB"\n'
                 'set ytics nomirror\nset y2tics\nset key top left\n'
                 'plot "%s" using 1:2 with linespoints pt 7 ps 0.5 title "mkdir (ms, mean of 500)",'
                 ' "" using 1:4 with linespoints pt 7 ps 0.5 title "listing the top (ms)",'
                 ' "" using 1:3 axes x1y2 with linespoints pt 7 ps 0.5 title "daemon RSS (MB)"\n'
                 % rel(p))
    return made


def report(r, cycles, out, datadir, plots):
    def ms(k):
        return "%.1f ms" % median_ms(r[k]) if r.get(k) else "—"

    def us(v):
        return "%.1f µs" % v if v is not None else "—"

    def ratio(a, b):
        return "%.2f" % (a / b) if a is not None and b else "—"

    lines = [
        "# Benchmarks",
        "",
        "Measured by `scripts/bench` (all tools in one run on the same machine, on the same"
        " busybox workloads). Timings are medians unless said otherwise and vary with the"
        " machine's load; the ratios are what the targets are about.",
        "",
        "Machine: %s, kernel %s, %d CPUs, %s." % (machine_model(), os.uname().release,
                                                  os.cpu_count(), mem_total()),
        "Run on %s; %d cycles per cyclic measure after 3 warm-up cycles." % (
            time.strftime("%Y-%m-%d"), cycles),
        "",
    ]
    f = r.get("files")
    if f:
        lines += [
            "## The files",
            "",
            "The FUSE floor is `tests/bench/fusefloor`: a FUSE filesystem run by the same"
            " libfuse loop with the same open flags, whose `state` files do nothing but"
            " answer `RUNNING` — the round trips through the kernel and back alone, which no"
            " FUSE filesystem can go below on this machine. containerfs / floor is what"
            " containerfs itself adds.",
            "",
            "| measure | containerfs | FUSE floor | cgroupfs | tmpfs | containerfs / cgroupfs |"
            " containerfs / floor | target |",
            "|---|---|---|---|---|---|---|---|",
            "| open+read+close of `NAME/state` (cgroupfs: `%s`) | %s | %s | %s | %s | %s | %s |"
            " <= 5 × cgroupfs |" % (
                f["cgroup_file"], us(f["state_orc_us"]), us(f.get("floor_orc_us")),
                us(f["cgroup_orc_us"]), us(f["tmpfs_orc_us"]),
                ratio(f["state_orc_us"], f["cgroup_orc_us"]),
                ratio(f["state_orc_us"], f.get("floor_orc_us"))),
            "| `pread` of an open `state` | %s | %s | | %s | | %s | <= 15 µs |" % (
                us(f["state_pread_us"]), us(f.get("floor_pread_us")), us(f["tmpfs_pread_us"]),
                ratio(f["state_pread_us"], f.get("floor_pread_us"))),
            "| `cat /containers/*/state` over 1,000 containers | %.3f s (first: %.3f s) | %s | |"
            " %s | | %s | < 0.2 s |" % (
                f["cat_1000_s"], f["cat_1000_first_s"],
                "%.3f s" % f["cat_1000_floor_s"] if f.get("cat_1000_floor_s") else "—",
                "%.3f s" % f["cat_1000_tmpfs_s"] if f.get("cat_1000_tmpfs_s") else "",
                ratio(f["cat_1000_s"], f.get("cat_1000_floor_s"))),
        ]
        w = f.get("wake_here")
        if w:
            lines += [
                "| open+read+close, with the kernel's `fuse.wake_here=Y` | %s | %s | %s | | %s |"
                " %s | <= 5 × cgroupfs |" % (
                    us(w["state_orc_us"]), us(w.get("floor_orc_us")), us(f["cgroup_orc_us"]),
                    ratio(w["state_orc_us"], f["cgroup_orc_us"]),
                    ratio(w["state_orc_us"], w.get("floor_orc_us"))),
                "| `pread`, with `fuse.wake_here=Y` | %s | %s | | | | %s | <= 15 µs |" % (
                    us(w["state_pread_us"]), us(w.get("floor_pread_us")),
                    ratio(w["state_pread_us"], w.get("floor_pread_us"))),
            ]
        lines += [""]
    if r.get("cfs_true") or r.get("crun_true"):
        lines += [
            "## Application containers",
            "",
            "| workload | containerfs | crun | lxc-execute | unshare (floor) | containerfs / crun |"
            " target |",
            "|---|---|---|---|---|---|---|",
            "| start-run-exit `/bin/true` | %s | %s | %s | %s | %s | <= 0.6 |" % (
                ms("cfs_true"), ms("crun_true"), ms("lxc_true"), ms("unshare_true"),
                ratio(r.get("cfs_true") and median_ms(r["cfs_true"]),
                      r.get("crun_true") and median_ms(r["crun_true"]))),
            "| the same, each after 0.5 s idle (8 runs) | %s | %s | | %s | %s | |" % (
                ms("cfs_true_idle"), ms("crun_true_idle"), ms("unshare_true_idle"),
                ratio(r.get("cfs_true_idle") and median_ms(r["cfs_true_idle"]),
                      r.get("crun_true_idle") and median_ms(r["crun_true_idle"]))),
            "| start until RUNNING + stop (`sleep`) | %s | %s | | | %s | <= 0.6 |" % (
                ms("cfs_startstop"), ms("crun_startstop"),
                ratio(r.get("cfs_startstop") and median_ms(r["cfs_startstop"]),
                      r.get("crun_startstop") and median_ms(r["crun_startstop"]))),
            "",
        ]
        if r.get("app_pss"):
            p = r["app_pss"]
            lines += ["Supervisor memory: %.0f kB PSS per running application container (average"
                      " over %d; min %d kB, max %d kB)." % (sum(p) / len(p), len(p), min(p), max(p)),
                      ""]
    sysd = r.get("sys") or {}
    if sysd:
        lines += [
            "## System containers",
            "",
            "One busybox rootfs for every tool; init `/bin/sleep 1000`. containerfs: `rootfs`"
            " set, `echo start > state`, `echo kill > state` (each returns when RUNNING,"
            " STOPPED); crun: `crun run -d` + `crun delete -f`; LXC: `lxc-start -d` +"
            " `lxc-stop -k`.",
            "",
            "| measure | containerfs | crun | lxc-start | containerfs / crun | target |",
            "|---|---|---|---|---|---|",
        ]

        def col(tool, fn):
            d = sysd.get(tool)
            return fn(d) if isinstance(d, dict) else None

        def cell(v):
            return "%.1f ms" % v if v is not None else "—"
        for label, fn, tgt in (
                ("start + kill cycle", lambda d: median_ms([a + b for a, b in zip(d["start"], d["kill"])]),
                 "<= 0.6"),
                ("start", lambda d: median_ms(d["start"]), ""),
                ("kill", lambda d: median_ms(d["kill"]), "")):
            a, b, c = col("containerfs", fn), col("crun", fn), col("lxc", fn)
            lines.append("| %s | %s | %s | %s | %s | %s |" % (label, cell(a), cell(b), cell(c),
                                                              ratio(a, b), tgt))
        seq = r.get("seq") or {}

        def total(tool):
            return sum(seq[tool]) * 1000 if tool in seq else None
        lines.append("| 100 sequential starts (total) | %s | %s | %s | %s | |" % (
            cell(total("containerfs")), cell(total("crun")), cell(total("lxc")),
            ratio(total("containerfs"), total("crun"))))
        lines.append("")
        if sysd.get("lxc_error"):
            lines += ["lxc-start failed here: `%s`." % sysd["lxc_error"], ""]
        if r.get("sys_pss"):
            p = r["sys_pss"]
            lines += ["Supervisor memory with 100 system containers running: %.0f kB PSS each on"
                      " average (min %d kB, max %d kB); the daemon's RSS meanwhile %.1f MB." % (
                          sum(p) / len(p), min(p), max(p), r["sys_daemon_rss_kb"] / 1024), ""]
    e = r.get("events")
    if e:
        lines += [
            "## 1,000 blocked `events` readers",
            "",
            "%d readers blocked in read(2) on one container's `events`: the daemon had %d threads"
            " before and %d with all of them waiting; its RSS went from %.1f to %.1f MB; a read"
            " of `.version` meanwhile took %.0f µs. One `start` woke %d of them, the last %.1f ms"
            " after the write." % (e["readers"], e["threads_before"], e["threads_blocked"],
                                   e["rss_before_kb"] / 1024, e["rss_blocked_kb"] / 1024,
                                   e["other_read_us"], e["woken"], e["wake_all_ms"] or 0),
            "",
        ]
    s = r.get("scale")
    if s:
        lines += [
            "## %d containers" % s["n"],
            "",
            "| measure | containerfs | target |",
            "|---|---|---|",
            "| `mkdir` each (mean; p99; max) | %.2f ms; %.2f ms; %.1f ms | <= 1 ms |" % (
                s["mkdir_mean_ms"], s["mkdir_p99_ms"], s["mkdir_max_ms"]),
            "| daemon RSS with %d (after a restart) | %.1f MB (%.1f MB) | < 30 MB |" % (
                s["n"], s["rss_kb"] / 1024, s["rss_restarted_kb"] / 1024),
            "| restart: daemon started until the tree answers | %.2f s | < 1 s |" % s["restart_s"],
        ]
        if s.get("disk_ms") is not None:
            lines.append("| the state dir's disk alone: a directory and its file made, fsynced as a"
                         " `mkdir`'s are (mean, just before) | %.2f ms | |" % s["disk_ms"])
        lines += [""]
    lines += report_uring(r)
    for p in plots:
        lines += ["![%s](bench/%s)" % (p[:-4], p), ""]
    text = "\n".join(lines)
    print(text)
    notes = ""
    try:
        with open(out) as fh:
            old = fh.read()
        if NOTES in old:
            notes = old[old.index(NOTES):]
    except OSError:
        pass
    with open(out, "w") as fh:
        fh.write(text + ("\n" + notes if notes else ""))


def report_uring(r):
    """The measures taken again with the kernel handing FUSE requests over io_uring,
    beside the same from /dev/fuse."""
    u = r.get("uring")
    if not u:
        return []

    def us(v):
        return "%.1f µs" % v if v is not None else "—"

    def ms(d, k):
        return "%.1f ms" % median_ms(d[k]) if d.get(k) else "—"

    def get(d, *path):
        for p in path:
            if not isinstance(d, dict) or d.get(p) is None:
                return None
            d = d[p]
        return d

    lines = [
        "## Over io_uring",
        "",
        "Where the kernel's fuse module has `enable_uring` on, containerfs takes each CPU's"
        " requests from a queue of its own and answers on that CPU (doc/design.md, \"FUSE over"
        " io_uring\"). The bench runs a second daemon that way (and the floor, which does the"
        " same); the first column is the main run above, from /dev/fuse.",
        "",
        "| measure | /dev/fuse | io_uring | FUSE floor over io_uring | cgroupfs | io_uring /"
        " cgroupfs | target |",
        "|---|---|---|---|---|---|---|",
    ]
    f, fu = r.get("files") or {}, u.get("files") or {}
    cg = f.get("cgroup_orc_us")
    if fu:
        lines += [
            "| open+read+close of `NAME/state` | %s | %s | %s | %s | %s | <= 5 × cgroupfs |" % (
                us(f.get("state_orc_us")), us(fu.get("state_orc_us")),
                us(fu.get("floor_orc_us")), us(cg),
                "%.2f" % (fu["state_orc_us"] / cg) if cg and fu.get("state_orc_us") else "—"),
            "| `pread` of an open `state` | %s | %s | %s | | | <= 15 µs |" % (
                us(f.get("state_pread_us")), us(fu.get("state_pread_us")),
                us(fu.get("floor_pread_us"))),
            "| `cat /containers/*/state` over 1,000 | %s | %s | %s | | | < 0.2 s |" % (
                "%.3f s" % f["cat_1000_s"] if f.get("cat_1000_s") else "—",
                "%.3f s" % fu["cat_1000_s"] if fu.get("cat_1000_s") else "—",
                "%.3f s" % fu["cat_1000_floor_s"] if fu.get("cat_1000_floor_s") else "—"),
        ]
    if u.get("cfs_true"):
        lines += [
            "| start-run-exit `/bin/true` | %s | %s | | | | |" % (ms(r, "cfs_true"),
                                                                 ms(u, "cfs_true")),
            "| the same, each after 0.5 s idle | %s | %s | | | | |" % (
                ms(r, "cfs_true_idle"), ms(u, "cfs_true_idle")),
            "| start until RUNNING + stop (`sleep`) | %s | %s | | | | |" % (
                ms(r, "cfs_startstop"), ms(u, "cfs_startstop")),
        ]
    a, b = get(r, "sys", "containerfs"), get(u, "sys", "containerfs")
    if a and b:
        def cycle(d):
            return median_ms([x + y for x, y in zip(d["start"], d["kill"])])
        crun = get(r, "sys", "crun")
        lines.append("| system container start + kill cycle | %.1f ms | %.1f ms (%s × crun) |"
                     " | | | <= 0.6 × crun |" % (
                         cycle(a), cycle(b),
                         "%.2f" % (cycle(b) / cycle(crun)) if isinstance(crun, dict) else "—"))
    e, eu = r.get("events"), u.get("events")
    if e and eu:
        lines.append("| 1,000 blocked `events` readers: daemon threads; RSS; last woken |"
                     " %d; %.1f MB; %.1f ms | %d; %.1f MB; %.1f ms | | | | |" % (
                         e["threads_blocked"], e["rss_blocked_kb"] / 1024, e["wake_all_ms"] or 0,
                         eu["threads_blocked"], eu["rss_blocked_kb"] / 1024,
                         eu["wake_all_ms"] or 0))
    if fu.get("state_orc_invol") is not None:
        lines += [
            "| the reader's involuntary switches per open+read+close (one CPU) | %.2f | %.2f |"
            " | | | |" % (f.get("state_orc_invol") or 0, fu["state_orc_invol"]),
            "| open+read+close with a busy loop on the reader's CPU | %s | %s | | | | |" % (
                us(f.get("state_orc_busy_us")), us(fu.get("state_orc_busy_us"))),
            "| write of a setting, its value unchanged (`hostname`: open, write, close) | %s | %s |"
            " | | | |" % (
                us(f.get("setting_write_us")), us(fu.get("setting_write_us"))),
            "| the same, the writer bound to one CPU | %s | %s | | | | |" % (
                us(f.get("setting_write_one_cpu_us")), us(fu.get("setting_write_one_cpu_us"))),
            "| the same with a busy loop on the writer's CPU | %s | %s | | | | |" % (
                us(f.get("setting_write_busy_us")), us(fu.get("setting_write_busy_us"))),
        ]
    s, su = r.get("scale"), u.get("scale")
    if s and su:
        lines += [
            "| 10,000 containers: `mkdir` each (mean) | %.2f ms | %.2f ms | | | | <= 1 ms |" % (
                s["mkdir_mean_ms"], su["mkdir_mean_ms"]),
            "| the state dir's disk alone, as a `mkdir` uses it (mean) | %s | %s | | | | |" % (
                "%.2f ms" % s["disk_ms"] if s.get("disk_ms") is not None else "—",
                "%.2f ms" % su["disk_ms"] if su.get("disk_ms") is not None else "—"),
            "| 10,000 containers: daemon RSS | %.1f MB | %.1f MB | | | | < 30 MB |" % (
                s["rss_kb"] / 1024, su["rss_kb"] / 1024),
            "| 10,000 containers: restart | %.2f s | %.2f s | | | | < 1 s |" % (
                s["restart_s"], su["restart_s"]),
        ]
    return lines + [""]


def machine_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def mem_total():
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return "%.1f GB RAM" % (int(line.split()[1]) / 1024 / 1024)
    return "? RAM"


def bench_cfs(cfs, tmp, rootfs, r, cycles, only, wake_here=True):
    if "files" in only:
        bench_files(cfs, r, wake_here)
    if "app" in only:
        bench_app(cfs, tmp, r, cycles)
    if "system" in only:
        bench_system_cfs(cfs, rootfs, r, cycles)
    if "events" in only:
        bench_events(cfs, r)
    if "scale" in only:
        bench_scale(cfs, r)


def main():
    global BUILD
    ap = argparse.ArgumentParser()
    ap.add_argument("cycles", nargs="?", type=int, default=None)
    ap.add_argument("--cycles", dest="cycles_opt", type=int, default=30)
    ap.add_argument("--build", default=BUILD)
    ap.add_argument("--out", default=os.environ.get("CFS_BENCH_OUT") or
                    os.path.join(TOP, "doc", "benchmarks.md"))
    ap.add_argument("--only", default=",".join(SECTIONS))
    a = ap.parse_args()
    cycles = a.cycles or a.cycles_opt
    BUILD = os.path.abspath(a.build)
    only = set(a.only.split(","))
    datadir = os.path.join(os.path.dirname(os.path.abspath(a.out)), "bench")
    tmp = tempfile.mkdtemp(prefix="cfs-bench-")
    rootfs = os.path.join(tmp, "rootfs")
    make_rootfs(rootfs)
    r = {"sys": {}, "seq": {}}
    # the main run takes requests from /dev/fuse; where the kernel can hand them over
    # io_uring, the same measures are taken again that way (the host's setting is put
    # back at the end)
    uring_saved = open(URING).read().strip() if os.path.exists(URING) else None
    try:
        if uring_saved is not None:
            set_uring(False)
        cfs = Containerfs(tmp)
        try:
            bench_cfs(cfs, tmp, rootfs, r, cycles, only)
        finally:
            cfs.close()
        if uring_saved is not None and "uring" in only:
            set_uring(True)
            ru = r["uring"] = {"sys": {}, "seq": {}}
            os.makedirs(os.path.join(tmp, "uring"))
            cfs = Containerfs(os.path.join(tmp, "uring"))
            try:
                bench_cfs(cfs, tmp, rootfs, ru, cycles, only, wake_here=False)
            finally:
                cfs.close()
    finally:
        if uring_saved is not None:
            with open(URING, "w") as fh:
                fh.write(uring_saved)
    # crun on a hybrid host only without the unified mount (this is a private ns)
    if os.path.ismount("/sys/fs/cgroup/unified"):
        subprocess.run(["umount", "/sys/fs/cgroup/unified"], check=False)
    if "app" in only:
        bench_app_others(tmp, r, cycles)
    if "system" in only:
        bench_system_others(tmp, rootfs, r, cycles)
    files = write_data(datadir, r)
    plots = plot(datadir, files)
    report(r, cycles, a.out, datadir, plots)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
