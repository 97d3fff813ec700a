"""Shared test fixtures: where the real dumps are, and one cache shared by every test run.

The real dumps live in the workplace's shared folder beside the checkout
(``<checkout>/../shared/dumps``); tests that need them skip when it is absent.
XDG_CACHE_HOME points at one cache directory in the system's temporary directory, shared
by every run, so an ``.xz`` dump or symbol file is decompressed once, not once per test or
per run (``XCRASH_TEST_CACHE`` names another).
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[1]
SHARED_DUMPS = REPO.parent / "shared" / "dumps"
LINUX_DIR = SHARED_DUMPS / "linux-6.1-sysrq"
XEN_DIR = SHARED_DUMPS / "xen-4.17-hypervisor-panic"

#: the Linux dump files and the crash reference directory of each (None: no reference)
LINUX_DUMPS = {
    "zlib": ("vmcore-d31.kdump", "vmcore-d31.kdump"),
    "lzo": ("vmcore-d31.lzo.kdump", "vmcore-d31.kdump"),
    "user-pages": ("vmcore-d23.kdump", "vmcore-d23.kdump"),
    "elf": ("vmcore-d31.elf.xz", "vmcore-d31.kdump"),
}


def pytest_configure(config: pytest.Config) -> None:
    if "XCRASH_TEST_CACHE" in os.environ:
        os.environ["XDG_CACHE_HOME"] = os.environ["XCRASH_TEST_CACHE"]
    else:
        # one cache shared by every run on this machine: unpacked dumps and symbol files
        # are made once (atomically), not once per run (a run leaves gigabytes behind)
        shared = os.path.join(tempfile.gettempdir(), "xcrash-test-cache")
        os.makedirs(shared, exist_ok=True)
        os.environ["XDG_CACHE_HOME"] = shared
    _unpack_sample_bundles()


def _unpack_sample_bundles() -> None:
    """The sample dumps that ship in bundles (sample-dumps/unpack.py), unpacked where the
    manifest lists them unless they are there already: once per checkout."""
    script = REPO / "sample-dumps" / "unpack.py"
    if not script.exists():
        return
    import importlib.util
    spec = importlib.util.spec_from_file_location("sample_dumps_unpack", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for problem in module.unpack(REPO / "sample-dumps"):
        print(f"sample-dumps: {problem}", file=sys.stderr)


def present(value: T | None) -> T:
    """A value the test expects to be there: a None fails the test here."""
    assert value is not None
    return value


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared dumps are beside the checkout)")
    return path


def crash_ref(dump_dir: str, name_prefix: str) -> str:
    """The text of a crash reference output (without its `crash> cmd` line)."""
    ref_dir = need(LINUX_DIR / "crash-ref" / dump_dir)
    matches = sorted(ref_dir.glob(f"{name_prefix}*"))
    if not matches:
        pytest.skip(f"no crash reference {name_prefix} in {ref_dir}")
    lines = matches[0].read_text().splitlines()
    if lines and lines[0].startswith("crash> "):
        lines = lines[1:]
    return "\n".join(lines).rstrip("\n")


def run(session, line: str, target: str | None = None) -> str:
    """One command line through the engine's Runner, as the shell runs it (aliases, pipes,
    redirection), on ``target`` when given (it stays selected); the line must succeed.
    Returns its output less the trailing newlines."""
    return run_lines(session, line, target=target).rstrip("\n")


def run_lines(session, *lines: str, target: str | None = None) -> str:
    """Several lines through one Runner; every line must succeed. Returns the output
    exactly as written, trailing newline included."""
    import io

    from xcrash.engine.runner import Runner
    if target is not None:
        session.select(target)
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(session, out=out, err=err)
    for line in lines:
        assert runner.execute(line), err.getvalue()
    return out.getvalue()


@pytest.fixture
def shell(tmp_path: Path):
    """xcrash's interactive shell in a pseudo-terminal, on the fake session of
    tests/fake_session.py (tests/pty_shell.py drives it)."""
    from pty_shell import PROMPT, spawn
    (tmp_path / "vmcore").write_bytes(b"")
    child = spawn(tmp_path, "vmcore")
    child.expect_exact(PROMPT)
    yield child
    child.close(force=True)


_sessions: dict[str, object] = {}


@pytest.fixture(scope="session", params=list(LINUX_DUMPS))
def linux_session(request: pytest.FixtureRequest):
    """An xcrash session on each real Linux dump (opened once per run)."""
    import xcrash
    dump_name, ref = LINUX_DUMPS[request.param]
    if request.param not in _sessions:
        vmcore = need(LINUX_DIR / dump_name)
        vmlinux = need(LINUX_DIR / "vmlinux.xz")
        _sessions[request.param] = xcrash.open(str(vmcore), str(vmlinux))
    session = _sessions[request.param]
    session.ref_dir = ref  # type: ignore[attr-defined]
    session.variant = request.param  # type: ignore[attr-defined]
    return session


@pytest.fixture(scope="session")
def vmlinux_symbols():
    """The Linux dump's vmlinux as a SymbolFile (its .xz decompressed once per run)."""
    from xcrash.symbols import open_symbol_file
    return open_symbol_file(str(need(LINUX_DIR / "vmlinux.xz")))


