"""The dump file's own bytes as an address space (crash's ``-f``: an address is an
offset in the dump file): ``struct -f``, ``rd -f``."""
from __future__ import annotations

from typing import Any

from .space import AddressSpace, Translation


class FileSpace(AddressSpace):
    """Offsets of the dump file; a read past its end fails as a memory read does."""

    name = "dump file"

    def __init__(self, dump: Any) -> None:
        self.dump = dump

    @classmethod
    def of_dump(cls, dump: Any) -> FileSpace:
        return cls(dump)

    def _translate_page(self, vaddr: int) -> int:
        return vaddr

    def read(self, vaddr: int, size: int) -> bytes:
        return bytes(self.dump.file_read(vaddr, size))

    def explain(self, vaddr: int) -> Translation:
        return Translation(vaddr, vaddr, "dump file offset")
