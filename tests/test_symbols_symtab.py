"""The symbol table: System.map as the oracle, KASLR views, address resolution."""
from __future__ import annotations

import pytest

from conftest import LINUX_DIR, need
from xcrash import trace
from xcrash.errors import NoSuchSymbol

# sysrq_handle_crash at its run-time address in the d31 dump (crash-ref 18-sym)
RUNTIME_SYSRQ = 0xFFFFFFFFAE734510


@pytest.fixture(scope="module")
def system_map() -> list[tuple[int, str, str]]:
    rows = []
    for line in need(LINUX_DIR / "System.map").read_text().splitlines():
        addr, letter, name = line.split()
        rows.append((int(addr, 16), letter, name))
    return rows


def test_every_system_map_entry_has_its_address_and_nm_letter(vmlinux_symbols, system_map):
    st = vmlinux_symbols.symbols
    wrong = []
    for addr, letter, name in system_map:
        if not any(s.address == addr and s.type_char == letter for s in st.lookup_all(name)):
            wrong.append((name, hex(addr), letter, st.lookup_all(name)))
    assert not wrong[:10]
    assert len(system_map) > 35000


def test_lookup_get_and_missing(vmlinux_symbols):
    st = vmlinux_symbols.symbols
    sym = st.lookup("sysrq_handle_crash")
    assert (sym.name, sym.address, sym.size, sym.type_char) == (
        "sysrq_handle_crash", 0xFFFFFFFF81334510, 12, "t")
    assert st.get("no_such_symbol_at_all") is None
    with pytest.raises(NoSuchSymbol):
        st.lookup("no_such_symbol_at_all")
    assert "init_task" in st and "sysrq_handle_crash" in st.names()


def test_lookup_records_a_trace_event(vmlinux_symbols):
    with trace.recording() as events:
        vmlinux_symbols.symbols.lookup("jiffies")
    assert [e.kind for e in events] == ["symbol"] and events[0].what == "jiffies"


def test_gcc_suffixed_static_names(vmlinux_symbols):
    st = vmlinux_symbols.symbols
    keys = st.variants("__key")
    assert keys and all(s.name.startswith("__key.") for s in keys)
    # a name that exists only with a suffix is found by lookup_static
    suffixed = next(s for s in st if "." in s.name[1:] and s.name.split(".")[0] not in st)
    base = suffixed.name.split(".")[0]
    assert st.get(base) is None
    assert st.lookup_static(base).name.startswith(base + ".")
    assert st.get(suffixed.name) == suffixed                     # the exact name works too
    assert st.lookup_static("sysrq_handle_crash").name == "sysrq_handle_crash"
    with pytest.raises(NoSuchSymbol):
        st.lookup_static("no_such_symbol_at_all")


def test_resolve_inside_and_between_symbols(vmlinux_symbols):
    st = vmlinux_symbols.symbols
    sym = st.lookup("sysrq_handle_crash")
    assert st.resolve(sym.address) == (sym, 0)
    assert st.resolve(sym.address + 7) == (sym, 7)
    panic = st.lookup("panic")
    assert st.resolve(panic.address + 20)[0].name == "panic"
    assert st.resolve(0x10) is not None                         # per-CPU offset area
    assert st.resolve(0xFFFF800000000000) is None               # no section there


def test_percpu_and_absolute_symbols(vmlinux_symbols):
    st = vmlinux_symbols.symbols
    runqueues = st.lookup("runqueues")
    assert runqueues.address == 0x23380 and st.in_percpu_section(runqueues)
    assert not st.in_percpu_section(st.lookup("jiffies"))
    # __per_cpu_load belongs to .data..percpu by index but is an image address
    assert not st.in_percpu_section(st.lookup("__per_cpu_load"))
    assert st.is_absolute(st.lookup("text_size"))


def test_relocated_view_moves_image_symbols_only(vmlinux_symbols):
    base = vmlinux_symbols.symbols
    delta = RUNTIME_SYSRQ - base.lookup("sysrq_handle_crash").address
    view = base.relocated(delta)
    assert view.lookup("sysrq_handle_crash").address == RUNTIME_SYSRQ
    assert view.lookup("runqueues").address == 0x23380                        # per-CPU
    assert view.lookup("text_size").address == base.lookup("text_size").address  # absolute
    assert view.lookup("__per_cpu_load").address == base.lookup("__per_cpu_load").address + delta
    # absolute symbols with image addresses move, as crash relocates them
    assert view.lookup("init_per_cpu__gdt_page").address == \
        base.lookup("init_per_cpu__gdt_page").address + delta
    sym, off = view.resolve(RUNTIME_SYSRQ + 7)
    assert (sym.name, off) == ("sysrq_handle_crash", 7)
    assert view.resolve(0x23380 + 8)[0].name == "runqueues"
    # the nearest symbol, not the sized one around it: crash's bt shows this frame
    # (13-foreach_bt) as entry_SYSCALL_64_after_hwframe, inside entry_SYSCALL_64
    sym, off = view.resolve(0xFFFFFFFFAEA00126)
    assert (sym.name, off) == ("entry_SYSCALL_64_after_hwframe", 110)
    assert view.resolve(base.lookup("panic").address) is None         # a link-time address
    assert base.lookup("sysrq_handle_crash").address == RUNTIME_SYSRQ - delta   # base unchanged
    assert view._core is base._core                                          # nothing copied


def test_iteration_covers_every_symbol(vmlinux_symbols):
    st = vmlinux_symbols.symbols
    names = [s.name for s in st]
    assert len(names) == len(st) and "init_task" in names


def test_xen_syms_symbols(xen_symbols):
    st = xen_symbols.symbols
    assert xen_symbols.kind == "xen-syms"
    sym = st.lookup("__start_xen")
    assert sym.type_char in "tT" and sym.address >= 0xFFFF82D040000000
    assert st.resolve(sym.address + 1) == (sym, 1)
    assert st.relocated(0).lookup("__start_xen") == sym


@pytest.mark.parametrize("name, shown", [
    ("move_folios_to_lru.isra.0", "move_folios_to_lru"),
    ("intel_pmu_hw_config.part.0", "intel_pmu_hw_config"),
    ("foo.llvm.1234567", "foo"),
    ("do_exit.cold", "do_exit.cold"),
    ("sched_clock_cpu.constprop.0", "sched_clock_cpu.constprop.0"),
    ("schedule", "schedule"),
])
def test_clone_names_shown_as_their_function(name, shown):
    """crash strips GCC's and LLVM's clone marks from text symbols, keeps .cold/.constprop."""
    from xcrash.symbols.symtab import display_name
    assert display_name(name) == shown
