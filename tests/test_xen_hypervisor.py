"""The Xen hypervisor target on the shared Xen 4.17 dump, against crash 8.0.6's
hypervisor-mode outputs (crash-ref/xen-syms.vmcore-d1.elf.txt)."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from conftest import XEN_DIR, need, run

REF = XEN_DIR / "crash-ref" / "xen-syms.vmcore-d1.elf.txt"


@pytest.fixture(scope="module")
def xen_session():
    import xcrash
    return xcrash.open(str(need(XEN_DIR / "vmcore-d1.elf.xz")), str(need(XEN_DIR / "xen-syms.xz")))


def ref_block(header_start: str, row: str) -> list[str]:
    """The header line starting with ``header_start`` and the rows matching ``row``
    right after it, from crash's reference output."""
    lines = need(REF).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    block = [lines[start]]
    for line in lines[start + 1:]:
        if not re.match(row, line):
            break
        block.append(line)
    return block


def test_xen_target_is_current(xen_session) -> None:
    target = xen_session.current
    assert target.kind == "xen" and target.name == "xen"
    assert target.space.xen_phys_start == 0x3f800000          # crash: p xen_phys_start
    assert target.space.virt_start == 0xffff82d040000000
    assert target.crashing_cpu == 1                           # crashing_cpu.1
    assert sorted(target.cpu_notes) == [0, 1]


def test_doms_equal_crash(xen_session) -> None:
    assert run(xen_session, "doms").splitlines() == ref_block("   DID ", r"^[> ][* ] *\d+ ")


def test_vcpus_equal_crash(xen_session) -> None:
    assert run(xen_session, "vcpus").splitlines() == ref_block("   VCID ", r"^[> ][* ] *\d+ ")


def test_pcpus_equal_crash_but_tss(xen_session) -> None:
    ours = run(xen_session, "pcpus").splitlines()
    ref = ref_block("   PCID ", r"^ [* ] *\d+ ")
    assert ours[0] == ref[0] and len(ours) == len(ref) == 3
    for mine, theirs in zip(ours[1:], ref[1:]):
        assert mine.split()[:-1] == theirs.split()[:-1]
        assert theirs.split()[-1] == "0"                      # crash: no TSS on Xen >= 4.16
    # the TSS is inside per_cpu(tss_page), after ist_ssp[8]
    target = xen_session.current
    tss = [int(line.split()[-1], 16) for line in ours[1:]]
    for cpu, addr in enumerate(tss):
        page = target.per_cpu_address(target.address_of("per_cpu__tss_page"), cpu)
        assert addr == page + 64


def test_dumpinfo_equal_crash(xen_session) -> None:
    ours = run(xen_session, "dumpinfo").splitlines()
    assert ours == ref_block(" PCID ", r"^ +\d+ [0-9a-f]")
    assert [line.split()[0] for line in ours[1:]] == ["0", "1"]


def test_log_is_the_console_ring(xen_session) -> None:
    ours = run(xen_session, "log").splitlines()
    assert ours[0].startswith("(XEN) Xen version 4.17.5")
    assert ours[-3:] == ["(XEN) 'C' pressed -> triggering crashdump",
                         "(XEN) Executing kexec image on cpu1", "(XEN) Shot down all CPUs"]
    text = need(REF).read_text().splitlines()
    first = text.index(ours[0])
    assert text[first:first + len(ours)] == ours              # crash's log, line for line


def test_sys(xen_session) -> None:
    got = dict(re.findall(r"^\s*([A-Z][A-Z -]+): (.*)$", run(xen_session, "sys"), re.M))
    want = dict(re.findall(r"^\s*([A-Z][A-Z -]+): (.*)$", "\n".join(
        ref_block("   KERNEL:", r"^ +[A-Z]+: ")), re.M))
    for key in ("CPUS", "DOMAINS", "MACHINE", "MEMORY"):
        assert got[key] == want[key], key
    assert want["UPTIME"] == "--:--:--" and re.match(r"\d\d:\d\d:\d\d$", got["UPTIME"])
    assert got["RELEASE"] == "4.17.5"


