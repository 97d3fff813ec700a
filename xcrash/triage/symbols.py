"""``--sym FILE``: symbol files by build-id, so that each dump takes its own.

The index is made once, in the process that starts the triage (each file's build-id
and kind: ``vmlinux`` or ``xen-syms``), and travels to the workers as plain data.
A Linux dump takes the vmlinux of VMCOREINFO's ``BUILD-ID``; a Xen host dump the
xen-syms of the hypervisor's build-id (read in Xen's image:
:func:`xcrash.targets.xen.buildid.hypervisor_build_id`) and every vmlinux given (the
session gives each guest the one whose banner and build-id its memory holds).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import XcrashError


@dataclass
class SymbolEntry:
    path: str
    build_id: str | None
    kind: str


@dataclass
class SymbolIndex:
    """The symbol files given, and those that could not be read (with why)."""
    entries: list[SymbolEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def by_build_id(self, build_id: str | None, kind: str) -> list[str]:
        if not build_id:
            return []
        bid = build_id.lower()
        return [e.path for e in self.entries if e.kind == kind and e.build_id == bid]

    def of_kind(self, kind: str) -> list[str]:
        return [e.path for e in self.entries if e.kind == kind]


def index_symbols(paths: list[str]) -> SymbolIndex:
    """Each file's build-id and kind (an ``.xz`` file is unpacked into the cache once)."""
    from ..symbols import open_symbol_file
    index = SymbolIndex()
    for path in paths:
        try:
            sf = open_symbol_file(path)
        except (XcrashError, OSError) as err:
            index.problems.append(f"{path}: {err}")
            continue
        index.entries.append(SymbolEntry(os.path.abspath(path), (sf.build_id or "").lower()
                                         or None, sf.kind))
    return index


@dataclass
class DumpIds:
    """What a dump says of its builds, read from its headers and notes only."""
    format: str
    build_id: str | None
    release: str | None
    hypervisor: str | None
    hypervisor_build_id: str | None


def dump_ids(dump: Any) -> DumpIds:
    from ..targets.xen.buildid import hypervisor_build_id
    vi = dump.vmcoreinfo
    xen = dump.xen
    return DumpIds(format=dump.format_name,
                   build_id=vi.build_id if vi is not None and xen is None else None,
                   release=vi.osrelease if vi is not None and xen is None else None,
                   hypervisor=xen.version if xen is not None else None,
                   hypervisor_build_id=hypervisor_build_id(dump) if xen is not None else None)


def chosen(index: SymbolIndex, ids: DumpIds) -> list[str]:
    """The symbol files a dump takes, in the order the session wants them."""
    if ids.hypervisor is not None:
        return (index.by_build_id(ids.hypervisor_build_id, "xen-syms")[:1]
                + index.of_kind("vmlinux"))
    return index.by_build_id(ids.build_id, "vmlinux")[:1]
