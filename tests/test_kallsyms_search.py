"""kallsyms found by searching the kernel image, for kernels whose VMCOREINFO does not say
where it is (before Linux 6.0).

On the real 6.1 sample the VMCOREINFO lines are hidden: the search must find the very
tables VMCOREINFO names, and the session must equal the one given the vmlinux.  A stock
Debian 5.10 dump (no kallsyms in its VMCOREINFO at all) is one more case of the same
tests when it is in sample-dumps/.  Synthetic images lay the tables out as each era of
scripts/kallsyms.c did."""
from __future__ import annotations

import struct

import pytest

from conftest import SAMPLES, open_sample, present, sample_manifest
from xcrash.dump.vmcoreinfo import VmcoreInfo
from xcrash.api import Session
from xcrash.targets.linux.fromdump import (
    SEARCHED,
    NoKallsyms,
    kallsyms_locations,
    searched_locations,
    symbols_from_vmcoreinfo,
)

#: VMCOREINFO's lines that say where kallsyms is (Linux 6.0 on)
KALLSYMS_LINES = "SYMBOL(kallsyms_"


def _cases() -> list:
    """The sample dumps to search: the 6.1 one with its kallsyms lines hidden, and every
    stock Debian 5.10 dump there is (their VMCOREINFO has none)."""
    man = sample_manifest()
    return [pytest.param("linux-sysrq", id="linux-sysrq-6.1-lines-hidden")] + [
        pytest.param(name, id=name) for name in sorted(man["dumps"])
        if name.startswith("debian-5.10-")]


def _hidden(vi: VmcoreInfo) -> VmcoreInfo:
    return VmcoreInfo("\n".join(line for line in vi.text.splitlines()
                                if not line.startswith(KALLSYMS_LINES)))


def _dump_file(name: str) -> str:
    return str(SAMPLES / sample_manifest()["dumps"][name]["files"][0]["path"])


@pytest.fixture(scope="module", params=_cases())
def searched(request: pytest.FixtureRequest):
    """(sample name, its dump, VMCOREINFO as written, VMCOREINFO without the kallsyms
    lines, the symbol file made by searching)."""
    from xcrash.dump import open_dump
    from xcrash.targets.linux.fromdump import image_reader, phys_base
    dump = open_dump(_dump_file(request.param))
    vi = dump.vmcoreinfo
    hidden = _hidden(present(vi))
    symfile = symbols_from_vmcoreinfo(hidden, image_reader(dump, phys_base(hidden)), cached=False)
    yield request.param, dump, vi, hidden, symfile
    dump.close()


def test_the_search_finds_the_tables_vmcoreinfo_names(searched) -> None:
    from xcrash.targets.linux.fromdump import image_reader, phys_base
    _, dump, vi, hidden, symfile = searched
    assert symfile.kallsyms_origin == SEARCHED
    if vi.get("SYMBOL(kallsyms_names)") is None:
        pytest.skip("this kernel's VMCOREINFO does not name its tables")
    found = searched_locations(hidden, image_reader(dump, phys_base(hidden)))
    assert found[0] == kallsyms_locations(vi)


def test_the_symbols_found_are_the_vmlinux_symbols(searched) -> None:
    from xcrash.symbols import open_symbol_file
    name, _, vi, _, symfile = searched
    vmlinux = open_symbol_file(str(SAMPLES / sample_manifest()["dumps"][name]["kernel"]["vmlinux"]))
    table = vmlinux.symbols
    mine = list(symfile.symbols)
    assert len(mine) > 20000
    missing = [s for s in mine if not any(t.address == s.address for t in table.lookup_all(s.name))]
    assert not missing, missing[:5]


@pytest.mark.parametrize("command", ["ps", "bt -a", "log", "sym jiffies"])
def test_the_session_equals_the_vmlinux_session(searched, command: str, monkeypatch) -> None:
    """The dump opened alone, its VMCOREINFO without kallsyms lines: the same output as
    with its vmlinux."""
    import xcrash
    import xcrash.dump
    name, _, _, _, _ = searched
    opener = xcrash.dump.open_dump

    def without_lines(*paths: str):
        dump = opener(*paths)
        dump.vmcoreinfo = _hidden(present(dump.vmcoreinfo))
        return dump
    monkeypatch.setattr(xcrash.dump, "open_dump", without_lines)
    session = _alone.get(name) or _alone.setdefault(
        name, xcrash.open(_dump_file(name), find_symbols=False))
    assert any("kallsyms (" in m and f"symbols, {SEARCHED})" in m for m in session.messages)
    mine, theirs = session.run(command).splitlines(), open_sample(name).run(command).splitlines()
    assert len(mine) == len(theirs)
    for got, want in zip(mine, theirs):
        if got != want:
            _same_frame_by_an_alias(session, got, want)


