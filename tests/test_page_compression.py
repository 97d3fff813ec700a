"""kdump page decoding: zlib pages by ISA-L's inflate where isal is installed, by the
standard library's zlib otherwise; both give the page, and both refuse what is not one."""
from __future__ import annotations

import sys
import zlib

import pytest

from xcrash.dump import compression
from xcrash.dump.compression import ZLIB, CorruptPage, decompress

PAGE = bytes(range(256)) * 16


@pytest.fixture(params=["isal", "zlib"])
def inflater(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(compression, "_inflater", None)
    if request.param == "zlib":
        monkeypatch.setitem(sys.modules, "isal", None)          # import isal fails
    else:
        pytest.importorskip("isal")
    return request.param


def test_a_zlib_page_decodes_by_either(inflater: str) -> None:
    assert decompress(zlib.compress(PAGE), ZLIB, 4096) == PAGE
    assert compression._inflater.__name__.endswith("isal_zlib" if inflater == "isal" else "zlib")


@pytest.mark.parametrize("data, says", [(b"xx", "zlib: "), (zlib.compress(PAGE * 2), "more than one page"),
                                        (zlib.compress(PAGE[:100]), "100 bytes, not one page")])
def test_what_is_not_one_page_is_refused_by_either(inflater: str, data: bytes, says: str) -> None:
    with pytest.raises(CorruptPage, match=says):
        decompress(data, ZLIB, 4096)
