"""target (alias dom): list the targets of the dump, or switch to one."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError, MemoryError_, XcrashError
from .base import ANY_TARGET, Column, Command, Context, Result, Table, Text


def _pages_mib(pages: int | None) -> str:
    return f"{pages * 4096 // (1 << 20)} MiB" if pages else "-"


def target_rows(session: Any) -> list[dict[str, Any]]:
    rows = []
    for name, t in session.targets.items():
        dom = getattr(t, "domain", None)
        row: dict[str, Any] = {
            "current": t is session.current, "name": name,
            "id": dom.domain_id if dom is not None else ("-" if name != "xen" else "xen"),
            "kind": t.kind if dom is None else f"{getattr(t, 'xen_kind', 'PV')} linux",
            "vcpus": len(t.cpus) if dom is None else len(dom.vcpus),
            "memory": "-", "release": "-", "nodename": "-",
            "symbols": t.symfile.path if t.symfile is not None else "-",
        }
        if dom is not None:
            row["memory"] = _pages_mib(dom.tot_pages)
        elif name == "xen":
            row["vcpus"] = len(t.cpus)
        try:
            if t.kind == "linux" and t.symfile is not None:
                if dom is not None and not dom.vcpus:
                    # Xen's vCPU list unknown (no DWARF): the guest's own online CPUs
                    row["vcpus"] = len(t.online_cpus)
                uts = t.utsname
                row["release"], row["nodename"] = uts["release"], uts["nodename"]
            elif t.kind == "xen":
                row["release"] = t.version or "-"
        except (XcrashError, MemoryError_):
            pass
        if dom is not None and t.symfile is None:
            row["kind"] += " (no symbols)"
        rows.append(row)
    return rows


def _plain(table: Table) -> str:
    lines = ["   TARGET  DOMID  KIND                   VCPUS  MEMORY     RELEASE"
             "              NODENAME        SYMBOLS"]
    for r in table.rows:
        lines.append(f"{'>' if r['current'] else ' '}  {r['name']:<6} {str(r['id']):>5}  "
                     f"{r['kind']:<22} {r['vcpus']:>5}  {r['memory']:<9}  {r['release']:<20} "
                     f"{r['nodename']:<15} {r['symbols']}")
    return "\n".join(lines)


class TargetCommand(Command):
    name = "target"
    aliases = ("dom",)
    synopsis = "target [xen | dom0 | domN | N | kernel | machine]"
    summary = "list the targets of the dump (hypervisor, domains) or switch to one"
    group = "session"
    targets = ANY_TARGET
    description = """\
Alone, lists the targets the dump holds: on a Xen host dump the hypervisor
(`xen`) and each PV domain (`dom0`, `dom1`, ...) with its vCPUs, memory, the
guest kernel's release and nodename and the symbol file that serves it (`-`:
none matched; the memory commands rd, search and vtop still work there).  With
a name (or a bare domain id) makes that target the current one: the following
commands run in it, and the prompt shows it (`xcrash:dom2>`).
crash has no equivalent: it shows dom0 only, and a domU needs a new session
with its p2m frame given by hand (--p2m_mfn).
Without a xen-syms that has DWARF (Debian's -dbg one has symbols only) or
with no xen-syms at all, the PV guests whose vmlinux is given are still
targets: dom0's p2m root comes from Xen's crash note, a domU's from the
shared_info pointer near the start of its struct domain (proved by its
vmlinux's banner and build-id); the vCPUs' registers come from the pCPUs'
guest frames and struct vcpu's saved frame (start-up says which).  With no
xen-syms the session starts in dom0, as crash's dom0 session does.
"""
    example = "target\ntarget dom1\nps\ndom xen"

    def run(self, ctx: Context, args: list[str]) -> Result:
        _opts, rest = self.parse(args)
        session = ctx.session
        if rest:
            name = rest[0]
            if name.isdigit():
                name = f"dom{name}"
            if name not in session.targets:
                raise CommandError(f"target: no target {rest[0]!r} "
                                   f"(targets: {', '.join(session.targets)})")
            t = session.select(name)
            return Text(f"target: {name}" + (f" ({t.symbol_match})"
                                            if getattr(t, "symbol_match", "") else ""),
                        [{"current": name}])
        columns = [Column("TARGET", "name"), Column("DOMID", "id", "right"),
                   Column("KIND", "kind"), Column("VCPUS", "vcpus", "right"),
                   Column("MEMORY", "memory"), Column("RELEASE", "release"),
                   Column("NODENAME", "nodename"), Column("SYMBOLS", "symbols")]
        rows = target_rows(session)
        marks = {i: "active" for i, r in enumerate(rows) if r["current"]}
        return Table(columns, rows, plain=_plain, marks=marks)


COMMANDS = [TargetCommand]
