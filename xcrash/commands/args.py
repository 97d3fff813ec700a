"""Reading the arguments crash users type: addresses, symbols, counts."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import CommandError, NoSuchSymbol

if TYPE_CHECKING:
    from ..objects import Object
    from ..targets.base import Target
    from ..targets.linux.kernel import LinuxTarget
    from ..targets.xen.hypervisor import XenTarget
    from .base import Context

R = TypeVar("R")

_HEX = re.compile(r"(0x)?[0-9a-fA-F]+")


def parse_number(text: str, default_radix: int = 10) -> int:
    """A count or value: ``0x`` hex, ``0d`` decimal, otherwise ``default_radix``."""
    s = text.strip().lower()
    try:
        if s.startswith("0x"):
            return int(s, 16)
        if s.startswith("0d"):
            return int(s[2:], 10)
        return int(s, default_radix)
    except ValueError:
        raise CommandError(f"not a number: {text!r}") from None


def looks_hex(text: str) -> bool:
    return _HEX.fullmatch(text.strip()) is not None


def parse_address(target: Target, text: str) -> int:
    """An address as crash reads one: hex digits (``0x`` optional), a symbol
    name, ``symbol+offset``, or a parenthesised expression (a struct or array
    stands for where it is, a pointer or integer for its value)."""
    s = text.strip()
    if s.startswith("("):
        from ..expr import Evaluator
        from ..objects import Object
        value = Evaluator(target).evaluate(s)
        if isinstance(value, Object) and not (value.type_.is_pointer()
                                              or value.type_.is_integer()):
            return value.at_
        return int(value)
    if looks_hex(s):
        return int(s, 16)
    m = re.fullmatch(r"([A-Za-z_.$][\w.$]*)\s*([+-]\s*(?:0x[0-9a-fA-F]+|\d+))?", s)
    if m:
        try:
            addr = target.address_of(m.group(1))
        except NoSuchSymbol:
            raise CommandError(f"symbol not found: {m.group(1)}") from None
        if m.group(2):
            addr += int(m.group(2).replace(" ", ""), 0)
        return addr
    raise CommandError(f"invalid address: {text}")


def tasks_or_current(target: LinuxTarget, args: list[str], command: str) -> list[int]:
    """The tasks named by PIDs or task addresses, else the current context task."""
    from ..targets.linux.context import NoPanicTask, current_task, resolve_task
    tasks = [resolve_task(target, a) for a in args]
    if not tasks:
        addr = current_task(target)
        if addr is None:
            raise NoPanicTask()
        tasks = [addr]
    return tasks


def linux_target(ctx: Context) -> LinuxTarget:
    """The current target of a command that works on Linux kernels only (``targets =
    ("linux",)``: the runner checked its kind)."""
    from ..targets.linux.kernel import LinuxTarget
    target = ctx.target
    if not isinstance(target, LinuxTarget):
        raise CommandError(f"not a Linux kernel: {target.name}")
    return target


def xen_target(ctx: Context) -> XenTarget:
    """The current target of a command that works on the hypervisor only (``targets =
    ("xen",)``, or the xen branch of a command serving several kinds)."""
    from ..targets.xen.hypervisor import XenTarget
    target = ctx.target
    if not isinstance(target, XenTarget):
        raise CommandError(f"not a Xen hypervisor: {target.name}")
    return target


def per_task_records(ctx: Context, tasks: list[int], command: str,
                     make: Callable[[LinuxTarget, Object], R]) -> list[R]:
    """``make(target, task)`` of each task (a record for its block); a task that cannot
    be read is a one-line error naming it."""
    from ..errors import XcrashError
    target = linux_target(ctx)
    ttype = target.type("struct task_struct")
    records = []
    for addr in tasks:
        ctx.check()
        try:
            records.append(make(target, target.object_at(ttype, addr)))
        except XcrashError as e:
            raise CommandError(f"{command}: task {addr:x}: {e}") from None
    return records


def parse_cpu_list(spec: str, command: str, every: list[int] | None = None) -> list[int]:
    """crash's CPU specification: ``1,3,5-7``; ``all`` or ``a`` for ``every`` when given."""
    if every is not None and spec in ("all", "a"):
        return list(every)
    out: list[int] = []
    try:
        for part in spec.split(","):
            if "-" in part:
                first, last = part.split("-", 1)
                out.extend(range(int(first), int(last) + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise CommandError(f"{command}: invalid cpu list: {spec}") from None
    return out


def radix_of(ctx: Context, opts: dict[str, Any]) -> int:
    """-x / -d, else the session's output radix (``set radix``)."""
    if opts.get("hex"):
        return 16
    if opts.get("dec"):
        return 10
    return int(ctx.settings.get("radix", 10))


def context_cpu(target: Target) -> int | None:
    """The CPU of the context task (a cpuspec's empty ``:``), None without one."""
    from ..targets.linux.kernel import LinuxTarget
    if not isinstance(target, LinuxTarget):
        return None
    from ..targets.linux.tasks import task_cpu
    task = target.context_task()
    return None if task is None else task_cpu(target.object_at("struct task_struct", task))
