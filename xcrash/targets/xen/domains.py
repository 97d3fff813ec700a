"""Xen domains: each ``struct domain`` read through DWARF, and what ``doms``/``domain``
show.  Which domains there are, in crash's order, is ``domainlist.py``'s; without DWARF
``domains_untyped.py`` reads what VMCOREINFO_XEN describes.

Xen 4.17 has no ``guest_type``: a domain is HVM/PVH when
``options & XEN_DOMCTL_CDF_hvm``.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, NoSuchMember, NoSuchType, XcrashError
from ...objects import Object
from ...symbols.types import Kind
from . import layout
from .domainlist import VCPU_LIMIT, Domain, all_domain_addresses, hardware_domain, type_letter
from .domains_untyped import domains_from_vmcoreinfo
from .pcpus import crashing_vcpu, pcpus, running_vcpus

if TYPE_CHECKING:
    from .hypervisor import XenTarget

XEN_DOMCTL_CDF_hvm = 1 << 0


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
    dom = Domain(addr, domid, type_letter(domid, addr, hw))
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
