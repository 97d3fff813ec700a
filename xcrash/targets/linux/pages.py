"""``struct page``: where a page frame's descriptor lives and what its flags say.

x86_64 kernels keep every ``struct page`` in the virtual memory map at
``vmemmap_base`` (randomised with KASLR, 0xffffea0000000000 without), indexed by
page frame number.  The records here are what `kmem -p`, `kmem -g` and the page
line of `kmem ADDRESS` show.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from collections.abc import Iterable, Iterator

from ...arch import PAGE_SHIFT, PAGE_SIZE
from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, NoSuchType, XcrashError
from ..base import cached_per_target

if TYPE_CHECKING:
    from .kernel import LinuxTarget

DEFAULT_VMEMMAP_BASE = 0xFFFFEA0000000000


@cached_per_target
def vmemmap_base(target: LinuxTarget) -> int:
    sym = target.symbols.get("vmemmap_base")
    return target.space.read_u64(sym.address) if sym is not None else DEFAULT_VMEMMAP_BASE


def page_size_of_struct(target: LinuxTarget) -> int:
    return target.type("struct page").byte_size


def pfn_to_page(target: LinuxTarget, pfn: int) -> int:
    """Address of the ``struct page`` of page frame ``pfn``."""
    return vmemmap_base(target) + pfn * page_size_of_struct(target)


def phys_to_page(target: LinuxTarget, paddr: int) -> int:
    """Address of the ``struct page`` of the page holding physical address ``paddr``."""
    return pfn_to_page(target, paddr >> PAGE_SHIFT)


def page_to_pfn(target: LinuxTarget, page: int) -> int:
    return (page - vmemmap_base(target)) // page_size_of_struct(target)


def compound_head(target: LinuxTarget, page: int) -> int:
    """The head page of a compound page (a tail page stores head + 1 at ``compound_head``)."""
    value = target.space.read_u64(page + target.offsetof("struct page", "compound_head"))
    return value - 1 if value & 1 else page


@cached_per_target
def page_flag_bits(target: LinuxTarget) -> dict[str, int]:
    """``enum pageflags``: every PG_ name (aliases included) and its bit."""
    return dict(target.type("enum pageflags").strip_typedefs().enumerators or ())


def page_flag(target: LinuxTarget, name: str) -> int:
    """The bit number of ``PG_<name>`` in ``page->flags``."""
    bits = page_flag_bits(target)
    if f"PG_{name}" not in bits:
        raise XcrashError(f"this kernel has no PG_{name} page flag")
    return bits[f"PG_{name}"]


def page_flags(target: LinuxTarget, page: int) -> int:
    return target.space.read_u64(page + target.offsetof("struct page", "flags"))


@dataclass
class PageFlag:
    """A bit of ``enum pageflags`` (kmem -g)."""
    name: str             # PG_slab
    bit: int

    @property
    def value(self) -> int:
        return 1 << self.bit


@dataclass
class PageFlags:
    """kmem -g: the page flag bits, or with ``flags`` only those set in it."""
    flags: int | None
    bits: list[PageFlag]
    #: the width of the name column (the longest enumerator, as crash sizes it)
    name_width: int = field(metadata={"json": False})
    #: the hex digits of the VALUE column (from the largest PG_ bit)
    value_digits: int = field(metadata={"json": False})


def page_flag_table(target: LinuxTarget, flags: int | None = None) -> PageFlags:
    """crash's `kmem -g [FLAGS]`: every PG_ enumerator (aliases too) in enum order;
    with FLAGS, only the bits set in it."""
    values = list(page_flag_bits(target).items())
    longest = max((len(n) for n, _ in values), default=9)
    largest = max((v for n, v in values if "PG_" in n), default=0)
    bits = [PageFlag(name, bit) for name, bit in values
            if "PG_" in name and not (flags and not flags >> bit & 1)]
    return PageFlags(flags, bits, longest, (largest + 1) // 4 + 1)


@dataclass
class PageInfo:
    """One struct page as crash's mem_map line shows it (kmem -p)."""
    page: int                         # struct page address
    physical: int
    mapping: int | Unreadable
    index: int | Unreadable
    count: int | Unreadable           # _refcount
    flags: int | Unreadable
    #: the kernel's names of the set flags (pageflag_names[])
    flag_names: list[str] = field(default_factory=list)


