"""struct, union and *: types and the structures at addresses, as crash shows them.

The values are read into :class:`~xcrash.targets.values.Value` trees
(``targets/values.py``, the pointers ``-p`` follows: ``targets/derefs.py``) and the
types into definitions (``targets/typeinfo.py``); ``layouts/values.py``,
``layouts/derefs.py`` and ``layouts/types.py`` write them as crash (gdb) does.
``p`` and ``eval`` are ``printing.py``, ``whatis`` is ``whatis.py``; the records and
layouts of the options are ``structparts.py``.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from ..caveats import caveat
from ..errors import CommandError
from ..results import Records, text_lines
from ..symbols.types import Type
from ..targets import symbolinfo, typeinfo, values
from ..targets.cpuspec import offline_cpus, parse_cpuspec
from .args import context_cpu, looks_hex, parse_address, parse_number, radix_of
from ..expr import is_percpu_symbol
from .base import ANY_TARGET, Command, Context, Option
from .structparts import (CpuHeader, NotFound, after_blank, check_kernel_address, contents_lines,
                          count_of, cpu_header_lines, definitions_lines, deref_records,
                          is_symbol, list_offset, member_offset, member_size, not_found_lines,
                          plain_name, raw_records, symbol_of, top_level_name, whole_readable)

if TYPE_CHECKING:
    from ..memory.space import AddressSpace
    from ..targets.base import Target

# -- struct / union / * ---------------------------------------------------------------------
@dataclass
class _Where:
    """The address arguments of struct: the address (None: a declaration), the count,
    the CPUs of a cpuspec, the space to read."""
    address: int | None = None
    count: int | None = None
    cpus: list[int] | None = None
    missing: NotFound | None = None


class Struct(Command):
    name = "struct"
    synopsis = ("struct struct_name[.member[,member]][-o][-l offset][-rfuxdp] "
                "[address | symbol][:cpuspec] [count | -c count]")
    summary = "structure contents or definition"
    group = "symbols"
    targets = ANY_TARGET
    kind_word = "struct"
    description = """\
