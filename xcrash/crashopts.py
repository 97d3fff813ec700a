"""crash's command-line options, where they mean something for xcrash.

Taken as crash 9.0.2 takes them: ``-h CMD`` (a command's page, then exit),
``--osrelease DUMP`` and ``--build-id DUMP`` (VMCOREINFO's, then exit), ``--hex`` /
``--dec`` (the output radix), ``--zero_excluded``, ``--active`` (only the CPUs'
active tasks), ``--no_modules``, ``--no_kallsyms``, ``--no_ikconfig`` (no start-up
reading of the configuration: xcrash does none), ``--kaslr``,
``--mod DIR``, ``--cpus N``, ``--p2m_mfn PFN`` and ``--xen_phys_start ADDR`` (checked
against what xcrash finds), ``-x`` (accepted: plug-ins load always), ``--no_panic``,
``--hyper``, ``--no_scroll``, ``--no_crashrc``; crash's start-up tuning (``--readnow``,
``--hash``, ...) accepted as no-ops; the rest (``REFUSED``) refused in one line.  Where xcrash
differs the option's help says so: ``--log DUMP`` prints the log (crash refuses on
5.10 and later kernels), a System.map is checked against the vmlinux and a live
system is refused.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
from typing import Any

from .errors import XcrashError

OK, FAILED, CANNOT_OPEN = 0, 1, 2
#: what crash calls a live system's memory
LIVE_SOURCES = ("/proc/kcore", "/dev/mem", "/dev/crash")


#: crash 9.0.2's other options, each refused in one line saying why
REFUSED = {
    "-L": "crash's mlockall of its own memory: xcrash maps the dump files instead",
    "-k": "LKCD Kerntypes files are not read",
    "-g": "crash's check of a namelist for debug data: xcrash says at start-up what each "
          "symbol file holds",
    "-e": "the prompt's editing mode: xcrash's shell keeps emacs keys",
    "-S": "/boot/System.map: give the System.map among the symbol files",
    "-d": "crash's debug level: XCRASH_DEBUG=1 shows internal errors' tracebacks, --explain "
          "how each answer was found",
    "-t": "crash's crash time and exit: xcrash -s -c sys shows it (DATE)",
    "-p": "the page size: 4 KiB on x86_64, no other is read",
    "-o": "raw RAM images (MEMORY-IMAGE@ADDRESS) are not read",
    "-m": "machine-dependent overrides: xcrash takes phys_base, the page offset and the "
          "paging levels from VMCOREINFO and the dump",
    "--machdep": "machine-dependent overrides: xcrash takes phys_base, the page offset and "
                 "the paging levels from VMCOREINFO and the dump",
    "--memory_module": "live systems are not supported",
    "--memory_device": "live systems are not supported",
    "--reloc": "live systems are not supported",
    "--no_elf_notes": "the registers always come from the dump's NT_PRSTATUS notes",
    "--more": "xcrash pages through less -FRX on a terminal (set scroll on|off)",
    "--less": "xcrash pages through less -FRX on a terminal (set scroll on|off)",
    "--CRASHPAGER": "xcrash pages through less -FRX on a terminal (set scroll on|off)",
    "--no_strip": "clones (.isra.N, .part.N) are always shown under their function's "
                  "name, as crash shows them by default",
    "--kvmhost": "KVM guest dumps (kvmdump) are not read",
    "--kvmio": "KVM guest dumps (kvmdump) are not read",
    "--src": "there is no source listing (gdb's list); dis -l and bt -l name the lines",
}


def refused(argv: list[str]) -> str | None:
    """The one-line refusal of a crash option xcrash does not offer, else None."""
    for word in argv:
        flag = word.split("=", 1)[0]
        if flag in REFUSED:
            return f"{flag}: {REFUSED[flag]}"
    return None


def add_crash_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("crash's options")
    for flag in ("--readnow", "--no_data_debug", "--no_kmem_cache", "--kmem_cache_delay",
                 "--smp"):
        g.add_argument(flag, action="store_true", dest=flag[2:],
                       help="accepted: xcrash reads symbols and kernel data when a command "
                            "asks (nothing at start-up)" if flag != "--smp" else
                            "accepted: the CPUs come from the dump")
    g.add_argument("--hash", metavar="count", help="accepted: xcrash's list walks need no "
                   "hash table")
    g.add_argument("--max-malloc-bufs", metavar="size", help="accepted: xcrash has no such "
                   "buffers")
    g.add_argument("--no_crashrc", dest="norc", action="store_true",
                   help="as --norc (xcrash's rc files: ~/.xcrashrc and ./.xcrashrc)")
    g.add_argument("--no_scroll", action="store_true", help="no pager (set scroll off)")
    g.add_argument("--offline", choices=("show", "hide"),
                   help="show or hide what concerns offline CPUs (set offline)")
    g.add_argument("--no_panic", action="store_true",
                   help="start in the context of CPU 0's idle task (swapper), not the "
                        "panic task")
    g.add_argument("--hyper", dest="target", action="store_const", const="xen",
                   help="start on the Xen hypervisor (as --target xen)")
    g.add_argument("--hex", dest="radix", action="store_const", const=16,
                   help="print numbers in hexadecimal (set radix 16)")
    g.add_argument("--dec", dest="radix", action="store_const", const=10,
                   help="print numbers in decimal (set radix 10, the default)")
    g.add_argument("-x", dest="extensions", action="store_true",
                   help="accepted: crash loads its extension modules; xcrash's plug-in "
                        "commands (entry points xcrash.commands) are always loaded")
    g.add_argument("--zero_excluded", action="store_true",
                   help="read pages the dump excluded as zero-filled (set zero_excluded on)")
    g.add_argument("--active", action="store_true",
                   help="only the CPUs' active tasks (ps, foreach, set PID...); ps shows "
                        "PPID -1 for a parent not tracked, as crash")
    g.add_argument("--no_modules", action="store_true",
                   help="do not read the module list (no module symbols, types or mod)")
    g.add_argument("--no_kallsyms", action="store_true",
                   help="the modules' symbol letters from their ELF symbols alone (t/T "
                        "for functions, ? for the rest), as crash 9.0.2 shows them")
    g.add_argument("--no_ikconfig", action="store_true",
                   help="accepted: crash does not read the built-in configuration at "
                        "start-up (sys config still does), nor does xcrash")
    g.add_argument("--kaslr", metavar="offset|auto",
                   help="the KASLR offset (auto: found by xcrash, the default); an offset "
                        "VMCOREINFO contradicts is refused")
    g.add_argument("--mod", dest="mod_dir", metavar="directory",
                   help="search the modules' object files there (mod -s/-S)")
    g.add_argument("--cpus", type=int, metavar="number",
                   help="accepted and checked: a number other than the dump's says so")
    g.add_argument("--p2m_mfn", metavar="pfn",
                   help="Xen: start on the PV guest whose p2m frame list list is at this "
                        "MFN (every guest is a target anyway: see target)")
    g.add_argument("--xen_phys_start", metavar="physical-address",
                   help="Xen: checked against the crash note's xen_phys_start")
    g.add_argument("--osrelease", metavar="dumpfile",
                   help="print VMCOREINFO's OSRELEASE of the dump and exit")
    g.add_argument("--build-id", dest="build_id", metavar="dumpfile",
                   help="print VMCOREINFO's BUILD-ID of the dump and exit")
    g.add_argument("--log", dest="log_dump", metavar="dumpfile",
                   help="print the kernel log of the dump and exit (read with the kernel's "
                        "own symbols; crash 9.0.2 refuses kernels from 5.10 on)")


def early(argv: list[str]) -> int | None:
    """The forms that need no session (``-h CMD``, ``--osrelease``, ``--build-id``,
    ``--log``): their exit status, else None."""
    try:
        return _early(argv)
    except BrokenPipeError:
        # our reader went away (xcrash --log DUMP | head): stdout to /dev/null, so the
        # final flush cannot fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return OK


def _early(argv: list[str]) -> int | None:
    if len(argv) == 2 and argv[0] in ("-h", "--help"):
        return _help_page(argv[1])
    refusal = refused(argv)
    if refusal is not None:
        _say(refusal)
        return CANNOT_OPEN
    for flag in ("--osrelease", "--build-id", "--log"):
        for i, word in enumerate(argv):
            value = word.partition("=")[2] if word.startswith(flag + "=") else (
                argv[i + 1] if word == flag and i + 1 < len(argv) else None)
            if value is not None:
                return _vmcoreinfo(flag, value) if flag != "--log" else _log(value)
    return None


def _help_page(word: str) -> int:
    from .commands.help import help_page
    from .commands.registry import Registry
    try:
        print(help_page(Registry(), word).rstrip("\n"))
    except XcrashError as err:
        _say(f"-h: {err}")
        return CANNOT_OPEN
    return OK


def _vmcoreinfo(flag: str, path: str) -> int:
    """crash's answer: the value, else ``unknown`` and status 1."""
    from .dump import open_dump
    try:
        dump = open_dump(path)
    except (XcrashError, OSError):
        print("unknown")            # crash says no more of a file it cannot read
        return FAILED
    vi = dump.vmcoreinfo
    value = None
    if vi is not None:
        value = vi.osrelease if flag == "--osrelease" else vi.build_id
    print(value or "unknown")
    return OK if value else FAILED


