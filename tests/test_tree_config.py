"""config: the whole configuration as one INI document; writing it replaces everything,
all or nothing; an LXC configuration (2012 and current keys) is imported."""
import errno
import os
import re

import pytest

from lib.daemon import host_lacks
from lib.fsops import ini_value, last_error, parse_ini, read_file, read_value, sh, write_file
from lib.keys import BY_REL, SETTINGS, good_nondefault
from lib.lxc import LXC_2012

SECTIONS = ["container", "net", "cgroup"]


def build_ini(values: dict) -> str:
    """An INI document from {rel: value}; lists as their key repeated."""
    out = []
    for sec in SECTIONS:
        out.append(f"[{sec}]")
        for rel, v in values.items():
            k = BY_REL[rel]
            if k.section != sec:
                continue
            if k.is_list:
                lines = [l for l in v.split("\n") if l] or [""]
                out += [f"{k.name} = {l}" if l else f"{k.name} =" for l in lines]
            else:
                out.append(f"{k.name} = {v}")
        out.append("")
    return "\n".join(out)


def snapshot(d, name):
    """Every setting's text and the config document."""
    snap = {k.rel: read_file(d.path(name, k.rel)) for k in SETTINGS}
    snap["config"] = read_file(d.path(name, "config"))
    return snap


def _diff(a, b):
    return {k: (a[k], b[k]) for k in a if a[k] != b[k]}


def test_config_reads_as_ini_with_defaults(daemon, web):
    text = read_file(os.path.join(web, "config"))
    assert text.endswith("\n")
    heads = re.findall(r"^\[([^\]]+)\]\s*$", text, re.M)
    assert heads == SECTIONS, heads
    ini = parse_ini(text)
    wrong = []
    for k in SETTINGS:
        v = ini_value(ini, k.section, k.name, k.is_list)
        if v != k.default_for("web").rstrip("\n"):
            wrong.append(f"[{k.section}] {k.name}: {v!r}, want {k.default_for('web')!r}")
    assert not wrong, "\n".join(wrong)
    known = {(k.section, k.name) for k in SETTINGS}
    extra = [(s, key) for s in ini for key in ini[s] if (s, key) not in known]
    assert not extra, f"keys that are no settings: {extra}"


def _all_good_values(daemon):
    vals = {}
    for k in SETTINGS:
        if host_lacks(daemon, k.needs):
            continue
        w, r = good_nondefault(k)
        vals[k.rel] = (w.rstrip("\n"), r.rstrip("\n"))
    return vals


def test_config_write_sets_every_key(daemon, web):
    vals = _all_good_values(daemon)
    doc = build_ini({rel: w for rel, (w, _r) in vals.items()})
    res = write_file(os.path.join(web, "config"), doc)
    assert res == 0, f"{res}: {last_error(daemon, 'web')}\n{doc}"
    wrong = [f"{rel}: {read_value(os.path.join(web, rel))!r}, want {r!r}"
             for rel, (_w, r) in vals.items() if read_value(os.path.join(web, rel)) != r]
    assert not wrong, "\n".join(wrong)
    ini = parse_ini(read_file(os.path.join(web, "config")))
    for rel, (_w, r) in vals.items():
        k = BY_REL[rel]
        assert ini_value(ini, k.section, k.name, k.is_list) == r, rel


def test_config_read_write_back_is_no_change(daemon, web):
    """Automation writes back what it read: no change, no error (Ansible's second run)."""
    vals = _all_good_values(daemon)
    assert write_file(os.path.join(web, "config"),
                      build_ini({rel: w for rel, (w, _r) in vals.items()})) == 0
    before = snapshot(daemon, "web")
    assert write_file(os.path.join(web, "config"), before["config"]) == 0
    assert snapshot(daemon, "web") == before


def test_config_write_replaces_everything(daemon, web):
    for rel, v in (("cgroup/memory.max", "1G"), ("env", "A=1\nB=2\n"), ("net/type", "veth"),
                   ("tty", "4"), ("hostname", "old")):
        assert write_file(os.path.join(web, rel), v if v.endswith("\n") else v + "\n") == 0
    assert write_file(os.path.join(web, "config"), "[container]\nhostname = new\n") == 0
    assert read_value(os.path.join(web, "hostname")) == "new"
    for rel in ("cgroup/memory.max", "env", "net/type", "tty"):
        assert read_value(os.path.join(web, rel)) == BY_REL[rel].default.rstrip("\n"), rel


