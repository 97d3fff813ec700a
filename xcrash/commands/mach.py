"""mach: the machine and the kernel's address-space layout, as crash shows them."""
from __future__ import annotations

from ..errors import CommandError, XcrashError
from .base import Command, Context, Result, Text


class Mach(Command):
    name = "mach"
    synopsis = "mach"
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
at their tops; xcrash names them, with their base and size.
"""
    example = "mach"

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux import sysinfo
        _opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"mach: unexpected argument {rest[0]}")
        target = ctx.target
        try:
            layout = sysinfo.machine_layout(target)
            stacks = sysinfo.cpu_stack_table(target)
        except XcrashError as e:
            raise CommandError(f"mach: {e}") from None
        mem = sysinfo.installed_memory_bytes(target)
        mhz = sysinfo.cpu_mhz(target)
        fields = [("MACHINE TYPE", target.utsname["machine"]),
                  ("MEMORY SIZE", sysinfo.format_size(mem) if mem is not None else "(unknown)"),
                  ("CPUS", str(len(target.online_cpus))),
                  *((("HYPERVISOR", hv),) if (hv := sysinfo.hypervisor(target)) else ()),
                  ("PROCESSOR SPEED", f"{mhz} Mhz" if mhz else "(unknown)"),
                  ("HZ", str(sysinfo.hz(target))), ("PAGE SIZE", "4096"),
                  ("KERNEL VIRTUAL BASE", f"{layout['page_offset']:x}"),
                  ("KERNEL VMALLOC BASE", f"{layout['vmalloc_base']:x}"),
                  ("KERNEL VMEMMAP BASE", f"{layout['vmemmap_base']:x}"),
                  ("KERNEL START MAP", f"{layout['start_kernel_map']:x}"),
                  ("KERNEL MODULES BASE", f"{layout['modules_vaddr']:x}"),
                  ("KERNEL STACK SIZE", str(layout["thread_size"]))]
        lines = [f"{key:>22}: {value}" for key, value in fields]
        for name, size, bases in stacks:
            if name == "IRQ":
                lines += [f"{'IRQ STACK SIZE':>22}: {size}", f"{'IRQ STACKS':>22}:"]
            else:
                lines += [f"{name:>11} STACK SIZE: {size}", f"{name + ' STACKS:':>23}"]
            lines += [f"{'CPU ' + str(cpu):>22}: {base:016x}" + ("" if ok else " [unavailable]")
                      for cpu, base, ok in bases]
        record = dict(fields, stacks=[{"name": n, "size": s, "bases": {c: b for c, b, _ in bb}}
                                      for n, s, bb in stacks])
        return Text("\n".join(lines), [record])


COMMANDS = [Mach]
