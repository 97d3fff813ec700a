"""Modules' object files (mod -s/-S/-d/-D/-r/-R/-g, sym -m/-M, --mod): the shipped
object files linked at given addresses (runs everywhere), and crash 9.0.2's session on
the stock Debian 6.12 dump with modules (tests/crash-ref/debian-6.12-bug/modules.txt),
which skips where that dump is not here (it is not shipped yet: the factory's work
directory, this checkout's or the main one's, XCRASH_STOCK_WORK, or
sample-dumps/debian-6.12-bug/ once unpacked)."""
from __future__ import annotations

import lzma
import os
import subprocess
from pathlib import Path

import pytest

from conftest import SAMPLES, recorded_blocks, sample_manifest
from crashrefs import REFS, replay

RELEASE = "6.12.117+deb13-cloud-amd64"
MODULES = SAMPLES / "symbols" / "debian-6.12-modules"
DEBUG = Path("usr/lib/debug/lib/modules") / RELEASE
LAB = DEBUG / "extra" / "xcrash_lab.ko.xz"
#: crash's object files directory in the reference session
CRASH_DIR = "/tmp/mods"
def _stock_work() -> Path:
    """The stock factory's work directory: XCRASH_STOCK_WORK, this checkout's, else the
    main checkout's (a worktree has none of its own)."""
    if os.environ.get("XCRASH_STOCK_WORK"):
        return Path(os.environ["XCRASH_STOCK_WORK"])
    here = SAMPLES / "work" / "stock"
    if here.exists():
        return here
    common = subprocess.run(["git", "-C", str(SAMPLES), "rev-parse", "--git-common-dir"],
                            capture_output=True, text=True, check=False).stdout.strip()
    return (SAMPLES / common).resolve().parent / "sample-dumps" / "work" / "stock" \
        if common else here


STOCK = _stock_work()
BUG_DUMPS = [SAMPLES / "debian-6.12-bug" / "vmcore.plain.kdump",
             STOCK / "runs" / "debian-6.12-bug" / "out" / "vmcore.plain.kdump"]
VMLINUXES = [SAMPLES / "debian-6.12-bug" / "vmlinux", SAMPLES / "symbols" / f"vmlinux-{RELEASE}",
             STOCK / "kernels" / "6.12" / "vmlinux"]


def test_manifest_lists_the_object_files() -> None:
    man = sample_manifest()
    listed = {e["path"] for e in man["symbols"].values() if e.get("module")}
    assert listed == {str(p.relative_to(SAMPLES)) for p in MODULES.rglob("*.ko.xz")}


def test_a_ko_linked_where_its_sections_lie() -> None:
    """The lab module's object file linked at made-up addresses: its symbols, source
    lines, variables' types and prototypes at those addresses."""
    from xcrash.symbols.kofile import module_symbol_file
    text, rodata, bss = 0xFFFFFFFFC0100000, 0xFFFFFFFFC0200000, 0xFFFFFFFFC0300000
    f = module_symbol_file(str(MODULES / LAB), {".text": text, ".rodata": rodata,
                                                ".bss": bss})
    bug = f.symbols.lookup("lab_bug")
    assert text <= bug.address < text + 0x1000
    assert f.line_for_address(bug.address) == ("/work/kernels/6.12/module/xcrash_lab.c", 52)
    assert f.symbols.lookup("ways").address >= rodata
    assert f.symbols.lookup("lab_sink").address == bss
    ways = f.variable_type("ways")
    assert ways is not None and ways.strip_typedefs().length == 9
    proto = f.function_type("lab_write")
    assert proto is not None
    # the same file at other addresses: another linked copy, not the first one's
    g = module_symbol_file(str(MODULES / LAB), {".text": text + 0x10000})
    assert g.symbols.lookup("lab_bug").address == bug.address + 0x10000


def test_not_a_ko_is_refused(tmp_path: Path) -> None:
    from xcrash.errors import BadSymbolFile
    from xcrash.symbols.kofile import module_symbol_file
    junk = tmp_path / "junk.ko"
    junk.write_bytes(b"not an ELF file at all")
    with pytest.raises(BadSymbolFile, match="not a relocatable ELF object"):
        module_symbol_file(str(junk), {})


# -- crash 9.0.2 on the stock 6.12 dump ----------------------------------------------------------
def _first(paths: list[Path]) -> Path:
    for p in paths:
        if p.is_file():
            return p
    pytest.skip(f"the stock Debian 6.12 dump is not here ({paths[0]} or {paths[-1]})")


