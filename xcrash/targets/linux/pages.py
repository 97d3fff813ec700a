"""``struct page``: where a page frame's descriptor lives and what its flags say.

x86_64 kernels keep every ``struct page`` in the virtual memory map at
``vmemmap_base`` (randomised with KASLR, 0xffffea0000000000 without), indexed by
page frame number.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...arch import PAGE_SHIFT
from ...errors import XcrashError

DEFAULT_VMEMMAP_BASE = 0xFFFFEA0000000000


def vmemmap_base(target: Any) -> int:
    sym = target.symbols.get("vmemmap_base")
    return target.space.read_u64(sym.address) if sym is not None else DEFAULT_VMEMMAP_BASE


def page_size_of_struct(target: Any) -> int:
    return target.type("struct page").byte_size


def pfn_to_page(target: Any, pfn: int) -> int:
    """Address of the ``struct page`` of page frame ``pfn``."""
    return vmemmap_base(target) + pfn * page_size_of_struct(target)


def page_to_pfn(target: Any, page: int) -> int:
    return (page - vmemmap_base(target)) // page_size_of_struct(target)


def compound_head(target: Any, page: int) -> int:
    """The head page of a compound page (a tail page stores head + 1 at ``compound_head``)."""
    offset = _member_offset(target, "struct page", "compound_head")
    value = target.space.read_u64(page + offset)
    return value - 1 if value & 1 else page


def page_flag(target: Any, name: str) -> int:
    """The bit number of ``PG_<name>`` in ``page->flags``."""
    values = dict(target.type("enum pageflags").strip_typedefs().enumerators or ())
    if f"PG_{name}" not in values:
        raise XcrashError(f"this kernel has no PG_{name} page flag")
    return values[f"PG_{name}"]


def page_flags(target: Any, page: int) -> int:
    return target.space.read_u64(page + _member_offset(target, "struct page", "flags"))


def _member_offset(target: Any, type_name: str, member: str) -> int:
    return target.type(type_name).member(member)[0] // 8


@dataclass
class PageInfo:
    page: int             # struct page address
    physical: int
    mapping: int
    index: int
    count: int            # _refcount
    flags: int


def page_flag_names(target: Any) -> list[tuple[int, str]]:
    """(mask, name) of every page flag, from the kernel's own ``pageflag_names[]``
    (what /proc/kpageflags tools and crash use), else from ``enum pageflags``."""
    cached = getattr(target, "_page_flag_names", None)
    if cached is not None:
        return cached
    names: list[tuple[int, str]] = []
    sym = target.symbols.get("pageflag_names")
    if sym is not None:
        try:
            entry_t = target.type("struct trace_print_flags")
            size = entry_t.byte_size
            mask_off = entry_t.member("mask")[0] // 8
            name_off = entry_t.member("name")[0] // 8
            for i in range((sym.size or 0) // size):
                base = sym.address + i * size
                mask = target.space.read_u64(base + mask_off)
                name = target.space.read_u64(base + name_off)
                if not name:
                    break
                names.append((mask, target.space.read_cstring(name, 64).decode("utf-8", "replace")))
        except XcrashError:
            names = []
    if not names:
        values = target.type("enum pageflags").strip_typedefs().enumerators or ()
        names = [(1 << v, n[3:]) for n, v in values if n.startswith("PG_") and not n.startswith("__")]
    target._page_flag_names = names
    return names


def page_info(target: Any, page: int) -> PageInfo:
    t = target.type("struct page")
    raw = target.space.read(page, t.byte_size)

    def field(name: str, size: int = 8) -> int:
        off = t.member(name)[0] // 8
        return int.from_bytes(raw[off:off + size], "little")
    return PageInfo(page=page, physical=page_to_pfn(target, page) << PAGE_SHIFT,
                    mapping=field("mapping"), index=field("index"),
                    count=int.from_bytes(raw[t.member("_refcount")[0] // 8:][:4], "little", signed=True),
                    flags=field("flags"))


def max_pfn(target: Any) -> int:
    sym = target.symbols.get("max_pfn")
    return target.space.read_u64(sym.address) if sym is not None else 1 << 40


def is_page_struct(target: Any, address: int) -> bool:
    """Whether ``address`` is the ``struct page`` of a page frame below ``max_pfn``."""
    base = vmemmap_base(target)
    size = page_size_of_struct(target)
    return (base <= address < base + max_pfn(target) * size
            and (address - base) % size == 0)


def page_infos(target: Any, end_pfn: int) -> list[PageInfo]:
    """Every readable ``struct page`` below ``end_pfn``, read a vmemmap page at a time
    (a struct page that the dump lacks is left out)."""
    from ...errors import MemoryError_
    t = target.type("struct page")
    size = t.byte_size
    offs = {name: t.member(name)[0] // 8 for name in ("mapping", "index", "_refcount", "flags")}
    base = vmemmap_base(target)
    per_chunk = 4096 // size if 4096 % size == 0 else 1
    out = []
    for first in range(0, end_pfn, per_chunk):
        try:
            raw = target.space.read(base + first * size, per_chunk * size)
        except MemoryError_:
            continue
        for i in range(min(per_chunk, end_pfn - first)):
            o = i * size

            def u64(name: str) -> int:
                return int.from_bytes(raw[o + offs[name]:o + offs[name] + 8], "little")
            out.append(PageInfo(page=base + (first + i) * size, physical=(first + i) << PAGE_SHIFT,
                                mapping=u64("mapping"), index=u64("index"),
                                count=int.from_bytes(raw[o + offs["_refcount"]:o + offs["_refcount"] + 4],
                                                     "little", signed=True),
                                flags=u64("flags")))
    return out
