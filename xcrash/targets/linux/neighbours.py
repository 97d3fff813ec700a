"""The IPv4 neighbour (ARP) table, arp_tbl (``net -a``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import CommandError, MemoryError_, NoSuchMember, NoSuchType

if TYPE_CHECKING:
    from .kernel import LinuxTarget

#: ARPHRD_* device types crash names (others are UNKNOWN)
HW_TYPES = {1: "ETHER", 0: "NETROM", 2: "EETHER", 3: "AX25", 4: "PRONET", 5: "CHAOS",
            6: "IEEE802", 7: "ARCNET", 8: "APPLETLK", 15: "DLCI", 23: "METRICOM"}
#: NUD_* states
NUD_STATES = [(0x01, "INCOMPLETE"), (0x02, "REACHABLE"), (0x04, "STALE"), (0x08, "DELAY"),
              (0x10, "PROBE"), (0x20, "FAILED"), (0x40, "NOARP"), (0x80, "PERMANENT")]
NEIGHBOUR_LIMIT = 1 << 16


@dataclass
class Neighbour:
    """A struct neighbour of arp_tbl: its IPv4 address, hardware type (as crash names
    it) and address (the device's address length of it), device and NUD state
    ("" for none)."""
    address: int
    ip: str
    hw_type: str
    hw_address: bytes
    device: str
    state: str


def _state(value: int) -> str:
    return "|".join(name for bit, name in NUD_STATES if value & bit)


def arp_table(target: LinuxTarget) -> list[Neighbour]:
    """Every neighbour of arp_tbl's hash table, bucket by bucket."""
    if target.symbols.get("arp_tbl") is None:
        raise CommandError("net: arp_tbl does not exist in this kernel")
    sp = target.space
    out: list[Neighbour] = []
    try:
        tbl = target.object("arp_tbl")
        nht = tbl.nht.deref_()
        shift = int(nht.hash_shift)
        heads = nht.hash_heads if nht.type_.strip_typedefs().has_member("hash_heads") \
            else nht.hash_buckets
        base = int(heads)
        ntype = target.type("struct neighbour")
        hlist = ntype.strip_typedefs().has_member("hash")      # 6.13+: an hlist node
        link_off = ntype.strip_typedefs().offsetof("hash" if hlist else "next")
        for bucket in range(1 << shift):
            node = sp.read_u64(base + 8 * bucket)
            for _ in range(NEIGHBOUR_LIMIT):
                if not node:
                    break
                addr = node - link_off if hlist else node
                out.append(_neighbour(target, addr))
                node = sp.read_u64(addr + link_off)
    except MemoryError_ as err:
        raise CommandError(f"net: arp_tbl: {err}") from err
    except (NoSuchMember, NoSuchType) as err:
        raise CommandError(f"net: -a option not supported or applicable on this "
                           f"architecture or kernel ({err})") from err
    return out


def _neighbour(target: LinuxTarget, addr: int) -> Neighbour:
    n = target.object_at("struct neighbour", addr)
    key = target.space.read(int(n.primary_key.address_of_()), 4)
    dev = n.dev.deref_()
    length = int(dev.addr_len)
    ha = target.space.read(int(n.ha.address_of_()), max(0, min(length, 32)))
    kind = int(dev.type)
    name = target.space.read(int(dev.name.address_of_()), 16).split(b"\0", 1)[0]
    return Neighbour(addr, ".".join(str(b) for b in key), HW_TYPES.get(kind, "UNKNOWN"),
                     ha, name.decode("latin-1"), _state(int(n.nud_state)))
