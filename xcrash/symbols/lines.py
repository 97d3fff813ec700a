"""Address <-> source line, from .debug_aranges and one unit's line program.

``.debug_aranges`` names the unit that holds an address; only that unit's
line program is run (DWARF 2 to 5), and its rows are kept for the next
question about the same unit.  Paths are returned as DWARF gives them, made
absolute with the unit's directory where DWARF allows.
"""
from __future__ import annotations

import bisect
import os
import struct
from array import array
from typing import Any

from .dwarf import DwarfFile, Unit
from .dwarfforms import (AT_comp_dir, AT_name, AT_stmt_list, L_BLOCK_ULEB, L_CSTR, L_FIXED, L_ULEB,
                         V_LINE_STRP, V_STRP, V_STRX, form_table, sleb, uleb)

DW_LNCT_path, DW_LNCT_directory_index = 1, 2


class LineTable:
    """The rows of one unit's line program, in address order."""

    __slots__ = ("files", "addresses", "lines", "file_indexes", "ends")

    def __init__(self, files: list[str], rows: list[tuple[int, int, int, bool]]) -> None:
        self.files = files
        self.addresses = array("Q", [r[0] for r in rows])
        self.lines = array("I", [r[2] for r in rows])
        self.file_indexes = array("I", [r[1] for r in rows])
        self.ends = bytes(r[3] for r in rows)          # 1: end of a sequence

    def lookup(self, address: int) -> tuple[str, int] | None:
        i = bisect.bisect_right(self.addresses, address) - 1
        if i < 0 or self.ends[i]:
            return None
        # of several rows at one address (inlined code starting there) the
        # last one holds, as in gdb and so in crash
        f = self.file_indexes[i]
        return (self.files[f] if f < len(self.files) else "??", self.lines[i])

    def addresses_for(self, path_suffix: str, line: int) -> list[int]:
        wanted = {i for i, f in enumerate(self.files) if _same_file(f, path_suffix)}
        return sorted({self.addresses[i] for i in range(len(self.addresses))
                       if self.lines[i] == line and self.file_indexes[i] in wanted
                       and not self.ends[i]})


def _text(value: Any) -> str:
    """A path from a line table header (other forms there mean damage)."""
    return value if isinstance(value, str) else ""


def _same_file(path: str, suffix: str) -> bool:
    return path == suffix or path.endswith("/" + suffix.lstrip("/"))


class LineIndex:
    """Line lookups for one file's DWARF."""

    def __init__(self, dw: DwarfFile) -> None:
        self.dw = dw
        self._ranges: tuple[array[int], array[int], array[int]] | None = None
        self._tables: dict[int, LineTable | None] = {}

    # -- address -> unit ------------------------------------------------------
    def unit_for_address(self, address: int) -> Unit | None:
        starts, ends, units = self._aranges()
        i = bisect.bisect_right(starts, address) - 1
        # ranges of different units do not overlap; look back over empty ones
        while i >= 0 and starts[i] <= address:
            if address < ends[i]:
                return self.dw.unit_of(units[i])
            if i == 0 or ends[i - 1] <= starts[i]:
                break
            i -= 1
        return None

    def _aranges(self) -> tuple[array[int], array[int], array[int]]:
        if self._ranges is None:
            self._ranges = self._read_aranges()
        return self._ranges

    def _read_aranges(self) -> tuple[array[int], array[int], array[int]]:
        sec = self.dw.section(".debug_aranges")
        rows: list[tuple[int, int, int]] = []
        if sec is not None:
            data = bytes(self.dw.data[sec[0]:sec[0] + sec[1]])
            pos = 0
            while pos + 16 <= len(data):
                length, = struct.unpack_from("<I", data, pos)
                hdr, osz = pos + 4, 4
                if length == 0xFFFFFFFF:
                    length, = struct.unpack_from("<Q", data, hdr)
                    hdr, osz = hdr + 8, 8
                end = hdr + length
                unit = int.from_bytes(data[hdr + 2:hdr + 2 + osz], "little")
                addr_size, seg_size = data[hdr + 2 + osz], data[hdr + 3 + osz]
                if addr_size != 8 or seg_size or end > len(data):
                    raise self.dw.bad(f"unsupported .debug_aranges set at {pos:#x}")
                at = hdr + 4 + osz
                at += (-(at - pos)) % 16                        # tuples are aligned
                while at + 16 <= end:
                    start, size = struct.unpack_from("<QQ", data, at)
                    at += 16
                    if start == 0 and size == 0:
                        break
                    if size:
                        rows.append((start, min(start + size, (1 << 64) - 1), unit))
                pos = end
        rows.sort()
        return (array("Q", [r[0] for r in rows]), array("Q", [r[1] for r in rows]),
                array("Q", [r[2] for r in rows]))

    # -- lines ----------------------------------------------------------------
    def line_for_address(self, address: int) -> tuple[str, int] | None:
        unit = self.unit_for_address(address)
        if unit is None:
            return None
        table = self.table(unit)
        return None if table is None else table.lookup(address)

    def addresses_for_line(self, path: str, line: int) -> list[int]:
        """Addresses where code for ``path:line`` starts, in units named like ``path``."""
        base = os.path.basename(path)
        found: set[int] = set()
        for unit in self.dw.units:
            name = self.dw.unit_attrs(unit).get(AT_name, "")
            if not isinstance(name, str) or os.path.basename(name) != base:
                continue
            table = self.table(unit)
            if table is not None:
                found.update(table.addresses_for(path, line))
        return sorted(found)

    def table(self, unit: Unit) -> LineTable | None:
        if unit.offset not in self._tables:
            attrs = self.dw.unit_attrs(unit)
            offset = attrs.get(AT_stmt_list)
            self._tables[unit.offset] = None if not isinstance(offset, int) else _Program(
                self.dw, unit, offset, attrs.get(AT_comp_dir) or "",
                attrs.get(AT_name) or "").run()
        return self._tables[unit.offset]


