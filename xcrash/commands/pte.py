"""pte: what an x86_64 page-table entry says: its frame and its flags."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..errors import CommandError
from ..layouts.columns import center
from ..memory.x86_64 import FRAME_MASK, PRESENT, pte_flag_names
from ..results import Column, Records
from .args import parse_number
from .base import ANY_TARGET, Command, Context

#: the GLOBAL bit, which in a non-present entry says PROTNONE (not a swap entry)
PROTNONE = 0x100


@dataclass
class PageTableEntry:
    """An entry, the physical page it names and its flags (crash's names)."""
    pte: int
    physical: int
    flags: list[str]


def decode(pte: int) -> PageTableEntry:
    if pte and not pte & (PRESENT | PROTNONE):
        raise CommandError(f"pte: {pte:x} is a swap entry (not present): xcrash does "
                           "not decode swap entries yet")
    return PageTableEntry(pte, pte & FRAME_MASK, pte_flag_names(pte))


def pte_lines(records: Iterable[PageTableEntry]) -> Iterator[str]:
    """crash's two lines per entry, each column centred in its own width."""
    for r in records:
        text, phys = f"{r.pte:x}", f"{r.physical:x}"
        w1, w2 = max(len(text), 3), max(len(phys), 8)
        yield f"{center('PTE', w1)}  {center('PHYSICAL', w2)}  FLAGS"
        yield (f"{center(text, w1, True)}  {center(phys, w2, True)}  "
               f"({'|'.join(r.flags) if r.pte else 'no mapping'})")


COLUMNS = [Column("PTE", "pte", fmt=lambda v: f"{v:x}"),
           Column("PHYSICAL", "physical", fmt=lambda v: f"{v:x}"),
           Column("FLAGS", "flags", fmt=lambda v: f"({'|'.join(v) if v else 'no mapping'})")]


class Pte(Command):
    name = "pte"
    arguments = "contents ..."
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

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        return Records([decode(parse_number(arg, 16)) for arg in rest], pte_lines,
                       columns=COLUMNS)


COMMANDS = [Pte]
