"""Xen domains: the ``struct domain`` list and what ``doms``/``domain`` show.

Order as crash lists them: ``dom_io``, ``dom_xen`` (and ``dom_cow`` when the
build has it), the idle domain (``idle_vcpu[0]->domain``), then
``domain_list`` (kept sorted by domain id by Xen).

Xen 4.17 has no ``guest_type``: a domain is HVM/PVH when
``options & XEN_DOMCTL_CDF_hvm``.  Without DWARF only VMCOREINFO_XEN's facts
are known (domain id and list link offsets, the frame table): ids come from
the list and page counts from the frame table's owner fields.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from collections.abc import Iterator

from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, NoSuchMember, NoSuchSymbol, NoSuchType, XcrashError
from ...objects import Object
from ...symbols.types import Kind
from . import layout
from .pcpus import crashing_vcpu, pcpus, running_vcpus

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
        return target.space.read_u64(vcpu0 + layout.VCPU_DOMAIN)
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


def domains(target: XenTarget) -> list[Domain]:
    """Every domain crash's ``doms`` lists, in its order."""
    if not target.has_types:
        return domains_from_vmcoreinfo(target)
    hw = hardware_domain(target)
    return [read_domain(target, addr, hw) for addr in all_domain_addresses(target)]


def _member_or(obj: Object, name: str, default: int = 0) -> int:
    try:
        return int(obj.member_(name))
    except NoSuchMember:
        return default      # not in this Xen version: the flag is not set


def read_domain(target: XenTarget, addr: int, hw: int | None = None) -> Domain:
    d = target.object_at("struct domain", addr)
    domid = int(d.domain_id)
    dom = Domain(addr, domid, _type_letter(domid, addr, hw))
    dom.max_pages = int(d.max_pages)
    dom.tot_pages = int(d.tot_pages)
    dom.shared_info = int(d.shared_info)
    dom.max_vcpus = int(d.max_vcpus)
    dom.is_dying = _member_or(d, "is_dying")
    dom.vcpus = _vcpu_pointers(target, d, dom.max_vcpus)
    dom.hvm = _is_hvm(d)
    dom.state = _state(d)
    if dom.shared_info:
        try:
            dom.p2m_mfn = target.space.read_u64(dom.shared_info + _p2m_fll_offset(target))
        except MemoryError_ as err:
            caveat(f"shared_info of domain {domid} unreadable ({err}): P2M_MFN shown as ?")
            dom.p2m_mfn = Unreadable(str(err))
    return dom


def _p2m_fll_offset(target: XenTarget) -> int:
    """``offsetof(struct shared_info, arch.pfn_to_mfn_frame_list_list)``."""
    try:
        return target.offsetof("struct shared_info", "arch.pfn_to_mfn_frame_list_list")
    except (NoSuchType, NoSuchMember):
        return layout.SHARED_INFO_P2M_FLL   # not in xen-syms' DWARF: the public ABI's


def _vcpu_pointers(target: XenTarget, d: Object, max_vcpus: int) -> list[int]:
    vcpu = d.vcpu
    t = target.type("struct domain").member("vcpu")[1].type.strip_typedefs()
    if t.kind is Kind.ARRAY:                                    # Xen < 4.2: inline array
        return [p for p in (int(vcpu[i]) for i in range(t.length or 0)) if p]
    array = int(vcpu)
    if not array or not max_vcpus:
        return []
    raw = target.space.read(array, 8 * min(max_vcpus, VCPU_LIMIT))
    return [p for (p,) in struct.iter_unpack("<Q", raw) if p]


def _is_hvm(d: Object) -> bool:
    for name in ("guest_type", "is_hvm"):                      # older Xen
        try:
            return bool(int(d.member_(name)))
        except NoSuchMember:
            continue        # not in this version: the next way of saying it
    try:
        return bool(int(d.options) & XEN_DOMCTL_CDF_hvm)
    except NoSuchMember:
        return False        # a Xen with none of them knew only PV guests


