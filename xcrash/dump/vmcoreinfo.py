"""VMCOREINFO (Linux) and VMCOREINFO_XEN text: ``KEY=VALUE`` lines.

Value formats follow the kernel's macros: ``SYMBOL(x)`` and ``KERNELOFFSET``
are hex without ``0x``; ``NUMBER(x)`` is *signed* decimal (``phys_base`` can
be negative); ``SIZE``/``OFFSET``/``LENGTH``/``PAGESIZE``/``CRASHTIME`` are
decimal.  Every key is kept, unknown ones included.  Lines without ``=`` are
junk and skipped; the text ends at the first NUL (Xen pads its note).
Accessors return ``None`` for a key that is absent or whose value does not
parse, so callers decide what a missing fact means.
"""
from __future__ import annotations

from collections.abc import Iterator


class VmcoreInfo:
    """Parsed VMCOREINFO text; see the module docstring for value formats."""

    def __init__(self, text: str | bytes) -> None:
        if isinstance(text, (bytes, bytearray, memoryview)):
            raw = bytes(text)
            nul = raw.find(b"\0")
            if nul >= 0:
                raw = raw[:nul]
            text = raw.decode("utf-8", "replace")
        else:
            text = text.split("\0", 1)[0]
        self.text = text
        #: values asked for that did not parse ("KERNELOFFSET=zz is not a number"): the
        #: callers treat them as absent, the session says so at start-up
        self.problems: list[str] = []
        self._items: dict[str, str] = {}
        for line in text.splitlines():
            key, eq, value = line.partition("=")
            key = key.strip()
            if eq and key:
                # A key seen twice keeps its last value (CRASHTIME is appended late).
                self._items[key] = value.strip()

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"<VmcoreInfo {len(self._items)} keys>"

    def items(self) -> list[tuple[str, str]]:
        return list(self._items.items())

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._items.get(key, default)

    def _hex(self, key: str) -> int | None:
        value = self._items.get(key)
        if value is None:
            return None
        try:
            return int(value, 16)
        except ValueError:
            self._bad(key, value, "a hexadecimal number")
            return None

    def _dec(self, key: str) -> int | None:
        value = self._items.get(key)
        if value is None:
            return None
        try:
            return int(value, 10)
        except ValueError:
            try:
                return int(value, 0)
            except ValueError:
                self._bad(key, value, "a number")
                return None

    def _bad(self, key: str, value: str, what: str) -> None:
        problem = f"VMCOREINFO {key}={value} is not {what}: ignored"
        if problem not in self.problems:
            self.problems.append(problem)

    def symbol(self, name: str) -> int | None:
        """``SYMBOL(name)``: a runtime (KASLR-relocated) address."""
        return self._hex(f"SYMBOL({name})")

    def number(self, name: str) -> int | None:
        """``NUMBER(name)``: a signed decimal."""
        return self._dec(f"NUMBER({name})")

    def offset(self, struct: str, member: str) -> int | None:
        return self._dec(f"OFFSET({struct}.{member})")

    def size(self, name: str) -> int | None:
        return self._dec(f"SIZE({name})")

    def length(self, name: str) -> int | None:
        return self._dec(f"LENGTH({name})")

    @property
    def osrelease(self) -> str | None:
        return self._items.get("OSRELEASE")

    @property
    def build_id(self) -> str | None:
        """GNU build-id of vmlinux as lower-case hex."""
        value = self._items.get("BUILD-ID")
        return value.lower() if value else None

    @property
    def page_size(self) -> int | None:
        return self._dec("PAGESIZE")

    @property
    def crashtime(self) -> int | None:
        """Epoch seconds when the kernel crashed."""
        return self._dec("CRASHTIME")

    @property
    def kerneloffset(self) -> int | None:
        """The KASLR slide of the kernel text."""
        return self._hex("KERNELOFFSET")
