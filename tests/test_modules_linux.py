"""Loaded modules: symbol tables, ORC tables, `mod`, and the `sys` facts crash
guesses (HZ, installed memory).  The dumps in CI have no modules (their kernel
has CONFIG_MODULES off), so the module logic is checked on synthetic tables;
the expected `mod` text is crash 8.0.6's on the Debian cloud dump of
bench/make-distro-dump.sh."""
from __future__ import annotations

import struct
from types import SimpleNamespace as NS
from typing import Any

import pytest

from conftest import present, run
from xcrash.errors import NoSuchSymbol, XcrashError
from xcrash.targets.linux import orc
from xcrash.targets.linux.kernelsymbols import KernelSymbols
from xcrash.targets.linux.modules import Module, ModuleSymbol, ModuleTable

TUN_BASE = 0xFFFFFFFFC029A000


def _tun() -> Module:
    m = Module(0xFFFFFFFFC02A6480, "tun", TUN_BASE, 61440,
               [(TUN_BASE, TUN_BASE + 61440), (0xFFFFFFFFC0400000, 0xFFFFFFFFC0401000)])
    m.symbols = [
        ModuleSymbol("tun_net_open", TUN_BASE, 0x40, "t", "tun"),
        ModuleSymbol("tun_do_read", 0xFFFFFFFFC029D0C0, 1854, "t", "tun"),
        ModuleSymbol("tun_chr_read_iter", 0xFFFFFFFFC029D960, 200, "t", "tun"),
        ModuleSymbol("__this_module", 0xFFFFFFFFC02A6480, 896, "d", "tun"),
        ModuleSymbol("tun_init", 0xFFFFFFFFC0400000, 0x100, "t", "tun"),
    ]
    return m


def _virtio() -> Module:
    base = 0xFFFFFFFFC0271000
    m = Module(0xFFFFFFFFC02732C0, "virtio", base, 20480, [(base, base + 20480)])
    m.symbols = [ModuleSymbol("virtio_check_driver_offered_feature", base, 0x50, "T", "virtio"),
                 ModuleSymbol("virtio_dev_match", base + 0x60, 0x40, "t", "virtio")]
    return m


def test_module_table_resolves_addresses_inside_modules_only() -> None:
    table = ModuleTable([_tun(), _virtio()])
    assert [m.name for m in table] == ["virtio", "tun"]                # by base address
    sym, off = present(table.resolve(0xFFFFFFFFC029D66B))
    assert (sym.name, off, sym.module) == ("tun_do_read", 1451, "tun")
    assert present(table.resolve(0xFFFFFFFFC02A6488))[0].name == "__this_module"
    assert present(table.resolve(0xFFFFFFFFC0400010))[0].name == "tun_init"     # init region
    assert table.resolve(0xFFFFFFFFC0271000 + 20480) is None           # past virtio's end
    assert table.resolve(0xFFFFFFFFC0500000) is None
    assert present(table.module_at(0xFFFFFFFFC0271010)).name == "virtio"
    assert present(table.get("tun_chr_read_iter")).address == 0xFFFFFFFFC029D960
    assert table.get("no_such_symbol") is None


def test_kernel_symbols_consult_modules_where_vmlinux_has_none() -> None:
    vm_sym = NS(name="schedule", address=0xFFFFFFFF87411400, size=0x200, type_char="T")
    calls = []

    def base_resolve(addr):
        if vm_sym.address <= addr < vm_sym.address + 0x200:
            return vm_sym, addr - vm_sym.address
        if addr >= 0xFFFFFFFFC0000000:       # a size-less vmlinux symbol "covers" everything
            return NS(name="_end", address=0xFFFFFFFF89000000, size=0, type_char="B"), 1
        return None

    def base_lookup_static(name):
        raise NoSuchSymbol(name)

    base = NS(resolve=base_resolve, lookup_static=base_lookup_static, delta=0x5A00000,
              get=lambda name: None)
    base.__iter__ = None

    def load():
        calls.append(1)
        return ModuleTable([_tun()])

    syms = KernelSymbols(base, load)
    assert syms.delta == 0x5A00000                      # the vmlinux table's attributes
    assert present(syms.resolve(0xFFFFFFFF87411410))[0].name == "schedule"
    assert calls == []                                  # kernel addresses need no module list
    assert present(syms.resolve(0xFFFFFFFFC029D66B))[0].name == "tun_do_read"
    assert present(syms.resolve(0xFFFFFFFFC0700000))[0].name == "_end"   # nothing better: vmlinux's
    assert syms.lookup_static("tun_do_read").module == "tun"
    with pytest.raises(NoSuchSymbol):
        syms.lookup_static("nothing_like_it")
    assert calls == [1]                                 # read once


