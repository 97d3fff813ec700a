"""The facts behind ``mach``: the machine, the x86_64 kernel's address-space bases
(randomised with KASLR), the hypervisor it ran under and the CPUs' IRQ and exception
stacks."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...arch import PAGE_SIZE, START_KERNEL_MAP
from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, NoSuchMember, NoSuchSymbol, NoSuchType
from .sysinfo import cpu_mhz, hz, installed_memory_bytes

if TYPE_CHECKING:
    from .kernel import LinuxTarget


MODULES_VADDR = 0xFFFFFFFFC0000000


def _pointer_variable(target: LinuxTarget, name: str, default: int) -> int:
    sym = target.symbols.get(name)
    if sym is None:
        return default           # a kernel that does not randomise this base
    try:
        return int(target.space.read_u64(sym.address))
    except MemoryError_ as err:
        caveat(f"{name} unreadable ({err}): the default base {default:x} shown")
        return default


@dataclass
class CpuStack:
    """A CPU's stack of one kind: its base, and whether the dump holds its page."""
    cpu: int
    base: int
    available: bool


@dataclass
class StackKind:
    """The IRQ stacks, or the exception stacks of one IST slot, of every CPU."""
    name: str
    size: int
    stacks: list[CpuStack]


@dataclass
class MachineInfo:
    """mach: the machine, and the x86_64 kernel's address-space bases (randomised
    with KASLR) and stacks.  Sizes in bytes, speed in MHz (None: unknown)."""
    machine_type: str
    memory_size: int | Unreadable
    cpus: int
    hypervisor: str | None
    processor_speed: int | None
    hz: int
    page_size: int
    kernel_virtual_base: int
    kernel_vmalloc_base: int
    kernel_vmemmap_base: int
    kernel_start_map: int
    kernel_modules_base: int
    kernel_stack_size: int
    stacks: list[StackKind]


def machine_info(target: LinuxTarget) -> MachineInfo:
    from .tasks import thread_size
    mem = installed_memory_bytes(target)
    return MachineInfo(
        machine_type=target.utsname["machine"],
        memory_size=mem if mem is not None else Unreadable("memory size"),
        cpus=len(target.online_cpus), hypervisor=hypervisor(target),
        processor_speed=cpu_mhz(target) or None, hz=hz(target), page_size=PAGE_SIZE,
        kernel_virtual_base=target.space.page_offset,
        kernel_vmalloc_base=_pointer_variable(target, "vmalloc_base", 0xFFFFC90000000000),
        kernel_vmemmap_base=_pointer_variable(target, "vmemmap_base", 0xFFFFEA0000000000),
        kernel_start_map=START_KERNEL_MAP, kernel_modules_base=MODULES_VADDR,
        kernel_stack_size=thread_size(target), stacks=cpu_stack_table(target))


IST_NAMES = ["DOUBLEFAULT", "NMI", "DEBUG", "MCE", "VC", "VC2"]
IST_MEMBERS = ["DF_stack", "NMI_stack", "DB_stack", "MCE_stack", "VC_stack", "VC2_stack"]
HYPERVISORS = {"X86_HYPER_VMWARE": "VMware", "X86_HYPER_MS_HYPERV": "Microsoft Hyper-V",
               "X86_HYPER_XEN_PV": "Xen", "X86_HYPER_XEN_HVM": "Xen", "X86_HYPER_KVM": "KVM",
               "X86_HYPER_JAILHOUSE": "Jailhouse", "X86_HYPER_ACRN": "ACRN"}


