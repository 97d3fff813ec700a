"""Physical CPUs: ``cpu_info`` at the top of each stack, the vCPU running there,
its TSS, its scheduler resource, and the crash notes Xen wrote for it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import MemoryError_, NoSuchSymbol, XcrashError


@dataclass
class Pcpu:
    cpu: int
    cpu_info: int          # crash's PCPU column
    current_vcpu: int      # cpu_info->current_vcpu: Xen's `current`
    curr_vcpu: int         # per_cpu(curr_vcpu): whose state is loaded (lazy switch)
    idle_vcpu: int
    tss: int               # &per_cpu(tss_page).tss
    stack_base: int
    processor_id: int

    @property
    def lazy(self) -> bool:
        """Idle is running but a guest vCPU's state is still loaded here."""
        return self.current_vcpu == self.idle_vcpu and self.curr_vcpu not in (0, self.idle_vcpu)


#: without DWARF: offsets in struct cpu_info (its cpu_user_regs frame is 200 bytes)
#: and of the TSS in tss_page (Xen 4.16+), unchanged up to 4.17
CPU_INFO_PROCESSOR_ID, CPU_INFO_CURRENT_VCPU, TSS_PAGE_TSS = 200, 208, 64


def pcpus(target: Any) -> list[Pcpu]:
    """The present pCPUs that were brought up (crash: cpu_present_map).  Without
    Xen's DWARF the ELF symbols suffice: ``stack_base``, ``idle_vcpu``, the per-CPU
    ``curr_vcpu`` and ``tss_page``, and cpu_info's few fixed offsets."""
    if target.symbols is None:
        target.need_types("the physical CPU list")
    idle = target._pointer_array("idle_vcpu")
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
        out.append(Pcpu(cpu, info, current, _per_cpu_word(target, "curr_vcpu", cpu), idle[cpu],
                        _tss(target, cpu), target.stack_bases[cpu], processor_id))
    return out


def _per_cpu_word(target: Any, name: str, cpu: int) -> int:
    sym = target.symbols.get("per_cpu__" + name)
    if sym is None:
        return 0
    try:
        return target.space.read_u64(target.per_cpu_address(sym.address, cpu))
    except MemoryError_:
        return 0


def _tss(target: Any, cpu: int) -> int:
    """The pCPU's TSS: inside ``tss_page`` since Xen 4.16 (``init_tss`` before)."""
    for name, member in (("tss_page", "tss"), ("init_tss", None)):
        if not target.has_types:
            sym = target.symbols.get("per_cpu__" + name)
            if sym is not None:
                return target.per_cpu_address(sym.address, cpu) + (TSS_PAGE_TSS if member else 0)
            continue
        try:
            var = target.per_cpu(name, cpu)
        except (NoSuchSymbol, XcrashError):
            continue
        return var.member_(member).address_ if member else var.address_
    return 0


@dataclass
class CpuNote:
    """Where Xen keeps a pCPU's crash notes in its own memory (crash's ``dumpinfo``)."""
    cpu: int
    note: int              # ENOTE: the note buffer (its NT_PRSTATUS note first)
    core: int              # CORE: the NT_PRSTATUS note
    xen_core: int          # XEN_CORE: the CRASH_REGS note
    xen_info: int | None   # XEN_INFO: the CRASH_INFO note (pCPU 0's buffer only)
    size: int


def _note_size(namesz: int, descsz: int) -> int:
    return 12 + ((namesz + 3) & ~3) + ((descsz + 3) & ~3)


def cpu_notes(target: Any) -> list[CpuNote]:
    """``crash_notes[cpu]`` (``{Elf_Note *start; size_t size}``): each pCPU's
    buffer is [CORE NT_PRSTATUS][Xen CRASH_REGS], pCPU 0's followed by [Xen CRASH_INFO]."""
    target.need_symbols("dumpinfo")
    array = target.space.read_u64(target.address_of("crash_notes"))
    if not array:
        raise XcrashError("crash_notes is NULL: no crash image was loaded")
    out = []
    for cpu in target.present_cpus:
        start, size = (int.from_bytes(b, "little") for b in
                       _pair(target.space.read(array + 16 * cpu, 16)))
        if not start:
            continue
        notes = []
        off = 0
        while off + 12 <= size and len(notes) < 3:
            namesz, descsz, _ntype = (target.space.read_u32(start + off + 4 * i) for i in range(3))
            notes.append(start + off)
            off += _note_size(namesz, descsz)
        out.append(CpuNote(cpu, start, notes[0] if notes else start,
                           notes[1] if len(notes) > 1 else 0,
                           notes[2] if len(notes) > 2 else None, size))
    return out


def _pair(raw: bytes) -> tuple[bytes, bytes]:
    return raw[:8], raw[8:16]


def scheduler_name(target: Any, cpu: int | None = None) -> str | None:
    """The name of the scheduler of a pCPU's resource (of the first pCPU by default)."""
    cpu = target.online_cpus[0] if cpu is None else cpu
    try:
        res = target.per_cpu("sched_res", cpu)
        sched = res.deref_().scheduler
        return target.space.read_cstring(int(sched.name), 128).decode("latin-1")
    except (NoSuchSymbol, XcrashError):
        return None


@dataclass
class SchedInfo:
    cpu: int
    resource: int          # per_cpu(sched_res): struct sched_resource *
    sched_priv: int
    curr_unit: int
    curr_vcpu: int         # curr unit's first vCPU (granularity 1: the only one)
    idle_vcpu: int
    granularity: int


def sched_info(target: Any) -> list[SchedInfo]:
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


def crashing_vcpu(target: Any, pcs: list[Pcpu]) -> int | None:
    """The vCPU current on the crashing pCPU: crash's ``*`` mark."""
    cpu = target.crashing_cpu
    for p in pcs:
        if p.cpu == cpu:
            return p.current_vcpu
    return None
