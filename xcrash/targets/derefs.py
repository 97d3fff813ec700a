"""What a pointer member points at, as ``struct -p`` shows it (crash's
dereference_pointer): a function's symbol, a ``char *``'s string, a ``void *``'s
symbol, a pointer to a pointer's value, or the structure (or typed variable) there,
read as gdb's ``p`` would read it.

crash decides from the member's declaration in gdb's ptype text: ``(*name)(`` a
function pointer, ``**name`` a pointer to a pointer, `` *name`` a pointer (``char *``
and ``void *`` apart), or a typedef of a pointer type.  Only the type's own members
(not those of its unnamed structs and unions) are dereferenced.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..caveats import Unreadable
from ..errors import MemoryError_, XcrashError
from ..objects import Object
from ..symbols.types import Kind, Member, Type, declaration
from .values import Value, read_value, unreadable

if TYPE_CHECKING:
    from .base import Target


@dataclass
class Deref:
    """A pointer member and what it points at.  ``how``: "func", "char", "void",
    "pointer" (a pointer to a pointer), "typed" (a pointer to a type: ``pointee`` read
    there, or the typed variable the symbol there names), "null" or "inaccessible"
    (nothing read)."""
    member: str
    #: the declaration as crash cuts it: "struct list_head *", "void (*fn)(int)",
    #: "pgtable_t" (a typedef of a pointer)
    declared: str
    how: str
    value: int
    #: the data symbol exactly at the value (crash's value_symbol), else None
    symbol: str | None = None
    #: the pointer can be read at all (crash's accessible())
    accessible: bool = True
    string: bytes | Unreadable | None = None
    #: what a pointer to a pointer points at
    pointed: int | Unreadable | None = None
    #: the structure there, or the typed variable the symbol names
    pointee: Value | None = None
    typedef_pointer: bool = False
    #: the value history number its read took (crash's gdb print), None if none
    number: int | None = None


def _top_member(t: Type, name: str) -> Member | None:
    for m in t.strip_typedefs().members or ():
        if m.name == name:
            return m
    return None


def value_symbol(target: Target, value: int) -> str | None:
    """The symbol exactly at ``value`` (crash's value_symbol), or None."""
    symbols = target.symbols
    if symbols is None or not value:
        return None
    hit = symbols.resolve(value)
    if hit is None or hit[1]:
        return None
    from ..symbols.symtab import display_name
    return display_name(hit[0].name)


def _symbol_object(target: Target, name: str) -> Object | None:
    """The typed variable ``name`` (crash's use_symbol: a struct, union, array,
    integer or pointer variable), else None."""
    try:
        obj = target.object(name)
    except XcrashError:
        return None                 # untyped, or not a variable: crash prints the pointee type
    kind = obj.type_.strip_typedefs().kind
    if kind in (Kind.STRUCT, Kind.UNION, Kind.ARRAY, Kind.INT, Kind.ENUM, Kind.POINTER):
        return obj
    return None


def deref(target: Target, t: Type, address: int, name: str,
          record: Callable[[Object], int]) -> Deref | None:
    """The dereference of member ``name`` of the structure of type ``t`` at ``address``,
    or None when crash would not dereference it (not a pointer, not a member of the
    type itself).  ``record`` puts a value read in the session's value history (as
    crash's gdb print does) and gives its number."""
    m = _top_member(t, name)
    if m is None:
        return None
    mt = m.type
    s = mt.strip_typedefs()
    if s.kind is not Kind.POINTER:
        return None
    typedef_pointer = mt.kind is Kind.TYPEDEF
    pointee_t = s.target
    pt = pointee_t.strip_typedefs()
    obj = Object(target, t, address).member_(name)
    value = int(obj.value_())
    symbol = value_symbol(target, value)
    if typedef_pointer:
        declared, how = mt.name or declaration(mt, ""), "typed"
    elif pt.kind is Kind.FUNCTION:
        return Deref(name, declaration(mt, name), "func", value, symbol)
    elif pt.kind is Kind.POINTER:
        declared, how = declaration(mt, ""), "pointer"
    else:
        declared = declaration(mt, "")
        how = ("char" if pt.kind is Kind.INT and pt.size == 1 and pointee_t.name is not None
               and pt.encoding == "char" else "void" if pt.kind is Kind.VOID else "typed")
    d = Deref(name, declared, how, value, symbol, typedef_pointer=typedef_pointer)
    use = _symbol_object(target, symbol) if symbol is not None else None
    if how == "char":
        d.accessible = _accessible(target, value)
        if value and d.accessible:
            try:
                d.string = target.space.read_cstring(value, 4095)
            except MemoryError_ as err:
                d.string = unreadable(err)
        return d
    if how == "void" and use is None:
        return d
    if not value or not _accessible(target, value):
        d.accessible = False
        d.how = "null" if not value else "inaccessible"
        return d
    if how == "pointer":
        try:
            d.pointed = target.space.read_u64(value)
        except MemoryError_ as err:
            d.pointed = unreadable(err)
        return d
    shown = use if use is not None else Object(target, pointee_t, value)
    d.pointee = read_value(shown)
    d.number = record(shown)
    return d


def _accessible(target: Target, address: int) -> bool:
    try:
        target.space.read(address, 8)
        return True
    except MemoryError_:
        return False                # crash's accessible(): the answer asked for


def pointer_members(t: Type) -> list[str]:
    """The type's own named members, in order (crash considers each top-level line)."""
    return [m.name for m in t.strip_typedefs().members or () if m.name]
