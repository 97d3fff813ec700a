"""SLUB slab caches: the numbers behind `kmem -s`.

For every ``struct kmem_cache`` on ``slab_caches`` the object and slab totals come
from the per-node counters (``kmem_cache_node.nr_slabs``/``total_objects``, kept with
CONFIG_SLUB_DEBUG); the free objects are counted as the allocator sees them:

* each CPU's active slab: ``objects - inuse`` plus the objects on the CPU's lockless
  freelist (``kmem_cache_cpu.freelist``, a chain through each free object at
  ``kmem_cache.offset``, obfuscated with CONFIG_SLAB_FREELIST_HARDENED as
  ``ptr ^ s->random ^ swab(address of the pointer)``);
* each CPU's partial slabs (``kmem_cache_cpu.partial``, linked by ``slab.next``);
* each node's partial slabs (``kmem_cache_node.partial``): ``objects - inuse``.

Allocated = total - free, which is what crash prints.  Linux 5.17 split ``struct
slab`` out of ``struct page``; both layouts are read.  SLAB and SLOB kernels are
refused with a clear error.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from ...arch import PAGE_SHIFT, PAGE_SIZE
from ...errors import MemoryError_, XcrashError



class SlabError(XcrashError):
    """The kernel's slab allocator cannot be read."""


@dataclass
class SlabCache:
    address: int
    name: str
    object_size: int      # kmem_cache.object_size: what the caller asked for
    size: int             # kmem_cache.size: object plus metadata and padding
    objects_per_slab: int
    slab_size: int        # bytes: PAGE_SIZE << order
    slabs: int
    total: int
    free: int
    problems: list[str]

    @property
    def allocated(self) -> int:
        return self.total - self.free


def _swab64(value: int) -> int:
    return int.from_bytes(value.to_bytes(8, "little"), "big")


