"""Type definitions and declarations as crash's ``whatis``/``struct`` print them
(gdb's ptype): members four spaces in per level, ``SIZE: n`` after the definition.

With ``-o`` crash decorates gdb's lines: each member line gets the member's offset
(``[8]``, or with an address its address ``[ffff...]``) in a column as wide as the
size's digits plus four, the line's first three blanks dropped; a line naming no
member (``union {``, ``};``) is pushed right by the size's digits plus one.  The
offset is the one crash looks up by the member's name: the first member of that
name, nested anonymous structs and unions included.
"""
from __future__ import annotations

from collections.abc import Iterator

from ..targets.typeinfo import Declaration, MemberDeclaration, TypeDefinition

INDENT = "    "


def size_text(size: int, radix: int = 10) -> str:
    return f"{size:#x}" if radix == 16 else str(size)


def ptype_lines(members: list[MemberDeclaration], depth: int = 1
                ) -> Iterator[tuple[str, MemberDeclaration | None]]:
    """gdb's lines of a struct's or union's body, each with the member it names
    (None for the opening and anonymous closing lines of a nested type)."""
    for m in members:
        pad = INDENT * depth
        if m.members is not None:           # a member of an unnamed struct or union type
            yield f"{pad}{m.declaration} {{", None
            yield from ptype_lines(m.members, depth + 1)
            yield f"{pad}}}" + (f" {m.name};" if m.name else ";"), m if m.name else None
        else:
            yield f"{pad}{_declared(m)};", m


def first_offsets(members: list[MemberDeclaration]) -> dict[str, int]:
    """The offset of each member name as crash finds it: the first of that name."""
    found: dict[str, int] = {}

    def walk(ms: list[MemberDeclaration]) -> None:
        for m in ms:
            if m.name is not None:
                found.setdefault(m.name, m.offset)
            if m.members is not None:
                walk(m.members)
    walk(members)
    return found


def offset_line(line: str, offset: int | None, size: int, *, radix: int = 10,
                address: int | None = None) -> str:
    """A ptype line as crash's -o shows it (``offset`` None: a line naming no member)."""
    width = len(size_text(size, radix)) + 4
    if offset is None:
        return " " * (width - 3) + line
    if address is not None:
        mark = f"  [{address + offset:x}]"
    else:
        mark = f"  [{size_text(offset, radix)}]"
    return mark.rjust(width) + line[3:]


def definition_lines(d: TypeDefinition, *, offsets: bool = False, radix: int = 10,
                     address: int | None = None) -> Iterator[str]:
    """``struct pid {`` ... ``}`` then ``SIZE: 96``; an enum's enumerators; a
    typedef's ``typedef int pid_t;``; a base type's ``int;``.  With ``offsets``,
    each member's offset (with ``address``, its address) before it."""
    if d.kind in ("struct", "union"):
        if d.members is None:
            yield f"{d.name};"
            yield "(incomplete type: only declared in this symbol file)"
            return
        yield f"{'typedef ' if d.typedef_name else ''}{_opening(d.name)} {{"
        where = first_offsets(d.members) if offsets else {}
        for line, member in ptype_lines(d.members):
            if not offsets:
                yield line
                continue
            offset = where.get(member.name) if member is not None and member.name else None
            yield offset_line(line, offset, d.size, radix=radix, address=address)
        yield f"}}{d.suffix} {d.typedef_name};" if d.typedef_name else "}"
    elif d.kind == "enum":
        # crash's enumerator list: no size after it
        yield f"{d.name} {{"
        yield from (f"  {e.name} = {e.value}" for e in d.enumerators or ())
        yield "};"
        return
    elif d.typedef is not None:
        yield d.typedef
    else:
        yield f"{d.name};"
    yield f"SIZE: {size_text(d.size, radix)}"


def member_definition_lines(d: TypeDefinition, member: str, *, radix: int = 10,
                            address: int | None = None) -> Iterator[str]:
    """``struct x.member`` (and ``struct -o x.member ADDRESS``) as crash shows it: the
    type's opening line, the member's line with its offset or address, ``}``.  A
    member of an unnamed type at the top level is shown by its closing line, after
    the kind of the last unnamed type opened (crash's reading of gdb's text)."""
    assert d.members is not None
    yield f"{'typedef ' if d.typedef_name else ''}{_opening(d.name)} {{"
    where = first_offsets(d.members)
    width = len(size_text(d.size, radix)) + 4
    opened = ""
    for line, m in ptype_lines(d.members):
        if line.startswith(INDENT + "union {"):
            opened = "union"
        elif line.startswith(INDENT + "struct {"):
            opened = "struct"
        top_close = line.startswith(INDENT + "} ")
        if m is None or m.name != member:
            if top_close:
                opened = ""
            continue
        prefix = ""
        if top_close:
            if opened:
                yield " " * (width + 1) + f"{opened} {{"
            else:
                prefix = " " * (width + 1)
            opened = ""
        yield prefix + offset_line(line, where.get(member), d.size, radix=radix, address=address)
    yield f"}}{d.suffix} {d.typedef_name};" if d.typedef_name else "}"


def _opening(name: str) -> str:
    """``struct pid``, or ``struct`` for an unnamed one (gdb's ``struct {``)."""
    return name.removesuffix(" {...}")


def _declared(m: MemberDeclaration) -> str:
    return m.declaration + (f" : {m.bits}" if m.bits else "")


def declaration_line(d: Declaration) -> str:
    """``volatile unsigned long jiffies;``, or what is known of an untyped symbol."""
    if d.declaration is None:
        return f"{d.name}: {d.type} symbol at {d.address:x} (no type information)"
    return f"{d.declaration};"
