"""The kernel log: the lockless printk ring buffer (Linux 5.10 and later), or the
structured ``log_buf`` of 3.5 to 5.9.

Layouts come from the symbol file's types; descriptor states and the data
block rules are those of kernel/printk/printk_ringbuffer.c.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from collections.abc import Iterator

from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, NoSuchType, XcrashError
from ...symbols.types import Type

if TYPE_CHECKING:
    from .kernel import LinuxTarget

DESC_SV_BITS = 64
DESC_FLAGS_SHIFT = DESC_SV_BITS - 2
DESC_ID_MASK = (1 << DESC_FLAGS_SHIFT) - 1
DESC_COMMITTED = 1
DESC_FINALIZED = 2
LOG_CONT = 8

#: crash's panic message keywords, in its order of preference
PANIC_KEYWORDS = (
    "SysRq : Crash", "SysRq : Trigger a crash", "SysRq : Netdump", "Kernel panic: ",
    "Kernel panic - ",
    "Kernel BUG at", "kernel BUG at", "Unable to handle kernel paging request",
    "Unable to handle kernel NULL pointer dereference", "BUG: unable to handle kernel ",
    "general protection fault: ", "double fault: ", "divide error: ", "stack segment: ",
    "[Hardware Error]: ", "Bad mode in ", "Oops: ",
)


class LogUnavailable(XcrashError):
    pass


@dataclass
class Record:
    """A record of the kernel log: what ``log`` shows of it, and its JSON."""
    seq: int
    ts_nsec: int
    level: int
    facility: int
    flags: int = field(metadata={"json": False})
    caller_id: int = field(metadata={"json": False})
    text: str = ""
    #: the record's dictionary, KEY=VALUE (SUBSYSTEM=, DEVICE= of dev_printk)
    dict: tuple[str, ...] = ()
    #: who logged it: ``T<pid>`` for a task, ``C<cpu>`` for interrupt context
    caller: str = field(init=False)

    def __post_init__(self) -> None:
        self.caller = caller_name(self.caller_id)


def caller_name(caller_id: int) -> str:
    """printk's caller id as crash shows it: ``T<pid>``, or ``C<cpu>`` (top bit set)."""
    return f"C{caller_id & 0x7FFFFFFF}" if caller_id & 0x80000000 else f"T{caller_id}"


def records(target: LinuxTarget, lost: list[str] | None = None) -> Iterator[Record]:
    """Every readable record of the log, oldest first, in whichever format the
    kernel has: the lockless ring (5.10+) or the structured ``log_buf`` (3.5–5.9).

    A record that cannot be read is left out: its error goes to ``lost`` when the
    caller gives one (and says so itself), else a caveat says how many were.
    """
    keep: list[str] = lost if lost is not None else []
    if target.symbols.get("prb") is not None:
        found = _ring_records(target, keep)
    elif target.symbols.get("log_first_idx") is not None:
        found = _log_buf_records(target, keep)
    else:
        raise LogUnavailable("no printk ring buffer (prb) nor structured log_buf: "
                             "the log of kernels before 3.5 is not supported")
    return found if lost is not None else _reported(found, keep)


def _reported(found: Iterator[Record], lost: list[str]) -> Iterator[Record]:
    yield from found
    if lost:
        caveat(f"{len(lost)} log records unreadable ({lost[0]}): left out")


def _header_type(target: LinuxTarget) -> Type:
    for name in ("struct printk_log", "struct log"):
        try:
            return target.type(name)
        except NoSuchType:
            continue        # the other name: struct log before 3.11
    raise LogUnavailable("log_buf found but no struct printk_log type")


