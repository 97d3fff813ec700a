"""files, mount, net, dev, irq, timer, sig, waitq, ps -r and mach against crash 8.0.6.

Whole listings of linux-sysrq are checked with the other crash references
(test_sample_dumps_targets); here: Xen PV dom0 (sockets, pipes, xenfs, event channels,
xenstored), single tasks, records and bad arguments on linux-sysrq.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import dom0_ref, recorded_blocks, sysrq_blocks_by_pid
from xcrash.errors import CommandError

RECORDED = Path(__file__).parent / "crash-ref"


@pytest.mark.parametrize("command,ref,expect", [
    ("foreach files", "06-foreach-files.txt", ["SOCK", "FIFO"]),     # sockets, pipes
    ("mount", "08-mount.txt", ["/proc/xen"]),                        # xenfs
    ("mount -n 1", "08-mount.txt", []),
    ("net", "09-net.txt", [" lo "]),
    ("dev", "10-dev.txt", [" hvc ", " xvd "]),                       # Xen console, blkfront
    ("irq -u", "11-irq-u.txt", ["evtchn:xenstored"]),                # event channels
    ("timer", "12-timer.txt", []),
    ("timer -r", "14-timer-r.txt", ["<tick_sched_timer>"]),
    ("foreach net -s", "17-foreach-net-s.txt", ["UNIX:STREAM"]),     # xenstored, xl
    ("irq -s", "18-irq-s.txt", ["xen-percpu"]),                      # per-CPU counts
])
def test_xen_dom0_equals_crash(sample_dom0, command: str, ref: str, expect: list[str]) -> None:
    want = dom0_ref(ref)
    assert all(text in want for text in expect)
    assert sample_dom0.run(command).strip("\n") == want.strip("\n")


def test_xen_dom0_sig_equals_crash(sample_dom0) -> None:
    """crash's context task in dom0 is swapper/0 (xcrash starts on the task that ran
    `xl debug-keys C`): ask for crash's task by address."""
    want = dom0_ref("15-sig.txt")
    task = want.split("TASK: ")[1].split()[0]
    assert sample_dom0.run(f"sig {task}").strip("\n") == want.strip("\n")


def test_xen_dom0_mach_says_xen_and_equals_crash_up_to_the_unnamed_stacks(sample_dom0) -> None:
    [(_, text)] = recorded_blocks(RECORDED / "xen-own" / "dom0-mach.txt")
    want = text.splitlines()
    known = want.index("  (unknown) STACK SIZE: 0")
    assert "            HYPERVISOR: Xen" in want
    assert sample_dom0.run("mach").splitlines()[:known] == want[:known]


def test_net_records_name_the_devices(sample_dom0) -> None:
    assert [d["name"] for d in sample_dom0.run("net", records=True)] == ["lo"]


@pytest.mark.parametrize("pid", [1, 2, 54])
def test_one_task_equals_crashs_block(sysrq, pid: int) -> None:
    assert sysrq.run(f"files {pid}").strip("\n") == sysrq_blocks_by_pid("10-foreach-files.txt")[pid]


def test_without_argument_the_context_task(sysrq) -> None:
    text = sysrq.run("files")
    assert text.startswith("PID: ") and "ROOT: /    CWD: /" in text


def test_records_name_each_descriptor(sysrq) -> None:
    [record] = sysrq.run("files 1", records=True)
    assert [(f["fd"], f["type"], f["path"]) for f in record["files"]] == [
        (0, "CHR", "/dev/console"), (1, "CHR", "/dev/console"), (2, "CHR", "/dev/console"),
        (10, "REG", "/init")]


def test_unknown_task_is_an_error(sysrq) -> None:
    with pytest.raises(CommandError, match="invalid task or pid value: 99999"):
        sysrq.run("files 99999")


def test_mount_records(sysrq) -> None:
    records = sysrq.run("mount", records=True)
    assert [(r["fstype"], r["dirname"]) for r in records][:2] == [("rootfs", "/"), ("proc", "/proc")]


