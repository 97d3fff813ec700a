"""Loaded kernel modules: the ``modules`` list, their memory and their symbols.

Module symbols come from the dump itself: each ``struct module`` keeps the
symbol table the kernel's own kallsyms uses (``mod->kallsyms``: an ``Elf64_Sym``
array, its string table and, since 4.x, a table of nm type letters).  Struct
layouts come from the symbol file's types; the module's extent is
``core_layout`` (<= 6.3) or ``mem[]`` (6.4+, text base ``mem[MOD_TEXT]``, size
the sum of the core regions as crash counts it).

``kernelsymbols.KernelSymbols`` puts the module symbols behind the vmlinux symbol
table: ``resolve`` of an address no vmlinux symbol covers looks in the
modules, so every command that names addresses (bt, sym, dis, rd -s) names
module code too.  The module list is read on first need.
"""
from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple
from collections.abc import Iterator

from ...caveats import caveat
from ...errors import MemoryError_, NoSuchType

if TYPE_CHECKING:
    from ...objects import Object
    from .kernel import LinuxTarget

#: lowest address of module space on x86_64 (MODULES_VADDR with a 1 GiB kernel image;
#: 0xffffffffa0000000 with a 512 MiB one): below it no address is module code
MODULE_SPACE_START = 0xFFFFFFFFA0000000
_ELF64_SYM = struct.Struct("<IBBHQQ")
SHN_UNDEF = 0
_MAX_SYMBOLS = 1 << 20


class ModuleSymbol(NamedTuple):
    """A symbol of a loaded module (same first fields as ``symtab.Symbol``)."""
    name: str
    address: int
    size: int
    type_char: str
    module: str


@dataclass
class Module:
    address: int                 # of the struct module
    name: str
    base: int                    # start of the core text (crash's BASE / TEXT_BASE)
    size: int                    # core size
    regions: list[tuple[int, int]] = field(default_factory=list)   # [start, end) of its memory
    symbols: list[ModuleSymbol] = field(default_factory=list)
    #: (address of orc_unwind_ip, address of orc_unwind, count)
    orc: tuple[int, int, int] | None = None

    def contains(self, address: int) -> bool:
        return any(lo <= address < hi for lo, hi in self.regions)


@dataclass
class ModuleEntry:
    """A line of ``mod``: the struct module, its name, where its core text starts
    (BASE / TEXT_BASE), its core size, how many kallsyms symbols it has."""
    module: int
    name: str
    base: int
    size: int
    symbols: int
    #: the object file loaded for it (mod -s/-S), None when none is
    object_file: str | None = None


def module_entry(m: Module, object_file: str | None = None) -> ModuleEntry:
    return ModuleEntry(m.address, m.name, m.base, m.size, len(m.symbols), object_file)


class ModuleTable:
    """All loaded modules and their symbols, by name and by address.  ``problems``
    says what of the list could not be read; ``unreadable`` why the list itself
    could not be (the table is then empty)."""

    def __init__(self, modules: list[Module], problems: list[str] | None = None,
                 unreadable: str | None = None) -> None:
        self.modules = sorted(modules, key=lambda m: m.base)
        self.problems = problems or []
        self.unreadable = unreadable
        syms = [s for m in self.modules for s in m.symbols]
        # among equal addresses the preferred symbol sorts last: text, global, sized
        syms.sort(key=lambda s: (s.address, s.type_char in "tT", s.type_char.isupper(),
                                 bool(s.size)))
        self._sorted = syms
        self._addresses = [s.address for s in syms]
        self._by_name: dict[str, ModuleSymbol] = {}
        for s in syms:
            self._by_name.setdefault(s.name, s)
        regions = sorted((lo, hi, m) for m in self.modules for lo, hi in m.regions)
        self._regions = regions
        self._region_starts = [r[0] for r in regions]

    def __len__(self) -> int:
        return len(self.modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.modules)

    def module_at(self, address: int) -> Module | None:
        i = bisect.bisect_right(self._region_starts, address) - 1
        if i >= 0 and address < self._regions[i][1]:
            return self._regions[i][2]
        return None

    def get(self, name: str) -> ModuleSymbol | None:
        return self._by_name.get(name)

    def symbols(self) -> list[ModuleSymbol]:
        return list(self._sorted)

    def next_address(self, address: int) -> int | None:
        """The first module symbol address above ``address``, in its module."""
        mod = self.module_at(address)
        i = bisect.bisect_right(self._addresses, address)
        if mod is None or i >= len(self._addresses) or not mod.contains(self._addresses[i]):
            return None
        return self._addresses[i]

    def resolve(self, address: int) -> tuple[ModuleSymbol, int] | None:
        """The nearest module symbol at or below ``address``, in the same module."""
        mod = self.module_at(address)
        if mod is None:
            return None
        i = bisect.bisect_right(self._addresses, address) - 1
        while i >= 0:
            sym = self._sorted[i]
            if sym.module == mod.name and mod.contains(sym.address):
                return sym, address - sym.address
            if sym.address < mod.base and not mod.contains(sym.address):
                break
            i -= 1
        return None


