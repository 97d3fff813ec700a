#!/usr/bin/env python3
"""Unpack the sample dumps that ship in bundles (one per Debian kernel series).

    python3 sample-dumps/unpack.py            # every bundle whose files are not all here
    python3 sample-dumps/unpack.py --verify   # and check every unpacked file's sha256

A bundle (``debian-6.12.tar.xz``) holds a kernel's stripped vmlinux and every dump of that
kernel, in one xz stream with a 256 MiB dictionary: the dumps of one kernel share most of
their pages (its text, its data, the same boot), and a dump shares its kernel text with the
vmlinux, so the stream stores what they share once (the 6.12 dumps cost about 1 MB each after
the first; compressed one by one, 10 MB each).  The files land where MANIFEST.json lists them
(``debian-6.12-bug/vmcore.plain.kdump``, ``symbols/vmlinux-...stripped``); git ignores them
(.gitignore), and the tests unpack what is missing before they start.

A bundle with ``xor_with`` holds one file as its XOR with a file that ships beside it, xz'd:
the Xen guest's vmlinux is the host kernel's build with another version string, so its
121 MB differ in 2.5 million bytes and the delta takes 2.2 MB (29 MB as a file of its own;
xz's dictionary cannot reach back into a file that ships compressed apart).

Standard library only: the factory (stock.py) writes the bundles with ``pack``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import os
import sys
import tarfile
from pathlib import Path
from typing import BinaryIO

HERE = Path(__file__).resolve().parent
#: the xz filter of a bundle: a dictionary larger than any two neighbouring members
FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9, "dict_size": 256 << 20}]
CHUNK = 1 << 20


def pack(bundle: Path, members: list[tuple[Path, str]]) -> None:
    """Write ``bundle``: each (source file, name in the bundle) in the order given (keep
    dumps of one kernel next to each other: what they share must be within the dictionary).
    Reproducible: no times, owners or modes of the sources."""
    tmp = bundle.with_name(bundle.name + ".tmp")
    with lzma.open(tmp, "wb", format=lzma.FORMAT_XZ, filters=FILTERS) as xz, \
            tarfile.open(fileobj=xz, mode="w|", format=tarfile.GNU_FORMAT) as tar:
        for src, name in members:
            info = tarfile.TarInfo(name)
            info.size = src.stat().st_size
            info.mode = 0o644
            with open(src, "rb") as f:
                tar.addfile(info, f)
    tmp.rename(bundle)


def pack_xor(delta: Path, base: Path, target: Path) -> None:
    """Write ``delta``: ``target`` XOR ``base`` (same size; ``base`` may be .xz), xz'd."""
    if _size(base) != target.stat().st_size:
        raise ValueError(f"{target} and {base} differ in size: no XOR delta")
    tmp = delta.with_name(delta.name + ".tmp")
    with _open(base) as b, open(target, "rb") as t, \
            lzma.open(tmp, "wb", format=lzma.FORMAT_XZ, filters=FILTERS) as out:
        for chunk in iter(lambda: t.read(CHUNK), b""):
            out.write(_xor(chunk, b.read(len(chunk))))
    tmp.rename(delta)


def _open(path: Path) -> BinaryIO:
    return lzma.open(path, "rb") if path.suffix == ".xz" else open(path, "rb")


def _size(path: Path) -> int:
    with _open(path) as f:
        return f.seek(0, os.SEEK_END)


def _xor(a: bytes, b: bytes) -> bytes:
    if len(a) != len(b):
        raise EOFError("the base of the XOR delta ends early")
    return (int.from_bytes(a, "little") ^ int.from_bytes(b, "little")).to_bytes(len(a), "little")


class _XorStream:
    """The file a XOR delta stands for, read in order."""
    def __init__(self, delta: BinaryIO, base: BinaryIO):
        self.delta, self.base = delta, base

    def read(self, n: int) -> bytes:
        d = self.delta.read(n)
        return _xor(d, self.base.read(len(d))) if d else b""


