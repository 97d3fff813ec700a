"""Memory usage summary (the record behind `kmem -i`) and the huge page sizes (`kmem -h`),
from the kernel's own counters.

Counters are read by symbol with their C sizes (no variable types needed: a BTF
kernel has none).  A counter the kernel does not have is 0 (as crash counts it); a
counter that cannot be read is :class:`Unreadable` (``?``) with a WARNING.
"""
from __future__ import annotations

import struct

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ... import parallel
from ...arch import PAGE_SHIFT, PAGE_SIZE
from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, XcrashError
from ...objects import CorruptList, Object, list_for_each_entry
from . import pages

if TYPE_CHECKING:
    from .kernel import LinuxTarget

Count = int | Unreadable


@dataclass
class MemInfo:
    """kmem -i: page counts (base pages)."""
    total: Count
    free: Count
    used: Count
    #: None: not counted (crash 9.0.2 counts it only for `kmem -i=shared`)
    shared: Count | None
    buffers: Count
    cached: Count
    slab: Count
    huge_total: Count
    huge_free: Count
    swap_total: Count
    swap_free: Count
    swap_used: Count
    commit_limit: Count
    committed: Count


def _minus(a: Count, b: Count) -> Count:
    return a if isinstance(a, Unreadable) else b if isinstance(b, Unreadable) else a - b


def _plus(a: Count, b: Count) -> Count:
    return a if isinstance(a, Unreadable) else b if isinstance(b, Unreadable) else a + b


def _unreadable(what: str, err: XcrashError) -> Unreadable:
    caveat(f"{what} unreadable ({err}): shown as ?")
    return Unreadable(str(err))


def _read(target: LinuxTarget, name: str, size: int = 8, offset: int = 0,
          signed: bool = False) -> Count | None:
    """A counter by symbol (None: the kernel has no such symbol)."""
    sym = target.symbols.get(name)
    if sym is None:
        return None
    try:
        value = int.from_bytes(target.space.read(sym.address + offset, size), "little",
                               signed=signed)
    except MemoryError_ as err:
        return _unreadable(name, err)
    return value


@dataclass
class _Stats:
    """One vm_*_stat array: atomic_long_t per enum item."""
    values: dict[str, int]
    raw: bytes | Unreadable


def _stats(target: LinuxTarget, array: str, enum: str) -> _Stats:
    values = dict(target.type(f"enum {enum}").strip_typedefs().enumerators or ())
    sym = target.symbol(array)
    try:
        raw: bytes | Unreadable = target.space.read(sym.address,
                                                    sym.size or 8 * max(values.values()))
    except MemoryError_ as err:
        raw = _unreadable(array, err)
    return _Stats(values, raw)


def _stat(stats: _Stats, item: str) -> Count:
    if item not in stats.values:
        return 0            # a counter this kernel version does not keep (crash counts 0)
    if isinstance(stats.raw, Unreadable):
        return stats.raw
    at = 8 * stats.values[item]
    return int.from_bytes(stats.raw[at:at + 8], "little", signed=True)


def blockdev_pages(target: LinuxTarget) -> Count:
    """Pages cached for block devices: the inodes of the bdev pseudo filesystem."""
    if target.symbols.get("blockdev_superblock") is None:
        return 0            # no bdev pseudo filesystem symbol: nothing counted, as crash
    try:
        sb = target.object("blockdev_superblock", target.pointer_type(
            target.type("struct super_block"))).deref_()
        inode_t = target.type("struct inode")
        total = 0
        for inode in list_for_each_entry(target, inode_t, int(sb.s_inodes.address_of_()),
                                         "i_sb_list"):
            total += int(inode.i_mapping.nrpages)
        return total
    except (MemoryError_, CorruptList) as err:
        return _unreadable("block device inodes (BUFFERS)", err)


