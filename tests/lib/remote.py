"""Remote clients of the tree (doc/reference.md, "Over sshfs, and with Ansible"): a
private sshd on 127.0.0.1 with a throwaway host key and authorized_keys, an sshfs mount
of a daemon's tree through it, and Ansible run against localhost with a quiet, local environment.

Everything lives in a directory of the test's own (tmp_path) and runs inside the suite's
private mount + network namespace (scripts/run-tests); the fixtures that use these
helpers end every process they start and unmount what they mount."""
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from typing import List, Optional

from lib.daemon import mountinfo, unmount

SSHD = "/usr/sbin/sshd"  # sshd re-executes itself: it must be started by absolute path
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
DEBIAN_PYTHON = "/usr/bin/python3"
_probe = itertools.count()


def missing_tools(*names: str) -> List[str]:
    """The commands (names or absolute paths) this machine lacks."""
    out = []
    for n in names:
        if os.path.isabs(n):
            if not os.access(n, os.X_OK):
                out.append(n)
        elif shutil.which(n) is None:
            out.append(n)
    return out


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on (in this network namespace)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: str, n: int = 40) -> str:
    try:
        with open(path, errors="replace") as f:
            return "\n".join(f.read().splitlines()[-n:])
    except OSError:
        return ""


def _wait_exit(proc: subprocess.Popen, timeout: float) -> Optional[int]:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def _ppid(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def descendants(pid: int) -> List[int]:
    """Every live process below pid (children, grandchildren, ...)."""
    parent = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            pp = _ppid(int(e))
            if pp is not None:
                parent[int(e)] = pp
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def holders(path: str) -> List[int]:
    """The processes that have path open (a file descriptor on it)."""
    path = os.path.realpath(path)
    out = []
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{e}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{e}/fd/{fd}") == path:
                    out.append(int(e))
                    break
            except OSError:
                pass
    return out


def wait_released(path: str, timeout: float = 5.0) -> float:
    """Wait until no process holds path open; returns the seconds it took.

    sshfs answers close(2) (FUSE FLUSH) once its writes are acknowledged, but sends the
    SFTP CLOSE for the file only on FUSE RELEASE, which the kernel delivers after close(2)
    has returned; sftp-server closes the daemon's file when that CLOSE arrives, and a
    list or `config` is applied on that close (doc/reference.md). So after writing a list
    through sshfs, this is the moment its value is settled in the daemon."""
    t0 = time.monotonic()
    while holders(path):
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{path} still open after {timeout}s by {holders(path)}")
        time.sleep(0.002)
    return time.monotonic() - t0


class Sshd:
    """sshd -D -e on 127.0.0.1:PORT, root login with a fresh ed25519 key only.

    DIR holds the host key, the client key (id_ed25519), authorized_keys, sshd_config
    and sshd.log (its -e output). Another `address` makes it listen there on port 22;
    `prefix` comes before its command line (nsenter --net=... for another namespace)."""

    def __init__(self, d: str, address: str = "127.0.0.1", prefix=()):
        self.dir = d
        self.address, self.prefix = address, list(prefix)
        os.makedirs(d, mode=0o700, exist_ok=True)
        self.port = 0
        self.host_key = os.path.join(d, "host_ed25519")
        self.identity = os.path.join(d, "id_ed25519")
        self.authorized_keys = os.path.join(d, "authorized_keys")
        self.config = os.path.join(d, "sshd_config")
        self.log = os.path.join(d, "sshd.log")
        self.proc: Optional[subprocess.Popen] = None

    def _keygen(self, path: str):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cfs-test",
                        "-f", path], check=True, capture_output=True, timeout=20)

    def start(self, timeout: float = 10.0):
        self._keygen(self.host_key)
        self._keygen(self.identity)
        shutil.copyfile(self.identity + ".pub", self.authorized_keys)
        os.chmod(self.authorized_keys, 0o600)
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # its privilege separation dir
        self.port = free_port() if self.address == "127.0.0.1" else 22
        with open(self.config, "w") as f:
            f.write("\n".join([
                f"Port {self.port}",
                f"ListenAddress {self.address}",
                f"HostKey {self.host_key}",
                f"PidFile {os.path.join(self.dir, 'sshd.pid')}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "StrictModes no",  # the keys sit below /tmp, which is world-writable
                "UseDNS no",
                "LogLevel VERBOSE",
                # bash run by sshd sources root's ~/.bashrc when SHLVL is unset (Debian's
                # SSH_SOURCE_BASHRC); a host's rc file (a pyenv rehash waiting 60 s on its
                # lock, output on stdout) must not decide whether sftp or Ansible work here
                "SetEnv SHLVL=1",
                f"Subsystem sftp {SFTP_SERVER}",
                "",
            ]))
        argv = self.prefix + [SSHD, "-D", "-e", "-f", self.config,
                "-o", "UsePAM=no", "-o", "PermitRootLogin=yes",
                "-o", f"AuthorizedKeysFile={self.authorized_keys}"]
        with open(self.log, "wb") as logf:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                                         stderr=logf, close_fds=True)
        deadline = time.monotonic() + timeout
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(f"sshd exited with {rc}:\n{_tail(self.log)}")
            try:
                with socket.create_connection((self.address, self.port), timeout=1) as s:
                    s.settimeout(2)
                    if s.recv(64).startswith(b"SSH-"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"sshd does not answer on port {self.port}:\n"
                                     f"{_tail(self.log)}")
            time.sleep(0.02)

    def ssh_options(self) -> List[str]:
        """The client options: our key, no host key checking, batch mode."""
        return [f"IdentityFile={self.identity}", "IdentitiesOnly=yes",
                "StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null",
                "BatchMode=yes", "LogLevel=ERROR"]

    def stop(self) -> List[str]:
        """SIGTERM sshd and whatever sessions it still has (sshd -D leaves running
        sessions alone when it ends), SIGKILL what lingers. Returns what had to be
        killed (empty: clean)."""
        problems: List[str] = []
        p, self.proc = self.proc, None
        if p is None:
            return problems
        kids = descendants(p.pid)
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            if _wait_exit(p, 5) is None:
                problems.append("sshd ignored SIGTERM; killed")
                p.kill()
                p.wait()
        for k in kids:
            try:
                os.kill(k, signal.SIGTERM)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + 5
        for k in kids:
            while _alive(k) and time.monotonic() < deadline:
                time.sleep(0.01)
            if _alive(k):
                problems.append(f"sshd session process {k} lingered; killed")
                try:
                    os.kill(k, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        return problems


class Sshfs:
    """sshfs -f (kept in the foreground, so we own its pid) mounting root@ADDRESS:REMOTE
    on MNT through an Sshd. Extra sshfs options (e.g. sync_write) come in `opts`."""

    def __init__(self, sshd: Sshd, remote: str, mnt: str, opts=(), log: Optional[str] = None):
        self.sshd, self.remote, self.mnt = sshd, remote, mnt
        self.opts = list(opts)
        self.log = log or os.path.join(sshd.dir, "sshfs.log")
        self.proc: Optional[subprocess.Popen] = None
        os.makedirs(mnt, exist_ok=True)

    def argv(self) -> List[str]:
        opts = ",".join(self.sshd.ssh_options() + self.opts)
        return ["sshfs", "-f", "-o", opts, "-p", str(self.sshd.port),
                f"root@{self.sshd.address}:{self.remote}", self.mnt]

    def is_mounted(self) -> bool:
        return any(m["mnt"] == self.mnt and m["fstype"] == "fuse.sshfs" for m in mountinfo())

    def mount(self, timeout: float = 15.0):
        with open(self.log, "wb") as logf:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=logf,
                                         stderr=logf, close_fds=True)
        deadline = time.monotonic() + timeout
        while not self.is_mounted():
            rc = self.proc.poll()
            if rc is not None:
                raise AssertionError(f"sshfs exited with {rc} before mounting:\n{_tail(self.log)}"
                                     f"\n--- sshd:\n{_tail(self.sshd.log)}")
            if time.monotonic() > deadline:
                self.unmount()
                raise AssertionError(f"sshfs did not mount {self.mnt} within {timeout}s:\n"
                                     f"{_tail(self.log)}\n--- sshd:\n{_tail(self.sshd.log)}")
            time.sleep(0.02)
        # the first LOOKUP may still be racing the SFTP handshake: wait for a listing
        while True:
            try:
                os.listdir(self.mnt)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def settle(self, served: str, timeout: float = 5.0) -> float:
        """Wait until sftp-server has closed `served` (the daemon-side path of a file
        just written through this mount) and that close has returned: no process holds
        it open any more, then one more request round trip through the same (in-order,
        single-threaded) sftp-server. Returns the seconds it took. See wait_released."""
        t0 = time.monotonic()
        wait_released(served, timeout)
        probe = os.path.join(self.mnt, f".settle-{os.getpid()}-{next(_probe)}")
        try:
            os.lstat(probe)
            raise AssertionError(f"{probe} exists")
        except FileNotFoundError:
            pass
        return time.monotonic() - t0

    def unmount(self) -> List[str]:
        """Unmount and reap sshfs. Returns the problems met (empty: clean)."""
        problems = []
        if self.is_mounted():
            err = unmount(self.mnt)
            if err:
                problems.append(f"unmounting {self.mnt}: {err}")
        p, self.proc = self.proc, None
        if p is not None and _wait_exit(p, 10) is None:
            problems.append("sshfs still ran 10 s after the unmount; killed")
            p.kill()
            p.wait()
        if self.is_mounted():
            problems.append(f"{self.mnt} still mounted")
        return problems


