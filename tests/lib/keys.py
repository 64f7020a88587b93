"""The settings of the contract, with test values: the suite's own copy of the key table.

test_tree_keys.py checks this table against the ROW()/ALIAS() lines of engine/config/keys.c:
a setting added there without test values here fails the suite.

Each Key: its section and file name, the contract's default (None = the container's
name), whether it is a list, good values (written -> read back; sizes read back in
bytes) and bad values (rejected with EINVAL, nothing changed).
"""
import os
import re
from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

Good = Union[str, Tuple[str, str]]  # "v" reads back "v"; ("a", "b"): "a" reads back "b"

DEF_DEVICES_ALLOW = ("c 1:3 rwm\nc 1:5 rwm\nc 1:7 rwm\nc 1:8 rwm\nc 1:9 rwm\n"
                     "c 5:0 rwm\nc 5:2 rwm\nc 136:* rwm")

OVERFLOW = "18446744073709551616"  # 2^64


@dataclass
class Key:
    section: str            # container | net | cgroup
    name: str               # file name in the section's directory
    default: Optional[str]  # text read back (without the newline); None = container name
    good: List[Good]
    bad: List[str]
    is_list: bool = False
    empty_ok: bool = False  # "" is a valid value
    numeric: bool = False   # "-1" and 2^64 are bad
    alias_of: Optional[str] = None  # hidden v1 alias of this canonical name
    needs: Optional[str] = None     # a host feature (a key of lib.daemon.HOST_NEEDS)
    # the kernel's own default: accepted (nothing to apply) even where `needs` is missing
    host_default: Optional[str] = None

    @property
    def rel(self) -> str:
        """Path inside the container directory: hostname, net/mtu, cgroup/memory.max."""
        return self.name if self.section == "container" else f"{self.section}/{self.name}"

    @property
    def id(self) -> str:
        return self.rel

    def default_for(self, container: str) -> str:
        return container if self.default is None else self.default

    def goods(self):
        """[(written, read back)]"""
        return [(g, g) if isinstance(g, str) else g for g in self.good]

    def generic_bad(self) -> List[str]:
        """The bad input every setting must refuse, on top of its own bad values."""
        out = []
        if not self.empty_ok:
            out.append("")
        out.append("1" * (1 << 20))                      # 1 MiB
        g = self.goods()[0][0].rstrip("\n") or "x"
        out.append(g[:1] + "\0" + g[1:])                 # a NUL byte
        if self.numeric:
            out += ["-1", OVERFLOW, OVERFLOW + "0"]
        if not self.is_list:
            out.append("a\nb")                           # a newline inside a one-line value
            out.append(f"{g}\n{g}")                      # ... even around valid values
        out.append("x\n[cgroup]\nmemory.max=1")          # an INI section smuggled in
        return out


_CAPS_GOOD = ["sys_admin net_raw", "CAP_SYS_ADMIN", ""]
_CAPS_BAD = ["not_a_cap", "cap_bogus", "sys_admin,net_raw"]
_CPULIST_GOOD = ["0", "0-1", "0-1,3", ""]
_CPULIST_BAD = ["1-0", "a", "4096", "0-", "0,,1"]
_DEV_BAD = ["x 1:3 rwm", "c 1:3", "c 1:3 rwx", "c a:b rwm", "c 1:3 rwm extra"]
# sizes read back as written (the kernel gets bytes)
_SIZE_GOOD = ["134217728", "128M", "96m", "1G", "512k", "64K", "2T", "max"]
_SIZE_BAD = ["abc", "1X", "128MB", "-2", "99999999999999999999G", "16777216T", "1.5G"]
_IFNAME_BAD = ["a/b", "1234567890123456", "a b", "..", "a:b"]

