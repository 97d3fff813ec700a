"""``xcrash --tutorial [--answers FILE]``: exercises on the shipped sample dumps.

The tutorial opens the sample dumps (``sample-dumps/MANIFEST.json``; without
it, the development dumps in ``<checkout>/../shared/dumps``) and asks:

1. which task panicked, and why it died (checked against the panic task of
   the dump and the panic string ``sys`` shows);
2. what each Xen guest domain was running (``ps`` of each guest target);
3. which kernel a domU booted, from its own log (``log`` of that target);
4. which function to disassemble: the one that called ``panic`` (``bt``);
5. on Debian's binary hypervisor (xen-syms without DWARF), which guest program
   ran on the crashing pCPU's vCPU (``vcpus``, then ``ps -A`` in that domain).

Exercises 2 and 3 need a Xen dump whose guests are targets; without one they
are skipped with a note.  Every expected answer is read from the dump while
the tutorial runs, never copied here.  Each exercise gives up to two hints
on wrong answers, then shows the command that answers it.

At the ``answer>`` prompt: ``:COMMAND`` runs an xcrash command on the
exercise's dump (``:sys``, ``:bt``, ``:target dom1``), ``hint`` asks for the
next hint, ``skip`` goes on.  ``--answers FILE`` (or a non-terminal stdin)
feeds the prompt from lines of text, for tests and for checking a trainee's
written answers.  Exit status: 0 at the end, 1 when the answers ran out,
2 when no sample dump could be opened.
"""
from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from collections.abc import Callable, Iterator

from .errors import XcrashError

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample-dumps"
SHARED = REPO.parent / "shared" / "dumps"

#: frames of the panic machinery itself; the function that called into them faulted
PANIC_FRAMES = {"panic", "vpanic", "nmi_panic", "__crash_kexec", "crash_kexec", "machine_kexec",
                "native_machine_crash_shutdown", "crash_setup_regs", "oops_end", "__die", "die",
                "die_addr", "do_trap", "do_error_trap", "handle_invalid_op", "exc_invalid_op",
                "asm_exc_invalid_op", "kexec_crash", "machine_crash_shutdown"}

OK, OUT_OF_ANSWERS, NO_DUMPS = 0, 1, 2


@dataclass
class Exercise:
    title: str
    prompt: str
    check: Callable[[str], bool]
    #: the command (on ``target``) whose output shows the answer
    command: str
    #: the answer as the dump gives it, shown after the last try
    answer: str
    hints: list[str] = field(default_factory=list)
    session: Any = None
    target: str | None = None
    #: one answer ``check`` accepts (what a test types)
    example: str = ""


@dataclass
class DumpSet:
    linux: list[str] | None = None      # vmcore, symbol files
    xen: list[str] | None = None
    #: a Xen dump whose xen-syms has ELF symbols only (Debian's), with the guests' kernels
    production: list[str] | None = None
    source: str = ""


# -- where the dumps are ------------------------------------------------------------------
def find_dumps(samples: Path = SAMPLES, shared: Path = SHARED) -> DumpSet:
    """The sample dumps from the manifest, else the shared development dumps."""
    manifest = samples / "MANIFEST.json"
    if manifest.exists():
        found = DumpSet(source=str(manifest))
        dumps = json.loads(manifest.read_text()).get("dumps", {})
        for name in sorted(dumps, key=lambda n: (n not in ("linux-sysrq", "xen-own"), n)):
            words = shlex.split(dumps[name].get("open_with", ""))[1:]
            paths = [str(samples.parent / w) for w in words]
            if not paths or not all(Path(p).exists() for p in paths):
                continue
            symbols_only = "symbols only" in dumps[name].get("xen", {}).get("build", "")
            if name.startswith("linux") and found.linux is None:
                found.linux = paths
            elif name.startswith("xen") and symbols_only and found.production is None:
                found.production = paths
            elif name.startswith("xen") and found.xen is None:
                found.xen = paths
        symbols = json.loads(manifest.read_text()).get("symbols", {})
        vmlinux = [str(samples / e.get("path", f"symbols/{s}")) for s, e in symbols.items()
                   if s.startswith("vmlinux") and (samples / e.get("path", f"symbols/{s}")).exists()]
        if found.xen is not None:     # the guests' kernel makes them targets
            found.xen = list(dict.fromkeys(found.xen + vmlinux[:1]))
        if found.production is not None:
            found.production = list(dict.fromkeys(found.production + vmlinux))
        if found.linux or found.xen:
            return found
    found = DumpSet(source=str(shared))
    linux, xen = shared / "linux-6.1-sysrq", shared / "xen-4.17-hypervisor-panic"
    if (linux / "vmcore-d31.kdump").exists():
        found.linux = [str(linux / "vmcore-d31.kdump"), str(linux / "vmlinux.xz")]
    if (xen / "vmcore-d1.elf.xz").exists():
        found.xen = [str(xen / "vmcore-d1.elf.xz"), str(xen / "xen-syms.xz"),
                     str(xen / "vmlinux.xz")]
    return found


