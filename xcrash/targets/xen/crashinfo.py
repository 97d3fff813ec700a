"""How the Xen hypervisor died: the console's last word and the crashing pCPU's trace.

Xen leaves its reason on the console ring: ``'C' pressed -> triggering crashdump``
(the crash debug key, from the serial console or ``xl debug-keys C``), a ``Panic on
CPU N:`` block between two lines of stars (``FATAL TRAP``, ``Assertion ... failed``,
``Xen BUG at ...``), or ``Hardware Dom0 crashed`` (dom0 panicked and asked Xen to
kexec).  :func:`crash_site` turns that and the crashing pCPU's trace into a
:class:`~xcrash.targets.signature.CrashSite`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...caveats import caveat
from ...errors import XcrashError
from ..signature import CrashSite, function_name

if TYPE_CHECKING:
    from .hypervisor import XenTarget

#: Xen functions that say how it died, not where: kexec, panic, the NMI and
#: exception entry, the hypercall and guest-entry paths, the idle loop's bottom
MACHINERY = frozenset("""
kexec_crash machine_crash_shutdown panic do_nmi_crash nmi_crash handle_ist_exception do_nmi
fatal_trap do_page_fault handle_exception handle_exception_saved do_general_protection do_trap
do_invalid_op do_double_fault do_machine_check machine_check entry_int82 lstar_enter cstar_enter
sysenter_entry int80_direct_trap pv_hypercall hvm_do_hypercall test_all_events
restore_all_guest restore_all_xen reset_stack_and_jump continue_running
""".split())

_KEY = re.compile(r"'(.)' pressed -> triggering crashdump")
_PANIC = re.compile(r"Panic on CPU (\d+):")
_STARS = re.compile(r"^\*{10,}$")
_DOM0 = re.compile(r"Hardware Dom0 crashed|Domain 0 crashed")


@dataclass
class ConsoleReason:
    """What the console ring says of the crash: its kind (crash key, panic, dom0
    crashed), the message and the pCPU it names (None: it names none)."""
    kind: str
    message: str
    cpu: int | None = None


def console_lines(target: XenTarget) -> list[str]:
    """The console ring's lines without their ``(XEN)`` prefix."""
    from .console import console_text
    return [line.removeprefix("(XEN) ").rstrip() for line in console_text(target).split("\n")]


def console_reason(lines: list[str]) -> ConsoleReason | None:
    """The last crash reason the console shows, None when it shows none."""
    found: ConsoleReason | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        key = _KEY.search(line)
        panic = _PANIC.search(line)
        if key:
            found = ConsoleReason("crash key", line.strip())
        elif panic:
            body: list[str] = []
            j = i + 1
            while j < len(lines) and not _STARS.match(lines[j].strip()) and len(body) < 8:
                if lines[j].strip():
                    body.append(lines[j].strip())
                j += 1
            found = ConsoleReason("panic", " ".join(body) or "panic", int(panic.group(1)))
            i = j
        elif _DOM0.search(line):
            found = ConsoleReason("dom0 crashed", line.strip())
        i += 1
    return found


def trace_functions(records: list[Any]) -> list[str]:
    """The functions of a pCPU's trace records, innermost first, without the machinery
    and compiler suffixes, a repeat of the one before dropped (a guest's frame ends it)."""
    from .traces import XenExceptionFrame, XenFrame
    out: list[str] = []
    for r in records:
        name = None
        if isinstance(r, XenFrame):
            name = r.function
        elif isinstance(r, XenExceptionFrame):
            if r.guest:
                break
            name = r.function
        if name is None:
            continue
        name = function_name(name)
        if name in MACHINERY or out and out[-1] == name:
            continue
        out.append(name)
    return out


def crash_site(target: XenTarget, dom0: CrashSite | None = None) -> CrashSite:
    """The hypervisor's crash: titled ``Xen: crash key on pCPU 1``, ``Xen: <panic
    message> in FUNCTION``, or for dom0's crash ``Xen: dom0 crashed: <dom0's title>``
    (then dom0's frames sign it)."""
    from .traces import pcpu_trace_records
    try:
        reason = console_reason(console_lines(target))
    except XcrashError as err:
        caveat(f"the console ring is unreadable ({err}): the crash title has no reason")
        reason = None
    cpu = target.crashing_cpu
    if cpu is None and reason is not None:
        cpu = reason.cpu
    frames: list[str] = []
    if cpu is not None and target.symbols is not None:
        try:
            frames = trace_functions(pcpu_trace_records(target, cpu))
        except XcrashError as err:
            caveat(f"pCPU {cpu}'s trace is unreadable ({err}): the crash has no frames")
    where = f" on pCPU {cpu}" if cpu is not None else ""
    if reason is None:
        why = " (no xen-syms: its console and stacks unread)" if target.symbols is None else ""
        return CrashSite(target.name, f"Xen: crash{where}, reason unknown{why}", "Xen crash",
                         frames, cpu=cpu, kind="unknown")
    if reason.kind == "crash key":
        key = _KEY.search(reason.message)
        assert key is not None
        message = "crash key" if key.group(1) == "C" else f"crash key '{key.group(1)}'"
        return CrashSite(target.name, f"Xen: {message}{where}", reason.message, frames,
                         cpu=cpu, kind="crash key")
    if reason.kind == "dom0 crashed" and dom0 is not None:
        return CrashSite(target.name, f"Xen: dom0 crashed: {dom0.title}",
                         f"dom0 crashed: {dom0.message}", dom0.frames, cpu=cpu,
                         pid=dom0.pid, comm=dom0.comm, task=dom0.task, kind="dom0 crashed")
    title = f"Xen: {reason.message}" + (f" in {frames[0]}" if frames else where)
    return CrashSite(target.name, title, reason.message, frames, cpu=cpu, kind=reason.kind)
