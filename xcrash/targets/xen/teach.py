"""What ``--explain`` teaches about the Xen hypervisor and how its guests are found.

As ``targets/linux/teach.py``: sentences found by asking this build's types and symbols
(DWARF or not), and a program body computing the answer's records into ``records``;
the program's target variable is ``xen``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...results import Teaching

if TYPE_CHECKING:
    from .hypervisor import XenTarget


def _source(xen: XenTarget) -> str:
    if xen.has_types:
        return "struct domain and struct vcpu as xen-syms's DWARF lays them out"
    return ("no DWARF in this xen-syms: the offsets VMCOREINFO_XEN gives (domain_id, "
            "next_in_list) and those Xen has kept since 3.x")


def domains_teaching(xen: XenTarget) -> Teaching:
    return Teaching(
        ["doms lists Xen's own domains first (dom_io, dom_xen, the idle domain: "
         "idle_vcpu[0]->domain), then domain_list, the chain of struct domain through "
         "next_in_list that Xen keeps sorted by domain_id.",
         f"It reads {_source(xen)}; a PV guest's P2M_MFN is the frame of its "
         "shared_info->arch.pfn_to_mfn_frame_list_list, the root of its p2m table; '>' marks "
         "a domain one of whose vCPUs a pCPU was running (per_cpu curr_vcpu), '*' the "
         "crashing pCPU's."],
        ["from xcrash.targets.xen import domains"],
        ["records = domains.domain_entries(xen)  # DomainEntry: domain_id, domain, state, ..."],
        variable="xen")


def vcpus_teaching(xen: XenTarget) -> Teaching:
    where = ("runstate.state and processor from DWARF" if xen.has_types else
             "vcpu_id, processor and domain at their fixed offsets, the runstate found by "
             "its contents (no DWARF)")
    return Teaching(
        ["vcpus walks each domain's vcpu[] array (struct domain's max_vcpus pointers to "
         f"struct vcpu) and reads {where}.",
         "A pCPU's current vCPU is cpu_info's current_vcpu at the top of its stack; with a "
         "lazy context switch per_cpu(curr_vcpu) still names the guest vCPU whose registers "
         "the pCPU holds while its idle vCPU runs (state_loaded)."],
        ["from xcrash.targets.xen import vcpus"],
        ["records = vcpus.vcpu_entries(xen)  # VcpuEntry: vcpu_id, processor, vcpu, state, ..."],
        variable="xen")


def pcpu_trace_teaching(xen: XenTarget, cpus: list[int]) -> Teaching:
    from .unwind import unwinder
    methods = unwinder(xen).methods()
    crashing = xen.crashing_cpu
    sentences = [
        "A pCPU's registers are those Xen saved in its crash note (one ELF note per pCPU, "
        "written by kexec_crash_save_cpu) and the walk runs on that pCPU's own stack "
        "(stack_base[cpu]); the crashing pCPU is the one that ran kexec_crash"
        + (f" (here pCPU {crashing})." if crashing is not None else "."),
        "Frames are found by " + " then ".join(
            {"DWARF CFI": "xen-syms's DWARF CFI (.debug_frame)",
             "stack scan": "a scan for return addresses"}.get(m, m) for m in methods)
        + "; each trace says which one produced it and whether the others agree.  An "
        "exception frame (struct cpu_user_regs) from a guest ends the walk: its registers "
        "are the guest vCPU's."]
    body = ["records = []"] + [f"records += traces.pcpu_trace_records(xen, {cpu})  # pCPU {cpu}"
                               for cpu in cpus]
    return Teaching(sentences, ["from xcrash.targets.xen import traces"], body, variable="xen")


def console_teaching(xen: XenTarget) -> Teaching:
    return Teaching(
        ["The hypervisor's log is its console ring, conring (conring_size bytes, 16 KiB "
         "by default), written at conringp: the oldest text starts there when the ring has "
         "wrapped, what xl dmesg shows."],
        ["from xcrash.targets.xen import console"],
        ["text = console.console_text(xen)"], variable="xen")


def guests_teaching(session: Any, guests: list[Any]) -> Teaching:
    """How the guests became targets (``target``)."""
    sources = []
    for g in guests:
        p2m = getattr(g, "p2m", None)
        sources.append(f"{g.name}: {getattr(g, 'symbol_match', '') or 'no vmlinux fits'}"
                       + (f", p2m root mfn {p2m.fll_mfn:x}" if p2m is not None and
                          hasattr(p2m, "fll_mfn") else ""))
    return Teaching(
        ["Each PV domain becomes a Linux target: its page tables are found at the guest "
         "kernel's init_top_pgt (walked in machine frames) and its p2m from "
         "shared_info->arch.pfn_to_mfn_frame_list_list (for dom0 without Xen's DWARF, from "
         "Xen's crash note).",
         "A vmlinux serves a domain when its linux_banner and build-id are found in the "
         "domain's memory through those tables; the vCPUs' registers come from the "
         "pCPU's guest frame (cpu_info) when loaded, else struct vcpu's arch.user_regs."],
        ["from xcrash import session as sessions"],
        ["records = sessions.target_summaries(session)  # one TargetSummary per target"],
        details=sources, variable="target")

