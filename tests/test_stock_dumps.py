"""Stock Debian kernels (5.10, 6.1, 6.12, 7.x) and every way to die the samples have, against
crash 9.0.2 (Debian sid), the reference; crash 8.0.6's outputs (trixie/) are kept beside
them, and where the two differ 9.0.2 is followed (README of crash-ref says where).

Each sample-dumps/debian-*/ dump was made by sample-dumps/stock.py; its crash-ref/ holds
crash's outputs (sid/: 9.0.2, trixie/: 8.0.6; sid-no_modules/ where 9.0.2 reads a 7.x dump
only with --no_modules) on the full -dbg vmlinux, and drgn 0.3.0's (drgn/); xcrash reads
the dump with the shipped vmlinux (objcopy --strip-debug: symbols, BTF, ORC).  Where xcrash
and crash differ and crash is wrong, the difference is recorded in the dump's
differences/NN-cmd.diff (a unified diff, crash's text to xcrash's) and the reason in
differences/README.md: the test asserts that the difference is exactly that one, so any
other difference fails.  XCRASH_RECORD_DIFFERENCES=1 writes the .diff files from what
xcrash shows now (then read them, and say why in README.md: a difference nobody
explained fails test_every_recorded_difference_says_why).
"""
from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest

from conftest import SAMPLES, sample_manifest

STOCK = sorted(n for n in sample_manifest()["dumps"] if n.startswith("debian-"))
_sessions: dict[str, object] = {}


def session(name: str):
    import xcrash
    if name not in _sessions:
        entry = sample_manifest()["dumps"][name]
        _sessions[name] = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                                      str(SAMPLES / entry["kernel"]["vmlinux"]))
    return _sessions[name]


def crash_dir(name: str) -> Path:
    """crash 9.0.2's outputs: sid/, or sid-no_modules/ when 9.0.2 could not start without
    that option (7.x: "invalid structure member offset: module_num_gpl_syms")."""
    ref = SAMPLES / sample_manifest()["dumps"][name]["crash_ref"]
    plain = ref / "sid"
    return plain if any(plain.glob("01-*.txt")) else ref / "sid-no_modules"


def references(name: str) -> list[tuple[str, Path]]:
    """(command, 9.0.2's file) of every recorded command."""
    out = []
    for path in sorted(crash_dir(name).glob("[0-9][0-9]-*.txt")):
        first = path.read_text().split("\n", 1)[0]
        if first.startswith("crash> "):
            out.append((first[len("crash> "):], path))
    return out


CASES = [(name, command, path) for name in STOCK for command, path in references(name)]


def crash_text(path: Path) -> str:
    return path.read_text().split("\n", 1)[1].rstrip("\n")


def normalised(command: str, text: str) -> str:
    """What no tool can agree on: the paths of the files on the KERNEL and DUMPFILE lines."""
    if command == "sys":
        text = re.sub(r"^( +(KERNEL|DUMPFILE): )\S+", r"\1PATH", text, flags=re.M)
    return text


@pytest.mark.parametrize("name, command, path", CASES,
                         ids=[f"{n}:{c}" for n, c, _ in CASES])
def test_equal_to_crash_or_the_recorded_difference(name: str, command: str, path: Path) -> None:
    ours = normalised(command, session(name).run(command).rstrip("\n"))
    theirs = normalised(command, crash_text(path))
    diff = "\n".join(difflib.unified_diff(theirs.splitlines(), ours.splitlines(), "crash",
                                          "xcrash", lineterm="", n=1))
    recorded = SAMPLES / name / "differences" / path.name.replace(".txt", ".diff")
    if os.environ.get("XCRASH_RECORD_DIFFERENCES") == "1":
        if diff:
            recorded.parent.mkdir(exist_ok=True)
            recorded.write_text(diff + "\n")
        elif recorded.exists():
            recorded.unlink()
        return
    expected = recorded.read_text().rstrip("\n") if recorded.exists() else ""
    assert diff == expected, f"{name}: {command}: differs from crash 9.0.2:\n{diff}"


def test_every_recorded_difference_says_why() -> None:
    for name in STOCK:
        folder = SAMPLES / name / "differences"
        diffs = sorted(folder.glob("*.diff")) if folder.exists() else []
        if diffs:
            readme = (folder / "README.md").read_text()
            for d in diffs:
                assert d.name in readme, f"{name}: {d.name} is not explained in README.md"


def _slab_counts(text: str) -> dict[str, tuple[str, ...]]:
    """cache address -> (ALLOCATED, TOTAL, SLABS) of kmem -s's columns."""
    out: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) >= 5 and f[2].isdigit():
            out[f[0]] = (f[2], f[3], f[4])
    return out


SHEAVES = [n for n in STOCK if n.startswith("debian-7.")]


@pytest.mark.parametrize("name", SHEAVES)
def test_slab_usage_equals_drgn_on_7x(name: str) -> None:
    """7.x (SLUB without per-CPU slabs, objects cached in sheaves): crash 9.0.2 cannot read
    the caches, drgn 0.3.0's slab_cache_usage is the judge: every cache's allocated,
    total and slab counts equal.  (Before 7.0 drgn counts an active CPU slab's remotely
    freed objects as allocated, crash does not; there crash is the reference.)"""
    entry = sample_manifest()["dumps"][name]
    drgn = _slab_counts((SAMPLES / entry["crash_ref"] / "drgn" / "kmem-s.txt").read_text())
    ours = _slab_counts(session(name).run("kmem -s"))
    assert len(drgn) > 100
    assert ours == drgn


