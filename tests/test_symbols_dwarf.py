"""DWARF: the name index, types against BTF and crash, variable types, xen-syms."""
from __future__ import annotations

import re

import pytest

from conftest import XEN_DIR, crash_ref, need, present
from xcrash.symbols.types import Kind, Type, declaration


def members(t: Type, prefix: str = "") -> list[tuple[str, int, int, str]]:
    """Every member, anonymous ones opened, as (path, bit offset, bit size, declaration)."""
    rows = []
    for m in t.strip_typedefs().members or []:
        rows.append((prefix + (m.name or "<anon>"), m.bit_offset, m.bit_size,
                     declaration(m.type, m.name or "")))
        inner = m.type.strip_typedefs()
        if m.name is None and inner.kind in (Kind.STRUCT, Kind.UNION):
            rows += [(p, off + m.bit_offset, size, d)
                     for p, off, size, d in members(inner, prefix + "<anon>.")]
    return rows


@pytest.fixture(scope="module")
def vmlinux_dwarf(vmlinux_symbols):
    return vmlinux_symbols.dwarf


@pytest.mark.parametrize("name", ["struct task_struct", "struct pid", "struct printk_info",
                                  "struct list_head", "struct rq", "enum pid_type"])
def test_btf_and_dwarf_agree(vmlinux_symbols, vmlinux_dwarf, name):
    from_btf = vmlinux_symbols.btf.find(name)
    from_dwarf = vmlinux_dwarf.find(name)
    assert (from_btf.kind, from_btf.size) == (from_dwarf.kind, from_dwarf.size)
    assert members(from_btf) == members(from_dwarf)
    assert from_btf.enumerators == from_dwarf.enumerators


def test_btf_and_dwarf_agree_on_nearly_every_type(vmlinux_symbols, vmlinux_dwarf):
    """Known differences: BTF flattens multi-dimensional arrays and cannot tell
    ``x[0]`` from ``x[]``; names defined twice differently may pick different ones."""
    btf_types = vmlinux_symbols.btf
    compared = differ = 0
    for name in btf_types.names():
        if not name.startswith(("struct ", "union ")) or name not in vmlinux_dwarf.types:
            continue
        compared += 1
        a, b = btf_types.find(name), vmlinux_dwarf.find(name)
        if a.size != b.size or [r[:3] for r in members(a)] != [r[:3] for r in members(b)]:
            differ += 1
    assert compared > 3500 and differ <= compared // 200


def test_struct_pid_as_crash_shows_it(vmlinux_dwarf):
    ref = crash_ref("vmcore-d31.kdump", "24-whatis_struct_pid")
    expected = [line.strip() for line in ref.splitlines()[1:-2]]
    pid = vmlinux_dwarf.find("struct pid")
    assert [declaration(m.type, m.name) + ";" for m in pid.members] == expected
    assert f"SIZE: {pid.size}" == ref.splitlines()[-1]


def test_dwarf_keeps_array_dimensions(vmlinux_dwarf):
    pmu = vmlinux_dwarf.find("struct x86_hybrid_pmu")
    assert declaration(pmu.member("hw_cache_event_ids")[1].type, "x") == "u64 x[7][3][2]"


def test_variable_types(vmlinux_symbols):
    sf = vmlinux_symbols
    assert present(sf.variable_type("jiffies")).display_name() == "volatile unsigned long"
    init_task = sf.variable_type("init_task")
    assert init_task.name == "task_struct" and init_task.size == 6592
    assert sf.variable_type("runqueues").display_name() == "struct rq"      # BTF per-CPU VAR
    assert sf.variable_type("__per_cpu_offset").display_name() == "unsigned long [8]"
    assert sf.variable_type("linux_banner").display_name() == "const char []"
    assert sf.variable_type("no_such_variable") is None


def test_variable_types_need_no_name_index(vmlinux_symbols, tmp_path, monkeypatch):
    """By address (the symbol's), or by name for linker aliases such as jiffies
    (whose address is jiffies_64's): a byte search, no index built."""
    from xcrash.symbols import open_symbol_file
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))          # no index cached
    sf = open_symbol_file(vmlinux_symbols.real_path)
    assert present(sf.variable_type("jiffies")).display_name() == "volatile unsigned long"
    assert present(sf.variable_type("jiffies_64")).display_name() == "u64"
    assert present(sf.variable_type("init_task")).size == 6592
    assert sf.variable_type("no_such_variable") is None
    assert "index" not in sf.dwarf.__dict__
    _ = present(sf.dwarf).index                                      # built and cached now
    again = open_symbol_file(vmlinux_symbols.real_path)
    assert present(again.variable_type("jiffies")).display_name() == "volatile unsigned long"
    assert "index" in again.dwarf.__dict__                          # answered by the index


def test_function_types(vmlinux_symbols, vmlinux_dwarf):
    assert vmlinux_symbols.function_type("panic").display_name() == "void (const char *, ...)"
    assert vmlinux_dwarf.function_type("panic").display_name() == "void (const char *, ...)"
    assert vmlinux_dwarf.function_type("sysrq_handle_crash").display_name() == "void (int)"


def test_index_holds_types_variables_functions(vmlinux_dwarf):
    index = vmlinux_dwarf
    assert {"struct task_struct", "union rcu_special", "enum pid_type", "pid_t",
            "long unsigned int"} <= set(index.types)
    assert {"jiffies", "init_task", "crashing_cpu"} <= set(index.vars)
    assert {"panic", "sysrq_handle_crash"} <= set(index.funcs)


def test_xen_types_come_from_dwarf(xen_symbols):
    sf = xen_symbols
    assert not sf.has_btf and sf.has_dwarf
    domain = sf.types.find("struct domain")
    assert domain.size == 2432
    text = need(XEN_DIR / "crash-ref" / "xen-syms.vmcore-d1.elf.txt").read_text()
    block = text[text.index("struct domain {\n"):]
    block = block[:block.index("\n}\n")]
    shown = re.findall(r"^  (\w+) = ", block, re.M)
    ours = [m.name for m in domain.members if m.name]
    assert ours == shown
    assert sf.types.find("struct vcpu").member("vcpu_id")[1].type.display_name() == "int"
    assert sf.variable_type("xen_phys_start").display_name() == "unsigned long"
    assert sf.variable_type("idle_vcpu").display_name() == "struct vcpu *[256]"
    assert sf.function_type("__start_xen").kind is Kind.FUNCTION
    assert sf.types.find("domid_t").strip_typedefs().size == 2
