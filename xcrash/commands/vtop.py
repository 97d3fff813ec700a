"""vtop and ptov: virtual ↔ physical, with the page-table walk shown.

A Linux kernel's translations come from ``targets/linux/vtop.py`` and are laid out
as crash's vtop shows them (a user address of the context task, or of the task
``-c`` names, with its VMA and page); the hypervisor's and a Xen PV guest's come from
``targets/memory.py``.  ptov is arithmetic on the direct map, or on the per-CPU
offsets (``offset:cpuspec``).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import CommandError
from ..layouts import separated
from ..layouts.columns import center
from ..layouts.kmem import PAGE_HEADER, page_line
from ..results import Column, Records, Teaching
from ..targets.linux import teach
from ..targets.linux.context import current_task, resolve_task
from ..targets.linux.kernel import LinuxTarget
from ..targets.linux.taskinfo import task_ref
from ..targets.linux.vtop import (VirtualTranslation, is_kernel_address, is_user_address,
                                  kernel_translation, user_translation)
from ..targets.memory import AddressTranslation, direct_map_base, translation
from .args import parse_address, parse_cpu_list
from .base import Command, Context, Option
from .pte import decode, pte_lines
from .vm import VMA_HEADER, vma_line

#: crash's UVADDR_PRLEN and VADDR_PRLEN on x86_64
UVADDR_WIDTH = 10
VADDR_WIDTH = 16


# -- the hypervisor's and a Xen PV guest's translations ----------------------------------
def translation_lines(t: AddressTranslation) -> Iterator[str]:
    if t.machine is not None:
        yield f"{'VIRTUAL':<17} {'PHYSICAL':<16} MACHINE"
        yield f"{t.virtual:<17x} {t.physical:<16x} {t.machine:x}"
    else:
        yield f"{'VIRTUAL':<17} {'PHYSICAL':<16}"
        yield f"{t.virtual:<17x} " + (f"{t.physical:x}" if t.physical is not None
                                      else "(not mapped)")
    yield ""
    if t.notes:
        yield f"{t.method.upper()}: " + "; ".join(t.notes)
    if t.steps:
        if t.root is not None:
            yield f"PAGE DIRECTORY: {t.root:x}"
        for s in t.steps:
            yield f"{s.level:>6}: {s.entry_address:x} => {s.entry:x}"
    if t.error:
        yield t.error
    if t.page is not None:
        yield f"  PAGE: {t.page:x}"


def vtop_lines(records: Iterable[AddressTranslation]) -> Iterator[str]:
    return separated(translation_lines(t) for t in records)


# -- a Linux kernel's: crash's layout -----------------------------------------------------
def _walk_lines(t: VirtualTranslation) -> Iterator[str]:
    entries = t.walk
    if not t.user and entries:
        yield f"PGD DIRECTORY: {t.pgd_directory or 0:x}"
        yield f"PAGE DIRECTORY: {entries[0].entry:x}"
        entries = entries[1:]
    for e in entries:
        yield f"   {e.level}: {e.entry_address:x} => {e.entry:x}"
    if t.error:
        yield t.error
    if t.page is not None:
        if t.page_size == "1GB":
            yield f"  PAGE: {t.page:x}  (1GB)"
        elif t.page_size == "2MB":
            zero = ", ZERO PAGE" if t.zero_page else ""
            yield f"  PAGE: {t.page:x}  (2MB{zero})" if t.user else f"  PAGE: {t.page:x}  (2MB)"
        elif t.user:
            yield f"  PAGE: {t.page:x}  {'(ZERO PAGE)' if t.zero_page else ''}"
        else:
            yield f"  PAGE: {t.page:x}"
    if t.pte is not None:
        yield ""
        yield from swap_pte_lines(t.pte, t.swap) if t.swap else pte_lines([decode(t.pte)])


def swap_pte_lines(pte: int, location: str) -> Iterator[str]:
    """crash's PTE / SWAP / OFFSET block of a swap entry."""
    device, _, offset = location.rpartition("  OFFSET: ")
    text = f"{pte:x}"
    w1, w2, w3 = max(len(text), 3), max(len(device), 4), max(len(offset), 6)
    yield f"{center('PTE', w1)}  {center('SWAP', w2)}  {center('OFFSET', w3)}"
    yield f"{center(text, w1, True)}  {center(device, w2, True)}  {center(offset, w3, True)}"


