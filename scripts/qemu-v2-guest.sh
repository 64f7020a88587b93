#!/bin/sh
# qemu-v2-guest.sh - /init of the cgroup v2 test guest that scripts/qemu-v2 boots: moves
# the root into a tmpfs (pivot_root cannot leave an initramfs), mounts cgroup2, loads the
# modules, runs containerfs on /containers and checks through the tree only (echo, cat,
# mkdir) what a cgroup-v2-only host must do: a PASS/FAIL/SKIP line a check, CFS-V2-END.
export PATH=/bin HOME=/

# ---- stage 1: the initramfs root cannot be pivoted away from: copy it into a tmpfs
if [ "$1" != stage2 ]; then
	mount -t proc proc /proc
	mount -t tmpfs -o mode=0755 root /newroot
	for d in /*; do
		case $d in
		/proc | /sys | /dev | /newroot) mkdir -p "/newroot$d" ;;
		*) cp -a "$d" /newroot/ ;;
		esac
	done
	umount /proc
	exec switch_root /newroot /init stage2
	echo "FAIL switch_root"
	exit 1
fi

# ---- stage 2: a small system on the tmpfs root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
mount --make-rprivate /
hostname v2guest
ip link set lo up
while read -r m; do
	insmod "/mods/$m" || echo "INFO insmod $m failed"
done </mods/modules.order

C=/containers
CG=/sys/fs/cgroup
HOME_CG=$CG/cfs-daemon			# the cgroup the daemon is started in
LEAF=containerfs.daemon			# where it moves itself (engine/cgroup/cgroup_detect.c)
P=$HOME_CG/cfs-containers		# --cgroup-parent cfs-containers: beneath it
STATE=/var/lib/cfs
RUN=/run/cfs
PAYLOAD=/cfs/payload
nfail=0

pass() { echo "PASS $*"; }
# A failure with the tree's daemon gone unasked says once how it ended (its wait
# status) and what the kernel said last (the console shows only its gravest lines).
told_gone=
fail() {
	echo "FAIL $*"
	nfail=$((nfail + 1))
	if [ -n "${MAIN:-}" ] && [ -z "$told_gone" ] && [ "${MAIN_ENDED:-}" != "$MAIN" ] && dead "$MAIN"; then
		told_gone=1
		wait "$MAIN" 2>/dev/null
		echo "INFO the daemon (pid $MAIN) is gone: wait status $?; the kernel's last messages:"
		dmesg | tail -n 25 | sed 's/^/  | /'
	fi
}
skip() { echo "SKIP $*"; }
info() { echo "INFO $*"; }
# eq NAME WANT GOT
eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: want '$2', got '$3'"; fi
}
# ok NAME CMD...: the command succeeds
ok() {
	_n=$1
	shift
	if "$@" >/tmp/ok.out 2>&1; then
		pass "$_n"
	else
		fail "$_n: $* -> $(head -c 300 /tmp/ok.out | tr '\n' ' ')"
	fi
}
one() { tr '\n' ' ' <"$1" | sed 's/ $//'; }
# setv CTR FILE VALUE: a setting through the tree, failing loudly
setv() {
	if ! echo "$3" >"$C/$1/$2" 2>/tmp/set.err; then
		fail "set $1/$2 to '$3': $(cat /tmp/set.err) ($(cat "$C/$1/last_error"))"
		return 1
	fi
}
# verb CTR VERB: a write to state; 0 or 1 with last_error in $why
verb() {
	why=
	echo "$2" >"$C/$1/state" 2>/dev/null && return 0
	why=$(cat "$C/$1/last_error")
	return 1
}
# wait_state CTR STATE SECONDS
wait_state() {
	_i=0
	while [ "$(cat "$C/$1/state")" != "$2" ]; do
		_i=$((_i + 1))
		[ $_i -gt $(($3 * 10)) ] && return 1
		sleep 0.1
	done
}
usage_usec() { sed -n 's/^usage_usec //p' "$C/$1/cgroup/cpu.stat"; }
has_words() {	# FILE WORD...: every word is in the file
	_f=$1
	shift
	for _w; do grep -qw "$_w" "$_f" || return 1; done
}

# alive PID: running, not a zombie waiting for us to reap it
alive() {
	[ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}
dead() { ! alive "$1"; }
# start_daemon CGROUP_DIR MOUNTPOINT PARENT: containerfs in the foreground, in that
# cgroup, with state and run dirs of its own; its pid in $DPID
start_daemon() {
	_b=$(basename "$2")
	mkdir -p "$2"
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$1" \
		/cfs/containerfs -f --state-dir "$STATE/$_b" --run-dir "$RUN/$_b" \
		--cgroup-parent "$3" "$2" >>"/tmp/daemon-$_b.log" 2>&1 &
	DPID=$!
	_i=0
	while ! cat "$2/.version" >/dev/null 2>&1; do
		_i=$((_i + 1))
		if [ $_i -gt 200 ] || ! alive $DPID; then
			return 1
		fi
		sleep 0.1
	done
}

info "kernel $(uname -r), $(nproc) cpus, cgroup2 controllers: $(cat $CG/cgroup.controllers)"

# ---- the host: v2 only; its init delegates controllers to the daemon's cgroup
mkdir -p /mnt/v1 $C $STATE $RUN
if mount -t cgroup -o memory cgroup /mnt/v1 2>/dev/null; then
	fail "cgroup v1 is gone (cgroup_no_v1=all): a v1 memory hierarchy mounted"
	umount /mnt/v1
else
	pass "cgroup v1 is gone (cgroup_no_v1=all)"
fi
echo "+cpu +cpuset +io +memory +pids" >$CG/cgroup.subtree_control
mkdir $HOME_CG

# ---- the daemon in a cgroup of its own
if ! start_daemon $HOME_CG $C cfs-containers; then
	fail "the daemon mounts the tree"
	tail -n 20 /tmp/daemon-containers.log | sed 's/^/  | /'
	echo "CFS-V2-END fail=$nfail"
	poweroff -f
fi
pass "the daemon mounts the tree"
MAIN=$DPID
eq ".checkconfig: cgroup layout v2" "cgroup layout: v2" "$(grep '^cgroup layout' $C/.checkconfig)"
eq ".checkconfig: net_cls missing" "cgroup controller net_cls: missing" \
	"$(grep '^cgroup controller net_cls' $C/.checkconfig)"
eq ".checkconfig: cgroup.kill" "cgroup.kill: yes" "$(grep '^cgroup.kill' $C/.checkconfig)"
info "$(grep '^cgroup' $C/.checkconfig | tr '\n' ';')"
eq "the daemon moved itself into the leaf $LEAF" "0::/cfs-daemon/$LEAF" "$(cat /proc/$MAIN/cgroup)"
eq "no process left in the cgroup it was started in" "" "$(cat $HOME_CG/cgroup.procs)"
ok "controllers delegated to the daemon's cgroup and the parent" \
	has_words $HOME_CG/cgroup.subtree_control cpu cpuset io memory pids
ok "the parent delegates cpu cpuset io memory pids" \
	has_words $P/cgroup.subtree_control cpu cpuset io memory pids

# ---- an application container: settings, start, every [cgroup] setting in the kernel
mkdir $C/app
eq "mkdir: a new container is STOPPED" STOPPED "$(cat $C/app/state)"
eq "default cpu.weight" 100 "$(cat $C/app/cgroup/cpu.weight)"
setv app init "$PAYLOAD sleep 1000"
setv app cgroup/memory.max 64M
setv app cgroup/memory.swap.max 32M
setv app cgroup/cpu.weight 200
setv app cgroup/cpu.max "50000 100000"
setv app cgroup/cpuset.cpus 0
setv app cgroup/cpuset.mems 0
setv app cgroup/pids.max 64
setv app cgroup/io.weight 300
eq "memory.max reads back as written" 64M "$(cat $C/app/cgroup/memory.max)"
if verb app start; then pass "start an application container"; else fail "start: $why"; fi
eq "state RUNNING" RUNNING "$(cat $C/app/state)"
pid=$(cat $C/app/pid)
ok "pid names a live process" kill -0 "$pid"
eq "init runs in the container's cgroup beneath the daemon's" "0::/cfs-daemon/cfs-containers/app" \
	"$(cat /proc/$pid/cgroup)"
ok "the container's cgroup has cpu cpuset io memory pids" \
	has_words $P/app/cgroup.controllers cpu cpuset io memory pids
eq "events: first line is the current state" "app RUNNING" "$(head -n1 $C/app/events)"
eq "memory.max in the kernel" 67108864 "$(cat $P/app/memory.max)"
eq "memory.swap.max in the kernel" 33554432 "$(cat $P/app/memory.swap.max)"
eq "cpu.weight in the kernel" 200 "$(cat $P/app/cpu.weight)"
eq "cpu.max in the kernel" "50000 100000" "$(cat $P/app/cpu.max)"
eq "cpuset.cpus in the kernel" 0 "$(cat $P/app/cpuset.cpus)"
eq "cpuset.mems in the kernel" 0 "$(cat $P/app/cpuset.mems)"
eq "pids.max in the kernel" 64 "$(cat $P/app/pids.max)"
if [ -e $P/app/io.weight ]; then
	eq "io.weight in the kernel" "default 300" "$(head -n1 $P/app/io.weight)"
elif [ -e $P/app/io.bfq.weight ]; then
	eq "io.weight via io.bfq.weight in the kernel" "default 300" "$(head -n1 $P/app/io.bfq.weight)"
else
	info "this kernel offers neither io.weight nor io.bfq.weight: io files $(cd $P/app && echo io.*)"
	skip "io.weight in the kernel (no io.weight file without iocost/bfq)"
fi

# ---- live changes
setv app cgroup/memory.max 128M && eq "live memory.max" 134217728 "$(cat $P/app/memory.max)"
setv app cgroup/memory.swap.max max && eq "live memory.swap.max" max "$(cat $P/app/memory.swap.max)"
setv app cgroup/cpu.shares 512 &&
	eq "live cpu.shares alias reaches cpu.weight" "$(cat $C/app/cgroup/cpu.weight)" \
		"$(cat $P/app/cpu.weight)"
ok "cpu.shares 512 is not weight 200 any more" test "$(cat $P/app/cpu.weight)" != 200
setv app cgroup/cpu.max "max 100000" && eq "live cpu.max" "max 100000" "$(cat $P/app/cpu.max)"
setv app cgroup/cpuset.cpus 0-1 && eq "live cpuset.cpus" 0-1 "$(cat $P/app/cpuset.cpus)"
setv app cgroup/pids.max 100 && eq "live pids.max" 100 "$(cat $P/app/pids.max)"
if [ -e $P/app/io.weight ]; then
	setv app cgroup/blkio.weight 800 &&
		eq "live blkio.weight alias reaches io.weight" "default $(cat $C/app/cgroup/io.weight)" \
			"$(head -n1 $P/app/io.weight)"
else
	skip "live blkio.weight alias (no io.weight file)"
fi

# ---- statistics
isnum() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }
ok "memory.current is a number" isnum "$(cat $C/app/cgroup/memory.current)"
ok "memory.peak is a number" isnum "$(cat $C/app/cgroup/memory.peak)"
ok "memory.usage_in_bytes is a number" isnum "$(cat $C/app/cgroup/memory.usage_in_bytes)"
ok "memory.stat has anon" grep -q '^anon ' $C/app/cgroup/memory.stat
ok "cpu.stat has usage_usec" isnum "$(usage_usec app)"
ok "cpuacct.usage is a number" isnum "$(cat $C/app/cgroup/cpuacct.usage)"
eq "pids.current: the reaper and the command" 2 "$(cat $C/app/cgroup/pids.current)"
ok "io.stat reads" cat $C/app/cgroup/io.stat
ok "tasks lists init" grep -qx "$pid" $C/app/tasks

# ---- net_cls has no v2 counterpart
if echo 1048577 >$C/app/cgroup/net_cls.classid 2>/tmp/nc.err; then
	fail "net_cls.classid: the write was accepted"
else
	ok "net_cls.classid: EOPNOTSUPP" grep -qi "not supported" /tmp/nc.err
	ok "net_cls.classid: last_error names net_cls" grep -q "net_cls" $C/app/last_error
	info "net_cls last_error: $(cat $C/app/last_error)"
fi

# ---- stop, and nothing left
if verb app stop; then pass "stop"; else fail "stop: $why"; fi
eq "stopped: state" STOPPED "$(cat $C/app/state)"
eq "stopped: exit_status of SIGTERM" 143 "$(cat $C/app/exit_status)"
ok "stopped: the container's cgroup is gone" test ! -e $P/app
ok "stopped: the process is gone" test ! -e /proc/$pid
eq "stopped: statistics are empty" "" "$(cat $C/app/cgroup/memory.current)"

# ---- kill
if verb app start && verb app kill; then pass "kill"; else fail "kill: $why"; fi
eq "killed: exit_status of SIGKILL" 137 "$(cat $C/app/exit_status)"
ok "killed: the container's cgroup is gone" test ! -e $P/app

# ---- exit status and events
mkdir $C/ex
setv ex init "$PAYLOAD exit 7"
# the first line is the current state (STOPPED): the end of the run is a later line
(timeout 20 awk 'NR > 1 && $0 == "ex STOPPED" { print; exit }' $C/ex/events >/tmp/ex.events; echo $? >/tmp/ex.rc) &
sleep 0.3
verb ex start || true
wait $!
eq "events: the end of a run is seen" "ex STOPPED" "$(cat /tmp/ex.events)"
eq "exit_status of an init that exits 7" 7 "$(cat $C/ex/exit_status)"
ok "an ended container leaves no cgroup" test ! -e $P/ex

# ---- freeze and thaw through cgroup.freeze
mkdir $C/spin
setv spin init "$PAYLOAD spin"
if verb spin start; then
	sleep 1
	if verb spin freeze; then pass "freeze"; else fail "freeze: $why"; fi
	eq "FROZEN" FROZEN "$(cat $C/spin/state)"
	ok "the kernel says frozen 1" grep -qx "frozen 1" $P/spin/cgroup.events
	u1=$(usage_usec spin)
	sleep 2
	u2=$(usage_usec spin)
	eq "frozen: usage_usec stays flat" "$u1" "$u2"
	if verb spin thaw; then pass "thaw"; else fail "thaw: $why"; fi
	eq "thawed: RUNNING" RUNNING "$(cat $C/spin/state)"
	sleep 1
	u3=$(usage_usec spin)
	ok "thawed: usage_usec grows again ($u2 -> $u3)" test "$u3" -gt "$u2"
	verb spin kill || fail "kill spin: $why"
else
	fail "start spin: $why"
fi

# ---- kill through cgroup.kill: a frozen container with children
mkdir $C/fk
setv fk init "$PAYLOAD forkbomb 5 1000"
if verb fk start; then
	sleep 1
	sleep 1000 &
	stray=$!
	echo $stray >$C/fk/tasks || fail "tasks: $(cat $C/fk/last_error)"
	eq "tasks: a host process moved in" "0::/cfs-daemon/cfs-containers/fk" "$(cat /proc/$stray/cgroup)"
	verb fk freeze || fail "freeze fk: $why"
	n=$(cat $C/fk/cgroup/pids.current)
	if verb fk kill; then
		pass "kill a frozen container with $n processes (cgroup.kill)"
	else
		fail "kill a frozen container: $why"
	fi
	eq "cgroup.kill: STOPPED" STOPPED "$(cat $C/fk/state)"
	ok "cgroup.kill: the moved-in process is gone too" dead $stray
	wait $stray 2>/dev/null
	ok "cgroup.kill: the cgroup is gone" test ! -e $P/fk
else
	fail "start fk: $why"
fi

# ---- devices: the BPF program
mkdir $C/dev
setv dev init "$PAYLOAD open /dev/zero"
verb dev start || fail "start dev: $why"
wait_state dev STOPPED 10
eq "devices: the default list opens /dev/zero" ok "$(cat $C/dev/log)"
printf 'c 1:3 rwm\n' >$C/dev/cgroup/devices.allow
eq "devices.allow narrowed" "c 1:3 rwm" "$(cat $C/dev/cgroup/devices.allow)"
verb dev start || fail "start dev: $why"
wait_state dev STOPPED 10
eq "devices: a denied node fails (/dev/zero)" EPERM "$(cat $C/dev/log)"
setv dev init "$PAYLOAD open /dev/null"
verb dev start || fail "start dev: $why"
wait_state dev STOPPED 10
eq "devices: an allowed node opens (/dev/null)" ok "$(cat $C/dev/log)"
# a live change: the program is replaced while the container runs
printf 'c 1:3 rwm\nc 1:5 rwm\n' >$C/dev/cgroup/devices.allow
setv dev init "/bin/sh -c 'while true; do $PAYLOAD open /dev/zero; sleep 0.2; done'"
if verb dev start; then
	sleep 1
	eq "devices: running, /dev/zero opens" ok "$(tail -n1 $C/dev/log)"
	printf 'c 1:3 rwm\n' >$C/dev/cgroup/devices.allow
	sleep 1.5
	eq "devices: a live change takes /dev/zero away" EPERM "$(tail -n1 $C/dev/log)"
	verb dev kill || fail "kill dev: $why"
else
	fail "start dev (live): $why"
fi

# ---- OOM at memory.max
mkdir $C/oom
setv oom init "$PAYLOAD alloc 200"
setv oom cgroup/memory.max 32M
setv oom cgroup/memory.swap.max 0
verb oom start || fail "start oom: $why"
if wait_state oom STOPPED 90; then
	eq "OOM at memory.max: init killed" 137 "$(cat $C/oom/exit_status)"
	info "oom: $(tail -n1 $C/oom/log)"
else
	fail "OOM at memory.max: still $(cat $C/oom/state) after 90 s ($(tail -n1 $C/oom/log))"
	verb oom kill
fi

# ---- pids.max
mkdir $C/fb
setv fb init "$PAYLOAD forkbomb 50"
setv fb cgroup/pids.max 10
verb fb start || fail "start fb: $why"
wait_state fb STOPPED 20
ok "pids.max: fork fails with EAGAIN" grep -q "EAGAIN" $C/fb/log
info "pids.max: $(one $C/fb/log)"

# ---- nothing left beneath the parent
eq "nothing left beneath the parent" "" "$(find $P -mindepth 1 -type d 2>&1)"

# ---- the daemon killed and started again: a running container is adopted
mkdir $C/keep
setv keep init "$PAYLOAD sleep 1000"
verb keep start || fail "start keep: $why"
kpid=$(cat $C/keep/pid)
MAIN_ENDED=$MAIN
kill -9 $MAIN
wait $MAIN 2>/dev/null
umount $C 2>/dev/null || umount -l $C
ok "the container outlives the daemon" kill -0 "$kpid"
if start_daemon $HOME_CG/$LEAF $C cfs-containers; then
	MAIN=$DPID
	pass "the daemon starts again (in $LEAF)"
	eq "adopted: RUNNING" RUNNING "$(cat $C/keep/state)"
	eq "adopted: the same pid" "$kpid" "$(cat $C/keep/pid)"
	eq "adopted: the same cgroup" "0::/cfs-daemon/cfs-containers/keep" "$(cat /proc/$kpid/cgroup)"
	setv keep cgroup/pids.max 33 &&
		eq "adopted: live settings reach the kernel" 33 "$(cat $P/keep/pids.max)"
	if verb keep stop; then pass "adopted: stop"; else fail "adopted: stop: $why"; fi
	ok "adopted: stopped, the cgroup is gone" test ! -e $P/keep
	ok "adopted: stopped, the process is gone" test ! -e /proc/$kpid
else
	fail "the daemon starts again"
fi

# ---- a second daemon with an absolute parent, from a leaf cgroup of its own
mkdir $CG/other
if start_daemon $CG/other /c2 /cfs-abs; then
	pass "a second daemon with an absolute --cgroup-parent"
	eq "absolute parent: the daemon stays where it was started" "0::/other" "$(cat /proc/$DPID/cgroup)"
	mkdir /c2/abs
	echo "$PAYLOAD sleep 1000" >/c2/abs/init
	echo 300 >/c2/abs/cgroup/cpu.weight
	if echo start >/c2/abs/state; then
		eq "absolute parent: cpu.weight in /cfs-abs/abs" 300 "$(cat $CG/cfs-abs/abs/cpu.weight)"
		echo stop >/c2/abs/state
		ok "absolute parent: stopped, the cgroup is gone" test ! -e $CG/cfs-abs/abs
	else
		fail "absolute parent: start: $(cat /c2/abs/last_error)"
	fi
	umount /c2
	wait $DPID 2>/dev/null
	ok "absolute parent: the daemon's end removes the parent it made" test ! -e $CG/cfs-abs
else
	fail "a second daemon with an absolute --cgroup-parent: $(tail -n1 /tmp/daemon-c2.log)"
fi

# ---- a daemon that shares its cgroup cannot delegate: it says so and ends
mkdir $CG/shared
sh -c 'echo $$ >"$1/cgroup.procs" && exec sleep 1000' sh $CG/shared &
sleeper=$!
sleep 0.2
if start_daemon $CG/shared /c3 cfs-containers; then
	fail "a daemon sharing its cgroup: it started"
	umount /c3
else
	ok "a daemon sharing its cgroup refuses, saying why" \
		grep -q "processes of its own" /tmp/daemon-c3.log
fi
kill $sleeper

# ---- a busybox system container: pivot_root into an overlay rootfs
# root_fstype PID: the type of the filesystem mounted on / for that process
root_fstype() {
	awk '$5 == "/" { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1); exit } }' \
		"/proc/$1/mountinfo"
}
R=/srv/bb
mkdir -p $R/bin $R/proc $R/sys $R/dev $R/tmp $R/etc $R/root
cp /bin/busybox $R/bin/busybox
for a in sh sleep cat echo hostname mount ls; do ln -s busybox $R/bin/$a; done
mkdir $C/sys
setv sys privileged 1
setv sys rootfs $R
setv sys rootfs.overlay 1
setv sys init "/bin/sh -c 'trap \"exit 0\" TERM; echo hi >/written; while true; do sleep 1; done'"
if verb sys start; then
	pass "system container: start"
	spid=$(cat $C/sys/pid)
	sleep 0.5
	eq "system container: its root is the overlay" overlay "$(root_fstype $spid)"
	eq "system container: writes land in its layer" hi "$(cat /proc/$spid/root/written 2>&1)"
	ok "system container: the image stays untouched" test ! -e $R/written
	eq "system container: in its cgroup" "0::/cfs-daemon/cfs-containers/sys" "$(cat /proc/$spid/cgroup)"
	# its /sys/fs/cgroup: cgroup2 alone, rooted at its own cgroup (its cgroup namespace)
	eq "system container: cgroup2 at /sys/fs/cgroup" cgroup2 \
		"$(awk '$5 == "/sys/fs/cgroup" { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 1); exit } }' \
			/proc/$spid/mountinfo)"
	ok "system container: its /sys/fs/cgroup is its own cgroup" \
		grep -qx "$spid" /proc/$spid/root/sys/fs/cgroup/cgroup.procs
	if verb sys stop; then pass "system container: stop"; else fail "system container: stop: $why"; fi
	eq "system container: exit_status" 0 "$(cat $C/sys/exit_status)"
	if verb sys start && verb sys kill; then
		pass "system container: kill"
	else
		fail "system container: kill: $why"
	fi
	ok "system container: nothing left" test ! -e $P/sys
else
	skip "system container (start with a rootfs failed: $why)"
fi

# ---- containment: the filter, the masks, tasks, a foreign cgroup (tests/helpers/probe.c)
mkdir $C/probe
setv probe init "/cfs/probe all"
setv probe env PROBE_DIR=/tmp
if verb probe start && wait_state probe STOPPED 20; then
	tr -d '\r' <$C/probe/log >/tmp/probe.out
	for p in "open_by_handle_at EPERM" "bpf EPERM" "keyctl EPERM" "kexec_load EPERM" \
		"init_module EPERM" "core_pattern EACCES" "fresh_proc_core_pattern EACCES" "mknod_console EPERM@mknod" "tree absent" \
		"seccomp 2"; do
		ok "containment: probe $p" grep -qx "probe $p" /tmp/probe.out
	done
	[ -e /proc/keys ] && ok "containment: /proc/keys masked" grep -qx "probe keys masked" /tmp/probe.out
	ok "containment: no release_agent" sh -c '! grep -qx "probe release_agent ok" /tmp/probe.out'
else
	fail "containment: the probe container: $why"
fi
mkdir $C/other $P/other
/cfs/payload sleep 1000 &
FPID=$!
echo $FPID >$P/other/cgroup.procs
setv other init "$PAYLOAD sleep 1000"
if verb other start; then
	fail "containment: a start took over a cgroup containerfs did not make"
	verb other kill
else
	eq "containment: a foreign cgroup refuses the start" EBUSY \
		"$(case $why in *"not made by containerfs"*) echo EBUSY ;; *) echo "$why" ;; esac)"
fi
ok "containment: the foreign cgroup's process survives" alive $FPID
setv app init "$PAYLOAD sleep 1000"
if verb app start; then
	if echo 1 >$C/app/tasks 2>/dev/null; then
		fail "containment: tasks took pid 1"
	else
		pass "containment: tasks refuses pid 1"
	fi
	if echo $FPID >$C/app/tasks 2>/dev/null; then
		fail "containment: tasks took a process of another container's cgroup"
	else
		eq "containment: tasks says why" "tasks: $FPID belongs to container 'other'" \
			"$(cat $C/app/last_error)"
	fi
	verb app kill
fi
kill $FPID
wait $FPID 2>/dev/null
rmdir $P/other

# ---- the same image, unprivileged (the default): init is an id of root's subordinate
# range, its root an idmapped mount of the root-owned image as the overlay's lower layer.
# tmpfs cannot be idmapped before Linux 6.3: the image goes on an ext4 filesystem.
info "idmapped mounts: $(sed -n 's/^idmapped mounts: //p' $C/.checkconfig)"
U=/srv/ubb
loopdev=$(losetup -f)
if dd if=/dev/zero of=/tmp/ubb.img bs=1M count=8 2>/dev/null && losetup "$loopdev" /tmp/ubb.img &&
	mke2fs -q "$loopdev" >/dev/null && mkdir -p $U && mount -t ext4 "$loopdev" $U && cp -a $R/. $U/; then
	mkdir $C/unpriv
	setv unpriv rootfs $U
	setv unpriv rootfs.overlay 1
	setv unpriv init "/bin/sh -c 'trap \"exit 0\" TERM; echo hi >/written; while true; do sleep 1; done'"
	if verb unpriv start; then
		pass "unprivileged system container: start"
		upid=$(cat $C/unpriv/pid)
		first=$(sed -n 's/^u 0 \([0-9]*\) 65536$/\1/p' $C/unpriv/idmap)
		ok "unprivileged system container: an idmap was allocated" test -n "$first"
		eq "unprivileged system container: init's host uid is the idmap's first" \
			"$first" "$(awk '/^Uid:/ { print $2 }' /proc/$upid/status)"
		sleep 0.5
		eq "unprivileged system container: writes land in its layer" hi \
			"$(cat /proc/$upid/root/written 2>&1)"
		eq "unprivileged system container: owned by the mapped root there" "$first" \
			"$(stat -c %u $STATE/containers/unpriv/overlay/upper/written 2>&1)"
		ok "unprivileged system container: the image stays untouched" test ! -e $U/written
		eq "unprivileged system container: its cgroup is its root's" "$first" \
			"$(stat -c %u $P/unpriv)"
		if verb unpriv stop; then
			pass "unprivileged system container: stop"
		else
			fail "unprivileged system container: stop: $why"
		fi
		ok "unprivileged system container: nothing left" test ! -e $P/unpriv
	else
		fail "unprivileged system container: start: $why"
	fi
	umount $U
	losetup -d "$loopdev"
else
	skip "unprivileged system container (no ext4 image: mke2fs or mount failed)"
fi

# ---- a veth container on a bridge answering ping
brctl addbr br0 && ip addr add 10.99.0.1/24 dev br0 && ip link set br0 up
mkdir $C/net
setv net init "$PAYLOAD sleep 1000"
setv net net/type veth
setv net net/link br0
setv net net/ipv4 10.99.0.2/24
if verb net start; then
	pass "veth container: start"
	ok "veth container: answers ping on the bridge" ping -c 1 -W 5 10.99.0.2
	ok "veth container: reaches the bridge" nsenter --net=$C/net/ns/net ping -c 1 -W 5 10.99.0.1
	if verb net stop; then pass "veth container: stop"; else fail "veth container: stop: $why"; fi
	eq "veth container: the host side is gone" "" "$(ls /sys/class/net/br0/brif)"
else
	skip "veth container (start with net/type veth failed: $why)"
fi

eq "at the end nothing is left beneath the parent" "" "$(find $P -mindepth 1 -type d 2>&1)"
if [ $nfail -gt 0 ]; then
	for f in /tmp/daemon-*.log; do
		echo "INFO $f:"
		tail -n 40 "$f" | sed 's/^/  | /'
	done
fi
echo "CFS-V2-END fail=$nfail"
poweroff -f
