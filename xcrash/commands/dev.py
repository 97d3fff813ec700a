"""dev: character and block device majors, PCI devices, I/O resources, as crash lists them."""
from __future__ import annotations

from functools import partial
from itertools import chain
from collections.abc import Iterable, Iterator

from ..caveats import Unreadable
from ..errors import CommandError
from ..layouts import separated
from ..layouts.columns import center
from ..results import Column, Records
from ..targets.linux.devices import (RESOURCE_TREES, Device, PciBus, PciDevice, Resource,
                                     block_devices, char_devices, pci_root_buses, resources)
from ..targets.linux.diskio import DiskIo, disk_io
from .args import linux_target
from .base import Command, Context, Option

CHR_HEADER = "CHRDEV    NAME                 CDEV        OPERATIONS      "
BLK_HEADER = "BLKDEV    NAME                GENDISK      OPERATIONS      "


def _row(d: Device) -> str:
    head = f" {d.major:3d}      {d.name:<13} "
    if isinstance(d.operations, Unreadable):
        return head + f" {d.object:>16}  {d.operations}"
    if not d.operations:
        return head + " " + "     (none)     "
    return head + f" {d.object:16x}  {d.operations_symbol or f'{d.operations:x}'}"


def device_lines(devices: Iterable[Device], *, header: str, first: bool = True) -> Iterator[str]:
    if not first:
        yield ""
    yield header
    yield from (_row(d) for d in devices)


def _hex(value: int | Unreadable) -> str:
    return f"{value:x}" if isinstance(value, int) else str(value)


def device_columns(title: str) -> list[Column]:
    return [Column("MAJOR", "major", "right"), Column("NAME", "name"),
            Column(title, "object", fmt=lambda v: _hex(v) if v != 0 else "(none)"),
            Column("OPERATIONS", "operations_symbol", fmt=lambda v: v or "")]


PCI_DEV_HEADER = "    PCI DEV      DO:BU:SL.FN  CLASS   PCI_ID      TYPE   "


def _device_line(d: PciDevice) -> str:
    return (f"  {d.address:<16x} {center(d.name, 12)} {center(f'{d.pci_class:04x}', 6)} "
            f"{center(f'{d.vendor:x}:{d.device:x}', 9)} {center(d.type, 10)}")


def _bus_lines(bus: PciBus) -> Iterator[str]:
    """crash's `dev -p` for one bus (its devices) and, below it, its child buses."""
    yield "  " + PCI_DEV_HEADER
    if bus.self_device is not None:
        yield _device_line(bus.self_device)
    yield from (_device_line(d) for d in bus.devices)
    for child in bus.children:
        yield f"  {center('PCI BUS', 16)} {center('PARENT BUS', 16)}"
        yield f"  {child.bus:<16x} {child.parent:<16x}"
        yield from _bus_lines(child)
        yield ""


def pci_lines(roots: Iterable[PciBus]) -> Iterator[str]:
    """crash's `dev -p`: each root bus, its devices, then its child buses."""
    return separated(chain(["    ROOT BUS     BUSNAME", f"{root.bus:<16x} {center(root.name, 7)}"],
                           _bus_lines(root)) for root in roots)


def _wrap_name(name: str, indent: int) -> list[str]:
    """crash's fold of a resource name past column 80: at the last blank that leaves
    enough room, the rest on a line of its own under the name column."""
    over = indent + len(name) - 80
    if over <= 0:
        return [name]
    for cut in range(len(name) - 1, 0, -1):
        if name[cut] == " " and len(name) - 1 - cut >= over:
            return [name[:cut], " " * indent + name[cut + 1:]]
    return [name]


