"""xcrash: crash-dump analysis for Linux and Xen kdump vmcores.

    import xcrash
    session = xcrash.open("vmcore", "vmlinux")
    target = session.current
    print(target.object("init_task").comm.string_())
    print(session.run("bt"))
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import Session


def open(vmcore: str, *symbol_files: str, **options: Any) -> Session:
    """Open a dump with its symbol files and return a session with its targets."""
    from .api import Session
    return Session.open(vmcore, *symbol_files, **options)
