"""Modules' types from their split BTF in memory: a module's BTF goes on from the kernel's
(type ids after the kernel's last, string offsets after its strings), and a type the
kernel's symbol file does not know is looked up in the loaded modules' BTF.

The shipped 6.1 samples have no modules: the split blobs here are synthetic, laid on
the real kernel BTF of linux-sysrq, and put where the module list would say."""
from __future__ import annotations

import struct

import pytest

from conftest import REPO, present
from xcrash.errors import BadSymbolFile
from xcrash.symbols import btf
from xcrash.symbols.btf import BtfTypes, parse_btf

SYSRQ = REPO / "sample-dumps" / "linux-sysrq" / "vmcore.kdump"


class SplitBlob:
    """A BTF blob record by record; on top of ``base`` when given (split BTF: ids and
    string offsets go on from the base's, a name the base has is the base's)."""

    def __init__(self, base: BtfTypes | None = None) -> None:
        self.base = base
        self.records: list[bytes] = []
        self.strings = b"" if base is not None else b"\0"
        self.first = base.next_id if base is not None else 1
        self.str_start = base.strings_size if base is not None else 0

    def name(self, text: str | None) -> int:
        if not text:
            return 0
        if self.base is not None:
            at = self.base._strings.find(b"\0" + text.encode() + b"\0")
            if at >= 0:
                return at + 1                   # deduplicated against the base's strings
        off = self.str_start + len(self.strings)
        self.strings += text.encode() + b"\0"
        return off

    def add(self, kind: int, name: str | None, size_or_type: int, *extra: int,
            vlen: int = 0, kflag: int = 0) -> int:
        info = (kflag << 31) | (kind << 24) | vlen
        self.records.append(struct.pack("<III", self.name(name), info, size_or_type)
                            + struct.pack(f"<{len(extra)}I", *extra))
        return self.first + len(self.records) - 1

    def struct(self, name: str | None, size: int, members: list[tuple[str, int, int]]) -> int:
        flat = [v for n, t, off in members for v in (self.name(n), t, off)]
        return self.add(btf.STRUCT, name, size, *flat, vlen=len(members))

    def bytes(self) -> bytes:
        types = b"".join(self.records)
        header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types),
                             len(self.strings))
        return header + types + self.strings


def _load(blob: bytes, base: BtfTypes | None = None) -> BtfTypes:
    return BtfTypes(parse_btf(blob, "test.btf", base), blob, "test.btf", base)


@pytest.fixture(scope="module")
def base() -> tuple[BtfTypes, dict[str, int]]:
    b = SplitBlob()
    ids = {"int": b.add(btf.INT, "int", 4, (1 << 24) | 32),
           "ulong": b.add(btf.INT, "long unsigned int", 8, 64)}
    ids["fwd"] = b.add(btf.FWD, "list_head", 0)
    ids["ptr"] = b.add(btf.PTR, None, ids["fwd"])
    ids["list_head"] = b.struct("list_head", 16, [("next", ids["ptr"], 0), ("prev", ids["ptr"], 64)])
    return _load(b.bytes()), ids


def test_split_btf_goes_on_from_its_base(base) -> None:
    kernel, ids = base
    m = SplitBlob(kernel)
    fwd = m.add(btf.FWD, "list_head", 0)                 # the module's forward of a kernel type
    inner = m.struct("lab_inner", 8, [("cookie", ids["ulong"], 0)])
    inner_ptr = m.add(btf.PTR, None, inner)
    fwd_ptr = m.add(btf.PTR, None, fwd)
    thing = m.struct("lab_thing", 40, [("link", ids["list_head"], 0), ("count", ids["int"], 128),
                                       ("inner", inner_ptr, 192), ("other", fwd_ptr, 256)])
    m.add(btf.TYPEDEF, "lab_thing_t", thing)
    assert m.first == kernel.next_id == 6 and m.name("int") < kernel.strings_size
    mod = _load(m.bytes(), kernel)
    assert mod.next_id == thing + 2
    t = present(mod.find("struct lab_thing"))
    assert t.byte_size == 40
    link, count, ptr, other = present(t.members)
    assert link.type is kernel.type(ids["list_head"])       # the kernel's own type object
    assert count.type.name == "int" and count.bit_offset == 128
    inner_t = present(ptr.type.target)
    assert inner_t.name == "lab_inner" and present(inner_t.members)[0].name == "cookie"
    assert other.type.target is kernel.type(ids["list_head"])   # the forward, resolved in the base
    assert present(mod.find("lab_thing_t")).target is t
    # a name the module only forward-declares is the kernel's type
    assert mod.find("struct list_head") is kernel.type(ids["list_head"])
    assert kernel.find("struct lab_thing") is None


def test_damaged_split_btf_is_a_bad_symbol_file(base) -> None:
    kernel, ids = base
    m = SplitBlob(kernel)
    m.struct("broken", 8, [("x", kernel.next_id + 7, 0)])   # a type id nobody has
    mod = _load(m.bytes(), kernel)
    with pytest.raises(BadSymbolFile, match="out of range"):
        _ = present(present(mod.find("struct broken")).members)[0].type.byte_size
    m = SplitBlob(kernel)
    m.add(btf.TYPEDEF, None, ids["int"])
    raw = bytearray(m.bytes())
    struct.pack_into("<I", raw, 24, kernel.strings_size + 999)      # a name past the strings
    with pytest.raises(BadSymbolFile, match="beyond the string section"):
        _load(bytes(raw), kernel)


# -- through the module list of a real kernel's target ---------------------------------
BLOB_AT = 0xFFFFFFFFC0000000


