"""Dump readers: a vmcore file becomes physical memory plus facts (notes, headers).

Entry point: :func:`open_dump`.  The readers know no symbols.
"""
from .base import Dump, DumpHeader
from .notes import Note, PrStatus, QemuCpuState, QemuSegment, XenCrashRegs, XenNotes
from .opener import is_kdump_file, open_dump
from .vmcoreinfo import VmcoreInfo

__all__ = [
    "Dump", "DumpHeader", "Note", "PrStatus", "QemuCpuState", "QemuSegment", "VmcoreInfo",
    "XenCrashRegs", "XenNotes", "is_kdump_file", "open_dump",
]