def _log_buf_records(target: LinuxTarget, lost: list[str]) -> Iterator[Record]:
    """Records of ``struct printk_log`` (``struct log`` before 3.11) in ``log_buf``:
    a header, then the text; ``len`` 0 means the rest of the buffer is unused and
    the next record is at index 0."""
    header_t = _header_type(target)
    buf = int(target.object("log_buf", "char *"))
    size = int(target.object("log_buf_len", "unsigned int"))
    first = int(target.object("log_first_idx", "unsigned int"))
    nxt = int(target.object("log_next_idx", "unsigned int"))
    seq = int(target.object("log_first_seq", "unsigned long long"))
    if not 0 < size <= 1 << 30:
        raise LogUnavailable(f"log_buf_len {size} is not a plausible size")
    data = target.read(buf, size)
    hsize = header_t.byte_size

    def bit(name: str) -> int | None:
        """The member's bit offset; None where this kernel's header has no such member."""
        return header_t.member(name)[0] if header_t.has_member(name) else None

    off = {name: header_t.member(name)[0] for name in ("ts_nsec", "len", "text_len")}
    dict_len, fac, flags_bit = bit("dict_len"), bit("facility"), bit("flags")
    level_bit, caller = bit("level"), bit("caller_id")

    def word(pos: int, bit: int, width: int) -> int:
        return int.from_bytes(data[pos + bit // 8:pos + bit // 8 + width], "little")

    idx = first
    for _ in range(size // max(hsize, 1) + 1):
        if idx == nxt:
            return
        if idx + hsize > size:
            break
        length = word(idx, off["len"], 2)
        if length == 0:                      # wrapped: continue at the start of the buffer
            idx = 0
            continue
        text_len = word(idx, off["text_len"], 2)
        text = data[idx + hsize:idx + hsize + min(text_len, max(length - hsize, 0))]
        dict_bytes = b""
        if dict_len is not None:
            start = idx + hsize + text_len
            dict_bytes = data[start:min(start + word(idx, dict_len, 2), idx + length)]
        bits = data[idx + level_bit // 8] if level_bit is not None else 0
        yield Record(seq=seq, ts_nsec=word(idx, off["ts_nsec"], 8),
                     level=(bits >> (level_bit % 8)) & 7 if level_bit is not None else 0,
                     facility=data[idx + fac // 8] if fac is not None else 0,
                     flags=(data[idx + flags_bit // 8] >> (flags_bit % 8)) & 0x1F
                     if flags_bit is not None else 0,
                     caller_id=word(idx, caller, 4) if caller is not None else 0,
                     text=text.decode("utf-8", "replace"),
                     dict=tuple(item.decode("utf-8", "replace")
                                for item in dict_bytes.split(b"\0") if item))
        seq += 1
        idx += length
    lost.append(f"log_buf: the record at index {idx} runs past the buffer, the records "
                f"from seq {seq} on")


def _ring_records(target: LinuxTarget, lost: list[str]) -> Iterator[Record]:
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
    sv_off = desc_t.offsetof("state_var")
    begin_off = desc_t.offsetof("text_blk_lpos.begin")
    next_off = desc_t.offsetof("text_blk_lpos.next")
    seq_off = info_t.offsetof("seq")
    ts_off = info_t.offsetof("ts_nsec")
    len_off = info_t.offsetof("text_len")
    fac_off = info_t.offsetof("facility")
    caller_off = info_t.offsetof("caller_id")
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
            # a descriptor of another id (reused) or still reserved holds no record: the
            # ring's normal state at its ends
            if (sv & DESC_ID_MASK) == id_ and state in (DESC_COMMITTED, DESC_FINALIZED):
                begin = int.from_bytes(raw[begin_off:begin_off + 8], "little")
                nxt = int.from_bytes(raw[next_off:next_off + 8], "little")
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
        except MemoryError_ as err:
            lost.append(f"descriptor {id_}: {err}")
        if id_ == head_id:
            break
        id_ = (id_ + 1) & DESC_ID_MASK
    else:
        lost.append(f"the walk from tail id {tail_id} never reached head id {head_id}")


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


def panic_message(target: LinuxTarget) -> str | Unreadable:
    """The panic message as crash finds it: the first line of the log (in log order)
    holding the first of crash's keywords, in their order, that any line holds; the
    whole line, as crash shows it ("" when the log has none).  Unreadable (with a
    caveat) when the log, or a record of it, could not be read and none of the others
    has one: no message rather than a wrong one."""
    lost: list[str] = []
    try:
        lines = [line for r in records(target, lost) for line in r.text.split("\n")]
    except XcrashError as err:
        caveat(f"the log is unreadable ({err}): no panic message")
        return Unreadable(str(err))
    for keyword in PANIC_KEYWORDS:
        for line in lines:
            if keyword in line:
                if lost:
                    caveat(f"{len(lost)} log records unreadable ({lost[0]}): the panic "
                           "message is the readable records' best")
                return line
    if lost:
        caveat(f"{len(lost)} log records unreadable ({lost[0]}): no panic message in the "
               "others")
        return Unreadable(lost[0])
    return ""
