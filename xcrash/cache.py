"""The on-disk cache: files derived once from an input file and kept for next time.

Used for the slow one-off transformations of big inputs (an ``.xz`` dump
decompressed, a flattened dump rearranged).  The cache lives in
``$XDG_CACHE_HOME/xcrash`` (default ``~/.cache/xcrash``).  A derived file is
keyed by the source's real path, size and modification time, so a changed or
replaced source gets a fresh copy.  Files are produced under a temporary name
and renamed into place, so a crash or a concurrent xcrash never leaves a
half-written file where a complete one is expected.
"""
from __future__ import annotations

import hashlib
import lzma
import marshal
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO
from collections.abc import Callable

from . import progress
from .errors import FileError


def cache_dir(*sub: str) -> Path:
    """The cache directory (or a subdirectory of it), created if missing."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base, "xcrash", *sub)
    path.mkdir(parents=True, exist_ok=True)
    return path


def source_key(source: str) -> str:
    """A short key naming one version of ``source`` (real path, size, mtime)."""
    real = os.path.realpath(source)
    st = os.stat(real)
    ident = f"{real}\0{st.st_size}\0{st.st_mtime_ns}".encode()
    return hashlib.sha256(ident).hexdigest()[:20]


def read_stamped(path: Path, stamp: Any) -> Any | None:
    """The value ``write_stamped`` kept at ``path`` with this ``stamp``; None when the file
    is missing, damaged or stamped otherwise (then it is made anew)."""
    try:
        with open(path, "rb") as f:
            kept, value = marshal.loads(f.read())
    except (OSError, EOFError, ValueError, TypeError):
        return None         # missing or damaged: a miss, made anew
    return value if kept == stamp else None


def write_stamped(path: Path, stamp: Any, value: Any) -> None:
    """Keep ``value`` (marshal's types) at ``path`` with ``stamp``, written under a
    temporary name and renamed; a failure (a full or read-only disk) is silent: what is
    kept is an optimisation only."""
    try:
        blob = marshal.dumps((stamp, value))
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except (OSError, ValueError):
        pass                # a full or read-only disk only costs the next start


def derived_file(source: str, kind: str, produce: Callable[[BinaryIO], object]) -> Path:
    """Return the cached file derived from ``source`` by ``produce``, making it if needed.

    ``kind`` names the transformation (e.g. ``"unxz"``) and becomes part of the
    file name.  ``produce(out)`` writes the derived content to the binary file
    ``out``; if it raises, nothing is left in the cache and the error propagates.
    OSError from the cache directory itself propagates too: callers turn it into
    their own error type.
    """
    directory = cache_dir("derived")
    stem = Path(source).name
    target = directory / f"{stem}.{source_key(source)}.{kind}"
    if target.is_file():
        return target
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            produce(out)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass            # never made, or already gone: nothing to clean up
        raise
    return target


_IN_CHUNK = 1 << 20
_OUT_CHUNK = 8 << 20


def unxz(src: str, out: BinaryIO, shown: str | None = None) -> None:
    """Stream-decompress ``src`` (one or more concatenated xz streams, with
    stream padding) to ``out``, reporting progress.  A corrupt or truncated
    file raises FileError naming ``shown`` (default ``src``)."""
    shown = shown or src
    task = f"unpacking {os.path.basename(shown)}"
    total = max(os.path.getsize(src), 1)
    try:
        with open(src, "rb") as f:
            dec = lzma.LZMADecompressor(lzma.FORMAT_XZ)
            while True:
                if dec.eof:
                    rest = dec.unused_data.lstrip(b"\0")   # stream padding
                    while not rest:
                        chunk = f.read(_IN_CHUNK)
                        if not chunk:
                            progress.report(task, 1.0)
                            return
                        rest = chunk.lstrip(b"\0")
                    dec = lzma.LZMADecompressor(lzma.FORMAT_XZ)
                    data = rest
                elif dec.needs_input:
                    data = f.read(_IN_CHUNK)
                    if not data:
                        raise FileError(shown, "truncated xz file")
                    progress.report(task, f.tell() / total)
                else:
                    data = b""
                out.write(dec.decompress(data, max_length=_OUT_CHUNK))
    except lzma.LZMAError as e:
        raise FileError(shown, f"corrupt xz data: {e}") from None


def decompressed_path(path: str) -> str:
    """The path of the cached decompressed copy of the ``.xz`` file ``path``,
    made once (streaming) and reused while ``path`` is unchanged.

    A corrupt or truncated file raises FileError naming ``path``; OSError from
    the cache directory propagates, as from :func:`derived_file`.
    """
    return str(derived_file(path, "unxz", lambda out: unxz(path, out)))