def linux_translation_lines(t: VirtualTranslation, page_header: bool) -> Iterator[str]:
    """One address as crash's vtop shows it; ``page_header``: the struct page's header
    (crash prints it once per command)."""
    width = UVADDR_WIDTH if t.user else VADDR_WIDTH
    yield f"{'VIRTUAL':<{width}}  {'PHYSICAL':<{VADDR_WIDTH}}"
    if t.state == "not kernel":
        yield f"{t.virtual:<8x}  (not a kernel virtual address)"
        yield ""
        return
    if t.state == "not accessible":
        yield f"{t.virtual:<{width}x}  (not accessible)"
        yield ""
        return
    shown = f"{t.physical:<{VADDR_WIDTH}x}" if t.physical is not None else "(not mapped)"
    yield f"{t.virtual:<{width}x}  {shown}"
    yield ""
    yield from _walk_lines(t)
    if t.user:
        yield ""
        yield VMA_HEADER
        if t.vma is not None:
            yield vma_line(t.vma)
        if t.physical is None and t.swap is not None:
            yield ""
            yield f"SWAP: {t.swap}"
        elif t.physical is None and t.file is not None:
            yield ""
            yield f"FILE: {t.file.path}  OFFSET: {t.file.offset:x}"
    yield ""
    if t.mem_page is not None:
        if page_header:
            yield PAGE_HEADER
        yield page_line(t.mem_page)


def linux_vtop_lines(records: Iterable[VirtualTranslation]) -> Iterator[str]:
    """crash's vtop of several addresses: a blank line between them; the struct page
    header over the first page only (crash's HEADER_PRINTED)."""
    header = True
    for i, t in enumerate(records):
        if i:
            yield ""
        yield from linux_translation_lines(t, header)
        header = header and t.mem_page is None


class Vtop(Command):
    name = "vtop"
    arguments = "address ..."
    summary = "virtual to physical address translation, with the page-table walk"
    group = "memory"
    description = """Translates virtual addresses and shows how, as crash's vtop does.  On a Linux
kernel: a user address (below the top of user space) in the memory of the context
task (`set`), or of the task -c names, found by walking its mm's page tables, then
the VMA holding it and the page's struct page; a page that is not mapped is named
by its file and offset ("(not accessible)": no VMA holds the address).  A kernel
address walks the kernel's page tables from init_top_pgt (PGD DIRECTORY is its
virtual address, PAGE DIRECTORY the top entry); the direct map and the kernel
image translate by arithmetic, which gives PHYSICAL even where the walk ends.
The leaf entry's flags are decoded as `pte` decodes them.  Addresses may also be
symbols or (expressions) (crash takes hexadecimal only).

On the Xen hypervisor and in a Xen PV guest the walk is shown with the arithmetic
used; in a PV guest the page tables hold machine frames: PHYSICAL is the guest's
pseudo-physical address (Xen's m2p) and MACHINE the dump's.
"""
    example = "vtop ffffffffa6207980\nvtop -c 1 400000"
    options = (Option("-c", "context", "translate in the memory of this task (PID or task "
                      "address) instead of the context task", takes_value=True,
                      metavar="pid | taskp"),
               Option("-u", "user", "the addresses are user virtual addresses"),
               Option("-k", "kernel", "the addresses are kernel virtual addresses"))
    exclusive = (("user", "kernel"),)

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        target = ctx.target
        if isinstance(target, LinuxTarget) and not hasattr(target, "p2m"):
            task = (resolve_task(target, opts["context"]) if opts["context"] is not None
                    else current_task(target))
            records = [linux_translation(target, task, parse_address(target, a), opts)
                       for a in rest]
            return Records(records, linux_vtop_lines)
        if opts["context"] is not None:
            raise CommandError("vtop: -c names a task of a Linux kernel")
        addresses = [parse_address(target, arg) for arg in rest]
        space = None
        if isinstance(target, LinuxTarget) and not opts["kernel"] and \
                (opts["user"] or all(is_user_address(target, a) for a in addresses)):
            space = target.user_space()
        return Records([translation(target, vaddr, space) for vaddr in addresses],
                       vtop_lines)

    def teach(self, ctx: Context, args: list[str]) -> Teaching | None:
        opts, rest = self.parse(args)
        target = ctx.target
        if not rest or not isinstance(target, LinuxTarget) or opts["context"] or \
                opts["user"] or opts["kernel"]:
            return None
        addresses = [parse_address(target, a) for a in rest]
        if any(not is_kernel_address(target, a) for a in addresses):
            return None
        teaching = teach.translation_teaching(target, addresses)
        if hasattr(target, "p2m"):
            teaching.imports.append("from xcrash.commands.vtop import vtop_lines")
            teaching.body += ["for line in vtop_lines(records):", "    print(line)"]
        else:
            teaching.imports.append("from xcrash.commands.vtop import linux_vtop_lines")
            teaching.body += ["for line in linux_vtop_lines(records):", "    print(line)"]
        return teaching


