"""Low-level DWARF (versions 2 to 5) read straight from the mapped ELF file.

Units, abbreviation tables, attribute values and DIEs (how each is encoded is
``dwarfforms.py``'s), parsed on demand with nothing built for what is not asked.
Section offsets are used throughout: a DIE is named by its offset in
``.debug_info``.  pyelftools is not used here: its object graph costs seconds and
gigabytes on a kernel, and its default relocation pass minutes.
"""
from __future__ import annotations

import bisect
import struct
from typing import Any
from collections.abc import Iterator

from ..errors import BadSymbolFile
from .cache import SymbolCache
from .dwarfforms import (ABBREV_DECL, AT_addr_base, AT_name, AT_sibling, AT_str_offsets_base,
                         V_ADDRX, V_BLOCK, V_FLAG, V_LINE_STRP, V_PRESENT, V_REF, V_STRING, V_STRP,
                         V_STRX, Abbrev, read_values, skip_values, sleb, uleb)
from .elffile import ElfImage


class Unit:
    """A unit header of .debug_info."""

    __slots__ = ("offset", "end", "version", "unit_type", "addr_size", "offset_size",
                 "abbrev_offset", "first_die", "abbrevs", "_attrs")

    def __init__(self, offset: int, end: int, version: int, unit_type: int, addr_size: int,
                 offset_size: int, abbrev_offset: int, first_die: int) -> None:
        self.offset = offset
        self.end = end
        self.version = version
        self.unit_type = unit_type
        self.addr_size = addr_size
        self.offset_size = offset_size
        self.abbrev_offset = abbrev_offset
        self.first_die = first_die
        self.abbrevs: dict[int, Abbrev] | None = None
        self._attrs: dict[int, Any] | None = None


class Die:
    __slots__ = ("offset", "unit", "tag", "children", "attrs", "end")

    def __init__(self, offset: int, unit: Unit, tag: int, children: bool,
                 attrs: dict[int, Any], end: int) -> None:
        self.offset = offset
        self.unit = unit
        self.tag = tag
        self.children = children
        self.attrs = attrs      # attribute -> value (strings decoded, refs absolute)
        self.end = end          # offset just after the attributes

    def get(self, attr: int, default: Any = None) -> Any:
        return self.attrs.get(attr, default)

    def __repr__(self) -> str:
        return f"<Die {self.offset:#x} tag={self.tag:#x} {self.attrs.get(AT_name)!r}>"


