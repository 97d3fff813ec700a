"""Modules' debug files (crash's ``mod -s``/``-S``): a loaded module's ``.ko``
linked where the kernel put its sections, so its types, variables and source
lines serve every command as the vmlinux's do.

Where the sections lie: ``mod->sect_attrs`` (what /sys/module/NAME/sections shows:
each section's name and address; the address is a member beside the
``bin_attribute`` before 6.14, the attribute's ``private`` after), else, for the
sections it does not give, the module's kallsyms symbols matched with the file's.
The file must agree with memory: a function the file places elsewhere than the
module's kallsyms do makes it another build, refused.

Where the files are looked for (``find_module_file``): the directory given
(``mod -S DIR``, ``--mod DIR``), else the debug package layout
``/usr/lib/debug/lib/modules/RELEASE`` and ``/lib/modules/RELEASE`` under each root
of ``XCRASH_DEBUG_PATH`` and ``/``, then the directory of the vmlinux; a file with
DWARF is preferred to one without.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, cast
from collections.abc import Iterator

from ...errors import BadSymbolFile, MemoryError_, NoSuchType
from ...symbols.finder import roots
from ...symbols.gdbsym import gdb_lookup
from ...symbols.kofile import module_symbol_file
from ...symbols.types import Type
from ..base import Target

if TYPE_CHECKING:
    from ...symbols.symbolfile import SymbolFile
    from .kernel import LinuxTarget
    from .modules import Module

_KEY = "modules' debug files"
_SUFFIXES = (".ko", ".ko.debug", ".ko.xz", ".o")
#: at most this many entries of a directory tree are looked at in one search
_MAX_WALK = 200_000


@dataclass
class ModuleDebug:
    """A module's object file, loaded: its path as found, and its linked symbol file."""
    name: str
    path: str
    symfile: SymbolFile
    sections: dict[str, int]
    with_sections: bool = False          # mod -g: its sections listed by sym -m


def loaded(target: LinuxTarget) -> dict[str, ModuleDebug]:
    """The modules whose object files are loaded, by module name."""
    table: dict[str, ModuleDebug] = target.cache.setdefault(_KEY, {})
    return table


def _changed(target: LinuxTarget) -> None:
    """Types found (or not) before a load or unload are asked again."""
    target.cache.pop("types with the modules'", None)


def unload(target: LinuxTarget, name: str | None = None) -> None:
    """Forget one module's object file (every module's with ``name`` None)."""
    table = loaded(target)
    if name is None:
        table.clear()
    else:
        table.pop(name, None)
    _changed(target)


def load(target: LinuxTarget, module: Module, path: str,
         with_sections: bool = False) -> ModuleDebug:
    """Link ``path`` where ``module`` lies and keep it; BadSymbolFile when it is not a
    module's object file or not this module's build."""
    sections = section_addresses(target, module)
    guessed = _sections_from_symbols(path, module, sections)
    sections.update({k: v for k, v in guessed.items() if k not in sections})
    if ".text" not in sections:
        raise BadSymbolFile(path, f"where module {module.name}'s sections lie is unknown (no "
                                  "readable sect_attrs, no function in common with its kallsyms)")
    symfile = module_symbol_file(path, sections)
    _check_build(symfile, module, path)
    entry = ModuleDebug(module.name, path, symfile, sections, with_sections)
    loaded(target)[module.name] = entry
    _changed(target)
    return entry


# -- where the sections lie -------------------------------------------------------------------
def section_addresses(target: LinuxTarget, module: Module) -> dict[str, int]:
    """Section name -> load address, from ``mod->sect_attrs`` (empty when unreadable)."""
    try:
        mod = target.object_at("struct module", module.address)
        if not mod.type_.strip_typedefs().has_member("sect_attrs"):
            return {}
        attrs = mod.sect_attrs
        if not int(attrs):
            return {}
        return dict(_sect_attrs(target, attrs.deref_()))
    except (MemoryError_, NoSuchType, AttributeError):
        return {}       # no sysfs section list (CONFIG_KALLSYMS off, or unreadable): symbols say


def _sect_attrs(target: LinuxTarget, attrs: Any) -> Iterator[tuple[str, int]]:
    t = attrs.type_.strip_typedefs()
    if t.has_member("nsections"):
        n = int(attrs.nsections)
        if not 0 < n < 4096:
            return
        arr = attrs.attrs
        for i in range(n):
            a = arr[i]
            at = a.type_.strip_typedefs()
            if at.has_member("address"):
                name_ptr = int(a.battr.attr.name) if at.has_member("battr") else int(a.name)
                yield _string(target, name_ptr), int(a.address)
            else:
                yield _string(target, int(a.attr.name)), int(a.private)
        return
    # 6.14+: the group's NULL-terminated bin_attrs, the address in ->private
    grp = attrs.grp
    ptrs = int(grp.bin_attrs) if grp.type_.strip_typedefs().has_member("bin_attrs") else 0
    battr_t = target.type("struct bin_attribute")
    for i in range(4096):
        p = target.space.read_u64(ptrs + 8 * i) if ptrs else 0
        if not p:
            return
        a = target.object_at(battr_t, p)
        yield _string(target, int(a.attr.name)), int(a.private)


