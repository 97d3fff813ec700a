"""The Python API the README documents."""
from __future__ import annotations


def test_api_as_documented(linux_session) -> None:
    kernel = linux_session.target("kernel")
    assert list(linux_session.targets) == ["kernel"]
    assert kernel.object("init_task").comm.string_() == b"swapper/0"
    tasks = kernel.tasks()
    assert len(tasks) == 45 and {int(t.pid) for t in tasks} >= {0, 1, 68}
    text = linux_session.run("ps lab_crasher")
    assert "lab_crasher" in text and text.splitlines()[0].lstrip().startswith("PID")
    rows = linux_session.run("ps lab_crasher", records=True)
    assert rows == [r for r in rows if r["pid"] == 68] and rows[0]["state"] == "RU"


def test_api_errors_are_typed(linux_session) -> None:
    import pytest

    from xcrash.errors import CommandError
    with pytest.raises(CommandError, match="frobnicate"):
        linux_session.run("frobnicate")


def test_the_readme_examples_run_and_print_what_they_say(tmp_path) -> None:
    """README's "Python API" block, run as written from the project root (its paths are the
    sample dumps'); each `print(...)  # value` prints that value."""
    import os
    import re
    import subprocess
    import sys
    from pathlib import Path

    import pytest
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme[readme.index("## Python API"):], re.S)
    assert code is not None
    for path in re.findall(r'"(sample-dumps/[^"]+)"', code.group(1)):
        if not (root / path).exists():
            pytest.skip(f"{path} is not here")
    said = [m.group(1).strip() for m in re.finditer(r"^print\(.*\)\s+# (b'.*|\d.*)$",
                                                     code.group(1), re.M)]
    assert len(said) >= 2
    env = dict(os.environ, PYTHONPATH=str(root))
    done = subprocess.run([sys.executable, "-c", code.group(1)], capture_output=True, text=True,
                          cwd=root, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    for value in said:
        assert value in done.stdout.splitlines(), value
    assert "BtFrame panic" in done.stdout and "TaskExceptionFrame" in done.stdout