# -- the exercises, from the dumps -----------------------------------------------------------
def _norm(text: str) -> str:
    return " ".join(text.strip().strip("'\"").lower().split())


def _one_of(*answers: str) -> Callable[[str], bool]:
    """A check that takes any of these answers (case and spacing aside)."""
    accepted = {_norm(a) for a in answers}
    return lambda answer: _norm(answer) in accepted


def linux_exercises(session: Any) -> list[Exercise]:
    target = session.current
    sys_records = session.run("sys", records=True)
    info = sys_records[0] if isinstance(sys_records, list) else sys_records
    panic = str(info.get("panic") or "").strip()      # null: the log could not say
    task_addr = target.context_task()
    task = target.object_at("struct task_struct", task_addr)
    pid = int(task.pid)
    comm = task.comm.string_().decode("utf-8", "replace")
    reason = panic.split("not syncing:", 1)[-1].strip() if panic else ""
    frames = session.run("bt", records=True)
    function = _faulting_function(frames)

    def right_task(answer: str) -> bool:
        a = _norm(answer)
        return a in (str(pid), comm.lower(), f"{task_addr:x}", f"{task_addr:#x}")

    def right_reason(answer: str) -> bool:
        a = _norm(answer)
        return len(a) >= 5 and (a in reason.lower() or reason.lower() in a)

    def right_function(answer: str) -> bool:
        a = _norm(answer).removeprefix("dis ").split("+")[0].strip("<>")
        return a in (function.lower(), function.split(".")[0].lower())

    out = [
        Exercise("The panicking task",
                 "Which task panicked?  Answer with its PID or its command name.",
                 right_task, "sys", f"PID {pid}, command {comm}",
                 ["`sys` shows the panic; `bt` with no argument shows the panic task's stack, "
                  "headed by its PID and COMMAND.",
                  "`ps` marks the task active on each CPU with '>'; `bt` names the one that "
                  "panicked."], session, example=str(pid)),
        Exercise("Why it died",
                 "Why did the kernel die?  Type the panic message (or the part after "
                 "'not syncing:').",
                 right_reason, "sys", panic,
                 ["`sys` has a PANIC line.",
                  "The message follows 'Kernel panic - not syncing:' in the PANIC line of `sys` "
                  "(and at the end of `log`)."], session, example=reason),
    ]
    if function:
        out.append(Exercise(
            "The faulting function",
            "Which function called into the panic?  Name it (then try `dis` on it).",
            right_function, "bt", function,
            ["`bt` lists the panic task's frames, innermost first.",
             "Below panic() in `bt` is the function that called it; `dis NAME` disassembles "
             "it."], session, example=function))
    stdout = _standard_output(session)
    if stdout:
        out.append(Exercise(
            "Where its output went",
            "Which file did the panicking task have open as its standard output (fd 1)?  "
            "Type its path.",
            lambda answer: _norm(answer) in (stdout.lower(), stdout.rsplit("/", 1)[-1].lower()),
            "files", stdout,
            ["`files` lists the open files of the current task, the panic task at first.",
             "In `files`, the row with FD 1 ends with the path; a sysrq crash writes 'c' to "
             "/proc/sysrq-trigger."], session, example=stdout))
    allocated = _task_structs(session)
    if allocated is not None:
        out.append(Exercise(
            "Counting tasks the allocator's way",
            "How many task_struct objects were allocated in the slab allocator when the "
            "kernel died?  (Compare with the number of tasks `sys` counts.)",
            lambda answer: _norm(answer) == str(allocated),
            "kmem -s task_struct", str(allocated),
            ["`kmem -s NAME` shows one slab cache: its ALLOCATED and TOTAL objects.",
             "`kmem -s task_struct`: the ALLOCATED column.  It is one less than `sys`'s "
             "TASKS when every task is live: init_task (swapper/0) is static, not from "
             "the slab; exited tasks not yet freed add to it."], session,
            example=str(allocated)))
    return out


def _task_structs(session: Any) -> int | None:
    """Allocated task_struct objects per the SLUB counters, or None without SLUB."""
    try:
        records = session.run("kmem -s task_struct", records=True)
    except XcrashError:
        return None
    return records[0]["allocated"] if records else None