def test_irq_numbers_and_unknown_ones(sysrq) -> None:
    lines = sysrq.run("irq 4 24").splitlines()
    assert lines[1].startswith("  4 ") and '"ttyS0"' in lines[1]
    assert lines[2].startswith(" 24 ") and '"virtio0-config"' in lines[2]
    with pytest.raises(CommandError, match="invalid IRQ value: 100000"):
        sysrq.run("irq 100000")


def test_timer_records_are_sorted_by_expiry(sysrq) -> None:
    for base in sysrq.run("timer", records=True):
        expires = [t["expires"] for t in base["timers"]]
        assert expires == sorted(expires)
        assert base["base"] in ("BASE_STD", "BASE_DEF")
    for cpu in sysrq.run("timer -r", records=True):
        for clock in cpu["clocks"]:
            expires = [t["expires"] for t in clock["timers"]]
            assert expires == sorted(expires)


def test_sig_records_name_the_handlers(sysrq) -> None:
    records = sysrq.run("sig 1", records=True)
    actions = {a["signal"]: a for a in records[0]["actions"]}
    assert len(actions) == 64 and actions[3]["handler"] == 1          # SIGQUIT ignored
    assert actions[2]["handler"] > 1 and actions[2]["flags"] & 0x04000000  # SIGINT, SA_RESTORER


@pytest.mark.parametrize("name", ["waitq.txt", "ps-r.txt", "irq-a.txt", "dev-p.txt",
                                  "ps-filters.txt", "irq-b-d.txt", "dev-i.txt", "ps-H.txt",
                                  "bt-options.txt", "runq-options.txt", "ascii-pte.txt",
                                  "log-m-c-d.txt", "rd-S.txt", "timer-C.txt", "dis-functions.txt"])
def test_recorded_commands_equal_crash(sysrq, name: str) -> None:
    """waitq: the pipe reader sleeps on rd_wait (its entry's private points into its
    stack); ps -r: resource limits; irq -a: affinity masks; dev -p: PCI devices;
    ps -G/-A/-y: thread group leaders, active tasks, scheduling policies; irq -b: softirq
    vectors; irq -d: the IDT (vectors 18, 20-31 point into early_idt_handler_array);
    dev -i: the I/O port and memory resource trees; bt -s/-sx/-p/-g/-R; runq -t/-T/-d
    (this kernel keeps no sched_info: -t shows 0 for the tasks, as crash does); log -m -c -d
    (levels, callers in crash's 6 columns, dev_printk dictionaries under the text); rd -S/-SS
    (pointers into slab objects named by cache); dis of whole functions in gdb's spelling
    (rep stos %es:, cltq, bswap, xchg %ax,%ax, unsigned immediates of the operand size) and
    dis -f/-x/-r."""
    for command, want in recorded_blocks(RECORDED / "linux-sysrq" / name):
        assert sysrq.run(command).strip("\n") == want, command


def test_ps_r_records(sysrq) -> None:
    [init, _] = sysrq.run("ps -r 1 54", records=True)
    assert init["rlimits"]["NOFILE"] == {"current": 1024, "maximum": 4096}


def test_mach_equals_crash_up_to_the_stacks_crash_cannot_name(sysrq) -> None:
    """crash 8.0.6 shows the MCE and VC stacks as "(unknown)" of size 0 at their tops;
    xcrash names them, with their base and size."""
    [(_, text)] = recorded_blocks(RECORDED / "linux-sysrq" / "mach.txt")
    want = text.splitlines()
    ours = sysrq.run("mach").splitlines()
    known = want.index("  (unknown) STACK SIZE: 0")
    assert ours[:known] == want[:known]
    mce_top = int(want[known + 2].split(": ")[1], 16)
    assert ours[known:known + 3] == ["        MCE STACK SIZE: 8192", "            MCE STACKS:",
                                     f"                 CPU 0: {mce_top - 8192:016x}"]


@pytest.mark.parametrize("command,want", recorded_blocks(RECORDED / "xen-own" / "dom0-irq-b-d.txt")
                         + recorded_blocks(RECORDED / "xen-own" / "dom0-dev-i.txt"))
