"""The 2012 LXC configuration that seeded the project (the issues quote it)."""

LXC_2012 = """\
lxc.utsname=debian
lxc.tty=4
lxc.rootfs=/usr/local/var/lib/lxc/debian/rootfs
lxc.pts=1024
lxc.network.type=veth
lxc.network.ipv4=10.77.1.253/24
lxc.network.hwaddr=00:16:3E:4D:01:FD
lxc.network.veth.pair=veth1-0
lxc.mount.entry=proc /usr/local/var/lib/lxc/debian/rootfs/proc proc nodev,noexec,nosuid 0 0
lxc.mount.entry=sysfs /usr/local/var/lib/lxc/debian/rootfs/sys sysfs defaults 0 0
lxc.cgroup.memory.limit_in_bytes=134217728
lxc.cgroup.devices.deny=all
lxc.cgroup.devices.allow=c 1:3 rwm # /dev/null
lxc.cgroup.devices.allow=c 1:5 rwm # /dev/zero
"""
