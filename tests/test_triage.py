"""xcrash triage over the shipped samples and their format variants: one group per crash,
symbol files chosen by build-id, an error record for a file that is no dump, a cache
that makes a second run open only the new dumps, a local pool and a Dask LocalCluster."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from conftest import SAMPLES, sample_manifest

from xcrash import cli

SYMBOLS = SAMPLES / "symbols"
SYMS = ["vmlinux-6.1-xcrash.xz", "vmlinux-6.1-xcrash-guest", "xen-syms-4.17.5-xcrash.xz",
        "xen-syms-4.17.5-debian.xz"]
SYM_ARGS = [a for s in SYMS for a in ("--sym", str(SYMBOLS / s))]


def sample_dump_files() -> dict[str, list[Path]]:
    """Every shipped dump file, by crash (linux-sysrq: zlib, zstd and ELF of one crash)."""
    return {name: [SAMPLES / f["path"] for f in entry["files"]]
            for name, entry in sample_manifest()["dumps"].items()}


@pytest.fixture(scope="module")
def crash_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A /var/crash-like tree of links to the samples, a file that only looks like a
    dump, and files that are no dumps (not picked up in a directory)."""
    root = tmp_path_factory.mktemp("crash")
    for name, files in sample_dump_files().items():
        for i, f in enumerate(files):
            d = root / f"{name}-{i}"
            d.mkdir()
            (d / f.name).symlink_to(f)
            (d / "dmesg.txt").write_text("not a dump\n")
            (d / "makedumpfile-version.txt").write_text("makedumpfile: version 1.7.6\n")
    (root / "broken").mkdir()
    (root / "broken" / "vmcore").write_bytes(b"KDUMP   " + bytes(100))
    return root


def triage(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict]]:
    status = cli.main(["triage", "--json", *args], fast_exit=False)
    out = capsys.readouterr().out
    return status, [json.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="module")