def linux_translation(target: LinuxTarget, task: int | None, vaddr: int,
                      opts: dict[str, Any]) -> VirtualTranslation:
    """One address as crash's vtop takes it: -u, -k, or by where it lies."""
    user = opts["user"] or not opts["kernel"] and is_user_address(target, vaddr)
    if not user:
        return kernel_translation(target, vaddr)
    if task is None:
        raise CommandError("vtop: no context task for a user address (set PID)")
    return user_translation(target, target.object_at("struct task_struct", task), vaddr)


@dataclass
class DirectMapAddress:
    """ptov: a physical address and where the direct map shows it."""
    virtual: int
    physical: int


@dataclass
class PerCpuAddress:
    """ptov offset:cpuspec: a per-CPU offset and where each CPU's copy is."""
    offset: int
    cpu: int
    virtual: int
    #: crash's CPU column: as wide as the last CPU's "[N]" and two
    cpu_width: int = field(default=5, metadata={"json": False})


def ptov_lines(records: Iterable[DirectMapAddress | PerCpuAddress]) -> Iterator[str]:
    """crash's ptov: a block per argument, a blank line between them."""
    last: Any = None
    for r in records:
        if isinstance(r, PerCpuAddress):
            if not (isinstance(last, PerCpuAddress) and last.offset == r.offset):
                if last is not None:
                    yield ""
                yield f"PER-CPU OFFSET: {r.offset:x}"
                yield f"  {'CPU':<{r.cpu_width}}  {'VIRTUAL':<{VADDR_WIDTH}}"
            yield f"  {f'[{r.cpu}]':<{r.cpu_width}}{r.virtual:x}"
        else:
            if last is not None:
                yield ""
            yield f"{'VIRTUAL':<{VADDR_WIDTH}}  {'PHYSICAL':<{VADDR_WIDTH}}"
            yield f"{r.virtual:<{VADDR_WIDTH}x}  {r.physical:<{VADDR_WIDTH}x}"
        last = r


PTOV_COLUMNS = [Column("VIRTUAL", "virtual", fmt=lambda v: f"{v:x}"),
                Column("PHYSICAL", "physical", fmt=lambda v: f"{v:x}")]


class Ptov(Command):
    name = "ptov"
    arguments = "[address | offset:cpuspec] ..."
    summary = "physical to (direct-map) virtual address, or a per-CPU offset's addresses"
    group = "memory"
    description = """Shows the kernel virtual address at which the direct map places each physical
(hexadecimal) address; on a kernel with memory KASLR the randomised
page_offset_base is used.  offset:cpuspec adds a per-CPU offset (a per-CPU
symbol's value) to the per-CPU base of each CPU named: "1,3", "0-1", "a" or
"all"; nothing after the colon is the context task's CPU.
"""
    example = "ptov 1000000\nptov 23380:a"

    def run(self, ctx: Context, args: list[str]) -> Records:
        _opts, rest = self.parse(args)
        if not rest:
            raise CommandError(f"usage: {self.usage()}")
        records: list[DirectMapAddress | PerCpuAddress] = []
        for arg in rest:
            text, colon, spec = arg.partition(":")
            value = _hex(text)
            if colon:
                records += self._per_cpu(ctx, value, spec)
                continue
            base = direct_map_base(ctx.target)
            if base is None:
                raise CommandError("ptov: this target has no direct map")
            records.append(DirectMapAddress(base + value, value))
        return Records(records, ptov_lines, columns=PTOV_COLUMNS)

    @staticmethod
    def _per_cpu(ctx: Context, offset: int, spec: str) -> list[PerCpuAddress]:
        from .args import linux_target
        target = linux_target(ctx)
        offsets = target.per_cpu_offsets
        if not offsets:
            raise CommandError("ptov: this kernel has no per-CPU offsets")
        every = list(range(len(offsets)))
        if spec:
            cpus = parse_cpu_list(spec, "ptov", every)
        else:
            task = current_task(target)
            cpus = [task_ref(target.object_at("struct task_struct", task)).cpu] if task else [0]
        for cpu in cpus:
            if cpu not in every:
                raise CommandError(f"ptov: invalid cpu specification: {spec}")
        width = len(f"[{len(offsets) - 1}]") + 2
        return [PerCpuAddress(offset, cpu, (offsets[cpu] + offset) & (2**64 - 1), width)
                for cpu in sorted(set(cpus))]


def _hex(text: str) -> int:
    try:
        return int(text, 16)
    except ValueError:
        raise CommandError(f'ptov: invalid input: "{text}"') from None


COMMANDS = [Vtop, Ptov]
