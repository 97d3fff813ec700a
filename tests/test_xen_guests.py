"""Xen guest targets (issue 7) on the shared Xen 4.17 host dump: dom0 and the two
PV domUs, each a Linux target, against crash 8.0.6's dom0 session
(crash-ref/dom0-vmlinux.vmcore-d1.elf.txt) and the guests' own console logs
(DUMP-DESCRIPTION.txt)."""
from __future__ import annotations

import re

import pytest

from conftest import XEN_DIR, need, run

REF = XEN_DIR / "crash-ref" / "dom0-vmlinux.vmcore-d1.elf.txt"


@pytest.fixture(scope="module")
def session():
    import xcrash
    return xcrash.open(str(need(XEN_DIR / "vmcore-d1.elf.xz")),
                       str(need(XEN_DIR / "xen-syms.xz")), str(need(XEN_DIR / "vmlinux.xz")))


def ref_ps() -> list[str]:
    lines = need(REF).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("      PID    PPID  CPU"))
    block = [lines[start]]
    for line in lines[start + 1:]:
        if not re.match(r"[> ] +\d+ +\d+ +\d+  [0-9a-f]{16}", line):
            break
        block.append(line)
    return block


def test_every_domain_is_a_target_matched_to_its_vmlinux(session) -> None:
    assert list(session.targets) == ["xen", "dom0", "dom1", "dom2"]
    for name in ("dom0", "dom1", "dom2"):
        t = session.targets[name]
        assert t.kind == "linux" and t.symfile is not None
        assert any(m.startswith(f"{name}: ") and "build-id" in m and "match" in m
                   for m in session.messages), session.messages
    assert [session.targets[n].domain.domain_id for n in ("dom0", "dom1", "dom2")] == [0, 1, 2]


def test_pv_guests_are_not_randomised_and_use_the_guest_direct_map(session) -> None:
    for name in ("dom0", "dom1", "dom2"):
        t = session.targets[name]
        assert t.layout.kaslr_offset == 0
        assert t.space.page_offset == 0xFFFF888000000000
        assert t.banner.startswith("Linux version 6.1.192-kdumplab")


def test_dom0_ps_equals_crash_row_for_row(session) -> None:
    assert run(session, "ps", "dom0").splitlines() == ref_ps()


def test_dom0_bt_a_unwinds_both_vcpus(session) -> None:
    out = run(session, "bt -a", "dom0")
    blocks = out.split("\n\n")
    assert len(blocks) == 2
    assert 'CPU: 0    COMMAND: "swapper/0"' in blocks[0]
    assert "xen_safe_halt" in blocks[0] and "start_kernel" in blocks[0]
    # the vCPU that ran `xl debug-keys C`: in the kernel through the privcmd hypercall
    assert 'PID: 114      TASK: ffff888000395b00  CPU: 1    COMMAND: "xl"' in blocks[1]
    for fn in ("xen_hypercall_pv", "privcmd_ioctl", "__x64_sys_ioctl", "do_syscall_64",
               "entry_SYSCALL_64_after_hwframe"):
        assert fn in blocks[1]


def test_vcpu_registers_come_from_the_hypervisor(session) -> None:
    dom0 = session.targets["dom0"]
    assert [c.source for c in dom0.cpus] == ["Xen pCPU 0 guest frame (cpu_info)",
                                            "Xen pCPU 1 guest frame (cpu_info)"]
    assert all(c.kernel_mode and c.guest_cs == 0xE033 for c in dom0.cpus)
    dom2 = session.targets["dom2"]
    assert [c.source for c in dom2.cpus] == ["vcpu context (arch.user_regs)"] * 2
    out = run(session, "bt -a", "dom2")
    assert out.count("xen_safe_halt") == 2 and "cpu_bringup_and_idle" in out


@pytest.mark.parametrize("name,guest,pids", [("dom1", "guest1", (42, 43)),
                                             ("dom2", "guest2", (48, 49))])
def test_domu_ps_and_log_are_the_guests_own(session, name: str, guest: str, pids) -> None:
    rows = run(session, "ps", name).splitlines()
    for pid, role in zip(pids, ("sleeper", "worker")):
        assert any(re.match(rf"[> ] +{pid} +1 .* {guest}-{role}$", r) for r in rows), rows
    other = "guest2" if guest == "guest1" else "guest1"
    assert not any(other in r for r in rows)
    log = run(session, "log", name)
    assert log.startswith("[    0.000000] Linux version 6.1.192-kdumplab")
    assert f"guestname={guest}" in log and f"guestname={other}" not in log
    assert re.search(rf"NODENAME: {guest}\b", run(session, "sys", name))


