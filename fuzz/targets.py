"""Fuzz targets: one function per parser, taking raw bytes.

Each target feeds the bytes to one parser and lets only the parser's typed
errors through (they are the parser's answer to bad input); anything else
escaping is a finding.  The same functions serve atheris (fuzz/run.py, long
runs) and hypothesis (tests/test_fuzz_parsers.py, short runs in CI).
"""
from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Callable
from typing import Any

from xcrash.dump.compression import LZO, SNAPPY, ZLIB, ZSTD, CorruptPage, decompress
from xcrash.dump.notes import (find_vmcoreinfo, parse_notes, prstatus_notes, qemu_notes,
                               xen_notes)
from xcrash.dump.vmcoreinfo import VmcoreInfo
from xcrash.errors import XcrashError

PAGE = 4096
#: real headers to mutate from, when the shared dumps are beside the checkout
SEED_DUMP = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "dumps",
                         "linux-6.1-sysrq", "vmcore-d31.kdump")


def fuzz_notes(data: bytes) -> None:
    notes = parse_notes(data)
    prstatus_notes(notes)
    qemu_notes(notes)
    find_vmcoreinfo(notes)
    xen = xen_notes(notes)
    if xen is not None:
        _ = xen.version, xen.xen_phys_start, xen.cpu_regs


def fuzz_vmcoreinfo(data: bytes) -> None:
    vi = VmcoreInfo(data)
    for key in list(vi)[:50]:
        vi.get(key)
    for fn in (lambda: vi.osrelease, lambda: vi.build_id, lambda: vi.crashtime,
               lambda: vi.kerneloffset, lambda: vi.number("phys_base"),
               lambda: vi.symbol("swapper_pg_dir"), lambda: vi.offset("page", "flags"),
               lambda: vi.size("page"), lambda: vi.length("mem_section")):
        fn()


def _decompress(flags: int) -> Callable[[bytes], None]:
    def target(data: bytes) -> None:
        try:
            decompress(data, flags, PAGE)
        except CorruptPage:
            pass
    return target


fuzz_zlib = _decompress(ZLIB)
fuzz_lzo = _decompress(LZO)
fuzz_snappy = _decompress(SNAPPY)
fuzz_zstd = _decompress(ZSTD)


def fuzz_btf(data: bytes) -> None:
    from xcrash.symbols.btf import parse_btf
    try:
        parse_btf(data, "fuzz.btf")
    except XcrashError:
        pass


def _dump_file(data: bytes) -> None:
    from xcrash.dump import open_dump
    with tempfile.NamedTemporaryFile(suffix=".vmcore") as f:
        f.write(data)
        f.flush()
        try:
            dump = open_dump(f.name)
        except XcrashError:
            return
        try:
            for start, end in dump.ranges()[:4]:
                for addr in (start, (start + end) // 2, end - 1):
                    try:
                        dump.read(addr, 64)
                    except XcrashError:
                        pass
            _ = dump.prstatus, dump.vmcoreinfo, dump.xen
        finally:
            dump.close()


def fuzz_kdump_header(data: bytes) -> None:
    """Mutations land on the first two blocks (header, sub-header, notes) of a real dump."""
    seed = _seed()
    _dump_file(data[:2 * PAGE] + seed[len(data[:2 * PAGE]):] if seed else data)


def fuzz_elf_header(data: bytes) -> None:
    header = struct.pack("<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, 4, 62, 1,
                         0, 64, 0, 0, 64, 56, 2, 0, 0, 0)
    _dump_file(header + data)


_seed_bytes: bytes | None = None


def _seed() -> bytes:
    global _seed_bytes
    if _seed_bytes is None:
        try:
            with open(SEED_DUMP, "rb") as f:
                _seed_bytes = f.read(64 * PAGE)
        except OSError:
            _seed_bytes = b""
    return _seed_bytes


def fuzz_orc(data: bytes) -> None:
    from xcrash.targets.linux.orc import OrcError, OrcTable, _layout

    class _Symbols:
        delta = 0

        def get(self, name: str) -> None:
            return None

    class _Target:
        symfile = None
        symbols = _Symbols()

        def __init__(self) -> None:
            self.cache: dict[str, object] = {}

        def type(self, name: str) -> None:
            raise XcrashError(name)

    n = len(data) // 10
    try:
        target: Any = _Target()             # a stand-in: only what the layout reads
        table = OrcTable(_layout(target), raw_ip=data[:4 * n], ip_base=0xFFFFFFFF81000000,
                         entries=data[4 * n:10 * n], delta=0)
    except OrcError:
        return
    for probe in (0, 0xFFFFFFFF81000000, 0xFFFFFFFF81001234, 0xFFFFFFFFFFFFFFFF):
        table.find(probe)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "notes": fuzz_notes, "vmcoreinfo": fuzz_vmcoreinfo, "zlib": fuzz_zlib, "lzo": fuzz_lzo,
    "snappy": fuzz_snappy, "zstd": fuzz_zstd, "btf": fuzz_btf, "kdump": fuzz_kdump_header,
    "elf": fuzz_elf_header, "orc": fuzz_orc,
}
