"""Debian's binary hypervisors with Debian's generic kernels as dom0 and two PV domUs.

Xen 4.20 with 6.12: dom0 panicked by itself (sysrq c), took its other vCPU down
(``VCPUOP_down`` from ``stop_self``) and Xen kexec'd.  Xen 4.14 with 5.10: ``xl debug-keys
C`` in dom0, the hypervisor crashed; Debian ships no -dbg for it, so no xen-syms exists
anywhere.  crash opens neither (4.20: not at all; 4.14: it needs a xen-syms), so xcrash is
the reference here and the consoles judge: dom0's own panic report and Call Trace and
Xen's lines in serial.log, ``xl list``/``xl vcpu-list`` and the domUs' READY lines in
ground-truth.txt.  The dumps are read alone: the hypervisor's symbols come from Xen's own
table in its image, dom0's and the domUs' from their kallsyms, BTF and ORC (Debian's 4.20
-dbg xen-syms, which has DWARF, reads the same: not shipped, for the budget).
"""
from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest

from conftest import SAMPLES, present, sample_manifest

NAME = "xen-4.20-dom0-panic"
XEN_4_14 = "xen-4.14-crash"
DUMPS = sample_manifest()["dumps"]

needs_4_20 = pytest.mark.skipif(NAME not in DUMPS, reason=f"{NAME} is not in sample-dumps")
needs_4_14 = pytest.mark.skipif(XEN_4_14 not in DUMPS, reason=f"{XEN_4_14} is not in sample-dumps")


@cache
def session(name: str = NAME):
    import xcrash
    return xcrash.open(str(SAMPLES / DUMPS[name]["files"][0]["path"]))


def run(target: str, command: str, name: str = NAME) -> str:
    s = session(name)
    s.run(f"target {target}")
    return s.run(command)


def serial(name: str = NAME) -> str:
    return (SAMPLES / name / "serial.log").read_text(errors="replace")


def ground_truth(name: str) -> str:
    return (SAMPLES / name / "ground-truth.txt").read_text(errors="replace")


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


@needs_4_20
def test_dom0_panic_as_its_console_reported_it() -> None:
    cpu, pid, comm, _ = panic_report()
    sys = run("dom0", "sys")
    assert 'PANIC: "Kernel panic - not syncing: sysrq triggered crash"' in sys
    assert re.search(r"CPUS: 2 \[OFFLINE: 1\]", sys)
    ps = run("dom0", "ps")
    assert re.search(rf"^>\s+{pid}\s+\d+\s+{cpu}\s+\S+\s+RU .* {comm}$", ps, re.M)


@needs_4_20
def test_panic_trace_is_the_kernels_call_trace() -> None:
    cpu, pid, _, functions = panic_report()
    ours = frames(run("dom0", f"bt {pid}"))
    # the console's trace starts in dump_stack_lvl (called by panic); the dump's where panic
    # handed over to Xen: compare from panic on
    assert ours[ours.index("panic"):] == functions[functions.index("panic"):]


@needs_4_20
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


@needs_4_20
def test_xen_kexecd_on_the_cpu_it_said() -> None:
    said = re.search(r"\(XEN\) Hardware Dom0 crashed: Executing kexec image on cpu(\d+)", serial())
    assert said is not None
    pcpu = int(said.group(1))
    assert re.search(rf"^ \*\s+{pcpu} ", run("xen", "pcpus"), re.M)
    trace = run("xen", f"bt {pcpu}")
    assert frames(trace)[:3] == ["kexec_crash", "hwdom_shutdown", "domain_shutdown"], trace


