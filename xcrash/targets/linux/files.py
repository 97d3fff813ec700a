"""Open files of a task and the path names of dentries (the records of `files`).

Path names are rebuilt as crash rebuilds them: from the dentry up its ``d_parent``
chain, crossing each mount at its root to the ``mnt_mountpoint`` in the parent
mount, until a mount that is its own parent.  Pseudo-filesystem dentries with an
empty name (pipes, anonymous inodes) give an empty path, as in crash.
"""
from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ... import trace
from ...caveats import Unreadable, caveat, collecting
from ...errors import MemoryError_
from ...objects import Object
from ..base import cached_per_target
from .taskinfo import TaskRef, task_ref

if TYPE_CHECKING:
    from .kernel import LinuxTarget

S_IFMT = 0o170000
FILE_TYPES = {0o100000: "REG", 0o120000: "LNK", 0o040000: "DIR", 0o020000: "CHR",
              0o060000: "BLK", 0o010000: "FIFO", 0o140000: "SOCK"}
PATH_LIMIT = 256          # components: a deeper chain is a loop in a damaged dump


@dataclass
class OpenFile:
    """An open file descriptor (Unreadable fields: its struct file could not be read)."""
    fd: int
    file: int
    dentry: int | Unreadable
    inode: int | Unreadable
    #: REG DIR CHR BLK FIFO LNK SOCK (UNKN for another mode), or "?" without a dentry/inode
    type: str | Unreadable
    path: str | Unreadable


@dataclass
class TaskFiles(TaskRef):
    """``files`` of one task: its root and working directory and its open files."""
    root: str | None          # None: the task has no fs_struct
    cwd: str | None
    files: list[OpenFile]


def _offset(target: LinuxTarget, type_name: str, member: str) -> int:
    return target.offsetof(type_name, member)


def _component(target: LinuxTarget, dentry: int) -> str | None:
    """The dentry's own name, or None when it is empty or cut (the walk stops there)."""
    sp = target.space
    length = sp.read_u32(dentry + _offset(target, "struct dentry", "d_name.len"))
    name = sp.read_u64(dentry + _offset(target, "struct dentry", "d_name.name"))
    if not length or not name:
        return None
    raw = sp.read_cstring(name, length + 1)
    return raw.decode("utf-8", "replace") if len(raw) == length else None


def dentry_path(target: LinuxTarget, dentry: int, vfsmount: int) -> str:
    """The full path of ``dentry`` seen through mount ``vfsmount`` (0: no mount crossing);
    each worked out once (thousands of tasks share a root, a directory, a terminal)."""
    if trace.enabled():         # explain mode shows every read
        return _dentry_path(target, dentry, vfsmount)
    known = _paths(target)
    path = known.get((dentry, vfsmount))
    if path is None:
        if len(known) >= _PATHS_KEPT:
            known.clear()
        path = known[(dentry, vfsmount)] = _dentry_path(target, dentry, vfsmount)
    return path


#: paths remembered per target, at most
_PATHS_KEPT = 1 << 16


@cached_per_target
def _paths(target: LinuxTarget) -> dict[tuple[int, int], str]:
    return {}


def _dentry_path(target: LinuxTarget, dentry: int, vfsmount: int) -> str:
    sp = target.space
    d_parent = _offset(target, "struct dentry", "d_parent")
    mnt_in_mount = _offset(target, "struct mount", "mnt")
    mountpoint = _offset(target, "struct mount", "mnt_mountpoint")
    mount_parent = _offset(target, "struct mount", "mnt_parent")
    path = ""
    current = dentry
    for _ in range(PATH_LIMIT):
        name = _component(target, current)
        if name is None:
            break
        if current == dentry:
            path = name
        elif (len(name) > 1 or name != "/") and not path.startswith("/"):
            path = f"{name}/{path}"
        else:
            path = name + path
        parent = sp.read_u64(current + d_parent)
        if parent == current:              # the root of a mounted filesystem
            if not vfsmount:
                break
            if path.startswith("//"):
                path = path[1:]
            mount = vfsmount - mnt_in_mount
            parent = sp.read_u64(mount + mountpoint)
            up = sp.read_u64(mount + mount_parent)
            if up == mount:
                break
            vfsmount = up + mnt_in_mount
        elif not parent:
            break
        current = parent
    if path != "/" and path.endswith("/"):
        path = path[:-1]
    return path


def _devname(target: LinuxTarget, vfsmount: int) -> str | None:
    """The device name of a mount ("" when it has none; None, with a caveat, when
    it cannot be read: crash's naming rules that depend on it are then not applied)."""
    known = _devnames(target) if not trace.enabled() else {}
    if vfsmount in known:
        return known[vfsmount]
    mount = vfsmount - _offset(target, "struct mount", "mnt")
    try:
        name = target.space.read_u64(mount + _offset(target, "struct mount", "mnt_devname"))
        found = target.space.read_cstring(name, 64).decode("utf-8", "replace") if name else ""
        if len(known) < _PATHS_KEPT:
            known[vfsmount] = found
        return found
    except MemoryError_ as err:
        caveat(f"device name of mount {mount:x} unreadable ({err}): paths on it are named "
               "without crash's devtmpfs/devpts rules")
        return None


@cached_per_target
def _devnames(target: LinuxTarget) -> dict[int, str]:
    """Device names of the mounts read so far."""
    return {}


