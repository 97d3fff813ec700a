"""DWARF 2, 4 and 5 from GCC: the same C file must give the same types and lines.

The real symbol files are all DWARF 5; these small executables exercise the
older unit and line-table headers, DW_AT_bit_offset bit-fields (DWARF 2-4) and
DW_OP_plus_uconst member locations (DWARF 2).  They were made from SOURCE, in
/tmp/dw (their comp_dir), with GCC 12:

    gcc -O1 -g -gdwarf-$V -fno-asynchronous-unwind-tables -fno-pie -no-pie -nostdlib \\
        -static -Wl,--build-id=none -o t$V t.c && xz -9e -c t$V | base64 -w 96
"""
from __future__ import annotations

import base64
import lzma
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xcrash.errors import BadSymbolFile
from xcrash.symbols import Kind, Type, declaration, open_symbol_file
from xcrash.symbols.elffile import ElfImage

SOURCE = """\
struct inner { int a; char b; };
struct flags {
	unsigned char facility;
	unsigned char flags:5;
	unsigned char level:3;
	unsigned long long big:40;
	unsigned int tail;
};
union u { int i; float f; };
enum color { RED, GREEN = 5, NEG = -1 };
typedef struct inner inner_t;
struct holder {
	inner_t in;
	struct flags fl;
	union u uu;
	enum color c;
	int arr[2][3];
	const char *name;
	void (*cb)(int, ...);
	struct holder *next;
	char flex[];
};
struct holder the_holder;
static int counter = 3;

int add(int x, int y)
{
	return x + y + counter;
}

void _start(void)
{
	the_holder.c = GREEN;
	add(1, 2);
	for (;;)
		;
}
"""

DWARF2 = """\
/Td6WFoAAATm1rRGAgAhARwAAAAQz1jM4BrPBN5dAD+RRYRoPYmm2orMk+JO2QNsRmwFl1IvEyuditQyXBPya5trybX5zvb1
Lc8vMSsn7Iz5xhgu84DlYLPQJkg3p5IxkeTQ6iqSs4epocGGVtpK5p0IP/RBuWFBHKow5gDyRWFQxauseFYwpJR41UeJYidk
HnkHMTGJPfXj3+Fs+qm625oO7xYw3piTw6G2289X/uwrqB0JUuQZYu6OaH+jz4lr3eXuMKcVcBn+Xs4QacFnivnILDcJd6DG
N+SrgJmAzhDXUOnKk6qBOETkvbtGEewYElhZx0vERwNtkGBhE4TC4jYITerCqFmmNtIGNFdDwUp74DQ8PTNNTiBUFiALwfIQ
tDDRBIIF6UpLYtkqwtjEYQSjBpfMk2aqvBTlTBHjREGnxVsQpjopPuMq5Pxnn2nx29+DwPQH6UKhGEGDofbYbVonYDckB0a2
vA/kGENGmgV/2Gsf/WfaT+RTW46aIer0xt5WCTufKvMwzbtLrqfYWQUZwcoA6tcFUkhWjThsjCN3iObYVxcXLEorwriYRKhE
I35CP9cOLSE4xwg/4bga8AW+oCgIErW8gKMopL1AOyEh1xyqqDxEBF9gBbWNgKO9GMzmzhZvqGVrkJLQWvArdOZSE3YXZsyi
CTbgvl4DnhacKuZQ5qNkxk5JfMOK2JkPCHzZ7K1s8GB3q9VaRrMmTIsUWudJPimerT6lZFnz1iFu5ra37HJd5Sz2Plg6yUQk
1cAQZha+dFKYsezq+YsTdfoxipjxOj4kthb6IusiSFuaVH8uy3VTS1b4gYU1tc0eP+G5yhwQipB0FteNvw1TsSVPjUNQUD4j
nysQzJXd5BKS7CSEl0L8+EMXbNPLErrw0N+ZznYEtBvp9PRQ8ZzuPj6jnr+QA0I0Qc08/BNGhECK070dhZ5CRVsFDO2HkO46
3aUXGsZh7yHS97/qZ9We6Oqx2fhi9T8tnMgtzOxuQ/gMfkLW+s9MsE9lEUFTTmDbwb7zWCBm5JhsinZLD6VAbr46p6AV4dZ0
Tyq/BquLBjHZNDGZapo0C6wPZNdrOde2WdojxvGSxxK2RENNhDjQx//b6RfYYJ2S3/ZnCJz9J24FYHPBAQRUuC7BtbjNl9Pv
9vg1nbLDRt8N7oHmaGsSDm6AIrq0FRU0glI79ODt7TaIqmbeR07kmls005fHIg/hnJPGcKtwuphkgQwdNt/OWxLSlDvjXKwd
iLpsp5RSAG7Pb07ZMPdrmLycTjOX6fBAq82UYi0uxbikOGZoaQjChlTL9xMKuv6E5gA9vjkzYkCKx6xgiTofh1bPvs1XGUIZ
J8WSVRGrvmIFuRWEWbxcDDlepFmIdGr5Qb3aRI+2TE769QzhZ6RJHATDEQ2JRlFrMxuj3qbEGScI0OffQd11J2H2gvHMUX8B
agJ0DY2ifHTasyI4WvjfsOfOR9wRadmWChOWL5e1/tLA2xHSqoJe9W2oG3NuydmyPJhjMvld2tTHv1rtNspXMvUhBFs+OejY
AQn8awRoxAqnjZQ67SBjpfzpwSaBnDLEBMbT/q1xlYrVgN/NxD9MvSsnaiWQPGtchNJe2c4mx8NJ5tqCk4SOrcbqSJP0M0XO
LzFtp5fnAmZtCP1AzN4Dpv/DIdfVVvejvioldhiG7fC2BQuv/QjmKvZCHWrwCGvO3d94Lo0AAAB4gAydbO67xwAB+gnQNQAA
MRK4frHEZ/sCAAAAAARZWg==
"""

