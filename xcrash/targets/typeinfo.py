"""Types and declarations as records (``whatis``, ``struct``/``union`` without an
address): a type's definition with its members' declarations and offsets, a
variable's or function's declaration.  Read from the symbol file's types; the
layout (``layouts/types.py``) writes them as gdb's ptype (and so crash) does."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import CommandError, NoSuchType
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
    #: a typedef not of a struct or union: its line (``typedef int pid_t``, or gdb's
    #: inline text ``typedef enum irqreturn {IRQ_NONE, ...} (*)(int, void *)``)
    typedef: str | None = None
    #: a typedef of a struct or union (or a pointer, array or function of one): its
    #: name, closing the definition (``} atomic_t;``)
    typedef_name: str | None = None
    #: the declarator after the closing brace (``} * pgtable_t;``, ``} [1] cpumask_var_t;``)
    suffix: str = ""


@dataclass
class Declaration:
    """A symbol as ``whatis`` shows it: its C declaration, or (no type for it in the
    symbol file) None with its address and type letter."""
    name: str
    declaration: str | None
    address: int
    type: str


def definition(t: Type) -> TypeDefinition:
    """The definition of ``t`` as gdb's ptype (and so crash) gives it.  A typedef is
    resolved to the type it finally names; that type's struct, union or enum (behind
    pointers, arrays and functions, not behind another typedef) is written out."""
    s = t.strip_typedefs()
    if t.kind is not Kind.TYPEDEF:
        if s.kind in (Kind.STRUCT, Kind.UNION):
            members = None if s.members is None else _members(s, 0)
            return TypeDefinition(declaration(s, ""), s.kind.value, s.byte_size, members=members)
        if s.kind is Kind.ENUM:
            return TypeDefinition(declaration(s, ""), "enum", s.byte_size,
                                  enumerators=[Enumerator(n, v) for n, v in s.enumerators or ()])
        return TypeDefinition(declaration(t, ""), t.kind.value, s.byte_size)
    name = t.name or ""
    peeled = s
    while peeled.kind in (Kind.POINTER, Kind.ARRAY, Kind.FUNCTION):
        peeled = peeled.target
    suffix = declaration(s, "")[len(base_text(peeled)):] if peeled is not s else ""
    base = peeled.strip_typedefs()           # gdb's ptype resolves the base's typedefs
    if base.kind in (Kind.STRUCT, Kind.UNION):
        members = None if base.members is None else _members(base, 0)
        return TypeDefinition(declaration(base, ""), base.kind.value, s.byte_size,
                              members=members, typedef_name=name, suffix=suffix)
    if base.kind is Kind.ENUM and not suffix:        # crash lists its enumerators
        return TypeDefinition("typedef " + declaration(base, ""), "enum", s.byte_size,
                              enumerators=[Enumerator(n, v) for n, v in base.enumerators or ()])
    if base.kind is Kind.ENUM:
        return TypeDefinition(declaration(t, ""), "typedef", s.byte_size,
                              typedef=f"typedef {enum_inline(base)}{suffix}")
    return TypeDefinition(declaration(t, ""), "typedef", s.byte_size,
                          typedef=f"typedef {declaration(s, name)};")


def base_text(t: Type) -> str:
    """The base of a declaration (``struct page``, ``enum irqreturn``, ``int``)."""
    return declaration(t, "")


def enum_inline(t: Type) -> str:
    """An enum as gdb writes it inside a type: ``enum irqreturn {IRQ_NONE, IRQ_HANDLED}``,
    a value given only where it is not the previous one plus one."""
    parts = []
    expected = 0
    for n, v in t.enumerators or ():
        parts.append(n if v == expected else f"{n} = {v}")
        expected = v + 1
    return f"{declaration(t, '')} {{{', '.join(parts)}}}"


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
    if sym is None and hasattr(symbols, "module_symbol"):
        sym = symbols.module_symbol(name)
    if sym is None:
        return None
    t: Type | None
    try:
        t = target.variable_type(name)
    except NoSuchType:
        t = None                    # not a typed variable: a function, or untyped
    if t is None and sym.type_char in "tTwW":
        t = target.function_type(name)
    return Declaration(name, declaration(t, name) if t is not None else None, sym.address,
                       sym.type_char)


_PART = re.compile(r"([A-Za-z_$][\w$]*)((?:\[\d+\])*)$")


def path_offset(t: Type, path: str) -> tuple[int, Type]:
    """(byte offset, type) of a member path: ``se.on_rq``, ``cpus_mask.bits[1]``; a
    name that is no member raises NoSuchMember, a malformed path CommandError."""
    offset = 0
    current = t
    for part in path.split("."):
        m = _PART.fullmatch(part)
        if m is None:
            raise CommandError(f"invalid member reference: {path}")
        bits, member = current.member(m.group(1))
        offset += bits // 8
        current = member.type
        for index in re.findall(r"\[(\d+)\]", m.group(2)):
            s = current.strip_typedefs()
            if s.kind is not Kind.ARRAY:
                raise CommandError(f"{m.group(1)} is not an array")
            offset += int(index) * s.target.byte_size
            current = s.target
    return offset, current


@dataclass
class SizedType:
    """A line of ``whatis -r``/``-m``: a type's name as the symbol file names it and
    its size."""
    size: int
    name: str


def types_sized(target: Target, low: int, high: int, member: str | None) -> list[SizedType]:
    """The named types (struct, union and enum tags, base types; from DWARF when the
    symbol file has it, as gdb's) of a size in [low, high] (0 and 0: any), with
    ``member``, those having a member whose type's name contains it (through pointers
    and arrays, and nested structures), in size then name order: crash's whatis -r
    and -m."""
    found: dict[str, int] = {}
    symfile = target.symfile
    source = getattr(symfile, "dwarf", None) or getattr(symfile, "btf", None) or target.types
    for full in source.names():
        tag, _, bare = full.partition(" ")
        name = bare if tag in ("struct", "union", "enum") and bare else full
        if name in found:
            continue
        try:
            t = source.find(full)
        except NoSuchType:
            continue                # a name the index lists but cannot build: not listed
        if t is None or t.kind is Kind.TYPEDEF:
            # gdb knows a typedef's size only once something resolved it: crash's
            # list depends on what it looked at before; none are listed here
            continue
        # a name defined with several sizes: gdb meets the definitions from the last
        # unit back, and lists the first that passes
        defined = getattr(source, "variants", None)
        candidates = [v for v, _last in sorted(defined(full), key=lambda v: -v[1])] \
            if defined is not None else []
        for candidate in candidates or [t]:
            size = candidate.size or 0
            if high and not low <= size <= high:
                continue
            if member is not None and not _contains(candidate, member, 0):
                continue
            found[name] = size
            break
    return [SizedType(size, name) for name, size in sorted(found.items(),
                                                          key=lambda kv: (kv[1], kv[0]))]


def _contains(t: Type, word: str, depth: int) -> bool:
    """gdb's lookup_struct_contents: a member whose type (an array's element, a
    pointer's target) is named with ``word`` in it; nested structures searched."""
    if t.kind is not Kind.STRUCT or depth > 32:
        return False
    for m in t.members or ():
        mt = m.type
        if mt.kind is Kind.ARRAY:
            mt = mt.target
        if mt.kind is Kind.STRUCT and _contains(mt, word, depth + 1):
            return True
        if mt.kind is Kind.POINTER:
            mt = mt.target
        name = mt.name
        if name and word in name:
            return True
    return False


@dataclass
class EnumeratorValue:
    """``whatis`` of an enumerator: its enum (``enum pid_type``) and value."""
    enum: str
    value: int


def enumerator(target: Target, name: str) -> EnumeratorValue | None:
    """The enum an enumerator belongs to, and its value (from BTF), or None."""
    btf = getattr(target.symfile, "btf", None)
    found = btf.enumerator(name) if btf is not None else None
    if found is None:
        return None
    t, value = found
    return EnumeratorValue(declaration(t, ""), value)
