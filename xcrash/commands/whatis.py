"""whatis: a type's definition, a symbol's declaration, an enumerator's value, and the
types of a size or with a member of a type (-r, -m), as crash shows them."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial

from ..errors import CommandError
from ..layouts.types import declaration_line, definition_lines
from ..results import Records
from ..targets import typeinfo
from ..targets.typeinfo import Declaration, EnumeratorValue, SizedType, TypeDefinition
from .base import ANY_TARGET, Command, Context, Option


def whatis_lines(records: Iterable[Declaration | TypeDefinition | EnumeratorValue], *,
                 offsets: bool = False, radix: int = 10) -> Iterator[str]:
    for r in records:
        if isinstance(r, EnumeratorValue):
            yield f"{r.enum} = {r.value}"
        elif isinstance(r, Declaration):
            yield declaration_line(r)
        else:
            yield from definition_lines(r, offsets=offsets, radix=radix)


def sized_lines(records: Iterable[SizedType]) -> Iterator[str]:
    """crash's ``SIZE  TYPE`` table (whatis -r, -m): SIZE as wide as the largest."""
    rows = list(records)
    if not rows:
        yield "(none found)"
        return
    width = max(len(str(rows[-1].size)), len("SIZE"))
    yield f"{'SIZE':>{width}}  TYPE"
    for r in rows:
        yield f"{r.size:>{width}}  {r.name}"


class Whatis(Command):
    name = "whatis"
    synopsis = ("whatis [[-o] [struct | union | typedef | symbol]] | "
                "[[-r [size|range]] [-m member]]")
    summary = "type of a symbol, or definition of a type"
    group = "symbols"
    targets = ANY_TARGET
    description = """\
For a struct, union, enum or typedef name, shows its definition and size (-o: with
its members' offsets); for a variable, its declaration; for a function, its
prototype.  -r lists the types of a size (or a range, low-high), -m those with a
member of a type whose name contains the word (a pointer to it too, in nested
structures as well); both together, those of the size with such a member.
"""
    example = "whatis struct pid\nwhatis jiffies\nwhatis panic\nwhatis -r 96"
    options = (Option("-o", "offsets", "member offsets"),
               Option("-r", "range", "types of this size, or sizes low-high",
                      takes_value=True, metavar="size|range"),
               Option("-m", "member", "types with a member of this type (a substring)",
                      takes_value=True, metavar="member"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = ctx.target
        radix = int(ctx.settings.get("radix", 10))
        if opts["range"] is not None or opts["member"] is not None:
            low = high = 0
            if opts["range"] is not None:
                low_text, _, high_text = opts["range"][:15].partition("-")
                low = high = _number(low_text)
                if high_text:
                    high = _number(high_text)
            return Records(typeinfo.types_sized(target, low, high, opts["member"]), sized_lines)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        words = rest
        if words[0] not in ("struct", "union", "enum"):
            found = typeinfo.symbol_declaration(target, words[0])
            if found is not None:
                return Records([found], whatis_lines)
        name = " ".join(words)
        t = typeinfo.find_type(target, name)
        if t is None and len(words) == 1:
            value = typeinfo.enumerator(target, name)
            if value is not None:
                return Records([value], whatis_lines)
        if t is None:
            raise CommandError(f"cannot resolve: {name}")
        return Records([typeinfo.definition(t)],
                       partial(whatis_lines, offsets=opts["offsets"], radix=radix))


def _number(text: str) -> int:
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        raise CommandError(f"invalid size: {text}") from None


COMMANDS = [Whatis]
