"""DWARF type DIEs turned into :class:`Type` objects, one DIE at a time.

A type is built when first asked for and cached by DIE offset; members,
pointer targets and typedef targets are read only when followed.  Names are
found through the index of :mod:`.dwarfindex`.
"""
from __future__ import annotations

import functools
from typing import Any
from collections.abc import Callable

from .dwarf import Die, DwarfFile
from .dwarfforms import (AT_bit_offset, AT_bit_size, AT_byte_size, AT_const_value, AT_count,
                         AT_data_bit_offset, AT_data_member_location, AT_declaration,
                         AT_encoding, AT_location, AT_name, AT_specification,
                         AT_type, AT_upper_bound, TAG_array_type, TAG_atomic_type,
                         TAG_base_type, TAG_class_type, TAG_const_type,
                         TAG_enumeration_type, TAG_enumerator, TAG_formal_parameter,
                         TAG_member, TAG_pointer_type, TAG_reference_type,
                         TAG_restrict_type, TAG_structure_type, TAG_subprogram,
                         TAG_subrange_type, TAG_subroutine_type, TAG_typedef,
                         TAG_union_type, TAG_unspecified_parameters,
                         TAG_unspecified_type, TAG_variable, TAG_volatile_type, uleb)
from .dwarfsearch import DwarfSearch
from .types import VOID, Kind, Member, Parameter, Type

_QUALIFIER = {TAG_const_type: "const", TAG_volatile_type: "volatile",
              TAG_restrict_type: "restrict", TAG_atomic_type: None}
_AGGREGATE = {TAG_structure_type: Kind.STRUCT, TAG_class_type: Kind.STRUCT,
              TAG_union_type: Kind.UNION}
_PREFIX = {TAG_structure_type: "struct ", TAG_class_type: "struct ", TAG_union_type: "union ",
           TAG_enumeration_type: "enum "}
# DW_ATE_*: boolean, complex float, float, signed, signed char, unsigned, unsigned char, UTF
_ENCODING = {0x02: ("bool", False), 0x05: ("int", True), 0x06: ("char", True),
             0x07: ("int", False), 0x08: ("char", False), 0x10: ("char", False)}
_FLOATS = (0x03, 0x04)
_MAX_DEPTH = 200
DW_OP_plus_uconst, DW_OP_constu = 0x23, 0x10


