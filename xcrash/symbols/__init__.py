"""Symbol files: ELF symbols, BTF and DWARF types, line tables, an on-disk cache.

    sf = open_symbol_file("vmlinux")          # or vmlinux.xz, xen-syms
    sf.symbols.lookup("init_task").address    # link-time address
    sf.symbols.relocated(kaslr).resolve(pc)   # (Symbol, offset)
    sf.types.find("struct task_struct").member("comm")
    sf.variable_type("jiffies"), sf.line_for_address(pc)
"""
from .elffile import AddressNotInFile
from .symbolfile import SymbolFile, open_symbol_file
from .symtab import Symbol, SymbolTable
from .typeindex import TypeIndex
from .types import VOID, Kind, Member, Parameter, Type, declaration

__all__ = ["AddressNotInFile", "Kind", "Member", "Parameter", "Symbol", "SymbolFile",
           "SymbolTable", "Type", "TypeIndex", "VOID", "declaration", "open_symbol_file"]