def _string(target: LinuxTarget, address: int) -> str:
    return target.space.read_cstring(address, 128).decode("utf-8", "replace")


def _sections_from_symbols(path: str, module: Module, known: dict[str, int]) -> dict[str, int]:
    """Section -> load address worked out from the module's kallsyms symbols found in
    the file (for the sections ``sect_attrs`` did not give)."""
    from ...symbols.elffile import ElfImage
    from ...symbols.kofile import section_symbols
    try:
        elf = ElfImage(path) if not path.endswith(".xz") else None
    except BadSymbolFile:
        return {}       # the link itself will say what is wrong with the file
    if elf is None:
        return {}       # an .xz copy: sect_attrs only (the file is unpacked when linked)
    by_name = {s.name: s.address for s in module.symbols}
    out: dict[str, int] = {}
    for name, section, value in section_symbols(elf):
        if section in known or section in out:
            continue
        address = by_name.get(name)
        if address is not None:
            out[section] = address - value
    return out


def _check_build(symfile: SymbolFile, module: Module, path: str) -> None:
    """Refuse another module's file (its .modinfo ``name=``), or a file whose functions
    lie elsewhere than the module's in memory (another build)."""
    info = symfile.section(".modinfo")
    names = [e[5:].decode("utf-8", "replace") for e in bytes(info or b"").split(b"\0")
             if e.startswith(b"name=")]
    if names and names[0] != module.name:
        raise BadSymbolFile(path, f"the object file of module {names[0]}, not of "
                                  f"{module.name}")
    mismatched = 0
    first = ("", 0, 0)
    for sym in module.symbols:
        if sym.type_char not in "tT" or sym.name.startswith("__pfx_"):
            continue
        mine = symfile.symbols.get(sym.name)
        if mine is None:
            continue
        if mine.address != sym.address:
            mismatched += 1
            if mismatched == 1:
                first = (sym.name, sym.address, mine.address)
    if mismatched:
        name, memory, file = first
        raise BadSymbolFile(path, f"not the build of module {module.name} loaded in the dump "
                                  f"({name} at {memory:x} in memory, {file:x} in the file)")


# -- finding the files --------------------------------------------------------------------------
def candidate_names(module: str) -> list[str]:
    names = [module + s for s in _SUFFIXES]
    if "_" in module:
        names += [module.replace("_", "-") + s for s in _SUFFIXES]
    return names


def search_dirs(release: str | None, mod_dir: str | None, vmlinux: str | None) -> list[str]:
    """The trees searched for modules' object files, in order."""
    if mod_dir:
        dirs = [mod_dir]
    else:
        dirs = []
        for root in roots():
            if release:
                dirs += [str(root / "usr/lib/debug/lib/modules" / release),
                         str(root / "lib/modules" / release)]
    if vmlinux:
        dirs.append(os.path.dirname(os.path.abspath(vmlinux)))
    return [d for d in dirs if os.path.isdir(d)]


def index_tree(directories: list[str]) -> dict[str, list[str]]:
    """File name -> paths, for every object-file-like name under the directories."""
    found: dict[str, list[str]] = {}
    seen = 0
    for top in directories:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for f in sorted(filenames):
                seen += 1
                if f.endswith(_SUFFIXES):
                    found.setdefault(f, []).append(os.path.join(dirpath, f))
            if seen > _MAX_WALK:
                return found
    return found


def find_module_file(module: str, index: dict[str, list[str]]) -> str | None:
    """The object file of ``module`` in an ``index_tree``: one with DWARF first."""
    paths = [p for n in candidate_names(module) for p in index.get(n, [])]
    for p in paths:
        if _has_dwarf(p):
            return p
    return paths[0] if paths else None


def _has_dwarf(path: str) -> bool:
    if path.endswith(".xz"):
        return True         # a compressed debug file is told by its link
    from ...symbols.elffile import ElfImage
    try:
        return ElfImage(path).section_by_name(".debug_info") is not None
    except BadSymbolFile:
        return False        # not an ELF file: another candidate is tried


# -- what the loaded files serve --------------------------------------------------------------
def debug_for(target: LinuxTarget, address: int) -> ModuleDebug | None:
    """The loaded object file of the module holding ``address``, if any."""
    table = loaded(target)
    if not table:
        return None
    mod = target.modules.module_at(address)
    return table.get(mod.name) if mod is not None else None


