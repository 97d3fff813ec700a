"""No vmlinux needed: a Linux 6.0+ dump opened alone reads its own kallsyms, BTF and ORC.

The proof of issue 15 on a shipped sample: the commands' output with the dump alone
equals their output with the vmlinux, but for what needs DWARF (source lines)."""
from __future__ import annotations

import struct

import pytest

from conftest import REPO
from xcrash.symbols.kallsyms import KallsymsError, KallsymsLocations, read_kallsyms

SYSRQ = REPO / "sample-dumps" / "linux-sysrq" / "vmcore.kdump"
VMLINUX = REPO / "sample-dumps" / "symbols" / "vmlinux-6.1-xcrash.xz"

#: every command family of issue 15's list, and some more
COMMANDS = ["sys", "ps", "bt -a", "foreach bt", "log", "mod", "kmem -i", "kmem -s", "files", "vm",
            "net", "mount", "irq", "timer", "runq", "dev", "sig", "kmem -f", "kmem -v",
            "foreach files", "foreach vm", "net -s", "timer -r", "irq -s", "kmem -n", "ps -t",
            "task", "mach", "bt -f", "dev -i", "struct task_struct.comm,pid init_task",
            "whatis init_task", "p init_uts_ns.name", "p jiffies", "sym jiffies",
            "rd -s linux_banner 4"]


@pytest.fixture(scope="module")
def sessions():
    import xcrash
    return xcrash.open(str(SYSRQ), str(VMLINUX)), xcrash.open(str(SYSRQ), find_symbols=False)


def test_start_up_says_where_the_symbols_come_from(sessions) -> None:
    _, alone = sessions
    assert alone.current.name == "kernel"
    assert any("symbols from the dump: kallsyms (34603 symbols), BTF, ORC" in m
               for m in alone.messages)


@pytest.mark.parametrize("command", COMMANDS)
def test_output_with_the_dump_alone_equals_the_vmlinux_output(sessions, command: str) -> None:
    with_vmlinux, alone = sessions
    expected, got = with_vmlinux.run(command), alone.run(command)
    if command == "sys":        # the KERNEL line names the symbol source
        assert "KERNEL: (the dump: kallsyms, BTF, ORC)" in got
        expected, got = ([line for line in text.splitlines() if "KERNEL:" not in line]
                         for text in (expected, got))
    assert got == expected


def test_what_needs_dwarf_says_so_in_one_line(sessions) -> None:
    from xcrash.errors import CommandError
    _, alone = sessions
    assert "no source lines: (the dump: kallsyms, BTF, ORC) has no DWARF" in \
        alone.run("dis -l sysrq_handle_crash")
    with pytest.raises(CommandError, match=r"unknown type.*cast"):
        alone.run("p sysctl_sched_latency")


def test_what_kallsyms_lacks_is_the_only_difference(sessions) -> None:
    """kallsyms leaves out the compiler's local labels (.LC18: string literals): bt -F
    shows such a word as its value, where the vmlinux names it from the label."""
    with_vmlinux, alone = sessions
    expected, got = with_vmlinux.run("bt -F").splitlines(), alone.run("bt -F").splitlines()
    assert len(expected) == len(got)
    differing = [(e, g) for e, g in zip(expected, got) if e != g]
    assert differing
    for e, g in differing:
        for a, b in zip(e.split(), g.split()):
            assert a == b or a.startswith(".LC") and len(b) == 16 and int(b, 16)


def test_a_function_reaches_to_the_next_symbol(sessions) -> None:
    """kallsyms keeps no sizes: `dis` of a function also shows the alignment padding
    after it, up to the next symbol."""
    with_vmlinux, alone = sessions
    expected = with_vmlinux.run("dis sysrq_handle_crash").splitlines()
    got = alone.run("dis sysrq_handle_crash").splitlines()
    assert got[:len(expected)] == expected
    assert got[len(expected):] and all("nop" in line or "int3" in line
                                       for line in got[len(expected):])


