"""Walking data (issue 19): struct, union, *, whatis, p and its value history, list,
tree, task against crash 9.0.2 on linux-sysrq (tests/crash-ref/linux-sysrq/*.txt, each
file one crash session replayed in one xcrash runner)."""
from __future__ import annotations

import pytest

from crashrefs import REFS, assert_equal_but_known, assert_known_still_differ, replay

SYSRQ = REFS / "linux-sysrq"

#: per reference file, the commands whose output is known to differ from crash's, and why
DIFFERS = {
    "datatypes.txt": {
        "struct page ffffe4e6c0000000":
            "crash prints 'struct page ' before its read error; xcrash the error alone",
    },
    "print.txt": {
        "p nosuchsym": "crash passes gdb's failure on (gdb request failed); xcrash says why",
        "p -u jiffies": "crash adds a second line (gdb request failed: p jiffies)",
    },
    "list.txt": {},
    "tree-options.txt": {
        "tree -t radix irq_desc_tree -p":
            "crash says radix trees do not exist on 6.1; xcrash walks the XArray they are",
    },
    "task.txt": {},
}


@pytest.fixture(scope="module", params=sorted(DIFFERS))
def replayed(request, sysrq):
    return request.param, replay(sysrq, SYSRQ / request.param)


def test_equal_crash(replayed) -> None:
    name, results = replayed
    assert_equal_but_known(results, DIFFERS[name])


def test_known_differences_still_differ(replayed) -> None:
    """A command listed as differing must still differ (else it is identical now)."""
    name, results = replayed
    assert_known_still_differ(results, DIFFERS[name])
