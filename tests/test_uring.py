"""FUSE over io_uring (fusefs/uring.c): where the kernel's fuse module offers it
(fuse.enable_uring), the daemon takes each CPU's requests from a queue of its own and
answers on that CPU; a request that may wait goes to a worker, so no queue is held
up; parked `events` reads do not use up a queue; what a worker starts runs on every
CPU. Each test sets the module parameter for its own daemons and puts it back.

The whole end-to-end suite also runs over io_uring (`make e2e-uring`); these tests are
what only this transport can get wrong."""
import os
import threading
import time

import pytest

from lib.fsops import read_file, read_value, write_file
from lib.lifecycle import make_container, payload_cmd, proc_status, wait_for

PARAM = "/sys/module/fuse/parameters/enable_uring"


def _io_uring_refused() -> bool:
    """kernel.io_uring_disabled = 2: no process may set up a ring (the daemon then keeps
    to /dev/fuse, which the rest of the suite covers)."""
    try:
        return open("/proc/sys/kernel/io_uring_disabled").read().strip() == "2"
    except OSError:
        return False


pytestmark = [
    pytest.mark.skipif(not os.path.exists(PARAM),
                       reason="this kernel's fuse module has no enable_uring parameter"),
    pytest.mark.skipif(_io_uring_refused(), reason="kernel.io_uring_disabled is 2"),
]


def possible_cpus() -> int:
    n = 0
    for part in open("/sys/devices/system/cpu/possible").read().strip().split(","):
        a, _, b = part.partition("-")
        n += int(b or a) - int(a) + 1
    return n


@pytest.fixture
def uring():
    """enable_uring on for the daemons the test starts; the host's value back after."""
    saved = open(PARAM).read().strip()

    def set_param(on: bool):
        with open(PARAM, "w") as f:
            f.write("Y" if on else "N")

    set_param(True)
    yield set_param
    with open(PARAM, "w") as f:
        f.write(saved)


def transport(d) -> str:
    """The daemon's "fuse transport" line of .checkconfig (read anew: it is per daemon)."""
    for line in read_file(d.path(".checkconfig")).splitlines():
        if line.startswith("fuse transport: "):
            return line[len("fuse transport: "):]
    raise AssertionError(".checkconfig has no fuse transport line")


def ring_completions(pid: int) -> int:
    """Completions the kernel posted on all of the process's io_uring rings so far (the
    CqTail of each ring in its fdinfo); 0 without a ring."""
    total = 0
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            text = open(f"/proc/{pid}/fdinfo/{fd}").read()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("CqTail:"):
                total += int(line.split()[1])
    return total


def orc(path: str, n: int):
    for _ in range(n):
        fd = os.open(path, os.O_RDONLY)
        os.read(fd, 4096)
        os.close(fd)


def on_cpu(cpu: int):
    """Keep the calling thread on one CPU (Linux: pid 0 is the thread itself)."""
    os.sched_setaffinity(0, {cpu})


def threads_named(pid: int, prefix: str) -> dict:
    """The daemon's threads named PREFIX<N> (uring-q: a queue's, uring-w: a worker of
    a queue), as {tid: N}."""
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            comm = open(f"/proc/{pid}/task/{t}/comm").read().strip()
        except OSError:
            continue
        if comm.startswith(prefix) and comm[len(prefix):].isdigit():
            out[int(t)] = int(comm[len(prefix):])
    return out


def queue_threads(pid: int) -> dict:
    """Each queue's thread, by CPU; each is bound to its CPU where the daemon may run
    there (a queue of a CPU that is offline, or not the daemon's, waits unbound)."""
    out, allowed = {}, os.sched_getaffinity(pid)
    for tid, cpu in threads_named(pid, "uring-q").items():
        if cpu in allowed:
            assert os.sched_getaffinity(tid) == {cpu}, (tid, cpu, os.sched_getaffinity(tid))
        out[cpu] = tid
    return out


def policies(pid: int) -> dict:
    """The scheduling policy of each queue's thread, by CPU."""
    return {cpu: os.sched_getscheduler(tid) for cpu, tid in queue_threads(pid).items()}


def all_batch(pid: int) -> bool:
    p = policies(pid)
    return len(p) == possible_cpus() and set(p.values()) == {os.SCHED_BATCH}


