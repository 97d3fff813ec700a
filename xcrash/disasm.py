"""x86_64 disassembly through capstone, spelled the way gdb (and so crash) spells it.

capstone's AT&T text differs from gdb's in small ways; :func:`gdb_style`
normalises them (the comparison with crash's `dis` relies on these rules):

- operands are separated by ``,`` with no space;
- immediates are hexadecimal (``$0x6``; negative ones as their unsigned
  two's-complement value of the operand size, as gdb prints them);
- the size suffix (``movq``, ``callq``, ``pushq``) is dropped when a register
  operand gives the size or the instruction is a branch, push or pop, and kept
  otherwise (``movl $0x0,(%rax)``);
- an encoded zero displacement is written (``nopl 0x0(%rax,%rax,1)``) and a
  base+index operand always has its scale;
- branch targets get `` <symbol+offset>``; RIP-relative operands get gdb's
  trailing ``        # 0xaddr <symbol>`` comment;
- displacements below 10 are hexadecimal too (``-0x1(%rdx,%rax,1)``);
- string instructions name their implicit segments (``rep stos %rax,%es:(%rdi)``,
  ``rep movsq %ds:(%rsi),%es:(%rdi)``), port I/O through %dx is ``(%dx)``;
- the shifts by an implicit 1 have no ``$0x1`` operand, ``66 90`` is
  ``xchg %ax,%ax``; movabs, bsr, popcnt, tzcnt, bswap, pushf, lidt, in, out
  carry no size suffix.
gdb leaves trailing blanks on some lines (``ret    ``) and not on others; the lines
here end at their last character.  Measured on 120 functions of the sample kernel:
every line equal to crash 8.0.6's but where several symbols share an address
(gdb's choice of alias, and crash's stripping of ``.isra.``/``.part.`` names).

:func:`instructions` reads a target's text and yields :class:`Instruction` records
(address, symbol+offset, gdb's text, source line) for ``dis``.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .caveats import caveat
from .errors import CommandError, MemoryError_
from .targets.symbolinfo import source_line

if TYPE_CHECKING:
    from .memory.space import AddressSpace
    from .targets.base import Target

#: longest x86 instruction; enough bytes are read for a count of them
MAX_INSN = 15

_SUFFIXED = {"mov", "add", "sub", "and", "or", "xor", "cmp", "test", "lea", "inc", "dec",
             "neg", "not", "shl", "shr", "sar", "sal", "rol", "ror", "adc", "sbb", "imul",
             "push", "pop", "xchg", "bt", "bts", "btr", "btc", "xadd", "cmpxchg", "call",
             "jmp", "ret", "mul", "div", "idiv", "lret", "iret", "cmov", "sysret", "bsr",
             "bsf", "popcnt", "tzcnt", "lzcnt", "bswap", "in", "out", "stos", "lods", "scas"}
_ALWAYS_STRIP = {"call", "jmp", "ret", "push", "pop", "lret", "movabs", "pushf", "popf",
                 "lidt", "lgdt", "sidt", "sgdt"}
_IMM = re.compile(r"\$(-?(?:0x[0-9a-fA-F]+|\d+))\b")
#: string instructions: gdb names their implicit segments (%es:(%rdi), %ds:(%rsi))
_STRING_OPS = ("movs", "stos", "lods", "cmps", "scas", "ins", "outs")
#: opcodes of the shifts and rotates by an implicit 1 (gdb prints no $0x1 operand)
_SHIFT_BY_ONE = (0xD0, 0xD1)
_PREFIXES = {0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65}
_DEC_DISP = re.compile(r"(^|[,*:\s])(-?)(\d+)\(")
_BASE_INDEX = re.compile(r"\((%\w+),(%\w+)\)")

_engine: Any = None


def _capstone() -> Any:
    global _engine
    if _engine is None:
        import capstone
        md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
        md.syntax = capstone.CS_OPT_SYNTAX_ATT
        md.detail = True
        _engine = md
    return _engine


class Insn:
    __slots__ = ("address", "size", "mnemonic", "operands", "target", "rip_target", "bytes")

    def __init__(self, address: int, size: int, mnemonic: str, operands: str,
                 target: int | None, rip_target: int | None, raw: bytes) -> None:
        self.address = address
        self.size = size
        self.mnemonic = mnemonic
        self.operands = operands
        self.target = target            # branch/call destination
        self.rip_target = rip_target    # address a RIP-relative operand refers to
        self.bytes = raw


def _strip_suffix(mnemonic: str, has_register: bool) -> str:
    prefix = ""
    if " " in mnemonic:            # "lock cmpxchgq", "rep stosq"
        prefix, mnemonic = mnemonic.rsplit(" ", 1)
        prefix += " "
    if mnemonic[-1:] in "bwlq" and len(mnemonic) > 2:
        base = mnemonic[:-1]
        if base in _ALWAYS_STRIP or (base in _SUFFIXED and has_register):
            return prefix + base
        if base.startswith("cmov") and has_register:
            return prefix + base
    return prefix + mnemonic


def gdb_style(insn: Any) -> Insn:
    """Turn one capstone instruction (with detail) into gdb's spelling."""
    import capstone.x86 as x86
    ops = insn.operands if insn.op_str else []
    has_reg = any(op.type == x86.X86_OP_REG and not insn.reg_name(op.reg).endswith("s")
                  or op.type == x86.X86_OP_REG and insn.reg_name(op.reg) in ("rsp", "esp", "sp")
                  for op in ops)
    mnemonic = _strip_suffix(insn.mnemonic, has_reg)
    text = insn.op_str.replace(", ", ",")
    imm_size = insn.imm_size if hasattr(insn, "imm_size") else 8
    bits = 8 * (imm_size or 8)
    if mnemonic.startswith("mov") and insn.mnemonic.endswith("q"):
        bits = 64

    imm_sizes = [op.size for op in ops if op.type == x86.X86_OP_IMM]

    def hex_imm(m: re.Match[str]) -> str:
        v = int(m.group(1), 0)
        if v < 0:
            # gdb shows a negative immediate unsigned, in the operand's size
            size = imm_sizes.pop(0) if imm_sizes else 0
            if size:
                v &= (1 << 8 * size) - 1
            else:
                v &= (1 << 64) - 1 if bits == 64 or insn.mnemonic.endswith("q") \
                    else (1 << bits) - 1
        elif imm_sizes:
            imm_sizes.pop(0)
        return f"$0x{v:x}"

    text = _IMM.sub(hex_imm, text)
    raw = bytes(insn.bytes)
    opcode = next((b for b in raw if b not in _PREFIXES and not 0x40 <= b <= 0x4F), None)
    if opcode in _SHIFT_BY_ONE and text.startswith("$0x1,"):
        text = text[len("$0x1,"):]
    if raw[:2] == b"\x66\x90":              # the 2-byte nop gdb spells out
        mnemonic, text = "xchg", "%ax,%ax"
    base = mnemonic.split(" ")[-1]
    if base in _STRING_OPS or base[:-1] in _STRING_OPS and base[-1:] in "bwlq":
        text = re.sub(r"(?<!:)\(%rdi\)", "%es:(%rdi)", text)
        text = re.sub(r"(?<!:)\(%rsi\)", "%ds:(%rsi)", text)
        if base[:-1] in ("stos", "lods", "scas") and "%" in text.split("(")[0] + text.split(")")[-1]:
            mnemonic = mnemonic[:-1]            # the register operand gives the size
    if base.rstrip("bwl") in ("in", "out") and "%dx" in text and "(%dx)" not in text:
        text = text.replace("%dx", "(%dx)")
    # capstone writes displacements below 10 in decimal (-1(%rdx)); gdb always in hex
    text = _DEC_DISP.sub(lambda m: f"{m.group(1)}{m.group(2)}0x{int(m.group(3)):x}(", text)
    text = _BASE_INDEX.sub(r"(\1,\2,1)", text)
    if getattr(insn, "disp_size", 0) and any(
            op.type == x86.X86_OP_MEM and op.mem.disp == 0 for op in ops):
        text = re.sub(r"(^|[,*:])\(", r"\g<1>0x0(", text, count=1)
    target = None
    rip_target = None
    if insn.group(1) or insn.group(2) or insn.group(7):   # jump, call, relative branch
        if ops and ops[0].type == x86.X86_OP_IMM:
            target = ops[0].imm & 0xFFFFFFFFFFFFFFFF
    for op in ops:
        if op.type == x86.X86_OP_MEM and op.mem.base == x86.X86_REG_RIP:
            rip_target = (insn.address + insn.size + op.mem.disp) & 0xFFFFFFFFFFFFFFFF
            if op.mem.disp == 0 and "(%rip)" in text and not text.startswith("0x"):
                text = text.replace("(%rip)", "0x0(%rip)")
    return Insn(insn.address, insn.size, mnemonic, text, target, rip_target, bytes(insn.bytes))


