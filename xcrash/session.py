"""A session: one dump, its symbol files, the targets found in it, the current one."""
from __future__ import annotations

from typing import Any

from .errors import XcrashError
from .memory.space import PhysicalSpace
from .targets.base import Target


class NoSuchTarget(XcrashError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no target {name!r} (targets: {', '.join(known)})")


class MachineTarget(Target):
    """Physical memory only: what is left when no symbol file fits the dump."""

    kind = "machine"

    def __init__(self, dump: Any) -> None:
        space = PhysicalSpace(dump)
        super().__init__("machine", space, space)
        self.dump = dump


class Session:
    """The dump, its targets (by name) and the current target."""

    def __init__(self, dump: Any, symbol_files: list[Any], targets: dict[str, Target],
                 current: str, messages: list[str] | None = None) -> None:
        self.dump = dump
        self.symbol_files = symbol_files
        self.targets = targets
        self.current: Target = targets[current]
        #: start-up notes for the user (which symbol file serves which target, ...)
        self.messages = messages or []

    @classmethod
    def open(cls, vmcore: str, *symbol_paths: str, target: str | None = None,
             check_symbols: bool = True) -> "Session":
        from .dump import open_dump
        from .symbols import open_symbol_file
        from .targets.linux.kernel import LinuxTarget, check_symbol_file

        dump = open_dump(vmcore)
        symfiles = [open_symbol_file(p) for p in symbol_paths]
        targets: dict[str, Target] = {}
        messages: list[str] = []
        vmlinuxes = [s for s in symfiles if s.kind == "vmlinux"]
        if dump.xen is None and vmlinuxes:
            vmlinux = vmlinuxes[0]
            if check_symbols:
                check_symbol_file(vmlinux, dump.vmcoreinfo)
            targets["kernel"] = LinuxTarget.from_dump(dump, vmlinux)
        elif dump.xen is not None:
            messages.append(f"{vmcore}: a Xen hypervisor dump; the Xen and guest targets "
                            "are not available in this version: physical memory only")
        if not targets:
            targets["machine"] = MachineTarget(dump)
            if dump.xen is None:
                messages.append(f"{vmcore}: no vmlinux given: physical memory only")
        current = target or next(iter(targets))
        if current not in targets:
            raise NoSuchTarget(current, list(targets))
        return cls(dump, symfiles, targets, current, messages)

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
