"""tree (rbtree in crash's and in key order, XArray, maple) and nested members in -s,
against crash 8.0.6 on linux-sysrq."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import xcrash
from xcrash.errors import CommandError

SAMPLES = Path(__file__).resolve().parents[1] / "sample-dumps"
MANIFEST = SAMPLES / "MANIFEST.json"
MAN = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
RECORDED = Path(__file__).parent / "crash-ref" / "linux-sysrq" / "tree.txt"
pytestmark = pytest.mark.skipif(not MAN, reason="sample-dumps/MANIFEST.json is not here")


@pytest.fixture(scope="module")
def sysrq():
    entry = MAN["dumps"]["linux-sysrq"]
    return xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                       str(SAMPLES / entry["kernel"]["vmlinux"]))


def blocks() -> list[tuple[str, str]]:
    return [(cmd, body.strip("\n")) for cmd, body in
            re.findall(r"^crash> (.*)\n((?:(?!crash> ).*\n?)*)", RECORDED.read_text(), re.M)]


@pytest.mark.parametrize("index", range(len(blocks())))
def test_equals_crash(sysrq, index: int) -> None:
    command, want = blocks()[index]
    assert sysrq.run(command).strip("\n") == want


def test_radix_is_walked_as_the_xarray_it_is(sysrq) -> None:
    """crash 8.0.6 says radix trees "do not exist" on 6.1; they are XArrays."""
    assert sysrq.run("tree -t radix irq_desc_tree") == sysrq.run("tree -t xarray irq_desc_tree")


def test_linear_order_is_sorted_by_address_range(sysrq) -> None:
    rows = sysrq.run("tree -t rbtree -l -o vmap_area.rb_node -s vmap_area.va_start vmap_area_root")
    starts = [int(v) for v in re.findall(r"va_start = (\d+),", rows)]
    assert len(starts) > 50 and starts == sorted(starts)


def test_options_that_do_not_apply_are_errors(sysrq) -> None:
    with pytest.raises(CommandError, match="for red-black trees"):
        sysrq.run("tree -t xarray -o 8 irq_desc_tree")
    with pytest.raises(CommandError, match="invalid tree type"):
        sysrq.run("tree -t heap irq_desc_tree")