def _file_root_mount(target: LinuxTarget, vfsmount: int) -> int:
    """crash's choice for devtmpfs mounted on devtmpfs: name the path from the parent."""
    dev = _devname(target, vfsmount)
    if dev in ("udev", "devtmpfs"):
        mount = vfsmount - _offset(target, "struct mount", "mnt")
        parent = target.space.read_u64(mount + _offset(target, "struct mount", "mnt_parent"))
        if _devname(target, parent + _offset(target, "struct mount", "mnt")) == dev:
            return parent + _offset(target, "struct mount", "mnt")
    return vfsmount


def file_type(target: LinuxTarget, inode: int) -> str:
    mode = target.space.read_u16(inode + _offset(target, "struct inode", "i_mode"))
    return FILE_TYPES.get(mode & S_IFMT, "UNKN")


def open_file(target: LinuxTarget, fd: int, file: int) -> OpenFile:
    """What an open file shows; a struct file is described once per target (thousands of
    descriptors share a few: every process's terminal)."""
    known = _open_files_seen(target) if not trace.enabled() else None
    found = known.get(file) if known is not None else None
    if found is None:
        said: list[str] = []
        try:
            with collecting() as said:
                found = _describe_file(target, file)
        finally:                # said where they were met, a failed read's too
            for what in said:
                caveat(what)
        # an answer that came with a warning is not kept: every command that meets
        # the file says it
        if known is not None and not said and len(known) < _PATHS_KEPT:
            known[file] = found
    return OpenFile(fd, file, *found)


@cached_per_target
def _open_files_seen(target: LinuxTarget) -> dict[int, tuple[int, int, str, str]]:
    return {}


def _describe_file(target: LinuxTarget, file: int) -> tuple[int, int, str, str]:
    """(dentry, inode, type, path) of a struct file."""
    sp = target.space
    dentry = sp.read_u64(file + _offset(target, "struct file", "f_path.dentry"))
    if not dentry:
        return 0, 0, "?", "?"
    inode = sp.read_u64(dentry + _offset(target, "struct dentry", "d_inode"))
    if not inode:
        return dentry, 0, "?", "?"
    vfsmount = _file_root_mount(target, sp.read_u64(file + _offset(target, "struct file",
                                                                   "f_path.mnt")))
    path = dentry_path(target, dentry, vfsmount)
    if path.startswith("/pts/") and _devname(target, vfsmount) == "devpts":
        path = "/dev" + path
    kind = file_type(target, inode)
    if kind == "SOCK" and path == "/":
        path = ""
    return dentry, inode, kind, path


@functools.lru_cache(maxsize=64)
def _words(count: int) -> struct.Struct:
    return struct.Struct(f"<{count}Q")


def _fs_path(target: LinuxTarget, fs: int, which: str) -> str:
    sp = target.space
    dentry = sp.read_u64(fs + _offset(target, "struct fs_struct", f"{which}.dentry"))
    mnt = sp.read_u64(fs + _offset(target, "struct fs_struct", f"{which}.mnt"))
    return dentry_path(target, dentry, mnt) if dentry else ""


def task_files(target: LinuxTarget, task: Object) -> TaskFiles:
    """ROOT and CWD of ``task`` and its open file descriptors, in fd order."""
    ref = task_ref(task)
    root = cwd = None
    fs = int(task.fs)
    if fs:
        root, cwd = _fs_path(target, fs, "root"), _fs_path(target, fs, "pwd")
    return TaskFiles(ref.pid, ref.task, ref.cpu, ref.comm, root, cwd,
                     _open_files(target, int(task.files)))


def _open_files(target: LinuxTarget, files_struct: int) -> list[OpenFile]:
    """The open descriptors of a files_struct (none for a task without one)."""
    sp = target.space
    files: list[OpenFile] = []
    if not files_struct:
        return files
    fdt = sp.read_u64(files_struct + _offset(target, "struct files_struct", "fdt"))
    if not fdt:
        return files
    max_fds = sp.read_u32(fdt + _offset(target, "struct fdtable", "max_fds"))
    fd_array = sp.read_u64(fdt + _offset(target, "struct fdtable", "fd"))
    open_fds = sp.read_u64(fdt + _offset(target, "struct fdtable", "open_fds"))
    if not (fd_array and open_fds and max_fds):
        return files
    bitmap = int.from_bytes(sp.read(open_fds, (max_fds + 7) // 8), "little")
    used = min(bitmap.bit_length(), max_fds)
    try:        # the pointers of the open descriptors, in one read
        pointers: list[int] | None = list(_words(used).unpack(sp.read(fd_array, 8 * used)))
    except MemoryError_:
        pointers = None     # read one by one below: the first that fails says where
    for fd in range(max_fds):
        if not bitmap >> fd & 1:
            continue
        file = pointers[fd] if pointers is not None else sp.read_u64(fd_array + 8 * fd)
        if file:
            try:
                files.append(open_file(target, fd, file))
            except MemoryError_ as err:
                caveat(f"file {file:x} (fd {fd}) unreadable ({err}): its dentry, inode, "
                       "type and path shown as ?")
                gone = Unreadable(str(err))
                files.append(OpenFile(fd, file, gone, gone, gone, gone))
    return files
