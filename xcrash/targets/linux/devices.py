"""Character and block device majors (the numbers behind `dev`).

Character devices: the ``chrdevs[]`` hash of ``char_device_struct`` chains
(name, major, first minor, cdev); a region registered without its cdev is
looked up in ``cdev_map``'s probes, as crash does.  Block devices: the
``major_names[]`` hash; the gendisk of a major is found among the block
device inodes (5.11+: ``blockdev_superblock``; a ``bdev_inode`` holds the
``block_device`` just before its inode) or in ``bdev_map`` before.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import MemoryError_, XcrashError
from ...objects import list_for_each

CHAIN_LIMIT = 4096


@dataclass
class Device:
    major: int
    name: str
    object: int           # struct cdev (char) or struct gendisk (block); 0 when unknown
    operations: int       # its file/block_device operations; 0 when unknown


def _name(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _probe_ops(target: Any, map_symbol: str, major: int, minor: int | None) -> tuple[int, int]:
    """(cdev or gendisk, its ops) from a kobj_map's probes for ``major``."""
    sym = target.symbols.get(map_symbol)
    if sym is None:
        return 0, 0
    kobj_map = target.space.read_u64(sym.address)
    probes = target.object_at(target.type("struct kobj_map"), kobj_map).probes
    probe_t = target.type("struct probe")
    link = int(probes[major % 255])
    seen = 0
    while link and seen < CHAIN_LIMIT:
        seen += 1
        probe = target.object_at(probe_t, link)
        dev = int(probe.dev)
        data = int(probe.data)
        if dev >> 20 == major and (minor is None or dev & 0xFFFFF == minor) and data:
            if map_symbol == "cdev_map":
                return data, int(target.object_at(target.type("struct cdev"), data).ops)
            ops = int(target.object_at(target.type("struct gendisk"), data).fops)
            if ops:
                return data, ops
        link = int(probe.next)
    return 0, 0


def char_devices(target: Any) -> list[Device]:
    chrdevs = target.object("chrdevs")
    out = []
    for i in range(chrdevs.type_.strip_typedefs().length or 255):
        link = int(chrdevs[i])
        seen = 0
        while link and seen < CHAIN_LIMIT:
            seen += 1
            cd = target.object_at(target.type("struct char_device_struct"), link)
            major, minor = int(cd.major), int(cd.baseminor)
            cdev = int(cd.cdev)
            ops = int(target.object_at(target.type("struct cdev"), cdev).ops) if cdev else 0
            if not ops:
                try:
                    cdev, ops = _probe_ops(target, "cdev_map", major, minor)
                except (MemoryError_, XcrashError):
                    cdev, ops = 0, 0
            out.append(Device(major, _name(cd.name.read_()), cdev if ops else 0, ops))
            link = int(cd.next)
    return out


def _gendisk_from_inodes(target: Any, major: int) -> tuple[int, int]:
    sb = target.object("blockdev_superblock").deref_()
    inode_t = target.type("struct inode")
    bdev_size = target.type("struct block_device").byte_size
    link_off = inode_t.member("i_sb_list")[0] // 8
    for link in list_for_each(target, sb.s_inodes.address_):
        bdev = target.object_at(target.type("struct block_device"), link - link_off - bdev_size)
        try:
            disk = int(bdev.bd_disk)
            if not disk:
                continue
            gendisk = target.object_at(target.type("struct gendisk"), disk)
            if int(gendisk.major) == major and int(gendisk.fops):
                return disk, int(gendisk.fops)
        except (MemoryError_, XcrashError):
            continue
    return 0, 0


def block_devices(target: Any) -> list[Device]:
    names = target.object("major_names")
    by_map = target.symbols.get("bdev_map") is not None
    out = []
    for i in range(names.type_.strip_typedefs().length or 255):
        link = int(names[i])
        if not link:
            continue
        entry = target.object_at(target.type("struct blk_major_name"), link)
        major = int(entry.major)
        try:
            disk, ops = (_probe_ops(target, "bdev_map", major if major == i else i, None) if by_map
                         else _gendisk_from_inodes(target, major))
        except (MemoryError_, XcrashError):
            disk, ops = 0, 0
        out.append(Device(major, _name(entry.name.read_()) or "(unknown)", disk, ops))
    return out


