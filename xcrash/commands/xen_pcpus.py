"""pcpus, dumpinfo, sched: Xen's physical CPUs, their crash notes, the scheduler.

The records come from ``targets/xen/pcpus.py``; this module picks them by the
arguments and lays them out.
"""
from __future__ import annotations

from functools import partial
from typing import TypeVar
from collections.abc import Iterable, Iterator

from ..errors import CommandError, XcrashError
from ..layouts.values import struct_lines
from ..layouts.xen_columns import ADDR, center, hexc
from ..results import Column, Records
from ..targets.xen.pcpus import (
    CpuNote,
    Pcpu,
    PcpuDetail,
    SchedInfo,
    cpu_notes,
    pcpus,
    registers_struct,
    sched_info,
    scheduler_name,
    tss_struct,
)
from .base import Command, Context, Option
from .args import xen_target

PCPUS_HEADER = f"   PCID {center('PCPU', ADDR)} {center('CUR-VCPU', ADDR)} {center('TSS', ADDR)}"
DUMPINFO_HEADER = (f" PCID {center('ENOTE', ADDR)} {center('CORE', ADDR)} "
                   f"{center('XEN_CORE', ADDR)} {center('XEN_INFO', ADDR)}")
SCHED_HEADER = (f"  CPU  {center('SCH-DATA', ADDR)} {center('SCH-PRIV', ADDR)} "
                f"{center('CUR-VCPU', ADDR)} {center('IDL-VCPU', ADDR)}")
CPU_ARGUMENTS = "[pcpu-id]..."
_HEX = set("0123456789abcdefABCDEF")


def _number(arg: str) -> tuple[int | None, int | None] | None:
    """crash's reading of a number argument: (as decimal, as hexadecimal), either None
    where it is not one; None when it is neither (crash's IS_A_NUMBER)."""
    digits = arg[2:] if arg.lower().startswith("0x") else arg
    dec = int(arg) if arg.isdigit() else None
    hexa = int(digits, 16) if digits and set(digits) <= _HEX and len(digits) <= 16 else None
    return None if dec is None and hexa is None else (dec, hexa)


def _pick(args: list[str], cmd: str, by_id: dict[int, T], by_address: dict[int, T],
          invalid: str) -> list[T] | None:
    """The items named by pCPU id or address, in the order given (None: all), as
    crash's xen_hyper_str_to_*_context reads them: a decimal id first, then the
    hexadecimal value as an id or an address."""
    if not args:
        return None
    out = []
    for a in args:
        number = _number(a)
        if number is None:
            raise CommandError(f"{cmd}: invalid address: {a}" if cmd != "dumpinfo"
                               else f"{cmd}: {invalid}: {a}")
        found = None
        for value in number:
            if value is not None:
                found = by_id.get(value) if value in by_id else by_address.get(value)
                if found is not None:
                    break
        if found is None:
            raise CommandError(f"{cmd}: {invalid}: {a}")
        out.append(found)
    return out


T = TypeVar("T")


def _x(v: object) -> str:
    return "" if v is None else f"{v:x}"


# -- pcpus ----------------------------------------------------------------------------
PCPUS_COLUMNS = [Column("PCID", "cpu", "right"), Column("PCPU", "cpu_info", fmt=_x),
                 Column("CUR-VCPU", "current_vcpu", fmt=_x), Column("TSS", "tss", fmt=_x)]


def pcpu_line(p: Pcpu) -> str:
    return (f"{' *' if p.crashing else '  '}{p.cpu:5d} {hexc(p.cpu_info)} "
            f"{hexc(p.current_vcpu)} {hexc(p.tss)}")


def pcpus_lines(records: Iterable[Pcpu]) -> Iterator[str]:
    yield PCPUS_HEADER
    yield from (pcpu_line(p) for p in records)


def pcpu_detail_lines(records: Iterable[PcpuDetail]) -> Iterator[str]:
    """pcpus -r/-t: each pCPU under its header (a blank line between), then its
    registers and its TSS as gdb prints the structures."""
    for i, d in enumerate(records):
        if i:
            yield ""
        yield from (PCPUS_HEADER, pcpu_line(d.pcpu))
        if d.registers is not None:
            yield "Register information:"
            yield from struct_lines(d.registers)
        if d.tss is not None:
            yield "init_tss information:"
            yield from struct_lines(d.tss)