def test_sched_per_unit(xen_session) -> None:
    lines = run(xen_session, "sched").splitlines()
    assert lines[0] == "Scheduler name : SMP Credit Scheduler rev2"
    rows = [line.split() for line in lines[3:]]
    # current vCPUs equal pcpus' CUR-VCPU; CPU 1's idle vCPU is idle_vcpu[1]
    assert [r[3] for r in rows] == ["ffff83003fcaf000", "ffff83003fd86000"]
    assert rows[1][4] == "ffff83003fdd8000"


def test_domain_and_vcpu_structs(xen_session) -> None:
    dom = run(xen_session, "domain").splitlines()
    assert dom[0] == "struct domain {" and "  domain_id = 0," in dom
    assert "  max_vcpus = 2," in dom and "  tot_pages = 65532," in dom
    assert "  domain_id = 2," in run(xen_session, "domain 2").splitlines()
    vcpu = run(xen_session, "vcpu").splitlines()
    assert vcpu[:3] == ["struct vcpu {", "  vcpu_id = 1,", "  processor = 1,"]
    assert "  vcpu_id = 1," in run(xen_session, "vcpu -i 2 1").splitlines()


def test_generic_commands_on_hypervisor_memory(xen_session) -> None:
    assert run(xen_session, "p xen_phys_start") == "xen_phys_start = $1 = 1065353216"
    assert run(xen_session, "rd -64 domain_list").split()[1] == "ffff83003ffc0000"
    assert run(xen_session, "sym ffff82d04022003c").split()[2] == "kexec_crash+108"
    vtop = run(xen_session, "vtop ffff82d0405ac400")
    assert "3fdac400" in vtop.splitlines()[1] and "PAGE: 3fdac000" in vtop
    assert "3ffc0000" in run(xen_session, "vtop ffff83003ffc0000").splitlines()[1]


def test_lazy_context_switch(xen_session) -> None:
    """pCPU 0 ran its idle vCPU with dom0's vCPU 0 state still loaded."""
    from xcrash.targets.xen.pcpus import pcpus
    p0, p1 = pcpus(xen_session.current)
    assert p0.lazy and p0.curr_vcpu == 0xffff83003fd8b000
    assert not p1.lazy and p1.curr_vcpu == p1.current_vcpu == 0xffff83003fd86000


# ---------------------------------------------------------------- without DWARF / xen-syms

@pytest.fixture(scope="module")
def stripped_xen_syms(tmp_path_factory, xen_session):
    objcopy = shutil.which("objcopy")
    if objcopy is None:
        pytest.skip("objcopy is not installed")
    out = tmp_path_factory.mktemp("xen") / "xen-syms"
    subprocess.run([objcopy, "--strip-debug", xen_session.current.symfile.real_path, str(out)],
                   check=True)
    return out


def _facts_rows(text: str) -> list[tuple[str, str, str]]:
    rows = [line[2:].split() for line in text.splitlines()[1:]
            if re.match(r"^[> ][* ] *\d+ ", line)]
    return [(r[0], r[1], r[5]) for r in rows]


def test_doms_without_dwarf(xen_session, stripped_xen_syms) -> None:
    import xcrash
    session = xcrash.open(str(XEN_DIR / "vmcore-d1.elf.xz"), str(stripped_xen_syms))
    from xcrash.targets.xen.hypervisor import XenTarget
    assert isinstance(session.current, XenTarget) and not session.current.has_types
    rows = _facts_rows(run(session, "doms"))
    full = _facts_rows(run(xen_session, "doms"))
    # same ids and domains; TOTPAGE (frame-table owners) equals tot_pages for real domains
    assert [r[:2] for r in rows] == [r[:2] for r in full]
    assert [r[2] for r in rows[3:]] == [r[2] for r in full[3:]] == ["fffc", "4000", "4000"]
    # vcpus and pcpus from the ELF symbols, struct domain/vcpu's fixed first members and
    # the runstate found as the one offset that agrees with what the pCPUs were running
    assert run(session, "vcpus") == run(xen_session, "vcpus")
    assert run(session, "pcpus") == run(xen_session, "pcpus")