def meminfo(target: LinuxTarget, shared: bool = False) -> MemInfo:
    """kmem -i's counts; SHARED (every struct page read) only when ``shared``."""
    total = _read(target, "_totalram_pages")
    if total is None:
        total = _read(target, "totalram_pages")
    if total is None:
        raise XcrashError("no _totalram_pages or totalram_pages symbol")
    zone = _stats(target, "vm_zone_stat", "zone_stat_item")
    node = _stats(target, "vm_node_stat", "node_stat_item")
    free = _stat(zone, "NR_FREE_PAGES")
    buffers = blockdev_pages(target)
    cached = _minus(_minus(_stat(node, "NR_FILE_PAGES"), _stat(node, "NR_SWAPCACHE")), buffers)
    if not isinstance(cached, Unreadable):
        cached = max(cached, 0)
    slab = _plus(_stat(node, "NR_SLAB_RECLAIMABLE_B"), _stat(node, "NR_SLAB_UNRECLAIMABLE_B"))
    swap_total = _read(target, "total_swap_pages", signed=True)
    swap_free = _read(target, "nr_swap_pages", signed=True)         # atomic_long_t
    swap_total = 0 if swap_total is None else swap_total            # a kernel without swap
    swap_free = 0 if swap_free is None else swap_free
    huge_total, huge_free = huge_pages(target)
    return MemInfo(total=total, free=free, used=_minus(total, free),
                   shared=shared_pages(target) if shared else None,
                   buffers=buffers, cached=cached, slab=slab, huge_total=huge_total,
                   huge_free=huge_free, swap_total=swap_total, swap_free=swap_free,
                   swap_used=_minus(swap_total, swap_free),
                   commit_limit=_commit_limit(target, total, huge_total, swap_total),
                   committed=_committed(target))


def _commit_limit(target: LinuxTarget, total: Count, huge_total: Count,
                  swap_total: Count) -> Count:
    """crash's (and the kernel's vm_commit_limit): sysctl_overcommit_kbytes in pages,
    else (RAM - huge pages) * sysctl_overcommit_ratio / 100; plus the swap."""
    kbytes = _read(target, "sysctl_overcommit_kbytes")
    if isinstance(kbytes, Unreadable):
        return kbytes
    if kbytes:
        allowed: Count = kbytes >> (PAGE_SHIFT - 10)
    else:
        ratio = _read(target, "sysctl_overcommit_ratio", 4, signed=True)
        if ratio is None:
            ratio = 50      # the kernel's default, for a kernel without the sysctl
        base = _minus(total, huge_total)
        if isinstance(ratio, Unreadable) or isinstance(base, Unreadable):
            return ratio if isinstance(ratio, Unreadable) else base
        allowed = base * ratio // 100
    return _plus(allowed, swap_total)


def _committed(target: LinuxTarget) -> Count:
    """vm_committed_as (a percpu_counter's count; never below 0), or the atomic
    vm_committed_space of older kernels."""
    if target.symbols.get("vm_committed_as") is not None:
        offset = target.offsetof("struct percpu_counter", "count")
        value = _read(target, "vm_committed_as", offset=offset, signed=True)
    else:
        value = _read(target, "vm_committed_space", 4, signed=True)
    if value is None:
        return 0            # neither counter: nothing committed to show
    return value if isinstance(value, Unreadable) else max(value, 0)


