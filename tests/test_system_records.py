"""sys, log, mod, mach and runq on the record model: the text comes from the records the
JSON gives, and what could not be read is said (? in the text, null in JSON, a WARNING)
rather than left out or replaced by a default."""
from __future__ import annotations

import struct
from types import SimpleNamespace as NS
from typing import Any

import pytest

from conftest import run
from xcrash.caveats import CaveatWarning, Unreadable
from xcrash.errors import MemoryError_, NoSuchType, XcrashError
from xcrash.results import record_json
from xcrash.symbols.types import Kind, Member, Type


def test_sys_text_is_its_record(sysrq) -> None:
    [record] = sysrq.run("sys", records=True)
    text = run(sysrq, "sys").splitlines()
    assert text[0] == f"      KERNEL: {record['kernel']}"
    assert f"LOAD AVERAGE: {record['load_average']}" in text
    assert text[-1] == f"       PANIC: \"{record['panic']}\""
    assert record["panic"] == "Kernel panic - not syncing: sysrq triggered crash"


def test_an_unreadable_sys_value_is_a_question_mark_and_null() -> None:
    from xcrash.commands.sys import field_lines
    from xcrash.targets.linux.sysinfo import LinuxSystem
    record = LinuxSystem(kernel="vmlinux", dumpfile="a.kdump\nb.kdump", cpus="2",
                         date=Unreadable("no time"), uptime="00:00:12",
                         load_average=Unreadable("avenrun"), tasks="46", nodename="(none)",
                         release="6.1", version="#4", machine="x86_64  (unknown Mhz)",
                         memory="255.5 MB", panic=Unreadable("log records lost"), split=True)
    lines = list(field_lines([record]))
    assert lines[1:3] == ["   DUMPFILES: a.kdump", "              b.kdump"]
    assert "        DATE: ?" in lines and "LOAD AVERAGE: ?" in lines
    assert not any("PANIC" in line for line in lines)     # no message rather than a wrong one
    data = record_json(record)
    assert data["load_average"] is None and data["panic"] is None and "split" not in data


def test_sys_t_and_the_other_views_give_records(sysrq) -> None:
    assert sysrq.run("sys -t", records=True) == [{"tainted_mask": 0, "flags": ""}]
    config = sysrq.run("sys config", records=True)
    assert {"text": "CONFIG_HZ=250"} in config


def test_log_records_name_their_caller(sysrq) -> None:
    records = sysrq.run("log", records=True)
    assert records[0]["caller"] == "T0" and records[0]["seq"] == 0
    assert "caller_id" not in records[0] and "flags" not in records[0]


# -- the structured log_buf of kernels before 5.10, on a synthetic buffer ------------------
U8, U16, U64 = Type(Kind.INT, "u8", 1), Type(Kind.INT, "u16", 2), Type(Kind.INT, "u64", 8)
PRINTK_LOG = Type(Kind.STRUCT, "printk_log", 16, members=[
    Member("ts_nsec", U64, 0), Member("len", U16, 64), Member("text_len", U16, 80),
    Member("dict_len", U16, 96), Member("facility", U8, 112),
    Member("flags", U8, 120, 5), Member("level", U8, 125, 3)])


