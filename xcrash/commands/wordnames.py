"""Names for the words of a stack or of memory: a kernel symbol, or the slab cache an
address points into (crash's bt -F and rd -S)."""
from __future__ import annotations

from typing import Any, Callable

from ..errors import XcrashError


def word_namer(target: Any, with_address: bool = False) -> Callable[[int], str | None]:
    """crash's naming of memory words for `bt -F` and `rd -S`: a readable address
    inside a kernel symbol as symbol+offset, else the slab cache of the object it
    points into (``[dentry]``; ``[address:dentry]`` for -FF / -SS)."""
    slab_names: list[Any] = []

    def slab_name(value: int) -> str | None:
        if not slab_names:
            from ..targets.linux.slab import SlabNames
            try:
                slab_names.append(SlabNames(target))
            except XcrashError:      # not SLUB, or no slab symbols: symbols only
                slab_names.append(lambda _value: None)
        return slab_names[0](value)

    def name(value: int) -> str | None:
        if value < 0xFFFF800000000000 or not target.space.is_readable(value):
            return None
        hit = target.symbols.resolve(value)
        if hit is not None and hit[1] <= (hit[0].size or 0x1000) and \
                not target.symbols.in_percpu_section(hit[0]):
            return f"{hit[0].name}+{hit[1]}" if hit[1] else hit[0].name
        cache = slab_name(value)
        if cache is None:
            return None
        return f"[{value:x}:{cache}]" if with_address else f"[{cache}]"
    return name
