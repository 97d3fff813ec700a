"""dev: character and block device majors, as crash lists them."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError, MemoryError_, XcrashError
from .base import Command, Context, Result, Text

CHR_HEADER = "CHRDEV    NAME                 CDEV        OPERATIONS      "
BLK_HEADER = "BLKDEV    NAME                GENDISK      OPERATIONS      "


def _row(target: Any, d: Any) -> str:
    head = f" {d.major:3d}      {d.name:<13} "
    if not d.operations:
        return head + " " + "     (none)     "
    hit = target.symbols.resolve(d.operations)
    ops = (hit[0].name + (f"+{hit[1]}" if hit[1] else "")) if hit else f"{d.operations:x}"
    return head + f" {d.object:16x}  {ops}"


class Dev(Command):
    name = "dev"
    synopsis = "dev"
    summary = "character and block device majors"
    group = "linux"
    targets = ("linux",)
    description = """\
Every registered character device region (major, name, its struct cdev and
file_operations) and block device major (major, name, a struct gendisk of
that major and its block_device_operations), in the kernel's hash order as
crash prints them; (none) when no cdev or gendisk is known for the major.
crash's -i (I/O ports), -p (PCI), -d/-D (disk I/O statistics) are not
implemented yet.
"""
    example = "dev"

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.devices import block_devices, char_devices
        _opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"dev: unexpected argument {rest[0]}")
        target = ctx.target
        try:
            chars, blocks = char_devices(target), block_devices(target)
        except (MemoryError_, XcrashError) as e:
            raise CommandError(f"dev: {e}") from None
        lines = ([CHR_HEADER] + [_row(target, d) for d in chars] + ["", BLK_HEADER]
                 + [_row(target, d) for d in blocks])
        records = ([dict(vars(d), kind="char") for d in chars]
                   + [dict(vars(d), kind="block") for d in blocks])
        return Text("\n".join(lines), records)


COMMANDS = [Dev]
