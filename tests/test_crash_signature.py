"""Crash titles and signatures: the same crash in another format, or on another machine
with another KASLR offset and another build, has the same signature; different crashes
do not.  Titles follow syzbot's style; the log's report blocks and D-state tasks come
from the dump."""
from __future__ import annotations

import pytest

from conftest import LINUX_DIR, SAMPLES, XEN_DIR, need, open_sample, sample_manifest

import xcrash
from xcrash.targets.linux import crashinfo
from xcrash.targets.linux.crashinfo import _cause, title_of
from xcrash.targets.linux.logreports import LogReport, log_reports
from xcrash.targets.signature import CrashSite, function_name, normalise_message, signature
from xcrash.targets.xen.crashinfo import console_reason

_sites: dict[str, CrashSite | None] = {}


def site_of(path: str, *symbols: str) -> CrashSite | None:
    """The dump's crash site (the hypervisor's on a Xen host), once per file."""
    key = "\0".join((path, *symbols))
    if key not in _sites:
        from xcrash.report import crash_sites, dump_crash
        session = xcrash.open(path, *symbols)
        try:
            _sites[key] = dump_crash(crash_sites(session))
        finally:
            session.close()
    return _sites[key]


def sample_files(name: str) -> list[str]:
    return [str(SAMPLES / f["path"]) for f in sample_manifest()["dumps"][name]["files"]]


VMLINUX = str(SAMPLES / "symbols" / "vmlinux-6.1-xcrash.xz")


# -- pieces ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name, plain", [
    ("__handle_sysrq.cold", "__handle_sysrq"), ("nmi_panic.cold", "nmi_panic"),
    ("ext4_foo.isra.0", "ext4_foo"), ("f.constprop.12", "f"), ("g.part.3", "g"),
    ("h.isra.0.cold", "h"), ("k.llvm.1234567", "k"), ("vfs_write", "vfs_write"),
    ("a.b", "a.b")])
def test_compiler_suffixes_are_stripped(name: str, plain: str) -> None:
    assert function_name(name) == plain


def test_numbers_and_addresses_are_normalised() -> None:
    assert normalise_message("watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [xc:123]") == \
        "watchdog: BUG: soft lockup - CPU#N stuck for Ns! [xc:N]"
    assert normalise_message("BUG: unable to handle page fault for address: ffffc90000b7bfe8") == \
        "BUG: unable to handle page fault for address: ADDR"
    assert normalise_message("general protection fault, probably for non-canonical address "
                             "0xdead000000000100: 0000 [#1]") == normalise_message(
        "general protection fault, probably for non-canonical address 0xdead000000000122: "
        "0000 [#2]")


def test_signature_takes_five_frames_without_suffixes() -> None:
    frames = ["a", "b.isra.0", "c", "d", "e", "f"]
    assert signature("m 1", frames) == signature("m 2", ["a", "b", "c", "d", "e", "other"])
    assert signature("m", frames) != signature("m", ["a", "b", "c", "d", "x"])
    assert signature("m", frames) != signature("n", frames)
    assert len(signature("m", [])) == 16


@pytest.mark.parametrize("line, function, title", [
    ("BUG: kernel NULL pointer dereference, address: 0000000000000000", "xcrash_lab_write",
     "BUG: kernel NULL pointer dereference in xcrash_lab_write"),
    ("BUG: unable to handle page fault for address: ffffffffc0000000", "kstrtoull",
     "BUG: unable to handle page fault in kstrtoull"),
    ("BUG: unable to handle kernel paging request at ffffc90000000000", "f",
     "BUG: unable to handle kernel paging request in f"),
    ("kernel BUG at drivers/xcrash_lab.c:42!", "xcrash_lab_bug", "kernel BUG in xcrash_lab_bug"),
    ("WARNING: CPU: 1 PID: 300 at drivers/x.c:10 xcrash_lab_warn+0x1a/0x30 [xcrash_lab]", "g",
     "WARNING in g"),
    ("watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [xc-trigger:201]", "xcrash_lab_spin",
     "BUG: soft lockup in xcrash_lab_spin"),
    ("BUG: TASK stack guard page was hit at ffffc90000ca7ff8 (stack is ffffc90000ca8000..)",
     "recurse", "BUG: stack guard page was hit in recurse"),
    ("BUG: scheduling while atomic: xc/12/0x00000002", "f", "BUG: scheduling while atomic in f"),
    ("general protection fault, probably for non-canonical address 0xdead: 0000 [#1] SMP",
     "list_del", "general protection fault in list_del"),
    ("INFO: task xc-trigger:212 blocked for more than 5 seconds.", "xcrash_lab_hang",
     "INFO: task hung in xcrash_lab_hang"),
    ("Kernel panic - not syncing: sysrq triggered crash", "sysrq_handle_crash",
     "Kernel panic - not syncing: sysrq triggered crash in sysrq_handle_crash"),
    ("Kernel panic - not syncing: NMI: Not continuing", None,
     "Kernel panic - not syncing: NMI: Not continuing"),
])
def test_titles_in_syzbots_style(line: str, function: str | None, title: str) -> None:
    assert title_of(line, function) == title


