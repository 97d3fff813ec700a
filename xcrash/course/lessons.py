"""The course: one lesson per way to die the project has a sample dump for, in order from
the first look to the hard cases.

A lesson is a *kind* (what to look at, why, which questions) applied to a dump of the
manifest.  The kinds know nothing of a particular dump: the questions are built from
the dump's own facts when the lesson starts.  A new sample dump whose manifest entry
names its ``death`` (sample-dumps/stock.py writes it) becomes a lesson of that kind with
no code; the four original samples are named in :data:`NAMED`.  A death no kind knows
gets the general lesson.
"""
from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..targets.linux.incident import Incident
from ..targets.xen.incident import XenIncident
from . import faults, questions as q, xenquestions as xq
from .questions import Question

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample-dumps"


@dataclass
class Facts:
    """What a lesson's questions are built from: a dump's session and its facts."""
    session: Any
    #: the Linux target the questions are about ("kernel", "dom0"); None for Xen's
    target: str | None
    linux: Incident | None
    xen: XenIncident | None


Builder = Callable[[Facts], Question | None]


def _linux(fn: Callable[..., Question | None]) -> Builder:
    return lambda f: fn(f.linux, f.target) if f.linux is not None else None


def _xen(fn: Callable[..., Question | None]) -> Builder:
    return lambda f: fn(f.xen) if f.xen is not None else None


#: every question a lesson may ask, by name
BUILDERS: dict[str, Builder] = {
    "reason": _linux(q.reason), "panic-task": _linux(q.panic_task),
    "panic-cpu": _linux(q.panic_cpu), "caller": _linux(q.caller), "release": _linux(q.release),
    "tasks": _linux(q.tasks), "entry": _linux(q.entry), "entry-mode": _linux(q.entry_mode),
    "kind": _linux(faults.kind), "fault-function": _linux(faults.fault_function),
    "fault-module": _linux(faults.fault_module), "module-caller": _linux(faults.module_caller),
    "fault-address": _linux(faults.fault_address), "fault-stack": _linux(faults.fault_stack),
    "source": _linux(faults.source), "lockup-cpu": _linux(faults.lockup_cpu),
    "lockup-task": _linux(faults.lockup_task), "blocked-task": _linux(faults.hung_task),
    "blocked-wait": _linux(faults.blocked_wait), "biggest": _linux(faults.biggest),
    "fault-instruction": lambda f: (faults.fault_instruction(f.linux, f.session, f.target)
                                    if f.linux is not None else None),
    "stdout": lambda f: faults.standard_output(f.session, f.target),
    "other-cpu": lambda f: (faults.other_cpu(f.linux, f.session, f.target)
                            if f.linux is not None else None),
    "slab": lambda f: faults.task_structs(f.session, f.target),
    "xen-cpu": _xen(xq.xen_cpu), "xen-reason": _xen(xq.xen_reason),
    "xen-trigger": _xen(xq.xen_trigger), "xen-domain": _xen(xq.xen_domain),
    "guest-task": lambda f: xq.guest_task_on_vcpu(f.xen, f.session) if f.xen else None,
    "guest-hypercall": lambda f: xq.guest_hypercall(f.xen, f.session) if f.xen else None,
    "guest-registers": lambda f: xq.guest_registers(f.xen, f.session) if f.xen else None,
    "dom0-programs": lambda f: xq.guest_programs(f.session, "dom0"),
}


@dataclass(frozen=True)
class Kind:
    """A way to die, as a lesson teaches it."""
    title: str
    #: what to look at, and why
    look: str
    why: str
    questions: tuple[str, ...]
    #: the place in the course: first look first, the hypervisor last
    rank: int
    #: "linux" (the dump's kernel, or dom0 of a Xen dump), "xen" or "guests"
    scope: str = "linux"


