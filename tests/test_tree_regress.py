"""Cases found in review: each pins down a rule of the contract that broke once."""
import errno
import os
import select
import time

from lib.fsops import read_file, read_value, write_file


def test_events_of_removed_container_end_for_readers_and_pollers(daemon):
    os.mkdir(daemon.path("web"))
    fd = os.open(daemon.path("web", "events"), os.O_RDONLY | os.O_CLOEXEC)
    try:
        assert os.read(fd, 4096) == b"web STOPPED\n"
        p = select.poll()
        p.register(fd, select.POLLIN)
        assert p.poll(200) == []  # nothing new yet
        os.rmdir(daemon.path("web"))
        # the poller is woken by the removal, and the reader gets end of file
        assert p.poll(5000), "poll not woken by rmdir"
        assert os.read(fd, 4096) == b""
        assert os.read(fd, 4096) == b""
    finally:
        os.close(fd)
    assert daemon.alive()


def test_outer_blanks_are_refused_so_the_ini_form_keeps_values(daemon):
    os.mkdir(daemon.path("web"))
    for rel, bad in (("cgroup/pids.max", " 5"), ("hostname", "web "),
                     ("env", "A=1 \n"), ("cgroup/devices.allow", " c 1:3 rwm\n")):
        before = read_file(daemon.path("web", rel))
        r = write_file(daemon.path("web", rel), bad)
        assert r == errno.EINVAL, (rel, r)
        assert read_file(daemon.path("web", rel)) == before
        assert "blanks" in read_value(daemon.path("web", "last_error")), rel
    # what is accepted reads back the same after a restart (through the INI form)
    assert write_file(daemon.path("web", "env"), "A=x y\n") == 0
    daemon.restart()
    assert read_file(daemon.path("web", "env")) == "A=x y\n"


def test_rename_over_a_read_only_file_keeps_its_errno(daemon):
    os.mkdir(daemon.path("web"))
    tmp = daemon.path("web", ".tmp-pid")
    assert write_file(tmp, "123\n", flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC) == 0
    try:
        os.rename(tmp, daemon.path("web", "pid"))
        raise AssertionError("rename over pid succeeded")
    except OSError as e:
        assert e.errno == errno.EACCES, e
    try:
        os.rename(tmp, daemon.path("web", "net"))
        raise AssertionError("rename over net/ succeeded")
    except OSError as e:
        assert e.errno in (errno.EISDIR, errno.ENOTDIR, errno.EPERM), e
    os.unlink(tmp)
    assert read_file(daemon.path("web", "pid")) == ""


def test_tree_answers_while_autostart_runs(daemon):
    # a container that starts slowly (its command is a shell that waits before exec)
    # does not hold up the tree after a restart
    os.mkdir(daemon.path("web"))
    assert write_file(daemon.path("web", "init"), "/bin/sh -c 'exec sleep 100'") == 0
    assert write_file(daemon.path("web", "autostart"), "1") == 0
    daemon.restart()
    t0 = time.monotonic()
    assert read_value(daemon.path(".version"))
    assert time.monotonic() - t0 < 5
    deadline = time.monotonic() + 20
    while read_value(daemon.path("web", "state")) != "RUNNING":
        assert time.monotonic() < deadline, "autostart did not start the container"
        time.sleep(0.05)
    assert write_file(daemon.path("web", "state"), "kill") == 0


def test_container_named_like_a_cgroup_file_fails_cleanly(daemon):
    # "tasks" is a valid container name, and a control file in every v1 cgroup: the
    # start must fail with a clear error, not adopt or stumble over the file
    os.mkdir(daemon.path("tasks"))
    assert write_file(daemon.path("tasks", "init"), "/bin/true") == 0
    r = write_file(daemon.path("tasks", "state"), "start")
    v1 = any(os.path.exists(f"/sys/fs/cgroup/{c}/tasks") for c in ("pids", "memory", "cpu"))
    if not v1:  # pure v2 has no `tasks` file: the name is then an ordinary one
        assert write_file(daemon.path("tasks", "state"), "kill") == 0
        return
    assert r in (errno.EINVAL, errno.EBUSY), r
    assert "control file" in read_value(daemon.path("tasks", "last_error"))
    assert read_value(daemon.path("tasks", "state")) == "STOPPED"


def test_failed_cgroup_create_leaves_no_directory(daemon):
    # a control file of one v1 hierarchy only: the directories already made in the
    # hierarchies before it are taken back (the teardown checks no cgroup is left)
    name = "memory.limit_in_bytes"
    if not os.path.exists(f"/sys/fs/cgroup/memory/{name}"):
        return  # no v1 memory hierarchy here
    os.mkdir(daemon.path(name))
    assert write_file(daemon.path(name, "init"), "/bin/true") == 0
    r = write_file(daemon.path(name, "state"), "start")
    assert r == errno.EINVAL, r
    assert "control file" in read_value(daemon.path(name, "last_error"))
    assert read_value(daemon.path(name, "state")) == "STOPPED"


def test_restart_and_start_while_running_are_consistent(daemon):
    os.mkdir(daemon.path("web"))
    assert write_file(daemon.path("web", "init"), "sleep 100") == 0
    assert write_file(daemon.path("web", "state"), "start") == 0
    pid1 = read_value(daemon.path("web", "pid"))
    assert write_file(daemon.path("web", "state"), "restart") == 0
    pid2 = read_value(daemon.path("web", "pid"))
    assert pid1 != pid2 and read_value(daemon.path("web", "state")) == "RUNNING"
    deadline = time.monotonic() + 5  # the first run's init is gone, not left behind
    while os.path.exists(f"/proc/{pid1}") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not os.path.exists(f"/proc/{pid1}"), f"the first run's init {pid1} still exists"
    assert write_file(daemon.path("web", "state"), "kill") == 0
    assert read_value(daemon.path("web", "state")) == "STOPPED"
