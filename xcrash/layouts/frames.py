"""crash's layouts of a back trace's pieces, shared by bt's views on Linux and Xen: the
general registers and exception frames, and the stack words of bt -f / -F."""
from __future__ import annotations

from typing import Any, Protocol, TypeVar
from collections.abc import Callable, Iterable, Iterator, Sequence


def general_registers(r: dict[str, int]) -> list[str]:
    """The six lines of general registers crash prints in every exception frame."""
    return [
        f"    RIP: {r['rip']:016x}  RSP: {r['rsp']:016x}  RFLAGS: {r['rflags']:08x}",
        f"    RAX: {r['rax']:016x}  RBX: {r['rbx']:016x}  RCX: {r['rcx']:016x}",
        f"    RDX: {r['rdx']:016x}  RSI: {r['rsi']:016x}  RDI: {r['rdi']:016x}",
        f"    RBP: {r['rbp']:016x}   R8: {r['r8']:016x}   R9: {r['r9']:016x}",
        f"    R10: {r['r10']:016x}  R11: {r['r11']:016x}  R12: {r['r12']:016x}",
        f"    R13: {r['r13']:016x}  R14: {r['r14']:016x}  R15: {r['r15']:016x}",
    ]


def code_address(function: str | None, offset: int | None, address: int) -> str:
    """``function+offset`` (``function`` at offset 0), or the address in hex."""
    if function is None:
        return f"{address:x}"
    return f"{function}+{offset}" if offset else function


class SavedRegisters(Protocol):
    regs: dict[str, int]
    function: str | None
    offset: int | None


def exception_frame_lines(frame: SavedRegisters) -> list[str]:
    """A Linux ``struct pt_regs`` as crash prints it: where a kernel-mode RIP was, the
    general registers, ORIG_RAX and the segments."""
    r = frame.regs
    out = []
    if not r["cs"] & 3:
        out.append(f"    [exception RIP: {code_address(frame.function, frame.offset, r['rip'])}]")
    out += general_registers(r)
    out.append(f"    ORIG_RAX: {r['orig_rax']:016x}  CS: {r['cs']:04x}  SS: {r['ss']:04x}")
    return out


def xen_exception_frame_lines(frame: SavedRegisters, guest: str | None) -> list[str]:
    """A Xen ``struct cpu_user_regs``: ``[guest registers]`` (``guest`` names the vCPU)
    or where Xen's RIP was, the general registers, the error code and entry vector."""
    r = frame.regs
    if guest is not None:
        out = [f"    [{guest} registers]"]
    else:
        out = [f"    [exception RIP: {code_address(frame.function, frame.offset, r['rip'])}]"]
    out += general_registers(r)
    out.append(f"    ERROR_CODE: {r['error_code']:08x}  ENTRY_VECTOR: {r['entry_vector']:04x}"
               f"  CS: {r['cs']:04x}  SS: {r['ss']:04x}")
    return out


class Word(Protocol):
    @property
    def address(self) -> int: ...

    @property
    def value(self) -> object:          # an int, or an Unreadable value (written ?)
        ...


W = TypeVar("W", bound=Word)


def word_lines(words: Sequence[W], name: Callable[[W], str | None] = lambda _w: None
               ) -> Iterator[str]:
    """Stack words two per line, as crash's bt -f prints them; ``name`` gives the text
    that stands for a word (bt -F: ``symbol+offset``, ``[cache]``), None to show it."""
    for i in range(0, len(words), 2):
        shown = []
        for w in words[i:i + 2]:
            label = name(w)
            shown.append(f"{label:<16}" if label else f"{w.value:016x}")
        yield f"    {words[i].address:x}: " + " ".join(shown) + " "


def raw_stack_lines(records: Iterable[Any],
                    start: Callable[[Any], tuple[str, str | None] | None]) -> Iterator[str]:
    """bt -r: for each trace start (``start`` gives its header line and the walk's error,
    None for a stack word) those lines, then the stack two words a line, a word that points into a
    symbol shown as symbol+offset (crash's display_memory, SYMBOLIC); a blank line
    between stacks."""
    first = True
    line: list[Any] = []

    def flush() -> Iterator[str]:
        if line:
            yield f"{line[0].address:x}:  " + "".join(
                f"{w.name:<16} " if w.name else f"{w.value:016x} " for w in line)
            line.clear()
    for r in records:
        begins = start(r)
        if begins is None:
            line.append(r)
            if len(line) == 2:
                yield from flush()
            continue
        yield from flush()
        if not first:
            yield ""
        first = False
        title, error = begins
        yield title
        if error:
            yield f"bt: {error}"
    yield from flush()
