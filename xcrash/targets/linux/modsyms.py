"""crash's ``sym -m MODULE`` / ``sym -M``: a module's symbols region by region, each
region between its START and END lines, and with ``mod -g`` its sections' start
and end.

The symbols are the module's kallsyms (``modules.py``), sorted by address and then
name; a region is ``mod->mem[type]`` (6.4+: TEXT, DATA, RODATA, RO_AFTER_INIT; its
END line at its last byte), or before 6.4 the module's core memory (``MODULE
START``/``MODULE END``).  A section line appears for a section holding one of the
listed symbols (its start but where a region starts), the ends before the starts
and the starts before the symbols at one address.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from collections.abc import Iterator

from .moddebug import loaded, regions

if TYPE_CHECKING:
    from .kernel import LinuxTarget
    from .modules import Module


@dataclass
class ModuleSymbolLine:
    """A line of sym -m: a symbol (``type`` its nm letter), a region's START/END
    (``type`` "start"/"end", ``name`` the region: "TEXT", "" before 6.4) or a section's
    start/end (``type`` "section start"/"section end", ``name`` the section)."""
    address: int
    type: str
    name: str
    module: str


def module_symbol_lines(target: LinuxTarget, module: Module) -> Iterator[ModuleSymbolLine]:
    spans = regions(target, module.name)
    syms = sorted(module.symbols, key=lambda s: (s.address, s.name))
    sections = _sections(target, module.name, syms)
    for start, end, label in spans:
        kind = label.removeprefix("_MODULE_").removesuffix(f"_START_{module.name}")
        kind = "" if kind.startswith("START") else kind
        yield ModuleSymbolLine(start, "start", kind, module.name)
        inside = [(s.address, 2, s.type_char, s.name) for s in syms if start <= s.address < end]
        for name, lo, hi in sections:
            if start <= lo < end:
                if lo != start:
                    inside.append((lo, 1, "section start", name))
                inside.append((hi, 0, "section end", name))
        for address, _rank, kind_or_letter, name in sorted(inside, key=lambda x: x[:2]):
            yield ModuleSymbolLine(address, kind_or_letter, name, module.name)
        yield ModuleSymbolLine(end - 1 if kind else end, "end", kind, module.name)


def _sections(target: LinuxTarget, name: str, syms: list) -> list[tuple[str, int, int]]:
    """(section, start, end) of the sections mod -g asked for that hold a symbol."""
    entry = loaded(target).get(name)
    if entry is None or not entry.with_sections:
        return []
    out = []
    for s in entry.symfile.elf.sections:
        if not s.allocated or s.name not in entry.sections:
            continue
        lo, hi = entry.sections[s.name], entry.sections[s.name] + s.size
        if any(lo <= sym.address < hi for sym in syms):
            out.append((s.name, lo, hi))
    return out
