"""The one type model that BTF and DWARF both fill.

A :class:`Type` describes a C type the way a debugger needs it: kind, name,
size, and what it refers to.  References to other types (a pointer's target,
a member's type) may be given lazily as a zero-argument callable so that a
type source can build only what is asked for; :attr:`Type.target` and
:attr:`Member.type` resolve them on first use.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Union
from collections.abc import Callable, Iterator

from ..errors import NoSuchMember


class Kind(enum.Enum):
    VOID = "void"
    INT = "int"          # integers, char and _Bool (see Type.encoding)
    FLOAT = "float"
    POINTER = "pointer"
    ARRAY = "array"
    STRUCT = "struct"
    UNION = "union"
    ENUM = "enum"
    TYPEDEF = "typedef"
    FUNCTION = "function"


TypeRef = Union["Type", Callable[[], "Type"]]


def _resolve(ref: TypeRef | None) -> Type:
    if ref is None:
        return VOID
    if isinstance(ref, Type):
        return ref
    return ref()


class Member:
    """A struct/union member; ``name`` is None for an anonymous struct/union."""

    __slots__ = ("name", "_type", "bit_offset", "bit_size")

    def __init__(self, name: str | None, type: TypeRef, bit_offset: int, bit_size: int = 0) -> None:
        self.name = name
        self._type = type
        self.bit_offset = bit_offset
        self.bit_size = bit_size  # 0 unless a bit-field

    @property
    def type(self) -> Type:
        if not isinstance(self._type, Type):
            self._type = _resolve(self._type)
        return self._type

    @property
    def offset(self) -> int:
        """Byte offset of the member (of the byte holding a bit-field's first bit)."""
        return self.bit_offset // 8

    def __repr__(self) -> str:
        return f"Member({self.name!r}, bit_offset={self.bit_offset}, bit_size={self.bit_size})"


@dataclass(frozen=True)
class Parameter:
    name: str | None
    type: Type


class Type:
    """A C type.  Fields that do not apply to a kind are left at their defaults.

    - INT: ``size``, ``signed``, ``encoding`` in {"int", "char", "bool"}
    - POINTER / TYPEDEF: ``target``
    - ARRAY: ``target`` (element) and ``length`` (None: flexible/unknown)
    - STRUCT / UNION: ``members`` (None: declared but not defined here)
    - ENUM: ``enumerators`` [(name, value)], ``size``, ``signed``
    - FUNCTION: ``target`` (return type), ``params``, ``variadic``
    - any kind: ``qualifiers`` (subset of {"const", "volatile", "restrict"})
    """

    __slots__ = ("kind", "name", "size", "signed", "encoding", "length", "_target",
                 "_members", "enumerators", "params", "variadic", "qualifiers",
                 "_member_index", "_stripped", "_byte_size")

    def __init__(
        self,
        kind: Kind,
        name: str | None = None,
        size: int | None = None,
        *,
        signed: bool = False,
        encoding: str = "int",
        target: TypeRef | None = None,
        length: int | None = None,
        members: list[Member] | Callable[[], list[Member]] | None = None,
        enumerators: list[tuple[str, int]] | None = None,
        params: list[Parameter] | None = None,
        variadic: bool = False,
        qualifiers: frozenset[str] = frozenset(),
    ) -> None:
        self.kind = kind
        self.name = name
        self.size = size
        self.signed = signed
        self.encoding = encoding
        self._target = target
        self.length = length
        self._members = members
        self.enumerators = enumerators
        self.params = params
        self.variadic = variadic
        self.qualifiers = qualifiers
        self._member_index: dict[str, tuple[int, Member]] | None = None
        # computed on first use (a type does not change once built; only its lazy
        # references resolve, to the same types)
        self._stripped: Type | None = None
        self._byte_size: int | None = None

    # -- references -----------------------------------------------------
    @property
    def target(self) -> Type:
        if self._target is not None and not isinstance(self._target, Type):
            self._target = _resolve(self._target)
        return self._target if self._target is not None else VOID

    @property
    def members(self) -> list[Member] | None:
        if callable(self._members):
            self._members = self._members()
        return self._members

    def qualified(self, qualifiers: frozenset[str]) -> Type:
        """A copy of this type with extra qualifiers (const, volatile)."""
        if not qualifiers:
            return self
        copy = Type(self.kind, self.name, self.size, signed=self.signed, encoding=self.encoding,
                    target=self._target, length=self.length, members=self._members,
                    enumerators=self.enumerators, params=self.params, variadic=self.variadic,
                    qualifiers=self.qualifiers | qualifiers)
        return copy

    # -- shape ------------------------------------------------------------
    def strip_typedefs(self) -> Type:
        stripped = self._stripped
        if stripped is None:
            t = self
            for _ in range(64):
                if t.kind is not Kind.TYPEDEF:
                    break
                t = t.target
            stripped = self._stripped = t
        return stripped

    @property
    def byte_size(self) -> int:
        """Size in bytes, following typedefs and computing array sizes."""
        size = self._byte_size
        if size is None:
            t = self.strip_typedefs()
            if t.kind is Kind.ARRAY:
                size = (t.length or 0) * t.target.byte_size
            elif t.kind is Kind.POINTER:
                size = t.size or 8
            elif t.kind in (Kind.VOID, Kind.FUNCTION):
                size = t.size or 1
            else:
                size = t.size or 0
            self._byte_size = size
        return size

    def is_integer(self) -> bool:
        return self.strip_typedefs().kind in (Kind.INT, Kind.ENUM)

    def is_pointer(self) -> bool:
        return self.strip_typedefs().kind is Kind.POINTER

    def is_aggregate(self) -> bool:
        return self.strip_typedefs().kind in (Kind.STRUCT, Kind.UNION)

    def is_complete(self) -> bool:
        t = self.strip_typedefs()
        return t.kind not in (Kind.STRUCT, Kind.UNION) or t.members is not None

    def member(self, name: str) -> tuple[int, Member]:
        """Find a member by name, looking through anonymous structs/unions.

        Returns (bit offset from the start of this type, Member).
        """
        t = self.strip_typedefs()
        if t.kind not in (Kind.STRUCT, Kind.UNION):
            raise NoSuchMember(self.display_name(), name)
        if t._member_index is None:
            t._member_index = dict(_flatten_members(t, 0))
        try:
            return t._member_index[name]
        except KeyError:
            raise NoSuchMember(self.display_name(), name) from None

    def has_member(self, name: str) -> bool:
        try:
            self.member(name)
            return True
        except NoSuchMember:
            return False    # the answer asked for

    def member_path(self, path: str) -> tuple[int, Type, Member]:
        """Resolve ``a.b.c`` (no pointer hops) to (bit offset, type, last Member)."""
        offset = 0
        t: Type = self
        last: Member | None = None
        for part in path.split("."):
            off, last = t.member(part)
            offset += off
            t = last.type
        assert last is not None
        return offset, t, last

    def offsetof(self, path: str) -> int:
        """C's ``offsetof(type, a.b.c)``: the byte offset of a (nested) member."""
        return self.member_path(path)[0] // 8

    # -- names --------------------------------------------------------------
    def display_name(self) -> str:
        """The type as C spells it when no declarator name is involved."""
        return declaration(self, "")

    def __repr__(self) -> str:
        return f"<Type {self.display_name()} size={self.size}>"


def _flatten_members(t: Type, base: int) -> Iterator[tuple[str, tuple[int, Member]]]:
    for m in t.members or ():
        if m.name is None:
            inner = m.type.strip_typedefs()
            if inner.kind in (Kind.STRUCT, Kind.UNION):
                yield from _flatten_members(inner, base + m.bit_offset)
            continue
        yield m.name, (base + m.bit_offset, m)


def _qual_prefix(t: Type) -> str:
    return "".join(q + " " for q in ("const", "volatile") if q in t.qualifiers)


def declaration(t: Type, declarator: str) -> str:
    """Render a C declaration of ``declarator`` with type ``t``.

    ``declaration(ptr_to_array, "x")`` gives ``int (*x)[4]`` as C would.
    """
    kind = t.kind
    if kind is Kind.POINTER:
        quals = " ".join(q for q in ("const", "volatile") if q in t.qualifiers)
        inner = "*" + quals + (" " if quals and declarator else "") + declarator
        tgt = t.target
        if tgt.kind in (Kind.ARRAY, Kind.FUNCTION):
            inner = f"({inner})"
        return declaration(tgt, inner)
    if kind is Kind.ARRAY:
        dim = "" if t.length is None else str(t.length)
        return declaration(t.target, f"{declarator}[{dim}]")
    if kind is Kind.FUNCTION:
        params = ", ".join(declaration(p.type, "") for p in (t.params or []))
        if t.variadic:
            params = f"{params}, ..." if params else "..."
        if not params:
            params = "void"
        return declaration(t.target, f"{declarator}({params})")
    base = _qual_prefix(t) + base_name(t)
    if not declarator:
        return base
    sep = "" if declarator.startswith(("*", "(")) and base.endswith("*") else " "
    return f"{base}{sep}{declarator}"


def base_name(t: Type) -> str:
    if t.kind is Kind.STRUCT:
        return f"struct {t.name}" if t.name else "struct {...}"
    if t.kind is Kind.UNION:
        return f"union {t.name}" if t.name else "union {...}"
    if t.kind is Kind.ENUM:
        return f"enum {t.name}" if t.name else "enum {...}"
    if t.kind is Kind.VOID:
        return "void"
    if t.kind is Kind.INT and t.name is not None:
        return GDB_SPELLING.get(t.name, t.name)
    return t.name or "?"


#: GCC's names of the C base types (DWARF's and BTF's) as gdb writes them in a type
#: (crash 8.0.6 and 9.0.2 alike: ``unsigned long``, not ``long unsigned int``)
GDB_SPELLING = {
    "long unsigned int": "unsigned long", "long int": "long",
    "long long int": "long long", "long long unsigned int": "unsigned long long",
    "short int": "short", "short unsigned int": "unsigned short",
    "__int128 unsigned": "unsigned __int128",
}


VOID = Type(Kind.VOID, "void", None)
