"""kmem -i: the memory usage summary, in crash's layout."""
from __future__ import annotations

from ..errors import CommandError
from .base import Command, Context, Option, Result, Text

HEADER = "                 PAGES        TOTAL      PERCENTAGE"


def _size(pages: int) -> str:
    from ..targets.linux.sysinfo import format_size
    return format_size(pages * 4096) if pages else "0"


def _line(label: str, pages: int, of: tuple[int, str] | None = None) -> str:
    text = f"{label:>13}  {pages:7d}  {_size(pages):>11}"
    if of is None:
        return text + "         ----"
    total, name = of
    pct = pages * 100 // total if total else 0
    return text + f"  {pct:3d}% of {name}"


class Kmem(Command):
    name = "kmem"
    synopsis = "kmem -i"
    summary = "kernel memory usage summary"
    group = "linux"
    targets = ("linux",)
    description = """\
`kmem -i`: total, free, used, shared, buffer, cache and slab pages, huge pages,
swap, and the commit limit, from the kernel's own counters (vm_zone_stat,
vm_node_stat, the block-device inodes, hstates, vm_committed_as), laid out as
crash does.  Other kmem options are not implemented yet.
"""
    example = "kmem -i"
    options = (Option("-i", "info", "memory usage summary"),)

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.meminfo import meminfo
        opts, rest = self.parse(args)
        if not opts["info"] or rest:
            raise CommandError("only `kmem -i` is implemented")
        m = meminfo(ctx.target)
        mem = (m.total, "TOTAL MEM")
        used = m.total - m.free
        lines = [HEADER,
                 _line("TOTAL MEM", m.total), _line("FREE", m.free, mem), _line("USED", used, mem),
                 _line("SHARED", m.shared, mem), _line("BUFFERS", m.buffers, mem),
                 _line("CACHED", m.cached, mem), _line("SLAB", m.slab, mem), "",
                 _line("TOTAL HUGE", m.huge_total),
                 _line("HUGE FREE", m.huge_free, (m.huge_total, "TOTAL HUGE")), "",
                 _line("TOTAL SWAP", m.swap_total),
                 _line("SWAP USED", m.swap_total - m.swap_free, (m.swap_total, "TOTAL SWAP")),
                 _line("SWAP FREE", m.swap_free, (m.swap_total, "TOTAL SWAP")), "",
                 _line("COMMIT LIMIT", m.commit_limit),
                 _line("COMMITTED", m.committed, (m.commit_limit, "TOTAL LIMIT"))]
        return Text("\n".join(lines), [vars(m)])


COMMANDS = [Kmem]
