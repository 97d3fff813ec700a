"""The x86_64 kernel's ORC unwind tables (``.orc_unwind_ip`` / ``.orc_unwind``).

Loaded once from the vmlinux file at link-time addresses; :meth:`OrcTable.find`
takes a run-time address and subtracts the KASLR delta.  The bit layout of
the entries' flag word comes from the type model's ``struct orc_entry``
(6.1: ``sp_reg:4 bp_reg:4 type:2 end:1``; 6.3 adds ``signal``; 6.4 drops
``end`` and widens ``type``), so no version table is needed.  The register
numbers are not in the types: 7.1 renumbered them, and the kernel says which
numbering it uses by the hash in its ``.orc_header`` (6.4 on), which is read.
"""
from __future__ import annotations

import bisect
import operator
import struct
from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...caveats import caveat
from ...errors import XcrashError
from ..base import cached_per_target

if TYPE_CHECKING:
    from .kernel import LinuxTarget
    from .modules import Module

# register numbers (Linux <= 7.0; REG_AX came with 7.1's numbering)
REG_UNDEFINED, REG_PREV_SP, REG_DX, REG_DI, REG_BP, REG_SP, REG_R10, REG_R13, \
    REG_BP_INDIRECT, REG_SP_INDIRECT, REG_AX = range(11)

#: .orc_header of a kernel with 7.1's register numbering (objtool/x86: "Reorder ORC
#: register numbering"), the hash scripts/orc_hash.sh makes of asm/orc_types.h
ORC_HASH_7_1 = bytes.fromhex("137c36ad7627c4dd55932176bb0ecdbd5041fc82")
#: the headers of the formats with the older numbering (6.4, and 6.3's)
ORC_HASHES_OLD = (bytes.fromhex("fe5d32bf581bd63b2ca9a5c65ba5a625eab3fe24"),
                  bytes.fromhex("db84aed4103b31dd51e017f8f79783ca985c2c51"))
#: 7.1's numbering -> the numbering above
REMAP_7_1 = {0: REG_UNDEFINED, 1: REG_AX, 2: REG_DX, 3: REG_SP, 4: REG_BP, 5: REG_DI,
             6: REG_R10, 7: REG_R13, 8: REG_PREV_SP, 9: REG_SP_INDIRECT, 10: REG_BP_INDIRECT}

TYPE_CALL, TYPE_REGS, TYPE_REGS_PARTIAL = "call", "regs", "regs_partial"


class OrcError(XcrashError):
    pass


@dataclass(frozen=True)
class OrcEntry:
    sp_offset: int
    bp_offset: int
    sp_reg: int
    bp_reg: int
    type: str            # TYPE_CALL, TYPE_REGS, TYPE_REGS_PARTIAL, "undefined", "end"
    end: bool = False


#: the kernel's fallback when no entry covers an ip: a frame-pointer frame
FP_ENTRY = OrcEntry(16, -16, REG_BP, REG_PREV_SP, TYPE_CALL)
#: a call through a NULL pointer: the return address is at [sp]
NULL_ENTRY = OrcEntry(8, 0, REG_SP, REG_UNDEFINED, TYPE_CALL)


class _Layout:
    """Where the flag word's fields are, from ``struct orc_entry``."""

    def __init__(self, target: LinuxTarget) -> None:
        fields: dict[str, tuple[int, int]] = {}
        try:
            t = target.type("struct orc_entry")
            for m in t.members or []:
                if m.bit_size and m.name:
                    fields[m.name] = (m.bit_offset - 32, m.bit_size)
        except XcrashError:
            pass        # no such type (no DWARF, no BTF of it): the layout below
        if "sp_reg" not in fields:     # 6.1 layout
            fields = {"sp_reg": (0, 4), "bp_reg": (4, 4), "type": (8, 2), "end": (10, 1)}
        self.fields = fields
        self.registers = _register_numbering(target)
        self.has_end = "end" in fields
        # 6.4+ (no `end`): UNDEFINED 0, END_OF_STACK 1, CALL 2, REGS 3, REGS_PARTIAL 4
        if self.has_end:
            self.types = {0: TYPE_CALL, 1: TYPE_REGS, 2: TYPE_REGS_PARTIAL}
        else:
            self.types = {0: "undefined", 1: "end", 2: TYPE_CALL, 3: TYPE_REGS,
                          4: TYPE_REGS_PARTIAL}

    def register(self, word: int, name: str) -> int:
        number = self.get(word, name)
        return self.registers.get(number, number) if self.registers else number

    def get(self, word: int, name: str) -> int:
        f = self.fields.get(name)
        if f is None:
            return 0
        return word >> f[0] & ((1 << f[1]) - 1)


