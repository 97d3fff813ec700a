"""Files in the page cache (``files -c``, ``files -p``) and a dentry on its own
(``files -d``): what crash shows of an inode's address_space and of a dentry whose
task is not known."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...caveats import Unreadable, caveat
from ...errors import CommandError, MemoryError_, XcrashError
from .files import OpenFile, TaskFiles, dentry_path, file_type
from .taskinfo import TaskRef

if TYPE_CHECKING:
    from .kernel import LinuxTarget


@dataclass
class CachedFile:
    """An open file as ``files -c`` shows it: its inode, the inode's address_space
    (i_mapping) and how many of its pages are in the page cache."""
    fd: int
    inode: int | Unreadable
    mapping: int | Unreadable
    nrpages: int | Unreadable
    type: str | Unreadable
    path: str | Unreadable


@dataclass
class TaskFileCache(TaskRef):
    """``files -c`` of one task."""
    root: str | None
    cwd: str | None
    files: list[CachedFile]


def mapping_of(target: LinuxTarget, inode: int) -> tuple[int, int]:
    """(i_mapping, its nrpages) of an inode."""
    mapping = target.space.read_u64(inode + target.offsetof("struct inode", "i_mapping"))
    nrpages = target.space.read_u64(mapping + target.offsetof("struct address_space", "nrpages"))
    return mapping, nrpages


def cached(target: LinuxTarget, t: TaskFiles) -> TaskFileCache:
    """The page-cache view of a task's open files."""
    out = []
    for f in t.files:
        out.append(_cached(target, f))
    return TaskFileCache(t.pid, t.task, t.cpu, t.comm, t.root, t.cwd, out)


def _cached(target: LinuxTarget, f: OpenFile) -> CachedFile:
    if not isinstance(f.inode, int) or not f.inode:
        gone = f.inode if isinstance(f.inode, Unreadable) else 0
        return CachedFile(f.fd, gone, gone, gone, f.type, f.path)
    try:
        mapping, nrpages = mapping_of(target, f.inode)
    except MemoryError_ as err:
        caveat(f"address_space of inode {f.inode:x} unreadable ({err}): shown as ?")
        gone = Unreadable(str(err))
        return CachedFile(f.fd, f.inode, gone, gone, f.type, f.path)
    return CachedFile(f.fd, f.inode, mapping, nrpages, f.type, f.path)


@dataclass
class DentryInfo:
    """``files -d``: a dentry, its inode, the super_block and the path (through the
    last mount of init's namespace on that super_block, as crash finds it)."""
    dentry: int
    inode: int
    superblock: int
    type: str
    path: str | Unreadable


def dentry_info(target: LinuxTarget, dentry: int) -> DentryInfo:
    from .mounts import _first_task, namespace_mounts
    sp = target.space
    try:
        inode = sp.read_u64(dentry + target.offsetof("struct dentry", "d_inode"))
        if inode:
            sb = sp.read_u64(inode + target.offsetof("struct inode", "i_sb"))
        else:
            sb = sp.read_u64(dentry + target.offsetof("struct dentry", "d_sb"))
        kind = file_type(target, inode) if inode else ""
    except MemoryError_ as err:
        raise CommandError(f"files: dentry {dentry:x}: {err}") from err
    path: str | Unreadable = ""
    if sb:
        mnt_off = target.offsetof("struct mount", "mnt")
        sb_off = target.offsetof("struct vfsmount", "mnt_sb")
        try:
            found = None
            for mount in namespace_mounts(target, _first_task(target)):
                if sp.read_u64(mount + mnt_off + sb_off) == sb:
                    found = mount + mnt_off
            if found is None:
                for name in ("pipe_mnt", "sock_mnt"):
                    sym = target.symbols.get(name)
                    vfs = sp.read_u64(sym.address) if sym is not None else 0
                    if vfs and sp.read_u64(vfs + sb_off) == sb:
                        found = vfs
                        break
            if found is not None:
                path = dentry_path(target, dentry, found)
        except (MemoryError_, XcrashError) as err:
            caveat(f"path of dentry {dentry:x} unreadable ({err}): shown as ?")
            path = Unreadable(str(err))
    return DentryInfo(dentry, inode, sb, kind, path)


def inode_pages(target: LinuxTarget, inode: int) -> tuple[int, list[int]]:
    """An inode's nrpages and the struct pages of its page cache (the i_pages
    XArray, in index order); a caveat when the two counts differ, as crash warns."""
    from .xarray import entries
    try:
        mapping, nrpages = mapping_of(target, inode)
    except MemoryError_ as err:
        raise CommandError(f"files: inode {inode:x}: {err}") from err
    if not nrpages:
        return nrpages, []
    pages = [entry for _index, entry in entries(
        target, mapping + target.offsetof("struct address_space", "i_pages"))
        if not entry & 1]                       # value entries (shadows) are no pages
    if len(pages) != nrpages:
        caveat(f"xarray page count: {len(pages)}  nrpages: {nrpages}")
    return nrpages, pages