KEYS: List[Key] = [
    # [container]
    Key("container", "hostname", None, ["web01", "a.b-c_D9", "h" * 64],
        ["-x", ".x", "a b", "a/b", "h" * 65, "caf\u00e9", "../x"]),
    Key("container", "rootfs", "", ["/srv/rootfs", "/", ""], ["relative/path", "../x", "x"],
        empty_ok=True),
    Key("container", "rootfs.overlay", "0", ["1", "0"], ["2", "yes", "true", " 1"], numeric=True),
    Key("container", "init", "",
        ['/bin/sh -c "echo hi; sleep 1"', "/usr/bin/env 'A B' C\\ D", ""],
        ['sh -c "unterminated', "sh 'x", "trailing\\"], empty_ok=True),
    Key("container", "cwd", "/", ["/srv", "/"], ["relative", "../x"]),
    Key("container", "user", "0:0", ["1000:1000", "65534:65534", "0:0"],
        ["a:b", "0:-1", "1:2:3", "4294967296:0", "root:root", OVERFLOW + ":0"], numeric=True),
    Key("container", "env", "", ["A=1\nB=two words\n", "PATH=/usr/bin:/bin\n", ""],
        ["=x", "1A=b", "A-B=1", "NOEQ", "A=1\nNOEQ"], is_list=True, empty_ok=True),
    Key("container", "namespaces", "mnt pid uts ipc net cgroup",
        ["mnt pid", "mnt pid uts ipc net cgroup user time", "net", ""],
        ["bogus", "mnt mnt", "mnt,pid"], empty_ok=True),
    Key("container", "idmap", "", ["u 0 100000 65536\ng 0 100000 65536\n", ""],
        ["x 0 0 1", "u 0 0 0", "u 0 100000", "u -1 0 1", "u 4294967295 0 2", "u 0 4294967296 1",
         "u 0 100000 65536\n", "b 0 100000 10\nu 5 200000 1\n", "b 1 100000 10\n"],
        is_list=True, empty_ok=True),
    Key("container", "privileged", "0", ["1", "0"], ["2", "yes", "true", " 1"], numeric=True),
    Key("container", "mounts", "",
        ["proc proc proc nodev,noexec,nosuid 0 0\nsysfs sys sysfs defaults 0 0\n",
         "tmpfs tmp tmpfs size=10m 0 0\n", ""],
        ["onlyone", "two fields"], is_list=True, empty_ok=True),
    Key("container", "caps.drop", "sys_module sys_time sys_rawio mac_admin mac_override",
        _CAPS_GOOD, _CAPS_BAD, empty_ok=True),
    Key("container", "caps.keep", "", _CAPS_GOOD, _CAPS_BAD, empty_ok=True),
    Key("container", "seccomp", "default",
        ["unconfined", "default -keyctl +ptrace", "unconfined +kexec_load", "-bpf", ""],
        ["strict", "-nosuchcall", "+", "keyctl", "default unconfined", "+KEYCTL"],
        empty_ok=True),
    Key("container", "tty", "0", ["4", "64", "0"], ["65", "x", "1 2", "4.0"], numeric=True),
    Key("container", "pts", "1024", ["0", "2048", "1048576"], ["1048577", "abc"], numeric=True),
    Key("container", "stop.signal", "auto", ["SIGKILL", "TERM", "15", "SIGRTMIN+3", "auto"],
        ["SIGBOGUS", "0", "65", "sig term", "AUTO"], numeric=True),
    Key("container", "stop.timeout", "10", ["0", "30", "86400"], ["86401", "1.5", "abc"],
        numeric=True),
    Key("container", "autostart", "0", ["1", "0"], ["2", "yes"], numeric=True),
    # [net]
    Key("net", "type", "empty", ["none", "veth", "empty"], ["bogus", "macvlan"]),
    Key("net", "link", "", ["br0", ""], _IFNAME_BAD, empty_ok=True),
    Key("net", "name", "eth0", ["eth1", "in0"], _IFNAME_BAD),
    Key("net", "hwaddr", "", ["00:16:3e:4d:01:fd", "00:16:3E:xx:xx:xx", ""],
        ["00:16:3e:4d:01", "zz:16:3e:4d:01:fd", "00-16-3e-4d-01-fd", "01:00:5e:00:00:01"],
        empty_ok=True),
    Key("net", "mtu", "", ["1500", "68", "65535", ""], ["67", "65536", "abc"],
        empty_ok=True, numeric=True),
    Key("net", "ipv4", "", ["10.0.3.5/24", "192.168.1.1/32", "10.0.3.0/31", ""],
        ["10.0.3.5", "10.0.3.256/24", "10.0.3.5/33", "1.2.3/24", "10.0.3.5/",
         "0.0.0.0/24", "224.0.0.5/24", "239.1.2.3/8", "255.255.255.255/32", "240.0.0.1/4",
         "10.0.3.0/24", "10.0.3.255/24", "10.0.3.5/0"],
        empty_ok=True, numeric=True),
    Key("net", "ipv4.gateway", "", ["10.0.3.1", ""],
        ["10.0.3.1/24", "300.1.1.1", "abc", "0.0.0.0", "224.0.0.1", "255.255.255.255"],
        empty_ok=True, numeric=True),
    Key("net", "veth.pair", "", ["veth-web0", ""], _IFNAME_BAD, empty_ok=True),
    # [cgroup]
    Key("cgroup", "cpu.weight", "100", ["1", "10000", "512"], ["0", "10001", "abc"],
        numeric=True),
    Key("cgroup", "cpu.max", "max 100000", ["50000 100000", "max 200000"],
        ["abc", "100 100000", "50000 999", "50000 1000001", "50000 100000 1"], numeric=True),
    Key("cgroup", "cpuset.cpus", "", _CPULIST_GOOD, _CPULIST_BAD, empty_ok=True, numeric=True),
    Key("cgroup", "cpuset.mems", "", _CPULIST_GOOD, _CPULIST_BAD, empty_ok=True, numeric=True),
    Key("cgroup", "memory.max", "max", _SIZE_GOOD, _SIZE_BAD, numeric=True),
    Key("cgroup", "memory.swap.max", "max", _SIZE_GOOD, _SIZE_BAD, numeric=True,
        needs="swap accounting"),
    Key("cgroup", "io.weight", "100", ["1", "10000", "512"], ["0", "10001", "abc"],
        numeric=True, needs="io weight"),
    Key("cgroup", "pids.max", "max", ["100", "0", "max", "4194304"], ["4194305", "abc"],
        numeric=True),
    Key("cgroup", "devices.deny", "a", ["c 1:3 rwm\nb 8:* r\n", "a\n"], _DEV_BAD,
        is_list=True, empty_ok=True),
    Key("cgroup", "devices.allow", DEF_DEVICES_ALLOW, ["c 1:3 rwm\nc 1:5 rwm\n", "c 136:* rwm\n"],
        _DEV_BAD, is_list=True, empty_ok=True),
    Key("cgroup", "net_cls.classid", "0", ["1048577", "0"], ["abc", "4294967296"],
        numeric=True, needs="net_cls"),
    # hidden v1 aliases
    Key("cgroup", "cpu.shares", None, ["512", "2", "262144"], ["1", "262145", "abc"],
        numeric=True, alias_of="cpu.weight"),
    Key("cgroup", "memory.limit_in_bytes", None,
        ["128M", "134217728", ("-1", "-1")], ["abc", "-2", "1X", OVERFLOW],
        alias_of="memory.max"),
    Key("cgroup", "blkio.weight", None, ["500", "10", "1000"], ["9", "1001", "abc"],
        numeric=True, alias_of="io.weight", needs="io weight", host_default="500"),
]

