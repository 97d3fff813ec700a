"""A task's user address space that refuses kernel addresses, as crash's user reads do
(``p -u``, ``struct -u``, ``rd -u``): its page tables map the kernel too, but a user
virtual address ends below the canonical hole."""
from __future__ import annotations

from ..errors import MemoryError_
from .space import AddressSpace, Translation

#: the first address above user space on x86_64 (4-level and 5-level paging alike read
#: below it for ordinary processes)
USER_END = 0x0000800000000000


class InvalidUserAddress(MemoryError_):
    def __init__(self, address: int) -> None:
        super().__init__(f"invalid user virtual address: {address:x}", address)


class UserOnly(AddressSpace):
    """``space`` (a task's page tables) for user addresses only."""

    name = "user"

    def __init__(self, space: AddressSpace, end: int = USER_END) -> None:
        self.inner = space
        self.phys = space.phys
        self.end = end

    def _translate_page(self, vaddr: int) -> int:
        if vaddr >= self.end:
            raise InvalidUserAddress(vaddr)
        return self.inner._translate_page(vaddr)

    def read(self, vaddr: int, size: int) -> bytes:
        if vaddr >= self.end or vaddr + size > self.end:
            raise InvalidUserAddress(vaddr)
        return self.inner.read(vaddr, size)

    def explain(self, vaddr: int) -> Translation:
        if vaddr >= self.end:
            return Translation(vaddr, None, "user", error=f"invalid user virtual address: "
                                                          f"{vaddr:x}")
        return self.inner.explain(vaddr)
