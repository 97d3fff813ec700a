"""A name index over DWARF: type, global variable and function name -> DIE offset.

Built once by walking only the top-level DIEs of every unit (children are
skipped through ``DW_AT_sibling``), reading a name only the first time it is
seen: every unit repeats the types it uses, so most DIEs are passed over after
one integer comparison.  The result is plain dicts for the on-disk cache.

When a struct, union or enum name has definitions of different sizes (a
driver's private ``struct console``), the one repeated in the most units, the
one from a shared header, is chosen.  Definitions win over declarations.
"""
from __future__ import annotations

import os
from typing import Any

from .. import progress
from .dwarf import DwarfFile, Unit
from .dwarfforms import (AT_byte_size, AT_declaration, AT_location, AT_name, AT_sibling, AT_specification,
                         L_FIXED, TAG_base_type, TAG_enumeration_type, TAG_structure_type, TAG_subprogram,
                         TAG_typedef, TAG_union_type, TAG_variable, V_LINE_STRP, V_STRING, V_STRP, V_STRX,
                         Abbrev, read_values, skip_values, uleb)

_PREFIX = {TAG_structure_type: "struct ", TAG_union_type: "union ",
           TAG_enumeration_type: "enum ", TAG_typedef: "", TAG_base_type: ""}
_TYPES, _VARS, _FUNCS = 0, 1, 2
_SPACE = {tag: _TYPES for tag in _PREFIX} | {TAG_variable: _VARS, TAG_subprogram: _FUNCS}
_SIZED = (TAG_structure_type, TAG_union_type, TAG_enumeration_type)

_WALK, _JUMP, _ENTRY = 0, 1, 2


def build_dwarf_index(dw: DwarfFile) -> dict[str, Any]:
    """``{"types": {"struct x" | "enum x" | "x": offset}, "vars": {...}, "funcs": {...},
    "variants": {"struct x": [(offset, size, last unit), ...]}}``: a struct, union or
    enum name defined with several sizes lists each definition (``types`` has the
    most repeated one), with the offset of the last unit that has it."""
    try:
        with dw.elf.reading(dw.info_base, dw.info_size):
            return _Walk(dw).run()
    except (IndexError, KeyError) as e:
        raise dw.bad(f"damaged .debug_info ({type(e).__name__}: {e})") from None


class _Plan:
    """What the walk does with DIEs of one abbreviation."""

    __slots__ = ("action", "jump_at", "jump_size", "name_at", "name_size", "strp", "sized",
                 "size_at", "size_size", "seen", "space", "definition", "prefix", "abbrev")

    def __init__(self, walk: _Walk, ab: Abbrev) -> None:
        where, offsets, layouts = ab.where, ab.offsets, ab.layouts
        self.abbrev = ab
        s = where.get(AT_sibling)
        fixed_sibling = (s is not None and ab.children and offsets[s] >= 0
                         and layouts[s][0] == L_FIXED)
        self.jump_at, self.jump_size = ((offsets[s], layouts[s][1]) if s is not None and fixed_sibling
                                        else (-1, 0))
        space = _SPACE.get(ab.tag)
        self.space = space
        if space is None:
            self.action = _JUMP if fixed_sibling else _WALK
            return
        self.action = _ENTRY
        self.definition = AT_declaration not in where and (space != _VARS or AT_location in where)
        self.prefix = _PREFIX.get(ab.tag, "")
        n = where.get(AT_name)
        self.name_at = self.name_size = -1
        self.strp = False
        if n is not None and offsets[n] >= 0 and ab.meanings[n] in (V_STRP, V_STRING):
            self.name_at, self.name_size = offsets[n], layouts[n][1]
            self.strp = ab.meanings[n] == V_STRP
        b = where.get(AT_byte_size)
        self.sized = self.definition and ab.tag in _SIZED and b is not None \
            and offsets[b] >= 0 and layouts[b][0] == L_FIXED
        self.size_at, self.size_size = ((offsets[b], layouts[b][1]) if b is not None and self.sized
                                        else (-1, 0))
        self.seen = walk.seen.setdefault((space, self.prefix, self.definition), set())


