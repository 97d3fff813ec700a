"""Xen's own symbol table, read from the dump: the hypervisor target without xen-syms.

Xen links a compressed symbol table into its image to name its own backtraces
(symbols/xensyms.py finds it by its structure and decodes it).  The hypervisor
target made from it must answer as the symbols-only path answers (an ELF xen-syms
without DWARF): on xen-debian against Debian's -dbg xen-syms, on xen-own against
its xen-syms stripped of its DWARF.  The sessions here hold the hypervisor target
alone (the guests are test_dump_only_xen.py's), one pair per sample."""
from __future__ import annotations

import re
import shutil
import struct
import subprocess

import pytest

from conftest import SAMPLES, sample_manifest

SAMPLE_NAMES = ("xen-debian", "xen-own")
#: where the two sessions must agree: every pCPU's trace and its variants, the vCPU and
#: pCPU lists, known symbols, the functions of the crashing pCPU's trace
COMMANDS = ("vcpus", "pcpus", "doms", "bt -a", "bt -a -F", "bt -a -t", "bt -r", "bt -s -x",
            "sym do_softirq", "sym __start_xen", "sym idle_loop", "sym 0xffff82d040230421",
            "dis kexec_crash", "dis do_crashdump_trigger", "dis handle_keypress",
            "dis do_sysctl", "dis pv_hypercall", "dis do_nmi_crash", "dis idle_loop",
            "dis -r default_idle+198", "rd -s cpu0_stack 16")


@pytest.fixture(scope="module", params=SAMPLE_NAMES)
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """(own table's session, ELF symbols-only session, the own symbol file, the ELF
    symbol file) of one sample dump, opened once."""
    from xcrash.api import Session
    from xcrash.dump import open_dump
    from xcrash.symbols import open_symbol_file
    from xcrash.targets.xen.hypervisor import XenTarget
    from xcrash.targets.xen.ownsyms import own_symbols
    entry = sample_manifest()["dumps"][request.param]
    dump = open_dump(str(SAMPLES / entry["files"][0]["path"]))
    own = own_symbols(dump, cached=False)
    elf = open_symbol_file(str(SAMPLES / entry["xen"]["xen_syms"]))
    if elf.has_dwarf:
        objcopy = shutil.which("objcopy")
        if objcopy is None:
            pytest.skip("objcopy is not installed")
        stripped = tmp_path_factory.mktemp("xen") / "xen-syms"
        subprocess.run([objcopy, "--strip-debug", elf.real_path, str(stripped)], check=True)
        elf = open_symbol_file(str(stripped))
    sessions = [Session(dump, [], {"xen": XenTarget.from_dump(dump, sf)}, "xen")
                for sf in (own, elf)]
    return sessions[0], sessions[1], own, elf


@pytest.mark.parametrize("command", COMMANDS)
def test_the_dump_alone_answers_as_the_symbols_only_xen_syms(pair, command: str) -> None:
    alone, with_elf, _, _ = pair
    assert alone.run(command) == with_elf.run(command), command


def test_uptime_and_machine_without_dwarf_are_the_dwarf_answers(pair) -> None:
    """UPTIME (per_cpu(cpu_time) at its fixed offset) and MACHINE (cpu_data's model after
    its vendor string) without types equal what xen-own's DWARF reads (crash: unknown)."""
    import xcrash

    def facts(text: str) -> dict[str, str]:
        return {k: v for k, v in re.findall(r"^\s*([A-Z]+): (.*)$", text, re.M)
                if k in ("UPTIME", "MACHINE")}
    alone, with_elf, _, _ = pair
    entry = sample_manifest()["dumps"]["xen-own"]
    typed = xcrash.open(str(SAMPLES / entry["files"][0]["path"]), str(SAMPLES / entry["xen"]["xen_syms"]),
                        target="xen", memory_symbols=False)
    want = facts(typed.run("sys"))
    assert want["MACHINE"].startswith("QEMU TCG CPU") and want["UPTIME"] == "00:00:25"
    if alone.dump.path == typed.dump.path:
        assert facts(alone.run("sys")) == facts(with_elf.run("sys")) == want
    else:           # the other sample: the same machine, booted for as long
        assert facts(alone.run("sys")) == facts(with_elf.run("sys"))
        assert facts(alone.run("sys"))["MACHINE"] == want["MACHINE"]


