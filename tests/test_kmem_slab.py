"""kmem -s, -S, -v, -f, -p and kmem ADDRESS on the sample dumps against crash 8.0.6.

The whole `kmem -s` listing of linux-sysrq is checked with the other crash reference
outputs (test_sample_dumps_targets); here: the NMI dump's listing, `kmem -s ADDRESS`
for allocated objects, objects free on a CPU's freelist and on a partial slab, and the
errors.
"""
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
RECORDED = Path(__file__).parent / "crash-ref" / "linux-sysrq" / "kmem-s-address.txt"
pytestmark = pytest.mark.skipif(not MAN, reason="sample-dumps/MANIFEST.json is not here")


def open_linux(name: str):
    entry = MAN["dumps"][name]
    return xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                       str(SAMPLES / entry["kernel"]["vmlinux"]))


@pytest.fixture(scope="module")
def sysrq():
    return open_linux("linux-sysrq")


def recorded_blocks() -> list[tuple[str, str]]:
    text = RECORDED.read_text()
    return [(cmd, body.strip("\n"))
            for cmd, body in re.findall(r"^crash> (.*)\n((?:(?!crash> ).*\n?)*)", text, re.M)]


def test_nmi_dump_slab_caches_equal_crash() -> None:
    entry = MAN["dumps"]["linux-nmi"]
    want = (SAMPLES / entry["crash_ref"] / "vmcore.elf" / "04-kmem-s.txt").read_text()
    assert open_linux("linux-nmi").run("kmem -s").strip("\n") == want.strip("\n")


@pytest.mark.parametrize("index", range(len(recorded_blocks())))
def test_address_lookup_equals_crash(sysrq, index: int) -> None:
    blocks = recorded_blocks()
    command, want = blocks[index]
    if want.startswith("kmem: "):
        with pytest.raises(CommandError) as err:
            sysrq.run(command)
        assert str(err.value).endswith(want)
    else:
        assert sysrq.run(command).strip("\n") == want


def test_recorded_blocks_cover_each_kind_of_object() -> None:
    text = RECORDED.read_text()
    assert "[ffff" in text                  # allocated
    assert "(cpu 0 cache)" in text and "(cpu 1 cache)" in text
    assert re.search(r"^   ffff[0-9a-f]+  $", text, re.M)    # free on a partial slab


def test_named_caches_in_the_order_asked(sysrq) -> None:
    lines = sysrq.run("kmem -s pid dentry").splitlines()
    assert [line.split()[-1] for line in lines[1:]] == ["pid", "dentry"]


def test_unknown_cache_is_one_line_error(sysrq) -> None:
    with pytest.raises(CommandError, match="no slab cache named nosuch"):
        sysrq.run("kmem -s nosuch")


def test_records_allocated_is_total_minus_free(sysrq) -> None:
    records = sysrq.run("kmem -s task_struct", records=True)
    assert records == [dict(records[0], allocated=45, total=66, slabs=11)]


def test_xen_dom0_slab_caches_equal_crash() -> None:
    """A PV dom0 read through the hypervisor dump: the same listing as crash's dom0 session."""
    entry = MAN["dumps"]["xen-own"]
    vmlinuxes = [str(SAMPLES / e["path"]) for n, e in sorted(MAN["symbols"].items())
                 if n.startswith("vmlinux")]
    session = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                          str(SAMPLES / entry["xen"]["xen_syms"]), *vmlinuxes)
    session.select("dom0")
    want = (SAMPLES / entry["crash_ref"] / "trixie" / "dom0" / "05-kmem-s.txt").read_text()
    assert session.run("kmem -s").strip("\n") == want.strip("\n")


def recorded_detail() -> list[tuple[str, str]]:
    text = (Path(__file__).parent / "crash-ref" / "linux-sysrq" / "kmem-S.txt").read_text()
    return [(cmd, body.strip("\n"))
            for cmd, body in re.findall(r"^crash> (.*)\n((?:(?!crash> ).*\n?)*)", text, re.M)]


@pytest.mark.parametrize("index", range(2))
def test_every_slab_of_a_cache_equals_crash(sysrq, index: int) -> None:
    """kmem -S: CPU slabs with each object, CPU partial slabs, node lists."""
    command, want = recorded_detail()[index]
    assert sysrq.run(command).strip("\n") == want


