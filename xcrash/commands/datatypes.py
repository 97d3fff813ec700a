"""struct, union, whatis, p, eval: types and values, as crash shows them."""
from __future__ import annotations

import re
from typing import Any

from ..errors import CommandError, NoSuchType, XcrashError
from ..objects import Object
from ..symbols.types import Kind, declaration
from .args import parse_address, parse_number
from .base import ANY_TARGET, Command, Context, Option, Result, Text
from ..expr import Evaluator, is_plain_symbol
from .typeformat import definition
from .valueformat import ValueFormatter, member_line, member_of, value_as_python


def formatter(ctx: Context, radix: int | None = None) -> ValueFormatter:
    return ValueFormatter(ctx.target.describe_address, radix or ctx.settings.get("radix", 10))


def _radix(opts: dict[str, Any]) -> int | None:
    return 16 if opts.get("hex") else 10 if opts.get("dec") else None


class Struct(Command):
    name = "struct"
    synopsis = "struct struct_name[.member[,member]] [-o] [-x|-d] [address | symbol] [count]"
    summary = "structure contents or definition"
    group = "symbols"
    kind_word = "struct"
    description = """\
Without an address, shows the definition (with -o, each member's offset).
With an address or symbol, shows the structure's contents there, gdb-style.
`.member[,member...]` limits the output to those members (nested paths like
`se.on_rq` work); a count shows consecutive structures.
"""
    example = "struct task_struct.comm,pid init_task\nstruct -o pid"
    options = (Option("-o", "offsets", "show member offsets"),
               Option("-x", "hex", "hexadecimal values"), Option("-d", "dec", "decimal values"))

    def run(self, ctx: Context, args: list[str]) -> Result:
        opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        spec = rest[0]
        type_name, _, member_list = spec.partition(".")
        target = ctx.target
        t = self._find(target, type_name)
        members = [m for m in member_list.split(",") if m] if member_list else []
        if len(rest) == 1:
            if members:
                return Text("\n".join(self._member_decl(t, m, opts["offsets"]) for m in members))
            return Text(definition(t, offsets=opts["offsets"]))
        addr = parse_address(target, rest[1])
        count = parse_number(rest[2], 10) if len(rest) > 2 else 1
        fmt = formatter(ctx, _radix(opts))
        out: list[str] = []
        records = []
        for i in range(count):
            ctx.check()
            obj = Object(target, t, addr + i * t.byte_size)
            if members:
                for path in members:
                    sub = member_of(obj, path)
                    out.append(member_line(fmt, path, sub))
                    records.append({"address": obj.address_, "member": path,
                                    "value": value_as_python(sub)})
            else:
                out.append(f"{declaration(t.strip_typedefs(), '')} {fmt.value(obj, 0)}")
                records.append({"address": obj.address_})
        return Text("\n".join(out), records)

    def _find(self, target: Any, name: str) -> Any:
        for candidate in (f"{self.kind_word} {name}", name):
            try:
                t = target.type(candidate)
            except NoSuchType:
                continue
            if t.strip_typedefs().kind in (Kind.STRUCT, Kind.UNION):
                return t
        raise CommandError(f"invalid data structure reference: {name}")

    @staticmethod
    def _member_decl(t: Any, path: str, offsets: bool) -> str:
        bit_offset, mtype, member = t.member_path(path)
        text = declaration(mtype, member.name or "")
        if member.bit_size:
            text += f" : {member.bit_size}"
        return (f"  [{bit_offset // 8}] " if offsets else "  ") + text + ";"


class Union(Struct):
    name = "union"
    synopsis = "union union_name[.member[,member]] [-o] [-x|-d] [address | symbol] [count]"
    summary = "union contents or definition"
    kind_word = "union"
    example = "union -o <name>"


