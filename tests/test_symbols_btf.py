"""BTF: synthetic blobs of every kind, damage and fuzzing, the real vmlinux's BTF."""
from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xcrash.errors import BadSymbolFile
from xcrash.symbols import btf
from xcrash.symbols.btf import BtfTypes, parse_btf
from xcrash.symbols.types import Kind, declaration


class Blob:
    """Builds a BTF blob record by record."""

    def __init__(self) -> None:
        self.records: list[bytes] = []
        self.strings = b"\0"

    def name(self, text: str | None) -> int:
        if not text:
            return 0
        off = len(self.strings)
        self.strings += text.encode() + b"\0"
        return off

    def add(self, kind: int, name: str | None, size_or_type: int, *extra: int,
            vlen: int = 0, kflag: int = 0) -> int:
        info = (kflag << 31) | (kind << 24) | vlen
        self.records.append(struct.pack("<III", self.name(name), info, size_or_type)
                            + struct.pack(f"<{len(extra)}I", *extra))
        return len(self.records)

    def struct(self, kind: int, name: str | None, size: int,
               members: list[tuple[str | None, int, int]], kflag: int = 0) -> int:
        flat = [v for n, t, off in members for v in (self.name(n), t, off)]
        return self.add(kind, name, size, *flat, vlen=len(members), kflag=kflag)

    def bytes(self) -> bytes:
        types = b"".join(self.records)
        header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types),
                             len(self.strings))
        return header + types + self.strings


def load(blob: bytes) -> BtfTypes:
    return BtfTypes(parse_btf(blob, "test.btf"), blob, "test.btf")


@pytest.fixture(scope="module")
def sample() -> tuple[BtfTypes, dict[str, int]]:
    b = Blob()
    ids: dict[str, int] = {}
    ids["int"] = b.add(btf.INT, "int", 4, (1 << 24) | 32)
    ids["uint"] = b.add(btf.INT, "unsigned int", 4, 32)
    ids["char"] = b.add(btf.INT, "char", 1, (1 << 24) | 8)
    ids["bool"] = b.add(btf.INT, "_Bool", 1, (4 << 24) | 8)
    ids["ptr_char"] = b.add(btf.PTR, None, ids["char"])
    ids["const_char"] = b.add(btf.CONST, None, ids["char"])
    ids["ptr_const_char"] = b.add(btf.PTR, None, ids["const_char"])
    ids["arr"] = b.add(btf.ARRAY, None, 0, ids["char"], ids["int"], 16)
    ids["flex"] = b.add(btf.ARRAY, None, 0, ids["int"], ids["int"], 0)
    ids["fwd_list"] = b.add(btf.FWD, "list", 0)
    ids["ptr_list"] = b.add(btf.PTR, None, ids["fwd_list"])
    ids["list"] = b.struct(btf.STRUCT, "list", 16, [("next", ids["ptr_list"], 0),
                                                     ("prev", ids["ptr_list"], 64)])
    ids["fwd_opaque"] = b.add(btf.FWD, "opaque", 0, kflag=1)
    ids["anon"] = b.struct(btf.UNION, None, 4, [("a", ids["int"], 0), ("b", ids["uint"], 0)])
    ids["bits"] = b.struct(btf.STRUCT, "bits", 8, [
        ("flags", ids["uint"], (5 << 24) | 0), ("level", ids["uint"], (3 << 24) | 5),
        (None, ids["anon"], 32)], kflag=1)
    ids["int3"] = b.add(btf.INT, "unsigned int", 4, (2 << 16) | 3)      # old-style bit-field
    ids["old_bits"] = b.struct(btf.STRUCT, "old_bits", 4, [("x", ids["int3"], 8)])
    ids["enum"] = b.add(btf.ENUM, "pid_type", 4, b.name("PIDTYPE_PID"), 0,
                        b.name("PIDTYPE_MAX"), 4, vlen=2)
    ids["senum"] = b.add(btf.ENUM, "signed_e", 4, b.name("MINUS_ONE"), 0xFFFFFFFF, vlen=1,
                         kflag=1)
    ids["enum64"] = b.add(btf.ENUM64, "big", 8, b.name("HUGE"), 0, 1, vlen=1)
    ids["typedef"] = b.add(btf.TYPEDEF, "pid_t", ids["int"])
    ids["volatile"] = b.add(btf.VOLATILE, None, ids["typedef"])
    ids["restrict_ptr"] = b.add(btf.RESTRICT, None, ids["ptr_char"])
    ids["tagged"] = b.add(btf.TYPE_TAG, "user", ids["ptr_char"])
    ids["proto"] = b.add(btf.FUNC_PROTO, None, ids["int"], b.name("fmt"), ids["ptr_const_char"],
                         0, 0, vlen=2)
    ids["func"] = b.add(btf.FUNC, "printk", ids["proto"], vlen=1)
    ids["fnptr"] = b.add(btf.PTR, None, ids["proto"])
    ids["var"] = b.add(btf.VAR, "runqueues", ids["list"], 1)
    ids["datasec"] = b.add(btf.DATASEC, ".data..percpu", 16, ids["var"], 0, 16, vlen=1)
    ids["float"] = b.add(btf.FLOAT, "double", 8)
    ids["decl_tag"] = b.add(btf.DECL_TAG, "tag", ids["list"], 0xFFFFFFFF)
    ids["void_ptr"] = b.add(btf.PTR, None, 0)
    ids["holder"] = b.struct(btf.STRUCT, "holder", 64, [
        ("name", ids["arr"], 0), ("cb", ids["fnptr"], 128), ("pid", ids["volatile"], 192),
        ("p", ids["ptr_const_char"], 256), ("data", ids["flex"], 320),
        ("any", ids["void_ptr"], 448)])
    return load(b.bytes()), ids