def test_every_symbol_of_the_elf_table_but_the_absolute_ones(pair) -> None:
    """The same names at the same addresses, with nm's letters; the table leaves out
    only the absolute symbols (xen/tools/symbols.c keeps none of them)."""
    _, _, own, elf = pair
    mine = {(s.name, s.address, s.type_char) for s in own.symbols}
    theirs = {(s.name, s.address, s.type_char) for s in elf.symbols}
    assert mine <= theirs
    assert sorted(s[0] for s in theirs - mine) == ["FIXADDR_X_SIZE", "start_pa"]
    assert len(own.symbols) == len(elf.symbols) - 2 == own.count
    text = own.symbols.get("_stext").address, own.symbols.get("_etext").address
    for name in ("do_softirq", "idle_loop", "kexec_crash"):
        sym = own.symbols.get(name)
        assert sym.type_char in "tT" and text[0] <= sym.address < text[1], name
    assert own.symbols.get("__start_xen").address >= own.symbols.get("_sinittext").address


def test_functions_end_where_the_elf_says(pair) -> None:
    """Without sizes in the table, a function reaches to the next symbol less its
    padding: the ELF size of nearly every C function (the rest: an ud2 that VMX's
    inline assembly puts after the function, a byte).  .init.text is left out: freed
    after boot, it reads as zeros."""
    _, _, own, elf = pair
    text = elf.symbols.get("_stext").address, elf.symbols.get("_etext").address
    sized = {(s.name, s.address): s.size for s in elf.symbols
             if s.type_char in "tT" and s.size and text[0] <= s.address < text[1]}
    mine = {(s.name, s.address): s.size for s in own.symbols if (s.name, s.address) in sized}
    exact = sum(mine[k] == v for k, v in sized.items())
    assert exact >= 0.95 * len(sized), (exact, len(sized))


def test_the_decoded_table_is_kept_by_build_id(pair) -> None:
    from xcrash.targets.xen.ownsyms import describe, own_symbols
    alone, _, own, _ = pair
    assert own.build_id and not own.cached and "decoded in" in describe(own)
    own_symbols(alone.dump)                         # stored (if the cache was cold)
    again = own_symbols(alone.dump)
    assert again.cached and describe(again) == f"{len(own.symbols)} symbols, from the symbol cache"
    assert [tuple(s) for s in again.symbols] == [tuple(s) for s in own.symbols]


