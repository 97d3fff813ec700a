"""Physical CPUs: ``cpu_info`` at the top of each stack, the vCPU running there,
its TSS, its scheduler resource, and the crash notes Xen wrote for it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, NoSuchMember, NoSuchSymbol, XcrashError
from ..values import StructContents, read_struct
from .layout import CPU_INFO_CURRENT_VCPU, CPU_INFO_PROCESSOR_ID, TSS_PAGE_TSS

if TYPE_CHECKING:
    from .hypervisor import XenTarget


@dataclass
class Pcpu:
    """A line of ``pcpus``."""
    cpu: int
    cpu_info: int          # crash's PCPU column
    current_vcpu: int      # cpu_info->current_vcpu: Xen's `current`
    #: per_cpu(curr_vcpu): whose state is loaded (lazy switch); 0 when the build has none
    curr_vcpu: int | Unreadable
    #: &per_cpu(tss_page).tss (init_tss before Xen 4.16)
    tss: int | Unreadable
    idle_vcpu: int = field(metadata={"json": False})
    stack_base: int = field(metadata={"json": False})
    processor_id: int = field(metadata={"json": False})
    #: the pCPU that crashed (crash's ``*``)
    crashing: bool = field(default=False, metadata={"json": False})

    @property
    def lazy(self) -> bool:
        """Idle is running but a guest vCPU's state is still loaded here."""
        return (self.current_vcpu == self.idle_vcpu and isinstance(self.curr_vcpu, int)
                and self.curr_vcpu not in (0, self.idle_vcpu))


def pcpus(target: XenTarget) -> list[Pcpu]:
    """The present pCPUs that were brought up (crash: cpu_present_map).  Without
    Xen's DWARF the ELF symbols suffice: ``stack_base``, ``idle_vcpu``, the per-CPU
    ``curr_vcpu`` and ``tss_page``, and cpu_info's few fixed offsets."""
    if target.symbols is None:
        target.need_types("the physical CPU list")
    idle = target.idle_vcpus
    crashing = target.crashing_cpu
    out = []
    for cpu in target.present_cpus:
        if not target.stack_bases[cpu]:
            continue
        info = target.cpu_info_address(cpu)
        if target.has_types:
            obj = target.cpu_info(cpu)
            current, processor_id = int(obj.current_vcpu), int(obj.processor_id)
        else:
            current = target.space.read_u64(info + CPU_INFO_CURRENT_VCPU)
            processor_id = target.space.read_u32(info + CPU_INFO_PROCESSOR_ID)
        out.append(Pcpu(cpu, info, current, _per_cpu_word(target, "curr_vcpu", cpu),
                        _tss(target, cpu), idle[cpu], target.stack_bases[cpu], processor_id,
                        crashing=cpu == crashing))
    return out


def _per_cpu_word(target: XenTarget, name: str, cpu: int) -> int | Unreadable:
    assert target.symbols is not None
    sym = target.symbols.get("per_cpu__" + name)
    if sym is None:
        return 0            # not in this build: nothing is known to be loaded
    try:
        return target.space.read_u64(target.per_cpu_address(sym.address, cpu))
    except MemoryError_ as err:
        caveat(f"per_cpu({name}) of pCPU {cpu} unreadable ({err}): shown as ?")
        return Unreadable(str(err))


def _tss(target: XenTarget, cpu: int) -> int | Unreadable:
    """The pCPU's TSS: inside ``tss_page`` since Xen 4.16 (``init_tss`` before)."""
    assert target.symbols is not None
    for name, member in (("tss_page", "tss"), ("init_tss", None)):
        if not target.has_types:
            sym = target.symbols.get("per_cpu__" + name)
            if sym is not None:
                return target.per_cpu_address(sym.address, cpu) + (TSS_PAGE_TSS if member else 0)
            continue        # the other name
        try:
            var = target.per_cpu(name, cpu)
            tss = var.member_(member) if member else var
        except (NoSuchSymbol, NoSuchMember):
            continue        # the other name (and layout) of the other Xen versions
        if tss.address_ is not None:
            return tss.address_
    return Unreadable("neither per_cpu tss_page nor init_tss in xen-syms")


