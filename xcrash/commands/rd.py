"""rd: read memory, laid out as crash's display_memory() lays it out.

The records (units, or lines of characters) come from ``targets/memory.py`` as
they are read, so a long display streams; this module lays them out.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import groupby
from typing import Any

from ..errors import CommandError
from ..memory.space import AddressSpace
from ..results import Records, text_lines
from ..targets.memory import Chars, Word, printable, string, words
from .args import parse_address, parse_number
from .base import ANY_TARGET, Command, Context, Option

ADDR_WIDTH = 16
#: entries per line and where the ASCII column starts, per unit size (as crash)
_LAYOUT = {8: (2, 37 + ADDR_WIDTH), 4: (4, 39 + ADDR_WIDTH),
           2: (8, 43 + ADDR_WIDTH), 1: (16, 51 + ADDR_WIDTH)}
_DEC_WIDTH = {8: 15, 4: 12, 2: 5, 1: 3}
_UDEC_WIDTH = {8: 20, 4: 12, 2: 5, 1: 3}


def _cell(w: Word, mode: str) -> str:
    if w.name:
        return f"{w.name:<16} "
    if mode == "hex":
        return f"{w.value:0{w.size * 2}x} "
    if mode == "dec":
        bits = 8 * w.size
        value = w.value - (1 << bits) if w.value >> (bits - 1) else w.value
        return f"{value:{_DEC_WIDTH[w.size]}d} "
    return f"{w.value:{_UDEC_WIDTH[w.size]}d} "


def word_lines(records: Iterable[Word], *, start: int, unit: int, mode: str = "hex",
               ascii: bool = True) -> Iterator[str]:
    """crash's lines of units read from ``start``: the address, the units in hex
    (or signed "dec", unsigned "udec"; a named value as its name), then with
    ``ascii`` the characters of the line."""
    per_line, ascii_start = _LAYOUT[unit]
    for _line, group in groupby(records, key=lambda w: (w.address - start) // (unit * per_line)):
        line = list(group)
        text = f"{line[0].address:{ADDR_WIDTH}x}:  " + "".join(_cell(w, mode) for w in line)
        if ascii:
            yield text.ljust(ascii_start) + "  " + printable(b"".join(w.raw for w in line))
        else:
            yield text.rstrip()


def chars_lines(records: Iterable[Chars]) -> Iterator[str]:
    for r in records:
        yield f"{r.address:{ADDR_WIDTH}x}:  {r.value}"


class Rd(Command):
    targets = ANY_TARGET
    name = "rd"
    arguments = "[address | symbol] [count]"
    summary = "read memory"
    group = "memory"
    description = """\
Displays memory contents: by default one 64-bit word in hexadecimal with its
ASCII rendering at the end of the line, exactly as crash lays it out.  The count
is a number of units (decimal).

