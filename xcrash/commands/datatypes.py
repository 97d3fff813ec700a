"""struct, union, whatis, p, eval: types and values, as crash shows them.

The values are read into :class:`~xcrash.targets.values.Value` trees
(``targets/values.py``) and the types into definitions (``targets/typeinfo.py``);
``layouts/values.py`` and ``layouts/types.py`` write them as gdb does.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from ..caveats import caveat
from ..errors import CommandError, NoSuchSymbol, XcrashError
from ..expr import Evaluator, is_percpu_symbol, is_plain_symbol
from ..layouts.types import declaration_line, definition_lines, member_declaration_line
from ..layouts.values import struct_lines, value_text
from ..objects import Object
from ..results import Records
from ..symbols.types import Type
from ..targets import typeinfo, values
from ..targets.base import NoSymbols
from ..targets.linux.kernel import LinuxTarget
from ..targets.xen.hypervisor import XenTarget
from ..targets.typeinfo import Declaration, MemberDeclaration, TypeDefinition
from ..targets.values import StructContents, Value, read_value
from .args import looks_hex, parse_address, parse_cpu_list, parse_number
from .base import ANY_TARGET, Command, Context, Option

if TYPE_CHECKING:
    from ..targets.base import Target


def radix_of(ctx: Context, opts: dict[str, Any]) -> int:
    """-x / -d, else the session's output radix (``set radix``)."""
    if opts.get("hex"):
        return 16
    if opts.get("dec"):
        return 10
    return int(ctx.settings.get("radix", 10))


# -- struct / union ------------------------------------------------------------------------
def contents_lines(records: Iterable[StructContents], radix: int = 10) -> Iterator[str]:
    for r in records:
        yield from struct_lines(r, radix)


def definitions_lines(records: Iterable[TypeDefinition], *, offsets: bool = False) -> Iterator[str]:
    for r in records:
        yield from definition_lines(r, offsets=offsets)


def member_declarations_lines(records: Iterable[MemberDeclaration], *,
                              offsets: bool = False) -> Iterator[str]:
    for r in records:
        yield member_declaration_line(r, offsets=offsets)


class Struct(Command):
    name = "struct"
    arguments = "struct_name[.member[,member]] [address | symbol] [count]"
    summary = "structure contents or definition"
    group = "symbols"
    kind_word = "struct"
    description = """\
Without an address, shows the definition (with -o, each member's offset) and
its size; with `.member`, that member's declaration.  With an address or
symbol, shows the structure's contents there, gdb-style; `.member[,member...]`
limits the output to those members (nested paths like `se.on_rq` work).  A
count shows consecutive structures; a negative count, the structures leading
up to and including the one at the address, as crash does.
"""
    example = "struct task_struct.comm,pid init_task\nstruct -o pid\nstruct -x list_head (&init_task.tasks)"
    options = (Option("-o", "offsets", "member offsets in the definition"),
               Option("-x", "hex", "values in hexadecimal"),
               Option("-d", "dec", "values in decimal"))
    exclusive = (("hex", "dec"),)

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if not rest or len(rest) > 3:
            raise CommandError(f"usage: {self.usage()}")
        type_name, _, member_list = rest[0].partition(".")
        target = ctx.target
        t = typeinfo.find_aggregate(target, type_name, self.kind_word)
        if t is None:
            raise CommandError(f"invalid data structure reference: {type_name}")
        members = [m for m in member_list.split(",") if m]
        if len(rest) == 1:
            if members:
                return Records([typeinfo.member_declaration(t, m) for m in members],
                               partial(member_declarations_lines, offsets=opts["offsets"]))
            return Records([typeinfo.definition(t)],
                           partial(definitions_lines, offsets=opts["offsets"]))
        address = parse_address(target, rest[1])
        count = parse_number(rest[2], 10) if len(rest) > 2 else 1
        if count < 0:           # the structures that lead up to and include the one there
            count = -count
            address -= (count - 1) * t.byte_size
        return Records(_structs(target, t, address, count, members),
                       partial(contents_lines, radix=radix_of(ctx, opts)))


def _structs(target: Target, t: Type, address: int, count: int,
             members: list[str]) -> Iterator[StructContents]:
    for i in range(count):
        yield values.read_struct(target, t, address + i * t.byte_size, members or None)


class Union(Struct):
    name = "union"
    arguments = "union_name[.member[,member]] [address | symbol] [count]"
    summary = "union contents or definition"
    kind_word = "union"
    example = "union -o sigval\nunion fpregs_state.xsave.header (&init_task.thread.fpu.__fpstate.regs)"


# -- whatis ----------------------------------------------------------------------------------
def whatis_lines(records: Iterable[Declaration | TypeDefinition]) -> Iterator[str]:
    for r in records:
        if isinstance(r, Declaration):
            yield declaration_line(r)
        else:
            yield from definition_lines(r)


