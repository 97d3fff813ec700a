"""vtop, ptov, search, bt, vm, kmem, swap, foreach against crash 9.0.2, byte for byte.

The references (tests/crash-ref/linux-sysrq/9.0.2/, xen-own/9.0.2/) are crash 9.0.2's
output (Debian sid's crash=9.0.2+~16.3-1), one crash session per command, on the
project's sample dumps; the first line of each is `crash> CMD`.  A reference of one
line `CMD: message` is crash's error: xcrash must fail with the same message.
"""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from xcrash.engine.runner import Runner

REFS = Path(__file__).resolve().parent / "crash-ref"
SYSRQ = REFS / "linux-sysrq" / "9.0.2"


def reference(path: Path) -> tuple[str, str]:
    """(command, crash's output exactly as written)."""
    first, _, text = path.read_text().partition("\n")
    assert first.startswith("crash> ")
    return first[len("crash> "):], text


def outcome(session, command: str) -> tuple[bool, str, str]:
    """(succeeded, output, errors) of one command line, as the shell runs it."""
    out, err = io.StringIO(), io.StringIO()
    ok = Runner(session, out=out, err=err).execute(command)
    return ok, out.getvalue(), err.getvalue()


def check(session, path: Path) -> None:
    command, want = reference(path)
    ok, got, err = outcome(session, command)
    name = command.split()[0]
    lines = want.splitlines()
    if len(lines) == 1 and lines[0].startswith(f"{name}: "):
        assert not ok and err == f"xcrash: {lines[0]}\n"
        return
    assert ok, err
    assert got == want


SYSRQ_IDENTICAL = [
    "vtop-user", "vtop-c-user", "vtop-c-anon", "vtop-u-stack", "vtop-kernel", "vtop-k-direct",
    "vtop-vmalloc", "vtop-pte-zero", "vtop-kthread", "vtop-u-kernel", "vtop-k-user",
    "vtop-null", "vtop-two", "vtop-c-kernel", "vtop-c-taskp", "ptov-percpu", "ptov-percpu-list",
    "ptov-two", "ptov-invalid", "ptov-bad-cpu",
    "foreach-gleader-ps", "foreach-gleader-bt", "foreach-vtop", "foreach-vtop-kthread",
    "foreach-set", "foreach-gleader-kernel", "foreach-kernel-gleader", "foreach-sw",
    "foreach-two-states",
    "search-c", "search-t", "search-T", "search-K-c", "search-V-c", "search-p-c", "search-m",
    "search-x", "search-h", "search-w", "search-symbol", "search-expression", "search-length",
    "search-end", "search-etext", "search-u-crasher", "search-x-chars", "search-t-T",
    "search-t-s", "search-c-mask", "search-two-values", "search-x-w", "search-p", "search-K",
    "search-V",
    "bt-r", "bt-I-S-blocked", "bt-S-blocked", "bt-S-blocked-above", "bt-I-blocked",
    "bt-I-S-panic", "bt-I-S-nmi", "bt-a-n-idle", "bt-n-idle", "bt-n-other", "bt-o",
    "bt-o-blocked", "bt-o-idle", "bt-o-a", "bt-sd", "bt-s-d", "bt-sx-d", "bt-pid-0",
    "vm-p", "vm-p-kthread", "vm-P", "vm-P-missing", "vm-P-kthread", "vm-M-ignored", "vm-M",
    "vm-M-p", "vm-m", "vm-m-kthread", "vm-v", "vm-d-v", "vm-x-d", "vm-R-file",
    "vm-R-file-two", "vm-R-vaddr", "vm-R-vaddr-kthread", "vm-R-paddr", "vm-R-vma",
    "vm-R-offset", "vm-R-mm", "vm-R-flags", "vm-f", "vm-f-old-names", "vm-f-all", "vm-x-m", "swap",
    "kmem-V", "kmem-z", "kmem-o", "kmem-m", "kmem-m-struct", "kmem-m-dot", "kmem-m-two",
    "kmem-m-nosuch", "kmem-m-P", "kmem-P", "kmem-p-P", "kmem-physical", "kmem-r", "kmem-r-name",
    "kmem-s-I", "kmem-S-cpu", "kmem-S-cpus", "kmem-S-cpu-bad", "kmem-S-cpu-absent", "kmem-i",
    "kmem-i-shared", "kmem-i-other", "kmem-c", "kmem-C", "kmem-s-list", "kmem-f-page",
    "kmem-f-physical", "kmem-f-virtual", "kmem-f-not-free", "kmem-f-two", "kmem-p-page",
    "kmem-p-virtual", "kmem-m-page", "kmem-s-I-name", "kmem-S-I-name", "kmem-s-I-other",
    "kmem-m-format", "kmem-m-second", "kmem-m-decimal", "kmem-o-z", "kmem-z-i", "kmem-l", "kmem-L",
    "kmem-g-z",
]