def test_requests_come_over_io_uring(uring, daemon_factory):
    d = daemon_factory()
    os.mkdir(d.path("web"))
    assert transport(d) == f"io_uring, {possible_cpus()} queues"
    before = ring_completions(d.proc.pid)
    mine = os.sched_getaffinity(0)
    try:
        for cpu in sorted(mine):
            on_cpu(cpu)
            orc(d.path("web", "state"), 100)
    finally:
        os.sched_setaffinity(0, mine)
    # each open+read+close is an OPEN, a READ and a RELEASE, from every CPU
    got = ring_completions(d.proc.pid) - before
    assert got >= 3 * 100 * len(mine), got
    assert read_value(d.path("web", "state")) == "STOPPED"


def test_dev_fuse_where_io_uring_is_off_or_refused(uring, daemon_factory):
    """--no-uring, or the module's parameter off: no request comes over a ring."""
    d = daemon_factory(opts=("--no-uring",))
    assert transport(d) == "/dev/fuse (io_uring turned off by --no-uring)"
    uring(False)
    e = daemon_factory()
    for x in (d, e):
        os.mkdir(x.path("web"))
        before = ring_completions(x.proc.pid)
        orc(x.path("web", "state"), 50)
        assert ring_completions(x.proc.pid) == before
    assert transport(e).startswith("/dev/fuse (the kernel's fuse module does not offer io_uring")


def test_a_waiting_stop_holds_up_no_queue(uring, daemon_factory):
    """A stop waiting out stop.timeout is a request of the CPU its writer ran on: that
    CPU's queue goes on answering (reads, a new container, a setting)."""
    d = daemon_factory()
    ctr = make_container(d, "web", payload_cmd("ignore-term-sleep", "1000"),
                         {"stop.timeout": "20"})
    ctr.start()
    cpu = min(os.sched_getaffinity(0))
    res = {}

    def stop():
        on_cpu(cpu)
        res["stop"] = ctr.write_state("stop")

    t = threading.Thread(target=stop, daemon=True)
    mine = os.sched_getaffinity(0)
    t.start()
    try:
        wait_for(lambda: ctr.state() == "STOPPING" or "stop" in res, 10, what="STOPPING")
        assert "stop" not in res, f"the stop ended at once: {res['stop']}; state " \
                                  f"{ctr.state()}; last_error {ctr.last_error()!r}"
        on_cpu(cpu)
        t0 = time.monotonic()
        orc(ctr.path("state"), 20)
        assert read_value(ctr.path("state")) == "STOPPING"
        os.mkdir(d.path("other"))
        assert write_file(d.path("other", "cgroup", "pids.max"), "50\n") == 0
        took = time.monotonic() - t0
        assert took < 5, f"the queue of CPU {cpu} waited {took:.1f} s behind a stop"
        assert t.is_alive(), "the stop did not wait (the test proves nothing)"
        # every queue's thread waits as SCHED_BATCH (a RELEASE does not preempt the
        # process that closed the file), this one too while a worker has its request:
        # the worker makes it SCHED_OTHER when it answers
        assert all_batch(d.proc.pid), policies(d.proc.pid)
    finally:
        os.sched_setaffinity(0, mine)
        write_file(ctr.path("state"), "kill\n")
        t.join(30)
    assert res.get("stop") is not None
    ctr.wait_state("STOPPED")
    wait_for(lambda: all_batch(d.proc.pid), 10, what="every queue back to SCHED_BATCH")


