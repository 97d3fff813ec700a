"""pcpus, dumpinfo, sched: Xen's physical CPUs, their crash notes, the scheduler."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError, XcrashError
from .base import Column, Command, Context, Option, Result, Table, Text
from .xen_columns import ADDR, center, hexc

PCPUS_HEADER = f"   PCID {center('PCPU', ADDR)} {center('CUR-VCPU', ADDR)} {center('TSS', ADDR)}"
DUMPINFO_HEADER = (f" PCID {center('ENOTE', ADDR)} {center('CORE', ADDR)} "
                   f"{center('XEN_CORE', ADDR)} {center('XEN_INFO', ADDR)}")
SCHED_HEADER = (f"  CPU  {center('SCH-DATA', ADDR)} {center('SCH-PRIV', ADDR)} "
                f"{center('CUR-VCPU', ADDR)} {center('IDL-VCPU', ADDR)}")


def _x(v: Any) -> str:
    return "" if v is None else f"{v:x}"


def _cpus_arg(target: Any, args: list[str], cmd: str) -> list[int] | None:
    if not args:
        return None
    try:
        return [int(a, 10) for a in args]
    except ValueError:
        raise CommandError(f"{cmd}: invalid pcpu id: {' '.join(args)}") from None


class Pcpus(Command):
    name = "pcpus"
    synopsis = "pcpus [pcpu-id]..."
    summary = "Xen physical CPUs: cpu_info, current vCPU, TSS"
    group = "xen"
    targets = ("xen",)
    description = """\
Every physical CPU that was brought up:
  PCID      the CPU           PCPU  its struct cpu_info (top of its stack)
  CUR-VCPU  the vCPU it was running (cpu_info's current_vcpu)
  TSS       its TSS (per_cpu(tss_page).tss; crash 8.0.6 shows 0 here on Xen >= 4.16)
`*` marks the crashing CPU.  JSON adds curr_vcpu: whose registers are loaded
(with lazy context switching, a guest vCPU's while the idle vCPU runs).
"""
    example = "pcpus"

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.xen.pcpus import pcpus
        target = ctx.target
        wanted = _cpus_arg(target, args, "pcpus")
        try:
            pcs = pcpus(target)
        except XcrashError as err:
            raise CommandError(f"pcpus: {err}") from None
        crashing = target.crashing_cpu
        rows = [{"cpu": p.cpu, "cpu_info": p.cpu_info, "current_vcpu": p.current_vcpu,
                 "tss": p.tss, "curr_vcpu": p.curr_vcpu, "idle_vcpu": p.idle_vcpu,
                 "stack_base": p.stack_base, "crashing": p.cpu == crashing}
                for p in pcs if wanted is None or p.cpu in wanted]
        columns = [Column("PCID", "cpu", "right"), Column("PCPU", "cpu_info", fmt=_x),
                   Column("CUR-VCPU", "current_vcpu", fmt=_x), Column("TSS", "tss", fmt=_x)]
        return Table(columns, rows, plain=_pcpus_plain,
                     marks={i: "crashing" for i, r in enumerate(rows) if r["crashing"]})


def _pcpus_plain(table: Table) -> str:
    lines = [PCPUS_HEADER]
    for r in table.rows:
        lines.append(f"{' *' if r['crashing'] else '  '}{r['cpu']:5d} {hexc(r['cpu_info'])} "
                     f"{hexc(r['current_vcpu'])} {hexc(r['tss'])}")
    return "\n".join(lines)


class Dumpinfo(Command):
    name = "dumpinfo"
    synopsis = "dumpinfo [-r] [pcpu-id]..."
    summary = "Xen's per-CPU crash notes"
    group = "xen"
    targets = ("xen",)
    description = """\
Where Xen wrote each physical CPU's crash notes (crash_notes[]):
  ENOTE     the CPU's note buffer     CORE  its NT_PRSTATUS note
  XEN_CORE  its Xen CRASH_REGS note (cr0, cr2, cr3, cr4)
  XEN_INFO  the Xen CRASH_INFO note (only in pCPU 0's buffer, whoever crashed)
  -r        the saved registers of each CPU (from the dump's notes)
"""
    example = "dumpinfo\ndumpinfo -r 1"
    options = (Option("-r", "regs", "registers"),)

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.xen.pcpus import cpu_notes
        target = ctx.target
        opts, rest = self.parse(args)
        wanted = _cpus_arg(target, rest, "dumpinfo")
        try:
            notes = [n for n in cpu_notes(target) if wanted is None or n.cpu in wanted]
        except XcrashError as err:
            raise CommandError(f"dumpinfo: {err}") from None
        lines: list[str] = []
        records = []
        for i, n in enumerate(notes):
            if i == 0 or opts["regs"]:
                if i:
                    lines.append("")
                lines.append(DUMPINFO_HEADER)
            info = hexc(n.xen_info) if n.xen_info is not None else center("--", ADDR)
            lines.append(f"{n.cpu:5d} {hexc(n.note)} {hexc(n.core)} {hexc(n.xen_core)} {info}")
            rec: dict[str, Any] = {"cpu": n.cpu, "note": n.note, "core": n.core,
                                   "xen_core": n.xen_core, "xen_info": n.xen_info}
            if opts["regs"]:
                note = target.cpu_notes.get(n.cpu)
                cr = target.crash_regs(n.cpu)
                if note is not None:
                    lines.append(f"Register information({n.core + 12 + 8 + 112:x}):")
                    lines.extend(f"  {name} = 0x{value:x}" for name, value in note.regs.items())
                    rec["regs"] = dict(note.regs)
                if cr is not None:
                    lines.extend(f"  cr{k} = 0x{getattr(cr, 'cr' + str(k)):x}" for k in (0, 2, 3, 4))
            records.append(rec)
        return Text("\n".join(lines), records)


class Sched(Command):
    name = "sched"
    synopsis = "sched [pcpu-id]..."
    summary = "Xen's scheduler: per physical CPU resource, current and idle vCPU"
    group = "xen"
    targets = ("xen",)
    description = """\
The scheduler's name, then per physical CPU (Xen >= 4.13 schedules units):
  SCH-DATA  per_cpu(sched_res): the struct sched_resource
  SCH-PRIV  its sched_priv (the scheduler's per-CPU data)
  CUR-VCPU  the first vCPU of the unit it runs (granularity 1: the only one)
  IDL-VCPU  the vCPU of its idle unit
crash 8.0.6 reads per_cpu(sched_res) as if it were the structure and prints no
rows on Xen 4.17.
"""
    example = "sched"

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.xen.pcpus import sched_info, scheduler_name
        target = ctx.target
        wanted = _cpus_arg(target, args, "sched")
        try:
            infos = [s for s in sched_info(target) if wanted is None or s.cpu in wanted]
        except XcrashError as err:
            raise CommandError(f"sched: {err}") from None
        name = scheduler_name(target) or "(unknown)"
        lines = [f"Scheduler name : {name}", "", SCHED_HEADER]
        for s in infos:
            lines.append(f"{s.cpu:5d}  {hexc(s.resource)} {hexc(s.sched_priv)} "
                         f"{hexc(s.curr_vcpu)} {hexc(s.idle_vcpu)}")
        records = [{"cpu": s.cpu, "sched_resource": s.resource, "sched_priv": s.sched_priv,
                    "curr_unit": s.curr_unit, "curr_vcpu": s.curr_vcpu,
                    "idle_vcpu": s.idle_vcpu, "granularity": s.granularity,
                    "scheduler": name} for s in infos]
        return Text("\n".join(lines), records)


COMMANDS = [Pcpus, Dumpinfo, Sched]