def has_memory_layout(target: LinuxTarget) -> bool:
    """Whether modules keep per-type memory (``mem[]``, 6.4+: crash's TEXT_BASE) rather
    than ``core_layout``."""
    return not target.type("struct module").has_member("core_layout")


# -- reading the module list -------------------------------------------------------------------
def _list_entries(target: LinuxTarget, head: int, problems: list[str], limit: int = 4096
                  ) -> Iterator[int]:
    """Addresses of the ``list_head`` nodes on a circular list (not the head); a
    list that breaks or does not close ends there, with a problem said."""
    node = target.space.read_u64(head)
    seen = 0
    while node != head:
        yield node
        seen += 1
        if seen > limit:
            problems.append(f"the module list at {head:x} has more than {limit} entries: "
                            "the rest left out")
            return
        try:
            node = target.space.read_u64(node)
        except MemoryError_ as err:
            problems.append(f"the module list breaks after {seen} modules ({err}): the rest "
                            "left out")
            return


def _module_extent(target: LinuxTarget, mod: Object) -> tuple[int, int, list[tuple[int, int]]]:
    """(base, size, regions) of a module, for either layout."""
    mtype = mod.type_.strip_typedefs()
    if mtype.has_member("core_layout"):
        core = mod.core_layout
        base, size = int(core.base), int(core.size)
        regions = [(base, base + size)] if size else []
        init = mod.init_layout
        ibase, isize = int(init.base), int(init.size)
        if ibase and isize:
            regions.append((ibase, ibase + isize))
        return base, size, regions
    # 6.4+: struct module_memory mem[MOD_MEM_NUM_TYPES]; MOD_TEXT = 0, core regions
    # before MOD_INIT_TEXT
    mem = mod.mem
    n = mem.type_.strip_typedefs().length or 0
    init_text = _enum_value(target, "MOD_INIT_TEXT", 4)
    regions, size = [], 0
    for t in range(n):
        m = mem[t]
        b, s = int(m.base), int(m.size)
        if b and s:
            regions.append((b, b + s))
        if t < init_text:
            size += s
    return int(mem[0].base), size, regions


def _enum_value(target: LinuxTarget, name: str, default: int) -> int:
    """An enumerator of ``enum mod_mem_type``; the kernel's value where the types
    lack the enum (it has not changed since 6.4 brought it)."""
    try:
        t = target.type("enum mod_mem_type")
    except NoSuchType:
        return default           # types without the enum: its value has not changed
    for e_name, e_value in t.strip_typedefs().enumerators or []:
        if e_name == name:
            return int(e_value)
    return default


