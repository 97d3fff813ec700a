"""bt on the real Linux dumps, against crash 8.0.6's reference outputs."""
from __future__ import annotations

import io
import re
from typing import Any

import pytest

from conftest import crash_ref, run


def _blocks(text: str) -> dict[str, str]:
    """crash's per-task blocks keyed by their TASK address."""
    out = {}
    for block in re.split(r"\n\s*\n", text.strip()):
        m = re.search(r"TASK: ([0-9a-f]+)", block)
        if m:
            out[m.group(1)] = block.rstrip()
    return out


def _functions(text: str) -> list[str]:
    return re.findall(r"^\s*#\d+ \[[0-9a-f]+\] (\S+) at", text, re.M)


@pytest.mark.parametrize("command,ref", [("bt", "10-bt"), ("bt -a", "12-bt_a"),
                                         ("bt -f", "11-bt_f")])
def test_bt_matches_crash(linux_session, command: str, ref: str) -> None:
    assert run(linux_session, command) == crash_ref(linux_session.ref_dir, ref)


def test_bt_every_task_matches_foreach_bt(linux_session) -> None:
    ref = _blocks(crash_ref(linux_session.ref_dir, "13-foreach_bt"))
    assert len(ref) >= 40
    for task, block in ref.items():
        ours = run(linux_session, f"bt {task}")
        assert _functions(ours) == _functions(block), task
        assert ours == block, task


def test_bt_by_pid_and_cpu(linux_session) -> None:
    ref = _blocks(crash_ref(linux_session.ref_dir, "13-foreach_bt"))
    init = next(b for b in ref.values() if b.startswith("PID: 1 "))
    assert run(linux_session, "bt 1") == init
    a = run(linux_session, "bt -a").split("\n\n")
    assert run(linux_session, "bt -c 0") == a[0]
    assert run(linux_session, "bt -c 1") == a[1]


def test_bt_lines(linux_session) -> None:
    out = run(linux_session, "bt -l")
    assert re.search(r"^    /\S+/machine_kexec_64\.c: \d+$", out, re.M)


def test_orc_layout_from_struct_orc_entry() -> None:
    """6.4+ has no `end` bit and a 3-bit type: the layout follows the type model."""
    from types import SimpleNamespace as NS
    from xcrash.targets.linux import orc

    def target(members, header=None):
        t = NS(members=[NS(name=n, bit_offset=o, bit_size=s) for n, o, s in members])
        symbols = NS(get=lambda name: NS(address=0x1000) if header and
                     name == "__start_orc_header" else None)
        return NS(type=lambda name: t, symbols=symbols,
                  space=NS(read=lambda address, size: header))

    v1 = orc._Layout(target([("sp_reg", 32, 4), ("bp_reg", 36, 4), ("type", 40, 2),
                             ("end", 42, 1)]))
    v3 = orc._Layout(target([("sp_reg", 32, 4), ("bp_reg", 36, 4), ("type", 40, 3),
                             ("signal", 43, 1)]))
    word = 5 | 4 << 4 | 1 << 8
    assert (v1.get(word, "sp_reg"), v1.get(word, "bp_reg")) == (5, 4)
    assert v1.types[v1.get(word, "type")] == orc.TYPE_REGS
    assert v3.types[v3.get(3 << 8, "type")] == orc.TYPE_REGS
    assert v3.types[v3.get(1 << 8, "type")] == "end"
    # 7.1 renumbered the registers; its .orc_header hash says so
    v4 = orc._Layout(target([("sp_reg", 32, 4), ("bp_reg", 36, 4), ("type", 40, 3),
                             ("signal", 43, 1)], header=orc.ORC_HASH_7_1))
    word = 3 | 8 << 4 | 2 << 8          # sp_reg SP, bp_reg PREV_SP in 7.1's numbering
    assert (v4.register(word, "sp_reg"), v4.register(word, "bp_reg")) == \
        (orc.REG_SP, orc.REG_PREV_SP)
    assert (v3.register(word, "sp_reg"), v3.register(word, "bp_reg")) == (3, 8)


def test_kernel_mode_exception_frame_format() -> None:
    from xcrash.layouts.frames import exception_frame_lines
    from xcrash.targets.linux.traces import TaskExceptionFrame
    from xcrash.targets.linux.unwind import PT_REGS
    regs = {name: 0 for name in PT_REGS}
    regs.update(rip=0xffffffff81000016, cs=0x10, ss=0x18, rflags=0x246)
    # the record names RIP's function (the helper resolved it); the layout only writes
    lines = exception_frame_lines(TaskExceptionFrame(0xffffc90000003f58, regs, "default_idle",
                                                     22, "task", 0xffff888000000000))
    assert lines[0] == "    [exception RIP: default_idle+22]"
    assert lines[-1] == "    ORIG_RAX: 0000000000000000  CS: 0010  SS: 0018"


def test_bt_t_lists_the_text_addresses_above_the_start(linux_session) -> None:
    lines = run(linux_session, "bt -t").splitlines()
    assert lines[1] == "              START: machine_kexec at ffffffffae44923c"
    names = [line.split()[1] for line in lines[2:]]
    # every function of the unwound trace appears, in stack order
    trace = ["machine_kexec", "__crash_kexec", "panic", "sysrq_handle_crash",
             "__handle_sysrq.cold", "write_sysrq_trigger", "proc_reg_write", "vfs_write",
             "ksys_write", "do_syscall_64", "entry_SYSCALL_64_after_hwframe"]
    positions = [names.index(n) for n in trace]
    assert positions == sorted(positions)
    whole = run(linux_session, "bt -T").splitlines()
    assert len(whole) > len(lines)


