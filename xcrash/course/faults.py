"""Questions on the hard cases: code that faulted, lockups, hung tasks, memory, and a panic
task's files, the other CPUs and the allocator (see ``questions.py``)."""
from __future__ import annotations

from typing import Any

from ..errors import XcrashError
from ..targets.linux.incident import Incident
from .questions import Question, _q


# -- Linux: when code faulted ---------------------------------------------------------------
def fault_function(inc: Incident, target: str | None = None) -> Question | None:
    f = inc.fault
    if f is None or not f.function:
        return None
    where = f" [{f.module}]" if f.module else ""
    return _q("fault-function", "In which function was the kernel when it faulted (the "
              "exception frame's RIP)?", f"{f.function}+{f.offset:#x}{where}", "bt",
              ["An exception (a fault, a BUG's ud2, an NMI, the timer) saves the interrupted "
               "registers in a struct pt_regs: `bt` prints them after the frame that took it.",
               "In `bt`, the register block in the middle of the trace starts with "
               "`[exception RIP: function+offset]`."], [f.function], "function", target)


def module_caller(inc: Incident, target: str | None = None) -> Question | None:
    """Core code faulted: the first module function among its callers passed it the bad
    value."""
    f = inc.fault
    if f is None or f.module:
        return None
    hit = next(((fn, mod) for fn, mod in f.callers if mod), None)
    if hit is None:
        return None
    return _q("module-caller", f"The fault is in the kernel's own {f.function}: which module "
              "function called it (the first caller in a module)?", f"{hit[0]} [{hit[1]}]",
              "bt", ["Below the exception frame, `bt` goes on with the callers of the code "
                     "that faulted; a module's function carries its [name].",
                     "After the register block of `bt`, the first frame with a [module]."],
              [hit[0]], "function", target)


def fault_module(inc: Incident, target: str | None = None) -> Question | None:
    f = inc.fault
    if f is None or not f.module:
        return None
    return _q("fault-module", "Which module does the faulting code belong to?", f.module, "mod",
              ["`mod` lists the loaded modules; `bt` writes a module's name in brackets "
               "after a frame in it, and `sym ADDRESS` names an address's module.",
               "Run `sym` on the exception RIP, or read the [name] after the frames of `bt`."],
              [f.module], target=target)


def fault_address(inc: Incident, target: str | None = None) -> Question | None:
    if inc.fault_address is None or inc.fault is None:
        return None
    a = inc.fault_address
    return _q("fault-address", "Which data address did the faulting instruction touch?",
              f"{a:#x}", "log | grep -i address",
              ["The page-fault handler logs the address the CPU could not access (CR2); "
               "`log` holds the Oops report.",
               "In `log`, the report's first line: `BUG: ... address: <hex>`."],
              [f"{a:x}"], "hex", target, example=f"{a:#x}", evidence=[f"{a:016x}"])


def fault_instruction(inc: Incident, session: Any, target: str | None = None
                      ) -> Question | None:
    f = inc.fault
    if f is None:
        return None
    try:
        rows = session.run(f"dis {f.rip:#x} 1", records=True)
    except XcrashError:
        return None     # the dump cannot answer it: no such question
    if not rows:
        return None
    mnemonic, text = rows[0]["mnemonic"], rows[0]["text"]
    return _q("fault-instruction", "Which instruction faulted?  Its mnemonic (mov, ud2, ...) "
              "or the whole instruction.", text, f"dis {f.rip:#x} 1",
              ["`dis ADDRESS 1` disassembles one instruction; the exception frame's RIP is "
               "the faulting instruction's address.",
               f"Run `dis` on the RIP of `bt`'s exception frame ({f.rip:#x})."],
              [mnemonic, text], target=target, example=mnemonic)


def fault_stack(inc: Incident, target: str | None = None) -> Question | None:
    f = inc.fault
    if f is None or f.stack == "?":
        return None     # no known stack holds the RSP (an overflow into the guard page)
    words = {"task": ["task", "process", "the task's stack"], "IRQ": ["irq", "interrupt"]}
    return _q("fault-stack", "On which stack was the faulting code running: the task's own, "
              "the IRQ stack, an exception stack?", f.stack, "bt",
              ["`bt` marks the change of stacks: `--- <IRQ stack> ---` ends the frames that "
               "ran on the CPU's IRQ stack; an exception stack (NMI, DOUBLEFAULT) likewise.",
               "Look for `--- <... stack> ---` lines between the exception frame and the "
               "task's frames."], [f.stack] + words.get(f.stack, []), target=target)


