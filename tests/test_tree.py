"""tree (rbtree in crash's and in key order, XArray, maple) and nested members in -s,
against crash 9.0.2 on linux-sysrq (tests/crash-ref/linux-sysrq/tree*.txt)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import recorded_blocks
from xcrash.errors import CommandError

BLOCKS = recorded_blocks(Path(__file__).parent / "crash-ref" / "linux-sysrq" / "tree.txt")


@pytest.mark.parametrize("command,want", BLOCKS, ids=[c for c, _ in BLOCKS])
def test_equals_crash(sysrq, command: str, want: str) -> None:
    assert sysrq.run(command).strip("\n") == want


def test_radix_is_walked_as_the_xarray_it_is(sysrq) -> None:
    """crash says radix trees "do not exist" on 6.1; they are XArrays."""
    assert sysrq.run("tree -t radix irq_desc_tree") == sysrq.run("tree -t xarray irq_desc_tree")


def test_linear_order_is_sorted_by_address_range(sysrq) -> None:
    rows = sysrq.run("tree -t rbtree -l -o vmap_area.rb_node -s vmap_area.va_start vmap_area_root")
    starts = [int(v) for v in re.findall(r"va_start = (\d+),", rows)]
    assert len(starts) > 50 and starts == sorted(starts)


def test_options_that_do_not_apply_are_errors(sysrq) -> None:
    with pytest.raises(CommandError, match="-o option is not applicable to Xarrays"):
        sysrq.run("tree -t xarray -o 8 irq_desc_tree")
    with pytest.raises(CommandError, match="invalid tree type"):
        sysrq.run("tree -t heap irq_desc_tree")
