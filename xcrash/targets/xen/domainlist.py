"""Which domains a Xen hypervisor has, in crash's order: ``dom_io``, ``dom_xen`` (and
``dom_cow`` when the build has it), the idle domain (``idle_vcpu[0]->domain``), then
``domain_list`` (kept sorted by domain id by Xen); the :class:`Domain` record
``domains.py`` (with DWARF) and ``domains_untyped.py`` (without) fill in."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from collections.abc import Iterator

from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, NoSuchSymbol, XcrashError
from ..base import cached_per_target
from . import layout

if TYPE_CHECKING:
    from .hypervisor import XenTarget

DOMID_IO = 0x7FF1
DOMID_XEN = 0x7FF2
DOMID_COW = 0x7FF3
DOMID_IDLE = 0x7FFF
XEN_DOMCTL_CDF_hvm = 1 << 0
DOMAIN_LIMIT = 1 << 15
VCPU_LIMIT = 4096


@dataclass
class Domain:
    address: int
    domain_id: int
    #: "O" dom_io, "X" dom_xen, "C" dom_cow, "I" idle, "0" the hardware domain, "U" a guest
    type: str
    max_pages: int | None = None
    tot_pages: int | None = None
    vcpus: list[int] = field(default_factory=list)     # struct vcpu addresses, ids in order
    shared_info: int = 0
    #: pfn_to_mfn_frame_list_list (None: no shared_info)
    p2m_mfn: int | None | Unreadable = None
    state: str = "RU"
    hvm: bool = False
    is_dying: int = 0
    max_vcpus: int = 0
    #: where the facts came from: "DWARF" or "VMCOREINFO_XEN"
    source: str = "DWARF"

    @property
    def guest_kind(self) -> str:
        if self.type in "OXCI":
            return "system"
        return "HVM/PVH" if self.hvm else "PV"


def special_domains(target: XenTarget) -> list[int]:
    """``dom_io``, ``dom_xen``, ``dom_cow`` (struct domain addresses, where they exist)."""
    out = []
    for name in ("dom_io", "dom_xen", "dom_cow"):
        try:
            addr = target.space.read_u64(target.global_address(name))
        except NoSuchSymbol:
            continue        # dom_cow only with memory sharing; none without symbols
        except MemoryError_ as err:
            caveat(f"{name} unreadable ({err}): left out of the domains")
            continue
        if addr:
            out.append(addr)
    return out


@dataclass(frozen=True)
class FixedLayout:
    """Where ``struct domain`` keeps its vCPU array and ``struct vcpu`` its domain:
    after ``max_vcpus`` (4.2 to 4.19) or after ``unique_id`` too (4.20 on); after the
    ``vcpu_info`` pointer (to 4.17) or the two-pointer ``vcpu_info_area`` (4.18 on)."""
    domain_vcpu_array: int
    vcpu_domain: int
    #: how it was found: "DWARF", "the domain list" or "assumed"
    source: str


#: the places each has had (layout.py's first)
VCPU_ARRAY_OFFSETS = (layout.DOMAIN_VCPU_ARRAY, layout.DOMAIN_VCPU_ARRAY_4_20)
VCPU_DOMAIN_OFFSETS = (layout.VCPU_DOMAIN, layout.VCPU_DOMAIN_4_18)


@cached_per_target
def fixed_layout(target: XenTarget) -> FixedLayout:
    """The offsets of :class:`FixedLayout`: from DWARF, else the pair that links the
    domains on ``domain_list`` and their first vCPU both ways (``d->vcpu[0]->domain``
    is ``d``, its ``vcpu_id`` 0), for every domain that has one; else the oldest
    (with a warning where domains could be read but none agreed)."""
    if target.has_types:
        return FixedLayout(target.offsetof("struct domain", "vcpu"),
                           target.offsetof("struct vcpu", "domain"), "DWARF")
    space = target.space
    agreed: set[tuple[int, int]] | None = None
    try:
        for addr in domain_list(target):
            fits = set()
            for array_off in VCPU_ARRAY_OFFSETS:
                array = space.read_u64(addr + array_off)
                if not array or not 0 < space.read_u32(addr + layout.DOMAIN_MAX_VCPUS) \
                        <= VCPU_LIMIT:
                    continue
                try:
                    vcpu = space.read_u64(array)
                    fits |= {(array_off, off) for off in VCPU_DOMAIN_OFFSETS
                             if vcpu and space.read_u64(vcpu + off) == addr
                             and space.read_u32(vcpu + layout.VCPU_ID) == 0}
                except MemoryError_:
                    continue        # not a vCPU array there: the other offset
            if fits:
                agreed = fits if agreed is None else agreed & fits
    except XcrashError as err:
        caveat(f"the domain list unreadable ({err}): struct domain and struct vcpu taken "
               "as Xen 4.17 lays them out")
        agreed = None
    if agreed is not None and len(agreed) == 1:
        array_off, vcpu_domain = next(iter(agreed))
        return FixedLayout(array_off, vcpu_domain, "the domain list")
    if agreed is not None:
        caveat("no single layout of struct domain and struct vcpu links the domains to their "
               "vCPUs: Xen 4.17's taken")
    return FixedLayout(layout.DOMAIN_VCPU_ARRAY, layout.VCPU_DOMAIN, "assumed")


def idle_domain(target: XenTarget) -> int | None:
    """The idle domain: ``idle_vcpu[0]->domain``."""
    if target.symbols is None:
        return None
    try:
        vcpu0 = target.idle_vcpus[0]
        if not vcpu0:
            return None
        if target.has_types:
            return int(target.object_at("struct vcpu", vcpu0).domain)
        return target.space.read_u64(vcpu0 + fixed_layout(target).vcpu_domain)
    except NoSuchSymbol:
        return None         # a xen-syms without idle_vcpu
    except MemoryError_ as err:
        caveat(f"idle_vcpu[0]->domain unreadable ({err}): the idle domain left out")
        return None


def domain_list(target: XenTarget) -> Iterator[int]:
    """Addresses of the domains on ``domain_list`` (bounded, cycle-safe)."""
    next_off = _next_in_list_offset(target)
    addr = target.space.read_u64(target.global_address("domain_list"))
    seen: set[int] = set()
    while addr and addr not in seen and len(seen) < DOMAIN_LIMIT:
        seen.add(addr)
        yield addr
        addr = target.space.read_u64(addr + next_off)


def _next_in_list_offset(target: XenTarget) -> int:
    if target.has_types:
        return target.offsetof("struct domain", "next_in_list")
    vi = target.vmcoreinfo
    off = vi.offset("domain", "next_in_list") if vi is not None else None
    if off is None:
        raise XcrashError("the offset of domain.next_in_list is neither in DWARF nor in "
                          "VMCOREINFO_XEN")
    return off


def all_domain_addresses(target: XenTarget) -> list[int]:
    out = special_domains(target)
    idle = idle_domain(target)
    if idle is not None:
        out.append(idle)
    for addr in domain_list(target):
        if addr not in out:
            out.append(addr)
    return out


def hardware_domain(target: XenTarget) -> int | None:
    for name in ("hardware_domain", "dom0"):
        try:
            addr = target.space.read_u64(target.address_of(name))
        except NoSuchSymbol:
            continue        # the other name (hardware_domain since Xen 4.5)
        except MemoryError_ as err:
            caveat(f"{name} unreadable ({err}): domain 0 taken as the hardware domain")
            return None
        if addr:
            return addr
    return None


def type_letter(domid: int, addr: int, hw: int | None) -> str:
    if domid == DOMID_IO:
        return "O"
    if domid == DOMID_XEN:
        return "X"
    if domid == DOMID_COW:
        return "C"
    if domid == DOMID_IDLE:
        return "I"
    if (hw is not None and addr == hw) or (hw is None and domid == 0):
        return "0"
    return "U"
