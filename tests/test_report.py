"""xcrash report on every sample dump: the text and the JSON (tests/schemas/report.json,
each command section's records by that command's schema), every target covered, and
the panic section equal to sys's PANIC line and bt's panic trace of the same dump."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from conftest import SAMPLES, open_sample, run, sample_manifest

from xcrash.report import build_report, to_html, to_json, to_text
from xcrash.report.redact import Redactor

SCHEMAS = Path(__file__).resolve().parent / "schemas"
REPORT_SCHEMA = json.loads((SCHEMAS / "report.json").read_text())
#: the command schemas a section's records follow, by the section's command
COMMAND_SCHEMAS = {"sys": "sys", "bt": "bt", "bt -p": "bt", "bt -a": "bt", "doms": "doms",
                   "vcpus": "vcpus", "pcpus": "pcpus", "log | tail -50": "log"}
DUMPS = ["linux-sysrq", "linux-nmi", "xen-own", "xen-debian"]

_reports: dict[str, tuple[object, object]] = {}


def report_of(name: str):
    """(session, report) of a sample dump, built once per run."""
    if name not in _reports:
        session = open_sample(name)
        _reports[name] = (session, build_report(session))
    return _reports[name]


@pytest.mark.parametrize("name", DUMPS)
def test_json_validates(name: str) -> None:
    _session, report = report_of(name)
    data = json.loads(to_json(report))
    jsonschema.validate(data, REPORT_SCHEMA)
    checked = 0
    for part in data["targets"]:
        for section in part["sections"]:
            schema_name = COMMAND_SCHEMAS.get(section["command"])
            if schema_name is None or section["error"]:
                continue
            items = json.loads((SCHEMAS / f"{schema_name}.json").read_text())
            jsonschema.validate(section["records"], items)
            checked += 1
    assert checked >= 4


def test_report_schema_is_strict() -> None:
    jsonschema.Draft202012Validator.check_schema(REPORT_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"format": 1}, REPORT_SCHEMA)


@pytest.mark.parametrize("name", DUMPS)
def test_every_target_and_section_is_there(name: str) -> None:
    session, report = report_of(name)
    wanted = {n for n, t in session.targets.items() if t.kind != "machine"}
    assert {p.name for p in report.targets} == wanted
    text = to_text(report)
    for part in report.targets:
        assert f"\n{part.name}: " in text
        keys = {s.id.split("-", 1)[1] for s in part.sections}
        if part.kind == "xen":
            assert {"system", "panic", "domains", "vcpus", "pcpus", "cpus", "log"} <= keys
        elif part.kind.endswith("linux") and session.targets[part.name].symfile is not None:
            assert {"system", "cpus", "blocked", "log", "reports", "taint", "memory",
                    "slab"} <= keys
        for s in part.sections:
            assert s.error is None, f"{name} {s.id}: {s.error}"
            assert f"---- {s.title}" in text


@pytest.mark.parametrize("name", ["linux-sysrq", "linux-nmi"])
def test_panic_section_is_sys_panic_and_bt(name: str) -> None:
    session, report = report_of(name)
    part = report.targets[0]
    panic = next(s for s in part.sections if s.id == "kernel-panic")
    sys_panic = next(line for line in run(session, "sys").splitlines()
                     if line.lstrip().startswith("PANIC:"))
    assert panic.lines[0] == sys_panic
    assert sys_panic.split(": ", 1)[1] == sample_manifest()["dumps"][name]["crash_sys_panic"]
    assert panic.lines[1:] == run(session, "bt -p").splitlines()
    crash = part.crash
    assert crash is not None and crash.pid is not None
    assert f'PID: {crash.pid} ' in panic.lines[1]
    assert report.crash is crash


def test_sysrq_panic_trace_is_crashs() -> None:
    _session, report = report_of("linux-sysrq")
    panic = next(s for s in report.targets[0].sections if s.id == "kernel-panic")
    entry = sample_manifest()["dumps"]["linux-sysrq"]
    crash_bt = (SAMPLES / entry["crash_ref"] / "vmcore.kdump" / "03-bt.txt").read_text()
    assert "\n".join(panic.lines[1:]) == crash_bt.strip("\n")
    crash_sys = (SAMPLES / entry["crash_ref"] / "vmcore.kdump" / "01-sys.txt").read_text()
    assert panic.lines[0] in crash_sys.splitlines()


@pytest.mark.parametrize("name", ["xen-own", "xen-debian"])
def test_xen_crash_section_is_the_crashing_pcpus_bt(name: str) -> None:
    session, report = report_of(name)
    xen = next(p for p in report.targets if p.name == "xen")
    panic = next(s for s in xen.sections if s.id == "xen-panic")
    assert panic.lines[0] == "CRASH: 'C' pressed -> triggering crashdump"
    try:
        assert panic.lines[1:] == run(session, "bt", target="xen").splitlines()
        every = next(s for s in xen.sections if s.id == "xen-cpus")
        assert every.lines == run(session, "bt -a", target="xen").splitlines()
    finally:
        session.select(next(iter(session.targets)))
    assert report.crash is xen.crash
    assert report.crash.title.startswith("Xen: crash key on pCPU ")


def test_guests_have_their_sections_but_no_crash() -> None:
    _session, report = report_of("xen-own")
    guests = [p for p in report.targets if p.name.startswith("dom")]
    assert [g.name for g in guests] == ["dom0", "dom1", "dom2"]
    for g in guests:
        assert g.crash is None
        assert not any(s.id.endswith("-panic") for s in g.sections)
        log = next(s for s in g.sections if s.id == f"{g.name}-log")
        assert 0 < len(log.records) <= 50


def test_blocked_section_says_none_on_the_samples() -> None:
    _session, report = report_of("linux-sysrq")
    blocked = next(s for s in report.targets[0].sections if s.id == "kernel-blocked")
    assert blocked.lines == ["no task in D state"] and blocked.records == []


def test_slab_section_is_the_largest_caches() -> None:
    session, report = report_of("linux-sysrq")
    slab = next(s for s in report.targets[0].sections if s.id == "kernel-slab")
    sizes = [r["slabs"] * r["slab_size"] for r in slab.records]
    assert len(sizes) == 10 and sizes == sorted(sizes, reverse=True)
    every = session.run("kmem -s", records=True)
    assert max(r["slabs"] * r["slab_size"] for r in every) == sizes[0]
    lines = run(session, "kmem -s").splitlines()
    assert slab.lines[0] == lines[0]
    assert set(slab.lines[1:]) <= set(lines[1:])


def test_html_is_one_page_with_contents_and_sections() -> None:
    _session, report = report_of("xen-own")
    page = to_html(report)
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    for part in report.targets:
        for s in part.sections:
            assert f'href="#{s.id}"' in page and f'id="{s.id}"' in page


def test_redact_leaves_out_what_may_carry_secrets() -> None:
    session, plain = report_of("linux-sysrq")
    redacted = build_report(session, redact=True)
    text, before = to_text(redacted), to_text(plain)
    for secret in ("with environment:", "HOME=/", "TERM=linux", "with arguments:"):
        assert secret in before and secret not in text
    assert "sample-dumps/linux-sysrq/vmcore.kdump" in before
    assert "sample-dumps/" not in text and "vmcore.kdump" in text
    assert redacted.redacted and "REDACTED:" in text
    assert any("log lines that may carry secrets were left out" in m for m in redacted.messages)


def test_redactor_hides_host_names_and_command_lines() -> None:
    r = Redactor(True)
    r.add_name("db-prod-7")
    r.add_path("/var/crash/db-prod-7-2024/vmcore")
    assert r.text("node db-prod-7 up; /var/crash/db-prod-7-2024/vmcore") == \
        "node (redacted) up; vmcore"
    lines = ["Command line: BOOT_IMAGE=/vmlinuz root=/dev/sda1 secret=x", "Run /init as init",
             "  with arguments:", "    /init", "    --token=abc", "  with environment:",
             "    HOME=/", "ordinary line", "password is hunter2"]
    assert [line for line, keep in zip(lines, r.keep_mask(lines)) if keep] == \
        ["Run /init as init", "ordinary line"]
    assert Redactor(False).keep_mask(lines) == [True] * len(lines)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """xcrash report VMCORE SYMS: text, --json, --html FILE; a file that is no dump: 2."""
    from xcrash import cli
    entry = sample_manifest()["dumps"]["linux-nmi"]
    args = [str(SAMPLES / entry["files"][0]["path"]), str(SAMPLES / entry["kernel"]["vmlinux"])]
    assert cli.main(["report", *args], fast_exit=False) == 0
    text = capsys.readouterr().out
    assert text.startswith("xcrash ") and "\nTITLE: Kernel panic - not syncing: NMI: " in text
    assert cli.main(["report", "--json", "--redact", *args], fast_exit=False) == 0
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, REPORT_SCHEMA)
    assert data["redacted"] is True and data["dump"]["path"] == "vmcore.elf.xz"
    page = tmp_path / "r.html"
    assert cli.main(["report", "--html", str(page), *args], fast_exit=False) == 0
    assert capsys.readouterr().out == "" and page.read_text().startswith("<!DOCTYPE html>")
    (tmp_path / "junk").write_bytes(b"junk" * 100)
    assert cli.main(["report", str(tmp_path / "junk")], fast_exit=False) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("xcrash: ")
