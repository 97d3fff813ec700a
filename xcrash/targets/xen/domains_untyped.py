"""Xen's domains without DWARF: only VMCOREINFO_XEN's facts are known (domain id and
list link offsets, the frame table): ids come from the list, vCPUs from the arrays at
the offsets ``struct domain`` has kept, page counts from the frame table's owner fields."""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ...caveats import caveat
from ...errors import MemoryError_, NoSuchSymbol, XcrashError
from . import layout
from .domainlist import (VCPU_LIMIT, Domain, domain_list, fixed_layout, idle_domain,
                         special_domains, type_letter)

if TYPE_CHECKING:
    from .hypervisor import XenTarget


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
    counts = target.page_owner_counts
    out = []
    for addr in addrs:
        domid = target.space.read_u16(addr + id_off)
        dom = Domain(addr, domid, type_letter(domid, addr, None), state="??",
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
        fixed = fixed_layout(target)
        count = space.read_u32(addr + layout.DOMAIN_MAX_VCPUS)
        array = space.read_u64(addr + fixed.domain_vcpu_array)
        if not 0 < count <= VCPU_LIMIT or not array:
            return []
        pointers = [p for (p,) in struct.iter_unpack("<Q", space.read(array, 8 * count))]
        out = []
        for index, vcpu in enumerate(pointers):
            if not vcpu:
                continue
            if space.read_u64(vcpu + fixed.vcpu_domain) != addr \
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