def _standard_output(session: Any) -> str:
    """The path open on fd 1 of the panic task, or "" (no such descriptor or no path)."""
    try:
        records = session.run("files", records=True)
    except XcrashError:
        return ""
    for f in records[0]["files"] if records else []:
        if f["fd"] == 1 and (f["path"] or "").startswith("/"):
            return f["path"]
    return ""


def _faulting_function(frames: Any) -> str:
    """The first function below the panic machinery in the panic task's trace."""
    names: list[str] = [f["function"] for f in (frames if isinstance(frames, list) else [])
                        if isinstance(f, dict) and isinstance(f.get("function"), str)]
    last = -1
    for i, name in enumerate(names):
        if name.split(".")[0] in PANIC_FRAMES:
            last = i
    return names[last + 1] if last + 1 < len(names) else ""


def xen_exercises(session: Any) -> list[Exercise]:
    """What each guest ran, and a domU's log.  [] when the guests are no targets."""
    targets = getattr(session, "targets", {})
    guests = [n for n, t in targets.items()
              if n.startswith("dom") and getattr(t, "kind", None) == "linux"]
    out: list[Exercise] = []
    for name in guests:
        try:
            session.select(name)
            rows = session.run("ps -u", records=True)     # user-space tasks only
        except XcrashError:
            continue            # a guest whose tasks cannot be listed gets no exercise
        programs = sorted({r["comm"] for r in rows if r.get("comm")
                           and r["comm"] not in ("init", "sh")})
        if not programs:
            continue
        out.append(Exercise(
            f"What {name} was running",
            f"Name a program (not a kernel thread, not init or sh) that the guest {name} "
            "was running.",
            _one_of(*programs), "ps -u",
            ", ".join(programs),
            [f"Each guest is a target: `target {name}` switches to it.",
             "`ps -u` lists the user-space tasks only (kernel threads are in brackets in `ps`)."],
            session, name, example=programs[-1]))
    for name in [g for g in guests if g != "dom0"][:1]:
        try:
            session.select(name)
            log = session.run("log")
        except XcrashError:
            continue            # a guest whose log cannot be read gets no exercise
        match = re.search(r"Linux version (\S+)", log)
        if match is None:
            continue
        release = match.group(1)
        out.append(Exercise(
            f"{name}'s log",
            f"Read the kernel log of {name}: which Linux release did it boot "
            "(the word after 'Linux version')?",
            _one_of(release), "log | grep 'Linux version'",
            release,
            [f"`target {name}` then `log` shows that guest's own kernel log.",
             "The first lines of `log` say 'Linux version <release> ...'."],
            session, name, example=release))
    return out


def production_exercises(session: Any) -> list[Exercise]:
    """Debian's binary hypervisor (no DWARF): from the crashing pCPU to the guest task."""
    try:
        session.select("xen")
        crashing = [line.split() for line in session.run("vcpus").splitlines()
                    if line.startswith(">*")]
        if len(crashing) != 1:
            return []
        vcpu_id, domain_id = int(crashing[0][1]), crashing[0][6]
        name = f"dom{domain_id}"
        session.select(name)
        active = [r for r in session.run("ps -A", records=True) if r["cpu"] == vcpu_id]
    except XcrashError:
        return []               # no answer to check: no exercise
    if len(active) != 1:
        return []
    comm = active[0]["comm"]
    return [Exercise(
        "Production Xen: who pulled the trigger",
        "This machine ran Debian's binary hypervisor: its xen-syms has ELF symbols only, no "
        "DWARF (crash refuses it).  Which program was running in the guest on the vCPU of the "
        "physical CPU that crashed?",
        _one_of(comm), "ps -A", comm,
        ["`vcpus` (on target xen) marks the crashing pCPU's vCPU with `*`: its VCID and DOMID.",
         f"`target {name}` then `ps -A` shows the task active on each of its vCPUs (CPU "
         "column = VCID); `bt -a` shows what it was doing."],
        session, name, example=comm)]


# -- running ---------------------------------------------------------------------------------
class Answers:
    """Lines from a file, a pipe or the terminal (None at the end)."""

    def __init__(self, source: TextIO | None, out: TextIO) -> None:
        self.source = source
        self.out = out

    def read(self, prompt: str) -> str | None:
        if self.source is None:
            try:
                return input(prompt)
            except EOFError:
                return None
        line = self.source.readline()
        if not line:
            return None
        self.out.write(f"{prompt}{line.rstrip()}\n")
        return line.rstrip("\n")