def test_xen_dom0_softirqs_idt_and_resources_equal_crash(sample_dom0, command: str,
                                                         want: str) -> None:
    """A PV dom0's idt_table holds only the exception gates: vectors 32-255 are empty;
    its iomem tree is Xen's E820 for dom0."""
    assert sample_dom0.run(command).strip("\n") == want


@pytest.mark.parametrize("command,want", recorded_blocks(RECORDED / "xen-own" / "dom0-sig-g.txt"))
def test_xen_dom0_thread_group_signals_equal_crash(sample_dom0, command: str, want: str) -> None:
    """sig -g of xenconsoled (leader given) and of an xl thread (its group's leader first)."""
    assert sample_dom0.run(command).strip("\n") == want


def test_ps_without_idle_tasks_and_bad_policies(sysrq) -> None:
    """-I (newer crash has it; 8.0.6 does not) leaves out each CPU's idle task."""
    rows = sysrq.run("ps -I", records=True)
    assert rows and all(r["pid"] != 0 for r in rows)
    assert len(rows) == len(sysrq.run("ps", records=True)) - 2
    with pytest.raises(CommandError, match="invalid scheduling policy: SOMETIMES"):
        sysrq.run("ps -y sometimes")


@pytest.mark.parametrize("command,want", recorded_blocks(RECORDED / "linux-sysrq" / "sig-l-s.txt"))
def test_signal_names_and_sets_equal_crash(sysrq, command: str, want: str) -> None:
    """sig -l (numbers, names, aliases, real-time names) and sig -s (a set filled into 80
    columns, as crash wraps it)."""
    assert sysrq.run(command).strip("\n") == want


def test_sig_s_rejects_what_is_not_a_64_bit_hex_set(sysrq) -> None:
    with pytest.raises(CommandError, match="invalid signal set: zz"):
        sysrq.run("sig -s zz")
    with pytest.raises(CommandError, match="64 bits at most"):
        sysrq.run("sig -s 1" + "0" * 16)


def test_dev_i_folds_long_names_as_crash_does() -> None:
    """crash folds a name at the last blank that brings the line within 80 columns
    and puts the rest under the NAME column; a name without such a blank stays whole."""
    from xcrash.commands.dev import _wrap_name
    name = "PCI Bus 0000:00 with a very long description of its window"
    first, rest = _wrap_name(name, 37)
    assert len(first) + 37 <= 80 and rest == " " * 37 + name[len(first) + 1:]
    assert _wrap_name("x" * 60, 37) == ["x" * 60]
    assert _wrap_name("System RAM", 37) == ["System RAM"]


def test_ps_C_needs_l_or_m_and_no_tasks(sysrq) -> None:
    """crash's rules for -C (the per-CPU blocks of -l/-m are compared by hand on the
    distro dump: these sample kernels keep no sched_info timestamps)."""
    with pytest.raises(CommandError, match="only applicable with -l and -m"):
        sysrq.run("ps -C all")
    with pytest.raises(CommandError, match="not applicable with specified tasks"):
        sysrq.run("ps -l -C 0 1")
    with pytest.raises(CommandError, match="invalid cpu list: x"):
        sysrq.run("ps -m -C x")
    with pytest.raises(CommandError, match="last-run timestamps do not exist"):
        sysrq.run("ps -l -C all")


def test_bt_v_and_foreach_bt_R(sysrq) -> None:
    """bt -v finds every stack end's STACK_END_MAGIC (crash 8.0.6 also prints a read
    error at address 0 first); foreach bt -R shows only the traces that reference the
    symbol (crash also prints a bare "(no stack)" for the zombie)."""
    assert sysrq.run("bt -v").strip() == "No stack overflows detected"
    text = sysrq.run("foreach bt -R do_wait")
    blocks = [b for b in text.split("\n\n") if b.strip()]
    assert blocks and all("] do_wait at " in b for b in blocks)
    assert "(no stack)" not in text


