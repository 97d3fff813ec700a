"""Print typed values the way crash (that is, gdb's pretty printer) prints them.

    struct task_struct {
      __state = 0,
      comm = "swapper/0\\000\\000\\000\\000\\000\\000",
      ...
    }

Rules kept from gdb: a char array is shown as a string with its last NUL
dropped and NUL runs longer than 10 folded into ``'\\000' <repeats N times>``;
pointers are hex with ``<symbol>`` when they point at one; enums by name;
nested aggregates indented by two spaces per level.
"""
from __future__ import annotations

from typing import Any, Callable

from ..errors import MemoryError_, XcrashError
from ..objects import Object
from ..symbols.types import Kind, Type

REPEAT_THRESHOLD = 10
#: gdb's default `print elements` limit
ELEMENT_LIMIT = 200


def _char(b: int) -> str:
    if b == 0:
        return "\\000"
    if b == 0x22:
        return '\\"'
    if b == 0x5C:
        return "\\\\"
    if 32 <= b < 127:
        return chr(b)
    named = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 27: "\\033"}
    return named.get(b, f"\\{b:03o}")


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


class ValueFormatter:
    """Formats Objects; ``describe`` turns an address into ``symbol`` text."""

    def __init__(self, describe: Callable[[int], str | None], radix: int = 10) -> None:
        self.describe = describe
        self.radix = radix
        self.expand_repeats = True

    def integer(self, v: int, t: Type) -> str:
        if self.radix == 16:
            return hex(v & ((1 << (8 * (t.size or 8))) - 1)) if v < 0 else hex(v)
        return str(v)

    def pointer(self, v: int, t: Type) -> str:
        text = hex(v)
        where = self.describe(v) if v else None
        if where:
            text += f" <{where}>"
        return text

    def scalar(self, obj: Object) -> str:
        t = obj.type_.strip_typedefs()
        if t.kind is Kind.POINTER:
            v = obj.value_()
            text = self.pointer(v, t)
            tgt = t.target.strip_typedefs()
            if tgt.kind is Kind.INT and tgt.size == 1 and v:
                try:
                    text += " " + format_string(obj.prog_.space.read_cstring(v, ELEMENT_LIMIT))
                except MemoryError_:
                    text += f" <error: Cannot access memory at address {v:#x}>"
            return text
        if t.kind is Kind.ENUM:
            v = obj.value_()
            for name, value in t.enumerators or ():
                if value == v:
                    return name
            return str(v)
        if t.kind is Kind.INT and t.encoding == "bool":
            return "true" if obj.value_() else "false"
        if t.kind is Kind.INT and t.encoding == "char" and t.size == 1:
            v = obj.value_()
            return f"{v} '{_char(v & 0xFF)}'"
        if t.kind is Kind.FLOAT:
            return repr(obj.value_())
        if t.kind is Kind.FUNCTION:
            addr = obj.address_ or 0
            return f"{{{obj.type_.display_name()}}} {addr:#x} <{self.describe(addr) or '?'}>"
        return self.integer(obj.value_(), t)

    def value(self, obj: Object, indent: int = 0) -> str:
        """The value part of ``name = value``, possibly multi-line."""
        try:
            t = obj.type_.strip_typedefs()
            if t.kind in (Kind.STRUCT, Kind.UNION):
                return self.aggregate(obj, indent)
            if t.kind is Kind.ARRAY:
                return self.array(obj, indent)
            return self.scalar(obj)
        except MemoryError_ as err:
            return f"<error: Cannot access memory at address {err.address:#x}>"

    def aggregate(self, obj: Object, indent: int) -> str:
        t = obj.type_.strip_typedefs()
        pad = "  " * (indent + 1)
        lines = ["{"]
        members = t.members or []
        if not members:
            return "{<No data fields>}"
        for i, m in enumerate(members):
            comma = "," if i < len(members) - 1 else ""
            if m.name is None:
                inner = Object(obj.prog_, m.type, obj.address_ + m.bit_offset // 8)
                lines.append(f"{pad}{self.value(inner, indent + 1)}{comma}")
                continue
            sub = obj.member_(m.name)
            lines.append(f"{pad}{m.name} = {self.value(sub, indent + 1)}{comma}")
        lines.append("  " * indent + "}")
        return "\n".join(lines)

    def array(self, obj: Object, indent: int) -> str:
        t = obj.type_.strip_typedefs()
        elem = t.target.strip_typedefs()
        if elem.kind is Kind.INT and elem.size == 1 and t.length is not None:
            return format_char_array(obj.read_())
        if t.length is None:
            if elem.kind is Kind.INT and elem.size == 1 and obj.address_ is not None:
                where = self.describe(obj.address_)
                sym = f" <{where}>" if where else ""
                return (f"{obj.address_:#x}{sym} "
                        + format_string(obj.prog_.space.read_cstring(obj.address_, 1024)))
            return "0x%x" % (obj.address_ or 0)
        n = t.length
        if n == 0:
            return "{}"
        if elem.kind in (Kind.STRUCT, Kind.UNION, Kind.ARRAY):
            # gdb indents the members of array elements one level deeper
            items = [self.value(obj[i], indent + 1) for i in range(min(n, ELEMENT_LIMIT))]
            return "{" + ", ".join(items) + "}"
        values = [self.scalar(obj[i]) for i in range(min(n, ELEMENT_LIMIT))]
        out: list[str] = []
        i = 0
        while i < len(values):
            j = i
            while j < len(values) and values[j] == values[i]:
                j += 1
            run = j - i
            # crash's embedded gdb does not fold runs in non-char arrays
            # (`task` shows st_space = {65535, 0, 0, ...} in full)
            if run >= REPEAT_THRESHOLD and not self.expand_repeats:
                out.append(f"{values[i]} <repeats {run} times>")
            else:
                out.extend(values[i:j])
            i = j
        return "{" + ", ".join(out) + ("..." if n > ELEMENT_LIMIT else "") + "}"


def member_of(obj: Object, path: str) -> Object:
    """The member at a dotted path (``se.on_rq``) of an object."""
    for part in path.split("."):
        obj = obj.member_(part)
    return obj


def member_line(fmt: "ValueFormatter", path: str, value: Object) -> str:
    """``  name = value,`` as crash prints each member of ``struct x.a,b`` (a nested
    member keeps its path: ``  irq_data.irq = 0,``)."""
    return f"  {path} = {fmt.value(value, 1)},"


def format_value_or_error(fn: Callable[[], str]) -> str:
    try:
        return fn()
    except XcrashError as err:
        return f"<error: {err}>"


def print_name(type: Type) -> str:
    """How a struct/union header is written: ``struct task_struct``."""
    return type.display_name()


def value_as_python(obj: Object) -> Any:
    """JSON-able Python data for an object, for --json output (a function: its address)."""
    if obj.type_.strip_typedefs().kind is Kind.FUNCTION:
        return obj.address_
    try:
        v = obj.value_()
    except XcrashError as err:
        return {"error": str(err)}
    if isinstance(v, bytes):
        return v.decode("latin-1")
    return v
