"""Damaged variants of a real dump, each with its expected outcome.

Truncated files, a damaged signature, header sizes that overflow the file,
VMCOREINFO wiped out, the wrong vmlinux: xcrash must say what is wrong in
one line (exit 2 when nothing can be opened), and keep every command working
that the surviving data allows.
"""
from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LINUX_DIR, XEN_DIR, need


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    original = need(LINUX_DIR / "vmcore-d31.kdump").read_bytes()
    out = tmp_path_factory.mktemp("damaged")
    made: dict[str, bytes] = {
        "header-cut": original[:100],
        "cut-10": original[:len(original) // 10],
        "cut-90": original[:len(original) * 9 // 10],
    }
    bad = bytearray(original)
    bad[0:8] = b"KDUMQ   "
    made["bad-signature"] = bytes(bad)
    huge = bytearray(original)
    struct.pack_into("<I", huge, 436, 0x7FFFFFFF)          # bitmap_blocks
    made["bitmap-overflow"] = bytes(huge)
    wiped = bytearray(original)
    head = bytes(wiped[:1 << 20])
    name = head.find(b"VMCOREINFO\0")
    wiped[name:name + 10] = b"XXXXXXXXXX"
    text = head.find(b"OSRELEASE=")
    wiped[text:head.find(b"\0", text)] = bytes(head.find(b"\0", text) - text)
    made["no-vmcoreinfo"] = bytes(wiped)
    paths = {}
    for key, data in made.items():
        paths[key] = out / f"{key}.kdump"
        paths[key].write_bytes(data)
    return paths


def xcrash(dump: Path, *commands: str, vmlinux: Path | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "xcrash", "-s", "--norc"]
    for command in commands:
        argv += ["-c", command]
    argv += [str(dump), str(vmlinux or need(LINUX_DIR / "vmlinux.xz"))]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("variant,message", [
    ("header-cut", "truncated: kdump header needs bytes up to"),
    ("bad-signature", "not a dump file"),
    ("bitmap-overflow", "truncated: page bitmaps needs bytes up to"),
])
def test_unreadable_headers_exit_2_with_one_line(variants, variant: str, message: str) -> None:
    proc = xcrash(variants[variant], "sys")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(variants[variant]) in lines[0]
    assert "Traceback" not in proc.stderr


def test_a_dump_cut_short_keeps_what_it_holds(variants) -> None:
    proc = xcrash(variants["cut-90"], "sys", "bt", "ps")
    assert proc.returncode == 0, proc.stderr
    assert "RELEASE: 6.1.192-kdumplab" in proc.stdout and "TASKS: 45" in proc.stdout
    assert "#0 [ffffb36c80163c80] machine_kexec" in proc.stdout
    # the log's pages were in the lost tenth: no panic message rather than a wrong one
    assert "PANIC:" not in proc.stdout


def test_slab_listing_of_a_cut_dump_names_each_lost_slab_and_goes_on(variants) -> None:
    """kmem -S: the struct pages of some slabs are in the lost tenth; those slabs get a
    line each, every cache is still listed; the other new listings answer whole."""
    proc = xcrash(variants["cut-90"], "kmem -S", "foreach files", "foreach vm", "mount", "timer")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    caches = [line for line in proc.stdout.splitlines() if line.startswith("CACHE ")]
    lost = [line for line in proc.stdout.splitlines() if line.startswith("kmem: ")]
    assert len(caches) > 50 and lost and all("incomplete dump" in line for line in lost)
    assert "ROOT: /    CWD: /" in proc.stdout and "TIMER_BASES[1][BASE_DEF]" in proc.stdout


def test_kmem_of_a_cut_dump_says_what_it_could_not_read(variants) -> None:
    """kmem -i: counters in the lost tenth are ? with a WARNING each (were 0, as if
    there were no swap); kmem -s: each cache's unreadable CPU slab is a WARNING after
    the listing, whose counts leave it out."""
    proc = xcrash(variants["cut-90"], "kmem -i", "kmem -s")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "   TOTAL SWAP        ?            ?         ----" in lines
    assert "    COMMITTED        ?            ?    ?% of TOTAL LIMIT" in lines
    assert "WARNING: total_swap_pages unreadable (" in proc.stdout
    warned = [line for line in lines if line.startswith("WARNING: slab cache ")]
    assert warned and all(line.endswith(": not counted") for line in warned)
    assert lines.index(warned[0]) > max(i for i, line in enumerate(lines)
                                        if line.startswith("ffff"))


def test_a_dump_cut_early_reports_each_lost_read_and_goes_on(variants) -> None:
    proc = xcrash(variants["cut-10"], "sys", "rd -p 100000", "ps")
    assert proc.returncode == 1
    assert "100000:  0000000000000000" in proc.stdout          # low memory is still there
    errors = proc.stderr.strip().splitlines()
    # at start-up: the randomised direct-map base is lost too, and said so
    notes = [e for e in errors if e.startswith("xcrash: page_offset_base unreadable")]
    errors = [e for e in errors if e not in notes]
    assert len(notes) == 1 and "the direct map is assumed at its default" in notes[0]
    assert len(errors) == 2 and all("incomplete dump" in e for e in errors + notes)
    assert errors[0].startswith("xcrash: sys:") and errors[1].startswith("xcrash: ps:")


def test_without_vmcoreinfo_the_kernel_is_found_by_its_banner(variants) -> None:
    proc = xcrash(variants["no-vmcoreinfo"], "sys", "bt")
    assert proc.returncode == 0, proc.stderr
    assert "RELEASE: 6.1.192-kdumplab" in proc.stdout
    assert "#2 [ffffb36c80163d90] panic at ffffffffae86ed32" in proc.stdout


def test_the_wrong_vmlinux_is_named_with_both_build_ids() -> None:
    proc = xcrash(need(LINUX_DIR / "vmcore-d31.kdump"), "sys",
                  vmlinux=need(XEN_DIR / "vmlinux.xz"))
    assert proc.returncode == 2
    assert "build-id mismatch: the dump says '3a1fe53b" in proc.stderr
    assert "the file says '9acc3605" in proc.stderr


def test_minimal_mode_opens_despite_the_wrong_vmlinux_and_keeps_crashs_commands() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "xcrash", "-s", "--norc", "--minimal", "-c", "log", "-c", "ps",
         str(need(LINUX_DIR / "vmcore-d31.kdump")), str(need(XEN_DIR / "vmlinux.xz"))],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1                      # ps is refused, log works
    assert "Kernel panic - not syncing: sysrq triggered crash" in proc.stdout
    assert "xcrash: ps: not available in --minimal mode" in proc.stderr


def test_a_missing_cpu_note_costs_that_cpus_registers_only(tmp_path) -> None:
    """CPU 0's NT_PRSTATUS note renamed: the remaining note is still CPU 1's (matched
    by its pid, not its position), so the panic task's bt is whole; the task that ran
    on the CPU without a note is still listed."""
    data = bytearray(need(LINUX_DIR / "vmcore-d31.kdump").read_bytes())
    first = data.find(b"CORE\0\0\0\0", 4096, 2 * 4096)
    assert first > 0
    data[first:first + 4] = b"XORE"
    path = tmp_path / "one-note.kdump"
    path.write_bytes(bytes(data))
    proc = xcrash(path, "bt", "ps lab_busyloop")
    assert "#0 [ffffb36c80163c80] machine_kexec" in proc.stdout
    assert "lab_busyloop" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_a_vmlinux_without_dwarf_says_what_it_cannot_do(tmp_path) -> None:
    """objcopy --strip-debug keeps .BTF: tasks, stacks and the log still work; the globals
    the commands start from are typed from globals.py's table (checked against BTF); any
    other variable's type is unknown (gdb's advice), a cast reads it; dis -l says why it
    has no lines."""
    import shutil
    if shutil.which("objcopy") is None:
        pytest.skip("no objcopy")
    from xcrash.cache import decompressed_path
    stripped = tmp_path / "vmlinux-nodebug"
    subprocess.run(["objcopy", "--strip-debug", decompressed_path(str(need(LINUX_DIR / "vmlinux.xz"))),
                    str(stripped)], check=True)
    proc = xcrash(need(LINUX_DIR / "vmcore-d31.kdump"), "ps lab_crasher", "bt", "p jiffies",
                  "p sysctl_sched_latency", "p *(unsigned long *)&jiffies",
                  "dis -l sysrq_handle_crash", vmlinux=stripped)
    assert proc.returncode == 1                      # only `p sysctl_sched_latency` fails
    assert "lab_crasher" in proc.stdout and "#2 [ffffb36c80163d90] panic" in proc.stdout
    assert "jiffies = $1 = 4294894171" in proc.stdout and "$2 = 4294894171" in proc.stdout
    assert "'sysctl_sched_latency' has unknown type" in proc.stderr
    assert "p *(unsigned long *)&sysctl_sched_latency" in proc.stderr
    assert "dis: no source lines:" in proc.stdout


def test_a_cut_xen_dump_without_dwarf_reports_each_lost_read(tmp_path) -> None:
    """Debian's symbols-only xen-syms on the xen-debian sample cut at 90 %: the
    hypervisor commands and dom0 (crash note p2m, init_top_pgt) say what each read
    lost, in one line, and go on; never an internal error."""
    from conftest import SAMPLES, sample_manifest
    from xcrash.cache import decompressed_path
    entry = sample_manifest()["dumps"]["xen-debian"]
    full = Path(decompressed_path(str(SAMPLES / entry["files"][0]["path"])))
    cut = tmp_path / "cut-90.kdump"
    with full.open("rb") as src, cut.open("wb") as dst:
        dst.write(src.read(full.stat().st_size * 9 // 10))
    vmlinux = SAMPLES / next(d for d in entry["domains"] if d["id"] == 0)["kernel"]["vmlinux"]
    argv = [sys.executable, "-m", "xcrash", "-s", "--norc"]
    for command in ("doms", "vcpus", "pcpus", "bt -a", "target dom0", "ps", "bt -a", "log"):
        argv += ["-c", command]
    proc = subprocess.run(argv + [str(cut), str(SAMPLES / entry["xen"]["xen_syms"]), str(vmlinux)],
                          capture_output=True, text=True, timeout=300)
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr
    assert "beyond the end of the file (incomplete dump)" in proc.stderr
    assert "dom0: " in proc.stderr and "banner and build-id" in proc.stderr
    assert "Linux version 6.1.192" in proc.stdout            # dom0's log survived the cut
    assert all(line.startswith("xcrash: ") for line in proc.stderr.splitlines())
