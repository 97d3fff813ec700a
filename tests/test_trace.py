"""The tracing hook records how an answer was obtained."""
from __future__ import annotations

from xcrash import trace


def test_recording_a_member_read(linux_session) -> None:
    kernel = linux_session.current
    with trace.recording() as events:
        kernel.object("init_task").comm.string_()
    kinds = {e.kind for e in events}
    assert {"symbol", "member", "read", "translate"} <= kinds
    translate = next(e for e in events if e.kind == "translate")
    assert translate.details["method"] == "kernel image"
    assert not trace.enabled()


def test_recording_a_page_walk(linux_session) -> None:
    kernel = linux_session.current
    stack = int(kernel.object_at("struct task_struct", 0xFFFFA1C0010C9480).stack)
    with trace.recording() as events:
        kernel.space.read_u64(stack)
    walk = next(e for e in events if e.kind == "translate")
    assert walk.details["method"] == "page table"
    assert [s[0] for s in walk.details["steps"]][:2] == ["PGD", "PUD"]
