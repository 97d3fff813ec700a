"""Questions whose answers are read from a dump, and how an answer is checked.

Each builder takes the facts of a dump (``targets/linux/incident.py``,
``targets/xen/incident.py``) and returns a :class:`Question` or None when the dump does
not have that fact: a lesson or an exercise set keeps the questions its dump can
answer.  The expected answer is never written here: it is the dump's.  Two hints
follow a wrong answer -- the first teaches the command that shows it, the second
where to look in its output -- then the answer is shown with that line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import XcrashError
from ..targets.linux.incident import Incident
from ..targets.xen.incident import XenIncident


def norm(text: str) -> str:
    """An answer as compared: lower case, one blank between words, no quotes or
    brackets around it."""
    return " ".join(text.strip().strip("'\"`[]<>").lower().split())


def _function(text: str) -> str:
    """A function name as typed: ``dis NAME``, ``name+0x15/0x40``, ``NAME.cold``."""
    t = norm(text).removeprefix("dis ").split()[0] if norm(text) else ""
    return t.split("+")[0].strip("<>()")


def _hex(text: str) -> int | None:
    t = norm(text).removeprefix("0x")
    try:
        return int(t, 16)
    except ValueError:
        return None


@dataclass
class Question:
    """One question: its prompt, the answers it accepts and how it teaches."""
    key: str
    prompt: str
    #: the answer as the dump gives it (shown after the last hint)
    answer: str
    #: the command whose output shows the answer, and the target to run it on
    command: str
    hints: list[str]
    #: what is accepted: exact forms ("text", compared normalised), "function" (a name,
    #: with or without +offset or a .cold/.isra suffix), "hex" (a number, 0x or not),
    #: "phrase" (a part of the answer text of 5 characters or more)
    accepted: list[str] = field(default_factory=list)
    kind: str = "text"
    target: str | None = None
    #: one right answer (what a scripted run types)
    example: str = ""
    #: what the command prints that shows the answer, when it is not the answer's words
    #: (the lines shown with the answer; by default those holding an accepted form)
    evidence: list[str] = field(default_factory=list)

    def check(self, typed: str) -> bool:
        if not norm(typed):
            return False
        if self.kind == "function":
            name = _function(typed)
            return any(name in (a.lower(), a.lower().split(".")[0]) for a in self.accepted)
        if self.kind == "hex":
            value = _hex(typed)
            return value is not None and any(value == int(a, 16) for a in self.accepted)
        if self.kind == "phrase":
            t = norm(typed)
            return any(len(t) >= 5 and (t in norm(a) or norm(a) in t) for a in self.accepted)
        return norm(typed) in {norm(a) for a in self.accepted}


def _q(key: str, prompt: str, answer: str, command: str, hints: list[str], accepted: list[str],
       kind: str = "text", target: str | None = None, example: str | None = None,
       evidence: list[str] | None = None) -> Question:
    return Question(key, prompt, answer, command, hints, [a for a in accepted if a], kind,
                    target, example if example is not None else accepted[0], evidence or [])


# -- Linux: the first look ------------------------------------------------------------------
def reason(inc: Incident, target: str | None = None) -> Question | None:
    if not inc.panic_message:
        return None
    reason_text = inc.panic_message.split("not syncing:", 1)[-1].strip()
    return _q("reason", "Why did the kernel die?  Type its panic message (what follows "
              "'Kernel panic - not syncing:' is enough).", inc.panic_message, "sys",
              ["`sys` summarises the dump: its PANIC line is the message the kernel printed "
               "as it died (crash finds it in the log).",
               "Read the PANIC line of `sys` (the same text ends `log`): type what follows "
               "'not syncing:'."],
              [inc.panic_message, reason_text], "phrase", target, example=reason_text)


def panic_task(inc: Incident, target: str | None = None) -> Question | None:
    t = inc.panic_task
    if t is None:
        return None
    return _q("panic-task", "Which task was running on the CPU that panicked?  Its PID or "
              "its command name.", f"PID {t.pid}, {t.comm}", "bt",
              ["`bt` with no argument walks the panic task's stack; its first line is the "
               "task header: PID, TASK (the task_struct), CPU, COMMAND.",
               "The first line of `bt`: `PID: N ... COMMAND: \"name\"` (ps marks it with '>' "
               "too)."],
              [str(t.pid), t.comm, f"{t.task:x}", f"{t.task:#x}"], target=target)


def panic_cpu(inc: Incident, target: str | None = None) -> Question | None:
    if inc.panic_cpu is None:
        return None
    return _q("panic-cpu", "On which CPU did the kernel panic?", f"CPU {inc.panic_cpu}", "bt",
              ["The panicking CPU is panic_cpu: `bt`'s header names the CPU of the panic "
               "task, and `sys` or `set` mark it PANIC.",
               "Read `CPU:` in the first line of `bt`."],
              [str(inc.panic_cpu), f"cpu {inc.panic_cpu}"], target=target)


def caller(inc: Incident, target: str | None = None) -> Question | None:
    if not inc.caller:
        return None
    names = [n.split(".")[0] for n in inc.functions]
    direct = inc.functions[names.index("panic") + 1] if "panic" in names[:-1] else inc.caller
    shown = inc.caller + (f" (through {direct})" if direct != inc.caller else "")
    return _q("caller", "Which function called into the panic?  (Below panic() and the kexec "
              "machinery in the trace; try `dis` on it.)", shown, "bt",
              ["`bt` lists the frames innermost first: machine_kexec, __crash_kexec, panic... "
               "the frame below panic() is its caller.",
               "In `bt`, find `panic` and take the next frame's function (`dis NAME` shows "
               "its code)."],
              [inc.caller, direct], "function", target)


def release(inc: Incident, target: str | None = None) -> Question | None:
    if not isinstance(inc.release, str) or not inc.release:
        return None
    return _q("release", "Which kernel release was running?", inc.release, "sys",
              ["`sys` shows RELEASE, read from the kernel's utsname in memory (not from "
               "the file name of the vmlinux).",
               "Type the RELEASE field of `sys`."], [inc.release], target=target)


def tasks(inc: Incident, target: str | None = None) -> Question | None:
    if not inc.tasks:
        return None
    return _q("tasks", "How many tasks did the kernel have?", str(inc.tasks), "sys",
              ["`sys` counts the tasks (TASKS): every thread and each CPU's idle task; `ps` "
               "lists them.",
               "Type the TASKS field of `sys`."], [str(inc.tasks)], target=target)


_ENTRIES = (("entry_SYSCALL", "a system call", ["syscall", "system call", "a system call"]),
            ("asm_exc_nmi", "an NMI", ["nmi", "an nmi"]),
            ("nmi", "an NMI", ["nmi", "an nmi"]),
            ("asm_exc_page_fault", "a page fault", ["page fault", "a page fault"]),
            ("asm_sysvec_apic_timer_interrupt", "the timer interrupt",
             ["timer", "timer interrupt", "apic timer", "interrupt"]),
            ("asm_common_interrupt", "an interrupt", ["interrupt", "an interrupt"]),
            ("asm_exc_invalid_op", "an invalid opcode (ud2)", ["invalid opcode", "ud2"]),
            ("asm_exc_double_fault", "a double fault", ["double fault"]))


def entry(inc: Incident, target: str | None = None) -> Question | None:
    if not inc.entry:
        return None
    for prefix, said, words in _ENTRIES:
        if inc.entry.startswith(prefix):
            return _q("entry", "How did the panic task enter the kernel: a system call, an "
                      "interrupt, an NMI, a fault?", f"{said} ({inc.entry})", "bt",
                      ["The last frames of `bt` are the entry code; the register block after "
                       "them is the state the CPU came from (struct pt_regs).",
                       "Read the function just above the register block in `bt`: "
                       "entry_SYSCALL_64 is a system call, asm_exc_nmi an NMI, "
                       "asm_sysvec_apic_timer_interrupt the timer."],
                      words + [inc.entry], target=target, example=words[0],
                      evidence=[inc.entry])
    return None


def entry_mode(inc: Incident, target: str | None = None) -> Question | None:
    if inc.entry_user is None:
        return None
    mode = "user" if inc.entry_user else "kernel"
    return _q("entry-mode", "Was that CPU running user code or kernel code when it entered "
              "the kernel there?  (user or kernel)", f"{mode} mode", "bt",
              ["The registers below the entry frame in `bt` were saved as the CPU entered "
               "the kernel; the low two bits of CS are the privilege level it came from.",
               "In `bt`'s register block: CS 0033 (ring 3) is user mode, CS 0010 kernel "
               "mode."], [mode, f"{mode} mode", f"{mode}-mode"], target=target,
              evidence=["CS: 0033"] if inc.entry_user else ["CS: 0010"])


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
              [f"{a:x}"], "hex", target, example=f"{a:#x}")


def fault_instruction(inc: Incident, session: Any, target: str | None = None
                      ) -> Question | None:
    f = inc.fault
    if f is None:
        return None
    try:
        rows = session.run(f"dis {f.rip:#x} 1", records=True)
    except XcrashError:
        return None
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
    if f is None:
        return None
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
              ["BUG() and WARN() log the file and line they were written at.",
               "In `log`: `kernel BUG at FILE:LINE!` or `WARNING: CPU: ... at FILE:LINE`."],
              [f"{path}:{line}", f"{base}:{line}", str(line)], target=target,
              example=f"{base}:{line}")


# -- Linux: lockups, hung tasks, memory -----------------------------------------------------
def lockup_cpu(inc: Incident, target: str | None = None) -> Question | None:
    if inc.lockup_cpu is None:
        return None
    return _q("lockup-cpu", "Which CPU was stuck?", f"CPU {inc.lockup_cpu}",
              "log | grep 'soft lockup'",
              ["The soft-lockup watchdog (a per-CPU hrtimer) logs the CPU whose watchdog "
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
              "hung task, out of memory, stack overflow?", inc.kind, "log | tail -40",
              ["The end of `log` holds the report the kernel wrote before panicking; `sys` "
               "shows its PANIC message.",
               "Read the report's first line (BUG:, Oops:, WARNING:, watchdog:, INFO: task, "
               "Out of memory...)."], words[inc.kind], target=target)


# -- Linux: a task's files, the other CPUs, the allocator ------------------------------------
def standard_output(session: Any, target: str | None = None) -> Question | None:
    try:
        rows = session.run("files", records=True)
    except XcrashError:
        return None
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
        return None
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
        return None
    if not rows:
        return None
    n = rows[0]["allocated"]
    return _q("slab", "How many task_struct objects had the slab allocator handed out?  "
              "(Compare with sys's TASKS.)", str(n), "kmem -s task_struct",
              ["`kmem -s NAME` shows one slab cache: its objects ALLOCATED and TOTAL.",
               "The ALLOCATED column of `kmem -s task_struct`: init_task (swapper/0) and "
               "the other CPUs' idle tasks are not all from the slab."], [str(n)],
              target=target)


# -- Xen ------------------------------------------------------------------------------------
def xen_cpu(inc: XenIncident) -> Question | None:
    if inc.crashing_cpu is None:
        return None
    return _q("xen-cpu", "Which physical CPU crashed the hypervisor?", f"pCPU {inc.crashing_cpu}",
              "bt", ["On the xen target, `bt` walks the crashing pCPU's stack (`pcpus` lists "
                     "them; `vcpus` marks the vCPU it ran with '*').",
                     "Read `PCPU:` in the first line of `bt` on target xen."],
              [str(inc.crashing_cpu), f"pcpu {inc.crashing_cpu}", f"cpu {inc.crashing_cpu}"],
              "text", "xen")


def xen_reason(inc: XenIncident) -> Question | None:
    if not inc.reason:
        return None
    return _q("xen-reason", "Why did Xen take the crash dump?  (Its console says.)", inc.reason,
              "log | tail", ["On the xen target `log` is the hypervisor's console ring "
                             "(conring), what `xl dmesg` shows.",
                             "Read the last lines of `log` on target xen."],
              [inc.reason], "phrase", "xen")


def xen_trigger(inc: XenIncident) -> Question | None:
    names = [n for n in inc.functions if n != "?"]
    if "kexec_crash" not in names or names.index("kexec_crash") + 1 >= len(names):
        return None
    who = names[names.index("kexec_crash") + 1]
    return _q("xen-trigger", "Which function called kexec_crash on that pCPU?", who, "bt",
              ["`bt` on target xen walks the crashing pCPU's stack with Xen's DWARF CFI, "
               "frame pointers or a scan (it says which).",
               "In `bt`, the frame after kexec_crash."], [who], "function", "xen")


def xen_domain(inc: XenIncident) -> Question | None:
    if inc.domain_id is None:
        return None
    return _q("xen-domain", "Which domain's vCPU was running on the crashing pCPU?  Its domain "
              "id.", f"domain {inc.domain_id}, vCPU {inc.vcpu_id}", "vcpus",
              ["`vcpus` (target xen) lists every vCPU: '>' marks those the pCPUs ran, '*' the "
               "crashing pCPU's; DOMID is its domain.",
               "The DOMID column of the `vcpus` row marked `>*`."],
              [str(inc.domain_id), f"dom{inc.domain_id}", f"domain {inc.domain_id}"],
              "text", "xen", evidence=[">*"])


def guest_task_on_vcpu(inc: XenIncident, session: Any) -> Question | None:
    if inc.domain_id is None or inc.vcpu_id is None:
        return None
    name = f"dom{inc.domain_id}"
    try:
        session.select(name)
        rows = [r for r in session.run("ps -A", records=True) if r["cpu"] == inc.vcpu_id]
    except XcrashError:
        return None
    if len(rows) != 1:
        return None
    r = rows[0]
    return _q("guest-task", f"In {name}, which task was running on that vCPU ({inc.vcpu_id})?",
              f"{r['comm']} (PID {r['pid']})", "ps -A",
              [f"Each PV guest is a Linux target: `target {name}`, then `ps -A` shows the task "
               "active on each of its vCPUs (CPU = the vCPU id).",
               f"On target {name}, the `ps -A` row whose CPU is {inc.vcpu_id}."],
              [r["comm"], str(r["pid"])], target=name)


def guest_hypercall(inc: XenIncident, session: Any) -> Question | None:
    """The guest function that called into Xen, in the trace of the task on that vCPU."""
    if inc.domain_id is None or inc.vcpu_id is None:
        return None
    name = f"dom{inc.domain_id}"
    try:
        session.select(name)
        frames = [r for r in session.run(f"bt -c {inc.vcpu_id}", records=True)
                  if r.get("function") and "level" in r]
    except XcrashError:
        return None
    names = [r["function"] for r in frames]
    if not names or not names[0].startswith("xen_hypercall"):
        return None
    who = next((n for n in names if not n.startswith(("xen_hypercall", "_hypercall"))), None)
    if who is None:
        return None
    return _q("guest-hypercall", f"In {name}, through which kernel function did that task call "
              "into Xen (the caller of the hypercall stub)?", who, f"bt -c {inc.vcpu_id}",
              [f"On target {name}, `bt -c {inc.vcpu_id}` walks the task on that vCPU, from the "
               "registers Xen saved for it.",
               "The frame after xen_hypercall_* is the kernel function that made the "
               "hypercall."], [who], "function", name)


def guest_registers(inc: XenIncident, session: Any) -> Question | None:
    """Where the registers of the crashing pCPU's guest vCPU came from."""
    if inc.domain_id is None or inc.vcpu_id is None:
        return None
    name = f"dom{inc.domain_id}"
    try:
        cpus = session.target(name).cpus
    except XcrashError:
        return None
    source = next((c.source for c in cpus if c.index == inc.vcpu_id), "")
    if not source:
        return None
    words = (["cpu_info", "guest frame", "the pcpu's stack", "pcpu stack"] if "cpu_info" in source
             else ["user_regs", "arch.user_regs", "struct vcpu", "vcpu context"])
    return _q("guest-registers", f"Where were the registers of {name}'s vCPU {inc.vcpu_id} "
              "kept when Xen died: on the pCPU (its stack's guest frame, cpu_info) or in "
              "struct vcpu (arch.user_regs)?", source, f"bt -c {inc.vcpu_id} --explain",
              ["`bt --explain` says where a trace's registers came from.  A PV guest's vCPU "
               "state is Xen's: a vCPU loaded on a pCPU has its registers in that pCPU's guest "
               "frame (cpu_info, at the top of its stack), the others in struct vcpu's "
               "arch.user_regs.",
               f"`bt -c {inc.vcpu_id} --explain` on target {name} says where its registers "
               "came from."], [source] + words, "phrase", name, example=words[0])