def disassemble(code: bytes, address: int, bug_bytes: int = 0) -> Iterator[Insn]:
    """The instructions of ``code``; ``bug_bytes``: the bytes crash's gdb skips after
    a ud2 (``dis -b``: a BUG()'s encoded file and line on old kernels), made part of
    the ud2."""
    md = _capstone()
    offset = 0
    while offset < len(code):
        produced = skipped = False
        for insn in md.disasm(code[offset:], address + offset):
            produced = True
            offset += insn.size
            one = gdb_style(insn)
            if bug_bytes > 0 and one.mnemonic in ("ud2", "ud2a"):
                one.size += bug_bytes
                one.bytes = code[offset - insn.size:offset + bug_bytes]
                offset += bug_bytes
                skipped = True
                yield one
                break
            yield one
        if skipped:
            continue
        if not produced or offset < len(code):
            if offset >= len(code):
                break
            # undecodable byte: show it as gdb does and continue after it
            yield Insn(address + offset, 1, "(bad)", "", None, None, code[offset:offset + 1])
            offset += 1


def instruction_text(insn: Insn, describe: Callable[[int], str | None]) -> str:
    """The instruction as gdb writes it after the address: ``mnemonic operands``,
    `` <symbol+offset>`` after a branch target, ``        # 0xaddr <symbol>`` after a
    RIP-relative operand."""
    # gdb (libopcodes) leaves trailing blanks on some lines (`ret    `, `push   %rbp `) and
    # not on others (`nop`); xcrash ends every line at its last character
    text = insn.mnemonic if not insn.operands else f"{insn.mnemonic:<6} {insn.operands}"
    if insn.target is not None:
        where = describe(insn.target)
        if where:
            text += f" <{where}>"
    elif insn.rip_target is not None:
        where = describe(insn.rip_target)
        text += f"        # 0x{insn.rip_target:x}" + (f" <{where}>" if where else "")
    return text


