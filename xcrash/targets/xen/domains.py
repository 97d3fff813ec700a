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
from typing import Any, Iterator

from ...errors import MemoryError_, NoSuchMember, NoSuchSymbol, XcrashError
from .hypervisor import member_offset

DOMID_IO = 0x7FF1
DOMID_XEN = 0x7FF2
DOMID_COW = 0x7FF3
DOMID_IDLE = 0x7FFF
XEN_DOMCTL_CDF_hvm = 1 << 0
#: offset of arch.pfn_to_mfn_frame_list_list in the public shared_info (x86_64)
SHARED_INFO_P2M_FLL = 3096
DOMAIN_LIMIT = 1 << 15


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
    p2m_mfn: int | None = None                         # pfn_to_mfn_frame_list_list
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


def special_domains(target: Any) -> list[int]:
    """``dom_io``, ``dom_xen``, ``dom_cow`` (struct domain addresses, where they exist)."""
    out = []
    for name in ("dom_io", "dom_xen", "dom_cow"):
        try:
            addr = target.space.read_u64(target.global_address(name))
        except (NoSuchSymbol, MemoryError_):
            continue
        if addr:
            out.append(addr)
    return out


#: struct vcpu's first members are stable: vcpu_id, processor, vcpu_info, domain
VCPU_DOMAIN_OFFSET = 16


def idle_domain(target: Any) -> int | None:
    """The idle domain: ``idle_vcpu[0]->domain``."""
    if target.symbols is None:
        return None
    try:
        vcpu0 = target.space.read_u64(target.address_of("idle_vcpu"))
        if not vcpu0:
            return None
        if target.has_types:
            return int(target.object_at("struct vcpu", vcpu0).domain)
        return target.space.read_u64(vcpu0 + VCPU_DOMAIN_OFFSET)
    except (NoSuchSymbol, MemoryError_):
        return None


def domain_list(target: Any) -> Iterator[int]:
    """Addresses of the domains on ``domain_list`` (bounded, cycle-safe)."""
    next_off = _next_in_list_offset(target)
    addr = target.space.read_u64(target.global_address("domain_list"))
    seen: set[int] = set()
    while addr and addr not in seen and len(seen) < DOMAIN_LIMIT:
        seen.add(addr)
        yield addr
        addr = target.space.read_u64(addr + next_off)


def _next_in_list_offset(target: Any) -> int:
    if target.has_types:
        return member_offset(target.type("struct domain"), "next_in_list")
    vi = target.vmcoreinfo
    if vi is not None and vi.offset("domain", "next_in_list") is not None:
        return vi.offset("domain", "next_in_list")
    raise XcrashError("the offset of domain.next_in_list is neither in DWARF nor in "
                      "VMCOREINFO_XEN")


def all_domain_addresses(target: Any) -> list[int]:
    out = special_domains(target)
    idle = idle_domain(target)
    if idle is not None:
        out.append(idle)
    for addr in domain_list(target):
        if addr not in out:
            out.append(addr)
    return out


def hardware_domain(target: Any) -> int | None:
    for name in ("hardware_domain", "dom0"):
        try:
            addr = target.space.read_u64(target.address_of(name))
        except (NoSuchSymbol, MemoryError_, XcrashError):
            continue
        if addr:
            return addr
    return None


def domains(target: Any) -> list[Domain]:
    """Every domain crash's ``doms`` lists, in its order."""
    if not target.has_types:
        return domains_from_vmcoreinfo(target)
    hw = hardware_domain(target)
    return [read_domain(target, addr, hw) for addr in all_domain_addresses(target)]


def _member_or(obj: Any, name: str, default: int = 0) -> int:
    try:
        return int(obj.member_(name))
    except NoSuchMember:
        return default


def read_domain(target: Any, addr: int, hw: int | None = None) -> Domain:
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
        off = SHARED_INFO_P2M_FLL
        try:
            si = target.type("struct shared_info")
            off = member_offset(si, "arch") + member_offset(
                si.member("arch")[1].type, "pfn_to_mfn_frame_list_list")
        except XcrashError:
            pass
        try:
            dom.p2m_mfn = target.space.read_u64(dom.shared_info + off)
        except MemoryError_:
            dom.p2m_mfn = None
    return dom