def test_config_without_hostname_gives_the_name(daemon, web):
    assert write_file(os.path.join(web, "hostname"), "other\n") == 0
    assert write_file(os.path.join(web, "config"), "[cgroup]\nmemory.max = 1G\n") == 0
    assert read_value(os.path.join(web, "hostname")) == "web"
    assert read_value(os.path.join(web, "cgroup/memory.max")) == "1G"


BAD_DOCS = [
    # (document, key or word last_error must name, line number)
    ("[container]\nhostname = ok1\n[cgroup]\nmemory.max = 1G\nbogus.key = 1\n", "bogus.key", 5),
    ("[container]\nhostname = ok1\n[net]\nmtu = 12\n", "mtu", 4),
    ("[container]\nhostname = ok1\n[bogus]\nx = 1\n", "bogus", 3),
    ("[container]\nhostname = ok1\nthis is not ini\n", None, 3),
    ("[cgroup]\nmemory.max = 1G\n[container]\nenv = A=1\nenv = NOEQ\n", "env", 5),
    ("[container]\nhostname = a\nb\n", None, 3),
    ("[container]\nhostname = ok1\n[cgroup]\ncpu.shares = 1\n", "cpu.shares", 4),
    ("[container]\nhostname = ok1\ntty = 18446744073709551616\n", "tty", 3),
]


@pytest.mark.parametrize("doc,word,line", BAD_DOCS,
                         ids=["unknown-key", "bad-value", "unknown-section", "not-ini",
                              "bad-list-line", "not-ini-continuation", "bad-alias", "overflow"])
def test_config_bad_line_changes_nothing(daemon, web, doc, word, line):
    assert write_file(os.path.join(web, "cgroup/cpu.weight"), "300\n") == 0
    before = snapshot(daemon, "web")
    res = write_file(os.path.join(web, "config"), doc)
    assert res == errno.EINVAL and res.stage in ("write", "close"), res
    after = snapshot(daemon, "web")
    assert after == before, _diff(before, after)
    le = last_error(daemon, "web")
    if word:
        assert word in le, le
    assert re.search(rf"\bline\s*:?\s*{line}\b", le, re.I), f"line {line} not named: {le!r}"
    assert daemon.alive()


def test_config_in_several_writes(daemon, web):
    p = os.path.join(web, "config")
    res = write_file(p, ["[container]\n", "hostname = multi\n", "env = A=1\n", "env = B=2\n",
                         "[cgroup]\n", "memory.max = 2G\n"])
    assert res == 0, res
    assert read_value(os.path.join(web, "hostname")) == "multi"
    assert read_value(os.path.join(web, "env")) == "A=1\nB=2"
    assert read_value(os.path.join(web, "cgroup/memory.max")) == "2G"


def test_config_printf_from_the_shell(daemon, web):
    r = sh(r"printf '[container]\nhostname = shell\n[net]\ntype = veth\n' > config", cwd=web)
    assert r.returncode == 0, r.stderr
    assert read_value(os.path.join(web, "hostname")) == "shell"
    assert read_value(os.path.join(web, "net/type")) == "veth"


def test_config_pieces_split_mid_line(daemon, web):
    """sftp sends 32 KiB pieces: a line may be cut anywhere."""
    doc = "[container]\nhostname = pieces\n[cgroup]\nmemory.max = 3G\n"
    chunks = [doc[i:i + 5] for i in range(0, len(doc), 5)]
    assert write_file(os.path.join(web, "config"), chunks) == 0
    assert read_value(os.path.join(web, "hostname")) == "pieces"
    assert read_value(os.path.join(web, "cgroup/memory.max")) == "3G"


def test_config_bad_line_in_a_later_write_fails_that_write(daemon, web):
    before = snapshot(daemon, "web")
    res = write_file(os.path.join(web, "config"),
                     ["[container]\nhostname = first\n", "[net]\n", "mtu = 1\n", "[cgroup]\n"])
    assert res == errno.EINVAL and res.stage == "write", res
    assert res.writes[:2] == [0, 0], res
    assert snapshot(daemon, "web") == before
    assert "mtu" in last_error(daemon, "web")


