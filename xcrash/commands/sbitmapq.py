"""sbitmapq: a struct sbitmap_queue (blk-mq's tags and the like), as crash shows it."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import CommandError, MemoryError_, NoSuchType
from ..layouts.values import struct_lines
from ..results import Records
from ..targets import values
from ..targets.linux import sbitmap
from ..targets.linux.kernel import LinuxTarget
from ..targets.linux.sbitmap import SbitmapQueue
from ..targets.values import StructContents
from .args import linux_target, radix_of
from .base import Command, Context, Option


def queue_lines(records: Iterable[SbitmapQueue]) -> Iterator[str]:
    for q in records:
        sb = q.sb
        cleared = sb.weight(cleared=True) if q.has_cleared else 0
        yield f"depth = {sb.depth}"
        yield f"busy = {sb.weight() - cleared}"
        if q.has_cleared:
            yield f"cleared = {cleared}"
        yield f"bits_per_word = {1 << sb.shift}"
        yield f"map_nr = {sb.map_nr}"
        yield "alloc_hint = {" + ", ".join(str(h) for h in q.alloc_hints) + "}"
        yield f"wake_batch = {q.wake_batch}"
        yield f"wake_index = {q.wake_index}"
        if q.ws_active is not None:
            yield f"ws_active = {q.ws_active}"
        yield "ws = {"
        for cnt, active in q.ws:
            state = "active" if active else "inactive"
            yield (f"\t{{ .wait_cnt = {cnt}, .wait = {state} }}," if cnt is not None
                   else f"\t{{ .wait = {state} }},")
        yield "}"
        if q.round_robin is not None:
            yield f"round_robin = {int(q.round_robin)}"
        if q.min_shallow_depth is not None:
            yield f"min_shallow_depth = {q.min_shallow_depth}"
        yield ""
        raw = sb.bitmap_bytes()
        for off in range(0, len(raw), 16):
            chunk = raw[off:off + 16]
            pairs = [chunk[i:i + 2].hex() for i in range(0, len(chunk), 2)]
            yield f"{off:08x}: " + " ".join(pairs)


@dataclass
class SbitmapEntry:
    """sbitmapq -s: an allocated bit and the element of the array it stands for (its
    structure with -v)."""
    index: int
    address: int
    contents: StructContents | None = None
    radix: int = field(default=10, metadata={"json": False})


def entry_lines(records: Iterable[SbitmapEntry]) -> Iterator[str]:
    for e in records:
        if e.contents is None:
            yield f"{e.index}: 0x{e.address:08x}"
        else:
            yield f"{e.index} (0x{e.address:08x}):"
            yield from struct_lines(e.contents, e.radix)


class Sbitmapq(Command):
    name = "sbitmapq"
    synopsis = "sbitmapq [-s struct[.member[,member]] -a address [-p] [-v]] -[x|d] address"
    summary = "a struct sbitmap_queue: its state and the bits allocated"
    group = "linux"
    targets = ("linux",)
    description = """\
The struct sbitmap_queue at the address (blk-mq's tags: a request_queue's
tag_set->tags[N]->bitmap_tags): its depth, bits busy and cleared, words, each
CPU's allocation hint, wake batch and index, its wait queues, then the bitmap
of allocated bits.  With -s and -a, each allocated bit's element of the array
at -a (of that structure, or with -p of pointers to it): its index and
address, with -v the structure (or the members named) gdb-style.  crash 9.0.2
stops with an error at the wait queues of kernels since 6.1 (their
sbq_wait_state has no wait_cnt); xcrash shows each queue's state without it.
"""
    example = ("p &((struct request_queue *)0xffff975a80a591a8)->tag_set->tags[0]->bitmap_tags\n"
               "sbitmapq ffff975a80a3bcd0")
    options = (Option("-s", "struct", "the structure (.member,...) of the array's elements",
                      takes_value=True, metavar="struct[.member[,member]]"),
               Option("-a", "array", "the array the bits index", takes_value=True,
                      metavar="address"),
               Option("-p", "pointers", "the array holds pointers to the structures"),
               Option("-v", "verbose", "each element's structure"),
               Option("-x", "hex", "structures in hexadecimal"),
               Option("-d", "dec", "structures in decimal"))
    exclusive = (("hex", "dec"),)

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = linux_target(ctx)
        if not rest:
            raise CommandError("sbitmapq: command argument is required")
        if len(rest) > 1:
            raise CommandError("sbitmapq: too many arguments")
        address = _address(target, rest[0], "invalid command argument")
        if opts["struct"] and not opts["array"]:
            raise CommandError("sbitmapq: -s option requires -a option")
        if opts["array"] and not opts["struct"]:
            raise CommandError("sbitmapq: -a option is used with -s option only")
        if opts["pointers"] and not opts["array"]:
            raise CommandError("sbitmapq: -p option requires -a option")
        try:
            q = sbitmap.queue(target, address)
            if not opts["struct"]:
                return Records([q], queue_lines)
            return Records(self._entries(ctx, target, q, opts), entry_lines)
        except MemoryError_ as err:
            raise CommandError(f"sbitmapq: {err}") from err

    @staticmethod
    def _entries(ctx: Context, target: LinuxTarget, q: SbitmapQueue,
                 opts: dict[str, Any]) -> list[SbitmapEntry]:
        name, _, members = opts["struct"].partition(".")
        try:
            t = target.type(name if " " in name else f"struct {name}")
        except NoSuchType as err:
            raise CommandError(f"sbitmapq: invalid data structure reference: {name}") from err
        base = _address(target, opts["array"], "invalid -a option")
        size = 8 if opts["pointers"] else t.byte_size
        radix = radix_of(ctx, opts)
        out = []
        for idx in q.sb.set_bits():
            at = base + size * idx
            contents = None
            if opts["verbose"]:
                where = target.space.read_u64(at) if opts["pointers"] else at
                contents = values.read_struct(target, t, where,
                                              members.split(",") if members else None)
            out.append(SbitmapEntry(idx, at, contents, radix))
        return out


def _address(target: LinuxTarget, word: str, what: str) -> int:
    try:
        value = int(word, 16)
    except ValueError:
        raise CommandError(f"sbitmapq: {what}: {word}") from None
    if value < target.space.page_offset:
        raise CommandError(f"sbitmapq: invalid kernel virtual address: {word}")
    return value


COMMANDS = [Sbitmapq]
