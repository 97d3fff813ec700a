"""Dump readers on the shared real dumps (Linux 6.1 sysrq panic; Xen 4.17 hypervisor panic).

The dumps live in ``<clone>/../shared/dumps``; the tests are skipped without them.
The ``.xz`` ELF dumps are opened directly, so their decompression into the
cache is exercised, once per test run, into the run's temporary cache.
"""
from __future__ import annotations

import contextlib
import os
import struct
import time
from pathlib import Path
from collections.abc import Iterator

import pytest

from xcrash.dump import Dump, open_dump
from xcrash.errors import PageExcluded, PageNotInDump

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "dumps"
LINUX = SHARED / "linux-6.1-sysrq"
XEN = SHARED / "xen-4.17-hypervisor-panic"
PAGE = 4096
START_KERNEL_MAP = 0xffffffff80000000


def _need(path: Path) -> str:
    if not path.is_file():
        pytest.skip(f"shared dump {path} not available")
    return str(path)


@contextlib.contextmanager
def cache_home(directory: Path) -> Iterator[None]:
    """XDG_CACHE_HOME pointed at ``directory`` for the duration only."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(directory)
    try:
        yield
    finally:
        if old is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(scope="session")
def dump_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's cache (conftest points XDG_CACHE_HOME at a temporary one), shared with
    other tests that open the same .xz dumps; a private one if none is set."""
    env = os.environ.get("XDG_CACHE_HOME")
    return Path(env) if env else tmp_path_factory.mktemp("xcrash-cache")


def _session_dump(path: str, cache: Path | None = None) -> Iterator[Dump]:
    with cache_home(cache) if cache else contextlib.nullcontext():
        dump = open_dump(path)
    yield dump
    dump.close()


@pytest.fixture(scope="session")
def zlib_dump() -> Iterator[Dump]:
    yield from _session_dump(_need(LINUX / "vmcore-d31.kdump"))


@pytest.fixture(scope="session")
def lzo_dump() -> Iterator[Dump]:
    yield from _session_dump(_need(LINUX / "vmcore-d31.lzo.kdump"))


@pytest.fixture(scope="session")
def d23_dump() -> Iterator[Dump]:
    yield from _session_dump(_need(LINUX / "vmcore-d23.kdump"))


@pytest.fixture(scope="session")
def elf_dump(dump_cache: Path) -> Iterator[Dump]:
    yield from _session_dump(_need(LINUX / "vmcore-d31.elf.xz"), dump_cache)


@pytest.fixture(scope="session")
def xen_dump(dump_cache: Path) -> Iterator[Dump]:
    yield from _session_dump(_need(XEN / "vmcore-d1.elf.xz"), dump_cache)


@pytest.fixture(params=["zlib", "lzo", "d23", "elf"])
def linux_dump(request: pytest.FixtureRequest) -> Dump:
    return request.getfixturevalue(f"{request.param}_dump")


def present_pfns(dump: Dump) -> list[int]:
    return [pfn for pfn in range(dump.max_pfn) if dump.is_readable(pfn * PAGE)]


# ---------------------------------------------------------------- Linux

@pytest.mark.parametrize("name, level, method", [("zlib", 31, "zlib"), ("lzo", 31, "lzo"),
                                                 ("d23", 23, "zlib")])
def test_kdump_header(request: pytest.FixtureRequest, name: str, level: int, method: str) -> None:
    dump = request.getfixturevalue(f"{name}_dump")
    h = dump.header
    assert dump.format_name == f"kdump-compressed ({method})" and h.compression == method
    assert h.utsname["nodename"] == "kdumplab" and h.utsname["release"] == "6.1.192-kdumplab"
    assert h.utsname["machine"] == "x86_64"
    assert (h.header_version, h.dump_level, h.nr_cpus) == (6, level, 2)
    assert h.timestamp == 0x6b07c073 and h.phys_base == -0x20200000
    assert not h.incomplete and h.split_parts == 1 and h.wrappers == ()
    assert dump.max_pfn == 65498


