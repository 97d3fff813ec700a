"""Short fuzz runs of every parser in CI (hypothesis); long runs use atheris (fuzz/run.py).

The bar: bad input yields the parser's typed error or a result, nothing else.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
import targets

FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("name", ["notes", "vmcoreinfo", "zlib", "lzo", "snappy", "zstd",
                                  "btf", "orc"])
def test_parser_takes_any_bytes(name: str) -> None:
    @FAST
    @given(st.binary(max_size=4096))
    def run(data: bytes) -> None:
        targets.TARGETS[name](data)
    run()


def test_findings_stay_fixed() -> None:
    """Inputs atheris once crashed a parser with (kept in fuzz/corpus/)."""
    corpus = Path(__file__).resolve().parents[1] / "fuzz" / "corpus"
    for case in sorted(corpus.glob("*")):
        name = case.name.split("-", 1)[0]
        targets.TARGETS[name](case.read_bytes())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=2 * 4096))
def test_dump_headers_take_any_bytes(data: bytes) -> None:
    targets.fuzz_kdump_header(data)
    targets.fuzz_elf_header(data)
