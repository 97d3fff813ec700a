"""ruff and mypy over the project, as configured in pyproject.toml: CI runs them with the tests.

Both come from the test environment (``pip install -e '.[test]'`` installs them beside
pytest): the tools next to the Python running the tests.  mypy keeps its cache in the
tests' shared cache directory, one per checkout, so that a run checks only what changed.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: install the test extras (pip install -e '.[test]')")
    return str(path)


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_is_clean() -> None:
    done = run(tool("ruff"), "check", "--no-cache", "xcrash", "tests")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_is_clean() -> None:
    shared = os.environ.get("XDG_CACHE_HOME") or tempfile.gettempdir()
    checkout = hashlib.sha256(str(REPO).encode()).hexdigest()[:12]
    cache = Path(shared) / "mypy" / checkout
    done = run(tool("mypy"), "--cache-dir", str(cache))
    assert done.returncode == 0, done.stdout + done.stderr