@dataclass
class CpuNote:
    """Where Xen keeps a pCPU's crash notes in its own memory (crash's ``dumpinfo``)."""
    cpu: int
    note: int              # ENOTE: the note buffer (its NT_PRSTATUS note first)
    core: int              # CORE: the NT_PRSTATUS note
    xen_core: int          # XEN_CORE: the CRASH_REGS note
    xen_info: int | None   # XEN_INFO: the CRASH_INFO note (pCPU 0's buffer only)
    size: int
    #: dumpinfo -r: the registers the dump's NT_PRSTATUS note saved for this pCPU
    regs: dict[str, int] | None = None
    #: dumpinfo -r: cr0, cr2, cr3, cr4 from its CRASH_REGS note
    control_regs: dict[str, int] | None = None
    #: dumpinfo -t: pr_utime, pr_stime, pr_cutime, pr_cstime (tv_sec, tv_usec) of the
    #: NT_PRSTATUS note in Xen's memory
    times: list[tuple[int, int]] | None = None

    @property
    def regs_address(self) -> int:
        """Where ``pr_reg`` is in the NT_PRSTATUS note: after the note header (12),
        the name "CORE" (8) and elf_prstatus's first members (112)."""
        return self.core + 12 + 8 + 112


def _note_size(namesz: int, descsz: int) -> int:
    return 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3)


def cpu_notes(target: XenTarget, registers: bool = False, times: bool = False) -> list[CpuNote]:
    """``crash_notes[cpu]`` (``{Elf_Note *start; size_t size}``): each pCPU's
    buffer is [CORE NT_PRSTATUS][Xen CRASH_REGS], pCPU 0's followed by [Xen CRASH_INFO].
    ``registers``: with the registers the dump's notes saved; ``times``: with the
    times of the NT_PRSTATUS note (elf_prstatus.pr_utime at 48, four timevals)."""
    target.need_symbols("dumpinfo")
    array = target.space.read_u64(target.address_of("crash_notes"))
    if not array:
        raise XcrashError("crash_notes is NULL: no crash image was loaded")
    out = []
    for cpu in target.present_cpus:
        raw = target.space.read(array + 16 * cpu, 16)
        start, size = int.from_bytes(raw[:8], "little"), int.from_bytes(raw[8:], "little")
        if not start:
            continue
        notes: list[int] = []
        off = 0
        while off + 12 <= size and len(notes) < 3:
            namesz, descsz, _ntype = (target.space.read_u32(start + off + 4 * i) for i in range(3))
            notes.append(start + off)
            off += _note_size(namesz, descsz)
        entry = CpuNote(cpu, start, notes[0] if notes else start,
                        notes[1] if len(notes) > 1 else 0,
                        notes[2] if len(notes) > 2 else None, size)
        if registers:
            note = target.cpu_notes.get(cpu)
            cr = target.crash_regs(cpu)
            entry.regs = dict(note.regs) if note is not None else None
            entry.control_regs = {f"cr{k}": getattr(cr, f"cr{k}") for k in (0, 2, 3, 4)} \
                if cr is not None else None
        if times:
            raw = target.space.read(entry.core + 12 + 8 + 48, 64)
            entry.times = [(int.from_bytes(raw[i:i + 8], "little", signed=True),
                            int.from_bytes(raw[i + 8:i + 16], "little", signed=True))
                           for i in range(0, 64, 16)]
        out.append(entry)
    return out


