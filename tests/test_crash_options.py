"""crash 9.0.2's command-line options on the shipped samples (crashopts.py): what crash
printed for them (recorded with Debian sid's crash on sample-dumps/linux-sysrq,
tests/crash-ref/linux-sysrq/options.txt), and xcrash's one-line refusals."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SAMPLES, recorded_blocks
from crashrefs import REFS
from xcrash import cli

DUMP = str(SAMPLES / "linux-sysrq" / "vmcore.kdump")
VMLINUX = str(SAMPLES / "symbols" / "vmlinux-6.1-xcrash.xz")
XEN = [str(SAMPLES / "xen-own" / "vmcore.kdump.xz"),
       str(SAMPLES / "symbols" / "xen-syms-4.17.5-xcrash.xz"), VMLINUX]
#: crash's blocks: "crash> ARGUMENTS" (the command line's options, the dump's name
#: replaced by DUMP), then its output and a last line "rc=N"
REF = dict(recorded_blocks(REFS / "linux-sysrq" / "options.txt"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv), fast_exit=False)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("form", ["--osrelease DUMP", "--build-id DUMP",
                                  "--osrelease VMLINUX", "--build-id VMLINUX"])
def test_vmcoreinfo_forms_equal_crash(form: str, capsys: pytest.CaptureFixture[str]) -> None:
    flag, what = form.split()
    status, out, _err = run(capsys, flag, DUMP if what == "DUMP" else VMLINUX)
    assert out + f"rc={status}" == REF[form]


@pytest.mark.parametrize("form", ["--hex", "--dec"])
def test_radix_options_equal_crash(form: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "-s", form, "-c", "set radix", "-c", "p jiffies",
                           "-c", "p nr_cpu_ids", DUMP, VMLINUX)
    assert status == 0, err
    assert out.rstrip("\n") == REF[f"{form} -c 'set radix' -c 'p jiffies' -c 'p nr_cpu_ids'"]


def test_active_tracks_the_active_tasks_only(capsys: pytest.CaptureFixture[str]) -> None:
    """crash's ps shows PPID -1 for them (it tracks no parent): so does xcrash."""
    status, out, err = run(capsys, "-s", "--active", "-c", "ps", "-c", "foreach bt", DUMP,
                           VMLINUX)
    assert status == 0, err
    assert out.rstrip("\n") == REF["--active -c ps -c 'foreach bt'"]


def test_log_prints_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    """crash 9.0.2 refuses --log on kernels from 5.10 ("no log buffer data"): xcrash
    reads the kernel's own symbols and prints the log."""
    status, out, _err = run(capsys, "--log", DUMP)
    assert status == 0
    assert REF["--log DUMP"] == "crash: VMCOREINFO: no log buffer data\n\nrc=1"
    lines = out.splitlines()
    assert lines[0].startswith("[    0.000000] Linux version 6.1.192-xcrash")
    assert "sysrq: Trigger a crash" in out


def test_help_of_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _err = run(capsys, "-h", "mod")
    assert status == 0 and out.startswith("NAME\n  mod - ")
    status, _out, err = run(capsys, "-h", "nosuch")
    assert status == 2 and err == "xcrash: -h: nosuch: no such command\n"


def test_session_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """--no_modules as crash's mod says it; --zero_excluded, --cpus, -x, --no_ikconfig,
    --no_kallsyms, --kaslr auto accepted; a System.map checked against the vmlinux."""
    vm = tmp_path / "System.map"
    vm.write_text("ffffffff81000000 T _stext\nffffffff81000000 T _text\n")
    status, out, err = run(capsys, "-s", "--no_modules", "--zero_excluded", "--cpus", "4",
                           "-x", "--no_ikconfig", "--no_kallsyms", "--kaslr", "auto",
                           "-c", "set zero_excluded", "-c", "mod", DUMP, str(vm), VMLINUX)
    assert status == 1
    assert out == "zero_excluded: on\n"
    assert err.splitlines() == [
        f"xcrash: {vm}: agrees with {VMLINUX} (2 symbols compared): nothing more to take "
        "from it",
        "xcrash: --cpus 4: the dump's kernel has 2 online CPUs: those are used",
        "xcrash: mod: cannot access vmalloc'd module memory"]


