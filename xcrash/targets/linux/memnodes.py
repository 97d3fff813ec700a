"""Memory nodes, their zones and the sparse memory sections (the record behind `kmem -n`).

x86_64 kernels use SPARSEMEM_EXTREME: ``mem_section`` points at an array of root
pointers, each to a page of ``struct mem_section``; a section covers 128 MiB
(2^15 page frames).  ``section_mem_map`` holds the section's mem_map encoded as
``mem_map - first_pfn * sizeof(struct page)`` with state bits in its low bits
(present, has a mem_map, online, early, zone-device).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...arch import PAGE_SHIFT, PAGE_SIZE
from ...caveats import caveat
from ...errors import MemoryError_
from ...objects import list_for_each
from . import pages
from .freepages import zone_name
from .meminfo import pgdats

if TYPE_CHECKING:
    from .kernel import LinuxTarget

SECTION_SIZE_BITS = 27
PFN_SECTION_SHIFT = SECTION_SIZE_BITS - PAGE_SHIFT
STATE_BITS = [(1, "P"), (2, "M"), (4, "O"), (8, "E"), (16, "D")]
STATE_MASK = 0x3F     # the state bits (up to SECTION_MAP_LAST_BIT); mem_maps are 64-byte aligned


@dataclass
class NodeZone:
    index: int
    address: int          # struct zone
    name: str
    spanned: int
    mem_map: int          # struct page of its first pfn (0 when empty)
    start_pfn: int


@dataclass
class MemoryNode:
    node: int
    pgdat: int
    spanned: int
    start_pfn: int
    mem_map: int
    zones: list[NodeZone] = field(default_factory=list)


@dataclass
class MemSection:
    nr: int
    address: int          # struct mem_section
    coded_mem_map: int    # section_mem_map without its state bits
    state: str
    pfn: int              # the section's first page frame
    mem_map: int          # its first struct page (coded_mem_map decoded)


def memory_nodes(target: LinuxTarget) -> list[MemoryNode]:
    zone_t = target.type("struct zone")
    out = []
    for pgdat in pgdats(target):
        start = int(pgdat.node_start_pfn)
        node = MemoryNode(int(pgdat.node_id), int(pgdat.address_of_()), int(pgdat.node_spanned_pages), start,
                          pages.pfn_to_page(target, start))
        zones = pgdat.node_zones
        for i in range(zones.type_.strip_typedefs().length or 0):
            z = zones[i]
            spanned = int(z.spanned_pages)
            zone_start = int(z.zone_start_pfn) if spanned else 0
            node.zones.append(NodeZone(
                i, int(zones.address_of_()) + i * zone_t.byte_size,
                zone_name(target, int(z.name)),
                spanned, pages.pfn_to_page(target, zone_start) if spanned else 0, zone_start))
        out.append(node)
    return out


def mem_sections(target: LinuxTarget) -> list[MemSection]:
    """Every present memory section, in section order ([] for a kernel without
    SPARSEMEM).  The sections of a root that cannot be read are left out, with a
    WARNING."""
    sym = target.symbols.get("mem_section")
    if sym is None:
        return []           # FLATMEM: no sections to list
    size = target.type("struct mem_section").byte_size
    page_size = pages.page_size_of_struct(target)
    per_root = PAGE_SIZE // size
    # MAX_PHYSMEM_BITS: 52 with 5-level paging (a space without page tables: 4 levels)
    physmem_bits = 52 if getattr(target.space, "levels", 4) == 5 else 46
    roots = (1 << (physmem_bits - SECTION_SIZE_BITS)) // per_root
    base = target.space.read_u64(sym.address)
    out = []
    root_ptrs = target.space.read(base, 8 * roots)
    for r in range(roots):
        root = int.from_bytes(root_ptrs[8 * r:8 * r + 8], "little")
        if not root:
            continue
        try:
            raw = target.space.read(root, per_root * size)
        except MemoryError_ as err:
            caveat(f"mem_section root {r} at {root:x} unreadable ({err}): sections "
                   f"{r * per_root}-{(r + 1) * per_root - 1} left out")
            continue
        for j in range(per_root):
            value = int.from_bytes(raw[j * size:j * size + 8], "little")
            if not value & 1:              # SECTION_MARKED_PRESENT
                continue
            state = "".join(letter for bit, letter in STATE_BITS if value & bit)
            nr = r * per_root + j
            coded = value & ~STATE_MASK
            pfn = nr << PFN_SECTION_SHIFT
            out.append(MemSection(nr, root + j * size, coded, state, pfn,
                                  (coded + pfn * page_size) & 0xFFFFFFFFFFFFFFFF))
    return out


MEMORY_STATES = {1: "ONLINE", 2: "GOING_OFFLINE", 4: "OFFLINE", 8: "GOING_ONLINE",
                 16: "CANCEL_ONLINE", 32: "CANCEL_OFFLINE"}


@dataclass
class MemoryBlock:
    address: int          # struct memory_block
    name: str             # "memory0"
    start: int            # physical address
    end: int | None       # last byte, None when the block size is unknown
    nid: int
    state: str
    start_section: int


def memory_blocks(target: LinuxTarget) -> list[MemoryBlock]:
    """The memory hotplug blocks (/sys/devices/system/memory), in the memory bus's
    device order; [] on kernels without CONFIG_MEMORY_HOTPLUG or after 6.3 (whose
    bus_type lost its ``p``), which crash does not list either."""
    if target.symbols.get("memory_subsys") is None:
        return []
    bus = target.object("memory_subsys", "struct bus_type")
    if not bus.type_.has_member("p"):
        return []
    private = int(bus.p)
    if not private:
        return []
    sp = target.object_at(target.type("struct subsys_private"), private)
    dp_t = target.type("struct device_private")
    knode_off = dp_t.offsetof("knode_bus.n_node")
    mb_t = target.type("struct memory_block")
    dev_off = mb_t.offsetof("dev")
    size_sym = target.symbols.get("memory_block_size_probed")
    block_size = target.space.read_u64(size_sym.address) if size_sym is not None else None
    out = []
    for link in list_for_each(target, int(sp.klist_devices.k_list.address_of_())):
        device = int(target.object_at(dp_t, link - knode_off).device)
        address = device - dev_off
        mb = target.object_at(mb_t, address)
        start_sec = int(mb.start_section_nr)
        start = start_sec << SECTION_SIZE_BITS
        end = start + block_size - 1 if block_size is not None else (
            ((int(mb.end_section_nr) + 1) << SECTION_SIZE_BITS) - 1 if mb.type_.has_member("end_section_nr")
            else None)
        name_ptr = int(mb.dev.kobj.name)
        out.append(MemoryBlock(address,
                               target.space.read_cstring(name_ptr, 32).decode() if name_ptr else "",
                               start, end, int(mb.nid) if mb.type_.has_member("nid") else 0,
                               MEMORY_STATES.get(int(mb.state), "UNKNOWN"), start_sec))
    return out


@dataclass
class MemoryMap:
    """kmem -n: the memory nodes with their zones, the present memory sections and
    the memory hotplug blocks."""
    nodes: list[MemoryNode]
    sections: list[MemSection]
    blocks: list[MemoryBlock]


def memory_map(target: LinuxTarget) -> MemoryMap:
    return MemoryMap(memory_nodes(target), mem_sections(target), memory_blocks(target))


def section_pfn_ranges(target: LinuxTarget) -> list[tuple[int, int]]:
    """The page frames of every present memory section, as crash's `kmem -p` walks
    them: [start, end) per section (up to max_pfn on a kernel without sections)."""
    sections = mem_sections(target)
    if not sections:
        return [(0, pages.max_pfn(target))]
    return [(s.pfn, s.pfn + (1 << PFN_SECTION_SHIFT)) for s in sections]
