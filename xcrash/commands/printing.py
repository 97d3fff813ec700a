"""p and eval: expressions, their values numbered as gdb numbers them, and numbers in
every base.

``p`` keeps gdb's value history: each value printed (and each pointer ``struct -p``
follows) takes the next number, ``$N`` names it again, ``$`` the last, ``$$`` the one
before, ``$$N`` the one N back.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..caveats import Unreadable, caveat
from ..errors import CommandError, NoSuchSymbol, XcrashError
from ..expr import is_percpu_symbol, is_plain_symbol
from ..layouts.values import top_value_text
from ..objects import Object
from ..symbols.types import Kind
from ..results import Records
from ..targets import typeinfo
from ..targets.base import NoSymbols
from ..targets.cpuspec import cpu_count, offline_cpus, parse_cpuspec
from ..targets.values import Value, read_value
from .args import looks_hex
from .base import ANY_TARGET, Command, Context, Option
from .args import context_cpu, radix_of
from .history import History, evaluator

if TYPE_CHECKING:
    from ..targets.base import Target


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
    """``name = $N = value``; after a name, a value whose first line opens a brace
    mid-line starts on the next line (crash's process_gdb_output)."""
    for r in records:
        text = f"${r.number} = {top_value_text(r.value, r.radix)}"
        if r.label is not None:
            first, nl, rest = text.partition("\n")
            brace = first.find("{")
            if brace >= 0 and brace != len(first) - 1:
                text = first[:brace] + "\n {" + first[brace + 1:] + nl + rest
            text = f"{r.label} = {text}"
        yield from text.split("\n")


@dataclass
class PerCpuSummary:
    """``p VAR`` of a per-CPU variable: its declaration and each CPU's address (None:
    an offline CPU crash hides)."""
    declaration: str
    addresses: list[tuple[int, int | None]]


def per_cpu_summary_lines(records: Iterable[PerCpuSummary]) -> Iterator[str]:
    for r in records:
        yield "PER-CPU DATA TYPE:"
        yield f"  {r.declaration}"
        yield "PER-CPU ADDRESSES:"
        for cpu, address in r.addresses:
            yield f"cpu {cpu} is OFFLINE" if address is None else f"  [{cpu}]: {address:x}"


@dataclass
class OfflineCpu:
    cpu: int


def offline_lines(records: Iterable[OfflineCpu]) -> Iterator[str]:
    for r in records:
        yield f"cpu {r.cpu} is OFFLINE"


class Print(Command):
    targets = ANY_TARGET
    name = "p"
    aliases = ("print",)
    synopsis = "p [-x|-d][-u] [expression | symbol[:cpuspec]]"
    summary = "print the value of an expression"
    group = "symbols"
    description = """\
Evaluates a C expression: variables, members (`.` and `->`), array indexes,
casts, `&`, `*`, arithmetic, `sizeof`, and the value history (`$N`, `$`, `$$`,
`$$N`).  A per-CPU variable alone shows its type and each CPU's address; with
crash's cpuspec (`var:1`, `var:1,3`, `var:0-1`, `var:a`, `var:` for the context
task's CPU) its value on those CPUs.  On a variable that is not per-CPU the cpuspec
is ignored with a warning, as crash does.  Values are numbered $1, $2, ... as in
crash; an expression that starts with a variable is shown as `name = $N = value`.
-u reads the context task's user memory.
"""
    example = "p jiffies\np init_task.comm\np runqueues:1\np -x irq_stat:a\np $"
    options = (Option("-x", "hex", "integers in hexadecimal"),
               Option("-h", "hex2", "the same as -x"),
               Option("-d", "dec", "integers in decimal"),
               Option("-u", "user", "the expression reads user memory of the context task"))
    exclusive = (("hex", "dec"), ("hex2", "dec"))

    def parse(self, args: list[str]) -> tuple[dict[str, Any], list[str]]:
        """crash's getopt: ``-1`` is an option too (and refused)."""
        opts, rest = super().parse(args)
        if any(re.fullmatch(r"-\d+", w) for w in rest):
            raise CommandError(f"usage: {self.usage()}")
        return opts, rest

    def run(self, ctx: Context, args: list[str]) -> Records | list[Records]:
        opts, rest = self.parse(args)
        if opts["hex2"]:
            opts["hex"] = True
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        radix = radix_of(ctx, opts)
        target = ctx.target
        if opts["user"]:
            target = _user_view(ctx)
        first = rest[0]
        cpuspec: str | None = None
        head = first
        if ":" in first:
            head, _, cpuspec = first.rpartition(":")
        sym = _symbol(target, head) if is_plain_symbol(head) else None
        if sym is not None and len(rest) == 1 and _per_cpu(target, head, sym):
            return self._per_cpu(ctx, target, head, cpuspec, radix)
        text = " ".join(rest)
        if cpuspec is not None:
            if sym is not None:
                caveat(f"{head} is not percpu; cpuspec ignored.")
                text = " ".join([head, *rest[1:]])
        value = evaluator(ctx, target).evaluate(text)
        label = sym.name if sym is not None else None
        return Records([self._printed(ctx, text, label, value, radix)], printed_lines)

    def _per_cpu(self, ctx: Context, target: Target, name: str, cpuspec: str | None,
                 radix: int) -> Records | list[Records]:
        var = target.object(name)
        offsets = list(getattr(target, "per_cpu_offsets", []) or [])
        hidden = offline_cpus(target) if ctx.settings.get("offline") == "hide" else set()
        count = cpu_count(target)
        if cpuspec is None:
            decl = typeinfo.symbol_declaration(target, name)
            text = decl.declaration if decl is not None and decl.declaration else None
            addresses: list[tuple[int, int | None]] = []
            for cpu in range(count):
                at = (var.at_ + offsets[cpu]) & 0xFFFFFFFFFFFFFFFF if cpu < len(offsets) else None
                addresses.append((cpu, None if cpu in hidden else at))
            shown = f"{text};" if text else f"[undetermined type] {name};"
            return Records([PerCpuSummary(shown, addresses)], per_cpu_summary_lines)
        cpus = set(parse_cpuspec(target, cpuspec, context_cpu(target)))
        parts: list[Records] = []
        for cpu in range(count):
            if cpu in hidden:
                parts.append(Records([OfflineCpu(cpu)], offline_lines))
                continue
            if cpu not in cpus:
                continue
            at = (var.at_ + offsets[cpu]) & 0xFFFFFFFFFFFFFFFF if cpu < len(offsets) else var.at_
            obj = target.object_at(var.type_, at)
            parts.append(Records([self._printed(ctx, name, f"per_cpu({name}, {cpu})", obj,
                                                radix)], printed_lines))
        return parts

    @staticmethod
    def _printed(ctx: Context, text: str, label: str | None, value: Object | int,
                 radix: int) -> PrintedValue:
        if isinstance(value, Object):
            if value.address_ is not None and value.type_.strip_typedefs().kind is not Kind.FUNCTION:
                readable(value.prog_.space, value.address_, value.type_.byte_size)
            shown = read_value(value)
            if isinstance(shown.value, Unreadable):     # gdb prints nothing: an error
                raise CommandError(shown.value.reason)
        else:
            shown = Value(None, "long", "int", value=value, size=8)
        number = History.of(ctx).add(value)
        return PrintedValue(text, number, label, shown, radix)


def readable(space: Any, address: int, size: int) -> None:
    """gdb reads a value whole: one that cannot be read is an error, not a value."""
    from ..errors import MemoryError_
    from ..memory.userspace import InvalidUserAddress
    try:
        space.read(address, max(size, 1))
    except InvalidUserAddress as err:
        raise CommandError(str(err)) from None
    except MemoryError_:
        raise CommandError(f"Cannot access memory at address {address:#x}") from None


def _user_view(ctx: Context) -> Target:
    from ..memory.userspace import UserOnly
    from ..targets.values import _Viewed
    from .args import linux_target
    target = linux_target(ctx)
    return _Viewed(target, UserOnly(target.user_space()))      # type: ignore[return-value]


def _symbol(target: Target, name: str) -> Any:
    try:
        return target.symbol(name)
    except (NoSuchSymbol, NoSymbols):
        return None                 # not a symbol: the expression is evaluated as typed


def _per_cpu(target: Target, name: str, sym: Any) -> bool:
    """crash's display_per_cpu_info test: a per-CPU data symbol of an SMP kernel."""
    if not getattr(target, "per_cpu_offsets", None):
        return False
    if getattr(sym, "type_char", "d") not in "dDV":
        return False
    try:
        return is_percpu_symbol(target, name)
    except XcrashError:
        return False                # the answer asked for: not a per-CPU symbol


# -- eval ------------------------------------------------------------------------------------
@dataclass
class Evaluation:
    """eval: a 64-bit value, shown in every base (``long_long``: crash's -l, a 64-bit
    value on a 32-bit machine: the same here)."""
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
    synopsis = "eval [-b][-l] (expression) | value"
    summary = "evaluate an expression in hex, decimal, octal and binary"
    group = "general"
    description = """\
Evaluates an expression and shows the result in every base, as crash does.
Numbers are decimal, or hexadecimal with 0x or when they hold a hex letter
(`ffff`); a k, m or g suffix multiplies by 1024, 1 MiB or 1 GiB; a symbol
stands for its address.  The operators are C's (as in `p`).  Values are 64-bit:
-l (crash's 64-bit values on 32-bit machines) changes nothing on x86_64.
"""
    example = "eval 128m\neval -b 41dc065\neval (1 << 27)\neval jiffies_64 - 0x100"
    options = (Option("-b", "bits", "the bit positions that are set"),
               Option("-l", "long_long", "64-bit values (always so on x86_64)"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        value = _evaluate(ctx, " ".join(rest))
        return Records([Evaluation(value, opts["bits"])], evaluation_lines)


def _evaluate(ctx: Context, text: str) -> int:
    target = ctx.target

    def number(m: re.Match[str]) -> str:
        word = m.group(0)
        suffixed = _SUFFIX.fullmatch(word)
        if suffixed:
            return str(int(suffixed[1], 0) * _FACTOR[suffixed[2].lower()])
        if looks_hex(word) and not word.isdigit() and not word.lower().startswith("0x") \
                and not _is_symbol(target, word):
            return "0x" + word
        return word
    value = evaluator(ctx, addresses=True).evaluate(re.sub(r"\b\w+\b", number, text))
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


COMMANDS = [Print, Eval]
