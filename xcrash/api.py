"""The Python API's session: a :class:`xcrash.session.Session` that also runs command lines.

    session = xcrash.open("vmcore", "vmlinux")
    print(session.run("bt -a"))              # crash's text
    rows = session.run("ps", records=True)   # the records, as --json gives them
"""
from __future__ import annotations

import io
import json
from typing import Any

from . import session
from .errors import CommandError


class Session(session.Session):
    """A session whose ``run`` runs a command line as the shell would."""

    def run(self, command: str, *, records: bool = False) -> Any:
        """The command's plain text, or with ``records=True`` its JSON records
        (the ``records`` of the envelope ``--json`` writes).  A failure raises
        CommandError with the message the shell would print."""
        from .engine.runner import Runner
        out, err = io.StringIO(), io.StringIO()
        runner = Runner(self, out=out, err=err)
        runner.settings["output"] = "json" if records else "text"
        if not runner.execute(command):
            raise CommandError(err.getvalue().strip() or f"{command}: failed")
        return json.loads(out.getvalue())["records"] if records else out.getvalue()
