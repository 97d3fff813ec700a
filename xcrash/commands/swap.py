"""swap: the swap devices, as crash lists them.

The records come from ``targets/linux/swap.py``.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..errors import CommandError, XcrashError
from ..layouts.columns import center
from ..results import Column, Records
from ..targets.linux.swap import SwapDevice, swap_devices
from .args import linux_target
from .base import Command, Context

HEADER = "SWAP_INFO_STRUCT    TYPE       SIZE       USED     PCT  PRI  FILENAME"


def swap_lines(records: Iterable[SwapDevice]) -> Iterator[str]:
    yield HEADER
    for d in records:
        kind = "PARTITION" if d.partition else "  FILE   "
        yield (f"{d.address:<16x}  {kind} {center(f'{d.size_kb}k', 10, True)} "
               f"{center(f'{d.used_kb}k', 10, True)} {center(f'{d.percent:2d}%', 4, True)} "
               f"{d.priority:>4}  {d.filename}")


COLUMNS = [Column("SWAP_INFO_STRUCT", "address", fmt=lambda v: f"{v:x}"),
           Column("TYPE", "partition", fmt=lambda v: "PARTITION" if v else "FILE"),
           Column("SIZE", "size_kb", "right", fmt=lambda v: f"{v}k"),
           Column("USED", "used_kb", "right", fmt=lambda v: f"{v}k"),
           Column("PCT", "percent", "right", fmt=lambda v: f"{v}%"),
           Column("PRI", "priority", "right"), Column("FILENAME", "filename")]


class Swap(Command):
    name = "swap"
    arguments = ""
    summary = "swap device information"
    group = "linux"
    targets = ("linux",)
    description = """\
Each swap area in use (swap_info[], SWP_USED): its swap_info_struct, whether it is
a PARTITION or a FILE, its size and the part in use (KiB), how full it is, its
priority and its path.  A kernel with no swap area shows the header alone.
"""
    example = "swap"

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"usage: {self.usage()}")
        try:
            return Records(swap_devices(linux_target(ctx)), swap_lines, columns=COLUMNS)
        except XcrashError as err:
            raise CommandError(f"swap: {err}") from None


COMMANDS = [Swap]
