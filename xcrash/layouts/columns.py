"""crash's column padding (its ``mkstring``), shared by the commands that copy its layouts."""
from __future__ import annotations


def center(text: str, width: int, odd_left: bool = False) -> str:
    """``text`` centred in ``width`` columns; the odd blank goes to the right, as crash's
    CENTER and CENTER|LJUST do, or to the left with ``odd_left`` (CENTER|RJUST).  Text
    wider than the column is left as it is."""
    extra = max(width - len(text), 0)
    left = extra - extra // 2 if odd_left else extra // 2
    return " " * left + text + " " * (extra - left)
