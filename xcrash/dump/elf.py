"""ELF vmcores: /proc/vmcore copies, ``makedumpfile -E``, QEMU dump-guest-memory.

Physical memory is the union of the PT_LOAD segments, keyed by ``p_paddr``
(the machine address on a Xen host; ``p_vaddr`` is ignored).  Bytes in
``[p_filesz, p_memsz)`` read as zeros: that is how makedumpfile omits
excluded runs, and crash and drgn read them so.  Segments may overlap (the
kernel-text segment repeats part of RAM); the file-backed one wins.  Data a
segment places past the end of the file is lost: reading it raises
PageNotInDump and the header is marked incomplete.

A Linux kdump vmcore made by kexec-tools has a PT_LOAD for the kernel text,
whose virtual and physical addresses give ``phys_base`` (the header's, as the
kdump sub-header gives it for kdump-compressed files).
"""
from __future__ import annotations

import bisect
import struct

from ..errors import BadDump, PageNotInDump
from ..arch import KERNEL_IMAGE_MAX, PAGE_SHIFT, PAGE_SIZE, START_KERNEL_MAP
from .base import Dump
from .mapped import MappedFile
from .notes import parse_notes

ET_CORE = 4
EM_X86_64 = 62
PT_LOAD = 1
PT_NOTE = 4
PN_XNUM = 0xFFFF

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
_SHDR = struct.Struct("<IIQQQQIIQQ")

# What a piece of the physical address space is backed by.
FILE, ZERO, LOST = 0, 1, 2

_MACHINES = {3: "i386", 40: "ARM", 183: "AArch64", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64",
             22: "S/390", 243: "RISC-V", 258: "LoongArch"}


