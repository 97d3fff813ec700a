"""sample-dumps/: the manifest matches the committed files, and every dump opens in xcrash.

Files a bundle carries (``"bundle"`` in their entry: sample-dumps/unpack.py, run by conftest)
are checked once unpacked; the budget counts what is committed: the bundles, not their files.

Cheap checks only: nothing is regenerated here (the factory takes tens of minutes). Expectations
come from sample-dumps/MANIFEST.json, never from copies in this file. Skips when the dump set is
not in the checkout.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import xcrash

SAMPLES = Path(__file__).resolve().parents[1] / "sample-dumps"
MANIFEST = SAMPLES / "MANIFEST.json"


def _manifest() -> dict:
    if not MANIFEST.exists():
        return {}
    return json.loads(MANIFEST.read_text())


MAN = _manifest()
BUDGET_MB = 250         # what a clone of the repository carries in sample-dumps/
DUMPS = sorted(MAN.get("dumps", {}))
FILES = ([(n, f) for n, e in sorted(MAN.get("symbols", {}).items()) for f in [e]]
         + [(n, f) for n in DUMPS for f in MAN["dumps"][n]["files"]])
BUNDLES = [{"path": name, **entry} for name, entry in sorted(MAN.get("bundles", {}).items())]

pytestmark = pytest.mark.skipif(not MAN, reason="sample-dumps/MANIFEST.json is not in this checkout")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@pytest.mark.parametrize("owner,entry", FILES, ids=[f["path"] for _, f in FILES])
def test_file_matches_manifest(owner: str, entry: dict) -> None:
    path = SAMPLES / entry["path"]
    assert path.is_file(), f"{entry['path']} listed for {owner} but missing"
    assert path.stat().st_size == entry["size"]
    assert _sha256(path) == entry["sha256"]


@pytest.mark.parametrize("entry", BUNDLES, ids=[b["path"] for b in BUNDLES])
def test_bundle_matches_manifest(entry: dict) -> None:
    path = SAMPLES / entry["path"]
    assert path.is_file(), f"bundle {entry['path']} listed but missing"
    assert path.stat().st_size == entry["size"]
    assert _sha256(path) == entry["sha256"]
    carried = {f["path"] for _, f in FILES if f.get("bundle") == entry["path"]}
    assert carried == {name for name, _ in entry["members"]}


def test_every_committed_file_is_listed() -> None:
    listed = {SAMPLES / f["path"] for _, f in FILES} | {SAMPLES / b["path"] for b in BUNDLES}
    big = {p for p in SAMPLES.rglob("*") if p.is_file() and p.stat().st_size > 1 << 20
           and "work" not in p.relative_to(SAMPLES).parts}
    assert big <= listed, f"unlisted large files: {sorted(str(p) for p in big - listed)}"


def test_budget() -> None:
    unpacked = {SAMPLES / f["path"] for _, f in FILES if "bundle" in f}
    total = sum(p.stat().st_size for p in SAMPLES.rglob("*")
                if p.is_file() and "work" not in p.relative_to(SAMPLES).parts and p not in unpacked)
    assert total <= BUDGET_MB * 1000 * 1000


def _symbols_for(name: str) -> list[str]:
    d = MAN["dumps"][name]
    if "xen" in d:      # Xen 4.20's dump ships alone: Xen's own table gives its symbols
        syms = d["xen"]["xen_syms"]
        return [str(SAMPLES / syms.removeprefix("sample-dumps/"))] if syms else []
    return [str(SAMPLES / d["kernel"]["vmlinux"].removeprefix("sample-dumps/"))]


@pytest.mark.parametrize("name", DUMPS)
def test_dump_opens(name: str) -> None:
    d = MAN["dumps"][name]
    first = SAMPLES / d["files"][0]["path"]
    session = xcrash.open(str(first), *_symbols_for(name))
    assert session.targets


@pytest.mark.parametrize("name", [n for n in DUMPS if "processes_started" in MAN["dumps"][n]])
def test_linux_processes_in_crash_reference(name: str) -> None:
    d = MAN["dumps"][name]
    refs = sorted((SAMPLES / d["crash_ref"]).glob("vmcore.kdump/*-ps.txt"))
    if not refs:
        pytest.skip("no crash ps reference")
    ps = refs[0].read_text()
    for p in d["processes_started"]:
        assert p["comm"] in ps
    task = d["crashing_task"]
    bt = (SAMPLES / d["crash_ref"] / "vmcore.kdump" / "03-bt.txt").read_text()
    assert f'COMMAND: "{task["comm"]}"' in bt


@pytest.mark.parametrize("name", [n for n in DUMPS if "domains" in MAN["dumps"][n]])
def test_xen_domains_in_manifest(name: str) -> None:
    d = MAN["dumps"][name]
    names = [dom["name"] for dom in d["domains"]]
    assert names[:1] == ["Domain-0"] and len(names) == 3
    kernels = {dom["kernel"]["release"] for dom in d["domains"]}
    assert len(kernels) == 2, "one domU runs another kernel build"
    for dom in d["domains"][1:]:
        assert [p["comm"] for p in dom["processes_started"]] == [f"{dom['name']}-sleeper",
                                                                 f"{dom['name']}-worker"]
