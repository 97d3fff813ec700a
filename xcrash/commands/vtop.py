"""vtop and ptov: virtual ↔ physical, with the page-table walk shown.

vtop's records come from ``targets/memory.py``; ptov is arithmetic on the
target's direct map.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..errors import CommandError
from ..layouts import separated
from ..results import Column, Records, Teaching
from ..targets.linux import teach
from ..targets.linux.kernel import LinuxTarget
from ..targets.memory import AddressTranslation, direct_map_base, translation
from .args import parse_address, parse_number
from .base import Command, Context


def translation_lines(t: AddressTranslation) -> Iterator[str]:
    if t.machine is not None:
        yield f"{'VIRTUAL':<17} {'PHYSICAL':<16} MACHINE"
        yield f"{t.virtual:<17x} {t.physical:<16x} {t.machine:x}"
    else:
        yield f"{'VIRTUAL':<17} {'PHYSICAL':<16}"
        yield f"{t.virtual:<17x} " + (f"{t.physical:x}" if t.physical is not None
                                      else "(not mapped)")
    yield ""
    if t.notes:
        yield f"{t.method.upper()}: " + "; ".join(t.notes)
    if t.steps:
        if t.root is not None:
            yield f"PAGE DIRECTORY: {t.root:x}"
        for s in t.steps:
            yield f"{s.level:>6}: {s.entry_address:x} => {s.entry:x}"
    if t.error:
        yield t.error
    if t.page is not None:
        yield f"  PAGE: {t.page:x}"


def vtop_lines(records: Iterable[AddressTranslation]) -> Iterator[str]:
    return separated(translation_lines(t) for t in records)


class Vtop(Command):
    name = "vtop"
    arguments = "address ..."
    summary = "virtual to physical address translation, with the page-table walk"
    group = "memory"
    description = """\
Translates kernel (or hypervisor) virtual addresses and shows how: for the
direct map and the kernel image the arithmetic used, and in every case the
walk of the page tables (each level's entry address and value), as crash's
vtop does.  A non-present entry ends the walk and is reported.
In a Xen PV guest the page tables hold machine frames: PHYSICAL is the
guest's pseudo-physical address (Xen's m2p) and MACHINE the dump's.
"""
    example = "vtop jiffies"

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        target = ctx.target
        addresses = [parse_address(target, arg) for arg in rest]
        return Records([translation(target, vaddr) for vaddr in addresses], vtop_lines)


    def teach(self, ctx: Context, args: list[str]) -> Teaching | None:
        _opts, rest = self.parse(args)
        target = ctx.target
        if not rest or not isinstance(target, LinuxTarget):
            return None
        teaching = teach.translation_teaching(target, [parse_address(target, a) for a in rest])
        teaching.imports.append("from xcrash.commands.vtop import vtop_lines")
        teaching.body += ["for line in vtop_lines(records):", "    print(line)"]
        return teaching


@dataclass
class DirectMapAddress:
    """ptov: a physical address and where the direct map shows it."""
    virtual: int
    physical: int


def ptov_lines(records: Iterable[DirectMapAddress]) -> Iterator[str]:
    yield f"{'VIRTUAL':<17} {'PHYSICAL':<16}"
    for r in records:
        yield f"{r.virtual:<17x} {r.physical:x}"


PTOV_COLUMNS = [Column("VIRTUAL", "virtual", fmt=lambda v: f"{v:x}"),
                Column("PHYSICAL", "physical", fmt=lambda v: f"{v:x}")]


class Ptov(Command):
    name = "ptov"
    arguments = "address ..."
    summary = "physical to (direct-map) virtual address"
    group = "memory"
    description = """\
Shows the kernel virtual address at which the direct map places each physical
(hexadecimal) address; on a kernel with memory KASLR the randomised
page_offset_base is used.
"""
    example = "ptov 1000000"

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        base = direct_map_base(ctx.target)
        if base is None:
            raise CommandError("this target has no direct map")
        addresses = [parse_number(arg, 16) for arg in rest]
        return Records([DirectMapAddress(base + paddr, paddr) for paddr in addresses],
                       ptov_lines, columns=PTOV_COLUMNS)


COMMANDS = [Vtop, Ptov]