PCIE_TYPES = {0: "ENDPOINT", 1: "LEG_END", 4: "ROOT_PORT", 5: "UPSTREAM", 6: "DOWNSTREAM",
              7: "PCI_BRIDGE", 8: "PCIE_BRIDGE", 9: "RC_END", 10: "RC_EC"}


@dataclass
class PciDevice:
    address: int          # struct pci_dev
    name: str             # "0000:00:01.0"
    pci_class: int        # class code without the programming interface (0x0600)
    vendor: int
    device: int
    type: str             # crash's TYPE column: the PCIe port type, " [BRIDGE]" for bridges


@dataclass
class PciBus:
    address: int          # struct pci_bus
    name: str             # "0000:00"
    parent: int
    self_device: PciDevice | None     # the bridge leading to this bus
    devices: list[PciDevice]
    children: list["PciBus"]


def _kobject_name(target: Any, device: Any) -> str:
    name = int(device.dev.kobj.name)
    return target.space.read_cstring(name, 32).decode("utf-8", "replace") if name else ""


def _pci_device(target: Any, address: int) -> PciDevice:
    dev = target.object_at(target.type("struct pci_dev"), address)
    kind = PCIE_TYPES.get((int(dev.pcie_flags_reg) & 0xF0) >> 4, "") \
        if dev.type_.has_member("pcie_flags_reg") else ""
    if int(dev.hdr_type) & 0x7F in (1, 2):                  # bridge, CardBus bridge
        kind += " [BRIDGE]"
    return PciDevice(address, _kobject_name(target, dev), int(dev.member_("class")) >> 8,
                     int(dev.vendor), int(dev.device), kind)


def _pci_bus(target: Any, address: int, depth: int = 0) -> PciBus:
    bus = target.object_at(target.type("struct pci_bus"), address)
    dev_list_off = target.type("struct pci_dev").member("bus_list")[0] // 8
    bus_node_off = target.type("struct pci_bus").member("node")[0] // 8
    devices = [_pci_device(target, link - dev_list_off)
               for link in list_for_each(target, bus.devices.address_, CHAIN_LIMIT)]
    children = [] if depth > 32 else [
        _pci_bus(target, link - bus_node_off, depth + 1)
        for link in list_for_each(target, bus.children.address_, CHAIN_LIMIT)]
    self_dev = int(bus.self)
    return PciBus(address, _kobject_name(target, bus), int(bus.parent),
                  _pci_device(target, self_dev) if self_dev else None, devices, children)


def pci_root_buses(target: Any) -> list[PciBus]:
    """The PCI hierarchy from ``pci_root_buses``: each root bus with its devices and
    child buses (behind bridges), in the kernel's list order."""
    node_off = target.type("struct pci_bus").member("node")[0] // 8
    return [_pci_bus(target, link - node_off)
            for link in list_for_each(target, target.address_of("pci_root_buses"), CHAIN_LIMIT)]


@dataclass
class Resource:
    address: int            # struct resource
    start: int
    end: int
    name: str


RESOURCE_LIMIT = 1 << 16


def resources(target: Any, root_symbol: str) -> list[Resource]:
    """A resource tree (``ioport_resource``, ``iomem_resource``) depth first, the root
    first and each node before its children, as /proc/iomem nests them."""
    res_t = target.type("struct resource")
    out: list[Resource] = []
    seen: set[int] = set()

    def walk(address: int) -> None:
        while address and address not in seen and len(out) < RESOURCE_LIMIT:
            seen.add(address)
            r = target.object_at(res_t, address)
            name_ptr = int(r.name)
            try:
                name = _name(target.space.read_cstring(name_ptr, 256)) if name_ptr else "(unknown)"
            except MemoryError_:
                name = "(unknown)"
            out.append(Resource(address, int(r.start), int(r.end), name))
            child = int(r.child)
            if child and child != address:
                walk(child)
            address = int(r.sibling)

    walk(target.address_of(root_symbol))
    return out