def source(inc: Incident, target: str | None = None) -> Question | None:
    if inc.source is None:
        return None
    path, line = inc.source
    base = path.rsplit("/", 1)[-1]
    return _q("source", "At which source line did the report point?  (file:line)",
              f"{path}:{line}", "log | grep -e 'BUG at' -e 'WARNING:'",
              ["BUG() and WARN() log the file and line they were written at: `log` has it.",
               "In `log`: `kernel BUG at FILE:LINE!` or `WARNING: CPU: ... at FILE:LINE`."],
              [f"{path}:{line}", f"{base}:{line}", str(line)], target=target,
              example=f"{base}:{line}")


# -- Linux: lockups, hung tasks, memory -----------------------------------------------------
def lockup_cpu(inc: Incident, target: str | None = None) -> Question | None:
    if inc.lockup_cpu is None:
        return None
    return _q("lockup-cpu", "Which CPU was stuck?", f"CPU {inc.lockup_cpu}",
              "log | grep 'soft lockup'",
              ["The soft-lockup watchdog (a per-CPU hrtimer) logs in `log` the CPU whose watchdog "
               "thread could not run.",
               "In `log`: `BUG: soft lockup - CPU#N stuck for Ns!`."],
              [str(inc.lockup_cpu), f"cpu {inc.lockup_cpu}", f"cpu#{inc.lockup_cpu}"],
              target=target)


def lockup_task(inc: Incident, target: str | None = None) -> Question | None:
    if inc.lockup_task is None:
        return None
    comm, pid = inc.lockup_task
    return _q("lockup-task", "Which task kept that CPU busy?", f"{comm} (PID {pid})", "bt",
              ["The watchdog names the task it interrupted; `bt -c CPU` shows that CPU's "
               "task and where the timer interrupt caught it.",
               "In `log`: `... stuck for Ns! [comm:pid]`; or `bt -c CPU`'s header."],
              [comm, str(pid)], target=target)


def hung_task(inc: Incident, target: str | None = None) -> Question | None:
    blocked = inc.blocked
    named = inc.hung_task
    if not blocked and named is None:
        return None
    accepted = [b.comm for b in blocked] + [str(b.pid) for b in blocked]
    shown = ", ".join(f"{b.comm} (PID {b.pid})" for b in blocked[:4])
    if named is not None:
        accepted += [named[0], str(named[1])]
        shown = shown or f"{named[0]} (PID {named[1]})"
    return _q("blocked-task", "Which task was blocked in uninterruptible sleep (state UN, "
              "D in top)?", shown, "ps | grep UN",
              ["`ps` shows each task's state: UN is TASK_UNINTERRUPTIBLE, a sleep no signal "
               "ends (what the hung-task detector watches).",
               "Filter `ps` for the ST column UN: `ps | grep UN`."], accepted, target=target)


def blocked_wait(inc: Incident, target: str | None = None) -> Question | None:
    waiting = [b for b in inc.blocked if b.waiting_in]
    if not waiting:
        return None
    b = waiting[0]
    assert b.waiting_in is not None
    accepted = [b.waiting_in] + ([b.primitive] if b.primitive else [])
    return _q("blocked-wait", f"In which function does {b.comm} (PID {b.pid}) wait?  (The "
              "first function of its trace above the scheduler.)",
              b.waiting_in + (f" (through {b.primitive})" if b.primitive else ""),
              f"bt {b.pid}",
              [f"`bt {b.pid}` walks that task's stack from its last context switch: __schedule "
               "and schedule first, then the wait primitive, then what waits.",
               "Skip __schedule, schedule and the wait primitive (mutex_lock, "
               "wait_for_completion, msleep, ...): the next frame is what it waits in."],
              accepted, "function", target)