@cached_per_target
def _flag_name_table(target: LinuxTarget) -> tuple[list[tuple[int, str]], str | None]:
    """(mask, name) pairs and, when the kernel's own table could not be read, why."""
    names: list[tuple[int, str]] = []
    problem = None
    sym = target.symbols.get("pageflag_names")
    if sym is not None:
        try:
            entry_t = target.type("struct trace_print_flags")
        except NoSuchType:
            # a kernel whose types lack it (BTF of a kernel without tracing): the enum
            sym = None
    if sym is not None:
        size = entry_t.byte_size
        mask_off = entry_t.offsetof("mask")
        name_off = entry_t.offsetof("name")
        try:
            for i in range((sym.size or 0) // size):
                base = sym.address + i * size
                mask = target.space.read_u64(base + mask_off)
                name = target.space.read_u64(base + name_off)
                if not name:
                    break
                names.append((mask, target.space.read_cstring(name, 64)
                              .decode("utf-8", "replace")))
        except MemoryError_ as err:
            problem = (f"pageflag_names[] unreadable ({err}): page flag names from "
                       "enum pageflags")
            names = []
    if not names:
        names = [(1 << v, n[3:]) for n, v in page_flag_bits(target).items()
                 if n.startswith("PG_") and not n.startswith("__")]
    return names, problem


def page_flag_names(target: LinuxTarget) -> list[tuple[int, str]]:
    """(mask, name) of every page flag, from the kernel's own ``pageflag_names[]``
    (what /proc/kpageflags tools and crash use), else from ``enum pageflags``."""
    names, problem = _flag_name_table(target)
    if problem:
        caveat(problem)
    return names


class _Namer:
    """The names of the flags set in a flags word, remembered per value."""

    def __init__(self, target: LinuxTarget) -> None:
        self.table = page_flag_names(target)
        self.seen: dict[int, list[str]] = {}

    def __call__(self, flags: int) -> list[str]:
        found = self.seen.get(flags)
        if found is None:
            found = self.seen[flags] = [n for mask, n in self.table if flags & mask] if flags else []
        return found


def _offsets(target: LinuxTarget) -> dict[str, int]:
    t = target.type("struct page")
    offsets = {name: t.offsetof(name) for name in ("mapping", "_refcount", "flags")}
    # page->index is __folio_index from 7.0 (the folio owns it)
    offsets["index"] = t.offsetof("index" if t.has_member("index") else "__folio_index")
    return offsets


def _decode(raw: bytes, at: int, offs: dict[str, int], page: int, pfn: int,
            names: _Namer) -> PageInfo:
    def u64(name: str) -> int:
        return int.from_bytes(raw[at + offs[name]:at + offs[name] + 8], "little")
    flags = u64("flags")
    count = int.from_bytes(raw[at + offs["_refcount"]:at + offs["_refcount"] + 4], "little",
                           signed=True)
    return PageInfo(page=page, physical=pfn << PAGE_SHIFT, mapping=u64("mapping"),
                    index=u64("index"), count=count, flags=flags, flag_names=names(flags))


def page_info(target: LinuxTarget, page: int) -> PageInfo:
    """The struct page at ``page`` (a failed read raises)."""
    size = page_size_of_struct(target)
    raw = target.space.read(page, size)
    return _decode(raw, 0, _offsets(target), page, page_to_pfn(target, page), _Namer(target))


@cached_per_target
def max_pfn(target: LinuxTarget) -> int:
    sym = target.symbols.get("max_pfn")
    # every x86_64 kernel has max_pfn; without it, the largest physical address space
    return target.space.read_u64(sym.address) if sym is not None else 1 << 40


def is_page_struct(target: LinuxTarget, address: int) -> bool:
    """Whether ``address`` is the ``struct page`` of a page frame below ``max_pfn``."""
    base = vmemmap_base(target)
    size = page_size_of_struct(target)
    return (base <= address < base + max_pfn(target) * size
            and (address - base) % size == 0)


def page_infos(target: LinuxTarget, pfn_ranges: Iterable[tuple[int, int]]) -> Iterator[PageInfo]:
    """Every ``struct page`` of the page frames in ``pfn_ranges`` ([start, end) pairs),
    read a vmemmap page at a time, lazily.  A struct page the dump lacks is listed with
    ``?`` for what could not be read (crash shows zeros), with one WARNING at the end."""
    size = page_size_of_struct(target)
    offs = _offsets(target)
    names = _Namer(target)
    base = vmemmap_base(target)
    per_chunk = PAGE_SIZE // size if PAGE_SIZE % size == 0 else 1
    lost = 0
    first_error = ""
    for start, end in pfn_ranges:
        for first in range(start - start % per_chunk, end, per_chunk):
            try:
                raw = target.space.read(base + first * size, per_chunk * size)
            except MemoryError_ as err:
                raw, why = b"", str(err)
                first_error = first_error or why
            for pfn in range(max(first, start), min(first + per_chunk, end)):
                if raw:
                    yield _decode(raw, (pfn - first) * size, offs, base + pfn * size, pfn, names)
                    continue
                lost += 1
                gone = Unreadable(why)
                yield PageInfo(page=base + pfn * size, physical=pfn << PAGE_SHIFT,
                               mapping=gone, index=gone, count=gone, flags=gone)
    if lost:
        caveat(f"{lost} struct pages not in the dump (first: {first_error}): shown with ? "
               "(crash shows them as zeros)")
