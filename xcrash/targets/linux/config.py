"""The kernel's own configuration (CONFIG_IKCONFIG): gzip text between the
``IKCFG_ST`` and ``IKCFG_ED`` markers; ``kernel_config_data`` points at the
gzip data itself in recent kernels and at the first marker in older ones."""
from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

from ...errors import MemoryError_, XcrashError
from ..base import cached_per_target

if TYPE_CHECKING:
    from .kernel import LinuxTarget

_START = b"IKCFG_ST"
_END = b"IKCFG_ED"


class ConfigUnavailable(XcrashError):
    """The kernel carries its configuration, but it cannot be read from the dump."""


@cached_per_target
def kernel_config(target: LinuxTarget) -> dict[str, str] | None:
    """CONFIG_* settings (``{"CONFIG_HZ": "250", ...}``), or None if the kernel
    was built without an in-kernel config; ConfigUnavailable when it has one that
    cannot be read."""
    text = kernel_config_text(target)
    if text is None:
        return None
    config = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            key, _, value = line.partition("=")
            config[key] = value.strip('"')
    return config


@cached_per_target
def kernel_config_text(target: LinuxTarget) -> str | None:
    """The configuration's text, or None if the kernel was built without
    CONFIG_IKCONFIG; ConfigUnavailable when it cannot be read or unpacked."""
    sym = target.symbols.get("kernel_config_data")
    if sym is None:
        return None
    end_sym = target.symbols.get("kernel_config_data_end")
    size = (end_sym.address - sym.address) if end_sym is not None else (sym.size or 0)
    if not 0 < size < 16 << 20:
        raise ConfigUnavailable(f"kernel_config_data: implausible size {size}")
    try:
        raw = target.read(sym.address, size)
    except MemoryError_ as err:
        raise ConfigUnavailable(f"kernel_config_data unreadable: {err}") from None
    start = raw.find(_START)
    if start >= 0:
        body = raw[start + len(_START):]
    elif raw[:2] == b"\x1f\x8b":   # 5.x+: the symbol is the gzip data itself, between markers
        body = raw
    else:
        raise ConfigUnavailable("kernel_config_data holds neither IKCFG_ST nor gzip data")
    end = body.rfind(_END)
    if end >= 0:
        body = body[:end]
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body).decode("utf-8", "replace")
    except zlib.error as err:
        raise ConfigUnavailable(f"kernel_config_data: damaged gzip data ({err})") from None
