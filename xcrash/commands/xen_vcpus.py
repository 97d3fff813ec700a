"""vcpus, vcpu: Xen's virtual CPUs, as crash's hypervisor mode shows them."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError, XcrashError
from .base import Column, Command, Context, Option, Result, Table
from .xen_columns import ADDR, center, hexc
from .xen_domains import show_struct

VCPUS_HEADER = f"   VCID  PCID {center('VCPU', ADDR)} ST T DOMID {center('DOMAIN', ADDR)}"


def _x(v: Any) -> str:
    return "" if v is None else f"{v:x}"


VCPUS_COLUMNS = [Column("VCID", "vcpu_id", "right"), Column("PCID", "processor", "right"),
                 Column("VCPU", "vcpu", fmt=_x), Column("ST", "state"), Column("T", "type"),
                 Column("DOMID", "domain_id", "right"), Column("DOMAIN", "domain", fmt=_x),
                 Column("RUNSTATE", "runstate")]


def _vcpus_plain(table: Table) -> str:
    lines = [VCPUS_HEADER]
    for r in table.rows:
        lines.append(f"{'>' if r['active'] else ' '}{'*' if r['crashing'] else ' '}"
                     f"{r['vcpu_id']:5d} {r['processor']:5d} {hexc(r['vcpu'])} {r['state']} "
                     f"{r['type']} {r['domain_id']:5d} {hexc(r['domain'])}")
    return "\n".join(lines)


def vcpu_rows(target: Any) -> list[dict[str, Any]]:
    from ..targets.xen.pcpus import crashing_vcpu, pcpus
    from ..targets.xen.vcpus import vcpus
    pcs = pcpus(target)
    current = {p.cpu: p.current_vcpu for p in pcs}
    loaded = {p.curr_vcpu for p in pcs if p.lazy}
    crashing = crashing_vcpu(target, pcs)
    rows = []
    for v in vcpus(target):
        active = current.get(v.processor) == v.address
        if active and v.runstate < 0:
            v.runstate = 0          # no DWARF: a pCPU's current vCPU is running, at least
        rows.append({"vcpu_id": v.vcpu_id, "processor": v.processor, "vcpu": v.address,
                     "state": v.state, "type": v.domain_type, "domain_id": v.domain_id,
                     "domain": v.domain, "runstate": v.state_name,
                     "active": active,
                     "crashing": v.address == crashing,
                     # lazy context switch: the pCPU runs idle, this vCPU's state is loaded
                     "state_loaded": v.address in loaded or current.get(v.processor) == v.address})
    return rows


class Vcpus(Command):
    name = "vcpus"
    synopsis = "vcpus [-i domain-id vcpu-id | vcpu-address]..."
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
With a symbols-only xen-syms (Debian's -dbg) the vCPUs are read at the fixed
offsets struct domain and struct vcpu have kept since Xen 4.2, each checked
against its domain, and the runstate where its layout fits every vCPU and says
RUNNING exactly for those the pCPUs ran (?? when no single offset does).
"""
    example = "vcpus\nvcpus -i 0 1"
    options = (Option("-i", "ids", "domain id then vcpu id"),)

    def run(self, ctx: Context, args: list[str]) -> Result:
        target = ctx.target
        opts, rest = self.parse(args)
        try:
            rows = vcpu_rows(target)
        except XcrashError as err:
            raise CommandError(f"vcpus: {err}") from None
        if opts["ids"]:
            if len(rest) != 2:
                raise CommandError("vcpus: -i needs a domain id and a vcpu id")
            rows = [r for r in rows if str(r["domain_id"]) == rest[0]
                    and str(r["vcpu_id"]) == rest[1]]
        elif rest:
            wanted = {_hex(a) for a in rest}
            rows = [r for r in rows if r["vcpu"] in wanted]
        if (rest or opts["ids"]) and not rows:
            raise CommandError(f"vcpus: invalid vcpu: {' '.join(rest)}")
        marks = {i: "crashing" if r["crashing"] else "active"
                 for i, r in enumerate(rows) if r["active"] or r["crashing"]}
        return Table(VCPUS_COLUMNS, rows, plain=_vcpus_plain, marks=marks)


def _hex(text: str) -> int | None:
    try:
        return int(text, 16)
    except ValueError:
        return None


class VcpuCmd(Command):
    name = "vcpu"
    synopsis = "vcpu [-i domain-id vcpu-id | vcpu-address]..."
    summary = "a struct vcpu in full"
    group = "xen"
    targets = ("xen",)
    description = """\
The struct vcpu of a vCPU (by address, or -i DOMID VCPUID), gdb-style as crash's
`vcpu` prints it.  Without an argument: the crashing CPU's vCPU.
"""
    example = "vcpu\nvcpu -i 1 0"
    options = (Option("-i", "ids", "domain id then vcpu id"),)

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.xen.pcpus import crashing_vcpu, pcpus
        from ..targets.xen.vcpus import find_vcpu
        target = ctx.target
        opts, rest = self.parse(args)
        try:
            target.need_types("vcpu")
            if opts["ids"]:
                if len(rest) != 2:
                    raise CommandError("vcpu: -i needs a domain id and a vcpu id")
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
        return show_struct(ctx, "struct vcpu", addrs)


COMMANDS = [Vcpus, VcpuCmd]
