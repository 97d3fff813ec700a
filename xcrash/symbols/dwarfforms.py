"""How DWARF (versions 2 to 5) encodes what ``.debug_info`` holds: the tags and
attributes this package reads, each form's layout and meaning, LEB128 numbers, and
abbreviation declarations compiled for fast reading of attribute values."""
from __future__ import annotations

import functools
import re
from typing import Any

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
def form_table(addr_size: int, offset_size: int, version: int) -> dict[int, tuple[int, int, int]]:
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
        table = form_table(addr_size, offset_size, version)
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
ABBREV_DECL = re.compile(
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
