"""Low-level DWARF (versions 2 to 5) read straight from the mapped ELF file.

Units, abbreviation tables, attribute values and DIEs, parsed on demand with
nothing built for what is not asked.  Section offsets are used throughout:
a DIE is named by its offset in ``.debug_info``.  pyelftools is not used here:
its object graph costs seconds and gigabytes on a kernel, and its default
relocation pass minutes.
"""
from __future__ import annotations

import bisect
import functools
import re
import struct
from typing import Any
from collections.abc import Iterator

from ..errors import BadSymbolFile
from .cache import SymbolCache
from .elffile import ElfImage

# Tags and attributes used by this package
TAG_array_type, TAG_class_type, TAG_enumeration_type, TAG_formal_parameter = 0x01, 0x02, 0x04, 0x05
TAG_member, TAG_pointer_type, TAG_reference_type = 0x0D, 0x0F, 0x10
TAG_structure_type, TAG_subroutine_type, TAG_typedef, TAG_union_type = 0x13, 0x15, 0x16, 0x17
TAG_unspecified_parameters, TAG_subrange_type, TAG_base_type = 0x18, 0x21, 0x24
TAG_const_type, TAG_enumerator, TAG_subprogram, TAG_variable = 0x26, 0x28, 0x2E, 0x34
TAG_volatile_type, TAG_restrict_type, TAG_unspecified_type, TAG_atomic_type = 0x35, 0x37, 0x3B, 0x47

AT_sibling, AT_location, AT_name, AT_byte_size = 0x01, 0x02, 0x03, 0x0B
AT_bit_offset, AT_bit_size, AT_stmt_list, AT_comp_dir = 0x0C, 0x0D, 0x10, 0x1B
AT_const_value, AT_upper_bound = 0x1C, 0x2F
AT_count, AT_data_member_location, AT_declaration, AT_encoding = 0x37, 0x38, 0x3C, 0x3E
AT_specification, AT_type, AT_data_bit_offset = 0x47, 0x49, 0x6B
AT_str_offsets_base, AT_addr_base = 0x72, 0x73

# How a value lies in .debug_info ...
L_FIXED, L_ULEB, L_SLEB, L_CSTR, L_BLOCK_ULEB, L_BLOCK_FIXED, L_NONE = range(7)
# ... and what it means.
(V_UNSIGNED, V_SIGNED, V_ADDR, V_ADDRX, V_STRP, V_LINE_STRP, V_STRX, V_STRING, V_REF, V_REF_ADDR,
 V_FLAG, V_BLOCK, V_OTHER, V_IMPLICIT, V_PRESENT) = range(15)


@functools.cache
def _forms(addr_size: int, offset_size: int, version: int) -> dict[int, tuple[int, int, int]]:
    """Form -> (layout, fixed size, meaning) for a unit's address and offset sizes."""
    off = offset_size
    return {
        0x01: (L_FIXED, addr_size, V_ADDR),
        0x03: (L_BLOCK_FIXED, 2, V_BLOCK), 0x04: (L_BLOCK_FIXED, 4, V_BLOCK),
        0x05: (L_FIXED, 2, V_UNSIGNED), 0x06: (L_FIXED, 4, V_UNSIGNED),
        0x07: (L_FIXED, 8, V_UNSIGNED), 0x08: (L_CSTR, 0, V_STRING),
        0x09: (L_BLOCK_ULEB, 0, V_BLOCK), 0x0A: (L_BLOCK_FIXED, 1, V_BLOCK),
        0x0B: (L_FIXED, 1, V_UNSIGNED), 0x0C: (L_FIXED, 1, V_FLAG),
        0x0D: (L_SLEB, 0, V_SIGNED), 0x0E: (L_FIXED, off, V_STRP),
        0x0F: (L_ULEB, 0, V_UNSIGNED),
        0x10: (L_FIXED, addr_size if version < 3 else off, V_REF_ADDR),
        0x11: (L_FIXED, 1, V_REF), 0x12: (L_FIXED, 2, V_REF), 0x13: (L_FIXED, 4, V_REF),
        0x14: (L_FIXED, 8, V_REF), 0x15: (L_ULEB, 0, V_REF),
        0x17: (L_FIXED, off, V_UNSIGNED), 0x18: (L_BLOCK_ULEB, 0, V_BLOCK),
        0x19: (L_NONE, 0, V_PRESENT), 0x1A: (L_ULEB, 0, V_STRX),
        0x1B: (L_ULEB, 0, V_ADDRX), 0x1C: (L_FIXED, 4, V_OTHER),
        0x1D: (L_FIXED, off, V_OTHER), 0x1E: (L_FIXED, 16, V_UNSIGNED),
        0x1F: (L_FIXED, off, V_LINE_STRP), 0x20: (L_FIXED, 8, V_OTHER),
        0x21: (L_NONE, 0, V_IMPLICIT), 0x22: (L_ULEB, 0, V_UNSIGNED),
        0x23: (L_ULEB, 0, V_UNSIGNED), 0x24: (L_FIXED, 8, V_OTHER),
        0x25: (L_FIXED, 1, V_STRX), 0x26: (L_FIXED, 2, V_STRX), 0x27: (L_FIXED, 3, V_STRX),
        0x28: (L_FIXED, 4, V_STRX), 0x29: (L_FIXED, 1, V_ADDRX), 0x2A: (L_FIXED, 2, V_ADDRX),
        0x2B: (L_FIXED, 3, V_ADDRX), 0x2C: (L_FIXED, 4, V_ADDRX),
        0x1F01: (L_ULEB, 0, V_ADDRX), 0x1F02: (L_ULEB, 0, V_STRX),
        0x1F20: (L_FIXED, off, V_OTHER), 0x1F21: (L_FIXED, off, V_OTHER),
    }