class Pcpus(Command):
    name = "pcpus"
    arguments = "[pcpu-id | pcpup] ..."
    summary = "Xen physical CPUs: cpu_info, current vCPU, TSS"
    group = "xen"
    targets = ("xen",)
    description = """\
Every physical CPU that was brought up (or those named, by id or by the address of
its cpu_info, in the order named):
  PCID      the CPU           PCPU  its struct cpu_info (top of its stack)
  CUR-VCPU  the vCPU it was running (cpu_info's current_vcpu)
  TSS       its TSS (per_cpu(tss_page).tss)
`*` marks the crashing CPU.  JSON adds curr_vcpu: whose registers are loaded
(with lazy context switching, a guest vCPU's while the idle vCPU runs).

Where xcrash and crash differ: crash 8.0.6 and 9.0.2 show 0 as the TSS on Xen >=
4.16 (they look for init_tss), and 9.0.2 marks no crashing CPU on Xen 4.17 (it
finds no crashing_cpu); `pcpus -t` shows the TSS's structure, struct tss64 since
Xen 4.16, where crash 9.0.2 stops with "invalid structure name: tss_struct"; an
invalid argument is an error (crash says so and goes on with the others).
"""
    example = "pcpus\npcpus -r 1\npcpus -t ffff83002fcb7ef8"
    options = (Option("-r", "regs", "each pCPU's guest_cpu_user_regs (struct cpu_user_regs "
                      "at the top of its stack)"),
               Option("-t", "tss", "each pCPU's TSS structure"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = xen_target(ctx)
        try:
            found = pcpus(target)
        except XcrashError as err:
            raise CommandError(f"pcpus: {err}") from None
        chosen = _pick(rest, "pcpus", {p.cpu: p for p in found},
                       {p.cpu_info: p for p in found}, "invalid pcpu or id value")
        shown = found if chosen is None else chosen
        if not (opts["regs"] or opts["tss"]):
            return Records(shown, pcpus_lines, columns=PCPUS_COLUMNS,
                           mark=lambda p: "crashing" if p.crashing else None)
        try:
            details = [PcpuDetail(p, registers_struct(target, p) if opts["regs"] else None,
                                  tss_struct(target, p) if opts["tss"] else None)
                       for p in shown]
        except XcrashError as err:
            raise CommandError(f"pcpus: {err}") from None
        return Records(details, pcpu_detail_lines)


# -- dumpinfo -------------------------------------------------------------------------
def dumpinfo_lines(notes: Iterable[CpuNote], *, each: bool = False) -> Iterator[str]:
    """crash's table; with the registers or the times, the header again above each
    pCPU."""
    for i, n in enumerate(notes):
        if i == 0 or each:
            if i:
                yield ""
            yield DUMPINFO_HEADER
        info = hexc(n.xen_info) if n.xen_info is not None else center("--", ADDR)
        yield f"{n.cpu:5d} {hexc(n.note)} {hexc(n.core)} {hexc(n.xen_core)} {info}"
        if n.times is not None:
            yield f"             {center('tv_sec', ADDR)} {center('tv_usec', ADDR)}"
            for name, (sec, usec) in zip(("pr_utime", "pr_stime", "pr_cutime", "pr_cstime"),
                                         n.times):
                yield (f"  {name:<11}{center(f'{sec & (2**64 - 1):x}', ADDR)} "
                       f"{center(f'{usec & (2**64 - 1):x}', ADDR)}")
        if n.regs is not None:
            yield f"Register information({n.regs_address:x}):"
            yield from (f"  {name} = 0x{value:x}" for name, value in n.regs.items())
        if n.control_regs is not None:
            yield from (f"  {name} = 0x{value:x}" for name, value in n.control_regs.items())


class Dumpinfo(Command):
    name = "dumpinfo"
    arguments = "[pcpu-id | enotep] ..."
    summary = "Xen's per-CPU crash notes"
    group = "xen"
    targets = ("xen",)
    description = """\
Where Xen wrote each physical CPU's crash notes (crash_notes[]), or those named by
pCPU id or by the address of their note buffer (ENOTE), in the order named:
  ENOTE     the CPU's note buffer     CORE  its NT_PRSTATUS note
  XEN_CORE  its Xen CRASH_REGS note (cr0, cr2, cr3, cr4)
  XEN_INFO  the Xen CRASH_INFO note (only in pCPU 0's buffer, whoever crashed)

Where xcrash and crash differ: -r adds the control registers of the CRASH_REGS
note; crash 9.0.2 stops on a fault in every dumpinfo form on Xen 4.17 (crash 8.0.6
built with sample-dumps/crash's patch shows the table as xcrash); an invalid
argument is an error (crash says so and goes on with the others).
"""
    example = "dumpinfo\ndumpinfo -r 1\ndumpinfo -t ffff83002fcbfc00"
    options = (Option("-r", "regs", "the registers each CPU saved (from the dump's notes), "
                      "and its control registers"),
               Option("-t", "times", "the times of each CPU's NT_PRSTATUS note (pr_utime, "
                      "pr_stime, pr_cutime, pr_cstime)"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        try:
            notes = cpu_notes(xen_target(ctx), registers=opts["regs"], times=opts["times"])
        except XcrashError as err:
            raise CommandError(f"dumpinfo: {err}") from None
        chosen = _pick(rest, "dumpinfo", {n.cpu: n for n in notes}, {n.note: n for n in notes},
                       "invalid note address or id value")
        return Records(notes if chosen is None else chosen,
                       partial(dumpinfo_lines, each=opts["regs"] or opts["times"]))


# -- sched ----------------------------------------------------------------------------
def sched_lines(infos: Iterable[SchedInfo], *, scheduler: str,
                verbose: bool = False) -> Iterator[str]:
    """The scheduler's name, then a line per pCPU (-v: each under its header, a
    blank line between, as crash)."""
    yield f"Scheduler name : {scheduler}"
    yield ""
    for i, s in enumerate(infos):
        if i == 0 or verbose:
            yield from ([""] if i else []) + [SCHED_HEADER]
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

Where xcrash and crash differ: crash 8.0.6 and 9.0.2 read per_cpu(sched_res) as if
it were the structure and print no rows on Xen 4.17 (the scheduler's name only);
crash's -v prints the header above each pCPU and nothing more (its verbose part is
empty), as xcrash; an invalid argument is an error (crash says so and goes on).
"""
    example = "sched\nsched -v 1"
    options = (Option("-v", "verbose", "the header above each pCPU (crash shows nothing "
                      "more)"),)

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = xen_target(ctx)
        try:
            found = sched_info(target)
        except XcrashError as err:
            raise CommandError(f"sched: {err}") from None
        chosen = _pick(rest, "sched", {s.cpu: s for s in found}, {},
                       "invalid pcpu id value")
        infos = found if chosen is None else chosen
        name = scheduler_name(target) or "(unknown)"
        for s in infos:
            s.scheduler = name
        return Records(infos, partial(sched_lines, scheduler=name, verbose=opts["verbose"]))


COMMANDS = [Pcpus, Dumpinfo, Sched]
