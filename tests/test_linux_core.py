"""The core library on the real Linux dumps, checked against crash 8.0.6's outputs.

For each dump file (zlib, LZO, user pages kept, ELF): jiffies through the
kernel-image mapping, the panic task through the direct map, words of its VMAP
kernel stack, and type layouts.
"""
from __future__ import annotations

import re

from conftest import crash_ref, present

PANIC_TASK = 0xFFFFA1C0010C9480


def test_jiffies_through_kernel_image_matches_crash_rd(linux_session) -> None:
    ref = crash_ref(linux_session.ref_dir, "16-rd_64_jiffies")
    addr_text, value_text = present(re.match(r"([0-9a-f]+):\s+([0-9a-f]+)", ref)).groups()
    kernel = linux_session.current
    addr = kernel.address_of("jiffies")
    assert addr == int(addr_text, 16)
    assert kernel.space.explain(addr).method == "kernel image"
    assert kernel.space.read_u64(addr) == int(value_text, 16)
    assert kernel.object("jiffies").value_() == int(value_text, 16)


def test_panic_task_through_direct_map_matches_crash_struct(linux_session) -> None:
    ref = crash_ref(linux_session.ref_dir, "21-struct_task_struct")
    expected = dict(re.findall(r"^\s+(\w+) = (.*),$", ref, re.M))
    kernel = linux_session.current
    assert kernel.space.explain(PANIC_TASK).method == "direct map"
    task = kernel.object_at("struct task_struct", PANIC_TASK)
    assert task.comm.string_() == b"lab_crasher"
    assert expected["comm"].startswith('"lab_crasher')
    for field in ("pid", "tgid", "__state", "flags"):
        assert task.member_(field).value_() == int(expected[field]), field


def test_vmap_stack_words_match_crash_bt_f(linux_session) -> None:
    ref = crash_ref(linux_session.ref_dir, "11-bt_f")
    kernel = linux_session.current
    words = re.findall(r"^\s+(ffffb[0-9a-f]+): ((?:[0-9a-f]{16} ?)+)$", ref, re.M)
    assert len(words) > 20
    first = int(words[0][0], 16)
    assert kernel.space.explain(first).method == "page table"   # vmalloc: a real walk
    for addr_text, values in words:
        addr = int(addr_text, 16)
        for i, value in enumerate(values.split()):
            assert kernel.space.read_u64(addr + 8 * i) == int(value, 16), hex(addr + 8 * i)


def test_init_task_and_per_cpu(linux_session) -> None:
    kernel = linux_session.current
    init = kernel.object("init_task")
    assert init.comm.string_() == b"swapper/0"
    assert init.pid.value_() == 0
    assert kernel.online_cpus == [0, 1]
    # each CPU's runqueue says which task it runs: CPU 1 ran the panic task
    assert int(kernel.per_cpu("runqueues", 1).curr) == PANIC_TASK


def test_struct_pid_layout_matches_crash_whatis(linux_session) -> None:
    ref = crash_ref(linux_session.ref_dir, "24-whatis_struct_pid")
    pid = linux_session.current.type("struct pid")
    assert f"SIZE: {pid.byte_size}" in ref
    names = re.findall(r"(\w+)(?:\[\d*\])?;$", ref, re.M)
    assert [m.name for m in pid.members] == names


def test_vmlinux_mismatch_is_reported_with_both_values(tmp_path) -> None:
    import pytest

    from conftest import LINUX_DIR, XEN_DIR, need
    from xcrash.errors import SymbolFileMismatch
    import xcrash
    with pytest.raises(SymbolFileMismatch) as info:
        xcrash.open(str(need(LINUX_DIR / "vmcore-d31.kdump")), str(need(XEN_DIR / "vmlinux.xz")))
    message = str(info.value)
    assert "build-id" in message and "the dump says" in message and "the file says" in message
