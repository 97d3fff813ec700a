"""bt's other views of a physical CPU's stack on the Xen target, as crash defines them in
hypervisor mode: the text addresses on it (-t from where the trace starts, -T from the
primary stack's bottom), the raw stack (-r), the source line of each frame (-l), and
whether a trace references a symbol or a value (-R)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import MemoryError_, XcrashError
from .pcpustack import PAGE
from .traces import PcpuTraceStart, XenExceptionFrame, XenFrame

if TYPE_CHECKING:
    from ..memory import Word
    from .hypervisor import XenTarget


@dataclass
class XenText:
    """bt -t / -T: a word of a pCPU's stack that points into Xen's text (``start``:
    where the trace starts, crash's ``START:`` line)."""
    cpu: int
    sp: int
    pc: int
    function: str | None
    start: bool = False


@dataclass
class XenSource:
    """bt -l: the source file and line of a frame's return address."""
    cpu: int
    level: int
    file: str
    line: int


def _text_name(target: XenTarget, value: int) -> str | None:
    hit = target.symbols.resolve(value) if target.symbols is not None else None
    if hit is None or hit[0].type_char not in "tTwW":
        return None
    if hit[0].size and hit[1] > hit[0].size:
        return None
    return str(hit[0].name)


def text_records(target: XenTarget, records: list[Any], *, whole: bool) -> list[Any]:
    """bt -t / -T of one pCPU from its trace's records: the START line, then each word
    from the first frame's slot (or the primary stack's bottom) to the stack's top that
    points into Xen's text."""
    start = records[0]
    assert isinstance(start, PcpuTraceStart)
    out: list[Any] = [start]
    first = next((r for r in records if isinstance(r, XenFrame)), None)
    base = target.stack_bases[start.cpu]
    top = base + target.stack_size
    if first is not None:
        out.append(XenText(start.cpu, first.sp, first.pc, first.function, start=True))
    primary = base + 6 * PAGE
    lo = primary if whole or first is None or not base <= first.sp < top else first.sp
    try:
        raw = target.space.read(lo, top - lo)
    except MemoryError_ as err:
        start.error = f"cannot read the stack at {lo:x}: {err}"
        return out
    for off in range(0, len(raw) - 7, 8):
        value = int.from_bytes(raw[off:off + 8], "little")
        name = _text_name(target, value)
        if name is not None:
            out.append(XenText(start.cpu, lo + off, value, name))
    return out


def raw_records(target: XenTarget, start: PcpuTraceStart, sp: int | None) -> list[Any]:
    """bt -r: the pCPU's stack (all its pages, from SP with -S), words that point into
    Xen's symbols named."""
    from ..memory import words
    base = sp if sp is not None else target.stack_bases[start.cpu]
    out: list[Any] = [start]
    try:
        found: list[Word] = list(words(target.space, base, target.stack_size // 8, 8,
                                       namer=target.describe_address))
    except MemoryError_ as err:
        start.error = f"cannot read the stack at {base:x}: {err}"
        return out
    return out + found


def with_sources(target: XenTarget, records: list[Any]) -> list[Any]:
    """bt -l: each frame followed by its source line (where xen-syms has line tables)."""
    out: list[Any] = []
    for r in records:
        out.append(r)
        if isinstance(r, XenFrame) and target.symfile is not None:
            try:
                # the whole path, as crash's bt -l prints it (and as Linux's bt -l here)
                found = target.symfile.line_for_address(r.pc)
            except XcrashError:
                found = None        # no line tables for that address: the frame alone
            if found:
                out.append(XenSource(r.cpu, r.level, found[0], found[1]))
    return out


def references(target: XenTarget, records: list[Any], ref: str) -> bool:
    """bt -R: the trace names the symbol in a frame, or holds the value (a return
    address, a stack slot, an exception frame's register)."""
    try:
        value: int | None = int(ref, 16)
    except ValueError:
        value = None                # a symbol name
    for r in records:
        if isinstance(r, XenFrame):
            if r.function == ref or value in (r.pc, r.sp):
                return True
        elif isinstance(r, XenExceptionFrame) and value is not None and \
                value in r.regs.values():
            return True
    return False
