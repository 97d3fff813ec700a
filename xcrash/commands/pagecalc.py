"""btop and ptob: byte addresses to page numbers and back (4 KiB pages)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..arch import PAGE_SHIFT
from ..errors import CommandError
from ..results import Column, Records
from .args import parse_number
from .base import ANY_TARGET, Command, Context


@dataclass
class PageAddress:
    """A byte address and the number of the page holding it."""
    address: int
    pfn: int


def btop_lines(records: Iterable[PageAddress]) -> Iterator[str]:
    for r in records:
        yield f"{r.address:x}: {r.pfn:x}"


def ptob_lines(records: Iterable[PageAddress]) -> Iterator[str]:
    for r in records:
        yield f"{r.pfn:x}: {r.address:x}"


COLUMNS = [Column("ADDRESS", "address", fmt=lambda v: f"{v:x}"),
           Column("PFN", "pfn", fmt=lambda v: f"{v:x}")]


class Btop(Command):
    name = "btop"
    arguments = "address ..."
    summary = "byte address to page number"
    group = "memory"
    targets = ANY_TARGET
    description = "The page frame number of each (hexadecimal) address, as `address: pfn`."
    example = "btop 1fff 3000"

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        values = [parse_number(a, 16) for a in rest]
        return Records([PageAddress(v, v >> PAGE_SHIFT) for v in values], btop_lines, columns=COLUMNS)


class Ptob(Command):
    name = "ptob"
    arguments = "pfn ..."
    summary = "page number to byte address"
    group = "memory"
    targets = ANY_TARGET
    description = """\
The byte address of each page frame number, as `pfn: address` (both in hex);
numbers are decimal unless written 0x..., as crash reads them."""
    example = "ptob 1 20 0x14"

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        values = [parse_number(a, 10) for a in rest]
        return Records([PageAddress(v << PAGE_SHIFT, v) for v in values], ptob_lines, columns=COLUMNS[::-1])


COMMANDS = [Btop, Ptob]
