"""Dump readers on tiny hand-built files: kdump-compressed v1-v6, flattened, split, xz, ELF.

The builders below write the formats from the facts in
shared/reference/dump-formats.md, independently of the readers.
"""
from __future__ import annotations

import lzma
import os
import random
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xcrash import trace
from xcrash.dump import VmcoreInfo, open_dump
from xcrash.dump.kdump import KdumpDump
from xcrash.errors import BadDump, PageExcluded, PageNotInDump

PAGE = 4096


# ---------------------------------------------------------------- builders

def note(name: str, ntype: int, desc: bytes) -> bytes:
    raw = name.encode() + b"\0"
    pad = lambda b: b + bytes(-len(b) % 4)
    return struct.pack("<III", len(raw), len(desc), ntype) + pad(raw) + pad(desc)


def prstatus(pid: int, **regs: int) -> bytes:
    names = ("r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs "
             "rflags rsp ss fs_base gs_base ds es fs gs").split()
    desc = bytearray(336)
    struct.pack_into("<i", desc, 32, pid)
    struct.pack_into("<27Q", desc, 112, *(regs.get(n, 0) for n in names))
    return bytes(desc)


VMCOREINFO_TEXT = (b"OSRELEASE=6.1.0-test\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)=ffffffff82a0a000\n"
                   b"NUMBER(phys_base)=-538968064\nKERNELOFFSET=2d400000\nCRASHTIME=1700000000\n")
NOTES = (note("CORE", 1, prstatus(7, rip=0xffffffff81000000, rsp=0x1000))
         + note("CORE", 1, prstatus(0, rip=0xffffffff81000010))
         + note("VMCOREINFO", 0, VMCOREINFO_TEXT))

FLAGS = {"raw": 0, "zlib": 1, "lzo": 2, "snappy": 4, "zstd": 0x20}


def compress(data: bytes, method: str) -> bytes:
    if method == "zlib":
        return zlib.compress(data)
    if method == "lzo":
        from lzallright import LZOCompressor
        return LZOCompressor().compress(data)
    if method == "snappy":
        import cramjam
        return bytes(cramjam.snappy.compress_raw(data))
    if method == "zstd":
        import cramjam
        return bytes(cramjam.zstd.compress(data))
    return data


def page_of(pfn: int) -> bytes:
    """Recognisable, compressible content for a PFN."""
    return (f"page {pfn:#x} ".encode() * 1000)[:PAGE]


