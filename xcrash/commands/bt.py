"""bt: a task's kernel back trace, as crash prints it."""
from __future__ import annotations

from typing import Any, Callable

from ..errors import CommandError, MemoryError_, XcrashError
from ..symbols.symtab import display_name
from ..targets.linux.tasks import thread_size
from .args import parse_cpu_list
from .wordnames import word_namer
from .base import Command, Context, Option, Result, Text


def header(task: Any, cpu: int) -> str:
    comm = task.comm.string_().decode("utf-8", "replace")
    return f"PID: {int(task.pid):<7}  TASK: {task.address_:x}  CPU: {cpu:<3}  COMMAND: \"{comm}\""


def general_registers(r: dict[str, int]) -> list[str]:
    """The six lines of general registers crash prints in every exception frame."""
    return [
        f"    RIP: {r['rip']:016x}  RSP: {r['rsp']:016x}  RFLAGS: {r['rflags']:08x}",
        f"    RAX: {r['rax']:016x}  RBX: {r['rbx']:016x}  RCX: {r['rcx']:016x}",
        f"    RDX: {r['rdx']:016x}  RSI: {r['rsi']:016x}  RDI: {r['rdi']:016x}",
        f"    RBP: {r['rbp']:016x}   R8: {r['r8']:016x}   R9: {r['r9']:016x}",
        f"    R10: {r['r10']:016x}  R11: {r['r11']:016x}  R12: {r['r12']:016x}",
        f"    R13: {r['r13']:016x}  R14: {r['r14']:016x}  R15: {r['r15']:016x}",
    ]


def eframe_lines(target: Any, regs: dict[str, int]) -> list[str]:
    r = regs
    out = []
    if not r["cs"] & 3:
        hit = target.symbols.resolve(r["rip"])
        name = display_name(hit[0].name) if hit else None
        where = f"{name}+{hit[1]}" if hit and hit[1] else (name if hit else f"{r['rip']:x}")
        out.append(f"    [exception RIP: {where}]")
    out += general_registers(r)
    out.append(f"    ORIG_RAX: {r['orig_rax']:016x}  CS: {r['cs']:04x}  SS: {r['ss']:04x}")
    return out


def _data_lines(mem: Any, lo: int, hi: int,
                symbolic: Callable[[int], str | None] | None = None) -> list[str]:
    """Frame data as crash's -f prints it; with ``symbolic`` (-F) words that
    point into symbols are shown as ``symbol+offset``."""
    out = []
    addr = lo
    while addr < hi and len(out) < 4096:
        words = []
        line_start = addr
        for _ in range(2):
            if addr >= hi:
                break
            try:
                value = mem.u64(addr)
            except Exception:   # noqa: BLE001 - an unreadable word ends the dump
                return out
            name = symbolic(value) if symbolic is not None else None
            words.append(f"{name:<16}" if name else f"{value:016x}")
            addr += 8
        out.append(f"    {line_start:x}: " + " ".join(words) + " ")
    return out


def format_trace(target: Any, task: Any, trace: Any, *, frames_data: bool = False,
                 lines: bool = False, records: list[dict[str, Any]] | None = None,
                 symbolic: bool = False, slab_addresses: bool = False,
                 offsets: str | None = None) -> str:
    """crash's trace text; ``offsets`` ("d" or "x", bt -s / -sx) adds each frame's
    offset in its function."""
    from ..targets.linux.unwind import ExceptionFrame, Frame, StackSwitch, memory
    out = [header(task, trace.cpu)]
    mem = memory(target) if frames_data else None
    items = trace.items
    if trace.no_stack:
        out.append("(no stack)")
    n = 0
    for i, item in enumerate(items):
        if isinstance(item, Frame):
            hit = target.symbols.resolve(item.pc)
            if hit is not None and hit[1] == 0 and n > 0:
                # a return address at a symbol's first byte: the call was the last
                # instruction of the code before it (a noreturn call ending a .cold block)
                hit = target.symbols.resolve(item.pc - 1) or hit
            name = display_name(hit[0].name) if hit else "(unknown)"
            module = getattr(hit[0], "module", None) if hit else None
            shown = name
            if offsets and hit:
                off = item.pc - hit[0].address
                shown += f"+{off:#x}" if offsets == "x" else f"+{off}"
            out.append(f"{'#' + str(n):>3} [{item.slot:x}] {shown} at {item.pc:x}"
                       + (f" [{module}]" if module else ""))
            if records is not None:
                records.append({"task": trace.task, "level": n, "sp": item.slot, "pc": item.pc,
                                "function": name, "offset": hit[1] if hit else None,
                                "module": module,
                                "stack": item.stack})
            n += 1
            if lines:
                src = _full_line(target, item.pc)
                if src:
                    out.append(f"    {src[0]}: {src[1]}")
            if mem is not None:
                end = None
                nxt = items[i + 1] if i + 1 < len(items) else None
                if isinstance(nxt, Frame) and nxt.slot > item.slot:
                    end = nxt.slot + 8
                elif isinstance(nxt, ExceptionFrame) and nxt.address > item.slot:
                    end = nxt.address
                if end is not None and end - item.slot <= thread_size(target):
                    out += _data_lines(mem, item.slot + 8, end,
                                       word_namer(target, slab_addresses) if symbolic else None)
        elif isinstance(item, ExceptionFrame):
            out += eframe_lines(target, item.regs)
            if records is not None:
                records.append({"task": trace.task, "exception_frame": item.address,
                                "regs": item.regs})
        elif isinstance(item, StackSwitch):
            out.append(f"--- <{item.left} stack> ---" if item.left == "IRQ"
                       else f"--- <{item.left} exception stack> ---")
    if trace.error:
        out.append(f"bt: {trace.error}")
    return "\n".join(out)


