"""crash's text layouts shared by several commands (a command's own layout stays
in its module).  A layout takes records and returns text; it reads no memory."""
from __future__ import annotations

from collections.abc import Iterable, Iterator


def separated(blocks: Iterable[Iterable[str]]) -> Iterator[str]:
    """The lines of each block, a blank line between blocks (crash's per-task views)."""
    first = True
    for block in blocks:
        if not first:
            yield ""
        first = False
        yield from block
