"""Types and declarations as records (``whatis``, ``struct``/``union`` without an
address): a type's definition with its members' declarations and offsets, a
variable's or function's declaration.  Read from the symbol file's types; the
layout (``layouts/types.py``) writes them as gdb's ptype (and so crash) does."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import NoSuchType
from ..symbols.types import Kind, Member, Type, declaration

if TYPE_CHECKING:
    from .base import Target


@dataclass
class MemberDeclaration:
    """A member of a struct or union: its C declaration and its offset in bytes
    from the start of the type shown.  A member of an unnamed struct or union type
    has that type's ``members`` (its declaration is then ``struct`` or ``union``)."""
    name: str | None
    declaration: str
    offset: int
    #: the width of a bit-field, else 0
    bits: int = 0
    members: list[MemberDeclaration] | None = None


@dataclass
class Enumerator:
    name: str
    value: int


@dataclass
class TypeDefinition:
    """A type as ``whatis`` and ``struct`` show it: a struct's or union's members
    (None: only declared in this symbol file), an enum's enumerators, what a
    typedef names (``typedef int pid_t``), and the size."""
    name: str
    kind: str
    size: int
    members: list[MemberDeclaration] | None = None
    enumerators: list[Enumerator] | None = None
    typedef: str | None = None


@dataclass
class Declaration:
    """A symbol as ``whatis`` shows it: its C declaration, or (no type for it in the
    symbol file) None with its address and type letter."""
    name: str
    declaration: str | None
    address: int
    type: str


def definition(t: Type) -> TypeDefinition:
    """The definition of ``t`` (a typedef of a struct, union or enum: that type's)."""
    s = t.strip_typedefs()
    if s.kind in (Kind.STRUCT, Kind.UNION):
        members = None if s.members is None else _members(s, 0)
        return TypeDefinition(declaration(s, ""), s.kind.value, s.byte_size, members=members)
    if s.kind is Kind.ENUM:
        return TypeDefinition(declaration(s, ""), "enum", s.byte_size,
                              enumerators=[Enumerator(n, v) for n, v in s.enumerators or ()])
    typedef = f"typedef {declaration(t.target, t.name or '')}" if t.kind is Kind.TYPEDEF else None
    return TypeDefinition(declaration(t, ""), t.kind.value, s.byte_size, typedef=typedef)


def _members(t: Type, base: int) -> list[MemberDeclaration]:
    return [_member(m, base) for m in t.members or ()]


def _member(m: Member, base: int) -> MemberDeclaration:
    t = m.type
    offset = (base + m.bit_offset) // 8
    inner = t if t.kind is Kind.TYPEDEF else t.strip_typedefs()
    if inner.kind in (Kind.STRUCT, Kind.UNION) and not inner.name:
        return MemberDeclaration(m.name, inner.kind.value, offset,
                                 members=_members(inner, base + m.bit_offset))
    return MemberDeclaration(m.name, declaration(t, m.name or ""), offset, m.bit_size)


def member_declaration(t: Type, path: str) -> MemberDeclaration:
    """The member at a dotted path (``se.on_rq``), its offset from the start of ``t``."""
    bit_offset, mtype, member = t.member_path(path)
    return MemberDeclaration(member.name, declaration(mtype, member.name or ""), bit_offset // 8,
                             member.bit_size)


def find_aggregate(target: Target, name: str, kind_word: str) -> Type | None:
    """The struct or union ``name`` (``kind_word`` "struct" or "union" first, then the
    name as given: a typedef of one), or None."""
    for candidate in (f"{kind_word} {name}", name):
        try:
            t = target.type(candidate)
        except NoSuchType:
            continue                # a probe: try the next spelling
        if t.strip_typedefs().kind in (Kind.STRUCT, Kind.UNION):
            return t
    return None


def find_type(target: Target, name: str) -> Type | None:
    """A type by the name ``whatis`` was given: as written, else as a struct,
    union or enum tag; None when there is none."""
    for candidate in (name, f"struct {name}", f"union {name}", f"enum {name}"):
        try:
            return target.type(candidate)
        except NoSuchType:
            continue                # a probe: try the next spelling
    return None


def symbol_declaration(target: Target, name: str) -> Declaration | None:
    """The declaration of the variable or function ``name`` (None: no such symbol).
    Without a type in the symbol file the declaration is None."""
    symbols = target.symbols
    sym = symbols.get(name) if symbols is not None else None
    if sym is None:
        return None
    t: Type | None
    try:
        t = target.variable_type(name)
    except NoSuchType:
        t = None                    # not a typed variable: a function, or untyped
    if t is None and sym.type_char in "tTwW" and target.symfile is not None:
        t = target.symfile.function_type(name)
    return Declaration(name, declaration(t, name) if t is not None else None, sym.address,
                       sym.type_char)
