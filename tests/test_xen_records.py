"""The Xen commands' records and what they say when something could not be read, on
sample-dumps/xen-own (own Xen 4.17 build with DWARF, dom0 + two PV domUs).

- struct vcpu's members are found in one place (vcpu_layout): without DWARF (the fixed
  first members; the runstate and arch.user_regs by their contents) where DWARF says;
- JSON carries what the text marks: state_loaded (vcpus), curr_vcpu (pcpus);
- an unreadable value is ``?`` in its column, null in JSON, and a WARNING says what.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import SAMPLES, open_sample, sample_manifest
from xcrash.errors import MemoryError_


@pytest.fixture
def xen():
    session = open_sample("xen-own")
    session.select("xen")
    return session


@pytest.fixture(scope="module")
def stripped(tmp_path_factory):
    """xen-own's session with its xen-syms stripped of DWARF (as Debian ships it)."""
    import xcrash
    from xcrash.cache import decompressed_path
    objcopy = shutil.which("objcopy")
    if objcopy is None:
        pytest.skip("objcopy is not installed")
    entry = sample_manifest()["dumps"]["xen-own"]
    out = tmp_path_factory.mktemp("xen") / "xen-syms"
    subprocess.run([objcopy, "--strip-debug", decompressed_path(str(SAMPLES / entry["xen"]["xen_syms"])),
                    str(out)], check=True)
    return xcrash.open(str(SAMPLES / entry["files"][0]["path"]), str(out))


def test_vcpu_layout_without_dwarf_is_where_dwarf_says(xen, stripped) -> None:
    from xcrash.targets.xen.vcpus import vcpu_layout
    typed, found = vcpu_layout(xen.targets["xen"]), vcpu_layout(stripped.targets["xen"])
    assert typed.typed and not found.typed
    for member in ("vcpu_id", "processor", "domain", "runstate", "user_regs"):
        assert getattr(found, member) == getattr(typed, member), member
    assert vcpu_layout(xen.targets["xen"]) is typed           # once per target


def test_doms_without_dwarf_says_where_its_columns_come_from(stripped) -> None:
    stripped.select("xen")
    lines = stripped.run("doms").splitlines()
    assert lines[-1].startswith("WARNING: no DWARF: ids from VMCOREINFO_XEN")


def test_json_carries_the_loaded_vcpus(xen) -> None:
    vcpus = xen.run("vcpus", records=True)
    pcpus = xen.run("pcpus", records=True)
    loaded = {p["curr_vcpu"] for p in pcpus} | {p["current_vcpu"] for p in pcpus}
    assert {v["vcpu"] for v in vcpus if v["state_loaded"]} <= loaded
    assert any(v["state_loaded"] for v in vcpus)
    assert all("active" not in v and "crashing" not in v for v in vcpus)


def test_an_unreadable_shared_info_is_a_question_mark_and_a_warning(xen, monkeypatch) -> None:
    from xcrash.targets.xen.domains import domains
    target = xen.targets["xen"]
    dom1 = next(d for d in domains(target) if d.domain_id == 1)
    space = target.space
    real = space.read_u64

    def read_u64(addr: int) -> int:
        if dom1.shared_info <= addr < dom1.shared_info + 4096:
            raise MemoryError_(f"virtual address {addr:#x}: test damage", addr)
        return real(addr)

    monkeypatch.setattr(space, "read_u64", read_u64)
    text = xen.run("doms 1").splitlines()
    assert text[1].split()[-1] == "?"
    assert text[-1].startswith("WARNING: shared_info of domain 1 unreadable")
    [record] = xen.run("doms 1", records=True)
    assert record["p2m_mfn"] is None and record["shared_info"] == dom1.shared_info
