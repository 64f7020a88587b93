"""End-to-end fixtures: each test gets its own containerfs daemon (mount point, state dir,
run dir, cgroup parent); teardown demands a clean exit and checks that nothing leaked.
Every test phase is time-limited (default 60 s, @pytest.mark.timeout(N) to change):
a wedged FUSE request would otherwise hang the suite.

Run it as root through scripts/run-tests (a private mount + network namespace)."""
import os
import re
import signal
import sys
import tempfile
import threading

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from lib.daemon import Daemon  # noqa: E402

DEFAULT_TIMEOUT = 60.0
_live_daemons = []  # for the watchdog: the daemons of the running test


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout(seconds): time limit of each phase of the test")
    config.addinivalue_line("markers", "daemon_opts(*opts): extra command line options "
                                       "of the `daemon` fixture (e.g. '-o', 'allow_other')")


def _uses_plugin(config) -> bool:
    return config.pluginmanager.hasplugin("timeout")


def pytest_collection_modifyitems(config, items):
    if _uses_plugin(config):  # pytest-timeout installed: let it enforce our default
        for item in items:
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT))


class _Watchdog:
    """SIGALRM to the main thread after `limit` seconds (its handler fails the test);
    if the test is still stuck 3 s later (a syscall blocked in a FUSE request the
    daemon never answers), abort the test's FUSE connections so the syscall returns."""

    def __init__(self, limit, what):
        self.limit, self.what = limit, what
        self.fired = False
        self.main = threading.main_thread().ident
        self.t1 = threading.Timer(limit, self._alarm)
        self.t2 = threading.Timer(limit + 3, self._abort)
        self.t1.daemon = self.t2.daemon = True

    def _alarm(self):
        self.fired = True
        signal.pthread_kill(self.main, signal.SIGALRM)

    def _abort(self):
        for d in list(_live_daemons):
            d.abort_connection()

    def _handler(self, signum, frame):
        pytest.fail(f"timeout: {self.what} took more than {self.limit:g} s", pytrace=True)

    def __enter__(self):
        self.old = signal.signal(signal.SIGALRM, self._handler)
        self.t1.start()
        self.t2.start()
        return self

    def __exit__(self, *exc):
        self.t1.cancel()
        self.t2.cancel()
        signal.signal(signal.SIGALRM, self.old)
        return False


def _limit(item) -> float:
    m = item.get_closest_marker("timeout")
    base = float(m.args[0]) if m and m.args else DEFAULT_TIMEOUT
    return base * float(os.environ.get("CFS_TIMEOUT_SCALE", "1"))


def _phase(item, name):
    if _uses_plugin(item.config):
        return None
    return _Watchdog(_limit(item), f"{name} of {item.nodeid}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    w = _phase(item, "setup")
    if w is None:
        yield
        return
    with w:
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    w = _phase(item, "call")
    if w is None:
        yield
        return
    with w:
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    w = _phase(item, "teardown")
    if w is None:
        yield
        return
    with w:
        yield


# ---- daemons ----

def _tmp_root() -> str:
    return os.environ.get("CFS_TMPDIR", "/tmp")


@pytest.fixture
def daemon_factory(request):
    """make(opts=(), start=True) -> Daemon, each with fresh dirs; all are stopped and
    checked at teardown (clean exit 0, no sanitizer report, no leftover mount, cgroup
    or process)."""
    made = []
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:48]

    def make(opts=(), start=True) -> Daemon:
        base = tempfile.mkdtemp(prefix=f"cfs-{slug}-", dir=_tmp_root())
        os.chmod(base, 0o755)  # other users (allow_other tests) must reach the mount
        d = Daemon(base, opts)
        made.append(d)
        _live_daemons.append(d)
        if start:
            d.start()
        return d

    yield make
    problems = []
    for d in made:
        p = d.finish()
        if p:
            problems.append(f"[{d.base}]\n" + "\n".join(p))
        if not p or not os.environ.get("CFS_KEEP_TMP"):
            d.cleanup_dirs()  # CFS_KEEP_TMP=1 keeps a failed test's dirs and daemon logs
        if d in _live_daemons:
            _live_daemons.remove(d)
    if problems:
        pytest.fail("teardown found problems:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def daemon(daemon_factory, request) -> Daemon:
    """A started daemon of our own; @pytest.mark.daemon_opts(...) adds options."""
    m = request.node.get_closest_marker("daemon_opts")
    return daemon_factory(opts=m.args if m else ())


@pytest.fixture
def second_daemon(daemon_factory):
    """A factory for more daemons side by side: second_daemon(opts=()) -> Daemon."""
    return daemon_factory


@pytest.fixture
def web(daemon) -> str:
    """A new container `web` in the daemon's tree; returns its directory."""
    os.mkdir(daemon.path("web"))
    return daemon.path("web")