@pytest.fixture
def alone(monkeypatch):
    """linux-sysrq opened alone, with one module whose split BTF (on the kernel's own)
    lies at BLOB_AT; ``alone.module_blob`` sets that blob."""
    import xcrash
    from xcrash.targets.linux import modbtf
    session = xcrash.open(str(SYSRQ), find_symbols=False)
    target = session.current
    blobs: dict[str, bytes] = {}
    read = target.space.read

    def reading(address: int, size: int) -> bytes:
        if address == BLOB_AT and "blob" in blobs:
            return blobs["blob"][:size]
        return read(address, size)
    monkeypatch.setattr(target.space, "read", reading)
    monkeypatch.setattr(modbtf, "btf_blobs", lambda t: iter(
        [modbtf.BtfBlob("xcrash_lab", BLOB_AT, len(blobs["blob"]), *blobs.get("starts", ()))]))
    session.blobs = blobs  # type: ignore[attr-defined]
    return session


def _lab_blob(kernel: BtfTypes) -> bytes:
    m = SplitBlob(kernel)
    task_ptr = m.add(btf.PTR, None, kernel.tags["struct task_struct"])
    m.struct("lab_state", 32, [("owner", task_ptr, 0), ("hits", kernel.plain["int"], 64),
                               ("node", kernel.tags["struct list_head"], 128)])
    return m.bytes()


def _run(session, *lines: str) -> tuple[str, str]:
    """(standard output, standard error) of command lines, failing ones included."""
    import io

    from xcrash.engine.runner import Runner
    out, err = io.StringIO(), io.StringIO()
    runner = Runner(session, out=out, err=err)
    for line in lines:
        runner.execute(line)
    return out.getvalue(), err.getvalue()


def test_struct_of_a_module_type_from_its_btf(alone) -> None:
    kernel = alone.current.symfile.btf
    alone.blobs["blob"] = _lab_blob(kernel)
    layout = ("struct lab_state {\n    struct task_struct *owner;\n    int hits;\n"
              "    struct list_head node;\n}\nSIZE: 32\n")
    out, err = _run(alone, "struct lab_state", "whatis lab_state", "p sizeof(struct lab_state)",
                    "struct list_head", "struct no_such_thing_anywhere")
    assert out.startswith(layout + layout + "$1 = 32\nstruct list_head {\n")     # the kernel's
    assert err == "xcrash: struct: invalid data structure reference: no_such_thing_anywhere\n"


@pytest.mark.parametrize("damage,warning", [
    ("starts", "WARNING: module xcrash_lab BTF starts at type {}, string {}; the kernel's BTF "
               "ends at {}, {}: its types left out"),
    ("garbage", "WARNING: module xcrash_lab BTF unreadable (module xcrash_lab BTF: BTF: sections "
                "lie beyond the end of the blob): its types left out")])
def test_a_module_btf_that_does_not_fit_is_left_out_with_a_warning(alone, damage: str,
                                                                   warning: str) -> None:
    kernel = alone.current.symfile.btf
    if damage == "starts":
        alone.blobs["blob"] = _lab_blob(kernel)
        alone.blobs["starts"] = (kernel.next_id + 1, kernel.strings_size)
        warning = warning.format(kernel.next_id + 1, kernel.strings_size, kernel.next_id,
                                 kernel.strings_size)
    else:
        alone.blobs["blob"] = b"\x9f\xeb\x01\x00" + bytes(40)
    out, err = _run(alone, "struct lab_state")
    assert out == warning + "\n"
    assert err == "xcrash: struct: invalid data structure reference: lab_state\n"


# -- the stock Debian dumps (sample-dumps/debian-*/, when there): modules, no file -----------
def _stock_dumps() -> list:
    """One stock dump per kernel release: each has the xcrash_lab module loaded."""
    from conftest import sample_manifest
    per_release: dict[str, str] = {}
    for name, entry in sorted(sample_manifest()["dumps"].items()):
        if name.startswith("debian-"):
            per_release.setdefault(entry["kernel"]["release"], name)
    return sorted(per_release.values()) or [
        pytest.param(None, marks=pytest.mark.skip(reason="no stock Debian dump here yet"))]


@pytest.mark.parametrize("name", _stock_dumps())
def test_modules_of_a_stock_dump_without_any_file(name: str) -> None:
    """`mod`, `sym` of a module symbol, and a module's own types (its split BTF), with
    the dump alone, as with the kernel's vmlinux."""
    import xcrash
    from conftest import SAMPLES, open_sample, sample_manifest
    from xcrash.targets.linux.modbtf import module_types
    entry = sample_manifest()["dumps"][name]
    alone = xcrash.open(str(SAMPLES / entry["files"][0]["path"]), find_symbols=False)
    full = open_sample(name)
    assert alone.run("mod") == full.run("mod")
    from xcrash.targets.linux.kernel import LinuxTarget
    target = alone.current
    assert isinstance(target, LinuxTarget)
    lab = next(m for m in target.modules if m.name == "xcrash_lab")
    symbol = next(s for s in lab.symbols if s.type_char in "tT")
    assert alone.run(f"sym {symbol.name}") == full.run(f"sym {symbol.name}")
    types = module_types(target)
    if types is None or "xcrash_lab" not in types.modules:
        pytest.skip(f"{name}: xcrash_lab has no BTF")
    kernel = present(target.symfile.btf)
    own = [n for n in types.modules["xcrash_lab"].names() if kernel.find(n) is None]
    for type_name in own[:5]:
        assert alone.run(f"whatis {type_name}").strip(), type_name