BY_REL = {k.rel: k for k in KEYS}
SETTINGS = [k for k in KEYS if not k.alias_of]   # listed by readdir, in the INI
ALIASES = [k for k in KEYS if k.alias_of]

STATS = ["memory.current", "memory.peak", "memory.stat", "cpu.stat", "pids.current", "io.stat",
         "memory.usage_in_bytes", "memory.max_usage_in_bytes", "cpuacct.usage"]

RUNTIME_RO = ["pid", "exit_status", "ps", "log", "events", "last_error", "runs"]
RUNTIME_RW = ["state", "tasks"]
RUNTIME = RUNTIME_RW + RUNTIME_RO
NS_NAMES = ["mnt", "pid", "uts", "ipc", "net", "user", "cgroup", "time"]


def section_files(section: str) -> List[str]:
    return [k.name for k in SETTINGS if k.section == section]


def container_listing() -> set:
    """What readdir of a container directory must give, exactly."""
    return set(section_files("container")) | set(RUNTIME) | {"config", "net", "cgroup", "ns"}


def good_nondefault(k: Key, container: str = "web") -> Tuple[str, str]:
    """A good value that differs from the default (written, read back)."""
    for w, r in k.goods():
        if r.rstrip("\n") != k.default_for(container).rstrip("\n") and r != "":
            return w, r
    raise AssertionError(f"no non-default good value for {k.rel}")


# ---- engine/config/keys.c ----

_ROW = re.compile(r'^\s*ROW\(\s*(K_\w+)\s*,\s*(SEC_\w+)\s*,\s*"([^"]+)"\s*,\s*([^,]+),', re.M)
_ALIAS = re.compile(r'^\s*ALIAS\(\s*(K_\w+)\s*,\s*"([^"]+)"\s*,\s*(K_\w+)\s*,', re.M)
_STAT = re.compile(r'^\s*\{\s*(STAT_\w+)\s*,\s*"([^"]+)"', re.M)
_SEC = {"SEC_CONTAINER": "container", "SEC_NET": "net", "SEC_CGROUP": "cgroup"}


def parse_keys_c(path: str):
    """(rows, aliases, stats) from engine/config/keys.c:
    rows: {rel: (section, name, is_list)}; aliases: {rel: canonical name}; stats: [names]."""
    with open(path) as f:
        text = f.read()
    rows, ids = {}, {}
    for kid, sec, name, flags in _ROW.findall(text):
        section = _SEC[sec]
        rel = name if section == "container" else f"{section}/{name}"
        rows[rel] = (section, name, "KF_LIST" in flags)
        ids[kid] = name
    aliases = {}
    for kid, name, of in _ALIAS.findall(text):
        aliases[f"cgroup/{name}"] = ids.get(of, of)
    stats = [n for _, n in _STAT.findall(text)]
    return rows, aliases, stats


def keys_c_path() -> str:
    return os.path.join(os.path.dirname(__file__), "..", "..", "engine", "config", "keys.c")
