"""The kernel's vmalloc areas (the records behind `kmem -v`).

Busy ``vmap_area`` entries are on ``vmap_area_list`` (address order) until 6.9,
which spreads them over per-node ``vmap_nodes[].busy`` trees.  An area with a
``vm_struct`` (vmalloc, vmap, ioremap, module and stack allocations) is shown;
one without (vm_map_ram) is not, as in crash.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from collections.abc import Iterator

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
    if target.symbols.get("vmap_area_list") is None:
        raise XcrashError("no vmap_area_list (Linux 6.9+ keeps vmap areas per node): "
                          "not supported yet")
    va_t = target.type("struct vmap_area")
    list_off = va_t.offsetof("list")
    old_flags = va_t.has_member("flags") and va_t.has_member("purge_list")     # before 5.4
    fields = Fields(target, va_t, ("vm", "va_start", "va_end", "flags" if old_flags else "vm"))
    for link in list_for_each(target, target.address_of("vmap_area_list")):
        vm, start, end, flags = fields.read(link - list_off)
        if old_flags:
            if flags != VM_VM_AREA:
                continue
        elif not vm:
            continue
        yield VmapArea(link - list_off, vm, start, end)


def vmap_area_of(target: LinuxTarget, address: int) -> VmapArea | None:
    """The vmap area holding an address, None when none does (a failed read raises)."""
    return next((a for a in vmap_areas(target) if a.start <= address < a.end), None)
