"""The facts behind `sys`: date, uptime, load, tasks, memory, panic message."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from ...arch import START_KERNEL_MAP
from ...errors import MemoryError_, XcrashError
from .config import kernel_config
from .printk import panic_message
from .tasks import for_each_task

FSHIFT = 11
FIXED_1 = 1 << FSHIFT


def hz(target: Any) -> int:
    """CONFIG_HZ from the in-kernel config, else from ``tick_nsec`` (NSEC_PER_SEC / HZ
    unless adjtimex changed the tick), else crash's default 1000.

    crash without an in-kernel config takes HZ from mq-deadline's ``write_expire``
    (5 * HZ) when the scheduler is built in: the same value.
    """
    config = kernel_config(target)
    if config and config.get("CONFIG_HZ", "").isdigit():
        return int(config["CONFIG_HZ"])
    try:
        tick = target.space.read_u64(target.address_of("tick_nsec"))
    except XcrashError:
        tick = 0
    if tick:
        guess = round(1_000_000_000 / tick)
        if 24 <= guess <= 1200 and abs(guess * tick - 1_000_000_000) < tick // 100:
            return guess
    return 1000


def uptime_seconds(target: Any) -> int | None:
    try:
        jiffies = target.space.read_u64(target.address_of("jiffies"))
    except XcrashError:
        return None
    h = hz(target)
    initial = (-300 * h) & 0xFFFFFFFF
    return ((jiffies - initial) & 0xFFFFFFFFFFFFFFFF) // h


def format_uptime(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hms = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days} days, {hms}" if days else hms


def load_average(target: Any) -> str | None:
    try:
        raw = target.read(target.address_of("avenrun"), 24)
    except XcrashError:
        return None
    parts = []
    for i in range(3):
        a = int.from_bytes(raw[8 * i:8 * i + 8], "little") + FIXED_1 // 200
        parts.append(f"{a >> FSHIFT}.{((a & (FIXED_1 - 1)) * 100) >> FSHIFT:02d}")
    return ", ".join(parts)


def memory_bytes(target: Any) -> int | None:
    """Present pages of every memory node, as crash totals them."""
    from .meminfo import pgdats
    try:
        total = sum(int(p.node_present_pages) for p in pgdats(target))
        if total:
            return total * 4096
    except XcrashError:
        pass
    try:
        return int(target.object("_totalram_pages").counter) * 4096
    except XcrashError:
        return None


def installed_memory_bytes(target: Any) -> int | None:
    """crash's guess at the installed RAM for `sys`: the present pages, rounded up
    to the next GiB when that is at most 64 MiB away (1023.5 MB -> 1 GB)."""
    total = memory_bytes(target)
    if total is None:
        return None
    next_gib = -(-total // (1 << 30)) << 30
    return next_gib if next_gib - total <= 64 << 20 else total


def lowmem_kib(target: Any) -> int:
    """RAM below ``high_memory`` in KiB: what crash divides RSS by for %MEM."""
    try:
        high = target.space.read_u64(target.address_of("high_memory"))
        return (high - target.space.page_offset) // 1024
    except (XcrashError, AttributeError):
        return (memory_bytes(target) or 0) // 1024


def format_size(size: int) -> str:
    """crash's memory size: ``255.5 MB``, ``2 GB``."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            value = size / scale
            text = f"{value:.1f}"
            return f"{text[:-2] if text.endswith('.0') else text} {unit}"
    return f"{size} bytes"


def cpu_mhz(target: Any) -> int | None:
    try:
        return target.space.read_u32(target.address_of("cpu_khz")) // 1000
    except XcrashError:
        return None


def crash_time(target: Any) -> int | None:
    vi = target.dump.vmcoreinfo if target.dump is not None else None
    if vi is not None and vi.crashtime is not None:
        return vi.crashtime
    header = getattr(target.dump, "header", None)
    ts = getattr(header, "timestamp", None)
    if ts and getattr(target, "domain", None) is None:
        return int(ts)
    # a Xen guest (the dump is the host's), or no time in the dump: the kernel's
    # clock, as crash does without one (tk_core.timekeeper.xtime_sec)
    try:
        return int(target.object("tk_core").timekeeper.xtime_sec)
    except (XcrashError, MemoryError_):
        return int(ts) if ts else None


@lru_cache(maxsize=8)
def _task_count(target: Any) -> int:
    return sum(1 for _ in for_each_task(target))


def task_count(target: Any) -> int | None:
    try:
        return _task_count(target)
    except (XcrashError, MemoryError_):
        return None


def panic(target: Any) -> str | None:
    return panic_message(target)


def dmi_strings(target: Any) -> list[tuple[str, str | None]] | None:
    """``(DMI_field, string or None)`` for every ``enum dmi_field`` slot of ``dmi_ident[]``,
    or None when the kernel keeps no DMI strings."""
    if target.symbols.get("dmi_ident") is None:
        return None
    idents = target.object("dmi_ident")
    count = idents.type_.strip_typedefs().length or 0
    out: list[tuple[str, str | None]] = []
    for name, i in target.type("enum dmi_field").strip_typedefs().enumerators or ():
        if 0 <= i < count:
            out.append((name, idents[i].string_().decode("utf-8", "replace")
                        if int(idents[i]) else None))
    return out


MODULES_VADDR = 0xFFFFFFFFC0000000


def _pointer_variable(target: Any, name: str, default: int) -> int:
    sym = target.symbols.get(name)
    if sym is None:
        return default
    try:
        return target.space.read_u64(sym.address)
    except XcrashError:
        return default