Without an address, shows the definition and its size (with -o, each member's
offset); with `.member`, that member's line with its offset.  With an address or
symbol, shows the structure's contents there, gdb-style; `.member[,member...]`
limits the output to those members (nested paths like `se.on_rq`, array elements
like `cpus_mask.bits[0]`).  -o with an address shows each member's address; -r the
raw words; -p follows each pointer member and shows what it points at.  A
cpuspec (`runqueues:1`, `:1,3`, `:0-1`, `:a`, `:` for the context task's CPU) shows
the structure in those CPUs' per-CPU areas.  A count shows consecutive structures;
a negative one (`-c -2`, or `-2` as the last argument, which crash refuses), the
structures leading up to and including the one at the address.  -l names where in
the structure the address points (a list_head's offset).  -u reads a user address
of the context task, -f a dump file offset.  An argument in parentheses is an
expression (`(&init_task.tasks)`), which crash does not take.
"""
    example = ("struct task_struct.comm,pid init_task\nstruct -o pid\n"
               "struct -x list_head (&init_task.tasks)\nstruct rq.cpu,nr_running runqueues:a")
    options = (Option("-o", "offsets", "member offsets (with an address: member addresses)"),
               Option("-l", "list_offset", "the address is of this member (struct.member or "
                      "a number of bytes)", takes_value=True, metavar="offset"),
               Option("-r", "raw", "the structure's raw words (one member at most)"),
               Option("-f", "file", "the address is an offset in the dump file"),
               Option("-u", "user", "the address is a user address of the context task"),
               Option("-x", "hex", "values in hexadecimal"),
               Option("-h", "hex2", "the same as -x"),
               Option("-d", "dec", "values in decimal"),
               Option("-p", "deref", "show what each pointer member points at"),
               Option("-v", "verbose", "accepted (crash's debugging output)"),
               Option("-c", "count", "how many structures (negative: those before too)",
                      takes_value=True, metavar="count"))
    exclusive = (("hex", "dec"), ("hex2", "dec"))

    def run(self, ctx: Context, args: list[str]) -> Any:
        opts, rest = self.parse(args)
        if opts["hex2"]:
            opts["hex"] = True
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        spec = rest[0]
        if spec.endswith((",", ".")):
            raise CommandError(f"invalid format: {spec}")
        target = ctx.target
        where = self._where(ctx, target, opts, rest[1:])
        if where.missing is not None:
            return Records([where.missing], not_found_lines)
        if where.address is None and where.count is not None:
            raise CommandError("no kernel virtual address argument entered")
        if opts["deref"] and where.address is None:
            raise CommandError("-p option requires address argument")
        type_name, _, member_list = spec.partition(".")
        t = self._type(target, type_name)
        members = [m for m in member_list.split(",") if m] if member_list else []
        radix = radix_of(ctx, opts)
        if where.address is None:
            return self._declaration(t, members, opts, radix)
        address = where.address
        if opts["list_offset"]:
            address -= list_offset(target, opts["list_offset"])
        if len(members) > 1 and opts["offsets"]:
            raise CommandError("-o option not valid with multiple member format")
        if len(members) > 1 and opts["raw"]:
            raise CommandError("only one structure member allowed with -r")
        for m in members:
            member_offset(t, m)                 # a misspelt member fails before any output
            if opts["offsets"] and not top_level_name(t, m):
                raise CommandError(f"invalid data structure reference: {type_name}.{m}")
        count = where.count if where.count is not None else 1
        space = self._space(ctx, target, opts)
        return list(self._blocks(ctx, target, t, address, count, members, where.cpus, opts,
                                 radix, space))

    # -- arguments --------------------------------------------------------------------------
    def _type(self, target: Target, name: str) -> Type:
        found = None
        for kind in ("struct", "union"):
            found = typeinfo.find_aggregate(target, name, kind)
            if found is not None:
                break
        if found is None:
            raise CommandError(f"invalid data structure reference: {name}")
        kind = found.strip_typedefs().kind.value
        if self.kind_word and kind != self.kind_word:
            raise CommandError(f"data type mismatch: {name} is not a {self.kind_word}")
        return found

    @staticmethod
    def _where(ctx: Context, target: Target, opts: dict[str, Any], words: list[str]) -> _Where:
        w = _Where()
        if opts["count"] is not None:
            w.count = count_of(opts["count"])
        cpuspec: str | None = None
        for word in words:
            if w.address is not None and w.count is not None:
                raise CommandError("too many arguments!")
            if w.address is None and ":" in word and not word.startswith("("):
                word, _, cpuspec = word.partition(":")
            if w.address is not None:
                w.count = count_of(word)
                continue
            if word.startswith("("):
                w.address = parse_address(target, word)
            elif looks_hex(word) and not is_symbol(target, word):
                if opts["file"]:
                    w.address = parse_number(word, 10)
                else:
                    w.address = int(word.lower().removeprefix("0x"), 16)
                    check_kernel_address(target, w.address, word, opts)
            else:
                sym = symbol_of(target, word)
                if sym is None:
                    w.missing = NotFound(word, list(symbolinfo.listing(target, word)))
                    return w
                if cpuspec is not None and not is_percpu_symbol(target, word):
                    caveat(f"{word} is not percpu; cpuspec ignored.")
                    cpuspec = None
                w.address = sym.address
        if cpuspec is not None and w.address is not None:
            if opts["file"]:
                raise CommandError("-f option cannot be used with percpu")
            w.cpus = parse_cpuspec(target, cpuspec, context_cpu(target))
        return w

    @staticmethod
    def _space(ctx: Context, target: Target, opts: dict[str, Any]) -> AddressSpace:
        if opts["user"]:
            from ..memory.userspace import UserOnly
            from .args import linux_target
            return UserOnly(linux_target(ctx).user_space())
        if opts["file"]:
            from ..memory.filespace import FileSpace
            dump = getattr(ctx.session, "dump", None)
            if dump is None:
                raise CommandError("-f option requires a dumpfile")
            return FileSpace.of_dump(dump)
        return target.space

    # -- a declaration ------------------------------------------------------------------------
    def _declaration(self, t: Type, members: list[str], opts: dict[str, Any],
                     radix: int) -> Any:
        definition = typeinfo.definition(t)
        if len(members) > 1:
            note = ("-o option not valid with multiple member format" if opts["offsets"]
                    else "multiple member format not supported in this syntax")
            return [text_lines(f"{self.name}: {note}"),
                    Records([definition], partial(definitions_lines, offsets=True, radix=radix))]
        if members:
            member = members[0]
            if "." in member or "[" in member or not top_level_name(t, member):
                raise CommandError(f"invalid data structure reference: "
                                   f"{plain_name(t)}.{member}")
            return Records([definition], partial(definitions_lines, radix=radix, member=member))
        return Records([definition], partial(definitions_lines, offsets=opts["offsets"],
                                             radix=radix))

    # -- structures at addresses ----------------------------------------------------------------
    def _blocks(self, ctx: Context, target: Target, t: Type, address: int, count: int,
                members: list[str], cpus: list[int] | None, opts: dict[str, Any], radix: int,
                space: AddressSpace) -> Iterator[Records]:
        if cpus is None:
            yield from self._structures(ctx, target, t, address, count, members, opts, radix,
                                        space)
            return
        hidden = offline_cpus(target) if ctx.settings.get("offline") == "hide" else set()
        offsets = list(getattr(target, "per_cpu_offsets", []) or [])
        for cpu in cpus:
            ctx.check()
            at = (address + (offsets[cpu] if cpu < len(offsets) else 0)) & 0xFFFFFFFFFFFFFFFF
            yield Records([CpuHeader(cpu, at, cpu in hidden)], cpu_header_lines)
            if cpu not in hidden:
                yield from self._structures(ctx, target, t, at, count, members, opts, radix,
                                            space)

    def _structures(self, ctx: Context, target: Target, t: Type, address: int, count: int,
                    members: list[str], opts: dict[str, Any], radix: int,
                    space: AddressSpace) -> Iterator[Records]:
        size = t.byte_size
        if count < 0:
            address -= size * (-count) - size
        for i in range(abs(count)):
            ctx.check()
            at = address + i * size
            records = self._structure(ctx, target, t, at, size, members, opts, radix, space)
            if i:                           # crash's blank line between structures
                records.layout = partial(after_blank, records.layout)
            yield records

    def _structure(self, ctx: Context, target: Target, t: Type, at: int, size: int,
                   members: list[str], opts: dict[str, Any], radix: int,
                   space: AddressSpace) -> Records:
        if opts["offsets"]:
            definition = typeinfo.definition(t)
            return Records([definition], partial(
                definitions_lines, offsets=True, radix=radix, address=at,
                member=members[0] if members else None))
        if opts["raw"]:
            start, length = at, size
            if members:
                start, length = at + member_offset(t, members[0]), member_size(t, members[0])
            return raw_records(space, start, length)
        whole_readable(space, at, size, members)
        if opts["deref"]:
            return deref_records(ctx, target, t, at, members, radix, space)
        return Records([values.read_struct(target, t, at, members or None, space=space)],
                       partial(contents_lines, radix=radix))


class Union(Struct):
    name = "union"
    synopsis = ("union union_name[.member[,member]] [-o][-l offset][-rfuxdp] "
                "[address | symbol][:cpuspec] [count | -c count]")
    summary = "union contents or definition"
    kind_word = "union"
    example = "union -o sigval\nunion fpregs_state.xsave.header (&init_task.thread.fpu.__fpstate.regs)"


class Pointer(Struct):
    name = "*"
    synopsis = ("*(struct or union command arguments)")
    summary = "struct or union, whichever the name is"
    kind_word = ""
    description = """\
The struct or union command, whichever the name given is: `*` followed by the
arguments of either (crash's pointer-to command).
"""
    example = "* task_struct.pid init_task\n* sigval"


COMMANDS = [Struct, Union, Pointer]


# -- for commands not yet on value records (domain) ---------------------------------------------
class ValueFormatter:
    """Reads an object's value and writes it gdb-style in one step, for commands that
    still build text (``domain``); a command on records reads
    :func:`~xcrash.targets.values.read_value` (or ``read_struct``) into its records and
    lays them out with ``layouts/values.py``.  ``describe`` is not used any more (the
    reader names addresses through the object's target)."""

    def __init__(self, describe: Any = None, radix: int = 10) -> None:
        self.radix = radix

    def value(self, obj: Any, indent: int = 0) -> str:
        from ..layouts.values import value_text
        return value_text(values.read_value(obj), indent, self.radix)
