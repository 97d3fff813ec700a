"""Typed values: a type joined to an address space, read lazily.

    task = target.object("init_task")
    task.comm.string_()             # b'swapper/0'
    task.tasks.next                 # Object of type struct list_head *
    for t in list_for_each_entry("struct task_struct", task.tasks.address_, "tasks"):
        print(t.pid.value_())

Names that end in ``_`` are the object's own methods (as in drgn), so that any
struct member name can be reached as an attribute.  A member of a pointer to
a struct is reached through the pointer, as C's ``->`` does.
"""
from __future__ import annotations

import struct
from typing import Any, Protocol
from collections.abc import Iterable, Iterator

from . import trace
from .errors import NoSuchMember, XcrashError
from .memory.space import AddressSpace
from .symbols.types import Kind, Type

_FLOAT = {4: struct.Struct("<f"), 8: struct.Struct("<d")}
_CODES = {1: "b", 2: "h", 4: "i", 8: "q"}


class TypeSource(Protocol):
    def find(self, name: str) -> Type: ...


class Program(Protocol):
    """What an object needs of its target."""
    @property
    def space(self) -> AddressSpace: ...

    @property
    def types(self) -> TypeSource: ...

    def pointer_type(self, target: Type) -> Type: ...


class ObjectError(XcrashError):
    pass


def pointer_to(target: Type) -> Type:
    return Type(Kind.POINTER, None, 8, target=target)


