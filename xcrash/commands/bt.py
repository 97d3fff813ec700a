"""bt: a task's kernel back trace (a physical CPU's on the Xen target), as crash prints it.

The records come from ``targets/linux/traces.py`` (``stacksearch.py``, ``btviews.py``) and
``targets/xen/traces.py``; this module picks the tasks or CPUs by the options and lays the
records out.
"""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, cast
from collections.abc import Iterable, Iterator

from ..errors import CommandError
from ..layouts import separated
from ..layouts.frames import exception_frame_lines, raw_stack_lines, word_lines
from ..layouts.tasks import task_header
from ..results import Records, Teaching, text_lines as free_text
from ..errors import XcrashError
from ..targets.linux import btviews, stacksearch, teach, traces
from ..targets.linux.context import (NoPanicTask, current_task, panic_task, resolve_task,
                                     task_index)
from ..targets.linux.tasks import active_tasks
from ..targets.linux.stacksearch import CpuStack, StackOverflow, StackText
from ..targets.linux.traces import (BtFrame, CpuExceptionFrame, FrameSource, FrameWords,
                                    StackChange, StackWord, TaskExceptionFrame, TraceStart)
from ..targets.linux.wordnames import WordName, word_names
from ..targets.xen import teach as xen_teach
from .btxen import xen_run
from .args import linux_target, parse_address, parse_cpu_list, parse_number
from .base import Command, Context, Option

if TYPE_CHECKING:
    from ..targets.linux.kernel import LinuxTarget
    from ..targets.xen.hypervisor import XenTarget


# -- the layouts of a Linux task's trace --------------------------------------------------
def _word_name(word: StackWord, with_address: bool) -> str | None:
    if word.symbol is None and word.slab_cache is None or not isinstance(word.value, int):
        return None
    return WordName(word.symbol, word.slab_cache).text(word.value, with_address)


def trace_lines(records: Iterable[Any], *, offsets: str | None = None,
                with_address: bool = False) -> Iterator[str]:
    """crash's back traces, a blank line between tasks; ``offsets`` ("d" or "x": bt -s,
    -sx) adds each frame's offset in its function, ``with_address`` (-FF) names slab
    words [address:cache]."""
    error: str | None = None
    first = True
    for r in records:
        if isinstance(r, TraceStart):
            if error:
                yield f"bt: {error}"
            if not first:
                yield ""
            first = False
            yield task_header(r)
            if r.no_stack:
                yield "(no stack)"
            if r.note:
                yield f"    ({r.note})"
            error = r.error
        elif isinstance(r, BtFrame):
            shown = r.function or "(unknown)"
            if offsets and r.function is not None:
                shown += f"+{r.offset:#x}" if offsets == "x" else f"+{r.offset}"
            yield (f"{'#' + str(r.level):>3} [{r.sp:x}] {shown} at {r.pc:x}"
                   + (f" [{r.module}]" if r.module else ""))
        elif isinstance(r, FrameSource):
            yield f"    {r.file}: {r.line}"
        elif isinstance(r, FrameWords):
            yield from word_lines(r.words, partial(_word_name, with_address=with_address))
        elif isinstance(r, TaskExceptionFrame):
            yield from exception_frame_lines(r)
        elif isinstance(r, StackChange):
            yield (f"--- <{r.left_stack} stack> ---" if r.left_stack == "IRQ"
                   else f"--- <{r.left_stack} exception stack> ---")
    if error:
        yield f"bt: {error}"


def text_lines(records: Iterable[Any]) -> Iterator[str]:
    """bt -t / -T: the text addresses found on each task's stack."""
    error: str | None = None
    first = True
    for r in records:
        if isinstance(r, TraceStart):
            if error:
                yield f"bt: {error}"
            if not first:
                yield ""
            first = False
            yield task_header(r)
            error = r.error
        elif isinstance(r, StackText):
            if r.start:
                yield f"{'':14}START: {r.function or f'{r.pc:x}'} at {r.pc:x}"
            else:
                yield f"  [{r.sp:x}] {r.function} at {r.pc:x}"
        elif isinstance(r, TaskExceptionFrame):
            yield from exception_frame_lines(r)
    if error:
        yield f"bt: {error}"


def _found_frame(r: TaskExceptionFrame | CpuExceptionFrame) -> list[str]:
    mode = "USER" if r.user_mode else "KERNEL"
    return ["", f"  {mode}-MODE EXCEPTION FRAME AT: {r.exception_frame:x}",
            *exception_frame_lines(r)]