class OrcTable:
    """An ORC table: the vmlinux's (:meth:`of_vmlinux`: from the symbol file, link-time
    addresses shifted by the KASLR delta) or a module's as read from the dump
    (run-time addresses, ``delta`` 0): ``raw_ip`` the IPs relative to their own
    positions from ``ip_base``, ``entries`` the 6-byte entries."""

    @classmethod
    def of_vmlinux(cls, target: LinuxTarget) -> OrcTable:
        symfile = target.symfile
        ip_sec = symfile.section_address(".orc_unwind_ip") if symfile is not None else None
        ent = symfile.section(".orc_unwind") if symfile is not None else None
        raw = symfile.section(".orc_unwind_ip") if symfile is not None else None
        if ip_sec is None or ent is None or raw is None:
            raise OrcError("the kernel has no ORC tables (.orc_unwind_ip/.orc_unwind)")
        return cls(_layout(target), bytes(raw), ip_sec[0], bytes(ent), target.symbols.delta)

    def __init__(self, layout: _Layout, raw_ip: bytes, ip_base: int, entries: bytes,
                 delta: int) -> None:
        rel = array("i")
        rel.frombytes(raw_ip[:len(raw_ip) - len(raw_ip) % 4])
        n = len(rel)
        if len(entries) // 6 != n:
            raise OrcError(f"ORC tables disagree: {n} IPs, {len(entries) // 6} entries")
        base = ip_base
        self._entries = bytes(entries)
        self._order: list[int] | None = None
        # base-relative positions: |4i + r| < 2**34, so no wrap-around and an int64 holds
        # them; one array of them, searched without a key function
        ips = array("q", map(operator.add, rel, range(0, 4 * n, 4)))
        # sorted at build time since v5.6 (else sorted here, the entries' order kept)
        if n > 1 and min(map(operator.sub, ips[1:], ips[:-1])) < 0:
            order = sorted(range(n), key=ips.__getitem__)
            ips = array("q", (ips[i] for i in order))
            self._order = order
        self._ips = ips
        self._base = base
        self._n = n
        self.delta = delta
        self.layout = layout
        self._cache: dict[int, OrcEntry | None] = {}

    def __len__(self) -> int:
        return self._n

    def ip(self, i: int) -> int:
        """Link-time address where entry ``i`` (in address order) starts."""
        return (self._base + self._ips[i]) & 0xFFFFFFFFFFFFFFFF

    def find(self, address: int) -> OrcEntry | None:
        """The entry covering a run-time address (None: no table covers it)."""
        link = (address - self.delta) & 0xFFFFFFFFFFFFFFFF
        # rightmost duplicate, like the kernel's __orc_find()
        i = bisect.bisect_right(self._ips, link - self._base) - 1
        if i < 0 or i == self._n - 1 and link != self.ip(i):
            return None
        hit = self._cache.get(i)
        if hit is None:
            hit = self._decode(self._order[i] if self._order else i)
            self._cache[i] = hit
        return hit

    def _decode(self, k: int) -> OrcEntry:
        sp_off, bp_off, word = struct.unpack_from("<hhH", self._entries, 6 * k)
        lay = self.layout
        sp_reg, bp_reg = lay.register(word, "sp_reg"), lay.register(word, "bp_reg")
        typ = lay.types.get(lay.get(word, "type"), "undefined")
        end = bool(lay.get(word, "end"))
        if lay.has_end and sp_reg == REG_UNDEFINED:
            typ = "end" if end else "undefined"
        return OrcEntry(sp_off, bp_off, sp_reg, bp_reg, typ, end)


