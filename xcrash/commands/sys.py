"""sys: what the dump is and what the kernel in it was."""
from __future__ import annotations

import time
from typing import Any

from ..errors import CommandError, XcrashError
from .base import ANY_TARGET, Command, Context, Result, Text


def crash_date(seconds: int) -> str:
    return time.strftime("%a %b %e %H:%M:%S %Z %Y", time.localtime(seconds))


def dumpfile_field(session: Any) -> dict[str, str]:
    """crash's DUMPFILE line, or for a split dump DUMPFILES with one part per line."""
    dump = session.dump
    parts = getattr(dump, "parts", None)
    if parts:
        lines = [p.path + (" [PARTIAL DUMP]" if getattr(p.header, "dump_level", None) else "")
                 for p in parts]
        return {"DUMPFILES": ("\n" + " " * 14).join(lines)}
    text = dump.path
    if getattr(dump.header, "dump_level", None):
        text += "  [PARTIAL DUMP]"
    return {"DUMPFILE": text}


def linux_fields(session: Any, target: Any) -> dict[str, str]:
    from ..targets.linux import sysinfo
    fields: dict[str, str] = {}
    fields["KERNEL"] = target.symfile.path if target.symfile is not None else "(none)"
    fields.update(dumpfile_field(session))
    fields["CPUS"] = str(len(target.online_cpus))
    when = sysinfo.crash_time(target)
    if when is not None:
        fields["DATE"] = crash_date(when)
    up = sysinfo.uptime_seconds(target)
    if up is not None:
        fields["UPTIME"] = sysinfo.format_uptime(up)
    load = sysinfo.load_average(target)
    if load is not None:
        fields["LOAD AVERAGE"] = load
    tasks = sysinfo.task_count(target)
    if tasks is not None:
        fields["TASKS"] = str(tasks)
    uts = target.utsname
    fields["NODENAME"] = uts["nodename"]
    fields["RELEASE"] = uts["release"]
    fields["VERSION"] = uts["version"]
    mhz = sysinfo.cpu_mhz(target)
    fields["MACHINE"] = uts["machine"] + (f"  ({mhz} Mhz)" if mhz else "")
    mem = sysinfo.installed_memory_bytes(target)
    if mem is not None:
        fields["MEMORY"] = sysinfo.format_size(mem)
    message = sysinfo.panic(target)
    if message is not None:
        fields["PANIC"] = f'"{message}"'
    elif getattr(target, "domain", None) is not None:
        fields["PANIC"] = '""'          # a Xen guest: the hypervisor crashed, not it
    return fields


def xen_fields(session: Any, target: Any) -> dict[str, str]:
    """crash's hypervisor-mode `sys` (its 11-column layout), plus RELEASE."""
    from ..targets.linux.sysinfo import format_size, format_uptime
    from ..targets.xen import sysinfo
    fields = {"KERNEL": target.symfile.path, **dumpfile_field(session),
              "CPUS": str(len(target.online_cpus))}
    count = sysinfo.domain_count(target)
    if count is not None:
        fields["DOMAINS"] = str(count)
    up = sysinfo.uptime_seconds(target)
    fields["UPTIME"] = format_uptime(up) if up is not None else "--:--:--"
    mhz = sysinfo.cpu_mhz(target)
    fields["MACHINE"] = (sysinfo.machine(target) or "unknown") + \
        (f"  ({mhz} Mhz)" if mhz else "  (unknown Mhz)")
    mem = sysinfo.memory_bytes(target)
    if mem is not None:
        fields["MEMORY"] = format_size(mem)
    if target.version:
        fields["RELEASE"] = target.version
    return fields


