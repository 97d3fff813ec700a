"""Xen's domains without DWARF: only VMCOREINFO_XEN's facts are known (domain id and
list link offsets, the frame table): ids come from the list, vCPUs from the arrays at
the offsets ``struct domain`` has kept, page counts from the frame table's owner fields."""
from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ...caveats import caveat
from ...dump import facts
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


#: page_info entries read at a time
FRAME_CHUNK = 4096
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
    entries = _entry_reader(size, dom_off, cnt_off)
    if entries is None:
        caveat(f"VMCOREINFO_XEN's page_info (size {size}, count_info at {cnt_off}, _domain "
               f"at {dom_off}) does not hold together: TOTPAGE not counted")
        return None
    path = getattr(target.dump, "path", None)
    known = facts.load(path, "xen-page-owners") if isinstance(path, str) else None
    if isinstance(known, dict):
        return known        # counted at an earlier opening of this dump
    space = target.space
    owners: Counter[int] = Counter()
    for first in range(0, max_page, FRAME_CHUNK):
        n = min(FRAME_CHUNK, max_page - first)
        try:
            raw = space.read(ft + first * size, n * size)
        except MemoryError_:
            continue           # a hole in the frame table (no RAM there)
        owners.update(pickled for count, pickled in entries(raw)
                      if pickled and count & PGC_allocated and not count & PGC_xen_heap)
    counts = {space.directmap_start + (pickled << 12): n for pickled, n in owners.items()}
    if isinstance(path, str):
        facts.store(path, "xen-page-owners", counts)
    return counts


def _entry_reader(size: int, dom_off: int, cnt_off: int
                  ) -> Callable[[bytes], Iterator[tuple[int, int]]] | None:
    """(count_info, pickled _domain) of each page_info of a piece of the frame table, one
    C-level unpack a piece; None when the two members do not fit in the entry apart."""
    if cnt_off + 8 <= dom_off and dom_off + 4 <= size:
        return struct.Struct(f"<{cnt_off}xQ{dom_off - cnt_off - 8}xI{size - dom_off - 4}x").iter_unpack
    if dom_off + 4 <= cnt_off and cnt_off + 8 <= size:
        swapped = struct.Struct(f"<{dom_off}xI{cnt_off - dom_off - 4}xQ{size - cnt_off - 8}x")
        return lambda raw: ((count, pickled) for pickled, count in swapped.iter_unpack(raw))
    return None