@pytest.fixture
def panic_context(sysrq):
    """linux-sysrq with crash's context at start-up: the panic task."""
    sysrq.current.selected_task = None
    yield sysrq
    sysrq.current.selected_task = None


@pytest.mark.parametrize("name", SYSRQ_IDENTICAL)
def test_sysrq_identical_to_crash_902(panic_context, name: str) -> None:
    check(panic_context, SYSRQ / f"{name}.txt")


def test_bt_O_toggles_the_old_method_for_later_bt_commands(sysrq) -> None:
    """crash's bt -O says so and makes -o the default; a second -O takes it back."""
    command, want = reference(SYSRQ / "bt-O.txt")
    old = reference(SYSRQ / "bt-o.txt")[1]
    runner_out, err = io.StringIO(), io.StringIO()
    runner = Runner(sysrq, out=runner_out, err=err)
    sysrq.current.selected_task = None
    assert runner.execute(command) and runner_out.getvalue() == want
    runner_out.truncate(0), runner_out.seek(0)
    assert runner.execute("bt") and runner_out.getvalue() == old
    runner_out.truncate(0), runner_out.seek(0)
    assert runner.execute("bt -O") and runner_out.getvalue() == \
        "bt: use new bt method by default\n"
    runner_out.truncate(0), runner_out.seek(0)
    assert runner.execute("bt") and runner_out.getvalue() != old


def test_bt_S_outside_the_stack_is_crashs_error_in_one_line(panic_context) -> None:
    """crash prints the header, then its two-line error; xcrash its one line."""
    command, want = reference(SYSRQ / "bt-S-outside.txt")
    ok, _out, err = outcome(panic_context, command)
    first, second = want.splitlines()[1:3]
    assert not ok and err == f"xcrash: {first} ({second.strip()[1:-1]})\n"


def test_bt_S_alone_on_a_running_task_starts_at_its_first_return_address(panic_context) -> None:
    """crash first skips the frame size of the task's own starting function (here
    machine_kexec's) from SP, so `bt -S` at panic's slot starts a frame later; xcrash
    starts at the return address at SP.  The rest of the trace is the same."""
    command, want = reference(SYSRQ / "bt-S-panic.txt")
    ok, got, _err = outcome(panic_context, command)
    frames = [line for line in got.splitlines() if line.startswith((" #", "#"))]
    assert ok and frames[0].startswith(" #0 [ffffb711802a3d90] panic at ")
    assert [f.split("]", 1)[1] for f in frames[1:]] == \
        [f.split("]", 1)[1] for f in want.splitlines() if f.startswith((" #", "#"))]



@pytest.mark.parametrize("name", ["kmem-z-address", "kmem-V-o", "kmem-I-alone", "kmem-P-virtual"])
def test_kmem_errors_are_one_line(panic_context, name: str) -> None:
    """crash follows an option error with its usage (xcrash: the error's line alone) and
    says of a physical address past memory that it cannot determine its page, then that
    it is not in the mem map (xcrash: the second); a -I without -s/-S/-r is only a usage
    for crash, a one-line error for xcrash."""
    command, want = reference(SYSRQ / f"{name}.txt")
    ok, _out, err = outcome(panic_context, command)
    lines = want.splitlines()
    expected = {"kmem-I-alone": "kmem: -I goes with -s, -S or -r",
                "kmem-P-virtual": f"kmem: {lines[1]}"}.get(name, lines[0])
    assert not ok and err == f"xcrash: {expected}\n"


