"""The kernel's taints (``sys -t``) and the tainted modules (``mod -t``), lettered as
the kernel's "Tainted:" line spells them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, XcrashError

if TYPE_CHECKING:
    from .kernel import LinuxTarget
    from .modules import Module


@dataclass
class KernelTaint:
    """sys -t: ``tainted_mask`` and its letters as the kernel's "Tainted:" line spells them."""
    tainted_mask: int
    flags: str


@dataclass
class ModuleTaint:
    """mod -t: a tainted module and the letters of its set module-level taint flags."""
    name: str
    taints: str | Unreadable


def _taint_flags(target: LinuxTarget) -> list[tuple[str, str, bool]]:
    """``taint_flags[]``: (letter when set, letter when clear, module-level) per bit."""
    sym = target.symbols.get("taint_flags")
    if sym is None:
        raise XcrashError("taint_flags does not exist in this kernel")
    flag_t = target.type("struct taint_flag")
    count = sym.size // flag_t.byte_size if sym.size else 0
    names = {"c_true": "c_true", "c_false": "c_false"} if flag_t.has_member("c_true") \
        else {"c_true": "true", "c_false": "false"}
    out = []
    for i in range(count):
        flag = target.object_at(flag_t, sym.address + i * flag_t.byte_size)
        out.append((chr(int(flag.member_(names["c_true"])) & 0xFF),
                    chr(int(flag.member_(names["c_false"])) & 0xFF),
                    bool(int(flag.module)) if flag_t.has_member("module") else False))
    return out


def kernel_taint(target: LinuxTarget) -> KernelTaint:
    """``tainted_mask`` and its letters as crash spells them: the set flags' letters and
    the clear flags' other letters, blanks, '-' and 'G' left out."""
    mask = target.space.read_u64(target.address_of("tainted_mask"))
    letters = ""
    for bit, (on, off, _module) in enumerate(_taint_flags(target)):
        if mask >> bit & 1:
            letters += on
        elif off not in " -G":
            letters += off
    return KernelTaint(mask, letters)


def module_taints(target: LinuxTarget, modules: list[Module]) -> list[ModuleTaint]:
    """Each tainted module (or whose taints cannot be read) with the letters of its set
    module-level taint flags."""
    flags = _taint_flags(target)
    out = []
    for m in modules:
        try:
            taints = int(target.object_at("struct module", m.address).taints)
        except MemoryError_ as err:
            caveat(f"module {m.name}: taints unreadable ({err}): shown as ?")
            out.append(ModuleTaint(m.name, Unreadable(str(err))))
            continue
        if taints:
            out.append(ModuleTaint(m.name, "".join(on for bit, (on, _off, module)
                                                   in enumerate(flags)
                                                   if module and taints >> bit & 1)))
    return out
