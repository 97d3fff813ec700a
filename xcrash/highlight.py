"""Syntax colours for ``dis`` listings and ``struct``/``p`` values, on a
terminal only: piped, redirected and batch output stays crash's plain text,
and ``set color off`` or ``NO_COLOR`` turn this off as they do rich's colours.

pygments is imported here, when something is highlighted, and nowhere else.
Highlighting adds escape sequences only: without them the text is unchanged.
"""
from __future__ import annotations

from typing import Any

#: which commands' text is highlighted, and as what
KINDS = {"dis": "asm", "p": "value", "print": "value", "px": "value", "pd": "value",
         "struct": "value", "union": "value", "whatis": "value", "task": "value",
         "ptype": "value"}

_lexers: dict[str, Any] = {}


def kind_of(command: str | None) -> str | None:
    return KINDS.get(command or "")


def highlight(text: str, kind: str) -> str:
    """``text`` with ANSI colours for ``kind`` ("asm" or "value")."""
    if not text or kind not in ("asm", "value"):
        return text
    from pygments import highlight as pyg_highlight
    from pygments.formatters import TerminalFormatter
    lexer = _lexers.get(kind)
    if lexer is None:
        lexer = _lexers[kind] = (_dis_lexer() if kind == "asm" else _value_lexer())
    out = pyg_highlight(text, lexer, TerminalFormatter(bg="dark"))
    if not text.endswith("\n") and out.endswith("\n"):
        out = out[:-1]
    return out


def _options() -> dict[str, Any]:
    return {"stripnl": False, "stripall": False, "ensurenl": False}


def _dis_lexer() -> Any:
    """``0xADDR <sym+off>:<TAB>mnemonic operands`` (crash's ``dis``): the address
    and symbol as such, the instruction through pygments' GasLexer (AT&T)."""
    from pygments.lexer import RegexLexer, bygroups, using
    from pygments.lexers.asm import GasLexer
    from pygments.token import Comment, Name, Number, Punctuation, Text

    class DisLexer(RegexLexer):
        name = "xcrash dis"
        tokens = {
            "root": [
                (r"^(0x[0-9a-fA-F]+)(\s*)(<[^>\n]*>)?(:)",
                 bygroups(Number.Hex, Text, Name.Label, Punctuation), "insn"),
                (r"^\S+\.\w+: \d+\n", Comment),        # dis -l: file: line
                (r".*\n", Text),
                (r".+", Text),
            ],
            "insn": [
                (r"(\s*)(<[^>\n]*>)", bygroups(Text, Name.Label)),
                (r"[^<\n]+", using(GasLexer)),
                (r"<", Text),
                (r"\n", Text, "#pop"),
            ],
        }

    return DisLexer(**_options())


def _value_lexer() -> Any:
    """gdb-style values (``$1 = {  member = 0x..., ... }``) and struct layouts
    (``struct list_head { struct list_head *next; }``)."""
    from pygments.lexer import RegexLexer, bygroups, words
    from pygments.token import Keyword, Name, Number, Operator, Punctuation, String, Text

    class ValueLexer(RegexLexer):
        name = "xcrash value"
        tokens = {
            "root": [
                (r"\$\d+", Name.Variable),
                (r'"(?:[^"\\\n]|\\.)*"', String),
                (r"'(?:[^'\\\n]|\\.)*'", String.Char),
                (r"<[^<>\n]*>", Name.Label),
                (r"(\s*)([A-Za-z_]\w*)(\s=\s)", bygroups(Text, Name.Attribute, Operator)),
                (words(("struct", "union", "enum", "typedef", "unsigned", "signed", "char",
                        "short", "int", "long", "void", "const", "volatile", "_Bool", "bool",
                        "float", "double"), suffix=r"\b"), Keyword.Type),
                (r"\b(SIZE|OFFSET)(?=:)", Keyword),
                (r"-?0x[0-9a-fA-F]+\b", Number.Hex),
                (r"-?\d+(\.\d+)?\b", Number),
                (r"[A-Za-z_]\w*", Text),
                (r"[{}()\[\],;:*&]", Punctuation),
                (r"=", Operator),
                (r"\s+", Text),
                (r".", Text),
            ],
        }

    return ValueLexer(**_options())
