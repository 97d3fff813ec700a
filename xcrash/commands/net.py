"""net: the network devices of a namespace, and the open sockets of tasks, as crash lists them."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from ..caveats import Unreadable
from ..errors import CommandError, NoSuchType
from ..layouts.values import struct_lines
from ..layouts import separated
from ..layouts.tasks import task_header
from ..results import Column, Records, Teaching, text_lines
from ..targets import values
from ..targets.linux import teach
from ..targets.linux.kernel import LinuxTarget
from ..targets.linux.net import (AF_INET, AF_INET6, FAMILIES, SOCK_TYPES, NetDevice, Socket,
                                 TaskSockets, net_devices, task_sockets)
from ..targets.linux.neighbours import Neighbour, arp_table
from ..targets.linux.taskinfo import TaskRef
from ..targets.values import StructContents
from ..targets.linux.context import resolve_task
from .args import linux_target, per_task_records, radix_of, tasks_or_current
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


@dataclass
class SocketStructs:
    """net -S: a socket's struct socket and struct inet_sock (or sock), read whole."""
    socket: Socket
    structs: list[StructContents]


@dataclass
class TaskSocketStructs(TaskRef):
    sockets: list[SocketStructs]
    radix: int = field(default=10, metadata={"json": False})


def struct_socket_lines(records: Iterable[TaskSocketStructs]) -> Iterator[str]:
    """crash's `net -S`: per socket a FD/SOCKET/SOCK header, then the structures."""
    def block(r: TaskSocketStructs) -> Iterator[str]:
        yield task_header(r)
        if not r.sockets:
            yield "No open sockets."
            return
        for i, s in enumerate(r.sockets):
            if i:
                yield ""
            yield "FD       SOCKET             SOCK      "
            yield f"{s.socket.fd:2d}  {s.socket.socket:16x}  {s.socket.sock:16x}"
            yield ""
            for c in s.structs:
                yield from struct_lines(c, r.radix)
    return separated(block(r) for r in records)


@dataclass
class SocketReference:
    """net -R: a task's sockets that are the reference (fd, struct socket or sock)."""
    sockets: TaskSockets


def reference_lines(records: Iterable[SocketReference]) -> Iterator[str]:
    """crash's -R: the first task with a match gets its task header (crash keeps its
    "header printed" mark for the rest of the command), each task with a match its
    sockets' header and rows; once something matched, every task ends in a blank."""
    found = False
    for r in records:
        if r.sockets.sockets:
            if not found:
                yield task_header(r.sockets)
            found = True
            yield SOCKET_HEADER
            yield from (f"{s.fd:2d} {s.socket:16x} {s.sock:16x} {socket_description(s)}"
                        for s in r.sockets.sockets)
        if found:
            yield ""


def _referred(t: TaskSockets, ref: str) -> SocketReference:
    """crash's match: a decimal number is a descriptor, else a number is a struct
    socket or sock address (or a descriptor written in hex)."""
    fd = value = None
    if ref.isdigit():
        fd = int(ref)
    else:
        try:
            value = int(ref, 16)
        except ValueError:
            raise CommandError(f"net: invalid reference: {ref}") from None
    kept = [s for s in t.sockets if s.fd == fd or value in (s.socket, s.sock, s.fd)]
    return SocketReference(replace(t, sockets=kept))


def ntoa(text: str) -> str:
    """net -N: a 32-bit value (as the kernel keeps an IPv4 address, network order in
    memory) in dotted-decimal."""
    try:
        value = int(text, 16 if text.lower().startswith("0x") or not text.isdigit() else 10)
    except ValueError:
        raise CommandError(f"net: invalid address: {text}") from None
    return ".".join(str(b) for b in (value & 0xFFFFFFFF).to_bytes(4, "little"))


def arp_lines(records: Iterable[Neighbour]) -> Iterator[str]:
    for i, n in enumerate(records):
        if not i:
            yield "NEIGHBOUR        IP ADDRESS      HW TYPE    HW ADDRESS         DEVICE  STATE"
        if n.hw_type == "ETHER":            # crash's ether form: colons, a blank after
            hw = ":".join(f"{b:02x}" for b in n.hw_address) + (" " if n.hw_address else "")
        else:
            hw = "".join(f"{b:02x} " for b in n.hw_address)
        yield f"{n.address:<16x} {n.ip:<16}{n.hw_type:<10} {hw} {n.device:<6}  {n.state}"


