"""BTF: the kernel's compact type format, parsed whole, turned into Types lazily.

:func:`parse_btf` reads every type record of a ``.BTF`` blob into tuples of
ints (kept in the on-disk cache; names stay offsets into the blob's string
section) plus name indexes.  :class:`BtfTypes` builds a :class:`Type` for a
type id on first use; members, pointer targets and typedef targets are built
only when followed.  Damage anywhere is :class:`BadSymbolFile`.
"""
from __future__ import annotations

import struct
from typing import Any

from ..errors import BadSymbolFile
from .types import VOID, Kind, Member, Parameter, Type

BTF_MAGIC = 0xEB9F
(INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC,
 FUNC_PROTO, VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG, ENUM64) = range(1, 20)

_HEADER = struct.Struct("<HBBIIIII")
_TYPE = struct.Struct("<III")
_MODIFIERS = {VOLATILE: "volatile", CONST: "const", RESTRICT: "restrict", TYPE_TAG: None}
# record layouts after (kind, name_off): see parse_btf
_ONE_REF = (PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, TYPE_TAG)
# 32-bit words that follow the common record: fixed, and per item (member, value, param)
_FIXED_WORDS = {INT: 1, ARRAY: 3, VAR: 1, DECL_TAG: 1}
_ITEM_WORDS = {STRUCT: 3, UNION: 3, ENUM: 2, ENUM64: 3, FUNC_PROTO: 2, DATASEC: 3}
_TAG_PREFIX = {STRUCT: "struct ", UNION: "union ", ENUM: "enum ", ENUM64: "enum "}
_MAX_DEPTH = 200