LOG = """\
Run /init as init process
WARNING: CPU: 0 PID: 1 at drivers/early.c:5 early_warn+0x5/0x10
Modules linked in:
CPU: 0 PID: 1 Comm: init Not tainted 6.12.0 #1
RIP: 0010:early_warn+0x5/0x10
Call Trace:
 <TASK>
 ? __warn+0x7d/0x130
 do_one_initcall+0x40/0x200
 </TASK>
---[ end trace 0000000000000000 ]---
random: crng init done
BUG: kernel NULL pointer dereference, address: 0000000000000000
#PF: supervisor write access in kernel mode
Oops: 0002 [#1] PREEMPT SMP NOPTI
CPU: 1 PID: 212 Comm: xc-trigger Tainted: G        W  OE      6.12.0 #1
RIP: 0010:xcrash_lab_write+0x12/0x30 [xcrash_lab]
Code: 00 00
Call Trace:
 <TASK>
 ? page_fault_oops+0x15b/0x2b0
 ? exc_page_fault+0x7b/0x170
 proc_reg_write+0x50/0x90
 vfs_write+0xc4/0x360
 </TASK>
Kernel panic - not syncing: Fatal exception
unrelated line after
"""


def lines_of(text: str) -> list[tuple[int, str]]:
    return [(i * 1000, line) for i, line in enumerate(text.splitlines())]


def test_log_blocks_and_the_fatal_one() -> None:
    reports = log_reports(None, lines_of(LOG))    # type: ignore[arg-type]
    assert [r.kind for r in reports] == ["warning", "oops", "panic"]
    assert reports[0].lines[-1].startswith("---[ end trace")
    assert reports[1].lines[2].startswith("Oops: 0002")     # the Oops line joins its BUG
    assert reports[1].lines[-1] == " </TASK>"
    assert reports[2].lines == ["Kernel panic - not syncing: Fatal exception"]
    # the panic only says the oops was fatal: the oops is the cause, not the warning
    cause = _cause(reports)
    assert cause is reports[1]
    assert crashinfo._block_functions(cause, crashinfo.MACHINERY) == \
        ["xcrash_lab_write", "proc_reg_write", "vfs_write"]


def test_a_panic_of_its_own_is_the_cause() -> None:
    reports = log_reports(None, lines_of(  # type: ignore[arg-type]
        LOG.split("random:")[0] + "Kernel panic - not syncing: sysrq triggered crash\n"))
    assert _cause(reports) is reports[-1]
    assert _cause([LogReport("call trace", 0, ["Call Trace:"])]) is None


def test_xen_console_reasons() -> None:
    key = console_reason(["(XEN) 'C' pressed -> triggering crashdump".removeprefix("(XEN) ")])
    assert key is not None and key.kind == "crash key"
    panic = console_reason(["****************************************", "Panic on CPU 3:",
                            "FATAL TRAP: vector = 14 (page fault)", "[error_code=0000]",
                            "****************************************", "Reboot in five seconds"])
    assert panic is not None and (panic.kind, panic.cpu) == ("panic", 3)
    assert panic.message == "FATAL TRAP: vector = 14 (page fault) [error_code=0000]"
    assert console_reason(["nothing to see"]) is None


# -- real dumps -------------------------------------------------------------------------------
def test_one_crash_in_three_formats_is_one_signature() -> None:
    sites = [site_of(path, VMLINUX) for path in sample_files("linux-sysrq")]
    assert len(sites) == 3
    assert all(s is not None for s in sites)
    assert len({s.signature for s in sites}) == 1         # type: ignore[union-attr]
    site = sites[0]
    assert site is not None
    assert site.title == "Kernel panic - not syncing: sysrq triggered crash in sysrq_handle_crash"
    assert site.frames[:5] == ["sysrq_handle_crash", "__handle_sysrq", "write_sysrq_trigger",
                               "proc_reg_write", "vfs_write"]
    assert (site.pid, site.comm, site.cpu) == (255, "xc-crasher", 0)


def test_same_crash_on_another_machine_and_build_is_the_same_signature() -> None:
    """The shared sysrq dump: another build of 6.1 (kdumplab), another KASLR offset,
    another CPU and PID, the same crash."""
    other = site_of(str(need(LINUX_DIR / "vmcore-d31.kdump")), str(need(LINUX_DIR / "vmlinux.xz")))
    here = site_of(sample_files("linux-sysrq")[0], VMLINUX)
    assert other is not None and here is not None
    assert (other.pid, other.cpu) != (here.pid, here.cpu)
    assert other.signature == here.signature and other.title == here.title


