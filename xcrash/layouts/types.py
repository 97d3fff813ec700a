"""Type definitions and declarations as crash's ``whatis``/``struct`` print them
(gdb's ptype): members four spaces in per level, ``-o`` offsets in brackets,
``SIZE: n`` after the definition."""
from __future__ import annotations

from collections.abc import Iterator

from ..targets.typeinfo import Declaration, MemberDeclaration, TypeDefinition

INDENT = "    "


def definition_lines(d: TypeDefinition, *, offsets: bool = False) -> Iterator[str]:
    """``struct pid {`` ... ``}`` then ``SIZE: 96``; an enum's enumerators; a
    typedef's ``typedef int pid_t;``; a base type's ``int;``."""
    if d.kind in ("struct", "union"):
        if d.members is None:
            yield f"{d.name};"
            yield "(incomplete type: only declared in this symbol file)"
            return
        width = len(f"[{d.size}]") + 2 if offsets else 0
        yield f"{d.name} {{"
        yield from _body(d.members, 1, offsets, width)
        yield "}"
    elif d.kind == "enum":
        yield f"{d.name} {{"
        yield from (f"{INDENT}{e.name} = {e.value}," for e in d.enumerators or ())
        yield "};"
    elif d.typedef is not None:
        yield f"{d.typedef};"
    else:
        yield f"{d.name};"
    yield f"SIZE: {d.size}"


def _body(members: list[MemberDeclaration], depth: int, offsets: bool,
          width: int) -> Iterator[str]:
    for m in members:
        pad = INDENT * depth
        prefix = ""
        if offsets:
            prefix = f"[{m.offset}]".rjust(width) + " "
            pad = pad[:-4] + "   " if depth == 1 else pad
        if m.members is not None:           # a member of an unnamed struct or union type
            yield f"{pad}{prefix}{m.declaration} {{"
            yield from _body(m.members, depth + 1, offsets, width)
            yield f"{INDENT * depth}}}" + (f" {m.name};" if m.name else ";")
        else:
            yield f"{pad}{prefix}{_declared(m)};"


def _declared(m: MemberDeclaration) -> str:
    return m.declaration + (f" : {m.bits}" if m.bits else "")


def member_declaration_line(m: MemberDeclaration, *, offsets: bool = False) -> str:
    """``  char comm[16];`` (``struct task_struct.comm``), with -o ``  [1456] ...``."""
    return (f"  [{m.offset}] " if offsets else "  ") + _declared(m) + ";"


def declaration_line(d: Declaration) -> str:
    """``volatile long unsigned int jiffies;``, or what is known of an untyped symbol."""
    if d.declaration is None:
        return f"{d.name}: {d.type} symbol at {d.address:x} (no type information)"
    return f"{d.declaration};"
