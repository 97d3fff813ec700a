"""What the project says about itself: README's first commands, the CI script that runs them,
tools/compare_crash.py's usage line, and the test suite's own layout."""
from __future__ import annotations

import ast
import importlib.util
import re
import shlex
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"


def readme_commands(readme: Path = ROOT / "README.md") -> list[str]:
    """The lines of README.md's first code block."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", readme.read_text(), re.MULTILINE | re.DOTALL)
    return blocks[0].splitlines()


def test_readme_starts_with_a_venv_install_and_the_venvs_test_command() -> None:
    """A stock Debian 12 / Ubuntu 24.04 has python3 only (no `python`) and refuses `pip
    install` outside a virtual environment (PEP 668)."""
    install, tests = readme_commands()
    steps = [shlex.split(step) for step in install.split("&&")]
    assert steps[0] == ["python3", "-m", "venv", ".venv"]
    assert steps[1][:2] == [".venv/bin/pip", "install"]
    assert steps[2][0] == ".venv/bin/xcrash"
    assert tests == ".venv/bin/python -m pytest -q"


def test_ci_runs_the_readmes_two_commands(tmp_path: Path) -> None:
    """.ci/run takes its commands from README.md's first code block, from the project root."""
    bash = shutil.which("bash")
    assert bash
    (tmp_path / ".ci").mkdir()
    shutil.copy(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    (tmp_path / "README.md").write_text("# p\n\n```sh\necho install > first\npwd > second\n```\n\n"
                                        "```sh\necho later > third\n```\n")
    proc = subprocess.run([bash, str(tmp_path / ".ci" / "run")], cwd="/", capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "first").read_text() == "install\n"
    assert (tmp_path / "second").read_text() == f"{tmp_path}\n"
    assert not (tmp_path / "third").exists()
    # a failing README command fails CI
    (tmp_path / "README.md").write_text("```sh\ntrue\nexit 3\n```\n")
    proc = subprocess.run([bash, str(tmp_path / ".ci" / "run")], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 3


def test_compare_crash_usage_line_is_what_its_parser_takes() -> None:
    path = ROOT / "tools" / "compare_crash.py"
    spec = importlib.util.spec_from_file_location("compare_crash", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.__doc__
    [usage] = [line.split("tools/compare_crash.py", 1)[1] for line in module.__doc__.splitlines()
               if "tools/compare_crash.py" in line]
    words = [w.strip("[]") for w in shlex.split(usage.replace("...", ""))]
    args = module.parser().parse_args(words)
    assert (args.vmcore, args.symbols, args.refs) == ("VMCORE", ["SYMBOL-FILE"], "DIR")


def test_no_test_module_imports_another() -> None:
    """Shared helpers live in conftest.py or a helper module (not named test_*)."""
    modules = {p.stem for p in TESTS.glob("test_*.py")}
    found = []
    for path in sorted(TESTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in modules]
    assert found == []