DWARF4 = """\
/Td6WFoAAATm1rRGAgAhARwAAAAQz1jM4BqfBMxdAD+RRYRoPYmm2orMk+JO2QNsRmwFl1Iu+DZdBo04H12qKeKjW1qt3hhX
wjSIrqUH7cffv765NS4BnmNw+m2uxwR8o6r8hdpWvWbqROfZrzwgJzj4allSYYZUIf0ENSARhnPnjqZMOz4ZQBnHIImYDJ8m
fy9R1Wcat7Olv3IZWo2hUnAVhGYq/i8V1Hz3fBkGGKJ9kxWFUU1dQq+5PItFs9tju+KIdVksHLSG2GdQ3cHy88NSDc/1vsaV
nHQtJM56nrmmrbsgPqAxVUr5GTPVG9mmooc6DIZxMJX0fPk0Fa78STGDTY1dj/EbMhePTI2LPFl2zRDupwWXgDDG5t1FQJF1
Sy+3kBTXugUlGjjWqZE95wSSmNC32OyVteYOaEnTo5tw4UkUCnb0r0ob90+0wqsuqtCZM8aqE1DCZmpm4dtuh0elzMVL7Zgs
AXPUOKj6l6YeXByrGRxEQ6aP91YTGBL+jpw1FQPHU4NgryABc0EwfgSHvI3CEjm2vzqOXfDK1168Habfqq8Nk205O/e5/nqZ
tP499EXYbvoTSDI3dTTKhwI/sMSNcIcJZIShTtHWXVYxOa/j8spQq3dgqoifz5PtROhM56Nzds1PKjTQkpKD1hr2XDglXfmm
0KFsI/bgqR2RCKYby6+AIhIdULJFcxB3aKQoQGU+nDEp/mjMPllPUqIxf4x+T+jA8OwRs0nyUSPMa3GrYeHrd+xpsRnuntAZ
SrnGq091mIUmbgBz5bU94wuUWaAP0wHzyWYJcyoqZb544dQU5opmCa04tSNKDAGc07gNVkUq1E82WIC5mWsMT0DXMzdFOFhn
aBgTZ9rlwIHtF9pbEqfcI5+C5UACyHKOm3ja21bwVmoPELgTJ8MeEpZ/5CB6qnF+w1und9IlV1YY1gUC6cPENp2abaxQS8pn
O01BtC27DNylzpN7/iWA7gQWvKXrj8PNKme30OHnPk7MT0mDISdPOcltJ3mAa5kLbhRVrbCGqpcmqzIA3I3FXJWFVhG2LIGz
UF3mFFzXyWHkT/nrVSXgpO3rWHrK1X1k9hjon9Fm8/J81Z0FENMd0g8DTqdskPGMHjNg0spVUS1ggAqwMW189pxSE/HqyskT
P6KIOUpNuru6GZQchwavtLRF4UBxoAzobIPUGqYURmuS+mtIGm8mn4jJTn96MAkDR8nNLOIsxsJ7eHhXKSuvY7KNp7mnePU5
/25lFv3G0yIOrc7qoE2s4CTnMclxrVwWagG0GqjyYe54IB9F5Zq+m0sn04nXOfWThOsdK5+iomStZYsP8OIUVNg3YRu61JTE
hLTubo9mc6JCEYSzinJkfkPJzrf+k0LM1FNolSRO7kAEO7R+Trz8bGg8WEx33f+g8c+dsbOcEtWuB62dUr1sJ8YIIYprDLEb
dMc+ci+If8MjYrHHT08rsO+V9PZn9+07OcgFQAtJJLOG8fDuDjFg6QvexB8HeJgwBBQ6QG+DJo7aRBPXjTzgtP6vgSVEZNND
7fkSB9RapfuqkuvTsCAApmKl31kMUeWPGeEcqchtUDVr1LG0xXC6QPDWrrclUB4hMhU8wvGFOkXYueBTnqw8Fn1JSSDQAXUQ
PYGDb3f5hXwEUFzTiYVzmp9RsTshy9Zl3kXowdkFloIzQewA4llgpWeBzHkAAegJoDUAAD0RmVuxxGf7AgAAAAAEWVo=
"""

