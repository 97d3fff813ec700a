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

A pCPU's stack pages are ``pcpustack.py``'s; what the binary offers (CFI, frame
pointers, text and call sites) ``unwinder.py``'s.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...caveats import caveat
from ...errors import XcrashError
from .layout import CPU_USER_REGS_SAVED
from .pcpustack import UREGS_RBP, PcpuStack, StackEnd
from .unwinder import MASK, Unwinder, unwinder

if TYPE_CHECKING:
    from .hypervisor import XenTarget

MAX_FRAMES = 128
XEN_CS = 0xE008
UREGS_SIZE_SAVED = CPU_USER_REGS_SAVED      # up to ss: what entry code and hardware push
#: the function whose registers Xen saved in the crash notes
SAVE_FUNCTION = "kexec_crash_save_cpu"
METHODS = ("frame pointers", "DWARF CFI", "stack scan")


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
    _walk(u, PcpuStack(target, cpu), trace, dict(note.regs), method, idle)
    if cross_check:
        for other in available:
            if other == method:
                continue
            alt = PcpuTrace(cpu, vcpu, other)
            _walk(u, PcpuStack(target, cpu), alt, dict(note.regs), other, idle)
            trace.checked[other] = alt.frames() == trace.frames()
    return trace


def _is_idle_vcpu(target: XenTarget, cpu: int, vcpu: int) -> bool:
    try:
        return vcpu != 0 and vcpu == target.idle_vcpus[cpu]
    except XcrashError as err:
        caveat(f"idle_vcpu[] unreadable ({err}): pCPU {cpu}'s guest frame taken as current")
        return False


def _walk(u: Unwinder, stack: PcpuStack, trace: PcpuTrace, regs: dict[str, int], method: str,
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
    except StackEnd as stop:
        trace.error = str(stop)


def _step(u: Unwinder, stack: PcpuStack, method: str, pc: int, sp: int, bp: int,
          is_return: bool, first: bool) -> tuple[int, int, int, int] | None:
    """(slot, return address, caller's sp, caller's bp), or None at the end of the stack."""
    if stack.name(sp) is None:
        raise StackEnd(f"stack pointer {sp:x} is not on CPU's stack")
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


def _scan_step(u: Unwinder, stack: PcpuStack, pc: int, sp: int, lo: int, hi: int,
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


def _exception_frame(u: Unwinder, stack: PcpuStack, method: str, ra: int, sp: int,
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


def _plausible(u: Unwinder, stack: PcpuStack, addr: int, regs: dict[str, int]) -> bool:
    if not regs["rflags"] & 2 or regs["rflags"] >> 32 or regs["entry_vector"] > 0x1FF:
        return False                       # RFLAGS bit 1 is always set
    if regs["cs"] == XEN_CS:
        return u.is_text(regs["rip"]) and stack.name(regs["rsp"]) is not None
    # a guest's frame is the one at the top of the primary stack (cpu_info; its size
    # unknown without DWARF: then within its last 512 bytes)
    if stack.cpu_info is not None:
        return addr == stack.cpu_info and bool(regs["cs"] & 3)
    return stack.top - 512 <= addr <= stack.top - 200 and bool(regs["cs"] & 3)