@pytest.mark.parametrize("dump", [NAME, XEN_4_14])
@pytest.mark.parametrize("guest", ["dom1", "dom2"])
def test_domu_processes_as_their_consoles_said(dump: str, guest: str) -> None:
    if dump not in DUMPS:
        pytest.skip(f"{dump} is not in sample-dumps")
    name = {"dom1": "guest1", "dom2": "guest2"}[guest]
    ready = re.search(rf"GUEST {name} READY pids: (\d+) (\d+)", ground_truth(dump))
    if ready is None:
        pytest.skip(f"{name}'s console did not reach READY in this run")
    ps = run(guest, "ps", dump)
    for pid, comm in zip(ready.groups(), (f"{name}-sleeper", f"{name}-worker")):
        assert re.search(rf"^[> ]\s+{pid}\s+1\s+.* {comm}$", ps, re.M), (pid, comm)


# ---------------------------------------------------------------- Xen 4.14, no xen-syms anywhere

def xl_table(name: str, what: str) -> list[list[str]]:
    """The rows ``xl list`` or ``xl vcpu-list`` printed in dom0 before the crash."""
    rows = re.findall(rf"^XCRASH-GT xl {what}: (.*)$", ground_truth(name), re.M)
    return [r.split() for r in rows[1:]]


@needs_4_14
def test_4_14_crashed_on_the_pcpu_xen_said() -> None:
    """'C' pressed in dom0 (xl debug-keys): Xen kexecs on the pCPU it names; that pCPU's
    trace is the key handler's, the other pCPU was stopped by the crash NMI."""
    said = re.search(r"\(XEN\) Executing kexec image on cpu(\d+)", serial(XEN_4_14))
    assert said is not None and "'C' pressed -> triggering crashdump" in serial(XEN_4_14)
    pcpu = int(said.group(1))
    assert re.search(rf"^ \*\s+{pcpu} ", run("xen", "pcpus", XEN_4_14), re.M)
    names = frames(run("xen", f"bt {pcpu}", XEN_4_14))
    chain = ["kexec_crash", "do_crashdump_trigger", "handle_keypress", "do_sysctl"]
    assert names[names.index("kexec_crash"):][:4] == chain, names
    other = frames(run("xen", f"bt {1 - pcpu}", XEN_4_14))
    assert other[:2] == ["elf_core_save_regs", "do_nmi_crash"] and "idle_loop" in other, other
    assert run("xen", "log", XEN_4_14).splitlines()[-3:] == [
        "(XEN) 'C' pressed -> triggering crashdump",
        f"(XEN) Executing kexec image on cpu{pcpu}", "(XEN) Shot down all CPUs"]


@needs_4_14
def test_4_14_domains_and_vcpus_as_xl_listed_them() -> None:
    listed = {int(r[1]): (int(r[2]), int(r[3])) for r in xl_table(XEN_4_14, "list")}
    doms = [line[2:].split() for line in run("xen", "doms", XEN_4_14).splitlines()[1:]
            if re.match(r"^[> ][* ] *\d+ ", line)]
    got = {int(r[0]): (int(r[5], 16) * 4096 >> 20, int(r[6])) for r in doms if int(r[0]) < 0x7ff0}
    assert got == listed                # MiB from TOTPAGE, and the vCPU count
    vcpus = [line.split() for line in run("xen", "vcpus", XEN_4_14).splitlines()[1:]]
    per_domain = sorted((int(r[-2]), int(r[-7])) for r in vcpus      # (domain, vCPU id)
                        if len(r) >= 7 and r[-2].isdigit() and int(r[-2]) < 0x7FF0)
    assert per_domain == sorted((int(r[1]), int(r[2])) for r in xl_table(XEN_4_14, "vcpu-list"))


@needs_4_14
def test_4_14_dom0_was_running_xl_in_the_hypercall() -> None:
    """The crashing pCPU ran dom0's vCPU that was inside ``xl debug-keys``: dom0's trace of
    xl ends in the sysctl hypercall, made through privcmd's ioctl."""
    ps = run("dom0", "ps", XEN_4_14)
    xl = re.search(r"^>\s+(\d+)\s+\d+\s+\d+\s+\S+\s+RU .* xl$", ps, re.M)
    assert xl is not None, ps
    assert frames(run("dom0", f"bt {xl.group(1)}", XEN_4_14))[:2] == [
        "xen_hypercall_sysctl", "privcmd_ioctl"]
    assert run("dom0", "sys", XEN_4_14).count("RELEASE: 5.10.0-32-amd64") == 1


