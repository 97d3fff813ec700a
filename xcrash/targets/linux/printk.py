"""The kernel log: the lockless printk ring buffer (Linux 5.10 and later).

Layouts come from the symbol file's types; descriptor states and the data
block rules are those of kernel/printk/printk_ringbuffer.c.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from ...errors import MemoryError_, XcrashError

DESC_SV_BITS = 64
DESC_FLAGS_SHIFT = DESC_SV_BITS - 2
DESC_ID_MASK = (1 << DESC_FLAGS_SHIFT) - 1
DESC_COMMITTED = 1
DESC_FINALIZED = 2
LOG_CONT = 8

#: crash's panic message keywords, in its order of preference
PANIC_KEYWORDS = (
    "SysRq : Crash", "SysRq : Trigger a crash", "Kernel panic: ", "Kernel panic - ",
    "Kernel BUG at", "kernel BUG at", "Unable to handle kernel paging request",
    "Unable to handle kernel NULL pointer dereference", "BUG: unable to handle kernel ",
    "general protection fault: ", "double fault: ", "divide error: ", "stack segment: ",
    "[Hardware Error]: ", "Bad mode in ", "Oops: ",
)


class LogUnavailable(XcrashError):
    pass


@dataclass
class Record:
    seq: int
    ts_nsec: int
    level: int
    facility: int
    flags: int
    caller_id: int
    text: str
    #: the record's dictionary, KEY=VALUE (SUBSYSTEM=, DEVICE= of dev_printk)
    dict: tuple[str, ...] = ()


def records(target: Any) -> Iterator[Record]:
    """Every readable record of the log, oldest first, in whichever format the
    kernel has: the lockless ring (5.10+) or the structured ``log_buf`` (3.5–5.9)."""
    if target.symbols.get("prb") is not None:
        return _ring_records(target)
    if target.symbols.get("log_first_idx") is not None:
        return _log_buf_records(target)
    raise LogUnavailable("no printk ring buffer (prb) nor structured log_buf: "
                         "the log of kernels before 3.5 is not supported")


def _log_buf_records(target: Any) -> Iterator[Record]:
    """Records of ``struct printk_log`` (``struct log`` before 3.11) in ``log_buf``:
    a header, then the text; ``len`` 0 means the rest of the buffer is unused and
    the next record is at index 0."""
    header_t = None
    for name in ("struct printk_log", "struct log"):
        try:
            header_t = target.type(name)
            break
        except XcrashError:
            continue
    if header_t is None:
        raise LogUnavailable("log_buf found but no struct printk_log type")
    buf = int(target.object("log_buf", "char *"))
    size = int(target.object("log_buf_len", "unsigned int"))
    first = int(target.object("log_first_idx", "unsigned int"))
    nxt = int(target.object("log_next_idx", "unsigned int"))
    seq = int(target.object("log_first_seq", "unsigned long long"))
    if not 0 < size <= 1 << 30:
        raise LogUnavailable(f"log_buf_len {size} is not a plausible size")
    data = target.read(buf, size)
    hsize = header_t.byte_size
    off = {name: header_t.member(name)[0] for name in ("ts_nsec", "len", "text_len")}
    dict_len = header_t.member("dict_len")[0] if header_t.has_member("dict_len") else None
    fac = header_t.member("facility")[0] // 8 if header_t.has_member("facility") else None
    flags_bit = header_t.member("flags")[0] if header_t.has_member("flags") else None
    level_bit = header_t.member("level")[0] if header_t.has_member("level") else None
    caller = header_t.member("caller_id")[0] // 8 if header_t.has_member("caller_id") else None

    def field(pos: int, bit: int, width: int) -> int:
        return int.from_bytes(data[pos + bit // 8:pos + bit // 8 + width], "little")

    idx = first
    for _ in range(size // max(hsize, 1) + 1):
        if idx == nxt or idx + hsize > size:
            break
        length = field(idx, off["len"], 2)
        if length == 0:                      # wrapped: continue at the start of the buffer
            idx = 0
            continue
        text_len = field(idx, off["text_len"], 2)
        text = data[idx + hsize:idx + hsize + min(text_len, max(length - hsize, 0))]
        dict_bytes = b""
        if dict_len is not None:
            start = idx + hsize + text_len
            dict_bytes = data[start:min(start + field(idx, dict_len, 2), idx + length)]
        bits = data[idx + level_bit // 8] if level_bit is not None else 0
        yield Record(seq=seq, ts_nsec=field(idx, off["ts_nsec"], 8),
                     level=(bits >> (level_bit % 8)) & 7 if level_bit is not None else 0,
                     facility=data[idx + fac] if fac is not None else 0,
                     flags=(data[idx + flags_bit // 8] >> (flags_bit % 8)) & 0x1F
                     if flags_bit is not None else 0,
                     caller_id=field(idx, caller * 8, 4) if caller is not None else 0,
                     text=text.decode("utf-8", "replace"),
                     dict=tuple(item.decode("utf-8", "replace")
                                for item in dict_bytes.split(b"\0") if item))
        seq += 1
        idx += length


def _ring_records(target: Any) -> Iterator[Record]:
    prb = target.object("prb", target.pointer_type(target.type("struct printk_ringbuffer")))
    rb = prb.deref_()
    desc_ring = rb.desc_ring
    count_bits = int(desc_ring.count_bits)
    descs = int(desc_ring.descs)
    infos = int(desc_ring.infos)
    head_id = int(desc_ring.head_id.counter) & DESC_ID_MASK
    tail_id = int(desc_ring.tail_id.counter) & DESC_ID_MASK
    data_ring = rb.text_data_ring
    size_bits = int(data_ring.size_bits)
    data = int(data_ring.data)
    desc_t = target.type("struct prb_desc")
    info_t = target.type("struct printk_info")
    desc_size = desc_t.byte_size
    info_size = info_t.byte_size
    sv_off = desc_t.member("state_var")[0] // 8
    lpos_off = desc_t.member("text_blk_lpos")[0] // 8
    lpos_t = target.type("struct prb_data_blk_lpos")
    begin_off = lpos_t.member("begin")[0] // 8
    next_off = lpos_t.member("next")[0] // 8
    seq_off = info_t.member("seq")[0] // 8
    ts_off = info_t.member("ts_nsec")[0] // 8
    len_off = info_t.member("text_len")[0] // 8
    fac_off = info_t.member("facility")[0] // 8
    caller_off = info_t.member("caller_id")[0] // 8
    flags_bit, flags_m = info_t.member("flags")
    dev_info = _dev_info_layout(info_t)
    level_bit, level_m = info_t.member("level")
    idx_mask = (1 << count_bits) - 1
    data_mask = (1 << size_bits) - 1
    space = target.space

    ring_size = 1 << count_bits
    id_ = tail_id
    for _ in range(ring_size + 1):
        idx = id_ & idx_mask
        try:
            raw = space.read(descs + idx * desc_size, desc_size)
            sv = int.from_bytes(raw[sv_off:sv_off + 8], "little")
            state = sv >> DESC_FLAGS_SHIFT
            if (sv & DESC_ID_MASK) == id_ and state in (DESC_COMMITTED, DESC_FINALIZED):
                begin = int.from_bytes(raw[lpos_off + begin_off:lpos_off + begin_off + 8], "little")
                nxt = int.from_bytes(raw[lpos_off + next_off:lpos_off + next_off + 8], "little")
                info = space.read(infos + idx * info_size, info_size)
                text_len = int.from_bytes(info[len_off:len_off + 2], "little")
                text = _text(space, data, data_mask, begin, nxt, text_len)
                bits = int.from_bytes(info[flags_bit // 8:flags_bit // 8 + 1], "little")
                yield Record(
                    seq=int.from_bytes(info[seq_off:seq_off + 8], "little"),
                    ts_nsec=int.from_bytes(info[ts_off:ts_off + 8], "little"),
                    level=(bits >> (level_bit % 8)) & ((1 << level_m.bit_size) - 1),
                    facility=info[fac_off],
                    flags=(bits >> (flags_bit % 8)) & ((1 << flags_m.bit_size) - 1),
                    caller_id=int.from_bytes(info[caller_off:caller_off + 4], "little"),
                    text=text.decode("utf-8", "replace"),
                    dict=_dev_info(info, dev_info))
        except MemoryError_:
            pass
        if id_ == head_id:
            break
        id_ = (id_ + 1) & DESC_ID_MASK


def _dev_info_layout(info_t: Any) -> list[tuple[str, int, int]]:
    """(KEY, offset, size) of printk_info.dev_info's strings (5.10+: subsystem, device)."""
    if not info_t.has_member("dev_info"):
        return []
    base, member = info_t.member("dev_info")
    dev_t = member.type
    out = []
    for name in ("subsystem", "device"):
        if dev_t.has_member(name):
            off, m = dev_t.member(name)
            out.append((name.upper(), (base + off) // 8, m.type.byte_size))
    return out


def _dev_info(info: bytes, layout: list[tuple[str, int, int]]) -> tuple[str, ...]:
    items = []
    for key, off, size in layout:
        value = info[off:off + size].split(b"\0", 1)[0]
        if value:
            items.append(f"{key}={value.decode('utf-8', 'replace')}")
    return tuple(items)


def _text(space: Any, data: int, mask: int, begin: int, nxt: int, text_len: int) -> bytes:
    if begin & 1:                      # data-less record (FAILED_LPOS / NO_LPOS)
        return b""
    b, n = begin & mask, nxt & mask
    if b == n:
        return b""
    if b > n:                          # the block wrapped: it was placed at data[0]
        b = 0
    b += 8                             # skip the block's id word
    length = min(text_len, max(n - b, 0))
    return space.read(data + b, length) if length else b""


def panic_message(target: Any) -> str | None:
    """The panic message as crash finds it: the first keyword, in crash's
    order, found in the log (searched from the end)."""
    try:
        lines = [r.text for r in records(target)]
    except XcrashError:
        return None
    for keyword in PANIC_KEYWORDS:
        for text in reversed(lines):
            pos = text.find(keyword)
            if pos >= 0:
                return text[pos:].rstrip("\n")
    return None