class Bt(Command):
    name = "bt"
    synopsis = "bt [-a|-c cpu|-p|-g] [-f|-F] [-l] [-s [-x]] [-t|-T] [-e|-E|-v] [-R ref] [pid | task] ..."
    summary = "back trace of a task"
    group = "linux"
    targets = ("linux", "xen")
    description = """\
On the Xen target: the back trace of the crashing physical CPU (-a: every
pCPU, -c CPU: those), from the registers Xen saved in its crash notes, through
exception frames (an NMI's interrupted code, a guest's entry); each trace says
whether DWARF CFI (.debug_frame), frame pointers or a stack scan produced it,
and whether the other methods agree (-m cfi|fp|scan chooses).
On a Linux target: the kernel back trace of a task, unwound with the kernel's
ORC tables (frame pointers where no ORC entry covers an address), in crash's
format:
  #n [stack slot of the return address] function at return address
followed by the registers of each exception frame (pt_regs) on the way.
Without arguments: the current context task (`set`), at first the task that
was running on the panicking CPU.  Running
tasks start where crash starts them: machine_kexec on the panicking CPU,
crash_nmi_callback on CPUs stopped by the crash NMI.
  -a        the task active on every CPU
  -c cpu    the task active on these CPUs (1,3 or 0-2)
  -f        the stack words of every frame
  -F        the same, words that point into kernel symbols shown as symbol+offset
            and words that point into slab objects as the cache's name, [dentry]
  -FF       the same, slab objects as [address:cache]
  -s        each frame's offset in its function (-sx: in hexadecimal)
  -p        the panic task only        -g  every thread of the task's thread group
  -R ref    only the traces that reference a symbol (a frame's function) or an
            address (a return address, a stack slot, an exception frame's
            register); tasks without a stack are left out (crash prints a bare
            "(no stack)" for them)
  -v        check every task's stack end for STACK_END_MAGIC (an overflow wipes it)
  -l        the source file and line of every frame
  -t / -T   when unwinding fails: every text address on the stack, from the
            trace's start (-t) or from the stack's bottom (-T)
  -e        search the task's stack for anything that looks like an exception
            frame (kernel or user mode)
  -E        the same over every CPU's IRQ and exception stacks (crash stops at
            the first stack it cannot place; xcrash searches them all)
"""
    example = "bt\nbt -a\nbt 1\nbt -f\nbt -e"
    options = (Option("-a", "all", "active task of every CPU"),
               Option("-c", "cpus", "active task of CPUs", takes_value=True),
               Option("-f", "data", "frame data"),
               Option("-F", "symdata", "frame data, symbolically"),
               Option("-FF", "symslab", "frame data, symbolically, slab objects with their address"),
               Option("-l", "lines", "source lines"),
               Option("-t", "text", "text symbols on the stack from the trace's start"),
               Option("-e", "eframes", "search the task stack for exception frames"),
               Option("-E", "irqframes", "search the IRQ and exception stacks for exception frames"),
               Option("-T", "alltext", "text symbols on the whole task stack"),
               Option("-m", "method", "Xen: unwinding method (cfi, fp, scan)", takes_value=True),
               Option("-s", "symoff", "each frame's offset in its function"),
               Option("-x", "hexoff", "with -s: the offsets in hexadecimal"),
               Option("-p", "panic", "the panic task only"),
               Option("-g", "group", "every thread of the task's thread group"),
               Option("-v", "overflow", "check every task's stack for an overflow"),
               Option("-R", "ref", "only traces that reference this symbol or address",
                      takes_value=True))

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.tasks import active_tasks
        from ..targets.linux.unwind import backtrace, panic_task
        opts, rest = self.parse(args)
        target = ctx.target
        if target.kind == "xen":
            from .xen_bt import run as xen_bt
            return xen_bt(ctx, opts, rest)
        if opts["irqframes"]:
            from .bt_text import search_cpu_stacks
            return Text(search_cpu_stacks(target))
        if opts["overflow"]:
            from .bt_text import stack_overflow_text
            return Text(stack_overflow_text(target))
        tasks: list[int] = []
        if opts["all"] or opts["cpus"] is not None:
            active = active_tasks(target)
            cpus = sorted(active) if opts["all"] else parse_cpu_list(opts["cpus"], "bt")
            for cpu in cpus:
                if cpu not in active:
                    raise CommandError(f"bt: invalid cpu: {cpu}")
                tasks.append(active[cpu])
        for arg in rest:
            tasks.append(_task_arg(target, arg))
        if not tasks and hasattr(target, "context_task"):
            current = target.context_task()
            if current is not None:
                tasks.append(current)
        if opts["panic"]:
            tasks = []
        if not tasks:
            hit = panic_task(target)
            if hit is None:
                raise CommandError("bt: no panic task")
            tasks.append(hit[1])
        if opts["group"]:
            tasks = _thread_groups(target, tasks)
        ttype = target.type("struct task_struct")
        parts, records = [], []
        for addr in tasks:
            ctx.check()
            task = target.object_at(ttype, addr)
            trace = backtrace(target, task)
            if opts["eframes"]:
                from .bt_text import search_task_stack
                parts.append(search_task_stack(target, task, trace))
                continue
            if opts["text"] or opts["alltext"]:
                from .bt_text import text_on_stack
                parts.append(text_on_stack(target, task, trace, whole=opts["alltext"]))
                continue
            if opts["ref"] is not None and not _references(target, trace, opts["ref"]):
                continue
            parts.append(format_trace(target, task, trace,
                                      frames_data=opts["data"] or opts["symdata"] or opts["symslab"],
                                      lines=opts["lines"], records=records,
                                      symbolic=opts["symdata"] or opts["symslab"],
                                      slab_addresses=opts["symslab"],
                                      offsets=("x" if opts["hexoff"] else "d") if opts["symoff"]
                                      else None))
        return Text("\n\n".join(parts), records)


