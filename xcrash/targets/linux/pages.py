"""``struct page``: where a page frame's descriptor lives and what its flags say.

x86_64 kernels keep every ``struct page`` in the virtual memory map at
``vmemmap_base`` (randomised with KASLR, 0xffffea0000000000 without), indexed by
page frame number.
"""
from __future__ import annotations

from typing import Any

from ...errors import XcrashError

PAGE_SHIFT = 12
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
