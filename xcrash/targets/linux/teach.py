"""What ``--explain`` teaches about a Linux kernel: which structures an answer comes from,
why they are walked that way, and the version differences this kernel shows.

Each helper returns a :class:`~xcrash.results.Teaching` whose sentences are found by
asking this kernel's types and symbols (never its release string), and whose program
body computes the answer's records with the targets' helpers into ``records`` (the
command adds the lines that print them, its layout being its own).  The program's
target variable is ``kernel``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import XcrashError
from ...results import Teaching
from ...symbols.symtab import display_name
from .context import panic_task_address, task_index
from .tasks import active_tasks

if TYPE_CHECKING:
    from .kernel import LinuxTarget


def _has(target: LinuxTarget, struct: str, member: str) -> bool:
    try:
        return bool(target.type(struct).has_member(member))
    except XcrashError:
        return False    # no such type in this kernel: nor the member


def _sym(target: LinuxTarget, name: str) -> bool:
    return target.symbols is not None and target.symbols.get(name) is not None


def task_expression(target: LinuxTarget, addr: int) -> tuple[str, str]:
    """(the program's expression for a task, a comment naming it): ``kernel.task(PID)``
    when the PID names that task alone, else its address."""
    task = target.object_at("struct task_struct", addr)
    pid = int(task.pid)
    comm = task.comm.string_().decode("utf-8", "replace")
    unique = task_index(target).by_pid.get(pid, []) == [addr]
    expr = f"kernel.task({pid})" if unique else f"kernel.task({addr:#x})"
    return expr, f"PID {pid}, {comm!r}"


def thread_list(target: LinuxTarget) -> str:
    """How this kernel links a process's threads."""
    if _has(target, "struct task_struct", "thread_node"):
        also = ("this kernel also keeps the older thread_group ring, gone in 6.7"
                if _has(target, "struct task_struct", "thread_group")
                else "the older thread_group ring went in 6.7")
        return (f"each process's threads on signal->thread_head through "
                f"task_struct.thread_node (3.14 on; {also})")
    return ("each process's threads on the ring of task_struct.thread_group (this kernel "
            "predates signal->thread_head, 3.14)")


# -- ps ---------------------------------------------------------------------------------
def tasks_teaching(target: LinuxTarget) -> Teaching:
    state = "__state" if _has(target, "struct task_struct", "__state") else "state"
    renamed = (" (named state before 5.14)" if state == "__state"
               else " (renamed __state in 5.14)")
    try:
        mm_t = target.type("struct mm_struct")
        stat_t = mm_t.member("rss_stat")[1].type.strip_typedefs()
        atomic = bool(stat_t.has_member("count"))
    except XcrashError:
        atomic = True
    split = _has(target, "struct task_struct", "rss_stat")
    if atomic:
        rss = ("the atomic file, anon and shmem counters of mm->rss_stat"
               + (" plus each thread's own not yet folded task->rss_stat (SPLIT_RSS_COUNTING, "
                  "before 6.2)" if split else ""))
    else:
        rss = "the file, anon and shmem percpu_counters of mm->rss_stat[] (6.2 on)"
    current = ("pcpu_hot.current_task, the per-CPU structure of hot variables (6.2 to 6.14)"
               if _sym(target, "pcpu_hot") else
               "the per-CPU variable current_task; 6.2 to 6.14 kept it in pcpu_hot")
    return Teaching(
        [f"ps walks every task: each CPU's idle task from its run queue (runqueues.idle, a "
         f"per-CPU variable), then init_task.tasks, the list that holds one task_struct per "
         f"process, and {thread_list(target)}.",
         f"ST is task_struct.{state}{renamed} with exit_state; VSZ is mm->total_vm pages, "
         f"RSS {rss}; %MEM is RSS over the memory below high_memory, as crash counts "
         f"it; '>' marks each CPU's current task ({current})."],
        ["from xcrash.targets.linux import taskinfo"],
        ["# every task as a TaskEntry record: pid, ppid, cpu, task, state, vsz, rss, comm, ...",
         "records = taskinfo.task_entries(kernel)"])


# -- bt ---------------------------------------------------------------------------------
def _start_sentence(target: LinuxTarget, addr: int) -> str:
    """Where a task's trace starts and where its registers came from."""
    from .unwind import Frame, backtrace, cpu_regs, task_on_cpu
    task = target.object_at("struct task_struct", addr)
    name = f"PID {int(task.pid)} ({task.comm.string_().decode('utf-8', 'replace')})"
    cpu = task_on_cpu(target, addr)
    if not int(task.stack):
        return f"{name} has exited: task->stack is NULL, there is no kernel stack to walk."
    if cpu is None:
        return (f"{name} was not running: its registers are those it saved at its last "
                f"context switch, thread.sp pointing at a struct inactive_task_frame (the "
                f"saved rbp and the return address into __schedule, or ret_from_fork for a "
                f"task that never ran).")
    regs = cpu_regs(target, cpu)
    source = next((c.source for c in target.cpus if c.index == cpu), "") or "the dump's notes"
    if regs is None:
        return (f"{name} was running on CPU {cpu}, whose registers are unknown "
                f"({target.registers_unknown or 'no register note'}): no walk is possible.")
    if source == "NT_PRSTATUS":
        where = (f"CPU {cpu}'s NT_PRSTATUS note, which crash_save_cpu() wrote into the "
                 f"dump's ELF notes")
    else:
        where = (f"the hypervisor's copy, from the {source} (a PV guest's vCPU state is "
                 f"kept by Xen)")
    panic = ""
    if addr == panic_task_address(target, guess=False):
        panic = f" It is the panic task: the task current on panic_cpu ({cpu})."
    trace = backtrace(target, task)
    first = next((i for i in trace.items if isinstance(i, Frame)), None)
    hit = target.symbols.resolve(first.pc) if first is not None else None
    func = display_name(hit[0].name) if hit else None
    if func == "machine_kexec":
        start = ("the walk starts, as crash's does, at the return address into machine_kexec "
                 "found on its stack: the panicking CPU went from panic() to kexec there")
    elif func == "crash_nmi_callback":
        start = ("the walk starts, as crash's does, at crash_nmi_callback found on its NMI "
                 "stack: the panicking CPU stopped this one with an NMI, and the note holds "
                 "the registers that NMI interrupted"
                 + (" (in user mode: CS 0033)" if regs.get("cs", 0) & 3 else ""))
    elif regs.get("cs", 0) & 3:
        start = "they are in user mode: the trace is those user registers"
    else:
        start = "the walk starts at the saved RIP and RSP"
    return f"{name} was running on CPU {cpu}: its registers are {where}; {start}.{panic}"


def _orc_sentence(target: LinuxTarget) -> str:
    if not (_sym(target, "__start_orc_unwind_ip") or
            (target.symfile is not None and target.symfile.section_address(".orc_unwind"))):
        return ("This kernel has no ORC tables: frames are found by frame pointers and by "
                "scanning for return addresses.")
    return ("Each caller is found by the kernel's ORC table (.orc_unwind_ip / .orc_unwind, "
            "written by objtool: for each range of code, where the frame's CFA is (rsp or "
            "rbp plus an offset), where the caller's rbp was saved, or that a struct pt_regs "
            "lies there); code objtool left unannotated falls back to the frame pointer, "
            "else to the first return address above rsp.")


def trace_details(target: LinuxTarget, addr: int) -> list[str]:
    """Which rule unwound each step of a task's walk."""
    from .unwind import backtrace
    trace = backtrace(target, target.object_at("struct task_struct", addr))
    out = []
    for ip, rule in trace.rules:
        hit = target.symbols.resolve(ip) if ip else None
        if hit is not None and hit[1] == 0:      # a return address after a noreturn call
            hit = target.symbols.resolve(ip - 1) or hit
        where = f"{display_name(hit[0].name)}+{hit[1]:#x}" if hit else f"{ip:x}"
        out.append(f"{where}: {rule}")
    return out


def trace_teaching(target: LinuxTarget, tasks: list[int]) -> Teaching:
    sentences = [_start_sentence(target, addr) for addr in tasks[:4]]
    if len(tasks) > 4:
        sentences.append(f"(and {len(tasks) - 4} more tasks, each the same way)")
    sentences.append(_orc_sentence(target))
    details = []
    for addr in tasks[:4]:
        steps = trace_details(target, addr)
        if len(tasks) > 1 and steps:
            details.append(f"PID {int(target.object_at('struct task_struct', addr).pid)}:")
        details += steps
    body = []
    if len(tasks) == 1:
        expr, comment = task_expression(target, tasks[0])
        body += [f"task = {expr}  # {comment}",
                 "# TraceStart, then BtFrame (level, sp, pc, function), TaskExceptionFrame "
                 "(regs) ...",
                 "records = kernel.backtrace(task)"]
    else:
        body += ["records = []"]
        for addr in tasks:
            expr, comment = task_expression(target, addr)
            body.append(f"records += kernel.backtrace({expr})  # {comment}")
    return Teaching(sentences, [], body, details)


def active_traces_teaching(target: LinuxTarget) -> Teaching:
    """bt -a: the task current on each CPU."""
    teaching = trace_teaching(target, [a for _cpu, a in sorted(active_tasks(target).items())])
    teaching.body = ["records = []",
                     "for cpu, task in sorted(kernel.active_tasks().items()):  # CPU -> current "
                     "task",
                     "    records += kernel.backtrace(task)"]
    return teaching


# -- log --------------------------------------------------------------------------------
def log_teaching(target: LinuxTarget) -> Teaching:
    if _sym(target, "prb"):
        walk = ("The log is the lockless printk ring buffer (Linux 5.10 on): prb points at a "
                "struct printk_ringbuffer whose desc_ring holds a descriptor and a "
                "printk_info (seq, ts_nsec, level, caller_id) per record, from tail_id to "
                "head_id, and whose text_data_ring holds each record's text between its "
                "text_blk_lpos.begin and next (a block that wraps starts again at the "
                "ring's start).")
    else:
        walk = ("The log is the structured log_buf of 3.5 to 5.9: a struct printk_log header "
                "(ts_nsec, len, text_len, level) before each record's text, from "
                "log_first_idx; a header of length 0 sends the walk back to the buffer's "
                "start.")
    return Teaching(
        [walk, "Only committed or finalized descriptors are records: a reserved one is a "
               "message still being written when the kernel died."],
        [], ["records = kernel.log()  # printk Record: seq, ts_nsec, level, caller, text"])


# -- kmem -i ----------------------------------------------------------------------------
def meminfo_teaching(target: LinuxTarget) -> Teaching:
    total = "_totalram_pages" if _sym(target, "_totalram_pages") else "totalram_pages"
    slab = ("NR_SLAB_RECLAIMABLE_B + NR_SLAB_UNRECLAIMABLE_B (in pages despite the _B, 5.9 "
            "on)" if _node_item(target, "NR_SLAB_RECLAIMABLE_B")
            else "NR_SLAB_RECLAIMABLE + NR_SLAB_UNRECLAIMABLE")
    return Teaching(
        [f"kmem -i adds up the kernel's own counters: TOTAL MEM is {total}, FREE the zone "
         f"counter NR_FREE_PAGES of vm_zone_stat[], CACHED the node counter NR_FILE_PAGES of "
         f"vm_node_stat[] less the swap cache and BUFFERS (the pages of the block devices' "
         f"inodes, on blockdev_superblock's s_inodes list), SLAB {slab}.",
         "SHARED, shown only for `kmem -i=shared` (as crash 9.0.2: it is slow on large "
         "memories), is counted page by page over every struct page (_refcount > 1, not "
         "PG_reserved); COMMITTED is vm_committed_as and COMMIT LIMIT follows "
         "vm_commit_limit() (sysctl_overcommit_kbytes or _ratio, plus the swap)."],
        ["from xcrash.targets.linux import meminfo"],
        ["records = [meminfo.meminfo(kernel)]  # one MemInfo: counts in pages"])


def _node_item(target: LinuxTarget, name: str) -> bool:
    try:
        return name in dict(target.type("enum node_stat_item").strip_typedefs().enumerators
                            or ())
    except XcrashError:
        return False    # no such enum in this kernel: nor the counter


# -- files, vm --------------------------------------------------------------------------
def _task_lines(target: LinuxTarget, tasks: list[int], make: str) -> list[str]:
    if len(tasks) == 1:
        expr, comment = task_expression(target, tasks[0])
        return [f"task = {expr}  # {comment}", f"records = [{make}(kernel, task)]"]
    lines = ["records = ["]
    for addr in tasks:
        expr, comment = task_expression(target, addr)
        lines.append(f"    {make}(kernel, {expr}),  # {comment}")
    return lines + ["]"]


def files_teaching(target: LinuxTarget, tasks: list[int]) -> Teaching:
    return Teaching(
        ["files reads task->fs (ROOT and CWD: fs_struct's root and pwd paths) and "
         "task->files->fdt, the fdtable: a descriptor is open when its bit is set in "
         "open_fds, and fd[n] is its struct file.",
         "A path is rebuilt from f_path.dentry up the d_parent chain; at a mount's root the "
         "walk crosses to mnt_mountpoint in the parent mount (struct mount, around "
         "f_path.mnt), until the namespace's root; the type is the inode's i_mode."],
        ["from xcrash.targets.linux import files"],
        _task_lines(target, tasks, "files.task_files"))


def vm_teaching(target: LinuxTarget, tasks: list[int]) -> Teaching:
    if _has(target, "struct mm_struct", "mm_mt"):
        walk = ("the VMAs are the entries of mm->mm_mt, a maple tree (6.1 on; before, the "
                "mm->mmap list through vm_next)")
    else:
        walk = ("the VMAs are on the mm->mmap list through vm_next (6.1 replaced it by the "
                "mm_mt maple tree)")
    return Teaching(
        [f"vm reads task->mm, the struct mm_struct (a kernel thread has none): its pgd, "
         f"total_vm and RSS (as ps counts it); {walk}.",
         "Each vm_area_struct gives vm_start, vm_end, vm_flags and vm_file, whose f_path "
         "names the mapped file (none: anonymous memory)."],
        ["from xcrash.targets.linux import vma"],
        _task_lines(target, tasks, "vma.memory_map"))


# -- mount, net -------------------------------------------------------------------------
def mounts_teaching(target: LinuxTarget, task: int | None) -> Teaching:
    rb = _has(target, "struct mnt_namespace", "nr_mounts")
    walk = ("its mounts rb-tree (6.8 on; before, the mnt_namespace.list)" if rb
            else "its list of struct mount through mnt_list (6.8 made it an rb-tree)")
    whose = "the task asked for" if task is not None else \
        "init, the task with the lowest PID from 1 up, as crash chooses"
    body = []
    if task is not None:
        expr, comment = task_expression(target, task)
        body.append(f"task = {expr}  # {comment}")
        body.append("records = mounts.mounts(kernel, task)")
    else:
        body.append("records = mounts.mounts(kernel)  # init's mount namespace")
    return Teaching(
        [f"mount takes the mount namespace of {whose} (task->nsproxy->mnt_ns) and walks "
         f"{walk}.",
         "Each struct mount gives its super_block (mnt.mnt_sb, whose s_type names the "
         "filesystem), mnt_devname, and its mount point: mnt_mountpoint in the parent mount "
         "(mnt_parent), a path rebuilt as files rebuilds one."],
        ["from xcrash.targets.linux import mounts"], body)


def net_teaching(target: LinuxTarget, task: int | None) -> Teaching:
    body = []
    if task is not None:
        expr, comment = task_expression(target, task)
        body += [f"task = {expr}  # {comment}", "records = net.net_devices(kernel, task)"]
    else:
        body.append("records = net.net_devices(kernel)  # init_net's devices")
    return Teaching(
        ["net walks the network namespace's dev_base_head list (init_net, or "
         "task->nsproxy->net_ns) of struct net_device, each linked by dev_list.",
         "The IPv4 addresses are on dev->ip_ptr (struct in_device) in its ifa_list chain of "
         "struct in_ifaddr; the IPv6 ones on dev->ip6_ptr's addr_list."],
        ["from xcrash.targets.linux import net"], body)


# -- runq -------------------------------------------------------------------------------
def runq_teaching(target: LinuxTarget, cpus: list[int]) -> Teaching:
    groups = _has(target, "struct sched_entity", "my_q")
    return Teaching(
        ["runq reads each CPU's struct rq, the per-CPU variable runqueues "
         "(__per_cpu_offset[cpu] added to its address): rq->curr is the task it ran, "
         "rq->rt.active the real-time priority array (a list of sched_rt_entity per "
         "priority), rq->cfs.tasks_timeline the CFS red-black tree of sched_entity, in "
         "vruntime order.",
         "A task is found from its entity with container_of (task_struct.rt, task_struct.se)"
         + ("; group entities (se->my_q set: CONFIG_FAIR_GROUP_SCHED) are left out, their "
            "tasks being on their own queues." if groups else ".")],
        ["from xcrash.targets.linux import runq"],
        [f"cpus = {cpus!r}" if cpus != list(target.online_cpus) else
         "cpus = kernel.online_cpus  # the bits of __cpu_online_mask",
         "records = runq.run_queues(kernel, cpus)  # one RunQueue per CPU"])


# -- vtop -------------------------------------------------------------------------------
def translation_teaching(target: LinuxTarget, addresses: list[int]) -> Teaching:
    from ...memory.x86_64 import PageTableSpace
    guest = hasattr(target, "p2m")
    levels = getattr(target.space, "levels", 4) if isinstance(target.space, PageTableSpace) \
        else 4
    if guest:
        sentences = [
            "A Xen PV guest's kernel virtual address is translated by the guest's own page "
            f"tables ({levels} levels from init_top_pgt), whose entries hold machine frame "
            "numbers: the guest runs on machine frames, so the walk reads machine memory "
            "and ends at a machine address (MACHINE).",
            "Its pseudo-physical address (PHYSICAL: what __pa() and the guest's struct page "
            "arrays speak of) is the machine frame through Xen's m2p table "
            "(machine_to_phys_mapping), checked against the guest's p2m (pfn → mfn, rooted "
            "at shared_info's pfn_to_mfn_frame_list_list).  The direct map and the kernel "
            "image need no walk: pseudo-physical by arithmetic, then the p2m."]
    else:
        sentences = [
            f"A kernel virtual address is translated by the kernel's {levels}-level page "
            "tables from init_top_pgt (the dump's VMCOREINFO says where): each level's entry "
            "holds the next table's physical frame, a large page ends the walk early.",
            "The direct map (page_offset_base) and the kernel image (__START_KERNEL_map + "
            "phys_base) also translate by arithmetic, which gives the physical address even "
            "where the walk ends early; the page's struct page follows (vmemmap_base + pfn).",
            "A user address walks the page tables of the task's mm (mm->pgd) instead, and is "
            "shown with the VMA (vm_area_struct) that holds it."]
    shown = ", ".join(f"{a:#x}" for a in addresses)
    call = "memory.translation" if guest else "vtop.kernel_translation"
    body = [f"records = [{call}(kernel, {shown})]  # the walk, step by step"
            if len(addresses) == 1 else
            f"records = [{call}(kernel, a) for a in ({shown})]"]
    if guest:
        try:
            target.space.translate(addresses[0])
        except XcrashError:
            pass            # not mapped: nothing more to show of it
        else:
            body += [f"machine = kernel.space.translate({addresses[0]:#x})  # guest page "
                     "tables, in machine memory",
                     "pseudo = kernel.pseudo_physical(machine)  # Xen's m2p, checked by "
                     "the p2m",
                     "assert pseudo is None or kernel.machine_address(pseudo) == machine"]
    imports = ["from xcrash.targets import memory"] if guest else \
        ["from xcrash.targets.linux import vtop"]
    return Teaching(sentences, imports, body)