def parse_btf(blob: bytes | memoryview, path: str, base: BtfTypes | None = None
              ) -> dict[str, Any]:
    """Every record of a BTF blob, and name -> type id indexes.

    ``base``: the blob is split BTF on top of it (a module's on the kernel's): its
    type ids go on from the base's last, its string offsets from the end of the
    base's strings, and a name offset below that is the base's.

    Records are tuples indexed by type id (0 is void, stored as None):

    - INT ``(kind, name, size, bits)``; FLOAT ``(kind, name, size)``
    - FWD ``(kind, name, kflag)``
    - PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, TYPE_TAG ``(kind, name, type, vlen)``
    - ARRAY ``(kind, name, element type, nelems)``; VAR ``(kind, name, type, linkage)``
    - STRUCT, UNION ``(kind, name, size, kflag, (name, type, offset, ...))``
    - ENUM ``(kind, name, size, kflag, (name, value, ...))``, ENUM64 likewise with 64-bit values
    - FUNC_PROTO ``(kind, name, return type, (name, type, ...))``
    - DATASEC ``(kind, name, size, (type, offset, size, ...))``
    - DECL_TAG ``(kind, name, type, component index)``
    """
    blob = bytes(blob)
    if len(blob) < _HEADER.size:
        raise BadSymbolFile(path, "BTF: blob shorter than its header")
    magic, version, _flags, hdr_len, type_off, type_len, str_off, str_len = \
        _HEADER.unpack_from(blob)
    if magic != BTF_MAGIC:
        raise BadSymbolFile(path, f"BTF: bad magic {magic:#06x}")
    if version != 1:
        raise BadSymbolFile(path, f"BTF: unknown version {version}")
    types_start, strings_start = hdr_len + type_off, hdr_len + str_off
    types_end, strings_end = types_start + type_len, strings_start + str_len
    if hdr_len < _HEADER.size or types_end > len(blob) or strings_end > len(blob):
        raise BadSymbolFile(path, "BTF: sections lie beyond the end of the blob")
    strings = blob[strings_start:strings_end]
    first_id = base.next_id if base is not None else 1
    str_start = base.strings_size if base is not None else 0

    def name(off: int) -> str:
        if off < str_start and base is not None:
            return base.name_at(off) or ""
        off -= str_start
        if off >= len(strings):
            raise BadSymbolFile(path, f"BTF: name offset {off:#x} beyond the string section")
        end = strings.find(b"\0", off)
        return strings[off:end if end >= 0 else len(strings)].decode("utf-8", "replace")

    records: list[tuple[Any, ...] | None] = [None]
    tags: dict[str, int] = {}          # "struct x", "union x", "enum x" -> id
    fwds: dict[str, int] = {}
    plain: dict[str, int] = {}         # typedef, int and float names -> id
    funcs: dict[str, int] = {}
    variables: dict[str, int] = {}
    pos = types_start
    unpack = struct.unpack_from
    while pos < types_end:
        if pos + _TYPE.size > types_end:
            raise BadSymbolFile(path, "BTF: type section ends inside a record")
        name_off, info, size_or_type = _TYPE.unpack_from(blob, pos)
        pos += _TYPE.size
        kind, vlen, kflag = (info >> 24) & 0x1F, info & 0xFFFF, info >> 31
        tid = first_id + len(records) - 1
        words = _FIXED_WORDS.get(kind, 0) + vlen * _ITEM_WORDS.get(kind, 0)
        if pos + 4 * words > types_end:
            raise BadSymbolFile(path, f"BTF: type {tid} runs past the type section")
        if kind == INT:
            rec: tuple[Any, ...] = (kind, name_off, size_or_type, unpack("<I", blob, pos)[0])
        elif kind in _ONE_REF:
            rec = (kind, name_off, size_or_type, vlen)
        elif kind == ARRAY:
            elem, _index, nelems = unpack("<III", blob, pos)
            rec = (kind, name_off, elem, nelems)
        elif kind in (STRUCT, UNION):
            rec = (kind, name_off, size_or_type, kflag, unpack(f"<{3 * vlen}I", blob, pos))
        elif kind == ENUM:
            rec = (kind, name_off, size_or_type, kflag, unpack(f"<{2 * vlen}I", blob, pos))
        elif kind == ENUM64:
            raw = unpack(f"<{3 * vlen}I", blob, pos)
            flat: list[int] = []
            for i in range(0, len(raw), 3):
                flat += (raw[i], raw[i + 1] | raw[i + 2] << 32)
            rec = (kind, name_off, size_or_type, kflag, tuple(flat))
        elif kind == FUNC_PROTO:
            rec = (kind, name_off, size_or_type, unpack(f"<{2 * vlen}I", blob, pos))
        elif kind in (VAR, DECL_TAG):
            rec = (kind, name_off, size_or_type, unpack("<I", blob, pos)[0])
        elif kind == DATASEC:
            rec = (kind, name_off, size_or_type, unpack(f"<{3 * vlen}I", blob, pos))
        elif kind == FLOAT:
            rec = (kind, name_off, size_or_type)
        elif kind == FWD:
            rec = (kind, name_off, kflag)
        else:
            raise BadSymbolFile(path, f"BTF: type {tid} has unknown kind {kind}")
        pos += 4 * words
        records.append(rec)
        if not name_off:
            continue
        if kind in _TAG_PREFIX:
            tags.setdefault(_TAG_PREFIX[kind] + name(name_off), tid)
        elif kind == FWD:
            fwds.setdefault(("union " if kflag else "struct ") + name(name_off), tid)
        elif kind in (TYPEDEF, INT, FLOAT):
            plain.setdefault(name(name_off), tid)
        elif kind == FUNC:
            funcs.setdefault(name(name_off), tid)
        elif kind == VAR:
            variables.setdefault(name(name_off), tid)
    for key, tid in fwds.items():
        tags.setdefault(key, tid)
    return {"records": records, "strings": (strings_start, strings_end), "tags": tags,
            "plain": plain, "funcs": funcs, "vars": variables, "first_id": first_id,
            "str_start": str_start}


