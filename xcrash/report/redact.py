"""``--redact``: what a report that leaves the team must not carry.

Left out: log and console lines that may hold secrets (kernel and Xen command lines,
the environment and arguments init was started with, ``KEY=VALUE`` lines, lines that
name passwords, tokens, keys or credentials, host names); every host name the dump
knows (each kernel's ``nodename``) is replaced by ``(redacted)`` wherever it appears;
file paths are cut to their last component (directory names often carry host names
or addresses: ``/var/crash/10.1.2.3-2024-05-01/``).  The report's sections never hold
command lines or environments of processes (no ``ps -a``).
"""
from __future__ import annotations

import os
import re
from typing import Any

HIDDEN = "(redacted)"

_SECRET_LINE = re.compile(
    r"(?i)command line:|^\s*with (arguments|environment):|^\s+[A-Za-z_][A-Za-z0-9_]*=|"
    r"passw|secret|token|api[_-]?key|credential|private key|BEGIN [A-Z ]*KEY|"
    r"\bhost ?name\b|\bnodename\b|\bssh\b|\bauth")
_LISTING = re.compile(r"^\s*with (arguments|environment):")


class Redactor:
    """Applies ``--redact`` to strings, log lines and JSON data (``active`` False:
    changes nothing)."""

    def __init__(self, active: bool) -> None:
        self.active = active
        self.names: set[str] = set()
        self.paths: set[str] = set()
        #: log lines left out so far
        self.dropped = 0

    def add_name(self, name: str | None) -> None:
        if self.active and name and name not in ("(none)", "localhost", "-", "?"):
            self.names.add(name)

    def add_path(self, path: str | None) -> None:
        if self.active and path and os.sep in path:
            self.paths.add(path)

    def keep_mask(self, lines: list[str]) -> list[bool]:
        """Which log lines may stay (counting those that may not): not the lines that
        may hold secrets, nor the indented lines after ``with arguments:`` or ``with
        environment:`` (what init was started with)."""
        if not self.active:
            return [True] * len(lines)
        out = []
        listing = False
        for line in lines:
            listing = listing and line.startswith("    ")
            keep = not listing and not _SECRET_LINE.search(line)
            if _LISTING.search(line):
                listing = True
            self.dropped += not keep
            out.append(keep)
        return out

    def text(self, value: str) -> str:
        if not self.active:
            return value
        for path in sorted(self.paths, key=len, reverse=True):
            value = value.replace(path, os.path.basename(path))
        for name in sorted(self.names, key=len, reverse=True):
            value = re.sub(rf"\b{re.escape(name)}\b", HIDDEN, value)
        return value

    def data(self, value: Any) -> Any:
        """JSON data with every string passed through :meth:`text`."""
        if not self.active:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.data(v) for v in value]
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        return value