# ---- Ansible ----

def ansible_env(tmp: str) -> dict:
    """Environment for ad-hoc `ansible` runs that touch nothing outside tmp: its own
    config-less home, local and remote temp dirs, no host key checking, no colour,
    no retry files, no cows, no warnings."""
    home = os.path.join(tmp, "home")
    for d in ("home", "local_tmp", "remote_tmp"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({
        "HOME": home,
        "ANSIBLE_CONFIG": os.path.join(tmp, "ansible.cfg"),  # absent: built-in defaults
        "ANSIBLE_LOCAL_TEMP": os.path.join(tmp, "local_tmp"),
        "ANSIBLE_REMOTE_TEMP": os.path.join(tmp, "remote_tmp"),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOWS": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_COMMAND_WARNINGS": "False",
        "ANSIBLE_SYSTEM_WARNINGS": "False",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_GATHERING": "explicit",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "oneline",
        "ANSIBLE_PYTHON_INTERPRETER": DEBIAN_PYTHON,
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    return env


class AdHoc:
    """The outcome of one `ansible localhost -m MODULE` run (oneline callback):
    status is CHANGED, SUCCESS, FAILED! or UNREACHABLE!, result the module's JSON."""

    def __init__(self, argv, proc: subprocess.CompletedProcess):
        self.argv, self.rc = argv, proc.returncode
        self.stdout, self.stderr = proc.stdout, proc.stderr
        self.status, self.result = None, {}
        for line in proc.stdout.splitlines():
            m = re.match(r"^localhost \| ([A-Z]+!?)(?: \| rc=\d+)? => (\{.*\})\s*$", line)
            if m:
                self.status = m.group(1)
                try:
                    self.result = json.loads(m.group(2))
                except ValueError:
                    self.result = {"unparsed": m.group(2)}

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed"))

    @property
    def ok(self) -> bool:
        return self.rc == 0 and self.status in ("CHANGED", "SUCCESS")

    def __repr__(self):
        return (f"ansible -m {self.argv[self.argv.index('-m') + 1]}: rc {self.rc}, "
                f"{self.status}, {self.result}\nstdout: {self.stdout}\nstderr: {self.stderr}")


def ansible_adhoc(env: dict, module: str, args: dict, timeout: float = 60) -> AdHoc:
    """ansible localhost -c local -i localhost, -m MODULE -a JSON-ARGS with the Debian
    python as the interpreter; env from ansible_env()."""
    argv = ["ansible", "localhost", "-c", "local", "-i", "localhost,", "-m", module,
            "-a", json.dumps(args), "-e", f"ansible_python_interpreter={DEBIAN_PYTHON}"]
    p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout, cwd=env["HOME"])
    return AdHoc(argv, p)
