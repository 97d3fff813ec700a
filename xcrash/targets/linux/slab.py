"""SLUB slab caches and their counts: the records behind `kmem -s` (where an address lies
in slab memory is ``slabobjects.py``'s, every slab of a cache ``slablists.py``'s).

For every ``struct kmem_cache`` on ``slab_caches`` the object and slab totals come
from the per-node counters (``kmem_cache_node.nr_slabs``/``total_objects``, kept with
CONFIG_SLUB_DEBUG); the free objects are counted as the allocator sees them:

* each CPU's active slab: ``objects - inuse`` plus the objects on the CPU's lockless
  freelist (``kmem_cache_cpu.freelist``, a chain through each free object at
  ``kmem_cache.offset``, obfuscated with CONFIG_SLAB_FREELIST_HARDENED as
  ``ptr ^ s->random ^ swab(address of the pointer)``);
* each CPU's partial slabs (``kmem_cache_cpu.partial``, linked by ``slab.next``);
* each node's partial slabs (``kmem_cache_node.partial``): ``objects - inuse``.

Linux 6.18 added per-CPU *sheaves*, arrays of free objects (``kmem_cache.cpu_sheaves``:
``main`` and ``spare``) refilled from and returned to a per-node *barn* of full and
empty sheaves (``kmem_cache_node.barn``; ``kmem_cache.per_node[].barn`` from 7.1), and
7.0 removed the per-CPU slabs.  The slabs count the objects of a sheaf as in use, so
they are added to the free ones: every object in a CPU's main and spare sheaves and in
the barns' full sheaves (as drgn counts them); the ``rcu_free`` sheaf's objects wait for
a grace period and count as allocated, as objects queued by kfree_rcu did before
(crash 9.0.2 cannot read the caches of 7.x at all).

Allocated = total - free, which is what crash prints.  Linux 5.17 split ``struct
slab`` out of ``struct page``; both layouts are read.  SLAB and SLOB kernels are
refused with a clear error.  What could not be read is said in each record's
``problems`` (crash's ``kmem: NAME: ...`` lines).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from collections.abc import Collection, Iterable, Iterator

from ...arch import PAGE_SIZE
from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, NoSuchType, XcrashError
from ...objects import CorruptList, list_for_each
from ..base import cached_per_target

if TYPE_CHECKING:
    from ...symbols.types import Type
    from .kernel import LinuxTarget

MASK64 = 0xFFFFFFFFFFFFFFFF
SLAB_RED_ZONE = 0x400
SLAB_STORE_USER = 0x10000
#: more slabs than this on one CPU's partial list is a loop in a damaged dump
CPU_PARTIAL_LIMIT = 100_000


class SlabError(XcrashError):
    """The kernel's slab allocator cannot be read."""


@dataclass
class SlabCache:
    """A line of `kmem -s`: one ``struct kmem_cache`` and its counts."""
    cache: int                # struct kmem_cache
    name: str | Unreadable
    objsize: int              # kmem_cache.object_size: what the caller asked for
    size: int                 # kmem_cache.size: object plus metadata and padding
    objects_per_slab: int
    slab_size: int            # bytes: PAGE_SIZE << order
    slabs: int
    total: int
    free: int
    #: what could not be read (the counts leave it out): crash's "kmem: NAME: ..." lines
    problems: list[str]
    allocated: int = field(init=False)

    def __post_init__(self) -> None:
        self.allocated = self.total - self.free


def say_problems(cache: SlabCache) -> None:
    """A WARNING for each part of a cache that could not be read (its counts leave
    it out)."""
    for problem in cache.problems:
        caveat(f"slab cache {cache.name}: {problem}: not counted")


def _swab64(value: int) -> int:
    return int.from_bytes(value.to_bytes(8, "little"), "big")


