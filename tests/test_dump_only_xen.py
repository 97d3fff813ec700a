"""No vmlinux needed for Xen guests either: each PV guest's kernel keeps its VMCOREINFO
text in its own memory, which says where its kallsyms is; BTF and ORC follow.

The proof of issue 15 on both Xen samples: with the xen-syms alone, and with the dump
alone, every domain (dom0 and both domUs) is a Linux target whose `ps` has the
processes the manifest lists, and whose `ps`, `bt -a` and `log` equal the output of
the session given the vmlinux files."""
from __future__ import annotations

import pytest

from conftest import SAMPLES, open_sample, sample_manifest
from xcrash.targets.linux.fromdump import LABEL

DOMAINS = ("dom0", "dom1", "dom2")
#: (sample, with its xen-syms): xen-own's has DWARF, xen-debian's ELF symbols only
CASES = [("xen-own", True), ("xen-own", False), ("xen-debian", True), ("xen-debian", False)]


@pytest.fixture(scope="module", params=CASES,
                ids=[f"{name}-{'xen-syms' if syms else 'alone'}" for name, syms in CASES])
def alone(request: pytest.FixtureRequest):
    """(sample name, the session with no vmlinux), opened once per case."""
    import xcrash
    name, with_xen_syms = request.param
    entry = sample_manifest()["dumps"][name]
    files = [str(SAMPLES / entry["xen"]["xen_syms"])] if with_xen_syms else []
    session = xcrash.open(str(SAMPLES / entry["files"][0]["path"]), *files, find_symbols=False)
    return name, session


def on(session, target: str, command: str, records: bool = False):
    """A command's output (or records) on one target; the session's current target
    is kept."""
    before = next(n for n, t in session.targets.items() if t is session.current)
    session.select(target)
    try:
        return session.run(command, records=records)
    finally:
        session.select(before)


def test_every_domain_gets_its_symbols_from_its_own_memory(alone) -> None:
    name, session = alone
    for dom in DOMAINS:
        target = session.targets[dom]
        assert target.kind == "linux" and target.symfile.path == LABEL, dom
        line = next(m for m in session.messages if m.startswith(f"{dom}: "))
        assert f"{dom}: {LABEL}: no vmlinux given: symbols from its memory (VMCOREINFO at " \
            "pseudo-physical 0x" in line, line
        assert "kallsyms (34603 symbols), BTF, ORC; no DWARF" in line, line
    releases = {d["id"]: d["kernel"]["release"] for d in sample_manifest()["dumps"][name]["domains"]}
    assert {dom: session.targets[dom].utsname["release"] for dom in DOMAINS} == \
        {f"dom{i}": r for i, r in releases.items()}


def test_alone_the_hypervisor_has_the_symbols_of_its_own_table(alone) -> None:
    """No xen-syms: Xen's own symbol table in the dump serves the hypervisor target
    (tests/test_xen_ownsyms.py compares it with the symbols-only path); start-up
    says so."""
    from xcrash.targets.xen.ownsyms import LABEL as XEN_LABEL
    name, session = alone
    xen = session.targets["xen"]
    if session.symbol_files:                # given its xen-syms: that file serves it
        assert xen.symfile is session.symbol_files[0]
        return
    assert xen.symfile.path == XEN_LABEL and "machine" not in session.targets
    line = next(m for m in session.messages if "Xen's own table" in m)
    assert line.startswith(f"{SAMPLES / sample_manifest()['dumps'][name]['files'][0]['path']}: "
                           "no xen-syms given: symbols from the dump: Xen's own table ("), line
    assert "; no DWARF: the xen target has symbols, no types" in line, line
    assert "do_nmi_crash" in on(session, "xen", "bt -a")


def test_alone_the_session_starts_in_dom0(alone) -> None:
    _, session = alone
    if not session.symbol_files:            # no xen-syms: crash's dom0 session
        assert list(session.targets)[0] == "dom0"


def test_each_domain_runs_the_processes_the_manifest_lists(alone) -> None:
    name, session = alone
    for dom in sample_manifest()["dumps"][name]["domains"]:
        pids = {r["comm"]: r["pid"] for r in on(session, f"dom{dom['id']}", "ps", records=True)}
        for proc in dom["processes_started"]:
            if isinstance(proc, dict):
                assert pids.get(proc["comm"]) == proc["pid"], (name, dom["name"], proc)
            else:               # dom0's: "xenstored", "xl (create, then debug-keys C)"
                assert proc.split()[0] in pids, (name, dom["name"], proc)


@pytest.mark.parametrize("command", ["ps", "bt -a", "log"])
def test_output_equals_the_session_given_the_vmlinux(alone, command: str) -> None:
    name, session = alone
    full = open_sample(name)
    for dom in DOMAINS:
        assert on(session, dom, command) == on(full, dom, command), (dom, command)


# -- the VMCOREINFO page is proved before it is believed (synthetic guests) ------------------
class _Guest:
    """A guest's frames (pfn -> page) as a p2m and the machine memory under it."""

    def __init__(self, pages: dict[int, bytes]) -> None:
        self.pages = pages

    def frames(self):
        return ((pfn, pfn + 0x1000) for pfn in sorted(self.pages))

    def read(self, address: int, size: int) -> bytes:
        from xcrash.errors import PageNotInDump
        page = self.pages.get((address >> 12) - 0x1000)
        if page is None:
            raise PageNotInDump(address)
        return page[address & 0xFFF:(address & 0xFFF) + size]


def test_a_page_that_only_looks_like_vmcoreinfo_is_not_believed() -> None:
    from xcrash.targets.xen.guestsyms import NoGuestSymbols, memory_symbols, symbols_from_guest
    no_stext = b"OSRELEASE=5.10.0-xcrash\nPAGESIZE=4096\n".ljust(4096, b"\0")
    no_kallsyms = (b"OSRELEASE=5.10.0-xcrash\nSYMBOL(_stext)=ffffffff81000000\n"
                   b"SYMBOL(init_uts_ns)=ffffffff81100000\n").ljust(4096, b"\0")
    bad_tables = (b"OSRELEASE=6.1.0\nSYMBOL(_stext)=ffffffff81000000\n"
                  b"SYMBOL(kallsyms_num_syms)=ffffffff81a00000\n"
                  b"SYMBOL(kallsyms_names)=ffffffff81a00008\n"
                  b"SYMBOL(kallsyms_token_table)=ffffffff81b00000\n"
                  b"SYMBOL(kallsyms_token_index)=ffffffff81b01000\n").ljust(4096, b"\0")
    guest = _Guest({1: bytes(4096), 5: no_stext, 7: no_kallsyms, 9: bad_tables})
    with pytest.raises(NoGuestSymbols) as err:
        symbols_from_guest(guest, guest)        # type: ignore[arg-type]
    text = str(err.value)
    assert "at 0x5000: VMCOREINFO has no SYMBOL(_stext)" in text
    assert "at 0x7000: VMCOREINFO has no SYMBOL(kallsyms_num_syms), " in text
    assert "no kallsyms tables were found in the kernel image by their structure" in text
    assert "at 0x9000: " in text
    symfile, why = memory_symbols(guest, guest, "no vmlinux given")  # type: ignore[arg-type]
    assert symfile is None and why.startswith("no vmlinux given, and no symbols in its memory: ")
    guest = _Guest({1: bytes(4096)})
    with pytest.raises(NoGuestSymbols, match=r"no VMCOREINFO page \(OSRELEASE=...\)"):
        symbols_from_guest(guest, guest)        # type: ignore[arg-type]