def _register_numbering(target: LinuxTarget) -> dict[int, int]:
    """How to read the entries' register numbers: {} for the numbering before 7.1,
    REMAP_7_1 when the kernel's .orc_header says 7.1's."""
    sym = target.symbols.get("__start_orc_header") if target.symbols is not None else None
    if sym is None:
        return {}                   # no header (before 6.4): the old numbering
    try:
        header = bytes(target.space.read(sym.address, 20))
    except XcrashError as err:
        caveat(f"ORC header unreadable ({err}): the register numbering before 7.1 assumed")
        return {}
    if header == ORC_HASH_7_1:
        return REMAP_7_1
    if header not in ORC_HASHES_OLD:
        caveat(f"ORC header {header.hex()} is of no format xcrash knows: the register "
               "numbering before 7.1 assumed")
    return {}


@cached_per_target
def _layout(target: LinuxTarget) -> _Layout:
    return _Layout(target)


@cached_per_target
def orc_table(target: LinuxTarget) -> OrcTable:
    """The target's ORC table, built on first use."""
    return OrcTable.of_vmlinux(target)


def module_orc_table(target: LinuxTarget, module: Module) -> OrcTable | None:
    """A loaded module's ORC table (``mod->arch``), read from the dump once."""
    #: a module's table, None when it has none, or why it could not be read
    tables: dict[int, OrcTable | str | None] = target.cache.setdefault(
        f"{__name__}.module_orc", {})
    if module.address not in tables:
        table: OrcTable | str | None = None
        if module.orc is not None:
            ip_addr, ent_addr, n = module.orc
            try:
                table = OrcTable(_layout(target), bytes(target.space.read(ip_addr, 4 * n)),
                                 ip_addr, bytes(target.space.read(ent_addr, 6 * n)), delta=0)
            except XcrashError as err:
                table = (f"module {module.name}: its ORC table is unreadable ({err}): its "
                         "frames are unwound by frame pointers or a stack scan")
        tables[module.address] = table
    found = tables[module.address]
    if isinstance(found, str):
        caveat(found)           # said by every command that needs the table
        return None
    return found


def find_entry(target: LinuxTarget, address: int) -> OrcEntry | None:
    """The ORC entry for a run-time address: the vmlinux's table, else the table
    of the loaded module holding the address."""
    entry = orc_table(target).find(address)
    if entry is None:
        module = target.modules.module_at(address)
        if module is not None:
            table = module_orc_table(target, module)
            if table is not None:
                entry = table.find(address)
    return entry


_REG_NAMES = {REG_SP: "rsp", REG_BP: "rbp", REG_SP_INDIRECT: "[rsp]", REG_BP_INDIRECT: "[rbp]",
              REG_R10: "r10", REG_R13: "r13", REG_DI: "rdi", REG_DX: "rdx", REG_AX: "rax"}


_RULES: dict[tuple[OrcEntry, bool, bool, bool], str] = {}


def rule_text(entry: OrcEntry, scanned: bool = False) -> str:
    """How a step of a walk found its caller, in words (``bt --explain``): the entry's
    rule, the frame-pointer fallback, or a scan for the return address."""
    key = (entry, scanned, entry is NULL_ENTRY, entry is FP_ENTRY)
    text = _RULES.get(key)
    if text is None:
        text = _RULES[key] = _rule_text(entry, scanned)
    return text


def _rule_text(entry: OrcEntry, scanned: bool) -> str:
    if entry is NULL_ENTRY:
        return "pc 0 (a call through a NULL pointer): the return address is at [rsp]"
    if entry is FP_ENTRY:
        return "no ORC entry: the frame pointer (saved rbp, return address above it)"
    if scanned:
        return (f"no ORC entry, no frame pointer: the first return address above rsp, "
                f"at rsp+{entry.sp_offset - 8:#x}")
    if entry.type == "end":
        return "ORC: end of the stack (the entry code's last frame)"
    base = _REG_NAMES.get(entry.sp_reg, f"register {entry.sp_reg}")
    cfa = f"{base}{entry.sp_offset:+#x}" if entry.sp_offset else base
    if entry.type == TYPE_REGS:
        return f"ORC: a struct pt_regs at {cfa}"
    if entry.type == TYPE_REGS_PARTIAL:
        return f"ORC: an interrupt's iret frame ending at {cfa}"
    saved_bp = (f", caller's rbp at CFA{entry.bp_offset:+#x}" if entry.bp_reg == REG_PREV_SP
                else f", caller's rbp at rbp{entry.bp_offset:+#x}" if entry.bp_reg == REG_BP
                else "")
    return f"ORC: CFA = {cfa}, return address at CFA-8{saved_bp}"
