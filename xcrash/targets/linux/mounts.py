"""The mounts of a mount namespace (the records behind `mount`)."""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...caveats import Unreadable, caveat
from ...errors import MemoryError_, XcrashError
from ...objects import Fields, Object, list_for_each
from .files import dentry_path
from .rbtree import rb_inorder
from .tasks import task_addresses

if TYPE_CHECKING:
    from .kernel import LinuxTarget

#: mnt_flags of the cursor entries /proc/mounts readers leave in the list (5.8+)
MNT_CURSOR = 0x10000000


@dataclass
class Mount:
    """A line of `mount`."""
    address: int                          # struct mount
    superblock: int
    fstype: str | Unreadable              # the file_system_type's name
    devname: str | Unreadable | None      # None: the mount has no device name
    dirname: str | Unreadable             # the mount point's path through its parents


class NoNamespaces(XcrashError):
    """A task that has exited keeps no nsproxy."""


def mounts(target: LinuxTarget, task: Object | None = None) -> Iterator[Mount]:
    """The mounts of ``task``'s mount namespace (without a task, crash's choice: that
    of the task with the lowest PID from 1 up, init), in its order (the namespace is
    found at once, each mount is read as the listing goes)."""
    addresses = namespace_mounts(target, task if task is not None else _first_task(target))
    return (m for m in (describe(target, a) for a in addresses) if m is not None)


def _first_task(target: LinuxTarget) -> Object:
    """The task with the lowest PID above 0 (crash takes pid 1, 2, ... until one exists).
    PID 1, the lowest there is, is usually the task list's first process: the walk
    stops there (mount does not read every task of a dump with thousands)."""
    pid_of = Fields(target, "struct task_struct", ("pid",)).read
    errors: list[str] = []
    first: tuple[int, int] | None = None
    for addr in task_addresses(target, errors):
        try:
            pid = pid_of(addr)[0]
        except MemoryError_:
            continue        # a task whose PID cannot be read cannot be crash's pick
        if pid == 1:
            return target.object_at("struct task_struct", addr)
        if pid > 0 and (first is None or pid < first[0]):
            first = (pid, addr)
    for error in errors:
        caveat(f"{error}: the tasks past that point were not looked at for init")
    if first is None:
        raise NoNamespaces("no task with a PID above 0: no mount namespace to show")
    return target.object_at("struct task_struct", first[1])


def namespace_mounts(target: LinuxTarget, task: Object) -> list[int]:
    """The ``struct mount`` addresses of ``task``'s mount namespace, in its order:
    the ``mnt_namespace.list`` (before 6.8) or the ``mounts`` rb-tree (6.8+)."""
    if not int(task.nsproxy):
        raise NoNamespaces(f"task {task.address_:x} has exited: no namespaces")
    mnt_ns = task.nsproxy.deref_().mnt_ns.deref_()
    if mnt_ns.type_.has_member("nr_mounts"):      # 6.8+: "mounts" is the rb-tree (before: a count)
        node_off = target.offsetof("struct mount", "mnt_node")
        return [node - node_off for node in rb_inorder(target, int(mnt_ns.mounts.rb_node))]
    list_off = target.offsetof("struct mount", "mnt_list")
    return [link - list_off for link in list_for_each(target, int(mnt_ns.list.address_of_()))]


def _string(target: LinuxTarget, address: int, what: str, shown: str,
            limit: int = 256) -> str | Unreadable:
    try:
        return target.space.read_cstring(address, limit).decode("utf-8", "replace")
    except MemoryError_ as err:
        caveat(f"{what} at {address:x} unreadable ({err}): shown as {shown}, as crash does")
        return Unreadable(str(err))


def describe(target: LinuxTarget, address: int) -> Mount | None:
    """One mount as crash lists it; None for the cursor entries /proc/mounts readers leave
    (and, with a warning, for a mount without a super_block, which crash leaves out too)."""
    m = target.object_at("struct mount", address)
    sb = int(m.mnt.mnt_sb)
    if not sb:
        if not int(m.mnt.mnt_flags) & MNT_CURSOR:
            caveat(f"cannot get super_block from mount {address:x}: left out")
        return None
    fstype = _string(target, int(m.mnt.mnt_sb.deref_().s_type.deref_().name),
                     f"file system type name of mount {address:x}", "unknown", 64)
    devname_ptr = int(m.mnt_devname)
    devname = (_string(target, devname_ptr, f"device name of mount {address:x}", "(unknown)")
               if devname_ptr else None)
    dirname: str | Unreadable
    try:
        dirname = dentry_path(target, int(m.mnt_mountpoint),
                              int(m.mnt_parent) + target.offsetof("struct mount", "mnt"))
    except (MemoryError_, XcrashError) as err:
        caveat(f"mount point of mount {address:x} unreadable ({err}): shown as (unknown)")
        dirname = Unreadable(str(err))
    return Mount(address, sb, fstype, devname, dirname)
