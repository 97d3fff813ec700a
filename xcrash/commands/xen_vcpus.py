"""vcpus, vcpu: Xen's virtual CPUs, as crash's hypervisor mode shows them.

The records come from ``targets/xen/vcpus.py``; this module picks them by the
arguments and lays them out.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..errors import CommandError, XcrashError
from ..layouts.xen_columns import ADDR, center, hexc
from ..results import Column, Records, Teaching
from ..targets.xen import teach as xen_teach
from ..targets.xen.domains import parse_hex
from ..targets.xen.pcpus import crashing_vcpu, pcpus
from ..targets.xen.vcpus import VcpuEntry, find_vcpu, vcpu_entries
from .base import Command, Context, Option
from .args import xen_target
from .xen_domains import struct_values

VCPUS_HEADER = f"   VCID  PCID {center('VCPU', ADDR)} ST T DOMID {center('DOMAIN', ADDR)}"


def _x(v: object) -> str:
    return "" if v is None else f"{v:x}"


VCPUS_COLUMNS = [Column("VCID", "vcpu_id", "right"), Column("PCID", "processor", "right"),
                 Column("VCPU", "vcpu", fmt=_x), Column("ST", "state"), Column("T", "type"),
                 Column("DOMID", "domain_id", "right"), Column("DOMAIN", "domain", fmt=_x),
                 Column("RUNSTATE", "runstate")]


def vcpus_lines(entries: Iterable[VcpuEntry]) -> Iterator[str]:
    yield VCPUS_HEADER
    for v in entries:
        yield (f"{'>' if v.active else ' '}{'*' if v.crashing else ' '}"
               f"{v.vcpu_id:5d} {v.processor:5d} {hexc(v.vcpu)} {v.state} "
               f"{v.type} {v.domain_id:5d} {hexc(v.domain)}")


def _mark(entry: VcpuEntry) -> str | None:
    return "crashing" if entry.crashing else "active" if entry.active else None


IDS = Option("-i", "ids", "name the vCPU by its domain id and vCPU id (two arguments) "
             "instead of its struct vcpu address")


class Vcpus(Command):
    name = "vcpus"
    arguments = "[domain-id vcpu-id | vcpu-address]..."
    summary = "Xen vCPUs: id, physical CPU, struct vcpu, state, domain"
    group = "xen"
    targets = ("xen",)
    description = """\
Every vCPU of every domain (doms order), as crash lists them:
  VCID   vCPU id     PCID  the physical CPU it runs or last ran on
  VCPU   struct vcpu  ST   RU running or runnable, BL blocked, OF offline
  T      the domain's type (see doms)   DOMID, DOMAIN  its domain
`>` marks the vCPU a physical CPU was running (cpu_info's current_vcpu),
`*` the crashing CPU's.  With lazy context switching a pCPU that runs its idle
vCPU may still hold a guest vCPU's registers: JSON's state_loaded says which.
With a symbols-only xen-syms (Debian's -dbg), or Xen's own symbol table read
from the dump when no xen-syms is given, the vCPUs are read at the fixed
offsets struct domain and struct vcpu have kept since Xen 4.2 (the vCPU array
and the vCPU's domain, which moved in 4.18 and 4.20, where they link every
domain to its first vCPU and back), each checked against its domain, and the
runstate where its layout fits every vCPU and says
RUNNING exactly for those the pCPUs ran (?? and a warning when no single offset
does).
"""
    example = "vcpus\nvcpus -i 0 1"
    options = (IDS,)

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        try:
            entries = vcpu_entries(xen_target(ctx))
        except XcrashError as err:
            raise CommandError(f"vcpus: {err}") from None
        if opts["ids"]:
            if len(rest) != 2:
                raise CommandError("vcpus: -i needs a domain id and a vcpu id")
            entries = [e for e in entries if str(e.domain_id) == rest[0]
                       and str(e.vcpu_id) == rest[1]]
        elif rest:
            wanted = {parse_hex(a) for a in rest}
            entries = [e for e in entries if e.vcpu in wanted]
        if (rest or opts["ids"]) and not entries:
            raise CommandError(f"vcpus: invalid vcpu: {' '.join(rest)}")
        return Records(entries, vcpus_lines, columns=VCPUS_COLUMNS, mark=_mark)


    def teach(self, ctx: Context, args: list[str]) -> Teaching | None:
        opts, rest = self.parse(args)
        if rest or opts["ids"]:
            return None
        teaching = xen_teach.vcpus_teaching(xen_target(ctx))
        teaching.imports.append("from xcrash.commands.xen_vcpus import vcpus_lines")
        teaching.body += ["for line in vcpus_lines(records):", "    print(line)"]
        return teaching


class VcpuCmd(Command):
    name = "vcpu"
    arguments = "[domain-id vcpu-id | vcpu-address]..."
    summary = "a struct vcpu in full"
    group = "xen"
    targets = ("xen",)
    description = """\
The struct vcpu of a vCPU (by address, or -i DOMID VCPUID), gdb-style as crash's
`vcpu` prints it.  Without an argument: the crashing CPU's vCPU.
"""
    example = "vcpu\nvcpu -i 1 0"
    options = (IDS,)

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = xen_target(ctx)
        target.need_types("vcpu")
        if opts["ids"] and len(rest) != 2:
            raise CommandError("vcpu: -i needs a domain id and a vcpu id")
        try:
            if opts["ids"]:
                addrs = [find_vcpu(target, rest[1], rest[0]).address]
            elif rest:
                addrs = [find_vcpu(target, a).address for a in rest]
            else:
                cur = crashing_vcpu(target, pcpus(target))
                if cur is None:
                    raise CommandError("vcpu: no crashing CPU: name a vcpu")
                addrs = [cur]
        except CommandError:
            raise
        except XcrashError as err:
            raise CommandError(f"vcpu: {err}") from None
        return struct_values(ctx, "struct vcpu", addrs)


COMMANDS = [Vcpus, VcpuCmd]
