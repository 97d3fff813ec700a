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

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..caveats import Unreadable
from ..errors import MemoryError_
from ..objects import Object
from ..symbols.types import Kind, Type, declaration
from .gdbnames import gdb_symbol

if TYPE_CHECKING:
    from ..memory.space import AddressSpace
    from .base import Target

@dataclass
class PrintOptions:
    """gdb's print settings that crash's ``set`` changes (``print_max``, ``null-stop``):
    how many array elements and string characters are read and shown (crash sets 256),
    and whether a char array ends at its first NUL.  One per process, as gdb's."""
    print_max: int = 256
    null_stop: bool = False


PRINT = PrintOptions()
#: crash's default ``print elements``: array elements and string characters shown
ELEMENT_LIMIT = 256
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
    #: a struct's or union's members, an array's elements (the first ``print_max``)
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
    #: ``struct -p``: what each pointer member points at (targets/derefs.py), by name
    derefs: dict[str, Any] = field(default_factory=dict)


def unreadable(err: MemoryError_, address: int | None = None) -> Unreadable:
    """gdb's error for a value it could not read: at the value's own (virtual)
    address when known, else where the read failed."""
    from ..memory.userspace import InvalidUserAddress
    if isinstance(err, InvalidUserAddress):
        return Unreadable(str(err))
    where = address if address is not None else err.address
    return Unreadable(f"Cannot access memory at address {where:#x}")


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
        v.value, v.members = unreadable(err, obj.address_), None
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
    if not t.length:                # a flexible (or [0]) array: its address (and string)
        v.value = obj.address_
        if chars and obj.address_ is not None:
            v.symbol = gdb_symbol(target, obj.address_)
            v.string = target.space.read_cstring(obj.address_, FLEXIBLE_STRING_LIMIT)
        return
    if chars:
        v.value = obj.read_()
        return
    count = min(t.length, PRINT.print_max)
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
        v.symbol = gdb_symbol(target, v.value)
        return
    value = obj.value_()
    v.value = value
    if t.kind is Kind.POINTER:
        v.symbol = gdb_symbol(target, value) if value else None
        pointee = t.target.strip_typedefs()
        if pointee.kind is Kind.INT and pointee.size == 1 and value:
            try:
                v.string = target.space.read_cstring(value, PRINT.print_max + 1)
            except MemoryError_ as err:
                v.string = unreadable(err, value)
    elif t.kind is Kind.ENUM:
        v.enumerator = next((n for n, e in t.enumerators or () if e == value), None)


def member_of(obj: Object, path: str) -> Object:
    """The member at a dotted path (``se.on_rq``, ``cpus_mask.bits[0]``) of an object."""
    for part in path.split("."):
        name, _, indexes = part.partition("[")
        obj = obj.member_(name)
        for index in re.findall(r"(\d+)\]", indexes):
            obj = obj[int(index)]
    return obj


class _Viewed:
    """A target read through another space (a user or dump-file address: ``struct -u``,
    ``-f``): its symbols and types, that space's bytes."""

    def __init__(self, target: Target, space: AddressSpace) -> None:
        self._target = target
        self.space = space

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def object(self, name: str, type: Type | str | None = None) -> Object:
        return Object(self, type if type is not None else self._target.variable_type(name),
                      self._target.address_of(name))

    def object_at(self, type: Type | str, address: int) -> Object:
        return Object(self, type, address)


def read_struct(target: Target, t: Type, address: int, members: list[str] | None = None, *,
                header: str | None = None, space: AddressSpace | None = None
                ) -> StructContents:
    """The structure of type ``t`` at ``address``: whole, or only the ``members``
    (dotted paths; each Value named by its path).  ``header``: how the whole
    structure is introduced (default: its struct/union declaration).  ``space``: read
    there instead of the target's kernel space."""
    if space is not None and space is not target.space:
        target = _Viewed(target, space)     # type: ignore[assignment]  # a Target's view
    obj = Object(target, t, address)
    if members:
        return StructContents(address, None, [read_value(member_of(obj, p), p) for p in members])
    whole = read_value(obj)
    return StructContents(address, header or declaration(t.strip_typedefs(), ""),
                          whole.members or [], whole=True)


@dataclass
class FastMember:
    """A member as crash's ``list -S``/``tree -S`` read it straight from memory: its
    value (1 to 8 bytes, unsigned), a pointer's, a string's (a char array's or what a
    ``char *`` points at), the text symbol a value falls in; ``value`` None for a
    member wider than 8 bytes, shown gdb-style (``shown``)."""
    name: str
    width: int
    value: int | Unreadable | None
    pointer: bool = False
    string: bytes | None = None
    text_symbol: str | None = None
    shown: Value | None = None
    address: int = 0


def read_fast(target: Target, t: Type, address: int, members: list[str]) -> list[FastMember]:
    """crash's dump_struct_members_fast: each member read raw when 8 bytes or less."""
    obj = Object(target, t, address)
    out = []
    for path in members:
        m = member_of(obj, path)
        mt = m.type_.strip_typedefs()
        width = m.type_.byte_size
        is_ptr = mt.kind is Kind.POINTER
        chars = _is_chars(mt)
        at = m.address_ or 0
        if width > 8 and not chars:
            out.append(FastMember(path, width, None, shown=read_value(m, path), address=at))
            continue
        f = FastMember(path, width, None, pointer=is_ptr, address=at)
        try:
            if width <= 8:
                f.value = int.from_bytes(target.space.read(at, width), "little")
            if chars and is_ptr and isinstance(f.value, int):
                f.string = target.space.read_cstring(f.value, 1499)
            elif chars and not is_ptr:
                raw = target.space.read(at, width)
                f.string = raw.split(b"\0", 1)[0]
        except MemoryError_ as err:
            f.value = unreadable(err, at)
        if isinstance(f.value, int) and not chars:
            f.text_symbol = _text_symbol(target, f.value)
        out.append(f)
    return out


def _is_chars(t: Type) -> bool:
    """crash's is_string: a char array or a char pointer."""
    inner = t.target.strip_typedefs() if t.kind in (Kind.ARRAY, Kind.POINTER) else None
    return inner is not None and inner.kind is Kind.INT and inner.size == 1 \
        and inner.encoding == "char"


def _text_symbol(target: Target, value: int) -> str | None:
    symbols = target.symbols
    if symbols is None or not value:
        return None
    hit = symbols.resolve(value)
    if hit is None or hit[0].type_char not in "tT":
        return None
    return str(hit[0].name)
