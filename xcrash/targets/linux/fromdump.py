"""A Linux kernel's symbols and types from the dump alone: no vmlinux needed.

Linux 6.0 and later write the addresses of the kallsyms tables into VMCOREINFO;
with KERNELOFFSET, phys_base and _stext there, the tables are read through the
kernel image's fixed mapping (``__START_KERNEL_map + phys_base``), decoded
(``symbols/kallsyms.py``) and give a symbol file (``symbols/memfile.py``) whose
BTF and ORC come from the kernel's memory too.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable

from ...arch import START_KERNEL_MAP
from ...errors import XcrashError
from ...symbols.kallsyms import KallsymsLocations, read_kallsyms
from ...symbols.memfile import MemorySymbolFile

#: what start-up says of such a target
LABEL = "(the dump: kallsyms, BTF, ORC)"

_NEEDED = ("kallsyms_num_syms", "kallsyms_names", "kallsyms_token_table", "kallsyms_token_index",
           "_stext")


class NoKallsyms(XcrashError):
    """The dump does not say where its kallsyms tables are."""


def kallsyms_locations(vmcoreinfo: Any) -> KallsymsLocations:
    missing = [n for n in _NEEDED if vmcoreinfo.get(f"SYMBOL({n})") is None]
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


def image_reader(dump: Any, phys_base: int) -> Callable[[int, int], bytes]:
    """Reads the kernel image at run-time addresses through its fixed mapping."""
    def read(address: int, size: int) -> bytes:
        return bytes(dump.read((address - START_KERNEL_MAP + phys_base) & 0xFFFFFFFFFFFFFFFF, size))
    return read


def symbols_from_vmcoreinfo(vi: Any, read: Callable[[int, int], bytes],
                            label: str = LABEL) -> MemorySymbolFile:
    """The symbol file of the kernel whose VMCOREINFO is ``vi``, its image read by
    ``read`` at run-time addresses (NoKallsyms when VMCOREINFO does not say where
    kallsyms is; the decoders' errors when the tables are damaged)."""
    loc = kallsyms_locations(vi)
    symbols = read_kallsyms(read, loc, vi.symbol("_stext"))
    return MemorySymbolFile(label, vi.build_id, symbols, vi.kerneloffset or 0, read)


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