def test_config_unfinished_last_line_fails_at_close(daemon, web):
    before = snapshot(daemon, "web")
    res = write_file(os.path.join(web, "config"),
                     "[container]\nhostname = ok\n[cgroup]\nmemory.max = lots")
    assert res.writes == [0] and res.close_errno == errno.EINVAL, res
    assert snapshot(daemon, "web") == before
    le = last_error(daemon, "web")
    assert "memory.max" in le and "lots" in le, le


def test_config_truncated_and_nothing_written_changes_nothing(daemon, web):
    assert write_file(os.path.join(web, "hostname"), "kept\n") == 0
    before = snapshot(daemon, "web")
    assert write_file(os.path.join(web, "config"), []) == 0
    assert write_file(os.path.join(web, "config"), [], ftruncate=0) == 0
    assert snapshot(daemon, "web") == before


def test_config_comments_and_spacing(daemon, web):
    doc = ("# a comment\n; another\n[container]\nhostname=tight\n  \n[cgroup]\n"
           "memory.max   =   5M\n")
    assert write_file(os.path.join(web, "config"), doc) == 0
    assert read_value(os.path.join(web, "hostname")) == "tight"
    assert read_value(os.path.join(web, "cgroup/memory.max")) == "5M"


def test_config_values_with_semicolons_and_quotes(daemon, web):
    """inih's inline ';' comments would break `init = sh -c "a; b"`."""
    init = '/bin/sh -c "echo a; echo b # not a comment"'
    assert write_file(os.path.join(web, "config"), f"[container]\ninit = {init}\n") == 0
    assert read_value(os.path.join(web, "init")) == init
    assert parse_ini(read_file(os.path.join(web, "config")))["container"]["init"] == [init]


def test_config_long_line(daemon, web):
    """libinih rejects lines over 200 characters as Debian builds it."""
    env = "LONG=" + "v" * 500
    assert write_file(os.path.join(web, "config"), f"[container]\nenv = {env}\n") == 0
    assert read_value(os.path.join(web, "env")) == env


LXC_2012_EXPECT = {
    "hostname": "debian",
    "tty": "4",
    "rootfs": "/usr/local/var/lib/lxc/debian/rootfs",
    "pts": "1024",
    "net/type": "veth",
    "net/ipv4": "10.77.1.253/24",
    "net/hwaddr": "00:16:3E:4D:01:FD",
    "net/veth.pair": "veth1-0",
    "mounts": "proc proc proc nodev,noexec,nosuid 0 0\nsysfs sys sysfs defaults 0 0",
    "cgroup/memory.max": "134217728",
    "cgroup/devices.allow": "c 1:3 rwm\nc 1:5 rwm",
}


def _check_lxc_2012(daemon, name):
    d = lambda rel: read_value(daemon.path(name, rel))  # noqa: E731
    wrong = [f"{rel}: {d(rel)!r}, want {v!r}" for rel, v in LXC_2012_EXPECT.items() if d(rel) != v]
    if d("cgroup/devices.deny") not in ("all", "a"):
        wrong.append(f"cgroup/devices.deny: {d('cgroup/devices.deny')!r}, want all/a")
    # what the file does not say is the default
    for rel in ("env", "cgroup/cpu.weight", "net/name", "stop.signal", "namespaces"):
        if d(rel) != BY_REL[rel].default:
            wrong.append(f"{rel}: {d(rel)!r}, want the default {BY_REL[rel].default!r}")
    text = read_file(daemon.path(name, "config"))
    assert "lxc." not in text, "config must read back as INI"
    ini = parse_ini(text)
    for rel, v in LXC_2012_EXPECT.items():
        k = BY_REL[rel]
        if ini_value(ini, k.section, k.name, k.is_list) != v:
            wrong.append(f"INI [{k.section}] {k.name}: "
                         f"{ini_value(ini, k.section, k.name, k.is_list)!r}, want {v!r}")
    assert not wrong, "\n".join(wrong)


def test_lxc_2012_import(daemon, web):
    assert write_file(os.path.join(web, "env"), "OLD=1\n") == 0
    assert write_file(os.path.join(web, "cgroup/cpu.weight"), "512\n") == 0
    res = write_file(os.path.join(web, "config"), LXC_2012)
    assert res == 0, f"{res}: {last_error(daemon, 'web')}"
    _check_lxc_2012(daemon, "web")
    # the INI it reads as is accepted as it is, and changes nothing
    before = snapshot(daemon, "web")
    assert write_file(os.path.join(web, "config"), before["config"]) == 0
    assert snapshot(daemon, "web") == before