# -- instructions of a target's text, as records ---------------------------------------
@dataclass
class Instruction:
    """One instruction of ``dis``: where it is, gdb's spelling, its source line."""
    address: int
    #: ``symbol+offset`` of the address; None where no symbol covers it (user text)
    symbol: str | None
    #: the instruction as gdb spells it, branch targets named
    text: str
    mnemonic: str
    operands: str
    #: the instruction's bytes, in hexadecimal
    bytes: str
    #: the source file and line (dis -l), else None
    file: str | None = None
    line: int | None = None


def code_range(target: Target, address: int, count: int | None, *, reverse: bool = False,
               forward: bool = False) -> tuple[int, int | None, int | None, int | None]:
    """(start, end, count, first) of what ``dis`` shows: a function's start
    without a count, the whole function; -r, from its start up to the address;
    -f, from the address to its end; otherwise ``count`` (1) instructions.  ``first``:
    the first address to show (-f starts at the first instruction at or after it)."""
    symbols = target.symbols
    hit = symbols.resolve(address) if symbols is not None else None
    if reverse or forward:
        if hit is None or not hit[0].size and forward:
            raise CommandError(f"{address:#x}: not in a known function")
        sym = hit[0]
        if reverse:
            return sym.address, address + 1, None, None     # up to and including address
        return sym.address, sym.address + sym.size, None, address
    if count is None and hit is not None and hit[1] == 0:
        module = getattr(hit[0], "module", None)
        if module and module not in getattr(target, "cache", {}).get("modules' debug files", {}):
            # a module function known by kallsyms alone: crash shows it up to the next
            # symbol (its object file loaded, gdb's extent: the symbol's size)
            modules = getattr(target, "modules", None)
            following = modules.next_address(address) if modules is not None else None
            if following:
                return address, following, None, None
        if hit[0].size:
            return address, address + hit[0].size, None, None
        # a symbol without a size (assembly entry code): up to the next symbol
        following = symbols.next_address(address) if hasattr(symbols, "next_address") else None
        if following:
            return address, following, None, None
    return address, None, count or 1, None


