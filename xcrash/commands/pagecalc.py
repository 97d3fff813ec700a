"""btop and ptob: byte addresses to page numbers and back (4 KiB pages)."""
from __future__ import annotations

from ..arch import PAGE_SHIFT
from ..errors import CommandError
from .args import parse_number
from .base import ANY_TARGET, Command, Context, Result, Text



class Btop(Command):
    name = "btop"
    synopsis = "btop address ..."
    summary = "byte address to page number"
    group = "memory"
    targets = ANY_TARGET
    description = "The page frame number of each (hexadecimal) address, as `address: pfn`."
    example = "btop 1fff 3000"

    def run(self, ctx: Context, args: list[str]) -> Result:
        _opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        values = [parse_number(a, 16) for a in rest]
        return Text("\n".join(f"{v:x}: {v >> PAGE_SHIFT:x}" for v in values),
                    [{"address": v, "pfn": v >> PAGE_SHIFT} for v in values])


class Ptob(Command):
    name = "ptob"
    synopsis = "ptob pfn ..."
    summary = "page number to byte address"
    group = "memory"
    targets = ANY_TARGET
    description = """\
The byte address of each page frame number, as `pfn: address` (both in hex);
numbers are decimal unless written 0x..., as crash reads them."""
    example = "ptob 1 20 0x14"

    def run(self, ctx: Context, args: list[str]) -> Result:
        _opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        values = [parse_number(a, 10) for a in rest]
        return Text("\n".join(f"{v:x}: {v << PAGE_SHIFT:x}" for v in values),
                    [{"pfn": v, "address": v << PAGE_SHIFT} for v in values])


COMMANDS = [Btop, Ptob]
