"""A Xen hypervisor dump opens; until the Xen targets exist, physical memory and the dump's facts."""
from __future__ import annotations

import io

from conftest import XEN_DIR, need


def test_xen_dump_offers_physical_memory_and_dump_facts() -> None:
    import xcrash
    from xcrash.shell.runner import Runner
    session = xcrash.open(str(need(XEN_DIR / "vmcore-d1.elf.xz")), str(need(XEN_DIR / "xen-syms.xz")))
    assert session.current.kind == "machine"
    assert any("Xen hypervisor dump" in m for m in session.messages)
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(session, out=out, err=err)
    assert runner.execute("sys"), err.getvalue()
    assert "XEN: 4.17.5" in out.getvalue()
    assert runner.execute("rd -p 1000 2"), err.getvalue()
    assert out.getvalue().splitlines()[-1].strip().startswith("1000:")