KINDS: dict[str, Kind] = {
    "first-look": Kind(
        "First look: sys, log, bt",
        "`sys` first (the machine, the kernel, the PANIC message), then the end of `log` (what "
        "the kernel said as it died), then `bt` (the stack of the task that panicked).",
        "Every analysis starts with the same three questions: what died, how it said so, and "
        "which code path led there.  The answers are in memory: the panic message in the "
        "printk ring, the panic task on panic_cpu, its frames on its kernel stack.",
        ("reason", "panic-task", "panic-cpu", "caller"), 0),
    "sysrq": Kind(
        "A crash asked for: sysrq-c",
        "`bt` down to the entry code and its user registers, `files` of the task, `bt -a` "
        "for the other CPUs, `kmem -s task_struct` for the allocator's view.",
        "Writing 'c' to /proc/sysrq-trigger calls panic() on purpose: the trace shows a "
        "system call all the way from user space, so it is the place to learn how a task "
        "enters the kernel and what the other CPUs were doing when the NMI stopped them.",
        ("entry", "entry-mode", "stdout", "other-cpu", "slab", "release"), 1),
    "nmi": Kind(
        "An NMI nobody claimed",
        "`sys` and `log` for the NMI message, `bt` for the NMI frames and the registers the "
        "NMI interrupted.",
        "An NMI no handler claims panics with unknown_nmi_panic: the panic runs on the NMI "
        "stack, and the registers below the NMI frames say where the CPU was (user or kernel "
        "mode) when the NMI arrived.",
        ("reason", "panic-cpu", "panic-task", "entry", "entry-mode"), 2),
    "oops": Kind(
        "Oops in module code",
        "`log` for the Oops report (its first line names the fault and the address), `bt` "
        "for the exception frame, `dis` on its RIP, `mod` for the module.",
        "An Oops is a fault in kernel mode: the exception frame in the trace holds the "
        "registers at the faulting instruction; with panic_on_oops the kernel then panics "
        "('Fatal exception').",
        ("kind", "fault-function", "fault-module", "fault-address", "fault-instruction",
         "reason"), 3),
    "oops-core": Kind(
        "Oops in core code, caused by a module",
        "`bt`: the exception frame's RIP is in the kernel's own code; its callers show who "
        "passed it the bad value.",
        "The function that faults is often not the one at fault: here core code faults on "
        "a pointer a module passed, so read on below the exception frame.",
        ("fault-function", "fault-address", "fault-instruction", "module-caller", "reason"), 4),
    "bug": Kind(
        "BUG(): a check that failed",
        "`log` for 'kernel BUG at FILE:LINE!', `bt` for the exception frame, `dis` on RIP "
        "(ud2).",
        "BUG() is an undefined instruction (ud2) the kernel places where it must never get: "
        "the invalid-opcode handler reports the file and line.",
        ("source", "fault-function", "fault-instruction", "fault-module", "reason"), 5),
    "warn": Kind(
        "WARN() with panic_on_warn",
        "`log` for the WARNING line (file, line, function), `bt` for the ud2 exception "
        "frame.",
        "WARN() reports and goes on, but panic_on_warn turns it into a panic: the report "
        "names where the warning is written in the source.",
        ("source", "fault-function", "fault-module", "reason"), 6),
    "softirq": Kind(
        "Oops in a softirq, on the IRQ stack",
        "`bt`: the exception frame is on the IRQ stack, `--- <IRQ stack> ---` marks where "
        "the walk returns to the interrupted task.",
        "Timer callbacks run in softirq context on the CPU's IRQ stack, not in any task: the "
        "task in the trace header is only the one that was interrupted.",
        ("fault-function", "fault-stack", "fault-address", "reason"), 7),
    "softlockup": Kind(
        "Soft lockup: a CPU that never schedules",
        "`log` for the watchdog's report (CPU, seconds, task), `bt -c CPU` for where the "
        "timer interrupt caught it.",
        "The soft-lockup watchdog fires from a timer interrupt on the stuck CPU: the "
        "exception frame is where the CPU was spinning.",
        ("lockup-cpu", "lockup-task", "fault-function", "fault-module", "reason"), 8),
    "nmi-irqoff": Kind(
        "An NMI into kernel code with interrupts off",
        "`bt`: the NMI frames on the NMI stack, then the exception frame of the kernel code "
        "it interrupted.",
        "With interrupts off nothing but an NMI can stop a CPU: the registers the NMI saved "
        "show the loop it was in.",
        ("panic-cpu", "entry", "fault-function", "fault-module", "reason"), 9),
    "hung": Kind(
        "Hung task: blocked for ever",
        "`ps | grep UN` for the tasks in D state, `bt PID` for what each waits in, `log` "
        "for khungtaskd's report.",
        "khungtaskd panics (hung_task_panic) when a task stays in uninterruptible sleep too "
        "long: the panic task is the detector, the culprit is asleep.",
        ("blocked-task", "blocked-wait", "panic-task", "reason"), 10),
    "oom": Kind(
        "Out of memory with panic_on_oom",
        "`log` for the OOM report, `ps` (RSS) for who holds the memory, `kmem -i` for the "
        "totals.",
        "With panic_on_oom the kernel panics instead of killing: the task that asked for a "
        "page is the panic task, the one that holds the memory is elsewhere.",
        ("kind", "biggest", "panic-task", "reason"), 11),
    "overflow": Kind(
        "Kernel stack overflow",
        "`bt`: the exception frame on the DOUBLEFAULT stack, the recursing function; `bt -v` "
        "checks every stack's end.",
        "A task's kernel stack is THREAD_SIZE bytes with a guard page below it: a recursion "
        "that runs into the guard page double-faults.",
        ("kind", "fault-function", "fault-stack", "reason"), 12),
    "qemu-panic": Kind(
        "A dump without kdump: QEMU's dump-guest-memory",
        "`sys`, `bt` as usual: xcrash finds the kernel without VMCOREINFO.",
        "A hypervisor can dump a guest that has no kdump: no VMCOREINFO, so the KASLR "
        "offset and the page tables are found from the image itself.",
        ("reason", "panic-task", "caller"), 13),
    "general": Kind(
        "Another way to die",
        "`sys`, `log`, `bt`: the first look, then the questions they raise.",
        "Whatever the death, the panic message, the panic task and its trace come first.",
        ("kind", "reason", "panic-task", "panic-cpu", "caller", "fault-function"), 14),
    "xen-hypervisor": Kind(
        "Xen: the hypervisor crashed",
        "`target xen`, then `log` (the console ring), `bt` (the crashing pCPU), `vcpus` and "
        "`doms` ('*' marks what the crashing pCPU ran).",
        "A Xen host dump holds the hypervisor and every guest: start with Xen's own view, "
        "its console and its pCPUs, before looking inside a domain.",
        ("xen-reason", "xen-cpu", "xen-trigger", "xen-domain"), 20, "xen"),
    "xen-dom0": Kind(
        "Xen: dom0's context at the crash",
        "`target dom0`, `ps -A` for the task on each vCPU, `bt -c VCPU` for what it was "
        "doing.",
        "dom0 is a PV guest: its vCPU's registers are Xen's copy (the pCPU's guest frame), "
        "and the trace of the task on the crashing vCPU ends in a hypercall.",
        ("guest-task", "guest-hypercall", "guest-registers", "dom0-programs"), 21, "xen"),
    "xen-domu": Kind(
        "Xen: a domU seen from the host",
        "`target` lists the guests; `target domN`, then `ps -u` and `log`.",
        "crash needs a session per guest (--p2m_mfn); here each PV domain is a target of the "
        "same session, read through its own page tables in machine frames.",
        (), 22, "guests"),
    "dom0-sysrq": Kind(
        "Xen: dom0 panicked by itself",
        "`target xen`: `log` (Xen's console says dom0 crashed), `vcpus` (dom0's other vCPU "
        "OF: taken down), then `target dom0`: `sys`, `ps`, `bt -a`.",
        "A PV dom0's panic stops its other vCPUs with VCPUOP_down and asks Xen to kexec: the "
        "downed vCPU's registers stay in Xen's struct vcpu, and its stack ends in stop_self.",
        ("xen-reason", "xen-cpu", "xen-domain", "guest-task", "guest-hypercall"), 21, "xen"),
    "xen-production": Kind(
        "Xen in production: no DWARF",
        "`vcpus` (its '*'), then the guest's `ps -A` and `bt`.",
        "Debian's xen-syms has ELF symbols only: the domains come from VMCOREINFO_XEN and "
        "the layouts Xen has kept; the guests are read as usual.",
        ("xen-cpu", "xen-domain", "guest-task", "guest-hypercall"), 23, "xen"),
}