def _copy(src: BinaryIO | _XorStream, dst: Path, size: int) -> str:
    """Write ``size`` bytes of ``src`` to ``dst`` (atomically); their sha256."""
    h = hashlib.sha256()
    tmp = dst.with_name(dst.name + ".part")
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "wb") as out:
        left = size
        while left:
            chunk = src.read(min(CHUNK, left))
            if not chunk:
                raise EOFError("the bundle ends inside it")
            h.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    os.chmod(tmp, 0o644)
    tmp.rename(dst)
    return h.hexdigest()


def bundled_files(manifest: dict) -> dict[str, list[dict]]:
    """Each bundle's file entries (its members), from the manifest."""
    out: dict[str, list[dict]] = {name: [] for name in manifest.get("bundles", {})}
    entries = [*manifest.get("symbols", {}).values(),
               *(f for d in manifest.get("dumps", {}).values() for f in d.get("files", []))]
    for entry in entries:
        if "bundle" in entry:
            out.setdefault(entry["bundle"], []).append(entry)
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def unpack(samples: Path = HERE, *, verify: bool = False, say=print) -> list[str]:
    """Unpack each bundle with a member missing (or of the wrong size; with ``verify``, of the
    wrong sha256); the problems met, one line each (nothing: all there)."""
    try:
        manifest = json.loads((samples / "MANIFEST.json").read_text())
    except (OSError, ValueError) as exc:
        return [f"{samples / 'MANIFEST.json'}: {exc}"]
    problems = []
    for bundle, entries in bundled_files(manifest).items():
        def here(e: dict) -> bool:
            p = samples / e["path"]
            return p.is_file() and p.stat().st_size == e["size"] and \
                (not verify or _sha256(p) == e["sha256"])
        wanted = {e["path"]: e for e in entries if not here(e)}
        if not wanted:
            continue
        path = samples / bundle
        total = sum(e["size"] for e in wanted.values())
        say(f"sample-dumps: unpacking {len(wanted)} file(s), {total / 1e6:.0f} MB, from {bundle}",
            file=sys.stderr, flush=True)
        try:
            if "xor_with" in manifest["bundles"][bundle]:
                problems += _unpack_xor(samples, path, manifest["bundles"][bundle]["xor_with"],
                                        wanted)
                continue
            with lzma.open(path, "rb") as xz, tarfile.open(fileobj=xz, mode="r|") as tar:
                for info in tar:
                    entry = wanted.pop(info.name, None)
                    if entry is None or not info.isfile():
                        continue
                    member = tar.extractfile(info)
                    assert member is not None
                    digest = _copy(member, samples / entry["path"], info.size)
                    if digest != entry["sha256"]:
                        problems.append(f"{path}: {info.name} differs from MANIFEST.json "
                                        f"(sha256 {digest[:12]}, listed {entry['sha256'][:12]})")
                    if not wanted:
                        break
        except (OSError, EOFError, lzma.LZMAError, tarfile.TarError) as exc:
            problems.append(f"{path}: {exc}")
            continue
        problems += [f"{path}: has no {name}" for name in wanted]
    return problems


def _unpack_xor(samples: Path, delta: Path, base: str, wanted: dict[str, dict]) -> list[str]:
    """The one file of a XOR-delta bundle (pack_xor's)."""
    (entry,) = wanted.values()
    with lzma.open(delta, "rb") as d, _open(samples / base) as b:
        digest = _copy(_XorStream(d, b), samples / entry["path"], entry["size"])
    if digest != entry["sha256"]:
        return [f"{delta}: {entry['path']} differs from MANIFEST.json (sha256 {digest[:12]}, "
                f"listed {entry['sha256'][:12]}; is {base} the one it was made against?)"]
    return []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--verify", action="store_true", help="check the sha256 of unpacked files")
    problems = unpack(verify=ap.parse_args().verify)
    for p in problems:
        print(f"unpack: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