A page that makedumpfile excluded or that is not in the dump stops the display
at that address: an error when it is the first, else a warning after the lines
read before it.  A long display is shown as it is read.  -R shows the count
units that end at the address; -f reads the dump file itself (the address is an
offset in it); -r FILE copies count bytes (or up to -e's address) to FILE
instead of showing them.
"""
    example = "rd -64 jiffies\nrd -s init_task 8\nrd -a linux_banner"
    options = (
        Option("-8", "u8", "8-bit units"), Option("-16", "u16", "16-bit units"),
        Option("-32", "u32", "32-bit units"), Option("-64", "u64", "64-bit units (the default)"),
        Option("-a", "ascii", "the ASCII string at the address: up to its first unprintable "
               "byte, or count bytes (unprintable ones end a line)"),
        Option("-d", "dec", "signed decimal"),
        Option("-D", "udec", "unsigned decimal"),
        Option("-s", "symbolic", "values that point into symbols as symbol+offset"),
        Option("-S", "symbolic2", "the same, and values that point into slab objects as "
               "[cache] (Linux targets)"),
        Option("-SS", "symbolic3", "the same, slab objects as [address:cache]"),
        Option("-x", "noascii", "no ASCII column"),
        Option("-p", "physical", "a physical address (on a Xen hypervisor: a machine address)"),
        Option("-u", "user", "a user virtual address of the current context task"),
        Option("-m", "machine", "a Xen machine address"),
        Option("-N", "net", "network byte order (each unit's bytes reversed)"),
        Option("-o", "offset", "add this (hexadecimal) offset to the address", takes_value=True,
               metavar="offs"),
        Option("-e", "end", "read up to this end address (instead of a count)",
               takes_value=True, metavar="addr"),
        Option("-R", "reverse", "the units up to and including the address"),
        Option("-f", "file", "the address is an offset in the dump file"),
        Option("-r", "raw", "copy the bytes to this file", takes_value=True, metavar="file"),
    )
    synopsis = ("rd [-adDsSupxmfNR][-8|-16|-32|-64][-o offs][-e addr][-r file][address|symbol]\n"
                "   [count]")

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        target = ctx.target
        unit = 1 if opts["u8"] else 2 if opts["u16"] else 4 if opts["u32"] else 8
        space = self._space(ctx, opts)
        addr = parse_address(target, rest[0])
        if opts["offset"]:
            addr += parse_number(opts["offset"], 16)
        count: int | None
        if len(rest) > 1:
            count = parse_number(rest[1], 10)
        elif opts["end"]:
            end = parse_address(target, opts["end"])
            if end <= addr:
                raise CommandError(f"invalid ending address: {end:x}")
            count = max((end - addr) // (1 if opts["ascii"] else unit), 1)
        else:
            count = None
        if opts["raw"] is not None:
            return self._copy(space, addr, opts["raw"],
                              parse_number(rest[1], 10) if len(rest) > 1 else None,
                              parse_address(target, opts["end"]) if opts["end"] else None)
        if opts["reverse"] and count and count > 1:
            addr -= (count - 1) * (1 if opts["ascii"] else unit)
            if addr < 0:
                raise CommandError(f"rd: -R: the {count} units before {rest[0]} start below 0")
        if opts["ascii"]:
            return Records(string(space, addr, count), chars_lines)
        namer: Callable[[int], str | None] | None = None
        if opts["symbolic"] or opts["symbolic2"] or opts["symbolic3"]:
            if unit != 8:
                raise CommandError("-s option is only allowed with 64-bit display")
            namer = target.describe_address
            if opts["symbolic2"] or opts["symbolic3"]:
                from ..targets.linux.kernel import LinuxTarget
                from ..targets.linux.wordnames import word_namer
                if isinstance(target, LinuxTarget):
                    namer = word_namer(target, with_address=opts["symbolic3"])
        mode = "dec" if opts["dec"] else "udec" if opts["udec"] else "hex"
        layout = partial(word_lines, start=addr, unit=unit, mode=mode,
                         ascii=mode == "hex" and not opts["noascii"] and namer is None)
        return Records(words(space, addr, count or 1, unit, swap=opts["net"], namer=namer),
                       layout)

    @staticmethod
    def _copy(space: AddressSpace, addr: int, path: str, count: int | None,
              end: int | None) -> Records:
        """rd -r: count bytes (or up to ``end``) from the address into a file."""
        if count is None and end is None:
            raise CommandError("rd: -r option requires either a count argument or the -e "
                               "option")
        size = count if count is not None else (end or addr) - addr
        if size <= 0:
            raise CommandError(f"rd: invalid count: {size}")
        data = space.read(addr, size)
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as err:
            raise CommandError(f"rd: cannot open {path}: {err.strerror}") from None
        return text_lines(f"{size} bytes copied from 0x{addr:x} to {path}")

    @staticmethod
    def _space(ctx: Context, opts: dict[str, Any]) -> AddressSpace:
        from ..targets.linux.kernel import LinuxTarget
        target = ctx.target
        if opts["file"]:
            from ..memory.filespace import FileSpace
            dump = getattr(ctx.session, "dump", None)
            if dump is None:
                raise CommandError("-f option requires a dumpfile")
            return FileSpace.of_dump(dump)
        if opts["physical"] or opts["machine"]:
            return target.phys_space
        if opts["user"]:
            if not isinstance(target, LinuxTarget):
                raise CommandError("-u needs a task context (a Linux target)")
            return target.user_space()
        return target.space


COMMANDS = [Rd]
