"""``struct -p``: a structure with each pointer member followed to what it points at,
as crash's dereference_pointer writes it::

      struct task_struct *parent = 0xffffffffa6214600
      -> <init_task> {
           thread_info = {
           ...
         }

A function pointer shows its symbol, a ``char *`` its string, a ``void *`` its
symbol (or ``(unknown target type)``), a pointer to a pointer the value there, and
any other what gdb's ``p`` prints of the pointee, indented five more columns.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..caveats import Unreadable
from ..targets.derefs import Deref
from ..targets.values import StructContents
from .values import member_line, top_value_text, value_text


def deref_lines(d: Deref, radix: int = 10) -> Iterator[str]:
    sym = f"<{d.symbol}>" if d.symbol else ""
    if d.how == "func":
        yield f"  {d.declared} = {d.value:#x}"
        yield "  -> " + (sym or ("(unknown)" if d.value else "NULL"))
        return
    if d.how == "char":
        yield f"  {d.declared}{d.member} = {d.value:#x}"
        head = "  -> " + (sym + " " if sym else "")
        if not d.value:
            yield head + "NULL"
        elif not d.accessible or not isinstance(d.string, bytes):
            yield head + "(not accessible)"
        else:
            yield head + '"' + d.string.decode("latin-1") + '"'
        return
    if d.how == "void" and d.pointee is None:
        yield f"  {d.declared}{d.member} = {d.value:#x}"
        yield "  -> " + (sym or ("NULL" if not d.value else "(unknown target type)"))
        return
    if d.how in ("null", "inaccessible"):
        yield f"  {d.declared}{' ' if d.typedef_pointer else ''}{d.member} = {d.value:#x}"
        yield "  -> " + ("NULL" if d.how == "null" else "(not accessible)")
        return
    if d.how == "pointer":
        yield f"  {d.declared}{d.member} = {d.value:#x}"
        shown = "" if isinstance(d.pointed, Unreadable) or d.pointed is None else \
            f"{d.pointed:x}"
        yield "  -> " + (sym + " " if sym else "") + shown
        return
    base = d.declared if d.typedef_pointer else d.declared.rstrip("*").rstrip()
    yield f"  {base} {'' if d.typedef_pointer else '*'}{d.member} = {d.value:#x}"
    assert d.pointee is not None
    text = top_value_text(d.pointee, radix).split("\n")
    head = "  -> " + (sym + " " if sym else "")
    if (d.typedef_pointer or d.symbol) and "(" in text[0] and ")" in text[0]:
        yield head
        return
    yield head + text[0]
    yield from ("     " + line for line in text[1:])


def deref_struct_lines(records: Iterable[StructContents], radix: int = 10) -> Iterator[str]:
    """The structure whole (``struct x {`` ... ``}``) or its members, a pointer member
    replaced by its dereference."""
    for r in records:
        members = r.members or []
        if r.whole:
            yield f"{r.type} {{"
        for m in members:
            d = r.derefs.get(m.name) if m.name is not None else None
            if d is not None:
                yield from deref_lines(d, radix)
            elif r.whole:
                shown = value_text(m, 1, radix)
                comma = "," if m is not members[-1] else ""
                text = f"  {shown}{comma}" if m.name is None else f"  {m.name} = {shown}{comma}"
                yield from text.split("\n")
            else:
                yield from member_line(m, radix).split("\n")
        if r.whole:
            yield "}"