class DwarfFile:
    """The DWARF sections of one ELF file.

    With a cache, the unit headers are kept there: reading them from the file
    touches one page per unit.
    """

    def __init__(self, elf: ElfImage, cache: SymbolCache | None = None) -> None:
        self.elf = elf
        self._cache = cache
        self.path = elf.path
        self.data = elf.data
        self._sec: dict[str, tuple[int, int]] = {}
        for name in (".debug_info", ".debug_abbrev", ".debug_str", ".debug_line_str",
                     ".debug_str_offsets", ".debug_addr", ".debug_line", ".debug_aranges"):
            s = elf.section_by_name(name)
            if s is not None:
                self._sec[name] = (s.offset, s.size)
        if ".debug_info" not in self._sec or ".debug_abbrev" not in self._sec:
            raise BadSymbolFile(self.path, "no DWARF (.debug_info/.debug_abbrev)")
        self.info_base, self.info_size = self._sec[".debug_info"]
        self.abbrev_base, abbrev_size = self._sec[".debug_abbrev"]
        self._abbrev_end = self.abbrev_base + abbrev_size
        self._units: list[Unit] | None = None
        self._unit_starts: list[int] = []
        self._bodies: dict[tuple[bytes, int, int, int], Abbrev] = {}

    def bad(self, problem: str) -> BadSymbolFile:
        return BadSymbolFile(self.path, f"DWARF: {problem}")

    def section(self, name: str) -> tuple[int, int] | None:
        """(file offset, size) of a DWARF section."""
        return self._sec.get(name)

    # -- units ------------------------------------------------------------
    @property
    def units(self) -> list[Unit]:
        if self._units is None:
            headers = self._cache.get("dwarf-units", self._read_units) if self._cache \
                else self._read_units()
            self._units = [Unit(*h) for h in headers]
            self._unit_starts = [u.offset for u in self._units]
        return self._units

    def _read_units(self) -> list[tuple[int, ...]]:
        """The header of every unit, as Unit's arguments."""
        data, base, size = self.data, self.info_base, self.info_size
        units: list[tuple[int, ...]] = []
        off = 0
        while off + 11 <= size:
            length, = struct.unpack_from("<I", data, base + off)
            hdr, offset_size = off + 4, 4
            if length == 0xFFFFFFFF:
                length, = struct.unpack_from("<Q", data, base + hdr)
                hdr, offset_size = hdr + 8, 8
            end = hdr + length
            if end > size or length < 7:
                raise self.bad(f"unit at {off:#x} runs past the end of .debug_info")
            version, = struct.unpack_from("<H", data, base + hdr)
            osz = "<I" if offset_size == 4 else "<Q"
            if version >= 5:
                unit_type, addr_size = data[base + hdr + 2], data[base + hdr + 3]
                abbrev_offset, = struct.unpack_from(osz, data, base + hdr + 4)
                first = hdr + 4 + offset_size
                if unit_type in (2, 6):          # type unit, split type unit
                    first += 8 + offset_size
                elif unit_type in (4, 5):        # skeleton, split compile unit
                    first += 8
            elif version >= 2:
                unit_type = 1
                abbrev_offset, = struct.unpack_from(osz, data, base + hdr + 2)
                addr_size = data[base + hdr + 2 + offset_size]
                first = hdr + 3 + offset_size
            else:
                raise self.bad(f"unit at {off:#x} has unknown version {version}")
            units.append((off, end, version, unit_type, addr_size, offset_size, abbrev_offset,
                          first))
            off = end
        return units

    def unit_of(self, offset: int) -> Unit:
        """The unit holding the DIE at ``offset``."""
        units = self.units
        i = bisect.bisect_right(self._unit_starts, offset) - 1
        if i < 0 or offset >= units[i].end:
            raise self.bad(f"offset {offset:#x} is outside every unit")
        return units[i]

    # -- abbreviations ----------------------------------------------------
    def abbrevs(self, unit: Unit) -> dict[int, Abbrev]:
        if unit.abbrevs is None:
            unit.abbrevs = self._read_abbrevs(unit.abbrev_offset, unit.addr_size,
                                              unit.offset_size, unit.version)
        return unit.abbrevs

    def _read_abbrevs(self, offset: int, addr_size: int, offset_size: int,
                      version: int) -> dict[int, Abbrev]:
        data, bodies, end = self.data, self._bodies, self._abbrev_end
        table: dict[int, Abbrev] = {}
        pos = self.abbrev_base + offset
        while True:
            m = ABBREV_DECL.match(data, pos, end)
            if m is None:
                raise self.bad(f"bad abbreviation declaration at {pos - self.abbrev_base:#x}")
            pos = m.end()
            if m.group(1) is None:
                return table
            body = m.group(2)
            key = (body, addr_size, offset_size, version)
            compiled = bodies.get(key)
            if compiled is None:
                compiled = bodies[key] = self._compile(body, addr_size, offset_size, version)
            table[uleb(m.group(1), 0)[0]] = compiled

    def _compile(self, body: bytes, addr_size: int, offset_size: int, version: int) -> Abbrev:
        tag, p = uleb(body, 0)
        children = body[p] == 1
        p += 1
        specs: list[tuple[int, int, int | None]] = []
        while True:
            attr, p = uleb(body, p)
            form, p = uleb(body, p)
            if attr == 0 and form == 0:
                break
            const = None
            if form == 0x21:
                const, p = sleb(body, p)
            elif form == 0x16:
                raise self.bad("DW_FORM_indirect is not supported")
            specs.append((attr, form, const))
        try:
            return Abbrev(tag, children, specs, addr_size, offset_size, version)
        except ValueError as e:
            raise self.bad(str(e)) from None

    # -- strings and values -------------------------------------------------
    def cstring(self, section: str, offset: int) -> str:
        sec = self._sec.get(section)
        if sec is None or offset >= sec[1]:
            raise self.bad(f"string offset {offset:#x} outside {section}")
        start = sec[0] + offset
        end = self.data.find(b"\0", start, sec[0] + sec[1])
        return self.data[start:end if end >= 0 else sec[0] + sec[1]].decode("utf-8", "replace")

    def strx(self, unit: Unit, index: int) -> str:
        sec = self._sec.get(".debug_str_offsets")
        if sec is None:
            raise self.bad("DW_FORM_strx without .debug_str_offsets")
        base = self.unit_attrs(unit).get(AT_str_offsets_base, 8 if unit.offset_size == 4 else 16)
        at = sec[0] + base + index * unit.offset_size
        off = int.from_bytes(self.data[at:at + unit.offset_size], "little")
        return self.cstring(".debug_str", off)

    def addrx(self, unit: Unit, index: int) -> int:
        sec = self._sec.get(".debug_addr")
        if sec is None:
            raise self.bad("DW_FORM_addrx without .debug_addr")
        at = sec[0] + self.unit_attrs(unit).get(AT_addr_base, 8) + index * unit.addr_size
        return int.from_bytes(self.data[at:at + unit.addr_size], "little")

    def unit_attrs(self, unit: Unit) -> dict[int, Any]:
        """Attributes of the unit's own DIE (the compile unit)."""
        if unit._attrs is None:
            # its strx/addrx values need its own bases: take those raw first
            raw = self._raw(unit.first_die, unit)
            unit._attrs = {} if raw is None else {
                a: r for a, r in zip(raw[0].attrs, raw[1])
                if a in (AT_str_offsets_base, AT_addr_base)}
            unit._attrs = self.die(unit.first_die, unit).attrs
        return unit._attrs

    def _value(self, unit: Unit, meaning: int, raw: Any) -> Any:
        """A decoded value; ``raw`` as from read_values over the mapped file."""
        if meaning == V_STRP:
            return self.cstring(".debug_str", raw)
        if meaning == V_LINE_STRP:
            return self.cstring(".debug_line_str", raw)
        if meaning == V_STRING:
            return self.data[raw[0]:raw[1]].decode("utf-8", "replace")
        if meaning == V_REF:
            return unit.offset + raw
        if meaning == V_BLOCK:
            return bytes(self.data[raw[0]:raw[1]])
        if meaning == V_STRX:
            return self.strx(unit, raw)
        if meaning == V_ADDRX:
            return self.addrx(unit, raw)
        if meaning == V_FLAG:
            return bool(raw)
        if meaning == V_PRESENT:
            return True
        return raw

    # -- DIEs ---------------------------------------------------------------
    def die(self, offset: int, unit: Unit | None = None) -> Die:
        """The DIE at a .debug_info offset, with its attribute values decoded."""
        if unit is None:
            unit = self.unit_of(offset)
        die = self._read(offset, unit)
        if die is None:
            raise self.bad(f"no DIE at {offset:#x} (a null entry)")
        return die

    def _raw(self, offset: int, unit: Unit) -> tuple[Abbrev, list[Any], int] | None:
        """(abbreviation, raw values, end offset) of the DIE at ``offset``;
        None for a null entry."""
        data, base = self.data, self.info_base
        try:
            code, pos = uleb(data, base + offset)
            if code == 0:
                return None
            abbrev = self.abbrevs(unit).get(code)
            if abbrev is None:
                raise self.bad(f"DIE at {offset:#x} uses unknown abbreviation {code}")
            raw, end = read_values(data, pos, abbrev)
        except IndexError:
            raise self.bad(f"DIE at {offset:#x} runs past the end of the section") from None
        return abbrev, raw, end - base

    def _read(self, offset: int, unit: Unit) -> Die | None:
        found = self._raw(offset, unit)
        if found is None:
            return None
        abbrev, raw, end = found
        attrs = {a: self._value(unit, m, r)
                 for a, m, r in zip(abbrev.attrs, abbrev.meanings, raw)}
        return Die(offset, unit, abbrev.tag, abbrev.children, attrs, end)

    def die_containing(self, offset: int) -> tuple[Die, int] | None:
        """The DIE whose attribute values hold the byte at ``offset``, and its
        depth (1 for a child of the unit's DIE)."""
        unit = self.unit_of(offset)
        pos, depth = unit.first_die, 0
        while pos < unit.end:
            found = self._raw(pos, unit)
            if found is None:               # end of a list of children
                pos += 1
                depth -= 1
                continue
            abbrev, raw, end = found
            if offset < end:
                return (self.die(pos, unit), depth) if offset >= pos else None
            i = abbrev.where.get(AT_sibling) if abbrev.children else None
            sibling = None if i is None else self._value(unit, abbrev.meanings[i], raw[i])
            if isinstance(sibling, int) and pos < sibling <= offset:
                pos = sibling
            else:
                pos = end
                depth += abbrev.children
        return None

    def children(self, die: Die) -> Iterator[Die]:
        """The direct children of a DIE."""
        if not die.children:
            return
        unit = die.unit
        offset = die.end
        while offset < unit.end:
            child = self._read(offset, unit)
            if child is None:
                return
            yield child
            offset = self._after(child)

    def _after(self, die: Die) -> int:
        """The offset of the DIE's next sibling."""
        if not die.children:
            return die.end
        sibling = die.attrs.get(AT_sibling)
        if sibling is not None and sibling > die.offset:
            return int(sibling)
        offset, depth = die.end, 1
        data, base, unit = self.data, self.info_base, die.unit
        abbrevs = self.abbrevs(unit)
        try:
            while depth:
                code, pos = uleb(data, base + offset)
                if code == 0:
                    depth -= 1
                    offset = pos - base
                    continue
                abbrev = abbrevs[code]
                offset = skip_values(data, pos, abbrev.layouts) - base
                if abbrev.children:
                    depth += 1
        except (IndexError, KeyError):
            raise self.bad(f"DIE tree at {die.offset:#x} is damaged") from None
        return offset
