"""The report's records: a report holds a part per target, a part holds sections, a
section holds the records of a command (or of a targets/ helper) and their text.

JSON (``record_json`` of a :class:`Report`) keeps the records and leaves the text
out; ``tests/schemas/report.json`` fixes its keys.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..targets.signature import CrashSite

#: the version of the report's JSON (raised when a key changes meaning or goes)
FORMAT = 1


@dataclass
class Section:
    """One part of a target's report: ``records`` as the command's ``--json`` gives
    them (or a helper's), ``lines`` the text as the command prints it."""
    #: the HTML anchor and JSON key: ``kernel-panic``, ``dom2-log``
    id: str
    #: what it is: ``Panic``, ``Tasks in D state``
    title: str
    #: the xcrash command line that shows the same thing (None: the report's own)
    command: str | None
    records: list[Any] = field(default_factory=list)
    #: what could not be read or was inferred (the caveats of the command)
    warnings: list[str] = field(default_factory=list)
    #: why the section is missing (the command's one-line error), else None
    error: str | None = None
    lines: list[str] = field(default_factory=list, metadata={"json": False})


@dataclass
class TargetReport:
    """Every section of one target of the dump (the kernel, the hypervisor, a guest)."""
    name: str
    #: linux, xen, PV linux, machine
    kind: str
    #: the kernel release or the hypervisor's version ("" when not known)
    release: str
    #: how this target crashed (None: it did not, e.g. a guest of a crashed host)
    crash: CrashSite | None
    sections: list[Section] = field(default_factory=list)


@dataclass
class DumpFacts:
    """What the dump file is."""
    path: str
    format: str
    size: int
    #: the Linux kernel's build-id (VMCOREINFO), else None
    build_id: str | None
    #: the Xen hypervisor's version, None on a bare-metal Linux dump
    hypervisor: str | None


@dataclass
class Report:
    """The whole report of one dump."""
    format: int
    xcrash: str
    dump: DumpFacts
    #: the dump's crash: the hypervisor's on a Xen host, else the kernel's
    crash: CrashSite | None
    targets: list[TargetReport]
    #: True when command lines, environments, host names and log lines that may carry
    #: secrets were left out (``--redact``)
    redacted: bool = False
    #: start-up messages of the session (which symbol file serves which target)
    messages: list[str] = field(default_factory=list)