class DwarfTypes:
    """Types, variable types and function types of one file's DWARF.

    ``index(build)`` gives the name index (see :mod:`.dwarfindex`): with
    ``build`` false only if it costs nothing to build (it is in the on-disk
    cache).  ``complete`` may name another source for the definition of a
    struct, union or enum that a unit only declares (the BTF of the same file).
    """

    def __init__(self, dw: DwarfFile, index: Callable[[bool], dict[str, Any] | None],
                 complete: Callable[[str], Type | None] | None = None) -> None:
        self.dw = dw
        self._search = DwarfSearch(dw)
        self._index_loader = index
        self._complete = complete
        self._cache: dict[int, Type] = {}
        self._variables: dict[str, Type | None] = {}
        self._depth = 0

    @functools.cached_property
    def index(self) -> dict[str, dict[str, int]]:
        index = self._index_loader(True)
        assert index is not None
        return index

    def _index_if_cached(self) -> dict[str, dict[str, int]] | None:
        if "index" not in self.__dict__:
            cached = self._index_loader(False)
            if cached is None:
                return None
            self.__dict__["index"] = cached
        return self.index

    @property
    def types(self) -> dict[str, int]:
        return self.index["types"]

    @property
    def vars(self) -> dict[str, int]:
        return self.index["vars"]

    @property
    def funcs(self) -> dict[str, int]:
        return self.index["funcs"]

    def variants(self, key: str) -> list[tuple[Type, int]]:
        """Every definition of a struct, union or enum name defined with several sizes,
        with the offset of the last unit that has it; [] for a name with one."""
        variants: Any = self.index.get("variants", {})
        return [(self.type_at(die), last) for die, _size, last in variants.get(key, ())]

    # -- by name or address ---------------------------------------------------
    def find(self, key: str) -> Type | None:
        """A type by ``struct x`` / ``union x`` / ``enum x`` / plain name."""
        off = self.types.get(key)
        return None if off is None else self.type_at(off)

    def variable_type(self, name: str, address: int | None = None) -> Type | None:
        """A global (or function-static) variable's type: the variable of that
        name at ``address`` if given, else the first of that name.

        The name index answers if it is at hand; else the DWARF bytes are
        searched, so that no index has to be built (it is, when a search gives up).
        """
        if name in self._variables:
            return self._variables[name]
        die: Die | None = None
        index = self._index_if_cached()
        if index is not None and name in index["vars"]:
            die = self.dw.die(index["vars"][name])
            location = die.get(AT_location)
            if address is not None and isinstance(location, bytes) \
                    and location != b"\x03" + address.to_bytes(8, "little"):
                die = None                  # another variable of that name
        if die is None and address is not None:
            found = self._search.variable_at(address)
            if found is not None and self._name(found) == name.split(".")[0]:
                die = found
        if die is None:
            named = self._search.named(name, TAG_variable)
            if named is False:
                off = self.vars.get(name)
                named = None if off is None else self.dw.die(off)
            die = named if isinstance(named, Die) else None
        t = self._variables[name] = None if die is None else self._variable_type(die)
        return t

    def _name(self, die: Die) -> str | None:
        if AT_name not in die.attrs and AT_specification in die.attrs:
            die = self.dw.die(die.attrs[AT_specification])
        name = die.get(AT_name)
        return None if name is None else str(name)

    def _variable_type(self, die: Die) -> Type | None:
        for _ in range(8):
            if AT_type in die.attrs or AT_specification not in die.attrs:
                break
            die = self.dw.die(die.attrs[AT_specification])
        return self._ref(die.get(AT_type))

    def function_type(self, name: str) -> Type | None:
        off = self.funcs.get(name)
        return None if off is None else self.type_at(off)

    def names(self) -> list[str]:
        return list(self.types)

    # -- by DIE ---------------------------------------------------------------
    def type_at(self, offset: int) -> Type:
        t = self._cache.get(offset)
        if t is None:
            if self._depth > _MAX_DEPTH:
                raise self.dw.bad(f"types nested too deeply at {offset:#x}")
            self._depth += 1
            try:
                t = self._cache[offset] = self._build(self.dw.die(offset))
            finally:
                self._depth -= 1
        return t

    def _ref(self, offset: int | None) -> Type:
        return VOID if offset is None else self.type_at(offset)

    def _lazy(self, offset: int | None) -> Type | Callable[[], Type]:
        if offset is None:
            return VOID
        if offset in self._cache:
            return self._cache[offset]
        return lambda: self.type_at(offset)

    def _build(self, die: Die) -> Type:
        tag, attrs = die.tag, die.attrs
        name = attrs.get(AT_name)
        if tag == TAG_base_type:
            encoding = attrs.get(AT_encoding, 0x05)
            if encoding in _FLOATS:
                return Type(Kind.FLOAT, name, attrs.get(AT_byte_size))
            enc, signed = _ENCODING.get(encoding, ("int", False))
            return Type(Kind.INT, name, attrs.get(AT_byte_size), signed=signed, encoding=enc)
        if tag in (TAG_pointer_type, TAG_reference_type):
            return Type(Kind.POINTER, None, attrs.get(AT_byte_size, 8),
                        target=self._lazy(attrs.get(AT_type)))
        if tag == TAG_typedef:
            return Type(Kind.TYPEDEF, name, target=self._lazy(attrs.get(AT_type)))
        if tag in _QUALIFIER:
            return self._qualified(die)
        if tag in _AGGREGATE or tag == TAG_enumeration_type:
            if attrs.get(AT_declaration) and name:
                return self._definition(_PREFIX[tag] + name) or Type(
                    _AGGREGATE.get(tag, Kind.ENUM), name, None, members=None)
            if tag == TAG_enumeration_type:
                return self._enum(die, name)
            return Type(_AGGREGATE[tag], name, attrs.get(AT_byte_size, 0),
                        members=lambda: self._members(die))
        if tag == TAG_array_type:
            return self._array(die)
        if tag in (TAG_subroutine_type, TAG_subprogram):
            return self._function(die)
        if tag == TAG_unspecified_type:
            return VOID
        raise self.dw.bad(f"DIE at {die.offset:#x} (tag {tag:#x}) is not a type")

    def _definition(self, key: str) -> Type | None:
        """The complete type named ``key`` (``struct x``), if there is one."""
        if self._complete is not None:
            found = self._complete(key)
            if found is not None and found.is_complete():
                return found
        full = self.types.get(key)
        if full is None or self.dw.die(full).get(AT_declaration):
            return None
        return self.type_at(full)

    def _qualified(self, die: Die) -> Type:
        quals: set[str] = set()
        for _ in range(16):
            q = _QUALIFIER.get(die.tag, "")
            if q == "":
                break
            if q:
                quals.add(q)
            target = die.attrs.get(AT_type)
            if target is None:
                return VOID.qualified(frozenset(quals))
            die = self.dw.die(target)
        else:
            raise self.dw.bad(f"qualifier chain too long at {die.offset:#x}")
        return self.type_at(die.offset).qualified(frozenset(quals))

    def _members(self, die: Die) -> list[Member]:
        members = []
        for child in self.dw.children(die):
            if child.tag != TAG_member:
                continue
            a = child.attrs
            bit_size = a.get(AT_bit_size, 0)
            location = _location(a.get(AT_data_member_location, 0))
            if AT_data_bit_offset in a:
                bit_offset = a[AT_data_bit_offset]
            elif AT_bit_offset in a:            # DWARF 2/3: counted from the storage unit's MSB
                storage = a.get(AT_byte_size)
                if storage is None:
                    storage = self._ref(a.get(AT_type)).byte_size
                bit_offset = location * 8 + storage * 8 - a[AT_bit_offset] - bit_size
            else:
                bit_offset = location * 8
            members.append(Member(a.get(AT_name), self._lazy(a.get(AT_type)), bit_offset,
                                  bit_size))
        return members

    def _enum(self, die: Die, name: str | None) -> Type:
        size = die.attrs.get(AT_byte_size, 4)
        underlying = die.attrs.get(AT_type)
        values = [(c.attrs.get(AT_name, ""), c.attrs.get(AT_const_value, 0))
                  for c in self.dw.children(die) if c.tag == TAG_enumerator]
        if underlying is not None:
            signed = self._ref(underlying).strip_typedefs().signed
        else:
            signed = any(v < 0 for _n, v in values)
        if signed:
            top = 1 << (8 * size)
            values = [(n, v - top if v >= top >> 1 else v) for n, v in values]
        return Type(Kind.ENUM, name, size, signed=signed, enumerators=values)

    def _array(self, die: Die) -> Type:
        lengths: list[int | None] = []
        for child in self.dw.children(die):
            if child.tag != TAG_subrange_type:
                continue
            count = child.attrs.get(AT_count)
            upper = child.attrs.get(AT_upper_bound)
            if isinstance(count, int):
                lengths.append(count)
            elif isinstance(upper, int):
                lengths.append(0 if upper < 0 or upper == (1 << 64) - 1 else upper + 1)
            else:
                lengths.append(None)
        t: Type | Callable[[], Type] = self._lazy(die.attrs.get(AT_type))
        for length in reversed(lengths or [None]):
            t = Type(Kind.ARRAY, None, target=t, length=length)
        assert isinstance(t, Type)
        return t

    def _function(self, die: Die) -> Type:
        params, variadic = [], False
        for child in self.dw.children(die):
            if child.tag == TAG_formal_parameter:
                params.append(Parameter(child.attrs.get(AT_name),
                                        self._ref(child.attrs.get(AT_type))))
            elif child.tag == TAG_unspecified_parameters:
                variadic = True
        return Type(Kind.FUNCTION, None, target=self._lazy(die.attrs.get(AT_type)),
                    params=params, variadic=variadic)


def _location(value: Any) -> int:
    """A member offset given as a constant or as a DWARF 2 expression."""
    if isinstance(value, int):
        return value
    if isinstance(value, bytes) and value and value[0] in (DW_OP_plus_uconst, DW_OP_constu):
        return uleb(value, 1)[0]
    return 0