class SlubReader:
    """Offsets and raw reads for one kernel's SLUB structures, resolved once."""

    def __init__(self, target: LinuxTarget) -> None:
        self.target = target
        self.space = target.space
        if target.symbols.get("slab_caches") is None:
            raise SlabError("no slab_caches symbol: not a slab-allocator kernel")
        try:
            cache_t = target.type("struct kmem_cache")
            node_t = target.type("struct kmem_cache_node")
            #: 6.18+: per-CPU sheaves of free objects; 7.0+: no per-CPU slabs
            self.sheaves = cache_t.has_member("cpu_sheaves")
            cpu_slabs = cache_t.has_member("cpu_slab")
            if not cpu_slabs and not self.sheaves:
                raise NoSuchType("struct kmem_cache_cpu")
            cpu_t = target.type("struct kmem_cache_cpu") if cpu_slabs else None
        except NoSuchType:
            raise SlabError("this kernel does not use SLUB (no struct kmem_cache_cpu nor "
                            "per-CPU sheaves); only SLUB caches can be listed") from None
        try:
            slab_t = target.type("struct slab")
            if not slab_t.has_member("slab_cache"):
                slab_t = target.type("struct page")     # a struct slab that is not SLUB's
        except NoSuchType:
            slab_t = target.type("struct page")         # before Linux 5.17

        def off(t: Type, name: str) -> int:
            return t.offsetof(name)

        def maybe(t: Type, name: str) -> int | None:
            return t.offsetof(name) if t.has_member(name) else None

        self.c_list = off(cache_t, "list")
        self.c_name = off(cache_t, "name")
        self.c_object_size = off(cache_t, "object_size")
        self.c_size = off(cache_t, "size")
        self.c_offset = off(cache_t, "offset")
        self.c_oo = off(cache_t, "oo")
        self.c_cpu_slab = maybe(cache_t, "cpu_slab")
        self.c_cpu_sheaves = maybe(cache_t, "cpu_sheaves")
        # the nodes: node[] of pointers, or (7.1+) per_node[] of {barn, node} pointers
        per_node = cache_t.has_member("per_node")
        nodes_member = "per_node" if per_node else "node"
        self.c_node = off(cache_t, nodes_member)
        node_array = cache_t.member(nodes_member)[1].type.strip_typedefs()
        element = node_array.target.strip_typedefs()
        self.node_stride = element.byte_size
        self.node_ptr = element.offsetof("node") if per_node else 0
        #: where a node's barn pointer is: in per_node[] (7.1+), in kmem_cache_node (6.18+)
        self.barn_in_per_node = element.offsetof("barn") if per_node else None
        self.n_barn = maybe(node_t, "barn")
        # kmem_cache is allocated only up to node[nr_node_ids]: what follows is not ours
        declared = node_array.length or 1
        nr_node_ids = target.symbols.get("nr_node_ids")
        self.nr_nodes = (min(target.space.read_u32(nr_node_ids.address), declared)
                         if nr_node_ids is not None else declared)
        self.c_flags = off(cache_t, "flags")
        self.c_red_left_pad = maybe(cache_t, "red_left_pad")
        self.c_random = maybe(cache_t, "random")
        self.n_nr_partial = off(node_t, "nr_partial")
        self.n_partial = off(node_t, "partial")
        self.n_full = maybe(node_t, "full")
        if not node_t.has_member("total_objects"):
            raise SlabError("kmem_cache_node has no total_objects (kernel built without "
                            "CONFIG_SLUB_DEBUG): slab totals are not kept")
        self.n_nr_slabs = off(node_t, "nr_slabs")
        self.n_total_objects = off(node_t, "total_objects")
        if self.sheaves:
            pcs_t = target.type("struct slub_percpu_sheaves")
            sheaf_t = target.type("struct slab_sheaf")
            barn_t = target.type("struct node_barn")
            self.h_main, self.h_spare = off(pcs_t, "main"), off(pcs_t, "spare")
            self.f_size, self.f_objects = off(sheaf_t, "size"), off(sheaf_t, "objects")
            self.f_list = off(sheaf_t, "barn_list")
            self.b_full = off(barn_t, "sheaves_full")
            self.b_nr_full = off(barn_t, "nr_full")
        self.k_freelist = off(cpu_t, "freelist") if cpu_t is not None else 0
        self.k_slab = (off(cpu_t, "slab" if cpu_t.has_member("slab") else "page")
                       if cpu_t is not None else 0)
        self.k_partial = maybe(cpu_t, "partial") if cpu_t is not None else None
        self.s_list = off(slab_t, "slab_list" if slab_t.has_member("slab_list") else "lru")
        self.s_next = maybe(slab_t, "next")
        self.s_counters = off(slab_t, "counters")
        self.s_freelist = off(slab_t, "freelist")
        self.s_cache = off(slab_t, "slab_cache")
        self.cpu_offsets = target.per_cpu_offsets or [0]
        self._node_ranges: list[tuple[int, int, int]] | None = None
        self._node_problem = ""

    def node_of(self, pfn: int) -> int:
        """The memory node holding page frame ``pfn``."""
        if self._node_ranges is None:
            from .meminfo import pgdats
            try:
                self._node_ranges = [(int(p.node_start_pfn),
                                      int(p.node_start_pfn) + int(p.node_spanned_pages),
                                      int(p.node_id)) for p in pgdats(self.target)]
            except MemoryError_ as err:
                self._node_ranges = []
                self._node_problem = f"memory nodes unreadable ({err}): slabs shown on node 0"
        if self._node_problem:
            caveat(self._node_problem)
        return next((node for start, end, node in self._node_ranges if start <= pfn < end), 0)

    # -- one slab -----------------------------------------------------------------
    def slab_counts(self, slab: int) -> tuple[int, int]:
        """(inuse, objects) of one slab: the 16- and 15-bit fields of ``counters``."""
        counters = self.space.read_u32(slab + self.s_counters)
        return counters & 0xFFFF, (counters >> 16) & 0x7FFF

    def freelist(self, cache: RawCache, first: int, limit: int) -> Iterator[int]:
        """The free objects chained from ``first`` (at most ``limit``, loops stopped:
        a freelist holds at most the slab's objects, each once)."""
        seen: set[int] = set()
        obj = first
        while obj and obj not in seen and len(seen) < limit:
            seen.add(obj)
            yield obj
            where = obj + cache.offset
            stored = self.space.read_u64(where)
            obj = stored if cache.random is None else stored ^ cache.random ^ _swab64(where)

    def sheaf_objects(self, raw: RawCache) -> Iterator[int]:
        """The free objects held in sheaves (7.0+): each CPU's main and spare sheaf,
        then each node's barn's full sheaves."""
        for offset in self.cpu_offsets if raw.cpu_sheaves else ():
            pcs = (raw.cpu_sheaves + offset) & MASK64
            for member in (self.h_main, self.h_spare):
                sheaf = self.space.read_u64(pcs + member)
                if sheaf:
                    yield from self._sheaf(sheaf, raw.objects_cap)
        for barn in raw.barns:
            head = barn + self.b_full
            expected = self.space.read_u32(barn + self.b_nr_full)
            for n, link in enumerate(list_for_each(self.target, head)):
                if n > expected + 1000:
                    raise CorruptList(head, link, f"more full sheaves than nr_full ({expected})")
                yield from self._sheaf(link - self.f_list, raw.objects_cap)

    def _sheaf(self, sheaf: int, cap: int) -> list[int]:
        size = self.space.read_u32(sheaf + self.f_size)
        if size > cap:
            raise CorruptList(sheaf, size, f"a sheaf of {size} objects (capacity {cap})")
        raw = self.space.read(sheaf + self.f_objects, 8 * size)
        return [int.from_bytes(raw[i:i + 8], "little") for i in range(0, 8 * size, 8)]

    def cpu_partial(self, kcc: int) -> Iterator[int]:
        """The slabs on one CPU's partial list (``slab.next`` chain, NULL-ended)."""
        if self.k_partial is None or self.s_next is None:
            return
        link = self.space.read_u64(kcc + self.k_partial)
        seen: set[int] = set()
        while link:
            if link in seen or len(seen) >= CPU_PARTIAL_LIMIT:
                raise CorruptList(kcc + self.k_partial, link, "loop in the CPU partial list")
            seen.add(link)
            yield link
            link = self.space.read_u64(link + self.s_next)

    # -- one cache -----------------------------------------------------------------
    def cache(self, raw: RawCache) -> SlabCache:
        problems: list[str] = []
        free = 0
        if self.sheaves:
            try:
                free += len(raw.sheaf_objects(self))
            except (MemoryError_, CorruptList) as e:
                problems.append(f"sheaves: {e}")
        for cpu, offset in enumerate(self.cpu_offsets if raw.cpu_slab else ()):
            kcc = (raw.cpu_slab + offset) & MASK64
            try:
                free += self._cpu_free(raw, kcc)
            except (MemoryError_, CorruptList) as e:
                problems.append(f"cpu {cpu} slab: {e}")
        slabs = total = 0
        for node in raw.nodes:
            try:
                slabs += self.space.read_u64(node + self.n_nr_slabs)
                total += self.space.read_u64(node + self.n_total_objects)
                free += self._partial_free(node, problems)
            except MemoryError_ as e:
                problems.append(f"node {node:#x}: {e}")
        return SlabCache(cache=raw.address, name=raw.name, objsize=raw.object_size,
                         size=raw.size, objects_per_slab=raw.objects, slab_size=raw.slab_size,
                         slabs=slabs, total=total, free=free, problems=problems)

    def _cpu_free(self, raw: RawCache, kcc: int) -> int:
        free = 0
        slab = self.space.read_u64(kcc + self.k_slab)
        if slab:
            inuse, objects = self.slab_counts(slab)
            free += max(objects - inuse, 0)
            first = self.space.read_u64(kcc + self.k_freelist)
            free += sum(1 for _ in self.freelist(raw, first, objects or raw.objects))
        for partial in self.cpu_partial(kcc):
            inuse, objects = self.slab_counts(partial)
            free += max(objects - inuse, 0)
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


