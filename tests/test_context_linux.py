"""crash's task context (`set`), `task` and `foreach` on the real Linux dumps."""
from __future__ import annotations

from conftest import crash_ref, run


def runner_lines(session, *lines: str) -> list[str]:
    """Each line's output, each through its own Runner (the context is the target's state)."""
    return [run(session, line) for line in lines]


def test_set_shows_panic_context_like_crash(linux_session) -> None:
    run(linux_session, "set -p")
    assert run(linux_session, "set") == crash_ref(linux_session.ref_dir, "09-set")


def test_set_pid_cpu_and_back(linux_session) -> None:
    try:
        one, cpu0, again, bt = runner_lines(linux_session, "set 1", "set -c 0", "set", "bt")
        assert one.splitlines()[0] == "    PID: 1"
        # crash prints the state as "%s " (then PANIC/ACTIVE marks): a trailing blank
        assert one.splitlines()[-1] == "  STATE: TASK_INTERRUPTIBLE "
        assert cpu0.splitlines()[-1] == "  STATE: TASK_RUNNING (ACTIVE)"
        assert again == cpu0
        task_line = cpu0.splitlines()[2].split()[1]
        assert bt.splitlines()[0].split()[3] == task_line      # bt follows the context
        back = run(linux_session, "set -p")
        assert back == crash_ref(linux_session.ref_dir, "09-set")
        assert run(linux_session, "bt") == crash_ref(linux_session.ref_dir, "10-bt")
    finally:
        run(linux_session, "set -p")


def test_set_settings_still_work(linux_session) -> None:
    assert run(linux_session, "set radix 10") == "output radix: 10 (decimal)"


def test_task_matches_crash(linux_session) -> None:
    ref = crash_ref(linux_session.ref_dir, "23-task").splitlines()
    ours = run(linux_session, "task ffffa1c0010c9480").splitlines()
    assert len(ours) == len(ref) - 1 or len(ours) == len(ref)
    differ = [(a, b) for a, b in zip(ref, ours) if a != b]
    # known: crash's gdb prints the fpstate __padding char array without folding
    # runs of '\000' (and cuts it after 2688 characters)
    assert all("__padding = " in a for a, _ in differ), differ[:5]
    assert ours[0] == ref[0]


def test_task_members_and_default_context(linux_session) -> None:
    run(linux_session, "set -p")
    out = run(linux_session, "task -R pid,comm")
    assert out.splitlines() == [
        crash_ref(linux_session.ref_dir, "23-task").splitlines()[0],
        "  pid = 68,", '  comm = "lab_crasher\\000\\000\\000\\000",']


def test_foreach_bt_matches_crash(linux_session) -> None:
    assert run(linux_session, "foreach bt") == crash_ref(linux_session.ref_dir, "13-foreach_bt")


def test_foreach_selectors(linux_session) -> None:
    ps = run(linux_session, "foreach -u ps").splitlines()
    assert ps[0].strip().startswith("PID")
    assert all("[" not in line for line in ps[1:])
    zombies = run(linux_session, "foreach ZO ps").splitlines()[1:]
    assert zombies and all(" ZO " in line for line in zombies)
    tasks = run(linux_session, "foreach 1 lab_crasher task -R pid").split("\n\n")
    assert [t.splitlines()[1] for t in tasks] == ["  pid = 1,", "  pid = 68,"]


def test_user_memory_of_a_task_matches_crash_ps_a(linux_session) -> None:
    """init's argv read through its own page tables (user pages kept in -d 23 only)."""
    from xcrash.errors import MemoryError_
    kernel = linux_session.current
    task = kernel.object_at("struct task_struct", 0xFFFFA1C000192900)
    start, end = int(task.mm.arg_start), int(task.mm.arg_end)
    try:
        argv = kernel.user_space(task.address_).read(start, end - start)
    except MemoryError_:
        assert linux_session.ref_dir != "vmcore-d23.kdump"   # excluded with -d 31
        return
    assert argv.split(b"\0")[:3] == [b"/bin/busybox", b"sh", b"/init"]   # crash: ARG: /bin/busybox sh /init


def test_foreach_selects_by_regex_and_active(linux_session) -> None:
    text = run(linux_session, "foreach 'lab_.*' ps")
    comms = [line.split()[-1] for line in text.splitlines()[1:]]
    assert comms == ["lab_busyloop", "lab_pipereader", "lab_memhog", "lab_zombie", "lab_crasher"]
    active = run(linux_session, "foreach active bt")
    assert [line.split()[1] for line in active.splitlines() if line.startswith("PID:")] == \
        ["46", "68"]


def test_foreach_leaves_out_a_task_it_cannot_read_and_goes_on(sysrq, monkeypatch) -> None:
    """A task whose memory is lost costs its own output only: a WARNING names it and the
    other tasks follow (a read error ended the whole foreach)."""
    from xcrash.errors import PageExcluded
    target = sysrq.current
    lost_task = int(_set_lines(sysrq, "set 55")[2].split()[1], 16)
    init = int(_set_lines(sysrq, "set 1")[2].split()[1], 16)
    sysrq.run("set -p")
    size = target.type("struct task_struct").byte_size
    read = target.space.read

    def lost(vaddr: int, size_: int) -> bytes:
        if vaddr < lost_task + size and lost_task < vaddr + size_:
            raise PageExcluded(0x2000)
        return read(vaddr, size_)
    monkeypatch.setattr(target.space, "read", lost)
    out = sysrq.run(f"foreach {lost_task:x} {init:x} task -R pid").rstrip("\n").splitlines()
    assert out[0].startswith("PID: 1 ") and out[1] == "  pid = 1,"
    assert out[2:] == [f"WARNING: task {lost_task:x}: physical address 0x2000: page excluded "
                       "from the dump (makedumpfile dump level): its output is left out"]


def _set_lines(session, line: str) -> list[str]:
    """`set`'s block as lines (TASK: on the third)."""
    return session.run(line).rstrip("\n").splitlines()