def scheduler_name(target: XenTarget, cpu: int | None = None) -> str | None:
    """The name of the scheduler of a pCPU's resource (of the first pCPU by default)."""
    cpu = target.online_cpus[0] if cpu is None else cpu
    try:
        res = target.per_cpu("sched_res", cpu)
        sched = res.deref_().scheduler
        return target.space.read_cstring(int(sched.name), 128).decode("latin-1")
    except (NoSuchSymbol, NoSuchMember):
        return None         # before Xen 4.13 (no sched_resource): not known here
    except MemoryError_ as err:
        caveat(f"the scheduler of pCPU {cpu} unreadable ({err}): its name shown as (unknown)")
        return None


@dataclass
class PcpuDetail:
    """A pCPU of `pcpus -r`/`-t`: its line, its registers, its TSS."""
    pcpu: Pcpu
    registers: StructContents | None = None
    tss: StructContents | None = None


def registers_struct(target: XenTarget, pcpu: Pcpu) -> StructContents:
    """pcpus -r: the cpu_user_regs at the top of the pCPU's stack (cpu_info's
    guest_cpu_user_regs), as crash prints it."""
    target.need_types("-r (struct cpu_user_regs)")
    info_t = target.type("struct cpu_info")
    address = pcpu.cpu_info + info_t.offsetof("guest_cpu_user_regs")
    return read_struct(target, target.type("struct cpu_user_regs"), address)


def tss_struct(target: XenTarget, pcpu: Pcpu) -> StructContents:
    """pcpus -t: the pCPU's TSS (struct tss_struct of init_tss before Xen 4.16, the
    tss of per_cpu(tss_page) since: struct tss64)."""
    target.need_types("-t (the TSS structure)")
    if isinstance(pcpu.tss, Unreadable):
        raise XcrashError(f"the TSS of pCPU {pcpu.cpu}: {pcpu.tss.reason}")
    for name, member in (("tss_page", "tss"), ("init_tss", None)):
        try:
            var = target.per_cpu(name, pcpu.cpu)
            t = var.member_(member).type_ if member else var.type_
        except (NoSuchSymbol, NoSuchMember):
            continue        # the other name (and layout) of the other Xen versions
        return read_struct(target, t, pcpu.tss)
    raise XcrashError("neither per_cpu tss_page nor init_tss in xen-syms")


@dataclass
class SchedInfo:
    """A line of ``sched``."""
    cpu: int
    sched_resource: int    # per_cpu(sched_res): struct sched_resource *
    sched_priv: int
    curr_unit: int
    curr_vcpu: int         # curr unit's first vCPU (granularity 1: the only one)
    idle_vcpu: int
    granularity: int
    #: the scheduler's name (of the first pCPU's resource)
    scheduler: str = ""


def sched_info(target: XenTarget) -> list[SchedInfo]:
    """Per-unit scheduling (Xen >= 4.13): ``per_cpu(sched_res)`` points at a
    ``struct sched_resource`` whose ``curr`` is a ``struct sched_unit``."""
    target.need_types("sched")
    out = []
    for cpu in target.online_cpus:
        res_ptr = target.per_cpu("sched_res", cpu)
        addr = int(res_ptr)
        if not addr:
            continue
        res = res_ptr.deref_()
        unit = res.curr
        curr_vcpu = int(unit.deref_().vcpu_list) if int(unit) else 0
        idle_unit = res.sched_unit_idle
        idle = int(idle_unit.deref_().vcpu_list) if int(idle_unit) else 0
        out.append(SchedInfo(cpu, addr, int(res.sched_priv), int(unit), curr_vcpu, idle,
                             int(res.granularity)))
    return out


def running_vcpus(pcs: list[Pcpu]) -> set[int]:
    """The vCPUs some pCPU was running (``current``): crash's ``>`` marks."""
    return {p.current_vcpu for p in pcs if p.current_vcpu}


def crashing_vcpu(target: XenTarget, pcs: list[Pcpu]) -> int | None:
    """The vCPU current on the crashing pCPU: crash's ``*`` mark."""
    for p in pcs:
        if p.crashing:
            return p.current_vcpu
    return None
