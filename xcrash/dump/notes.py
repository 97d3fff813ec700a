"""ELF notes of a vmcore and the views derived from them.

The raw notes (name, type, descriptor) are kept as found.  Views decode the
ones xcrash understands: NT_PRSTATUS (registers per CPU), VMCOREINFO, the Xen
crash notes and QEMU's CPU state.  The i-th NT_PRSTATUS note is not
necessarily CPU i (a CPU that saved nothing may have no note), so views keep
the note's position as ``index`` and leave the mapping to CPUs to the targets.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from collections.abc import Callable, Iterable

from .vmcoreinfo import VmcoreInfo

NT_PRSTATUS = 1
XEN_ELFNOTE_CRASH_INFO = 0x1000001
XEN_ELFNOTE_CRASH_REGS = 0x1000002

_NHDR = struct.Struct("<III")


@dataclass(frozen=True)
class Note:
    name: str
    type: int
    desc: bytes


def parse_notes(buf: bytes | memoryview) -> list[Note]:
    """Decode a run of ELF notes (4-byte aligned name and descriptor).

    Stops quietly at a note that would run past the buffer: a damaged note
    area loses its tail, not the dump.  Empty headers (padding) are skipped.
    """
    buf = memoryview(buf)
    notes: list[Note] = []
    off, end = 0, len(buf)
    while off + _NHDR.size <= end:
        namesz, descsz, ntype = _NHDR.unpack_from(buf, off)
        name_off = off + _NHDR.size
        desc_off = name_off + ((namesz + 3) & ~3)
        desc_end = desc_off + descsz
        if desc_end > end:
            break
        if namesz or descsz:
            name = bytes(buf[name_off:name_off + namesz]).split(b"\0", 1)[0]
            notes.append(Note(name.decode("latin-1"), ntype, bytes(buf[desc_off:desc_end])))
        off = desc_off + ((descsz + 3) & ~3)
    return notes


# ---------------------------------------------------------------- NT_PRSTATUS

PRSTATUS_REGS = (
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8",
    "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "rflags", "rsp",
    "ss", "fs_base", "gs_base", "ds", "es", "fs", "gs",
)
_PR_PID = 32
_PR_REG = 112
_PR_REGS = struct.Struct(f"<{len(PRSTATUS_REGS)}Q")


@dataclass(frozen=True)
class PrStatus:
    """One NT_PRSTATUS note: ``index`` is its position among such notes."""
    index: int
    pid: int
    regs: dict[str, int]
    empty: bool = False   # all-zero descriptor: the CPU never saved its state (Xen)


def prstatus_notes(notes: Iterable[Note]) -> list[PrStatus]:
    result: list[PrStatus] = []
    for note in notes:
        if note.type != NT_PRSTATUS or note.name != "CORE":
            continue
        desc = note.desc
        pid = int.from_bytes(desc[_PR_PID:_PR_PID + 4], "little", signed=True) if len(desc) >= 36 else 0
        if len(desc) >= _PR_REG + _PR_REGS.size:
            regs = dict(zip(PRSTATUS_REGS, _PR_REGS.unpack_from(desc, _PR_REG)))
        else:
            regs = {}
        result.append(PrStatus(len(result), pid, regs, not any(desc)))
    return result


# ---------------------------------------------------------------- VMCOREINFO

def find_vmcoreinfo(notes: Iterable[Note], name: str = "VMCOREINFO") -> VmcoreInfo | None:
    for note in notes:
        if note.name == name and note.type == 0:
            return VmcoreInfo(note.desc)
    return None


# ---------------------------------------------------------------- Xen

@dataclass(frozen=True)
class XenCrashRegs:
    """A Xen CRASH_REGS note (one per pCPU, in note order)."""
    index: int
    cr0: int
    cr2: int
    cr3: int
    cr4: int

    @property
    def saved(self) -> bool:
        """False when the pCPU never saved its state (cr3 is 0)."""
        return self.cr3 != 0


_XEN_STRINGS = ("extra_version", "changeset", "compiler", "compile_date", "compile_time")


@dataclass
class XenNotes:
    """What Xen's own notes say about the crashed hypervisor.

    The CRASH_INFO note holds machine addresses of version strings; they are
    resolved by the dump (``strings``) when their pages are in it.  Its layout
    changed over time, so it is decoded by size as crash does: the dom0 p2m
    frame-list-list MFN is the last word, ``xen_phys_start`` the one before it
    when the note has more than 9 words.
    """
    major_version: int | None = None
    minor_version: int | None = None
    tainted: int | None = None
    xen_phys_start: int | None = None
    dom0_p2m_frame_list_list: int | None = None
    string_addresses: dict[str, int] = field(default_factory=dict)
    strings: dict[str, str] = field(default_factory=dict)
    cpu_regs: list[XenCrashRegs] = field(default_factory=list)
    vmcoreinfo: VmcoreInfo | None = None

    @property
    def extra_version(self) -> str | None:
        return self.strings.get("extra_version")

    @property
    def version(self) -> str | None:
        """E.g. ``"4.17.5"`` (``"4.17"`` if the extra version is unreadable)."""
        if self.major_version is None:
            return None
        return f"{self.major_version}.{self.minor_version}{self.extra_version or ''}"


def xen_notes(notes: Iterable[Note],
              read_string: Callable[[int], str | None] | None = None) -> XenNotes | None:
    """Decode Xen's notes; None when the dump does not come from a Xen host."""
    xen = XenNotes()
    found = False
    for note in notes:
        if note.name == "Xen" and note.type == XEN_ELFNOTE_CRASH_INFO:
            found = True
            _decode_crash_info(xen, note.desc, read_string)
        elif note.name == "Xen" and note.type == XEN_ELFNOTE_CRASH_REGS:
            found = True
            if len(note.desc) >= 32:
                cr0, cr2, cr3, cr4 = struct.unpack_from("<4Q", note.desc)
                xen.cpu_regs.append(XenCrashRegs(len(xen.cpu_regs), cr0, cr2, cr3, cr4))
        elif note.name == "VMCOREINFO_XEN" and note.type == 0:
            found = True
            xen.vmcoreinfo = VmcoreInfo(note.desc)
    return xen if found else None


