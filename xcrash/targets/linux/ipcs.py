"""System V IPC objects of an IPC namespace (``ipcs``): shared memory segments,
semaphore arrays and message queues, found in the namespace's ``ipc_ids`` IDRs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...errors import CommandError, MemoryError_, NoSuchMember, NoSuchType
from ...objects import Object

if TYPE_CHECKING:
    from .kernel import LinuxTarget

#: ipc_namespace.ids[] indices (IPC_SEM_IDS, IPC_MSG_IDS, IPC_SHM_IDS)
SEM_IDS, MSG_IDS, SHM_IDS = 0, 1, 2
SHM_DEST, SHM_LOCKED = 0o1000, 0o2000


@dataclass
class IpcObject:
    """One IPC object: its kind ("shm", "sem", "msg"), the structure holding it
    (shmid_kernel, sem_array, msg_queue), key, id, owner and mode; ``size`` is the
    segment's bytes, the array's semaphores or the queue's bytes; ``count`` the
    segment's attaches or the queue's messages; a segment's ``pages`` (allocated,
    resident, swapped) and inode for ``ipcs -M``."""
    kind: str
    address: int
    key: int
    id: int
    uid: int
    perms: int
    size: int
    count: int = 0
    pages: tuple[int, int, int] | None = None
    inode: int = 0


KINDS = {"shm": (SHM_IDS, "struct shmid_kernel", "shm_perm"),
         "sem": (SEM_IDS, "struct sem_array", "sem_perm"),
         "msg": (MSG_IDS, "struct msg_queue", "q_perm")}


def _ipc_ids(target: LinuxTarget, task: Object | None, index: int) -> Object:
    """The ipc_ids of kind ``index`` in the IPC namespace of ``task`` (init_task's by
    default: init_ipc_ns)."""
    if task is None:
        task = target.object("init_task")
    ns = task.nsproxy.deref_().ipc_ns.deref_()
    return ns.ids[index]


def ipc_objects(target: LinuxTarget, kind: str, task: Object | None = None) -> list[IpcObject]:
    """The live objects of one kind, in their IDR's index order (deleted ones left
    out, as crash leaves them)."""
    from .xarray import entries
    index, type_name, perm = KINDS[kind]
    try:
        ids = _ipc_ids(target, task, index)
        if not int(ids.in_use):
            return []
        rt = ids.ipcs_idr.idr_rt
        perms = [entry for _i, entry in entries(target, int(rt.address_of_()))]
        t = target.type(type_name)
        off = t.strip_typedefs().offsetof(perm)
        out = []
        for p in perms:
            obj = _read(target, kind, t, p - off, perm)
            if obj is not None:
                out.append(obj)
        return out
    except MemoryError_ as err:
        raise CommandError(f"ipcs: {kind}: {err}") from err
    except (NoSuchMember, NoSuchType) as err:
        raise CommandError(f"ipcs: {kind}: {err}") from err


def _read(target: LinuxTarget, kind: str, t: object, address: int, perm: str) -> IpcObject | None:
    o = target.object_at(t, address)                   # type: ignore[arg-type]  # a Type
    p = o.member_(perm)
    if int(p.deleted):
        return None
    uid = p.uid
    uid_value = int(uid.val) if uid.type_.strip_typedefs().is_aggregate() else int(uid)
    base = (kind, address, int(p.key) & 0xFFFFFFFF, int(p.id), uid_value, int(p.mode))
    if kind == "sem":
        return IpcObject(*base, size=int(o.sem_nsems))
    if kind == "msg":
        return IpcObject(*base, size=int(o.q_cbytes), count=int(o.q_qnum))
    segsz = int(o.shm_segsz)
    obj = IpcObject(*base, size=segsz, count=int(o.shm_nattch))
    obj.pages, obj.inode = _shm_pages(target, int(o.shm_file), segsz)
    return obj


def _shm_pages(target: LinuxTarget, file: int, segsz: int) -> tuple[tuple[int, int, int], int]:
    """(allocated, resident, swapped) pages of a segment and its inode: resident from
    the inode's page cache (hugetlbfs pages counted in base pages), swapped from
    its shmem_inode_info."""
    f = target.object_at("struct file", file)
    inode = int(f.f_path.dentry.deref_().d_inode)
    node = target.object_at("struct inode", inode)
    nrpages = int(node.i_mapping.deref_().nrpages)
    allocated = (segsz + 4095) >> 12
    if _hugepages(target, f):
        return (allocated, nrpages * 512, 0), inode
    info_off = target.offsetof("struct shmem_inode_info", "vfs_inode")
    swapped = int(target.object_at("struct shmem_inode_info", inode - info_off).swapped)
    return (allocated, nrpages, swapped), inode


def _hugepages(target: LinuxTarget, f: Object) -> bool:
    """Whether a segment's file is on hugetlbfs (through shm's own file operations)."""
    names = {n: s.address for n in ("hugetlbfs_file_operations", "shm_file_operations_huge",
                                    "shm_file_operations")
             if (s := target.symbols.get(n)) is not None}
    for _ in range(4):
        fop = int(f.f_op)
        if fop in (names.get("hugetlbfs_file_operations"), names.get("shm_file_operations_huge")):
            return True
        if fop != names.get("shm_file_operations") or "shm_file_operations_huge" in names:
            return False
        f = target.object_at("struct shm_file_data", int(f.private_data)).file.deref_()
    return False
