"""irq: interrupt descriptors and their handlers, as crash lists them."""
from __future__ import annotations

from dataclasses import replace
from functools import partial
from collections.abc import Callable, Iterable, Iterator

from ..caveats import Unreadable
from ..errors import CommandError
from ..layouts.columns import center
from ..results import Column, Records
from ..targets.linux.irqs import (IdtGate, Irq, IrqAction, IrqAffinity, IrqStats, SoftIrq, cpu_ranges,
                                  idt_handlers, irq_affinity, irq_stats, irqs, softirq_actions)
from ..targets.cpuspec import parse_cpuspec
from .args import linux_target, parse_number
from .base import Command, Context, Option

HEADER = " IRQ   IRQ_DESC/_DATA      IRQACTION      NAME"
UNUSED = "    (unused)    "


def irq_lines(found: Iterable[Irq]) -> Iterator[str]:
    yield HEADER
    for irq in found:
        number = center(str(irq.irq), 4, True)
        desc = f"{irq.desc:16x}" if irq.desc else UNUSED
        if isinstance(irq.actions, Unreadable):
            yield f"{number}  {desc}  {irq.actions:>16}  "
            continue
        if not irq.actions:
            yield f"{number}  {desc}  {UNUSED}  "
        for i, a in enumerate(irq.actions):
            head = f"{number}  {desc}  " if i == 0 else " " * 24
            yield f"{head}{a.action:16x}  \"{a.name}\""


def _names(actions: list[IrqAction] | Unreadable) -> str:
    return ",".join(str(a.name) for a in actions) if isinstance(actions, list) else "?"


IRQ_COLUMNS = [Column("IRQ", "irq", "right"),
               Column("IRQ_DESC", "desc", fmt=lambda v: f"{v:x}" if v else "(unused)"),
               Column("NAME", "actions", fmt=_names)]


def stats_lines(stats: Iterable[IrqStats], *, cpus: list[int]) -> Iterator[str]:
    """/proc/interrupts' layout: a column per online CPU."""
    yield "     " + "".join(f"{'CPU' + str(c):>10} " for c in cpus)
    for st in stats:
        yield (f"{st.irq:3d}: " + "".join(f"{n:10d} " for n in st.counts)
               + f"{st.chip:>8}-{st.flow:<8} {','.join(str(n) for n in st.names)}")


def _nth(i: int) -> Callable[[list[int | Unreadable]], str]:
    return lambda counts: str(counts[i])


def stats_columns(cpus: list[int]) -> list[Column]:
    return ([Column("IRQ", "irq", "right")]
            + [Column(f"CPU{cpu}", "counts", "right", fmt=_nth(i)) for i, cpu in enumerate(cpus)]
            + [Column("CHIP", "chip", fmt=str), Column("FLOW", "flow", fmt=str),
               Column("NAME", "names", fmt=lambda v: ",".join(str(n) for n in v))])


def affinity_lines(found: Iterable[IrqAffinity]) -> Iterator[str]:
    yield "IRQ NAME                 AFFINITY"
    for a in found:
        cpus = cpu_ranges(a.cpus) if isinstance(a.cpus, list) else str(a.cpus)
        yield f"{a.irq:3d} {','.join(str(n) for n in a.names):<20} {cpus}"


AFFINITY_COLUMNS = [Column("IRQ", "irq", "right"),
                    Column("NAME", "names", fmt=lambda v: ",".join(str(n) for n in v)),
                    Column("AFFINITY", "cpus",
                           fmt=lambda v: cpu_ranges(v) if isinstance(v, list) else str(v))]


def softirq_lines(found: Iterable[SoftIrq]) -> Iterator[str]:
    yield "SOFTIRQ_VEC      ACTION     "
    for s in found:
        yield (f"    [{s.vector}]{' ' * (4 if s.vector < 10 else 3)} {s.action:16x}  "
               f"<{s.symbol or f'{s.action:x}'}>")


def idt_lines(gates: Iterable[IdtGate]) -> Iterator[str]:
    for g in gates:
        yield f"{'[' + str(g.vector) + ']':>5} {g.symbol or f'{g.handler:016x}'}"


def _vector_columns(key: str) -> list[Column]:
    return [Column("VECTOR", "vector", "right"), Column(key.upper(), key, fmt=lambda v: f"{v:x}"),
            Column("SYMBOL", "symbol")]


class IrqCmd(Command):
    name = "irq"
    synopsis = "irq [-u] [irq ...] | -s [-c cpu(s)] | -a | -b | -d"
    summary = "interrupt descriptors and handlers"
    group = "linux"
    targets = ("linux",)
    description = """\
Each IRQ number below nr_irqs: its struct irq_desc, and each irqaction
registered on it with the handler's name (shared lines get one row per
action); (unused) where there is no descriptor or no action.  With numbers,
only those IRQs.  Where the options are combined, the first of -b, -d, -a, -s
in that order is shown.  -c limits -s to those CPUs ("1,3", "0-1", "a" or
"all"); without -s it is accepted and has no effect, as in crash.
"""
    example = "irq\nirq -u\nirq 4\nirq -s\nirq -a\nirq -b\nirq -d"
    options = (Option("-u", "in_use", "only the IRQs that have a descriptor (as crash's -u: "
                      "lines with no action still show)"),
               Option("-s", "stats", "each IRQ with a handler: its count on every CPU, its "
                      "chip and flow handler and the handlers' names, as /proc/interrupts"),
               Option("-a", "affinity", "each IRQ with a handler: the handlers' names and its "
                      "CPU affinity"),
               Option("-b", "softirqs", "the softirq vectors (softirq_vec) that have a "
                      "handler, and the handler"),
               Option("-d", "idt", "the 256 gates of the interrupt descriptor table "
                      "(idt_table), each as symbol+offset (or its address)"),
               Option("-c", "cpus", "with -s: only these CPUs", takes_value=True,
                      metavar="cpu(s)"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = linux_target(ctx)
        if opts["softirqs"]:
            return Records(softirq_actions(target), softirq_lines,
                           columns=_vector_columns("action"))
        if opts["idt"]:
            return Records(idt_handlers(target), idt_lines, columns=_vector_columns("handler"))
        if opts["affinity"]:
            return Records(irq_affinity(target), affinity_lines, columns=AFFINITY_COLUMNS)
        if opts["stats"]:
            cpus = sorted(target.online_cpus)
            stats: Iterable[IrqStats] = irq_stats(target)
            if opts["cpus"] is not None:
                chosen = set(parse_cpuspec(target, opts["cpus"], None))
                keep = [i for i, c in enumerate(cpus) if c in chosen]
                cpus = [cpus[i] for i in keep]
                stats = (replace(st, counts=[st.counts[i] for i in keep]) for st in stats)
            return Records(stats, partial(stats_lines, cpus=cpus), columns=stats_columns(cpus))
        found: Iterable[Irq] = irqs(target)
        if rest:
            wanted = [parse_number(a) for a in rest]
            by_number = {i.irq: i for i in found}
            missing = [n for n in wanted if n not in by_number]
            if missing:
                raise CommandError(f"irq: invalid IRQ value: {missing[0]} "
                                   f"(nr_irqs is {len(by_number)})")
            found = [by_number[n] for n in wanted]
        if opts["in_use"]:
            found = (i for i in found if i.desc)
        return Records(found, irq_lines, columns=IRQ_COLUMNS)


COMMANDS = [IrqCmd]