def test_kernel_symbols_survive_an_unreadable_module_list() -> None:
    def load():
        raise XcrashError("page excluded")
    syms = KernelSymbols(NS(resolve=lambda a: None), load)
    assert syms.resolve(0xFFFFFFFFC029D66B) is None
    assert len(syms.modules) == 0


def _orc_arrays(ips: list[int], base: int, entries: list[tuple[int, int, int, int, int]]):
    """.orc_unwind_ip (self-relative s32) and .orc_unwind (6.1 layout) bytes."""
    raw_ip = b"".join(struct.pack("<i", ip - (base + 4 * i)) for i, ip in enumerate(ips))
    raw = b"".join(struct.pack("<hhH", sp, bp, sp_reg | bp_reg << 4 | typ << 8)
                   for sp, bp, sp_reg, bp_reg, typ in entries)
    return raw_ip, raw


def _no_types(name):
    raise XcrashError(f"no {name}")


def test_module_orc_table_from_dump_arrays() -> None:
    ip_base = 0xFFFFFFFFC02A0000
    ips = [TUN_BASE + 0x3000, TUN_BASE + 0x30C0, TUN_BASE + 0x3700, TUN_BASE + 0x3800]
    entries = [(8, 0, orc.REG_SP, orc.REG_UNDEFINED, 0), (56, -16, orc.REG_SP, orc.REG_PREV_SP, 0),
               (16, -16, orc.REG_BP, orc.REG_PREV_SP, 0), (0, 0, orc.REG_UNDEFINED, 0, 0)]
    raw_ip, raw = _orc_arrays(ips, ip_base, entries)
    target: Any = NS(type=_no_types, symbols=NS(delta=0x5A00000, get=lambda name: None),
                     cache={})                  # a stand-in: what the ORC layout reads
    table = orc.OrcTable(orc._layout(target), raw_ip, ip_base, raw, delta=0)
    e = table.find(0xFFFFFFFFC029D66B - 1)
    assert e is not None
    assert (e.sp_offset, e.sp_reg, e.bp_reg, e.type) == (56, orc.REG_SP, orc.REG_PREV_SP, "call")
    assert present(table.find(TUN_BASE + 0x3700)).sp_reg == orc.REG_BP
    assert table.find(TUN_BASE + 0x2FFF) is None
    # module tables are sorted in place at load time; an unsorted one still works
    order = [2, 0, 3, 1]
    raw_ip2, raw2 = _orc_arrays([ips[i] for i in order], ip_base, [entries[i] for i in order])
    table2 = orc.OrcTable(orc._layout(target), raw_ip2, ip_base, raw2, delta=0)
    assert present(table2.find(0xFFFFFFFFC029D66B - 1)).sp_offset == 56


def test_find_entry_falls_back_to_the_module_of_the_address() -> None:
    ip_base = 0xFFFFFFFFC02A0000
    raw_ip, raw = _orc_arrays([TUN_BASE + 0x30C0, TUN_BASE + 0x3800], ip_base,
                              [(56, -16, orc.REG_SP, orc.REG_PREV_SP, 0),
                               (0, 0, orc.REG_UNDEFINED, 0, 0)])
    tun = _tun()
    tun.orc = (ip_base, ip_base + 0x1000, 2)
    memory = {ip_base: raw_ip, ip_base + 0x1000: raw}
    vmlinux = NS(find=lambda address: None)
    target: Any = NS(type=_no_types, symbols=NS(delta=0, get=lambda name: None),
                     modules=ModuleTable([tun]),
                     space=NS(read=lambda addr, size: memory[addr][:size]),
                     cache={"xcrash.targets.linux.orc.orc_table": vmlinux})
    assert present(orc.find_entry(target, 0xFFFFFFFFC029D66A)).sp_offset == 56
    assert orc.find_entry(target, 0xFFFFFFFF81000000) is None          # no module there


