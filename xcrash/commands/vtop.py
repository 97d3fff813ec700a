"""vtop and ptov: virtual ↔ physical, with the page-table walk shown."""
from __future__ import annotations

from ..errors import CommandError
from .args import parse_address
from .base import Command, Context, Result, Text


class Vtop(Command):
    name = "vtop"
    synopsis = "vtop address ..."
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

    def run(self, ctx: Context, args: list[str]) -> Result:
        if not args:
            raise CommandError(f"usage: {self.usage()}")
        target = ctx.target
        blocks = []
        records = []
        for arg in args:
            vaddr = parse_address(target, arg)
            tr = target.translate(vaddr)
            lines = [f"{'VIRTUAL':<17} {'PHYSICAL':<16}",
                     f"{vaddr:<17x} " + (f"{tr.paddr:x}" if tr.paddr is not None
                                         else "(not mapped)"), ""]
            pseudo = None
            if tr.paddr is not None and hasattr(target, "pseudo_physical"):
                # a Xen PV guest: the walk gives machine addresses; PHYSICAL is the
                # guest's pseudo-physical one (Xen's m2p), MACHINE the frame in the dump
                pseudo = target.pseudo_physical(tr.paddr)
                lines[0] = f"{'VIRTUAL':<17} {'PHYSICAL':<16} MACHINE"
                lines[1] = (f"{vaddr:<17x} {pseudo if pseudo is not None else '?':<16x} "
                            if pseudo is not None else f"{vaddr:<17x} {'?':<16} ") \
                    + f"{tr.paddr:x}"
            if tr.method not in ("page table", "identity"):
                lines.append(f"{tr.method.upper()}: " + "; ".join(s.note for s in tr.steps))
            walk = target.space.walk(vaddr) if hasattr(target.space, "walk") else tr
            if walk.steps:
                root = getattr(target.space, "root", None)
                if root is not None:
                    lines.append(f"PAGE DIRECTORY: {root:x}")
                for step in walk.steps:
                    lines.append(f"{step.what:>6}: {step.address:x} => {step.value:x}")
            if walk.error:
                lines.append(walk.error)
            if walk.paddr is not None:
                lines.append(f"  PAGE: {walk.paddr & ~0xFFF:x}")
            blocks.append("\n".join(lines))
            records.append({"virtual": vaddr, "physical": tr.paddr if pseudo is None else pseudo,
                            **({"machine": tr.paddr} if pseudo is not None else {}),
                            "method": tr.method,
                            "steps": [{"level": s.what, "entry_address": s.address,
                                       "entry": s.value} for s in walk.steps],
                            "error": walk.error})
        return Text("\n\n".join(blocks), records)


class Ptov(Command):
    name = "ptov"
    synopsis = "ptov address ..."
    summary = "physical to (direct-map) virtual address"
    group = "memory"
    description = """\
Shows the kernel virtual address at which the direct map places each physical
(hexadecimal) address; on a kernel with memory KASLR the randomised
page_offset_base is used.
"""
    example = "ptov 1000000"

    def run(self, ctx: Context, args: list[str]) -> Result:
        if not args:
            raise CommandError(f"usage: {self.usage()}")
        space = ctx.target.space
        base = getattr(space, "page_offset", None)
        if base is None:
            raise CommandError("this target has no direct map")
        lines = [f"{'VIRTUAL':<17} {'PHYSICAL':<16}"]
        records = []
        for arg in args:
            paddr = int(arg, 16)
            lines.append(f"{base + paddr:<17x} {paddr:x}")
            records.append({"virtual": base + paddr, "physical": paddr})
        return Text("\n".join(lines), records)


COMMANDS = [Vtop, Ptov]