def uleb(data: Any, pos: int) -> tuple[int, int]:
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    result, shift = b & 0x7F, 7
    while True:
        pos += 1
        b = data[pos]
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos + 1
        shift += 7


def sleb(data: Any, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, pos


class Abbrev:
    """One abbreviation declaration, compiled for a unit's address/offset sizes."""

    __slots__ = ("tag", "children", "attrs", "layouts", "meanings", "consts", "fixed_size",
                 "offsets", "where")

    def __init__(self, tag: int, children: bool, specs: list[tuple[int, int, int | None]],
                 addr_size: int, offset_size: int, version: int) -> None:
        self.tag = tag
        self.children = children
        self.attrs = tuple(a for a, _f, _c in specs)
        table = _forms(addr_size, offset_size, version)
        unknown = [f for _a, f, _c in specs if f not in table]
        if unknown:
            raise ValueError(f"unsupported DWARF form {unknown[0]:#x}")
        forms = [table[f] for _a, f, _c in specs]
        self.layouts = tuple((lay, size) for lay, size, _m in forms)
        self.meanings = tuple(m for _l, _s, m in forms)
        self.consts = tuple(c for _a, _f, c in specs)
        # byte offset of each attribute from the DIE's first attribute while all
        # before it have a fixed size (-1 after the first variable-size one)
        offsets, at = [], 0
        for lay, size in self.layouts:
            offsets.append(at)
            if at >= 0:
                at = at + size if lay in (L_FIXED, L_NONE) else -1
        self.offsets = tuple(offsets)
        self.fixed_size = at
        self.where = {a: i for i, a in enumerate(self.attrs)}


# One abbreviation declaration: code, then its body (tag, children flag, attribute specs).
_ULEB_NZ = rb"(?>[\x80-\xff]*[\x01-\x7f])"
_ULEB = rb"(?>[\x80-\xff]*[\x00-\x7f])"
_DECL = re.compile(
    rb"(" + _ULEB_NZ + rb")(" + _ULEB + rb"[\x00\x01](?>" + _ULEB_NZ
    + rb"(?>\x21" + _ULEB + rb"|" + _ULEB_NZ + rb"))*\x00\x00)|\x00", re.S)


def skip_values(data: Any, pos: int, layouts: tuple[tuple[int, int], ...]) -> int:
    """The position after attribute values of the given layouts."""
    for lay, size in layouts:
        if lay == L_FIXED:
            pos += size
        elif lay == L_ULEB or lay == L_SLEB:
            while data[pos] & 0x80:
                pos += 1
            pos += 1
        elif lay == L_CSTR:
            pos = data.find(b"\0", pos) + 1
            if not pos:
                raise IndexError("unterminated string")
        elif lay == L_BLOCK_ULEB:
            n, pos = uleb(data, pos)
            pos += n
        elif lay == L_BLOCK_FIXED:
            pos += int.from_bytes(data[pos:pos + size], "little") + size
    return pos


def read_values(data: Any, pos: int, abbrev: Abbrev) -> tuple[list[Any], int]:
    """Raw attribute values: ints, or (start, end) for strings and blocks."""
    values: list[Any] = []
    append = values.append
    for i, (lay, size) in enumerate(abbrev.layouts):
        if lay == L_FIXED:
            append(int.from_bytes(data[pos:pos + size], "little"))
            pos += size
        elif lay == L_ULEB:
            v, pos = uleb(data, pos)
            append(v)
        elif lay == L_SLEB:
            v, pos = sleb(data, pos)
            append(v)
        elif lay == L_CSTR:
            end = data.find(b"\0", pos)
            if end < 0:
                raise IndexError("unterminated string")
            append((pos, end))
            pos = end + 1
        elif lay == L_BLOCK_ULEB:
            n, pos = uleb(data, pos)
            append((pos, pos + n))
            pos += n
        elif lay == L_BLOCK_FIXED:
            n = int.from_bytes(data[pos:pos + size], "little")
            pos += size
            append((pos, pos + n))
            pos += n
        elif abbrev.meanings[i] == V_IMPLICIT:
            append(abbrev.consts[i])
        else:
            append(1)
    return values, pos


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
            m = _DECL.match(data, pos, end)
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