DWARF5 = """\
/Td6WFoAAATm1rRGAgAhARwAAAAQz1jM4BrnBOldAD+RRYRoPYmm2orMk+JO2QNsRmwFl1Iu/LAhBo04H12qKe2FrQa7B8Xh
hGZxOvYKe8ZwzDs8VeddWh60OA5pKwMWatFnt1LHnP0eSR5QeqyLUWTGLVm976/HsHnZz++PQ/DgY+9j29ZlV/zFd4EzBgRh
p1032J5L2JMJ/V7wzada99ZIpzCJ8Y+q6yMSpw0cXsN6sgC3PBWBR7zd2+PuDZrTCHhIocX3O2QIFgkBl9ADNjrK54EsjZIm
tD5xzVMJVgysi61boeOgIF9LiMKfRrYJZWf7CISxdcRg0O/ehPCfvXeIhmaLGwWzIj6tzHYVihE197lE2F8KFjcP6dooVQaY
b4HCf2h519V6lKGStvKA/Z580NwR1Vd9tDM4aRd7RfTOh7Cgkj1jD5p6SSib3plhCuEy3c2DqtMouZCaz7R7vhTFU7wS/e0c
6isghldtJW4A8sw/9segkXr4m3WxXhcfcSD3zuTzqKfDJiqwJ35pdL8/n86y0vRhF19CIpcgfeKXYqqra/sVTx+npEyeB5Rx
8QGd+P6TfHhu4NDqI2gngC9VpLcF9wj+pnGrr0CYkjr+FVu1jCjHLZ9cTj7EX7QLJYmodK/hFpgz84+2GZ1SC7WNEiqd8zEx
dxtEGiH8rqBssP4iJ4/k3uYZfcpFTga25nwSSSq5Cy59Toy3t+zTwT83SN6KuUdxHzIxA4NYUYZ1rvYxFcDW3JdE7X9G0Mlm
ZrPU67PRQRTbUrJr/S8SRJcZ7aU2SDggtcgUKsID9XCeaLej6vruLq8UmdQZ60vuAEHKZ0ibNwC7Di2+QLJ+s4/sUt2zBciy
hyO2OncOw8BpXAgllFlQrMQ9vyPAtQ7TDHnDI3Prp8bdUooWHEwKapAKi/MxsWKgJoB6MgnstEBBUrvqHdp9teHLnXB19WSS
rPC73MZCarqVCShO5iVm0oaoLrAi/Jfd1IejS6msHBdPVwquMX6wZlmnB4IAOLkeWmleP0CuIRp/IUk7DLpYdpinxiIWnSDG
fcWALjVe0c/d1kOsXZ9dygKgWD7vJ8p6XoOH9/qhPHqsV8KItHJryWWI6NnVehCBP+QQz+DMu3xMCH1R2Bj6ioGN4iN62QmT
SQwYWSU4GzkqNXzDSj1p3XTxCXqkTsa32IEVT2k2e2OyYWEg3iRtKnCfVAH9aD852/TTt9KzZeU1mFB6NezQs/DHq5ebcKJo
wbhLkyHyZf1qEPngaVZ3WnZLYxf8vGHNaOz3U5ymFkeoAh/OAXEO2Pc6XG4palcD3gOjisM71T0V0iFUhoiMOjPET0Qtwh2m
U6zrwfL0KoWsWjrKlDEkZURI+10nGPyojLUYqrdz+fv+oH73wpb0Tes1zxUOsAlGTPJCQX1FMscDIRS6MNIZ10QaFGBORpcJ
L+HGfqvEM5f5uLDhqQkqDFEIo18cr3LjYFb4fIRPHq8d2mmcq27F2CjzJJ19+Iez8ne/7WJQ6NlLehCLL+S1f7rCOrcL30RE
R5rXEpVclifVZJ8w9ZdHcXZwNdkl64Fmit0ZHr7d4KB6ayKv5DLhZBMq03MLk4f/YDYBfccqq4kZ7W8v40cG6heC1Eaj87K4
vCcSzvh9ZrQkPh8CnM7Wl/CFRn4PRgk0Pwp70czr1KvwPXvGOTiAGX37sVhwmjp8e6h8rDumhVKO6QYB8Wt4UgAAAACzHdRT
64kfgAABhQroNQAAuwfz9rHEZ/sCAAAAAARZWg==
"""


