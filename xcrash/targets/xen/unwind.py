"""Back traces of Xen's physical CPUs.

Three ways to walk a hypervisor stack, each reported with its trace:

* **frame pointers** (``CONFIG_FRAME_POINTER``): ``[rbp]`` is the caller's
  RBP, ``[rbp+8]`` the return address.  Xen's entry code marks an exception
  frame by an *inverted* RBP: ``rbp = ~&regs->rbp``.
* **DWARF CFI** from ``.debug_frame``: per pc, the CFA and where the return
  address and RBP were saved.  Entry code (``entry.S``) has no CFI: a return
  into it means the ``struct cpu_user_regs`` sits right above, at the
  caller's stack pointer.
* **stack scan** when the build has neither (Debian's xen-syms): words on the
  stack that are return addresses right after a call instruction, and — to
  keep stale frames out — only after a direct call to the function of the
  frame below (or an indirect call or retpoline thunk, whose target the code
  does not say).

Where a trace starts follows crash: every pCPU's saved registers were taken
inside ``kexec_crash_save_cpu()``, so the trace begins at its caller
(``kexec_crash`` on the crashing CPU, ``do_nmi_crash`` on the others).

The 8-page stack of a pCPU (xen-dumps.md §6.2): page 1 #MC, 2 NMI, 3 #DB,
4 #DF (IST stacks), 6–7 the primary stack with ``struct cpu_info`` at its
top, whose ``guest_cpu_user_regs`` hold the guest's registers when Xen was
entered from a guest.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ...caveats import caveat
from ...errors import MemoryError_, XcrashError
from ..base import cached_per_target
from .cfi import CallFrameInfo
from .layout import CPU_USER_REGS, CPU_USER_REGS_SAVED

if TYPE_CHECKING:
    from .hypervisor import XenTarget

MASK = 0xFFFFFFFFFFFFFFFF
MAX_FRAMES = 128
PAGE = 4096
XEN_CS = 0xE008
UREGS = ("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx",
         "rdx", "rsi", "rdi")
UREGS_RBP = CPU_USER_REGS["rbp"][0]
UREGS_SIZE_SAVED = CPU_USER_REGS_SAVED      # up to ss: what entry code and hardware push
_IST_PAGES = {1: "#MC", 2: "NMI", 3: "#DB", 4: "#DF"}
#: the function whose registers Xen saved in the crash notes
SAVE_FUNCTION = "kexec_crash_save_cpu"
METHODS = ("frame pointers", "DWARF CFI", "stack scan")
_THUNKS = ("__x86_indirect_thunk", "__x86_indirect_call_thunk")


@dataclass
class Frame:
    slot: int             # where the return address (or the interrupted RIP) was read
    pc: int
    stack: str            # "primary", "NMI", "#MC", ...


@dataclass
class ExceptionFrame:
    address: int          # of the struct cpu_user_regs
    regs: dict[str, int]
    stack: str

    @property
    def guest(self) -> bool:
        """Entered from a guest (not Xen's own code segment)."""
        return self.regs["cs"] != XEN_CS


@dataclass
class StackSwitch:
    left: str             # the IST stack the walk leaves


@dataclass
class PcpuTrace:
    cpu: int
    vcpu: int
    method: str
    items: list[Any] = field(default_factory=list)
    error: str | None = None
    #: the other methods' verdicts: {"frame pointers": True (same frames) / False / None}
    checked: dict[str, bool | None] = field(default_factory=dict)

    def frames(self) -> list[tuple[int, int]]:
        return [(f.slot, f.pc) for f in self.items if isinstance(f, Frame)]


class _Stop(Exception):
    pass


class _Stack:
    """One pCPU's stack pages, read once."""

    def __init__(self, target: XenTarget, cpu: int) -> None:
        self.target = target
        self.base = target.stack_bases[cpu]
        self.size = target.stack_size
        self.top = self.base + self.size
        try:
            self.cpu_info: int | None = self.top - target.cpu_info_size
        except XcrashError as err:
            caveat(f"pCPU {cpu}: {err}: a guest frame looked for in the stack's last 512 bytes")
            self.cpu_info = None
        self._pages: dict[int, bytes | None] = {}

    def name(self, addr: int) -> str | None:
        if not self.base <= addr < self.top:
            return None
        page = (addr - self.base) >> 12
        return _IST_PAGES.get(page, "primary" if page >= 6 else None)

    def range(self, addr: int) -> tuple[int, int]:
        """[low, high) of the stack holding ``addr`` (an IST page, or the primary stack)."""
        page = (addr - self.base) >> 12
        if page >= 6:
            return self.base + 6 * PAGE, self.cpu_info or self.top
        lo = self.base + page * PAGE
        return lo, lo + PAGE

    def u64(self, addr: int) -> int:
        base = addr & ~0xFFF
        if base not in self._pages:
            try:
                self._pages[base] = bytes(self.target.space.read(base, PAGE))
            except MemoryError_:
                self._pages[base] = None    # read word by word below: an unreadable one stops
        p = self._pages[base]
        off = addr & 0xFFF
        if p is None or off > PAGE - 8:
            try:
                return self.target.space.read_u64(addr)
            except XcrashError as err:
                raise _Stop(f"cannot read {addr:x}: {err}") from None
        return int.from_bytes(p[off:off + 8], "little")

    def regs(self, addr: int) -> dict[str, int]:
        raw = b"".join(self.u64(addr + 8 * i).to_bytes(8, "little") for i in range(25))
        out = dict(zip(UREGS, struct.unpack_from("<15Q", raw)))
        out["error_code"], out["entry_vector"] = struct.unpack_from("<II", raw, 120)
        out["rip"], = struct.unpack_from("<Q", raw, 128)
        out["cs"], = struct.unpack_from("<H", raw, 136)
        out["saved_upcall_mask"] = raw[140]
        out["rflags"], out["rsp"] = struct.unpack_from("<QQ", raw, 144)
        out["ss"], = struct.unpack_from("<H", raw, 160)
        for i, seg in enumerate(("es", "ds", "fs", "gs")):
            out[seg], = struct.unpack_from("<H", raw, 168 + 8 * i)
        return out


class Unwinder:
    """What a target's binary offers for unwinding, found once per target."""

    def __init__(self, target: XenTarget) -> None:
        self.target = target
        self.syms = target.symbols

    @cached_property
    def cfi(self) -> CallFrameInfo | None:
        sf = self.target.symfile
        if sf is None or sf.elf.section_by_name(".debug_frame") is None:
            return None
        cfi = CallFrameInfo(sf.real_path)
        return cfi if len(cfi) else None

    @cached_property
    def frame_pointers(self) -> bool:
        """Whether Xen was built with frame pointers: most functions start with
        ``push %rbp; mov %rsp,%rbp`` (after an ``endbr64`` under CET-IBT)."""
        funcs = [s for s in self.syms if s.type_char in "tT" and (s.size or 0) >= 32
                 and s.address < self.target.space.image_end]
        if not funcs:
            return False
        step = max(1, len(funcs) // 128)
        hits = seen = 0
        for s in funcs[::step]:
            try:
                code = self.target.space.read(s.address, 24)
            except MemoryError_:
                continue                    # not in the dump: the sample goes on without it
            if not any(code):
                continue                    # .init.text, freed after boot
            seen += 1
            if code.startswith(b"\xf3\x0f\x1e\xfa"):
                code = code[4:]
            hits += code.startswith(b"\x55") and b"\x48\x89\xe5" in code
        return seen > 0 and hits * 2 > seen

    def methods(self) -> list[str]:
        out = []
        if self.cfi is not None:
            out.append("DWARF CFI")
        if self.frame_pointers:
            out.append("frame pointers")
        out.append("stack scan")
        return out

    # -- text ------------------------------------------------------------------------
    def is_text(self, addr: int) -> bool:
        space = self.target.space
        if not space.virt_start <= addr < space.image_end:
            return False
        hit = self.syms.resolve(addr)
        return bool(hit) and hit[0].type_char in "tTwW"

    def function_start(self, pc: int) -> int | None:
        hit = self.syms.resolve(pc)
        return hit[0].address if hit else None

    def after_call(self, value: int, callee: int | None) -> bool:
        """Whether ``value`` is a return address after a call (a direct one to ``callee``)."""
        try:
            code = bytes(self.target.space.read(value - 7, 7))
        except MemoryError_:
            return False                    # no code there in the dump: no call to see
        if code[2] == 0xE8:
            dest = (value + int.from_bytes(code[3:7], "little", signed=True)) & MASK
            if callee is None or dest == callee:
                return True
            hit = self.syms.resolve(dest)
            return bool(hit) and hit[0].name.startswith(_THUNKS)
        if code[1:3] == b"\xff\x15" or code[0:3] == b"\xff\x14\x25":   # call *mem
            return True
        if code[5] == 0xFF and 0xD0 <= code[6] <= 0xD7:                # call *%reg
            return True
        if code[4] == 0x41 and code[5] == 0xFF and 0xD0 <= code[6] <= 0xD7:
            return True
        return code[4] == 0xFF and 0x50 <= code[5] <= 0x57            # call *d8(%reg)


@cached_per_target
def unwinder(target: XenTarget) -> Unwinder:
    """What the target's binary offers for unwinding (found once per target)."""
    return Unwinder(target)


def backtrace(target: XenTarget, cpu: int, method: str | None = None, *,
              cross_check: bool = True) -> PcpuTrace:
    """The back trace of a pCPU, by ``method`` (default: the best the binary offers;
    the others, where available, are run too and their agreement recorded)."""
    target.need_symbols("bt")
    u = unwinder(target)
    available = u.methods()
    if method is None:
        method = available[0]
    elif method not in available:
        raise XcrashError(f"bt: {method} is not available for this xen-syms "
                          f"(available: {', '.join(available)})")
    note = target.cpu_notes.get(cpu)
    vcpu = 0
    try:
        vcpu = target.current_vcpu(cpu)
    except XcrashError as err:
        caveat(f"pCPU {cpu}'s current vCPU unreadable ({err}): VCPU shown as 0")
    trace = PcpuTrace(cpu, vcpu, method)
    if note is None or note.empty:
        trace.error = "this CPU saved no registers"
        return trace
    if not target.stack_bases[cpu]:
        trace.error = "this CPU has no stack"
        return trace
    idle = _is_idle_vcpu(target, cpu, vcpu)
    _walk(u, _Stack(target, cpu), trace, dict(note.regs), method, idle)
    if cross_check:
        for other in available:
            if other == method:
                continue
            alt = PcpuTrace(cpu, vcpu, other)
            _walk(u, _Stack(target, cpu), alt, dict(note.regs), other, idle)
            trace.checked[other] = alt.frames() == trace.frames()
    return trace


def _is_idle_vcpu(target: XenTarget, cpu: int, vcpu: int) -> bool:
    try:
        return vcpu != 0 and vcpu == target.idle_vcpus[cpu]
    except XcrashError as err:
        caveat(f"idle_vcpu[] unreadable ({err}): pCPU {cpu}'s guest frame taken as current")
        return False


def _walk(u: Unwinder, stack: _Stack, trace: PcpuTrace, regs: dict[str, int], method: str,
          idle: bool = False) -> None:
    pc, sp, bp = regs["rip"], regs["rsp"], regs["rbp"]
    is_return = False
    shown_start = False
    first = True
    try:
        for _ in range(MAX_FRAMES):
            hit = u.syms.resolve(pc)
            if not shown_start:
                shown_start = True
                if hit is None or hit[0].name != SAVE_FUNCTION:
                    trace.items.append(Frame(sp, pc, stack.name(sp) or "?"))
            step = _step(u, stack, method, pc, sp, bp, is_return, first)
            first = False
            if step is None:
                return
            slot, ra, sp, bp = step
            # a return into entry code: the exception frame is right above
            eframe = _exception_frame(u, stack, method, ra, sp, bp)
            if stack.cpu_info is not None and sp >= stack.cpu_info - 8 \
                    and stack.name(slot) == "primary" and (eframe is None or idle):
                # the bottom of the primary stack and no entry from a guest: a function
                # reached by reset_stack_and_jump (idle_loop, ...); the word there is
                # stale, and so is an idle CPU's guest frame (lazy context switch)
                return
            trace.items.append(Frame(slot, ra, stack.name(slot) or "?"))
            pc, is_return = ra, True
            if eframe is None:
                continue
            trace.items.append(eframe)
            if eframe.guest:
                return
            r = eframe.regs
            # the interrupted Xen code, shown as crash shows it: a frame at &regs->rip
            trace.items.append(Frame(eframe.address + 128, r["rip"],
                                     stack.name(eframe.address) or "?"))
            if stack.name(r["rsp"]) != eframe.stack and eframe.stack != "primary":
                trace.items.append(StackSwitch(eframe.stack))
            pc, sp, bp, is_return = r["rip"], r["rsp"], r["rbp"], False
        trace.error = f"more than {MAX_FRAMES} frames"
    except _Stop as stop:
        trace.error = str(stop)


def _step(u: Unwinder, stack: _Stack, method: str, pc: int, sp: int, bp: int,
          is_return: bool, first: bool) -> tuple[int, int, int, int] | None:
    """(slot, return address, caller's sp, caller's bp), or None at the end of the stack."""
    if stack.name(sp) is None:
        raise _Stop(f"stack pointer {sp:x} is not on CPU's stack")
    lo, hi = stack.range(sp)
    if method == "DWARF CFI":
        assert u.cfi is not None            # offered only with .debug_frame
        rule = u.cfi.rule(pc - 1 if is_return else pc)
        if rule is not None:
            cfa = (sp if rule.cfa_reg == 7 else bp) + rule.cfa_offset
            if rule.ra_offset is None or not lo < cfa <= hi:
                return None
            slot = cfa + rule.ra_offset
            ra = stack.u64(slot)
            nbp = stack.u64(cfa + rule.rbp_offset) if rule.rbp_offset is not None else bp
            return (slot, ra, cfa, nbp) if u.is_text(ra) else None
        if not u.frame_pointers:
            return _scan_step(u, stack, pc, sp, lo, hi, first)
        method = "frame pointers"          # no CFI for this pc: its frame pointer
    if method == "frame pointers":
        if not lo <= bp < hi - 8 or bp < sp - 8:
            return None
        ra = stack.u64(bp + 8)
        if not u.is_text(ra):
            return None
        return bp + 8, ra, bp + 16, stack.u64(bp)
    return _scan_step(u, stack, pc, sp, lo, hi, first)


def _scan_step(u: Unwinder, stack: _Stack, pc: int, sp: int, lo: int, hi: int,
               first: bool = False) -> tuple[int, int, int, int] | None:
    """The next return address above ``sp``.  After the first frame it must follow a
    call to the function below it (direct) or an indirect call; the first frame's
    caller has called other functions since the registers were saved (the crashing
    CPU went on into machine_kexec), so any call will do there."""
    callee = None if first else u.function_start(pc)
    addr = max(sp, lo) & ~7
    while addr < hi:
        v = stack.u64(addr)
        if u.is_text(v) and u.after_call(v, callee):
            return addr, v, addr + 8, 0
        addr += 8
    return None


def _exception_frame(u: Unwinder, stack: _Stack, method: str, ra: int, sp: int,
                     bp: int) -> ExceptionFrame | None:
    """The struct cpu_user_regs above a return into entry code, if this is one.

    With frame pointers the handler's saved RBP is inverted (``~&regs->rbp``);
    otherwise entry code is code without CFI, and the registers are at the
    stack pointer the handler was called with."""
    candidates = []
    if method != "stack scan" and bp and not bp >> 63 and stack.name((~bp) & MASK):
        candidates.append(((~bp) & MASK) - UREGS_RBP)
    if method == "stack scan" or method == "DWARF CFI" and u.cfi is not None \
            and not u.cfi.covers(ra - 1):
        candidates.append(sp)
    for addr in candidates:
        if stack.name(addr) is None or addr + UREGS_SIZE_SAVED > stack.top:
            continue
        regs = stack.regs(addr)
        if _plausible(u, stack, addr, regs):
            return ExceptionFrame(addr, regs, stack.name(addr) or "?")
    return None


def _plausible(u: Unwinder, stack: _Stack, addr: int, regs: dict[str, int]) -> bool:
    if not regs["rflags"] & 2 or regs["rflags"] >> 32 or regs["entry_vector"] > 0x1FF:
        return False                       # RFLAGS bit 1 is always set
    if regs["cs"] == XEN_CS:
        return u.is_text(regs["rip"]) and stack.name(regs["rsp"]) is not None
    # a guest's frame is the one at the top of the primary stack (cpu_info; its size
    # unknown without DWARF: then within its last 512 bytes)
    if stack.cpu_info is not None:
        return addr == stack.cpu_info and bool(regs["cs"] & 3)
    return stack.top - 512 <= addr <= stack.top - 200 and bool(regs["cs"] & 3)