def _log(path: str) -> int:
    import xcrash
    from .engine.runner import Runner
    try:
        session = xcrash.open(path, find_symbols=False)
    except (XcrashError, OSError) as err:
        _say(str(err))
        return CANNOT_OPEN
    return OK if Runner(session).execute("log") else FAILED


def prepare(args: argparse.Namespace) -> str | None:
    """Before opening: why the files cannot be opened (a live system), else None; the
    System.map files are set apart from the symbol files (``args.system_maps``)."""
    for path in (args.vmcore, *args.symbol_files):
        if os.path.realpath(path) in LIVE_SOURCES or path in LIVE_SOURCES:
            return (f"{path}: live systems are not supported (xcrash reads dumps: save one "
                    "with makedumpfile, or QEMU's dump-guest-memory)")
    args.system_maps = [p for p in args.symbol_files if is_system_map(p)]
    args.symbol_files = [p for p in args.symbol_files if p not in args.system_maps]
    return None


def apply(session: Any, args: argparse.Namespace, settings: dict[str, Any]) -> list[str]:
    """The options that act on an opened session; the notes to show.  An option the
    dump contradicts raises XcrashError."""
    notes = check_system_maps(session, args.system_maps)
    if args.radix:
        settings["radix"] = args.radix
    if args.no_scroll:
        settings["scroll"] = False
    if args.offline:
        settings["offline"] = args.offline
    if args.zero_excluded:
        session.dump.zero_excluded = True
    session.module_dir = args.mod_dir
    if args.xen_phys_start is not None:
        _check_xen_phys_start(session, args.xen_phys_start)
    if args.p2m_mfn is not None:
        session.select(_guest_of_p2m(session, args.p2m_mfn))
    for target in session.targets.values():
        if target.kind != "linux":
            continue
        for flag in ("no_modules", "no_kallsyms", "active"):
            if getattr(args, flag):
                target.cache[f"option {flag}"] = True
        if args.no_modules and hasattr(target.symbols, "disable_modules"):
            target.symbols.disable_modules()
        if args.no_panic:
            from .targets.linux.tasks import idle_tasks
            idle = idle_tasks(target)
            if idle:
                target.selected_task = idle[0].at_
    if args.cpus is not None:
        notes.extend(_check_cpus(session, args.cpus))
    return notes


