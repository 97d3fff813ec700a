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
from typing import TYPE_CHECKING

from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, XcrashError
from ...objects import CorruptList, Object, list_for_each

if TYPE_CHECKING:
    from .kernel import LinuxTarget

CHAIN_LIMIT = 4096


@dataclass
class Device:
    """A line of `dev`: a character device region or a block device major."""
    kind: str                      # "char" | "block"
    major: int
    name: str
    #: struct cdev (char) or struct gendisk (block); 0 when none is known
    object: int | Unreadable
    #: its file/block_device operations; 0 when none is known
    operations: int | Unreadable
    operations_symbol: str | None = None


def _name(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _probe(target: LinuxTarget, map_symbol: str, major: int, minor: int | None) -> tuple[int, int]:
    """(cdev or gendisk, its ops) from a kobj_map's probes for ``major``."""
    sym = target.symbols.get(map_symbol)
    if sym is None:
        return 0, 0             # no such map in this kernel (cdev_map: always; bdev_map: < 5.11)
    kobj_map = target.space.read_u64(sym.address)
    probes = target.object_at("struct kobj_map", kobj_map).probes
    probe_t = target.type("struct probe")
    first = link = int(probes[major % 255])
    seen = 0
    while link:
        seen += 1
        if seen > CHAIN_LIMIT:
            raise CorruptList(first, link, f"more than {CHAIN_LIMIT} probes")
        probe = target.object_at(probe_t, link)
        dev = int(probe.dev)
        data = int(probe.data)
        if dev >> 20 == major and (minor is None or dev & 0xFFFFF == minor) and data:
            if map_symbol == "cdev_map":
                return data, int(target.object_at("struct cdev", data).ops)
            ops = int(target.object_at("struct gendisk", data).fops)
            if ops:
                return data, ops
        link = int(probe.next)
    return 0, 0


def _device(target: LinuxTarget, kind: str, major: int, name: str,
            found: tuple[int, int] | Unreadable) -> Device:
    if isinstance(found, Unreadable):
        return Device(kind, major, name, found, found)
    obj, ops = found
    return Device(kind, major, name, obj if ops else 0, ops,
                  target.symbol_offset(ops) if ops else None)


def char_devices(target: LinuxTarget) -> list[Device]:
    """The ``chrdevs[]`` hash: each registered region in hash order, with its cdev (or
    one found among ``cdev_map``'s probes) and the cdev's operations."""
    chrdevs = target.object("chrdevs")
    cd_t = target.type("struct char_device_struct")
    out = []
    for i in range(chrdevs.type_.strip_typedefs().length or 255):
        first = link = int(chrdevs[i])
        seen = 0
        while link:
            seen += 1
            if seen > CHAIN_LIMIT:
                caveat(f"chrdevs[{i}] at {first:x}: more than {CHAIN_LIMIT} regions, a loop: "
                       "the rest of its chain left out")
                break
            cd = target.object_at(cd_t, link)
            major, minor = int(cd.major), int(cd.baseminor)
            cdev = int(cd.cdev)
            ops = int(target.object_at("struct cdev", cdev).ops) if cdev else 0
            found: tuple[int, int] | Unreadable = (cdev, ops)
            if not ops:
                try:
                    found = _probe(target, "cdev_map", major, minor)
                except (MemoryError_, XcrashError) as err:
                    caveat(f"cdev_map probes of char major {major} unreadable ({err}): its "
                           "cdev and operations shown as ?")
                    found = Unreadable(str(err))
            out.append(_device(target, "char", major, _name(cd.name.read_()), found))
            link = int(cd.next)
    return out


def _gendisk_from_inodes(target: LinuxTarget, major: int) -> tuple[int, int]:
    """A gendisk of ``major`` with operations, among the block device inodes
    (5.11+: a ``bdev_inode`` holds the block_device just before its inode)."""
    sb = target.object("blockdev_superblock").deref_()
    bdev_t = target.type("struct block_device")
    link_off = target.offsetof("struct inode", "i_sb_list")
    for link in list_for_each(target, int(sb.s_inodes.address_of_())):
        bdev = target.object_at(bdev_t, link - link_off - bdev_t.byte_size)
        try:
            disk = int(bdev.bd_disk)
            if not disk:
                continue        # a block device without a disk (being set up): not this one
            gendisk = target.object_at("struct gendisk", disk)
            if int(gendisk.major) == major and int(gendisk.fops):
                return disk, int(gendisk.fops)
        except MemoryError_ as err:
            caveat(f"block device {bdev.address_:x} unreadable ({err}): passed over while "
                   f"looking for the gendisk of major {major}")
    return 0, 0


def block_devices(target: LinuxTarget) -> list[Device]:
    """The ``major_names[]`` hash: each block major with a gendisk of that major and
    its block_device_operations (``bdev_map`` before 5.11, the block device inodes since)."""
    names = target.object("major_names")
    by_map = target.symbols.get("bdev_map") is not None
    out = []
    for i in range(names.type_.strip_typedefs().length or 255):
        link = int(names[i])
        if not link:
            continue
        entry = target.object_at("struct blk_major_name", link)
        major = int(entry.major)
        found: tuple[int, int] | Unreadable
        try:
            found = (_probe(target, "bdev_map", major if major == i else i, None) if by_map
                     else _gendisk_from_inodes(target, major))
        except (MemoryError_, XcrashError) as err:
            caveat(f"gendisk of block major {major} not found ({err}): shown as ?")
            found = Unreadable(str(err))
        out.append(_device(target, "block", major, _name(entry.name.read_()) or "(unknown)",
                           found))
    return out


PCIE_TYPES = {0: "ENDPOINT", 1: "LEG_END", 4: "ROOT_PORT", 5: "UPSTREAM", 6: "DOWNSTREAM",
              7: "PCI_BRIDGE", 8: "PCIE_BRIDGE", 9: "RC_END", 10: "RC_EC"}
#: buses behind bridges behind bridges...: deeper is a loop in a damaged dump
BUS_DEPTH_LIMIT = 32


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
    bus: int              # struct pci_bus
    name: str             # "0000:00"
    parent: int
    self_device: PciDevice | None     # the bridge leading to this bus
    devices: list[PciDevice]
    children: list[PciBus]


def _kobject_name(target: LinuxTarget, device: Object) -> str:
    name = int(device.dev.kobj.name)
    return target.space.read_cstring(name, 32).decode("utf-8", "replace") if name else ""


def _pci_device(target: LinuxTarget, address: int) -> PciDevice:
    dev = target.object_at("struct pci_dev", address)
    # pcie_flags_reg: kernels since 3.6 (crash's TYPE column needs it)
    kind = PCIE_TYPES.get((int(dev.pcie_flags_reg) & 0xF0) >> 4, "") \
        if dev.type_.has_member("pcie_flags_reg") else ""
    if int(dev.hdr_type) & 0x7F in (1, 2):                  # bridge, CardBus bridge
        kind += " [BRIDGE]"
    return PciDevice(address, _kobject_name(target, dev), int(dev.member_("class")) >> 8,
                     int(dev.vendor), int(dev.device), kind)


def _pci_bus(target: LinuxTarget, address: int, depth: int = 0) -> PciBus:
    bus = target.object_at("struct pci_bus", address)
    dev_list_off = target.offsetof("struct pci_dev", "bus_list")
    bus_node_off = target.offsetof("struct pci_bus", "node")
    devices = [_pci_device(target, link - dev_list_off)
               for link in list_for_each(target, int(bus.devices.address_of_()), CHAIN_LIMIT)]
    children = []
    if depth >= BUS_DEPTH_LIMIT:
        caveat(f"PCI bus {address:x}: more than {BUS_DEPTH_LIMIT} levels of buses, a loop: "
               "its child buses left out")
    else:
        children = [_pci_bus(target, link - bus_node_off, depth + 1)
                    for link in list_for_each(target, int(bus.children.address_of_()), CHAIN_LIMIT)]
    self_dev = int(bus.self)
    return PciBus(address, _kobject_name(target, bus), int(bus.parent),
                  _pci_device(target, self_dev) if self_dev else None, devices, children)


def pci_root_buses(target: LinuxTarget) -> list[PciBus]:
    """The PCI hierarchy from ``pci_root_buses``: each root bus with its devices and
    child buses (behind bridges), in the kernel's list order."""
    node_off = target.offsetof("struct pci_bus", "node")
    return [_pci_bus(target, link - node_off)
            for link in list_for_each(target, target.address_of("pci_root_buses"), CHAIN_LIMIT)]


@dataclass
class Resource:
    """A line of `dev -i`."""
    kind: str               # "ioport" | "iomem"
    address: int            # struct resource
    start: int
    end: int
    name: str | Unreadable | None     # None: the resource has no name


RESOURCE_LIMIT = 1 << 16
RESOURCE_TREES = (("ioport", "ioport_resource"), ("iomem", "iomem_resource"))


def resources(target: LinuxTarget, kind: str, root_symbol: str) -> list[Resource]:
    """A resource tree (``ioport_resource``, ``iomem_resource``) depth first, the root
    first and each node before its children, as /proc/iomem nests them."""
    res_t = target.type("struct resource")
    out: list[Resource] = []
    seen: set[int] = set()

    def walk(address: int) -> None:
        while address:
            if address in seen or len(out) >= RESOURCE_LIMIT:
                caveat(f"{root_symbol}: a loop at resource {address:x}: the tree shown up to it")
                return
            seen.add(address)
            r = target.object_at(res_t, address)
            name_ptr = int(r.name)
            name: str | Unreadable | None = None
            if name_ptr:
                try:
                    name = _name(target.space.read_cstring(name_ptr, 256))
                except MemoryError_ as err:
                    caveat(f"name of resource {address:x} unreadable ({err}): shown as "
                           "(unknown), as crash does")
                    name = Unreadable(str(err))
            out.append(Resource(kind, address, int(r.start), int(r.end), name))
            child = int(r.child)
            if child and child != address:
                walk(child)
            address = int(r.sibling)

    walk(target.address_of(root_symbol))
    return out