def test_integers(sample):
    types, ids = sample
    t = types.type(ids["int"])
    assert (t.kind, t.name, t.size, t.signed, t.encoding) == (Kind.INT, "int", 4, True, "int")
    assert types.type(ids["uint"]).signed is False
    assert types.type(ids["char"]).encoding == "char"
    assert types.type(ids["bool"]).encoding == "bool"
    assert types.find("unsigned int") is types.type(ids["uint"])


def test_pointers_arrays_qualifiers(sample):
    types, ids = sample
    assert types.type(ids["ptr_const_char"]).display_name() == "const char *"
    assert types.type(ids["arr"]).display_name() == "char [16]"
    assert types.type(ids["flex"]).length is None
    assert types.type(ids["volatile"]).display_name() == "volatile pid_t"
    assert types.type(ids["restrict_ptr"]).qualifiers == frozenset({"restrict"})
    assert types.type(ids["tagged"]).display_name() == "char *"
    assert types.type(ids["void_ptr"]).display_name() == "void *"
    assert types.type(ids["fnptr"]).display_name() == "int (*)(const char *, ...)"


def test_structs_bitfields_and_anonymous_members(sample):
    types, ids = sample
    bits = types.find("struct bits")
    assert [(m.name, m.bit_offset, m.bit_size) for m in bits.members] == [
        ("flags", 0, 5), ("level", 5, 3), (None, 32, 0)]
    assert bits.member("b")[0] == 32                       # through the anonymous union
    old = types.find("struct old_bits")
    assert [(m.name, m.bit_offset, m.bit_size) for m in old.members] == [("x", 10, 3)]
    holder = types.find("struct holder")
    assert [declaration(m.type, m.name) for m in holder.members] == [
        "char name[16]", "int (*cb)(const char *, ...)", "volatile pid_t pid", "const char *p",
        "int data[]", "void *any"]


def test_forward_declarations_resolve_to_definitions(sample):
    types, ids = sample
    lst = types.find("struct list")
    assert lst.members is not None and lst.size == 16
    assert lst.member("next")[1].type.target is lst       # FWD -> the definition
    opaque = types.find("union opaque")
    assert opaque.kind is Kind.UNION and opaque.members is None and not opaque.is_complete()


def test_enums(sample):
    types, ids = sample
    e = types.find("enum pid_type")
    assert e.enumerators == [("PIDTYPE_PID", 0), ("PIDTYPE_MAX", 4)] and not e.signed
    assert types.find("enum signed_e").enumerators == [("MINUS_ONE", -1)]
    assert types.find("enum big").enumerators == [("HUGE", 1 << 32)]


