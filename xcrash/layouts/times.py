"""crash's spellings of durations, shared by ps -m and runq -m."""
from __future__ import annotations


def duration(ns: int) -> str:
    """crash's "days hh:mm:ss.mmm" (its translate_nanoseconds)."""
    ms = ns // 1_000_000
    secs, ms = divmod(ms, 1000)
    mins, secs = divmod(secs, 60)
    hours, mins = divmod(mins, 60)
    days, hours = divmod(hours, 24)
    return f"{days} {hours:02d}:{mins:02d}:{secs:02d}.{ms:03d}"