def test_linux_notes(linux_dump: Dump) -> None:
    pr = linux_dump.prstatus
    assert [p.pid for p in pr] == [46, 68]             # lab_busyloop on CPU 0, lab_crasher on CPU 1
    assert pr[1].regs["rip"] >= START_KERNEL_MAP and pr[1].regs["cs"] == 0x10
    vi = linux_dump.vmcoreinfo
    assert vi is not None
    assert vi.osrelease == "6.1.192-kdumplab"
    assert vi.build_id == "3a1fe53b797713bb2fc8b7955ff5be799c025f54"
    assert vi.symbol("swapper_pg_dir") == 0xffffffffaf20a000
    assert vi.number("phys_base") == -538968064 and vi.kerneloffset == 0x2d400000
    assert vi.number("PAGE_BUDDY_MAPCOUNT_VALUE") == -129
    assert vi.offset("page", "_refcount") == 52 and vi.size("page") == 64
    assert vi.length("mem_section") == 2048 and vi.crashtime == 1795670131
    assert linux_dump.xen is None and linux_dump.qemu_cpus == []


def test_linux_uts_name_in_memory(linux_dump: Dump) -> None:
    """VMCOREINFO's init_uts_ns, translated with phys_base, holds the kernel's utsname."""
    vi = linux_dump.vmcoreinfo
    assert vi is not None
    init_uts_ns, phys_base = vi.symbol("init_uts_ns"), vi.number("phys_base")
    name = vi.offset("uts_namespace", "name")
    assert init_uts_ns is not None and phys_base is not None and name is not None
    paddr = (init_uts_ns - START_KERNEL_MAP + phys_base) % 2**64
    raw = linux_dump.read(paddr + name, 6 * 65)
    fields = [raw[i * 65:(i + 1) * 65].split(b"\0")[0] for i in range(6)]
    assert fields[:3] == [b"Linux", b"kdumplab", b"6.1.192-kdumplab"]


def test_linux_pages_agree_across_formats(zlib_dump: Dump, lzo_dump: Dump, elf_dump: Dump,
                                          d23_dump: Dump) -> None:
    pfns = present_pfns(zlib_dump)
    assert len(pfns) > 7000
    assert present_pfns(lzo_dump) == pfns
    for pfn in pfns:
        page = zlib_dump.read(pfn * PAGE, PAGE)
        assert lzo_dump.read(pfn * PAGE, PAGE) == page
        assert elf_dump.read(pfn * PAGE, PAGE) == page
    # -d 23 keeps user pages: a superset of -d 31's pages, with the same content
    more = set(present_pfns(d23_dump))
    assert more > set(pfns)
    for pfn in pfns[::20]:
        assert d23_dump.read(pfn * PAGE, PAGE) == zlib_dump.read(pfn * PAGE, PAGE)


def test_linux_reads_across_pages(zlib_dump: Dump, elf_dump: Dump) -> None:
    pfns = present_pfns(zlib_dump)
    pfn = next(p for p in pfns if p + 1 in set(pfns[:2000]))
    both = zlib_dump.read(pfn * PAGE, 2 * PAGE)
    assert both == zlib_dump.read(pfn * PAGE, PAGE) + zlib_dump.read((pfn + 1) * PAGE, PAGE)
    assert zlib_dump.read(pfn * PAGE + 4000, 200) == both[4000:4200]
    assert elf_dump.read(pfn * PAGE + 4000, 200) == both[4000:4200]


def test_linux_excluded_and_missing(zlib_dump: Dump, d23_dump: Dump) -> None:
    pfns = set(present_pfns(zlib_dump))
    user = min(set(present_pfns(d23_dump)) - pfns)
    with pytest.raises(PageExcluded) as err:
        zlib_dump.read(user * PAGE + 16, 8)
    assert err.value.address == user * PAGE + 16
    zlib_dump.zero_excluded = True
    try:
        assert zlib_dump.read(user * PAGE, PAGE) == bytes(PAGE)
    finally:
        zlib_dump.zero_excluded = False
    for addr in (0xA0000, 0x9000000, 65498 * PAGE, 1 << 40):   # holes and beyond the end
        with pytest.raises(PageNotInDump) as err2:
            zlib_dump.read(addr, 8)
        assert not isinstance(err2.value, PageExcluded)


