"""rd: read memory, laid out as crash's display_memory() lays it out."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError, MemoryError_
from .args import parse_address, parse_number
from .base import ANY_TARGET, Command, Context, Option, Result, Text

ADDR_WIDTH = 16
#: entries per line and where the ASCII column starts, per unit size (as crash)
_LAYOUT = {8: (2, 37 + ADDR_WIDTH), 4: (4, 39 + ADDR_WIDTH),
           2: (8, 43 + ADDR_WIDTH), 1: (16, 51 + ADDR_WIDTH)}
_DEC_WIDTH = {8: 15, 4: 12, 2: 5, 1: 3}
_UDEC_WIDTH = {8: 20, 4: 12, 2: 5, 1: 3}


def _ascii(raw: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in raw)


def format_words(addr: int, data: bytes, unit: int, *, mode: str = "hex", ascii: bool = True,
                 symbolic: Any = None) -> list[str]:
    """Lines of ``rd`` output for ``data`` read at ``addr``.

    mode: "hex", "dec" (signed) or "udec"; ``symbolic(value) -> str | None``
    names values that point at symbols (``-s``).
    """
    per_line, ascii_start = _LAYOUT[unit]
    lines: list[str] = []
    for start in range(0, len(data), unit * per_line):
        chunk = data[start:start + unit * per_line]
        text = f"{addr + start:{ADDR_WIDTH}x}:  "
        for off in range(0, len(chunk), unit):
            raw = chunk[off:off + unit]
            value = int.from_bytes(raw, "little", signed=(mode == "dec"))
            name = symbolic(value) if symbolic is not None else None
            if name:
                text += f"{name:<16} "
            elif mode == "hex":
                text += f"{value:0{unit * 2}x} "
            elif mode == "dec":
                text += f"{value:{_DEC_WIDTH[unit]}d} "
            else:
                text += f"{value:{_UDEC_WIDTH[unit]}d} "
        if ascii:
            text = text.ljust(ascii_start) + "  " + _ascii(chunk)
        lines.append(text.rstrip() if not ascii else text)
    return lines


class Rd(Command):
    targets = ANY_TARGET
    name = "rd"
    synopsis = "rd [-adDsSupxmfNR][-8|-16|-32|-64][-o offs][-e addr] [address|symbol] [count]"
    summary = "read memory"
    group = "memory"
    description = """\
Displays memory contents: by default one 64-bit word in hexadecimal with its
ASCII rendering at the end of the line, exactly as crash lays it out.

  -8 -16 -32 -64   unit size (default 64)
  -a               ASCII string(s) at the address
  -d / -D          signed / unsigned decimal
  -s               show values that point into symbols as symbol+offset
  -S / -SS         the same, and values that point into slab objects as
                   [cache] / [address:cache] (Linux targets)
  -x               no ASCII column
  -p               physical address (on a Xen hypervisor target: machine address)
  -u               user virtual address of the current task
  -o offs          add offs to the address
  -e addr          read up to this end address (instead of a count)
  count            number of units (decimal)

