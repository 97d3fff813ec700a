"""list and search on the real Linux dumps."""
from __future__ import annotations

import io

from conftest import run, run_lines


def test_list_walks_the_task_list(linux_session) -> None:
    text = run(linux_session, "list -H -o task_struct.tasks -s task_struct.pid init_task.tasks")
    pids = [int(line.split("=")[1].strip(" ,")) for line in text.splitlines() if "pid =" in line]
    assert pids[:2] == [1, 2] and 68 in pids
    # every process leader once: the 45 tasks less the two idle tasks
    assert len(pids) == 43


def test_list_reports_a_broken_chain_after_the_good_entries(linux_session) -> None:
    """As crash: the entries up to the one whose next pointer cannot be read, then the
    error (the command fails)."""
    import io

    from xcrash.engine.runner import Runner
    out, err = io.StringIO(), io.StringIO()
    assert not Runner(linux_session, out=out, err=err).execute("list -o 0 ffffffffaf214600")
    assert out.getvalue().splitlines() == ["ffffffffaf214600", "4000"]
    assert err.getvalue() == ('xcrash: list: invalid kernel virtual address: 4000  '
                              'type: "list entry"\n')


def test_search_finds_log_markers_and_pointers(linux_session) -> None:
    text = run(linux_session, "search -c KDUMPLAB: -n 3")
    assert text.count("KDUMPLAB:") == 3
    assert "ffffa1c000192cd0: ffffffffaf214600" in run(linux_session, "search ffffffffaf214600")


def test_search_sees_lab_memhogs_megabyte_only_where_user_pages_were_kept(linux_session) -> None:
    """lab_memhog filled 1 MiB of user memory with a 33-byte pattern: ~31,800 copies when
    user pages are kept (-d 23); with -d 31 only the kernel's own copies remain."""
    if linux_session.variant == "elf":
        return
    hits = run(linux_session, "search -p -c KDUMPLAB-USER-PATTERN -n 100000").splitlines()
    if linux_session.variant == "user-pages":
        assert len(hits) > 31000
    else:
        assert len(hits) < 2000


def test_search_u_walks_the_context_tasks_page_tables(linux_session) -> None:
    from xcrash.engine.runner import Runner
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(linux_session, out=out, err=err)
    assert runner.execute("set 1")
    out.truncate(0), out.seek(0)
    ok = runner.execute("search -u -c HOME=")
    found = out.getvalue().splitlines()
    runner.execute("set -p")
    if linux_session.variant != "user-pages":
        return                      # -d 31 excluded the user stack: nothing to find
    assert ok, err.getvalue()
    assert found == ["7ffd91266fe0: HOME=/.TERM=linux./init........."]   # init's env, crash-style


def test_excluded_pages_fail_per_read_until_zero_excluded(linux_session) -> None:
    """-d 31 excluded init's stack page: that read fails alone; `set zero_excluded on`
    reads it as zeros (crash's --zero_excluded)."""
    if linux_session.variant not in ("zlib", "lzo"):
        return
    from xcrash.engine.runner import Runner
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(linux_session, out=out, err=err)
    try:
        assert runner.execute("set 1")
        assert not runner.execute("rd -u 7ffd91266fc8")
        assert "excluded" in err.getvalue()
        assert runner.execute("sym jiffies")                  # the session goes on
        assert runner.execute("set zero_excluded on")
        out.truncate(0), out.seek(0)
        assert runner.execute("rd -u 7ffd91266fc8")
        assert out.getvalue().startswith("    7ffd91266fc8:  0000000000000000")
    finally:
        runner.execute("set zero_excluded off")
        runner.execute("set -p")


def test_btop_ptob_as_crash_prints_them(linux_session) -> None:
    """crash 8.0.6: `btop 1000 1fff 0x3000` and `ptob 1 20` (pfn arguments decimal)."""
    assert run_lines(linux_session, "btop 1000 1fff 0x3000") == "1000: 1\n1fff: 1\n3000: 3\n"
    assert run_lines(linux_session, "ptob 1 20") == "1: 1000\n14: 14000\n"