class ElfDump(Dump):
    format_name = "ELF"

    def __init__(self, path: str, shown: str | None = None) -> None:
        super().__init__(shown or path)
        self._mf = MappedFile(path, self.path)
        try:
            self._parse()
        except BaseException:
            self._mf.close()
            raise

    def _bad(self, problem: str) -> BadDump:
        return BadDump(self.path, problem)

    def _parse(self) -> None:
        mf = self._mf
        ident = mf.bytes_at(0, 20, "ELF header")
        if ident[:4] != b"\x7fELF":
            raise self._bad("not an ELF file")
        order = "<" if ident[5] == 1 else ">"
        e_type, e_machine = struct.unpack(order + "HH", ident[16:20])
        if e_machine != EM_X86_64:
            arch = _MACHINES.get(e_machine, f"e_machine {e_machine}")
            raise self._bad(f"foreign architecture: {arch} (only x86_64 dumps are supported)")
        if ident[4] != 2 or ident[5] != 1:
            raise self._bad("x86_64 ELF that is not 64-bit little-endian")
        if e_type != ET_CORE:
            raise self._bad(f"ELF file but not a core dump (e_type {e_type})")
        (_, _, _, _, _, phoff, shoff, _, _, phentsize, phnum, shentsize, _, _) = mf.unpack(
            _EHDR, 0, "ELF header")
        if phnum == PN_XNUM:
            if shentsize < _SHDR.size:
                raise self._bad("damaged header: PN_XNUM without a usable section header")
            phnum = mf.unpack(_SHDR, shoff, "section header 0")[7]
        if phnum == 0:
            raise self._bad("ELF core without program headers")
        if phentsize < _PHDR.size:
            raise self._bad(f"damaged header: program header size {phentsize}")
        mf.check(phoff, phentsize * phnum, "program headers")

        loads = []
        for i in range(phnum):
            p_type, _, offset, vaddr, paddr, filesz, memsz, _ = _PHDR.unpack_from(
                mf.map, phoff + i * phentsize)
            if p_type == PT_NOTE:
                mf.check(offset, filesz, "note segment")
                self.notes.extend(parse_notes(mf.view[offset:offset + filesz]))
            elif p_type == PT_LOAD and memsz | filesz:
                if paddr + max(memsz, filesz) > 1 << 64:
                    raise self._bad(f"damaged header: PT_LOAD at {paddr:#x} size {memsz:#x}")
                loads.append((paddr, offset, filesz, memsz))
                in_text = START_KERNEL_MAP <= vaddr < START_KERNEL_MAP + KERNEL_IMAGE_MAX
                if in_text and self.header.phys_base is None:
                    phys_base = (paddr - (vaddr - START_KERNEL_MAP)) % (1 << 64)
                    self.header.phys_base = phys_base - (1 << 64) if phys_base >> 63 else phys_base
        if not loads:
            raise self._bad("ELF core without PT_LOAD segments (no memory)")
        if len(loads) > 1 and not any(p for p, _, _, _ in loads):
            raise self._bad("PT_LOAD segments carry no physical addresses")
        self._build_map(loads)

    def _build_map(self, loads: list[tuple[int, int, int, int]]) -> None:
        """Lay the segments out as disjoint pieces (start, end, kind, file delta)."""
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._kinds: list[int] = []
        self._deltas: list[int] = []   # file offset = paddr + delta
        size = self._mf.size
        pieces: dict[int, list[tuple[int, int, int]]] = {FILE: [], ZERO: [], LOST: []}
        for paddr, offset, filesz, memsz in loads:
            in_file = max(0, min(filesz, size - offset)) if offset < size else 0
            if in_file:
                pieces[FILE].append((paddr, paddr + in_file, offset - paddr))
            if in_file < filesz:
                self.header.incomplete = True
                pieces[LOST].append((paddr + in_file, paddr + filesz, 0))
            if memsz > filesz:
                pieces[ZERO].append((paddr + filesz, paddr + memsz, 0))
        for kind in (FILE, ZERO, LOST):
            for start, end, delta in sorted(pieces[kind]):
                self._cover(start, end, kind, delta)
        self.max_pfn = (self._ends[-1] + PAGE_SIZE - 1) >> PAGE_SHIFT

    def _cover(self, start: int, end: int, kind: int, delta: int) -> None:
        """Add ``[start, end)`` wherever no earlier (higher-priority) piece lies."""
        starts, ends = self._starts, self._ends
        i = bisect.bisect_right(starts, start)
        if i and ends[i - 1] > start:
            start = ends[i - 1]
        while start < end:
            stop = min(end, starts[i]) if i < len(starts) else end
            if stop > start:
                starts.insert(i, start)
                ends.insert(i, stop)
                self._kinds.insert(i, kind)
                self._deltas.insert(i, delta)
                i += 1
            if i >= len(starts) or starts[i] >= end:
                break
            start = max(start, ends[i])
            i += 1

    def _read(self, paddr: int, size: int) -> bytes:
        starts, ends, kinds = self._starts, self._ends, self._kinds
        i = bisect.bisect_right(starts, paddr) - 1
        end = paddr + size
        if i >= 0 and end <= ends[i] and kinds[i] == FILE:   # the usual case
            pos = paddr + self._deltas[i]
            return self._mf.map[pos:pos + size]
        parts = []
        addr = paddr
        while addr < end:
            if i < 0 or addr >= ends[i]:
                raise PageNotInDump(addr, "not in any PT_LOAD segment of the dump")
            n = min(end, ends[i]) - addr
            if kinds[i] == FILE:
                pos = addr + self._deltas[i]
                parts.append(self._mf.map[pos:pos + n])
            elif kinds[i] == ZERO:
                parts.append(bytes(n))
            else:
                raise PageNotInDump(addr, "page data beyond the end of the file (truncated dump)")
            addr += n
            i += 1
            if i >= len(starts) or starts[i] > addr:
                i = -1   # a hole or the end follows
        return b"".join(parts)

    def is_readable(self, paddr: int) -> bool:
        i = bisect.bisect_right(self._starts, paddr) - 1
        return i >= 0 and paddr < self._ends[i] and self._kinds[i] != LOST

    def ranges(self) -> list[tuple[int, int]]:
        merged: list[tuple[int, int]] = []
        for start, end in zip(self._starts, self._ends):
            if merged and merged[-1][1] == start:
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return merged

    def close(self) -> None:
        self._mf.close()