def _decode_crash_info(xen: XenNotes, desc: bytes,
                       read_string: Callable[[int], str | None] | None) -> None:
    words = struct.unpack_from(f"<{len(desc) // 8}Q", desc)
    if len(words) >= 2:
        xen.major_version, xen.minor_version = words[0], words[1]
    for i, name in enumerate(_XEN_STRINGS, start=2):
        if i < len(words):
            xen.string_addresses[name] = words[i]
            text = read_string(words[i]) if read_string and words[i] else None
            if text is not None:
                xen.strings[name] = text
    if len(words) >= 8:
        xen.tainted = words[7]
    if len(words) >= 9:
        xen.dom0_p2m_frame_list_list = words[-1]
    if len(words) >= 10:
        xen.xen_phys_start = words[-2]


# ---------------------------------------------------------------- QEMU

@dataclass(frozen=True)
class QemuSegment:
    selector: int
    limit: int
    flags: int
    base: int


_QEMU_GPRS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp",
              "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags")
_QEMU_SEGS = ("cs", "ds", "es", "fs", "gs", "ss", "ldt", "tr", "gdt", "idt")
_QEMU_HEAD = struct.Struct(f"<II{len(_QEMU_GPRS)}Q")
_QEMU_SEG = struct.Struct("<IIIIQ")
_QEMU_CR_OFF = _QEMU_HEAD.size + len(_QEMU_SEGS) * _QEMU_SEG.size   # 392
_QEMU_GSBASE_OFF = _QEMU_CR_OFF + 5 * 8                               # 432


@dataclass(frozen=True)
class QemuCpuState:
    """QEMU's ``QEMUCPUState`` note (one per vCPU, in vCPU order)."""
    index: int
    version: int
    size: int
    regs: dict[str, int]
    segments: dict[str, QemuSegment]
    cr: tuple[int, ...]
    kernel_gs_base: int | None

    @property
    def cr3(self) -> int:
        return self.cr[3]


def qemu_notes(notes: Iterable[Note]) -> list[QemuCpuState]:
    result: list[QemuCpuState] = []
    for note in notes:
        desc = note.desc
        if note.name != "QEMU" or note.type != 0 or len(desc) < _QEMU_GSBASE_OFF:
            continue
        version, size, *gprs = _QEMU_HEAD.unpack_from(desc)
        segments = {name: _segment(desc, _QEMU_HEAD.size + i * _QEMU_SEG.size)
                    for i, name in enumerate(_QEMU_SEGS)}
        cr = struct.unpack_from("<5Q", desc, _QEMU_CR_OFF)
        gs_base = None
        if size >= _QEMU_GSBASE_OFF + 8 and len(desc) >= _QEMU_GSBASE_OFF + 8:
            gs_base = int.from_bytes(desc[_QEMU_GSBASE_OFF:_QEMU_GSBASE_OFF + 8], "little")
        result.append(QemuCpuState(len(result), version, size, dict(zip(_QEMU_GPRS, gprs)),
                                   segments, cr, gs_base))
    return result


def _segment(desc: bytes, off: int) -> QemuSegment:
    selector, limit, flags, _pad, base = _QEMU_SEG.unpack_from(desc, off)
    return QemuSegment(selector, limit, flags, base)