class Whatis(Command):
    name = "whatis"
    synopsis = "whatis [struct | union | typedef | symbol]"
    summary = "type of a symbol, or definition of a type"
    group = "symbols"
    description = """\
For a struct, union, enum or typedef name, shows its definition and size;
for a variable, its declaration; for a function, its prototype.
"""
    example = "whatis struct pid\nwhatis jiffies"

    def run(self, ctx: Context, args: list[str]) -> Result:
        if not args:
            raise CommandError(f"usage: {self.usage()}")
        name = " ".join(args)
        target = ctx.target
        if is_plain_symbol(name) and target.symbols is not None and target.symbols.get(name):
            try:
                t = target.variable_type(name)
            except XcrashError:
                t = None
            if t is not None:
                if t.strip_typedefs().kind is Kind.FUNCTION:
                    return Text(declaration(t, name) + ";")
                return Text(declaration(t, name) + ";")
            sym = target.symbol(name)
            return Text(f"{name}: {sym.type_char} symbol at {sym.address:x} (no type information)")
        for candidate in (name, f"struct {name}", f"union {name}", f"enum {name}"):
            try:
                return Text(definition(target.type(candidate)))
            except NoSuchType:
                continue
        raise CommandError(f"whatis: no symbol or type {name!r}")


class Print(Command):
    name = "p"
    aliases = ("print",)
    synopsis = "p [-x|-d] expression"
    summary = "print the value of an expression"
    group = "symbols"
    description = """\
Evaluates a C expression: variables, members (`.` and `->`), array indexes,
casts, `&`, `*`, arithmetic, `sizeof`, and crash's per-CPU suffix
`variable:cpu` (or `:a` for every CPU).  Values are numbered $1, $2, ... as in
crash; a plain variable is shown as `name = $N = value`.
"""
    example = "p jiffies\np init_task.comm\np runqueues:1"
    options = (Option("-x", "hex", "hexadecimal"), Option("-d", "dec", "decimal"))

    def run(self, ctx: Context, args: list[str]) -> Result:
        opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        text = " ".join(rest)
        target = ctx.target
        fmt = formatter(ctx, _radix(opts))
        if text.endswith(":a") or text.endswith(":all"):
            base = text.rsplit(":", 1)[0]
            parts = [self._one(ctx, fmt, f"{base}:{cpu}", label=f"per_cpu({base}, {cpu})")
                     for cpu in target.online_cpus]
            return Text("\n".join(p.text for p in parts))
        return self._one(ctx, fmt, text)

    def _one(self, ctx: Context, fmt: ValueFormatter, text: str, label: str | None = None) -> Text:
        value = Evaluator(ctx.target).evaluate(text)
        number = ctx.settings.get("_value_number", 0) + 1
        ctx.settings["_value_number"] = number
        if isinstance(value, Object):
            shown = fmt.value(value, 0)
            record = value_as_python(value)
        else:
            shown = hex(value) if fmt.radix == 16 else str(value)
            record = value
        percpu = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*:\s*(\d+)\s*", text)
        if percpu and label is None:
            label = f"per_cpu({percpu.group(1)}, {percpu.group(2)})"
        prefix = f"{label or text} = " if label or is_plain_symbol(text) else ""
        return Text(f"{prefix}${number} = {shown}", [{"expression": text, "value": record}])


class Eval(Command):
    targets = ANY_TARGET
    name = "eval"
    synopsis = "eval [-b] expression"
    summary = "evaluate an expression in hex, decimal, octal and binary"
    group = "general"
    description = """\
Evaluates an expression (numbers are decimal unless 0x-prefixed, symbols stand
for their addresses, C operators as in `p`) and shows
the result in every base, as crash does.  -b also lists the bits that are set.
"""
    example = "eval 1024\neval jiffies_64 - 0x100"
    options = (Option("-b", "bits", "show set bits"),)

    def run(self, ctx: Context, args: list[str]) -> Result:
        opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        text = " ".join(rest)
        try:
            value = int(Evaluator(ctx.target).evaluate(text))
        except XcrashError:
            value = parse_number(text, 16)
        v = value & 0xFFFFFFFFFFFFFFFF
        lines = [f"hexadecimal: {v:x}", f"    decimal: {value}", f"      octal: {v:o}",
                 f"     binary: {v:064b}"]
        if opts["bits"]:
            bits = [str(i) for i in range(64) if v >> i & 1]
            lines.append(f"   bits set: {' '.join(reversed(bits))}")
        return Text("\n".join(lines), [{"value": value}])


COMMANDS = [Struct, Union, Whatis, Print, Eval]