A page that makedumpfile excluded or that is not in the dump stops the display
at that address with a one-line error; lines read before it are shown.
"""
    example = "rd -64 jiffies\nrd -s <task address> 8"
    options = (
        Option("-8", "u8", "8-bit units"), Option("-16", "u16", "16-bit units"),
        Option("-32", "u32", "32-bit units"), Option("-64", "u64", "64-bit units"),
        Option("-a", "ascii", "ASCII string"), Option("-d", "dec", "signed decimal"),
        Option("-D", "udec", "unsigned decimal"), Option("-s", "symbolic", "symbolic values"),
        Option("-S", "symbolic2", "symbolic values, slab objects as [cache]"),
        Option("-SS", "symbolic3", "symbolic values, slab objects as [address:cache]"),
        Option("-x", "noascii", "no ASCII column"), Option("-p", "physical", "physical address"),
        Option("-u", "user", "user virtual address"), Option("-m", "machine", "Xen machine address"),
        Option("-N", "net", "network byte order"),
        Option("-o", "offset", "offset added to the address", takes_value=True),
        Option("-e", "end", "ending address", takes_value=True),
    )

    def run(self, ctx: Context, args: list[str]) -> Result:
        opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        target = ctx.target
        unit = 1 if opts["u8"] else 2 if opts["u16"] else 4 if opts["u32"] else 8
        space = self._space(ctx, opts)
        addr = parse_address(target, rest[0])
        if opts["offset"]:
            addr += parse_number(opts["offset"], 16)
        if len(rest) > 1:
            count = parse_number(rest[1], 10)
        elif opts["end"]:
            end = parse_address(target, opts["end"])
            if end <= addr:
                raise CommandError(f"invalid ending address: {end:x}")
            count = max((end - addr) // (1 if opts["ascii"] else unit), 1)
        else:
            count = None
        if opts["ascii"]:
            return Text(self._ascii(space, addr, count))
        count = count or 1
        symbolic = None
        if opts["symbolic"] or opts["symbolic2"] or opts["symbolic3"]:
            if unit != 8:
                raise CommandError("-s option is only allowed with 64-bit display")
            symbolic = target.describe_address
            if (opts["symbolic2"] or opts["symbolic3"]) and target.kind == "linux":
                from .wordnames import word_namer
                symbolic = word_namer(target, with_address=opts["symbolic3"])
        mode = "dec" if opts["dec"] else "udec" if opts["udec"] else "hex"
        data, error = self._read(space, addr, count * unit)
        if opts["net"]:
            data = b"".join(data[i:i + unit][::-1] for i in range(0, len(data), unit))
        lines = format_words(addr, data, unit, mode=mode,
                             ascii=mode == "hex" and not opts["noascii"] and symbolic is None,
                             symbolic=symbolic)
        records = [{"address": addr + i, "value": int.from_bytes(data[i:i + unit], "little")}
                   for i in range(0, len(data), unit)]
        if error is not None:
            if not lines:
                raise CommandError(error)
            lines.append(error)
        return Text("\n".join(lines), records)

    @staticmethod
    def _space(ctx: Context, opts: dict[str, Any]) -> Any:
        target = ctx.target
        if opts["physical"] or opts["machine"]:
            return target.phys_space
        if opts["user"]:
            user_space = getattr(target, "user_space", None)
            if user_space is None:
                raise CommandError("-u needs a task context (a Linux target)")
            return user_space()
        return target.space

    @staticmethod
    def _read(space: Any, addr: int, size: int) -> tuple[bytes, str | None]:
        """Read page by page; stop at the first unreadable page and say why."""
        data = bytearray()
        pos, end = addr, addr + size
        while pos < end:
            n = min(end - pos, 4096 - (pos & 0xFFF))
            try:
                data += space.read(pos, n)
            except MemoryError_ as err:
                return bytes(data), f"read error: {space.name} address {pos:x}: {err}"
            pos += n
        return bytes(data), None

    @staticmethod
    def _ascii(space: Any, addr: int, count: int | None) -> str:
        limit = count if count is not None else 4096
        data = bytearray()
        pos = addr
        while len(data) < limit:
            try:
                chunk = space.read(pos, min(256, limit - len(data)))
            except MemoryError_ as err:
                if not data:
                    raise CommandError(str(err)) from None
                break
            data += chunk
            pos += len(chunk)
            if count is None and 0 in chunk:
                break
        text = bytes(data)
        if count is None:
            text = text.split(b"\0", 1)[0]
        out = []
        for i in range(0, len(text), 60):
            out.append(f"{addr + i:{ADDR_WIDTH}x}:  " + "".join(
                chr(b) if 0x20 <= b < 0x7F else "." for b in text[i:i + 60]))
        return "\n".join(out) if out else f"{addr:{ADDR_WIDTH}x}:  "


COMMANDS = [Rd]
