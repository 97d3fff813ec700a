"""Questions whose answers are read from a dump, and how an answer is checked.

Each builder takes the facts of a dump (``targets/linux/incident.py``,
``targets/xen/incident.py``) and returns a :class:`Question` or None when the dump does
not have that fact: a lesson or an exercise set keeps the questions its dump can
answer.  The expected answer is never written here: it is the dump's.  Two hints
follow a wrong answer -- the first teaches the command that shows it, the second
where to look in its output -- then the answer is shown with that line.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..targets.linux.incident import Incident


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
        return None     # not a number: it matches no address


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
    return _q("reason", "Why did the kernel die?  Type the panic message `sys` shows (of "
              "'Kernel panic - not syncing: ...', what follows 'not syncing:' is enough).",
              inc.panic_message, "sys",
              ["`sys` summarises the dump: its PANIC line is the message the kernel printed "
               "as it died (crash finds it in the log).",
               "Read the PANIC line of `sys` (the same text ends `log`)"
               + (": type what follows 'not syncing:'." if "not syncing:" in inc.panic_message
                  else ", and type it.")],
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
    """Who called panic(); not asked when an exception frame interrupted kernel code (an
    Oops, BUG, WARN: the fault's questions are the ones that teach there)."""
    if not inc.caller or inc.fault is not None:
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
