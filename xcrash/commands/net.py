"""net: the network devices of a namespace, and the open sockets of tasks, as crash lists them."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..caveats import Unreadable
from ..errors import CommandError
from ..layouts import separated
from ..layouts.tasks import task_header
from ..results import Column, Records, Teaching
from ..targets.linux import teach
from ..targets.linux.net import (AF_INET, AF_INET6, FAMILIES, SOCK_TYPES, NetDevice, Socket,
                                 TaskSockets, net_devices, task_sockets)
from ..targets.linux.context import resolve_task
from .args import linux_target, per_task_records, tasks_or_current
from .base import Command, Context, Option

HEADER = "   NET_DEVICE     NAME       IP ADDRESS(ES)"
SOCKET_HEADER = "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT"


def _addresses(addresses: list[str] | Unreadable) -> str:
    return ", ".join(addresses) if isinstance(addresses, list) else str(addresses)


def device_lines(devices: Iterable[NetDevice]) -> Iterator[str]:
    yield HEADER
    for d in devices:
        yield f"{d.address:16x}  {d.name:<10} {_addresses(d.addresses)}"


DEVICE_COLUMNS = [Column("NET_DEVICE", "address", fmt=lambda v: f"{v:x}"),
                  Column("NAME", "name"), Column("IP ADDRESS(ES)", "addresses", fmt=_addresses)]


def socket_description(s: Socket) -> str:
    """crash's FAMILY:TYPE SOURCE-PORT DESTINATION-PORT column."""
    text = f"{FAMILIES.get(s.family, str(s.family))}:{SOCK_TYPES.get(s.type, str(s.type))} "
    if s.family == AF_INET:
        text += f" {s.source} {s.destination}"
    elif s.family == AF_INET6:
        text += f"{s.source:>12} {s.destination}"
    return text


def socket_lines(records: Iterable[TaskSockets]) -> Iterator[str]:
    """crash's `net -s`: per task its header, then its sockets or "No open sockets."."""
    def block(r: TaskSockets) -> Iterator[str]:
        yield task_header(r)
        if not r.sockets:
            yield "No open sockets."
            return
        yield SOCKET_HEADER
        yield from (f"{s.fd:2d} {s.socket:16x} {s.sock:16x} {socket_description(s)}"
                    for s in r.sockets)
    return separated(block(r) for r in records)


class Net(Command):
    name = "net"
    synopsis = "net [-n pid|task] | -s [pid|task ...]"
    summary = "network devices, their addresses, and the sockets of tasks"
    group = "linux"
    targets = ("linux",)
    description = """\
The network devices of init_net (as crash: the namespace of the idle task), in
the namespace's order: the struct net_device, its name and its IPv4 then IPv6
addresses (? with a WARNING line when a device's address lists cannot be read).
With -s: for each task (the current context task by default) its open sockets:
fd, struct socket, struct sock, family and type, and for INET/INET6 the local
and remote address-port.  crash's -a (ARP cache), -S (full structures) and -R
are not implemented yet.
"""
    example = "net\nnet -n 1\nnet -s 1"
    options = (Option("-n", "task", "the network namespace of this task instead",
                      takes_value=True, metavar="pid|task"),
               Option("-s", "sockets", "the open sockets of the tasks given (pid or task "
                      "address) instead of the devices"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = linux_target(ctx)
        if opts["sockets"]:
            tasks = tasks_or_current(target, rest, "net")
            return Records(per_task_records(ctx, tasks, "net", task_sockets), socket_lines)
        if rest:
            raise CommandError(f"net: unexpected argument {rest[0]} (give -n pid|task)")
        task = None
        if opts["task"]:
            task = target.object_at("struct task_struct", resolve_task(target, opts["task"]))
        return Records(net_devices(target, task), device_lines, columns=DEVICE_COLUMNS)


    def teach(self, ctx: Context, args: list[str]) -> Teaching | None:
        opts, _rest = self.parse(args)
        if opts["sockets"]:
            return None
        target = linux_target(ctx)
        task = resolve_task(target, opts["task"]) if opts["task"] else None
        teaching = teach.net_teaching(target, task)
        teaching.imports.append("from xcrash.commands.net import device_lines")
        teaching.body += ["for line in device_lines(records):", "    print(line)"]
        return teaching


COMMANDS = [Net]
