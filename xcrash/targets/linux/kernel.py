"""A Linux kernel inside a dump: its target, how to read its memory and its CPUs.

Where its image ran comes from ``layout.py`` (VMCOREINFO, else the symbol file, else the
memory itself); struct layouts always come from the symbol file.
"""
from __future__ import annotations

from functools import cached_property
from typing import Any
from collections.abc import Iterator

from ...caveats import caveat
from ...errors import MemoryError_, NoSuchType, XcrashError
from ...memory.linux import LinuxKernelSpace
from ...memory.space import AddressSpace, PhysicalSpace
from ...memory.x86_64 import PageTableSpace
from ...symbols.types import Type
from ..base import Cpu
from .layout import KernelLayout, layout_from_vmcoreinfo
from .moddebug import ModuleDebugInfo
from .pyapi import KernelObjects

class KernelThread(XcrashError):
    """A kernel thread has no user address space."""

    def __init__(self, task: int) -> None:
        super().__init__(f"task {task:x} is a kernel thread: no user memory")
        self.task = task


class LinuxTarget(KernelObjects, ModuleDebugInfo):
    """A Linux kernel: bare metal, or a Xen guest once its space is built."""

    kind = "linux"
    #: why the CPUs' registers at the crash are unknown, when they are (a Xen guest whose
    #: vCPU state the hypervisor kept where it cannot be read); None: they are known
    registers_unknown: str | None = None
    #: kernel virtual addresses: the kernel's page tables and direct map (a Xen PV
    #: guest's over machine frames)
    space: LinuxKernelSpace

    def __init__(self, name: str, space: LinuxKernelSpace, phys_space: AddressSpace,
                 symfile: Any, layout: KernelLayout, *, dump: Any = None,
                 cpus: list[Cpu] | None = None) -> None:
        symbols = symfile.symbols.relocated(layout.kaslr_offset) if symfile is not None else None
        if symbols is not None:
            # loaded modules' symbols behind the vmlinux's, read on first need
            from .kernelsymbols import KernelSymbols
            from .modules import ModuleTable, read_modules
            base = symbols

            def load_modules() -> ModuleTable:
                return read_modules(self, base)
            symbols = KernelSymbols(base, load_modules)
        super().__init__(name, space, phys_space, symfile, symbols)
        self.layout = layout
        self.dump = dump
        self._cpus = cpus or []
        #: start-up remarks (what was guessed while opening the kernel); the session
        #: shows them
        self.notes: list[str] = []
        #: crash's context task as `set` selected it (None: the panic task)
        self.selected_task: int | None = None

    @classmethod
    def from_dump(cls, dump: Any, symfile: Any, name: str = "kernel",
                  probe: bool = True, kaslr: int | None = None) -> LinuxTarget:
        """A bare-metal kernel: physical addresses index the dump directly.
        ``probe=False`` (--minimal) reads nothing of the kernel at start-up: no
        banner search, no randomised direct-map base.  ``kaslr``: the offset given
        (--kaslr), refused when VMCOREINFO's KERNELOFFSET differs."""
        vi = dump.vmcoreinfo
        phys_base = getattr(dump.header, "phys_base", None)
        levels = None
        knows_kaslr = vi is not None and (vi.get("KERNELOFFSET") is not None
                                          or vi.get("SYMBOL(_stext)") is not None)
        how = "linux_banner found in memory"
        if kaslr is not None and vi is not None and vi.get("KERNELOFFSET") is not None \
                and vi.kerneloffset != kaslr:
            raise XcrashError(f"--kaslr {kaslr:#x}: the dump's VMCOREINFO says KERNELOFFSET="
                              f"{vi.kerneloffset:x}")
        knows_kaslr = knows_kaslr or kaslr is not None
        if not knows_kaslr and symfile is not None and probe:
            from .kaslr import image_from_memory, kaslr_offset_from_banner
            image = image_from_memory(dump, symfile)
            if image is not None:
                kaslr, found_base, levels = image
                how = "linux_banner found in memory, mapped there by the kernel's page tables"
                if phys_base is not None and phys_base != found_base:
                    how += f" (phys_base {found_base:#x}, not the dump's {phys_base:#x})"
                phys_base = found_base
            else:
                kaslr = kaslr_offset_from_banner(dump, symfile, phys_base or 0)
        layout = layout_from_vmcoreinfo(vi, symfile, phys_base, kaslr)
        if levels is not None:
            layout.levels = levels
        remarks = []
        if not knows_kaslr:
            layout.source = (how if kaslr is not None
                             else "symbol file (no VMCOREINFO, banner not found: KASLR unknown)")
        if not knows_kaslr and symfile is not None:
            found = (f"{kaslr:#x} (phys_base {layout.phys_base:#x}), {how}"
                     if kaslr is not None
                     else "linux_banner not found in memory either, 0 assumed" if probe
                     else "not searched for (--minimal), 0 assumed")
            remarks.append(f"{dump.path}: no KASLR offset in the dump: {found}")
        space = LinuxKernelSpace(dump, layout.pgd_paddr, phys_base=layout.phys_base,
                                 levels=layout.levels, sme_mask=layout.sme_mask,
                                 kernel_image_size=layout.kernel_image_size)
        cpus = [Cpu(i, note.regs, "NT_PRSTATUS") for i, note in enumerate(dump.prstatus)]
        target = cls(name, space, PhysicalSpace(dump), symfile, layout, dump=dump, cpus=cpus)
        target.notes.extend(remarks)
        if probe:
            target._adopt_page_offset()
        return target

    @property
    def types(self) -> Any:
        """The symbol file's types, then (where its types are BTF) the loaded modules'
        (their split BTF in memory: ``modbtf.py``) for the names it does not know."""
        index = super().types
        from .moddebug import ModuleTypes, loaded
        with_btf = getattr(self.symfile, "has_btf", False)
        if not with_btf and not loaded(self):
            return index
        extended = self.cache.get("types with the modules'")
        if extended is None:
            if loaded(self):
                index = index.extended("modules' DWARF", lambda: ModuleTypes(self))
            if with_btf:
                from .modbtf import module_types
                index = index.extended("modules' BTF", lambda: module_types(self))
            extended = self.cache["types with the modules'"] = index
        return extended

    def variable_type(self, name: str) -> Type:
        """The declared type of a global variable: the symbol file's (DWARF, or BTF for
        per-CPU variables), else, without DWARF, the kernel's declaration as
        ``globals.py`` knows it, checked against BTF."""
        t = None
        in_module = self.cache.get("modules' debug files") and self.symbols.get(name) is None
        if in_module:       # a module's variable (mod -s): its object file first
            from .moddebug import variable_type
            t = variable_type(self, name)
        if t is None and self.symfile is not None:
            t = self.symfile.variable_type(name)
        if t is None and self.symfile is not None and not self.symfile.has_dwarf:
            from .globals import declared_type
            t = declared_type(self, name)
            if t is None:
                raise NoSuchType(f"type of variable {name} ({self.symfile.path} has no DWARF, "
                                 "and BTF describes per-CPU variables only): give the debug "
                                 f"vmlinux, or cast: p *(struct TYPE *){name}")
        if t is None:
            raise NoSuchType(f"type of variable {name}")
        return t

    def tasks(self) -> list[Any]:
        """Every task (idle tasks of all CPUs first), as typed objects."""
        from .tasks import for_each_task
        return list(for_each_task(self))

    @property
    def modules(self) -> Any:
        """The loaded modules (a ``modules.ModuleTable``; empty without symbols)."""
        from .modules import ModuleTable
        return self.symbols.modules if self.symbols is not None else ModuleTable([])

    def context_task(self) -> int | None:
        """Address of the current context task: the one `set` selected, else the panic
        task (None when there is none)."""
        from .context import current_task
        return current_task(self)

    def user_space(self, task: int | None = None) -> PageTableSpace:
        """The user address space of a task (the context task by default),
        walked from its ``mm->pgd``; kernel threads have none."""
        from .context import NoPanicTask
        address = task if task is not None else self.context_task()
        if address is None:
            raise NoPanicTask()
        mm = self.object_at("struct task_struct", address).mm
        if not int(mm):
            raise KernelThread(address)
        return PageTableSpace(self.space.phys, self.user_root(int(mm.pgd)),
                              levels=self.layout.levels, entry_mask=self.layout.sme_mask,
                              name="user")

    def user_pages(self, start: int = 0, end: int = 1 << 47,
                   task: int | None = None) -> Iterator[tuple[int, bytes]]:
        """(user virtual address, contents) of every page a task's page tables map in
        [start, end) and the dump holds (excluded pages are skipped)."""
        from ...memory.x86_64 import mapped_pages
        space = self.user_space(task)
        for vaddr, paddr, size in mapped_pages(space, start, end):
            try:
                yield vaddr, space.phys.read(paddr, size)
            except MemoryError_:
                # excluded from the dump (makedumpfile -d 8): not there to search, as
                # the docstring says (crash's search skips them too)
                continue

    def user_root(self, pgd: int) -> int:
        """Where the table at ``mm->pgd`` (a direct-map address) lies in the memory
        under :attr:`space`: physical here, a machine address in a Xen PV guest."""
        return pgd - self.space.page_offset

    def _adopt_page_offset(self) -> None:
        """Use the kernel's randomised direct-map base (CONFIG_RANDOMIZE_MEMORY)."""
        if self.symbols is None or not isinstance(self.space, LinuxKernelSpace):
            return
        sym = self.symbols.get("page_offset_base")
        if sym is None:
            return          # no CONFIG_RANDOMIZE_MEMORY: the direct map is at its default
        try:
            base = self.space.read_u64(sym.address)
        except MemoryError_ as err:
            self.notes.append(f"page_offset_base unreadable ({err}): the direct map is assumed "
                              f"at its default {self.space.page_offset:#x}")
            return
        # the direct map covers the RAM there is, rounded up to 1 GiB
        ram_end = (self.dump.max_pfn << 12) if self.dump is not None else 0
        size = ((ram_end + (1 << 30) - 1) >> 30 << 30) or None
        self.space.set_page_offset(base, size)

    # -- per-CPU data -----------------------------------------------------------------
    @cached_property
    def per_cpu_offsets(self) -> list[int]:
        """``__per_cpu_offset[]`` for the possible CPUs (empty on UP kernels)."""
        sym = self.symbols.get("__per_cpu_offset")
        if sym is None:
            return []
        n = self.nr_cpu_ids
        raw = self.space.read(sym.address, 8 * n)
        return [int.from_bytes(raw[i:i + 8], "little") for i in range(0, len(raw), 8)]

    def per_cpu_address(self, address: int, cpu: int) -> int:
        """Address of CPU ``cpu``'s copy of a per-CPU variable at ``address``."""
        offsets = self.per_cpu_offsets
        if not offsets:
            return address
        return (address + offsets[cpu]) & 0xFFFFFFFFFFFFFFFF

    def per_cpu(self, name: str, cpu: int) -> Any:
        var = self.object(name)
        return self.object_at(var.type_, self.per_cpu_address(var.at_, cpu))

    @cached_property
    def nr_cpu_ids(self) -> int:
        sym = self.symbols.get("nr_cpu_ids")
        if sym is not None:
            try:
                return self.space.read_u32(sym.address)
            except MemoryError_ as err:
                caveat(f"nr_cpu_ids unreadable ({err}): the CPUs are counted from the "
                       "dump's register notes")
        # a kernel without nr_cpu_ids is built for one CPU (!CONFIG_SMP)
        return max(len(self._cpus), 1)

    def cpu_mask(self, name: str) -> list[int]:
        """CPU numbers set in a ``struct cpumask`` variable (``__cpu_online_mask``)."""
        sym = self.symbols.get(name)
        if sym is None:
            return []
        nwords = (self.nr_cpu_ids + 63) // 64
        raw = self.space.read(sym.address, 8 * nwords)
        bits = int.from_bytes(raw, "little")
        return [i for i in range(self.nr_cpu_ids) if bits >> i & 1]

    @cached_property
    def online_cpus(self) -> list[int]:
        online = self.cpu_mask("__cpu_online_mask")
        if online:
            return online
        if self.symbols is not None and self.symbols.get("__cpu_online_mask") is not None:
            caveat("__cpu_online_mask is empty: the CPUs taken from the dump's register notes")
        # before 4.5 (cpu_online_mask a pointer), or !CONFIG_SMP: one CPU per note
        return list(range(len(self._cpus)))

    @cached_property
    def present_cpus(self) -> list[int]:
        """The CPUs of the machine (``__cpu_present_mask``), online or not: as crash does,
        each has its idle task, run queue and stack shown, and ``sys`` counts the ones
        not online as [OFFLINE]."""
        return sorted(set(self.cpu_mask("__cpu_present_mask")) | set(self.online_cpus))

    @cached_property
    def cpus(self) -> list[Cpu]:
        """Registers per CPU.  The i-th NT_PRSTATUS note is CPU i when every online CPU
        saved one, or when QEMU wrote them (one per vCPU); otherwise each note goes to the CPU whose current
        task has the note's pid (idle tasks, all pid 0, fill the CPUs left)."""
        notes = self._cpus
        online = self.online_cpus
        if self.dump is None or len(notes) == len(online) or not notes:
            return notes
        if len(self.dump.qemu_cpus) == len(notes):
            return notes    # QEMU wrote a note for every vCPU, in vCPU order, online or not
        try:
            from .tasks import active_tasks
            pids = {cpu: int(self.object_at("struct task_struct", addr).pid)
                    for cpu, addr in active_tasks(self).items()}
        except XcrashError as err:
            caveat(f"the CPUs' current tasks are unreadable ({err}): the {len(notes)} register "
                   f"notes taken as CPUs 0-{len(notes) - 1}, in their order")
            return notes
        pids_of_notes = [getattr(n, "pid", None) for n in self.dump.prstatus]
        free = [cpu for cpu in online]
        placed: list[Cpu] = []
        for note, pid in zip(notes, pids_of_notes):
            match = [cpu for cpu in free if pid and pids.get(cpu) == pid]
            cpu = match[0] if match else next((c for c in free if pids.get(c) == 0), None)
            if cpu is None:
                caveat(f"a register note of pid {pid} matches no CPU's current task: left out")
                continue
            free.remove(cpu)
            placed.append(Cpu(cpu, note.regs, note.source))
        return placed

    # -- identity -----------------------------------------------------------------------
    @cached_property
    def utsname(self) -> dict[str, str]:
        """``init_uts_ns.name``: sysname, nodename, release, version, machine, domainname."""
        uts = self.object("init_uts_ns", "struct uts_namespace").name
        fields = ("sysname", "nodename", "release", "version", "machine", "domainname")
        return {f: uts.member_(f).string_().decode("utf-8", "replace") for f in fields}

    @cached_property
    def banner(self) -> str:
        return self.space.read_cstring(self.address_of("linux_banner"), 1024).decode(
            "utf-8", "replace")

    def summary(self) -> dict[str, Any]:
        uts = self.utsname
        return {"release": uts["release"], "version": uts["version"],
                "machine": uts["machine"], "nodename": uts["nodename"],
                "cpus": len(self.online_cpus)}
