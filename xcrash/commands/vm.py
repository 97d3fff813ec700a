"""vm: a task's memory map (mm, page directory, RSS, VMAs), as crash shows it.

The records come from ``targets/linux/vma.py``; this module lays them out.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from ..errors import CommandError
from ..layouts import separated
from ..layouts.columns import center
from ..layouts.tasks import task_header
from ..layouts.values import struct_lines
from ..results import Records, Teaching
from ..targets import values
from ..targets.linux import teach, vmpages
from ..targets.linux.vma import MemoryMap, Vma, memory_map
from ..targets.linux.vmpages import VmaPage, VmPages
from .args import linux_target, parse_address, parse_number, per_task_records, tasks_or_current
from .base import Command, Context, Option

if TYPE_CHECKING:
    from ..targets.linux.kernel import LinuxTarget

VM_HEADER = "       MM               PGD          RSS    TOTAL_VM"
VMA_HEADER = "      VMA           START       END     FLAGS FILE"
PAGES_HEADER = "VIRTUAL     PHYSICAL"


def vma_line(v: Vma) -> str:
    return f"{v.address:16x} {v.start:10x} {v.end:10x} {v.flags:6x} " \
        + ("" if v.file is None else str(v.file))


def map_lines(m: MemoryMap) -> Iterator[str]:
    yield task_header(m)
    yield VM_HEADER
    yield (f"{center(f'{m.mm:x}', 16)}  {center(f'{m.pgd:x}', 16)}  "
           f"{center(f'{m.rss_kb}k', 6)}  {center(f'{m.total_vm_kb}k', 8)}")
    if m.mm or m.vmas:
        yield VMA_HEADER
        yield from (vma_line(v) for v in m.vmas)


def vm_lines(maps: Iterable[MemoryMap]) -> Iterator[str]:
    return separated(map_lines(m) for m in maps)


def _mm_lines(m: MemoryMap) -> Iterator[str]:
    yield VM_HEADER
    yield (f"{center(f'{m.mm:x}', 16)}  {center(f'{m.pgd:x}', 16)}  "
           f"{center(f'{m.rss_kb}k', 6)}  {center(f'{m.total_vm_kb}k', 8)}")


def page_line(p: VmaPage) -> str:
    if p.physical is not None:
        return f"{p.address:<10x}  {p.physical:>8x}"
    if p.swap is not None:
        return f"{p.address:<10x}  SWAP: {p.swap}"
    if p.file is not None:
        return f"{p.address:<10x}  FILE: {p.file.path}  OFFSET: {p.file.offset:x}"
    return f"{p.address:<10x}  (not mapped)"


def pages_lines(records: Iterable[VmPages]) -> Iterator[str]:
    """vm -p / -P / -R: per task its header (not -R's when nothing refers), the memory
    map line (not -P's), then each VMA with its pages; -R ends with a blank line."""
    for i, r in enumerate(records):
        if not r.found:
            continue
        m = r.map
        yield ("\n" if i and not r.reference else "") + task_header(m)
        if r.mm_line:
            yield from _mm_lines(m)
        for v in r.vmas:
            if v.header:
                yield VMA_HEADER
            if v.vma_line:
                yield vma_line(v.vma)
            if v.page_header and (v.pages or not r.reference):
                yield PAGES_HEADER
            yield from (page_line(p) for p in v.pages)
        if r.not_found:
            yield "(not found)"
        if r.reference:
            yield ""


def structs_lines(records: Iterable[Any], radix: int = 10) -> Iterator[str]:
    """vm -m / -v: each task's header, then its mm_struct or VMAs, gdb-style."""
    first = True
    for r in records:
        if isinstance(r, MemoryMap):
            if not first:
                yield ""
            first = False
            yield task_header(r)
        else:
            yield from struct_lines(r, radix)


def flag_names(flags: int, target: LinuxTarget) -> list[str]:
    """crash's names of the bits of a vm_flags value (its own table, older names and
    all)."""
    grows_up = target.symbols.get("expand_upwards") is not None
    thp = target.type("struct mm_struct").has_member("pmd_huge_pte")
    names = []
    for bit, name in VM_FLAG_NAMES:
        if not flags & bit:
            continue
        if bit == 0x200:
            name = "GROWSUP" if grows_up else "NOHUGEPAGE"
        elif bit == 0x1000000:
            name = "HUGEPAGE" if thp else "MAPPED_COPY"
        names.append(name)
    return names


#: crash's do_vm_flags, in its order (0x200 and 0x1000000 depend on the kernel)
VM_FLAG_NAMES = (
    (0x1, "READ"), (0x2, "WRITE"), (0x4, "EXEC"), (0x8, "SHARED"), (0x10, "MAYREAD"),
    (0x20, "MAYWRITE"), (0x40, "MAYEXEC"), (0x80, "MAYSHARE"), (0x100, "GROWSDOWN"),
    (0x200, ""), (0x400, "PFNMAP"), (0x800, "DENYWRITE"), (0x1000, "EXECUTABLE"),
    (0x2000, "LOCKED"), (0x4000, "IO"), (0x8000, "SEQ_READ"), (0x10000, "RAND_READ"),
    (0x20000, "DONTCOPY"), (0x40000, "DONTEXPAND"), (0x80000, "RESERVED"),
    (0x400000, "HUGETLB"), (0x100000, "ACCOUNT"), (0x800000, "NONLINEAR"),
    (0x1000000, ""), (0x2000000, "INSERTPAGE"), (0x4000000, "ALWAYSDUMP"),
    (0x8000000, "CAN_NONLINEAR"), (0x10000000, "MIXEDMAP"), (0x20000000, "SAO"),
    (0x40000000, "PFN_AT_MMAP"), (0x80000000, "MERGEABLE"))


@dataclass
class VmFlags:
    """vm -f: a vm_flags value and crash's names of its bits."""
    flags: int
    names: list[str]


def flags_lines(records: Iterable[VmFlags]) -> Iterator[str]:
    for r in records:
        yield f"{r.flags:x}: ({'|'.join(r.names)})"


class Vm(Command):
    name = "vm"
    arguments = "[pid | taskaddr] ..."
    summary = "virtual memory map of a task"
    group = "linux"
    targets = ("linux",)
    description = """\
The task's mm_struct, page global directory, resident set size and total
virtual size, then each VMA (vm_area_struct) in address order: its address,
start, end, vm_flags and the mapped file's path (blank for anonymous memory,
? when the file could not be read).  VMAs come from the mm's maple tree on
6.1+ kernels, the mmap list before.  Kernel threads have no mm: zeros, no
VMAs.  Without an argument: the current context task (see `set`).
`foreach vm` maps every task.

-p follows each VMA with its pages: the physical address, the swap device and
offset, the file and offset a page not yet read in would come from, or (not
mapped); -P VMA does so for that VMA alone.  -R REF shows only what leads to a
reference: the number as the mm or page directory, a VMA's address or flags, a
page's virtual, physical, swap (decimal) or file offset, or the name in a mapped
file's path.  -m shows the mm_struct, -v every vm_area_struct, gdb-style (-x, -d:
in hexadecimal, decimal).  -M MM takes the VMAs of that mm_struct for a task whose
mm is gone (an exiting task).  -f FLAGS names the bits of a vm_flags value as
crash does.
"""
    example = "vm\nvm 1\nvm -P ffff975a80b3c110 1\nvm -f 100073\nforeach xc-memhog vm"
    options = (Option("-p", "pages", "each VMA's pages: physical address, swap, file, or "
                      "not mapped"),
               Option("-P", "vma", "the same for one VMA", takes_value=True, metavar="vma"),
               Option("-M", "mm", "the mm_struct of a task whose mm is gone",
                      takes_value=True, metavar="mm"),
               Option("-R", "ref", "only what refers to this number or file name",
                      takes_value=True, metavar="reference"),
               Option("-m", "mm_struct", "the mm_struct, gdb-style"),
               Option("-v", "vmas", "every vm_area_struct, gdb-style"),
               Option("-x", "hex", "-m, -v: in hexadecimal"),
               Option("-d", "dec", "-m, -v: in decimal"),
               Option("-f", "flags", "name the bits of a vm_flags value", takes_value=True,
                      metavar="vm_flags"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = linux_target(ctx)
        if opts["flags"] is not None:
            value = parse_number(opts["flags"], 16)
            return Records([VmFlags(value, flag_names(value, target))], flags_lines)
        if opts["hex"] and opts["dec"]:
            raise CommandError("vm: -d and -x are mutually exclusive")
        chosen = [f for f, d in (("-p", "pages"), ("-P", "vma"), ("-m", "mm_struct"),
                                 ("-v", "vmas")) if opts[d]]
        if len(chosen) > 1 or chosen and chosen != ["-p"] and opts["ref"] is not None:
            raise CommandError(f"usage: {self.usage()}")
        tasks = tasks_or_current(target, rest, "vm")
        forced = parse_address(target, opts["mm"]) if opts["mm"] is not None else None
        maps = per_task_records(ctx, tasks, "vm", partial(memory_map, mm=forced))
        radix = 16 if opts["hex"] else 10 if opts["dec"] else int(ctx.settings.get("radix", 10))
        if opts["mm_struct"] or opts["vmas"]:
            return Records(self._structs(target, maps, opts["vmas"]),
                           partial(structs_lines, radix=radix))
        if opts["ref"] is not None:
            return Records([vmpages.references(target, m, opts["ref"]) for m in maps],
                           pages_lines)
        if opts["pages"]:
            return Records([vmpages.all_pages(target, m) for m in maps], pages_lines)
        if opts["vma"] is not None:
            vma = parse_number(opts["vma"], 16)
            return Records([vmpages.one_vma(target, m, vma) for m in maps], pages_lines)
        return Records(maps, vm_lines)

    @staticmethod
    def _structs(target: LinuxTarget, maps: list[MemoryMap], vmas: bool) -> Iterator[Any]:
        mm_t = target.type("struct mm_struct")
        vma_t = target.type("struct vm_area_struct")
        for m in maps:
            yield m
            if not m.mm:
                continue
            if vmas:
                for v in m.vmas:
                    yield values.read_struct(target, vma_t, v.address, None)
            else:
                yield values.read_struct(target, mm_t, m.mm, None)

    def teach(self, ctx: Context, args: list[str]) -> Teaching | None:
        opts, rest = self.parse(args)
        if any(opts[d] not in (None, False) for d in ("pages", "vma", "mm", "ref", "mm_struct",
                                                       "vmas", "flags")):
            return None
        target = linux_target(ctx)
        teaching = teach.vm_teaching(target, tasks_or_current(target, rest, "vm"))
        teaching.imports.append("from xcrash.commands.vm import vm_lines")
        teaching.body += ["for line in vm_lines(records):  # crash's layout of the records",
                          "    print(line)"]
        return teaching


COMMANDS = [Vm]
