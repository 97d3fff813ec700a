"""Subsystems and shell (issue 19): sys -c, mach -m/-c, log -s/-a, irq -s -c, dis -s/-b,
sym -p/-n, eval -l, files -c/-d/-p/-R, ipcs, net -N/-S/-R/-a, mount's filter, dev -d,
runq -g, bpf, ... against crash 9.0.2: each reference file is one crash session replayed
in one xcrash runner (tests/crashrefs.py).  The scale dump (sockets, IPC objects, an
ARP table) and the stock Debian 6.12 dump (a distro build: sys -c's file column) are
not shipped: their tests skip where they are not beside the checkout."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from crashrefs import REFS, assert_equal_but_known, assert_known_still_differ, replay

#: per reference file, the commands whose output is known to differ from crash's, and why
DIFFERS = {
    "debian-6.12-bug/subsystems.txt": {
        "mount proc": "crash prints its first mount's line for every match",
    },
    "linux-sysrq/subsystems.txt": {
        "sys -c": "FILE AND LINE NUMBER: gdb gives schedule()'s first line as an inlined "
                  "current.h line (crash finds no build directory), xcrash's line tables core.c; "
                  "crash names entries 156+ __x64_sys_ni_syscall (its hash chains' state)",
        "sys -c read": "FILE AND LINE NUMBER (see sys -c)",
        "sys -c 0": "FILE AND LINE NUMBER (see sys -c)",
        "sys -c 500 write": "FILE AND LINE NUMBER (see sys -c)",
        "sym -p -n sysrq_handle_crash":
            "crash prints the source path the debug info gives; xcrash the file's name",
        "mount /proc": "crash prints its first mount's line for every match",
        "mount ffff975a80ac4000": "crash prints its first mount's line for every match",
        "mount tmpfs": "crash prints its first mount's line for every match",
        "sbitmapq ffff975a80a3bcd0":
            "crash 9.0.2 stops at the wait queues (6.1's sbq_wait_state has no wait_cnt)",
    },
    "linux-sysrq/rd-rest.txt": {},      # rd -R, -f, -r (-r writes /tmp/xcrash-rd-test.bin)
    "linux-sysrq/shell.txt": {
        "set -v": "scroll (a pager here), silent (crash ran with -s), edit (prompt_toolkit's "
                  "keys), the symbol and dump files' paths, xcrash's own settings after",
        "set silent": "crash ran with -s (silent on: it says nothing)",
        "set print_array on": "gdb's one-element-per-line arrays are refused, saying why",
        "set edit": "xcrash's line editing is prompt_toolkit's emacs-style keys",
        "gdb p jiffies": "there is no gdb behind xcrash: one line says so",
    },
    "scale-6.12-1k/subsystems.txt": {
        "net -R 4 596": "crash prints its usage (-R needs -s or -S); xcrash says so",
        "net -R ffff8ea3509b9c80 596 315":
            "crash prints its usage (-R needs -s or -S); xcrash says so",
    },
}


def _checkout_file(relative: str) -> Path:
    """A file of the factory's work area: in this checkout, else in the main one (a
    worktree has none of its own)."""
    here = Path(__file__).resolve().parents[1]
    if (here / relative).exists():
        return here / relative
    common = subprocess.run(["git", "-C", str(here), "rev-parse", "--git-common-dir"],
                            capture_output=True, text=True, check=False).stdout.strip()
    main = (here / common).resolve().parent if common else here
    path = main / relative
    if not path.exists():
        pytest.skip(f"{relative} is not here (the factory's dumps are not shipped)")
    return path


@pytest.fixture(scope="module")
def scale():
    import xcrash
    dump = _checkout_file("sample-dumps/work/scale/runs/scale-6.12-1k/vmcore.kdump")
    vmlinux = _checkout_file("sample-dumps/work/stock/kernels/6.12/vmlinux")
    return xcrash.open(str(dump), str(vmlinux))


@pytest.fixture(scope="module")
def stock_612():
    import xcrash
    dump = _checkout_file("sample-dumps/work/stock/runs/debian-6.12-bug/out/vmcore.plain.kdump")
    vmlinux = _checkout_file("sample-dumps/work/stock/kernels/6.12/vmlinux")
    return xcrash.open(str(dump), str(vmlinux))


SESSIONS = {"linux-sysrq": "sysrq", "scale-6.12-1k": "scale", "debian-6.12-bug": "stock_612"}


@pytest.fixture(scope="module", params=sorted(DIFFERS))
def replayed(request):
    from xcrash.targets.linux.tasks import active_tasks, mark_active
    name = request.param
    session = request.getfixturevalue(SESSIONS[name.split("/")[0]])
    results = replay(session, REFS / name)
    Path("/tmp/xcrash-rd-test.bin").unlink(missing_ok=True)
    # the session is shared: `set -a` is undone (each CPU's dumped task marked again)
    target = session.current
    for cpu, task in active_tasks(target, as_dumped=True).items():
        mark_active(target, cpu, task)
    return name, results


def test_equal_crash(replayed) -> None:
    name, results = replayed
    assert_equal_but_known(results, DIFFERS[name])


def test_known_differences_still_differ(replayed) -> None:
    """A command listed as differing must still differ (else it is identical now)."""
    name, results = replayed
    assert_known_still_differ(results, DIFFERS[name])


def _runner(session):
    import io

    from xcrash.engine.runner import Runner
    out, err = io.StringIO(), io.StringIO()
    return Runner(session, out=out, err=err), out, err


def test_history_requests(sysrq) -> None:
    """crash's h, r, r N, rN, !N, !!, r STRING; each recalled line echoed after the
    prompt and kept in the history again."""
    runner, out, err = _runner(sysrq)
    for line in ("eval 1", "eval 2", "r", "r 1", "r2", "!1", "!!", "r eval 2", "h"):
        assert runner.execute(line), err.getvalue()
    text = out.getvalue()
    assert text.count("xcrash> eval 2\n") == 3 and text.count("xcrash> eval 1\n") == 3
    assert text.endswith("".join(f"[{i}] {t}\n" for i, t in enumerate(
        ["eval 1", "eval 2", "eval 2", "eval 1", "eval 2", "eval 1", "eval 1", "eval 2"], 1)))
    assert not runner.execute("r 99") and "command 99 not entered yet!" in err.getvalue()
    assert not runner.execute("r zz") and "invalid repeat request: r zz" in err.getvalue()


def test_repeat_until_interrupted(sysrq) -> None:
    """repeat runs its command until Ctrl-C (here: once three runs are out)."""
    runner, out, err = _runner(sysrq)
    runner.interrupt.is_set = lambda: out.getvalue().count("hexadecimal") >= 3
    assert not runner.execute("repeat eval 5")
    assert out.getvalue().count("hexadecimal: 5") >= 3
    assert err.getvalue() == "xcrash: repeat: interrupted\n"
    for bad, message in (("repeat", "usage"), ("repeat -2 nosuch", "nosuch: not a command")):
        assert not runner.execute(bad) and message in err.getvalue()


def test_input_redirection(sysrq, tmp_path) -> None:
    """cmd args < file: one run per line of the file; < inside an expression is not one."""
    from xcrash.engine.line import parse
    assert parse("p (1 < 2)").input is None and parse("eval 1 << 3").input is None
    runner, out, err = _runner(sysrq)
    args = tmp_path / "args"
    args.write_text("5\n\n6\n")
    assert runner.execute(f"eval < {args}") and out.getvalue().count("hexadecimal") == 2
    assert not runner.execute(f"eval < {tmp_path / 'absent'}")


def test_rd_raw_copy(sysrq, tmp_path) -> None:
    """rd -r writes the bytes it says it copied (crash 9.0.2 says so and leaves an
    empty file)."""
    runner, out, _err = _runner(sysrq)
    dest = tmp_path / "banner"
    assert runner.execute(f"rd -r {dest} linux_banner 13")
    assert dest.read_bytes() == b"Linux version"
    assert out.getvalue().startswith("13 bytes copied from 0x")


def test_source_listing(tmp_path) -> None:
    """dis -s's listing of a source file on this machine: five lines before the line,
    then to the function's closing brace, or count lines after it."""
    from xcrash.targets.symbolinfo import source_listing
    src = tmp_path / "f.c"
    src.write_text("\n".join(["/* a */", "", "int x;", "", "/*", " * doc", " */",
                              "void f(void)", "{", "\tint a;", "", "\tif (a) {", "\t\tg();",
                              "\t}", "}", "", "int y;"]))
    whole = present_list(source_listing(str(src), 9, None))
    assert [(s.number, s.marked) for s in whole][:6] == [(4, False), (5, False), (6, False),
                                                         (7, False), (8, False), (9, True)]
    assert whole[-1].number == 15 and whole[-1].text == "}"
    two = present_list(source_listing(str(src), 9, 2))
    assert [s.number for s in two] == [4, 5, 6, 7, 8, 9, 10, 11]
    assert source_listing(str(tmp_path / "absent.c"), 9, None) is None


def present_list(value):
    assert value is not None
    return value