def build_kdump(pages: dict[int, bytes], *, max_mapnr: int = 64, excluded: tuple[int, ...] = (),
                version: int = 6, method: str = "zlib", status: int = 0, notes: bytes = NOTES,
                split: tuple[int, int] | None = None, nodename: str = "testhost") -> bytes:
    """A kdump-compressed file holding ``pages`` (pfn -> 4096 bytes).

    All-zero pages share one descriptor, as makedumpfile does.  ``split`` makes
    one part of a split dump holding the pages of ``[start, end)``.
    """
    start, end = split or (0, max_mapnr)
    ram = set(pages) | set(excluded)
    dumpable = sorted(p for p in pages if start <= p < end)
    bitmap_bytes = -(-max_mapnr // 8)
    bitmap_blocks = 2 * -(-bitmap_bytes // PAGE)
    vmci = VMCOREINFO_TEXT
    sub_len = 104
    note_off = PAGE + sub_len
    vmci_off = note_off + len(notes)
    sub_hdr_size = -(-(sub_len + len(notes) + len(vmci)) // PAGE)

    def bitmap(pfns: set[int]) -> bytes:
        b = bytearray(bitmap_blocks // 2 * PAGE)
        for p in pfns:
            b[p >> 3] |= 1 << (p & 7)
        return bytes(b)

    data_off = (1 + sub_hdr_size + bitmap_blocks) * PAGE
    pos = data_off + 24 * len(dumpable)
    descs, blobs, zero_desc = [], [], None
    for pfn in dumpable:
        content = pages[pfn]
        if not any(content) and zero_desc is not None:
            descs.append(zero_desc)
            continue
        packed = compress(content, method)
        flags = FLAGS[method]
        if len(packed) >= PAGE:
            packed, flags = content, 0
        desc = struct.pack("<qIIQ", pos, len(packed), flags, 0)
        if not any(content):
            zero_desc = desc
        descs.append(desc)
        blobs.append(packed)
        pos += len(packed)

    uts = b"".join(s.encode().ljust(65, b"\0") for s in
                   ("Linux", nodename, "6.1.0-test", "#1 SMP", "x86_64", "(none)"))
    header = struct.pack("<8si390s6xqqIiiIIIIIIi", b"KDUMP   ", version, uts, 1700000000, 500000,
                         FLAGS[method] | status, PAGE, sub_hdr_size, bitmap_blocks,
                         max_mapnr & 0xFFFFFFFF, 0, 0, 0, 0, 2)
    sub = struct.pack("<QiiQQqQqQqQQQQ", (-0x20200000) & (2**64 - 1), 31, int(split is not None),
                      start, end, vmci_off, len(vmci), note_off, len(notes), 0, 0, start, end, max_mapnr)
    out = bytearray(header.ljust(PAGE, b"\0"))
    out += (sub + notes + vmci).ljust(sub_hdr_size * PAGE, b"\0")
    out += bitmap(ram) + bitmap(set(dumpable))
    assert len(out) == data_off
    out += b"".join(descs) + b"".join(blobs)
    return bytes(out)


def flatten(dump: bytes, seed: int = 0) -> bytes:
    """A makedumpfile -F stream writing ``dump`` in shuffled, overlapping records."""
    rng = random.Random(seed)
    records, pos = [], 0
    while pos < len(dump):
        n = rng.randint(1, 3000)
        records.append((pos, dump[pos:pos + n]))
        pos += n
    rng.shuffle(records)
    # a stale record overwritten later: stream order matters
    records.insert(0, (0, b"\xff" * 100))
    out = bytearray(struct.pack(">16sqq", b"makedumpfile", 1, 1).ljust(4096, b"\0"))
    for off, data in records:
        out += struct.pack(">qq", off, len(data)) + data
    out += struct.pack(">qq", -1, 0)
    return bytes(out)


def build_elf(loads: list[tuple[int, bytes, int]], notes: bytes = NOTES, *,
              machine: int = 62, etype: int = 4, cls: int = 2) -> bytes:
    """An ELF core: ``loads`` are (paddr, file data, memsz)."""
    phnum = 1 + len(loads)
    pos = 64 + 56 * phnum
    phdrs = [struct.pack("<IIQQQQQQ", 4, 0, pos, 0, 0, len(notes), len(notes), 0)]
    pos += len(notes)
    for paddr, data, memsz in loads:
        phdrs.append(struct.pack("<IIQQQQQQ", 1, 7, pos if data else 0, 0xffff888000000000 + paddr,
                                 paddr, len(data), memsz, 0))
        pos += len(data)
    ident = b"\x7fELF" + bytes([cls, 1, 1]) + bytes(9)
    ehdr = struct.pack("<16sHHIQQQIHHHHHH", ident, etype, machine, 1, 0, 64, 0, 0, 64, 56, phnum, 64, 0, 0)
    return ehdr + b"".join(phdrs) + notes + b"".join(d for _, d, _ in loads)


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


STANDARD_PAGES = {1: page_of(1), 2: page_of(2), 3: bytes(PAGE), 5: bytes(PAGE), 6: page_of(6),
                  7: bytes(PAGE), 40: page_of(40)}
STANDARD_EXCLUDED = (4, 8, 9)


# ---------------------------------------------------------------- kdump-compressed

@pytest.mark.parametrize("version", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("method", ["zlib", "raw"])
def test_kdump_versions(tmp_path: Path, version: int, method: str) -> None:
    path = write(tmp_path, "vmcore", build_kdump(STANDARD_PAGES, excluded=STANDARD_EXCLUDED,
                                                 version=version, method=method))
    with open_dump(path) as dump:
        assert dump.format_name == ("kdump-compressed (zlib)" if method == "zlib"
                                    else "kdump-compressed (uncompressed)")
        h = dump.header
        assert (h.header_version, h.nr_cpus, h.utsname["nodename"]) == (version, 2, "testhost")
        assert h.timestamp == 1700000000.5 and h.phys_base == -0x20200000 and not h.incomplete
        assert h.dump_level == 31
        assert dump.max_pfn == 64 and dump.page_size == 4096
        for pfn, content in STANDARD_PAGES.items():
            assert dump.read(pfn * PAGE, PAGE) == content
        assert dump.read(2 * PAGE + 4000, 200) == page_of(2)[4000:] + bytes(104)
        with pytest.raises(PageExcluded) as err:
            dump.read(3 * PAGE + 10, PAGE)
        assert err.value.address == 4 * PAGE
        with pytest.raises(PageNotInDump) as err2:
            dump.read(20 * PAGE + 8, 8)
        assert not isinstance(err2.value, PageExcluded) and err2.value.address == 20 * PAGE + 8
        with pytest.raises(PageNotInDump):
            dump.read(1000 * PAGE, 1)
        assert dump.ranges() == [(PAGE, 10 * PAGE), (40 * PAGE, 41 * PAGE)]
        assert dump.is_readable(PAGE) and not dump.is_readable(4 * PAGE) and not dump.is_readable(0)
        dump.zero_excluded = True
        assert dump.read(4 * PAGE, PAGE) == bytes(PAGE) and dump.is_readable(4 * PAGE)
        # notes from v4, VMCOREINFO text from v3
        assert len(dump.prstatus) == (2 if version >= 4 else 0)
        if version >= 3:
            assert dump.vmcoreinfo is not None and dump.vmcoreinfo.osrelease == "6.1.0-test"
        else:
            assert dump.vmcoreinfo is None


@pytest.mark.parametrize("method", ["lzo", "snappy", "zstd"])
def test_kdump_other_compressions(tmp_path: Path, method: str) -> None:
    path = write(tmp_path, "vmcore", build_kdump(STANDARD_PAGES, method=method))
    with open_dump(path) as dump:
        assert dump.header.compression == method
        assert dump.format_name == f"kdump-compressed ({method})"
        for pfn, content in STANDARD_PAGES.items():
            assert dump.read(pfn * PAGE, PAGE) == content


def test_kdump_zero_pages_share_one_descriptor(tmp_path: Path) -> None:
    raw = build_kdump(STANDARD_PAGES)
    path = write(tmp_path, "vmcore", raw)
    with open_dump(path) as dump:
        assert isinstance(dump, KdumpDump)
        descs = [dump._descriptor(pfn, pfn * PAGE) for pfn in (3, 5, 7)]
        assert descs[0] == descs[1] == descs[2]
        assert all(dump.read(pfn * PAGE, PAGE) == bytes(PAGE) for pfn in (3, 5, 7))


def test_kdump_notes_and_registers(tmp_path: Path) -> None:
    with open_dump(write(tmp_path, "vmcore", build_kdump(STANDARD_PAGES))) as dump:
        pr = dump.prstatus
        assert [p.index for p in pr] == [0, 1] and [p.pid for p in pr] == [7, 0]
        assert pr[0].regs["rip"] == 0xffffffff81000000 and pr[0].regs["rsp"] == 0x1000
        assert list(pr[0].regs)[:3] == ["r15", "r14", "r13"] and len(pr[0].regs) == 27
        vi = dump.vmcoreinfo
        assert vi is not None
        assert vi.symbol("swapper_pg_dir") == 0xffffffff82a0a000
        assert vi.number("phys_base") == -538968064 and vi.kerneloffset == 0x2d400000
        assert dump.xen is None and dump.qemu_cpus == []


def test_kdump_incomplete_and_damaged_pages(tmp_path: Path) -> None:
    raw = bytearray(build_kdump(STANDARD_PAGES, status=0x8))
    data_off = (1 + 1 + 2) * PAGE
    # descriptor of pfn 1 (index 0): data offset 0 = missing; pfn 2 (index 1): garbage data
    struct.pack_into("<q", raw, data_off, 0)
    off2, size2, _, _ = struct.unpack_from("<qIIQ", raw, data_off + 24)
    raw[off2:off2 + size2] = b"\x78\x9c" + b"\x00" * (size2 - 2)
    # cut the file inside the data of the last page (pfn 40)
    last_off, _, _, _ = struct.unpack_from("<qIIQ", raw, data_off + 24 * 6)
    path = write(tmp_path, "vmcore", bytes(raw[:last_off + 3]))
    with open_dump(path) as dump:
        assert dump.header.incomplete
        with pytest.raises(PageNotInDump, match="missing"):
            dump.read(PAGE, 8)
        with pytest.raises(PageNotInDump, match="corrupt page data"):
            dump.read(2 * PAGE + 100, 8)
        with pytest.raises(PageNotInDump, match="beyond the end of the file") as err:
            dump.read(40 * PAGE + 100, 8)
        assert err.value.address == 40 * PAGE + 100
        assert not dump.is_readable(40 * PAGE)
        assert dump.read(6 * PAGE, PAGE) == page_of(6)
        dump.zero_excluded = True
        assert dump.read(PAGE, 8) == bytes(8)


def test_kdump_page_of_wrong_length(tmp_path: Path) -> None:
    raw = bytearray(build_kdump({1: page_of(1)}))
    data_off = 4 * PAGE
    small = zlib.compress(b"x" * 100)
    struct.pack_into("<qIIQ", raw, data_off, data_off + 24, len(small), 1, 0)
    raw[data_off + 24:data_off + 24 + len(small)] = small
    with open_dump(write(tmp_path, "vmcore", bytes(raw))) as dump:
        with pytest.raises(PageNotInDump, match="100 bytes"):
            dump.read(PAGE, 1)


def test_kdump_big_pfns_need_v6(tmp_path: Path) -> None:
    pages = {0x2_0000: page_of(0x2_0000)}
    path = write(tmp_path, "vmcore", build_kdump(pages, max_mapnr=0x2_0001))
    with open_dump(path) as dump:
        assert dump.max_pfn == 0x2_0001
        assert dump.read(0x2_0000 * PAGE, PAGE) == pages[0x2_0000]


# ---------------------------------------------------------------- flattened, xz, split

def test_flattened_is_rearranged_once(tmp_path: Path) -> None:
    raw = build_kdump(STANDARD_PAGES, excluded=STANDARD_EXCLUDED)
    path = write(tmp_path, "vmcore.flat", flatten(raw))
    with open_dump(path) as dump:
        assert dump.header.wrappers == ("flattened",)
        assert dump.path == path and dump.format_name == "kdump-compressed (zlib)"
        assert all(dump.read(p * PAGE, PAGE) == c for p, c in STANDARD_PAGES.items())
    cached = list((tmp_path / "cache" / "xcrash" / "derived").iterdir())
    assert len(cached) == 1 and cached[0].read_bytes() == raw
    with open_dump(path):
        assert list((tmp_path / "cache" / "xcrash" / "derived").iterdir()) == cached


def test_flattened_elf(tmp_path: Path) -> None:
    raw = build_elf([(0x1000, page_of(1), PAGE)])
    with open_dump(write(tmp_path, "vmcore.flat", flatten(raw, seed=3))) as dump:
        assert dump.format_name == "ELF" and dump.read(0x1000, PAGE) == page_of(1)


def test_flattened_damaged(tmp_path: Path) -> None:
    flat = flatten(build_kdump(STANDARD_PAGES))
    with pytest.raises(BadDump, match="no end marker"):
        open_dump(write(tmp_path, "a", flat[:-16]))
    with pytest.raises(BadDump, match="record data"):
        open_dump(write(tmp_path, "b", flat[:-30]))
    bad = bytearray(flat)
    struct.pack_into(">q", bad, 4096, 1 << 50)
    with pytest.raises(BadDump, match="damaged flattened record"):
        open_dump(write(tmp_path, "c", bytes(bad)))
    struct.pack_into(">16sqq", bad, 0, b"makedumpfile", 1, 2)
    with pytest.raises(BadDump, match="version 2"):
        open_dump(write(tmp_path, "d", bytes(bad)))
    assert not [p for p in (tmp_path / "cache" / "xcrash" / "derived").iterdir()]


def test_xz_dump(tmp_path: Path) -> None:
    raw = build_kdump(STANDARD_PAGES)
    packed = lzma.compress(raw, format=lzma.FORMAT_XZ)
    path = write(tmp_path, "vmcore.xz", packed)
    with open_dump(path) as dump:
        assert dump.header.wrappers == ("xz",)
        assert dump.read(PAGE, PAGE) == page_of(1)
    # two concatenated streams with padding, and xz of a flattened file
    with open_dump(write(tmp_path, "two.xz", lzma.compress(raw[:5000]) + bytes(8)
                         + lzma.compress(raw[5000:]))) as dump:
        assert dump.read(40 * PAGE, PAGE) == page_of(40)
    with open_dump(write(tmp_path, "flat.xz", lzma.compress(flatten(raw)))) as dump:
        assert dump.header.wrappers == ("xz", "flattened")
    with pytest.raises(BadDump, match="truncated xz"):
        open_dump(write(tmp_path, "cut.xz", packed[:len(packed) // 2]))
    with pytest.raises(BadDump, match="corrupt xz"):
        open_dump(write(tmp_path, "bad.xz", packed[:12] + bytes(200) + packed[212:]))
    with pytest.raises(BadDump, match="inside its xz"):
        open_dump(write(tmp_path, "text.xz", lzma.compress(b"hello world")))


def _split_parts(tmp_path: Path) -> list[str]:
    pages = {1: page_of(1), 2: bytes(PAGE), 31: page_of(31), 32: page_of(32), 34: bytes(PAGE),
             60: page_of(60)}
    return [write(tmp_path, f"part{i}", build_kdump(pages, excluded=(30, 33), split=rng))
            for i, rng in enumerate([(0, 32), (32, 64)])]


def test_split_dump(tmp_path: Path) -> None:
    parts = _split_parts(tmp_path)
    for order in (parts, parts[::-1]):
        with open_dump(*order) as dump:
            assert dump.header.split_parts == 2 and len(dump.prstatus) == 2
            assert dump.read(31 * PAGE, 2 * PAGE) == page_of(31) + page_of(32)
            with pytest.raises(PageExcluded):
                dump.read(30 * PAGE, 1)
            with pytest.raises(PageExcluded):
                dump.read(33 * PAGE, 1)
            assert dump.read(60 * PAGE, PAGE) == page_of(60)
            assert dump.read(34 * PAGE, PAGE) == bytes(PAGE)
            dump.zero_excluded = True
            assert dump.read(32 * PAGE, 2 * PAGE) == page_of(32) + bytes(PAGE)
            assert dump.is_readable(30 * PAGE) and dump.is_readable(60 * PAGE)
            assert dump.ranges() == [(PAGE, 3 * PAGE), (30 * PAGE, 35 * PAGE), (60 * PAGE, 61 * PAGE)]


def test_split_dump_errors(tmp_path: Path) -> None:
    parts = _split_parts(tmp_path)
    with pytest.raises(BadDump, match="one part of a split dump"):
        open_dump(parts[1])
    with pytest.raises(BadDump, match="overlap"):
        open_dump(parts[0], parts[0])
    thirds = [write(tmp_path, f"third{i}", build_kdump({1: page_of(1)}, split=rng))
              for i, rng in enumerate([(0, 20), (20, 40), (40, 64)])]
    with pytest.raises(BadDump, match="incomplete: no file given holds PFNs 0x14-0x27"):
        open_dump(thirds[0], thirds[2])
    with pytest.raises(BadDump, match="incomplete: no file given holds PFNs 0x28-0x3f"):
        open_dump(thirds[1], thirds[0])
    whole = write(tmp_path, "whole", build_kdump(STANDARD_PAGES))
    with pytest.raises(BadDump, match="not a part of a split dump"):
        open_dump(parts[0], whole)
    other = write(tmp_path, "other", build_kdump({1: page_of(1)}, split=(32, 64), nodename="elsewhere"))
    with pytest.raises(BadDump, match="same split dump"):
        open_dump(parts[0], other)
    with pytest.raises(BadDump, match="no such file"):
        open_dump(parts[0], str(tmp_path / "part-missing"))
    with pytest.raises(BadDump, match="cannot be part of a split"):
        open_dump(parts[0], write(tmp_path, "elf", build_elf([(0, page_of(0), PAGE)])))


# ---------------------------------------------------------------- ELF

def test_elf_segments(tmp_path: Path) -> None:
    loads = [
        (0x1000, page_of(1) + page_of(2), 4 * PAGE),     # pages 3-4 only in memsz: zeros
        (0x10000, b"", 2 * PAGE),                          # nothing in the file: zeros
        (0x20000, page_of(0x20) + page_of(0x21), 2 * PAGE),
        (0x20800, page_of(0x99)[:PAGE], PAGE),            # overlaps the one before: it wins
        (0x22000, page_of(0x22), PAGE),                    # adjacent: reads cross segments
    ]
    path = write(tmp_path, "vmcore", build_elf(loads))
    with open_dump(path) as dump:
        assert dump.format_name == "ELF" and not dump.header.incomplete
        assert dump.read(0x1000, 2 * PAGE) == page_of(1) + page_of(2)
        assert dump.read(0x2f00, 0x200) == page_of(2)[-0x100:] + bytes(0x100)
        assert dump.read(0x10000, 2 * PAGE) == bytes(2 * PAGE)
        assert dump.read(0x20800, 0x100) == page_of(0x20)[0x800:0x900]
        assert dump.read(0x21000, 2 * PAGE) == page_of(0x21) + page_of(0x22)
        with pytest.raises(PageNotInDump) as err:
            dump.read(0x4f00, 0x200)
        assert err.value.address == 0x5000
        with pytest.raises(PageNotInDump):
            dump.read(0, 1)
        with pytest.raises(PageNotInDump):
            dump.read(0x23000, 1)
        assert dump.ranges() == [(0x1000, 0x5000), (0x10000, 0x12000), (0x20000, 0x23000)]
        assert dump.is_readable(0x11000) and not dump.is_readable(0x12000)
        assert dump.max_pfn == 0x23
        assert dump.vmcoreinfo is not None
        assert dump.prstatus[0].pid == 7 and dump.vmcoreinfo.osrelease == "6.1.0-test"
        assert dump.read(0x1000, 0) == b""


def test_elf_truncated_data(tmp_path: Path) -> None:
    raw = build_elf([(0x1000, page_of(1) + page_of(2), 2 * PAGE)])
    with open_dump(write(tmp_path, "vmcore", raw[:-PAGE - 10])) as dump:
        assert dump.header.incomplete
        assert dump.read(0x1000, PAGE - 10) == page_of(1)[:-10]
        with pytest.raises(PageNotInDump, match="truncated") as err:
            dump.read(0x1000, 2 * PAGE)
        assert err.value.address == 0x2000 - 10
        assert not dump.is_readable(0x2000) and dump.ranges() == [(0x1000, 0x3000)]


def test_elf_pn_xnum(tmp_path: Path) -> None:
    raw = bytearray(build_elf([(0x1000, page_of(1), PAGE)]))
    shoff = len(raw)
    raw += struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 2, 0, 0)
    struct.pack_into("<Q", raw, 40, shoff)          # e_shoff
    struct.pack_into("<HHH", raw, 56, 0xFFFF, 64, 1)  # e_phnum = PN_XNUM, e_shentsize, e_shnum
    with open_dump(write(tmp_path, "vmcore", bytes(raw))) as dump:
        assert dump.read(0x1000, PAGE) == page_of(1)


@pytest.mark.parametrize("kwargs, message", [
    ({"machine": 183}, "foreign architecture: AArch64"),
    ({"machine": 3, "cls": 1}, "foreign architecture: i386"),
    ({"etype": 2}, "not a core dump"),
    ({"cls": 1}, "not 64-bit"),
])
def test_elf_rejected(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(BadDump, match=message):
        open_dump(write(tmp_path, "vmcore", build_elf([(0, page_of(0), PAGE)], **kwargs)))


def test_elf_without_memory(tmp_path: Path) -> None:
    with pytest.raises(BadDump, match="no memory"):
        open_dump(write(tmp_path, "vmcore", build_elf([])))


# ---------------------------------------------------------------- notes

def test_xen_notes(tmp_path: Path) -> None:
    strings = b".5\0\0cs\0\0gcc 12\0\0Thu\0"     # at paddr 0x1000 + 0, 4, 8, 16
    memory = strings.ljust(PAGE - 2, b"\0") + b"12:34\0"   # the last one crosses a page
    info = struct.pack("<10Q", 4, 17, 0x1000, 0x1004, 0x1008, 0x1010, 0x1ffe, 0, 0x3f800000, 0x3d700)
    regs = [struct.pack("<4Q", 0x80050033, 0, 0x3f366000, 0x152660), bytes(32)]
    notes = (note("CORE", 1, bytes(336)) + note("Xen", 0x1000002, regs[0])
             + note("Xen", 0x1000001, info)
             + note("CORE", 1, bytes(336)) + note("Xen", 0x1000002, regs[1])
             + note("VMCOREINFO_XEN", 0,
                    b"PAGESIZE=4096\nSYMBOL(domain_list)=ffff82d0405ac400\n".ljust(4068, b"\0")))
    path = write(tmp_path, "vmcore", build_elf([(0x1000, memory.ljust(2 * PAGE, b"\0"), 2 * PAGE)], notes))
    with open_dump(path) as dump:
        xen = dump.xen
        assert xen is not None and xen.vmcoreinfo is not None
        assert xen.version == "4.17.5" and (xen.major_version, xen.minor_version) == (4, 17)
        assert xen.strings == {"extra_version": ".5", "changeset": "cs", "compiler": "gcc 12",
                               "compile_date": "Thu", "compile_time": "12:34"}
        assert xen.xen_phys_start == 0x3f800000 and xen.dom0_p2m_frame_list_list == 0x3d700
        assert xen.tainted == 0
        assert [r.cr3 for r in xen.cpu_regs] == [0x3f366000, 0] and not xen.cpu_regs[1].saved
        assert xen.vmcoreinfo.symbol("domain_list") == 0xffff82d0405ac400
        assert dump.vmcoreinfo is None
        assert [p.empty for p in dump.prstatus] == [True, True]
    # the 72-byte (9 words) note of older Xen: no xen_phys_start
    old = note("Xen", 0x1000001, info[:64] + struct.pack("<Q", 0x1234))
    with open_dump(write(tmp_path, "old", build_elf([(0x1000, bytes(PAGE), PAGE)], old))) as dump:
        assert dump.xen is not None
        assert dump.xen.xen_phys_start is None and dump.xen.dom0_p2m_frame_list_list == 0x1234
        assert dump.xen.version == "4.17"   # the version string's page is all zero


def test_qemu_note(tmp_path: Path) -> None:
    desc = bytearray(440)
    struct.pack_into("<II", desc, 0, 1, 440)
    struct.pack_into("<18Q", desc, 8, *range(1, 19))                   # rax..r15, rip, rflags
    struct.pack_into("<IIIIQ", desc, 8 + 18 * 8, 0x10, 0xffffffff, 0xa09b, 0, 0)   # cs
    struct.pack_into("<5Q", desc, 392, 0x80050033, 0, 0x7ff000, 0x1234000, 0x3606f0)
    struct.pack_into("<Q", desc, 432, 0xffff888007a00000)
    notes = note("CORE", 1, prstatus(1)) + note("QEMU", 0, bytes(desc))
    with open_dump(write(tmp_path, "vmcore", build_elf([(0, bytes(PAGE), PAGE)], notes))) as dump:
        (cpu,) = dump.qemu_cpus
        assert cpu.version == 1 and cpu.regs["rax"] == 1 and cpu.regs["r15"] == 16
        assert cpu.regs["rip"] == 17 and cpu.regs["rflags"] == 18
        assert cpu.segments["cs"].selector == 0x10 and cpu.segments["cs"].flags == 0xa09b
        assert cpu.cr3 == 0x1234000 and cpu.kernel_gs_base == 0xffff888007a00000


def test_damaged_notes_lose_their_tail(tmp_path: Path) -> None:
    notes = note("CORE", 1, prstatus(5)) + struct.pack("<III", 5, 1 << 30, 1) + b"CORE\0\0\0\0"
    with open_dump(write(tmp_path, "vmcore", build_elf([(0, bytes(PAGE), PAGE)], notes))) as dump:
        assert [p.pid for p in dump.prstatus] == [5]


def test_vmcoreinfo_parsing() -> None:
    vi = VmcoreInfo(b"OSRELEASE=6.1\njunk line\n=novalue\nSYMBOL(x)=ffffffff81000000\n"
                    b"SYMBOL(bad)=zz\nNUMBER(n)=-129\nNUMBER(h)=0x10\nOFFSET(page.lru)=8\n"
                    b"SIZE(page)=64\nLENGTH(mem_section)=2048\nCONFIG_X=y\nBUILD-ID=ABCD\n"
                    b"CRASHTIME=1\nCRASHTIME=2\n\0SYMBOL(after_nul)=1\n")
    assert vi.osrelease == "6.1" and vi.symbol("x") == 0xffffffff81000000
    assert vi.symbol("bad") is None and vi.symbol("missing") is None
    assert vi.number("n") == -129 and vi.number("h") == 16
    assert vi.offset("page", "lru") == 8 and vi.size("page") == 64 and vi.length("mem_section") == 2048
    assert vi.get("CONFIG_X") == "y" and vi.build_id == "abcd" and vi.crashtime == 2
    assert "SYMBOL(after_nul)" not in vi and "junk line" not in vi
    assert len(vi.items()) == 11


# ---------------------------------------------------------------- not dumps

def test_bad_files(tmp_path: Path) -> None:
    cases = {
        str(tmp_path / "missing"): "no such file",
        write(tmp_path, "empty", b""): "empty file",
        str(tmp_path): "a directory with no dump file",
        write(tmp_path, "text", b"hello, world\n" * 100): "not a dump file",
        write(tmp_path, "kdump-short", b"KDUMP   " + bytes(100)): "truncated: kdump header",
        write(tmp_path, "elf-short", b"\x7fELF\x02\x01\x01"): "truncated: ELF header",
        write(tmp_path, "diskdump", b"DISKDUMP" + bytes(PAGE)): "legacy diskdump",
    }
    for path, message in cases.items():
        with pytest.raises(BadDump, match=message) as err:
            open_dump(path)
        assert str(err.value).startswith(path) and "\n" not in str(err.value)
    v7 = bytearray(build_kdump(STANDARD_PAGES))
    struct.pack_into("<i", v7, 8, 7)
    with pytest.raises(BadDump, match="version 7"):
        open_dump(write(tmp_path, "v7", bytes(v7)))
    raw = build_kdump(STANDARD_PAGES)
    with pytest.raises(BadDump, match="truncated: page bitmaps"):
        open_dump(write(tmp_path, "cut", raw[:3 * PAGE]))


def test_reads_are_traced(tmp_path: Path) -> None:
    with open_dump(write(tmp_path, "vmcore", build_kdump(STANDARD_PAGES))) as dump:
        with trace.recording() as events:
            dump.read(PAGE + 8, 16)
        assert [(e.kind, e.what) for e in events] == [("read", "phys 0x1008 +16")]


# ---------------------------------------------------------------- damaged headers (property tests)

EXPECTED = (BadDump, PageNotInDump)
_KDUMP = build_kdump(STANDARD_PAGES, excluded=STANDARD_EXCLUDED)
_ELF = build_elf([(0x1000, page_of(1) + page_of(2), 4 * PAGE), (0x10000, b"", PAGE),
                  (0x1800, page_of(9), PAGE)])


def exercise(path: str) -> None:
    """Everything a caller may do with a dump; only typed errors may come out."""
    try:
        dump = open_dump(path)
    except BadDump as e:
        assert "\n" not in str(e)
        return
    with dump:
        dump.ranges()
        _ = dump.prstatus, dump.vmcoreinfo, dump.xen, dump.qemu_cpus      # each parsed
        for zero in (False, True):
            dump.zero_excluded = zero
            for pfn in list(range(12)) + [16, 40, 64, dump.max_pfn]:
                dump.is_readable(pfn * PAGE)
                try:
                    dump.read(pfn * PAGE - 8, PAGE)
                except PageNotInDump:
                    pass


_VALUES = [struct.pack("<q", v) for v in (0, 1, -1, 7, 0x1000, 2**31, 2**32 + 1, 2**62, -2**63)]


def mutations(spans: list[tuple[int, int]]) -> st.SearchStrategy:
    """Edits aimed at the header fields in ``spans``, and a length to cut the file to."""
    where = st.one_of(*(st.integers(a, b - 1) for a, b in spans))
    what = st.one_of(st.binary(min_size=1, max_size=8),
                     st.sampled_from(_VALUES).flatmap(lambda v: st.sampled_from([v, v[:4], v[:2]])))
    return st.tuples(st.lists(st.tuples(where, what), min_size=1, max_size=6), st.integers(0, 1 << 16))


def _mutate(base: bytes, edits: list[tuple[int, bytes]], cut: int) -> bytes:
    data = bytearray(base)
    for off, blob in edits:
        data[off:off + len(blob)] = blob
    return bytes(data[:max(cut, 1)])


def _fuzz(tmp: Path, name: str, data: bytes) -> None:
    path = tmp / name
    path.write_bytes(data)
    exercise(str(path))


_fuzz_settings = settings(max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])


@_fuzz_settings
@given(m=mutations([(0, 464), (PAGE, PAGE + 104 + len(NOTES)), (2 * PAGE, 2 * PAGE + 8),
                    (3 * PAGE, 3 * PAGE + 8), (4 * PAGE, 4 * PAGE + 24 * 7)]))
def test_damaged_kdump_raises_only_typed_errors(tmp_path: Path, m) -> None:
    edits, cut = m
    _fuzz(tmp_path, "kdump", _mutate(_KDUMP, edits, cut if cut % 3 == 0 else len(_KDUMP)))


@_fuzz_settings
@given(m=mutations([(0, 64), (64, 64 + 56 * 4), (64 + 56 * 4, 64 + 56 * 4 + len(NOTES))]))
def test_damaged_elf_raises_only_typed_errors(tmp_path: Path, m) -> None:
    edits, cut = m
    _fuzz(tmp_path, "elf", _mutate(_ELF, edits, cut if cut % 3 == 0 else len(_ELF)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**16), m=mutations([(0, 32), (4096, 4096 + 200)]))
def test_damaged_flattened_raises_only_typed_errors(tmp_path: Path, seed: int, m) -> None:
    edits, cut = m
    flat = flatten(_KDUMP, seed)
    # records start at 4096: mutate the header and the first records
    _fuzz(tmp_path, f"flat{seed}", _mutate(flat, edits, cut if cut % 2 else len(flat)))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600))
def test_notes_and_vmcoreinfo_never_fail(blob: bytes) -> None:
    from xcrash.dump.notes import parse_notes, prstatus_notes, qemu_notes, xen_notes
    notes = parse_notes(blob) + parse_notes(note("Xen", 0x1000001, blob[:90]) + note("QEMU", 0, blob))
    prstatus_notes(notes), xen_notes(notes, lambda a: None), qemu_notes(notes)
    VmcoreInfo(blob).items()


# ---------------------------------------------------------------- the cache

def test_cache_keys_by_source_version(tmp_path: Path) -> None:
    from xcrash import cache
    src = tmp_path / "src"
    src.write_bytes(b"one")
    first = cache.derived_file(str(src), "copy", lambda out: out.write(src.read_bytes()))
    assert first.read_bytes() == b"one"
    assert cache.derived_file(str(src), "copy", lambda out: 1 / 0) == first   # not produced again
    src.write_bytes(b"two!")
    os.utime(src, ns=(0, 10**9))
    second = cache.derived_file(str(src), "copy", lambda out: out.write(src.read_bytes()))
    assert second != first and second.read_bytes() == b"two!"
    with pytest.raises(ZeroDivisionError):
        cache.derived_file(str(src), "other", lambda out: 1 / 0)
    assert sorted(p.name for p in first.parent.iterdir()) == sorted([first.name, second.name])


def test_unwritable_cache_is_a_bad_dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    path = write(tmp_path, "vmcore.xz", lzma.compress(build_kdump(STANDARD_PAGES)))
    with pytest.raises(BadDump, match="cannot write the unpacked copy to the cache"):
        open_dump(path)


def test_split_parts_on_the_command_line(tmp_path: Path) -> None:
    """`xcrash part1 part2 [symbols]`: kdump files after the first are its other
    parts, as crash takes them; sys names each part (DUMPFILES)."""
    import subprocess
    import sys
    parts = _split_parts(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "xcrash", "-s", "-c", "sys", *parts],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"   DUMPFILES: {parts[0]} [PARTIAL DUMP]\n              {parts[1]} [PARTIAL DUMP]" \
        in proc.stdout
    crash_order = subprocess.run([sys.executable, "-m", "xcrash", "-s", "-c", "sys", parts[1], parts[0]],
                                 capture_output=True, text=True, timeout=120)
    assert crash_order.returncode == 0 and "DUMPFILES" in crash_order.stdout
    alone = subprocess.run([sys.executable, "-m", "xcrash", "-s", "-c", "sys", parts[0]],
                           capture_output=True, text=True, timeout=120)
    assert alone.returncode == 2 and "open it together with all its parts" in alone.stderr


def test_vmcoreinfo_value_that_does_not_parse_is_absent_and_said() -> None:
    from xcrash.dump.vmcoreinfo import VmcoreInfo
    info = VmcoreInfo("OSRELEASE=6.1.0\nKERNELOFFSET=zz\nNUMBER(phys_base)=12\n")
    assert info.kerneloffset is None and info.number("phys_base") == 12
    assert info.problems == ["VMCOREINFO KERNELOFFSET=zz is not a hexadecimal number: ignored"]
