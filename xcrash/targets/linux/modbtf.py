"""Loaded modules' types: each module's BTF, read from the kernel's memory.

A kernel built with CONFIG_DEBUG_INFO_BTF_MODULES gives every module a ``.BTF``
section of *split* BTF: its type ids go on from the kernel's last one, its string
offsets from the end of the kernel's strings, and its types refer to the kernel's
by their ids.  That section is not kept in module memory (``mod->btf_data`` is
cleared once the module is loaded) but the BPF subsystem keeps a copy: the
``btf_modules`` list (kernel/bpf/btf.c) holds a ``struct btf_module`` per module,
whose ``btf->data`` and ``btf->data_size`` are the blob.  A module still loading
has only ``mod->btf_data``.

:class:`ModuleTypes` is a type source (``symbols/typeindex.py``) over those blobs,
each parsed on top of the kernel's BTF; the Linux target consults it for the names
its own symbol file does not know, so ``struct``, ``whatis`` and casts reach a
module's types without its debug file.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...caveats import caveat
from ...errors import BadSymbolFile, MemoryError_, NoSuchMember, NoSuchType, XcrashError
from ...symbols.btf import BtfTypes, parse_btf
from ...symbols.types import Type

if TYPE_CHECKING:
    from .kernel import LinuxTarget

#: a module's BTF larger than this is not believed
MAX_BTF = 64 << 20


@dataclass(frozen=True)
class BtfBlob:
    """Where a module's split BTF lies in memory, and the first type id and string
    offset the kernel gave it (None where its struct btf does not say)."""
    module: str
    address: int
    size: int
    start_id: int | None = None
    start_str_off: int | None = None


def btf_blobs(target: LinuxTarget) -> Iterator[BtfBlob]:
    """Each loaded module's BTF: from ``btf_modules``, else ``mod->btf_data``."""
    seen: set[str] = set()
    head = target.symbols.get("btf_modules") if target.symbols is not None else None
    if head is not None:
        try:
            yield from _btf_module_list(target, head.address, seen)
        except (MemoryError_, NoSuchType, NoSuchMember) as err:
            caveat(f"the modules' BTF list (btf_modules) unreadable ({err}): module types "
                   "from the modules still loading only")
    for mod in target.modules:
        if mod.name in seen:
            continue
        try:
            obj = target.object_at("struct module", mod.address)
            if not obj.type_.strip_typedefs().has_member("btf_data"):
                return          # a kernel without module BTF
            data, size = int(obj.btf_data), int(obj.btf_data_size)
        except MemoryError_ as err:
            caveat(f"module {mod.name}: its BTF pointer unreadable ({err}): no types of it")
            continue
        if data and 0 < size <= MAX_BTF:
            yield BtfBlob(mod.name, data, size)


def _btf_module_list(target: LinuxTarget, head: int, seen: set[str]) -> Iterator[BtfBlob]:
    entry_t = target.type("struct btf_module")
    btf_t = target.type("struct btf")
    list_off = entry_t.offsetof("list")
    node = target.space.read_u64(head)
    count = 0
    while node != head and count < 4096:
        count += 1
        entry = target.object_at(entry_t, node - list_off)
        btf = target.object_at(btf_t, int(entry.btf))
        module = target.object_at("struct module", int(entry.module))
        name = module.name.string_().decode("utf-8", "replace")
        size = int(btf.data_size)
        start_id = int(btf.start_id) if btf_t.has_member("start_id") else None
        start_str = int(btf.start_str_off) if btf_t.has_member("start_str_off") else None
        if 0 < size <= MAX_BTF:
            seen.add(name)
            yield BtfBlob(name, int(btf.data), size, start_id, start_str)
        node = target.space.read_u64(node)


class ModuleTypes:
    """The types of every loaded module, each module's BTF split from the kernel's
    (a type source: ``find``, ``names``).  Read on first use; a module whose BTF
    cannot be read or does not fit the kernel's is left out, with a WARNING."""

    def __init__(self, target: LinuxTarget, base: BtfTypes) -> None:
        self.modules: dict[str, BtfTypes] = {}
        for blob in btf_blobs(target):
            label = f"module {blob.module} BTF"
            if blob.start_id not in (None, base.next_id) or \
                    blob.start_str_off not in (None, base.strings_size):
                caveat(f"{label} starts at type {blob.start_id}, string {blob.start_str_off}; "
                       f"the kernel's BTF ends at {base.next_id}, {base.strings_size}: its "
                       "types left out")
                continue
            try:
                data = bytes(target.space.read(blob.address, blob.size))
                self.modules[blob.module] = BtfTypes(parse_btf(data, label, base), data, label,
                                                     base)
            except (MemoryError_, BadSymbolFile) as err:
                caveat(f"{label} unreadable ({err}): its types left out")

    def find(self, key: str) -> Type | None:
        for types in self.modules.values():
            found = types.find(key)
            if found is not None:
                return found
        return None

    def names(self) -> list[str]:
        return [n for types in self.modules.values() for n in types.names()]


def module_types(target: LinuxTarget) -> ModuleTypes | None:
    """The modules' types of a kernel whose own types are BTF (None without BTF)."""
    base = getattr(target.symfile, "btf", None)
    if not isinstance(base, BtfTypes):
        return None
    try:
        return ModuleTypes(target, base)
    except XcrashError as err:      # the module list itself: said, no module types
        caveat(f"the modules' types unreadable ({err}): none")
        return None
