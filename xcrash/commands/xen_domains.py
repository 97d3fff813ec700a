"""doms, domain: Xen's domains, as crash's hypervisor mode shows them.

The records come from ``targets/xen/domains.py``; this module picks them by the
arguments and lays them out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterable, Iterator

from ..caveats import Unreadable
from ..errors import CommandError, XcrashError
from ..layouts.xen_columns import ADDR, INT, center, hexc
from ..results import Column, Records, Teaching
from ..symbols.types import declaration
from ..targets.xen.domains import DomainEntry, domain_entries, find_domain, parse_hex
from ..targets.xen.hypervisor import XenTarget
from ..targets.xen import teach as xen_teach
from ..targets.xen.pcpus import crashing_vcpu, pcpus
from .args import xen_target
from .base import Command, Context
from .datatypes import ValueFormatter

DOMS_HEADER = ("   DID  " + center("DOMAIN", ADDR) + " ST T " + center("MAXPAGE", INT) + " "
               + center("TOTPAGE", INT) + " VCPU " + center("SHARED_I", ADDR) + " "
               + center("P2M_MFN", ADDR))


def _x(v: int | Unreadable | None) -> str:
    return "" if v is None else f"{v:x}"


DOMS_COLUMNS = [Column("DID", "domain_id", "right"), Column("DOMAIN", "domain", fmt=_x),
                Column("ST", "state"), Column("T", "type"),
                Column("MAXPAGE", "max_pages", "right", _x),
                Column("TOTPAGE", "tot_pages", "right", _x), Column("VCPU", "vcpus", "right"),
                Column("SHARED_I", "shared_info", fmt=_x), Column("P2M_MFN", "p2m_mfn", fmt=_x),
                Column("GUEST", "guest")]


def doms_lines(entries: Iterable[DomainEntry]) -> Iterator[str]:
    yield DOMS_HEADER
    for d in entries:
        p2m = center("----", ADDR) if not d.shared_info or d.p2m_mfn is None else hexc(d.p2m_mfn)
        yield (f"{'>' if d.active else ' '}{'*' if d.crashing else ' '}"
               f"{d.domain_id:5d} {hexc(d.domain)} {d.state} {d.type} "
               f"{hexc(d.max_pages, INT, '??')} {hexc(d.tot_pages, INT, '??')} "
               f"{d.vcpus:>3}  {hexc(d.shared_info)} {p2m}")


def _mark(entry: DomainEntry) -> str | None:
    return "crashing" if entry.crashing else "active" if entry.active else None


class Doms(Command):
    name = "doms"
    arguments = "[domain-id | domain-address]..."
    summary = "Xen domains: id, struct domain, state, type, pages, vCPUs, p2m"
    group = "xen"
    targets = ("xen",)
    description = """\
Every domain, as crash's hypervisor mode lists them: dom_io, dom_xen, the idle
domain, then domain_list; or the domains named by id or struct domain address.
  DID       domain id (32753 dom_io, 32754 dom_xen, 32767 idle)
  DOMAIN    the struct domain
  ST        RU running, PO polling, CP paused by the toolstack, DY dying,
            SH shutting down, SF shut down
  T         O dom_io, X dom_xen, I idle, 0 the hardware domain, U a guest
  MAXPAGE, TOTPAGE   max_pages and tot_pages (hex)
  VCPU      vCPUs allocated
  SHARED_I  the shared_info page
  P2M_MFN   its pfn_to_mfn_frame_list_list (PV guests; dom0's equals the crash note's)
`>` marks a domain one of whose vCPUs a physical CPU was running, `*` the domain
of the crashing CPU's vCPU.  HVM/PVH domains (options & XEN_DOMCTL_CDF_hvm; Xen
4.17 has no guest_type) are named in a warning below the table.  Without DWARF,
the ids come from VMCOREINFO_XEN's list layout, TOTPAGE from the frame table's
owners and VCPU from the vCPU arrays (struct domain's fixed first members,
checked); a warning says so.
"""
    example = "doms\ndoms 0"

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        try:
            entries = domain_entries(xen_target(ctx))
        except XcrashError as err:
            raise CommandError(f"doms: {err}") from None
        if rest:
            wanted = []
            for a in rest:
                hit = [e for e in entries if (a.isdigit() and e.domain_id == int(a))
                       or parse_hex(a) == e.domain]
                if not hit:
                    raise CommandError(f"doms: invalid domain: {a}")
                wanted.extend(hit)
            entries = wanted
        return Records(entries, doms_lines, columns=DOMS_COLUMNS, mark=_mark)


    def teach(self, ctx: Context, args: list[str]) -> Teaching | None:
        _opts, rest = self.parse(args)
        if rest:
            return None
        teaching = xen_teach.domains_teaching(xen_target(ctx))
        teaching.imports.append("from xcrash.commands.xen_domains import doms_lines")
        teaching.body += ["for line in doms_lines(records):", "    print(line)"]
        return teaching


class DomainCmd(Command):
    name = "domain"
    arguments = "[domain-id | domain-address]..."
    summary = "a struct domain in full"
    group = "xen"
    targets = ("xen",)
    description = """\
The struct domain of a domain (by id, or by address), gdb-style as crash's
`domain` prints it.  Without an argument: the domain of the crashing CPU's vCPU.
"""
    example = "domain\ndomain 1"

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        target = xen_target(ctx)
        target.need_types("domain")
        try:
            addrs = [find_domain(target, a).address for a in rest] if rest \
                else [current_domain(target)]
        except XcrashError as err:
            raise CommandError(f"domain: {err}") from None
        return struct_values(ctx, "struct domain", addrs)


def current_domain(target: XenTarget) -> int:
    """The domain of the crashing pCPU's vCPU (crash's default domain)."""
    vcpu = crashing_vcpu(target, pcpus(target))
    if vcpu is None:
        raise XcrashError("no crashing CPU: name a domain")
    return int(target.object_at("struct vcpu", vcpu).domain)


# -- a structure shown whole (domain, vcpu) -------------------------------------------------
@dataclass
class StructValue:
    """A structure in memory, gdb-style as crash prints it."""
    address: int
    type: str
    lines: list[str] = field(metadata={"json": False})


def struct_values(ctx: Context, type_name: str, addrs: list[int]) -> Records:
    """The structures of a type at these addresses, read as they are shown."""
    target = ctx.target
    t = target.type(type_name)
    fmt = ValueFormatter(target.describe_address, ctx.settings.get("radix", 10))

    def values() -> Iterator[StructValue]:
        for a in addrs:
            text = f"{declaration(t.strip_typedefs(), '')} {fmt.value(target.object_at(t, a), 0)}"
            yield StructValue(a, type_name, text.split("\n"))
    return Records(values(), struct_lines)


def struct_lines(values: Iterable[StructValue]) -> Iterator[str]:
    for v in values:
        yield from v.lines


COMMANDS = [Doms, DomainCmd]
