"""How the Xen hypervisor died: the facts of a host dump, as its first look finds them.

The crashing pCPU (the one that ran ``kexec_crash``), why (Xen's console: a debug key
``C``, a ``Panic on CPU N:`` message, a fatal trap), the functions of that pCPU's trace,
and whose vCPU it was running then (the domain that was on the CPU when it died).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...errors import XcrashError
from .traces import XenFrame, pcpu_trace_records
from .vcpus import vcpu_entries

if TYPE_CHECKING:
    from .hypervisor import XenTarget

_REASONS = (re.compile(r"'C' pressed -> triggering crashdump"),
            re.compile(r"Panic on CPU \d+:"),
            re.compile(r"FATAL TRAP: .*"), re.compile(r"Xen BUG at .*"),
            re.compile(r"Assertion '.*' failed at .*"))


@dataclass
class XenIncident:
    #: the console's line saying why ("'C' pressed -> triggering crashdump", or for a
    #: panic the message after "Panic on CPU N:"); "" when the console says nothing
    reason: str
    crashing_cpu: int | None
    #: the crashing pCPU's trace, innermost first (function names)
    functions: list[str] = field(default_factory=list)
    #: the vCPU the crashing pCPU ran: its domain id and vCPU id
    domain_id: int | None = None
    vcpu_id: int | None = None
    #: the hypervisor's version
    version: str | None = None


def console_reason(text: str) -> str:
    lines = [line.removeprefix("(XEN) ").strip() for line in text.splitlines()]
    for i in range(len(lines) - 1, -1, -1):
        for pattern in _REASONS:
            m = pattern.search(lines[i])
            if m is None:
                continue
            if lines[i].startswith("Panic on CPU") and i + 1 < len(lines):
                return lines[i + 1]
            return m.group(0)
    return ""


def xen_incident(xen: XenTarget) -> XenIncident:
    from .console import console_text
    try:
        reason = console_reason(console_text(xen))
    except XcrashError:
        reason = ""
    found = XenIncident(reason, xen.crashing_cpu, version=xen.version)
    if found.crashing_cpu is not None:
        try:
            found.functions = [r.function or "?" for r in
                               pcpu_trace_records(xen, found.crashing_cpu)
                               if isinstance(r, XenFrame)]
        except XcrashError:
            found.functions = []
    try:
        for v in vcpu_entries(xen):
            if v.crashing:
                found.domain_id, found.vcpu_id = v.domain_id, v.vcpu_id
    except XcrashError:
        pass                    # no vCPU list: the crashing domain is not known
    return found