def _thread_groups(target: Any, tasks: list[int]) -> list[int]:
    """bt -g: every thread of each task's thread group, in task-list order."""
    from ..targets.linux.tasks import for_each_task
    ttype = target.type("struct task_struct")
    tgids = [int(target.object_at(ttype, t).tgid) for t in tasks]
    out: list[int] = []
    for tgid in dict.fromkeys(tgids):
        out += [t.address_ for t in for_each_task(target)
                if int(t.tgid) == tgid and t.address_ not in out]
    return out


def _references(target: Any, trace: Any, ref: str) -> bool:
    """bt -R: the trace names the symbol in a frame, or holds the value (a frame's
    return address or stack slot, an exception frame's register)."""
    from ..targets.linux.unwind import ExceptionFrame, Frame
    try:
        value = int(ref, 16)
    except ValueError:
        value = None
    for item in trace.items:
        if isinstance(item, Frame):
            hit = target.symbols.resolve(item.pc)
            if hit is not None and ref in (hit[0].name, display_name(hit[0].name)) \
                    or value in (item.pc, item.slot):
                return True
        elif isinstance(item, ExceptionFrame) and value is not None \
                and value in item.regs.values():
            return True
    return False


def _full_line(target: Any, pc: int) -> tuple[str, int] | None:
    """(full source path, line) of a pc: crash's `bt -l` prints the whole path."""
    from ..targets.symbolinfo import source_line
    symfile = target.symfile
    if symfile is not None and hasattr(symfile, "line_for_address"):
        try:
            hit = symfile.line_for_address((pc - target.symbols.delta) & 0xFFFFFFFFFFFFFFFF)
        except XcrashError:
            hit = None
        if hit:
            return hit[0], hit[1]
    return source_line(target, pc)


def _task_index(target: Any) -> tuple[dict[int, int], set[int]]:
    """(pid -> first task address, every task address), walked once per target:
    `foreach bt` names each task by address, and a dump does not change."""
    index = getattr(target, "_bt_task_index", None)
    if index is None:
        from ..targets.linux.tasks import for_each_task
        pids: dict[int, int] = {}
        addresses: set[int] = set()
        for t in for_each_task(target):
            addresses.add(t.address_)
            try:
                pids.setdefault(int(t.pid), t.address_)
            except (XcrashError, MemoryError_):
                continue
        index = target._bt_task_index = (pids, addresses)
    return index


def _task_arg(target: Any, arg: str) -> int:
    pids, addresses = _task_index(target)
    if arg.isdigit() and int(arg) in pids:
        return pids[int(arg)]
    try:
        addr = int(arg, 16)
    except ValueError:
        raise CommandError(f"bt: invalid task or pid value: {arg}") from None
    if addr in addresses:
        return addr
    raise CommandError(f"bt: invalid task or pid value: {arg}")


COMMANDS = [Bt]
