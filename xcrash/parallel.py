"""Work shared among the CPUs: a function over pieces of work, in forked processes.

What the work reads (the dump, the target, their caches) is inherited by the fork, not
sent; the pieces and their results are small (page ranges in; counts and addresses
out).  The results come back in the pieces' order, as they are done, so a caller can
stream them.  The workers ignore Ctrl-C: the caller polls for it and stops, and the
workers are ended with it.  Where forking is not possible or not worth it (one CPU,
one piece, a daemonic worker process of its own such as a triage worker's), the
pieces are done here, in order.

``XCRASH_WORKERS`` sets the number of processes (1: none).
"""
from __future__ import annotations

import os
import signal
from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: (function, its shared argument) of the work under way, for the forked workers
_job: tuple[Callable[[Any, Any], Any], Any] | None = None


def cpus() -> int:
    """The processes a piece of work may use: XCRASH_WORKERS, else the CPUs this
    process may run on."""
    asked = os.environ.get("XCRASH_WORKERS", "")
    if asked.isdigit() and int(asked) > 0:
        return int(asked)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1      # no affinity call here: every CPU


def mapped(fn: Callable[[Any, T], R], job: Any, items: Sequence[T],
           workers: int | None = None) -> Generator[R, None, None]:
    """``fn(job, item)`` for every item, in order, as they are done: in ``workers``
    forked processes (default :func:`cpus`), or here."""
    global _job
    workers = min(workers or cpus(), len(items))
    pool = None
    if workers > 1 and _job is None:        # (work within work is done where it is)
        _job = (fn, job)                    # set before the fork: the workers inherit it
        pool = _pool(workers)
        if pool is None:
            _job = None
    if pool is None:
        for item in items:
            yield fn(job, item)
        return
    try:
        yield from pool.imap(_call, items)
    finally:
        _job = None
        pool.terminate()
        pool.join()


def _pool(workers: int) -> Any:
    import multiprocessing
    if multiprocessing.current_process().daemon:
        return None         # a daemonic worker may not have children: the work is done here
    try:
        return multiprocessing.get_context("fork").Pool(workers, initializer=_quiet)
    except (OSError, ValueError):
        return None         # no fork here (or no resources for it): the work is done here


def _call(item: Any) -> Any:
    assert _job is not None
    fn, job = _job
    return fn(job, item)


def _quiet() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
