"""Types by C name, from BTF first and DWARF for what BTF lacks.

Accepts what a user types: ``task_struct``, ``struct task_struct``,
``union x``, ``enum x``, typedef names, base types in any C spelling
(``unsigned long`` finds DWARF's and BTF's ``long unsigned int``), qualifiers
and trailing ``*``.
"""
from __future__ import annotations

from typing import Protocol
from collections.abc import Callable

from .. import trace
from ..errors import NoSuchType
from .types import VOID, Kind, Type


class TypeSource(Protocol):
    def find(self, key: str) -> Type | None: ...

    def names(self) -> list[str]: ...


# canonical GCC spelling and size of the C base types (x86_64)
_BASE = {
    "char": ("char", 1, True), "signed char": ("signed char", 1, True),
    "unsigned char": ("unsigned char", 1, False),
    "short": ("short int", 2, True), "unsigned short": ("short unsigned int", 2, False),
    "int": ("int", 4, True), "unsigned int": ("unsigned int", 4, False),
    "long": ("long int", 8, True), "unsigned long": ("long unsigned int", 8, False),
    "long long": ("long long int", 8, True),
    "unsigned long long": ("long long unsigned int", 8, False),
    "_Bool": ("_Bool", 1, False), "float": ("float", 4, False), "double": ("double", 8, False),
    "long double": ("long double", 16, False),
    "__int128": ("__int128", 16, True), "unsigned __int128": ("__int128 unsigned", 16, False),
}
_TAGS = ("struct", "union", "enum")


def base_type_key(words: list[str]) -> str | None:
    """The _BASE key of a base type spelt with any order of C's words, or None."""
    unsigned = words.count("unsigned")
    signed = words.count("signed")
    rest = [w for w in words if w not in ("signed", "unsigned", "int")]
    if not words or unsigned + signed > 1 or len(rest) > 2:
        return None
    core = " ".join(rest)
    if core == "" and ("int" in words or unsigned or signed):
        core = "int"
    elif "int" in words and core not in ("short", "long", "long long"):
        return None
    if core == "char":
        return "signed char" if signed else "unsigned char" if unsigned else "char"
    if core not in ("short", "int", "long", "long long", "_Bool", "float", "double",
                    "long double", "__int128"):
        return None
    if core in ("_Bool", "float", "double", "long double") and (signed or unsigned):
        return None
    return f"unsigned {core}" if unsigned else core


def _in_source(source: TypeSource, words: list[str]) -> Type | None:
    if words[0] in _TAGS:
        return source.find(f"{words[0]} {words[1]}") if len(words) == 2 else None
    text = " ".join(words)
    if len(words) == 1:
        t = source.find(text)
        if t is not None:
            return t
    key = base_type_key(words)
    if key is not None:
        canonical = _BASE[key][0]
        return source.find(canonical) or source.find(key)
    if len(words) == 1:                 # "task_struct" for "struct task_struct", as crash
        for tag in _TAGS:
            t = source.find(f"{tag} {text}")
            if t is not None:
                return t
    return None


class TypeIndex:
    """Finds types by name in the sources of one symbol file, in order."""

    def __init__(self, sources: list[tuple[str, Callable[[], TypeSource | None]]]) -> None:
        self._sources = sources          # (label, loader); a loader may return None
        self._loaded: dict[str, TypeSource | None] = {}
        self._made: dict[str, Type] = {}
        #: names already looked up (helpers ask for the same types in their loops)
        self._found: dict[str, Type | None] = {}

    def extended(self, label: str, loader: Callable[[], TypeSource | None]) -> TypeIndex:
        """This index with one more source, asked last."""
        return TypeIndex([*self._sources, (label, loader)])

    def _source(self, label: str, loader: Callable[[], TypeSource | None]) -> TypeSource | None:
        if label not in self._loaded:
            # while it loads it answers nothing: a loader may itself look types up
            self._loaded[label] = None
            loaded = False
            try:
                source = loader()
                loaded = True
            finally:
                if loaded:
                    self._loaded[label] = source
                else:
                    del self._loaded[label]     # it failed: the next look-up tries again
        return self._loaded[label]

    def find(self, name: str) -> Type:
        """The type called ``name``; NoSuchType if there is none."""
        t = self.get(name)
        if t is None:
            raise NoSuchType(name)
        return t

    def get(self, name: str) -> Type | None:
        if trace._active is None:       # explain mode records each lookup: no shortcut
            try:
                return self._found[name]
            except KeyError:
                t = self._found[name] = self._get(name)
                return t
        return self._get(name)

    def _get(self, name: str) -> Type | None:
        text = name.strip()
        pointers = 0
        while text.endswith("*"):
            pointers += 1
            text = text[:-1].rstrip()
        words = text.split()
        quals = frozenset(w for w in words if w in ("const", "volatile"))
        words = [w for w in words if w not in ("const", "volatile")]
        if not words or any("*" in w for w in words):
            return None
        t = self._named(words)
        if t is None:
            return None
        t = t.qualified(quals)
        for _ in range(pointers):
            t = Type(Kind.POINTER, None, 8, target=t)
        return t

    def _named(self, words: list[str]) -> Type | None:
        if words == ["void"]:
            return VOID
        for label, loader in self._sources:
            source = self._source(label, loader)
            if source is None:
                continue
            t = _in_source(source, words)
            if t is not None:
                trace.record("type", " ".join(words), source=label, size=t.size)
                return t
        key = base_type_key(words)
        return None if key is None else self._base_type(key)

    def _base_type(self, key: str) -> Type:
        """A base type no source defines, made from its C spelling."""
        canonical, size, signed = _BASE[key]
        made = self._made.get(canonical)
        if made is None:
            encoding = "bool" if key == "_Bool" else "char" if "char" in key else "int"
            kind = Kind.FLOAT if key in ("float", "double", "long double") else Kind.INT
            made = self._made[canonical] = Type(kind, canonical, size, signed=signed,
                                                encoding=encoding)
        return made

    def names(self) -> list[str]:
        """Struct, union, enum, typedef and base type names, for completion.

        Only the first source that can be loaded is asked (BTF when present):
        listing DWARF's names may mean building its index."""
        for label, loader in self._sources:
            source = self._source(label, loader)
            if source is not None:
                return source.names()
        return []
