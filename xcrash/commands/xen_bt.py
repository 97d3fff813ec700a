"""bt on the Xen target: back traces of the physical CPUs (no commands here;
``bt`` dispatches to :func:`run` when the current target is the hypervisor)."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError, XcrashError
from .args import parse_cpu_list
from .base import Context, Text
from .bt import general_registers

METHOD_NAMES = {"fp": "frame pointers", "cfi": "DWARF CFI", "scan": "stack scan"}


def eframe_lines(target: Any, regs: dict[str, int], guest: str | None) -> list[str]:
    r = regs
    if guest is not None:
        out = [f"    [{guest} registers]"]
    else:
        hit = target.symbols.resolve(r["rip"])
        where = (f"{hit[0].name}+{hit[1]}" if hit[1] else hit[0].name) if hit else f"{r['rip']:x}"
        out = [f"    [exception RIP: {where}]"]
    out += general_registers(r)
    out += [
        f"    ERROR_CODE: {r['error_code']:08x}  ENTRY_VECTOR: {r['entry_vector']:04x}"
        f"  CS: {r['cs']:04x}  SS: {r['ss']:04x}",
    ]
    return out


def _vcpu_name(target: Any, vcpu: int) -> str | None:
    if not vcpu or not target.has_types:
        return None
    try:
        v = target.object_at("struct vcpu", vcpu)
        return f"domain {int(v.domain.domain_id)} vcpu {int(v.vcpu_id)}"
    except XcrashError:
        return None


def _verdict(trace: Any) -> str:
    text = f"    (unwound by {trace.method}"
    for other, same in trace.checked.items():
        text += f"; {other}: " + ("same frames" if same else "differs")
    return text + ")"


def format_trace(target: Any, trace: Any, *, frames_data: bool = False,
                 records: list[dict[str, Any]] | None = None) -> str:
    from ..targets.xen.unwind import ExceptionFrame, Frame, StackSwitch
    out = [f"PCPU: {trace.cpu:2d}  VCPU: {trace.vcpu:x}"]
    n = 0
    items = trace.items
    for i, item in enumerate(items):
        if isinstance(item, Frame):
            hit = target.symbols.resolve(item.pc)
            name = hit[0].name if hit else "(unknown)"
            out.append(f"{'#' + str(n):>3} [{item.slot:x}] {name} at {item.pc:x}")
            if records is not None:
                records.append({"cpu": trace.cpu, "level": n, "sp": item.slot, "pc": item.pc,
                                "function": name, "offset": hit[1] if hit else None,
                                "stack": item.stack, "method": trace.method})
            n += 1
            if frames_data:
                nxt = items[i + 1] if i + 1 < len(items) else None
                end = nxt.slot + 8 if isinstance(nxt, Frame) and nxt.slot > item.slot else \
                    nxt.address if isinstance(nxt, ExceptionFrame) and nxt.address > item.slot \
                    else None
                if end is not None and end - item.slot <= 8192:
                    out += _data_lines(target, item.slot + 8, end)
        elif isinstance(item, ExceptionFrame):
            guest = _vcpu_name(target, trace.vcpu) or "guest" if item.guest else None
            out += eframe_lines(target, item.regs, guest)
            if records is not None:
                records.append({"cpu": trace.cpu, "exception_frame": item.address,
                                "guest": item.guest, "regs": item.regs})
        elif isinstance(item, StackSwitch):
            out.append(f"--- <{item.left} exception stack> ---")
    if trace.error:
        out.append(f"bt: {trace.error}")
    out.append(_verdict(trace))
    return "\n".join(out)


def _data_lines(target: Any, lo: int, hi: int) -> list[str]:
    out = []
    try:
        raw = target.space.read(lo, hi - lo)
    except XcrashError:
        return out
    for off in range(0, len(raw), 16):
        words = [raw[j:j + 8] for j in range(off, min(off + 16, len(raw)), 8)]
        out.append(f"    {lo + off:x}: "
                   + " ".join(f"{int.from_bytes(w, 'little'):016x}" for w in words) + " ")
    return out


def _lazy_note(target: Any, cpu: int) -> str | None:
    """An idle pCPU still holding a guest vCPU's state (lazy context switch)."""
    if not target.has_types:
        return None
    from ..targets.xen.pcpus import pcpus
    try:
        p = next((p for p in pcpus(target) if p.cpu == cpu), None)
    except XcrashError:
        return None
    if p is None or not p.lazy:
        return None
    return (f"    ({_vcpu_name(target, p.curr_vcpu) or f'vcpu {p.curr_vcpu:x}'}: its registers "
            f"are still loaded here (lazy context switch), in cpu_info {p.cpu_info:x})")


def run(ctx: Context, opts: dict[str, Any], rest: list[str]) -> Text:
    from ..targets.xen.unwind import backtrace
    target = ctx.target
    if rest:
        raise CommandError("bt: on the Xen target, name physical CPUs with -c CPU (or -a)")
    method = None
    if opts.get("method"):
        method = METHOD_NAMES.get(opts["method"], opts["method"])
    if opts["all"]:
        cpus = list(target.cpu_notes)
    elif opts["cpus"] is not None:
        cpus = parse_cpu_list(opts["cpus"], "bt")
        for cpu in cpus:
            if cpu not in target.cpu_notes:
                raise CommandError(f"bt: invalid pcpu: {cpu}")
    else:
        crashing = target.crashing_cpu
        cpus = [crashing if crashing is not None else next(iter(target.cpu_notes))]
    parts: list[str] = []
    records: list[dict[str, Any]] = []
    for cpu in cpus:
        ctx.check()
        try:
            trace = backtrace(target, cpu, method)
        except XcrashError as err:
            raise CommandError(str(err) if str(err).startswith("bt:") else f"bt: {err}") from None
        text = format_trace(target, trace, frames_data=opts["data"], records=records)
        lazy = _lazy_note(target, cpu)
        parts.append(text + ("\n" + lazy if lazy else ""))
    return Text("\n\n".join(parts), records)