XEN = REFS / "xen-own" / "9.0.2"


@pytest.fixture
def xen(_sample_xen_own):
    """sample-dumps/xen-own with the hypervisor selected."""
    _sample_xen_own.select("xen")
    return _sample_xen_own


def _pcpu_row(line: str) -> list[str]:
    """A pcpus line without crash's crashing-CPU mark and TSS (xcrash shows the TSS
    where crash 9.0.2 shows 0, and marks the crashing pCPU that 9.0.2 does not find)."""
    return line.replace("*", " ").split()[:3]


@pytest.mark.parametrize("name", ["pcpus", "pcpus-id", "pcpus-address", "pcpus-r", "pcpus-r-id"])
def test_xen_pcpus_as_crash_902_but_the_tss_and_the_mark(xen, name: str) -> None:
    command, want = reference(XEN / f"{name}.txt")
    ok, got, err = outcome(xen, command)
    assert ok, err
    mine, theirs = got.splitlines(), want.splitlines()
    assert len(mine) == len(theirs)
    for m, t in zip(mine, theirs):
        if t.lstrip(" *")[:1].isdigit():
            assert _pcpu_row(m) == _pcpu_row(t) and t.split()[-1] == "0"
        else:
            assert m == t


def test_xen_pcpus_t_shows_the_tss_where_crash_902_fails(xen) -> None:
    """crash looks for init_tss's struct tss_struct (gone in Xen 4.16): its error after
    the first lines; xcrash shows the struct tss64 of per_cpu(tss_page)."""
    command, want = reference(XEN / "pcpus-r-t.txt")
    ok, got, err = outcome(xen, command)
    theirs, mine = want.splitlines(), got.splitlines()
    assert ok, err
    assert theirs[-1] == "pcpus: invalid structure name: tss_struct"
    assert mine[2:len(theirs) - 1] == theirs[2:-1]
    assert mine[len(theirs) - 1] == "struct tss64 {" and mine[-1] == "}"


@pytest.mark.parametrize("name", ["pcpus-bad-id", "pcpus-bad-address", "pcpus-not-number",
                                  "sched-bad-id", "sched-address"])
def test_xen_argument_errors_as_crash_902(xen, name: str) -> None:
    command, want = reference(XEN / f"{name}.txt")
    ok, _out, err = outcome(xen, command)
    assert not ok and err == f"xcrash: {want.splitlines()[0]}\n"


@pytest.mark.parametrize("name", ["sched", "sched-v", "sched-id"])
def test_xen_sched_rows_that_crash_902_cannot_read(xen, name: str) -> None:
    """crash reads per_cpu(sched_res) as the structure itself on Xen 4.17 and prints
    the scheduler's name only; xcrash its rows (-v: a header above each)."""
    command, want = reference(XEN / f"{name}.txt")
    ok, got, err = outcome(xen, command)
    rows = [line for line in got.splitlines()[2:] if line and not line.startswith("  CPU")]
    assert ok and got.startswith(want), err
    assert [r.split()[0] for r in rows] == (["1"] if name == "sched-id" else ["0", "1"])
    assert got.count("  CPU ") == (2 if name == "sched-v" else 1)


def test_xen_dumpinfo_t_and_a_note_address(xen) -> None:
    """crash 9.0.2 faults in dumpinfo on Xen 4.17 (no reference): crash's layout of
    -t (xen_hyper_show_dumpinfo) on the notes of the patched 8.0.6's table."""
    ok, got, err = outcome(xen, "dumpinfo -t ffff83002fcbfc00")
    assert ok, err
    assert got.splitlines()[1:] == [
        "    1 ffff83002fcbfc00 ffff83002fcbfc00 ffff83002fcbfd64        --       ",
        "                  tv_sec           tv_usec    ",
        *(f"  {n:<11}        0                0       "
          for n in ("pr_utime", "pr_stime", "pr_cutime", "pr_cstime"))]
    ok, _out, err = outcome(xen, "dumpinfo ffff83002fcbfc01")
    assert not ok and err == "xcrash: dumpinfo: invalid note address or id value: " \
        "ffff83002fcbfc01\n"