def _vcpu_pointers(target: Any, d: Any, max_vcpus: int) -> list[int]:
    vcpu = d.vcpu
    from ...symbols.types import Kind
    if vcpu.type_.strip_typedefs().kind is Kind.ARRAY:          # Xen < 4.2: inline array
        return [p for p in (int(vcpu[i]) for i in range(vcpu.type_.strip_typedefs().length or 0)) if p]
    array = int(vcpu)
    if not array or not max_vcpus:
        return []
    raw = target.space.read(array, 8 * min(max_vcpus, 4096))
    return [p for (p,) in struct.iter_unpack("<Q", raw) if p]


def _is_hvm(d: Any) -> bool:
    for name in ("guest_type", "is_hvm"):                      # older Xen
        try:
            return bool(int(d.member_(name)))
        except NoSuchMember:
            continue
    try:
        return bool(int(d.options) & XEN_DOMCTL_CDF_hvm)
    except NoSuchMember:
        return False


def _state(d: Any) -> str:
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


def find_domain(target: Any, spec: str) -> Domain:
    """A domain by id (decimal) or by ``struct domain`` address (hex)."""
    doms = domains(target)
    try:
        value = int(spec, 10)
        for dom in doms:
            if dom.domain_id == value:
                return dom
    except ValueError:
        pass
    try:
        value = int(spec, 16)
    except ValueError:
        raise XcrashError(f"invalid domain: {spec}") from None
    for dom in doms:
        if dom.address == value:
            return dom
    raise XcrashError(f"no domain {spec}")


# ---------------------------------------------------------------- without DWARF

def domains_from_vmcoreinfo(target: Any) -> list[Domain]:
    """Domain ids from the list links VMCOREINFO_XEN describes, and page counts from
    the frame table (``page_info._domain`` holds the owner's pickled address)."""
    vi = target.vmcoreinfo
    if vi is None:
        raise XcrashError("no DWARF and no VMCOREINFO_XEN: the domains cannot be found")
    id_off = vi.offset("domain", "domain_id") or 0
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


#: struct domain's first members (domain_id, max_vcpus, vcpu) and struct vcpu's
#: (vcpu_id, processor, vcpu_info, domain): the same since Xen 4.2
DOMAIN_MAX_VCPUS, DOMAIN_VCPU_ARRAY = 4, 8
VCPU_ID, VCPU_DOMAIN = 0, 16
VCPU_LIMIT = 4096


def vcpus_by_fixed_layout(target: Any, addr: int) -> list[int]:
    """A domain's struct vcpu addresses without DWARF: ``d->vcpu[0..max_vcpus)``
    read at the offsets struct domain has kept since 4.2, each entry checked
    (its ``domain`` is this domain, its ``vcpu_id`` its index); [] when they do not
    check out."""
    space = target.space
    try:
        count = space.read_u32(addr + DOMAIN_MAX_VCPUS)
        array = space.read_u64(addr + DOMAIN_VCPU_ARRAY)
        if not 0 < count <= VCPU_LIMIT or not array:
            return []
        pointers = [p for (p,) in struct.iter_unpack("<Q", space.read(array, 8 * count))]
        out = []
        for index, vcpu in enumerate(pointers):
            if not vcpu:
                continue
            if space.read_u64(vcpu + VCPU_DOMAIN) != addr or space.read_u32(vcpu + VCPU_ID) != index:
                return []
            out.append(vcpu)
        return out
    except MemoryError_:
        return []


#: count_info bits (x86, 4.17): allocated, Xen heap
PGC_allocated = 1 << 63
PGC_xen_heap = 1 << 62


def owner_page_counts(target: Any) -> dict[int, int] | None:
    """Pages per owning domain (xenheap pages left out), from the frame table."""
    vi = target.vmcoreinfo
    ft = target.frame_table
    if vi is None or ft is None:
        return None
    try:
        size = vi.size("page_info")
        dom_off = vi.offset("page_info", "_domain")
        cnt_off = vi.offset("page_info", "count_info")
        if size is None or dom_off is None or cnt_off is None:
            return None
        max_page = target.space.read_u64(target.global_address("max_page"))
    except (XcrashError, KeyError, TypeError):
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