def test_a_table_of_text_symbols_only_is_not_used(pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """Xen built without CONFIG_LIVEPATCH keeps only its text symbols: no stack_base,
    idle_vcpu or per-CPU offsets, which the target reads; the table is declined (the
    session then has VMCOREINFO_XEN's facts and a machine target)."""
    from xcrash.targets.xen import ownsyms
    found = ownsyms.find_xen_symbols

    def text_only(*args, **kwargs):
        symbols, where = found(*args, **kwargs)
        return [s for s in symbols if s.letter in "tT"], where
    monkeypatch.setattr(ownsyms, "find_xen_symbols", text_only)
    with pytest.raises(ownsyms.NoOwnSymbols, match="names no stack_base, idle_vcpu, "
                       r"__per_cpu_offset \(text symbols only: a build without CONFIG_LIVEPATCH"):
        ownsyms.own_symbols(pair[0].dump, cached=False)


def test_types_are_said_to_need_dwarf(pair) -> None:
    """What needs Xen's types says so in one line, as on the symbols-only path."""
    from xcrash.errors import XcrashError
    alone, with_elf, _, _ = pair
    for command, what in (("vcpu", "vcpu"), ("domain 0", "domain")):
        with pytest.raises(XcrashError) as err:
            alone.run(command)
        assert str(err.value) == f"xcrash: {command.split()[0]}: {what} needs Xen's types, " \
            "and the dump's own symbol table has none (give xen-syms with DWARF)"
        with pytest.raises(XcrashError, match="has no DWARF"):
            with_elf.run(command)


def test_xen_4_17_lays_out_domains_and_vcpus_as_ever(pair) -> None:
    from xcrash.targets.xen.domainlist import fixed_layout
    found = fixed_layout(pair[0].targets["xen"])
    assert (found.domain_vcpu_array, found.vcpu_domain, found.source) == (8, 16, "the domain list")


# -- the table's layouts, made up (no dump of Xen 4.21 exists here) ------------------------
ORIGIN = 0xFFFF82D040000000
STEXT = ORIGIN + 0x200000


def _table(symbols: list[tuple[int, str, int | None]], *, ends: bool) -> tuple[bytes, int]:
    """(bytes, address) of a table as xen/tools/symbols.c writes it: Xen 4.17's
    (4-aligned labels) or, with ``ends``, 4.21's (END entries after sized symbols,
    1-aligned tokens, 2-aligned index).  ``symbols``: (address, "T name", size)."""
    tokens = [bytes([i]) if 0x21 <= i < 0x7F else b"~%02x" % i for i in range(256)]
    entries: list[tuple[int, bytes]] = []
    for address, text, size in symbols:
        entries.append((address, text.replace(" ", "").encode()))
        if ends and size:
            entries.append((address + size, b""))
    base = STEXT + 0x180000
    out = bytearray(struct.pack(f"<{len(entries)}I", *(a - ORIGIN for a, _ in entries)))
    out += struct.pack("<I", len(entries))
    markers, names = [], bytearray()
    for i, (_, name) in enumerate(entries):
        if i % 256 == 0:
            markers.append(len(names))
        names += bytes([len(name)]) + name
    out += names
    out += bytes(-len(out) % 4)
    out += struct.pack(f"<{len(markers)}I", *markers)
    if not ends:
        out += bytes(-len(out) % 4)
    if ends:        # an index 2- but not 4-aligned, as 4.21's may be
        tokens[255] += b"x" * ((2 - len(out) - sum(len(t) + 1 for t in tokens)) % 4)
    index, table = [], bytearray()
    for t in tokens:
        index.append(len(table))
        table += t + b"\0"
    out += table
    out += bytes(-len(out) % (2 if ends else 4))
    out += struct.pack("<256H", *index)
    return bytes(out) + bytes(4096), base


@pytest.mark.parametrize("ends", [False, True], ids=["4.17", "4.21"])
def test_a_made_up_table_decodes(ends: bool) -> None:
    from xcrash.symbols.xenmemfile import xen_symtab
    from xcrash.symbols.symtab import SymbolTable
    from xcrash.symbols.xensyms import find_xen_symbols
    symbols: list[tuple[int, str, int | None]] = [(STEXT, "T _stext", None)]
    symbols += [(STEXT + 0x40 * i, f"t common/f{i % 7}.c#fn{i}", 0x20 + i % 8)
                for i in range(1, 700)]
    symbols += [(STEXT + 0x40 * 700, "T _etext", None)]
    blob, base = _table(symbols, ends=ends)
    start = base - 0x10000
    image = bytes(base - start) + blob

    def read(address: int, size: int) -> bytes:
        return image[address - start:address - start + size].ljust(size, b"\0")
    found, where = find_xen_symbols(read, start, base + len(blob), ORIGIN, STEXT)
    assert where.names > base and where.count == len(symbols) + (699 if ends else 0)
    assert [(s.address, s.letter + s.name) for s in found][:3] == [
        (STEXT, "T_stext"), (STEXT + 0x40, "tfn1"), (STEXT + 0x80, "tfn2")]
    assert found[5].file == "common/f5.c" and len(found) == len(symbols)
    table = SymbolTable(xen_symtab(found, (STEXT, STEXT + 0x40 * 700), None))
    # 4.21's END entries are the functions' sizes; before, the next symbol's address
    fn3 = table.lookup("fn3")
    assert fn3.size == (0x23 if ends else 0x40)
    assert table.resolve(STEXT + 0x40 * 3 + 5) == (fn3, 5)


# -- struct domain and struct vcpu as Xen 4.18 and 4.20 moved them, without DWARF ----------
class _Memory:
    """Little-endian words at addresses (anything else reads as zeros)."""

    def __init__(self, words: dict[int, int]) -> None:
        self.words = words

    def read_u64(self, address: int) -> int:
        return self.words.get(address, 0)

    def read_u32(self, address: int) -> int:
        return self.words.get(address, 0) & 0xFFFFFFFF


@pytest.mark.parametrize("array_off, domain_off", [(8, 16), (8, 24), (16, 24)],
                         ids=["4.17", "4.18", "4.20"])
def test_where_a_domain_keeps_its_vcpus_is_found_from_the_domain_list(
        monkeypatch: pytest.MonkeyPatch, array_off: int, domain_off: int) -> None:
    """d->vcpu moved behind unique_id (4.20), v->domain behind vcpu_info_area (4.18):
    the pair that links each domain to its vCPU 0 and back is the one taken."""
    from types import SimpleNamespace

    from xcrash.targets.xen import domainlist
    domains = [0xFFFF830000100000 + 0x10000 * i for i in range(3)]
    words: dict[int, int] = {}
    for i, d in enumerate(domains):
        array, vcpu = d + 0x8000, d + 0x9000
        words.update({d + 4: 1 + i, d + array_off: array, array: vcpu, vcpu + domain_off: d})
        # what the other candidate offsets hold: a vcpu_info pointer, unique_id
        words.setdefault(d + (16 if array_off == 8 else 8), 0x1000 + i)
        words.setdefault(vcpu + (24 if domain_off == 16 else 16), 0xFFFF830000001000)
    monkeypatch.setattr(domainlist, "domain_list", lambda target: iter(domains))
    target = SimpleNamespace(has_types=False, space=_Memory(words), cache={})
    found = domainlist.fixed_layout(target)     # type: ignore[arg-type]
    assert (found.domain_vcpu_array, found.vcpu_domain, found.source) == \
        (array_off, domain_off, "the domain list")