class Whatis(Command):
    name = "whatis"
    arguments = "struct | union | typedef | symbol"
    summary = "type of a symbol, or definition of a type"
    group = "symbols"
    description = """\
For a struct, union, enum or typedef name, shows its definition and size;
for a variable, its declaration; for a function, its prototype.
"""
    example = "whatis struct pid\nwhatis jiffies\nwhatis panic"

    def run(self, ctx: Context, args: list[str]) -> Records:
        if not args:
            raise CommandError(f"usage: {self.usage()}")
        name = " ".join(args)
        target = ctx.target
        if is_plain_symbol(name):
            found = typeinfo.symbol_declaration(target, name)
            if found is not None:
                return Records([found], whatis_lines)
        t = typeinfo.find_type(target, name)
        if t is None:
            raise CommandError(f"no symbol or type {name!r}")
        return Records([typeinfo.definition(t)], whatis_lines)


# -- p ---------------------------------------------------------------------------------------
@dataclass
class PrintedValue:
    """A value ``p`` printed: the expression, its history number ($N), what the
    line names it by (the variable, ``per_cpu(var, cpu)``; None for another
    expression) and the value read."""
    expression: str
    number: int
    label: str | None
    value: Value
    radix: int = field(default=10, metadata={"json": False})


def printed_lines(records: Iterable[PrintedValue]) -> Iterator[str]:
    for r in records:
        prefix = f"{r.label} = " if r.label else ""
        yield from f"{prefix}${r.number} = {value_text(r.value, 0, r.radix)}".split("\n")


#: a per-CPU suffix: ``var:1``, ``var:1,3``, ``var:0-2``, ``var:a``, ``var:`` (the context's CPU)
_CPUSPEC = re.compile(r"\s*([A-Za-z_$][\w$]*(?:\.\d+)?)\s*:\s*(a|all|[\d,\-\s]*)\s*")


class Print(Command):
    name = "p"
    aliases = ("print",)
    arguments = "expression | symbol[:cpuspec]"
    summary = "print the value of an expression"
    group = "symbols"
    description = """\
Evaluates a C expression: variables, members (`.` and `->`), array indexes,
casts, `&`, `*`, arithmetic, `sizeof`.  A per-CPU variable takes crash's
cpuspec: `var:1`, `var:1,3`, `var:0-1`, `var:a` (every online CPU) or `var:`
(the CPU of the context task); on a variable that is not per-CPU it is ignored
with a warning, as crash does.  Values are numbered $1, $2, ... as in crash; a
plain variable is shown as `name = $N = value`.
"""
    example = "p jiffies\np init_task.comm\np runqueues:1\np -x irq_stat:a"
    options = (Option("-x", "hex", "integers in hexadecimal"),
               Option("-d", "dec", "integers in decimal"))
    exclusive = (("hex", "dec"),)

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        text = " ".join(rest)
        radix = radix_of(ctx, opts)
        evaluator = Evaluator(ctx.target)
        spec = _CPUSPEC.fullmatch(text)
        if spec is not None:
            return Records(self._per_cpu(ctx, evaluator, text, spec[1], spec[2].strip(), radix),
                           printed_lines)
        value = evaluator.evaluate(text)
        label = text.strip() if is_plain_symbol(text) else None
        return Records([self._printed(ctx, text, label, value, radix)], printed_lines)

    def _per_cpu(self, ctx: Context, evaluator: Evaluator, text: str, name: str, spec: str,
                 radix: int) -> list[PrintedValue]:
        target = ctx.target
        value = evaluator.evaluate(name)
        if not isinstance(value, Object) or value.address_ is None:
            raise CommandError(f"{name}: a per-CPU suffix needs a variable")
        if not is_percpu_symbol(target, name):
            caveat(f"{name} is not percpu; cpuspec ignored")
            return [self._printed(ctx, text, name, value, radix)]
        return [self._printed(ctx, text, f"per_cpu({name}, {cpu})", evaluator.per_cpu(value, cpu),
                              radix) for cpu in _cpus(target, spec)]

    @staticmethod
    def _printed(ctx: Context, text: str, label: str | None, value: Object | int,
                 radix: int) -> PrintedValue:
        number = int(ctx.settings.get("_value_number", 0)) + 1
        ctx.settings["_value_number"] = number
        if isinstance(value, Object):
            shown = read_value(value)
        else:
            shown = Value(None, "long", "int", value=value)
        return PrintedValue(text, number, label, shown, radix)


