"""Interrupt descriptors and their actions (the numbers behind `irq`).

Descriptors live in ``irq_desc[]`` (without CONFIG_SPARSE_IRQ), the
``irq_desc_tree`` radix tree (sparse, before 6.5) or the ``sparse_irqs`` maple
tree (6.5+), indexed by IRQ number; each has a chain of ``irqaction`` (one per
handler sharing the line).
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, XcrashError
from ...objects import CorruptList
from .maple import entries as maple_entries
from .xarray import entries as xarray_entries

if TYPE_CHECKING:
    from .kernel import LinuxTarget

ACTION_LIMIT = 256


@dataclass
class IrqAction:
    action: int                     # struct irqaction
    name: str | Unreadable


@dataclass
class Irq:
    """A line (or, with shared handlers, lines) of `irq`."""
    irq: int
    desc: int                       # struct irq_desc; 0 when the IRQ has none
    actions: list[IrqAction] | Unreadable


def irq_descriptors(target: LinuxTarget) -> dict[int, int]:
    """IRQ number -> struct irq_desc address, for every descriptor there is."""
    sym = target.symbols.get("irq_desc")
    if sym is not None and target.symbols.get("irq_desc_tree") is None:
        size = target.type("struct irq_desc").byte_size
        # the array's length: from the symbol's size, else from its declared type (NR_IRQS)
        count = (sym.size // size if sym.size
                 else target.variable_type("irq_desc").strip_typedefs().length or 0)
        if not count:
            raise XcrashError("the irq_desc array has no size: cannot tell how many IRQs")
        return {i: sym.address + i * size for i in range(count)}
    if target.symbols.get("irq_desc_tree") is not None:
        return dict(xarray_entries(target, target.address_of("irq_desc_tree")))
    if target.symbols.get("sparse_irqs") is not None:
        return {first: desc for first, _last, desc in
                maple_entries(target, target.address_of("sparse_irqs"))}
    raise XcrashError("no irq_desc, irq_desc_tree or sparse_irqs: cannot find the IRQ descriptors")


def _string(target: LinuxTarget, address: int, what: str, limit: int = 64) -> str | Unreadable:
    """A name; "" for none (NULL)."""
    if not address:
        return ""
    try:
        return target.space.read_cstring(address, limit).decode("utf-8", "replace")
    except MemoryError_ as err:
        caveat(f"{what} unreadable ({err}): shown as ?")
        return Unreadable(str(err))


def _actions(target: LinuxTarget, desc: int) -> list[IrqAction]:
    action_t = target.type("struct irqaction")
    first = action = int(target.object_at("struct irq_desc", desc).action)
    out: list[IrqAction] = []
    while action:
        if len(out) >= ACTION_LIMIT:
            raise CorruptList(first, action, f"more than {ACTION_LIMIT} irqactions")
        a = target.object_at(action_t, action)
        out.append(IrqAction(action, _string(target, int(a.name), f"name of irqaction {action:x}",
                                             128)))
        action = int(a.next)
    return out


def nr_irqs(target: LinuxTarget, descs: dict[int, int]) -> int:
    """How many IRQ numbers the kernel allows: ``nr_irqs`` (``total_nr_irqs`` on 7.x,
    where crash, finding neither, assumes NR_IRQS 224 and stops there)."""
    sym = target.symbols.get("nr_irqs") or target.symbols.get("total_nr_irqs")
    if sym is None:                 # before 2.6.28 the count is NR_IRQS, a constant
        return max(descs, default=-1) + 1
    return int(target.space.read_u32(sym.address))


def irqs(target: LinuxTarget) -> Iterator[Irq]:
    """Every IRQ number below ``nr_irqs`` with its descriptor and actions (the
    descriptors are found at once, the actions read as the listing goes)."""
    descs = irq_descriptors(target)
    count = nr_irqs(target, descs)

    def each() -> Iterator[Irq]:
        for n in range(count):
            desc = descs.get(n, 0)
            actions: list[IrqAction] | Unreadable = []
            if desc:
                try:
                    actions = _actions(target, desc)
                except (MemoryError_, XcrashError) as err:
                    caveat(f"actions of IRQ {n} (irq_desc {desc:x}) unreadable: {err}; shown as ?")
                    actions = Unreadable(str(err))
            yield Irq(n, desc, actions)
    return each()


def _handled(target: LinuxTarget) -> Iterator[tuple[Irq, list[IrqAction]]]:
    """The IRQs with an action (an IRQ whose actions cannot be read is said so)."""
    for irq in irqs(target):
        if irq.desc and isinstance(irq.actions, list) and irq.actions:
            yield irq, irq.actions


@dataclass
class IrqStats:
    """A line of `irq -s`."""
    irq: int
    counts: list[int | Unreadable]    # per online CPU (desc->kstat_irqs)
    chip: str | Unreadable            # irq_chip name ("IO-APIC", "PCI-MSI", "xen-dyn")
    flow: str | Unreadable            # the flow handler's name (desc->name: "edge", "fasteoi")
    names: list[str | Unreadable]     # the actions' names


def irq_stats(target: LinuxTarget) -> Iterator[IrqStats]:
    """Per-CPU interrupt counts of every IRQ with an action (/proc/interrupts), a
    count for each online CPU."""
    desc_t = target.type("struct irq_desc")
    cpus = sorted(target.online_cpus)
    for irq, actions in _handled(target):
        desc = target.object_at(desc_t, irq.desc)
        per_cpu = int(desc.kstat_irqs)
        counts: list[int | Unreadable] = []
        for cpu in cpus:
            if not per_cpu:
                counts.append(0)    # no per-CPU counters allocated: never counted
                continue
            try:
                counts.append(target.space.read_u32(target.per_cpu_address(per_cpu, cpu)))
            except MemoryError_ as err:
                caveat(f"IRQ {irq.irq}: count of CPU {cpu} unreadable ({err}): shown as ?")
                counts.append(Unreadable(str(err)))
        chip = int(desc.irq_data.chip)
        chip_name = _string(target, int(target.object_at("struct irq_chip", chip).name),
                            f"irq_chip name of IRQ {irq.irq}") if chip else ""
        yield IrqStats(irq.irq, counts, chip_name,
                       _string(target, int(desc.name), f"flow handler name of IRQ {irq.irq}"),
                       [a.name for a in actions])


@dataclass
class IrqAffinity:
    """A line of `irq -a`."""
    irq: int
    names: list[str | Unreadable]
    cpus: list[int] | Unreadable      # the CPUs of its affinity mask


def irq_affinity(target: LinuxTarget) -> Iterator[IrqAffinity]:
    """The affinity of every IRQ with an action: ``irq_common_data.affinity`` (a
    pointer with CONFIG_CPUMASK_OFFSTACK), over the CPUs up to the last online one."""
    ncpus = max(target.online_cpus, default=0) + 1
    common_off = target.offsetof("struct irq_desc", "irq_common_data")
    aff_off, aff_m = target.type("struct irq_common_data").member("affinity")
    pointer = aff_m.type.strip_typedefs().is_pointer()
    nbytes = (ncpus + 63) // 64 * 8
    for irq, actions in _handled(target):
        names = [a.name for a in actions]
        where = irq.desc + common_off + aff_off // 8
        try:
            if pointer:
                where = target.space.read_u64(where)
            mask = int.from_bytes(target.space.read(where, nbytes), "little")
        except MemoryError_ as err:
            caveat(f"affinity mask of IRQ {irq.irq} unreadable ({err}): shown as ?")
            yield IrqAffinity(irq.irq, names, Unreadable(str(err)))
            continue
        yield IrqAffinity(irq.irq, names, [cpu for cpu in range(ncpus) if mask >> cpu & 1])


def cpu_ranges(cpus: list[int]) -> str:
    """"0-1,4" as crash and /proc print a CPU list."""
    parts: list[tuple[int, int]] = []
    for cpu in cpus:
        if parts and parts[-1][1] == cpu - 1:
            parts[-1] = (parts[-1][0], cpu)
        else:
            parts.append((cpu, cpu))
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in parts)


@dataclass
class SoftIrq:
    """A line of `irq -b`."""
    vector: int
    action: int
    symbol: str | None          # symbol+offset of the handler


def softirq_actions(target: LinuxTarget) -> list[SoftIrq]:
    """Each softirq vector that has a handler (`softirq_vec`)."""
    sym = target.symbol("softirq_vec")
    entry = target.type("struct softirq_action").byte_size
    count = sym.size // entry if sym.size else 10      # NR_SOFTIRQS since 2.6.28
    out = []
    for i in range(count):
        action = target.space.read_u64(sym.address + i * entry)
        if action:
            out.append(SoftIrq(i, action, target.describe_address(action)))
    return out


IDT_VECTORS = 256
GATE_SIZE = 16                  # struct gate_struct (x86_64)


@dataclass
class IdtGate:
    """A line of `irq -d`."""
    vector: int
    handler: int
    symbol: str | None          # symbol+offset of the handler


def idt_handlers(target: LinuxTarget) -> list[IdtGate]:
    """The handler of each of the 256 gates of `idt_table` (x86_64 gate layout:
    offset bits 0-15 in bytes 0-1, 16-31 in bytes 6-7, 32-63 in bytes 8-11)."""
    raw = target.space.read(target.address_of("idt_table"), IDT_VECTORS * GATE_SIZE)
    out = []
    for i in range(IDT_VECTORS):
        gate = raw[i * GATE_SIZE:(i + 1) * GATE_SIZE]
        handler = (int.from_bytes(gate[0:2], "little") | int.from_bytes(gate[6:8], "little") << 16
                   | int.from_bytes(gate[8:12], "little") << 32)
        out.append(IdtGate(i, handler, target.describe_address(handler)))
    return out
