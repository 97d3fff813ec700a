"""--json outputs of sys, ps, bt, log, doms, vcpus, pcpus, sym and rd validate
against the schemas in tests/schemas/ (the stable keys the README lists),
through the command line as a script would run it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import LINUX_DIR, XEN_DIR, need

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = Path(__file__).resolve().parent / "schemas"
ENVELOPE = json.loads((SCHEMAS / "envelope.json").read_text())
NAMES = ["sys", "ps", "bt", "log", "doms", "vcpus", "pcpus", "sym", "rd"]

LINUX_COMMANDS = ["sys", "ps", "bt", "bt -a", "log", "sym panic", "sym schedule", "rd jiffies",
                  "rd -64 jiffies 4", "rd -32 jiffies 3", "rd -8 linux_banner 4"]
XEN_COMMANDS = ["sys", "doms", "vcpus", "pcpus", "log", "bt", "bt -a", "sym kexec_crash",
                "rd -64 xen_phys_start 2"]


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.json").read_text())


@pytest.mark.parametrize("name", NAMES)
def test_schemas_are_valid_and_strict(name: str) -> None:
    s = schema(name)
    jsonschema.Draft202012Validator.check_schema(s)
    assert s["items"]["additionalProperties"] is False
    assert set(s["items"]["required"]) <= set(s["items"]["properties"])


def test_readme_lists_every_key() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in NAMES:
        for key in schema(name)["items"]["properties"]:
            assert f"`{key}`" in readme, f"README: {name} key {key} not documented"


def json_documents(text: str) -> list:
    """The JSON documents written one after another (one per -c)."""
    decoder, i = json.JSONDecoder(), 0
    out: list[Any] = []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        doc, i = decoder.raw_decode(text, i)
        out.append(doc)


def run_json(paths: list[str], commands: list[str]) -> list:
    argv = [sys.executable, "-m", "xcrash", "-s", "--json"]
    for c in commands:
        argv += ["-c", c]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("XCRASH_TEST_SESSION", None)
    done = subprocess.run(argv + paths, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    docs = json_documents(done.stdout)
    assert len(docs) == len(commands)
    return docs


def _check(commands: list[str], docs: list) -> list:
    """Validate each envelope and its records; the records of each command."""
    out = []
    for command, doc in zip(commands, docs):
        name = command.split()[0]
        jsonschema.validate(doc, ENVELOPE)
        assert doc["command"] == command and doc["warnings"] == []
        jsonschema.validate(doc["records"], schema(name))
        out.append(doc["records"])
    return out


@pytest.mark.slow
def test_linux_json_outputs_validate() -> None:
    paths = [str(need(LINUX_DIR / "vmcore-d31.kdump")), str(need(LINUX_DIR / "vmlinux.xz"))]
    docs = _check(LINUX_COMMANDS, run_json(paths, LINUX_COMMANDS))
    sys_record = docs[0][0]
    assert sys_record["panic"].startswith("Kernel panic")
    assert any(r["comm"] == "lab_crasher" for r in docs[1])


@pytest.mark.slow
def test_xen_json_outputs_validate() -> None:
    paths = [str(need(XEN_DIR / "vmcore-d1.elf.xz")), str(need(XEN_DIR / "xen-syms.xz"))]
    docs = _check(XEN_COMMANDS, run_json(paths, XEN_COMMANDS))
    assert {d["domain_id"] for d in docs[1]} >= {0, 1, 2}


def test_a_changed_key_fails_validation() -> None:
    record = {"pid": 1, "ppid": 0, "cpu": 0, "task": 1, "state": "IN", "mem_percent": 0.0,
              "vsz": 0, "rss": 0, "comm": "init", "kernel_thread": False, "active": False,
              "tgid": 1, "policy": 0}
    jsonschema.validate([record], schema("ps"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{**record, "command": "init"}], schema("ps"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([{k: v for k, v in record.items() if k != "pid"}], schema("ps"))
