"""The project's own sample dumps through xcrash's targets, expectations from MANIFEST.json.

Xen (own build with DWARF): each guest gets the vmlinux of its own kernel build (two
different builds), each domU runs the processes the manifest lists, markers stay in
their guest, `doms` equals crash's (patched) output, the crashing pCPU unwinds to
lstar_enter.  Xen (Debian's binary, symbols only): `doms` and a stack-scan `bt`.
Linux NMI: `bt` equals crash's but for the nmi_panic.cold frame crash drops.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import xcrash
from xcrash.targets.linux.kernel import LinuxTarget
from xcrash.targets.xen.hypervisor import XenTarget

SAMPLES = Path(__file__).resolve().parents[1] / "sample-dumps"
MANIFEST = SAMPLES / "MANIFEST.json"
MAN = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
pytestmark = pytest.mark.skipif(not MAN, reason="sample-dumps/MANIFEST.json is not here")

CRASH_CHAIN = ["kexec_crash", "do_crashdump_trigger", "handle_keypress", "do_sysctl",
               "pv_hypercall", "lstar_enter"]


def dump_file(name: str) -> str:
    return str(SAMPLES / MAN["dumps"][name]["files"][0]["path"])


def vmlinuxes() -> list[str]:
    return [str(SAMPLES / e["path"]) for n, e in sorted(MAN["symbols"].items())
            if n.startswith("vmlinux")]


@pytest.fixture(scope="module")
def xen_own():
    entry = MAN["dumps"]["xen-own"]
    return xcrash.open(dump_file("xen-own"), str(SAMPLES / entry["xen"]["xen_syms"]),
                       *vmlinuxes())


def functions(text: str) -> list[str]:
    return re.findall(r"^ ?#\d+ \[[0-9a-f]+\] (\S+) at", text, re.M)


def test_each_domain_gets_its_own_kernel_build(xen_own) -> None:
    for dom in MAN["dumps"]["xen-own"]["domains"]:
        target = xen_own.target(f"dom{dom['id']}")
        assert target.symfile.path.endswith(dom["kernel"]["vmlinux"]), dom["name"]
        assert target.utsname["release"] == dom["kernel"]["release"]


def test_each_domu_runs_what_the_manifest_says(xen_own) -> None:
    for dom in MAN["dumps"]["xen-own"]["domains"]:
        if dom["id"] == 0:
            continue
        xen_own.select(f"dom{dom['id']}")
        rows = {r["comm"]: r["pid"] for r in xen_own.run("ps -u", records=True)}
        for proc in dom["processes_started"]:
            assert rows.get(proc["comm"]) == proc["pid"], (dom["name"], proc)
    xen_own.select("xen")


def test_markers_are_found_in_their_own_guest_only(xen_own) -> None:
    try:
        xen_own.select("dom1")
        assert "XENDUMP-MARKER-guest1" in xen_own.run("search -c XENDUMP-MARKER-guest1 -n 1")
        assert xen_own.run("search -c XENDUMP-MARKER-guest2 -n 1").strip() == ""
    finally:
        xen_own.select("xen")


def test_doms_equals_crash(xen_own) -> None:
    ref = SAMPLES / MAN["dumps"]["xen-own"]["crash_ref"] / "patched" / "xen-syms" / "02-doms.txt"
    assert xen_own.run("doms").rstrip("\n") == ref.read_text().rstrip("\n")


def test_the_crashing_pcpu_unwinds_to_the_hypercall_entry(xen_own) -> None:
    text = xen_own.run("bt")
    cpu = MAN["dumps"]["xen-own"]["crashing_cpu"]
    assert text.startswith(f"PCPU:  {cpu} ")
    assert functions(text) == CRASH_CHAIN


def test_debian_binary_xen_without_dwarf() -> None:
    entry = MAN["dumps"]["xen-debian"]
    session = xcrash.open(dump_file("xen-debian"), str(SAMPLES / entry["xen"]["xen_syms"]))
    session.select("xen")
    doms = session.run("doms")
    vcpus = session.run("vcpus", records=True)
    for dom in entry["domains"]:
        row = re.search(rf"^[>* ]*\s*{dom['id']} ffff.*$", doms, re.M)
        assert row, dom["name"]
        # VCPU from the vCPU arrays read at struct domain's fixed offsets
        assert row.group(0).split()[-3] == str(dom["vcpus"]), row.group(0)
        assert len([v for v in vcpus if v["domain_id"] == dom["id"]]) == dom["vcpus"]
    # the crashing vCPU's domain and vCPU are marked even without DWARF (stack_base, cpu_info)
    assert re.search(r"^>\*\s+0 ffff", doms, re.M)
    [crashing] = [line.split() for line in session.run("vcpus").splitlines()
                  if line.startswith(">*")]
    assert crashing[2] == str(entry["crashing_cpu"]) and crashing[6] == "0"     # PCID, DOMID
    assert f" *    {entry['crashing_cpu']} ffff" in session.run("pcpus")
    text = session.run("bt")
    assert functions(text) == CRASH_CHAIN
    assert "(unwound by stack scan)" in text


def test_nmi_panic_bt_is_crashs_plus_the_frame_crash_drops() -> None:
    entry = MAN["dumps"]["linux-nmi"]
    session = xcrash.open(dump_file("linux-nmi"), str(SAMPLES / entry["kernel"]["vmlinux"]))
    ref = (SAMPLES / entry["crash_ref"] / "vmcore.elf" / "02-bt.txt").read_text()
    ours = functions(session.run("bt"))
    theirs = functions(ref)
    # crash skips nmi_panic, which called panic from its .cold block (a noreturn call)
    assert ours == theirs[:theirs.index("panic") + 1] + ["nmi_panic.cold"] + \
        theirs[theirs.index("panic") + 1:]


def _ref_commands(directory: Path) -> list[tuple[str, Path]]:
    """(command, file) for crash outputs named NN-cmd-opt.txt (``04-bt-a`` → ``bt -a``)."""
    out = []
    for path in sorted(directory.glob("[0-9][0-9]-*.txt")):
        words = path.stem.split("-")[1:]
        if words[0] in ("session", "sys"):       # paths as given / dmi: checked elsewhere
            continue
        command = " ".join([words[0]] + [w if w in ("bt", "files", "vm") else f"-{w}"
                                         for w in words[1:]])
        # crash 8.0.6's kmem -i always shows SHARED; 9.0.2 (and xcrash) only for -i=shared
        out.append(("kmem -i=shared" if command == "kmem -i" else command, path))
    return out


@pytest.mark.parametrize("fmt", ["vmcore.kdump", "vmcore.zstd.kdump", "vmcore.elf"])
def test_linux_sysrq_equals_crash(fmt: str) -> None:
    entry = MAN["dumps"]["linux-sysrq"]
    directory = SAMPLES / entry["crash_ref"] / fmt
    files = {Path(f["path"]).name: f["path"] for f in entry["files"]}
    dump = files.get(fmt) or files[fmt + ".xz"]
    session = xcrash.open(str(SAMPLES / dump), str(SAMPLES / entry["kernel"]["vmlinux"]))
    for command, path in _ref_commands(directory):
        want = "\n".join(line for line in path.read_text().splitlines()
                         if not line.startswith("WARNING: ")).strip("\n")
        assert session.run(command).strip("\n") == want, command


# ---------------------------------------------------------------- dom0 without Xen's DWARF

@pytest.fixture(scope="module")
def dom0_without_xen_syms():
    """`xcrash vmcore vmlinux...` on a Xen dump, as crash opens a dom0 session."""
    return xcrash.open(dump_file("xen-own"), *vmlinuxes())


@pytest.mark.parametrize("ref", ["02-ps.txt", "04-log.txt", "05-kmem-s.txt", "08-mount.txt",
                                 "11-irq-u.txt", "19-kmem-n.txt"])
def test_dom0_from_the_crash_note_alone_equals_crash(dom0_without_xen_syms, ref: str) -> None:
    """No xen-syms: dom0's p2m root from Xen's crash note, its page tables from the
    kernel's init_top_pgt; the session starts there, and matches crash's dom0 session.
    The hypervisor has the symbols of its own table in the dump (no machine target)."""
    session = dom0_without_xen_syms
    assert list(session.targets) == ["dom0", "xen", "dom1", "dom2"]
    assert session.current is session.targets["dom0"]
    command = " ".join([ref[3:-4].split("-")[0]] + [f"-{w}" for w in ref[3:-4].split("-")[1:]])
    want = (SAMPLES / MAN["dumps"]["xen-own"]["crash_ref"] / "trixie" / "dom0" / ref).read_text()
    assert session.run(command).strip("\n") == want.strip("\n")


@pytest.mark.parametrize("name", ["dom0", "dom1", "dom2"])
def test_guest_backtraces_without_xen_syms_equal_the_dwarf_view(dom0_without_xen_syms, xen_own,
                                                                name: str) -> None:
    """No xen-syms: a loaded vCPU's registers from its pCPU's cpu_info (found from the
    crash note's rsp), the others' from arch.user_regs (found by its saved PV frame),
    a lazily loaded one settled by its guest's task stack: every task of every guest
    unwinds exactly as with Xen's DWARF."""
    dom0_without_xen_syms.select(name)
    xen_own.select(name)
    try:
        for command in ("bt -a", "foreach bt"):
            assert dom0_without_xen_syms.run(command) == xen_own.run(command), command
    finally:
        dom0_without_xen_syms.select("dom0")
        xen_own.select("xen")


def test_bt_says_when_a_running_vcpus_registers_are_unknown() -> None:
    """Where no frame is found for a running vCPU, bt says why instead of walking
    from the stale thread.sp of the task's last switch."""
    entry = MAN["dumps"]["xen-own"]
    session = xcrash.open(dump_file("xen-own"), *vmlinuxes())
    dom0 = session.targets["dom0"]
    assert isinstance(dom0, LinuxTarget)
    dom0._cpus = []
    dom0.registers_unknown = "test"
    blocks = session.run("bt -a").split("\n\n")
    assert len(blocks) == 2 and entry["crashing_cpu"] in (0, 1)
    assert all("registers of CPU" in b and " #0 " not in b for b in blocks)


def test_debian_binary_xen_gives_every_guest_with_its_processes() -> None:
    """The production case: Debian's xen-syms has ELF symbols only.  dom0 comes from
    Xen's crash note; each domU's p2m is found through the shared_info pointer near
    the start of its struct domain, proved by its own vmlinux (banner and build-id),
    so dom2 gets the second kernel build."""
    entry = MAN["dumps"]["xen-debian"]
    vmlinuxes = sorted({d["kernel"]["vmlinux"] for d in entry["domains"]})
    session = xcrash.open(dump_file("xen-debian"), str(SAMPLES / entry["xen"]["xen_syms"]),
                          *(str(SAMPLES / v) for v in vmlinuxes))
    assert list(session.targets) == ["xen", "dom0", "dom1", "dom2"]
    for dom in entry["domains"]:
        target = session.select(f"dom{dom['id']}")
        assert isinstance(target, LinuxTarget)
        assert target.symfile.path.endswith(dom["kernel"]["vmlinux"])
        assert target.utsname["release"] == dom["kernel"]["release"]
        ps = session.run("ps")
        for started in dom["processes_started"]:
            if isinstance(started, dict):
                assert re.search(rf"^[> ] +{started['pid']} .* {started['comm']}$", ps, re.M)
            else:
                assert re.search(rf" {re.escape(started.split()[0])}$", ps, re.M), started
        assert session.run("log").startswith("[    0.000000] Linux version " + dom["kernel"]["release"])
    session.select("dom1")
    assert "XENDUMP-MARKER-guest1-52" in session.run("search -c XENDUMP-MARKER-guest1")
    # both dom0 vCPUs were loaded (per_cpu(curr_vcpu), a symbol even Debian's file has)
    session.select("dom0")
    xl, idle = [b for b in session.run("bt -a").split("\n\n")][::-1]
    assert functions(xl) == ["xen_hypercall_pv", "privcmd_ioctl", "__x64_sys_ioctl",
                             "do_syscall_64", "entry_SYSCALL_64_after_hwframe"]
    assert "xen_safe_halt" in functions(idle) and functions(idle)[-1] == "startup_xen"


@pytest.mark.parametrize("name", ["dom1", "dom2"])
def test_domus_without_xen_syms_equal_the_dwarf_view(dom0_without_xen_syms, xen_own, name) -> None:
    """The domUs found without Xen's DWARF read exactly what the DWARF path reads."""
    dom0_without_xen_syms.select(name)
    xen_own.select(name)
    try:
        for command in ("ps", "kmem -s", "foreach vm"):
            assert dom0_without_xen_syms.run(command) == xen_own.run(command), command
    finally:
        dom0_without_xen_syms.select("dom0")
        xen_own.select("xen")


@pytest.fixture(scope="module")
def stripped_own_xen_syms(tmp_path_factory):
    import shutil
    import subprocess
    from xcrash.cache import decompressed_path
    objcopy = shutil.which("objcopy")
    if objcopy is None:
        pytest.skip("objcopy is not installed")
    out = tmp_path_factory.mktemp("xen") / "xen-syms"
    full = decompressed_path(str(SAMPLES / MAN["dumps"]["xen-own"]["xen"]["xen_syms"]))
    subprocess.run([objcopy, "--strip-debug", full, str(out)], check=True)
    return out


def test_hypervisor_lists_without_dwarf_equal_the_dwarf_view(stripped_own_xen_syms,
                                                              xen_own) -> None:
    """Our own xen-syms stripped of DWARF (as Debian ships it): pcpus from the ELF
    symbols; vcpus from struct domain/vcpu's fixed first members and the runstate
    found as the one offset agreeing with what the pCPUs ran: both as with DWARF."""
    session = xcrash.open(dump_file("xen-own"), str(stripped_own_xen_syms))
    xen = session.targets["xen"]
    assert isinstance(xen, XenTarget) and not xen.has_types
    for command in ("pcpus", "vcpus"):
        assert session.run(command) == xen_own.run(command), command
