"""bpf: the eBPF programs and maps loaded in the kernel, as crash lists them."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..errors import CommandError
from ..results import Records
from ..targets.linux.bpf import loaded
from .args import linux_target
from .base import Command, Context, Option


@dataclass
class BpfObjects:
    """The programs and maps loaded (ID and address), and which of the two crash's
    listing shows."""
    programs: list[tuple[int, int]]
    maps: list[tuple[int, int]]
    show_programs: bool
    show_maps: bool


def bpf_lines(records: Iterable[BpfObjects]) -> Iterator[str]:
    for r in records:
        if r.show_programs and r.show_maps:
            yield ""                # crash's blank line between the two tables
        # the tables themselves are refused before this layout runs (see Bpf.run)


class Bpf(Command):
    name = "bpf"
    synopsis = "bpf [[-p ID | -P] [-tTj]] [[-m ID] | -M] [-s] [-xd]"
    summary = "eBPF programs and maps"
    group = "linux"
    targets = ("linux",)
    description = """\
The eBPF programs and maps loaded in the kernel (prog_idr and map_idr).  Where
none is loaded, xcrash shows what crash shows (nothing, or crash's blank line)
and refuses an ID as crash does ("invalid program ID").  Listing loaded
programs and maps (their tables, -t/-T/-j disassembly, -s structures) is not
implemented yet: xcrash says how many there are, in one line.
"""
    example = "bpf"
    options = (Option("-p", "prog", "one program", takes_value=True, metavar="ID"),
               Option("-P", "progs", "every program, in detail"),
               Option("-t", "xlated", "a program's translated bytecode"),
               Option("-T", "opcodes", "the same, with opcodes"),
               Option("-j", "jited", "a program's JIT-compiled code"),
               Option("-m", "map", "one map", takes_value=True, metavar="ID"),
               Option("-M", "maps", "every map, in detail"),
               Option("-s", "structs", "the structures too"),
               Option("-x", "hex", "-s in hexadecimal"),
               Option("-d", "dec", "-s in decimal"))
    exclusive = (("hex", "dec"),)

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        prog = opts["prog"] is not None or opts["progs"]
        maps = opts["map"] is not None or opts["maps"]
        if opts["jited"] and not prog:
            raise CommandError("bpf: -j option only applicable with -p or -P")
        if (opts["xlated"] or opts["opcodes"]) and not prog:
            raise CommandError("bpf: -t option only applicable with -p or -P")
        if opts["structs"] and not (prog or maps):
            raise CommandError("bpf: -s option requires either -p, -P, -m or -M")
        if (opts["hex"] or opts["dec"]) and not (prog or maps):
            raise CommandError(f"bpf: -{'d' if opts['dec'] else 'x'} option requires -s")
        if rest:
            raise CommandError(f"bpf: invalid argument: {rest[0]}")
        target = linux_target(ctx)
        programs, loaded_maps = loaded(target, "prog_idr"), loaded(target, "map_idr")
        for word, found, what in ((opts["prog"], programs, "program"),
                                  (opts["map"], loaded_maps, "map")):
            if word is not None and _number(word) not in {i for i, _a in found}:
                raise CommandError(f"bpf: invalid {what} ID: {_number(word)}")
        show_programs = prog or not maps
        show_maps = maps or not prog
        if show_programs and programs or show_maps and loaded_maps:
            raise CommandError(f"bpf: {len(programs)} programs and {len(loaded_maps)} maps "
                               "are loaded: listing them is not implemented in xcrash yet")
        return Records([BpfObjects(programs, loaded_maps, show_programs, show_maps)], bpf_lines)


def _number(word: str) -> int:
    try:
        return int(word, 0)
    except ValueError:
        raise CommandError(f"bpf: invalid ID: {word}") from None


COMMANDS = [Bpf]
