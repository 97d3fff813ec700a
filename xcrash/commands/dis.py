"""dis: disassemble kernel or hypervisor text.

The records (:class:`~xcrash.disasm.Instruction`) come from ``xcrash/disasm.py``,
which decodes with capstone and spells the text as gdb does; this module lays them
out as crash prints them.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial

from .. import disasm
from ..caveats import caveat
from ..disasm import Instruction
from ..errors import CommandError
from ..results import Records
from ..targets import symbolinfo
from ..targets.base import Target
from ..targets.linux.kernel import LinuxTarget
from ..targets.symbolinfo import SourceLine
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


@dataclass
class BugBytes:
    """dis -b: how many bytes after a ud2 the disassembly skips."""
    bug_bytes: int


def bug_bytes_lines(records: Iterable[BugBytes]) -> Iterator[str]:
    for r in records:
        yield f"encoded bytes being skipped after ud2a: {r.bug_bytes}"


@dataclass
class SourceListing:
    """dis -s: the source file and line of an address, and the lines around it."""
    file: str
    line: int
    lines: list[SourceLine]


def source_lines(records: Iterable[SourceListing]) -> Iterator[str]:
    for r in records:
        yield f"FILE: {r.file}"
        yield f"LINE: {r.line}"
        yield ""
        yield from (f"{'* ' if s.marked else '  '}{s.number}\t{s.text}" for s in r.lines)
        yield ""


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
-s names the source file and line of the address and lists the source around
it (from five lines before it to the end of the function, or count lines
after it) when the file is on this machine at the path the debug info gives;
else says that the source is not available, as crash.  -b N makes the
disassembly skip N bytes after each ud2 (a BUG()'s encoding on old kernels;
0 by default on current ones), for the rest of the session; -b alone shows N.
"""
    example = "dis -l sysrq_handle_crash\ndis panic 10\ndis -r sysrq_handle_crash+10"
    options = (Option("-l", "lines", "the source file and line before each change of line"),
               Option("-r", "reverse", "from the start of the function up to the address"),
               Option("-f", "forward", "from the address to the end of its function"),
               Option("-u", "user", "a user-space address of the context task"),
               Option("-x", "hex", "symbol offsets in hexadecimal"),
               Option("-d", "dec", "symbol offsets in decimal (the default)"),
               Option("-s", "source", "the source file, line and listing of the address"),
               Option("-b", "bug_bytes", "bytes to skip after a ud2 (alone: show it)",
                      takes_value=True, metavar="num"))
    exclusive = (("reverse", "forward", "source"), ("hex", "dec"), ("user", "source"))

    def run(self, ctx: Context, args: list[str]) -> Records | Iterator[Records]:
        if args == ["-b"]:
            return Records([BugBytes(int(ctx.settings.get("bug_bytes", 0)))], bug_bytes_lines)
        opts, rest = self.parse(args)
        if opts["bug_bytes"] is not None:
            try:
                ctx.settings["bug_bytes"] = int(opts["bug_bytes"])
            except ValueError:
                raise CommandError(f"dis: invalid -b value: {opts['bug_bytes']}") from None
            if not rest:
                return Records([], bug_bytes_lines)
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
        if opts["source"]:
            if count == 0:
                raise CommandError("dis: invalid count argument: 0")
            return _listing(target, address, rest[0], count)
        start, end, count, first = disasm.code_range(target, address, count,
                                                     reverse=opts["reverse"],
                                                     forward=opts["forward"])
        found = disasm.instructions(target, start, end=end, count=count, first=first,
                                    hex_offsets=opts["hex"], lines=opts["lines"],
                                    bug_bytes=int(ctx.settings.get("bug_bytes", 0)))
        symfile = target.symfile
        if opts["lines"] and symfile is not None and not symfile.has_dwarf:
            caveat(f"dis: no source lines: {symfile.path} has no DWARF")
        return Records(found, layout)


def _listing(target: Target, address: int, word: str, count: int | None) -> Iterator[Records]:
    """dis -s: the listing; where the source is not on this machine, the file and
    line, then crash's error."""
    hit = target.symbols.resolve(address) if target.symbols is not None else None
    if hit is None or hit[0].type_char not in "tTwW":
        raise CommandError(f"dis: {address:x}: not a kernel text address")
    where = symbolinfo.full_source_line(target, address)
    if where is None:
        raise CommandError(f"dis: {word}: no source line for this address")
    listing = symbolinfo.source_listing(where[0], where[1], count)
    if listing is None:
        yield Records([SourceListing(where[0], where[1], [])], unavailable_lines)
        raise CommandError(f"dis: {word}: source code is not available")
    yield Records([SourceListing(where[0], where[1], listing)], source_lines)


def unavailable_lines(records: Iterable[SourceListing]) -> Iterator[str]:
    for r in records:
        yield f"FILE: {r.file}"
        yield f"LINE: {r.line}"
        yield ""


COMMANDS = [Dis]
