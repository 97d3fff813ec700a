"""Network devices of a network namespace and the sockets of tasks (the records behind `net`)."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, XcrashError
from ...objects import Object, list_for_each
from .files import task_files
from .taskinfo import TaskRef, task_ref

if TYPE_CHECKING:
    from .kernel import LinuxTarget

ADDRESS_LIMIT = 4096          # addresses per device: more is a loop in a damaged dump
AF_INET, AF_INET6 = 2, 10


@dataclass
class NetDevice:
    """A line of `net`."""
    address: int              # struct net_device
    name: str
    #: IPv4 (in_device.ifa_list) then IPv6 (inet6_dev.addr_list); unreadable: a damaged list
    addresses: list[str] | Unreadable


def _ipv4(target: LinuxTarget, dev: Object) -> list[str]:
    in_dev = int(dev.ip_ptr)
    if not in_dev:
        return []
    out: list[str] = []
    ifa = int(target.object_at("struct in_device", in_dev).ifa_list)
    ifa_t = target.type("struct in_ifaddr")
    while ifa:
        if len(out) >= ADDRESS_LIMIT:
            raise XcrashError(f"more than {ADDRESS_LIMIT} IPv4 addresses: a loop in ifa_list")
        entry = target.object_at(ifa_t, ifa)
        raw = target.space.read(int(entry.ifa_address.address_of_()), 4)    # network byte order
        out.append(str(ipaddress.IPv4Address(raw)))
        ifa = int(entry.ifa_next)
    return out


def _ipv6(target: LinuxTarget, dev: Object) -> list[str]:
    if not dev.type_.has_member("ip6_ptr") or not int(dev.ip6_ptr):
        return []           # a kernel without IPv6, or a device without an inet6_dev
    idev = target.object_at("struct inet6_dev", int(dev.ip6_ptr))
    addr_off = target.offsetof("struct inet6_ifaddr", "addr") - \
        target.offsetof("struct inet6_ifaddr", "if_list")
    return [str(ipaddress.IPv6Address(target.space.read(link + addr_off, 16)))
            for link in list_for_each(target, int(idev.addr_list.address_of_()), ADDRESS_LIMIT)]


def net_devices(target: LinuxTarget, task: Object | None = None) -> Iterator[NetDevice]:
    """The devices on the ``dev_base_head`` list of ``task``'s network namespace, in
    order; without a task (crash's default, the idle task's) or for a task that has
    exited: init_net."""
    if task is not None and int(task.nsproxy):
        net = task.nsproxy.deref_().net_ns.deref_()
    else:
        net = target.object("init_net")
    dev_t = target.type("struct net_device")
    list_off = target.offsetof("struct net_device", "dev_list")
    links = list(list_for_each(target, int(net.dev_base_head.address_of_())))

    def devices() -> Iterator[NetDevice]:
        for link in links:
            dev = target.object_at(dev_t, link - list_off)
            name = dev.name.string_(16).decode("utf-8", "replace")
            addresses: list[str] | Unreadable
            try:
                addresses = _ipv4(target, dev) + _ipv6(target, dev)
            except (MemoryError_, XcrashError) as err:
                caveat(f"addresses of net_device {dev.address_:x} ({name}) unreadable: {err}; "
                       "shown as ?")
                addresses = Unreadable(str(err))
            yield NetDevice(int(dev.address_of_()), name, addresses)
    return devices()


FAMILIES = {0: "UNSPEC", 1: "UNIX", 2: "INET", 3: "AX25", 4: "IPX", 5: "APPLETALK", 6: "NETROM",
            7: "BRIDGE", 8: "ATMPVC", 9: "X25", 10: "INET6", 11: "ROSE", 12: "DECnet",
            13: "NETBEUI", 14: "SECURITY/KEY", 16: "NETLINK/ROUTE", 17: "PACKET", 18: "ASH",
            19: "ECONET", 20: "ATMSVC", 22: "SNA", 23: "IRDA", 24: "PPPOX"}
SOCK_TYPES = {1: "STREAM", 2: "DGRAM ", 3: "RAW", 4: "RDM", 5: "SEQPACKET", 10: "PACKET"}


@dataclass
class Socket:
    fd: int
    socket: int           # struct socket (the socket_alloc holding the inode)
    sock: int             # struct sock
    family: int
    type: int
    source: str | None = None         # "addr-port" for INET/INET6
    destination: str | None = None


@dataclass
class TaskSockets(TaskRef):
    """`net -s`: the sockets among a task's open files."""
    sockets: list[Socket] = field(default_factory=list)


def _port(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def _v6(raw: bytes, port: bytes) -> str:
    """crash's %x:%x:...-%d, no zero folding."""
    groups = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, 16, 2)]
    return ":".join(f"{g:x}" for g in groups) + f"-{_port(port)}"


def task_sockets(target: LinuxTarget, task: Object) -> TaskSockets:
    """The sockets among ``task``'s open files, in fd order."""
    out = TaskSockets(**vars(task_ref(task)))
    if not int(task.files):
        return out              # a task that has exited: no file table, no sockets
    read = target.space.read
    inode_off = target.offsetof("struct socket_alloc", "vfs_inode")
    socket_t = target.type("struct socket")
    common = target.offsetof("struct sock", "__sk_common")

    def at(sk: int, member: str) -> int:
        return sk + common + target.offsetof("struct sock_common", member)
    sk_type = target.offsetof("struct sock", "sk_type")
    sport_off = target.offsetof("struct inet_sock", "inet_sport")
    for f in task_files(target, task).files:
        # a file that could not be read is not known to be a socket (task_files said so)
        if f.type != "SOCK" or not isinstance(f.inode, int) or not f.inode:
            continue
        socket = f.inode - inode_off
        sk = int(target.object_at(socket_t, socket).sk)
        if not sk:
            caveat(f"struct socket {socket:x} (fd {f.fd} of pid {out.pid}) has no sock: "
                   "left out")
            continue
        family = target.space.read_u16(at(sk, "skc_family"))
        s = Socket(f.fd, socket, sk, family, target.space.read_u16(sk + sk_type))
        if family in (AF_INET, AF_INET6):
            dport = read(at(sk, "skc_dport"), 2)
            sport = read(sk + sport_off, 2)
        if family == AF_INET:
            saddr, daddr = read(at(sk, "skc_rcv_saddr"), 4), read(at(sk, "skc_daddr"), 4)
            s.source = f"{ipaddress.IPv4Address(saddr)}-{_port(sport)}"
            s.destination = f"{ipaddress.IPv4Address(daddr)}-{_port(dport)}"
        elif family == AF_INET6:
            s.source = _v6(read(at(sk, "skc_v6_rcv_saddr"), 16), sport)
            s.destination = _v6(read(at(sk, "skc_v6_daddr"), 16), dport)
        out.sockets.append(s)
    return out
