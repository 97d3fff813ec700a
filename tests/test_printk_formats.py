"""The log of kernels before 5.10: the structured log_buf, on a synthetic buffer."""
from __future__ import annotations

import struct
from typing import Any

from xcrash.errors import NoSuchType
from xcrash.symbols.types import Kind, Member, Type
from xcrash.targets.linux.printk import records

U8 = Type(Kind.INT, "u8", 1)
U16 = Type(Kind.INT, "u16", 2)
U64 = Type(Kind.INT, "u64", 8)
PRINTK_LOG = Type(Kind.STRUCT, "printk_log", 16, members=[
    Member("ts_nsec", U64, 0), Member("len", U16, 64), Member("text_len", U16, 80),
    Member("dict_len", U16, 96), Member("facility", U8, 112),
    Member("flags", U8, 120, 5), Member("level", U8, 125, 3)])


def record(ts: int, level: int, text: bytes, dictionary: bytes = b"") -> bytes:
    length = (16 + len(text) + len(dictionary) + 7) // 8 * 8
    head = struct.pack("<QHHHBB", ts, length, len(text), len(dictionary), 0, level << 5)
    return (head + text + dictionary).ljust(length, b"\0")


class FakeTarget:
    def __init__(self, buf: bytes, first: int, nxt: int) -> None:
        self.values = {"log_buf": 0x1000, "log_buf_len": len(buf), "log_first_idx": first,
                       "log_next_idx": nxt, "log_first_seq": 7}
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
        assert addr == 0x1000 and size == len(self.buf)
        return self.buf


def test_records_in_order_across_the_wrap() -> None:
    a = record(1_000_000, 6, b"first")
    b = record(2_000_000, 4, b"second line")
    c = record(3_500_000, 0, b"panic")
    # c was written at index 0 after b filled the end; a is the oldest, after c
    buf = bytearray(256)
    buf[0:len(c)] = c
    start = 64
    buf[start:start + len(a)] = a
    buf[start + len(a):start + len(a) + len(b)] = b      # then a zero `len`: wrap
    target: Any = FakeTarget(bytes(buf), start, len(c))     # a stand-in: what printk reads
    out = list(records(target))
    assert [(r.seq, r.ts_nsec, r.level, r.text) for r in out] == [
        (7, 1_000_000, 6, "first"), (8, 2_000_000, 4, "second line"), (9, 3_500_000, 0, "panic")]


def test_a_records_dictionary_follows_its_text() -> None:
    """dev_printk's SUBSYSTEM=/DEVICE= pairs, NUL-separated after the text (log -d)."""
    a = record(1_000, 6, b"virtio_net virtio0: up", b"SUBSYSTEM=virtio\0DEVICE=+virtio:virtio0")
    b = record(2_000, 6, b"plain")
    buf = (a + b).ljust(256, b"\0")
    target: Any = FakeTarget(buf, 0, len(a) + len(b))
    out = list(records(target))
    assert [(r.text, r.dict) for r in out] == [
        ("virtio_net virtio0: up", ("SUBSYSTEM=virtio", "DEVICE=+virtio:virtio0")), ("plain", ())]