class BtfTypes:
    """Types built on demand from parsed BTF records.  Split BTF (``base``: what it is
    split from) answers its own ids and names; those below its first are the base's,
    built by the base."""

    def __init__(self, parsed: dict[str, Any], blob: bytes | memoryview, path: str,
                 base: BtfTypes | None = None) -> None:
        start, end = parsed["strings"]
        self._base = base
        #: the first type id and string offset of this blob (1 and 0 but for split BTF)
        self._first: int = parsed.get("first_id", 1)
        self._str_start: int = parsed.get("str_start", 0)
        self._strings = bytes(blob[start:end])
        self._records: list[tuple[Any, ...] | None] = parsed["records"]
        self.tags: dict[str, int] = parsed["tags"]
        self.plain: dict[str, int] = parsed["plain"]
        self.funcs: dict[str, int] = parsed["funcs"]
        self.vars: dict[str, int] = parsed["vars"]
        self._path = path
        self._cache: dict[int, Type] = {0: VOID}
        self._acyclic: set[int] = {0}
        self._depth = 0

    # -- public -------------------------------------------------------------
    @property
    def next_id(self) -> int:
        """The first type id of BTF split from this one."""
        return self._first + len(self._records) - 1

    @property
    def strings_size(self) -> int:
        """The first string offset of BTF split from this one."""
        return self._str_start + len(self._strings)

    def name_at(self, off: int) -> str | None:
        """The name at a string offset (None for offset 0)."""
        return self._name(off)

    def find(self, key: str) -> Type | None:
        """A type by ``struct x`` / ``union x`` / ``enum x`` / plain name."""
        tid = self.tags.get(key) if key.startswith(("struct ", "union ", "enum ")) \
            else self.plain.get(key)
        return None if tid is None else self.type(tid)

    def variable_type(self, name: str) -> Type | None:
        tid = self.vars.get(name)
        return None if tid is None else self.type(self._record(tid)[2])

    def function_type(self, name: str) -> Type | None:
        tid = self.funcs.get(name)
        return None if tid is None else self.type(self._record(tid)[2])

    def names(self) -> list[str]:
        return list(self.tags) + list(self.plain)

    def anonymous_struct(self, members: tuple[str, ...]) -> Type | None:
        """The unnamed struct whose members are exactly ``members``, in order (the
        type of a variable declared ``static struct { ... } name``), or None."""
        for i, rec in enumerate(self._records):
            if rec is None or rec[0] != STRUCT or rec[1] or len(rec[4]) != 3 * len(members):
                continue
            if tuple(self._name(rec[4][i]) for i in range(0, len(rec[4]), 3)) == members:
                return self.type(self._first + i - 1)
        return None

    def enumerator(self, name: str) -> tuple[Type, int] | None:
        """The enum that has an enumerator called ``name``, and its value (the first
        such enum), or None."""
        for tid, rec in enumerate(self._records):
            if rec is None or rec[0] not in (ENUM, ENUM64):
                continue
            flat = rec[4]
            for i in range(0, len(flat), 2):
                if self._name(flat[i]) == name:
                    t = self.type(tid)
                    return t, next(v for n, v in t.enumerators or () if n == name)
        return None

    def type(self, tid: int) -> Type:
        t = self._cache.get(tid)
        if t is None and self._base is not None and tid < self._first:
            return self._base.type(tid)
        if t is None:
            self._check_acyclic(tid)
            if self._depth > _MAX_DEPTH:
                raise self._bad(f"types nested too deeply at type {tid}")
            self._depth += 1
            try:
                t = self._cache[tid] = self._build(tid)
            finally:
                self._depth -= 1
        return t

    # -- building -------------------------------------------------------------
    def _bad(self, problem: str) -> BadSymbolFile:
        return BadSymbolFile(self._path, f"BTF: {problem}")

    def _record(self, tid: int) -> tuple[Any, ...]:
        if self._base is not None and tid < self._first:
            return self._base._record(tid)
        i = tid - self._first + 1
        if not 0 < i < len(self._records):
            raise self._bad(f"type id {tid} out of range")
        rec = self._records[i]
        assert rec is not None
        return rec

    def _name(self, off: int) -> str | None:
        if not off:
            return None
        if self._base is not None and off < self._str_start:
            return self._base._name(off)
        off -= self._str_start
        if off >= len(self._strings):
            raise self._bad(f"name offset {off:#x} beyond the string section")
        end = self._strings.find(b"\0", off)
        return self._strings[off:end if end >= 0 else len(self._strings)].decode("utf-8", "replace")

    def _lazy(self, tid: int) -> Any:
        if tid in self._cache:
            return self._cache[tid]
        return lambda: self.type(tid)

    def _check_acyclic(self, tid: int) -> None:
        """Refuse a reference cycle that does not pass through a named struct,
        union or enum (C cannot express one; rendering it would never end)."""
        done = self._acyclic
        if tid in done or tid < self._first:
            return          # checked, or the base's (which checks its own)
        on_path: set[int] = set()
        stack: list[tuple[int, list[int]]] = [(tid, self._edges(tid))]
        on_path.add(tid)
        while stack:
            node, pending = stack[-1]
            if not pending:
                stack.pop()
                on_path.discard(node)
                done.add(node)
                continue
            nxt = pending.pop()
            if nxt in done or nxt < self._first:
                continue
            if nxt in on_path:
                raise self._bad(f"type {nxt} refers to itself")
            on_path.add(nxt)
            stack.append((nxt, self._edges(nxt)))

    def _edges(self, tid: int) -> list[int]:
        rec = self._record(tid)
        kind = rec[0]
        if kind in _ONE_REF or kind in (ARRAY, VAR):
            return [rec[2]]
        if kind == FUNC_PROTO:
            return [rec[2], *rec[3][1::2]]
        if kind in (STRUCT, UNION) and not rec[1]:
            return list(rec[4][1::3])
        return []

    def _build(self, tid: int) -> Type:
        rec = self._record(tid)
        kind, name = rec[0], self._name(rec[1])
        if kind == INT:
            bits = rec[3]
            encoding = (bits >> 24) & 0xF
            enc = "bool" if encoding & 4 else "char" if encoding & 2 or name in (
                "char", "signed char", "unsigned char") else "int"
            return Type(Kind.INT, name, rec[2], signed=bool(encoding & 1), encoding=enc)
        if kind == PTR:
            return Type(Kind.POINTER, None, 8, target=self._lazy(rec[2]))
        if kind == TYPEDEF:
            return Type(Kind.TYPEDEF, name, target=self._lazy(rec[2]))
        if kind in _MODIFIERS:
            quals: set[str] = set()
            while rec[0] in _MODIFIERS:
                qualifier = _MODIFIERS[rec[0]]
                if qualifier:
                    quals.add(qualifier)
                target = rec[2]
                if target == 0:
                    return VOID.qualified(frozenset(quals))
                rec = self._record(target)
            return self.type(target).qualified(frozenset(quals))
        if kind == ARRAY:
            return Type(Kind.ARRAY, None, target=self._lazy(rec[2]), length=rec[3] or None)
        if kind in (STRUCT, UNION):
            return Type(Kind.STRUCT if kind == STRUCT else Kind.UNION, name, rec[2],
                        members=lambda: self._members(rec))
        if kind in (ENUM, ENUM64):
            return self._enum(rec, name)
        if kind == FWD:
            key = ("union " if rec[2] else "struct ") + (name or "")
            full = self.tags.get(key)
            if (full is None or self._record(full)[0] == FWD) and self._base is not None:
                full = self._base.tags.get(key)         # a module's forward of a kernel type
            if full is not None and self._record(full)[0] != FWD:
                return self.type(full)
            return Type(Kind.UNION if rec[2] else Kind.STRUCT, name, None, members=None)
        if kind == FUNC_PROTO:
            flat = rec[3]
            params, variadic = [], False
            for i in range(0, len(flat), 2):
                if flat[i] == 0 and flat[i + 1] == 0 and i == len(flat) - 2:
                    variadic = True
                else:
                    params.append(Parameter(self._name(flat[i]), self.type(flat[i + 1])))
            return Type(Kind.FUNCTION, None, target=self._lazy(rec[2]), params=params,
                        variadic=variadic)
        if kind in (FUNC, VAR):
            return self.type(rec[2])
        if kind == FLOAT:
            return Type(Kind.FLOAT, name, rec[2])
        raise self._bad(f"type {tid} ({name}) of kind {kind} is not a data type")

    def _enum(self, rec: tuple[Any, ...], name: str | None) -> Type:
        kind, size, signed, flat = rec[0], rec[2], bool(rec[3]), rec[4]
        bits = 64 if kind == ENUM64 else 32
        values = []
        for i in range(0, len(flat), 2):
            v = flat[i + 1]
            if signed and v >> (bits - 1):
                v -= 1 << bits
            values.append((self._name(flat[i]) or "", v))
        return Type(Kind.ENUM, name, size, signed=signed, enumerators=values)

    def _members(self, rec: tuple[Any, ...]) -> list[Member]:
        kflag, flat = rec[3], rec[4]
        members = []
        for i in range(0, len(flat), 3):
            name_off, tid, offset = flat[i], flat[i + 1], flat[i + 2]
            if kflag:
                bit_offset, bit_size = offset & 0xFFFFFF, offset >> 24
            else:
                bit_offset, bit_size = offset, 0
                target = self._record(tid) if tid else None
                if target is not None and target[0] == INT:
                    nbits, int_offset = target[3] & 0xFF, (target[3] >> 16) & 0xFF
                    if nbits != target[2] * 8:
                        bit_offset, bit_size = bit_offset + int_offset, nbits
            members.append(Member(self._name(name_off), self._lazy(tid), bit_offset, bit_size))
        return members
