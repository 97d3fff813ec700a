"""vm: a task's memory map (maple tree of VMAs on 6.1) against crash 8.0.6.

`foreach vm` of linux-sysrq is checked with the other crash references
(test_sample_dumps_targets); here: a Xen PV dom0 (xenstored, xl, libraries),
one task, a kernel thread, the maple tree walk itself and bad arguments.
"""
from __future__ import annotations

import pytest

from conftest import dom0_ref, sysrq_blocks_by_pid
from xcrash.errors import CommandError


def test_xen_dom0_foreach_vm_equals_crash(sample_dom0) -> None:
    want = dom0_ref("07-foreach-vm.txt")
    assert "libc.so.6" in want
    assert sample_dom0.run("foreach vm").strip("\n") == want.strip("\n")


@pytest.mark.parametrize("pid", [1, 2, 56])
def test_one_task_equals_crashs_block(sysrq, pid: int) -> None:
    assert sysrq.run(f"vm {pid}").strip("\n") == sysrq_blocks_by_pid("11-foreach-vm.txt")[pid]


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
