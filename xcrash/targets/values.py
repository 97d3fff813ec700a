"""C values read from the dump into a tree of records (``p``, ``struct``, ``list -s``,
``tree -s``, ``task``): what gdb would print, read once, so that the layout
(``layouts/values.py``) writes crash's text without reading memory and JSON gets
the structure.

    Value(name="comm", type="char [16]", kind="array", value=b"swapper/0\\0...")
    Value(name="se", type="struct sched_entity", kind="struct", members=[...])

What gdb shows beside a number is read here too: the symbol a pointer points at,
the string a ``char *`` points at, an enumerator's name.  A value that cannot be
read is :class:`~xcrash.caveats.Unreadable` (gdb's ``<error: Cannot access memory
at address 0x...>``); the rest of the tree is still read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..caveats import Unreadable
from ..errors import MemoryError_
from ..objects import Object
from ..symbols.types import Kind, Type, declaration

if TYPE_CHECKING:
    from .base import Target

#: gdb's default ``print elements`` limit: array elements and string characters shown
ELEMENT_LIMIT = 200
#: how much of the string a flexible char array starts is read
FLEXIBLE_STRING_LIMIT = 1024

Scalar = int | float | bool | bytes


@dataclass
class Value:
    """A value as gdb prints it: a scalar, or an aggregate's members (an array's
    elements); ``name`` is the member's name (None for an array element, an
    anonymous member or a value of its own)."""
    name: str | None
    #: the C type as declared ("char [16]", "struct list_head *", "pid_t")
    type: str
    #: "int", "char", "bool", "enum", "float", "pointer", "function", "struct",
    #: "union" or "array"
    kind: str
    #: a scalar's value (an address for pointers and functions); a char array's bytes;
    #: a flexible array's address; Unreadable when the dump did not give it
    value: Scalar | Unreadable | None = None
    #: a struct's or union's members, an array's elements (the first ELEMENT_LIMIT)
    members: list[Value] | None = None
    #: where the value is in memory (None for a computed value)
    address: int | None = None
    #: ``symbol+offset`` of the address a pointer or function holds
    symbol: str | None = None
    #: the string a ``char *`` points at (a flexible char array: the one it starts)
    string: bytes | Unreadable | None = None
    #: an enum value's enumerator
    enumerator: str | None = None
    #: an array's declared length (None: a flexible array)
    length: int | None = None
    #: the size in bytes, for hexadecimal negative numbers
    size: int = field(default=0, metadata={"json": False})


@dataclass
class StructContents:
    """A structure at an address as ``struct`` (and ``list -s``/``tree -s``) show it:
    the whole of it (``whole``: ``struct x {...}``) or the members asked for
    (``  a.b = ...,`` each).  Without ``members``, just the address (``list``)."""
    address: int
    #: the header of a whole structure ("struct task_struct"); None without members
    type: str | None = None
    members: list[Value] | None = None
    whole: bool = field(default=False, metadata={"json": False})


def unreadable(err: MemoryError_) -> Unreadable:
    return Unreadable(f"Cannot access memory at address {err.address:#x}")


def read_value(obj: Object, name: str | None = None) -> Value:
    """The value of ``obj`` as a tree.  A read that fails makes that part
    Unreadable (a scalar, a whole array of scalars, a char string)."""
    target: Target = obj.prog_            # type: ignore[assignment]
    t = obj.type_.strip_typedefs()
    v = Value(name, obj.type_.display_name(), _kind(t), address=obj.address_,
              size=t.size or 8)
    try:
        if t.kind in (Kind.STRUCT, Kind.UNION):
            v.members = _members(obj, t)
        elif t.kind is Kind.ARRAY:
            _array(target, obj, t, v)
        else:
            _scalar(target, obj, t, v)
    except MemoryError_ as err:
        v.value, v.members = unreadable(err), None
    return v


def _kind(t: Type) -> str:
    if t.kind is Kind.INT:
        if t.encoding == "bool":
            return "bool"
        return "char" if t.encoding == "char" and t.size == 1 else "int"
    return {Kind.STRUCT: "struct", Kind.UNION: "union", Kind.ARRAY: "array",
            Kind.POINTER: "pointer", Kind.ENUM: "enum", Kind.FLOAT: "float",
            Kind.FUNCTION: "function"}.get(t.kind, t.kind.value)


def _members(obj: Object, t: Type) -> list[Value]:
    out = []
    assert obj.address_ is not None
    for m in t.members or ():
        if m.name is None:          # an anonymous struct or union: its members inline
            out.append(read_value(Object(obj.prog_, m.type, obj.address_ + m.bit_offset // 8)))
        else:
            out.append(read_value(obj.member_(m.name), m.name))
    return out


def _array(target: Target, obj: Object, t: Type, v: Value) -> None:
    elem = t.target.strip_typedefs()
    chars = elem.kind is Kind.INT and elem.size == 1
    v.length = t.length
    if t.length is None:            # a flexible array: its address (and string)
        v.value = obj.address_
        if chars and obj.address_ is not None:
            v.symbol = target.describe_address(obj.address_)
            v.string = target.space.read_cstring(obj.address_, FLEXIBLE_STRING_LIMIT)
        return
    if chars:
        v.value = obj.read_()
        return
    count = min(t.length, ELEMENT_LIMIT)
    if elem.kind in (Kind.STRUCT, Kind.UNION, Kind.ARRAY):
        v.members = [read_value(obj[i]) for i in range(count)]
    else:
        # a scalar array is read as a whole: one element that fails fails it all
        elements = []
        for i in range(count):
            e = Value(None, elem.display_name(), _kind(elem), size=elem.size or 8)
            _scalar(target, obj[i], elem, e)
            elements.append(e)
        v.members = elements


def _scalar(target: Target, obj: Object, t: Type, v: Value) -> None:
    if t.kind is Kind.FUNCTION:
        v.value = obj.address_ or 0
        v.symbol = target.describe_address(v.value)
        return
    value = obj.value_()
    v.value = value
    if t.kind is Kind.POINTER:
        v.symbol = target.describe_address(value) if value else None
        pointee = t.target.strip_typedefs()
        if pointee.kind is Kind.INT and pointee.size == 1 and value:
            try:
                v.string = target.space.read_cstring(value, ELEMENT_LIMIT)
            except MemoryError_ as err:
                v.string = unreadable(err)
    elif t.kind is Kind.ENUM:
        v.enumerator = next((n for n, e in t.enumerators or () if e == value), None)


def member_of(obj: Object, path: str) -> Object:
    """The member at a dotted path (``se.on_rq``) of an object."""
    for part in path.split("."):
        obj = obj.member_(part)
    return obj


def read_struct(target: Target, t: Type, address: int, members: list[str] | None = None, *,
                header: str | None = None) -> StructContents:
    """The structure of type ``t`` at ``address``: whole, or only the ``members``
    (dotted paths; each Value named by its path).  ``header``: how the whole
    structure is introduced (default: its struct/union declaration)."""
    obj = Object(target, t, address)
    if members:
        return StructContents(address, None, [read_value(member_of(obj, p), p) for p in members])
    whole = read_value(obj)
    return StructContents(address, header or declaration(t.strip_typedefs(), ""),
                          whole.members or [], whole=True)