def test_kallsyms_equals_the_vmlinux_symbol_table(sessions) -> None:
    with_vmlinux, alone = sessions
    table = with_vmlinux.current.symbols
    mine = list(alone.current.symbols)
    assert len(mine) == 34603
    for sym in mine:
        assert any(s.address == sym.address for s in table.lookup_all(sym.name)), sym


# -- the four address encodings and the two name-length encodings, on synthetic tables --
def _image(names: list[str], addresses: list[int], encoding: str, long: bool) -> tuple:
    """Lay out kallsyms tables as scripts/kallsyms.c would (one token per character)."""
    tokens = [bytes([i]) if 32 <= i < 127 else b"" for i in range(256)]
    table = b"".join(t + b"\0" for t in tokens)
    index = []
    pos = 0
    for t in tokens:
        index.append(pos)
        pos += len(t) + 1
    blob = bytearray()
    starts = []
    for name in names:
        starts.append(len(blob))
        n = len(name)
        blob += bytes([n & 0x7F | 0x80, n >> 7]) if long and n > 127 else bytes([n])
        blob += name.encode()
    base = 0xFFFFFFFF81000000
    mem: dict[int, bytes] = {}
    at = 0xFFFFFFFF82000000
    loc: dict[str, int | None] = {"offsets": None, "relative_base": None, "addresses": None}
    if encoding == "absolute":
        loc["addresses"] = at
        mem[at] = struct.pack(f"<{len(addresses)}Q", *addresses)
    else:
        loc["offsets"] = at
        if encoding == "place-relative":
            offs = [a - (at + 4 * i) for i, a in enumerate(addresses)]
        elif encoding == "base-relative":
            offs = [a - base for a in addresses]
        else:       # absolute per-CPU
            offs = [a if a < 0x100000 else base - 1 - a for a in addresses]
        mem[at] = struct.pack(f"<{len(offs)}i", *offs)
        if encoding != "place-relative":
            loc["relative_base"] = at + 0x100000
            mem[at + 0x100000] = struct.pack("<Q", base)
    loc.update(num_syms=at + 0x200000, names=at + 0x300000, token_table=at + 0x400000,
               token_index=at + 0x500000)
    mem[at + 0x200000] = struct.pack("<I", len(names))
    mem[at + 0x300000] = bytes(blob) + bytes(1 << 16)
    mem[at + 0x400000] = table
    mem[at + 0x500000] = struct.pack("<256H", *index)

    def read(address: int, size: int) -> bytes:
        for start, data in mem.items():
            if start <= address < start + len(data):
                chunk = data[address - start:address - start + size]
                return chunk + bytes(size - len(chunk))
        raise AssertionError(f"read of {address:#x}")
    return read, KallsymsLocations(**loc)  # type: ignore[arg-type]


@pytest.mark.parametrize("encoding", ["absolute", "base-relative", "absolute-percpu",
                                      "place-relative"])
@pytest.mark.parametrize("long", [False, True])
def test_synthetic_encodings(encoding: str, long: bool) -> None:
    names = ["Afixed_percpu_data", "Tstartup_64", "T_stext", "t" + "x" * 200, "Dinit_task"]
    addrs = [0 if encoding == "absolute-percpu" else 0xFFFFFFFF81000000, 0xFFFFFFFF81000000,
             0xFFFFFFFF81000040, 0xFFFFFFFF81001000, 0xFFFFFFFF82100000]
    if not long:
        names[3] = "t" + "x" * 100
    read, loc = _image(names, addrs, encoding, long)
    syms = read_kallsyms(read, loc, 0xFFFFFFFF81000040)
    assert [(s.letter + s.name, s.address) for s in syms] == list(zip(names, addrs))


def test_a_wrong_stext_is_refused() -> None:
    read, loc = _image(["T_stext"], [0xFFFFFFFF81000000], "base-relative", False)
    with pytest.raises(KallsymsError, match="_stext"):
        read_kallsyms(read, loc, 0xFFFFFFFF81234560)