def test_search_finds_each_guests_markers_in_its_memory_only(session) -> None:
    hits = run(session, "search -c -n 20 XENDUMP-MARKER-guest1", "dom1").splitlines()
    assert len(hits) == 21 and all("XENDUMP-MARKER-guest1-43" in h for h in hits[:-1])
    assert run(session, "search -c XENDUMP-MARKER-guest2", "dom1") == ""
    hits = run(session, "search -c -n 3 XENDUMP-MARKER-guest2", "dom2").splitlines()
    assert all("XENDUMP-MARKER-guest2-" in h for h in hits[:-1])
    assert any("XENDUMP-MARKER-guest2-49" in h for h in hits[:-1])
    assert run(session, "search -c XENDUMP-MARKER-guest1", "dom2") == ""


def test_target_lists_and_switches(session) -> None:
    out = run(session, "target", "xen")
    lines = out.splitlines()
    assert lines[1].startswith(">  xen")
    assert re.search(r"dom1 +1  PV linux +1  64 MiB +6\.1\.192-kdumplab +guest1 ", out)
    assert re.search(r"dom2 +2  PV linux +2  64 MiB +6\.1\.192-kdumplab +guest2 ", out)
    assert run(session, "dom 2").startswith("target: dom2")
    assert session.current is session.targets["dom2"]
    run(session, "target xen")


def test_vtop_walks_the_guest_tables_in_machine_memory(session) -> None:
    out = run(session, "vtop ffff888000070000 ffffc90000273ed0", "dom2").splitlines()
    assert out[:2] == ["VIRTUAL           PHYSICAL         MACHINE",
                       "ffff888000070000  70000            27a70000"]
    assert "DIRECT MAP + P2M: pseudo-physical 0x70000; pfn 0x70 -> mfn 0x27a70" in out
    assert "   PTE: 2a626380 => 10000027a70067" in out
    # a vmalloc'ed stack: walked only, its pseudo-physical address from Xen's m2p
    assert "ffffc90000273ed0  148ed0           27b48ed0" in out


def test_batch_switches_target(capsys: pytest.CaptureFixture[str]) -> None:
    from xcrash import cli
    vmcore = str(need(XEN_DIR / "vmcore-d1.elf.xz"))
    status = cli.main(["-s", "-c", "target dom2", "-c", "ps", vmcore,
                       str(XEN_DIR / "xen-syms.xz"), str(XEN_DIR / "vmlinux.xz")],
                      fast_exit=False)
    out = capsys.readouterr().out
    assert status == 0
    assert "guest2-worker" in out and "guest1-worker" not in out


def test_sym_override_and_a_domain_without_symbols(capsys: pytest.CaptureFixture[str]) -> None:
    import xcrash
    vmcore = str(need(XEN_DIR / "vmcore-d1.elf.xz"))
    s = xcrash.open(vmcore, str(XEN_DIR / "xen-syms.xz"),
                    symbols_for={"dom1": str(XEN_DIR / "vmlinux.xz")}, memory_symbols=False)
    assert s.targets["dom1"].symfile is not None
    assert s.targets["dom0"].symfile is None and s.targets["dom2"].symfile is None
    assert any(m.startswith("dom1: ") and "--sym" in m for m in s.messages)
    # no symbols: the memory commands still work on the guest's own memory
    hits = run(s, "search -c -n 2 XENDUMP-MARKER-guest2", "dom2").splitlines()
    assert hits and "XENDUMP-MARKER-guest2" in hits[0]
    assert run(s, "rd ffff888000070000", "dom2").startswith("ffff888000070000:  ")
    with pytest.raises(Exception, match="no symbol file"):
        s.run("ps")


def _ref_text() -> str:
    return need(REF).read_text()


def test_dom0_sys_log_kmem_equal_crash(session) -> None:
    ref = _ref_text().splitlines()
    sys_out = run(session, "sys", "dom0").splitlines()
    # KERNEL/DUMPFILE are the paths as given; the rest equals crash's
    start = ref.index("        CPUS: 2")
    assert sys_out[2:] == ref[start:start + len(sys_out) - 2]
    # the reference is crash 8.0.6's, which always shows SHARED (9.0.2: only -i=shared)
    for cmd in ("log", "kmem -i=shared"):
        out = run(session, cmd, "dom0").splitlines()
        i = ref.index(out[0])
        assert out == ref[i:i + len(out)], cmd


