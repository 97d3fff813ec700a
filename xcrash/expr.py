"""The C expression subset that ``p``, ``struct``, ``eval`` and addresses in
parentheses accept.

    init_task.comm        ((struct task_struct *)0xffff...)->pid
    &init_task            *(long *)jiffies_addr       runqueues:1
    sizeof(struct pid)    jiffies + 10                (1 << 12) - 1

Parsing gives a small tree of tuples; :class:`Evaluator` computes it against a
target, yielding typed :class:`~xcrash.objects.Object` values or plain integers.
Integer arithmetic is C's on 64 bits: a result wraps to 64 bits, a literal that
does not fit is refused.  Every malformed input is a :class:`CommandError` (one
line), never another exception.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import CommandError, NoSuchType
from .objects import Object
from .symbols.types import VOID, Kind, Type
from .targets.base import NoSymbols
from .targets.linux.kernel import LinuxTarget
from .targets.xen.hypervisor import XenTarget

if TYPE_CHECKING:
    from .targets.base import Target

#: a parsed expression: ("num", n), ("name", s), ("member", node, s), ...
Node = tuple[Any, ...]

MASK = (1 << 64) - 1

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<num>0[xX][0-9a-fA-F]+|\d+)[uUlL]*
    | (?P<name>[A-Za-z_$][A-Za-z0-9_$.]*(?:\.\d+)?)
    | (?P<op>->|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^~!()\[\].:<>,])
    )""", re.X)

_TYPE_WORDS = {"struct", "union", "enum", "unsigned", "signed", "char", "short", "int", "long",
               "void", "const", "volatile", "_Bool", "bool", "float", "double"}


class UnknownType(CommandError):
    """A symbol whose type the symbol file does not give."""


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


def number(text: str) -> int:
    """A C integer literal: ``0x`` hex, a leading 0 octal, else decimal (suffixes
    already dropped); it must fit in 64 bits."""
    try:
        if text.lower().startswith("0x"):
            value = int(text, 16)
        elif text.startswith("0") and text != "0":
            value = int(text, 8)
        else:
            value = int(text, 10)
    except ValueError:
        raise CommandError(f"invalid number {text!r}") from None
    if value > MASK:
        raise CommandError(f"numeric constant too large: {text}")
    return value


class Parser:
    """Recursive descent over C precedence levels (a subset)."""

    _BINARY = [("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", ">", "<=", ">="),
               ("<<", ">>"), ("+", "-"), ("*", "/", "%")]

    def __init__(self, text: str, is_type_name: Callable[[str], bool]) -> None:
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

    def parse(self) -> Node:
        node = self.binary(0)
        if self.peek() == ("op", ":"):
            self.take(":")
            kind, cpu = self.take()
            if kind != "num":
                raise CommandError(f"invalid cpu specification: {cpu}")
            node = ("percpu", node, number(cpu))
        tok = self.peek()
        if tok is not None:
            raise CommandError(f"unexpected {tok[1]!r} in expression")
        return node

    def binary(self, level: int) -> Node:
        if level == len(self._BINARY):
            return self.unary()
        node = self.binary(level + 1)
        while True:
            tok = self.peek()
            if tok is None or tok[0] != "op" or tok[1] not in self._BINARY[level]:
                return node
            self.take()
            node = ("bin", tok[1], node, self.binary(level + 1))

    def starts_type(self) -> bool:
        tok = self.peek(1)
        if tok is None:
            return False
        return tok[0] == "name" and (tok[1] in _TYPE_WORDS or self.is_type_name(tok[1]))

    def type_name(self) -> str:
        words = []
        while (tok := self.peek()) is not None and tok[1] != ")":
            words.append(self.take()[1])
        return " ".join(words).replace(" *", "*").replace("*", " *").strip()

    def unary(self) -> Node:
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

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            tok = self.peek()
            if tok in (("op", "."), ("op", "->")):
                self.take()
                kind, name = self.take()
                if kind != "name":
                    raise CommandError(f"expected a member name, not {name!r}")
                node = ("member", node, name)
            elif tok == ("op", "["):
                self.take()
                index = self.binary(0)
                self.take("]")
                node = ("index", node, index)
            else:
                return node

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            return ("num", number(value))
        if kind == "name":
            return ("name", value)
        if value == "(":
            node = self.binary(0)
            self.take(")")
            return node
        raise CommandError(f"unexpected {value!r} in expression")


def _wrap(value: int) -> int:
    """A result as C's 64-bit arithmetic leaves it (negative results kept signed)."""
    return value if -(1 << 63) <= value <= MASK else value & MASK


def _c_division(x: int, y: int) -> int:
    """C's integer division: the quotient truncated toward zero."""
    q = abs(x) // abs(y)
    return q if (x < 0) == (y < 0) else -q


def _integer_of(value: int, t: Type) -> int:
    """An integer converted to the integer or pointer type ``t`` (C's truncation)."""
    s = t.strip_typedefs()
    bits = 8 * (s.size or 8)
    v = value & ((1 << bits) - 1)
    if s.kind is not Kind.POINTER and s.signed and v >> (bits - 1):
        v -= 1 << bits
    return v