def first_run(crash_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    cache = tmp_path_factory.mktemp("cache") / "triage.json"
    html = tmp_path_factory.mktemp("html")
    status = cli.main(["triage", "--json", "--workers", "2", "--cache", str(cache),
                       "--html", str(html), *SYM_ARGS, str(crash_dir)], fast_exit=False)
    return {"status": status, "cache": cache, "html": html}


@pytest.fixture(scope="module")
def records(first_run: dict) -> list[dict]:
    data = json.loads(Path(first_run["cache"]).read_text())
    return list(data["records"].values())


def by_name(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in records:
        out.setdefault(Path(r["path"]).parent.name.rsplit("-", 1)[0], []).append(r)
    return out


#: dumps of one crash (the same code path) on other kernels, formats and KASLR offsets: one
#: signature each set; every other dump has its own
SAME_CRASH = [{"linux-sysrq", "debian-5.10-sysrq", "debian-6.1-la57", "debian-7.2-sysrq"},
              {"debian-5.10-oops", "debian-7.2-oops"}, {"xen-own", "xen-debian"}]
#: dumps triage opens but cannot sign: no symbols for any target (QEMU's dumps have no
#: VMCOREINFO, and triage is given no vmlinux for them)
UNSIGNED = {"debian-6.12-qemu"}


def expected_groups() -> list[set[str]]:
    here = {n for n in sample_dump_files() if n not in UNSIGNED}
    sets = [group & here for group in SAME_CRASH if group & here]
    return sets + [{n} for n in sorted(here - set().union(*SAME_CRASH))]


def test_one_group_per_crash(first_run: dict, records: list[dict]) -> None:
    assert first_run["status"] == 1                  # the broken file's record says why
    named = by_name(records)
    files = sample_dump_files()
    for name, recs in named.items():
        if name != "broken":
            assert len(recs) == len(files[name])
    assert {r["format"] for r in named["linux-sysrq"]} == {
        "kdump-compressed (zlib)", "kdump-compressed (zstd)", "ELF"}
    for name in UNSIGNED & set(named):
        assert all(r["signature"] is None and r["error"] is None for r in named[name])
        assert all("no VMCOREINFO" in " ".join(r["notes"]) for r in named[name])
    signature_of = {}
    for name, recs in named.items():
        if name in UNSIGNED or name == "broken":
            continue
        sigs = {r["signature"] for r in recs}
        assert len(sigs) == 1 and None not in sigs, (name, sigs)   # one crash, every format
        signature_of[name] = sigs.pop()
    groups_seen = [{n for n, sig in signature_of.items() if sig == s}
                   for s in dict.fromkeys(signature_of.values())]
    assert sorted(map(sorted, groups_seen)) == sorted(map(sorted, expected_groups()))
    from xcrash.triage import groups
    gs = groups(records)
    titles = {g.title: g.count for g in gs}
    assert titles["Kernel panic - not syncing: sysrq triggered crash in sysrq_handle_crash"] == \
        sum(len(files[n]) for n in SAME_CRASH[0] if n in files)
    assert "Xen: crash key on pCPU 0" in titles
    assert "Kernel panic - not syncing: NMI: Not continuing" in titles


def test_records_say_what_the_dump_is(records: list[dict]) -> None:
    named = by_name(records)
    man = sample_manifest()
    sysrq = named["linux-sysrq"][0]
    assert sysrq["release"] == "6.1.192-xcrash"
    assert sysrq["build_id"] == man["dumps"]["linux-sysrq"]["kernel"]["build_id"]
    assert sysrq["hypervisor"] is None and sysrq["uptime"] == 12
    assert sysrq["task"] == {"pid": 255, "comm": "xc-crasher", "cpu": 0, "target": "kernel"}
    assert sysrq["taint"] == {"mask": 0, "flags": ""}
    assert sysrq["crash_time"] == 1795680741          # VMCOREINFO's CRASHTIME
    assert [Path(s).name for s in sysrq["symbols"]] == ["vmlinux-6.1-xcrash.xz"]
    for name in ("xen-own", "xen-debian"):
        r = named[name][0]
        assert r["hypervisor"] == "4.17.5"
        assert r["hypervisor_build_id"] == man["dumps"][name]["xen"]["build_id"]
        # each Xen dump took the xen-syms of its own build-id, and the vmlinux files
        assert [Path(s).name for s in r["symbols"]] == [
            Path(man["dumps"][name]["xen"]["xen_syms"]).name, "vmlinux-6.1-xcrash.xz",
            "vmlinux-6.1-xcrash-guest"]
        assert r["release"] == "6.1.192-xcrash"      # dom0's
    for r in records:
        if r["error"] is None:
            assert set(r["timing"]) == {"open", "signature", "report", "total"}
            assert r["worker"]["peak_rss_kib"] > 0


def test_a_file_that_is_no_dump_gives_an_error_record(records: list[dict]) -> None:
    broken = by_name(records)["broken"]
    assert len(broken) == 1 and broken[0]["signature"] is None
    assert "\n" not in broken[0]["error"] and broken[0]["error"]
    assert not any(r["path"].endswith(".txt") for r in records)


def test_the_summary_page_and_reports_are_written(first_run: dict, records: list[dict]) -> None:
    html = Path(first_run["html"])
    index = (html / "index.html").read_text()
    assert "<svg" in index and "<script" not in index
    for r in records:
        if r["error"] is None:
            assert (html / "reports" / r["report"]).is_file()
            assert f'href="reports/{r["report"]}"' in index


def test_a_second_run_opens_only_the_new_dumps(crash_dir: Path, first_run: dict,
                                               capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    extra = tmp_path / "new"
    extra.mkdir()
    nmi = sample_dump_files()["linux-nmi"][0]
    (extra / "vmcore.elf.xz").symlink_to(nmi)
    status, recs = triage(capsys, "--workers", "0", "--cache", str(first_run["cache"]),
                          "--html", str(first_run["html"]), *SYM_ARGS, str(crash_dir),
                          str(extra))
    assert status == 1
    fresh = [r["path"] for r in recs if not r["cached"]]
    assert fresh == [str(extra / "vmcore.elf.xz")]
    assert len(recs) == sum(map(len, sample_dump_files().values())) + 2     # + broken, + new
    again = [r for r in recs if r["path"] == fresh[0]][0]
    # the same symbol file for its build-id: kept; other symbol files (none): opened again
    status, recs = triage(capsys, "--workers", "0", "--cache", str(first_run["cache"]),
                          "--sym", str(SYMBOLS / "vmlinux-6.1-xcrash.xz"), str(extra))
    assert [r["cached"] for r in recs] == [True]
    assert recs[0]["signature"] == again["signature"]
    status, recs = triage(capsys, "--workers", "0", "--cache", str(first_run["cache"]),
                          str(extra))
    assert [r["cached"] for r in recs] == [False]
    # a file replaced by another (its size and mtime): opened again
    (extra / "vmcore.elf.xz").unlink()
    (extra / "vmcore.elf.xz").symlink_to(sample_dump_files()["linux-sysrq"][1])
    status, recs = triage(capsys, "--workers", "0", "--cache", str(first_run["cache"]),
                          str(extra))
    assert [r["cached"] for r in recs] == [False]
    assert recs[0]["signature"] != again["signature"]


def test_table_groups_by_signature(crash_dir: Path, first_run: dict,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["triage", "--workers", "0", "--cache", str(first_run["cache"]),
                       *SYM_ARGS, str(crash_dir)], fast_exit=False)
    out = capsys.readouterr().out.splitlines()
    assert status == 1
    assert out[0].split()[:2] == ["SIGNATURE", "COUNT"]
    files = sample_dump_files()
    biggest = sum(len(files[n]) for n in SAME_CRASH[0] if n in files)
    assert out[1].split()[1] == str(biggest) and "sysrq_handle_crash" in out[1]
    dumps = sum(map(len, files.values())) + 1
    unsigned = sum(len(files[n]) for n in UNSIGNED if n in files)
    total = next(line for line in out if line.endswith("without a crash found"))
    assert total == (f"{dumps} dumps, {len(expected_groups())} signatures, 1 could not be "
                     f"opened, {unsigned} without a crash found")
    assert any(line.startswith("error: ") and "broken/vmcore" in line for line in out)


def test_dask_local_cluster(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same work on a 2-worker Dask LocalCluster (CI installs xcrash[cluster])."""
    if not os.environ.get("CI"):
        pytest.importorskip("dask.distributed")
    files = sample_dump_files()
    paths = [str(files["linux-sysrq"][0]), str(files["linux-nmi"][0]),
             str(files["xen-own"][0])]
    status, recs = triage(capsys, "--dask", "local", "--dask-workers", "2", "--no-cache",
                          *SYM_ARGS, *paths)
    assert status == 0
    assert sorted(r["path"] for r in recs) == sorted(paths)
    assert len({r["signature"] for r in recs}) == 3
    assert len({r["worker"]["pid"] for r in recs} - {os.getpid()}) >= 1


def test_without_dask_it_says_how_to_install(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    status = cli.main(["triage", "--dask", "local", str(SAMPLES)], fast_exit=False)
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1
    assert "pip install 'xcrash[cluster]'" in err[0]


def test_no_dump_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("x")
    assert cli.main(["triage", str(tmp_path)], fast_exit=False) == 2
    assert "no dump found" in capsys.readouterr().err