def _state(d: Object) -> str:
    """crash's ST column: SF shut down, SH shutting down, DY dying, CP paused by the
    toolstack, PO polling, RU otherwise."""
    if _member_or(d, "is_shut_down"):
        return "SF"
    if _member_or(d, "is_shutting_down"):
        return "SH"
    if _member_or(d, "is_dying"):
        return "DY"
    if _member_or(d, "controller_pause_count") or _member_or(d, "is_paused_by_controller"):
        return "CP"
    if _member_or(d, "is_polling"):
        return "PO"
    return "RU"


def _type_letter(domid: int, addr: int, hw: int | None) -> str:
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


def find_domain(target: XenTarget, spec: str) -> Domain:
    """A domain by id (decimal) or by ``struct domain`` address (hex)."""
    doms = domains(target)
    if spec.isdigit():
        for dom in doms:
            if dom.domain_id == int(spec):
                return dom
    value = parse_hex(spec)
    if value is None:
        raise XcrashError(f"invalid domain: {spec}")
    for dom in doms:
        if dom.address == value:
            return dom
    raise XcrashError(f"no domain {spec}")


def parse_hex(text: str) -> int | None:
    """A hexadecimal address as typed, or None when the word is not one."""
    try:
        return int(text, 16)
    except ValueError:
        return None         # the caller says what the word should have been


# ---------------------------------------------------------------- the doms listing

@dataclass
class DomainEntry:
    """A line of ``doms``."""
    domain_id: int
    #: the struct domain
    domain: int
    state: str
    type: str
    max_pages: int | None
    tot_pages: int | None
    #: vCPUs allocated (unknown without DWARF when the vCPU array does not check out)
    vcpus: int | Unreadable
    shared_info: int
    p2m_mfn: int | None | Unreadable
    #: "system" for Xen's own domains, else "PV" or "HVM/PVH"
    guest: str
    #: one of its vCPUs was running on a pCPU (crash's ``>``)
    active: bool = field(default=False, metadata={"json": False})
    #: the crashing pCPU ran one of its vCPUs (crash's ``*``)
    crashing: bool = field(default=False, metadata={"json": False})


def domain_entries(target: XenTarget) -> list[DomainEntry]:
    """``doms``: every domain with crash's marks (a pCPU ran one of its vCPUs; the
    crashing pCPU did)."""
    doms = domains(target)
    running: set[int] = set()
    crashing = None
    if target.symbols is not None:
        pcs = pcpus(target)
        running = running_vcpus(pcs)
        crashing = crashing_vcpu(target, pcs)
    if not target.has_types:
        caveat("no DWARF: ids from VMCOREINFO_XEN, TOTPAGE counted in the frame table, VCPU "
               "from the vCPU arrays at their fixed offsets; other columns need xen-syms with "
               "DWARF")
    out = []
    for d in doms:
        if d.hvm:
            caveat(f"domain {d.domain_id} is an HVM/PVH guest: its memory is guest-physical "
                   "behind a p2m (EPT/NPT) that xcrash does not walk yet")
        count: int | Unreadable = len(d.vcpus) if d.source == "DWARF" or d.vcpus else \
            Unreadable("the vCPU array at struct domain's fixed offsets does not check out")
        out.append(DomainEntry(
            d.domain_id, d.address, d.state, d.type, d.max_pages, d.tot_pages, count,
            d.shared_info, d.p2m_mfn, d.guest_kind,
            active=any(v in running for v in d.vcpus),
            crashing=crashing is not None and crashing in d.vcpus))
    return out


# ---------------------------------------------------------------- without DWARF

