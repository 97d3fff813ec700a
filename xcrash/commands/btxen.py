"""bt on the Xen target: a physical CPU's back trace and its other views, with the
options crash defines in hypervisor mode (the Linux part is ``bt.py``).

The records come from ``targets/xen/traces.py`` and ``targets/xen/btviews.py``.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from ..caveats import caveat
from ..errors import CommandError
from ..layouts.frames import raw_stack_lines, word_lines, xen_exception_frame_lines
from ..results import Records
from ..targets.xen import btviews, traces as xen_traces
from ..targets.xen.btviews import XenSource, XenText
from ..targets.xen.traces import (PcpuTraceStart, XenExceptionFrame, XenFrame, XenFrameWords,
                                  XenStackChange, XenWord)
from .args import parse_cpu_list, parse_number

if TYPE_CHECKING:
    from ..targets.xen.hypervisor import XenTarget
    from .base import Context

METHOD_NAMES = {"fp": "frame pointers", "cfi": "DWARF CFI", "scan": "stack scan"}
#: crash's options that hypervisor mode refuses ("option not supported")
NOT_IN_HYPERVISOR_MODE = (("eframes", "e"), ("irqframes", "E"), ("overflow", "v"),
                          ("old", "o"), ("old_default", "O"))


def _xen_end(start: PcpuTraceStart) -> Iterator[str]:
    if start.error:
        yield f"bt: {start.error}"
    verdict = f"    (unwound by {start.method}"
    for other, same in start.checked.items():
        verdict += f"; {other}: " + ("same frames" if same else "differs")
    yield verdict + ")"
    if start.lazy_vcpu is not None:
        who = start.lazy_vcpu_name or f"vcpu {start.lazy_vcpu:x}"
        yield (f"    ({who}: its registers are still loaded here (lazy context switch), "
               f"in cpu_info {start.cpu_info:x})")


def _header(r: PcpuTraceStart) -> str:
    return f"PCPU: {r.cpu:2d}  VCPU: {r.vcpu:x}"


def xen_trace_lines(records: Iterable[Any], *, offsets: str | None = None,
                    names: bool = False) -> Iterator[str]:
    """The back traces of physical CPUs, a blank line between them; after the frames,
    how they were found and whether the other methods agree.  ``offsets`` ("d", "x":
    bt -s, -sx) adds each frame's offset in its function; ``names`` (bt -F) shows the
    stack words that point into symbols as symbol+offset."""
    start: PcpuTraceStart | None = None
    for r in records:
        if isinstance(r, PcpuTraceStart):
            if start is not None:
                yield from _xen_end(start)
                yield ""
            start = r
            yield _header(r)
            if r.skipped:                           # -n idle: the header alone
                start = None
        elif isinstance(r, XenFrame):
            shown = r.function or "(unknown)"
            if offsets and r.function is not None and r.offset:
                shown += f"+{r.offset:#x}" if offsets == "x" else f"+{r.offset}"
            yield f"{'#' + str(r.level):>3} [{r.sp:x}] {shown} at {r.pc:x}"
        elif isinstance(r, XenSource):
            yield f"    {r.file}: {r.line}"
        elif isinstance(r, XenFrameWords):
            yield from word_lines(r.words, _word_name if names else lambda _w: None)
        elif isinstance(r, XenExceptionFrame):
            guest = (start.vcpu_name if start is not None else None) or "guest"
            yield from xen_exception_frame_lines(r, guest if r.guest else None)
        elif isinstance(r, XenStackChange):
            yield f"--- <{r.left_stack} exception stack> ---"
    if start is not None:
        yield from _xen_end(start)


def _word_name(w: XenWord) -> str | None:
    return w.name


def xen_text_lines(records: Iterable[Any]) -> Iterator[str]:
    """bt -t / -T on the Xen target: each pCPU's text addresses."""
    first = True
    for r in records:
        if isinstance(r, PcpuTraceStart):
            if not first:
                yield ""
            first = False
            yield _header(r)
            if r.error:
                yield f"bt: {r.error}"
        elif isinstance(r, XenText):
            if r.start:
                yield f"{'':14}START: {r.function or f'{r.pc:x}'} at {r.pc:x}"
            else:
                yield f"  [{r.sp:x}] {r.function} at {r.pc:x}"


