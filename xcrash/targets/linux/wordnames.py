"""Names for the words of a stack or of memory: the kernel symbol an address lies in, or
the slab cache of the object it points into (crash's ``bt -F`` and ``rd -S``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from collections.abc import Callable

from ...caveats import caveat
from ...errors import MemoryError_, XcrashError

if TYPE_CHECKING:
    from .kernel import LinuxTarget
    from .slabobjects import SlabNames

#: below it no kernel address (the user half and the non-canonical hole)
KERNEL_HALF = 0xFF00000000000000      # 5-level paging's upper half (4-level's starts above)


@dataclass(frozen=True)
class WordName:
    """What a memory word points at: a kernel symbol (``symbol+offset``) or, failing
    that, an object of a slab cache."""
    symbol: str | None = None
    slab_cache: str | None = None

    def text(self, value: int, with_address: bool = False) -> str:
        """crash's spelling: ``symbol+offset``, ``[cache]`` or (-FF, -SS) ``[value:cache]``."""
        if self.symbol is not None:
            return self.symbol
        return f"[{value:x}:{self.slab_cache}]" if with_address else f"[{self.slab_cache}]"


def word_names(target: LinuxTarget) -> Callable[[int], WordName | None]:
    """A namer of memory words, as crash's ``bt -F`` and ``rd -S`` name them: a readable
    address inside a kernel symbol, else inside a slab object; None for other words.
    The slab caches are read on the first word that needs them."""
    slabs: list[SlabNames | None] = []

    def slab_cache(value: int) -> str | None:
        if not slabs:
            from .slabobjects import SlabNames
            try:
                slabs.append(SlabNames(target))
            except XcrashError as err:
                caveat(f"slab caches unknown ({err}): words that point into slab objects "
                       "are shown as numbers")
                slabs.append(None)
        names = slabs[0]
        if names is None:
            return None
        try:
            return names(value)
        except MemoryError_ as err:
            caveat(f"slab page of {value:x} unreadable ({err}): the word is shown as a number")
            return None

    def name(value: int) -> WordName | None:
        if value < KERNEL_HALF or not target.space.is_readable(value):
            return None
        hit = target.symbols.resolve(value)
        if hit is not None and hit[1] <= (hit[0].size or 0x1000) and \
                not target.symbols.in_percpu_section(hit[0]):
            sym = hit[0].name
            return WordName(symbol=f"{sym}+{hit[1]}" if hit[1] else sym)
        cache = slab_cache(value)
        return WordName(slab_cache=cache) if cache is not None else None
    return name


def word_namer(target: LinuxTarget, with_address: bool = False) -> Callable[[int], str | None]:
    """The words' names as text (``rd -S`` / ``-SS``): see :func:`word_names`."""
    names = word_names(target)

    def text(value: int) -> str | None:
        found = names(value)
        return found.text(value, with_address) if found is not None else None
    return text