def test_mod_table_as_crash_prints_it() -> None:
    from xcrash.commands.mod import module_lines
    from xcrash.targets.linux.modules import module_entry
    modules = [_virtio(), _tun()]
    modules.insert(0, Module(0xFFFFFFFFC027D000, "virtio_pci_modern_dev", 0xFFFFFFFFC027B000,
                             20480,
                             symbols=[ModuleSymbol("x", 0, 0, "t", "virtio_pci_modern_dev")]))
    mods = [module_entry(m) for m in modules]       # mod's records
    assert module_lines(mods) == [
        "     MODULE       NAME                         BASE         SIZE  OBJECT FILE",
        "ffffffffc027d000  virtio_pci_modern_dev  ffffffffc027b000  20480  (not loaded)  [CONFIG_KALLSYMS]",
        "ffffffffc02732c0  virtio                 ffffffffc0271000  20480  (not loaded)  [CONFIG_KALLSYMS]",
        "ffffffffc02a6480  tun                    ffffffffc029a000  61440  (not loaded)  [CONFIG_KALLSYMS]",
    ]
    assert module_lines(mods[2:], memory_layout=True)[0] == \
        "     MODULE       NAME     TEXT_BASE       SIZE  OBJECT FILE"


def test_sym_names_the_module_as_crash_does() -> None:
    from xcrash.commands.sym import _with_source
    sym = _tun().symbols[1]
    assert _with_source(None, sym, 1451, sym.address + 1451) == \
        "ffffffffc029d66b (t) tun_do_read+1451 [tun] "
    data = _tun().symbols[3]
    assert _with_source(None, data, 0, data.address) == "ffffffffc02a6480 (d) __this_module [tun]"


def test_kernel_without_modules(linux_session) -> None:
    assert run(linux_session, "mod") == "no modules installed"
    assert len(linux_session.current.modules) == 0


def test_installed_memory_is_rounded_up_to_a_near_gigabyte(monkeypatch) -> None:
    from xcrash.targets.linux import sysinfo
    for pages, shown in ((1023.5 * 2**20, "1 GB"), (255.5 * 2**20, "255.5 MB"),
                         (2**30 - 64 * 2**20, "1 GB"), (2**30 - 65 * 2**20, "959 MB"),
                         (4 * 2**30, "4 GB")):
        monkeypatch.setattr(sysinfo, "memory_bytes", lambda target, v=int(pages): v)
        target: Any = None              # memory_bytes, replaced, reads nothing
        installed = sysinfo.installed_memory_bytes(target)
        assert installed is not None and sysinfo.format_size(installed) == shown


def test_hz_from_tick_nsec_without_an_in_kernel_config(monkeypatch) -> None:
    from xcrash.targets.linux import sysinfo
    monkeypatch.setattr(sysinfo, "kernel_config", lambda target: None)

    def target(tick):
        return NS(address_of=lambda name: 0x1000, space=NS(read_u64=lambda addr: tick))
    assert sysinfo.hz(target(4_000_000)) == 250
    assert sysinfo.hz(target(999_848)) == 1000          # NTP-adjusted tick
    assert sysinfo.hz(target(10_000_000)) == 100
    assert sysinfo.hz(target(0)) == 1000                # crash's default


def test_equally_ranked_aliases_resolve_to_the_greatest_name(vmlinux_symbols) -> None:
    """crash sorts symbols of one address by name and names an address inside
    them after the last: equally ranked aliases (__x64_sys_X / __ia32_sys_X)
    resolve the same way."""
    by_address: dict[int, list] = {}
    for s in vmlinux_symbols.symbols:
        if s.type_char == "T" and s.size:
            by_address.setdefault(s.address, []).append(s)
    pairs = [v for v in by_address.values() if len(v) > 1 and len({s.size for s in v}) == 1]
    if not pairs:
        pytest.skip("no equally ranked aliases in this vmlinux")
    for group in pairs[:50]:
        hit = vmlinux_symbols.symbols.resolve(group[0].address + 1)
        assert hit[0].name == max(s.name for s in group)


def test_first_commands_need_no_dwarf(monkeypatch) -> None:
    """sys, ps, bt -a, log and foreach bt use BTF types only: opening DWARF
    (CU headers, byte searches, on a distro vmlinux its 13 s name index) is
    left to the commands that need it."""
    import xcrash
    import xcrash.symbols.symbolfile as sf
    from conftest import LINUX_DIR, need

    def no_dwarf(*args, **kwargs):
        raise AssertionError("DWARF opened")
    monkeypatch.setattr(sf, "DwarfFile", no_dwarf)
    session = xcrash.open(str(need(LINUX_DIR / "vmcore-d31.kdump")),
                          str(need(LINUX_DIR / "vmlinux.xz")))
    for command in ("sys", "ps", "bt -a", "log", "foreach bt", "ps -S"):
        assert run(session, command)
