"""Address <-> source line against crash's `sym` and `dis -l` on the Linux dump."""
from __future__ import annotations

import os
import re

import pytest

from conftest import crash_ref

LINE = re.compile(r"^(\S+): (\d+)$")
INSN = re.compile(r"^0x([0-9a-f]+) <")


def kaslr_delta(vmlinux_symbols) -> int:
    """From crash's `sym sysrq_handle_crash` (run-time address) and the file."""
    runtime = int(crash_ref("vmcore-d31.kdump", "18-sym").split()[0], 16)
    return runtime - vmlinux_symbols.symbols.lookup("sysrq_handle_crash").address


def test_sym_shows_the_line_of_a_function(vmlinux_symbols):
    ref = crash_ref("vmcore-d31.kdump", "18-sym")      # "... (t) sysrq_handle_crash sysrq.c: 155"
    file_name, line = ref.split()[-2].rstrip(":"), int(ref.split()[-1])
    path, found = vmlinux_symbols.line_for_address(
        vmlinux_symbols.symbols.lookup("sysrq_handle_crash").address)
    assert (os.path.basename(path), found) == (file_name, line)
    assert path.endswith("/drivers/tty/sysrq.c") and os.path.isabs(path)


@pytest.mark.parametrize("ref_name", ["19-dis_l_sysrq_handle_crash", "20-dis_l_panic_20"])
def test_every_instruction_line_of_dis_l(vmlinux_symbols, ref_name):
    delta = kaslr_delta(vmlinux_symbols)
    current = None
    checked = 0
    for text in crash_ref("vmcore-d31.kdump", ref_name).splitlines():
        m = LINE.match(text.strip())
        if m:
            current = (m.group(1), int(m.group(2)))
            continue
        m = INSN.match(text)
        if m:
            path, line = vmlinux_symbols.line_for_address(int(m.group(1), 16) - delta)
            assert (os.path.basename(path), line) == current, text
            checked += 1
    assert checked >= 2


def test_addresses_for_a_line(vmlinux_symbols):
    start = vmlinux_symbols.symbols.lookup("sysrq_handle_crash").address
    assert start in vmlinux_symbols.addresses_for_line("drivers/tty/sysrq.c", 155)
    assert start in vmlinux_symbols.addresses_for_line("sysrq.c", 155)
    assert vmlinux_symbols.addresses_for_line("no_such_file.c", 1) == []


def test_no_line_outside_code(vmlinux_symbols):
    assert vmlinux_symbols.line_for_address(0x1000) is None
    jiffies = vmlinux_symbols.symbols.lookup("jiffies").address
    assert vmlinux_symbols.line_for_address(jiffies) is None


def test_xen_lines(xen_symbols):
    path, line = xen_symbols.line_for_address(xen_symbols.symbols.lookup("__start_xen").address)
    assert path.endswith("/xen/arch/x86/setup.c") and line > 0
