"""Values laid out the way crash (that is, gdb's pretty printer) prints them.

    struct task_struct {
      __state = 0,
      comm = "swapper/0\\000\\000\\000\\000\\000\\000",
      ...
    }

The values are :class:`~xcrash.targets.values.Value` trees already read; nothing
here reads memory.  Rules kept from gdb: a char array is shown as a string with
its last NUL dropped and runs of more than 10 equal characters folded into
``'\\000' <repeats N times>``; pointers are hex with ``<symbol>`` when they point
at one (and the string a ``char *`` points at); enums by name; nested aggregates
indented by two spaces per level; an unreadable value is
``<error: Cannot access memory at address 0x...>``.  crash's embedded gdb does not
fold runs in other arrays (``task`` shows ``st_space = {65535, 0, 0, ...}`` in full).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..caveats import Unreadable
from ..targets.values import ELEMENT_LIMIT, StructContents, Value

REPEAT_THRESHOLD = 10

_NAMED = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 27: "\\033"}


def _char(b: int) -> str:
    if b == 0:
        return "\\000"
    if b == 0x22:
        return '\\"'
    if b == 0x5C:
        return "\\\\"
    if 32 <= b < 127:
        return chr(b)
    return _NAMED.get(b, f"\\{b:03o}")


def format_char_array(raw: bytes) -> str:
    """gdb's rendering of a char array's bytes."""
    # gdb's print null-stop is off: the array is shown whole, except that a
    # final NUL is taken as the terminator; runs above the threshold are folded.
    if raw and raw[-1] == 0:
        raw = raw[:-1]
    parts: list[str] = []
    cur = ""
    i = 0
    shown = 0
    while i < len(raw) and shown < ELEMENT_LIMIT:
        j = i
        while j < len(raw) and raw[j] == raw[i]:
            j += 1
        run = j - i
        if run > REPEAT_THRESHOLD:
            if cur:
                parts.append(f'"{cur}"')
                cur = ""
            ch = _char(raw[i]).replace("'", "\\'") if raw[i] != 0x22 else '"'
            parts.append(f"'{ch}' <repeats {run} times>")
            shown += REPEAT_THRESHOLD
        else:
            cur += _char(raw[i]) * run
            shown += run
        i = j
    if cur or not parts:
        parts.append(f'"{cur}"')
    text = ", ".join(parts)
    if i < len(raw):
        text += "..."
    return text


def format_string(raw: bytes) -> str:
    return '"' + "".join(_char(b) for b in raw) + '"'


def _error(value: Unreadable) -> str:
    return f"<error: {value.reason}>"


def scalar_text(v: Value, radix: int = 10) -> str:
    """A scalar value: a number in ``radix``, a pointer, a character, an enumerator."""
    value = v.value
    if isinstance(value, Unreadable):
        return _error(value)
    if v.kind == "pointer":
        assert isinstance(value, int)
        text = hex(value) + (f" <{v.symbol}>" if v.symbol else "")
        if isinstance(v.string, Unreadable):
            text += " " + _error(v.string)
        elif v.string is not None:
            text += " " + format_string(v.string)
        return text
    if v.kind == "function":
        assert isinstance(value, int)
        return f"{{{v.type}}} {value:#x} <{v.symbol or '?'}>"
    if v.kind == "enum":
        assert isinstance(value, int)
        return v.enumerator if v.enumerator is not None else str(value)
    if v.kind == "bool":
        return "true" if value else "false"
    if v.kind == "char":
        assert isinstance(value, int)
        return f"{value} '{_char(value & 0xFF)}'"
    if v.kind == "float":
        return repr(value)
    assert isinstance(value, int)
    if radix == 16:
        return hex(value & ((1 << 8 * v.size) - 1)) if value < 0 and v.size else hex(value)
    return str(value)


def value_text(v: Value, indent: int = 0, radix: int = 10) -> str:
    """The value part of ``name = value`` (several lines for an aggregate), its
    nested lines indented for depth ``indent``."""
    if isinstance(v.value, Unreadable):
        return _error(v.value)
    if v.kind in ("struct", "union"):
        return aggregate_text(v.members or [], indent, radix)
    if v.kind == "array":
        return _array_text(v, indent, radix)
    return scalar_text(v, radix)


def aggregate_text(members: list[Value], indent: int = 0, radix: int = 10) -> str:
    """``{`` each member on its line ``}``, as gdb prints a struct or union."""
    if not members:
        return "{<No data fields>}"
    pad = "  " * (indent + 1)
    lines = ["{"]
    for i, m in enumerate(members):
        comma = "," if i < len(members) - 1 else ""
        shown = value_text(m, indent + 1, radix)
        lines.append(f"{pad}{shown}{comma}" if m.name is None else f"{pad}{m.name} = {shown}{comma}")
    lines.append("  " * indent + "}")
    return "\n".join(lines)


def _array_text(v: Value, indent: int, radix: int) -> str:
    if v.length is None:                        # a flexible array
        assert isinstance(v.value, int)
        if isinstance(v.string, bytes):
            where = f" <{v.symbol}>" if v.symbol else ""
            return f"{v.value:#x}{where} {format_string(v.string)}"
        return f"{v.value:#x}"
    if isinstance(v.value, bytes):
        return format_char_array(v.value)
    elements = v.members or []
    if not elements:
        return "{}"
    if elements[0].kind in ("struct", "union", "array"):
        # gdb indents the members of array elements one level deeper
        return "{" + ", ".join(value_text(e, indent + 1, radix) for e in elements) + "}"
    more = "..." if v.length > ELEMENT_LIMIT else ""
    return "{" + ", ".join(scalar_text(e, radix) for e in elements) + more + "}"


def member_line(v: Value, radix: int = 10) -> str:
    """``  name = value,`` as crash prints each member of ``struct x.a,b`` (a nested
    member keeps its path: ``  irq_data.irq = 0,``)."""
    return f"  {v.name} = {value_text(v, 1, radix)},"


def struct_lines(contents: StructContents, radix: int = 10) -> Iterator[str]:
    """A structure as ``struct`` shows it: ``struct x {...}`` whole, or a line per
    member asked for."""
    if contents.members is None:
        return
    if contents.whole:
        yield from f"{contents.type} {aggregate_text(contents.members, 0, radix)}".split("\n")
        return
    for m in contents.members:
        yield from member_line(m, radix).split("\n")


def entry_lines(entries: Iterable[StructContents], radix: int = 10) -> Iterator[str]:
    """``list`` and ``tree``: each entry's address, then (with -s) its structure."""
    for e in entries:
        yield f"{e.address:x}"
        yield from struct_lines(e, radix)