def test_lxc_2012_import_in_pieces_with_spaces(daemon, web):
    text = LXC_2012.replace("=", " = ", 1)  # `lxc.utsname = debian`
    lines = text.splitlines(keepends=True)
    assert write_file(os.path.join(web, "config"), lines) == 0
    _check_lxc_2012(daemon, "web")


@pytest.mark.parametrize("bad,key,line", [
    ("lxc.utsname=debian\nlxc.bogus.key=1\nlxc.tty=4\n", "lxc.bogus.key", 2),
    ("lxc.utsname=debian\nlxc.tty=4\nlxc.cgroup.memory.limit_in_bytes=lots\n",
     "lxc.cgroup.memory.limit_in_bytes", 3),
    ("lxc.utsname=debian\nlxc.network.type=macvlan\n", "lxc.network.type", 2),
    ("lxc.utsname=debian\nnot an lxc line\n", None, 2),
], ids=["unknown-key", "bad-value", "bad-net-type", "not-lxc"])
def test_lxc_bad_key_changes_nothing(daemon, web, bad, key, line):
    assert write_file(os.path.join(web, "hostname"), "before\n") == 0
    before = snapshot(daemon, "web")
    res = write_file(os.path.join(web, "config"), bad)
    assert res == errno.EINVAL and res.stage in ("write", "close"), res
    after = snapshot(daemon, "web")
    assert after == before, _diff(before, after)
    le = last_error(daemon, "web")
    if key:
        assert key in le, le
    assert re.search(rf"\bline\s*:?\s*{line}\b", le, re.I), f"line {line} not named: {le!r}"


def test_lxc_current_keys_import(daemon, web):
    doc = """\
# current LXC keys
lxc.uts.name = cur
lxc.rootfs.path = /srv/cur
lxc.tty.max = 2
lxc.pty.max = 10
lxc.init.cmd = /sbin/init --verbose
lxc.init.cwd = /root
lxc.environment = A=1
lxc.environment = B=2
lxc.cap.drop = sys_module sys_time
lxc.signal.halt = SIGRTMIN+3
lxc.start.auto = 1
lxc.idmap = u 0 100000 65536
lxc.idmap = g 0 100000 65536
lxc.mount.entry = proc proc proc nodev 0 0
lxc.net.0.type = veth
lxc.net.0.link = br0
lxc.net.0.name = eth1
lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx
lxc.net.0.mtu = 1400
lxc.net.0.ipv4.address = 10.0.3.7/24
lxc.net.0.ipv4.gateway = 10.0.3.1
lxc.net.0.veth.pair = vcur0
lxc.cgroup2.memory.max = 256M
lxc.cgroup2.cpu.weight = 200
lxc.cgroup2.pids.max = 100
"""
    res = write_file(os.path.join(web, "config"), doc)
    assert res == 0, f"{res}: {last_error(daemon, 'web')}"
    want = {"hostname": "cur", "rootfs": "/srv/cur", "tty": "2", "pts": "10",
            "init": "/sbin/init --verbose", "cwd": "/root", "env": "A=1\nB=2",
            "caps.drop": "sys_module sys_time", "stop.signal": "SIGRTMIN+3", "autostart": "1",
            "idmap": "u 0 100000 65536\ng 0 100000 65536", "mounts": "proc proc proc nodev 0 0",
            "net/type": "veth", "net/link": "br0", "net/name": "eth1",
            "net/hwaddr": "00:16:3e:xx:xx:xx", "net/mtu": "1400", "net/ipv4": "10.0.3.7/24",
            "net/ipv4.gateway": "10.0.3.1", "net/veth.pair": "vcur0",
            "cgroup/memory.max": "256M", "cgroup/cpu.weight": "200",
            "cgroup/pids.max": "100"}
    wrong = [f"{rel}: {read_value(os.path.join(web, rel))!r}, want {v!r}"
             for rel, v in want.items() if read_value(os.path.join(web, rel)) != v]
    assert not wrong, "\n".join(wrong)


def test_lxc_import_by_cp(daemon, web, tmp_path):
    src = tmp_path / "lxc.conf"
    src.write_text(LXC_2012)
    r = sh(f"cp {src} config", cwd=web)
    assert r.returncode == 0, r.stderr
    _check_lxc_2012(daemon, "web")
