"""``xcrash report``: the first page of answers about a dump, in one pass over every target
(the Linux kernel; on a Xen host the hypervisor, its domains and vCPUs, every pCPU's
back trace and each guest's kernel): as text, JSON or one self-contained HTML page.

    report = build_report(xcrash.open("vmcore", "vmlinux"))
    print(to_text(report))

A face over the commands and the targets' helpers (docs/architecture.md): the
sections are the commands' records and text, so a report says what the shell says.
"""
from .build import LOG_TAIL, SLAB_TOP, build_report, crash_sites, dump_crash, dump_facts
from .model import FORMAT, DumpFacts, Report, Section, TargetReport
from .render import html_page, to_html, to_json, to_text

__all__ = ["FORMAT", "LOG_TAIL", "SLAB_TOP", "DumpFacts", "Report", "Section", "TargetReport",
           "build_report", "crash_sites", "dump_crash", "dump_facts", "html_page", "to_html",
           "to_json", "to_text"]
