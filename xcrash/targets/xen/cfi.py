"""DWARF call-frame information from ``.debug_frame`` (Xen keeps no ``.eh_frame``).

The FDEs are indexed by their headers (a few milliseconds); pyelftools parses and
decodes an FDE into its rule table on first use.  A rule answers, at one pc: where
the CFA is (a register plus an offset) and where the return address and the
caller's RBP were saved.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

#: DWARF register numbers on x86_64
RBP, RSP, RA = 6, 7, 16


@dataclass(frozen=True)
class FrameRule:
    cfa_reg: int           # RSP or RBP (anything else: not understood)
    cfa_offset: int
    ra_offset: int | None  # return address at CFA + this
    rbp_offset: int | None  # caller's RBP at CFA + this (None: RBP unchanged)


class CallFrameInfo:
    def __init__(self, elf_path: str) -> None:
        import io
        import struct as _struct

        from elftools.dwarf.callframe import CallFrameInfo as _CFI
        from elftools.dwarf.structs import DWARFStructs
        from elftools.elf.elffile import ELFFile
        with open(elf_path, "rb") as f:
            section = ELFFile(f).get_section_by_name(".debug_frame")
            data = section.data() if section is not None else b""
        # an index of the FDEs from their headers alone (32-bit DWARF, 8-byte
        # addresses, as Xen's x86_64 builds have); pyelftools parses one FDE
        # when it is needed
        self._entries: list[tuple[int, int, int]] = []
        off = 0
        while off + 12 <= len(data):
            length, cie_id = _struct.unpack_from("<II", data, off)
            if length == 0xFFFFFFFF or length < 4:
                break                         # 64-bit DWARF or damage: stop indexing
            if cie_id != 0xFFFFFFFF and off + 4 + length <= len(data) and length >= 20:
                start, size = _struct.unpack_from("<QQ", data, off + 8)
                self._entries.append((start, size, off))
            off += 4 + length
        self._entries.sort()
        self._starts = [e[0] for e in self._entries]
        self._parser = _CFI(io.BytesIO(data), len(data), 0,
                            DWARFStructs(little_endian=True, dwarf_format=32, address_size=8))
        self._tables: dict[int, list[dict]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def covers(self, pc: int) -> bool:
        return self._fde(pc) is not None

    def _fde(self, pc: int) -> int | None:
        """The offset of the FDE covering ``pc``."""
        i = bisect.bisect_right(self._starts, pc) - 1
        if i < 0:
            return None
        start, size, off = self._entries[i]
        return off if start <= pc < start + size else None

    def rule(self, pc: int) -> FrameRule | None:
        """The unwinding rule at ``pc`` (for a return address, pass ``pc - 1``)."""
        off = self._fde(pc)
        if off is None:
            return None
        table = self._tables.get(off)
        if table is None:
            # an FDE's offset: never a ZERO terminator
            entry = self._parser._parse_entry_at(off)
            table = self._tables[off] = entry.get_decoded().table  # type: ignore[union-attr]
        row = None
        for r in table:
            if r["pc"] > pc:
                break
            row = r
        if row is None:
            return None
        cfa = row["cfa"]
        if cfa.expr is not None or cfa.reg not in (RSP, RBP):
            return None
        ra = row.get(RA)
        rbp = row.get(RBP)
        return FrameRule(cfa.reg, cfa.offset,
                         ra.arg if ra is not None and ra.type == "OFFSET" else None,
                         rbp.arg if rbp is not None and rbp.type == "OFFSET" else None)

