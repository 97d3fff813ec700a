"""ascii: the characters in a value, or the ASCII chart."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..errors import CommandError
from ..results import Column, Records, text_lines
from .base import ANY_TARGET, Command, Context

CONTROL = ("NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI DLE DC1 DC2 DC3 DC4 NAK "
           "SYN ETB CAN EM SUB ESC FS GS RS US").split()


def characters(value: int, size: int) -> str:
    """The ``size`` bytes of a value, lowest first, as crash spells them: printable
    characters as they are, control characters by name, the rest in hex."""
    out = []
    for i in range(size):
        c = value >> (8 * i) & 0xFF
        if 0x20 <= c < 0x7F:
            out.append(chr(c))
        elif c < 0x20:
            out.append(f"<{CONTROL[c]}>")
        else:
            out.append("<DEL>" if c == 0x7F else f"<{c:02x}>")
    return "".join(out)


def chart() -> str:
    """The ASCII chart, low nibble down, high nibble across, in crash's layout."""
    names = {0x20: "SP", 0x7F: "DEL", **{i: n for i, n in enumerate(CONTROL)}}
    lines = ["", "      0    1   2   3   4   5   6   7", "    +-------------------------------"]
    for low in range(16):
        cells = [names.get(high << 4 | low, chr(high << 4 | low)) for high in range(8)]
        middle = "".join(f"{c:<4}" for c in cells[2:7])
        if len(cells[7]) > 1:
            middle = middle[:-1]           # DEL takes one column more
        lines.append(f"  {low:X} | {cells[0]:>3} {cells[1]:>3}  {middle}{cells[7]}")
    return "\n".join(lines)


@dataclass
class Characters:
    """A value and its characters, lowest byte first."""
    value: int
    text: str


def characters_lines(records: Iterable[Characters]) -> Iterator[str]:
    for r in records:
        yield f"{r.value:016x}: {r.text}"


COLUMNS = [Column("VALUE", "value", fmt=lambda v: f"{v:016x}"), Column("CHARACTERS", "text")]


class Ascii(Command):
    name = "ascii"
    arguments = "[value ...]"
    summary = "the characters in a value, or the ASCII chart"
    group = "general"
    targets = ANY_TARGET
    description = """\
Each hexadecimal value (up to 16 digits: 8 bytes) as its bytes from
the lowest: printable characters as they are, control characters by name
(<NUL>, <LF>, ...), <DEL>, and the others in hex (<c0>).  Without a value, the
ASCII chart (crash's chart swaps ` with ' and - with _; this one does not).
"""
    example = "ascii 62696c2f7273752f\nascii"

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        if not rest:
            return text_lines(chart())
        records = []
        for arg in rest:
            digits = arg[2:] if arg[:2].lower() == "0x" else arg
            try:
                value = int(digits, 16)
            except ValueError:
                raise CommandError(f"ascii: invalid hexadecimal value: {arg}") from None
            if len(digits) > 16:
                raise CommandError(f'ascii: input string too large: "{digits}" '
                                   f"({len(digits)} vs 16)")
            records.append(Characters(value, characters(value, 8)))
        return Records(records, characters_lines, columns=COLUMNS)


COMMANDS = [Ascii]