@pytest.fixture(scope="module", params=["DWARF2", "DWARF4", "DWARF5"])
def small(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("dwarf") / request.param
    path.write_bytes(lzma.decompress(base64.b64decode(globals()[request.param])))
    return open_symbol_file(str(path))


def line_of(text: str) -> int:
    return next(i for i, line in enumerate(SOURCE.splitlines(), 1) if text in line)


def test_struct_layout(small):
    holder = small.types.find("struct holder")
    assert holder.size == 80
    assert [(m.name, m.bit_offset, declaration(m.type, m.name)) for m in holder.members] == [
        ("in", 0, "inner_t in"), ("fl", 64, "struct flags fl"), ("uu", 192, "union u uu"),
        ("c", 224, "enum color c"), ("arr", 256, "int arr[2][3]"),
        ("name", 448, "const char *name"), ("cb", 512, "void (*cb)(int, ...)"),
        ("next", 576, "struct holder *next"), ("flex", 640, "char flex[]")]
    assert holder.member("next")[1].type.target is holder


def test_bit_fields(small):
    flags = small.types.find("struct flags")
    assert [(m.name, m.bit_offset, m.bit_size) for m in flags.members] == [
        ("facility", 0, 0), ("flags", 8, 5), ("level", 13, 3), ("big", 16, 40), ("tail", 64, 0)]


def test_enums_unions_typedefs(small):
    color = small.types.find("enum color")
    assert color.enumerators == [("RED", 0), ("GREEN", 5), ("NEG", -1)] and color.signed
    assert small.types.find("union u").size == 4
    inner = small.types.find("inner_t")
    assert inner.kind is Kind.TYPEDEF and inner.strip_typedefs().size == 8


def test_variables_and_functions(small):
    assert small.variable_type("the_holder") is small.types.find("struct holder")
    assert small.function_type("add").display_name() == "int (int, int)"


def test_lines(small):
    add = small.symbols.lookup("add").address
    path, line = small.line_for_address(add)
    assert (os.path.basename(path), line) == ("t.c", line_of("int add(int x, int y)") + 2)
    assert small.line_for_address(small.symbols.lookup("_start").address + 4)[1] == \
        line_of("the_holder.c = GREEN")
    assert add in small.addresses_for_line("t.c", line_of("return x + y"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_damaged_dwarf_raises_only_bad_symbol_file(tmp_path_factory, data):
    """Random bytes written over the DWARF sections: answers or BadSymbolFile."""
    raw = bytearray(lzma.decompress(base64.b64decode(DWARF5)))
    sections = {s.name: s for s in ElfImage_of(raw, tmp_path_factory).sections}
    for name in (".debug_info", ".debug_abbrev", ".debug_line", ".debug_aranges",
                 ".debug_str"):
        s = sections[name]
        for _ in range(data.draw(st.integers(0, 3))):
            at = s.offset + data.draw(st.integers(0, s.size - 4))
            raw[at:at + 4] = data.draw(st.binary(min_size=4, max_size=4))
    path = tmp_path_factory.mktemp("fuzz") / "t"
    path.write_bytes(bytes(raw))
    sf = open_symbol_file(str(path))
    for ask in (lambda: sf.types.get("struct holder"), lambda: sf.variable_type("the_holder"),
                lambda: sf.function_type("add"),
                lambda: sf.line_for_address(sf.symbols.lookup("add").address),
                lambda: sf.addresses_for_line("t.c", 28)):
        try:
            t = ask()
            if isinstance(t, Type):
                for m in (t.members or []) if t.kind in (Kind.STRUCT, Kind.UNION) else []:
                    declaration(m.type, m.name or "")
        except BadSymbolFile:
            pass


def ElfImage_of(raw: bytearray, tmp_path_factory) -> ElfImage:
    path = tmp_path_factory.mktemp("orig") / "t"
    path.write_bytes(bytes(raw))
    return ElfImage(str(path))
