"""bt's records on the Xen target: a physical CPU's back trace (``unwind.py`` walks it).

A trace is a :class:`PcpuTraceStart` (the pCPU, its vCPU, how the trace was unwound and
whether the other methods agree, a guest vCPU's state still loaded there) followed by
its :class:`XenFrame` records, the registers of the exception frames met
(:class:`XenExceptionFrame`: Xen's own, or a guest's on entry), the switches between
stacks and, on request, each frame's stack words (:class:`XenFrameWords`, bt -f).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, XcrashError
from .unwind import ExceptionFrame, Frame, PcpuTrace, StackSwitch, backtrace

if TYPE_CHECKING:
    from .hypervisor import XenTarget

#: frame words are shown for frames up to this far apart (two pages: one frame's
#: locals; a frame further is on another stack)
FRAME_WORDS_LIMIT = 8192


@dataclass
class PcpuTraceStart:
    """A pCPU's trace begins (``PCPU: 1  VCPU: ffff...``)."""
    cpu: int
    vcpu: int
    #: how the frames were found: "DWARF CFI", "frame pointers" or "stack scan"
    method: str
    #: the other methods that were tried: True when they found the same frames
    checked: dict[str, bool | None]
    #: why the walk stopped before its normal end
    error: str | None = None
    #: an idle pCPU still holding a guest vCPU's registers (lazy context switch): that
    #: vCPU, and the cpu_info where the registers are
    lazy_vcpu: int | None = None
    cpu_info: int | None = None
    #: "domain 0 vcpu 1": the vCPU's name (None: not known, without Xen's types)
    vcpu_name: str | None = field(default=None, metadata={"json": False})
    lazy_vcpu_name: str | None = field(default=None, metadata={"json": False})
    #: bt -n idle: the pCPU runs its idle vCPU, its trace is left out (the header stays)
    skipped: bool = field(default=False, metadata={"json": False})


@dataclass
class XenFrame:
    cpu: int
    level: int
    sp: int
    pc: int
    function: str | None
    offset: int | None
    stack: str
    method: str


@dataclass
class XenExceptionFrame:
    """A ``struct cpu_user_regs``: Xen's own (an exception, an NMI) or a guest's (``guest``:
    the registers the guest had when it entered Xen)."""
    cpu: int
    exception_frame: int
    guest: bool
    regs: dict[str, int]
    #: Xen's function RIP is in (Xen's own frames)
    function: str | None
    offset: int | None
    stack: str


@dataclass
class XenStackChange:
    cpu: int
    left_stack: str


@dataclass
class XenWord:
    address: int
    value: int | Unreadable
    #: bt -F: the symbol+offset the value points into
    name: str | None = field(default=None, metadata={"json": False})


@dataclass
class XenFrameWords:
    cpu: int
    level: int
    words: list[XenWord]


def vcpu_name(target: XenTarget, vcpu: int) -> str | None:
    """``domain D vcpu V`` of a struct vcpu (None without Xen's types)."""
    if not vcpu or not target.has_types:
        return None
    try:
        v = target.object_at("struct vcpu", vcpu)
        return f"domain {int(v.domain.domain_id)} vcpu {int(v.vcpu_id)}"
    except XcrashError as err:
        caveat(f"vcpu {vcpu:x} unreadable ({err}): not named")
        return None


def _lazy(target: XenTarget, cpu: int) -> tuple[int, int] | None:
    """(vcpu, cpu_info) when an idle pCPU still holds a guest vCPU's state."""
    if not target.has_types:
        return None           # the lazy state is read through Xen's types
    from .pcpus import pcpus
    try:
        p = next((p for p in pcpus(target) if p.cpu == cpu), None)
    except XcrashError as err:
        caveat(f"pCPU {cpu}: cpu_info unreadable ({err}): a lazily switched vCPU is not "
               "looked for")
        return None
    if p is None or not p.lazy or not isinstance(p.curr_vcpu, int):
        return None
    return p.curr_vcpu, p.cpu_info


def pcpu_trace_records(target: XenTarget, cpu: int, method: str | None = None, *,
                       words: bool = False) -> list[Any]:
    """The records of a pCPU's back trace (``method``: "DWARF CFI", "frame pointers"
    or "stack scan"; None: the best the binary offers)."""
    trace = backtrace(target, cpu, method)
    lazy = _lazy(target, cpu)
    items = _items(target, trace, words)
    guest = any(isinstance(r, XenExceptionFrame) and r.guest for r in items)
    start = PcpuTraceStart(cpu, trace.vcpu, trace.method, dict(trace.checked), trace.error,
                           lazy_vcpu=lazy[0] if lazy else None,
                           cpu_info=lazy[1] if lazy else None,
                           vcpu_name=vcpu_name(target, trace.vcpu) if guest else None,
                           lazy_vcpu_name=vcpu_name(target, lazy[0]) if lazy else None)
    return [start, *items]


def _items(target: XenTarget, trace: PcpuTrace, words: bool) -> list[Any]:
    out: list[Any] = []
    items = trace.items
    level = 0
    for i, item in enumerate(items):
        if isinstance(item, Frame):
            hit = target.symbols.resolve(item.pc)
            out.append(XenFrame(trace.cpu, level, item.slot, item.pc,
                                hit[0].name if hit else None, hit[1] if hit else None,
                                item.stack, trace.method))
            if words:
                nxt = items[i + 1] if i + 1 < len(items) else None
                end = nxt.slot + 8 if isinstance(nxt, Frame) and nxt.slot > item.slot else \
                    nxt.address if isinstance(nxt, ExceptionFrame) and nxt.address > item.slot \
                    else None
                if end is not None and end - item.slot <= FRAME_WORDS_LIMIT:
                    out.append(XenFrameWords(trace.cpu, level, _words(target, item.slot + 8, end)))
            level += 1
        elif isinstance(item, ExceptionFrame):
            function = offset = None
            if not item.guest:
                hit = target.symbols.resolve(item.regs["rip"])
                function, offset = (hit[0].name, hit[1]) if hit else (None, None)
            out.append(XenExceptionFrame(trace.cpu, item.address, item.guest, item.regs,
                                         function, offset, item.stack))
        elif isinstance(item, StackSwitch):
            out.append(XenStackChange(trace.cpu, item.left))
    return out


def _words(target: XenTarget, lo: int, hi: int) -> list[XenWord]:
    try:
        raw = target.space.read(lo, hi - lo)
    except MemoryError_ as err:
        caveat(f"stack {lo:x}-{hi:x} unreadable ({err}): its words shown as ?")
        return [XenWord(a, Unreadable(str(err))) for a in range(lo, hi, 8)]
    return [XenWord(lo + off, int.from_bytes(raw[off:off + 8], "little"))
            for off in range(0, len(raw) - 7, 8)]