@pytest.mark.timeout(120)
def test_parked_events_reads_do_not_use_up_a_queue(uring, daemon_factory):
    """300 blocking `events` reads from one CPU each hold a request: the queue of that
    CPU takes more entries and goes on answering; every reader gets the change; the
    daemon ends cleanly with readers still parked."""
    d = daemon_factory()
    ctr = make_container(d, "web", payload_cmd("sleep", "100"))
    cpu = min(os.sched_getaffinity(0))
    mine = os.sched_getaffinity(0)
    n = 300
    fds, got, parked = [], {}, threading.Semaphore(0)
    for _ in range(n):
        fd = os.open(d.path("web", "events"), os.O_RDONLY)
        assert os.read(fd, 4096).decode() == "web STOPPED\n"  # the current state first
        fds.append(fd)

    def reader(i):
        on_cpu(cpu)
        parked.release()
        try:
            got[i] = os.read(fds[i], 4096).decode()
        except OSError as e:
            got[i] = e

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for _ in range(n):
        parked.acquire()
    try:
        on_cpu(cpu)
        time.sleep(0.5)  # the reads are in the daemon's hands
        assert not got, f"reads answered with no change: {list(got.values())[:3]}"
        # answers awaited from another thread: the queue's thread still waits as
        # SCHED_BATCH (the change that answers them makes it SCHED_OTHER)
        assert all_batch(d.proc.pid), policies(d.proc.pid)
        t0 = time.monotonic()
        assert read_value(d.path("web", "state")) == "STOPPED"
        assert write_file(d.path("web", "cgroup", "pids.max"), "40\n") == 0
        took = time.monotonic() - t0
        assert took < 5, f"CPU {cpu}'s queue answered after {took:.1f} s with {n} reads parked"
        ctr.start()  # a change every reader is told of
        wait_for(lambda: len(got) == n, 20, what="every parked read answered")
        assert all(isinstance(v, str) and v.startswith("web ") for v in got.values()), \
            [v for v in got.values() if not isinstance(v, str) or not v.startswith("web ")][:3]
        # the entries those reads held are with the kernel again, their pages given
        # back: the requests they now carry (writes with data among them) arrive whole
        on_cpu(cpu)
        for i in range(50):
            v = f"{100 + i}\n"
            assert write_file(d.path("web", "cgroup", "pids.max"), v) == 0
            assert read_file(d.path("web", "cgroup", "pids.max")) == v
            m = f"{64 + i}M\n"
            assert write_file(d.path("web", "cgroup", "memory.max"), m) == 0
            assert read_file(d.path("web", "cgroup", "memory.max")) == m
        write_file(ctr.path("state"), "kill\n")
        ctr.wait_state("STOPPED")
        wait_for(lambda: all_batch(d.proc.pid), 10, what="every queue back to SCHED_BATCH")
    finally:
        os.sched_setaffinity(0, mine)
        for t in threads:
            t.join(5)
        for fd in fds:
            os.close(fd)

    # parked when the daemon ends (SIGTERM): the read ends with it and the daemon
    # exits cleanly (the fixture checks: exit 0, no sanitizer report)
    fd = os.open(d.path("web", "events"), os.O_RDONLY)
    os.read(fd, 4096)
    res = {}
    t = threading.Thread(target=lambda: res.setdefault("r", read_or_error(fd)), daemon=True)
    t.start()
    time.sleep(0.3)
    assert d.stop("sigterm") == 0
    t.join(10)
    assert not t.is_alive(), "a parked read outlived the daemon"
    os.close(fd)
    d.start()  # and it mounts again over io_uring (the fixture then checks for leaks)
    assert transport(d) == f"io_uring, {possible_cpus()} queues"


def read_or_error(fd):
    try:
        return os.read(fd, 4096)
    except OSError as e:
        return e


def test_started_containers_run_on_every_cpu(uring, daemon_factory):
    """A queue's thread and its workers stay on its CPU; a container that a worker
    starts runs on every CPU the daemon may use, under the daemon's policy."""
    d = daemon_factory()
    ctr = make_container(d, "web", payload_cmd("sleep", "100"))
    mine = os.sched_getaffinity(0)
    allowed = proc_status(d.proc.pid)["Cpus_allowed_list"]
    cpu = min(mine)
    try:
        on_cpu(cpu)  # the start is a request of this CPU's queue
        pid = ctr.start()
    finally:
        os.sched_setaffinity(0, mine)
    assert proc_status(pid)["Cpus_allowed_list"] == allowed
    # nor is it of the SCHED_BATCH of an idle queue's thread
    assert all_batch(d.proc.pid), policies(d.proc.pid)
    assert os.sched_getscheduler(pid) == os.SCHED_OTHER
    # the worker that started it, waiting for its next job, is bound to the queue's
    # CPU (no other CPU is woken to hand it a request), of the daemon's policy
    workers = threads_named(d.proc.pid, "uring-w")
    assert cpu in workers.values(), workers
    wait_for(lambda: all(os.sched_getaffinity(t) == {c} for t, c in workers.items()
                         if c in os.sched_getaffinity(d.proc.pid)), 5,
             what="idle workers bound to their queue's CPU")
    assert all(os.sched_getscheduler(t) == os.SCHED_OTHER for t in workers)
    write_file(ctr.path("state"), "kill\n")
    ctr.wait_state("STOPPED")