def xen_raw_lines(records: Iterable[Any]) -> Iterator[str]:
    """bt -r on the Xen target: each pCPU's header, then its stack."""
    return raw_stack_lines(records, lambda r: (_header(r), r.error)
                           if isinstance(r, PcpuTraceStart) else None)


def _pcpus(target: XenTarget, opts: dict[str, Any], rest: list[str]) -> list[int]:
    """The pCPUs asked for: -a, -c LIST, pCPU arguments, else the crashing one."""
    if opts["all"]:
        return list(target.cpu_notes)
    if opts["cpus"] is not None:
        cpus = parse_cpu_list(opts["cpus"], "bt")
    elif rest:
        cpus = []
        for arg in rest:
            try:
                cpus.append(parse_number(arg, 10))
            except CommandError:
                raise CommandError(f"bt: invalid pcpu id: {arg}") from None
    elif target.crashing_cpu is not None:
        return [target.crashing_cpu]
    else:
        cpu = next(iter(target.cpu_notes))
        caveat(f"the crashing pCPU is not known: pCPU {cpu}, the first that saved "
               "registers, is shown")
        return [cpu]
    for cpu in cpus:
        if cpu not in target.cpu_notes:
            raise CommandError(f"bt: invalid pcpu id: {cpu}")
    return cpus


def xen_run(ctx: Context, target: XenTarget, opts: dict[str, Any], rest: list[str]
            ) -> Records:
    """bt on the Xen target, with crash's hypervisor-mode options."""
    for dest, letter in NOT_IN_HYPERVISOR_MODE:
        if opts[dest]:
            raise CommandError(f"bt: -{letter} option not supported or applicable on this "
                               "architecture or kernel")
    if opts["panic"]:
        raise CommandError("bt: no panic task found! (the hypervisor has pCPUs: bt shows "
                           "the crashing one)")
    if opts["ip"] is not None or opts["sp"] is not None and not opts["raw"]:
        raise CommandError("bt: -I and -S start Linux traces only: a pCPU's trace starts "
                           "from the registers Xen saved in its crash note")
    method = METHOD_NAMES.get(opts["method"], opts["method"]) if opts["method"] else None
    cpus = _pcpus(target, opts, rest)
    names = opts["symdata"] or opts["symslab"]
    words = opts["data"] or names
    idle = set(target.idle_vcpus) if opts["idle"] == "idle" else set()

    def traced(cpu: int) -> list[Any]:
        records = xen_traces.pcpu_trace_records(target, cpu, method, words=bool(words))
        if names:
            for r in records:
                if isinstance(r, XenFrameWords):
                    r.words = [_named(target, w) for w in r.words]
        return records

    def each() -> Iterator[Any]:
        for cpu in cpus:
            ctx.check()
            if opts["raw"]:
                start = traced(cpu)[0]
                sp = parse_number(opts["sp"], 16) if opts["sp"] is not None else None
                yield from btviews.raw_records(target, start, sp)
                continue
            records = traced(cpu)
            start = records[0]
            if opts["ref"] is not None and not btviews.references(target, records, opts["ref"]):
                continue
            if start.vcpu in idle:
                start.skipped = True        # -n idle: the header alone
                yield start
                continue
            if opts["text"] or opts["alltext"]:
                yield from btviews.text_records(target, records, whole=opts["alltext"])
            elif opts["lines"]:
                yield from btviews.with_sources(target, records)
            else:
                yield from records

    offsets = ("x" if opts["hexoff"] else "d") if opts["symoff"] else None
    if opts["raw"]:
        return Records(each(), xen_raw_lines)
    if opts["text"] or opts["alltext"]:
        return Records(each(), xen_text_lines)
    return Records(each(), partial(xen_trace_lines, offsets=offsets, names=bool(names)))


def _named(target: XenTarget, w: XenWord) -> Any:
    """A stack word with the symbol+offset it points into (bt -F)."""
    if isinstance(w.value, int):
        w.name = target.describe_address(w.value)
    return w