def test_linux_ranges(zlib_dump: Dump, lzo_dump: Dump, d23_dump: Dump, elf_dump: Dump) -> None:
    ranges = [(0x1000, 0x9f000), (0x100000, 0x8000000), (0xe000000, 0xffda000)]
    assert zlib_dump.ranges() == lzo_dump.ranges() == d23_dump.ranges() == ranges
    # the ELF segments are byte-precise: the first one ends at 0x9fc00
    assert [(a, -(-b // PAGE) * PAGE) for a, b in elf_dump.ranges()] == [(0x1000, 0xa0000)] + ranges[1:]


def test_linux_elf_from_xz(elf_dump: Dump, dump_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert elf_dump.format_name == "ELF" and elf_dump.header.wrappers == ("xz",)
    assert elf_dump.header.phys_base == -0x20200000          # from the kernel-text PT_LOAD
    assert elf_dump.path.endswith("vmcore-d31.elf.xz")
    monkeypatch.setenv("XDG_CACHE_HOME", str(dump_cache))
    cached = sorted((dump_cache / "xcrash" / "derived").iterdir())
    start = time.perf_counter()
    with open_dump(str(LINUX / "vmcore-d31.elf.xz")) as again:
        assert again.vmcoreinfo is not None
        assert again.vmcoreinfo.osrelease == "6.1.192-kdumplab"
    assert time.perf_counter() - start < 1.0          # the cached copy, not a new decompression
    assert sorted((dump_cache / "xcrash" / "derived").iterdir()) == cached


def test_flattened_real_dump(zlib_dump: Dump, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """makedumpfile -F of the zlib dump, written as makedumpfile would (1 MiB records)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    flat = tmp_path / "vmcore.flat"
    with open(LINUX / "vmcore-d31.kdump", "rb") as src, open(flat, "wb") as out:
        out.write(struct.pack(">16sqq", b"makedumpfile", 1, 1).ljust(4096, b"\0"))
        pos = 0
        while chunk := src.read(1 << 20):
            out.write(struct.pack(">qq", pos, len(chunk)) + chunk)
            pos += len(chunk)
        out.write(struct.pack(">qq", -1, 0))
    with open_dump(str(flat)) as dump:
        assert dump.header.wrappers == ("flattened",) and dump.notes == zlib_dump.notes
        for pfn in present_pfns(zlib_dump)[::50]:
            assert dump.read(pfn * PAGE, PAGE) == zlib_dump.read(pfn * PAGE, PAGE)


# ---------------------------------------------------------------- Xen

def test_xen_notes(xen_dump: Dump) -> None:
    xen = xen_dump.xen
    assert xen is not None and xen_dump.vmcoreinfo is None
    assert (xen.major_version, xen.minor_version, xen.extra_version) == (4, 17, ".5")
    assert xen.version == "4.17.5"
    assert xen.strings["compiler"] == "gcc (Debian 12.2.0-14+deb12u1) 12.2.0"
    assert xen.xen_phys_start == 1065353216                 # crash: p xen_phys_start
    assert xen.dom0_p2m_frame_list_list == 0x3d700           # crash: doms P2M_MFN of dom0
    assert [(r.cr0, r.cr3, r.cr4) for r in xen.cpu_regs] == [
        (0x80050033, 0x3f28c000, 0x150660), (0x80050033, 0x3f366000, 0x150660)]
    vi = xen.vmcoreinfo
    assert vi is not None
    assert vi.page_size == 4096 and vi.symbol("domain_list") == 0xffff82d0405ac400
    assert vi.offset("domain", "next_in_list") == 136 and vi.size("domain") == 2432
    pr = xen_dump.prstatus
    assert len(pr) == 2 and {p.pid for p in pr} == {0} and not any(p.empty for p in pr)
    assert all(p.regs["rip"] >> 32 == 0xffff82d0 for p in pr)   # inside the Xen image


def test_xen_memory(xen_dump: Dump) -> None:
    assert xen_dump.format_name == "ELF" and xen_dump.header.wrappers == ("xz",)
    assert xen_dump.header.phys_base is None                  # no kernel-text PT_LOAD on Xen
    assert xen_dump.ranges() == [(0, 0x9fc00), (0x100000, 0x313e4000), (0x3d3e4000, 0x3ffdd000)]
    # a PT_LOAD with nothing in the file (zero pages excluded by -d 1) reads as zeros
    assert xen_dump.read(0x100000, 3 * PAGE) == bytes(3 * PAGE)
    # the crash kernel's reserved memory is not in the dump
    with pytest.raises(PageNotInDump):
        xen_dump.read(0x313e4000, 8)
    # the Xen image at xen_phys_start holds code
    assert xen_dump.xen is not None and xen_dump.xen.xen_phys_start is not None
    assert any(xen_dump.read(xen_dump.xen.xen_phys_start + 0x200000, PAGE))