@pytest.fixture(scope="session")
def xen_symbols():
    """The Xen dump's xen-syms as a SymbolFile."""
    from xcrash.symbols import open_symbol_file
    return open_symbol_file(str(need(XEN_DIR / "xen-syms.xz")))


# -- the project's own sample dumps ------------------------------------------------------
SAMPLES = REPO / "sample-dumps"
SAMPLE_MANIFEST = SAMPLES / "MANIFEST.json"


def sample_manifest() -> dict:
    import json
    if not SAMPLE_MANIFEST.exists():
        pytest.skip("sample-dumps/MANIFEST.json is not here")
    return json.loads(SAMPLE_MANIFEST.read_text())


def recorded_blocks(path: Path) -> list[tuple[str, str]]:
    """(command, crash's output) of each ``crash> command`` block of a recorded file."""
    import re
    return [(cmd, body.strip("\n")) for cmd, body in
            re.findall(r"^crash> (.*)\n((?:(?!crash> ).*\n?)*)", path.read_text(), re.M)]


def open_sample(name: str):
    """xcrash on sample-dumps/NAME (MANIFEST.json's first file of that dump), opened once
    per run: a Linux dump with its vmlinux, a Xen dump with its xen-syms and its domains'
    vmlinux (every domain a target); the session starts on its default target."""
    import xcrash
    key = f"sample:{name}"
    if key not in _sessions:
        man = sample_manifest()
        entry = man["dumps"][name]
        if "xen" in entry:      # its xen-syms when one ships, its domains' kernels
            symbols = [entry["xen"]["xen_syms"]] if entry["xen"]["xen_syms"] else []
            symbols += dict.fromkeys(d["kernel"]["vmlinux"] for d in entry.get("domains", [])
                                     if d.get("kernel", {}).get("vmlinux"))
        else:
            symbols = [entry["kernel"]["vmlinux"]]
        _sessions[key] = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                                     *(str(SAMPLES / s) for s in symbols))
    return _sessions[key]


@pytest.fixture(scope="session")
def sample_sysrq():
    """xcrash on sample-dumps/linux-sysrq (its zlib kdump file), opened once per run."""
    return open_sample("linux-sysrq")


@pytest.fixture(scope="session")
def sysrq(sample_sysrq):
    """The linux-sysrq session under its short name."""
    return sample_sysrq


@pytest.fixture(scope="session")
def _sample_xen_own():
    return open_sample("xen-own")


@pytest.fixture
def sample_dom0(_sample_xen_own):
    """xcrash on sample-dumps/xen-own (opened once per run) with dom0 selected."""
    _sample_xen_own.select("dom0")
    return _sample_xen_own


def dom0_ref(name: str, variant: str = "trixie") -> str:
    """crash's output for dom0 of sample-dumps/xen-own, by file name (05-kmem-s.txt)."""
    man = sample_manifest()
    return (SAMPLES / man["dumps"]["xen-own"]["crash_ref"] / variant / "dom0" / name).read_text()


def sysrq_blocks_by_pid(ref_name: str) -> dict[int, str]:
    """crash's `foreach ...` output for linux-sysrq (crash-ref/vmcore.kdump/REF_NAME), one
    block per PID (for PID 0, CPU 0's idle task)."""
    entry = sample_manifest()["dumps"]["linux-sysrq"]
    text = (SAMPLES / entry["crash_ref"] / "vmcore.kdump" / ref_name).read_text()
    blocks: dict[int, str] = {}
    for block in text.strip("\n").split("\n\n"):
        blocks.setdefault(int(block.split()[1]), block)
    return blocks