def biggest(inc: Incident, target: str | None = None) -> Question | None:
    b = inc.biggest
    if b is None or inc.kind != "oom":
        return None
    return _q("biggest", "Which user task held the most memory (the largest RSS)?",
              f"{b.comm} (PID {b.pid}, RSS {b.rss}k)", "ps",
              ["`ps` shows each task's RSS (resident set, KiB) and %MEM; the OOM killer looks "
               "for the biggest.",
               "Sort `ps`'s RSS column: `ps | sort -n -k 8 | tail -3`."],
              [b.comm, str(b.pid)], target=target)


#: the log's report lines, found by grep (the shell pipeline after a command)
REPORTS = ("log | grep -e BUG -e Oops -e WARNING -e 'soft lockup' -e 'blocked for' "
           "-e 'Out of memory' -e oom-killer -e NMI -e 'sysrq: Trigger'")


def kind(inc: Incident, target: str | None = None) -> Question | None:
    words = {"sysrq": ["sysrq", "sysrq-c", "sysrq c"], "oops": ["oops", "page fault", "fault"],
             "bug": ["bug", "bug()", "invalid opcode"], "warn": ["warn", "warning", "warn_on"],
             "softlockup": ["soft lockup", "softlockup", "lockup"],
             "hardlockup": ["hard lockup", "hardlockup", "lockup", "nmi"],
             "nmi": ["nmi"], "hung": ["hung task", "hung", "blocked task"],
             "oom": ["oom", "out of memory"], "overflow": ["stack overflow", "overflow"]}
    if inc.kind not in words:
        return None
    return _q("kind", "What kind of death was it: sysrq, Oops, BUG, WARN, soft lockup, NMI, "
              "hung task, out of memory, stack overflow?", inc.kind, REPORTS,
              ["The kernel writes a report to the log before it panics; `sys` shows the PANIC "
               "message, `log | grep ...` finds the report among the messages.",
               "Read the report's first line (BUG:, Oops:, WARNING:, watchdog:, INFO: task, "
               "Out of memory...)."], words[inc.kind], target=target,
              evidence=[inc.report] if inc.report else None)


# -- Linux: a task's files, the other CPUs, the allocator ------------------------------------
def standard_output(session: Any, target: str | None = None) -> Question | None:
    try:
        rows = session.run("files", records=True)
    except XcrashError:
        return None     # the dump cannot answer it: no such question
    path = next((f["path"] for f in (rows[0]["files"] if rows else [])
                 if f["fd"] == 1 and (f["path"] or "").startswith("/")), "")
    if not path:
        return None
    return _q("stdout", "Which file did the panic task have open as its standard output "
              "(fd 1)?  Its path.", path, "files",
              ["`files` lists the current task's open files (the panic task at first): "
               "task->files->fdt, one struct file per descriptor.",
               "In `files`, the row with FD 1 ends with the path."],
              [path, path.rsplit("/", 1)[-1]], target=target)


def other_cpu(inc: Incident, session: Any, target: str | None = None) -> Question | None:
    try:
        rows = session.run("ps -A", records=True)
    except XcrashError:
        return None     # the dump cannot answer it: no such question
    others = [r for r in rows if r["cpu"] != inc.panic_cpu and r["pid"] != 0]
    if len(others) != 1:
        return None
    r = others[0]
    return _q("other-cpu", f"What was the other CPU (CPU {r['cpu']}) running when the kernel "
              "died?  The task's command name.", f"{r['comm']} (PID {r['pid']})", "bt -a",
              ["`bt -a` walks the task current on every CPU (`ps -A` lists them): the "
               "panicking CPU stopped the others with an NMI.",
               f"In `bt -a`, the header of CPU {r['cpu']}'s trace names its task."],
              [r["comm"], str(r["pid"])], target=target)


def task_structs(session: Any, target: str | None = None) -> Question | None:
    try:
        rows = session.run("kmem -s task_struct", records=True)
    except XcrashError:
        return None     # the dump cannot answer it: no such question
    if not rows:
        return None
    n = rows[0]["allocated"]
    return _q("slab", "How many task_struct objects had the slab allocator handed out?  "
              "(Compare with sys's TASKS.)", str(n), "kmem -s task_struct",
              ["`kmem -s NAME` shows one slab cache: its objects ALLOCATED and TOTAL.",
               "The ALLOCATED column of `kmem -s task_struct`: init_task (swapper/0) and "
               "the other CPUs' idle tasks are not all from the slab."], [str(n)],
              target=target)
