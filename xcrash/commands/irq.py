"""irq: interrupt descriptors and their handlers, as crash lists them."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError, MemoryError_, XcrashError
from .args import parse_number
from .base import Command, Context, Option, Result, Text
from ..layouts.columns import center

HEADER = " IRQ   IRQ_DESC/_DATA      IRQACTION      NAME"
UNUSED = "    (unused)    "


def irq_lines(irq: Any) -> list[str]:
    desc = f"{irq.desc:16x}" if irq.desc else UNUSED
    if not irq.actions:
        return [f"{center(str(irq.irq), 4, True)}  {desc}  {UNUSED}  "]
    lines = []
    for i, (action, name) in enumerate(irq.actions):
        head = f"{center(str(irq.irq), 4, True)}  {desc}  " if i == 0 else " " * 24
        lines.append(f"{head}{action:16x}  \"{name}\"")
    return lines


def _softirq_text(target: Any) -> Text:
    from ..targets.linux.irqs import softirq_actions
    found = softirq_actions(target)
    lines = ["SOFTIRQ_VEC      ACTION     "] + [
        f"    [{vec}]{' ' * (4 if vec < 10 else 3)} {action:16x}  "
        f"<{target.describe_address(action) or f'{action:x}'}>" for vec, action in found]
    return Text("\n".join(lines), [{"vector": v, "action": a} for v, a in found])


def _idt_text(target: Any) -> Text:
    from ..targets.linux.irqs import idt_handlers
    handlers = idt_handlers(target)
    lines = [f"{'[' + str(i) + ']':>5} {target.describe_address(h) or f'{h:016x}'}"
             for i, h in enumerate(handlers)]
    return Text("\n".join(lines), [{"vector": i, "handler": h} for i, h in enumerate(handlers)])


class IrqCmd(Command):
    name = "irq"
    synopsis = "irq [-u] [irq ...] | -s | -a | -b | -d"
    summary = "interrupt descriptors and handlers"
    group = "linux"
    targets = ("linux",)
    description = """\
Each IRQ number below nr_irqs: its struct irq_desc, and each irqaction
registered on it with the handler's name (shared lines get one row per
action); (unused) where there is no descriptor or no action.  With numbers,
only those IRQs; -u only the IRQs in use (that have a descriptor, as crash's
-u: lines with no action still show).
`irq -s`: each IRQ with a handler, its count on every CPU, its chip and flow
handler and the handlers' names, as /proc/interrupts shows them.
`irq -a`: each IRQ with a handler, the handlers' names and its CPU affinity.
`irq -b`: the softirq vectors (softirq_vec) that have a handler, and the handler.
`irq -d`: the 256 gates of the interrupt descriptor table (idt_table), each as
symbol+offset (or its address when no symbol covers it).
"""
    example = "irq\nirq -u\nirq 4\nirq -b\nirq -d"
    options = (Option("-u", "in_use", "only IRQs that have a descriptor"),
               Option("-s", "stats", "per-CPU interrupt counts"),
               Option("-a", "affinity", "CPU affinity of each IRQ"),
               Option("-b", "softirqs", "the softirq vectors and their handlers"),
               Option("-d", "idt", "the interrupt descriptor table"))

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.irqs import cpu_ranges, irq_affinity, irq_stats, irqs
        opts, rest = self.parse(args)
        if opts["softirqs"] or opts["idt"]:
            try:
                return _softirq_text(ctx.target) if opts["softirqs"] else _idt_text(ctx.target)
            except (MemoryError_, XcrashError) as e:
                raise CommandError(f"irq: {e}") from None
        if opts["affinity"]:
            ncpus = max(ctx.target.online_cpus, default=0) + 1
            try:
                found = irq_affinity(ctx.target, ncpus)
            except (MemoryError_, XcrashError) as e:
                raise CommandError(f"irq: {e}") from None
            lines = ["IRQ NAME                 AFFINITY"] + [
                f"{n:3d} {','.join(names):<20} {cpu_ranges(cpus)}" for n, names, cpus in found]
            return Text("\n".join(lines), [{"irq": n, "names": names, "cpus": cpus}
                                            for n, names, cpus in found])
        if opts["stats"]:
            try:
                stats = irq_stats(ctx.target)
            except (MemoryError_, XcrashError) as e:
                raise CommandError(f"irq: {e}") from None
            cpus = sorted(ctx.target.online_cpus)
            lines = ["     " + "".join(f"{'CPU' + str(c):>10} " for c in cpus)]
            for st in stats:
                lines.append(f"{st.irq:3d}: " + "".join(f"{n:10d} " for n in st.counts)
                             + f"{st.chip:>8}-{st.flow:<8} {','.join(st.names)}")
            return Text("\n".join(lines), [vars(st) for st in stats])
        try:
            found = irqs(ctx.target)
        except (MemoryError_, XcrashError) as e:
            raise CommandError(f"irq: {e}") from None
        if rest:
            wanted = [parse_number(a) for a in rest]
            by_number = {i.irq: i for i in found}
            missing = [n for n in wanted if n not in by_number]
            if missing:
                raise CommandError(f"irq: invalid IRQ value: {missing[0]} (nr_irqs is {len(found)})")
            found = [by_number[n] for n in wanted]
        if opts["in_use"]:
            found = [i for i in found if i.desc]
        lines = [HEADER] + [line for i in found for line in irq_lines(i)]
        records = [{"irq": i.irq, "desc": i.desc,
                    "actions": [{"action": a, "name": n} for a, n in i.actions]} for i in found]
        return Text("\n".join(lines), records)


COMMANDS = [IrqCmd]
