"""File operations as a client makes them, with the errno of every step kept apart:
for a one-line setting the write(2) carries the error, for a list or config the
error of the last line may come from close(2)."""
import errno
import os
import subprocess
from typing import Dict, List, Optional, Sequence, Union

Data = Union[bytes, str]


def _b(data: Data) -> bytes:
    return data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data


class WriteResult(int):
    """The first errno of open/write/close (0: success); compares as an int.
    .stage says where it failed ("open", "write", "close" or None),
    .write_errno / .close_errno keep each step's errno, .writes the per-write errnos."""

    stage: Optional[str]
    write_errno: int
    close_errno: int
    writes: List[int]

    def __new__(cls, err: int, stage=None, writes=(), close_errno=0):
        self = super().__new__(cls, err)
        self.stage = stage
        self.writes = list(writes)
        self.write_errno = next((e for e in self.writes if e), 0)
        self.close_errno = close_errno
        return self

    def __repr__(self):
        name = errno.errorcode.get(int(self), str(int(self))) if self else "0"
        return (f"WriteResult({name}, stage={self.stage}, writes="
                f"{[errno.errorcode.get(e, e) if e else 0 for e in self.writes]}, "
                f"close={errno.errorcode.get(self.close_errno, self.close_errno) or 0})")

    __str__ = __repr__


def write_file(path: str, data: Union[Data, Sequence[Data]],
               flags: int = os.O_WRONLY | os.O_TRUNC, fsync: bool = False,
               ftruncate: Optional[int] = None) -> WriteResult:
    """Open path, write data (bytes/str: one write(2); a list: one write(2) each; short
    writes are continued), optionally ftruncate/fsync, close. Writing stops at the
    first failed write; close always happens. Returns a WriteResult."""
    chunks = [data] if isinstance(data, (bytes, str)) else list(data)
    try:
        fd = os.open(path, flags | os.O_CLOEXEC, 0o644)
    except OSError as e:
        return WriteResult(e.errno, "open")
    first, stage, writes = 0, None, []
    try:
        if ftruncate is not None:
            try:
                os.ftruncate(fd, ftruncate)
            except OSError as e:
                first, stage = e.errno, "ftruncate"
        for chunk in chunks:
            if first:
                break
            buf = memoryview(_b(chunk))
            err = 0
            while True:
                try:
                    n = os.write(fd, buf)
                except OSError as e:
                    err = e.errno
                    break
                buf = buf[n:]
                if not len(buf) or n == 0:
                    break
            writes.append(err)
            if err:
                first, stage = err, "write"
        if fsync and not first:
            try:
                os.fsync(fd)
            except OSError as e:
                first, stage = e.errno, "fsync"
    finally:
        close_errno = 0
        try:
            os.close(fd)
        except OSError as e:
            close_errno = e.errno
    if not first and close_errno:
        first, stage = close_errno, "close"
    return WriteResult(first, stage, writes, close_errno)


def read_bytes(path: str, flags: int = os.O_RDONLY) -> bytes:
    fd = os.open(path, flags | os.O_CLOEXEC)
    try:
        out = []
        while True:
            b = os.read(fd, 1 << 17)
            if not b:
                break
            out.append(b)
        return b"".join(out)
    finally:
        os.close(fd)


def read_file(path: str) -> str:
    return read_bytes(path).decode("utf-8", "surrogateescape")


def read_value(path: str) -> str:
    """The value of a setting: the text read without its final newline."""
    t = read_file(path)
    return t[:-1] if t.endswith("\n") else t


def errno_of(fn, *args, **kw) -> int:
    """Call fn; 0 if it succeeds, else the OSError's errno."""
    try:
        fn(*args, **kw)
    except OSError as e:
        return e.errno
    return 0


def ename(e: int) -> str:
    return errno.errorcode.get(e, str(e)) if e else "0"


def run(argv, cwd=None, timeout=20, input=None, check=False, **kw) -> subprocess.CompletedProcess:
    """Run a real client; text output; a hard timeout."""
    p = subprocess.run(argv, cwd=cwd, timeout=timeout, input=input, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{argv} -> rc {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def sh(script: str, cwd=None, timeout=20, check=False) -> subprocess.CompletedProcess:
    """bash -c SCRIPT (bash: its `write error: Invalid argument` is what users see)."""
    return run(["/bin/bash", "-c", script], cwd=cwd, timeout=timeout, check=check)


def parse_ini(text: str) -> Dict[str, Dict[str, List[str]]]:
    """A small reader for the config document: {section: {key: [values]}}.
    `key = value` and `key=value`; comment lines (#, ;) and blank lines skipped;
    a repeated key collects its values; `key =` gives ''. Raises on anything else."""
    out: Dict[str, Dict[str, List[str]]] = {}
    sec = None
    for n, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            sec = line[1:-1].strip()
            if sec in out:
                raise ValueError(f"line {n}: section [{sec}] twice")
            out[sec] = {}
            continue
        if "=" not in line or sec is None:
            raise ValueError(f"line {n}: not an INI line: {raw!r}")
        k, v = line.split("=", 1)
        out[sec].setdefault(k.strip(), []).append(v.strip())
    return out


def ini_value(ini, section: str, key: str, is_list: bool) -> Optional[str]:
    """The value of key in the parsed document, as the setting file would read
    (lists: lines joined with '\\n'); None if the key is absent."""
    vals = ini.get(section, {}).get(key)
    if vals is None:
        return None
    if is_list:
        return "\n".join(v for v in vals if v != "")
    assert len(vals) == 1, f"[{section}] {key} given {len(vals)} times: {vals}"
    return vals[0]


def last_error(daemon, container: str) -> str:
    """The container's last_error (one line, or empty)."""
    return read_file(daemon.path(container, "last_error"))


def names_value(msg: str, value: str) -> bool:
    """msg quotes value, or quotes the word of it that is wrong ('rwx', "x")."""
    if value in msg:
        return True
    return any(f"'{w}'" in msg or f'"{w}"' in msg for w in value.split())
