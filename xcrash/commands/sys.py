"""sys: what the dump is and what the kernel (or hypervisor) in it was."""
from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any
from collections.abc import Iterable, Iterator

from ..caveats import Unreadable
from ..errors import CommandError
from ..results import Records, text_lines
from ..targets.linux import syscalls, sysinfo
from ..targets.linux.syscalls import SyscallEntry
from ..targets.linux.kernel import LinuxTarget
from ..targets.linux.sysinfo import DmiField
from ..targets.linux.taints import KernelTaint, kernel_taint
from ..targets.base import Target
from ..targets.system import dump_system, xen_system
from ..targets.xen.hypervisor import XenTarget
from .base import ANY_TARGET, Command, Context, Option

#: where a DUMPFILES part after the first starts
PART_INDENT = " " * 14


def field_lines(records: Iterable[Any], *, xen: bool = False) -> Iterator[str]:
    """crash's ``sys``: each field of the record as ``NAME: value``, names right-aligned
    in 12 columns (10 with the colon in crash's hypervisor layout); a field the target
    does not have (None) is left out, one that could not be read is ``?``; PANIC
    is quoted, and left out when the log could not say it."""
    for record in records:
        for f in dataclasses.fields(record):
            if not f.metadata.get("json", True) or not f.metadata.get("text", True):
                continue
            value = getattr(record, f.name)
            if value is None or f.name == "panic" and isinstance(value, Unreadable):
                continue
            name = f.name.upper().replace("_", " ")
            text = str(value)
            if f.name == "kernel" and getattr(record, "tainted", False):
                text += "  [TAINTED]"          # as crash marks a tainted kernel
            elif f.name == "dumpfile":
                name += "S" if record.split else ""
                text = text.replace("\n", "\n" + PART_INDENT)
            elif f.name == "panic":
                text = f'"{value}"' + (" (check log for details)" if "Oops: " in value else "")
            yield from (f"{name + ':':>10} {text}" if xen else f"{name:>12}: {text}").split("\n")


def taint_lines(records: Iterable[KernelTaint]) -> Iterator[str]:
    for r in records:
        yield f"TAINTED_MASK: {r.tainted_mask:x}  {r.flags}"


def dmi_lines(records: Iterable[DmiField], *, width: int) -> Iterator[str]:
    """The DMI strings right-aligned to the longest field name of the kernel's enum."""
    for r in records:
        yield f"  {r.name:>{width}}: {r.value}"


def syscall_lines(records: Iterable[SyscallEntry], *, radix: int = 10,
                  header: bool = True) -> Iterator[str]:
    """crash's ``sys -c``: NUM, the function, its file and line (when crash finds it)."""
    if header:
        yield "NUM  SYSTEM CALL                FILE AND LINE NUMBER"
    for r in records:
        num = f"{r.number:3x}" if radix == 16 else f"{r.number:3d}"
        if r.name is None:
            yield f"{num}  invalid sys_call_table entry: {r.address:x} "
        else:
            yield f"{num}  {r.name:<26} {r.source}"


def _syscall_matches(entry: SyscallEntry, spec: str) -> bool:
    """crash's match of a ``sys -c`` argument: a number is the entry's number, a word
    is found in the function's name."""
    if spec.isdigit() or spec.lower().startswith("0x"):
        try:
            return entry.number == int(spec, 0 if spec.lower().startswith("0x") else 10)
        except ValueError:
            return False        # not a number after all: nothing matches, as crash
    return entry.name is not None and spec in entry.name


def chosen_syscalls(table: list[SyscallEntry], specs: list[str]) -> tuple[list[SyscallEntry], bool]:
    """The entries each argument names, argument by argument (a number names one), and
    whether crash prints the header: only when the first argument names something
    (it counts the arguments already done as headers printed)."""
    out: list[SyscallEntry] = []
    header = False
    for i, spec in enumerate(specs):
        found = [e for e in table if _syscall_matches(e, spec)]
        if spec.isdigit() or spec.lower().startswith("0x"):
            found = found[:1]
        header = header or (i == 0 and bool(found))
        out += found
    return out, header


