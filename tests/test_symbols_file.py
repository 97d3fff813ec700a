"""Opening symbol files: errors, the on-disk cache, static data, type names."""
from __future__ import annotations

import lzma
import os
import struct
import time
from pathlib import Path

import pytest

from xcrash.errors import BadSymbolFile, NoSuchType
from xcrash.symbols import AddressNotInFile, Kind, open_symbol_file
from xcrash.symbols.cache import SymbolCache

TEXT, DATA = 0xFFFFFFFF81000000, 0xFFFFFFFF81200000
STT_OBJECT, STT_FUNC, STB_LOCAL, STB_GLOBAL, STB_WEAK = 1, 2, 0, 1, 2


def make_elf(path: Path, *, machine: int = 62, build_id: bytes | None = b"\x12\x34\xab",
             symbols: bool = True) -> Path:
    """A small x86_64 ELF: .text, .data, .bss, .data..percpu, a build-id note, symbols."""
    shstr = b"\0"
    # (name, type, flags, address, size, data, link, entsize)
    sections: list[tuple] = [(0, 0, 0, 0, 0, b"", 0, 0)]

    def name(text: str) -> int:
        nonlocal shstr
        off = len(shstr)
        shstr += text.encode() + b"\0"
        return off

    sections.append((name(".text"), 1, 0x6, TEXT, 16, b"\x90" * 16, 0, 0))
    sections.append((name(".data"), 1, 0x3, DATA, 16, b"Linux version 9\0", 0, 0))
    sections.append((name(".bss"), 8, 0x3, DATA + 0x1000, 0x100, b"", 0, 0))
    sections.append((name(".data..percpu"), 1, 0x3, 0, 0x40, bytes(0x40), 0, 0))
    if build_id is not None:
        note = struct.pack("<III", 4, len(build_id), 3) + b"GNU\0" + build_id + b"\0"
        sections.append((name(".note.gnu.build-id"), 7, 0x2, DATA + 0x2000, len(note), note, 0, 0))
    if symbols:
        strtab = b"\0"
        syms = [bytes(24)]
        for sym_name, value, size, info, shndx in [
                ("start", TEXT, 8, STB_GLOBAL << 4 | STT_FUNC, 1),
                ("helper", TEXT + 8, 8, STB_LOCAL << 4 | STT_FUNC, 1),
                ("linux_banner", DATA, 16, STB_GLOBAL << 4 | STT_OBJECT, 2),
                ("counter.1", DATA + 0x1000, 8, STB_LOCAL << 4 | STT_OBJECT, 3),
                ("weakling", TEXT + 12, 0, STB_WEAK << 4 | STT_FUNC, 1),
                ("cpu_var", 0x10, 8, STB_GLOBAL << 4 | STT_OBJECT, 4)]:
            syms.append(struct.pack("<IBBHQQ", len(strtab), info, 0, shndx, value, size))
            strtab += sym_name.encode() + b"\0"
        strtab_index = len(sections) + 1
        sections.append((name(".symtab"), 2, 0, 0, 24 * len(syms), b"".join(syms),
                         strtab_index, 24))
        sections.append((name(".strtab"), 3, 0, 0, len(strtab), strtab, 0, 0))
    shstr_off = name(".shstrtab")
    sections.append((shstr_off, 3, 0, 0, len(shstr), shstr, 0, 0))
    body = bytearray(64)
    headers = []
    for nm, stype, flags, addr, size, data, link, entsize in sections:
        offset = len(body)
        body += data
        headers.append(struct.pack("<IIQQQQIIQQ", nm, stype, flags, addr, offset if stype else 0,
                                   size, link, 0, 1, entsize))
    shoff = len(body)
    body += b"".join(headers)
    body[:64] = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + bytes(9), 2, machine, 1,
                            0, 0, shoff, 0, 64, 0, 0, 64, len(sections), len(sections) - 1)
    path.write_bytes(bytes(body))
    return path


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "xcrash" / "symbols"


def test_small_elf(tmp_path, private_cache):
    sf = open_symbol_file(str(make_elf(tmp_path / "small")))
    assert (sf.kind, sf.build_id, sf.has_btf, sf.has_dwarf) == ("vmlinux", "1234ab", False, False)
    letters = {s.name: s.type_char for s in sf.symbols}
    assert letters == {"start": "T", "helper": "t", "linux_banner": "D", "counter.1": "b",
                       "weakling": "W", "cpu_var": "D"}
    assert sf.symbols.lookup_static("counter").name == "counter.1"
    assert sf.read_static(DATA, 15) == b"Linux version 9"
    assert sf.read_static(DATA + 0x1010, 8) == bytes(8)                 # .bss
    with pytest.raises(AddressNotInFile):
        sf.read_static(DATA + 0x800, 4)
    assert sf.section_address(".text") == (TEXT, 16)
    text = sf.section(".text")
    assert text is not None and bytes(text) == b"\x90" * 16 and sf.section(".nothing") is None
    view = sf.symbols.relocated(0x1000000)
    assert view.lookup("start").address == TEXT + 0x1000000
    assert view.lookup("cpu_var").address == 0x10 and view.in_percpu_section(view.lookup("cpu_var"))
    assert view.resolve(TEXT + 0x1000000 + 9) == (view.lookup("helper"), 1)
    assert sf.types.get("struct anything") is None
    assert sf.types.find("unsigned long").size == 8                     # made from C's spelling
    assert sf.line_for_address(TEXT) is None and sf.variable_type("linux_banner") is None


