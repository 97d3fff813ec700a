"""The kernel's vmalloc areas (the numbers behind `kmem -v`).

Busy ``vmap_area`` entries are on ``vmap_area_list`` (address order) until 6.9,
which spreads them over per-node ``vmap_nodes[].busy`` trees.  An area with a
``vm_struct`` (vmalloc, vmap, ioremap, module and stack allocations) is shown;
one without (vm_map_ram) is not, as in crash.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import MemoryError_, XcrashError
from ...objects import list_for_each


@dataclass
class VmapArea:
    address: int          # struct vmap_area
    vm_struct: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


def vmap_areas(target: Any) -> list[VmapArea]:
    if target.symbols.get("vmap_area_list") is None:
        raise XcrashError("no vmap_area_list (Linux 6.9+ keeps vmap areas per node): "
                          "not supported yet")
    va_t = target.type("struct vmap_area")
    list_off = va_t.member("list")[0] // 8
    out = []
    for link in list_for_each(target, target.address_of("vmap_area_list")):
        va = target.object_at(va_t, link - list_off)
        if va.type_.has_member("flags") and va.type_.has_member("purge_list"):
            if int(va.flags) != 0x4:            # VM_VM_AREA, before 5.4
                continue
        elif not int(va.vm):
            continue
        out.append(VmapArea(link - list_off, int(va.vm), int(va.va_start), int(va.va_end)))
    return out


def vmap_area_of(target: Any, address: int) -> "VmapArea | None":
    """The vmap area holding an address, None when none does (or they cannot be read)."""
    try:
        return next((a for a in vmap_areas(target) if a.start <= address < a.end), None)
    except (MemoryError_, XcrashError):
        return None
