"""net: the network devices of a namespace, and the open sockets of tasks, as crash lists them."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError, MemoryError_, XcrashError
from .args import per_task_blocks, tasks_or_current
from .base import Command, Context, Option, Result, Text

HEADER = "   NET_DEVICE     NAME       IP ADDRESS(ES)"
SOCKET_HEADER = "FD      SOCKET            SOCK       FAMILY:TYPE SOURCE-PORT DESTINATION-PORT"


def sockets_block(target: Any, task: Any) -> tuple[str, dict[str, Any]]:
    """crash's `net -s` for one task: its header, then its sockets or "No open sockets."."""
    from ..targets.linux.net import socket_description, task_sockets
    from .task import task_header
    sockets = task_sockets(target, task)
    lines = [task_header(task)]
    if not sockets:
        lines.append("No open sockets.")
    else:
        lines.append(SOCKET_HEADER)
        lines += [f"{s.fd:2d} {s.socket:16x} {s.sock:16x} {socket_description(s)}" for s in sockets]
    return "\n".join(lines), {"task": task.address_, "sockets": [vars(s) for s in sockets or []]}


class Net(Command):
    name = "net"
    synopsis = "net [-n pid|task] | -s [pid|task ...]"
    summary = "network devices, their addresses, and the sockets of tasks"
    group = "linux"
    targets = ("linux",)
    description = """\
The network devices of the current context task's network namespace (-n:
another task's), in the namespace's order: the struct net_device, its name and
its IPv4 then IPv6 addresses.
`net -s [pid|task ...]`: the open sockets of the tasks (the current context
task by default): fd, struct socket, struct sock, family and type, and for
INET/INET6 the local and remote address-port.  crash's -a (ARP cache), -S
(full structures) and -R are not implemented yet.
"""
    example = "net\nnet -n 1\nnet -s 1"
    options = (Option("-n", "task", "the network namespace of this task", takes_value=True),
               Option("-s", "sockets", "open sockets of tasks"))

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.net import net_devices
        opts, rest = self.parse(args)
        if opts["sockets"]:
            return self._sockets(ctx, rest)
        if rest:
            raise CommandError(f"net: unexpected argument {rest[0]} (give -n pid|task)")
        target = ctx.target
        [addr] = tasks_or_current(target, [opts["task"]] if opts["task"] else [], "net")
        task = target.object_at(target.type("struct task_struct"), addr)
        try:
            devices = net_devices(target, task)
        except (MemoryError_, XcrashError) as e:
            raise CommandError(f"net: {e}") from None
        lines = [HEADER] + [f"{d.address:16x}  {d.name:<10} {', '.join(d.addresses)}"
                            for d in devices]
        return Text("\n".join(lines), [vars(d) for d in devices])

    def _sockets(self, ctx: Context, rest: list[str]) -> Result:
        return per_task_blocks(ctx, tasks_or_current(ctx.target, rest, "net"), "net",
                               sockets_block)

COMMANDS = [Net]