class Net(Command):
    name = "net"
    synopsis = "net [[-s | -S] [-xd] [-R ref] [pid | task]] [-a] [ -n [pid | task]] [-N addr]"
    summary = "network devices, their addresses, and the sockets of tasks"
    group = "linux"
    targets = ("linux",)
    description = """\
The network devices of init_net (as crash: the namespace of the idle task), in
the namespace's order: the struct net_device, its name and its IPv4 then IPv6
addresses (? with a WARNING line when a device's address lists cannot be read).
With -s: for each task (the current context task by default) its open sockets:
fd, struct socket, struct sock, family and type, and for INET/INET6 the local
and remote address-port.  -S shows each socket's struct socket and struct
inet_sock gdb-style instead (-x/-d: in hexadecimal/decimal); -R keeps the
sockets that are the reference (a descriptor number, a struct socket or sock
address) and the tasks that have one.  -a shows the IPv4 neighbour (ARP)
table (arp_tbl): an error where the kernel has none; its rows have not been
compared with crash's (no dump at hand has ARP entries).  -N shows a 32-bit
value as the dotted IPv4 address it holds.
"""
    example = "net\nnet -n 1\nnet -s 1\nnet -N 0x0100007f"
    options = (Option("-n", "task", "the network namespace of this task instead",
                      takes_value=True, metavar="pid|task"),
               Option("-s", "sockets", "the open sockets of the tasks given (pid or task "
                      "address) instead of the devices"),
               Option("-S", "structs", "the same, each socket's structures in full"),
               Option("-x", "hex", "-S in hexadecimal"),
               Option("-d", "dec", "-S in decimal"),
               Option("-R", "ref", "only the sockets that are this fd, socket or sock",
                      takes_value=True, metavar="ref"),
               Option("-a", "arp", "the ARP (IPv4 neighbour) table"),
               Option("-N", "ntoa", "a 32-bit value as an IPv4 address", takes_value=True,
                      metavar="addr"))
    exclusive = (("sockets", "structs"), ("hex", "dec"))

    def run(self, ctx: Context, args: list[str]) -> Records | list[Records]:
        opts, rest = self.parse(args)
        target = linux_target(ctx)
        if opts["ntoa"] is not None:
            return text_lines(ntoa(opts["ntoa"]))
        out: list[Records] = []
        if opts["arp"]:
            out.append(Records(arp_table(target), arp_lines))
        if opts["sockets"] or opts["structs"]:
            tasks = tasks_or_current(target, rest, "net")
            found = per_task_records(ctx, tasks, "net", task_sockets)
            if opts["ref"] is not None:
                out.append(Records([_referred(t, opts["ref"]) for t in found], reference_lines))
            elif opts["structs"]:
                radix = radix_of(ctx, opts)
                out.append(Records([_structs(target, t, radix) for t in found],
                                   struct_socket_lines))
            else:
                out.append(Records(found, socket_lines))
            return out
        if opts["arp"]:
            return out
        if opts["hex"] or opts["dec"] or opts["ref"] is not None:
            raise CommandError(f"net: -x, -d and -R go with -s or -S: {self.usage()}")
        if rest:
            raise CommandError(f"net: unexpected argument {rest[0]} (give -n pid|task)")
        task = None
        if opts["task"]:
            task = target.object_at("struct task_struct", resolve_task(target, opts["task"]))
        return Records(net_devices(target, task), device_lines, columns=DEVICE_COLUMNS)


    def teach(self, ctx: Context, args: list[str]) -> Teaching | None:
        opts, _rest = self.parse(args)
        if opts["sockets"] or opts["structs"] or opts["arp"] or opts["ntoa"] is not None:
            return None
        target = linux_target(ctx)
        task = resolve_task(target, opts["task"]) if opts["task"] else None
        teaching = teach.net_teaching(target, task)
        teaching.imports.append("from xcrash.commands.net import device_lines")
        teaching.body += ["for line in device_lines(records):", "    print(line)"]
        return teaching


def _structs(target: LinuxTarget, t: TaskSockets, radix: int) -> TaskSocketStructs:
    socket_t = target.type("struct socket")
    try:
        sock_t = target.type("struct inet_sock")
    except NoSuchType:
        sock_t = target.type("struct sock")
    return TaskSocketStructs(t.pid, t.task, t.cpu, t.comm,
                             [SocketStructs(s, [values.read_struct(target, socket_t, s.socket),
                                                values.read_struct(target, sock_t, s.sock)])
                              for s in t.sockets], radix)


COMMANDS = [Net]
