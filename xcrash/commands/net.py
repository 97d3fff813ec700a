"""net: the network devices of a network namespace, as crash lists them."""
from __future__ import annotations

from ..errors import CommandError, MemoryError_, XcrashError
from .base import Command, Context, Option, Result, Text

HEADER = "   NET_DEVICE     NAME       IP ADDRESS(ES)"


class Net(Command):
    name = "net"
    synopsis = "net [-n pid|task]"
    summary = "network devices and their addresses"
    group = "linux"
    targets = ("linux",)
    description = """\
The network devices of the current context task's network namespace (-n:
another task's), in the namespace's order: the struct net_device, its name and
its IPv4 then IPv6 addresses.  crash's -a (ARP cache), -s/-S (sockets of a
task) and -R are not implemented yet.
"""
    example = "net\nnet -n 1"
    options = (Option("-n", "task", "the network namespace of this task", takes_value=True),)

    def run(self, ctx: Context, args: list[str]) -> Result:
        from ..targets.linux.context import current_task, resolve_task
        from ..targets.linux.net import net_devices
        opts, rest = self.parse(args)
        if rest:
            raise CommandError(f"net: unexpected argument {rest[0]} (give -n pid|task)")
        target = ctx.target
        addr = resolve_task(target, opts["task"], "net") if opts["task"] else current_task(target)
        if addr is None:
            raise CommandError("net: no current task")
        task = target.object_at(target.type("struct task_struct"), addr)
        try:
            devices = net_devices(target, task)
        except (MemoryError_, XcrashError) as e:
            raise CommandError(f"net: {e}") from None
        lines = [HEADER] + [f"{d.address:16x}  {d.name:<10} {', '.join(d.addresses)}"
                            for d in devices]
        return Text("\n".join(lines), [vars(d) for d in devices])


COMMANDS = [Net]
