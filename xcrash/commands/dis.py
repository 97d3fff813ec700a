"""dis: disassemble kernel or hypervisor text.

The records (:class:`~xcrash.disasm.Instruction`) come from ``xcrash/disasm.py``,
which decodes with capstone and spells the text as gdb does; this module lays them
out as crash prints them.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial

from .. import disasm
from ..caveats import caveat
from ..disasm import Instruction
from ..errors import CommandError
from ..results import Records
from ..targets.linux.kernel import LinuxTarget
from .args import parse_address, parse_number
from .base import Command, Context, Option


def instruction_lines(records: Iterable[Instruction], *, lines: bool = False) -> Iterator[str]:
    """``0xaddr <symbol+offset>:<TAB>text`` (gdb's ``   0xaddr:`` where no symbol
    covers the address); with ``lines``, the source ``file.c: line`` before each
    change of line."""
    last: tuple[str, int] | None = None
    for insn in records:
        if lines and insn.file is not None and insn.line is not None:
            here = (insn.file, insn.line)
            if here != last:
                yield f"{insn.file}: {insn.line}"
                last = here
        if insn.symbol is None:
            yield f"   0x{insn.address:x}:\t{insn.text}"
        else:
            yield f"0x{insn.address:x} <{insn.symbol}>:\t{insn.text}"


class Dis(Command):
    name = "dis"
    arguments = "[address | symbol | (expression)] [count]"
    summary = "disassemble memory"
    group = "symbols"
    description = """\
Disassembles in AT&T syntax, spelled as gdb (and so crash) spells it.
Without a count, a function's start disassembles the whole function and any
other address one instruction; a symbol without a size (assembly entry code)
is disassembled up to the next symbol.  -f starts at the first instruction at
or after the address, as crash does.  -u reads the text through the context
task's page tables (see `set`) and labels it by address only.
capstone decodes; xcrash normalises its text to gdb's (suffixes, hex
immediates, `0x0(%rax,%rax,1)` forms, `<symbol>` on branch targets, `# addr`
comments on RIP-relative operands): see xcrash/disasm.py.
"""
    example = "dis -l sysrq_handle_crash\ndis panic 10\ndis -r sysrq_handle_crash+10"
    options = (Option("-l", "lines", "the source file and line before each change of line"),
               Option("-r", "reverse", "from the start of the function up to the address"),
               Option("-f", "forward", "from the address to the end of its function"),
               Option("-u", "user", "a user-space address of the context task"),
               Option("-x", "hex", "symbol offsets in hexadecimal"),
               Option("-d", "dec", "symbol offsets in decimal (the default)"))
    exclusive = (("reverse", "forward"), ("hex", "dec"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if not rest or len(rest) > 2:
            raise CommandError(f"usage: {self.usage()}")
        target = ctx.target
        count = parse_number(rest[1], 10) if len(rest) > 1 else None
        if count is not None and count < 0:
            raise CommandError(f"invalid count: {rest[1]}")
        layout = partial(instruction_lines, lines=opts["lines"])
        if opts["user"]:
            if not isinstance(target, LinuxTarget):
                raise CommandError("-u needs a Linux target")
            found = disasm.instructions(target, parse_number(rest[0], 16), count=count or 1,
                                        space=target.user_space())
            return Records(found, layout)
        address = parse_address(target, rest[0])
        start, end, count, first = disasm.code_range(target, address, count,
                                                     reverse=opts["reverse"],
                                                     forward=opts["forward"])
        found = disasm.instructions(target, start, end=end, count=count, first=first,
                                    hex_offsets=opts["hex"], lines=opts["lines"])
        symfile = target.symfile
        if opts["lines"] and symfile is not None and not symfile.has_dwarf:
            caveat(f"dis: no source lines: {symfile.path} has no DWARF")
        return Records(found, layout)


COMMANDS = [Dis]