def search_lines(records: Iterable[Any]) -> Iterator[str]:
    """bt -e: the exception frames found on each task's stack."""
    first = True
    for r in records:
        if isinstance(r, TraceStart):
            if not first:
                yield ""
            first = False
            yield task_header(r)
        elif isinstance(r, TaskExceptionFrame):
            yield from _found_frame(r)


def cpu_search_lines(records: Iterable[Any]) -> Iterator[str]:
    """bt -E: the exception frames found on each CPU's IRQ and exception stacks."""
    pending = False           # a stack shown, no frame found on it yet
    first = True
    for r in records:
        if isinstance(r, CpuStack):
            if pending:
                yield "(none found)"
            if not first:
                yield ""
            first = False
            yield f"CPU {r.cpu} " + ("IRQ STACK:" if r.stack == "IRQ"
                                     else f"{r.stack} EXCEPTION STACK:")
            pending = True
        elif isinstance(r, CpuExceptionFrame):
            pending = False
            yield from _found_frame(r)
    if pending:
        yield "(none found)"


def raw_lines(records: Iterable[Any]) -> Iterator[str]:
    """bt -r: each task's header, then its stack (``layouts.frames.raw_stack_lines``)."""
    return raw_stack_lines(records, lambda r: (task_header(r), r.error)
                           if isinstance(r, TraceStart) else None)


def overflow_lines(records: Iterable[StackOverflow]) -> Iterator[str]:
    """bt -v: the tasks whose stack end lost its STACK_END_MAGIC."""
    empty = True
    for line in separated([task_header(r), f"  possible stack overflow: {r.stack_end:x}: "
                           f"{r.end_value:x} != STACK_END_MAGIC"] for r in records):
        empty = False
        yield line
    if empty:
        yield "No stack overflows detected"


