"""The C expression subset that `p`, `struct` and `eval` accept.

    init_task.comm        ((struct task_struct *)0xffff...)->pid
    &init_task            *(long *)jiffies_addr       runqueues:1
    sizeof(struct pid)    jiffies + 10                irq_stat:a   (every CPU)

Parsing gives a small tree of tuples; :class:`Evaluator` computes it against
a target, yielding typed :class:`~xcrash.objects.Object` values or plain
integers.
"""
from __future__ import annotations

import re
from typing import Any

from ..errors import CommandError, NoSuchSymbol, XcrashError
from ..objects import Object
from ..symbols.types import VOID, Kind, Type
from ..targets.base import NoSymbols

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<num>0[xX][0-9a-fA-F]+|\d+)[uUlL]*
    | (?P<name>[A-Za-z_$][A-Za-z0-9_$.]*(?:\.\d+)?)
    | (?P<op>->|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^~!()\[\].:<>,])
    )""", re.X)

_TYPE_WORDS = {"struct", "union", "enum", "unsigned", "signed", "char", "short", "int", "long",
               "void", "const", "volatile", "_Bool", "bool", "float", "double"}


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise CommandError(f"cannot parse expression at {text[pos:]!r}")
        pos = m.end()
        if m.group("num"):
            tokens.append(("num", m.group("num")))
        elif m.group("name"):
            # a name token swallows dots ("a.b"): split them back into member accesses,
            # keeping GCC suffixes like crashing_cpu.1 whole
            parts = re.split(r"\.(?!\d+$)", m.group("name"))
            tokens.append(("name", parts[0]))
            for p in parts[1:]:
                tokens.append(("op", "."))
                tokens.append(("name", p))
        else:
            tokens.append(("op", m.group("op")))
    return tokens


class Parser:
    """Recursive descent over C precedence levels (a subset)."""

    _BINARY = [("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", ">", "<=", ">="),
               ("<<", ">>"), ("+", "-"), ("*", "/", "%")]

    def __init__(self, text: str, is_type_name: Any) -> None:
        self.tokens = tokenize(text)
        self.pos = 0
        self.is_type_name = is_type_name

    def peek(self, k: int = 0) -> tuple[str, str] | None:
        i = self.pos + k
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise CommandError(f"expected {value or 'more'} in expression")
        self.pos += 1
        return tok

    def parse(self) -> tuple:
        node = self.binary(0)
        if self.peek() is not None and self.peek() == ("op", ":"):
            self.take(":")
            cpu = self.take()[1]
            node = ("percpu", node, cpu)
        if self.peek() is not None:
            raise CommandError(f"unexpected {self.peek()[1]!r} in expression")
        return node

    def binary(self, level: int) -> tuple:
        if level == len(self._BINARY):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek() is not None and self.peek()[0] == "op" and self.peek()[1] in self._BINARY[level]:
            op = self.take()[1]
            node = ("bin", op, node, self.binary(level + 1))
        return node

    def starts_type(self) -> bool:
        tok = self.peek(1)
        if tok is None:
            return False
        return tok[0] == "name" and (tok[1] in _TYPE_WORDS or self.is_type_name(tok[1]))

    def type_name(self) -> str:
        words = []
        while self.peek() is not None and self.peek()[1] not in (")",):
            words.append(self.take()[1])
        return " ".join(words).replace(" *", "*").replace("*", " *").strip()

    def unary(self) -> tuple:
        tok = self.peek()
        if tok is None:
            raise CommandError("incomplete expression")
        if tok == ("op", "(") and self.starts_type():
            self.take("(")
            tname = self.type_name()
            self.take(")")
            return ("cast", tname, self.unary())
        if tok[0] == "name" and tok[1] == "sizeof":
            self.take()
            if self.peek() == ("op", "(") and self.starts_type():
                self.take("(")
                tname = self.type_name()
                self.take(")")
                return ("sizeof_type", tname)
            return ("sizeof", self.unary())
        if tok[0] == "op" and tok[1] in ("&", "*", "-", "~", "!", "+"):
            self.take()
            return ("unary", tok[1], self.unary())
        return self.postfix()

    def postfix(self) -> tuple:
        node = self.primary()
        while True:
            tok = self.peek()
            if tok == ("op", "."):
                self.take()
                node = ("member", node, self.take()[1])
            elif tok == ("op", "->"):
                self.take()
                node = ("member", node, self.take()[1])
            elif tok == ("op", "["):
                self.take()
                index = self.binary(0)
                self.take("]")
                node = ("index", node, index)
            else:
                return node

    def primary(self) -> tuple:
        kind, value = self.take()
        if kind == "num":
            return ("num", int(value, 0) if not value.startswith("0") or value.lower().startswith("0x")
                    or value == "0" else int(value, 8))
        if kind == "name":
            return ("name", value)
        if value == "(":
            node = self.binary(0)
            self.take(")")
            return node
        raise CommandError(f"unexpected {value!r} in expression")


class Evaluator:
    """Evaluate a parsed expression against a target."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def is_type_name(self, word: str) -> bool:
        try:
            self.target.types.find(word)
            return True
        except XcrashError:
            return False

    def parse(self, text: str) -> tuple:
        return Parser(text, self.is_type_name).parse()

    def evaluate(self, text: str) -> Object | int:
        return self.eval(self.parse(text))

    def eval(self, node: tuple) -> Object | int:
        op = node[0]
        if op == "num":
            return node[1]
        if op == "name":
            return self.name(node[1])
        if op == "member":
            base = self.eval(node[1])
            if not isinstance(base, Object):
                raise CommandError(f"member {node[2]!r} of a plain number")
            return base.member_(node[2])
        if op == "index":
            base = self.eval(node[1])
            if not isinstance(base, Object):
                raise CommandError("index of a plain number")
            return base[int(self.eval(node[2]))]
        if op == "cast":
            t = self.target.types.find(node[1])
            value = self.eval(node[2])
            if isinstance(value, Object):
                return value.cast_(t)
            return Object(self.target, t, value=value) if t.is_integer() or t.is_pointer() \
                else Object(self.target, t, value)
        if op == "sizeof_type":
            return self.target.types.find(node[1]).byte_size
        if op == "sizeof":
            value = self.eval(node[1])
            return value.type_.byte_size if isinstance(value, Object) else 8
        if op == "unary":
            if node[1] == "&":
                return self.address(node[2])
            return self.unary(node[1], self.eval(node[2]))
        if op == "bin":
            return self.binary(node[1], self.eval(node[2]), self.eval(node[3]))
        if op == "percpu":
            value = self.eval(node[1])
            if not isinstance(value, Object) or value.address_ is None:
                raise CommandError("per-CPU suffix needs a variable")
            cpu = int(node[2], 0)
            return self.target.object_at(value.type_, self.target.per_cpu_address(value.address_, cpu))
        raise CommandError(f"cannot evaluate {op}")

    def name(self, name: str) -> Object | int:
        try:
            return self.target.object(name)
        except (NoSuchSymbol, NoSymbols):
            raise
        except XcrashError:
            sym = self.target.symbol(name)
            if sym.type_char in "tTwW":
                # a function: typed by its prototype when DWARF has it, else its address
                symfile = self.target.symfile
                ftype = symfile.function_type(name) if symfile is not None else None
                if ftype is not None:
                    return Object(self.target, ftype, sym.address)
                return sym.address
            raise CommandError(
                f"'{name}' has unknown type (no DWARF type for it in the symbol file); "
                f"cast it to its declared type, e.g. p *(unsigned long *)&{name}") from None

    def address(self, node: tuple) -> Object | int:
        """``&x``: also for a variable whose type is unknown (a ``void *``)."""
        if node[0] == "name":
            try:
                return self.eval(node).address_of_()  # type: ignore[union-attr]
            except (CommandError, AttributeError):
                addr = self.target.address_of(node[1])
                return Object(self.target, self.target.pointer_type(VOID), value=addr)
        value = self.eval(node)
        if isinstance(value, Object):
            return value.address_of_()
        raise CommandError("& of a plain number")

    def unary(self, op: str, value: Object | int) -> Object | int:
        if op == "&":
            if isinstance(value, Object):
                return value.address_of_()
            raise CommandError("& of a plain number")
        if op == "*":
            if isinstance(value, Object) and value.type_.is_pointer():
                return value.deref_()
            raise CommandError("* of something that is not a pointer")
        v = int(value)
        return {"-": -v, "~": ~v, "!": int(not v), "+": v}[op]

    def binary(self, op: str, a: Object | int, b: Object | int) -> Object | int:
        if op in ("+", "-") and isinstance(a, Object) and a.type_.is_pointer() and not (
                isinstance(b, Object) and b.type_.is_pointer()):
            step = max(a.type_.strip_typedefs().target.byte_size, 1)
            delta = int(b) * step
            return Object(a.prog_, a.type_, value=int(a) + (delta if op == "+" else -delta))
        x, y = int(a), int(b)
        try:
            return {
                "+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y,
                "/": lambda: x // y, "%": lambda: x % y, "<<": lambda: x << y,
                ">>": lambda: x >> y, "&": lambda: x & y, "|": lambda: x | y,
                "^": lambda: x ^ y, "==": lambda: int(x == y), "!=": lambda: int(x != y),
                "<": lambda: int(x < y), ">": lambda: int(x > y), "<=": lambda: int(x <= y),
                ">=": lambda: int(x >= y), "&&": lambda: int(bool(x) and bool(y)),
                "||": lambda: int(bool(x) or bool(y)),
            }[op]()
        except ZeroDivisionError:
            raise CommandError("division by zero") from None


def is_plain_symbol(text: str) -> bool:
    return re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*(\.\d+)?", text.strip()) is not None


def type_kind_word(t: Type) -> str:
    return {Kind.STRUCT: "struct", Kind.UNION: "union"}.get(t.strip_typedefs().kind, "")