class Evaluator:
    """Evaluate a parsed expression against a target.  With ``addresses``, a name
    stands for its symbol's address (crash's ``eval``), not for the variable."""

    def __init__(self, target: Target, *, addresses: bool = False,
                 history: Callable[[str], Object | int] | None = None) -> None:
        self.target = target
        self.addresses = addresses
        #: gdb's value history: ``$N``, ``$``, ``$$``, ``$$N`` (None: no history here)
        self.history = history

    def is_type_name(self, word: str) -> bool:
        try:
            self.target.types.find(word)
            return True
        except (NoSuchType, NoSymbols):
            return False            # a probe: not a type of this symbol file

    def parse(self, text: str) -> Node:
        return Parser(text, self.is_type_name).parse()

    def evaluate(self, text: str) -> Object | int:
        return self.eval(self.parse(text))

    def type(self, name: str) -> Type:
        try:
            return self.target.types.find(name)
        except NoSuchType:
            raise CommandError(f"no type {name!r}") from None

    def eval(self, node: Node) -> Object | int:
        op = node[0]
        if op == "num":
            return int(node[1])
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
            return base[_wrap(int(self.eval(node[2])))]
        if op == "cast":
            return self.cast(self.type(node[1]), self.eval(node[2]))
        if op == "sizeof_type":
            return self.type(node[1]).byte_size
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
            return self.per_cpu(value, node[2])
        raise CommandError(f"cannot evaluate {op}")

    def cast(self, t: Type, value: Object | int) -> Object:
        scalar = t.is_integer() or t.is_pointer()
        if isinstance(value, Object):
            if scalar and value.type_.is_aggregate():
                raise CommandError(f"invalid cast of {value.type_.display_name()} to "
                                   f"{t.display_name()}")
            return value.cast_(t)
        if scalar:
            return Object(self.target, t, value=_integer_of(value, t))
        return Object(self.target, t, value & MASK)     # an aggregate at that address

    def per_cpu(self, value: Object, cpu: int) -> Object:
        """CPU ``cpu``'s copy of the per-CPU variable ``value``."""
        target = self.target
        if not isinstance(target, (LinuxTarget, XenTarget)):
            raise CommandError(f"{target.name} has no per-CPU data")
        assert value.address_ is not None
        if not 0 <= cpu < max(len(target.per_cpu_offsets), 1):
            raise CommandError(f"invalid cpu specification: {cpu}")
        return target.object_at(value.type_, target.per_cpu_address(value.address_, cpu))

    def name(self, name: str) -> Object | int:
        if name.startswith("$") and self.history is not None:
            return self.history(name)
        if self.addresses:
            return self.target.address_of(name)
        try:
            return self.target.object(name)
        except NoSuchType:
            pass                    # a symbol without a variable type: a function, or untyped
        sym = self.target.symbol(name)
        if sym.type_char in "tTwW":
            # a function: typed by its prototype when DWARF has it, else its address
            ftype = self.target.function_type(name)
            if ftype is not None:
                return Object(self.target, ftype, sym.address)
            return int(sym.address)
        raise UnknownType(
            f"'{name}' has unknown type (no DWARF type for it in the symbol file); "
            f"cast it to its declared type, e.g. p *(unsigned long *)&{name}")

    def address(self, node: Node) -> Object:
        """``&x``: also for a symbol whose type is unknown (a ``void *``)."""
        if node[0] == "name":
            try:
                value: Object | int | None = self.eval(node)
            except UnknownType:
                value = None        # an untyped symbol: its address is still known
            if isinstance(value, Object) and value.address_ is not None:
                return value.address_of_()
            addr = self.target.address_of(node[1])
            return Object(self.target, self.target.pointer_type(VOID), value=addr)
        value = self.eval(node)
        if isinstance(value, Object):
            return value.address_of_()
        raise CommandError("& of a plain number")

    def unary(self, op: str, value: Object | int) -> Object | int:
        if op == "*":
            if isinstance(value, Object) and value.type_.is_pointer():
                return value.deref_()
            if isinstance(value, Object) and value.type_.strip_typedefs().kind is Kind.FUNCTION:
                return value            # C: *function is the function
            raise CommandError("* of something that is not a pointer")
        v = int(value)
        return _wrap({"-": -v, "~": ~v, "!": int(not v), "+": v}[op])

    def binary(self, op: str, a: Object | int, b: Object | int) -> Object | int:
        if op in ("+", "-") and isinstance(a, Object) and a.type_.is_pointer() and not (
                isinstance(b, Object) and b.type_.is_pointer()):
            step = max(a.type_.strip_typedefs().target.byte_size, 1)
            delta = int(b) * step
            return Object(a.prog_, a.type_, value=(int(a) + (delta if op == "+" else -delta)) & MASK)
        x, y = int(a), int(b)
        if op in ("<<", ">>"):
            if y < 0:
                raise CommandError(f"negative shift count {y}")
            if y >= 64:
                return 0
        if op in ("/", "%") and y == 0:
            raise CommandError("division by zero")
        result = {
            "+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y,
            "/": lambda: _c_division(x, y), "%": lambda: x - y * _c_division(x, y),
            "<<": lambda: x << y, ">>": lambda: x >> y, "&": lambda: x & y,
            "|": lambda: x | y, "^": lambda: x ^ y, "==": lambda: int(x == y),
            "!=": lambda: int(x != y), "<": lambda: int(x < y), ">": lambda: int(x > y),
            "<=": lambda: int(x <= y), ">=": lambda: int(x >= y),
            "&&": lambda: int(bool(x) and bool(y)), "||": lambda: int(bool(x) or bool(y)),
        }[op]()
        return _wrap(result)


def is_plain_symbol(text: str) -> bool:
    return re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*(\.\d+)?", text.strip()) is not None


def is_percpu_symbol(target: Target, name: str) -> bool:
    """Whether the variable ``name`` is per-CPU (in the kernel's ``.data..percpu``,
    or one of the hypervisor's ``per_cpu__`` variables).  A symbol table that cannot
    tell (kallsyms) takes it as per-CPU: the caller asked for a CPU's copy."""
    if isinstance(target, XenTarget):
        return name.startswith("per_cpu__")
    sym = target.symbol(name)
    in_percpu = getattr(target.symbols, "in_percpu_section", None)
    return True if in_percpu is None else bool(in_percpu(sym))
