"""The mounts of a mount namespace (the numbers behind `mount`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import MemoryError_, XcrashError
from ...objects import list_for_each


@dataclass
class Mount:
    address: int          # struct mount
    superblock: int
    fstype: str
    devname: str
    dirname: str


def _string(target: Any, address: int, limit: int = 256) -> str | None:
    if not address:
        return None
    try:
        return target.space.read_cstring(address, limit).decode("utf-8", "replace")
    except MemoryError_:
        return None


def namespace_mounts(target: Any, task: Any) -> list[int]:
    """The ``struct mount`` addresses of ``task``'s mount namespace, in its order:
    the ``mnt_namespace.list`` (before 6.8) or the ``mounts`` rb-tree (6.8+)."""
    mnt_ns = task.nsproxy.deref_().mnt_ns.deref_()
    mount_t = target.type("struct mount")
    if mnt_ns.type_.has_member("nr_mounts"):      # 6.8+: "mounts" is the rb-tree (before: a count)
        from .rbtree import rb_inorder
        node_off = mount_t.member("mnt_node")[0] // 8
        return [node - node_off for node in rb_inorder(target, int(mnt_ns.mounts.rb_node))]
    list_off = mount_t.member("mnt_list")[0] // 8
    return [link - list_off for link in list_for_each(target, mnt_ns.list.address_)]


def describe(target: Any, address: int) -> Mount | None:
    """One mount as crash lists it; None for the cursor entries /proc/mounts readers leave."""
    from .files import dentry_path
    m = target.object_at(target.type("struct mount"), address)
    sb = int(m.mnt.mnt_sb)
    if not sb:
        return None
    fstype = _string(target, int(m.mnt.mnt_sb.deref_().s_type.deref_().name), 64)
    parent = int(m.mnt_parent)
    mnt_offset = target.type("struct mount").member("mnt")[0] // 8
    try:
        dirname = dentry_path(target, int(m.mnt_mountpoint), parent + mnt_offset)
    except (MemoryError_, XcrashError):
        dirname = "(unknown)"
    return Mount(address, sb, fstype if fstype is not None else "unknown",
                 _string(target, int(m.mnt_devname)) or "(unknown)", dirname)