def _hstate_array(target: LinuxTarget) -> list[Object]:
    sym = target.symbols.get("hstates")
    if sym is None:
        return []
    hstate_t = target.type("struct hstate")
    return [target.object_at(hstate_t, sym.address + i * hstate_t.byte_size)
            for i in range((sym.size or 0) // hstate_t.byte_size)]


def huge_pages(target: LinuxTarget) -> tuple[Count, Count]:
    """(total, free) huge pages over every hstate, in base pages (0 for a kernel
    without hugetlbfs)."""
    total = free = 0
    try:
        for h in _hstate_array(target):
            order = int(h.order)
            total += int(h.nr_huge_pages) << order
            free += int(h.free_huge_pages) << order
    except MemoryError_ as err:
        gone = _unreadable("hstates[] (huge pages)", err)
        return gone, gone
    return total, free


def shared_pages(target: LinuxTarget) -> Count:
    """Pages in use more than once (``_refcount`` > 1, not PG_reserved), counted over
    every ``struct page`` as crash counts them for `kmem -i`'s SHARED line."""
    reserved = 1 << pages.page_flag_bits(target).get("PG_reserved", 0)
    page_t = target.type("struct page")
    size = page_t.byte_size
    flags_off = page_t.offsetof("flags")
    ref_off = page_t.offsetof("_refcount")
    vmemmap = pages.vmemmap_base(target)
    per_chunk = PAGE_SIZE // size if PAGE_SIZE % size == 0 else 1
    # flags (u64) and _refcount (s32) of every struct page of a chunk, in one unpack
    fields = sorted([(flags_off, "Q", 8), (ref_off, "i", 4)])
    one = ""
    pos = 0
    for off, code, width in fields:
        one += f"{off - pos}x{code}"
        pos = off + width
    one += f"{size - pos}x"
    job = _SharedJob(target, vmemmap, size, per_chunk, struct.Struct("<" + one * per_chunk),
                     fields[0][0] == flags_off, reserved)
    pieces = []
    for pgdat in pgdats(target):
        start = int(pgdat.node_start_pfn)
        end = start + int(pgdat.node_spanned_pages)
        first = start - start % per_chunk
        pieces += [(pfn, min(pfn + _SHARED_PIECE, end), start, end)
                   for pfn in range(first, end, _SHARED_PIECE)]
    shared = lost = read = 0
    first_error = ""
    # every struct page is read: on every CPU when there are many
    workers = None if sum(p[1] - p[0] for p in pieces) >= 4 * _SHARED_PIECE else 1
    for got, gone, seen, error in parallel.mapped(_shared_in, job, pieces, workers):
        shared += got
        lost += gone
        read += seen
        first_error = first_error or error
    if lost and not read:
        return _unreadable("SHARED: every struct page", XcrashError(first_error))
    if lost:
        caveat(f"SHARED: {lost} struct pages not in the dump ({first_error}) are not counted")
    return shared


#: struct pages per piece of the SHARED count (a piece is a process's work)
_SHARED_PIECE = 1 << 16


@dataclass
class _SharedJob:
    target: LinuxTarget
    vmemmap: int
    size: int
    per_chunk: int
    unpack: struct.Struct
    flags_first: bool
    reserved: int


def _shared_in(job: _SharedJob, piece: tuple[int, int, int, int]) -> tuple[int, int, int, str]:
    """(shared, not in the dump, read, the first error) over the struct pages of
    [lo, hi) (per_chunk aligned) within the node's [start, end)."""
    lo, hi, start, end = piece
    shared = lost = read = 0
    first_error = ""
    size, per_chunk = job.size, job.per_chunk
    for pfn in range(lo, hi, per_chunk):
        first, last = max(pfn, start), min(pfn + per_chunk, end)
        try:
            raw = job.target.space.read(job.vmemmap + pfn * size, per_chunk * size)
        except MemoryError_ as err:
            lost += last - first
            first_error = first_error or str(err)
            continue
        read += last - first
        values = job.unpack.unpack(raw)
        flag_values = values[0 if job.flags_first else 1::2]
        counts = values[1 if job.flags_first else 0::2]
        a, b = first - pfn, last - pfn
        shared += sum(1 for flags, count in zip(flag_values[a:b], counts[a:b])
                      if count > 1 and not flags & job.reserved)
    return shared, lost, read, first_error


def pgdats(target: LinuxTarget) -> list[Object]:
    """The memory nodes: ``node_data[]`` on NUMA kernels, else ``contig_page_data``."""
    # typed from the symbol's size: no DWARF variable lookup (BTF has no variables)
    sym = target.symbols.get("node_data")
    if sym is not None:
        count = max((sym.size or 8) // 8, 1)
        raw = target.read(sym.address, 8 * count)
        pointers = [int.from_bytes(raw[i:i + 8], "little") for i in range(0, len(raw), 8)]
        return [target.object_at("struct pglist_data", p) for p in pointers if p]
    return [target.object("contig_page_data", "struct pglist_data")]


@dataclass
class HugePageState:
    """A line of `kmem -h`: one huge page size."""
    address: int          # struct hstate
    size: int             # bytes per huge page
    free: int
    total: int
    name: str


def hstates(target: LinuxTarget) -> list[HugePageState]:
    """Every configured huge page size (``hstates[]`` entries with an order)."""
    if target.symbols.get("hstates") is None:
        raise XcrashError("hstates[] array does not exist (a kernel without hugetlbfs)")
    out = []
    for h in _hstate_array(target):
        order = int(h.order)
        if not order:
            continue
        out.append(HugePageState(int(h.address_of_()), PAGE_SIZE << order, int(h.free_huge_pages),
                                 int(h.nr_huge_pages), h.name.string_(32).decode()))
    return out

