"""Find one DWARF variable without an index: search the bytes of .debug_info.

A global variable's DIE holds ``DW_OP_addr <address>`` as its location, and a
DIE's name is a reference into .debug_str; both can be searched for at C speed
in the mapped section, and only the unit around a hit is then parsed.  This
answers the first questions of a session in milliseconds, where building the
name index of :mod:`.dwarfindex` takes seconds on a kernel.
"""
from __future__ import annotations

from collections.abc import Callable

from .dwarf import Die, DwarfFile
from .dwarfforms import AT_location, AT_name, TAG_variable, V_STRING, V_STRP

_WINDOW = 1 << 20
_MAX_NAME_PATTERNS = 64

Pattern = tuple[bytes, "tuple[int, int] | None"]    # bytes, (tag, meaning) of a name


class DwarfSearch:
    def __init__(self, dw: DwarfFile) -> None:
        self.dw = dw
        self._name_shapes: dict[tuple[int, int, int], list[tuple[int, bytes]]] = {}

    def variable_at(self, address: int) -> Die | None:
        """The variable DIE whose location is exactly ``DW_OP_addr address``."""
        expression = b"\x03" + address.to_bytes(8, "little")
        found = self._search([(b"\x09" + expression, None)],       # its length, then it
                             lambda d, _depth: d.tag == TAG_variable
                             and d.get(AT_location) == expression, limit=16)
        return found if isinstance(found, Die) else None

    def named(self, name: str, tag: int, limit: int = 32) -> Die | None | bool:
        """A top-level DIE of ``tag`` called ``name``: a search for references to
        the name in .debug_str (or for the name inline).  None if there is none;
        False if the search gave up (ask the name index)."""
        dw = self.dw
        encoded = name.encode() + b"\0"
        patterns: list[Pattern] = [(encoded, (tag, V_STRING))]
        strings = dw.section(".debug_str")
        if strings is not None:
            base, size = strings
            at = dw.data.find(encoded, base, base + size)
            while at >= 0:                                  # tail-merged strings: try each
                patterns.append(((at - base).to_bytes(4, "little"), (tag, V_STRP)))
                if len(patterns) > _MAX_NAME_PATTERNS:
                    return False
                at = dw.data.find(encoded, at + 1, base + size)
        return self._search(
            patterns, lambda d, depth: depth == 1 and d.tag == tag and d.get(AT_name) == name,
            limit)

    def _search(self, patterns: list[Pattern], accept: Callable[[Die, int], bool],
                limit: int) -> Die | None | bool:
        """The first DIE holding one of ``patterns`` in its attribute values that
        ``accept(die, depth)`` takes; None if there is none; False if ``limit``
        candidates were refused.  A hit that cannot be the name attribute a
        pattern names (see _could_be) is passed over without parsing its unit."""
        dw = self.dw
        start, end = dw.info_base, dw.info_base + dw.info_size
        longest = max(len(p) for p, _s in patterns)
        # window by window, every pattern: the first reference is usually early
        for window in range(start, end, _WINDOW):
            stop = min(window + _WINDOW, end)
            limit_end = min(stop + longest - 1, end)
            with dw.elf.reading(window, limit_end - window):
                hits = []
                for pattern, shape in patterns:
                    hit = dw.data.find(pattern, window, limit_end)
                    while 0 <= hit < stop:
                        hits.append((hit, shape))
                        hit = dw.data.find(pattern, hit + 1, limit_end)
            for hit, shape in sorted(hits, key=lambda h: h[0]):
                offset = hit - start
                if shape is not None and not self._could_be(offset, *shape):
                    continue
                found = dw.die_containing(offset)
                if found is not None and accept(*found):
                    return found[0]
                limit -= 1
                if limit <= 0:
                    return False
        return None

    def _could_be(self, offset: int, tag: int, meaning: int) -> bool:
        """Could ``offset`` hold the DW_AT_name (of that meaning) of a DIE of
        ``tag`` whose abbreviation puts the name at a fixed place?  Only the
        abbreviation code before it is checked: cheap, and false only when it
        cannot be."""
        dw = self.dw
        unit = dw.unit_of(offset)
        key = (unit.offset, tag, meaning)
        shapes = self._name_shapes.get(key)
        if shapes is None:
            shapes = self._name_shapes[key] = []
            for code, ab in dw.abbrevs(unit).items():
                i = ab.where.get(AT_name)
                if ab.tag == tag and i is not None and ab.meanings[i] == meaning \
                        and ab.offsets[i] >= 0:
                    encoded = _uleb_bytes(code)
                    shapes.append((ab.offsets[i] + len(encoded), encoded))
        at = dw.info_base + offset
        return any(dw.data[at - back:at - back + len(code)] == code for back, code in shapes)


def _uleb_bytes(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)