def _module_symbols(target: LinuxTarget, mod: Object, name: str, regions: list[tuple[int, int]],
                    problems: list[str]) -> list[ModuleSymbol]:
    """The module's kallsyms: ``mod->kallsyms`` (symtab, strtab, typetab)."""
    ks = mod.kallsyms
    if not int(ks):
        return []                    # a module without symbols (stripped, or being loaded)
    ks = ks.deref_()
    n = int(ks.num_symtab)
    if n <= 0:
        return []
    if n > _MAX_SYMBOLS:
        problems.append(f"module {name}: implausible num_symtab {n}: no symbols read")
        return []
    symtab, strtab = int(ks.symtab), int(ks.strtab)
    # the nm type letters have their own table since 5.x; before, st_info says
    typetab = int(ks.typetab) if ks.type_.has_member("typetab") else 0
    if target.cache.get("option no_kallsyms"):
        typetab = 0         # --no_kallsyms: crash's letters from st_info alone
    raw = bytes(target.space.read(symtab, n * _ELF64_SYM.size))
    types = bytes(target.space.read(typetab, n)) if typetab else b""
    entries = list(_ELF64_SYM.iter_unpack(raw))
    # the string table ends after the last name: read up to the furthest name + 256
    top = max((e[0] for e in entries), default=0) + 256
    strings = _read_upto(target, strtab, top)

    def inside(addr: int) -> bool:
        return any(lo <= addr < hi for lo, hi in regions)

    out = []
    nameless = 0
    for i, (name_off, info, _other, shndx, value, size) in enumerate(entries):
        if shndx == SHN_UNDEF or not name_off or not inside(value):
            continue
        if name_off >= len(strings):
            nameless += 1
            continue
        end = strings.find(b"\0", name_off)
        sym_name = strings[name_off:end if end >= 0 else None].decode("utf-8", "replace")
        if not sym_name:
            continue
        letter = _letter(types[i] if i < len(types) else 0, info)
        out.append(ModuleSymbol(sym_name, value, size, letter, name))
    if nameless:
        problems.append(f"module {name}: {nameless} symbol names unreadable: those symbols "
                        "left out")
    return out


def _letter(typed: int, info: int) -> str:
    """crash's letter of a module symbol: before the type table (5.x), the kernel's
    letter in st_info (without the table, --no_kallsyms: t/T for a function, else ?);
    with it, ``t``/``T`` for a function by its binding, ``?`` for a
    local symbol of no type (a ``.LC`` label), else the table's letter in the binding's case."""
    if not typed:
        if 32 < info < 127:
            return chr(info)        # before 5.x the kernel kept its letter in st_info
        return {0x02: "t", 0x12: "T"}.get(info, "?")
    letter, kind, bind = chr(typed) if 32 < typed < 127 else "?", info & 0xF, info >> 4
    if kind == 0 and bind == 0:
        return "?"
    if bind == 1:
        return letter.upper()
    return letter.lower() if bind == 0 else letter


def _read_upto(target: LinuxTarget, address: int, size: int) -> bytes:
    """As much of [address, address + size) as is readable, page by page (the size
    is a guess past the table's end: the pages after it may well not be there; the
    caller counts the names that fell short)."""
    out = bytearray()
    addr = address
    while addr < address + size:
        chunk = min(4096 - (addr & 0xFFF), address + size - addr)
        try:
            out += target.space.read(addr, chunk)
        except MemoryError_:
            break                # past the table's end: the caller counts short names
        addr += chunk
    return bytes(out)


def read_modules(target: LinuxTarget, base_symbols: Any) -> ModuleTable:
    """Walk ``modules`` and read every module's extent, symbols and ORC tables."""
    head = base_symbols.get("modules")
    if head is None:
        return ModuleTable([])       # a kernel built without CONFIG_MODULES
    mtype = target.type("struct module")
    list_off = mtype.offsetof("list")
    # ORC tables of modules: x86 kernels with CONFIG_UNWINDER_ORC only
    arch_t = mtype.member("arch")[1].type if mtype.has_member("arch") else None
    has_orc = arch_t is not None and arch_t.has_member("num_orcs")
    out = []
    problems: list[str] = []
    for node in _list_entries(target, head.address, problems):
        mod = target.object_at(mtype, node - list_off)
        try:
            name = mod.name.string_().decode("utf-8", "replace")
            base, size, regions = _module_extent(target, mod)
        except MemoryError_ as err:
            problems.append(f"module at {mod.address_:x} unreadable ({err}): left out")
            continue
        m = Module(mod.at_, name, base, size, regions)
        try:
            m.symbols = _module_symbols(target, mod, name, regions, problems)
        except MemoryError_ as err:
            problems.append(f"module {name}: symbols unreadable ({err}): none shown")
        if has_orc:
            try:
                n = int(mod.arch.num_orcs)
                if 0 < n < _MAX_SYMBOLS:
                    m.orc = (int(mod.arch.orc_unwind_ip), int(mod.arch.orc_unwind), n)
            except MemoryError_ as err:
                problems.append(f"module {name}: ORC table unreadable ({err}): its frames "
                                "unwound without it")
        out.append(m)
    for problem in problems:
        caveat(problem)
    return ModuleTable(out, problems)