#: a manifest ``death`` whose lesson has another name: Xen's own crash (xl debug-keys C)
DEATH_KINDS = {"debug-keys": "xen-hypervisor"}
#: the lessons of the original samples (the others take their manifest entry's ``death``)
NAMED = {"linux-sysrq": ("first-look", "sysrq"), "linux-nmi": ("nmi",),
         "xen-own": ("xen-hypervisor", "xen-dom0", "xen-domu"),
         "xen-debian": ("xen-production",)}


@dataclass
class Lesson:
    key: str
    kind: Kind
    #: the manifest's dump name, and what to open it with
    dump: str
    paths: list[str]
    #: what it runs, for titles (the same way to die on two releases): "Linux 6.12...",
    #: "Xen 4.14.6"
    release: str = ""

    @property
    def title(self) -> str:
        return self.kind.title + (f" ({self.release})" if self.release else "")


def _paths(entry: dict[str, Any], samples: Path) -> list[str] | None:
    words = shlex.split(entry.get("open_with", ""))[1:]
    paths = [str(samples.parent / w) for w in words]
    # the domains' kernels where the manifest names them (a dump without them: the guests
    # give their symbols from memory)
    paths += [str(samples / dom["kernel"]["vmlinux"]) for dom in entry.get("domains", [])
              if dom.get("kernel", {}).get("vmlinux")]
    paths = list(dict.fromkeys(paths))
    return paths if paths and all(Path(p).exists() for p in paths) else None


