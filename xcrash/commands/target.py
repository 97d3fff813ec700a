"""target (alias dom): list the targets of the dump, or switch to one.

The records come from the session (:func:`xcrash.session.target_summaries`); this
module lays them out.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..errors import CommandError
from ..results import Column, Records, Teaching
from ..targets.xen import teach as xen_teach
from ..session import TargetSummary, target_summaries
from ..targets.xen.pvguest import PvLinuxTarget
from .base import ANY_TARGET, Command, Context

HEADER = ("   TARGET  DOMID  KIND                   VCPUS  MEMORY     RELEASE"
          "              NODENAME        SYMBOLS")
COLUMNS = [Column("TARGET", "name"), Column("DOMID", "id", "right"),
           Column("KIND", "kind"), Column("VCPUS", "vcpus", "right"),
           Column("MEMORY", "memory"), Column("RELEASE", "release"),
           Column("NODENAME", "nodename"), Column("SYMBOLS", "symbols")]


def target_lines(summaries: Iterable[TargetSummary]) -> Iterator[str]:
    yield HEADER
    for t in summaries:
        yield (f"{'>' if t.current else ' '}  {t.name:<6} {str(t.id):>5}  "
               f"{t.kind:<22} {t.vcpus:>5}  {t.memory:<9}  {t.release:<20} "
               f"{t.nodename:<15} {t.symbols}")


@dataclass
class Selected:
    """``target NAME``: the target now current, and how its symbol file was chosen."""
    current: str
    symbol_match: str = ""


def selected_lines(records: Iterable[Selected]) -> Iterator[str]:
    for r in records:
        yield f"target: {r.current}" + (f" ({r.symbol_match})" if r.symbol_match else "")


class TargetCommand(Command):
    name = "target"
    aliases = ("dom",)
    arguments = "[xen | dom0 | domN | N | kernel | machine]"
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
xen-syms the session starts in dom0, as crash's dom0 session does, and the
hypervisor's symbols come from Xen's own table in the dump (the one Xen names
its backtraces with: SYMBOLS `(the dump: Xen's own table)`), as a symbols-only
xen-syms's do.
"""
    example = "target\ntarget dom1\nps\ndom xen"

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        session = ctx.session
        if not rest:
            return Records(target_summaries(session), target_lines, columns=COLUMNS,
                           mark=lambda t: "active" if t.current else None)
        name = f"dom{rest[0]}" if rest[0].isdigit() else rest[0]
        if name not in session.targets:
            raise CommandError(f"target: no target {rest[0]!r} "
                               f"(targets: {', '.join(session.targets)})")
        chosen = session.select(name)
        why = chosen.symbol_match if isinstance(chosen, PvLinuxTarget) else ""
        return Records([Selected(name, why)], selected_lines)


    def teach(self, ctx: Context, args: list[str]) -> Teaching | None:
        _opts, rest = self.parse(args)
        if rest:
            return None
        session = ctx.session
        guests = [t for t in session.targets.values() if isinstance(t, PvLinuxTarget)]
        if not guests:
            return None
        teaching = xen_teach.guests_teaching(session, guests)
        teaching.imports.append("from xcrash.commands.target import target_lines")
        teaching.body += ["for line in target_lines(records):", "    print(line)"]
        return teaching


COMMANDS = [TargetCommand]
