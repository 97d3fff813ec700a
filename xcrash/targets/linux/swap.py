"""The swap devices (``swap_info[]``) and where a swapped-out page went, as crash's
``swap``, ``vtop`` and ``vm -p`` show them.

``swap_info`` is an array of pointers to ``struct swap_info_struct`` (2.6.33 on),
``nr_swapfiles`` long; a slot is in use when its flags have SWP_USED.  A swap entry
(a page-table entry that is not present and not zero) holds the device's index and
the page's offset in it: with the L1TF mitigation (4.18.1 on: l1tf_mitigation) the
type in bits 59-63 and the offset inverted in bits 9-58, else (4.8 on) the type in
bits 9-13 and the offset from bit 14.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, NoSuchSymbol, XcrashError
from .files import _devname, dentry_path

if TYPE_CHECKING:
    from ...objects import Object
    from .kernel import LinuxTarget

#: swap_info_struct.flags: the slot is in use
SWP_USED = 0x1
S_IFMT, S_IFBLK = 0o170000, 0o060000


@dataclass
class SwapDevice:
    """A line of `swap`: the swap_info_struct, partition or file, its size and use in
    KiB, how full (percent), its priority, its path."""
    address: int
    partition: bool
    size_kb: int
    used_kb: int
    percent: int
    priority: int
    filename: str | Unreadable


def _slots(target: LinuxTarget) -> list[int]:
    """The swap_info_struct pointers of the slots there may be (nr_swapfiles)."""
    try:
        count = target.space.read_u32(target.address_of("nr_swapfiles"))
        base = target.address_of("swap_info")
    except NoSuchSymbol:
        raise XcrashError("this kernel has no swap_info (CONFIG_SWAP is off)") from None
    return [target.space.read_u64(base + 8 * i) for i in range(count)]


def _filename(target: LinuxTarget, si: Object) -> str | Unreadable:
    """The path of a swap area's file or device, as crash names it (a device node of
    a devtmpfs mount under /dev)."""
    try:
        file = si.swap_file
        if not int(file):
            return "(unknown)"
        f_path = file.deref_().f_path
        mnt = int(f_path.mnt)
        path = dentry_path(target, int(f_path.dentry), mnt)
        if _devname(target, mnt) in ("devtmpfs", "udev") and not path.startswith("/dev/"):
            path = "/dev" + path
        return path
    except MemoryError_ as err:
        caveat(f"swap file of {si.at_:x} unreadable ({err}): shown as ?")
        return Unreadable(str(err))


def _is_partition(target: LinuxTarget, si: Object) -> bool:
    t = si.type_
    if t.has_member("swap_device"):
        return bool(int(si.swap_device))
    if t.has_member("old_block_size"):
        return bool(int(si.old_block_size))
    mode = int(si.swap_file.deref_().f_inode.deref_().i_mode)      # 6.10 on
    return mode & S_IFMT == S_IFBLK


def swap_devices(target: LinuxTarget) -> list[SwapDevice]:
    """The swap areas in use, in swap_info[] order."""
    out = []
    for ptr in _slots(target):
        if not ptr:
            continue
        si = target.object_at("struct swap_info_struct", ptr)
        try:
            if not int(si.flags) & SWP_USED:
                continue
            pages = int(si.pages)
            used = int(si.inuse_pages)
            size_kb, used_kb = pages * 4, used * 4
            out.append(SwapDevice(ptr, _is_partition(target, si), size_kb, used_kb,
                                  used_kb * 100 // size_kb if size_kb else 0, int(si.prio),
                                  _filename(target, si)))
        except MemoryError_ as err:
            caveat(f"swap_info_struct {ptr:x} unreadable ({err}): left out")
    return out


def swap_entry(target: LinuxTarget, pte: int) -> tuple[int, int]:
    """(swap type, offset) of a swap entry, as crash decodes it on x86_64."""
    if target.symbols.get("l1tf_mitigation") is not None:    # 4.18.1 on (and backports)
        return pte >> 59, ((~pte << 5) & (2**64 - 1)) >> 14
    return (pte >> 9) & 0x1F, pte >> 14


def swap_location(target: LinuxTarget, pte: int) -> str:
    """crash's ``DEVICE  OFFSET: N`` of a swap entry."""
    kind, offset = swap_entry(target, pte)
    try:
        slots = _slots(target)
    except XcrashError:
        return f"(unknown swap location)  OFFSET: {offset}"
    name: str | Unreadable = "(unknown swap location)"
    if kind < len(slots) and slots[kind]:
        name = _filename(target, target.object_at("struct swap_info_struct", slots[kind]))
    return f"{name}  OFFSET: {offset}"
