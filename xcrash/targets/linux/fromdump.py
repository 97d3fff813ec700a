"""A Linux kernel's symbols and types from the dump alone: no vmlinux needed.

Linux 6.0 and later write the addresses of the kallsyms tables into VMCOREINFO;
before, they are found by searching the kernel image for their structure
(``symbols/kallsymsearch.py``).  With KERNELOFFSET, phys_base and _stext from
VMCOREINFO, the tables are read through the kernel image's fixed mapping
(``__START_KERNEL_map + phys_base``), decoded (``symbols/kallsyms.py``) and give a
symbol file (``symbols/memfile.py``) whose BTF and ORC come from the kernel's
memory too.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable

from ...arch import START_KERNEL_MAP
from ...errors import BadSymbolFile, MemoryError_, XcrashError
from ...symbols.btf import parse_btf
from ...symbols.cache import SymbolCache
from ...symbols.kallsyms import KallsymsError, KallsymsLocations, KallsymsSymbol, read_kallsyms
from ...symbols.kallsymsearch import search_kallsyms
from ...symbols.memfile import MemorySymbolFile, symtab_from_kallsyms

#: what start-up says of such a target
LABEL = "(the dump: kallsyms, BTF, ORC)"

_TABLES = ("kallsyms_num_syms", "kallsyms_names", "kallsyms_token_table", "kallsyms_token_index")
#: how far the kernel image is searched for kallsyms when VMCOREINFO has no end for it
IMAGE_REACH = 64 << 20
#: how the tables were found (MemorySymbolFile.kallsyms_origin)
FROM_VMCOREINFO = "VMCOREINFO"
SEARCHED = "found by searching the kernel image"


class NoKallsyms(XcrashError):
    """The dump does not say where its kallsyms tables are, and they were not found."""


def kallsyms_locations(vmcoreinfo: Any) -> KallsymsLocations:
    missing = [n for n in (*_TABLES, "_stext") if vmcoreinfo.get(f"SYMBOL({n})") is None]
    if missing:
        raise NoKallsyms("VMCOREINFO has no " + ", ".join(f"SYMBOL({n})" for n in missing)
                         + " (Linux 6.0 and later write them)")

    def opt(name: str) -> int | None:
        return vmcoreinfo.symbol(name) if vmcoreinfo.get(f"SYMBOL({name})") is not None else None
    return KallsymsLocations(
        num_syms=vmcoreinfo.symbol("kallsyms_num_syms"), names=vmcoreinfo.symbol("kallsyms_names"),
        token_table=vmcoreinfo.symbol("kallsyms_token_table"),
        token_index=vmcoreinfo.symbol("kallsyms_token_index"),
        offsets=opt("kallsyms_offsets"), relative_base=opt("kallsyms_relative_base"),
        addresses=opt("kallsyms_addresses"))


def searched_locations(vi: Any, read: Callable[[int, int], bytes]) -> list[KallsymsLocations]:
    """The kallsyms tables found in the kernel image by their structure
    (``symbols/kallsymsearch.py``), between ``_stext`` and ``init_uts_ns`` (in .data,
    after the tables' .rodata); each layout they may have, most likely first."""
    stext = vi.symbol("_stext")
    end = vi.symbol("init_uts_ns") if vi.get("SYMBOL(init_uts_ns)") is not None else None
    if end is None or not stext < end <= stext + IMAGE_REACH:
        end = stext + IMAGE_REACH
    return search_kallsyms(read, stext, end)


def image_reader(dump: Any, phys_base: int) -> Callable[[int, int], bytes]:
    """Reads the kernel image at run-time addresses through its fixed mapping."""
    def read(address: int, size: int) -> bytes:
        return bytes(dump.read((address - START_KERNEL_MAP + phys_base) & 0xFFFFFFFFFFFFFFFF, size))
    return read


def symbols_from_vmcoreinfo(vi: Any, read: Callable[[int, int], bytes],
                            label: str = LABEL, cached: bool = True) -> MemorySymbolFile:
    """The symbol file of the kernel whose VMCOREINFO is ``vi``, its image read by
    ``read`` at run-time addresses: kallsyms where VMCOREINFO says (Linux 6.0 on),
    else where a search of the image finds it.  NoKallsyms when neither says where
    it is (one line: the vmlinux is needed); the decoders' errors when the tables
    are damaged.  The decoded table and the parsed BTF are kept in the symbol cache
    by build-id (``cached``) and read from there next time."""
    if vi.get("SYMBOL(_stext)") is None:
        raise NoKallsyms("VMCOREINFO has no SYMBOL(_stext): kallsyms cannot be placed; give "
                         "the kernel's vmlinux")
    stext = vi.symbol("_stext")
    kaslr = vi.kerneloffset or 0
    why_not: NoKallsyms | None = None
    try:
        candidates, origin = [kallsyms_locations(vi)], FROM_VMCOREINFO
    except NoKallsyms as missing:
        candidates, origin, why_not = [], SEARCHED, missing
    cache = SymbolCache(None, vi.build_id) if cached and vi.build_id else None
    # -2: image symbols past _end relocated too (tables cached before kept them at run time)
    part = f"memory-kallsyms-2-{'searched' if origin == SEARCHED else 'vmcoreinfo'}"
    symtab = cache.load(part) if cache is not None else None
    parsed_btf = None
    if symtab is None:
        if origin == SEARCHED:
            candidates = searched_locations(vi, read)
            if not candidates:
                raise NoKallsyms(f"{why_not}, and no kallsyms tables were found in the kernel "
                                 "image by their structure: give the kernel's vmlinux")
        symbols = _decode(read, candidates, stext, origin)
        parsed_btf = _parsed_btf(symbols, read, cache, label)
        functions = frozenset(parsed_btf["funcs"]) if parsed_btf is not None else frozenset()
        symtab = symtab_from_kallsyms(symbols, kaslr, functions)
        if cache is not None:
            cache.store(part, symtab)
    symfile = MemorySymbolFile(label, vi.build_id, [], kaslr, read, symtab=symtab, cache=cache,
                               parsed_btf=parsed_btf)
    symfile.kallsyms_origin = origin
    return symfile


def _parsed_btf(symbols: list[KallsymsSymbol], read: Callable[[int, int], bytes],
                cache: SymbolCache | None, label: str) -> dict[str, Any] | None:
    """The kernel's BTF parsed (from the cache when it is there), for the names of its
    functions; None without BTF, or when it cannot be read: the symbol file's BTF
    then says why when it is asked for, and the names rank as kallsyms has them."""
    bounds = {s.name: s.address for s in symbols if s.name in ("__start_BTF", "__stop_BTF")}
    start, stop = bounds.get("__start_BTF"), bounds.get("__stop_BTF")
    if start is None or stop is None or not 0 < stop - start <= 1 << 28:
        return None
    try:
        data = bytes(read(start, stop - start))
        return (parse_btf(data, label) if cache is None
                else cache.get("memory-btf", lambda: parse_btf(data, label)))
    except (MemoryError_, BadSymbolFile):
        return None     # said by the symbol file's BTF when a command needs it


def _decode(read: Callable[[int, int], bytes], candidates: list[KallsymsLocations], stext: int,
            origin: str) -> list[KallsymsSymbol]:
    """The symbols of the first candidate layout that decodes."""
    problems = []
    for loc in candidates:
        try:
            return read_kallsyms(read, loc, stext)
        except KallsymsError as err:
            problems.append(str(err))
    raise KallsymsError(f"kallsyms ({origin}) does not decode: " + "; ".join(problems))


def phys_base(vi: Any) -> int:
    """VMCOREINFO's phys_base (0 when it has none), as an unsigned 64-bit number."""
    value = vi.number("phys_base") if vi.get("NUMBER(phys_base)") is not None else 0
    return (value or 0) & 0xFFFFFFFFFFFFFFFF


def symbols_from_dump(dump: Any) -> MemorySymbolFile:
    """The kernel's symbol file made from its own memory (NoKallsyms when the dump does
    not say where kallsyms is; the decoders' errors when the tables are damaged)."""
    vi = dump.vmcoreinfo
    if vi is None:
        raise NoKallsyms("the dump has no VMCOREINFO")
    return symbols_from_vmcoreinfo(vi, image_reader(dump, phys_base(vi)))


def describe(symfile: MemorySymbolFile) -> str:
    """What a symbol file made from memory holds, for the start-up lines."""
    found = "" if symfile.kallsyms_origin == FROM_VMCOREINFO else f", {symfile.kallsyms_origin}"
    parts = [f"kallsyms ({len(symfile.symbols)} symbols{found})",
             "BTF" if symfile.has_btf else "no BTF",
             "ORC" if symfile.section_address(".orc_unwind") else "no ORC"]
    return ", ".join(parts)
