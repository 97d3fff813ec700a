"""Every command's help example runs on the shipped sample dumps.

A command's ``example`` is a list of command lines (one per line) that ``help CMD`` shows.
They are run in order, through one Runner (as a user would type them), on the sample whose
target kind the command works on: a Linux command on sample-dumps/linux-sysrq (its
vmlinux), a Xen command on sample-dumps/xen-own's hypervisor target (xen-syms and both
vmlinux); an example that switches targets (``target dom1``) on xen-own, from its ``xen``
target.  Each line must succeed, with no WARNING line unless the example is about one
(``EXPECTED_WARNINGS``).  The sessions are the run's shared ones (conftest.open_sample):
each target's state (the current target, `set`'s context task) is put back afterwards.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from conftest import open_sample
from xcrash.commands.base import Command, Quit
from xcrash.commands.registry import Registry
from xcrash.engine.runner import Runner
from xcrash.targets.linux.kernel import LinuxTarget

COMMANDS = sorted(Registry(plugins=False).commands(), key=lambda c: c.name)

#: example lines whose WARNING is what they show, and the start of that WARNING
EXPECTED_WARNINGS = {
    "search -l 2 ffffffffa6214600": "WARNING: search: stopped after 2 hits (-l)",
}


@dataclass
class Place:
    sample: str
    target: str | None      # None: the sample's only (default) target


LINUX = Place("linux-sysrq", None)
XEN = Place("xen-own", "xen")


def place_of(cmd: Command) -> Place:
    """Where a command's example runs: the Linux sample for a command that works on Linux
    kernels (or on every kind), xen-own's hypervisor for a Xen command or an example that
    moves between targets."""
    lines = examples(cmd)
    if any(line.split()[0] in ("target", "dom") and len(line.split()) > 1 for line in lines):
        return XEN
    return LINUX if cmd.works_on("linux") else XEN


def examples(cmd: Command) -> list[str]:
    return [line for line in cmd.example.split("\n") if line.strip()]


def test_every_command_has_an_example() -> None:
    assert COMMANDS
    assert [c.name for c in COMMANDS if not examples(c)] == []


@pytest.mark.parametrize("cmd", COMMANDS, ids=[c.name for c in COMMANDS])
def test_help_example_runs_on_its_sample(cmd: Command) -> None:
    place = place_of(cmd)
    session = open_sample(place.sample)
    before = session.current
    if place.target is not None:
        session.select(place.target)
    assert cmd.works_on(session.current.kind), (cmd.name, session.current.name)
    selected = {name: t.selected_task for name, t in session.targets.items()
                if isinstance(t, LinuxTarget)}
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(session, out=out, err=err)
    try:
        for line in examples(cmd):
            out.seek(0)
            out.truncate()
            try:
                ok = runner.execute(line)
            except Quit:
                ok = cmd.name == "q"        # q's example is to leave
            assert ok, f"{line!r} on {session.current.name}: {err.getvalue()}"
            warnings = [w for w in out.getvalue().splitlines() if w.startswith("WARNING")]
            expected = EXPECTED_WARNINGS.get(line)
            assert all(expected and w.startswith(expected) for w in warnings), \
                f"{line!r} on {session.current.name}: {warnings}"
            if expected:
                assert warnings, f"{line!r}: the WARNING it is about is gone"
            assert not err.getvalue(), err.getvalue()
    finally:
        session.current = before
        for name, task in selected.items():
            target = session.targets[name]
            assert isinstance(target, LinuxTarget)
            target.selected_task = task
