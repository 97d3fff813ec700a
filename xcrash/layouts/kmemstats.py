"""crash's layouts of kmem's counters: -V (the vm_stat tables), -z (each zone), -o
(the per-CPU offsets) and -m (chosen struct page members)."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..caveats import Unreadable
from ..targets.linux.pagemembers import MemberSpec, PageMembers, Value
from ..targets.linux.vmstat import CpuOffset, StatTable, ZoneStats


def _counter(name: str, value: int | Unreadable, width: int) -> str:
    return f"{name:>{width}}: {'?' if isinstance(value, Unreadable) else value}"


def vm_stat_lines(tables: Iterable[StatTable]) -> Iterator[str]:
    """`kmem -V`: each table's title and counters, a blank line between tables."""
    for i, table in enumerate(tables):
        if i:
            yield ""
        yield f"  {table.title}:"
        yield from (_counter(n, v, table.width) for n, v in table.items)


def zone_stat_lines(zones: Iterable[ZoneStats]) -> Iterator[str]:
    """`kmem -z`: each zone's name, sizes, watermarks and counters."""
    for z in zones:
        yield f'NODE: {z.node}  ZONE: {z.zone}  ADDR: {z.address:x}  NAME: "{z.name}"'
        if not z.spanned:
            yield "  [unpopulated]"
            yield ""
            continue
        present = f"  PRESENT: {z.present}" if z.present < z.spanned else ""
        low, mid, high = z.watermarks
        yield f"  SIZE: {z.spanned}{present}  MIN/LOW/HIGH: {low}/{mid}/{high}"
        if z.stats is not None:
            yield "  VM_STAT:"
            yield from (_counter(n, v, z.stats.width) for n, v in z.stats.items)
        yield ""
        yield ""


def cpu_offset_lines(offsets: Iterable[CpuOffset]) -> Iterator[str]:
    """`kmem -o`: each CPU's __per_cpu_offset[] value."""
    yield "PER-CPU OFFSET VALUES:"
    for c in offsets:
        value = "?" if isinstance(c.offset, Unreadable) else f"{c.offset:x}"
        yield f"{f'CPU {c.cpu}':>7}: {value}{' [OFFLINE]' if c.offline else ''}"


def _cell(spec: MemberSpec, value: Value) -> str:
    """One member as crash's show_page_member_data writes it (its trailing spaces
    and its odd cases kept: a signed long in hex and a structure of ints have none)."""
    if isinstance(value, Unreadable):
        return "?  "
    if isinstance(value, tuple):
        width = 16 if spec.length % 8 == 0 else 8 if spec.length % 4 == 0 else 4
        text = ",".join(f"{v:0{width}x}" for v in value)
        return text if width == 8 else text + "  "
    if spec.kind == "pointer":
        return f"{value:016x}  "
    if spec.kind == "bool":
        return f"{'true' if value else 'false'}  " if value <= 1 else \
            str(value) if spec.radix == 10 else f"{value:x}  "
    if spec.kind == "struct":            # a counter (_mapcount, _count): one int
        return f"{value}  "
    bits = 8 * spec.length
    if spec.signed and value >= 1 << (bits - 1):
        value -= 1 << bits
    if spec.radix == 10:
        return f"{value}  "
    text = f"{value & ((1 << bits) - 1):0{2 * spec.length}x}"
    return text if spec.signed and spec.length == 8 else text + "  "


def page_member_lines(records: Iterable[PageMembers], specs: list[MemberSpec]) -> Iterator[str]:
    """`kmem -m`: the header (PAGE and the members' names), then a line per page."""
    yield f"{'PAGE':^16}" + "".join(f"  {s.name}" for s in specs)
    for r in records:
        yield f"{r.page:x}  " + "".join(_cell(s, v) for s, v in zip(r.specs, r.values))
