"""A session: one dump, its symbol files, the targets found in it, the current one."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

from . import caveats
from .caveats import Unreadable, caveat
from .errors import XcrashError
from .memory.space import PhysicalSpace
from .targets.base import Target

if TYPE_CHECKING:
    from .dump.base import Dump
    from .symbols.symbolfile import SymbolFile
    from .targets.xen.guestsyms import SymbolSearch


class NoSuchTarget(XcrashError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no target {name!r} (targets: {', '.join(known)})")


class MachineTarget(Target):
    """Physical memory only: what is left when no symbol file fits the dump."""

    kind = "machine"

    def __init__(self, dump: Dump) -> None:
        space = PhysicalSpace(dump)
        super().__init__("machine", space, space)
        self.dump = dump


def _open_xen(vmcore: str, dump: Dump, symfiles: list[SymbolFile], targets: dict[str, Target],
              messages: list[str], forced: dict[str, SymbolFile] | None = None,
              search: SymbolSearch | None = None) -> None:
    """The hypervisor target and the guests' (:func:`_xen_targets`), with what could
    not be read on the way said in the start-up messages."""
    with caveats.collecting() as found:
        _xen_targets(vmcore, dump, symfiles, targets, messages, forced, search)
    messages.extend(f"WARNING: {what}" for what in found)


def _xen_targets(vmcore: str, dump: Dump, symfiles: list[SymbolFile],
                 targets: dict[str, Target], messages: list[str],
                 forced: dict[str, SymbolFile] | None = None,
                 search: SymbolSearch | None = None) -> None:
    """The hypervisor target (``xen``), then the guests' (``dom0``, ``domN``:
    :func:`xcrash.targets.xen.guests.guest_targets`).  Without xen-syms the
    hypervisor target has the symbols of Xen's own table in the dump (``search.memory``:
    ``targets/xen/ownsyms.py``), else only VMCOREINFO_XEN's facts beside a machine
    target; the session starts in dom0 when it has symbols (a vmlinux, as crash's dom0
    session, or its own memory's)."""
    from .symbols.xenmemfile import XenMemorySymbolFile
    from .targets.xen.guests import guest_targets
    from .targets.xen.guestsyms import SymbolSearch
    from .targets.xen.hypervisor import XenTarget
    from .targets.xen.ownsyms import NoOwnSymbols, own_symbols
    from .targets.xen.ownsyms import describe as describe_own
    given = next((s for s in symfiles if s.kind == "xen-syms"), None)
    search = search or SymbolSearch()
    xen_syms: SymbolFile | XenMemorySymbolFile | None = given
    own_problem = None
    if given is None and search.memory:
        try:
            xen_syms = own_symbols(dump)
        except NoOwnSymbols as err:
            own_problem = str(err)
    try:
        xen = XenTarget.from_dump(dump, xen_syms)
    except XcrashError as err:      # said in the start-up messages
        messages.append(f"{vmcore}: a Xen hypervisor dump, but no hypervisor target: {err}")
        return
    messages.extend(xen.notes)
    if xen_syms is None:
        targets["machine"] = MachineTarget(dump)
        why = f" (Xen's own symbol table: {own_problem})" if own_problem else ""
        messages.append(f"{vmcore}: a Xen hypervisor dump without xen-syms: the guests, "
                        f"physical memory (machine), and VMCOREINFO_XEN's facts (xen){why}")
    elif isinstance(xen_syms, XenMemorySymbolFile):
        messages.append(f"{vmcore}: no xen-syms given: symbols from the dump: Xen's own table "
                        f"({describe_own(xen_syms)}); no DWARF: the xen target has symbols, "
                        "no types (doms from VMCOREINFO_XEN)")
    elif not xen_syms.has_dwarf:
        messages.append(f"{xen_syms.path}: no DWARF: the xen target has symbols, no types "
                        "(doms from VMCOREINFO_XEN)")
    targets["xen"] = xen
    guests, notes = guest_targets(xen, symfiles, forced, search)
    messages.extend(notes)
    dom0 = guests.get("dom0")
    if given is None and dom0 is not None and dom0.symfile is not None:
        # `xcrash vmcore vmlinux`, crash's dom0 session: start in dom0 (`xcrash vmcore`
        # too when dom0's own memory gives its symbols)
        others = dict(targets)
        targets.clear()
        targets["dom0"] = dom0
        targets.update(others)
    targets.update(guests)


def _open_from_dump(vmcore: str, dump: Dump, targets: dict[str, Target],
                    messages: list[str], find_symbols: bool = True,
                    memory_symbols: bool = True) -> None:
    """No symbol file given: the vmlinux of the dump's build-id if a debug directory or
    a debuginfod server has it (symbols/finder.py), else the kernel's target from its
    own kallsyms, BTF and ORC when the dump says where they are (else the machine
    target, said why)."""
    from .symbols import open_symbol_file
    from .symbols.finder import find_vmlinux
    from .symbols.kallsyms import KallsymsError
    from .targets.linux.fromdump import NoKallsyms, describe, symbols_from_dump
    from .targets.linux.kernel import LinuxTarget
    vi = dump.vmcoreinfo
    found, problem = (find_vmlinux(vi.build_id, vi.osrelease) if vi is not None and find_symbols
                      else (None, None))
    if problem:
        messages.append(f"{vmcore}: {problem}")
    if found is not None and vi is not None:      # found through vi
        try:
            vmlinux = open_symbol_file(found.path)
        except XcrashError as err:
            messages.append(f"{vmcore}: {found.path} ({found.how}) cannot be used: {err}")
        else:
            messages.append(f"{vmcore}: vmlinux of build-id {vi.build_id}: {found.path} "
                            f"({found.how})")
            targets["kernel"] = LinuxTarget.from_dump(dump, vmlinux)
            return
    if not memory_symbols:
        return
    try:
        symfile = symbols_from_dump(dump)
    except NoKallsyms as err:
        messages.append(f"{vmcore}: no vmlinux given, and no symbols in the dump: {err}; "
                        "physical memory only")
        return
    except (KallsymsError, XcrashError) as err:
        messages.append(f"{vmcore}: the dump's kallsyms cannot be read ({err}): physical "
                        "memory only")
        return
    kernel = targets["kernel"] = LinuxTarget.from_dump(dump, symfile)
    messages.extend(kernel.notes)
    messages.append(f"{vmcore}: symbols from the dump: {describe(symfile)}; no DWARF (no source "
                    "lines; global variables typed from a table checked against BTF)")


def _no_vmlinux_message(vmcore: str, dump: Dump, symfiles: list[SymbolFile]) -> str:
    """Why a Linux dump got no kernel target, naming the files that were given."""
    release = dump.vmcoreinfo.osrelease if dump.vmcoreinfo is not None else None
    kernel = f"a Linux {release} kernel dump" if release else "a Linux kernel dump"
    xen = [s.path for s in symfiles if s.kind == "xen-syms"]
    other = [s.path for s in symfiles if s.kind not in ("xen-syms", "vmlinux")]
    if xen:
        return (f"{vmcore}: {kernel}, but {', '.join(xen)} is a Xen hypervisor symbol file: "
                "give the kernel's vmlinux; physical memory only")
    if other:
        return (f"{vmcore}: {kernel}, but {', '.join(other)} is no vmlinux (no linux_banner "
                "or init_task): physical memory only")
    return f"{vmcore}: no vmlinux given: physical memory only"


@dataclass
class OpenArguments:
    """What a session was opened with, the paths as given: what ``--explain`` fills in
    the programs it prints, so that they open the same dump the same way (and print the
    same paths, as ``sys`` and ``target`` show them)."""
    vmcore: str
    #: the symbol files and the other parts of a split dump, in the order given
    paths: tuple[str, ...] = ()
    #: ``symbols_for`` (``--sym domN=FILE``)
    symbols_for: dict[str, str] = field(default_factory=dict)


class Session:
    """The dump, its targets (by name) and the current target."""

    def __init__(self, dump: Dump, symbol_files: list[SymbolFile], targets: dict[str, Target],
                 current: str, messages: list[str] | None = None) -> None:
        self.dump = dump
        self.symbol_files = symbol_files
        self.targets = targets
        self.current: Target = targets[current]
        #: start-up notes for the user (which symbol file serves which target, ...)
        self.messages = messages or []
        #: the files it was opened from (None: made otherwise, as tests' sessions)
        self.opened_with: OpenArguments | None = None

    @classmethod
    def open(cls, vmcore: str, *symbol_paths: str, target: str | None = None,
             check_symbols: bool = True, symbols_for: dict[str, str] | None = None,
             minimal: bool = False, find_symbols: bool = True,
             memory_symbols: bool = True, kaslr: int | None = None) -> Self:
        """``symbols_for``: ``{"dom2": "vmlinux-guest"}`` forces a symbol file on a
        Xen guest (``--sym dom2=FILE``); such files need not be in ``symbol_paths``.
        A kernel no symbol file given serves gets the debug vmlinux of its build-id
        (``find_symbols``: in the debug directories, from debuginfod), else symbols
        from its own memory (``memory_symbols``; never with ``minimal``).
        kdump files among ``symbol_paths`` are the other parts of a split dump
        (makedumpfile --split), as crash takes them.  ``kaslr``: the kernel's KASLR
        offset as given (crash's --kaslr), refused when VMCOREINFO says otherwise."""
        from .dump import is_kdump_file, open_dump
        from .symbols import open_symbol_file
        from .targets.linux.kernel import LinuxTarget
        from .targets.linux.layout import check_symbol_file

        parts = [p for p in symbol_paths if is_kdump_file(p)]
        symbol_paths = tuple(p for p in symbol_paths if p not in parts)
        dump = open_dump(vmcore, *parts)
        symfiles = [open_symbol_file(p) for p in symbol_paths]
        forced = {name: open_symbol_file(path) for name, path in (symbols_for or {}).items()}
        targets: dict[str, Target] = {}
        messages: list[str] = []
        vmlinuxes = [s for s in symfiles if s.kind == "vmlinux"]
        if dump.xen is None and vmlinuxes:
            vmlinux = vmlinuxes[0]
            if check_symbols:
                messages.extend(check_symbol_file(vmlinux, dump.vmcoreinfo))
            kernel = targets["kernel"] = LinuxTarget.from_dump(dump, vmlinux, probe=not minimal,
                                                               kaslr=kaslr)
            messages.extend(kernel.notes)
        elif dump.xen is not None:
            from .targets.xen.guestsyms import SymbolSearch
            search = SymbolSearch(memory=memory_symbols and not minimal, debug_files=find_symbols)
            _open_xen(vmcore, dump, symfiles, targets, messages, forced, search)
        elif not symfiles and not minimal:
            _open_from_dump(vmcore, dump, targets, messages, find_symbols, memory_symbols)
        if not targets:
            targets["machine"] = MachineTarget(dump)
            if dump.xen is None:
                messages.append(_no_vmlinux_message(vmcore, dump, symfiles))
        if dump.vmcoreinfo is not None:
            messages.extend(f"{vmcore}: {problem}" for problem in dump.vmcoreinfo.problems)
        kernel_layout = getattr(targets.get("kernel"), "layout", None)
        if kaslr is not None and kernel_layout is not None \
                and kernel_layout.kaslr_offset != kaslr:
            raise XcrashError(f"--kaslr {kaslr:#x}: the kernel's KASLR offset is "
                              f"{kernel_layout.kaslr_offset:#x}")
        current = target or next(iter(targets))
        if current not in targets:
            raise NoSuchTarget(current, list(targets))
        session = cls(dump, symfiles, targets, current, messages)
        session.opened_with = OpenArguments(vmcore, (*parts, *symbol_paths),
                                            dict(symbols_for or {}))
        return session

    def select(self, name: str) -> Target:
        if name not in self.targets:
            raise NoSuchTarget(name, list(self.targets))
        self.current = self.targets[name]
        return self.current

    def target(self, name: str) -> Target:
        if name not in self.targets:
            raise NoSuchTarget(name, list(self.targets))
        return self.targets[name]

    def close(self) -> None:
        self.dump.close()


# -- what `target` lists ---------------------------------------------------------------
@dataclass
class TargetSummary:
    """A target of the session, as ``target`` lists it ("-": not known for this kind)."""
    name: str
    #: the domain id of a Xen guest, "xen" for the hypervisor, "-" otherwise
    id: int | str
    #: "linux", "xen", "machine", "PV linux" (a Xen guest; "(no symbols)" when no
    #: vmlinux serves it)
    kind: str
    vcpus: int
    memory: str
    release: str | Unreadable
    nodename: str | Unreadable
    #: the symbol file that serves it
    symbols: str
    #: the session's current target
    current: bool


def _pages_mib(pages: int | None) -> str:
    return f"{pages * 4096 // (1 << 20)} MiB" if pages else "-"


def target_summaries(session: Session) -> list[TargetSummary]:
    """Every target of the session, in its order."""
    from .targets.linux.kernel import LinuxTarget
    from .targets.xen.hypervisor import XenTarget
    from .targets.xen.pvguest import PvLinuxTarget
    out = []
    for name, t in session.targets.items():
        symbols = t.symfile.path if t.symfile is not None else "-"
        release: str | Unreadable = "-"
        nodename: str | Unreadable = "-"
        if isinstance(t, PvLinuxTarget):
            dom = t.domain
            kind = f"{t.xen_kind} linux" + (" (no symbols)" if t.symfile is None else "")
            entry = TargetSummary(name, dom.domain_id, kind, len(dom.vcpus),
                                  _pages_mib(dom.tot_pages), release, nodename, symbols,
                                  t is session.current)
        else:
            entry = TargetSummary(name, "xen" if name == "xen" else "-", t.kind, len(t.cpus),
                                  "-", release, nodename, symbols, t is session.current)
        try:
            if isinstance(t, LinuxTarget) and t.symfile is not None:
                if isinstance(t, PvLinuxTarget) and not t.domain.vcpus:
                    # Xen's vCPU list unknown (no DWARF): the guest's own online CPUs
                    entry.vcpus = len(t.online_cpus)
                uts = t.utsname
                entry.release, entry.nodename = uts["release"], uts["nodename"]
            elif isinstance(t, XenTarget):
                entry.release = t.version or "-"
        except XcrashError as err:
            caveat(f"{name}: its utsname unreadable ({err}): RELEASE and NODENAME shown as ?")
            entry.release = entry.nodename = Unreadable(str(err))
        out.append(entry)
    return out