@pytest.mark.parametrize("argv,message", [
    (["--kaslr", "0x1234", DUMP, VMLINUX],
     "--kaslr 0x1234: the dump's VMCOREINFO says KERNELOFFSET=24400000"),
    (["--kaslr", "zz", DUMP, VMLINUX], "--kaslr zz: not a number"),
    (["--dump-only", "--kaslr", "1234", DUMP],       # the kernel's own symbols (kallsyms)
     "--kaslr 0x1234: the kernel's KASLR offset is 0x24400000"),
    (["-L", DUMP, VMLINUX], "-L: crash's mlockall of its own memory: xcrash maps the dump "
                            "files instead"),
    (["--no_elf_notes", DUMP, VMLINUX], "--no_elf_notes: the registers always come from the "
                                        "dump's NT_PRSTATUS notes"),
    (["/proc/kcore", VMLINUX], "/proc/kcore: live systems are not supported (xcrash reads "
                               "dumps: save one with makedumpfile, or QEMU's "
                               "dump-guest-memory)"),
    (["--p2m_mfn", "1234", *XEN], "--p2m_mfn 1234: no PV guest's p2m frame list list is "
                                  "there (dom0 23361, dom1 205c2, dom2 1afc2)"),
    (["--xen_phys_start", "1234", *XEN[:2]],
     "--xen_phys_start 1234: the dump's crash note says 0x2f800000"),
    (["--xen_phys_start", "1234", DUMP, VMLINUX],
     "--xen_phys_start 1234: the dump is no Xen host's"),
])
def test_refusals(argv: list[str], message: str, capsys: pytest.CaptureFixture[str],
                  tmp_path: Path) -> None:
    status, out, err = run(capsys, "-s", "-c", "sys", *argv)
    assert status == 2 and out == ""
    assert err.splitlines()[-1] == f"xcrash: {message}"


def test_a_system_map_of_another_build(capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    bad = tmp_path / "System.map"
    bad.write_text("ffffffff81000001 T _stext\n")
    status, _out, err = run(capsys, "-s", "-c", "sys", DUMP, str(bad), VMLINUX)
    assert status == 2
    assert err == (f"xcrash: {bad}: _stext at ffffffff81000001, ffffffff81000000 in {VMLINUX}:"
                   " not the vmlinux's map (crash's relocation of another build's vmlinux by "
                   "the map is not offered: give the dumped kernel's vmlinux)\n")


def test_p2m_mfn_starts_on_that_guest(capsys: pytest.CaptureFixture[str]) -> None:
    """crash --p2m_mfn 205c2 VMLINUX VMCORE opens guest1 (dom1) of the Xen sample."""
    status, out, err = run(capsys, "-s", "--p2m_mfn", "205c2", "-c", "target", *XEN)
    assert status == 0, err
    current = [line for line in out.splitlines() if line.lstrip().startswith(">")]
    assert len(current) == 1 and current[0].split()[1] == "dom1", out


def test_accepted_options(capsys: pytest.CaptureFixture[str]) -> None:
    """crash's --readnow, --hash, --no_crashrc, --no_scroll and --no_panic (the context of
    CPU 0's swapper), --hyper (the hypervisor's session)."""
    status, out, err = run(capsys, "-s", "--readnow", "--hash", "10", "--no_crashrc",
                           "--no_scroll", "--no_panic", "--offline", "hide", "-c", "set scroll",
                           "-c", "set offline", "-c", "set", DUMP, VMLINUX)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "scroll: off" and lines[1].split() == ["offline:", "hide"], lines
    assert lines[2] == "    PID: 0" and "swapper/0" in lines[3]
    status, out, err = run(capsys, "-s", "--hyper", "-c", "target", *XEN[:2])
    assert status == 0, err
    assert [line.split()[1] for line in out.splitlines() if line.lstrip().startswith(">")] \
        == ["xen"]