def domains_from_vmcoreinfo(target: XenTarget) -> list[Domain]:
    """Domain ids from the list links VMCOREINFO_XEN describes, and page counts from
    the frame table (``page_info._domain`` holds the owner's pickled address)."""
    vi = target.vmcoreinfo
    if vi is None:
        raise XcrashError("no DWARF and no VMCOREINFO_XEN: the domains cannot be found")
    id_off = vi.offset("domain", "domain_id")
    if id_off is None:
        id_off = layout.DOMAIN_ID
    addrs = special_domains(target)
    idle = idle_domain(target)
    if idle is not None:
        addrs.append(idle)
    addrs += [a for a in domain_list(target) if a not in addrs]
    counts = owner_page_counts(target)
    out = []
    for addr in addrs:
        domid = target.space.read_u16(addr + id_off)
        dom = Domain(addr, domid, _type_letter(domid, addr, None), state="??",
                     source="VMCOREINFO_XEN")
        dom.vcpus = vcpus_by_fixed_layout(target, addr)
        dom.max_vcpus = len(dom.vcpus)
        # the system domains keep no tot_pages: what they own is not comparable
        if counts is not None and dom.type not in "OXCI":
            dom.tot_pages = counts.get(addr, 0)
        out.append(dom)
    return out


def vcpus_by_fixed_layout(target: XenTarget, addr: int) -> list[int]:
    """A domain's struct vcpu addresses without DWARF: ``d->vcpu[0..max_vcpus)``
    read at the offsets struct domain has kept since 4.2, each entry checked
    (its ``domain`` is this domain, its ``vcpu_id`` its index); [] when they do not
    check out (``doms`` shows ``?``)."""
    space = target.space
    try:
        count = space.read_u32(addr + layout.DOMAIN_MAX_VCPUS)
        array = space.read_u64(addr + layout.DOMAIN_VCPU_ARRAY)
        if not 0 < count <= VCPU_LIMIT or not array:
            return []
        pointers = [p for (p,) in struct.iter_unpack("<Q", space.read(array, 8 * count))]
        out = []
        for index, vcpu in enumerate(pointers):
            if not vcpu:
                continue
            if space.read_u64(vcpu + layout.VCPU_DOMAIN) != addr \
                    or space.read_u32(vcpu + layout.VCPU_ID) != index:
                return []
            out.append(vcpu)
        return out
    except MemoryError_ as err:
        caveat(f"the vCPUs of struct domain {addr:x} unreadable ({err}): none listed")
        return []


#: count_info bits (x86, 4.17): allocated, Xen heap
PGC_allocated = 1 << 63
PGC_xen_heap = 1 << 62


def owner_page_counts(target: XenTarget) -> dict[int, int] | None:
    """Pages per owning domain (xenheap pages left out), from the frame table; None
    when VMCOREINFO_XEN does not describe it (TOTPAGE then shows ``??``)."""
    vi = target.vmcoreinfo
    ft = target.frame_table
    if vi is None or ft is None:
        return None
    size = vi.size("page_info")
    dom_off = vi.offset("page_info", "_domain")
    cnt_off = vi.offset("page_info", "count_info")
    if size is None or dom_off is None or cnt_off is None:
        return None
    try:
        max_page = target.space.read_u64(target.global_address("max_page"))
    except NoSuchSymbol:
        return None         # not in VMCOREINFO_XEN nor xen-syms: TOTPAGE unknown
    except MemoryError_ as err:
        caveat(f"max_page unreadable ({err}): TOTPAGE not counted")
        return None
    space = target.space
    counts: dict[int, int] = {}
    chunk_pages = 4096
    for first in range(0, max_page, chunk_pages):
        n = min(chunk_pages, max_page - first)
        try:
            raw = space.read(ft + first * size, n * size)
        except MemoryError_:
            continue           # a hole in the frame table (no RAM there)
        mv = memoryview(raw)
        for i in range(n):
            base = i * size
            pickled = int.from_bytes(mv[base + dom_off:base + dom_off + 4], "little")
            if not pickled:
                continue
            count = int.from_bytes(mv[base + cnt_off:base + cnt_off + 8], "little")
            if count & PGC_xen_heap or not count & PGC_allocated:
                continue
            owner = space.directmap_start + (pickled << 12)
            counts[owner] = counts.get(owner, 0) + 1
    return counts
