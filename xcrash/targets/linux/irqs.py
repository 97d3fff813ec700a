"""Interrupt descriptors and their actions (the numbers behind `irq`).

Descriptors live in ``irq_desc[]`` (without CONFIG_SPARSE_IRQ), the
``irq_desc_tree`` radix tree (sparse, before 6.5) or the ``sparse_irqs`` maple
tree (6.5+), indexed by IRQ number; each has a chain of ``irqaction`` (one per
handler sharing the line).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import MemoryError_, XcrashError

ACTION_LIMIT = 256


@dataclass
class Irq:
    irq: int
    desc: int                       # struct irq_desc; 0 when the IRQ has none
    actions: list[tuple[int, str]]  # (struct irqaction, its name)


def irq_descriptors(target: Any) -> dict[int, int]:
    """IRQ number -> struct irq_desc address, for every descriptor there is."""
    sym = target.symbols.get("irq_desc")
    if sym is not None and target.symbols.get("irq_desc_tree") is None:
        size = target.type("struct irq_desc").byte_size
        count = sym.size // size if sym.size else 0
        return {i: sym.address + i * size for i in range(count)}
    if target.symbols.get("irq_desc_tree") is not None:
        from .xarray import entries
        return dict(entries(target, target.address_of("irq_desc_tree")))
    if target.symbols.get("sparse_irqs") is not None:
        from .maple import entries as maple_entries
        return {first: desc for first, _last, desc in
                maple_entries(target, target.address_of("sparse_irqs"))}
    raise XcrashError("no irq_desc, irq_desc_tree or sparse_irqs: cannot find the IRQ descriptors")


def _actions(target: Any, desc: int) -> list[tuple[int, str]]:
    action_t = target.type("struct irqaction")
    action = int(target.object_at(target.type("struct irq_desc"), desc).action)
    out = []
    while action and len(out) < ACTION_LIMIT:
        a = target.object_at(action_t, action)
        name_ptr = int(a.name)
        try:
            name = target.space.read_cstring(name_ptr, 128).decode("utf-8", "replace") if name_ptr else ""
        except MemoryError_:
            name = ""
        out.append((action, name))
        action = int(a.next)
    return out


def irqs(target: Any) -> list[Irq]:
    """Every IRQ number below ``nr_irqs`` with its descriptor and actions."""
    descs = irq_descriptors(target)
    sym = target.symbols.get("nr_irqs")
    count = target.space.read_u32(sym.address) if sym is not None else (max(descs, default=-1) + 1)
    out = []
    for n in range(count):
        desc = descs.get(n, 0)
        try:
            actions = _actions(target, desc) if desc else []
        except (MemoryError_, XcrashError):
            actions = []
        out.append(Irq(n, desc, actions))
    return out


@dataclass
class IrqStats:
    irq: int
    counts: list[int]     # per online CPU (desc->kstat_irqs)
    chip: str             # irq_chip name ("IO-APIC", "PCI-MSI", "xen-dyn")
    flow: str             # the flow handler's name (desc->name: "edge", "fasteoi")
    names: list[str]      # the actions' names


def _string(target: Any, address: int) -> str:
    if not address:
        return ""
    try:
        return target.space.read_cstring(address, 64).decode("utf-8", "replace")
    except MemoryError_:
        return ""


def irq_stats(target: Any) -> list[IrqStats]:
    """Per-CPU interrupt counts of every IRQ with an action (/proc/interrupts)."""
    desc_t = target.type("struct irq_desc")
    cpus = sorted(target.online_cpus)
    out = []
    for irq in irqs(target):
        if not irq.desc or not irq.actions:
            continue
        desc = target.object_at(desc_t, irq.desc)
        per_cpu = int(desc.kstat_irqs)
        counts = []
        for cpu in cpus:
            try:
                counts.append(target.space.read_u32(target.per_cpu_address(per_cpu, cpu))
                              if per_cpu else 0)
            except MemoryError_:
                counts.append(0)
        chip = int(desc.irq_data.chip)
        chip_name = _string(target, int(target.object_at(target.type("struct irq_chip"), chip).name)) \
            if chip else ""
        out.append(IrqStats(irq.irq, counts, chip_name, _string(target, int(desc.name)),
                            [name for _, name in irq.actions]))
    return out


def irq_affinity(target: Any, ncpus: int) -> list[tuple[int, list[str], list[int]]]:
    """(irq, handler names, CPUs in its affinity mask) of every IRQ with an action;
    the mask is ``irq_common_data.affinity`` (a pointer with CONFIG_CPUMASK_OFFSTACK)."""
    desc_t = target.type("struct irq_desc")
    common_off, common_m = desc_t.member("irq_common_data")
    aff_off, aff_m = common_m.type.strip_typedefs().member("affinity")
    pointer = aff_m.type.strip_typedefs().is_pointer()
    nbytes = (ncpus + 63) // 64 * 8
    out = []
    for irq in irqs(target):
        if not irq.desc or not irq.actions:
            continue
        where = irq.desc + common_off // 8 + aff_off // 8
        try:
            if pointer:
                where = target.space.read_u64(where)
            mask = int.from_bytes(target.space.read(where, nbytes), "little")
        except MemoryError_:
            continue
        out.append((irq.irq, [name for _, name in irq.actions],
                    [cpu for cpu in range(ncpus) if mask >> cpu & 1]))
    return out


def cpu_ranges(cpus: list[int]) -> str:
    """"0-1,4" as crash and /proc print a CPU list."""
    parts: list[tuple[int, int]] = []
    for cpu in cpus:
        if parts and parts[-1][1] == cpu - 1:
            parts[-1] = (parts[-1][0], cpu)
        else:
            parts.append((cpu, cpu))
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in parts)


def softirq_actions(target: Any) -> list[tuple[int, int]]:
    """(vector, handler) of each softirq vector that has a handler (`softirq_vec`)."""
    sym = target.symbol("softirq_vec")
    entry = target.type("struct softirq_action").byte_size
    count = sym.size // entry if sym.size else 10      # NR_SOFTIRQS since 2.6.28
    out = []
    for i in range(count):
        action = target.space.read_u64(sym.address + i * entry)
        if action:
            out.append((i, action))
    return out


IDT_VECTORS = 256
GATE_SIZE = 16                  # struct gate_struct (x86_64)


def idt_handlers(target: Any) -> list[int]:
    """The handler address of each of the 256 gates of `idt_table` (x86_64 gate layout:
    offset bits 0-15 in bytes 0-1, 16-31 in bytes 6-7, 32-63 in bytes 8-11)."""
    raw = target.space.read(target.address_of("idt_table"), IDT_VECTORS * GATE_SIZE)
    handlers = []
    for i in range(IDT_VECTORS):
        gate = raw[i * GATE_SIZE:(i + 1) * GATE_SIZE]
        handlers.append(int.from_bytes(gate[0:2], "little")
                        | int.from_bytes(gate[6:8], "little") << 16
                        | int.from_bytes(gate[8:12], "little") << 32)
    return handlers
