"""mach: the machine and the kernel's address-space layout, as crash shows them."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..caveats import Unreadable
from ..errors import CommandError, NoSuchType
from ..results import Records
from ..targets.linux.kernel import LinuxTarget
from ..targets import values
from ..targets.linux.machine import MachineInfo, MemoryRange, machine_info, memory_map
from ..targets.system import format_size
from ..targets.values import StructContents
from ..layouts.values import struct_lines
from .args import radix_of
from .base import Command, Context, Option


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


def memmap_lines(records: Iterable[MemoryRange]) -> Iterator[str]:
    yield "      PHYSICAL ADDRESS RANGE         TYPE"
    yield from (f"{r.start:016x} - {r.end:016x}  {r.type}" for r in records)


@dataclass
class CpuInfo:
    """mach -c: a CPU's struct cpuinfo_x86 (None: an offline CPU, hidden)."""
    cpu: int
    cpuinfo: StructContents | None
    radix: int = field(default=10, metadata={"json": False})


def cpuinfo_lines(records: Iterable[CpuInfo]) -> Iterator[str]:
    for r in records:
        blank = "\n" if r.cpu else ""
        if r.cpuinfo is None:
            yield f"{blank}CPU {r.cpu}: [OFFLINE]"
            continue
        yield f"{blank}CPU {r.cpu}:"
        yield from struct_lines(r.cpuinfo, r.radix)


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
-m shows the firmware's physical memory map as the kernel keeps it (E820);
-c each CPU's struct cpuinfo_x86 (its per-CPU cpu_info), gdb-style, in the
output radix or -x/-d's; with both, the memory map comes first, as crash.
"""
    example = "mach\nmach -m"
    options = (Option("-m", "memmap", "the physical memory map (E820)"),
               Option("-c", "cpuinfo", "each CPU's struct cpuinfo_x86"),
               Option("-x", "hex", "-c in hexadecimal"),
               Option("-d", "dec", "-c in decimal"))
    exclusive = (("hex", "dec"),)

    def run(self, ctx: Context, args: list[str]) -> Records | list[Records]:
        opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"mach: unexpected argument {rest[0]}")
        target = ctx.target
        assert isinstance(target, LinuxTarget)          # targets = ("linux",)
        out = []
        if opts["memmap"]:
            out.append(Records(memory_map(target), memmap_lines))
        if opts["cpuinfo"]:
            hide = ctx.settings.get("offline") == "hide"
            out.append(Records(cpu_infos(target, radix_of(ctx, opts), hide), cpuinfo_lines))
        return out or Records([machine_info(target)], machine_lines)


def cpu_infos(target: LinuxTarget, radix: int, hide_offline: bool) -> list[CpuInfo]:
    """Each CPU's struct cpuinfo_x86 (the per-CPU cpu_info; boot_cpu_data on a kernel
    without it) of every CPU crash counts; an offline one hidden with ``set offline
    hide``."""
    from ..targets.cpuspec import cpu_count, offline_cpus
    try:
        t = target.type("struct cpuinfo_x86")
    except NoSuchType as err:
        raise CommandError(f"mach: {err}") from err
    sym = target.symbols.get("cpu_info") or target.symbols.get("cpu_data")
    if sym is None:
        boot = target.symbols.get("boot_cpu_data")
        if boot is None:
            raise CommandError("mach: no cpu_info, cpu_data or boot_cpu_data symbol")
        return [CpuInfo(0, values.read_struct(target, t, boot.address), radix)]
    hidden = offline_cpus(target) if hide_offline else set()
    return [CpuInfo(cpu, None if cpu in hidden else
                    values.read_struct(target, t, target.per_cpu_address(sym.address, cpu)), radix)
            for cpu in range(cpu_count(target))]


COMMANDS = [Mach]
