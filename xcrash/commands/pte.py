"""pte: what an x86_64 page-table entry says: its frame and its flags."""
from __future__ import annotations

from ..errors import CommandError
from .args import parse_number
from .base import ANY_TARGET, Command, Context, Result, Text
from ..layouts.columns import center


class Pte(Command):
    name = "pte"
    synopsis = "pte contents ..."
    summary = "translate a page-table entry into its physical address and flags"
    group = "memory"
    targets = ANY_TARGET
    description = """\
Each (hexadecimal) page-table entry as its physical page address and its
flags, in crash's names: PRESENT RW USER PWT PCD ACCESSED DIRTY PSE (present
entries only) PROTNONE (non-present entries only) GLOBAL NX; "no mapping" for 0.
In a Xen PV guest the frame is a machine frame.  A non-present, non-PROTNONE
entry is a swap entry, which xcrash does not decode yet (crash shows its swap
type and offset).
"""
    example = "pte 8000000012345067\npte 12e7"

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..memory.x86_64 import FRAME_MASK, PRESENT, pte_flag_names
        _opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        blocks, records = [], []
        for arg in rest:
            pte = parse_number(arg, 16)
            if pte and not pte & (PRESENT | 0x100):
                raise CommandError(f"pte: {pte:x} is a swap entry (not present): xcrash does "
                                   "not decode swap entries yet")
            paddr = pte & FRAME_MASK
            names = pte_flag_names(pte)
            text, phys = f"{pte:x}", f"{paddr:x}"
            w1, w2 = max(len(text), 3), max(len(phys), 8)
            blocks.append(f"{center('PTE', w1)}  {center('PHYSICAL', w2)}  FLAGS\n"
                          f"{center(text, w1, True)}  {center(phys, w2, True)}  "
                          f"({'|'.join(names) if pte else 'no mapping'})")
            records.append({"pte": pte, "physical": paddr, "flags": names})
        return Text("\n".join(blocks), records)


COMMANDS = [Pte]