def with_kaslr(opener: Any, text: str | None) -> Any:
    """The session opener, given --kaslr's offset (none for auto: xcrash's finding)."""
    if text is None or text == "auto":
        return opener
    return functools.partial(opener, kaslr=_number(text, "--kaslr"))


def is_system_map(path: str) -> bool:
    """Whether ``path`` is a System.map (``address letter name`` lines)."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return False            # the session's open says what is wrong with the file
    first = head.split(b"\n", 1)[0].split()
    return (len(first) == 3 and len(first[1]) == 1 and len(first[0]) in (8, 16)
            and all(c in b"0123456789abcdefABCDEF" for c in first[0]))


def check_system_maps(session: Any, maps: list[str]) -> list[str]:
    """crash takes a System.map to relocate a vmlinux of another build; xcrash checks
    the map against the vmlinux instead: the notes to show, XcrashError if it differs."""
    notes = []
    for path in maps:
        target = session.targets.get("kernel")
        symfile = getattr(target, "symfile", None)
        if symfile is None or getattr(symfile, "kind", None) != "vmlinux":
            raise XcrashError(f"{path}: a System.map alone gives no types: give the vmlinux "
                              "of the dumped kernel, or no symbol file (the dump's own kallsyms)")
        checked = 0
        with open(path, encoding="latin-1") as f:
            for line in f:
                words = line.split()
                if len(words) != 3 or words[2] not in _MAP_CHECKS:
                    continue
                sym = symfile.symbols.get(words[2])
                if sym is None:
                    continue
                checked += 1
                if sym.address != int(words[0], 16):
                    raise XcrashError(
                        f"{path}: {words[2]} at {words[0]}, {sym.address:x} in {symfile.path}: "
                        "not the vmlinux's map (crash's relocation of another build's "
                        "vmlinux by the map is not offered: give the dumped kernel's vmlinux)")
        notes.append(f"{path}: agrees with {symfile.path} ({checked} symbols compared): "
                     "nothing more to take from it")
    return notes


#: the symbols a System.map is checked by
_MAP_CHECKS = frozenset(("_text", "_stext", "_etext", "init_task", "linux_banner", "_end",
                         "swapper_pg_dir", "init_top_pgt"))


def _number(text: str, what: str) -> int:
    """A hexadecimal number, as crash reads these options (0x optional)."""
    try:
        return int(text, 16)
    except ValueError:
        raise XcrashError(f"{what} {text}: not a number") from None


def _check_xen_phys_start(session: Any, text: str) -> None:
    wanted = _number(text, "--xen_phys_start")
    xen = session.dump.xen
    found = getattr(xen, "xen_phys_start", None) if xen is not None else None
    if xen is None:
        raise XcrashError(f"--xen_phys_start {text}: the dump is no Xen host's")
    if found is not None and found != wanted:
        raise XcrashError(f"--xen_phys_start {text}: the dump's crash note says "
                          f"{found:#x}")


def _guest_of_p2m(session: Any, text: str) -> str:
    """The target of the PV guest whose p2m frame list list is at MFN ``text`` (doms'
    P2M_MFN column)."""
    wanted = _number(text, "--p2m_mfn")
    xen = session.targets.get("xen")
    if xen is None:
        raise XcrashError(f"--p2m_mfn {text}: the dump is no Xen host's with its xen-syms")
    from .targets.xen.domains import domains
    known = []
    for dom in domains(xen):
        if isinstance(dom.p2m_mfn, int):
            known.append(f"dom{dom.domain_id} {dom.p2m_mfn:x}")
            if dom.p2m_mfn == wanted and f"dom{dom.domain_id}" in session.targets:
                return f"dom{dom.domain_id}"
    raise XcrashError(f"--p2m_mfn {text}: no PV guest's p2m frame list list is there"
                      + (f" ({', '.join(known)})" if known else ""))


def _check_cpus(session: Any, cpus: int) -> list[str]:
    target = session.current
    if target.kind != "linux":
        return []
    try:
        found = len(target.online_cpus)
    except XcrashError:
        return []           # the CPUs unreadable: nothing to check the number against
    if found != cpus:
        return [f"--cpus {cpus}: the dump's kernel has {found} online CPUs: those are used"]
    return []


def _say(message: str) -> None:
    print(f"xcrash: {message}", file=sys.stderr, flush=True)