class Sys(Command):
    targets = ANY_TARGET
    name = "sys"
    arguments = "[config] | -c [name|number] ..."
    summary = "system data: kernel, dump file, CPUs, date, uptime, panic message"
    group = "general"
    description = """\
The dump at a glance, in crash's layout: KERNEL (symbol file), DUMPFILE
([PARTIAL DUMP] when makedumpfile excluded pages), CPUS (present;
[OFFLINE: n] for those not online), DATE (crash
time from VMCOREINFO), UPTIME, LOAD AVERAGE, TASKS (idle tasks included, as
crash counts), NODENAME, RELEASE, VERSION, MACHINE, MEMORY (present pages of
all nodes), PANIC (the panic message found in the log, by crash's keywords).
A value that could not be read is ?, with a WARNING line saying why; PANIC is
left out when log records were lost and none of the others has a message.
On the Xen hypervisor: crash's hypervisor layout (DOMAINS, the CPU model)
plus RELEASE; without Xen's DWARF (no xen-syms, or Debian's symbols-only one)
UPTIME and MACHINE are still read (per_cpu(cpu_time) at its fixed place, the
model after cpu_data's vendor string), where crash says unknown.  On a target
without symbols: what the dump's headers say.
-c lists the system call table (each argument: an entry's number, or a
string found in the function names; numbers in hexadecimal with `set radix
16`).  FILE AND LINE NUMBER follows crash's rule: the build directory is the
path of schedule()'s first line up to its /kernel/, and each entry shows the
first line of its function under it (not an include/ header), relative to
it.  On the linux-sysrq sample gdb gives schedule()'s first line as an inlined
current.h line and crash leaves the column empty; xcrash's line tables give
core.c there and fill it.
`sys config` prints the kernel's built-in configuration (CONFIG_IKCONFIG)
without its blank lines, as crash does.  JSON of -t: tainted_mask, flags; of
-i: a record per DMI string (name, value); of config: text lines.
"""
    example = "sys\nsys -t\nsys -c read\nsys config | grep CONFIG_HZ"
    options = (Option("-c", "syscalls", "the system call table, or the entries named by "
                      "number or a string in their names"),
               Option("-t", "taints", "the taint mask and its letters (as the kernel's own "
                      "\"Tainted:\" line spells them)"),
               Option("-i", "dmi", "the DMI strings the kernel keeps (dmi_ident)"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = ctx.target
        if opts["syscalls"] and not (opts["taints"] or opts["dmi"]):
            if not isinstance(target, LinuxTarget):
                raise CommandError("sys -c: only for a Linux target")
            table = syscalls.syscall_table(target)
            chosen, header = chosen_syscalls(table, rest) if rest else (table, True)
            radix = int(ctx.settings.get("radix", 10))
            return Records(chosen, partial(syscall_lines, radix=radix, header=header))
        if opts["taints"] or opts["dmi"]:
            if rest:
                raise CommandError(f"usage: {self.usage()}")
            if not isinstance(target, LinuxTarget):
                raise CommandError(f"sys {'-t' if opts['taints'] else '-i'}: only for a "
                                   "Linux target")
            # crash takes the first of -t and -i it meets; -t here
            return self._taints(target) if opts["taints"] else self._dmi(target)
        if rest == ["config"]:
            return self._config(target)
        if rest:
            raise CommandError(f"usage: {self.usage()}")
        if isinstance(target, LinuxTarget):
            return Records([sysinfo.linux_system(target)], field_lines)
        if isinstance(target, XenTarget) and target.symbols is not None:
            return Records([xen_system(target)], partial(field_lines, xen=True))
        return Records([dump_system(ctx.session.dump)], field_lines)

    @staticmethod
    def _taints(target: LinuxTarget) -> Records:
        return Records([kernel_taint(target)], taint_lines)

    @staticmethod
    def _dmi(target: LinuxTarget) -> Records:
        """crash's `sys -i`: the DMI strings, right-aligned as crash aligns them."""
        fields = sysinfo.dmi_strings(target)
        if fields is None:
            raise CommandError("dmi_ident does not exist in this kernel")
        width = max((len(f.name) for f in fields), default=0)
        return Records([f for f in fields if f.value is not None],
                       partial(dmi_lines, width=width))

    @staticmethod
    def _config(target: Target) -> Records:
        if not isinstance(target, LinuxTarget):
            raise CommandError("sys config: only for a Linux target")
        from ..targets.linux.config import kernel_config_text
        text = kernel_config_text(target)
        if text is None:
            raise CommandError("kernel_config_data not found: the kernel was built without "
                               "CONFIG_IKCONFIG")
        # crash prints the configuration without its blank lines
        return text_lines("\n".join(line for line in text.splitlines() if line))


COMMANDS = [Sys]
