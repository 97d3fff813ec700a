"""dev: character and block device majors, as crash lists them."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError, MemoryError_, XcrashError
from .base import Command, Context, Option, Result, Text
from ..layouts.columns import center

CHR_HEADER = "CHRDEV    NAME                 CDEV        OPERATIONS      "
BLK_HEADER = "BLKDEV    NAME                GENDISK      OPERATIONS      "


def _row(target: Any, d: Any) -> str:
    head = f" {d.major:3d}      {d.name:<13} "
    if not d.operations:
        return head + " " + "     (none)     "
    hit = target.symbols.resolve(d.operations)
    ops = (hit[0].name + (f"+{hit[1]}" if hit[1] else "")) if hit else f"{d.operations:x}"
    return head + f" {d.object:16x}  {ops}"


PCI_DEV_HEADER = "    PCI DEV      DO:BU:SL.FN  CLASS   PCI_ID      TYPE   "


def _device_line(d: Any) -> str:
    return (f"  {d.address:<16x} {center(d.name, 12)} {center(f'{d.pci_class:04x}', 6)} "
            f"{center(f'{d.vendor:x}:{d.device:x}', 9)} {center(d.type, 10)}")


def pci_lines(bus: Any) -> list[str]:
    """crash's `dev -p` for one bus (its devices) and, below it, its child buses."""
    lines = ["  " + PCI_DEV_HEADER]
    if bus.self_device is not None:
        lines.append(_device_line(bus.self_device))
    lines += [_device_line(d) for d in bus.devices]
    for child in bus.children:
        lines += [f"  {center('PCI BUS', 16)} {center('PARENT BUS', 16)}",
                  f"  {child.address:<16x} {child.parent:<16x}"]
        lines += pci_lines(child)
        lines.append("")
    return lines


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


def resource_lines(found: list[Any], digits: int) -> list[str]:
    """One resource tree as crash's `dev -i` prints it (``digits``: 4 or 8 per bound)."""
    lines = [f"{center('RESOURCE', 16)}  {center('RANGE', digits * 2 + 1)}  NAME"]
    indent = 16 + 2 + digits * 2 + 1 + 2
    for r in found:
        name = _wrap_name(r.name, indent)
        lines.append(f"{r.address:8x}  {r.start:0{digits}x}-{r.end:0{digits}x}  {name[0]}")
        lines += name[1:]
    return lines


class Dev(Command):
    name = "dev"
    synopsis = "dev [-p | -i]"
    summary = "character and block device majors"
    group = "linux"
    targets = ("linux",)
    description = """\
Every registered character device region (major, name, its struct cdev and
file_operations) and block device major (major, name, a struct gendisk of
that major and its block_device_operations), in the kernel's hash order as
crash prints them; (none) when no cdev or gendisk is known for the major.
`dev -p`: the PCI devices of each root bus and of the buses behind its
bridges: struct pci_dev, domain:bus:slot.function, class, vendor:device and
the PCIe port type (crash's TYPE column: legacy PCI devices show ENDPOINT,
the PCIe flags being 0).
`dev -i`: the I/O port and I/O memory resource trees (ioport_resource,
iomem_resource; /proc/ioports and /proc/iomem with each struct resource), a
child listed after its parent.  crash's -d/-D (disk I/O statistics) are not
implemented yet.
"""
    example = "dev\ndev -p\ndev -i"
    options = (Option("-p", "pci", "PCI devices"),
               Option("-i", "io", "I/O port and memory resources"))

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.devices import block_devices, char_devices
        opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"dev: unexpected argument {rest[0]}")
        target = ctx.target
        if opts["pci"]:
            return self._pci(target)
        if opts["io"]:
            return self._resources(target)
        try:
            chars, blocks = char_devices(target), block_devices(target)
        except (MemoryError_, XcrashError) as e:
            raise CommandError(f"dev: {e}") from None
        lines = ([CHR_HEADER] + [_row(target, d) for d in chars] + ["", BLK_HEADER]
                 + [_row(target, d) for d in blocks])
        records = ([dict(vars(d), kind="char") for d in chars]
                   + [dict(vars(d), kind="block") for d in blocks])
        return Text("\n".join(lines), records)


    @staticmethod
    def _resources(target: Any) -> Result:
        from ..targets.linux.devices import resources
        lines: list[str] = []
        records = []
        try:
            for kind, symbol in (("ioport", "ioport_resource"), ("iomem", "iomem_resource")):
                found = resources(target, symbol)
                digits = 8 if found and found[0].end > 0xFFFF else 4
                lines += ([""] if lines else []) + resource_lines(found, digits)
                records += [dict(vars(r), kind=kind) for r in found]
        except (MemoryError_, XcrashError) as e:
            raise CommandError(f"dev: {e}") from None
        return Text("\n".join(lines), records)

    @staticmethod
    def _pci(target: Any) -> Result:
        from ..targets.linux.devices import pci_root_buses
        try:
            roots = pci_root_buses(target)
        except (MemoryError_, XcrashError) as e:
            raise CommandError(f"dev: {e}") from None
        if not roots:
            raise CommandError("dev: no PCI devices found on this system")
        lines: list[str] = []
        for root in roots:
            lines += ["    ROOT BUS     BUSNAME", f"{root.address:<16x} {center(root.name, 7)}"]
            lines += pci_lines(root)
            lines.append("")

        def record(bus: Any) -> dict[str, Any]:
            return {"bus": bus.address, "name": bus.name,
                    "devices": [vars(d) for d in bus.devices],
                    "children": [record(c) for c in bus.children]}
        return Text("\n".join(lines), [record(r) for r in roots])


COMMANDS = [Dev]