def _same_frame_by_an_alias(session: Session, got: str, want: str) -> None:
    """kallsyms cannot tell an assembler function from a label at its address
    (asm_call_on_stack, asm_call_sysvec_on_stack): a frame may be named by another of
    the names at its address, and nothing else may differ."""
    import re
    frame = re.compile(r"^( ?#\d+ \[[0-9a-f]+\]) (\S+) at ([0-9a-f]+)(.*)$")
    g, w = frame.match(got), frame.match(want)
    assert g and w, (got, want)
    assert (g[1], g[3], g[4]) == (w[1], w[3], w[4]), (got, want)
    symbols = session.current.symbols
    assert symbols is not None
    theirs, ours = symbols.get(w[2]), symbols.get(g[2])
    assert theirs is not None and ours is not None and theirs.address == ours.address, (got, want)


_alone: dict[str, Session] = {}


# -- synthetic images: each era's layout ---------------------------------------------------
BASE = 0xFFFFFFFF81000000


def _tables(layout: str, count: int = 700) -> tuple[bytes, int, list[tuple[str, int]]]:
    """A kernel image (at BASE) holding kallsyms tables laid out as ``layout`` says:
    ``old``/``new`` order (before/after 6.4), ``a4`` 4-byte alignment (7.x), ``m8``
    8-byte markers and count, ``seqs`` a seqs_of_names table, the address encoding
    (``absolute``, ``percpu``, ``relative``, ``place``), ``long`` names of 200
    characters (two-byte lengths)."""
    flags = set(layout.split("-"))
    align = 4 if "a4" in flags else 8
    wide = "m8" in flags
    names = [("T_stext", BASE)] + [
        (("t" if i % 3 else "D") + (f"{'x' * 190}_{i:05d}" if "long" in flags and i % 7 == 0
                                    else f"sym_{i:05d}"), BASE + 0x40 * (i + 1))
        for i in range(count - 1)]
    if "percpu" in flags:
        names.insert(0, ("Afixed_percpu_data", 0))
    used = sorted({c for n, _ in names for c in n.encode()})
    tokens = [bytes([c]) if c in used else b"~" + bytes([65 + c % 26]) for c in range(256)]
    blob = bytearray()
    starts = []
    for name, _ in names:
        starts.append(len(blob))
        length = len(name)
        blob += bytes([length & 0x7F | 0x80, length >> 7]) if length > 127 else bytes([length])
        blob += name.encode()
    markers = [starts[i] for i in range(0, len(names), 256)]
    table = b"".join(t + b"\0" for t in tokens)
    index, pos = [], 0
    for t in tokens:
        index.append(pos)
        pos += len(t) + 1
    image = bytearray(b"\x90\xcc" * 0x8000)         # text before the tables
    where: dict[str, int] = {}

    def place(label: str, data: bytes) -> None:
        image.extend(bytes(-len(image) % align))
        where[label] = BASE + len(image)
        image.extend(data)

    n = len(names)
    seqs = b"".join(struct.pack(">I", i)[1:] for i in range(n))
    addrs = [a for _, a in names]

    def address_table() -> None:
        if "absolute" in flags:
            place("addresses", struct.pack(f"<{n}Q", *addrs))
            return
        size = 4 * n
        image.extend(bytes(-len(image) % align))
        at = BASE + len(image)
        if "place" in flags:
            offs = [a - (at + 4 * i) for i, a in enumerate(addrs)]
        elif "percpu" in flags:
            offs = [a if a < 0x100000 else BASE - 1 - a for a in addrs]
        else:
            offs = [a - BASE for a in addrs]
        place("offsets", struct.pack(f"<{n}i", *offs))
        assert len(struct.pack(f"<{n}i", *offs)) == size
        if "place" not in flags:
            place("relative_base", struct.pack("<Q", BASE))

    if "old" in flags:
        address_table()
    place("num_syms", struct.pack("<Q" if wide else "<I", n))
    place("names", bytes(blob))
    place("markers", struct.pack(f"<{len(markers)}{'Q' if wide else 'I'}", *markers))
    if "seqs" in flags and "old" in flags:
        place("seqs", seqs)
    place("token_table", table)
    place("token_index", struct.pack("<256H", *index))
    if "new" in flags:
        address_table()
        if "seqs" in flags:
            place("seqs", seqs)
    place("data", b"\x5a" * 0x3000)                 # .data after the tables
    return bytes(image), where["data"], [(n[1:], a) for n, a in names]


