"""Debug files found, not hunted: the vmlinux of a dump's build-id, wherever it is.

Looked for, in order:

1. the usual places of a distribution's debug packages and of a kernel build
   (``/usr/lib/debug/.build-id/xx/rest.debug``, ``/usr/lib/debug/boot/vmlinux-RELEASE``,
   ``/usr/lib/debug/lib/modules/RELEASE/vmlinux``, ``/boot/vmlinux-RELEASE``,
   ``/lib/modules/RELEASE/build/vmlinux``), each under every root of
   ``XCRASH_DEBUG_PATH`` (colon-separated, searched first) and under ``/``; a
   root may also hold ``vmlinux-RELEASE`` or ``BUILD-ID.debug`` directly;
2. the debuginfod servers of ``DEBUGINFOD_URLS`` (the standard protocol:
   ``GET /buildid/ID/debuginfo``), the download kept in xcrash's cache.

A file is taken only when its build-id is the dump's.
"""
from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import progress
from ..cache import cache_dir
from ..errors import FileError, XcrashError
from .elffile import ElfImage

#: seconds a debuginfod server has to answer
TIMEOUT = 30


@dataclass(frozen=True)
class Found:
    path: str
    how: str                # "debug directory" | "debuginfod URL" | "debuginfod cache"


class DebuginfodError(XcrashError):
    """A debuginfod server could not give the file (down, refused, garbage)."""


def roots() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("XCRASH_DEBUG_PATH", "").split(":") if p]
    return [*extra, Path("/")]


def local_candidates(build_id: str, release: str | None) -> Iterator[Path]:
    """Where a debug vmlinux may lie, most specific first."""
    bid = build_id.lower()
    for root in roots():
        if bid:
            yield root / "usr/lib/debug/.build-id" / bid[:2] / f"{bid[2:]}.debug"
            yield root / f"{bid}.debug"
        if release:
            yield root / "usr/lib/debug/boot" / f"vmlinux-{release}"
            yield root / "usr/lib/debug/lib/modules" / release / "vmlinux"
            yield root / "boot" / f"vmlinux-{release}"
            yield root / "lib/modules" / release / "build/vmlinux"
            yield root / f"vmlinux-{release}"


def build_id_of(path: Path) -> str | None:
    try:
        return (ElfImage(str(path)).build_id() or "").lower() or None
    except (FileError, OSError):
        return None         # not a readable ELF file: no candidate for the dump


def find_local(build_id: str, release: str | None) -> Found | None:
    bid = build_id.lower()
    for path in local_candidates(bid, release):
        if path.is_file() and (not bid or build_id_of(path) == bid):
            return Found(str(path), "debug directory")
    return None


def servers() -> list[str]:
    return [u.rstrip("/") for u in os.environ.get("DEBUGINFOD_URLS", "").split() if u]


def fetch(build_id: str, name: str = "vmlinux") -> Found | None:
    """The debug file of ``build_id`` from the first debuginfod server that has it
    (None when none is configured or none has it; DebuginfodError when every server
    that was asked failed for another reason, saying why)."""
    bid = build_id.lower()
    if not bid or not servers():
        return None
    cached = cache_dir("debuginfod") / bid / "debuginfo"
    if cached.is_file() and build_id_of(cached) == bid:
        return Found(str(cached), "debuginfod cache")
    problems = []
    for url in servers():
        try:
            path = _download(f"{url}/buildid/{bid}/debuginfo", cached, f"{name} {bid[:12]}")
        except DebuginfodError as err:
            problems.append(f"{url}: {err}")
            continue
        if path is None:
            continue                    # this server does not have it
        if build_id_of(path) != bid:
            path.unlink(missing_ok=True)
            problems.append(f"{url}: the file sent is not an ELF file of build-id {bid}")
            continue
        return Found(str(path), f"debuginfod {url}")
    if problems:
        raise DebuginfodError("; ".join(problems))
    return None


def _download(url: str, dest: Path, label: str) -> Path | None:
    """The file at ``url`` saved at ``dest`` (None: 404), a progress bar on a terminal."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as answer, open(tmp, "wb") as out:
            total = int(answer.headers.get("Content-Length") or 0)
            done = 0
            while chunk := answer.read(1 << 20):
                out.write(chunk)
                done += len(chunk)
                if total:
                    progress.report(f"debuginfod: {label}", min(done / total, 1.0))
        progress.report(f"debuginfod: {label}", 1.0)
    except urllib.error.HTTPError as err:
        tmp.unlink(missing_ok=True)
        if err.code == 404:
            return None
        raise DebuginfodError(f"HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        tmp.unlink(missing_ok=True)
        reason = getattr(err, "reason", None) or err
        raise DebuginfodError(f"cannot fetch: {reason}") from None
    os.replace(tmp, dest)
    return dest


def find_vmlinux(build_id: str | None, release: str | None) -> tuple[Found | None, str | None]:
    """(the debug vmlinux found, or None; a one-line problem met on the way, or None)."""
    if not build_id and not release:
        return None, None
    found = find_local(build_id or "", release)
    if found is not None or not build_id:
        return found, None
    try:
        return fetch(build_id), None
    except DebuginfodError as err:
        return None, f"debuginfod: {err}"