def run_exercise(ex: Exercise, n: int, answers: Answers, out: TextIO) -> bool | None:
    """True: answered; False: shown the answer; None: out of answers."""
    out.write(f"\n== Exercise {n}: {ex.title} ==\n{ex.prompt}\n")
    wrong = 0
    while True:
        text = answers.read("answer> ")
        if text is None:
            return None
        text = text.strip()
        if not text:
            continue
        if text.startswith(":"):
            _run_command(ex, text[1:].strip(), out)
            continue
        if text.lower() == "skip":
            break
        if text.lower() != "hint" and ex.check(text):
            out.write(f"Correct: {ex.answer}.  `{ex.command}`{_on(ex)} shows it.\n")
            return True
        if text.lower() != "hint":
            out.write("Not quite.\n")
        if wrong < len(ex.hints):
            out.write(f"Hint: {ex.hints[wrong]}\n")
            wrong += 1
            continue
        break
    out.write(f"The answer: {ex.answer}.  Run `{ex.command}`{_on(ex)} to see it in the dump.\n")
    return False


def _on(ex: Exercise) -> str:
    return f" on target {ex.target} (`target {ex.target}` first)" if ex.target else ""


def _run_command(ex: Exercise, command: str, out: TextIO) -> None:
    """``:CMD`` at the prompt: run CMD on the exercise's dump (its target)."""
    if not command or ex.session is None:
        return
    try:
        if ex.target is not None:
            ex.session.select(ex.target)
        out.write(ex.session.run(command))
    except Exception as exc:
        out.write(f"xcrash: {exc}\n")


def tutorial(dumps: DumpSet, answers: Answers, out: TextIO,
             opener: Callable[..., Any] | None = None) -> int:
    if opener is None:
        import xcrash
        opener = xcrash.open
    out.write("xcrash tutorial: exercises on real crash dumps.\n"
              "At answer>: type your answer, `hint`, `skip`, or `:COMMAND` to run an xcrash "
              "command on the dump (e.g. `:sys`, `:bt`).\n")
    out.write(f"Dumps from {dumps.source}\n")
    exercises: list[Exercise] = []
    notes: list[str] = []
    for kind, paths, make in (("Linux", dumps.linux, linux_exercises),
                              ("Xen", dumps.xen, xen_exercises),
                              ("production Xen", dumps.production, production_exercises)):
        if not paths:
            if make is not production_exercises:
                notes.append(f"no {kind} sample dump here: its exercises are skipped")
            continue
        try:
            session = opener(*paths)
            found = make(session)
        except Exception as exc:
            notes.append(f"{kind} dump {paths[0]}: cannot be used ({exc}): its exercises "
                         "are skipped")
            continue
        if not found:
            notes.append(f"{kind} dump {paths[0]}: no guest domains as targets: the domain "
                         "exercises are skipped")
        out.write(f"{kind} dump: {' '.join(paths)}\n")
        exercises.extend(found)
    for note in notes:
        out.write(f"note: {note}\n")
    if not exercises:
        out.write("No sample dump could be opened: nothing to practise on.\n")
        return NO_DUMPS
    right = 0
    for n, ex in enumerate(exercises, 1):
        result = run_exercise(ex, n, answers, out)
        if result is None:
            out.write("\nNo more answers: the tutorial stops here.\n")
            out.write(f"Score: {right}/{len(exercises)}\n")
            return OUT_OF_ANSWERS
        right += bool(result)
    out.write(f"\nDone.  Score: {right}/{len(exercises)}\n")
    return OK


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="xcrash --tutorial",
                                description="Exercises on the shipped sample dumps.")
    p.add_argument("--tutorial", action="store_true")
    p.add_argument("--answers", metavar="FILE", help="read the answers from FILE ('-': stdin)")
    try:
        args, _ = p.parse_known_args(argv)
    except SystemExit as exc:
        return OK if exc.code in (0, None) else NO_DUMPS
    out = sys.stdout
    if args.answers and args.answers != "-":
        try:
            source: TextIO | None = open(args.answers, encoding="utf-8")
        except OSError as exc:
            print(f"xcrash: {args.answers}: {exc.strerror}", file=sys.stderr)
            return NO_DUMPS
    elif args.answers == "-" or not sys.stdin.isatty():
        source = sys.stdin
    else:
        source = None
    return tutorial(find_dumps(), Answers(source, out), out)


def exercises_for(dumps: DumpSet) -> Iterator[Exercise]:
    """Every exercise the tutorial would give on ``dumps`` (tests script answers from it)."""
    import xcrash
    if dumps.linux:
        yield from linux_exercises(xcrash.open(*dumps.linux))
    if dumps.xen:
        yield from xen_exercises(xcrash.open(*dumps.xen))
    if dumps.production:
        yield from production_exercises(xcrash.open(*dumps.production))