def test_offline_cpu_unwound_from_its_stack() -> None:
    """Debian 7.2 with CPU 2 hot-unplugged: no registers were saved for it (drgn: "registers
    for CPU 2 were not saved"); its idle task is listed and unwound from its stack, down
    the offline path the kernel takes (native_play_dead's last call is hlt_play_dead),
    not from crash's stale frames (generic_exec_single, smp_call_function_single)."""
    name = "debian-7.2-sysrq"
    if name not in STOCK:
        pytest.skip(f"{name} is not among the sample dumps")
    s = session(name)
    assert "CPUS: 3 [OFFLINE: 1]" in s.run("sys")
    assert re.search(r"^>\s+0\s+0\s+2\s+\w+\s+RU .*\[swapper/2\]$", s.run("ps"), re.M)
    trace = s.run("bt -c 2")
    functions = re.findall(r"^ *#\d+ \[\w+\] (\S+) at", trace, re.M)
    assert functions == ["native_play_dead", "arch_cpu_idle_dead", "do_idle",
                         "cpu_startup_entry", "start_secondary", "common_startup_64"]
    assert "CPU 2 was offline" in trace and "its call went to hlt_play_dead" in trace


@pytest.mark.parametrize("name", [n for n in STOCK if n.startswith(("debian-5.10-", "debian-6.12-bug"))])
def test_dev_d_lists_the_disks_the_kernel_announced(name: str) -> None:
    """``dev -d``: a disk's struct device is its whole-disk block_device's ``bd_device``
    from 5.11 on, before that the ``__dev`` of the gendisk's own part0 (5.10).  Each row's
    gendisk names itself as the row does; the disks are those virtio_blk announced in the
    console, under the major crash's ``dev`` lists for virtblk, and the gendisk crash shows
    there is one of them."""
    s = session(name)
    rows = [line.split() for line in s.run("dev -d").splitlines()[1:]]
    console = (SAMPLES / name / "serial.log").read_text()
    announced = re.findall(r"virtio_blk virtio\d+: \[(vd[a-z]+)\]", console)
    assert sorted(r[2] for r in rows) == sorted(set(announced)) and rows
    major = re.search(r"^\s*(\d+)\s+virtblk\s+([0-9a-f]+)\s", crash_text(crash_dir(name) / "16-dev.txt"),
                      re.M)
    assert major is not None and major.group(2) in [r[1] for r in rows]
    for r in rows:
        assert r[0] == major.group(1)
        disk = s.run(f"struct gendisk.disk_name,queue {r[1]}")
        assert re.search(rf'disk_name = "{r[2]}(\\000|")', disk) and r[3] in disk, disk


@pytest.mark.parametrize("name", [n for n in STOCK if n in ("debian-5.10-sysrq", "debian-6.12-bug",
                                                             "debian-7.2-sysrq")])
def test_runq_g_root_queue_is_the_run_queues_own(name: str) -> None:
    """runq -g takes each CPU's root CFS queue from its run queue (``&rq->cfs``, which
    sched_init makes ``root_task_group.cfs_rq[cpu]``): on 7.2 (-d 23) the slab page of
    that array was left out of the dump, and runq -g stopped there; where it is in the
    dump, the array says the same."""
    s = session(name)
    text = s.run("runq -g")
    queues = [int(q, 16) for q in re.findall(r"ROOT_TASK_GROUP: \w+  CFS_RQ: (\w+)", text)]
    assert queues and "unreadable" not in text
    try:
        root = s.run("sym root_task_group").split()[0]
        array = int(re.findall(r"cfs_rq = (0x\w+)", s.run(f"struct task_group.cfs_rq {root}"))[0], 16)
        listed = [int(s.run(f"rd -64 {array + 8 * cpu:x}").split()[1], 16) for cpu in range(len(queues))]
    except Exception as err:                                     # noqa: BLE001 - the page is not there
        assert name == "debian-7.2-sysrq", err
        return
    assert listed == queues


@pytest.mark.parametrize("name", STOCK)
def test_a_pid_is_found_in_the_pid_table_as_in_the_task_list(name: str) -> None:
    """``bt PID``, ``net -s PID``...: a PID is looked up in init_pid_ns's table (one path down
    its radix tree) before the list of every task is made; both find the same task for
    every PID of the dump, and the table knows no PID the list does not."""
    from xcrash.targets.linux.context import task_index, task_of_pid
    target = session(name).current
    index = task_index(target)
    pids = [pid for pid in index.by_pid if pid]
    assert len(pids) > 50
    assert all(task_of_pid(target, pid) == index.by_pid[pid][0] for pid in pids)
    assert task_of_pid(target, max(pids) + 1000) is None


def test_list_from_an_address_reads_no_module_symbols() -> None:
    """A 64-bit address given to list is not looked up as a symbol name first: that read
    every module's symbols (0.25 s of 0.5 for the 10,000-task list on 6.12)."""
    import xcrash
    name = "debian-6.12-bug"
    if name not in STOCK:
        pytest.skip(f"{name} is not among the sample dumps")
    entry = sample_manifest()["dumps"][name]
    s = xcrash.open(str(SAMPLES / entry["files"][0]["path"]), str(SAMPLES / entry["kernel"]["vmlinux"]))
    head = s.current.object("init_task").tasks.at_
    by_address = s.run(f"list -o task_struct.tasks -H {head:x}")
    assert s.current.symbols._modules is None
    assert by_address == s.run("list -o task_struct.tasks -H init_task.tasks")
    assert len(by_address.splitlines()) > 50