# -- the command --------------------------------------------------------------------------
class Bt(Command):
    name = "bt"
    arguments = "[pid | task] ..."
    summary = "back trace of a task"
    group = "linux"
    targets = ("linux", "xen")
    description = """\
On a Linux target: the kernel back trace of a task, unwound with the kernel's
ORC tables (frame pointers where no ORC entry covers an address), in crash's
format:
  #n [stack slot of the return address] function at return address
followed by the registers of each exception frame (pt_regs) on the way.
Without arguments: the current context task (`set`), at first the task that
was running on the panicking CPU; a PID several tasks share (0: each CPU's idle
task) shows them all.  Running tasks start where crash starts them:
machine_kexec on the panicking CPU, crash_nmi_callback on CPUs stopped by the
crash NMI.  -E searches every stack (crash stops at the first stack it cannot
place).  -o is crash's old x86_64 method (every return address from the
trace's start, stale ones too); -O makes it the default of the bt commands
that follow, and back.  -I IP / -S SP start the walk elsewhere: a blocked
task, whose saved pc is in __schedule, starts as crash does at the
inactive_task_frame SP is taken to be; with -I, IP is the first frame, at SP;
with -S alone on a running task the walk starts at the first return address at
or above SP (crash first skips the task's own first frame size there).

Where xcrash and crash differ, on purpose (the kernel's own Call Trace, drgn
and QEMU's registers agree with xcrash):
  - a frame crash drops is kept: a .cold part of the caller (nmi_panic.cold
    under an NMI panic), cpu_startup_entry under do_idle (7.x idle tasks);
  - the first frame after "--- <IRQ stack> ---" is at the slot holding its
    return address (crash shows the slot 8 bytes above);
  - a task running on a CPU that saved no registers (an offline CPU's idle
    task) is unwound from the deepest return address on its stack whose unwind
    reaches the stack's end, each return address following a call to the frame
    below; a line says so (crash searches without that check and shows frames
    of calls that had returned);
  - on a QEMU dump the registers of each vCPU are QEMU's: frame #0 is where the
    CPU was (crash starts from a frame it finds on the stack);
  - 7.x: the frames are the unwinder's (crash 9.0.2 adds stale ones there).

On the Xen target: the back trace of the crashing physical CPU (a pCPU number,
or -a, or -c CPUS, for others), from the registers Xen saved in its crash
notes, through exception frames (an NMI's interrupted code, a guest's entry);
each trace says whether DWARF CFI (.debug_frame), frame pointers or a stack scan
produced it, and whether the other methods agree (-m chooses).  Of crash's
options -f -F -l -s -x -d -t -T -r -R -g and -n idle apply there (a pCPU's
stack, Xen's symbols); -e -E -v -o -O are refused as crash refuses them in
hypervisor mode, -p has no panic task, and -I/-S are refused (a pCPU's trace
starts from its crash note).
"""
    example = "bt\nbt -a\nbt -c 1\nbt -f"
    options = (Option("-a", "all", "the task active on every CPU (Xen: every pCPU)"),
               Option("-c", "cpus", "the task active on these CPUs (Xen: these pCPUs)",
                      takes_value=True, metavar="cpus"),
               Option("-p", "panic", "the panic task only"),
               Option("-g", "group", "every thread of the task's thread group"),
               Option("-f", "data", "the stack words of every frame"),
               Option("-F", "symdata", "the same, words that point into kernel symbols "
                      "shown as symbol+offset and words that point into slab objects as "
                      "the cache's name, [dentry]"),
               Option("-FF", "symslab", "the same, slab objects as [address:cache]"),
               Option("-l", "lines", "the source file and line of every frame"),
               Option("-s", "symoff", "each frame's offset in its function"),
               Option("-x", "hexoff", "with -s: the offsets in hexadecimal"),
               Option("-t", "text", "when unwinding fails: every text address on the stack, "
                      "from the trace's start"),
               Option("-T", "alltext", "the same from the stack's bottom"),
               Option("-e", "eframes", "search the task's stack for anything that looks "
                      "like an exception frame (kernel or user mode)"),
               Option("-E", "irqframes", "the same over every CPU's IRQ and exception "
                      "stacks"),
               Option("-v", "overflow", "check every task's stack end for "
                      "STACK_END_MAGIC (an overflow wipes it)"),
               Option("-R", "ref", "only the traces that reference a symbol (a frame's "
                      "function) or an address (a return address, a stack slot, an "
                      "exception frame's register); tasks without a stack are left out "
                      "(crash prints a bare \"(no stack)\" for them)",
                      takes_value=True, metavar="ref"),
               Option("-r", "raw", "the raw stack: its words from the bottom (from -S SP), "
                      "two a line, those that point into symbols named"),
               Option("-I", "ip", "start the trace at this text address", takes_value=True,
                      metavar="ip"),
               Option("-S", "sp", "start the trace at this stack address", takes_value=True,
                      metavar="sp"),
               Option("-n", "idle", "-n idle: leave out the traces of idle tasks stopped "
                      "on their CPU (the header stays)", takes_value=True, metavar="idle"),
               Option("-o", "old", "crash's old x86_64 method: every return address on the "
                      "stack from the trace's start, stale ones too"),
               Option("-O", "old_default", "make -o the default of later bt commands (again: "
                      "back to the ORC walk)"),
               Option("-d", "decoff", "with -s: the offsets in decimal (the default)"),
               Option("-m", "method", "Xen: the unwinding method (cfi, fp or scan)",
                      takes_value=True, metavar="method"))
    # crash refuses -a or -c with -g; of -a and -c it honours -c alone, without a word
    exclusive = (("all", "cpus", "group"),)

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if opts["hexoff"] and opts["decoff"]:
            raise CommandError("bt: -d and -x are mutually exclusive")
        if opts["idle"] is not None and opts["idle"] != "idle":
            raise CommandError("bt: -n option not supported or applicable on this "
                               "architecture or kernel")
        if ctx.target.kind == "xen":
            return xen_run(ctx, cast("XenTarget", ctx.target), opts, rest)
        target = linux_target(ctx)
        if opts["method"] is not None:
            raise CommandError("bt: -m chooses the unwinding method of the Xen target")
        if opts["old_default"]:
            old = not ctx.settings.get("bt_old_method", False)
            ctx.settings["bt_old_method"] = old
            return free_text(f"bt: use {'old' if old else 'new'} bt method by default")
        if opts["irqframes"]:
            return Records(stacksearch.cpu_stack_search_records(target), cpu_search_lines)
        if opts["overflow"]:
            return Records(stacksearch.stack_overflow_records(target), overflow_lines)
        tasks = self._tasks(target, opts, rest)
        ip = parse_address(target, opts["ip"]) if opts["ip"] is not None else None
        sp = parse_number(opts["sp"], 16) if opts["sp"] is not None else None
        if sp == 0:
            raise CommandError("bt: invalid stack address for this task: 0")
        skip_idle = opts["idle"] == "idle"

        def each(records_of: Any) -> Iterator[Any]:
            active = set(active_tasks(target).values()) if skip_idle else set()
            panicking = panic_task(target) if skip_idle else None
            for addr in tasks:
                ctx.check()
                records = records_of(target, addr)
                if addr in active and records and records[0].pid == 0 and \
                        (panicking is None or panicking[1] != addr):
                    records = records[:1]       # -n idle: the header only
                yield from records

        if opts["raw"]:
            return Records(each(partial(btviews.raw_stack_records, sp=sp)), raw_lines)
        if opts["eframes"]:
            return Records(each(stacksearch.stack_search_records), search_lines)
        if opts["text"] or opts["alltext"]:
            return Records(each(partial(stacksearch.stack_text_records, whole=opts["alltext"])),
                           text_lines)
        offsets = ("x" if opts["hexoff"] else "d") if opts["symoff"] else None
        if opts["old"] or ctx.settings.get("bt_old_method", False) and \
                ip is None and sp is None:
            return Records(each(btviews.old_method_records),
                           partial(trace_lines, offsets=offsets))
        symbolic = opts["symdata"] or opts["symslab"]
        walk = None
        if ip is not None or sp is not None:
            def walk(task: Any) -> Any:
                try:
                    return btviews.backtrace_from(target, task, ip, sp)
                except XcrashError as err:
                    raise CommandError(f"bt: {err}") from None
        records = each(partial(traces.trace_records, words=opts["data"] or symbolic,
                               names=word_names(target) if symbolic else None,
                               sources=opts["lines"], ref=opts["ref"], walk=walk))
        return Records(records, partial(trace_lines, offsets=offsets,
                                        with_address=opts["symslab"]))

    def teach(self, ctx: Context, args: list[str]) -> Teaching | None:
        opts, rest = self.parse(args)
        if ctx.target.kind == "xen":
            xen = cast("XenTarget", ctx.target)
            cpus = (list(xen.cpu_notes) if opts["all"] else
                    parse_cpu_list(opts["cpus"], "bt") if opts["cpus"] is not None else
                    [xen.crashing_cpu if xen.crashing_cpu is not None
                     else next(iter(xen.cpu_notes))])
            teaching = xen_teach.pcpu_trace_teaching(xen, cpus)
            if opts["method"] or opts["data"]:
                teaching.sentences.append("(The program below prints the traces as bt with "
                                          "no option finds them.)")
                return Teaching(teaching.sentences, variable="xen")
            teaching.imports.append("from xcrash.commands.btxen import xen_trace_lines")
            teaching.body += ["for line in xen_trace_lines(records):", "    print(line)"]
            return teaching
        target = linux_target(ctx)
        views = ("irqframes", "overflow", "eframes", "text", "alltext", "symdata", "symslab",
                 "data", "lines", "symoff", "ref", "group")
        tasks = self._tasks(target, opts, rest)
        if opts["all"] and not rest:
            teaching = teach.active_traces_teaching(target)
        else:
            teaching = teach.trace_teaching(target, tasks)
        if any(opts[v] for v in views):
            teaching.sentences.append("(The program below prints the traces as plain bt does; "
                                      "its other views have none yet.)")
            return Teaching(teaching.sentences, details=teaching.details)
        teaching.imports.append("from xcrash.commands.bt import trace_lines")
        teaching.body += ["for line in trace_lines(records):  # crash's layout of the records",
                          "    print(line)"]
        return teaching

    @staticmethod
    def _tasks(target: LinuxTarget, opts: dict[str, Any], rest: list[str]) -> list[int]:
        """The tasks asked for: those active on CPUs, named, the context task, or
        (-p, and when there is no context) the panic task; -g: their thread groups."""
        tasks: list[int] = []
        if opts["all"] or opts["cpus"] is not None:
            active = active_tasks(target)
            cpus = sorted(active) if opts["all"] else parse_cpu_list(opts["cpus"], "bt")
            for cpu in cpus:
                if cpu not in active:
                    raise CommandError(f"bt: invalid cpu: {cpu}")
                tasks.append(active[cpu])
        index = task_index(target) if rest else None     # (bt -a needs no task walk)
        for arg in rest:
            # a PID several tasks share (each CPU's idle task, 0): all of them, as crash
            assert index is not None
            if arg.isdigit() and int(arg) in index.by_pid:
                tasks += index.by_pid[int(arg)]
            else:
                tasks.append(resolve_task(target, arg))
        if not tasks and not opts["panic"]:
            current = current_task(target)
            if current is not None:
                tasks.append(current)
        if opts["panic"]:
            tasks = []
        if not tasks:
            hit = panic_task(target)
            if hit is None:
                raise NoPanicTask()
            tasks.append(hit[1])
        if opts["group"]:
            tasks = traces.thread_groups(target, tasks)
        return tasks


COMMANDS = [Bt]
