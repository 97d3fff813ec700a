"""Running typed lines: parse a line, find its command, run it, show its records.

The interactive shell (``xcrash.shell``), batch runs (``xcrash.cli``) and the
Python API (``xcrash.api``) all run lines through :class:`~.runner.Runner`.
Nothing here knows about prompt_toolkit.
"""
