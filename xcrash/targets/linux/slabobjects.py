"""Where an address lies in slab memory: the cache, the slab and the object holding it
(`kmem -s ADDRESS`, `kmem ADDRESS`), one slab with its objects and which are free, and
the cache name of an address (`bt -F`, `rd -S`)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...arch import PAGE_SHIFT
from ...caveats import caveat
from ...errors import MemoryError_
from ...objects import CorruptList
from . import pages
from .slab import MASK64, RawCache, SlabCache, SlubReader, cache_set, cache_addresses, slub_reader

if TYPE_CHECKING:
    from .kernel import LinuxTarget


@dataclass
class SlabPage:
    """One slab and its objects: a SLAB line of `kmem -s ADDRESS` and `kmem -S`."""
    slab: int                 # address of its struct slab (struct page before 5.17)
    memory: int               # direct-map address of its first byte
    node: int
    objects: list[int]        # each object's address (after any left red zone)
    free: set[int]
    cpu: int | None           # the CPU whose active slab this is
    object_size: int          # kmem_cache.size: the stride

    @property
    def allocated(self) -> int:
        return len(self.objects) - len(self.free)

    def object_containing(self, address: int) -> int | None:
        for start in self.objects:
            if start <= address < start + self.object_size:
                return start
        return None


@dataclass(kw_only=True)
class SlabObject(SlabCache):
    """`kmem -s ADDRESS`: the cache, the slab holding the address and the object
    containing it (``address`` None: a slab shown with every object)."""
    address: int | None
    slab: SlabPage
    object: int | None
    object_free: bool


def _slab_of(target: LinuxTarget, r: SlubReader, address: int) -> tuple[int, int] | None:
    """(struct slab, its kmem_cache) for an address in slab memory; None when the
    address is not mapped or its page is not a slab page.  A struct page that cannot
    be read raises."""
    paddr = target.translate(address).paddr
    if paddr is None:
        return None
    page = pages.pfn_to_page(target, paddr >> PAGE_SHIFT)
    slab_bit = pages.page_flag(target, "slab")
    if not pages.page_flags(target, page) >> slab_bit & 1:
        page = pages.compound_head(target, page)
        if not pages.page_flags(target, page) >> slab_bit & 1:
            return None
    cache = r.space.read_u64(page + r.s_cache)
    return (page, cache) if cache in cache_set(target) else None


def _object(r: SlubReader, raw: RawCache, slab: SlabPage, address: int | None) -> SlabObject:
    cache = r.cache(raw)
    start = slab.object_containing(address) if address is not None else None
    return SlabObject(**{f.name: getattr(cache, f.name) for f in dataclasses.fields(SlabCache)
                         if f.init},
                      address=address, slab=slab, object=start,
                      object_free=start is not None and start in slab.free)


def slab_containing(target: LinuxTarget, address: int) -> SlabObject | None:
    """The cache, slab and object holding ``address``; None when the address is not
    slab memory."""
    r = slub_reader(target)
    found = _slab_of(target, r, address)
    if found is None:
        return None
    page, cache = found
    raw = RawCache(r, cache)
    return _object(r, raw, describe_slab(target, r, raw, page), address)


def slab_of_page(target: LinuxTarget, page: int) -> SlabObject | None:
    """The slab described by the struct page at ``page``, with every object; None
    when the page is not a slab page."""
    head = pages.compound_head(target, page)
    if not pages.page_flags(target, head) >> pages.page_flag(target, "slab") & 1:
        return None
    r = slub_reader(target)
    cache = r.space.read_u64(head + r.s_cache)
    if not cache:
        return None
    raw = RawCache(r, cache)
    return _object(r, raw, describe_slab(target, r, raw, head), None)


def _in_sheaves(r: SlubReader, raw: RawCache) -> set[int]:
    try:
        return raw.sheaf_objects(r)
    except (MemoryError_, CorruptList) as err:
        caveat(f"slab cache {raw.name}: sheaves unreadable ({err}): the objects they hold "
               "are shown as allocated")
        return set()


def describe_slab(target: LinuxTarget, r: SlubReader, raw: RawCache, page: int) -> SlabPage:
    """One slab: its objects and which are free — on its own freelist, and on a
    CPU's lockless freelist when it is that CPU's active slab."""
    _inuse, nobjects = r.slab_counts(page)
    pfn = pages.page_to_pfn(target, page)
    memory = r.space.page_offset + (pfn << PAGE_SHIFT)
    objects = [memory + i * raw.size + raw.red_left_pad for i in range(nobjects)]
    free = set(r.freelist(raw, r.space.read_u64(page + r.s_freelist), nobjects))
    cpu = None
    free |= _in_sheaves(r, raw).intersection(objects)     # 6.18+: cached in sheaves
    for n, offset in enumerate(r.cpu_offsets if raw.cpu_slab else ()):   # none on 7.0+
        kcc = (raw.cpu_slab + offset) & MASK64
        if r.space.read_u64(kcc + r.k_slab) == page:
            cpu = n
            free |= set(r.freelist(raw, r.space.read_u64(kcc + r.k_freelist), nobjects))
            break
    return SlabPage(slab=page, memory=memory, node=r.node_of(pfn), objects=objects, free=free,
                    cpu=cpu, object_size=raw.size)


class SlabNames:
    """The name of the slab cache an address belongs to, or None (crash's
    vaddr_to_kmem_cache, used by `bt -F` and `rd -S`): built once, then a few reads
    per address."""

    def __init__(self, target: LinuxTarget) -> None:
        self.target = target
        self.reader = slub_reader(target)
        self.names = {a: RawCache(self.reader, a).name for a in cache_addresses(target)}

    def __call__(self, address: int) -> str | None:
        """The cache's name (a struct page that cannot be read raises: the caller
        says what it shows instead)."""
        found = _slab_of(self.target, self.reader, address)
        name = self.names.get(found[1]) if found else None
        return name if isinstance(name, str) else None