class _Walk:
    def __init__(self, dw: DwarfFile) -> None:
        self.dw = dw
        self.defined: list[dict[str, int]] = [{}, {}, {}]
        self.declared: list[dict[str, int]] = [{}, {}, {}]
        # raw names already indexed (.debug_str offsets, inline bytes; with the
        # size for sized types), by (space, prefix, is a definition)
        self.seen: dict[tuple[int, str, bool], set[Any]] = {}
        self.strp_names: dict[int, str] = {}
        self.plans: dict[Abbrev, _Plan] = {}
        # sized definitions: name -> [(raw key, offset)], and raw key -> units
        self.variants: dict[str, list[tuple[Any, int]]] = {}
        self.counts: dict[Any, int] = {}
        #: sized definitions: raw key -> the offset of the last unit that has it
        self.last_unit: dict[Any, int] = {}

    def run(self) -> dict[str, Any]:
        units = list(self.dw.units)
        task = f"indexing the DWARF of {os.path.basename(self.dw.elf.path)}"
        for i, unit in enumerate(units):
            if i % 256 == 0:
                progress.report(task, i / len(units))
            self._unit(unit)
        progress.report(task, 1.0)
        types = self.defined[_TYPES]
        variants: dict[str, list[tuple[int, int, int]]] = {}
        for name, found in self.variants.items():
            if len(found) > 1:
                types[name] = max(found, key=lambda kv: self.counts[kv[0]])[1]
                variants[name] = [(die, key[1], self.last_unit.get(key, 0))
                                  for key, die in found]
        result: dict[str, Any] = {"variants": variants}
        for space, key in ((_TYPES, "types"), (_VARS, "vars"), (_FUNCS, "funcs")):
            merged = dict(self.declared[space])
            merged.update(self.defined[space])
            result[key] = merged
        return result

    def _unit(self, unit: Unit) -> None:
        dw = self.dw
        base = dw.info_base
        data = bytes(dw.data[base + unit.offset:base + unit.end])
        plans = self.plans
        uplans: dict[int, _Plan] = {}
        for code, ab in dw.abbrevs(unit).items():
            plan = plans.get(ab)
            if plan is None:
                plan = plans[ab] = _Plan(self, ab)
            uplans[code] = plan
        p = unit.first_die - unit.offset
        code, p = uleb(data, p)
        top = uplans[code].abbrev
        p = skip_values(data, p, top.layouts)
        if not top.children:
            return
        pending: list[tuple[int, int]] = []         # (specification, definition)
        counts = self.counts
        from_bytes = int.from_bytes
        n = len(data)
        depth = 1
        while p < n:
            start = p
            code = data[p]
            p += 1
            if code >= 0x80:
                code, p = uleb(data, start)
            elif not code:
                depth -= 1
                if not depth:
                    break
                continue
            plan = uplans[code]
            if depth == 1:
                action = plan.action
                if action == _JUMP:
                    o = p + plan.jump_at
                    p = from_bytes(data[o:o + plan.jump_size], "little")
                    continue
                if action == _ENTRY:
                    if plan.name_at < 0:
                        p = self._entry(data, p, plan, unit, pending, unit.offset + start, None)
                        continue
                    o = p + plan.name_at
                    key: Any = from_bytes(data[o:o + plan.name_size], "little") if plan.strp \
                        else data[o:data.find(b"\0", o)]
                    if plan.sized:
                        o = p + plan.size_at
                        key = (key, from_bytes(data[o:o + plan.size_size], "little"))
                        counts[key] = counts.get(key, 0) + 1
                        self.last_unit[key] = unit.offset
                    seen = plan.seen
                    if key not in seen:
                        seen.add(key)
                        p = self._entry(data, p, plan, unit, pending, unit.offset + start, key)
                        continue
                    if plan.jump_at >= 0:
                        o = p + plan.jump_at
                        p = from_bytes(data[o:o + plan.jump_size], "little")
                        continue
            ab = plan.abbrev
            p = p + ab.fixed_size if ab.fixed_size >= 0 else skip_values(data, p, ab.layouts)
            if ab.children:
                depth += 1
        for spec, die in pending:
            name = dw.die(spec, unit).get(AT_name)
            if name:
                self.defined[_VARS].setdefault(name, die)

    def _name(self, meaning: int, raw: Any, data: bytes, unit: Unit) -> str:
        if meaning == V_STRP:
            name = self.strp_names.get(raw)
            if name is None:
                name = self.strp_names[raw] = self.dw.cstring(".debug_str", raw)
            return name
        if meaning == V_STRING:
            return data[raw[0]:raw[1]].decode("utf-8", "replace")
        if meaning == V_LINE_STRP:
            return self.dw.cstring(".debug_line_str", raw)
        if meaning == V_STRX:
            return self.dw.strx(unit, raw)
        return ""

    def _record(self, plan: _Plan, name: str, die: int, key: Any) -> None:
        if not name:
            return
        name = plan.prefix + name
        assert plan.space is not None       # only entries are recorded
        target = self.defined if plan.definition else self.declared
        target[plan.space].setdefault(name, die)
        if plan.sized and key is not None:
            self.variants.setdefault(name, []).append((key, die))

    def _entry(self, data: bytes, p: int, plan: _Plan, unit: Unit,
               pending: list[tuple[int, int]], die: int, key: Any) -> int:
        """Index a top-level DIE (at ``die``, its attributes at ``p``, ``key`` its
        raw name if read already); return the position after it and its children."""
        if key is not None and plan.jump_at >= 0:
            raw = key[0] if plan.sized else key
            name = self._name(V_STRP, raw, data, unit) if plan.strp \
                else raw.decode("utf-8", "replace")
            self._record(plan, name, die, key)
            o = p + plan.jump_at
            return int.from_bytes(data[o:o + plan.jump_size], "little")
        ab = plan.abbrev
        values, end = read_values(data, p, ab)
        where = ab.where
        n = where.get(AT_name)
        if n is not None:
            self._record(plan, self._name(ab.meanings[n], values[n], data, unit), die, key)
        elif plan.definition and plan.space == _VARS and AT_specification in where:
            pending.append((values[where[AT_specification]] + unit.offset, die))
        if not ab.children:
            return end
        if AT_sibling in where:
            return int(values[where[AT_sibling]])
        depth, abbrevs = 1, self.dw.abbrevs(unit)
        p = end
        while depth:
            code, p = uleb(data, p)
            if code == 0:
                depth -= 1
                continue
            child = abbrevs[code]
            p = p + child.fixed_size if child.fixed_size >= 0 else skip_values(
                data, p, child.layouts)
            if child.children:
                depth += 1
        return p
