"""Memory usage summary (the numbers behind `kmem -i`), from the kernel's counters."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import MemoryError_, XcrashError
from ...objects import CorruptList, list_for_each_entry


@dataclass
class MemInfo:
    total: int
    free: int
    shared: int
    buffers: int
    cached: int
    slab: int
    huge_total: int
    huge_free: int
    swap_total: int
    swap_free: int
    commit_limit: int
    committed: int


def _stat(target: Any, array: str, enum: str, item: str) -> int:
    values = dict(target.type(f"enum {enum}").strip_typedefs().enumerators or ())
    if item not in values:
        return 0
    return int(target.object(array)[values[item]].counter)


def _percpu_counter(target: Any, name: str) -> int:
    try:
        return max(int(target.object(name).count), 0)
    except XcrashError:
        return 0


def blockdev_pages(target: Any) -> int:
    """Pages cached for block devices: the inodes of the bdev pseudo filesystem."""
    try:
        sb = target.object("blockdev_superblock").deref_()
        inode_t = target.type("struct inode")
        total = 0
        for inode in list_for_each_entry(target, inode_t, sb.s_inodes.address_, "i_sb_list"):
            total += int(inode.i_mapping.nrpages)
        return total
    except (XcrashError, CorruptList):
        return 0


def meminfo(target: Any) -> MemInfo:
    total = int(target.object("_totalram_pages").counter)
    free = _stat(target, "vm_zone_stat", "zone_stat_item", "NR_FREE_PAGES")
    buffers = blockdev_pages(target)
    file_pages = _stat(target, "vm_node_stat", "node_stat_item", "NR_FILE_PAGES")
    swapcache = _stat(target, "vm_node_stat", "node_stat_item", "NR_SWAPCACHE")
    slab = sum(_stat(target, "vm_node_stat", "node_stat_item", item)
               for item in ("NR_SLAB_RECLAIMABLE_B", "NR_SLAB_UNRECLAIMABLE_B"))
    shared = shared_pages(target)
    swap_total = _int(target, "total_swap_pages")
    swap_free = _atomic(target, "nr_swap_pages")
    try:
        ratio = int(target.object("sysctl_overcommit_ratio"))
    except XcrashError:
        ratio = 50
    huge_total, huge_free = huge_pages(target)
    return MemInfo(total=total, free=free, shared=shared, buffers=buffers,
                   cached=max(file_pages - swapcache - buffers, 0), slab=slab,
                   huge_total=huge_total, huge_free=huge_free, swap_total=swap_total,
                   swap_free=swap_free, commit_limit=total * ratio // 100 + swap_total,
                   committed=_percpu_counter(target, "vm_committed_as"))


def huge_pages(target: Any) -> tuple[int, int]:
    """(total, free) huge pages over every hstate, in base pages."""
    total = free = 0
    try:
        hstates = target.object("hstates")
        for i in range(int(target.object("hugetlb_max_hstate"))):
            h = hstates[i]
            order = int(h.order)
            total += int(h.nr_huge_pages) << order
            free += int(h.free_huge_pages) << order
    except XcrashError:
        pass
    return total, free


def shared_pages(target: Any) -> int:
    """Pages in use more than once (``_refcount`` > 1, not PG_reserved), counted over
    every ``struct page`` as crash counts them for `kmem -i`'s SHARED line."""
    flags_enum = dict(target.type("enum pageflags").strip_typedefs().enumerators or ())
    reserved = 1 << flags_enum.get("PG_reserved", 0)
    page_t = target.type("struct page")
    size = page_t.byte_size
    flags_off = page_t.member("flags")[0] // 8
    ref_off = page_t.member("_refcount")[0] // 8
    vmemmap = target.space.read_u64(target.address_of("vmemmap_base"))
    shared = 0
    for pgdat in pgdats(target):
        start = int(pgdat.node_start_pfn)
        end = start + int(pgdat.node_spanned_pages)
        per_chunk = 4096 // size if 4096 % size == 0 else 1
        pfn = start - start % per_chunk
        while pfn < end:
            try:
                raw = target.space.read(vmemmap + pfn * size, per_chunk * size)
            except MemoryError_:
                pfn += per_chunk
                continue
            for i in range(per_chunk):
                if not start <= pfn + i < end:
                    continue
                off = i * size
                flags = int.from_bytes(raw[off + flags_off:off + flags_off + 8], "little")
                count = int.from_bytes(raw[off + ref_off:off + ref_off + 4], "little", signed=True)
                if not flags & reserved and count > 1:
                    shared += 1
            pfn += per_chunk
    return shared


def pgdats(target: Any) -> list[Any]:
    """The memory nodes: ``node_data[]`` on NUMA kernels, else ``contig_page_data``."""
    # typed from the symbol's size: no DWARF variable lookup (BTF has no variables)
    sym = target.symbols.get("node_data")
    if sym is not None:
        count = max((sym.size or 8) // 8, 1)
        raw = target.read(sym.address, 8 * count)
        pointers = [int.from_bytes(raw[i:i + 8], "little") for i in range(0, len(raw), 8)]
        return [target.object_at("struct pglist_data", p) for p in pointers if p]
    return [target.object("contig_page_data", "struct pglist_data")]


def _int(target: Any, name: str) -> int:
    try:
        return int(target.object(name))
    except XcrashError:
        return 0


def _atomic(target: Any, name: str) -> int:
    try:
        return int(target.object(name).counter)
    except XcrashError:
        return 0


@dataclass
class HugePageState:
    address: int          # struct hstate
    size: int             # bytes per huge page
    free: int
    total: int
    name: str


def hstates(target: Any) -> list[HugePageState]:
    """Every configured huge page size (``hstates[]`` entries with an order)."""
    sym = target.symbols.get("hstates")
    if sym is None:
        raise XcrashError("hstates[] array does not exist (a kernel without hugetlbfs)")
    hstate_t = target.type("struct hstate")
    out = []
    for i in range((sym.size or 0) // hstate_t.byte_size):
        h = target.object_at(hstate_t, sym.address + i * hstate_t.byte_size)
        order = int(h.order)
        if not order:
            continue
        out.append(HugePageState(h.address_, 4096 << order, int(h.free_huge_pages),
                                 int(h.nr_huge_pages), h.name.string_(32).decode()))
    return out