class SlubReader:
    """Offsets and raw reads for one kernel's SLUB structures, resolved once."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.space = target.space
        if target.symbols.get("slab_caches") is None:
            raise SlabError("no slab_caches symbol: not a slab-allocator kernel")
        try:
            cache_t = target.type("struct kmem_cache")
            node_t = target.type("struct kmem_cache_node")
            cpu_t = target.type("struct kmem_cache_cpu")
        except XcrashError:
            raise SlabError("this kernel does not use SLUB (no struct kmem_cache_cpu); "
                            "only SLUB caches can be listed") from None
        try:
            slab_t = target.type("struct slab")
            if not slab_t.has_member("slab_cache"):
                raise XcrashError("struct slab is not SLUB's")
        except XcrashError:
            slab_t = target.type("struct page")     # before Linux 5.17
        self.c_list = cache_t.member("list")[0] // 8
        self.c_name = cache_t.member("name")[0] // 8
        self.c_object_size = cache_t.member("object_size")[0] // 8
        self.c_size = cache_t.member("size")[0] // 8
        self.c_offset = cache_t.member("offset")[0] // 8
        self.c_oo = cache_t.member("oo")[0] // 8
        self.c_cpu_slab = cache_t.member("cpu_slab")[0] // 8
        self.c_node = cache_t.member("node")[0] // 8
        # kmem_cache is allocated only up to node[nr_node_ids]: what follows is not ours
        declared = cache_t.member("node")[1].type.strip_typedefs().length or 1
        nr_node_ids = target.symbols.get("nr_node_ids")
        self.nr_nodes = (min(target.space.read_u32(nr_node_ids.address), declared)
                         if nr_node_ids is not None else declared)
        self.c_flags = cache_t.member("flags")[0] // 8
        self.c_red_left_pad = (cache_t.member("red_left_pad")[0] // 8
                               if cache_t.has_member("red_left_pad") else None)
        self.c_random = cache_t.member("random")[0] // 8 if cache_t.has_member("random") else None
        self.n_nr_partial = node_t.member("nr_partial")[0] // 8
        self.n_partial = node_t.member("partial")[0] // 8
        self.n_full = node_t.member("full")[0] // 8 if node_t.has_member("full") else None
        if not node_t.has_member("total_objects"):
            raise SlabError("kmem_cache_node has no total_objects (kernel built without "
                            "CONFIG_SLUB_DEBUG): slab totals are not kept")
        self.n_nr_slabs = node_t.member("nr_slabs")[0] // 8
        self.n_total_objects = node_t.member("total_objects")[0] // 8
        self.k_freelist = cpu_t.member("freelist")[0] // 8
        self.k_slab = cpu_t.member("slab" if cpu_t.has_member("slab") else "page")[0] // 8
        self.k_partial = cpu_t.member("partial")[0] // 8 if cpu_t.has_member("partial") else None
        self.s_list = slab_t.member("slab_list" if slab_t.has_member("slab_list") else "lru")[0] // 8
        self.s_next = slab_t.member("next")[0] // 8 if slab_t.has_member("next") else None
        self.s_counters = slab_t.member("counters")[0] // 8
        self.s_freelist = slab_t.member("freelist")[0] // 8
        self.s_cache = slab_t.member("slab_cache")[0] // 8
        self.cpu_offsets = target.per_cpu_offsets or [0]
        self._node_ranges: list[tuple[int, int, int]] | None = None

    def node_of(self, pfn: int) -> int:
        """The memory node holding page frame ``pfn`` (0 when the nodes cannot be read)."""
        if self._node_ranges is None:
            from .meminfo import pgdats
            try:
                self._node_ranges = [(int(p.node_start_pfn),
                                      int(p.node_start_pfn) + int(p.node_spanned_pages),
                                      int(p.node_id)) for p in pgdats(self.target)]
            except XcrashError:
                self._node_ranges = []
        return next((node for start, end, node in self._node_ranges if start <= pfn < end), 0)

    # -- one slab -----------------------------------------------------------------
    def slab_counts(self, slab: int) -> tuple[int, int]:
        """(inuse, objects) of one slab: the 16- and 15-bit fields of ``counters``."""
        counters = self.space.read_u32(slab + self.s_counters)
        return counters & 0xFFFF, (counters >> 16) & 0x7FFF

    def freelist(self, cache: "RawCache", first: int, limit: int) -> Iterator[int]:
        """The free objects chained from ``first`` (at most ``limit``, loops stopped)."""
        seen: set[int] = set()
        obj = first
        while obj and obj not in seen and len(seen) < limit:
            seen.add(obj)
            yield obj
            where = obj + cache.offset
            stored = self.space.read_u64(where)
            obj = stored if cache.random is None else stored ^ cache.random ^ _swab64(where)

    # -- one cache -----------------------------------------------------------------
    def cache(self, address: int) -> SlabCache:
        raw = RawCache(self, address)
        problems: list[str] = []
        free = 0
        for cpu, offset in enumerate(self.cpu_offsets):
            kcc = (raw.cpu_slab + offset) & 0xFFFFFFFFFFFFFFFF
            try:
                free += self._cpu_free(raw, kcc)
            except MemoryError_ as e:
                problems.append(f"cpu {cpu} slab: {e}")
        slabs = total = 0
        for node in raw.nodes:
            try:
                slabs += self.space.read_u64(node + self.n_nr_slabs)
                total += self.space.read_u64(node + self.n_total_objects)
                free += self._partial_free(node, problems)
            except MemoryError_ as e:
                problems.append(f"node {node:#x}: {e}")
        return SlabCache(address=address, name=raw.name, object_size=raw.object_size,
                         size=raw.size, objects_per_slab=raw.objects, slab_size=raw.slab_size,
                         slabs=slabs, total=total, free=free, problems=problems)

    def _cpu_free(self, raw: "RawCache", kcc: int) -> int:
        free = 0
        slab = self.space.read_u64(kcc + self.k_slab)
        if slab:
            inuse, objects = self.slab_counts(slab)
            free += max(objects - inuse, 0)
            first = self.space.read_u64(kcc + self.k_freelist)
            free += sum(1 for _ in self.freelist(raw, first, objects or raw.objects))
        if self.k_partial is not None and self.s_next is not None:
            partial = self.space.read_u64(kcc + self.k_partial)
            seen: set[int] = set()
            while partial and partial not in seen and len(seen) < 100_000:
                seen.add(partial)
                inuse, objects = self.slab_counts(partial)
                free += max(objects - inuse, 0)
                partial = self.space.read_u64(partial + self.s_next)
        return free

    def _partial_free(self, node: int, problems: list[str]) -> int:
        head = node + self.n_partial
        expected = self.space.read_u64(node + self.n_nr_partial)
        free = 0
        link = self.space.read_u64(head)
        seen = 0
        while link != head:
            if seen > expected + 1000:
                problems.append(f"node {node:#x}: partial list longer than nr_partial ({expected})")
                break
            inuse, objects = self.slab_counts(link - self.s_list)
            free += max(objects - inuse, 0)
            link = self.space.read_u64(link)
            seen += 1
        return free


class RawCache:
    """The few fields of one ``struct kmem_cache`` the counts need."""

    def __init__(self, r: SlubReader, address: int) -> None:
        sp = r.space
        self.address = address
        name = sp.read_u64(address + r.c_name)
        try:
            self.name = sp.read_cstring(name, 64).decode("utf-8", "replace") if name else "(unnamed)"
        except MemoryError_:
            self.name = "(unknown)"
        self.object_size = sp.read_u32(address + r.c_object_size)
        self.size = sp.read_u32(address + r.c_size)
        self.offset = sp.read_u32(address + r.c_offset)
        oo = sp.read_u32(address + r.c_oo)
        self.objects = oo & 0xFFFF
        self.slab_size = PAGE_SIZE << (oo >> 16)
        self.cpu_slab = sp.read_u64(address + r.c_cpu_slab)
        self.random = sp.read_u64(address + r.c_random) if r.c_random is not None else None
        nodes = [sp.read_u64(address + r.c_node + 8 * i) for i in range(r.nr_nodes)]
        self.nodes = [n for n in nodes if n]


def cache_addresses(target: Any) -> list[int]:
    """Every ``struct kmem_cache`` on ``slab_caches``, in list order (newest first)."""
    from ...objects import list_for_each
    r = SlubReader(target)
    head = target.address_of("slab_caches")
    return [link - r.c_list for link in list_for_each(target, head)]


def slab_caches(target: Any, name: str | None = None) -> list[SlabCache]:
    """The SLUB caches (only the one called ``name`` when given), with their counts."""
    r = SlubReader(target)
    out = []
    for address in cache_addresses(target):
        if name is not None and RawCache(r, address).name != name:
            continue
        out.append(r.cache(address))
    return out


SLAB_RED_ZONE = 0x400


@dataclass
class SlabPage:
    """One slab and the objects in it: what `kmem -s ADDRESS` shows."""
    cache: SlabCache
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


def _slab_of(target: Any, r: SlubReader, address: int) -> tuple[int, int, int] | None:
    """(struct slab, its kmem_cache, physical address) for an address in slab memory."""
    from . import pages
    paddr = target.translate(address).paddr
    if paddr is None:
        return None
    try:
        page = pages.pfn_to_page(target, paddr >> PAGE_SHIFT)
        slab_bit = pages.page_flag(target, "slab")
        if not pages.page_flags(target, page) >> slab_bit & 1:
            page = pages.compound_head(target, page)
            if not pages.page_flags(target, page) >> slab_bit & 1:
                return None
        cache = r.space.read_u64(page + r.s_cache)
    except MemoryError_:
        return None
    return (page, cache, paddr) if cache else None


def slab_containing(target: Any, address: int) -> SlabPage | None:
    """The slab holding ``address``, or None when the address is not slab memory."""
    r = SlubReader(target)
    found = _slab_of(target, r, address)
    if found is None:
        return None
    page, cache_addr, _paddr = found
    return describe_slab(target, r, RawCache(r, cache_addr), r.cache(cache_addr), page)


def describe_slab(target: Any, r: SlubReader, raw: RawCache, cache: SlabCache,
                  page: int) -> SlabPage:
    """One slab: its objects and which are free — on its own freelist, and on a
    CPU's lockless freelist when it is that CPU's active slab."""
    from . import pages
    _inuse, nobjects = r.slab_counts(page)
    memory = r.space.page_offset + (pages.page_to_pfn(target, page) << PAGE_SHIFT)
    flags = r.space.read_u32(raw.address + r.c_flags)
    pad = r.space.read_u32(raw.address + r.c_red_left_pad) if (
        flags & SLAB_RED_ZONE and r.c_red_left_pad is not None) else 0
    objects = [memory + i * raw.size + pad for i in range(nobjects)]
    free = set(r.freelist(raw, r.space.read_u64(page + r.s_freelist), nobjects))
    cpu = None
    for n, offset in enumerate(r.cpu_offsets):
        kcc = (raw.cpu_slab + offset) & 0xFFFFFFFFFFFFFFFF
        if r.space.read_u64(kcc + r.k_slab) == page:
            cpu = n
            free |= set(r.freelist(raw, r.space.read_u64(kcc + r.k_freelist), nobjects))
            break
    return SlabPage(cache=cache, slab=page, memory=memory,
                    node=r.node_of(pages.page_to_pfn(target, page)),
                    objects=objects, free=free, cpu=cpu, object_size=raw.size)


class SlabNames:
    """The name of the slab cache an address belongs to, or None (crash's
    vaddr_to_kmem_cache, used by `bt -F`): built once, then a few reads per address."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.reader = SlubReader(target)
        self.names = {a: RawCache(self.reader, a).name for a in cache_addresses(target)}

    def __call__(self, address: int) -> str | None:
        found = _slab_of(self.target, self.reader, address)
        return self.names.get(found[1]) if found else None


