"""The kernel's VM counters as crash's `kmem -V` and `kmem -z` show them.

vm_zone_stat[] and vm_node_stat[] (4.8 on; vm_stat[] before) are atomic_long_t arrays
indexed by enum zone_stat_item and node_stat_item (vm_numa_stat[] by numa_stat_item
where the kernel keeps it as an array); a zone keeps its own vm_stat[].  The event
counters are per-CPU (vm_event_states, CONFIG_VM_EVENT_COUNTERS), summed over the CPUs.
A name is an enumerator's; of two enumerators with one value, the later (an alias
such as NR_LRU_BASE comes first).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...caveats import Unreadable
from ...errors import MemoryError_, NoSuchType, XcrashError

if TYPE_CHECKING:
    from .kernel import LinuxTarget


@dataclass
class StatTable:
    """One table of counters: its title (VM_ZONE_STAT, ...) and (name, value) items."""
    title: str
    items: list[tuple[str, int | Unreadable]]
    #: the width the names are right-aligned to (crash: the longest of the tables shown)
    width: int = field(default=0, metadata={"json": False})


def _names(target: LinuxTarget, enum: str, count_name: str) -> list[str]:
    """The enumerators of ``enum`` below ``count_name``, by value (the later wins)."""
    try:
        pairs = target.type(f"enum {enum}").strip_typedefs().enumerators or []
    except NoSuchType:
        return []       # a kernel without this enum has no such table (crash shows none)
    count = dict(pairs).get(count_name)
    if count is None:
        return []
    names = [""] * count
    for name, value in pairs:
        if 0 <= value < count:
            names[value] = name
    return names


def _values(target: LinuxTarget, address: int, count: int) -> list[int | Unreadable]:
    try:
        raw = target.space.read(address, 8 * count)
    except MemoryError_ as err:
        return [Unreadable(str(err))] * count
    return [int.from_bytes(raw[8 * i:8 * i + 8], "little", signed=True) for i in range(count)]


def _array_length(target: LinuxTarget, name: str) -> int:
    sym = target.symbols.get(name)
    return (sym.size or 0) // 8 if sym is not None else 0


def vm_stat_tables(target: LinuxTarget) -> list[StatTable]:
    """kmem -V: the global counters, then the event counters."""
    tables: list[StatTable] = []
    if target.symbols.get("vm_zone_stat") is not None:
        parts = [("VM_ZONE_STAT", "vm_zone_stat", "zone_stat_item", "NR_VM_ZONE_STAT_ITEMS"),
                 ("VM_NODE_STAT", "vm_node_stat", "node_stat_item", "NR_VM_NODE_STAT_ITEMS")]
        if _array_length(target, "vm_numa_stat"):
            parts.append(("VM_NUMA_STAT", "vm_numa_stat", "numa_stat_item",
                          "NR_VM_NUMA_STAT_ITEMS"))
    elif target.symbols.get("vm_stat") is not None:
        parts = [("VM_STAT", "vm_stat", "zone_stat_item", "NR_VM_ZONE_STAT_ITEMS")]
    else:
        raise XcrashError("this kernel keeps no vm_stat counters")
    for title, array, enum, count in parts:
        names = _names(target, enum, count)
        tables.append(StatTable(title, list(zip(names, _values(
            target, target.address_of(array), len(names))))))
    width = max((len(n) for t in tables for n, _ in t.items), default=0)
    for t in tables:
        t.width = width
    events = vm_event_table(target)
    if events is not None:
        tables.append(events)
    return tables


def vm_event_table(target: LinuxTarget) -> StatTable | None:
    """The per-CPU event counters summed (None: CONFIG_VM_EVENT_COUNTERS is off)."""
    if target.symbols.get("vm_event_states") is None:
        return None
    from ..cpuspec import cpu_count
    names = _names(target, "vm_event_item", "NR_VM_EVENT_ITEMS")
    sums: list[int | Unreadable] = [0] * len(names)
    base = target.address_of("vm_event_states")
    # crash sums the CPUs it counts (kt->cpus), as unsigned longs
    for offset in target.per_cpu_offsets[:cpu_count(target)]:
        for i, v in enumerate(_values(target, base + offset, len(names))):
            s = sums[i]
            sums[i] = v if isinstance(v, Unreadable) else s if isinstance(s, Unreadable) \
                else (s + v) & (2**64 - 1)
    return StatTable("VM_EVENT_STATES", list(zip(names, sums)),
                     max((len(n) for n in names), default=0))


@dataclass
class CpuOffset:
    """kmem -o: a CPU's __per_cpu_offset[] value."""
    cpu: int
    offset: int | Unreadable
    offline: bool


def cpu_offsets(target: LinuxTarget) -> list[CpuOffset]:
    """The per-CPU offsets of the CPUs crash counts (kt->cpus), with whether each is
    offline."""
    from ..cpuspec import cpu_count, offline_cpus
    count = cpu_count(target)
    offline = offline_cpus(target)
    try:
        offsets: list[int | Unreadable] = list(target.per_cpu_offsets)
    except MemoryError_ as err:
        offsets = [Unreadable(str(err))] * count
    offsets += [0] * (count - len(offsets))     # a UP kernel: no offset to add
    return [CpuOffset(c, offsets[c], c in offline) for c in range(count)]


@dataclass
class ZoneStats:
    """kmem -z: one zone of one node: its sizes, watermarks and vm_stat counters."""
    node: int
    zone: int
    address: int
    name: str
    spanned: int
    present: int
    watermarks: tuple[int, int, int]
    stats: StatTable | None


def zone_stats(target: LinuxTarget) -> list[ZoneStats]:
    """Every zone of every node, in order."""
    from .freepages import zone_name
    from .meminfo import pgdats
    zone_t = target.type("struct zone")
    names = _names(target, "zone_stat_item", "NR_VM_ZONE_STAT_ITEMS")
    width = max((len(n) for n in names), default=0)
    marks = dict(target.type("enum zone_watermarks").strip_typedefs().enumerators or ()) \
        if zone_t.has_member("_watermark") or zone_t.has_member("watermark") else {}
    wm = "_watermark" if zone_t.has_member("_watermark") else "watermark"
    out = []
    for n, pgdat in enumerate(pgdats(target)):
        zones = pgdat.node_zones
        base = int(zones.address_of_())
        for i in range(zones.type_.strip_typedefs().length or 0):
            z = zones[i]
            address = base + i * zone_t.byte_size
            w = z.member_(wm)
            levels = tuple(int(w[marks.get(k, d)]) for k, d in
                           (("WMARK_MIN", 0), ("WMARK_LOW", 1), ("WMARK_HIGH", 2)))
            stats = StatTable("VM_STAT", list(zip(names, _values(
                target, address + zone_t.offsetof("vm_stat"), len(names)))), width)
            out.append(ZoneStats(n, i, address, zone_name(target, int(z.name)),
                                 int(z.spanned_pages), int(z.present_pages),
                                 (levels[0], levels[1], levels[2]), stats))
    return out