def hypervisor(target: LinuxTarget) -> str | None:
    """The hypervisor the kernel found itself under (``x86_hyper_type``), None on bare
    metal or where the kernel does not say (no CONFIG_HYPERVISOR_GUEST)."""
    sym = target.symbols.get("x86_hyper_type")
    if sym is None:
        return None
    try:
        enum_t = target.type("enum x86_hypervisor_type").strip_typedefs()
    except NoSuchType:
        caveat("x86_hyper_type without its enum type: hypervisor not named")
        return None
    try:
        value = target.space.read_u32(sym.address)
    except MemoryError_ as err:
        caveat(f"x86_hyper_type unreadable ({err}): hypervisor not named")
        return None
    names = {v: n for n, v in enum_t.enumerators or ()}
    return HYPERVISORS.get(names.get(value, ""))


def cpu_stack_table(target: LinuxTarget) -> list[StackKind]:
    """The IRQ stacks, then each exception stack the TSS interrupt stack table points
    at (DOUBLEFAULT, NMI, DEBUG, MCE, VC), sized from struct cea_exception_stacks;
    CPUs are listed until one has no such stack, the kinds until CPU 0 has none
    (crash's walk)."""
    from .stacks import cpu_stacks
    cpus = sorted(target.online_cpus)
    irq = [CpuStack(cpu, lo, target.space.is_readable(lo)) for cpu in cpus
           for lo, hi, name in cpu_stacks(target, cpu) if name == "IRQ"]
    out: list[StackKind] = []
    if irq:
        size = next(hi - lo for lo, hi, name in cpu_stacks(target, cpus[0]) if name == "IRQ")
        out.append(StackKind("IRQ", size, irq))
    try:
        tss = target.object("cpu_tss_rw")
        ist_off = tss.type_.strip_typedefs().offsetof("x86_tss.ist")
        cea = target.type("struct cea_exception_stacks")
    except (NoSuchSymbol, NoSuchType, NoSuchMember):
        return out              # before 4.15: no entry-area exception stacks to list
    sizes = {m.name: m.type.byte_size for m in cea.members or []}
    for i, (name, member) in enumerate(zip(IST_NAMES, IST_MEMBERS)):
        size = sizes.get(member, 0)
        bases = []
        for cpu in cpus:
            top = target.space.read_u64(target.per_cpu_address(tss.at_, cpu) + ist_off + 8 * i)
            if not top:
                break
            bases.append(CpuStack(cpu, top - size,
                                  target.space.is_readable(top - size if size else top - 1)))
        if not bases:
            break
        out.append(StackKind(name, size, bases))
    return out


@dataclass
class MemoryRange:
    """mach -m: one entry of the firmware's physical memory map (the kernel's E820
    table): [start, end) and its type's name."""
    start: int
    end: int
    type: str


E820_TYPES = {0: "(invalid type)", 1: "E820_RAM", 2: "E820_RESERVED", 3: "E820_ACPI",
              4: "E820_NVS", 5: "E820_UNUSABLE", 12: "E820_PRAM", 128: "E820_RESERVED_KERN"}


def memory_map(target: LinuxTarget) -> list[MemoryRange]:
    """The E820 map the kernel keeps (``e820_table``, a pointer since 4.12; ``e820``,
    a struct or a pointer to one, before), named as crash names its types."""
    from ...errors import CommandError
    for name in ("e820", "e820_table"):
        sym = target.symbols.get(name)
        if sym is not None:
            break
    else:
        raise CommandError("mach: neither e820 or e820_table symbols exist")
    try:
        var = target.object(name)
        table = var.deref_() if var.type_.is_pointer() else var
        new = table.type_.strip_typedefs().has_member("nr_entries")     # 4.12+: e820_table
        count = int(table.nr_entries if new else table.nr_map)
        entries = table.entries if new else table.map
        out = []
        for i in range(min(count, 1024)):
            e = entries[i]
            start, size, kind = int(e.addr), int(e.size), int(e.type)
            out.append(MemoryRange(start, start + size, E820_TYPES.get(kind, f"type {kind}")))
    except MemoryError_ as err:
        raise CommandError(f"mach: {name}: {err}") from err
    except (NoSuchMember, NoSuchType) as err:
        raise CommandError(f"mach: {name}: {err}") from err
    return out
