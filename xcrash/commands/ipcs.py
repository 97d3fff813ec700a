"""ipcs: System V IPC facilities (shared memory, semaphores, message queues), as crash
lists them."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..errors import CommandError
from ..results import Records
from ..targets.linux.context import resolve_task
from ..targets.linux.ipcs import SHM_DEST, SHM_LOCKED, IpcObject, ipc_objects
from .args import linux_target
from .base import Command, Context, Option

HEADERS = {"shm": "SHMID_KERNEL     KEY      SHMID      UID   PERMS BYTES      NATTCH STATUS",
           "sem": "SEM_ARRAY        KEY      SEMID      UID   PERMS NSEMS     ",
           "msg": "MSG_QUEUE        KEY      MSQID      UID   PERMS USED-BYTES   MESSAGES    "}


def row(o: IpcObject) -> str:
    head = f"{o.address:<16x} {o.key:08x} {o.id:<10d} {o.uid:<5d} {o.perms & 0o777:<5o} "
    if o.kind == "shm":
        dest = "dest" if o.perms & SHM_DEST else ""
        locked = "locked" if o.perms & SHM_LOCKED else ""
        return head + f"{o.size:<10d} {o.count:<6d} {dest} {locked}"
    if o.kind == "sem":
        return head + f"{o.size:<10d}"
    return head + f"{o.size:<12d} {o.count:<12d}"


@dataclass
class IpcSection:
    """The objects of one kind as ipcs shows them: all of them (a table, or with
    ``verbose`` a block per segment), or those an argument named (``chosen``)."""
    kind: str
    objects: list[IpcObject]
    verbose: bool = False
    chosen: bool = False
    #: an argument that named nothing of any kind
    invalid: str | None = field(default=None)


def _object_lines(o: IpcObject, verbose: bool) -> Iterator[str]:
    yield HEADERS[o.kind]
    yield row(o)
    if verbose and o.pages is not None:
        yield "PAGES ALLOCATED/RESIDENT/SWAPPED: " + "/".join(str(n) for n in o.pages)
        yield f"INODE: {o.inode:x}"
    yield ""


def section_lines(sections: Iterable[IpcSection]) -> Iterator[str]:
    for s in sections:
        if s.invalid is not None:
            yield f"invalid id or address: {s.invalid}"
            yield ""
        elif s.chosen or s.verbose:
            for o in s.objects:
                yield from _object_lines(o, s.verbose)
            if s.verbose and not s.chosen and not s.objects:
                yield HEADERS[s.kind]
                yield "(none allocated)"
                yield ""
        else:
            yield HEADERS[s.kind]
            yield from (row(o) for o in s.objects)
            if not s.objects:
                yield "(none allocated)"
            yield ""


class Ipcs(Command):
    name = "ipcs"
    synopsis = "ipcs [-smMq] [-n pid|task] [id | addr]"
    summary = "System V IPC: shared memory, semaphore arrays, message queues"
    group = "linux"
    targets = ("linux",)
    description = """\
The System V IPC objects of init's IPC namespace (or -n's task's): shared
memory segments (the struct shmid_kernel, key, id, owner, permissions, size,
attaches, dest/locked), semaphore arrays (the struct sem_array and its
semaphores) and message queues (the struct msg_queue, bytes and messages
queued), each from its namespace's IDR.  -M shows each segment with its pages
allocated, resident and swapped, and its inode.  An id or address argument
shows only the objects it names (each with its header), or says it names none.
"""
    example = "ipcs\nipcs -m"
    options = (Option("-s", "sem", "semaphore arrays"),
               Option("-m", "shm", "shared memory segments"),
               Option("-M", "verbose", "shared memory segments, with their pages and inode"),
               Option("-q", "msg", "message queues"),
               Option("-n", "task", "the IPC namespace of this task", takes_value=True,
                      metavar="pid|task"))

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = linux_target(ctx)
        task = None
        if opts["task"]:
            task = target.object_at("struct task_struct", resolve_task(target, opts["task"]))
        kinds = [k for k, on in (("shm", opts["shm"] or opts["verbose"]), ("sem", opts["sem"]),
                                 ("msg", opts["msg"])) if on] or ["shm", "sem", "msg"]
        found = {k: ipc_objects(target, k, task) for k in kinds}
        verbose = bool(opts["verbose"])
        if not rest:
            return Records([IpcSection(k, found[k], verbose=verbose and k == "shm")
                            for k in kinds], section_lines)
        sections, invalid = [], []
        for word in rest:
            value = _value(word)
            hits = [IpcSection(k, [o for o in found[k] if value in (o.id, o.address)][:1],
                               verbose=verbose and k == "shm", chosen=True) for k in kinds]
            if any(h.objects for h in hits):
                sections += [h for h in hits if h.objects]
            else:
                invalid.append(IpcSection(kinds[0], [], chosen=True, invalid=word))
        # crash writes its "invalid" lines at once and the objects found afterwards
        return Records(invalid + sections, section_lines)


def _value(word: str) -> int:
    """crash's stol: hexadecimal with 0x or with hex letters, else decimal."""
    try:
        if word.lower().startswith("0x") or not word.isdigit():
            return int(word, 16)
        return int(word)
    except ValueError:
        raise CommandError(f"ipcs: invalid id or address: {word}") from None


COMMANDS = [Ipcs]
