"""mach: the machine and the kernel's address-space layout, as crash shows them."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..caveats import Unreadable
from ..errors import CommandError
from ..results import Records
from ..targets.linux.kernel import LinuxTarget
from ..targets.linux.machine import MachineInfo, machine_info
from ..targets.system import format_size
from .base import Command, Context


def machine_lines(records: Iterable[MachineInfo]) -> Iterator[str]:
    for m in records:
        fields = [("MACHINE TYPE", m.machine_type),
                  ("MEMORY SIZE", "(unknown)" if isinstance(m.memory_size, Unreadable)
                   else format_size(m.memory_size)),
                  ("CPUS", str(m.cpus)),
                  *((("HYPERVISOR", m.hypervisor),) if m.hypervisor else ()),
                  ("PROCESSOR SPEED", f"{m.processor_speed} Mhz" if m.processor_speed
                   else "(unknown)"),
                  ("HZ", str(m.hz)), ("PAGE SIZE", str(m.page_size)),
                  ("KERNEL VIRTUAL BASE", f"{m.kernel_virtual_base:x}"),
                  ("KERNEL VMALLOC BASE", f"{m.kernel_vmalloc_base:x}"),
                  ("KERNEL VMEMMAP BASE", f"{m.kernel_vmemmap_base:x}"),
                  ("KERNEL START MAP", f"{m.kernel_start_map:x}"),
                  ("KERNEL MODULES BASE", f"{m.kernel_modules_base:x}"),
                  ("KERNEL STACK SIZE", str(m.kernel_stack_size))]
        yield from (f"{key:>22}: {value}" for key, value in fields)
        for kind in m.stacks:
            if kind.name == "IRQ":
                yield f"{'IRQ STACK SIZE':>22}: {kind.size}"
                yield f"{'IRQ STACKS':>22}:"
            else:
                yield f"{kind.name:>11} STACK SIZE: {kind.size}"
                yield f"{kind.name + ' STACKS:':>23}"
            yield from (f"{'CPU ' + str(s.cpu):>22}: {s.base:016x}"
                        + ("" if s.available else " [unavailable]") for s in kind.stacks)


class Mach(Command):
    name = "mach"
    summary = "machine type, memory, CPUs and the kernel's address-space layout"
    group = "linux"
    targets = ("linux",)
    description = """\
Machine type, memory size, CPUs, processor speed, HZ and page size; the
kernel's (KASLR-randomised) direct map, vmalloc and vmemmap bases, the kernel
image and module bases; the kernel stack size; each CPU's IRQ stack and the
exception stacks its TSS interrupt stack table points at ([unavailable]: not
in the dump).  crash 8.0.6 names only the DOUBLEFAULT, NMI and DEBUG stacks
of current kernels and shows the MCE and VC stacks as "(unknown)" of size 0
at their tops; xcrash names them, with their base and size.  JSON: one record,
the fields by name (sizes in bytes, speed in MHz, addresses as integers) and
stacks (name, size, and each CPU's base and whether the dump holds it).
"""
    example = "mach"

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"mach: unexpected argument {rest[0]}")
        target = ctx.target
        assert isinstance(target, LinuxTarget)          # targets = ("linux",)
        return Records([machine_info(target)], machine_lines)


COMMANDS = [Mach]