def test_runq_m_refuses_without_sched_info(sysrq) -> None:
    """crash would show the run-queue clock as the running time: a wrong answer."""
    with pytest.raises(CommandError, match="needs sched_info.last_arrival"):
        sysrq.run("runq -m")


def test_ascii_chart_is_the_real_one(sysrq) -> None:
    """Every cell of the chart is its character (crash's swaps ` with ' and - with _)."""
    rows = sysrq.run("ascii").strip("\n").splitlines()[2:]
    assert len(rows) == 16
    for low, row in enumerate(rows):
        cells = row.split("|")[1].split()
        for high, cell in enumerate(cells):
            code = high << 4 | low
            if 0x20 < code < 0x7F:
                assert cell == chr(code), (hex(code), cell)


def test_ascii_of_more_than_8_bytes_is_refused_as_crash_does(sysrq) -> None:
    with pytest.raises(CommandError, match=r'input string too large: "4142434445464748494a" '
                                           r'\(20 vs 16\)'):
        sysrq.run("ascii 4142434445464748494a")


def test_pte_swap_entries_are_refused(sysrq) -> None:
    with pytest.raises(CommandError, match="swap entry"):
        sysrq.run("pte 3ffffffffff000")


def test_taint_mask_and_letters(sysrq) -> None:
    """sys -t as crash prints it (this kernel is untainted; module taints need modules,
    which these sample kernels do not have: `mod -t` says so as crash does)."""
    assert sysrq.run("sys -t").rstrip("\n") == "TAINTED_MASK: 0  "
    assert sysrq.run("mod -t").strip() == "no modules installed"


def test_taint_letters_of_a_tainted_kernel(sysrq, monkeypatch) -> None:
    """With bits 0 and 12 set (proprietary module, out-of-tree module), the kernel's
    own taint_flags table spells "PO", as the kernel's Tainted: line does."""
    target = sysrq.current
    at = target.address_of("tainted_mask")
    read = target.space.read_u64
    monkeypatch.setattr(target.space, "read_u64",
                        lambda addr: (1 | 1 << 12) if addr == at else read(addr))
    assert sysrq.run("sys -t").rstrip("\n") == "TAINTED_MASK: 1001  PO"


def test_xen_dom0_user_disassembly_equals_crash(sample_dom0) -> None:
    """dis -u: the xl process's syscall site, read through its own page tables."""
    [(command, want)] = recorded_blocks(RECORDED / "xen-own" / "dom0-dis-u.txt")
    sample_dom0.run("set 126")
    try:
        assert sample_dom0.run(command).strip("\n") == want
    finally:
        sample_dom0.run("set -p")


def test_an_unreadable_irq_name_shows_a_question_mark_and_says_why(sysrq, monkeypatch) -> None:
    """A name the dump does not hold is ? in crash's column with a WARNING line, null
    in JSON (it was an empty name, silently)."""
    from xcrash.errors import PageNotInDump
    target = sysrq.current
    [record] = sysrq.run("irq 4", records=True)
    action = record["actions"][0]["action"]
    name = int(target.object_at("struct irqaction", action).name)
    read = target.space.read_cstring

    def lost(addr: int, limit: int = 4096) -> bytes:
        if addr == name:
            raise PageNotInDump(0x1000)
        return read(addr, limit)
    monkeypatch.setattr(target.space, "read_cstring", lost)
    lines = sysrq.run("irq 4").splitlines()
    assert lines[1] == f'  4   {record["desc"]:16x}  {action:16x}  "?"'
    assert lines[2].startswith(f"WARNING: name of irqaction {action:x} unreadable")
    [record] = sysrq.run("irq 4", records=True)
    assert record["actions"][0]["name"] is None


def test_waitq_names_the_task_whose_stack_holds_the_entry(sysrq) -> None:
    [waiter] = sysrq.run("waitq pipe_inode_info.rd_wait ffff975a80b78b40", records=True)
    assert (waiter["pid"], waiter["comm"]) == (58, "xc-pipereader")
    assert sysrq.run("waitq log_wait", records=True) == []