def _cpus(target: Target, spec: str) -> list[int]:
    """The CPUs of a cpuspec (crash's make_cpumask): ``a``/``all`` the online ones,
    empty the context task's, else a list of numbers and ranges."""
    if not isinstance(target, (LinuxTarget, XenTarget)):
        raise CommandError(f"{target.name} has no per-CPU data")
    online = list(target.online_cpus)
    if spec in ("a", "all"):
        return online
    if not spec:
        if not isinstance(target, LinuxTarget):
            raise CommandError("no context task: name the CPU")
        from ..targets.linux.tasks import task_cpu
        task = target.context_task()
        if task is None:
            raise CommandError("no context task: name the CPU")
        return [task_cpu(target.object_at("struct task_struct", task))]
    try:
        cpus = parse_cpu_list(spec, "p")
    except CommandError:
        raise CommandError(f"invalid cpu specification: {spec}") from None
    highest = max(len(target.per_cpu_offsets), max(online, default=0) + 1)
    if any(not 0 <= c < highest for c in cpus):
        raise CommandError(f"invalid cpu specification: {spec}")
    return cpus


# -- eval ------------------------------------------------------------------------------------
@dataclass
class Evaluation:
    """eval: a 64-bit value, shown in every base."""
    value: int
    bits: bool = field(default=False, metadata={"json": False})


def evaluation_lines(records: Iterable[Evaluation]) -> Iterator[str]:
    """crash's print_number: hexadecimal (with a KB/MB/GB shorthand), decimal
    (unsigned, then signed when the top bit is set), octal, binary, the bits set."""
    for r in records:
        v = r.value & ((1 << 64) - 1)
        size = ""
        for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
            if v >= 1024 and v % factor == 0:
                size = f"({v // factor}{unit})"
                break
        yield f"hexadecimal: {v:x}  {size}"
        yield f"    decimal: {v}  " + (f"({v - (1 << 64)})" if v >> 63 else "")
        yield f"      octal: {v:o}"
        yield f"     binary: {v:064b}"
        if r.bits:
            yield from _bits_lines(v)


def _bits_lines(v: int) -> Iterator[str]:
    """``   bits set: 26 20 ...``, wrapped before column 77 as crash wraps it."""
    header = "   bits set: "
    line = header
    for bit in range(63, -1, -1):
        if v >> bit & 1:
            line += f"{bit} "
            if len(line) >= 77:
                yield line
                line = " " * len(header)
    yield line


_SUFFIX = re.compile(r"(0[xX][0-9a-fA-F]+|\d+)([kKmMgG])")
_FACTOR = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


class Eval(Command):
    targets = ANY_TARGET
    name = "eval"
    arguments = "(expression) | value"
    summary = "evaluate an expression in hex, decimal, octal and binary"
    group = "general"
    description = """\
Evaluates an expression and shows the result in every base, as crash does.
Numbers are decimal, or hexadecimal with 0x or when they hold a hex letter
(`ffff`); a k, m or g suffix multiplies by 1024, 1 MiB or 1 GiB; a symbol
stands for its address.  The operators are C's (as in `p`).
"""
    example = "eval 128m\neval -b 41dc065\neval (1 << 27)\neval jiffies_64 - 0x100"
    options = (Option("-b", "bits", "the bit positions that are set"),)

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        value = _evaluate(ctx.target, " ".join(rest))
        return Records([Evaluation(value, opts["bits"])], evaluation_lines)


def _evaluate(target: Target, text: str) -> int:
    def number(m: re.Match[str]) -> str:
        word = m.group(0)
        suffixed = _SUFFIX.fullmatch(word)
        if suffixed:
            return str(int(suffixed[1], 0) * _FACTOR[suffixed[2].lower()])
        if looks_hex(word) and not word.isdigit() and not word.lower().startswith("0x") \
                and not _is_symbol(target, word):
            return "0x" + word
        return word
    value = Evaluator(target, addresses=True).evaluate(re.sub(r"\b\w+\b", number, text))
    try:
        return int(value)
    except XcrashError as err:
        raise CommandError(f"{text}: {err}") from None


def _is_symbol(target: Target, word: str) -> bool:
    try:
        target.symbol(word)
        return True
    except (NoSuchSymbol, NoSymbols):
        return False            # a probe: not a symbol (or no symbols), so a number


# -- for commands not yet on value records (task) ---------------------------------------------
class ValueFormatter:
    """Reads an object's value and writes it gdb-style in one step, for commands
    that still build text (``task``, ``domain``); a command on records reads
    :func:`~xcrash.targets.values.read_value` (or ``read_struct``) into its records
    and lays them out with ``layouts/values.py``.  ``describe`` is not used any more
    (the reader names addresses through the object's target)."""

    def __init__(self, describe: Callable[[int], str | None] | None = None,
                 radix: int = 10) -> None:
        self.radix = radix

    def value(self, obj: Object, indent: int = 0) -> str:
        return value_text(read_value(obj), indent, self.radix)


def formatter(ctx: Context, radix: int | None = None) -> ValueFormatter:
    return ValueFormatter(radix=radix or int(ctx.settings.get("radix", 10)))


COMMANDS = [Struct, Union, Whatis, Print, Eval]