@pytest.fixture(scope="module")
def mods(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped object files unpacked in the -dbg layout, as crash was given them."""
    root = tmp_path_factory.mktemp("mods")
    for packed in MODULES.rglob("*.ko.xz"):
        out = root / packed.relative_to(MODULES).with_suffix("")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(lzma.decompress(packed.read_bytes()))
    return root


@pytest.fixture(scope="module")
def bug_session():
    import xcrash
    return xcrash.open(str(_first(BUG_DUMPS)), str(_first(VMLINUXES)))


#: what crash 9.0.2 shows that xcrash does not: sym -M lists two section names of
#: virtio_blk as symbols (__dyndbg, __param) that are no kallsyms symbols
EXTRA_IN_CRASH = ("ffffffffc04b2360 (d) __dyndbg\n", "ffffffffc04b5758 (r) __param\n")


def test_module_forms_equal_crash(bug_session, mods: Path, tmp_path: Path) -> None:
    ref = tmp_path / "modules.txt"
    ref.write_text((REFS / "debian-6.12-bug" / "modules.txt").read_text()
                   .replace(CRASH_DIR, str(mods)))
    differ = []
    for command, want, got in replay(bug_session, ref):
        for line in EXTRA_IN_CRASH:
            want = want.replace(line, "") if command == "sym -M" else want
        if want != got:
            differ.append(f"{command}:\n--- crash\n{want}\n--- xcrash\n{got}")
    assert not differ, "\n".join(differ)


def test_module_errors(bug_session, mods: Path) -> None:
    """One line for every wrong use (crash prints its usage)."""
    from xcrash.engine.runner import Runner
    import io
    cases = {"mod -s nosuch": "mod: nosuch: not a loaded module",
             "mod -d nosuch": "mod: nosuch: not a loaded module",
             "mod -S /nonexistent": "mod: /nonexistent is not a directory",
             "mod -o -s virtio_blk": "mod: -o (gdb's old add-symbol-file mechanism) is not "
                                     "offered: xcrash links a module's object file one way",
             "mod -g": "mod: -g goes with -s or -S",
             "mod -s virtio_blk /nonexistent.ko": "mod: /nonexistent.ko: no such file",
             "mod -s virtio_blk " + str(mods / LAB.with_suffix("")):
                 "mod: " + str(mods / LAB.with_suffix("")) + ": the object file of module "
                 "xcrash_lab, not of virtio_blk"}
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(bug_session, out=out, err=err)
    for command, message in cases.items():
        e = err.tell()
        assert not runner.execute(command), command
        said = err.getvalue()[e:].strip().splitlines()
        assert len(said) == 1 and said[0].startswith("xcrash: " + message), (command, said)
    runner.execute("mod -D")


def test_search_finds_the_debug_layout(bug_session, mods: Path, monkeypatch) -> None:
    """mod -S without a directory: XCRASH_DEBUG_PATH's roots in the -dbg layout."""
    from xcrash.engine.runner import Runner
    import io
    monkeypatch.setenv("XCRASH_DEBUG_PATH", str(mods))
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(bug_session, out=out, err=err)
    assert runner.execute("mod -S"), err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[1].endswith(str(mods / DEBUG / "kernel/drivers/block/virtio_blk.ko") + " ")
    assert lines[2].endswith(str(mods / DEBUG / "extra/xcrash_lab.ko") + " ")
    runner.execute("mod -D")


def test_mod_option_of_the_command_line(mods: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """crash's --mod DIR: mod -S and mod -s search there."""
    from xcrash import cli
    dump, vmlinux = str(_first(BUG_DUMPS)), str(_first(VMLINUXES))
    status = cli.main(["-s", "--mod", str(mods), "-c", "mod -s virtio_blk", dump, vmlinux],
                      fast_exit=False)
    out, err = capsys.readouterr()
    assert status == 0, err
    assert out.splitlines()[1].endswith(str(mods / DEBUG / "kernel/drivers/block/virtio_blk.ko")
                                        + " ")


@pytest.mark.parametrize("option", ["--no_kallsyms", "--no_modules"])
def test_module_options_equal_crash(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    """crash's --no_kallsyms (the letters from the ELF symbols alone) and --no_modules
    (no module list: mod's error, module frames unnamed and skipped).  Differences:
    with --no_kallsyms crash lists the symbols of one address in no sorted order
    (compared as sets); sym of an unknown name: crash adds its "possible alternatives",
    xcrash names the command."""
    from xcrash import cli
    blocks = [(c.split(" ", 1)[1], want) for c, want in
              recorded_blocks(REFS / "debian-6.12-bug" / "options.txt") if c.startswith(option)]
    dump, vmlinux = str(_first(BUG_DUMPS)), str(_first(VMLINUXES))
    differ = []
    for command, want in blocks:
        cli.main(["-s", option, "-c", command, dump, vmlinux], fast_exit=False)
        out, err = capsys.readouterr()
        got = (out + "".join(line.removeprefix("xcrash: ") + "\n"
                             for line in err.splitlines())).strip("\n")
        if command == "sym lab_bug" and option == "--no_modules":
            want = "sym: " + want.split("\npossible alternatives:")[0]   # xcrash's error form
        if command.startswith("sym -m") and option == "--no_kallsyms":
            want, got = "\n".join(sorted(want.splitlines())), "\n".join(sorted(got.splitlines()))
        if want != got:
            differ.append(f"{option} {command}:\n--- crash\n{want}\n--- xcrash\n{got}")
    assert not differ, "\n".join(differ)
