"""What a command talks to: one kernel or hypervisor inside the dump.

A :class:`Target` joins an address space, a symbol table (relocated to where
the image ran) and types.  The Linux and Xen targets add their knowledge on
top; this base only offers what every target has.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from collections.abc import Callable

from .. import trace
from ..errors import NoSuchSymbol, NoSuchType, XcrashError
from ..objects import Object, pointer_to
from ..symbols.types import Kind, Type

#: a word that is a 64-bit address (16 hex digits, 0x optional), never a symbol's name
_ADDRESS_WORD = re.compile(r"(0x)?[0-9a-fA-F]{16}")

if TYPE_CHECKING:
    from ..memory.space import AddressSpace, Translation


@dataclass
class Cpu:
    """Registers of one CPU (or vCPU) as the dump saved them."""
    index: int
    regs: dict[str, int]
    #: where the registers came from: "NT_PRSTATUS", "Xen crash note", "vcpu context"
    source: str = ""


class NoSymbols(XcrashError):
    def __init__(self, target: str) -> None:
        super().__init__(f"{target}: no symbol file serves this target")


class Target:
    """Base of the Linux and Xen targets."""

    kind = "?"            # "linux" | "xen"

    def __init__(self, name: str, space: AddressSpace, phys_space: AddressSpace,
                 symfile: Any = None, symbols: Any = None) -> None:
        self.name = name
        self.space = space                 # virtual (kernel/hypervisor) addresses
        self.phys_space = phys_space       # this target's physical addresses
        self.symfile = symfile
        self.symbols = symbols             # SymbolTable, relocated to run-time addresses
        self._pointer_types: dict[int, Type] = {}
        self._offsets: dict[tuple[str, str], int] = {}
        #: facts derived once per target by helpers (see :func:`cached_per_target`)
        self.cache: dict[str, Any] = {}

    # -- symbols and types ------------------------------------------------------
    @property
    def types(self) -> Any:
        if self.symfile is None:
            raise NoSymbols(self.name)
        return self.symfile.types

    def symbol(self, name: str) -> Any:
        if self.symbols is None:
            raise NoSymbols(self.name)
        if _ADDRESS_WORD.fullmatch(name):
            # a 64-bit address (list, struct, p are given one where a name could stand):
            # no symbol is spelled so, and asking the modules would read all their symbols
            raise NoSuchSymbol(name)
        sym = self.symbols.get(name)
        if sym is None and hasattr(self.symbols, "lookup_static"):
            sym = self.symbols.lookup_static(name)
        if sym is None:
            raise NoSuchSymbol(name)
        if trace._active is not None:
            trace.record("symbol", f"{name} = {sym.address:#x}", name=name, address=sym.address)
        return sym

    def address_of(self, name: str) -> int:
        return self.symbol(name).address

    def describe_address(self, addr: int) -> str | None:
        """``symbol+offset`` for an address inside a symbol, else None."""
        if self.symbols is None:
            return None
        hit = self.symbols.resolve(addr)
        if hit is None:
            return None
        sym, off = hit
        # a module's kallsyms symbol reaches the next one, as crash counts it
        if off >= (sym.size or 0x1000) and not getattr(sym, "module", None):
            return None
        # per-CPU symbols are offsets, not addresses: 0 is no "fixed_percpu_data"
        if hasattr(self.symbols, "in_percpu_section") and self.symbols.in_percpu_section(sym):
            return None
        from ..symbols.symtab import display_name
        name = display_name(sym.name)
        return f"{name}+{off}" if off else name

    def source_line(self, address: int) -> tuple[str, int] | None:
        """(file name, line) of a run-time address, or None.  Always the file's name:
        crash (through gdb) prints the whole path when the source file exists on the
        machine reading the dump, which would make the output depend on that machine."""
        if self.symfile is None or not hasattr(self.symfile, "line_for_address"):
            return None     # a symbol file without line tables (BTF, a stripped ELF)
        link = (address - getattr(self.symbols, "delta", 0)) & 0xFFFFFFFFFFFFFFFF
        hit = self.symfile.line_for_address(link)
        return (hit[0].rsplit("/", 1)[-1], hit[1]) if hit else None

    def symbol_offset(self, addr: int) -> str | None:
        """``symbol+offset`` of the nearest symbol at or below an address, however far
        (crash's naming of a function pointer in its listings), else None."""
        hit = self.symbols.resolve(addr) if self.symbols is not None else None
        if hit is None:
            return None
        return f"{hit[0].name}+{hit[1]}" if hit[1] else str(hit[0].name)

    def type(self, name: str) -> Type:
        t = self.types.find(name)
        if trace._active is not None:
            trace.record("type", f"{name} (size {t.byte_size})", name=name)
        return t

    def offsetof(self, type_name: str, path: str) -> int:
        """C's ``offsetof(struct x, a.b)`` in this target's types, in bytes (worked out
        once: helpers ask in their loops; explain mode records each lookup)."""
        if trace._active is not None:
            return self.type(type_name).offsetof(path)
        key = (type_name, path)
        offset = self._offsets.get(key)
        if offset is None:
            offset = self._offsets[key] = self.type(type_name).offsetof(path)
        return offset

    def pointer_type(self, target: Type) -> Type:
        t = self._pointer_types.get(id(target))
        if t is None:
            t = self._pointer_types[id(target)] = pointer_to(target)
        return t

    def variable_type(self, name: str) -> Type:
        """The declared type of a global variable (DWARF, or BTF per-CPU vars)."""
        t = self.symfile.variable_type(name) if self.symfile is not None else None
        if t is None:
            raise NoSuchType(f"type of variable {name}")
        return t

    def function_type(self, name: str) -> Type | None:
        """The prototype of the function ``name`` (None when no symbol file has it)."""
        return self.symfile.function_type(name) if self.symfile is not None else None

    def object(self, name: str, type: Type | str | None = None) -> Object:
        """The global variable ``name`` as a typed object."""
        addr = self.address_of(name)
        if type is None:
            type = self.variable_type(name)
        return Object(self, type, addr)

    def object_at(self, type: Type | str, address: int) -> Object:
        return Object(self, type, address)

    # -- memory -------------------------------------------------------------------
    def read(self, addr: int, size: int) -> bytes:
        return self.space.read(addr, size)

    def translate(self, addr: int) -> Translation:
        return self.space.explain(addr)

    # -- descriptions for commands -------------------------------------------------
    @property
    def cpus(self) -> list[Cpu]:
        return []

    def summary(self) -> dict[str, Any]:
        """Key facts for `sys` and `target`: release, machine, cpus, memory, ..."""
        return {}


T = TypeVar("T", bound="Target")
R = TypeVar("R")


def cached_per_target(fn: Callable[[T], R]) -> Callable[[T], R]:
    """A helper of one argument, the target, computed once per target and kept in
    ``target.cache`` (errors are not kept: the next call tries again)."""
    key = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def once(target: T) -> R:
        try:
            return target.cache[key]
        except KeyError:
            value = target.cache[key] = fn(target)
            return value
    return once


def is_char_array(t: Type) -> bool:
    s = t.strip_typedefs()
    return (s.kind is Kind.ARRAY and s.target.strip_typedefs().kind is Kind.INT
            and s.target.strip_typedefs().size == 1)
