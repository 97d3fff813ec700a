"""pcpus, dumpinfo, sched: Xen's physical CPUs, their crash notes, the scheduler.

The records come from ``targets/xen/pcpus.py``; this module picks them by the
arguments and lays them out.
"""
from __future__ import annotations

from functools import partial
from collections.abc import Iterable, Iterator

from ..errors import CommandError, XcrashError
from ..layouts.xen_columns import ADDR, center, hexc
from ..results import Column, Records
from ..targets.xen.pcpus import (
    CpuNote,
    Pcpu,
    SchedInfo,
    cpu_notes,
    pcpus,
    sched_info,
    scheduler_name,
)
from .base import Command, Context, Option
from .args import xen_target

PCPUS_HEADER = f"   PCID {center('PCPU', ADDR)} {center('CUR-VCPU', ADDR)} {center('TSS', ADDR)}"
DUMPINFO_HEADER = (f" PCID {center('ENOTE', ADDR)} {center('CORE', ADDR)} "
                   f"{center('XEN_CORE', ADDR)} {center('XEN_INFO', ADDR)}")
SCHED_HEADER = (f"  CPU  {center('SCH-DATA', ADDR)} {center('SCH-PRIV', ADDR)} "
                f"{center('CUR-VCPU', ADDR)} {center('IDL-VCPU', ADDR)}")
CPU_ARGUMENTS = "[pcpu-id]..."


def _x(v: object) -> str:
    return "" if v is None else f"{v:x}"


def _cpus_arg(args: list[str], cmd: str) -> set[int] | None:
    """The pCPU ids named (None: all)."""
    if not args:
        return None
    if not all(a.isdigit() for a in args):
        raise CommandError(f"{cmd}: invalid pcpu id: {' '.join(args)}")
    return {int(a) for a in args}


# -- pcpus ----------------------------------------------------------------------------
PCPUS_COLUMNS = [Column("PCID", "cpu", "right"), Column("PCPU", "cpu_info", fmt=_x),
                 Column("CUR-VCPU", "current_vcpu", fmt=_x), Column("TSS", "tss", fmt=_x)]


def pcpus_lines(records: Iterable[Pcpu]) -> Iterator[str]:
    yield PCPUS_HEADER
    for p in records:
        yield (f"{' *' if p.crashing else '  '}{p.cpu:5d} {hexc(p.cpu_info)} "
               f"{hexc(p.current_vcpu)} {hexc(p.tss)}")


class Pcpus(Command):
    name = "pcpus"
    arguments = CPU_ARGUMENTS
    summary = "Xen physical CPUs: cpu_info, current vCPU, TSS"
    group = "xen"
    targets = ("xen",)
    description = """\
Every physical CPU that was brought up (or those named):
  PCID      the CPU           PCPU  its struct cpu_info (top of its stack)
  CUR-VCPU  the vCPU it was running (cpu_info's current_vcpu)
  TSS       its TSS (per_cpu(tss_page).tss; crash 8.0.6 shows 0 here on Xen >= 4.16)
`*` marks the crashing CPU.  JSON adds curr_vcpu: whose registers are loaded
(with lazy context switching, a guest vCPU's while the idle vCPU runs).
"""
    example = "pcpus"

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        wanted = _cpus_arg(rest, "pcpus")
        try:
            found = pcpus(xen_target(ctx))
        except XcrashError as err:
            raise CommandError(f"pcpus: {err}") from None
        return Records([p for p in found if wanted is None or p.cpu in wanted], pcpus_lines,
                       columns=PCPUS_COLUMNS,
                       mark=lambda p: "crashing" if p.crashing else None)


# -- dumpinfo -------------------------------------------------------------------------
def dumpinfo_lines(notes: Iterable[CpuNote], *, registers: bool = False) -> Iterator[str]:
    """crash's table; with the registers, the header again above each pCPU."""
    for i, n in enumerate(notes):
        if i == 0 or registers:
            if i:
                yield ""
            yield DUMPINFO_HEADER
        info = hexc(n.xen_info) if n.xen_info is not None else center("--", ADDR)
        yield f"{n.cpu:5d} {hexc(n.note)} {hexc(n.core)} {hexc(n.xen_core)} {info}"
        if n.regs is not None:
            yield f"Register information({n.regs_address:x}):"
            yield from (f"  {name} = 0x{value:x}" for name, value in n.regs.items())
        if n.control_regs is not None:
            yield from (f"  {name} = 0x{value:x}" for name, value in n.control_regs.items())


class Dumpinfo(Command):
    name = "dumpinfo"
    arguments = CPU_ARGUMENTS
    summary = "Xen's per-CPU crash notes"
    group = "xen"
    targets = ("xen",)
    description = """\
Where Xen wrote each physical CPU's crash notes (crash_notes[]):
  ENOTE     the CPU's note buffer     CORE  its NT_PRSTATUS note
  XEN_CORE  its Xen CRASH_REGS note (cr0, cr2, cr3, cr4)
  XEN_INFO  the Xen CRASH_INFO note (only in pCPU 0's buffer, whoever crashed)
"""
    example = "dumpinfo\ndumpinfo -r 1"
    options = (Option("-r", "regs", "the registers each CPU saved (from the dump's notes), "
                      "and its control registers"),)

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        wanted = _cpus_arg(rest, "dumpinfo")
        try:
            notes = cpu_notes(xen_target(ctx), registers=opts["regs"])
        except XcrashError as err:
            raise CommandError(f"dumpinfo: {err}") from None
        return Records([n for n in notes if wanted is None or n.cpu in wanted],
                       partial(dumpinfo_lines, registers=opts["regs"]))


# -- sched ----------------------------------------------------------------------------
def sched_lines(infos: Iterable[SchedInfo], *, scheduler: str) -> Iterator[str]:
    yield f"Scheduler name : {scheduler}"
    yield ""
    yield SCHED_HEADER
    for s in infos:
        yield (f"{s.cpu:5d}  {hexc(s.sched_resource)} {hexc(s.sched_priv)} "
               f"{hexc(s.curr_vcpu)} {hexc(s.idle_vcpu)}")


class Sched(Command):
    name = "sched"
    arguments = CPU_ARGUMENTS
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

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        target = xen_target(ctx)
        wanted = _cpus_arg(rest, "sched")
        try:
            infos = [s for s in sched_info(target) if wanted is None or s.cpu in wanted]
        except XcrashError as err:
            raise CommandError(f"sched: {err}") from None
        name = scheduler_name(target) or "(unknown)"
        for s in infos:
            s.scheduler = name
        return Records(infos, partial(sched_lines, scheduler=name))


COMMANDS = [Pcpus, Dumpinfo, Sched]
