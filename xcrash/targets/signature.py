"""What makes two crashes the same crash: a title for people, a signature for machines.

A crash site (:class:`CrashSite`) is what a target's helper found of its crash: the
message, the crashing CPU and task, a one-line title in syzbot's style and the
functions of the crash trace that are not crash machinery, outermost last
(``targets/linux/crashinfo.py``, ``targets/xen/crashinfo.py`` say which frames are
machinery for their kind).  Its signature is a hash of

- the message with its numbers and addresses replaced by ``N`` and ``ADDR``
  (:func:`normalise_message`: PIDs, CPU numbers, addresses and durations change from
  one occurrence of a crash to the next, the words do not), and
- the first :data:`FRAMES` of those functions, each without the suffix the compiler
  gave its clone (:func:`function_name`: ``.cold``, ``.isra.0``, ``.constprop.0``,
  ``.part.0``, ``.llvm.123``).

Nothing in it depends on where the kernel was loaded (KASLR), on the dump's format or
on the build (names, not addresses), so the same crash on two machines, or captured
twice, is the same signature.

Why five frames: one frame (syzbot's title) merges unrelated bugs that fault in one
helper (``strlen``, ``memcpy``, ``list_del``); the whole trace splits one bug by the
way the caller was reached (``write`` or ``pwrite``, a syscall or an io_uring worker,
each entry path).  ABRT's kernel-oops hash takes six frames counted with the
machinery frames still in (``oops_end``, ``die``, the exception entry), gdb core
hashes three; with machinery left out, five frames reach from the faulting function
to the subsystem's entry point (on the sysrq sample: ``sysrq_handle_crash``,
``__handle_sysrq``, ``write_sysrq_trigger``, ``proc_reg_write``, ``vfs_write``) and stop
before the system-call plumbing (``ksys_write``, ``do_syscall_64``) where different
callers of the same bug part.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

#: how many non-machinery frames the signature takes (see the module's text)
FRAMES = 5
#: the signature's length in hex digits (64 bits: no collision among a lifetime's crashes)
DIGITS = 16

_SUFFIX = re.compile(r"(\.(cold|part|isra|constprop|llvm|lto_priv|localalias|clone|"
                     r"specialized)(\.\d+)?)+$")
_ADDRESS = re.compile(r"\b(0x)?[0-9a-fA-F]{8,16}\b|\b0x[0-9a-fA-F]+\b")
_NUMBER = re.compile(r"\d+")


def function_name(name: str) -> str:
    """A function's name without the suffixes of the compiler's clones
    (``__handle_sysrq.cold`` -> ``__handle_sysrq``, ``f.isra.0`` -> ``f``)."""
    return _SUFFIX.sub("", name)


def normalise_message(message: str) -> str:
    """The message with addresses as ``ADDR`` and other numbers as ``N``, blanks
    squeezed: ``CPU#1 stuck for 22s! [a:12]`` -> ``CPU#N stuck for Ns! [a:N]``."""
    text = _ADDRESS.sub("ADDR", message)
    text = _NUMBER.sub("N", text)
    return " ".join(text.split())


def signature(message: str, frames: list[str], count: int = FRAMES) -> str:
    """The signature of a crash: a hash of its normalised message and of the first
    ``count`` functions of its crash trace (compiler suffixes stripped)."""
    text = "\n".join([normalise_message(message)]
                     + [function_name(f) for f in frames[:count]])
    return hashlib.sha256(text.encode()).hexdigest()[:DIGITS]


@dataclass
class CrashSite:
    """Where and how a target crashed (None from a helper: it did not crash)."""
    #: the target's name (kernel, xen, dom0, ...)
    target: str
    #: the one-line title (``BUG: unable to handle page fault in ext4_foo``)
    title: str
    #: the message the signature takes: the log's report line the title came from
    #: (the panic message when nothing else said more)
    message: str
    #: the functions of the crash trace that are not crash machinery, innermost first,
    #: compiler suffixes stripped (all of them; the signature takes the first FRAMES)
    frames: list[str]
    #: the crashing CPU (a pCPU on Xen), None when not known
    cpu: int | None = None
    #: the task whose trace gave the frames (Linux): pid, comm and task_struct address
    pid: int | None = None
    comm: str | None = None
    task: int | None = None
    #: what kind of crash it was: panic, oops, bug, warning, soft lockup, hung task,
    #: nmi, crash key, ... (the helpers' words)
    kind: str = "panic"
    signature: str = field(init=False)

    def __post_init__(self) -> None:
        self.frames = [function_name(f) for f in self.frames]
        self.signature = signature(self.message, self.frames)
