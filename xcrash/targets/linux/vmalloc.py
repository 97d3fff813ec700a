"""The kernel's vmalloc areas (the records behind `kmem -v`).

Busy ``vmap_area`` entries are on ``vmap_area_list`` (address order) until 6.9,
which spreads them over per-node ``vmap_nodes[].busy`` lists (each in address order;
crash sorts them all, as we do).  An area with a
``vm_struct`` (vmalloc, vmap, ioremap, module and stack allocations) is shown;
one without (vm_map_ram) is not, as in crash.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from collections.abc import Iterable, Iterator

from ...errors import XcrashError
from ...objects import Fields, list_for_each

if TYPE_CHECKING:
    from .kernel import LinuxTarget

VM_VM_AREA = 0x4


@dataclass
class VmapArea:
    """A line of `kmem -v`."""
    address: int          # struct vmap_area
    vm_struct: int
    start: int
    end: int
    size: int = field(init=False)     # end - start: the guard page included

    def __post_init__(self) -> None:
        self.size = self.end - self.start


def vmap_areas(target: LinuxTarget) -> Iterator[VmapArea]:
    """The busy vmalloc areas with a vm_struct, in address order."""
    va_t = target.type("struct vmap_area")
    list_off = va_t.offsetof("list")
    old_flags = va_t.has_member("flags") and va_t.has_member("purge_list")     # before 5.4
    fields = Fields(target, va_t, ("vm", "va_start", "va_end", "flags" if old_flags else "vm"))
    areas: Iterable[tuple[int, int, int, int, int]] = (
        (link - list_off, *fields.read(link - list_off)) for link in _busy_links(target))
    if target.symbols.get("vmap_area_list") is None:
        # 6.9+: each node's busy list is in address order, the nodes' are not merged
        areas = sorted(areas, key=lambda a: a[2])
    for address, vm, start, end, flags in areas:
        if old_flags:
            if flags != VM_VM_AREA:
                continue
        elif not vm:
            continue
        yield VmapArea(address, vm, start, end)


def _busy_links(target: LinuxTarget) -> Iterator[int]:
    """The list links of the busy vmap areas: vmap_area_list, or from 6.9 on each of
    the nr_vmap_nodes vmap_nodes[].busy.head lists."""
    if target.symbols.get("vmap_area_list") is not None:
        yield from list_for_each(target, target.address_of("vmap_area_list"))
        return
    if target.symbols.get("vmap_nodes") is None:
        raise XcrashError("neither vmap_area_list nor vmap_nodes: where the vmalloc areas "
                          "are is not known")
    node_t = target.type("struct vmap_node")
    busy = node_t.offsetof("busy") + target.type("struct rb_list").offsetof("head")
    nodes = target.space.read_u64(target.address_of("vmap_nodes"))
    count = target.space.read_u32(target.address_of("nr_vmap_nodes"))
    for i in range(count):
        yield from list_for_each(target, nodes + i * node_t.byte_size + busy)


def vmap_area_of(target: LinuxTarget, address: int) -> VmapArea | None:
    """The vmap area holding an address, None when none does (a failed read raises)."""
    return next((a for a in vmap_areas(target) if a.start <= address < a.end), None)
