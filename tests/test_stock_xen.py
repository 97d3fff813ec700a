"""Debian's binary Xen 4.20 with Debian 6.12 as dom0 and two PV domUs: dom0 panicked by
itself (sysrq c), took its other vCPU down (``VCPUOP_down`` from ``stop_self``) and Xen
kexec'd.  crash cannot open Xen 4.20, so xcrash is the reference here and the consoles
judge: dom0's own panic report and Call Trace and Xen's lines in serial.log, the domUs'
READY lines in ground-truth.txt.  The dump is read alone: the hypervisor's symbols come
from Xen's own table in its image, dom0's and the domUs' from their kallsyms, BTF and ORC
(Debian's -dbg xen-syms, which has DWARF, reads the same: not shipped, for the budget).
"""
from __future__ import annotations

import re
from functools import cache

import pytest

from conftest import SAMPLES, sample_manifest

NAME = "xen-4.20-dom0-panic"
ENTRY = sample_manifest()["dumps"].get(NAME)

pytestmark = pytest.mark.skipif(ENTRY is None, reason=f"{NAME} is not in sample-dumps")


@cache
def session():
    import xcrash
    assert ENTRY is not None
    return xcrash.open(str(SAMPLES / ENTRY["files"][0]["path"]))


def run(target: str, command: str) -> str:
    s = session()
    s.run(f"target {target}")
    return s.run(command)


def serial() -> str:
    return (SAMPLES / NAME / "serial.log").read_text(errors="replace")


def panic_report() -> tuple[int, int, str, list[str]]:
    """dom0's own report: CPU, PID, comm and the functions of its Call Trace (the '?'
    guesses left out), from the serial console."""
    text = serial()
    start = text.index("Kernel panic - not syncing")
    who = re.search(r"CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (\S+)", text[start:])
    assert who is not None
    trace = text[text.index("Call Trace:", start):]
    trace = trace[:min(trace.index(m) for m in ("RIP:", "</TASK>") if m in trace)]
    functions = re.findall(r"\]  ([\w.]+)\+0x", trace)
    return int(who.group(1)), int(who.group(2)), who.group(3), functions


def frames(trace: str) -> list[str]:
    return re.findall(r"^ ?#\d+ \[[0-9a-f]+\] ([\w.]+) at ", trace, re.M)


def test_dom0_panic_as_its_console_reported_it() -> None:
    cpu, pid, comm, _ = panic_report()
    sys = run("dom0", "sys")
    assert 'PANIC: "Kernel panic - not syncing: sysrq triggered crash"' in sys
    assert re.search(r"CPUS: 2 \[OFFLINE: 1\]", sys)
    ps = run("dom0", "ps")
    assert re.search(rf"^>\s+{pid}\s+\d+\s+{cpu}\s+\S+\s+RU .* {comm}$", ps, re.M)


def test_panic_trace_is_the_kernels_call_trace() -> None:
    cpu, pid, _, functions = panic_report()
    ours = frames(run("dom0", f"bt {pid}"))
    # the console's trace starts in dump_stack_lvl (called by panic); the dump's where panic
    # handed over to Xen: compare from panic on
    assert ours[ours.index("panic"):] == functions[functions.index("panic"):]


def test_the_downed_vcpu_is_unwound_from_its_saved_context() -> None:
    cpu, _, _, _ = panic_report()
    other = 1 - cpu
    ps = run("dom0", "ps")
    assert re.search(rf"^>\s+0\s+0\s+{other}\s+\S+\s+RU .*\[swapper/{other}\]$", ps, re.M)
    trace = run("dom0", f"bt -c {other}")
    names = frames(trace)
    assert names[:2] == ["xen_hypercall_pv", "stop_self"], trace
    assert names[-1] == "startup_xen" or "cpu_bringup_and_idle" in names, trace
    vcpus = run("xen", "vcpus")
    assert re.search(rf"^\s+{other}\s+\d+\s+[0-9a-f]+ OF 0\s+0 ", vcpus, re.M), vcpus


def test_xen_kexecd_on_the_cpu_it_said() -> None:
    said = re.search(r"\(XEN\) Hardware Dom0 crashed: Executing kexec image on cpu(\d+)", serial())
    assert said is not None
    pcpu = int(said.group(1))
    assert re.search(rf"^ \*\s+{pcpu} ", run("xen", "pcpus"), re.M)
    trace = run("xen", f"bt {pcpu}")
    assert frames(trace)[:3] == ["kexec_crash", "hwdom_shutdown", "domain_shutdown"], trace


@pytest.mark.parametrize("guest", ["dom1", "dom2"])
def test_domu_processes_as_their_consoles_said(guest: str) -> None:
    ground = (SAMPLES / NAME / "ground-truth.txt").read_text(errors="replace")
    name = {"dom1": "guest1", "dom2": "guest2"}[guest]
    ready = re.search(rf"GUEST {name} READY pids: (\d+) (\d+)", ground)
    if ready is None:
        pytest.skip(f"{name}'s console did not reach READY in this run")
    ps = run(guest, "ps")
    for pid, comm in zip(ready.groups(), (f"{name}-sleeper", f"{name}-worker")):
        assert re.search(rf"^[> ]\s+{pid}\s+1\s+.* {comm}$", ps, re.M), (pid, comm)