def line_for_address(target: LinuxTarget, address: int) -> tuple[str, int] | None:
    entry = debug_for(target, address)
    if entry is None:
        return None
    return entry.symfile.line_for_address(address)


def variable_type(target: LinuxTarget, name: str) -> Type | None:
    return next((t for entry in loaded(target).values()
                 if (t := entry.symfile.variable_type(name)) is not None), None)


def function_type(target: LinuxTarget, name: str) -> Type | None:
    return next((t for entry in loaded(target).values()
                 if (t := entry.symfile.function_type(name)) is not None), None)


def gdb_symbol(target: LinuxTarget, address: int) -> tuple[Any, int] | None:
    """(symbol, offset) as gdb names an address in a loaded module: the object file's
    symbols in the section holding it, else crash's pseudo-symbol at the start of the
    module's memory region (``_MODULE_RODATA_START_name``)."""
    entry = debug_for(target, address)
    if entry is None:
        return None
    for s in entry.symfile.elf.sections:
        if s.allocated and s.name in entry.sections and s.address <= address < s.end:
            hit = gdb_lookup(entry.symfile.symbols, address, s.address, s.end)
            if hit is not None:
                return hit
            break
    for start, end, label in regions(target, entry.name):
        if start <= address < end:
            return Pseudo(label, start, 0, "?", entry.name), address - start
    return None


class Pseudo(NamedTuple):
    """One of crash's pseudo-symbols (a module region's start)."""
    name: str
    address: int
    size: int
    type_char: str
    module: str


def regions(target: LinuxTarget, name: str) -> list[tuple[int, int, str]]:
    """[start, end) and crash's pseudo-symbol name of each memory region of a module:
    ``_MODULE_TEXT_START_name``, ... (6.4+), else one ``_MODULE_START_name``."""
    mod = next((m for m in target.modules if m.name == name), None)
    if mod is None:
        return []
    try:
        obj = target.object_at("struct module", mod.address)
        if not obj.type_.strip_typedefs().has_member("mem"):
            return [(mod.base, mod.base + mod.size, f"_MODULE_START_{name}")]
        mem = obj.mem
        n = mem.type_.strip_typedefs().length or 0
        kinds = _mem_kinds(target)
        out = []
        for t in range(n):
            base, size = int(mem[t].base), int(mem[t].size)
            if base and size:
                out.append((base, base + size, f"_MODULE_{kinds.get(t, str(t))}_START_{name}"))
        return out
    except (MemoryError_, NoSuchType, AttributeError):
        return []       # the regions unreadable: no pseudo-symbol names the address


def _mem_kinds(target: LinuxTarget) -> dict[int, str]:
    try:
        t = target.type("enum mod_mem_type")
    except NoSuchType:
        return dict(enumerate(("TEXT", "DATA", "RODATA", "RO_AFTER_INIT", "INIT_TEXT",
                               "INIT_DATA", "INIT_RODATA")))   # 6.4's, unchanged since
    return {int(v): str(k).removeprefix("MOD_") for k, v in t.strip_typedefs().enumerators or []}


class ModuleDebugInfo(Target):
    """What a Linux target takes from its modules' loaded object files (a base of
    ``LinuxTarget``): prototypes, source lines and gdb's names in module code."""

    def function_type(self, name: str) -> Type | None:
        """The prototype of a function: the symbol file's, else a loaded module
        object file's (``mod -s``)."""
        t = super().function_type(name)
        if t is None and self.cache.get(_KEY):
            t = function_type(cast("LinuxTarget", self), name)
        return t

    def module_line(self, address: int) -> tuple[str, int] | None:
        """(source path, line) of an address in a module whose object file is loaded
        (``mod -s``), else None."""
        if not self.cache.get(_KEY):
            return None
        return line_for_address(cast("LinuxTarget", self), address)

    def module_debug_symbol(self, address: int) -> tuple[Any, int] | None:
        """gdb's name for an address in a module whose object file is loaded (its
        minimal symbols, then crash's region pseudo-symbols), else None."""
        if not self.cache.get(_KEY):
            return None
        return gdb_symbol(cast("LinuxTarget", self), address)

    def source_line(self, address: int) -> tuple[str, int] | None:
        hit = self.module_line(address)
        if hit is not None:
            return hit
        return super().source_line(address)


class ModuleTypes:
    """The loaded object files' DWARF types, as one type source."""

    def __init__(self, target: LinuxTarget) -> None:
        self._target = target

    def find(self, key: str) -> Type | None:
        for entry in loaded(self._target).values():
            dwarf = entry.symfile.dwarf
            t = dwarf.find(key) if dwarf is not None else None
            if t is not None:
                return t
        return None

    def names(self) -> list[str]:
        return []

