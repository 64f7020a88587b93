"""Benchmark driver (run by scripts/bench inside a private mount namespace).

Measures, in one run on the same busybox workloads:
  1. start-run-exit of /bin/true: containerfs (echo start > state, STOPPED seen on
     events) vs `crun run`, `lxc-execute`, and `unshare` as the floor;
  2. start-until-RUNNING plus stop of `sleep`: containerfs (start, then kill) vs
     `crun run -d` + `crun delete -f`;
  3. supervisor memory (PSS) per running container.
Writes doc/benchmarks.md (or the file named by $CFS_BENCH_OUT).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(TOP, "build")
BUSYBOX = "/bin/busybox"


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


def make_rootfs(path):
    os.makedirs(os.path.join(path, "bin"))
    for d in ("proc", "sys", "dev", "tmp", "etc"):
        os.makedirs(os.path.join(path, d))
    shutil.copy(BUSYBOX, os.path.join(path, "bin", "busybox"))
    for applet in ("true", "sleep", "sh"):
        os.symlink("busybox", os.path.join(path, "bin", applet))


class Containerfs:
    def __init__(self, tmp):
        self.mnt = os.path.join(tmp, "mnt")
        os.makedirs(self.mnt)
        # runtime records live on tmpfs, as the default /run/containerfs does
        self.run = tempfile.mkdtemp(prefix="cfs-bench-", dir="/run")
        if subprocess.run(["stat", "-f", "-c", "%T", "/run"], capture_output=True,
                          text=True).stdout.strip() != "tmpfs":
            # a host whose /run is on disk: a tmpfs of our own (we are in a private
            # mount namespace), or the supervisor's fsync of its exit record is timed
            subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0700", "cfs-bench-run", self.run],
                           check=True)
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "containerfs"), "-f", "--state-dir", os.path.join(tmp, "state"),
             "--run-dir", self.run, "--cgroup-parent", "cfs-bench-%d" % os.getpid(),
             self.mnt], stderr=open(os.path.join(tmp, "daemon.log"), "w"))
        deadline = time.time() + 10
        while not os.path.exists(os.path.join(self.mnt, ".version")):
            if time.time() > deadline:
                raise RuntimeError("daemon did not mount")
            time.sleep(0.02)

    def make(self, name, init):
        os.mkdir(os.path.join(self.mnt, name))
        with open(os.path.join(self.mnt, name, "init"), "w") as f:
            f.write(init)
        return os.path.join(self.mnt, name)

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

    def start_kill(self, c):
        self.write(os.path.join(c, "state"), "start\n")
        self.write(os.path.join(c, "state"), "kill\n")

    def supervisor_pss(self, n):
        names = []
        for i in range(n):
            c = self.make("pss%d" % i, "%s sleep 1000" % BUSYBOX)
            self.write(os.path.join(c, "state"), "start\n")
            names.append(c)
        time.sleep(0.5)
        pss = []
        for c in names:
            init = int(open(os.path.join(c, "pid")).read())
            sup = int(open("/proc/%d/stat" % init).read().rsplit(")", 1)[1].split()[1])
            pss.append(read_pss(sup))
        for c in names:
            self.write(os.path.join(c, "state"), "kill\n")
        return pss

    def close(self):
        subprocess.run(["fusermount3", "-u", self.mnt], check=False)
        self.proc.wait(timeout=10)
        subprocess.run(["umount", self.run], check=False, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.run, ignore_errors=True)


def read_pss(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def crun_bundle(tmp, args):
    b = os.path.join(tmp, "bundle-" + args[0].replace("/", "_"))
    os.makedirs(b)
    make_rootfs(os.path.join(b, "rootfs"))
    subprocess.run(["crun", "spec"], cwd=b, check=True)
    spec = json.load(open(os.path.join(b, "config.json")))
    spec["process"]["args"] = args
    spec["process"]["terminal"] = False
    json.dump(spec, open(os.path.join(b, "config.json"), "w"))
    return b


def run(cmd, **kw):
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, **kw)


def main():
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    tmp = tempfile.mkdtemp(prefix="cfs-bench-")
    results = {}
    cfs = Containerfs(tmp)
    try:
        t = cfs.make("true", "%s true" % BUSYBOX)
        results["cfs_true"] = timed(lambda: cfs.run_true(t), cycles)
        s = cfs.make("sleep", "%s sleep 1000" % BUSYBOX)
        results["cfs_startstop"] = timed(lambda: cfs.start_kill(s), cycles)
        pss = cfs.supervisor_pss(20)
    finally:
        cfs.close()
    # crun on this hybrid host only without the unified mount (this is a private ns)
    subprocess.run(["umount", "/sys/fs/cgroup/unified"], check=False)
    bt = crun_bundle(tmp, ["/bin/true"])
    bs = crun_bundle(tmp, ["/bin/sleep", "1000"])
    results["crun_true"] = timed(lambda: run(["crun", "run", "-b", bt, "bench-true"]), cycles)

    def crun_startstop():
        run(["crun", "run", "-d", "-b", bs, "bench-sleep"])
        run(["crun", "delete", "-f", "bench-sleep"])
    results["crun_startstop"] = timed(crun_startstop, cycles)
    lxc_conf = os.path.join(tmp, "lxc.conf")
    with open(lxc_conf, "w") as f:
        f.write("lxc.uts.name = bench\nlxc.net.0.type = empty\nlxc.console.path = none\n"
                "lxc.tty.max = 0\nlxc.apparmor.profile = unconfined\n")
    try:
        results["lxc_true"] = timed(lambda: run(["lxc-execute", "-P", tmp, "-n", "bench", "-f", lxc_conf,
                                                  "--", "/bin/true"]), cycles)
    except subprocess.CalledProcessError:
        results["lxc_true"] = None
    results["unshare_true"] = timed(lambda: run(["unshare", "-mpuin", "--fork", "/bin/true"]), cycles)
    report(results, pss, cycles)
    shutil.rmtree(tmp, ignore_errors=True)


NOTES = "<!-- notes (kept by scripts/bench) -->"


def report(r, pss, cycles):
    def ms(k):
        return "%.1f ms" % median_ms(r[k]) if r.get(k) else "failed"
    ratio_true = median_ms(r["cfs_true"]) / median_ms(r["crun_true"])
    ratio_ss = median_ms(r["cfs_startstop"]) / median_ms(r["crun_startstop"])
    pss_avg = sum(pss) / len(pss)
    lines = [
        "# Benchmarks",
        "",
        "Measured by `scripts/bench` (median of %d cycles after 3 warm-up cycles, all tools in"
        " one run on the same machine; busybox workloads). Application containers for"
        " containerfs (new mnt, pid, uts, ipc, net, cgroup namespaces, cgroups in every"
        " hierarchy); crun 1.8 with its default spec (same namespaces) on a busybox rootfs."
        " Timings vary with the machine's load; the ratios are what the targets are about." % cycles,
        "",
        "Run on %s, kernel %s, %d CPUs." % (time.strftime("%Y-%m-%d"), os.uname().release, os.cpu_count()),
        "",
        "| workload | containerfs | crun | lxc-execute | unshare (floor) | containerfs / crun | target |",
        "|---|---|---|---|---|---|---|",
        "| start-run-exit `/bin/true` | %s | %s | %s | %s | %.2f | <= 0.6 |" % (
            ms("cfs_true"), ms("crun_true"), ms("lxc_true"), ms("unshare_true"), ratio_true),
        "| start until RUNNING + stop (`sleep`) | %s | %s | | | %.2f | <= 0.6 |" % (
            ms("cfs_startstop"), ms("crun_startstop"), ratio_ss),
        "",
        "Supervisor memory: %.0f kB PSS per running container (average over %d running"
        " containers; min %d kB, max %d kB). Target: under 100 kB. (LXC's monitor is about"
        " 470 kB PSS.)" % (pss_avg, len(pss), min(pss), max(pss)),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = os.environ.get("CFS_BENCH_OUT") or os.path.join(TOP, "doc", "benchmarks.md")
    # what follows the notes marker in the existing file is written by hand: kept
    notes = ""
    try:
        with open(out) as f:
            old = f.read()
        if NOTES in old:
            notes = old[old.index(NOTES):]
    except OSError:
        pass
    with open(out, "w") as f:
        f.write(text + ("\n" + notes if notes else ""))


if __name__ == "__main__":
    main()