def test_different_crashes_differ() -> None:
    sysrq = site_of(sample_files("linux-sysrq")[0], VMLINUX)
    nmi = site_of(sample_files("linux-nmi")[0], VMLINUX)
    assert sysrq is not None and nmi is not None
    assert nmi.title == "Kernel panic - not syncing: NMI: Not continuing"
    assert nmi.frames == []                   # all NMI machinery, then user mode
    xen = open_sample("xen-own")
    from xcrash.report import crash_sites, dump_crash
    xsite = dump_crash(crash_sites(xen))
    assert xsite is not None
    assert len({sysrq.signature, nmi.signature, xsite.signature}) == 3


def test_xen_crash_key_is_one_signature_on_three_hosts() -> None:
    """xen-own (DWARF), xen-debian (Debian's binary, symbols only: a stack scan) and the
    shared Xen dump (another machine, pCPU 1): the same crash key, the same signature."""
    from xcrash.report import crash_sites, dump_crash
    sites = [dump_crash(crash_sites(open_sample(n))) for n in ("xen-own", "xen-debian")]
    sites.append(site_of(str(need(XEN_DIR / "vmcore-d1.elf.xz")), str(need(XEN_DIR / "xen-syms.xz"))))
    assert all(s is not None for s in sites)
    assert [s.title for s in sites] == ["Xen: crash key on pCPU 0", "Xen: crash key on pCPU 1",  # type: ignore[union-attr]
                                        "Xen: crash key on pCPU 1"]
    assert len({s.signature for s in sites}) == 1         # type: ignore[union-attr]
    assert sites[0].frames == ["do_crashdump_trigger", "handle_keypress", "do_sysctl"]  # type: ignore[union-attr]


def test_guests_of_a_crashed_host_did_not_crash() -> None:
    session = open_sample("xen-own")
    for name in ("dom0", "dom1", "dom2"):
        assert crashinfo.crash_site(session.targets[name]) is None


def test_sleeping_tasks_waited_since_they_started() -> None:
    """The samples have no D-state task; the helper's clock is checked on the sleeping
    ones: `sleep` (pid 57) started between the log's 'first kernel up' (3.47 s) and
    'processes started' (6.59 s) and slept until the crash (12.21 s)."""
    sysrq = open_sample("linux-sysrq")
    assert crashinfo.blocked_tasks(sysrq.targets["kernel"]) == []
    sleeping = {b.pid: b for b in crashinfo.blocked_tasks(sysrq.targets["kernel"], ("IN", "ST"))}
    sleep = sleeping[57]
    assert (sleep.comm, sleep.state) == ("sleep", "IN")
    assert isinstance(sleep.waited_ns, int)
    assert 12.21 - 6.60 < sleep.waited_ns / 1e9 < 12.21 - 3.46
    assert sleeping[64].state == "ST"
    waits = [b.waited_ns for b in sleeping.values() if isinstance(b.waited_ns, int)]
    assert len(waits) == len(sleeping) and waits == sorted(waits, reverse=True)


def test_no_module_on_the_sample_kernels() -> None:
    assert crashinfo.module_notes(open_sample("linux-sysrq").targets["kernel"]) == []


@pytest.mark.parametrize("line, signed", [
    ("INFO: task xc-trigger:422 blocked for more than 5 seconds.",
     "INFO: task blocked for more than 5 seconds."),
    ("watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [xc-trigger:201]",
     "watchdog: BUG: soft lockup - CPU#1 stuck for 22s!"),
    ("BUG: scheduling while atomic: xc/12/0x00000002", "BUG: scheduling while atomic"),
    ("Kernel panic - not syncing: sysrq triggered crash",
     "Kernel panic - not syncing: sysrq triggered crash")])
def test_the_task_that_hit_it_is_not_in_the_signature(line: str, signed: str) -> None:
    assert crashinfo.signed_message(line) == signed
    other = line.replace("xc-trigger", "kworker/0:1").replace("xc/12", "sh/99")
    assert signature(crashinfo.signed_message(other), ["f"]) == signature(signed, ["f"])


def test_without_xen_syms_the_title_says_what_is_missing() -> None:
    """No xen-syms: Xen's own symbol table in the dump gives the site its DWARF gives;
    with no Xen symbols at all (none from memory either), the title says what is
    missing."""
    from xcrash.report import crash_sites, dump_crash
    site = site_of(sample_files("xen-own")[0])
    full = dump_crash(crash_sites(open_sample("xen-own")))
    assert site is not None and full is not None
    assert (site.title, site.signature, site.frames) == (full.title, full.signature, full.frames)
    session = xcrash.open(sample_files("xen-own")[0], memory_symbols=False)
    try:
        bare = dump_crash(crash_sites(session))
    finally:
        session.close()
    assert bare is not None and bare.kind == "unknown"
    assert bare.title == "Xen: crash, reason unknown (no xen-syms: its console and stacks unread)"
