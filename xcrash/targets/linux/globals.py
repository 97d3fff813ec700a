"""The declared types of the kernel's global variables, when no DWARF gives them.

BTF describes every type of the kernel but, of its variables, only the per-CPU ones.
Without DWARF (a vmlinux through ``objcopy --strip-debug``, or the dump's own kallsyms
and BTF) the globals the commands start from get their types here: a small table of
what the kernel declares, each entry checked against the kernel's own BTF (the type
must exist there, and fit in the symbol) before it is believed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import MemoryError_
from ...symbols.types import Kind, Type

if TYPE_CHECKING:
    from ..base import Target


@dataclass(frozen=True)
class Declared:
    """``ctype``: the C type (array element type when ``array``); ``array``: an array
    of that many elements, or of as many as the symbol holds (-1); ``members``: an
    unnamed struct with exactly these members (``static struct { ... } name``)."""
    ctype: str = ""
    array: int = 0
    members: tuple[str, ...] = ()


#: what the kernel declares, for the globals xcrash's helpers and users start from
DECLARED: dict[str, Declared] = {
    "init_task": Declared("struct task_struct"),
    "init_mm": Declared("struct mm_struct"),
    "init_net": Declared("struct net"),
    "init_uts_ns": Declared("struct uts_namespace"),
    "init_nsproxy": Declared("struct nsproxy"),
    "init_pid_ns": Declared("struct pid_namespace"),
    "init_files": Declared("struct files_struct"),
    "jiffies": Declared("volatile unsigned long"),
    "jiffies_64": Declared("u64"),
    "_totalram_pages": Declared("atomic_long_t"),
    "totalreserve_pages": Declared("unsigned long"),
    "sysctl_overcommit_ratio": Declared("int"),
    "sysctl_overcommit_kbytes": Declared("unsigned long"),
    "tk_core": Declared(members=("seq", "timekeeper")),
    "timekeeper_data": Declared("struct tk_data", array=-1),
    "major_names": Declared("struct blk_major_name *", array=255),
    "chrdevs": Declared("struct char_device_struct *", array=255),
    "blockdev_superblock": Declared("struct super_block *"),
    "hstates": Declared("struct hstate", array=-1),
    "hugetlb_max_hstate": Declared("unsigned int"),
    "dmi_ident": Declared("const char *", array=-1),
    "prb": Declared("struct printk_ringbuffer *"),
    "printk_rb_static": Declared("struct printk_ringbuffer"),
    "log_buf": Declared("char *"),
    "log_buf_len": Declared("u32"),
    "log_first_idx": Declared("u32"),
    "log_next_idx": Declared("u32"),
    "clear_seq": Declared("u64"),
    "modules": Declared("struct list_head"),
    "super_blocks": Declared("struct list_head"),
    "mem_section": Declared("struct mem_section **"),
    "vmap_area_root": Declared("struct rb_root"),
    "vmap_area_list": Declared("struct list_head"),
    "slab_caches": Declared("struct list_head"),
    "node_data": Declared("struct pglist_data *", array=-1),
    "contig_page_data": Declared("struct pglist_data"),
    "__per_cpu_offset": Declared("unsigned long", array=-1),
    "nr_cpu_ids": Declared("unsigned int"),
    "__cpu_online_mask": Declared("struct cpumask"),
    "__cpu_possible_mask": Declared("struct cpumask"),
    "__cpu_present_mask": Declared("struct cpumask"),
    "__cpu_active_mask": Declared("struct cpumask"),
    "panic_cpu": Declared("atomic_t"),
    "crashing_cpu": Declared("int"),
    "tainted_mask": Declared("unsigned long"),
    "taint_flags": Declared("const struct taint_flag", array=-1),
    "nr_threads": Declared("int"),
    "avenrun": Declared("unsigned long", array=3),
    "sys_call_table": Declared("const sys_call_ptr_t", array=-1),
    "irq_desc_tree": Declared("struct radix_tree_root"),
    "sparse_irqs": Declared("struct maple_tree"),
    "nr_irqs": Declared("int"),
    "vm_zone_stat": Declared("atomic_long_t", array=-1),
    "vm_node_stat": Declared("atomic_long_t", array=-1),
    "vm_numa_event": Declared("atomic_long_t", array=-1),
    "pageflag_names": Declared("const struct trace_print_flags", array=-1),
    "kernel_config_data": Declared("char", array=-1),
    "linux_banner": Declared("const char", array=-1),
    "vmcoreinfo_data": Declared("unsigned char *"),
    "arp_tbl": Declared("struct neigh_table"),
    "e820_table": Declared("struct e820_table *"),
    "block_class": Declared("struct class"),
    "class_kset": Declared("struct kset *"),
    "prog_idr": Declared("struct idr"),
    "map_idr": Declared("struct idr"),
    "init_top_pgt": Declared("pgd_t", array=512),
    "swapper_pg_dir": Declared("pgd_t", array=512),
    # per-CPU variables: BTF describes them from pahole 1.18 on (Linux 5.11 and later
    # builds); a 5.10 kernel's BTF has none
    "runqueues": Declared("struct rq"),
    "current_task": Declared("struct task_struct *"),
    "hardirq_stack_ptr": Declared("struct irq_stack *"),
    "cpu_tss_rw": Declared("struct tss_struct"),
    "cpu_info": Declared("struct cpuinfo_x86"),
    "cpu_number": Declared("int"),
    "timer_bases": Declared("struct timer_base", array=-1),
    "hrtimer_bases": Declared("struct hrtimer_cpu_base"),
    "kstat": Declared("struct kernel_stat"),
    "kernel_cpustat": Declared("struct kernel_cpustat"),
    "irq_stat": Declared("irq_cpustat_t"),
    "vector_irq": Declared("vector_irq_t"),
    "cea_exception_stacks": Declared("struct cea_exception_stacks *"),
    "crash_notes": Declared("note_buf_t *"),
    "idt_table": Declared("gate_desc", array=256),
    "high_memory": Declared("void *"),
    "total_pages": Declared("unsigned long"),
    "cpu_khz": Declared("unsigned int"),
    "tick_nsec": Declared("unsigned long"),
    "pci_root_buses": Declared("struct list_head"),
    "pcpu_hot": Declared("struct pcpu_hot"),
}


def declared_type(target: Target, name: str) -> Type | None:
    """The type of global ``name`` from the table, checked against the target's BTF;
    None when the table does not know it or the kernel's types disagree."""
    decl = DECLARED.get(name)
    if decl is None:
        return None
    sym = target.symbols.get(name) if target.symbols is not None else None
    if sym is None:
        return None
    if decl.members:
        btf = getattr(target.symfile, "btf", None)
        return btf.anonymous_struct(decl.members) if btf is not None else None
    element = target.types.get(decl.ctype)
    if element is None:
        return None
    extent = sym.size or _extent(target, sym.address)
    if not decl.array:
        if extent and element.byte_size > extent:
            return None         # the kernel's type is larger than its variable: not this one
        return element
    size = max(element.byte_size, 1)
    length = decl.array if decl.array > 0 else (extent // size if extent else None)
    if decl.array < 0 and length and not getattr(target.symfile, "exact_sizes", True):
        length = _without_padding(target, sym.address, size, length)
    return Type(Kind.ARRAY, None, (length or 0) * size, target=element, length=length)


def _extent(target: Target, address: int) -> int:
    """How far an unsized symbol can reach: to the next symbol."""
    following = target.symbols.next_address(address)
    return following - address if following is not None else 0


def _without_padding(target: Target, address: int, size: int, length: int) -> int:
    """kallsyms keeps no sizes: a symbol's extent runs to the next symbol, alignment
    padding included.  The elements past the array's end are that padding: zeros."""
    try:
        raw = target.space.read(address, size * length)
    except MemoryError_:
        return length       # no padding to see: the extent the symbols give
    zero = bytes(size)
    while length and raw[(length - 1) * size:length * size] == zero:
        length -= 1
    return length
