"""Values laid out the way crash (that is, gdb's pretty printer) prints them.

    struct task_struct {
      __state = 0,
      comm = "swapper/0\\000\\000\\000\\000\\000\\000",
      ...
    }

The values are :class:`~xcrash.targets.values.Value` trees already read; nothing
here reads memory.  Rules kept from gdb as crash sets it up: a char array is shown as
a string with its last NUL dropped, every character written (crash turns gdb's
``<repeats N times>`` off), at most ``print_max`` (256) of them then ``...``; other
arrays show at most ``print_max`` elements; pointers are hex with ``<symbol>`` when
they point at one (and the string a ``char *`` points at); enums by name; nested
aggregates indented by two spaces per level; an unreadable value is
``<error: Cannot access memory at address 0x...>``.  ``set null-stop on`` ends a char
array at its first NUL.  At the top level (``p``), a pointer also shows its type,
``(struct list_head *) 0x...``, but for a ``char *``, and a function ``{type} 0x...``.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..caveats import Unreadable
from ..targets.values import PRINT, FastMember, StructContents, Value
from ..targets.walks import WalkEntry

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
    """gdb's rendering of a char array's bytes (print null-stop off: the array whole
    but a final NUL, taken as the terminator; with null-stop, up to the first NUL)."""
    limit = PRINT.print_max
    if PRINT.null_stop and b"\0" in raw:
        raw = raw[:raw.index(b"\0")]
    elif raw and raw[-1] == 0 and len(raw) <= limit:
        raw = raw[:-1]
    text = '"' + "".join(_char(b) for b in raw[:limit]) + '"'
    return text + "..." if len(raw) > limit else text


def format_string(raw: bytes) -> str:
    """A string a pointer points at: up to ``print_max`` characters, then ``...``."""
    limit = PRINT.print_max
    text = '"' + "".join(_char(b) for b in raw[:limit]) + '"'
    return text + "..." if len(raw) > limit else text


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
        if radix == 16:
            return hex(int(bool(value)))
        return "true" if value else "false"
    if v.kind == "char":
        assert isinstance(value, int)
        if radix == 16:
            return hex(value & 0xFF)
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
    if not v.length:                            # a flexible (or [0]) array
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
    more = "..." if v.length > PRINT.print_max else ""
    if elements[0].kind in ("struct", "union", "array"):
        # gdb indents the members of array elements one level deeper
        return "{" + ", ".join(value_text(e, indent + 1, radix) for e in elements) + more + "}"
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


def top_value_text(v: Value, radix: int = 10) -> str:
    """A value as gdb's ``print`` shows it at the top level: a pointer with its type
    before it (``(struct list_head *) 0x...``), but a ``char *``, whose string says
    what it is; the rest as inside a structure."""
    if v.kind == "pointer" and not isinstance(v.value, Unreadable) and not _is_char_pointer(v):
        return f"({v.type}) {value_text(v, 0, radix)}"
    return value_text(v, 0, radix)


def _is_char_pointer(v: Value) -> bool:
    words = [w for w in v.type.replace("*", " * ").split() if w not in ("const", "volatile")]
    return words == ["char", "*"]


def fast_lines(members: Iterable[FastMember], radix: int = 10) -> Iterator[str]:
    """crash's ``-S`` members: ``  name = 4096`` (unsigned; pointers and with -x every
    value in hex), a char array's ``  name = "str"``, a ``char *``'s value then its
    string, `` <symbol>`` after a value inside a text symbol; a member wider than 8
    bytes as ``-s`` shows it."""
    for m in members:
        if m.shown is not None:
            yield from member_line(m.shown, radix).split("\n")
            continue
        if isinstance(m.value, Unreadable):
            yield f"cannot access member: {m.name} at {m.address:x}"
            continue
        text = ""
        if m.value is not None and m.width in (1, 2, 4, 8):
            hexa = m.pointer or radix == 16
            text = f"  {m.name} = " + (f"{m.value:#x}" if hexa and m.value else
                                        "0x0" if hexa else str(m.value))
        if m.string is not None:
            shown = m.string.decode("latin-1")
            text += f'  "{shown}"' if m.pointer else f'  {m.name} = "{shown}"'
        elif m.text_symbol is not None:
            text += f" <{m.text_symbol}>"
        yield text


def walk_lines(entries: Iterable[WalkEntry], radix: int = 10) -> Iterator[str]:
    """``list`` and ``tree``: each entry's address (``tree -p``: then its position),
    then each structure asked for."""
    for e in entries:
        if e.address_shown:
            yield f"{e.address:x}" if e.hexadecimal else str(e.address)
        if e.position is not None:
            yield e.position
        for s in e.structs:
            if isinstance(s, StructContents):
                yield from struct_lines(s, radix)
            else:
                yield from fast_lines(s, radix)