class _Program:
    """One line number program: its header, then its opcodes."""

    def __init__(self, dw: DwarfFile, unit: Unit, offset: int, comp_dir: str,
                 unit_name: str) -> None:
        sec = dw.section(".debug_line")
        if sec is None or offset >= sec[1]:
            raise dw.bad(f"line program offset {offset:#x} outside .debug_line")
        self.dw, self.unit = dw, unit
        self.comp_dir, self.unit_name = comp_dir, unit_name
        start = sec[0] + offset
        length, = struct.unpack_from("<I", dw.data, start)
        hdr, self.osz = start + 4, 4
        if length == 0xFFFFFFFF:
            length, = struct.unpack_from("<Q", dw.data, hdr)
            hdr, self.osz = hdr + 8, 8
        end = hdr + length
        if end > sec[0] + sec[1]:
            raise dw.bad(f"line program at {offset:#x} runs past .debug_line")
        self.data = bytes(dw.data[start:end])
        self.pos = hdr - start

    def run(self) -> LineTable:
        try:
            files = self._header()
            return LineTable(files, self._rows())
        except (IndexError, KeyError, struct.error, ValueError, OverflowError) as e:
            raise self.dw.bad(f"damaged line program ({type(e).__name__}: {e})") from None

    # -- header ---------------------------------------------------------------
    def _header(self) -> list[str]:
        d, p = self.data, self.pos
        self.version, = struct.unpack_from("<H", d, p)
        p += 2
        if self.version >= 5:
            p += 2                               # address size, segment selector size
        header_length = int.from_bytes(d[p:p + self.osz], "little")
        p += self.osz
        self.program = p + header_length
        self.min_inst = d[p]
        p += 1
        if self.version >= 4:
            p += 1                               # maximum operations per instruction
        self.default_is_stmt = bool(d[p])
        self.line_base = struct.unpack_from("<b", d, p + 1)[0]
        self.line_range = d[p + 2]
        self.opcode_base = d[p + 3]
        p += 4
        self.opcode_lengths = list(d[p:p + self.opcode_base - 1])
        p += self.opcode_base - 1
        if not self.line_range:
            raise ValueError("line_range is 0")
        if self.version >= 5:
            dirs, p = self._entries(p)
            directories = [_text(e.get(DW_LNCT_path)) for e in dirs]
            entries, p = self._entries(p)
            files = [(_text(e.get(DW_LNCT_path)), e.get(DW_LNCT_directory_index, 0))
                     for e in entries]
        else:
            directories = [self.comp_dir]
            while d[p]:
                end = d.index(0, p)
                directories.append(d[p:end].decode("utf-8", "replace"))
                p = end + 1
            p += 1
            files = [(self.unit_name, 0)]
            while d[p]:
                end = d.index(0, p)
                name = d[p:end].decode("utf-8", "replace")
                directory, p = uleb(d, end + 1)
                _mtime, p = uleb(d, p)
                _size, p = uleb(d, p)
                files.append((name, directory))
        if directories and not os.path.isabs(directories[0]) and self.comp_dir:
            directories[0] = os.path.join(self.comp_dir, directories[0])
        result = []
        for name, directory in files:
            if not os.path.isabs(name) and isinstance(directory, int) \
                    and directory < len(directories):
                d0 = directories[directory]
                if not os.path.isabs(d0) and self.comp_dir:
                    d0 = os.path.join(self.comp_dir, d0)
                name = os.path.join(d0, name)
            result.append(os.path.normpath(name) if name else "??")
        return result

    def _entries(self, p: int) -> tuple[list[dict[int, Any]], int]:
        """DWARF 5 directory or file entries, as {content type: value}."""
        d = self.data
        count = d[p]
        p += 1
        formats = []
        for _ in range(count):
            content, p = uleb(d, p)
            form, p = uleb(d, p)
            formats.append((content, form))
        n, p = uleb(d, p)
        table = form_table(8, self.osz, 5)
        entries = []
        for _ in range(n):
            entry: dict[int, Any] = {}
            for content, form in formats:
                layout, size, meaning = table[form]
                if layout == L_FIXED:
                    value: Any = int.from_bytes(d[p:p + size], "little")
                    p += size
                elif layout == L_ULEB:
                    value, p = uleb(d, p)
                elif layout == L_CSTR:
                    end = d.index(0, p)
                    value = d[p:end].decode("utf-8", "replace")
                    p = end + 1
                elif layout == L_BLOCK_ULEB:
                    size, p = uleb(d, p)
                    value, p = None, p + size
                else:
                    raise ValueError(f"form {form:#x} in a line table header")
                if meaning == V_LINE_STRP:
                    value = self.dw.cstring(".debug_line_str", value)
                elif meaning == V_STRP:
                    value = self.dw.cstring(".debug_str", value)
                elif meaning == V_STRX:
                    value = self.dw.strx(self.unit, value)
                entry[content] = value
            entries.append(entry)
        return entries, p

    # -- the state machine ----------------------------------------------------
    def _rows(self) -> list[tuple[int, int, int, bool]]:
        d, p, end = self.data, self.program, len(self.data)
        opcode_base, line_base, line_range = self.opcode_base, self.line_base, self.line_range
        min_inst, lengths = self.min_inst, self.opcode_lengths
        first_file = 0 if self.version >= 5 else 1
        sequences: list[list[tuple[int, int, int, bool]]] = []
        rows: list[tuple[int, int, int, bool]] = []
        address, file, line = 0, first_file, 1
        while p < end:
            op = d[p]
            p += 1
            if op >= opcode_base:
                adjusted = op - opcode_base
                address += (adjusted // line_range) * min_inst
                line += line_base + adjusted % line_range
                rows.append((address, file, line, False))
            elif op == 0:                                       # extended
                size, p = uleb(d, p)
                sub = d[p]
                if sub == 1:                                    # end_sequence
                    rows.append((address, file, line, True))
                    sequences.append(rows)
                    rows = []
                    address, file, line = 0, first_file, 1
                elif sub == 2:                                  # set_address
                    address = int.from_bytes(d[p + 1:p + size], "little")
                p += size
            elif op == 1:                                       # copy
                rows.append((address, file, line, False))
            elif op == 2:                                       # advance_pc
                v, p = uleb(d, p)
                address += v * min_inst
            elif op == 3:                                       # advance_line
                v, p = sleb(d, p)
                line += v
            elif op == 4:                                       # set_file
                file, p = uleb(d, p)
            elif op == 8:                                       # const_add_pc
                address += ((255 - opcode_base) // line_range) * min_inst
            elif op == 9:                                       # fixed_advance_pc
                address += d[p] | d[p + 1] << 8
                p += 2
            else:                                               # operands we ignore
                for _ in range(lengths[op - 1]):
                    _v, p = uleb(d, p)
        # Sequences at address 0 describe code the linker discarded.
        sequences = sorted((s for s in sequences if s[0][0]), key=lambda s: s[0][0])
        return [row for seq in sequences for row in seq]
