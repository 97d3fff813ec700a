"""The kernel's symbol table with the loaded modules' symbols behind it.

:class:`KernelSymbols` puts the module symbols behind the vmlinux symbol table:
``resolve`` of an address no vmlinux symbol covers looks in the modules
(``modules.py`` reads them), so every command that names addresses (bt, sym, dis,
rd -s) names module code too.  The module list is read on first need.
"""
from __future__ import annotations

from typing import Any
from collections.abc import Callable, Iterator

from ...caveats import caveat
from ...errors import NoSuchSymbol, XcrashError
from .modules import MODULE_SPACE_START, ModuleSymbol, ModuleTable


class KernelSymbols:
    """The kernel's symbol table (a relocated ``SymbolTable``) with the loaded
    modules' symbols consulted where the vmlinux has none.

    Everything else is the vmlinux table's (attributes are passed through).
    ``load`` reads the module list; it is called on first need and a failure
    leaves an empty module table.
    """

    def __init__(self, base: Any, load: Callable[[], ModuleTable]) -> None:
        self._base = base
        self._load = load
        self._modules: ModuleTable | None = None
        self._loading = False
        self.disabled = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)

    @property
    def base(self) -> Any:
        return self._base

    def reread(self) -> None:
        """Forget the module list: the next look-up reads it again (mod -R)."""
        if not self.disabled:
            self._modules = None

    def disable_modules(self) -> None:
        """--no_modules: no module list, no module symbols."""
        self.disabled = True
        self._modules = ModuleTable([])

    @property
    def modules(self) -> ModuleTable:
        if self._modules is None:
            if self._loading:
                # a lookup made while reading the list: no module is known yet
                return ModuleTable([])
            self._loading = True
            try:
                self._modules = self._load()
            except XcrashError as err:
                caveat(f"the module list is unreadable ({err}): no module symbols")
                self._modules = ModuleTable([], unreadable=str(err))
            finally:
                self._loading = False
        return self._modules

    def resolve(self, address: int) -> tuple[Any, int] | None:
        hit = self._base.resolve(address)
        if address >= MODULE_SPACE_START and (hit is None or not self._base_covers(hit, address)):
            mod_hit = self.modules.resolve(address)
            if mod_hit is not None:
                return mod_hit
        return hit

    @staticmethod
    def _base_covers(hit: tuple[Any, int], address: int) -> bool:
        sym, off = hit
        return bool(sym.size) and off < sym.size

    def module_symbol(self, name: str) -> ModuleSymbol | None:
        return self.modules.get(name)

    def lookup_static(self, name: str) -> Any:
        try:
            return self._base.lookup_static(name)
        except NoSuchSymbol:
            sym = self.modules.get(name)
            if sym is None:
                raise
            return sym

    def __iter__(self) -> Iterator[Any]:
        yield from self._base
        yield from self.modules.symbols()

    def __len__(self) -> int:
        return len(self._base)

    def __contains__(self, name: str) -> bool:
        return name in self._base