def guest_programs(session: Any, name: str) -> Question | None:
    try:
        session.select(name)
        rows = session.run("ps -u", records=True)
    except XcrashError:
        return None
    programs = sorted({r["comm"] for r in rows if r.get("comm")
                       and r["comm"] not in ("init", "sh")})
    if not programs:
        return None
    return _q(f"{name}-programs", f"Name a program (not a kernel thread, not init or sh) that "
              f"the guest {name} was running.", ", ".join(programs), "ps -u",
              [f"Each guest is a target: `target {name}` switches to it; its tasks are walked "
               "in its own memory, through its page tables in machine frames.",
               "`ps -u` lists the user-space tasks only (kernel threads are in brackets in "
               "`ps`)."], programs, target=name, example=programs[-1])


def guest_release(session: Any, name: str) -> Question | None:
    try:
        session.select(name)
        log = session.run("log")
    except XcrashError:
        return None
    match = re.search(r"Linux version (\S+)", log)
    if match is None:
        return None
    return _q(f"{name}-release", f"Read the kernel log of {name}: which Linux release did it "
              "boot (the word after 'Linux version')?", match.group(1),
              "log | grep 'Linux version'",
              [f"`target {name}` then `log` shows that guest's own kernel log, read from its "
               "printk ring in its memory.",
               "The first lines of `log` say 'Linux version <release> ...'."],
              [match.group(1)], target=name)