def test_bt_F_names_the_frame_data_that_points_into_symbols(linux_session) -> None:
    plain = run(linux_session, "bt -f").splitlines()
    symbolic = run(linux_session, "bt -F").splitlines()
    assert len(plain) == len(symbolic)
    assert "    ffffb36c80163cc8: ffffb36c80163e08 __crash_kexec+114 " in symbolic
    assert "    ffffb36c80163cc8: ffffb36c80163e08 ffffffffae4d9752 " in plain


def test_bt_e_finds_the_saved_registers_and_the_syscall_entry(linux_session) -> None:
    text = run(linux_session, "bt -e")
    # the pt_regs crash_setup_regs filled in __crash_kexec, and the user-mode entry frame
    assert "  KERNEL-MODE EXCEPTION FRAME AT: ffffb36c80163cd8" in text
    assert "    [exception RIP: __crash_kexec+277]" in text
    assert "  USER-MODE EXCEPTION FRAME AT: ffffb36c80163f58" in text
    assert "    RIP: 000000000047b7a0  RSP: 00007ffe70e38658  RFLAGS: 00000202" in text
    irq = run(linux_session, "bt -E")
    assert "CPU 0 NMI EXCEPTION STACK:\n\n  USER-MODE EXCEPTION FRAME AT: fffffe000000df58" in irq
    assert "RIP: 000000000052e60f" in irq


def test_an_unreadable_stack_word_of_bt_f_is_a_question_mark_with_a_warning(sysrq,
                                                                            monkeypatch) -> None:
    """bt -f goes on past a word it cannot read (it ended the frame's words silently)."""
    from xcrash.errors import PageExcluded
    plain = sysrq.run("bt -f 1").splitlines()
    # a word of kernel_wait4's frame (#3) of a sleeping task: the unwinder does not need it
    line = plain[plain.index(next(ln for ln in plain if " kernel_wait4 at " in ln)) + 2]
    address = int(line.split(":")[0], 16)
    space = sysrq.current.space
    read = space.read

    def lost(vaddr: int, size: int) -> bytes:
        if vaddr <= address < vaddr + size:
            raise PageExcluded(0x1000)
        return read(vaddr, size)
    monkeypatch.setattr(space, "read", lost)
    damaged = sysrq.run("bt -f 1").splitlines()
    assert damaged[:len(plain)] == [ln if ln != line else
                                    f"    {address:x}: {'?':>16} " + line.split()[2] + " "
                                    for ln in plain]
    assert damaged[len(plain):] == [f"WARNING: cannot read {address:x}: physical address 0x1000: "
                                    "page excluded from the dump (makedumpfile dump level): "
                                    "that stack word is shown as ?"]
    [record] = [r for r in sysrq.run("bt -f 1", records=True)
                if r.get("level") == 3 and "words" in r]
    assert {"address": address, "value": None, "symbol": None, "slab_cache": None} in record["words"]


def test_a_guest_that_did_not_panic_has_no_panic_task_only_a_stand_in(sample_dom0) -> None:
    """dom0 of the Xen sample did not panic (panic_cpu is -1): its context starts at CPU 0's
    task without claiming a panic; bt -p takes that task and says it is a stand-in."""
    from xcrash.engine.runner import Runner
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(sample_dom0, out=out, err=err)
    before = sample_dom0.current.selected_task
    try:
        sample_dom0.current.selected_task = None
        assert runner.execute("set -c 0") and runner.execute("set")
        cpu0, context = out.getvalue().split("    PID: ")[1:]
        assert cpu0 == context and "(PANIC)" not in context and "(ACTIVE)" in context
        assert "WARNING" not in context
        task = context.splitlines()[2].split()[1]
        text = sample_dom0.run("bt -p").splitlines()
        assert text[0].split()[3] == task
        assert text[-1] == ("WARNING: no panic task (panic_cpu is -1): the task of CPU 0, the "
                            "first CPU whose saved registers are in kernel mode, is taken")
    finally:
        sample_dom0.current.selected_task = before


@pytest.mark.parametrize("code, offset", [
    (b"\x66\x66\x66\x66\x90\x55\xba\x01", -16),                 # 5.10: fentry nop, push %rbp
    (b"\xf3\x0f\x1e\xfa\x0f\x1f\x44\x00\x00\x41\x57\x55", -24),  # endbr64, nop, push r15, rbp
    (b"\x0f\x1f\x44\x00\x00\x53\x48\x83\xec\x10", None),         # push %rbx only
])
def test_where_a_function_without_orc_saved_rbp(code: bytes, offset: int | None) -> None:
    """A function objtool did not describe (5.10's __crash_kexec): its prologue says
    where it pushed the caller's rbp, which the caller's frame may be computed from."""
    from types import SimpleNamespace as NS
    from xcrash.targets.linux.unwind import _rbp_save_offset
    start = 0xFFFFFFFF81000000
    target: Any = NS(symbols=NS(resolve=lambda a: (NS(address=start), a - start)),
                     space=NS(read=lambda a, n: (code + bytes(64))[a - start:a - start + n]))
    assert _rbp_save_offset(target, start + 0x40) == offset