@needs_4_14
def test_4_14_sys_without_xen_syms() -> None:
    sys = run("xen", "sys", XEN_4_14)
    assert "RELEASE: 4.14.6" in sys and "KERNEL: (the dump: Xen's own table)" in sys
    assert re.search(r"UPTIME: 00:0\d:\d\d", sys) and "MACHINE: QEMU TCG CPU" in sys, sys


@needs_4_14
def test_4_14_guest_vmcoreinfo_found_in_bulk_as_page_by_page(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path) -> None:
    """dom0's VMCOREINFO page among its frames: the dump's pages read a run at a time
    (each guest's start-up) find what reading every frame's head finds; the next
    opening takes the pages found from the dump's facts, without a look at the frames."""
    from xcrash.memory.xen_pv import P2m
    from xcrash.targets.xen import guestsyms
    xen = session(XEN_4_14).targets["xen"]
    p2m = P2m(xen.dump, xen.xen.dom0_p2m_frame_list_list, name="dom0 p2m")

    def found() -> list[int]:
        return [where for where, _ in guestsyms.vmcoreinfo_pages(xen.dump, p2m)]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "bulk"))
    bulk = found()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "by-frame"))
    with monkeypatch.context() as m:
        m.setattr(guestsyms, "frames_beginning_with", lambda *args: None)
        assert bulk and bulk == found()
    monkeypatch.setattr(P2m, "frames", lambda self: iter(()))   # no frames to look at
    assert found() == bulk                                      # the stored fact
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty"))
    assert found() == []


@needs_4_14
def test_4_14_guests_of_one_build_share_one_symbol_table() -> None:
    """The PV guests run one kernel build: its kallsyms table and BTF are held once per
    process, not once per guest (a host of nine domains: 462 MiB for `ps` in each before,
    136 MiB after)."""
    s = session(XEN_4_14)
    one, two = (s.targets[name].symfile for name in ("dom1", "dom2"))
    assert one is not None and two is not None and one.build_id == two.build_id
    assert one.symbols._core.names is two.symbols._core.names
    assert one.btf is not None and two.btf is not None
    assert one.btf._records is two.btf._records
    assert run("dom1", "sym schedule", XEN_4_14) == run("dom2", "sym schedule", XEN_4_14)


@needs_4_14
def test_4_14_page_owners_counted_once_and_kept(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """TOTPAGE without DWARF counts the frame table's owners (a page_info at a time, one
    C-level unpack a piece); the counts are kept for the dump's next opening."""
    import struct

    import xcrash
    from xcrash.dump import facts
    from xcrash.targets.xen.domains_untyped import _entry_reader
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = str(SAMPLES / DUMPS[XEN_4_14]["files"][0]["path"])
    xen: Any = xcrash.open(path, target="xen", memory_symbols=False).targets["xen"]
    counts = xen.page_owner_counts
    assert counts and facts.load(path, "xen-page-owners") == counts
    assert sum(counts.values()) == (320 + 128 + 128) * 256      # dom0 and the two domUs
    # the two members in either order, and a layout that does not hold together
    entry = struct.pack("<Q8xI12x", 1 << 63 | 1, 0x1234) * 2
    assert list(present(_entry_reader(32, 16, 0))(entry)) == [(1 << 63 | 1, 0x1234)] * 2
    swapped = struct.pack("<4xI8xQ8x", 0x1234, 5)
    assert list(present(_entry_reader(32, 4, 16))(swapped)) == [(5, 0x1234)]
    assert _entry_reader(32, 4, 0) is None
