"""Type definitions printed as crash's `whatis`/`struct` print them (gdb's ptype)."""
from __future__ import annotations

from ..symbols.types import Kind, Member, Type, declaration

INDENT = "    "


def _member_decl(m: Member, depth: int, offsets: bool, base: int, width: int) -> list[str]:
    pad = INDENT * depth
    t = m.type
    prefix = ""
    if offsets:
        prefix = f"[{(base + m.bit_offset) // 8}]".rjust(width) + " "
        pad = pad[:-4] + "   " if depth == 1 else pad
    inner = t.strip_typedefs() if t.kind is not Kind.TYPEDEF else t
    if inner.kind in (Kind.STRUCT, Kind.UNION) and not inner.name:
        body = _body(inner, depth + 1, offsets, base + m.bit_offset, width)
        kw = "struct" if inner.kind is Kind.STRUCT else "union"
        tail = f" {m.name};" if m.name else ";"
        return [f"{pad}{prefix}{kw} {{", *body, f"{INDENT * depth}}}{tail}"]
    text = declaration(t, m.name or "")
    if m.bit_size:
        text += f" : {m.bit_size}"
    return [f"{pad}{prefix}{text};"]


def _body(t: Type, depth: int, offsets: bool, base: int, width: int) -> list[str]:
    lines: list[str] = []
    for m in t.members or ():
        lines.extend(_member_decl(m, depth, offsets, base, width))
    return lines


def definition(t: Type, *, offsets: bool = False, size: bool = True) -> str:
    """``struct pid {...}`` followed by ``SIZE: n`` for structs, unions and enums."""
    s = t.strip_typedefs()
    lines: list[str] = []
    if s.kind in (Kind.STRUCT, Kind.UNION):
        head = declaration(s, "")
        if s.members is None:
            return f"{head};\n(incomplete type: only declared in this symbol file)"
        width = len(f"[{s.byte_size}]") + 2 if offsets else 0
        lines.append(f"{head} {{")
        lines.extend(_body(s, 1, offsets, 0, width))
        lines.append("}")
    elif s.kind is Kind.ENUM:
        lines.append(f"{declaration(s, '')} {{")
        for name, value in s.enumerators or ():
            lines.append(f"{INDENT}{name} = {value},")
        lines.append("};")
    else:
        lines.append(declaration(t, "") + ";")
        if t.kind is Kind.TYPEDEF:
            return f"typedef {declaration(t.target, t.name or '')};" + (
                f"\nSIZE: {t.byte_size}" if size else "")
    if size:
        lines.append(f"SIZE: {s.byte_size}")
    return "\n".join(lines)
