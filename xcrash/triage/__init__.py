"""``xcrash triage``: many dumps, which of them are the same crash.

Each dump is opened with the symbol files of its build-ids (``symbols.py``), its
crash's title and signature found (``xcrash.targets.signature``), optionally its
HTML report written (``worker.py``), in a local process pool or on a Dask cluster
(``run.py``); results are cached per dump (``cache.py``); the records are grouped by
signature into a table and an HTML page with a chart (``summary.py``).
"""
from .cache import ResultCache
from .run import NoDask, default_workers, triage
from .scan import dump_files
from .summary import groups, summary_html, table_lines
from .symbols import SymbolIndex, index_symbols
from .worker import Job, report_name, triage_one

__all__ = ["Job", "NoDask", "ResultCache", "SymbolIndex", "default_workers", "dump_files",
           "groups", "index_symbols", "report_name", "summary_html", "table_lines", "triage",
           "triage_one"]