@cached_per_target
def slub_reader(target: LinuxTarget) -> SlubReader:
    """The SLUB reader of a target (its offsets resolved once)."""
    return SlubReader(target)


class RawCache:
    """The few fields of one ``struct kmem_cache`` the counts need."""

    def __init__(self, r: SlubReader, address: int) -> None:
        sp = r.space
        self.address = address
        name = sp.read_u64(address + r.c_name)
        self.name: str | Unreadable
        try:
            self.name = sp.read_cstring(name, 64).decode("utf-8", "replace") if name else "(unnamed)"
        except MemoryError_ as err:
            caveat(f"name of kmem_cache {address:x} unreadable ({err}): shown as ?")
            self.name = Unreadable(str(err))
        self.object_size = sp.read_u32(address + r.c_object_size)
        self.size = sp.read_u32(address + r.c_size)
        self.offset = sp.read_u32(address + r.c_offset)
        oo = sp.read_u32(address + r.c_oo)
        self.objects = oo & 0xFFFF
        self.slab_size = PAGE_SIZE << (oo >> 16)
        self.cpu_slab = sp.read_u64(address + r.c_cpu_slab) if r.c_cpu_slab is not None else 0
        self.cpu_sheaves = (sp.read_u64(address + r.c_cpu_sheaves)
                            if r.c_cpu_sheaves is not None else 0)
        self.random = sp.read_u64(address + r.c_random) if r.c_random is not None else None
        self.flags = sp.read_u32(address + r.c_flags)
        self.red_left_pad = (sp.read_u32(address + r.c_red_left_pad)
                             if self.flags & SLAB_RED_ZONE and r.c_red_left_pad is not None else 0)
        per_node = [address + r.c_node + r.node_stride * i for i in range(r.nr_nodes)]
        self.nodes = [n for n in (sp.read_u64(p + r.node_ptr) for p in per_node) if n]
        barns = ([sp.read_u64(p + r.barn_in_per_node) for p in per_node]
                 if r.barn_in_per_node is not None else
                 [sp.read_u64(n + r.n_barn) for n in self.nodes] if r.n_barn is not None else [])
        self.barns = [b for b in barns if b]
        #: most objects a sheaf can hold: a larger size is damage
        self.objects_cap = 4096
        self._sheaf_objects: set[int] | None = None

    def sheaf_objects(self, r: SlubReader) -> set[int]:
        """The free objects the cache's sheaves hold (7.0+; read once)."""
        if self._sheaf_objects is None:
            self._sheaf_objects = set(r.sheaf_objects(self)) if r.sheaves else set()
        return self._sheaf_objects