def _record(ts: int, text: bytes, length: int | None = None) -> bytes:
    size = length or (16 + len(text) + 7) // 8 * 8
    return (struct.pack("<QHHHBB", ts, size, len(text), 0, 0, 6 << 5) + text).ljust(
        (16 + len(text) + 7) // 8 * 8, b"\0")


class LogBufTarget:
    def __init__(self, buf: bytes, first: int, nxt: int) -> None:
        self.values = {"log_buf": 0x1000, "log_buf_len": len(buf), "log_first_idx": first,
                       "log_next_idx": nxt, "log_first_seq": 0}
        self.buf = buf
        self.symbols = self

    def get(self, name: str) -> object | None:
        return object() if name in self.values else None

    def type(self, name: str) -> Type:
        if name == "struct printk_log":
            return PRINTK_LOG
        raise NoSuchType(name)

    def object(self, name: str, type_name: str) -> int:
        return self.values[name]

    def read(self, addr: int, size: int) -> bytes:
        return self.buf


def _broken_log(text: bytes) -> Any:
    # a stand-in target (what printk reads), typed as the LinuxTarget printk takes
    """A record, then one whose length runs past the end of the buffer."""
    a = _record(1_000, text)
    b = _record(2_000, b"lost", length=4096)
    buf = (a + b).ljust(128, b"\0")
    return LogBufTarget(buf, 0, len(a) + 64)


def test_log_records_past_the_buffer_are_counted_not_dropped_silently() -> None:
    from xcrash.targets.linux.printk import records
    with pytest.warns(CaveatWarning, match="1 log records unreadable .*runs past the buffer"):
        texts = [r.text for r in records(_broken_log(b"first"))]
    assert texts == ["first", "lost"]


def test_panic_message_with_lost_records() -> None:
    from xcrash.targets.linux.printk import panic_message
    with pytest.warns(CaveatWarning, match="no panic message in the others"):
        assert isinstance(panic_message(_broken_log(b"nothing to see")), Unreadable)
    with pytest.warns(CaveatWarning, match="the readable records' best"):
        assert panic_message(_broken_log(b"Kernel panic - not syncing: x")) == \
            "Kernel panic - not syncing: x"
    whole: Any = LogBufTarget(_record(1, b"calm").ljust(64, b"\0"), 0, 24)
    assert panic_message(whole) == ""           # crash's PANIC: "" when the log has none


# -- mod, mach, runq ---------------------------------------------------------------------
def test_an_unreadable_module_list_is_not_no_modules() -> None:
    from xcrash.targets.linux.kernelsymbols import KernelSymbols

    def load():
        raise MemoryError_("page excluded", 0x1000)
    syms = KernelSymbols(NS(resolve=lambda a: None), load)
    with pytest.warns(CaveatWarning, match="module list is unreadable"):
        table = syms.modules
    assert len(table) == 0 and table.unreadable == "page excluded"


def test_mach_record_is_typed(sysrq) -> None:
    [record] = sysrq.run("mach", records=True)
    assert record["hz"] == 250 and record["page_size"] == 4096 and record["cpus"] == 2
    assert [k["name"] for k in record["stacks"]][:2] == ["IRQ", "DOUBLEFAULT"]
    assert run(sysrq, "mach").splitlines()[4] == f"                    HZ: {record['hz']}"


def test_runq_records(sysrq) -> None:
    queues = sysrq.run("runq", records=True)
    assert [q["cpu"] for q in queues] == [0, 1]
    assert queues[0]["current"]["comm"] == "xc-crasher"
    assert [t["comm"] for t in queues[1]["cfs"]] == ["rcu_sched"]
    clocks = sysrq.run("runq -t -c 1", records=True)
    assert [(c["cpu"], c["last_arrival"]) for c in clocks] == [(1, 0)]
    assert [r["cpu"] for r in sysrq.run("runq -T", records=True)] == [0, 1]
    assert [len(q["tasks"]) for q in sysrq.run("runq -d", records=True)] == [2, 3]


# -- the kernel's start-up checks ----------------------------------------------------------
def test_an_unreadable_config_is_not_a_missing_one() -> None:
    from xcrash.targets.linux.config import ConfigUnavailable, kernel_config_text

    def read(addr, size):
        raise MemoryError_("excluded", addr)
    target: Any = NS(cache={}, read=read, symbols=NS(get=lambda name: NS(address=0x1000, size=64)
                                                     if name == "kernel_config_data" else None))
    with pytest.raises(ConfigUnavailable, match="kernel_config_data unreadable"):
        kernel_config_text(target)
    without: Any = NS(cache={}, symbols=NS(get=lambda name: None))
    assert kernel_config_text(without) is None


def test_a_skipped_release_check_is_said() -> None:
    from xcrash.targets.linux.layout import check_symbol_file

    def read_static(address, size):
        raise XcrashError("vmlinux.debug: 256 bytes at 0x1000 are not in any section")
    symfile = NS(path="vmlinux.debug", build_id=None, read_static=read_static,
                 symbols=NS(get=lambda name: NS(address=0x1000, size=256)))
    [note] = check_symbol_file(symfile, NS(build_id=None, osrelease="6.1.192"))
    assert "its kernel release is not checked against the dump's 6.1.192" in note
