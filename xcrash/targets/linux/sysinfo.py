"""The facts behind ``sys``: date, uptime, load, tasks, memory, panic message, DMI
strings (``sys -t``'s taints are ``taints.py``'s, ``mach``'s machine ``machine.py``'s).

A fact that cannot be read is said so (a caveat) where it is found; the records
(:class:`LinuxSystem`, :class:`MachineInfo`, ...) hold it as
:class:`~xcrash.caveats.Unreadable`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...arch import PAGE_SIZE
from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, XcrashError
from ...objects import Object
from ..base import cached_per_target
from ..system import crash_date, dumpfile, format_size, format_uptime
from .config import ConfigUnavailable, kernel_config
from .printk import panic_message
from .tasks import for_each_task

if TYPE_CHECKING:
    from .kernel import LinuxTarget

#: crash's spellings of sizes and uptimes, shared with ps and kmem
__all__ = ["format_size", "format_uptime"]

FSHIFT = 11
FIXED_1 = 1 << FSHIFT
#: crash's HZ when the kernel does not say
DEFAULT_HZ = 1000


# -- clocks -------------------------------------------------------------------------------
def hz(target: LinuxTarget) -> int:
    """CONFIG_HZ from the in-kernel config, else from ``tick_nsec`` (NSEC_PER_SEC / HZ
    unless adjtimex changed the tick), else crash's default 1000 (with a caveat).

    crash without an in-kernel config takes HZ from mq-deadline's ``write_expire``
    (5 * HZ) when the scheduler is built in: the same value.
    """
    try:
        config = kernel_config(target)
    except ConfigUnavailable as err:
        caveat(f"{err}: HZ taken from tick_nsec")
        config = None
    if config and config.get("CONFIG_HZ", "").isdigit():
        return int(config["CONFIG_HZ"])
    try:
        tick = target.space.read_u64(target.address_of("tick_nsec"))
    except XcrashError as err:
        clocked = _hz_from_clocks(target)
        if clocked is not None:
            return clocked
        caveat(f"HZ unknown (no CONFIG_HZ in the kernel, tick_nsec: {err}, jiffies and the "
               f"monotonic clock disagree for every HZ): crash's default {DEFAULT_HZ} assumed")
        return DEFAULT_HZ
    if tick:
        guess = round(1_000_000_000 / tick)
        if 24 <= guess <= 1200 and abs(guess * tick - 1_000_000_000) < tick // 100:
            return guess
    caveat(f"HZ unknown (no CONFIG_HZ in the kernel, tick_nsec {tick} gives no HZ): crash's "
           f"default {DEFAULT_HZ} assumed")
    return DEFAULT_HZ


#: the HZ a kernel can be built with (Kconfig's HZ_100 ... HZ_1000)
HZ_CHOICES = (100, 250, 300, 1000)


def _hz_from_clocks(target: LinuxTarget) -> int | None:
    """The HZ under which jiffies (which start 300 s before wrapping 32 bits) count the
    time the monotonic clock says has passed since boot (tk_core's tkr_mono.base), within
    a second; None when no choice fits (7.x has no tick_nsec, Debian no in-kernel config)."""
    try:
        jiffies = target.space.read_u64(target.address_of("jiffies"))
        mono = int(core_timekeeper(target).tkr_mono.base) / 1e9
    except XcrashError:
        return None         # no clock to compare with: the caller says HZ is unknown
    fits = [h for h in HZ_CHOICES
            if abs(((jiffies - ((-300 * h) & 0xFFFFFFFF)) & 0xFFFFFFFFFFFFFFFF) / h - mono) < 1]
    return fits[0] if len(fits) == 1 else None


def core_timekeeper(target: LinuxTarget) -> Object:
    """The kernel's ``struct timekeeper``: ``tk_core.timekeeper``, or from 7.x (several
    timekeepers for auxiliary clocks) ``timekeeper_data[TIMEKEEPER_CORE].timekeeper``."""
    if target.symbols.get("tk_core") is None and target.symbols.get("timekeeper_data"):
        return target.object("timekeeper_data")[0].timekeeper
    return target.object("tk_core").timekeeper


def uptime_seconds(target: LinuxTarget) -> int | None:
    """Seconds since boot from ``jiffies``; None (with a caveat) when unreadable."""
    try:
        jiffies = target.space.read_u64(target.address_of("jiffies"))
    except XcrashError as err:
        caveat(f"jiffies unreadable ({err}): uptime unknown")
        return None
    h = hz(target)
    initial = (-300 * h) & 0xFFFFFFFF
    return ((jiffies - initial) & 0xFFFFFFFFFFFFFFFF) // h


def crash_time(target: LinuxTarget) -> int | None:
    """Seconds since the epoch at the crash: VMCOREINFO's CRASHTIME, the dump header's
    time, else the kernel's clock (``tk_core.timekeeper.xtime_sec``, as crash without
    one); None (with a caveat) when none of them says."""
    dump = target.dump
    vi = dump.vmcoreinfo if dump is not None else None
    if vi is not None and vi.crashtime is not None:
        return int(vi.crashtime)
    ts = dump.header.timestamp if dump is not None else None
    # a Xen guest (a PvLinuxTarget has its domain): the dump's time is the host's
    guest = getattr(target, "domain", None) is not None
    if ts and not guest:
        return int(ts)
    try:
        return int(core_timekeeper(target).xtime_sec)
    except XcrashError as err:
        if ts:
            caveat(f"tk_core unreadable ({err}): the date is the dump header's (the host's "
                   "for a Xen guest)")
            return int(ts)
        caveat(f"no crash time in the dump and tk_core unreadable ({err}): date unknown")
        return None


# -- load, tasks, memory ------------------------------------------------------------------
def load_average(target: LinuxTarget) -> str | None:
    """``avenrun`` as ``0.31, 0.07, 0.02``; None (with a caveat) when unreadable."""
    try:
        raw = target.read(target.address_of("avenrun"), 24)
    except XcrashError as err:
        caveat(f"avenrun unreadable ({err}): load average unknown")
        return None
    parts = []
    for i in range(3):
        a = int.from_bytes(raw[8 * i:8 * i + 8], "little") + FIXED_1 // 200
        parts.append(f"{a >> FSHIFT}.{((a & (FIXED_1 - 1)) * 100) >> FSHIFT:02d}")
    return ", ".join(parts)


@cached_per_target
def _task_walk(target: LinuxTarget) -> tuple[int, tuple[str, ...]]:
    errors: list[str] = []
    count = sum(1 for _ in for_each_task(target, errors))
    return count, tuple(errors)


def task_count(target: LinuxTarget) -> int | None:
    """The tasks crash counts (idle tasks included); a broken task list counts the
    tasks before the break (with a caveat); None (with a caveat) when unreadable."""
    try:
        count, errors = _task_walk(target)
    except XcrashError as err:
        caveat(f"the task list is unreadable ({err}): tasks unknown")
        return None
    for error in errors:
        caveat(f"{error}: the task count leaves out the tasks past that point")
    return count


def memory_bytes(target: LinuxTarget) -> int | None:
    """Present pages of every memory node, as crash totals them; ``_totalram_pages``
    when the nodes cannot be read; None (with a caveat) when neither can."""
    from .meminfo import pgdats
    try:
        total = sum(int(p.node_present_pages) for p in pgdats(target))
    except XcrashError as err:
        caveat(f"memory nodes unreadable ({err}): memory size from _totalram_pages")
        total = 0
    if total:
        return total * PAGE_SIZE
    try:
        return int(target.object("_totalram_pages").counter) * PAGE_SIZE
    except XcrashError as err:
        caveat(f"_totalram_pages unreadable ({err}): memory size unknown")
        return None


def installed_memory_bytes(target: LinuxTarget) -> int | None:
    """crash's guess at the installed RAM for `sys`: the present pages, rounded up
    to the next GiB when that is at most 64 MiB away (1023.5 MB -> 1 GB)."""
    total = memory_bytes(target)
    if total is None:
        return None
    next_gib = -(-total // (1 << 30)) << 30
    return next_gib if next_gib - total <= 64 << 20 else total


def lowmem_kib(target: LinuxTarget) -> int:
    """RAM below ``high_memory`` in KiB: what crash divides RSS by for %MEM."""
    try:
        high = target.space.read_u64(target.address_of("high_memory"))
        return (high - target.space.page_offset) // 1024
    except XcrashError as err:
        caveat(f"high_memory unreadable ({err}): %MEM relative to all memory")
        return (memory_bytes(target) or 0) // 1024


def cpu_mhz(target: LinuxTarget) -> int | None:
    """``cpu_khz`` in MHz; None when the kernel has none (crash's "unknown"), or
    (with a caveat) when it cannot be read."""
    sym = target.symbols.get("cpu_khz")
    if sym is None:
        return None
    try:
        return int(target.space.read_u32(sym.address)) // 1000
    except MemoryError_ as err:
        caveat(f"cpu_khz unreadable ({err}): processor speed unknown")
        return None


# -- sys ----------------------------------------------------------------------------------
@dataclass
class LinuxSystem:
    """``sys`` of a Linux kernel: crash's fields, each a string as ``sys`` prints it
    (Unreadable: it could not be read, a caveat says why)."""
    kernel: str
    dumpfile: str
    cpus: str
    date: str | Unreadable
    uptime: str | Unreadable
    load_average: str | Unreadable
    tasks: str | Unreadable
    nodename: str
    release: str
    version: str
    machine: str
    memory: str | Unreadable
    #: the panic message found in the log by crash's keywords ("" when none is there)
    panic: str | Unreadable
    #: a split dump: ``dumpfile`` holds one part per line
    split: bool = field(default=False, metadata={"json": False})
    #: the kernel is tainted (crash's ``[TAINTED]`` after KERNEL)
    tainted: bool | Unreadable = field(default=False, metadata={"text": False})


def cpus_text(target: LinuxTarget) -> str:
    """crash's CPUS: the present CPUs, with [OFFLINE: n] for those not online."""
    present, online = target.present_cpus, set(target.online_cpus)
    offline = sum(cpu not in online for cpu in present)
    return f"{len(present)}" + (f" [OFFLINE: {offline}]" if offline else "")


def linux_system(target: LinuxTarget) -> LinuxSystem:
    path, split = dumpfile(target.dump)
    when = crash_time(target)
    up = uptime_seconds(target)
    load = load_average(target)
    tasks = task_count(target)
    uts = target.utsname
    mhz = cpu_mhz(target)
    mem = installed_memory_bytes(target)
    return LinuxSystem(
        kernel=target.symfile.path if target.symfile is not None else "(none)",
        dumpfile=path, cpus=cpus_text(target),
        date=crash_date(when) if when is not None else Unreadable("crash time"),
        uptime=format_uptime(up) if up is not None else Unreadable("jiffies"),
        load_average=load if load is not None else Unreadable("avenrun"),
        tasks=str(tasks) if tasks is not None else Unreadable("task list"),
        nodename=uts["nodename"], release=uts["release"], version=uts["version"],
        machine=uts["machine"] + (f"  ({mhz} Mhz)" if mhz else "  (unknown Mhz)"),
        memory=format_size(mem) if mem is not None else Unreadable("memory size"),
        panic=panic(target), split=split, tainted=is_tainted(target))


def is_tainted(target: LinuxTarget) -> bool | Unreadable:
    """Whether the kernel is tainted: ``tainted`` (an int, old kernels) or ``tainted_mask``."""
    for name, size in (("tainted", 4), ("tainted_mask", 8)):
        sym = target.symbols.get(name)
        if sym is None:
            continue                # an older or newer kernel: the other name
        try:
            raw = target.space.read(sym.address, size)
        except MemoryError_ as err:
            caveat(f"{name} unreadable ({err}): whether the kernel is tainted is unknown")
            return Unreadable(str(err))
        return int.from_bytes(raw, "little") != 0
    return False


def panic(target: LinuxTarget) -> str | Unreadable:
    return panic_message(target)


@dataclass
class DmiField:
    """sys -i: one of the kernel's DMI strings (``dmi_ident[]``); None: the slot is empty."""
    name: str
    value: str | Unreadable | None


def dmi_strings(target: LinuxTarget) -> list[DmiField] | None:
    """A field for every ``enum dmi_field`` slot of ``dmi_ident[]``, or None when the
    kernel keeps no DMI strings."""
    if target.symbols.get("dmi_ident") is None:
        return None
    idents = target.object("dmi_ident")
    count = idents.type_.strip_typedefs().length or 0
    out: list[DmiField] = []
    for name, i in target.type("enum dmi_field").strip_typedefs().enumerators or ():
        if not 0 <= i < count:
            continue
        value: str | Unreadable | None = None
        try:
            if int(idents[i]):
                value = idents[i].string_().decode("utf-8", "replace")
        except MemoryError_ as err:
            caveat(f"dmi_ident[{name}] unreadable ({err}): shown as ?")
            value = Unreadable(str(err))
        out.append(DmiField(name, value))
    return out
