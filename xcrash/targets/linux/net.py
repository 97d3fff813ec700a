"""Network devices of a network namespace and their addresses (the numbers behind `net`)."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from ...errors import MemoryError_, XcrashError
from ...objects import list_for_each

ADDRESS_LIMIT = 4096          # addresses per device: more is a loop in a damaged dump


@dataclass
class NetDevice:
    address: int              # struct net_device
    name: str
    addresses: list[str]      # IPv4 (in_device.ifa_list) then IPv6 (inet6_dev.addr_list)


def _ipv4(target: Any, dev: Any) -> list[str]:
    in_dev = int(dev.ip_ptr)
    if not in_dev:
        return []
    out = []
    ifa = int(target.object_at(target.type("struct in_device"), in_dev).ifa_list)
    ifa_t = target.type("struct in_ifaddr")
    while ifa and len(out) < ADDRESS_LIMIT:
        entry = target.object_at(ifa_t, ifa)
        raw = target.space.read(entry.ifa_address.address_, 4)    # network byte order
        out.append(str(ipaddress.IPv4Address(raw)))
        ifa = int(entry.ifa_next)
    return out


def _ipv6(target: Any, dev: Any) -> list[str]:
    if not dev.type_.has_member("ip6_ptr") or not int(dev.ip6_ptr):
        return []
    idev = target.object_at(target.type("struct inet6_dev"), int(dev.ip6_ptr))
    ifaddr_t = target.type("struct inet6_ifaddr")
    link_off = ifaddr_t.member("if_list")[0] // 8
    addr_off = ifaddr_t.member("addr")[0] // 8
    return [str(ipaddress.IPv6Address(target.space.read(link - link_off + addr_off, 16)))
            for link in list_for_each(target, idev.addr_list.address_, ADDRESS_LIMIT)]


def net_devices(target: Any, task: Any) -> list[NetDevice]:
    """The devices on ``task``'s network namespace's ``dev_base_head`` list, in order."""
    nsproxy = int(task.nsproxy)
    if nsproxy:
        net = task.nsproxy.deref_().net_ns.deref_()
    else:
        net = target.object("init_net")
    dev_t = target.type("struct net_device")
    list_off = dev_t.member("dev_list")[0] // 8
    out = []
    for link in list_for_each(target, net.dev_base_head.address_):
        dev = target.object_at(dev_t, link - list_off)
        name = dev.name.string_(16).decode("utf-8", "replace")
        try:
            addresses = _ipv4(target, dev) + _ipv6(target, dev)
        except (MemoryError_, XcrashError):
            addresses = ["?"]
        out.append(NetDevice(int(dev.address_), name, addresses))
    return out


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


def _port(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def task_sockets(target: Any, task: Any) -> list[Socket] | None:
    """The sockets among ``task``'s open files (None: the task has no file table)."""
    from .files import task_files
    info = task_files(target, task)
    if not int(task.files):
        return None
    alloc_t = target.type("struct socket_alloc")
    inode_off = alloc_t.member("vfs_inode")[0] // 8
    sock_t = target.type("struct sock")
    common = sock_t.member("__sk_common")[0] // 8
    sc = target.type("struct sock_common")
    inet_t = target.type("struct inet_sock")
    out = []
    for f in info.files:
        if f.type != "SOCK" or not f.inode:
            continue
        socket = f.inode - inode_off
        sk = int(target.object_at(target.type("struct socket"), socket).sk)
        if not sk:
            continue
        family = target.space.read_u16(sk + common + sc.member("skc_family")[0] // 8)
        kind = target.space.read_u16(sk + sock_t.member("sk_type")[0] // 8)
        s = Socket(f.fd, socket, sk, family, kind)
        if family == 2:
            saddr = target.space.read(sk + common + sc.member("skc_rcv_saddr")[0] // 8, 4)
            daddr = target.space.read(sk + common + sc.member("skc_daddr")[0] // 8, 4)
            dport = target.space.read(sk + common + sc.member("skc_dport")[0] // 8, 2)
            sport = target.space.read(sk + inet_t.member("inet_sport")[0] // 8, 2)
            s.source = f"{ipaddress.IPv4Address(saddr)}-{_port(sport)}"
            s.destination = f"{ipaddress.IPv4Address(daddr)}-{_port(dport)}"
        elif family == 10:
            src = target.space.read(sk + common + sc.member("skc_v6_rcv_saddr")[0] // 8, 16)
            dst = target.space.read(sk + common + sc.member("skc_v6_daddr")[0] // 8, 16)
            dport = target.space.read(sk + common + sc.member("skc_dport")[0] // 8, 2)
            sport = target.space.read(sk + inet_t.member("inet_sport")[0] // 8, 2)

            def v6(raw: bytes, port: bytes) -> str:   # crash's %x:%x:...-%d, no zero folding
                groups = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, 16, 2)]
                return ":".join(f"{g:x}" for g in groups) + f"-{_port(port)}"
            s.source, s.destination = v6(src, sport), v6(dst, dport)
        out.append(s)
    return out


def socket_description(s: Socket) -> str:
    """crash's FAMILY:TYPE SOURCE-PORT DESTINATION-PORT column."""
    text = f"{FAMILIES.get(s.family, str(s.family))}:{SOCK_TYPES.get(s.type, str(s.type))} "
    if s.family == 2:
        text += f" {s.source} {s.destination}"
    elif s.family == 10:
        text += f"{s.source:>12} {s.destination}"
    return text