def machine_layout(target: Any) -> dict[str, int]:
    """The x86_64 kernel's address-space bases (randomised with KASLR) and stack sizes."""
    from .tasks import thread_size
    return {"page_offset": target.space.page_offset,
            "vmalloc_base": _pointer_variable(target, "vmalloc_base", 0xFFFFC90000000000),
            "vmemmap_base": _pointer_variable(target, "vmemmap_base", 0xFFFFEA0000000000),
            "start_kernel_map": START_KERNEL_MAP, "modules_vaddr": MODULES_VADDR,
            "thread_size": thread_size(target)}


IST_NAMES = ["DOUBLEFAULT", "NMI", "DEBUG", "MCE", "VC", "VC2"]
IST_MEMBERS = ["DF_stack", "NMI_stack", "DB_stack", "MCE_stack", "VC_stack", "VC2_stack"]
HYPERVISORS = {"X86_HYPER_VMWARE": "VMware", "X86_HYPER_MS_HYPERV": "Microsoft Hyper-V",
               "X86_HYPER_XEN_PV": "Xen", "X86_HYPER_XEN_HVM": "Xen", "X86_HYPER_KVM": "KVM",
               "X86_HYPER_JAILHOUSE": "Jailhouse", "X86_HYPER_ACRN": "ACRN"}


def hypervisor(target: Any) -> str | None:
    """The hypervisor the kernel found itself under (``x86_hyper_type``), None on bare metal."""
    sym = target.symbols.get("x86_hyper_type")
    if sym is None:
        return None
    try:
        value = target.space.read_u32(sym.address)
        names = {v: n for n, v in target.type("enum x86_hypervisor_type").strip_typedefs().enumerators or ()}
    except XcrashError:
        return None
    return HYPERVISORS.get(names.get(value, ""))


def cpu_stack_table(target: Any) -> list[tuple[str, int, list[tuple[int, int, bool]]]]:
    """(name, size, [(cpu, base, readable)]) of the IRQ stacks, then of each exception
    stack the TSS interrupt stack table points at (DOUBLEFAULT, NMI, DEBUG, MCE, VC),
    sized from struct cea_exception_stacks; CPUs are listed until one has no such
    stack, the kinds until CPU 0 has none (crash's walk)."""
    from .unwind import cpu_stacks
    cpus = sorted(target.online_cpus)
    irq = [(cpu, lo, target.space.is_readable(lo)) for cpu in cpus
           for lo, hi, name in cpu_stacks(target, cpu) if name == "IRQ"]
    out: list[tuple[str, int, list[tuple[int, int, bool]]]] = []
    if irq:
        size = next(hi - lo for lo, hi, name in cpu_stacks(target, cpus[0]) if name == "IRQ")
        out.append(("IRQ", size, irq))
    try:
        tss = target.object("cpu_tss_rw")
        ist_off = tss.type_.strip_typedefs().member_path("x86_tss.ist")[0] // 8
        cea = target.type("struct cea_exception_stacks")
    except XcrashError:
        return out
    sizes = {m.name: m.type.byte_size for m in cea.members or []}
    for i, (name, member) in enumerate(zip(IST_NAMES, IST_MEMBERS)):
        size = sizes.get(member, 0)
        bases = []
        for cpu in cpus:
            top = target.space.read_u64(target.per_cpu_address(tss.address_, cpu) + ist_off + 8 * i)
            if not top:
                break
            bases.append((cpu, top - size, target.space.is_readable(top - size if size else top - 1)))
        if not bases:
            break
        out.append((name, size, bases))
    return out


def _taint_flags(target: Any) -> list[tuple[str, str, bool]]:
    """``taint_flags[]``: (letter when set, letter when clear, module-level) per bit."""
    sym = target.symbols.get("taint_flags")
    if sym is None:
        raise XcrashError("taint_flags does not exist in this kernel")
    flag_t = target.type("struct taint_flag")
    count = sym.size // flag_t.byte_size if sym.size else 0
    names = {"c_true": "c_true", "c_false": "c_false"} if flag_t.has_member("c_true") \
        else {"c_true": "true", "c_false": "false"}
    out = []
    for i in range(count):
        flag = target.object_at(flag_t, sym.address + i * flag_t.byte_size)
        out.append((chr(int(flag.member_(names["c_true"])) & 0xFF),
                    chr(int(flag.member_(names["c_false"])) & 0xFF),
                    bool(int(flag.module)) if flag_t.has_member("module") else False))
    return out


def kernel_taint(target: Any) -> tuple[int, str]:
    """(``tainted_mask``, its letters as crash spells them: the set flags' letters and
    the clear flags' other letters, blanks, '-' and 'G' left out)."""
    mask = target.space.read_u64(target.address_of("tainted_mask"))
    letters = ""
    for bit, (on, off, _module) in enumerate(_taint_flags(target)):
        if mask >> bit & 1:
            letters += on
        elif off not in " -G":
            letters += off
    return mask, letters


def module_taints(target: Any, modules: list[Any]) -> list[tuple[str, str]]:
    """(module name, letters of its set module-level taint flags) of each tainted module."""
    flags = _taint_flags(target)
    out = []
    for m in modules:
        taints = int(target.object_at("struct module", m.address).taints)
        if taints:
            out.append((m.name, "".join(on for bit, (on, _off, module) in enumerate(flags)
                                        if module and taints >> bit & 1)))
    return out