class Object:
    """A value of a C type: in memory at ``address_``, or a computed value."""

    __slots__ = ("prog_", "type_", "address_", "_value", "_bit_offset", "_bit_size")

    def __init__(self, prog: Program, type: Type | str, address: int | None = None, *,
                 value: Any = None, bit_offset: int = 0, bit_size: int = 0) -> None:
        self.prog_ = prog
        self.type_: Type = _resolve(prog, type)
        self.address_ = None if address is None else address & 0xFFFFFFFFFFFFFFFF
        self._value = value
        self._bit_offset = bit_offset
        self._bit_size = bit_size
        if address is None and value is None:
            raise ObjectError("an object needs an address or a value")

    @property
    def at_(self) -> int:
        """The address of an object in memory: ``address_`` where there must be one (a
        global, a member, an element, what a pointer points at); a computed value
        (``address_`` None) raises ObjectError."""
        if self.address_ is None:
            raise ObjectError(f"{self.type_.display_name()} value is not in memory")
        return self.address_

    # -- raw access --------------------------------------------------------
    def read_(self) -> bytes:
        """The object's bytes."""
        if self.address_ is None:
            if isinstance(self._value, bytes):
                return self._value
            size = self.type_.byte_size
            return int(self._value).to_bytes(size, "little", signed=self._value < 0)
        return bytes(self.prog_.space.read(self.address_, self.type_.byte_size))

    def value_(self) -> Any:
        """The value as Python data: int, float, bool, bytes (char arrays),
        list (arrays) or dict (structs)."""
        t = self.type_.strip_typedefs()
        kind = t.kind
        if kind in (Kind.INT, Kind.ENUM, Kind.POINTER):
            if self.address_ is None and not isinstance(self._value, bytes):
                return self._value
            if self._bit_size and self.address_ is not None:    # bit fields live in memory
                nbytes = (self._bit_offset + self._bit_size + 7) // 8
                raw = int.from_bytes(self.prog_.space.read(self.address_, nbytes), "little")
                v = (raw >> self._bit_offset) & ((1 << self._bit_size) - 1)
                if t.signed and v >> (self._bit_size - 1):
                    v -= 1 << self._bit_size
            else:
                v = int.from_bytes(self.read_(), "little",
                                   signed=t.signed and kind is not Kind.POINTER)
            if kind is Kind.INT and t.encoding == "bool":
                return bool(v)
            return v
        if kind is Kind.FLOAT:
            return _FLOAT[t.byte_size].unpack(self.read_())[0]
        if kind is Kind.ARRAY:
            return [self[i].value_() for i in range(t.length or 0)]
        if kind in (Kind.STRUCT, Kind.UNION):
            return {m.name: self.member_(m.name).value_() for m in t.members or () if m.name}
        raise ObjectError(f"cannot take the value of {self.type_.display_name()}")

    def __int__(self) -> int:
        v = self.value_()
        if isinstance(v, (bool, int)):
            return int(v)
        raise ObjectError(f"{self.type_.display_name()} is not an integer")

    __index__ = __int__

    def __bool__(self) -> bool:
        return bool(int(self))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Object):
            other = int(other)
        if isinstance(other, int):
            return int(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.address_, int(self) if self.type_.is_integer() or self.type_.is_pointer() else 0))

    # -- navigation ---------------------------------------------------------
    def member_(self, name: str) -> Object:
        obj = self
        t = obj.type_.strip_typedefs()
        if t.kind is Kind.POINTER:
            obj = obj.deref_()
            t = obj.type_.strip_typedefs()
        if obj.address_ is None:
            raise ObjectError(f"member {name!r} of a value that is not in memory")
        bit_offset, member = t.member(name)
        if trace._active is not None:
            trace.record("member", f"{obj.type_.display_name()}.{name} at +{bit_offset // 8:#x}",
                         type=obj.type_.display_name(), member=name, offset=bit_offset // 8)
        if member.bit_size:
            return Object(obj.prog_, member.type, obj.address_ + bit_offset // 8,
                          bit_offset=bit_offset % 8, bit_size=member.bit_size)
        return Object(obj.prog_, member.type, obj.address_ + bit_offset // 8)

    def __getattr__(self, name: str) -> Object:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self.member_(name)
        except NoSuchMember as err:
            # only a missing member is a missing attribute (hasattr, getattr with a
            # default); a failed read stays the read error it is
            raise AttributeError(str(err)) from None

    def __getitem__(self, index: int) -> Object:
        t = self.type_.strip_typedefs()
        if t.kind is Kind.ARRAY:
            if self.address_ is None:
                raise ObjectError("element of an array that is not in memory")
            base = self.address_
        elif t.kind is Kind.POINTER:
            base = int(self)
        else:
            raise ObjectError(f"{self.type_.display_name()} is not an array or pointer")
        elem = t.target
        return Object(self.prog_, elem, base + index * max(elem.byte_size, 1))

    def deref_(self) -> Object:
        t = self.type_.strip_typedefs()
        if t.kind is not Kind.POINTER:
            raise ObjectError(f"{self.type_.display_name()} is not a pointer")
        return Object(self.prog_, t.target, int(self))

    def address_of_(self) -> Object:
        if self.address_ is None:
            raise ObjectError("the value is not in memory")
        return Object(self.prog_, self.prog_.pointer_type(self.type_), value=self.address_)

    def cast_(self, type_or_name: Type | str) -> Object:
        type = _resolve(self.prog_, type_or_name)
        target = type.strip_typedefs()
        if target.kind in (Kind.INT, Kind.POINTER, Kind.ENUM) and (
                self.type_.is_integer() or self.type_.is_pointer()):
            v = int(self) & ((1 << (8 * (target.size or 8))) - 1)
            if target.kind is not Kind.POINTER and target.signed and v >> (8 * (target.size or 8) - 1):
                v -= 1 << (8 * (target.size or 8))
            return Object(self.prog_, type, value=v)
        if self.address_ is None:
            raise ObjectError(f"cannot cast a value to {type.display_name()}")
        return Object(self.prog_, type, self.address_)

    def string_(self, limit: int = 4096) -> bytes:
        """A char array's bytes up to the first NUL, or the string a char * points to."""
        t = self.type_.strip_typedefs()
        if t.kind is Kind.ARRAY:
            raw = self.read_()
            nul = raw.find(b"\0")
            return raw if nul < 0 else raw[:nul]
        if t.kind is Kind.POINTER:
            return bytes(self.prog_.space.read_cstring(int(self), limit))
        raise ObjectError(f"{self.type_.display_name()} is not a string")

    def __repr__(self) -> str:
        where = f"at {self.address_:#x}" if self.address_ is not None else f"= {self._value!r}"
        return f"Object({self.type_.display_name()} {where})"


def _resolve(prog: Program, type: Type | str) -> Type:
    return prog.types.find(type) if isinstance(type, str) else type


def container_of(ptr: Object | int, prog: Program, type_or_name: Type | str,
                 member: str) -> Object:
    """The object of ``type`` whose ``member`` is at address ``ptr``."""
    type = _resolve(prog, type_or_name)
    offset, _, _ = type.member_path(member)
    return Object(prog, type, int(ptr) - offset // 8)


class Fields:
    """Chosen members of a struct type decoded in bulk: where each lies and how it
    decodes is worked out once, then each object costs a few reads (members close
    together share one) and one ``unpack_from`` per member.  For the loops that read
    the same members of thousands of objects (tasks, slabs, files).

        f = Fields(target, "struct task_struct", ("pid", "comm", "thread.sp", "mm"))
        pid, comm, sp, mm = f.read(address)

    A path is members joined by dots with array indexes (``rss_stat.count[1].counter``),
    without pointer hops.  Integers, enums and pointers (bit fields too) decode to
    int, anything else (a char array) to its bytes.  A read that fails raises the
    space's MemoryError_.
    """

    __slots__ = ("prog", "type", "paths", "_clusters", "_plan")

    #: members at most this far apart are read together
    GAP = 256

    def __init__(self, prog: Program, type_or_name: Type | str, paths: Iterable[str]) -> None:
        self.prog = prog
        self.type = _resolve(prog, type_or_name)
        self.paths = tuple(paths)
        spans = []
        for i, path in enumerate(self.paths):
            offset, mtype, bit_size = _field_path(self.type, path)
            size = (offset % 8 + bit_size + 7) // 8 if bit_size else mtype.byte_size
            spans.append((offset // 8, offset // 8 + max(size, 1), i, offset % 8, bit_size, mtype))
        clusters: list[list[int]] = []
        for start, end, *_ in sorted(spans):
            if clusters and start - clusters[-1][1] <= self.GAP:
                clusters[-1][1] = max(clusters[-1][1], end)
            else:
                clusters.append([start, end])
        self._clusters = tuple((lo, hi - lo) for lo, hi in clusters)
        plan: list[tuple[int, int, int, struct.Struct | None, int, int, bool]] = []
        for start, end, _, bit, bit_size, mtype in sorted(spans, key=lambda s: s[2]):
            c = next(n for n, (lo, size) in enumerate(self._clusters) if lo <= start < lo + size)
            t = mtype.strip_typedefs()
            scalar = t.kind in (Kind.INT, Kind.ENUM, Kind.POINTER)
            signed = scalar and t.signed and t.kind is not Kind.POINTER
            code = _CODES.get(end - start) if scalar and not bit_size else None
            unpacker = struct.Struct("<" + (code if signed else code.upper())) if code else None
            if not scalar:
                bit = bit_size = 0
            elif unpacker is None and not bit_size:     # an integer of an odd size
                bit_size = 8 * (end - start)
            plan.append((c, start - self._clusters[c][0], end - start, unpacker, bit, bit_size,
                         signed))
        self._plan = tuple(plan)

    def read(self, address: int) -> tuple[Any, ...]:
        if trace._active is not None:
            for path in self.paths:
                trace.record("member", f"{self.type.display_name()}.{path}",
                             type=self.type.display_name(), member=path)
        read = self.prog.space.read
        bufs = [read(address + lo, size) for lo, size in self._clusters]
        out: list[Any] = []
        for c, at, size, unpacker, bit, bit_size, signed in self._plan:
            buf = bufs[c]
            if unpacker is not None:
                out.append(unpacker.unpack_from(buf, at)[0])
            elif bit_size:
                v = int.from_bytes(buf[at:at + size], "little") >> bit & ((1 << bit_size) - 1)
                if signed and v >> (bit_size - 1):
                    v -= 1 << bit_size
                out.append(v)
            else:
                out.append(bytes(buf[at:at + size]))
        return tuple(out)


def _field_path(type: Type, path: str) -> tuple[int, Type, int]:
    """(bit offset, type, bit size) of a member path with array indexes."""
    offset = 0
    t = type
    bit_size = 0
    for part in path.split("."):
        name, _, index = part.partition("[")
        off, member = t.member(name)
        offset += off
        t = member.type
        bit_size = member.bit_size
        while index:
            n, _, index = index.partition("]")
            index = index.lstrip("[")
            arr = t.strip_typedefs()
            if arr.kind is not Kind.ARRAY:
                raise ObjectError(f"{path}: {name} is not an array")
            t = arr.target
            offset += int(n) * t.byte_size * 8
    return offset, t, bit_size


#: upper bound for any list walk: more entries than this is corruption
LIST_LIMIT = 1 << 22


class CorruptList(XcrashError):
    def __init__(self, head: int, at: int, why: str) -> None:
        super().__init__(f"list at {head:#x}: {why} at {at:#x}")
        self.head = head
        self.at = at


def list_for_each(prog: Program, head: int, limit: int = LIST_LIMIT) -> Iterator[int]:
    """Addresses of the ``struct list_head`` nodes of the list headed at ``head``.

    Bounded and cycle-checked: a loop that does not return to the head, a NULL
    ``next`` or more than ``limit`` nodes raise CorruptList after yielding the
    good nodes.
    """
    read = prog.space.read_u64
    seen: set[int] = set()
    node = read(head)
    while node != head:
        if node == 0:
            raise CorruptList(head, head if not seen else node, "NULL next pointer")
        if node in seen:
            raise CorruptList(head, node, "loop that does not return to the head")
        if len(seen) >= limit:
            raise CorruptList(head, node, f"more than {limit} entries")
        seen.add(node)
        yield node
        node = read(node)


def list_for_each_entry(prog: Program, type_or_name: Type | str, head: int, member: str,
                        limit: int = LIST_LIMIT) -> Iterator[Object]:
    type = _resolve(prog, type_or_name)
    offset = type.member_path(member)[0] // 8
    for node in list_for_each(prog, head, limit):
        yield Object(prog, type, node - offset)


def hlist_for_each(prog: Program, first: int, limit: int = LIST_LIMIT) -> Iterator[int]:
    """Node addresses of an hlist given its first node (``head->first``)."""
    read = prog.space.read_u64
    seen: set[int] = set()
    node = first
    while node:
        if node in seen or len(seen) >= limit:
            raise CorruptList(first, node, "loop or runaway hlist")
        seen.add(node)
        yield node
        node = read(node)

