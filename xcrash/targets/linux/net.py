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