def test_dom0_foreach_bt_equals_crash_and_unwinds_what_crash_could_not(session) -> None:
    ref = {b.splitlines()[0]: b for b in _ref_text().split("\n\n") if b.startswith("PID:")}
    blocks = run(session, "foreach bt", "dom0").split("\n\n")
    assert len(blocks) == 48
    differ = [b.splitlines()[0] for b in blocks if ref.get(b.splitlines()[0]) != b]
    # crash: "starting backtrace locations of the active (non-crashing) xen tasks
    # cannot be determined" for the two tasks running on dom0's vCPUs
    assert differ == ['PID: 0        TASK: ffffffff81e14600  CPU: 0    COMMAND: "swapper/0"',
                      'PID: 114      TASK: ffff888000395b00  CPU: 1    COMMAND: "xl"']


def test_target_at_start_up_and_the_prompt(capsys: pytest.CaptureFixture[str]) -> None:
    from xcrash import cli
    vmcore = str(need(XEN_DIR / "vmcore-d1.elf.xz"))
    status = cli.main(["-s", "--target", "dom1", "-c", "ps guest1-worker", vmcore,
                       str(XEN_DIR / "xen-syms.xz"), str(XEN_DIR / "vmlinux.xz")],
                      fast_exit=False)
    assert status == 0 and "guest1-worker" in capsys.readouterr().out


def test_prompt_names_the_guest(session) -> None:
    from xcrash.shell.repl import prompt_text
    from xcrash.engine.runner import Runner
    session.select("dom2")
    assert prompt_text(Runner(session)) == "xcrash:dom2> "
    session.select("xen")


def test_p2m_tree_synthetic() -> None:
    """The frame-list-list walk on a made-up machine memory (no dump needed)."""
    import struct as st

    from xcrash.errors import MemoryError_
    from xcrash.memory.xen_pv import INVALID_P2M_ENTRY, P2m

    pages: dict[int, bytes] = {}

    def page(mfn: int, entries: list[int]) -> None:
        pages[mfn] = st.pack("<512Q", *(entries + [INVALID_P2M_ENTRY] * (512 - len(entries))))

    page(0x10, [0x11])                      # top: one mid page
    page(0x11, [0x12, 0x13])                # mid: two leaves
    page(0x12, [0x100, 0x101, INVALID_P2M_ENTRY, (1 << 62) | 0x55])   # identity frame skipped
    page(0x13, [0x200])
    pages[0x100] = b"A" * 4096
    pages[0x101] = b"B" * 4096

    class Machine:
        def read(self, paddr: int, size: int) -> bytes:
            data = pages.get(paddr >> 12)
            if data is None:
                raise MemoryError_(f"no page {paddr:#x}", paddr)
            off = paddr & 0xFFF
            return data[off:off + size]

    p2m = P2m(Machine(), 0x10, max_pfn=1024)
    assert [p2m.mfn(i) for i in range(4)] == [0x100, 0x101, None, None]
    assert p2m.mfn(512) == 0x200 and p2m.mfn(5000) is None
    assert list(p2m.frames()) == [(0, 0x100), (1, 0x101), (512, 0x200)]
    assert p2m.ranges() == [(0, 0x2000), (0x200000, 0x201000)]
    assert p2m.read(0xFFE, 4) == b"AABB"
    with pytest.raises(MemoryError_):
        p2m.read(0x2000, 1)


def test_each_domain_takes_the_vmlinux_whose_banner_is_in_its_memory() -> None:
    """Another kernel's vmlinux given first (the Linux dump's, a different build) is
    passed over for every domain; alone, it serves none, and says why."""
    import xcrash
    from conftest import LINUX_DIR
    vmcore = str(need(XEN_DIR / "vmcore-d1.elf.xz"))
    other = str(need(LINUX_DIR / "vmlinux.xz"))
    s = xcrash.open(vmcore, str(XEN_DIR / "xen-syms.xz"), other, str(XEN_DIR / "vmlinux.xz"))
    assert all(s.targets[n].symfile.path == str(XEN_DIR / "vmlinux.xz")
               for n in ("dom0", "dom1", "dom2"))
    s = xcrash.open(vmcore, str(XEN_DIR / "xen-syms.xz"), other, memory_symbols=False)
    assert all(s.targets[n].symfile is None for n in ("dom0", "dom1", "dom2"))
    assert any(m.startswith("dom2: no symbol file") and "linux_banner differs" in m
               for m in s.messages)
    # with its own memory's symbols allowed, each domain says the file did not fit
    s = xcrash.open(vmcore, str(XEN_DIR / "xen-syms.xz"), other, find_symbols=False)
    for n in ("dom0", "dom1", "dom2"):
        assert s.targets[n].symfile.path == "(the dump: kallsyms, BTF, ORC)"
        assert any(m.startswith(f"{n}: (the dump: kallsyms, BTF, ORC): no vmlinux matches its "
                                f"linux_banner ({other}: linux_banner differs): symbols from "
                                "its memory") for m in s.messages), s.messages
