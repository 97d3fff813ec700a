"""vm: a task's memory map (maple tree of VMAs on 6.1) against crash 8.0.6.

`foreach vm` of linux-sysrq is checked with the other crash references
(test_sample_dumps_targets); here: a Xen PV dom0 (xenstored, xl, libraries),
one task, a kernel thread, the maple tree walk itself and bad arguments.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import xcrash
from xcrash.errors import CommandError

SAMPLES = Path(__file__).resolve().parents[1] / "sample-dumps"
MANIFEST = SAMPLES / "MANIFEST.json"
MAN = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
pytestmark = pytest.mark.skipif(not MAN, reason="sample-dumps/MANIFEST.json is not here")


@pytest.fixture(scope="module")
def sysrq():
    entry = MAN["dumps"]["linux-sysrq"]
    return xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                       str(SAMPLES / entry["kernel"]["vmlinux"]))


def sysrq_ref_blocks() -> dict[int, str]:
    entry = MAN["dumps"]["linux-sysrq"]
    text = (SAMPLES / entry["crash_ref"] / "vmcore.kdump" / "11-foreach-vm.txt").read_text()
    blocks: dict[int, str] = {}
    for block in text.strip("\n").split("\n\n"):
        blocks.setdefault(int(block.split()[1]), block)
    return blocks


def test_xen_dom0_foreach_vm_equals_crash() -> None:
    entry = MAN["dumps"]["xen-own"]
    vmlinuxes = [str(SAMPLES / e["path"]) for n, e in sorted(MAN["symbols"].items())
                 if n.startswith("vmlinux")]
    session = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                          str(SAMPLES / entry["xen"]["xen_syms"]), *vmlinuxes)
    session.select("dom0")
    want = (SAMPLES / entry["crash_ref"] / "trixie" / "dom0" / "07-foreach-vm.txt").read_text()
    assert "libc.so.6" in want
    assert session.run("foreach vm").strip("\n") == want.strip("\n")


@pytest.mark.parametrize("pid", [1, 2, 56])
def test_one_task_equals_crashs_block(sysrq, pid: int) -> None:
    assert sysrq.run(f"vm {pid}").strip("\n") == sysrq_ref_blocks()[pid]


def test_maple_tree_ranges_are_the_vmas(sysrq) -> None:
    """Each maple tree range is [vm_start, vm_end - 1] of the VMA stored there."""
    from xcrash.targets.linux.maple import entries
    target = sysrq.current
    task = target.object_at(target.type("struct task_struct"),
                            sysrq.run("vm 56", records=True)[0]["task"])
    mm = task.mm.deref_()
    ranges = list(entries(target, mm.mm_mt.address_))
    assert len(ranges) == 11
    for first, last, vma in ranges:
        v = target.object_at(target.type("struct vm_area_struct"), vma)
        assert (first, last + 1) == (int(v.vm_start), int(v.vm_end))


def test_unknown_task_is_an_error(sysrq) -> None:
    with pytest.raises(CommandError, match="invalid task or pid value: 99999"):
        sysrq.run("vm 99999")
