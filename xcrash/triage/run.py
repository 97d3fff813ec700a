"""Run the per-dump work over many dumps: a local process pool (``--workers N``, default
the number of cores), or a Dask cluster (``--dask ADDRESS``, or ``--dask local``: a
LocalCluster of separate worker processes).  The same function
(:func:`~xcrash.triage.worker.triage_one`) runs everywhere, on one dump at a time;
a thousand dumps on twenty workers is another ``--dask`` address, nothing else.

Dask is optional (``pip install 'xcrash[cluster]'``).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from ..errors import XcrashError
from .cache import ResultCache
from .symbols import SymbolIndex
from .worker import Job, triage_one

INSTALL_DASK = "pip install 'xcrash[cluster]'"


class NoDask(XcrashError):
    def __init__(self) -> None:
        super().__init__(f"--dask needs Dask's distributed scheduler, which is not installed: "
                         f"{INSTALL_DASK}")


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def triage(paths: list[str], symbols: SymbolIndex, *, workers: int | None = None,
           dask: str | None = None, report_dir: str | None = None, redact: bool = False,
           cache: ResultCache | None = None) -> Iterator[dict[str, Any]]:
    """Every dump's record, cached ones first, then the others as they complete; the
    cache (when given) is saved at the end with the new records."""
    cache = cache if cache is not None else ResultCache(None)
    todo: list[Job] = []
    for path in paths:
        kept = cache.get(path, symbols, report_dir)
        if kept is not None:
            kept["cached"] = True
            yield kept
        else:
            todo.append(Job(path, symbols, report_dir, redact))
    try:
        if todo:
            runner = _dask if dask is not None else _local
            for record in runner(todo, workers, dask):
                record["cached"] = False
                cache.put(record)
                yield record
    finally:
        cache.save()


def _local(jobs: list[Job], workers: int | None, _address: str | None
           ) -> Iterator[dict[str, Any]]:
    n = workers if workers is not None else default_workers()
    if n <= 0:                          # --workers 0: in this process (debugging)
        yield from map(triage_one, jobs)
        return
    with ProcessPoolExecutor(max_workers=min(n, len(jobs))) as pool:
        yield from _as_done([pool.submit(triage_one, job) for job in jobs],
                            lambda f: f.result())


def _as_done(futures: list[Future[Any]], result: Callable[[Future[Any]], Any]
             ) -> Iterator[Any]:
    pending = set(futures)
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for f in done:
            yield result(f)


def _dask(jobs: list[Job], workers: int | None, address: str | None
          ) -> Iterator[dict[str, Any]]:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise NoDask() from None
    cluster = None
    if address == "local":
        n = workers if workers is not None and workers > 0 else default_workers()
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        futures = client.map(triage_one, jobs, pure=False)
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