LAYOUTS = ["old-m8-percpu", "old-m8-absolute", "old-seqs-percpu", "old-relative-long",
           "new-seqs-relative", "new-absolute", "new-a4-seqs-place", "new-a4-place-long"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_era_of_the_tables_is_found(layout: str) -> None:
    image, end, names = _tables(layout)

    def read(address: int, size: int) -> bytes:
        off = address - BASE
        return image[off:off + size].ljust(size, b"\0")
    vi = VmcoreInfo(f"OSRELEASE=5.10.0\nSYMBOL(_stext)={BASE:x}\nSYMBOL(init_uts_ns)={end:x}\n")
    symfile = symbols_from_vmcoreinfo(vi, read)
    assert symfile.kallsyms_origin == SEARCHED
    assert [(s.name, s.address) for s in symfile.symbols] == names


def test_an_image_without_tables_says_a_vmlinux_is_needed() -> None:
    image = bytes(range(256)) * 0x400

    def read(address: int, size: int) -> bytes:
        off = address - BASE
        return image[off:off + size].ljust(size, b"\0")
    vi = VmcoreInfo(f"OSRELEASE=5.10.0\nSYMBOL(_stext)={BASE:x}\n"
                    f"SYMBOL(init_uts_ns)={BASE + len(image):x}\n")
    with pytest.raises(NoKallsyms, match=r"VMCOREINFO has no SYMBOL\(kallsyms_num_syms\).*"
                       r"no kallsyms tables were found in the kernel image by their "
                       r"structure: give the kernel's vmlinux$"):
        symbols_from_vmcoreinfo(vi, read)


def test_the_table_and_btf_are_kept_by_build_id(tmp_path, monkeypatch) -> None:
    """A second opening of the same build reads the decoded kallsyms and the parsed BTF
    from the symbol cache: nothing is searched, decoded or parsed again."""
    from xcrash.dump import open_dump
    from xcrash.symbols import btf, kallsyms
    from xcrash.targets.linux import fromdump
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with open_dump(_dump_file("linux-sysrq")) as dump:
        vi = _hidden(present(dump.vmcoreinfo))
        read = fromdump.image_reader(dump, fromdump.phys_base(vi))
        first = symbols_from_vmcoreinfo(vi, read)
        first_btf = present(present(first.btf).find("struct task_struct"))

        def refuse(*args: object, **kwargs: object) -> None:
            raise AssertionError("decoded again")
        for module, name in ((fromdump, "search_kallsyms"), (fromdump, "read_kallsyms"),
                             (kallsyms, "read_kallsyms"), (btf, "parse_btf")):
            monkeypatch.setattr(module, name, refuse)
        monkeypatch.setattr("xcrash.symbols.memfile.parse_btf", refuse)
        again = symbols_from_vmcoreinfo(vi, read)
        assert again.kallsyms_origin == SEARCHED
        assert list(again.symbols) == list(first.symbols)
        again_btf = present(present(again.btf).find("struct task_struct"))
        assert again_btf.byte_size == first_btf.byte_size
    assert sorted(p.name.split(".", 1)[1] for p in (tmp_path / "xcrash" / "symbols").iterdir()) \
        == ["memory-btf.marshal", "memory-kallsyms-2-searched.marshal"]


def test_of_names_at_one_address_the_function_names_it() -> None:
    """kallsyms does not say which name at an address an ELF symbol table types and
    sizes: a function BTF describes is preferred, a section-bound label is not."""
    from xcrash.symbols.kallsyms import KallsymsSymbol
    from xcrash.symbols.memfile import symtab_from_kallsyms
    from xcrash.symbols.symtab import SymbolTable
    at = 0xFFFFFFFF81C00000
    symbols = [KallsymsSymbol("_stext", 0xFFFFFFFF81000000, "T"),
               KallsymsSymbol("__do_softirq", at, "T"),
               KallsymsSymbol("__softirqentry_text_start", at, "T"),
               KallsymsSymbol("__SCT__tp_func_x", at + 0x40, "T"),
               KallsymsSymbol("__static_call_text_start", at + 0x40, "T"),
               KallsymsSymbol("zz_inner_label", at + 0x80, "T"),
               KallsymsSymbol("aa_function", at + 0x80, "T"),
               KallsymsSymbol("_end", at + 0x1000, "B")]

    def named(table: SymbolTable, address: int) -> str:
        hit = table.resolve(address + 4)
        assert hit is not None
        return str(hit[0].name)
    plain = SymbolTable(symtab_from_kallsyms(symbols, 0))
    typed = SymbolTable(symtab_from_kallsyms(symbols, 0, frozenset({"__do_softirq",
                                                                     "aa_function"})))
    assert [named(plain, a) for a in (at, at + 0x40, at + 0x80)] == \
        ["__do_softirq", "__SCT__tp_func_x", "zz_inner_label"]
    assert [named(typed, a) for a in (at, at + 0x40, at + 0x80)] == \
        ["__do_softirq", "__SCT__tp_func_x", "aa_function"]