@cached_per_target
def cache_addresses(target: LinuxTarget) -> list[int]:
    """Every ``struct kmem_cache`` on ``slab_caches``, in list order (newest first)."""
    r = slub_reader(target)
    head = target.address_of("slab_caches")
    return [link - r.c_list for link in list_for_each(target, head)]


@cached_per_target
def cache_set(target: LinuxTarget) -> frozenset[int]:
    """The caches' addresses, to tell whether a slab's ``slab_cache`` is one."""
    return frozenset(cache_addresses(target))


def raw_caches(target: LinuxTarget, names: Iterable[str] | None) -> list[RawCache]:
    """The caches to show: all, in list order, or those named, in the order asked
    (caches of the same name in list order; an unknown name is an error before
    anything is shown)."""
    r = slub_reader(target)
    raws = [RawCache(r, address) for address in cache_addresses(target)]
    if names is None:
        return raws
    by_name: dict[str, list[RawCache]] = {}
    for raw in raws:
        if isinstance(raw.name, str):
            by_name.setdefault(raw.name, []).append(raw)     # crash shows every namesake
    wanted = list(names)
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise SlabError(f"no slab cache named {', '.join(missing)} (`kmem -s` lists them)")
    return [raw for n in wanted for raw in by_name[n]]


def slab_caches(target: LinuxTarget, names: Iterable[str] | None = None) -> Iterator[SlabCache]:
    """The SLUB caches (only those in ``names``, in that order, when given) with their
    counts, one at a time (an unknown name or a kernel without SLUB raises at once)."""
    r = slub_reader(target)
    return (r.cache(raw) for raw in raw_caches(target, names))


@dataclass
class IgnoredCache:
    """A cache `kmem -s -I NAME` leaves out: crash names it, tagged [IGNORED]."""
    cache: int
    name: str | Unreadable


def counted_caches(target: LinuxTarget, names: Iterable[str] | None = None,
                   ignore: Collection[str] = ()) -> Iterator[SlabCache | IgnoredCache]:
    """slab_caches, those named in ``ignore`` not counted (kmem -I)."""
    r = slub_reader(target)
    return (IgnoredCache(raw.address, raw.name) if raw.name in ignore else r.cache(raw)
            for raw in raw_caches(target, names))


def cache_names(target: LinuxTarget) -> set[str]:
    """The names of the slab caches (to tell a cache name from an address)."""
    r = slub_reader(target)
    return {raw.name for raw in (RawCache(r, a) for a in cache_addresses(target))
            if isinstance(raw.name, str)}