def test_functions_variables_floats(sample):
    types, ids = sample
    proto = types.function_type("printk")
    assert proto.kind is Kind.FUNCTION and proto.variadic
    assert [(p.name, p.type.display_name()) for p in proto.params] == [("fmt", "const char *")]
    assert types.variable_type("runqueues") is types.find("struct list")
    assert types.type(ids["float"]).kind is Kind.FLOAT
    assert types.variable_type("nothing") is None and types.function_type("nothing") is None
    with pytest.raises(BadSymbolFile):
        types.type(ids["decl_tag"])                       # not a data type
    with pytest.raises(BadSymbolFile):
        types.type(ids["datasec"])
    assert {"struct list", "enum pid_type", "pid_t", "int"} <= set(types.names())


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:10], "shorter than its header"),
    (lambda b: b"\xeb\x9f" + b[2:], "bad magic"),          # big-endian BTF
    (lambda b: b[:2] + b"\x02" + b[3:], "unknown version"),
    (lambda b: b[:-5], "beyond the end"),
])
def test_damaged_headers(damage, message):
    b = Blob()
    b.add(btf.INT, "int", 4, 32)
    with pytest.raises(BadSymbolFile, match=message):
        parse_btf(damage(b.bytes()), "x")


def test_damaged_records():
    b = Blob()
    b.add(btf.STRUCT, "s", 4, vlen=3)                      # members missing
    with pytest.raises(BadSymbolFile, match="runs past"):
        parse_btf(b.bytes(), "x")
    b = Blob()
    b.add(25, "weird", 0)
    with pytest.raises(BadSymbolFile, match="unknown kind"):
        parse_btf(b.bytes(), "x")
    b = Blob()
    b.add(btf.PTR, None, 99)
    with pytest.raises(BadSymbolFile, match="out of range"):
        load(b.bytes()).type(1)
    b = Blob()
    b.add(btf.PTR, None, 2)
    b.add(btf.CONST, None, 1)                              # a cycle without a struct
    with pytest.raises(BadSymbolFile, match="refers to itself"):
        load(b.bytes()).type(1)


def _exercise(types: BtfTypes, count: int) -> None:
    """Build every type and everything reachable from it, as commands would."""
    for tid in range(1, count + 1):
        try:
            t = types.type(tid)
            t.display_name()
            _ = t.byte_size
            for m in (t.members or []) if t.kind in (Kind.STRUCT, Kind.UNION) else []:
                declaration(m.type, m.name or "")
                _ = m.type.byte_size
            _ = t.enumerators
            t.target.display_name()
        except BadSymbolFile:
            pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_garbage_blobs_raise_only_bad_symbol_file(data):
    try:
        parsed = parse_btf(data, "fuzz")
    except BadSymbolFile:
        return
    _exercise(BtfTypes(parsed, data, "fuzz"), len(parsed["records"]) - 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(1, 19), st.integers(0, 40), st.integers(0, 12),
                          st.integers(0, 1), st.lists(st.integers(0, 2**32 - 1), max_size=8)),
                max_size=12),
       st.binary(max_size=40))
def test_fuzz_structured_records_raise_only_bad_symbol_file(records, strings):
    """Well-formed headers around records with random kinds, references and names."""
    b = Blob()
    b.strings = b"\0" + strings
    for kind, name_off, ref, kflag, extra in records:
        info = (kflag << 31) | (kind << 24) | (len(extra) % 4)
        b.records.append(struct.pack("<III", name_off, info, ref)
                         + struct.pack(f"<{len(extra)}I", *extra))
    data = b.bytes()
    try:
        parsed = parse_btf(data, "fuzz")
    except BadSymbolFile:
        return
    _exercise(BtfTypes(parsed, data, "fuzz"), len(parsed["records"]) - 1)


def test_real_vmlinux_btf(vmlinux_symbols):
    btf_types = vmlinux_symbols.btf
    ts = btf_types.find("struct task_struct")
    assert ts.size == 6592
    assert {n: ts.member(n)[0] // 8 for n in ("__state", "tasks", "pid", "comm")} == {
        "__state": 24, "tasks": 736, "pid": 960, "comm": 1456}
    assert btf_types.variable_type("runqueues").display_name() == "struct rq"
    assert btf_types.function_type("panic").display_name() == "void (const char *, ...)"
    assert len(btf_types.names()) > 5000
