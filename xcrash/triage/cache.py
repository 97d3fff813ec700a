"""Results kept per dump, so that a second run over a growing directory opens only the
new dumps.

An entry is the dump's record, kept under its absolute path, and holds good while
the file has the same size and modification time, the symbol files its build-ids
choose among those given now are the ones it was triaged with, and (with
``--html``) its report is still there.  The cache is one JSON file, written whole
(atomically) at the end of a run; records of dumps that could not be opened are
kept too (a damaged file does not heal).
"""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from .symbols import DumpIds, SymbolIndex, chosen
from .worker import stat_of

#: the cache's layout version: entries of another are ignored
VERSION = 2      # 2: records carry the session's notes


class ResultCache:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        if path is not None and os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as f:
                    data = json.load(f)
                if data.get("version") == VERSION:
                    self.entries = dict(data.get("records", {}))
            except (OSError, ValueError, AttributeError):
                self.entries = {}       # a damaged cache is a cold one

    def get(self, path: str, symbols: SymbolIndex, report_dir: str | None) -> dict[str, Any] | None:
        """The kept record of ``path``, if it still holds."""
        record = self.entries.get(os.path.abspath(path))
        if record is None:
            return None
        size, mtime = stat_of(path)
        if (size, mtime) != (record.get("size"), record.get("mtime_ns")):
            return None
        if record.get("error") is None:
            ids = DumpIds(record.get("format") or "", record.get("build_id"),
                          record.get("release"), record.get("hypervisor"),
                          record.get("hypervisor_build_id"))
            if chosen(symbols, ids) != record.get("symbols"):
                return None
        if report_dir is not None and record.get("error") is None and (
                not record.get("report")
                or not os.path.exists(os.path.join(report_dir, record["report"]))):
            return None
        return dict(record, path=path)

    def put(self, record: dict[str, Any]) -> None:
        self.entries[os.path.abspath(record["path"])] = record

    def save(self) -> None:
        if self.path is None:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".triage-cache.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": VERSION, "records": self.entries}, f)
        os.replace(tmp, self.path)