def test_detail_objects_add_up(sysrq) -> None:
    """Each slab listed by kmem -S has TOTAL objects lines, FREE of them free."""
    text = sysrq.run("kmem -S pid")
    blocks = text.split("  SLAB              MEMORY            NODE  TOTAL  ALLOCATED  FREE\n")
    for block in blocks[1:]:
        lines = block.splitlines()
        fields = lines[0].split()
        total, allocated, free = int(fields[3]), int(fields[4]), int(fields[5])
        if len(lines) > 1 and lines[1] == "  FREE / [ALLOCATED]":
            objects = [line for line in lines[2:2 + total]]
            assert sum(1 for o in objects if o.startswith("  [")) == allocated
            assert total == allocated + free


def test_xen_dom0_vmalloc_areas_equal_crash() -> None:
    entry = MAN["dumps"]["xen-own"]
    vmlinuxes = [str(SAMPLES / e["path"]) for n, e in sorted(MAN["symbols"].items())
                 if n.startswith("vmlinux")]
    session = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                          str(SAMPLES / entry["xen"]["xen_syms"]), *vmlinuxes)
    session.select("dom0")
    want = (SAMPLES / entry["crash_ref"] / "trixie" / "dom0" / "13-kmem-v.txt").read_text()
    assert session.run("kmem -v").strip("\n") == want.strip("\n")


def test_vmalloc_areas_hold_the_task_stacks(sysrq) -> None:
    """VMAP stacks: every task's stack is one 16 KiB vmalloc area (+ guard page)."""
    areas = sysrq.run("kmem -v", records=True)
    starts = {a["start"]: a["size"] for a in areas}
    stacks = [int(sysrq.current.object_at("struct task_struct", row["task"]).stack)
              for row in sysrq.run("ps", records=True)[2:12]]     # past the idle tasks
    assert stacks and all(starts.get(stack) == 16384 + 4096 for stack in stacks)


def recorded_address_views() -> list[tuple[str, str]]:
    text = (Path(__file__).parent / "crash-ref" / "linux-sysrq" / "kmem-address.txt").read_text()
    return [(cmd, body.strip("\n"))
            for cmd, body in re.findall(r"^crash> (.*)\n((?:(?!crash> ).*\n?)*)", text, re.M)]


@pytest.mark.parametrize("index", range(len(recorded_address_views())))
def test_kmem_address_and_pages_equal_crash(sysrq, index: int) -> None:
    """kmem ADDRESS: a slab object in a task_struct, plain direct map, a task's
    vmalloc'ed stack, a kernel data symbol, a slab's struct page, kernel text;
    kmem -p; and set's "(1 of 2)" for the idle tasks."""
    command, want = recorded_address_views()[index]
    # crash (gdb) prints a source file's full path when the file exists where crash
    # runs (it did where this was recorded), else its name, as xcrash always does
    want = re.sub(r"/\S+/([^/\s]+\.[chS]): ", r"\1: ", want)
    assert sysrq.run(command).strip("\n") == want


def test_xen_dom0_free_lists_equal_crash() -> None:
    entry = MAN["dumps"]["xen-own"]
    vmlinuxes = [str(SAMPLES / e["path"]) for n, e in sorted(MAN["symbols"].items())
                 if n.startswith("vmlinux")]
    session = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                          str(SAMPLES / entry["xen"]["xen_syms"]), *vmlinuxes)
    session.select("dom0")
    want = (SAMPLES / entry["crash_ref"] / "trixie" / "dom0" / "16-kmem-f.txt").read_text()
    assert want.rstrip().endswith("(verified)")
    assert session.run("kmem -f").strip("\n") == want.strip("\n")


def test_free_lists_add_up_to_the_zone_counters(sysrq) -> None:
    for zone in sysrq.run("kmem -f", records=True):
        assert sum(f["blocks"] << f["order"] for f in zone["lists"]) == zone["free"]


def test_free_pages_listing_equals_crash(sysrq) -> None:
    text = (Path(__file__).parent / "crash-ref" / "linux-sysrq" / "kmem-F.txt").read_text()
    want = text.split("crash> kmem -F\n", 1)[1]
    assert sysrq.run("kmem -F").strip("\n") == want.strip("\n")