def catalog(manifest: dict[str, Any], samples: Path = SAMPLES) -> list[Lesson]:
    """The course's lessons over the manifest's dumps that are here, in course order."""
    out = []
    for name, entry in manifest.get("dumps", {}).items():
        paths = _paths(entry, samples)
        if paths is None:
            continue
        death = DEATH_KINDS.get(entry.get("death", ""), entry.get("death"))
        kinds = NAMED.get(name) or (death if death in KINDS else "general",)
        release = "" if name in NAMED else (
            f"Linux {entry['kernel']['release']}" if entry.get("kernel", {}).get("release") else
            f"Xen {entry['xen']['version']}" if entry.get("xen", {}).get("version") else "")
        for k in kinds:
            out.append(Lesson(f"{name}:{k}", KINDS[k], name, paths, release))
    out.sort(key=lambda lesson: (lesson.kind.rank, lesson.release, lesson.dump))
    return out


def still_packed(manifest: dict[str, Any], samples: Path = SAMPLES) -> list[str]:
    """The manifest's dumps whose files ship in a bundle not unpacked here (the stock Debian
    dumps in a fresh clone, before ``python3 sample-dumps/unpack.py``)."""
    return [name for name, entry in manifest.get("dumps", {}).items()
            if any("bundle" in f and not (samples / f["path"]).exists()
                   for f in entry.get("files", []))]


def facts_of(session: Any, scope: str) -> Facts:
    """The facts a lesson's questions need: the Linux incident of the dump's kernel (or
    dom0's), Xen's incident on a host dump."""
    from ..targets.linux.incident import incident
    from ..targets.xen.incident import xen_incident
    xen = session.targets.get("xen")
    linux_name = next((n for n, t in session.targets.items()
                       if t.kind == "linux" and getattr(t, "symfile", None) is not None), None)
    xen_facts = xen_incident(xen) if xen is not None and scope != "linux" else None
    linux_facts = None
    if linux_name is not None and scope == "linux":
        session.select(linux_name)
        linux_facts = incident(session.target(linux_name))
    # a dump with one kernel needs no target named in its questions
    named = linux_name if len(session.targets) > 1 else None
    return Facts(session, named, linux_facts, xen_facts)


def questions_of(lesson: Lesson, session: Any) -> list[Question]:
    """The lesson's questions on its dump: those its facts answer."""
    if lesson.kind.scope == "guests":
        return guest_questions(session)
    facts = facts_of(session, lesson.kind.scope)
    found = [BUILDERS[name](facts) for name in lesson.kind.questions]
    return [x for x in found if x is not None]


def guest_questions(session: Any) -> list[Question]:
    """What each guest ran, and one domU's release from its own log."""
    guests = [n for n, t in session.targets.items() if n.startswith("dom")
              and t.kind == "linux" and getattr(t, "symfile", None) is not None]
    out = [x for x in (xq.guest_programs(session, n) for n in guests if n != "dom0")
           if x is not None]
    for name in [g for g in guests if g != "dom0"][:1]:
        found = xq.guest_release(session, name)
        if found is not None:
            out.append(found)
    return out


def any_dump_questions(session: Any) -> list[Question]:
    """Exercises from any dump's own facts: the first look, then what its death shows."""
    xen = session.targets.get("xen")
    out: list[Question | None] = []
    if xen is not None:
        facts = facts_of(session, "xen")
        out += [BUILDERS[n](facts) for n in ("xen-reason", "xen-cpu", "xen-trigger",
                                              "xen-domain", "guest-task", "guest-hypercall")]
        out += guest_questions(session)
        return [x for x in out if x is not None]
    facts = facts_of(session, "linux")
    names = ["reason", "panic-task", "panic-cpu", "caller", "kind", "release", "tasks",
             "entry", "entry-mode"]
    if facts.linux is not None:
        kind = KINDS.get(facts.linux.kind)
        if kind is not None:
            names += [n for n in kind.questions if n not in names]
        names += [n for n in ("fault-function", "fault-module", "module-caller",
                              "fault-address", "fault-instruction", "source", "lockup-cpu",
                              "lockup-task", "blocked-task", "blocked-wait")
                  if n not in names]
    out += [BUILDERS[n](facts) for n in names]
    return [x for x in out if x is not None]
