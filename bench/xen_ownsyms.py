"""Xen's own symbol table (read from the dump) against the ELF symbols of its xen-syms:
the decode time, the symbols, the functions' sizes, the addresses the code refers to,
and the hypervisor commands' output, side by side.

    python bench/xen_ownsyms.py VMCORE XEN-SYMS [COMMAND ...]

XEN-SYMS should have no DWARF (``objcopy --strip-debug``), or the comparison is with
the typed path.  Run from the repository root (xcrash on the path).
"""
from __future__ import annotations

import sys

import capstone
from capstone import x86

from xcrash.api import Session
from xcrash.dump import open_dump
from xcrash.errors import XcrashError
from xcrash.symbols import open_symbol_file
from xcrash.targets.xen.hypervisor import XenTarget
from xcrash.targets.xen.ownsyms import own_symbols

COMMANDS = ["vcpus", "pcpus", "doms", "bt -a", "bt -a -F", "bt -r", "sym do_softirq",
            "sym __start_xen", "sym idle_loop", "dis do_nmi_crash", "dis kexec_crash",
            "dis idle_loop"]


def code_references(target: XenTarget) -> set[int]:
    """Branch targets and RIP-relative operands of every sized function."""
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    md.detail = True
    out = set()
    for f in target.symbols:
        if f.type_char not in "tT" or not 0 < f.size < 1 << 16:
            continue
        try:
            code = target.space.read(f.address, f.size)
        except XcrashError:
            continue
        for insn in md.disasm(code, f.address):
            for op in insn.operands:
                if op.type == x86.X86_OP_MEM and op.mem.base == x86.X86_REG_RIP:
                    out.add((insn.address + insn.size + op.mem.disp) & (2**64 - 1))
                elif op.type == x86.X86_OP_IMM and (insn.group(1) or insn.group(2)
                                                    or insn.group(7)):
                    out.add(op.imm & (2**64 - 1))
    return out


def main(vmcore: str, xen_syms: str, commands: list[str]) -> None:
    dump = open_dump(vmcore)
    runs = [own_symbols(dump, cached=False).seconds for _ in range(3)]
    own = own_symbols(dump, cached=False)
    elf = open_symbol_file(xen_syms)
    print(f"decode: {min(runs):.3f}-{max(runs):.3f} s; symbols: {len(own.symbols)} "
          f"(the ELF symbol table: {len(elf.symbols)})")
    text = elf.symbols.lookup("_stext").address, elf.symbols.lookup("_etext").address
    sized = {(s.name, s.address): s.size for s in elf.symbols
             if s.type_char in "tT" and s.size and text[0] <= s.address < text[1]}
    mine = {(s.name, s.address): s.size for s in own.symbols}
    print(f"function sizes equal to the ELF's: "
          f"{sum(mine.get(k) == v for k, v in sized.items())} of {len(sized)}")
    alone, with_elf = (Session(dump, [], {"xen": XenTarget.from_dump(dump, sf)}, "xen")
                       for sf in (own, elf))
    a, b = alone.targets["xen"], with_elf.targets["xen"]
    refs = code_references(b)
    same = sum(a.describe_address(r) == b.describe_address(r) for r in refs)
    print(f"addresses the code refers to, named alike: {same} of {len(refs)}")
    for command in commands or COMMANDS:
        outputs = []
        for session in (alone, with_elf):
            try:
                outputs.append(session.run(command))
            except XcrashError as err:
                outputs.append(f"error: {err}")
        print(f"{'equal    ' if outputs[0] == outputs[1] else 'DIFFERENT'} {command}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
