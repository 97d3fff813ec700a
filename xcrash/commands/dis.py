"""dis: disassemble kernel or hypervisor text."""
from __future__ import annotations

from typing import Callable

from ..errors import CommandError, MemoryError_
from .args import parse_address, parse_number
from .base import Command, Context, Option, Result, Text
from .disasm import disassemble, render
from .sym import source_line

#: longest x86 instruction; used to read enough bytes for a count
MAX_INSN = 15


class Dis(Command):
    name = "dis"
    synopsis = "dis [-lrfuxd] [address | symbol | (expression)] [count]"
    summary = "disassemble memory"
    group = "symbols"
    description = """\
Disassembles in AT&T syntax, spelled as gdb (and so crash) spells it.
Without a count, a function's start disassembles the whole function and any
other address one instruction.
  -l   show the source file and line before each change of line
  -r   reverse: from the start of the function up to the address
  -f   forward: from the address to the end of its function (from the first
       instruction at or after it, as crash does)
  -x / -d  symbol offsets in hexadecimal / decimal (the default)
  -u   a user-space address of the context task (see `set`)
capstone decodes; xcrash normalises its text to gdb's (suffixes, hex
immediates, `0x0(%rax,%rax,1)` forms, `<symbol>` on branch targets, `# addr`
comments on RIP-relative operands): see xcrash/commands/disasm.py.
"""
    example = "dis -l sysrq_handle_crash\ndis panic 10"
    options = (Option("-l", "lines", "source lines"), Option("-r", "reverse", "reverse"),
               Option("-f", "forward", "from the address to the end of the function"),
               Option("-u", "user", "a user-space address of the context task"),
               Option("-x", "hex", "symbol offsets in hexadecimal"),
               Option("-d", "dec", "symbol offsets in decimal"))

    def run(self, ctx: Context, args: list[str]) -> Result:
        opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        target = ctx.target
        if opts["user"]:
            return self._user(target, rest)
        addr = parse_address(target, rest[0])
        hit = target.symbols.resolve(addr) if target.symbols is not None else None
        count = parse_number(rest[1], 10) if len(rest) > 1 else None
        describe = target.describe_address
        if opts["hex"]:
            describe = _hex_offsets(target.describe_address)
        first = None
        if opts["reverse"] or opts["forward"]:
            if hit is None or not hit[0].size and opts["forward"]:
                raise CommandError(f"{rest[0]}: not in a known function")
        if opts["reverse"]:
            start, end, count = hit[0].address, addr + 1, None   # up to and including addr
        elif opts["forward"]:
            start, end, count, first = hit[0].address, hit[0].address + hit[0].size, None, addr
        elif count is None and hit is not None and hit[1] == 0 and hit[0].size:
            start, end = addr, addr + hit[0].size
        elif count is None and hit is not None and hit[1] == 0 and \
                hasattr(target.symbols, "next_address") and target.symbols.next_address(addr):
            # a symbol without a size (assembly entry code): up to the next symbol
            start, end = addr, target.symbols.next_address(addr)
        else:
            start, end = addr, None
            count = count or 1
        try:
            code = self._read_some(target, start, (end - start + MAX_INSN) if end
                                   else count * MAX_INSN)
        except MemoryError_ as err:
            raise CommandError(f"cannot read text at {start:#x}: {err}") from None
        lines: list[str] = []
        records = []
        last_line = None
        for n, insn in enumerate(disassemble(code, start)):
            if count is not None and n >= count:
                break
            if end is not None and insn.address >= end:
                break
            if first is not None and insn.address < first:
                continue
            ctx.check()
            if opts["lines"]:
                src = source_line(target, insn.address)
                if src and src != last_line:
                    lines.append(f"{src[0]}: {src[1]}")
                    last_line = src
            lines.append(render(insn, describe, label=describe(insn.address)))
            records.append({"address": insn.address, "mnemonic": insn.mnemonic,
                            "operands": insn.operands, "bytes": insn.bytes.hex()})
        symfile = target.symfile
        if opts["lines"] and symfile is not None and not symfile.has_dwarf:
            lines.append(f"dis: no source lines: {symfile.path} has no DWARF")
        return Text("\n".join(lines), records)

    @staticmethod
    def _user(target: object, rest: list[str]) -> Text:
        """dis -u: user text of the context task, labelled by address only (no
        user symbols), as gdb shows it."""
        user_space = getattr(target, "user_space", None)
        if user_space is None:
            raise CommandError("dis: -u needs a Linux target")
        space = user_space()
        addr = parse_number(rest[0], 16)
        count = parse_number(rest[1], 10) if len(rest) > 1 else 1
        try:
            code = Dis._read_some(space, addr, count * MAX_INSN)
        except MemoryError_ as err:
            raise CommandError(f"dis: cannot read user text at {addr:#x}: {err}") from None
        lines, records = [], []
        for insn in list(disassemble(code, addr))[:count]:
            lines.append(render(insn, lambda _a: None, label=None))
            records.append({"address": insn.address, "mnemonic": insn.mnemonic,
                            "operands": insn.operands, "bytes": insn.bytes.hex()})
        return Text("\n".join(lines), records)

    @staticmethod
    def _read_some(target: object, start: int, size: int) -> bytes:
        """Read up to ``size`` bytes, fewer if the text ends at an unreadable page."""
        try:
            return target.read(start, size)  # type: ignore[attr-defined]
        except MemoryError_:
            room = 0x1000 - (start & 0xFFF)
            return target.read(start, min(size, room))  # type: ignore[attr-defined]


def _hex_offsets(describe: Callable[[int], str | None]) -> Callable[[int], str | None]:
    """``symbol+offset`` with the offset in hexadecimal (dis -x)."""
    def hex_describe(address: int) -> str | None:
        text = describe(address)
        if text is None or "+" not in text:
            return text
        name, offset = text.rsplit("+", 1)
        return f"{name}+{int(offset):#x}"
    return hex_describe


COMMANDS = [Dis]