def test_kind_without_markers_and_without_build_id(tmp_path, private_cache):
    path = make_elf(tmp_path / "f", build_id=None)
    data = path.read_bytes().replace(b"linux_banner\0", b"other_banner\0")
    path.write_bytes(data)
    sf = open_symbol_file(str(path))
    assert sf.kind == "elf" and sf.build_id is None


@pytest.mark.parametrize("make, problem", [
    (lambda p: p.write_bytes(b"hello, not an elf file at all" * 4), "not an ELF file"),
    (lambda p: p.write_bytes(b"\x7fELF"), "too short"),
    (lambda p: make_elf(p, machine=183), "not x86_64"),
    (lambda p: p.write_bytes(make_elf(p).read_bytes()[:200]), "truncated"),
    (lambda p: make_elf(p, symbols=False), "no symbol table"),
])
def test_bad_files_are_one_line_errors(tmp_path, private_cache, make, problem):
    path = tmp_path / "bad"
    make(path)
    with pytest.raises(BadSymbolFile, match=problem) as info:
        open_symbol_file(str(path))
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_missing_and_corrupt_xz(tmp_path, private_cache):
    with pytest.raises(BadSymbolFile, match="no such file"):
        open_symbol_file(str(tmp_path / "absent"))
    bad = tmp_path / "vmlinux.xz"
    bad.write_bytes(lzma.compress(b"x" * 1000)[:30])
    with pytest.raises(BadSymbolFile, match="xz"):
        open_symbol_file(str(bad))


def test_xz_symbol_file(tmp_path, private_cache):
    elf = make_elf(tmp_path / "small")
    packed = tmp_path / "small.xz"
    packed.write_bytes(lzma.compress(elf.read_bytes()))
    sf = open_symbol_file(str(packed))
    assert sf.path == str(packed) and sf.real_path != str(packed)
    assert sf.symbols.lookup("start").address == TEXT


def test_cache_is_used_validated_and_rebuilt(tmp_path, private_cache):
    path = make_elf(tmp_path / "small")
    open_symbol_file(str(path))
    stored = private_cache / "1234ab.symtab.marshal"
    assert stored.is_file()
    sf = open_symbol_file(str(path))
    assert SymbolCache(sf.elf, sf.build_id).load("symtab") is not None
    stored.write_bytes(b"garbage")                                      # damaged: rebuilt
    assert open_symbol_file(str(path)).symbols.lookup("start").address == TEXT
    assert SymbolCache(sf.elf, sf.build_id).load("symtab") is not None
    # same build-id, different file: the entry is not trusted
    data = bytearray(path.read_bytes())
    data[data.index(b"helper")] = ord("H")
    path.write_bytes(bytes(data))
    os.utime(path, (time.time() + 5, time.time() + 5))
    sf = open_symbol_file(str(path))
    assert sf.symbols.get("Helper") is not None and sf.symbols.get("helper") is None


def test_unwritable_cache_is_not_an_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert open_symbol_file(str(make_elf(tmp_path / "small"))).symbols.get("start")


def test_real_vmlinux(vmlinux_symbols):
    sf = vmlinux_symbols
    assert sf.kind == "vmlinux" and sf.has_btf and sf.has_dwarf
    assert sf.build_id == "3a1fe53b797713bb2fc8b7955ff5be799c025f54"
    banner = sf.symbols.lookup("linux_banner")
    assert sf.read_static(banner.address, banner.size).startswith(b"Linux version 6.1.192")
    start, size = sf.section_address(".BTF")
    assert size == len(sf.section(".BTF"))


@pytest.mark.parametrize("name, shown", [
    ("task_struct", "struct task_struct"), ("struct task_struct", "struct task_struct"),
    ("  struct   pid * ", "struct pid *"), ("unsigned long", "unsigned long"),
    ("long unsigned int", "unsigned long"), ("unsigned", "unsigned int"),
    ("signed char", "signed char"), ("long long unsigned", "unsigned long long"),
    ("const char *", "const char *"), ("char **", "char **"), ("void *", "void *"),
    ("u64", "u64"), ("union rcu_special", "union rcu_special"), ("enum pid_type", "enum pid_type"),
    ("pid_type", "enum pid_type"), ("_Bool", "_Bool"), ("bool", "bool"),
])
def test_type_names_as_users_write_them(vmlinux_symbols, name, shown):
    assert vmlinux_symbols.types.find(name).display_name() == shown


@pytest.mark.parametrize("name", ["struct no_such_struct", "union", "struct a b", "*",
                                  "unsigned float", "char int", "no_such_type_name"])
def test_unknown_type_names(vmlinux_symbols, name):
    with pytest.raises(NoSuchType):
        vmlinux_symbols.types.find(name)


def test_type_names_for_completion(vmlinux_symbols, xen_symbols):
    assert "struct task_struct" in vmlinux_symbols.types.names()
    assert "struct domain" in xen_symbols.types.names()
    assert xen_symbols.types.find("domain").kind is Kind.STRUCT