SLAB_STORE_USER = 0x10000


@dataclass
class CpuSlabs:
    cpu: int
    kmem_cache_cpu: int
    active: SlabPage | None
    partial: list[SlabPage]


@dataclass
class NodeSlabs:
    node: int
    address: int                  # struct kmem_cache_node
    slabs: int
    partial_count: int
    per_cpu: int                  # active CPU slabs on this node
    partial: list[SlabPage]
    full: list[SlabPage] | None   # None: not tracked (no SLAB_STORE_USER)


@dataclass
class CacheSlabs:
    """Every slab of a cache as `kmem -S` shows them."""
    cache: SlabCache
    cpus: list[CpuSlabs]
    nodes: list[NodeSlabs]
    problems: list[str]       # slabs that could not be read (pages missing from the dump)


def cache_slabs(target: Any, name: str | None = None) -> list[CacheSlabs]:
    """The slabs of every cache (or of the one called ``name``): each CPU's active
    and partial slabs, each node's partial list and, when tracked, its full list."""
    r = SlubReader(target)
    out = []
    for address in cache_addresses(target):
        raw = RawCache(r, address)
        if name is not None and raw.name != name:
            continue
        out.append(_cache_slabs(target, r, raw, r.cache(address)))
    return out


def _cache_slabs(target: Any, r: SlubReader, raw: RawCache, cache: SlabCache) -> CacheSlabs:
    problems: list[str] = []

    def describe(page: int) -> SlabPage | None:
        try:
            return describe_slab(target, r, raw, cache, page)
        except MemoryError_ as e:
            problems.append(f"slab {page:x}: {e}")
            return None

    cpus = []
    per_node: dict[int, int] = {}
    for n, offset in enumerate(r.cpu_offsets):
        kcc = (raw.cpu_slab + offset) & 0xFFFFFFFFFFFFFFFF
        active = None
        partial: list[SlabPage] = []
        try:
            page = r.space.read_u64(kcc + r.k_slab)
            active = describe(page) if page else None
            link = r.space.read_u64(kcc + r.k_partial) if r.k_partial is not None else 0
            seen = 0
            while link and seen < 100_000 and r.s_next is not None:
                seen += 1
                sp = describe(link)
                if sp is not None:
                    partial.append(sp)
                link = r.space.read_u64(link + r.s_next)
        except MemoryError_ as e:
            problems.append(f"cpu {n}: {e}")
        if active is not None:
            per_node[active.node] = per_node.get(active.node, 0) + 1
        cpus.append(CpuSlabs(n, kcc, active, partial))
    flags = r.space.read_u32(raw.address + r.c_flags)
    nodes = []
    for i, node in enumerate(raw.nodes):
        try:
            partial = [sp for sp in map(describe, _list_slabs(r, node + r.n_partial)) if sp]
            full = None
            if flags & SLAB_STORE_USER and r.n_full is not None:
                full = [sp for sp in map(describe, _list_slabs(r, node + r.n_full)) if sp]
            nodes.append(NodeSlabs(i, node, r.space.read_u64(node + r.n_nr_slabs),
                                   r.space.read_u64(node + r.n_nr_partial), per_node.get(i, 0),
                                   partial, full))
        except MemoryError_ as e:
            problems.append(f"node {i}: {e}")
    return CacheSlabs(cache, cpus, nodes, problems)


def _list_slabs(r: SlubReader, head: int) -> list[int]:
    out = []
    link = r.space.read_u64(head)
    while link != head and link and len(out) < 1_000_000:
        out.append(link - r.s_list)
        link = r.space.read_u64(link)
    return out


def slab_of_page(target: Any, page: int) -> Any:
    """The slab described by the struct page at ``page`` (with every object), or None."""
    from . import pages
    head = pages.compound_head(target, page)
    if not pages.page_flags(target, head) >> pages.page_flag(target, "slab") & 1:
        return None
    r = SlubReader(target)
    cache = r.space.read_u64(head + r.s_cache)
    return describe_slab(target, r, RawCache(r, cache), r.cache(cache), head) if cache else None