def test_machine_target_without_xen_syms() -> None:
    import xcrash
    session = xcrash.open(str(need(XEN_DIR / "vmcore-d1.elf.xz")), memory_symbols=False)
    assert session.current.kind == "machine"
    assert list(session.targets) == ["machine", "xen"]
    assert "XEN: 4.17.5" in run(session, "sys")
    assert run(session, "rd -p 1000 2").splitlines()[-1].strip().startswith("1000:")
    xen = xcrash.open(str(XEN_DIR / "vmcore-d1.elf.xz"), target="xen")
    # no idle domain there: idle_vcpu is not among VMCOREINFO_XEN's symbols
    assert [r[:2] for r in _facts_rows(run(xen, "doms")) if int(r[0]) < 0x7ff0] == [
        ("0", "ffff83003ffc0000"), ("1", "ffff83003fcfd000"), ("2", "ffff83003fcf7000")]


# ---------------------------------------------------------------- bt

CRASH_CHAIN = ["kexec_crash", "do_crashdump_trigger", "handle_keypress", "do_sysctl",
               "pv_hypercall", "lstar_enter"]


def _frames(text: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s*#\d+ \[([0-9a-f]+)\] (\S+) at", text, re.M)


@pytest.mark.parametrize("method", ["cfi", "fp", "scan"])
def test_bt_crashing_cpu(xen_session, method: str) -> None:
    text = run(xen_session, f"bt -m {method}")
    assert text.startswith("PCPU:  1  VCPU: ffff83003fd86000")
    frames = _frames(text)
    assert [f for _, f in frames] == CRASH_CHAIN
    # the slots are crash's, without its stale frames between do_sysctl and pv_hypercall
    ref = dict((f, s) for s, f in _frames("\n".join(ref_block("PCPU:  1", r"^ *#\d+ "))))
    assert all(ref[f] == s for s, f in frames)
    assert "[domain 0 vcpu 1 registers]" in text and "CS: e033" in text
    others = [m for m in ("DWARF CFI", "frame pointers", "stack scan")
              if m != {"cfi": "DWARF CFI", "fp": "frame pointers", "scan": "stack scan"}[method]]
    assert all(f"{m}: same frames" in text for m in others)


def test_bt_all_nmi_cpu(xen_session) -> None:
    text = run(xen_session, "bt -a")
    cpu0, cpu1 = text.split("\n\n")
    assert [f for _, f in _frames(cpu1)] == CRASH_CHAIN
    assert [f for _, f in _frames(cpu0)] == ["do_nmi_crash", "do_nmi", "handle_ist_exception",
                                              "default_idle", "idle_loop"]
    assert "[exception RIP: default_idle+207]" in cpu0 and "--- <NMI exception stack> ---" in cpu0
    assert "domain 0 vcpu 0: its registers are still loaded here" in cpu0
    assert run(xen_session, "bt -c 0") == cpu0
    assert "(unwound by DWARF CFI; frame pointers: same frames; stack scan: same frames)" in cpu0


def test_bt_without_dwarf(stripped_xen_syms) -> None:
    """No .debug_frame, no types: frame pointers (the scan agrees), cpu_info found
    through the TSS's rsp0."""
    import xcrash
    session = xcrash.open(str(XEN_DIR / "vmcore-d1.elf.xz"), str(stripped_xen_syms))
    text = run(session, "bt -a")
    cpu0, cpu1 = text.split("\n\n")
    assert [f for _, f in _frames(cpu1)] == CRASH_CHAIN
    assert [f for _, f in _frames(cpu0)][-1] == "idle_loop"
    assert "(unwound by frame pointers; stack scan: same frames)" in cpu1
    assert cpu1.startswith("PCPU:  1  VCPU: ffff83003fd86000")
