"""Loaded eBPF programs and maps (``bpf``): the entries of the kernel's prog_idr and
map_idr."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import CommandError, MemoryError_, NoSuchMember, NoSuchType

if TYPE_CHECKING:
    from .kernel import LinuxTarget


def loaded(target: LinuxTarget, which: str) -> list[tuple[int, int]]:
    """(id, struct bpf_prog or bpf_map) of each entry of ``prog_idr`` or ``map_idr``,
    in ID order; an error on a kernel without them (no CONFIG_BPF_SYSCALL)."""
    from .xarray import entries
    if target.symbols.get("prog_idr") is None or target.symbols.get("map_idr") is None:
        raise CommandError("bpf: command not supported or applicable on this architecture "
                           "or kernel")
    try:
        idr = target.object(which)
        base = int(idr.idr_base) if idr.type_.strip_typedefs().has_member("idr_base") else 0
        return [(index + base, entry)
                for index, entry in entries(target, int(idr.idr_rt.address_of_()))]
    except MemoryError_ as err:
        raise CommandError(f"bpf: {which}: {err}") from err
    except (NoSuchMember, NoSuchType) as err:
        raise CommandError(f"bpf: {which}: {err}") from err
