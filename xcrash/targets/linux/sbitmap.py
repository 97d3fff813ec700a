"""Scalable bitmaps (struct sbitmap, struct sbitmap_queue, 4.9+): the bits set, their
weights and the queue's state (``sbitmapq``; blk-mq's tags for ``dev -d``)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import CommandError, NoSuchMember, NoSuchType

if TYPE_CHECKING:
    from .kernel import LinuxTarget

SBQ_WAIT_QUEUES = 8


@dataclass
class Sbitmap:
    """A struct sbitmap: ``depth`` bits in ``map_nr`` words of 2**shift bits; each
    word's (word, cleared) as read."""
    address: int
    depth: int
    shift: int
    map_nr: int
    map: int
    alloc_hint: int | None
    round_robin: bool | None
    words: list[tuple[int, int]]

    def word_depth(self, index: int) -> int:
        if index == self.map_nr - 1:
            return self.depth - (index << self.shift)
        return 1 << self.shift

    def weight(self, cleared: bool = False) -> int:
        total = 0
        for i, (word, clear) in enumerate(self.words):
            bits = (clear if cleared else word) & ((1 << max(self.word_depth(i), 0)) - 1)
            total += bin(bits).count("1")
        return total

    def set_bits(self) -> Iterator[int]:
        """The bits set and not cleared, in order (crash's sbitmap_for_each_set from 0)."""
        for i, (word, clear) in enumerate(self.words):
            live = word & ~clear
            for bit in range(self.word_depth(i)):
                if live >> bit & 1:
                    yield (i << self.shift) + bit

    def bitmap_bytes(self) -> bytes:
        """The bits as crash's bitmap dump packs them: each word's live bits, low first,
        eight to a byte across the words."""
        out = bytearray()
        byte = nbits = 0
        for i, (word, clear) in enumerate(self.words):
            live, left = word & ~clear, self.word_depth(i)
            while left > 0:
                take = min(8 - nbits, left)
                byte |= (live & ((1 << take) - 1)) << nbits
                nbits += take
                if nbits == 8:
                    out.append(byte)
                    byte = nbits = 0
                live >>= take
                left -= take
        if nbits:
            out.append(byte)
        return bytes(out)


def _check(target: LinuxTarget) -> None:
    try:
        target.type("struct sbitmap")
    except NoSuchType:
        raise CommandError("sbitmapq: command not supported or applicable on this "
                           "architecture or kernel (no struct sbitmap before 4.9)") from None


def load(target: LinuxTarget, address: int) -> Sbitmap:
    """The struct sbitmap at ``address`` and its words."""
    _check(target)
    sb = target.object_at("struct sbitmap", address)
    t = sb.type_.strip_typedefs()
    depth, shift, map_nr, base = int(sb.depth), int(sb.shift), int(sb.map_nr), int(sb.map)
    word_t = target.type("struct sbitmap_word").strip_typedefs()
    size = word_t.byte_size
    word_off = word_t.offsetof("word")
    clear_off = word_t.offsetof("cleared") if word_t.has_member("cleared") else None
    if map_nr > 1 << 16:
        raise CommandError(f"sbitmapq: sbitmap {address:x}: {map_nr} words (not an sbitmap?)")
    raw = target.space.read(base, size * map_nr) if map_nr else b""
    words = []
    for i in range(map_nr):
        at = i * size
        word = int.from_bytes(raw[at + word_off:at + word_off + 8], "little")
        clear = (int.from_bytes(raw[at + clear_off:at + clear_off + 8], "little")
                 if clear_off is not None else 0)
        words.append((word, clear))
    hint = int(sb.alloc_hint) if t.has_member("alloc_hint") else None
    rr = bool(int(sb.round_robin)) if t.has_member("round_robin") else None
    return Sbitmap(address, depth, shift, map_nr, base, hint, rr, words)


@dataclass
class SbitmapQueue:
    """``sbitmapq ADDRESS``: a struct sbitmap_queue's state as crash shows it."""
    address: int
    sb: Sbitmap
    has_cleared: bool
    alloc_hints: list[int]
    wake_batch: int
    wake_index: int
    ws_active: int | None
    #: each wait queue's (wait_cnt, active); wait_cnt None where the kernel keeps none
    #: (6.1+)
    ws: list[tuple[int | None, bool]]
    round_robin: bool | None
    min_shallow_depth: int | None


def queue(target: LinuxTarget, address: int) -> SbitmapQueue:
    _check(target)
    try:
        q = target.object_at("struct sbitmap_queue", address)
        t = q.type_.strip_typedefs()
        sb = load(target, address + t.offsetof("sb"))
        hint_base = int(q.alloc_hint) if t.has_member("alloc_hint") else sb.alloc_hint or 0
        possible = len(target.cpu_mask("__cpu_possible_mask")) or len(target.online_cpus)
        hints = [target.space.read_u32(target.per_cpu_address(hint_base, cpu))
                 for cpu in range(possible)]
        ws_base = int(q.ws)
        ws_t = target.type("struct sbq_wait_state").strip_typedefs()
        head_off = ws_t.offsetof("wait") + target.offsetof("struct wait_queue_head", "head")
        ws: list[tuple[int | None, bool]] = []
        for i in range(SBQ_WAIT_QUEUES):
            at = ws_base + i * ws_t.byte_size
            cnt = (target.space.read_u32(at + ws_t.offsetof("wait_cnt"))
                   if ws_t.has_member("wait_cnt") else None)
            nxt = target.space.read_u64(at + head_off)
            prev = target.space.read_u64(at + head_off + 8)
            ws.append((cnt, nxt != prev))
        rr = bool(int(q.round_robin)) if t.has_member("round_robin") else sb.round_robin

        def s32(member: str) -> int:
            return _s32(target.space.read_u32(address + t.offsetof(member)))
        return SbitmapQueue(
            address, sb, target.type("struct sbitmap_word").strip_typedefs().has_member("cleared"),
            hints, int(q.wake_batch), s32("wake_index") if t.has_member("wake_index") else 0,
            s32("ws_active") if t.has_member("ws_active") else None, ws, rr,
            int(q.min_shallow_depth) if t.has_member("min_shallow_depth") else None)
    except (NoSuchMember, NoSuchType) as err:
        raise CommandError(f"sbitmapq: {err}") from err


def _s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value