def resource_lines(found: Iterable[Resource], *, first: bool = True) -> Iterator[str]:
    """One resource tree as crash's `dev -i` prints it: 4 hex digits per bound, 8
    when the root's end needs more."""
    found = list(found)
    digits = 8 if found and found[0].end > 0xFFFF else 4
    if not first:
        yield ""
    yield f"{center('RESOURCE', 16)}  {center('RANGE', digits * 2 + 1)}  NAME"
    indent = 16 + 2 + digits * 2 + 1 + 2
    for r in found:
        name = _wrap_name(r.name if isinstance(r.name, str) else "(unknown)", indent)
        yield f"{r.address:8x}  {r.start:0{digits}x}-{r.end:0{digits}x}  {name[0]}"
        yield from name[1:]


class Dev(Command):
    name = "dev"
    synopsis = "dev [-i | -p | -d | -D ] [-V | -v index [file]]"
    summary = "character and block device majors, PCI devices, I/O resources"
    group = "linux"
    targets = ("linux",)
    description = """\
Every registered character device region (major, name, its struct cdev and
file_operations) and block device major (major, name, a struct gendisk of
that major and its block_device_operations), in the kernel's hash order as
crash prints them; (none) when no cdev or gendisk is known for the major, ?
with a WARNING line when the lookup could not be read.
The PCI TYPE column is the PCIe port type, as crash's: legacy PCI devices show
ENDPOINT, their PCIe flags being 0.  -d shows each disk of the block class
(but ram and loop disks, as crash) with its request queue and the requests in
flight on it, reads and writes (blk-mq: the tags allocated in each hardware
queue whose request is in flight on that queue; without blk-mq, the disk's
per-CPU in_flight counters); -D only the disks with requests in flight.  Of
-i, -p, -d and -D the first given is shown, as in crash.  -V/-v (device dumps
in the vmcore) are refused: xcrash does not read device dumps.
"""
    example = "dev\ndev -p\ndev -i\ndev -d"
    options = (Option("-p", "pci", "the PCI devices of each root bus and of the buses behind "
                      "its bridges: struct pci_dev, domain:bus:slot.function, class, "
                      "vendor:device, type"),
               Option("-i", "io", "the I/O port and I/O memory resource trees "
                      "(ioport_resource, iomem_resource, as /proc/ioports and /proc/iomem "
                      "with each struct resource), a child after its parent"),
               Option("-d", "diskio", "disk I/O in flight, per disk"),
               Option("-D", "busy", "the same, only the disks with I/O in flight"),
               Option("-V", "dumps", "the device dumps in the vmcore (refused)"),
               Option("-v", "dump", "one device dump (refused)", takes_value=True,
                      metavar="index"))

    def run(self, ctx: Context, args: list[str]) -> list[Records]:
        opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"dev: unexpected argument {rest[0]}")
        target = linux_target(ctx)
        if opts["dumps"] or opts["dump"] is not None:
            raise CommandError("dev: -V/-v: device dumps are not read by xcrash")
        first = next((a for a in args if a in ("-i", "-p", "-d", "-D")), None)
        if first in ("-d", "-D"):
            found = disk_io(target)
            if first == "-D":
                found = [d for d in found if d.read + d.write]
            return [Records(found, diskio_lines)]
        if first == "-p":
            roots = pci_root_buses(target)
            if not roots:
                raise CommandError("dev: no PCI devices found on this system")
            return [Records(roots, pci_lines)]
        if opts["io"] and first != "-p":
            return [Records(resources(target, kind, symbol), partial(resource_lines, first=i == 0))
                    for i, (kind, symbol) in enumerate(RESOURCE_TREES)]
        return [Records(char_devices(target), partial(device_lines, header=CHR_HEADER),
                        columns=device_columns("CDEV")),
                Records(block_devices(target),
                        partial(device_lines, header=BLK_HEADER, first=False),
                        columns=device_columns("GENDISK"))]


def diskio_lines(records: Iterable[DiskIo]) -> Iterator[str]:
    yield "MAJOR GENDISK            NAME       REQUEST_QUEUE      TOTAL  READ WRITE "
    for d in records:
        yield (f"{d.major:5d} {d.gendisk:<16x}   {d.name:<10} {d.queue:<16x}   "
               f"{d.read + d.write:5d} {d.read:5d} {d.write:5d} ")


COMMANDS = [Dev]
