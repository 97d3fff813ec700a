"""bt: a task's kernel back trace (a physical CPU's on the Xen target), as crash prints it.

The records come from ``targets/linux/traces.py`` and ``targets/xen/traces.py``; this
module picks the tasks or CPUs by the options and lays the records out.
"""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, cast
from collections.abc import Iterable, Iterator

from ..caveats import caveat
from ..errors import CommandError
from ..layouts import separated
from ..layouts.frames import exception_frame_lines, word_lines, xen_exception_frame_lines
from ..layouts.tasks import task_header
from ..results import Records, Teaching
from ..targets.linux import teach, traces
from ..targets.linux.context import NoPanicTask, current_task, panic_task, resolve_task
from ..targets.linux.tasks import active_tasks
from ..targets.linux.traces import (BtFrame, CpuExceptionFrame, CpuStack, FrameSource,
                                    FrameWords, StackChange, StackOverflow, StackText,
                                    StackWord, TaskExceptionFrame, TraceStart)
from ..targets.linux.wordnames import WordName, word_names
from ..targets.xen import teach as xen_teach, traces as xen_traces
from ..targets.xen.traces import (PcpuTraceStart, XenExceptionFrame, XenFrame, XenFrameWords,
                                  XenStackChange)
from .args import linux_target, parse_cpu_list
from .base import Command, Context, Option

if TYPE_CHECKING:
    from ..targets.linux.kernel import LinuxTarget
    from ..targets.xen.hypervisor import XenTarget

METHOD_NAMES = {"fp": "frame pointers", "cfi": "DWARF CFI", "scan": "stack scan"}
#: the options of Linux targets only
LINUX_ONLY = ("symdata", "symslab", "lines", "text", "alltext", "eframes", "irqframes",
              "symoff", "hexoff", "panic", "group", "overflow", "ref")


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


def overflow_lines(records: Iterable[StackOverflow]) -> Iterator[str]:
    """bt -v: the tasks whose stack end lost its STACK_END_MAGIC."""
    empty = True
    for line in separated([task_header(r), f"  possible stack overflow: {r.stack_end:x}: "
                           f"{r.end_value:x} != STACK_END_MAGIC"] for r in records):
        empty = False
        yield line
    if empty:
        yield "No stack overflows detected"


# -- the layout of a Xen pCPU's trace ---------------------------------------------------
def _xen_end(start: PcpuTraceStart) -> Iterator[str]:
    if start.error:
        yield f"bt: {start.error}"
    verdict = f"    (unwound by {start.method}"
    for other, same in start.checked.items():
        verdict += f"; {other}: " + ("same frames" if same else "differs")
    yield verdict + ")"
    if start.lazy_vcpu is not None:
        who = start.lazy_vcpu_name or f"vcpu {start.lazy_vcpu:x}"
        yield (f"    ({who}: its registers are still loaded here (lazy context switch), "
               f"in cpu_info {start.cpu_info:x})")


def xen_trace_lines(records: Iterable[Any]) -> Iterator[str]:
    """The back traces of physical CPUs, a blank line between them; after the frames,
    how they were found and whether the other methods agree."""
    start: PcpuTraceStart | None = None
    for r in records:
        if isinstance(r, PcpuTraceStart):
            if start is not None:
                yield from _xen_end(start)
                yield ""
            start = r
            yield f"PCPU: {r.cpu:2d}  VCPU: {r.vcpu:x}"
        elif isinstance(r, XenFrame):
            yield f"{'#' + str(r.level):>3} [{r.sp:x}] {r.function or '(unknown)'} at {r.pc:x}"
        elif isinstance(r, XenFrameWords):
            yield from word_lines(r.words)
        elif isinstance(r, XenExceptionFrame):
            guest = (start.vcpu_name if start is not None else None) or "guest"
            yield from xen_exception_frame_lines(r, guest if r.guest else None)
        elif isinstance(r, XenStackChange):
            yield f"--- <{r.left_stack} exception stack> ---"
    if start is not None:
        yield from _xen_end(start)


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
was running on the panicking CPU.  Running tasks start where crash starts
them: machine_kexec on the panicking CPU, crash_nmi_callback on CPUs stopped
by the crash NMI.  -E searches every stack (crash stops at the first stack it
cannot place).

On the Xen target: the back trace of the crashing physical CPU (-a: every
pCPU, -c CPU: those), from the registers Xen saved in its crash notes, through
exception frames (an NMI's interrupted code, a guest's entry); each trace says
whether DWARF CFI (.debug_frame), frame pointers or a stack scan produced it,
and whether the other methods agree.  -a, -c, -f and -m apply there.
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
               Option("-m", "method", "Xen: the unwinding method (cfi, fp or scan)",
                      takes_value=True, metavar="method"))
    # crash refuses -a or -c with -g; of -a and -c it honours -c alone, without a word
    exclusive = (("all", "cpus", "group"),)

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        if ctx.target.kind == "xen":
            return self._xen(ctx, cast("XenTarget", ctx.target), opts, rest)
        target = linux_target(ctx)
        if opts["method"] is not None:
            raise CommandError("bt: -m chooses the unwinding method of the Xen target")
        if opts["irqframes"]:
            return Records(traces.cpu_stack_search_records(target), cpu_search_lines)
        if opts["overflow"]:
            return Records(traces.stack_overflow_records(target), overflow_lines)
        tasks = self._tasks(target, opts, rest)

        def each(records_of: Any) -> Iterator[Any]:
            for addr in tasks:
                ctx.check()
                yield from records_of(target, addr)

        if opts["eframes"]:
            return Records(each(traces.stack_search_records), search_lines)
        if opts["text"] or opts["alltext"]:
            return Records(each(partial(traces.stack_text_records, whole=opts["alltext"])),
                           text_lines)
        symbolic = opts["symdata"] or opts["symslab"]
        records = each(partial(traces.trace_records, words=opts["data"] or symbolic,
                               names=word_names(target) if symbolic else None,
                               sources=opts["lines"], ref=opts["ref"]))
        offsets = ("x" if opts["hexoff"] else "d") if opts["symoff"] else None
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
            teaching.imports.append("from xcrash.commands.bt import xen_trace_lines")
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
        tasks += [resolve_task(target, arg) for arg in rest]
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

    @staticmethod
    def _xen(ctx: Context, target: XenTarget, opts: dict[str, Any], rest: list[str]
             ) -> Records:
        if rest:
            raise CommandError("bt: on the Xen target, name physical CPUs with -c CPU (or -a)")
        given = [o.shown for o in Bt.options if o.dest in LINUX_ONLY and opts[o.dest]]
        if given:
            raise CommandError(f"bt: {', '.join(given)}: not available on the Xen target")
        method = METHOD_NAMES.get(opts["method"], opts["method"]) if opts["method"] else None
        if opts["all"]:
            cpus = list(target.cpu_notes)
        elif opts["cpus"] is not None:
            cpus = parse_cpu_list(opts["cpus"], "bt")
            for cpu in cpus:
                if cpu not in target.cpu_notes:
                    raise CommandError(f"bt: invalid pcpu: {cpu}")
        elif target.crashing_cpu is not None:
            cpus = [target.crashing_cpu]
        else:
            cpus = [next(iter(target.cpu_notes))]
            caveat(f"the crashing pCPU is not known: pCPU {cpus[0]}, the first that saved "
                   "registers, is shown")

        def each() -> Iterator[Any]:
            for cpu in cpus:
                ctx.check()
                yield from xen_traces.pcpu_trace_records(target, cpu, method, words=opts["data"])
        return Records(each(), xen_trace_lines)

COMMANDS = [Bt]