def dump_fields(session: Any) -> dict[str, str]:
    """What the dump itself says, for targets without kernel knowledge."""
    dump = session.dump
    fields = {**dumpfile_field(session), "FORMAT": dump.format_name,
              "CPUS": str(len(dump.prstatus))}
    xen = dump.xen
    if xen is not None:
        fields["XEN"] = xen.version
    vi = dump.vmcoreinfo
    if vi is not None and vi.osrelease:
        fields["RELEASE"] = vi.osrelease
    if vi is not None and vi.crashtime is not None:
        fields["DATE"] = crash_date(vi.crashtime)
    ram = sum(end - start for start, end in dump.ranges())
    fields["MEMORY"] = _size(ram)
    return fields


def _size(size: int) -> str:
    from ..targets.linux.sysinfo import format_size
    return format_size(size)


def format_fields(fields: dict[str, str]) -> str:
    return "\n".join(f"{key:>12}: {value}" for key, value in fields.items())


class Sys(Command):
    targets = ANY_TARGET
    name = "sys"
    synopsis = "sys [config | -i | -t]"
    summary = "system data: kernel, dump file, CPUs, date, uptime, panic message"
    group = "general"
    description = """\
The dump at a glance, in crash's layout: KERNEL (symbol file), DUMPFILE
([PARTIAL DUMP] when makedumpfile excluded pages), CPUS (online), DATE (crash
time from VMCOREINFO), UPTIME, LOAD AVERAGE, TASKS (idle tasks included, as
crash counts), NODENAME, RELEASE, VERSION, MACHINE, MEMORY (present pages of
all nodes), PANIC (the panic message found in the log, by crash's keywords).
`sys config` prints the kernel's built-in configuration (CONFIG_IKCONFIG),
`sys -i` the DMI strings, `sys -t` the taint mask and its letters (as the
kernel's own "Tainted:" line spells them).
"""
    example = "sys\nsys config | grep CONFIG_HZ"

    def run(self, ctx: Context, args: list[str]) -> Result:
        target = ctx.target
        if args and args[0] == "config":
            return self._config(target)
        if args == ["-i"]:
            return self._dmi(target)
        if args == ["-t"] and target.kind == "linux":
            from ..targets.linux.sysinfo import kernel_taint
            try:
                mask, letters = kernel_taint(target)
            except XcrashError as err:
                raise CommandError(f"sys: {err}") from None
            return Text(f"TAINTED_MASK: {mask:x}  {letters}",
                        [{"tainted_mask": mask, "flags": letters}])
        if args:
            raise CommandError(f"usage: {self.usage()}")
        if target.kind == "linux":
            fields = linux_fields(ctx.session, target)
        elif target.kind == "xen" and target.symbols is not None:
            fields = xen_fields(ctx.session, target)
            records = {k.lower().replace(" ", "_"): v for k, v in fields.items()}
            return Text("\n".join(f"{key + ':':>10} {value}" for key, value in fields.items()),
                        [records])
        else:
            fields = dump_fields(ctx.session)
        records = {k.lower().replace(" ", "_"): v.strip('"') for k, v in fields.items()}
        return Text(format_fields(fields), [records])

    @staticmethod
    def _dmi(target: Any) -> Text:
        """crash's `sys -i`: the DMI strings, right-aligned as crash aligns them."""
        from ..targets.linux.sysinfo import dmi_strings
        fields = dmi_strings(target) if target.kind == "linux" else None
        if fields is None:
            raise CommandError("dmi_ident does not exist in this kernel")
        width = max((len(name) for name, _ in fields), default=0)
        lines = [f"  {name:>{width}}: {value}" for name, value in fields if value is not None]
        return Text("\n".join(lines),
                    [{name.lower(): value for name, value in fields if value is not None}])

    @staticmethod
    def _config(target: Any) -> Text:
        if target.kind != "linux":
            raise CommandError("sys config: only for a Linux target")
        from ..targets.linux.config import kernel_config_text
        text = kernel_config_text(target)
        if text is None:
            raise CommandError("kernel_config_data not found: the kernel was built without "
                               "CONFIG_IKCONFIG")
        # crash prints the configuration without its blank lines
        return Text("\n".join(line for line in text.splitlines() if line))


COMMANDS = [Sys]
