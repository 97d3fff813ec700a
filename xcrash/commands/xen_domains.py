"""doms, domain: Xen's domains, as crash's hypervisor mode shows them."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError, XcrashError
from .base import Column, Command, Context, Result, Table, Text
from .xen_columns import ADDR, INT, center, hexc

DOMS_HEADER = ("   DID  " + center("DOMAIN", ADDR) + " ST T " + center("MAXPAGE", INT) + " "
               + center("TOTPAGE", INT) + " VCPU " + center("SHARED_I", ADDR) + " "
               + center("P2M_MFN", ADDR))


def _x(v: Any) -> str:
    return "" if v is None else f"{v:x}"


DOMS_COLUMNS = [Column("DID", "domain_id", "right"), Column("DOMAIN", "domain", fmt=_x),
                Column("ST", "state"), Column("T", "type"),
                Column("MAXPAGE", "max_pages", "right", _x),
                Column("TOTPAGE", "tot_pages", "right", _x), Column("VCPU", "vcpus", "right"),
                Column("SHARED_I", "shared_info", fmt=_x), Column("P2M_MFN", "p2m_mfn", fmt=_x),
                Column("GUEST", "guest")]


def _doms_plain(table: Table) -> str:
    lines = [DOMS_HEADER]
    for r in table.rows:
        line = (f"{'>' if r['active'] else ' '}{'*' if r['crashing'] else ' '}"
                f"{r['domain_id']:5d} {hexc(r['domain'])} {r['state']} {r['type']} "
                f"{hexc(r['max_pages'], INT, '??')} {hexc(r['tot_pages'], INT, '??')} "
                f"{'?' if r['vcpus'] is None else r['vcpus']:>3}  {hexc(r['shared_info'])} ")
        line += center("----", ADDR) if not r["shared_info"] or r["p2m_mfn"] is None \
            else hexc(r["p2m_mfn"])
        lines.append(line)
    if table.title:
        lines.append(table.title)
    return "\n".join(lines)


def domain_rows(target: Any) -> tuple[list[dict[str, Any]], list[str]]:
    from ..targets.xen.domains import domains
    doms = domains(target)
    notes = []
    running: set[int] = set()
    crashing = None
    if target.symbols is not None:
        from ..targets.xen.pcpus import crashing_vcpu, pcpus, running_vcpus
        pcs = pcpus(target)
        running = running_vcpus(pcs)
        crashing = crashing_vcpu(target, pcs)
    if not target.has_types:
        notes.append("(no DWARF: ids from VMCOREINFO_XEN, TOTPAGE counted in the frame table, "
                     "VCPU from the vCPU arrays at their fixed offsets; other columns need "
                     "xen-syms with DWARF)")
    rows = []
    for d in doms:
        rows.append({"domain_id": d.domain_id, "domain": d.address, "state": d.state,
                     "type": d.type, "max_pages": d.max_pages, "tot_pages": d.tot_pages,
                     "vcpus": len(d.vcpus) if d.source == "DWARF" or d.vcpus else None,
                     "shared_info": d.shared_info, "p2m_mfn": d.p2m_mfn,
                     "active": any(v in running for v in d.vcpus),
                     "crashing": crashing is not None and crashing in d.vcpus,
                     "guest": d.guest_kind, "source": d.source})
        if d.hvm:
            notes.append(f"domain {d.domain_id} is an HVM/PVH guest: its memory is "
                         "guest-physical behind a p2m (EPT/NPT) that xcrash does not walk yet")
    return rows, notes


class Doms(Command):
    name = "doms"
    synopsis = "doms [domain-id | domain-address]..."
    summary = "Xen domains: id, struct domain, state, type, pages, vCPUs, p2m"
    group = "xen"
    targets = ("xen",)
    description = """\
Every domain, as crash's hypervisor mode lists them: dom_io, dom_xen, the idle
domain, then domain_list.
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
4.17 has no guest_type) are named below the table.  Without DWARF, the ids come
from VMCOREINFO_XEN's list layout, TOTPAGE from the frame table's owners and
VCPU from the vCPU arrays (struct domain's fixed first members, checked).
"""
    example = "doms\ndoms 0"

    def run(self, ctx: Context, args: list[str]) -> Result:
        target = ctx.target
        try:
            rows, notes = domain_rows(target)
        except XcrashError as err:
            raise CommandError(f"doms: {err}") from None
        if args:
            wanted = []
            for a in args:
                hit = [r for r in rows if (a.isdigit() and r["domain_id"] == int(a))
                       or _hex(a) == r["domain"]]
                if not hit:
                    raise CommandError(f"doms: invalid domain: {a}")
                wanted.extend(hit)
            rows = wanted
        marks = {i: "crashing" if r["crashing"] else "active"
                 for i, r in enumerate(rows) if r["active"] or r["crashing"]}
        return Table(DOMS_COLUMNS, rows, plain=_doms_plain, marks=marks,
                     title="\n".join(notes) or None)


def _hex(text: str) -> int | None:
    try:
        return int(text, 16)
    except ValueError:
        return None


class DomainCmd(Command):
    name = "domain"
    synopsis = "domain [domain-id | domain-address]..."
    summary = "a struct domain in full"
    group = "xen"
    targets = ("xen",)
    description = """\
The struct domain of a domain (by id, or by address), gdb-style as crash's
`domain` prints it.  Without an argument: the domain of the crashing CPU's vCPU.
"""
    example = "domain\ndomain 1"

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.xen.domains import find_domain
        target = ctx.target
        target.need_types("domain")
        addrs = []
        try:
            if not args:
                addrs.append(current_domain(target))
            for a in args:
                addrs.append(find_domain(target, a).address)
        except XcrashError as err:
            raise CommandError(f"domain: {err}") from None
        return show_struct(ctx, "struct domain", addrs)


def current_domain(target: Any) -> int:
    """The domain of the crashing pCPU's vCPU (crash's default domain)."""
    from ..targets.xen.pcpus import crashing_vcpu, pcpus
    vcpu = crashing_vcpu(target, pcpus(target))
    if vcpu is None:
        raise XcrashError("no crashing CPU: name a domain")
    return int(target.object_at("struct vcpu", vcpu).domain)


def show_struct(ctx: Context, type_name: str, addrs: list[int]) -> Text:
    from ..objects import Object
    from ..symbols.types import declaration
    from .datatypes import formatter
    target = ctx.target
    t = target.type(type_name)
    fmt = formatter(ctx)
    out = [f"{declaration(t.strip_typedefs(), '')} {fmt.value(Object(target, t, a), 0)}"
           for a in addrs]
    return Text("\n".join(out), [{"address": a, "type": type_name} for a in addrs])


COMMANDS = [Doms, DomainCmd]