def instructions(target: Target, start: int, *, end: int | None = None, count: int | None = None,
                 first: int | None = None, hex_offsets: bool = False, lines: bool = False,
                 space: AddressSpace | None = None, bug_bytes: int = 0) -> Iterator[Instruction]:
    """The instructions from ``start`` to ``end`` (or ``count`` of them), from
    ``first`` on.  ``space``: read there instead (user text: no symbols, no lines);
    ``bug_bytes``: skipped after each ud2 (:func:`disassemble`).
    The text is read before the first record (a read error is the caller's)."""
    user = space is not None
    code, cut = _read_some(space if space is not None else target.space, start,
                           (end - start + MAX_INSN) if end is not None else (count or 1) * MAX_INSN)
    describe = (lambda _a: None) if user else _describer(target, hex_offsets)
    return _records(target, code, start, end, count, first, describe, lines and not user,
                    cut, bug_bytes)


def _records(target: Target, code: bytes, start: int, end: int | None, count: int | None,
             first: int | None, describe: Callable[[int], str | None], lines: bool,
             cut: bool, bug_bytes: int = 0) -> Iterator[Instruction]:
    n = 0
    for n, insn in enumerate(disassemble(code, start, bug_bytes), 1):
        if count is not None and n > count or end is not None and insn.address >= end:
            return
        if first is not None and insn.address < first:
            continue
        where = source_line(target, insn.address) if lines else None
        yield Instruction(insn.address, describe(insn.address), instruction_text(insn, describe),
                          insn.mnemonic, insn.operands, insn.bytes.hex(),
                          where[0] if where else None, where[1] if where else None)
    if cut and (count is None or n < count):
        caveat(f"text unreadable from {start + len(code):#x}: the instructions stop there")


def _read_some(space: AddressSpace, start: int, size: int) -> tuple[bytes, bool]:
    """``size`` bytes at ``start``, or (the second item True) fewer when the text
    ends at an unreadable page."""
    if size <= 0:
        raise CommandError(f"nothing to disassemble at {start:#x}")
    try:
        return space.read(start, size), False
    except MemoryError_:
        pass                        # the text may stop at an unreadable page: up to it
    room = 0x1000 - (start & 0xFFF)
    try:
        return space.read(start, min(size, room)), size > room
    except MemoryError_ as err:
        raise CommandError(f"cannot read text at {start:#x}: {err}") from None


def _describer(target: Target, hex_offsets: bool) -> Callable[[int], str | None]:
    """``symbol+offset`` of an address, the offset in hexadecimal with ``hex_offsets``
    (dis -x)."""
    if not hex_offsets:
        return target.describe_address

    def hex_describe(address: int) -> str | None:
        text = target.describe_address(address)
        if text is None or "+" not in text:
            return text
        name, offset = text.rsplit("+", 1)
        return f"{name}+{int(offset):#x}"
    return hex_describe
