"""Where a Linux kernel's image ran, and whether a symbol file is that kernel's.

KASLR offset, phys_base, the page-table root, 5-level paging and the SME mask from VMCOREINFO
when the dump has it, else from the symbol file; the release a banner names; the checks that
a symbol file belongs to the dump (build-id, release).
"""
from __future__ import annotations

import re
from typing import Any

from ...arch import START_KERNEL_MAP
from ...errors import SymbolFileMismatch, XcrashError

_BANNER_RELEASE = re.compile(rb"Linux version (\S+)")


class KernelLayout:
    """Where a kernel image ran: the facts needed to build its address space."""

    def __init__(self, *, kaslr_offset: int, phys_base: int, pgd_vaddr: int, levels: int,
                 sme_mask: int, kernel_image_size: int, source: str) -> None:
        self.kaslr_offset = kaslr_offset
        self.phys_base = phys_base
        self.pgd_vaddr = pgd_vaddr
        self.levels = levels
        self.sme_mask = sme_mask
        self.kernel_image_size = kernel_image_size
        self.source = source          # "VMCOREINFO" or "symbol file"

    @property
    def pgd_paddr(self) -> int:
        return (self.pgd_vaddr - START_KERNEL_MAP + self.phys_base) & 0xFFFFFFFFFFFFFFFF


def layout_from_vmcoreinfo(vmcoreinfo: Any, symfile: Any, dump_phys_base: int | None,
                           kaslr: int | None = None) -> KernelLayout:
    """Derive a kernel's layout from its VMCOREINFO (and the symbol file);
    ``kaslr`` is the offset found otherwise when there is no VMCOREINFO."""
    vi = vmcoreinfo
    if kaslr is None:
        if vi is not None and vi.get("KERNELOFFSET") is not None:
            kaslr = vi.kerneloffset
        elif vi is not None and vi.get("SYMBOL(_stext)") is not None and symfile is not None:
            kaslr = vi.symbol("_stext") - symfile.symbols.lookup("_stext").address
        else:
            kaslr = 0
    phys_base = None
    if vi is not None and vi.get("NUMBER(phys_base)") is not None:
        phys_base = vi.number("phys_base")
    if phys_base is None:
        phys_base = dump_phys_base or 0
    pgd = None
    if vi is not None:
        for key in ("init_top_pgt", "swapper_pg_dir"):
            if vi.get(f"SYMBOL({key})") is not None:
                pgd = vi.symbol(key)
                break
    if pgd is None and symfile is not None:
        for key in ("init_top_pgt", "swapper_pg_dir", "init_level4_pgt"):
            sym = symfile.symbols.get(key)
            if sym is not None:
                pgd = sym.address + kaslr
                break
    levels = 5 if vi is not None and vi.get("NUMBER(pgtable_l5_enabled)") is not None \
        and vi.number("pgtable_l5_enabled") else 4
    sme = vi.number("sme_mask") if vi is not None and vi.get("NUMBER(sme_mask)") is not None else 0
    image = (vi.number("KERNEL_IMAGE_SIZE")
             if vi is not None and vi.get("NUMBER(KERNEL_IMAGE_SIZE)") is not None else 1 << 30)
    return KernelLayout(kaslr_offset=kaslr, phys_base=phys_base & 0xFFFFFFFFFFFFFFFF,
                        pgd_vaddr=pgd or 0, levels=levels, sme_mask=sme,
                        kernel_image_size=image,
                        source="VMCOREINFO" if vi is not None else "symbol file")


def banner_release(banner: bytes) -> str | None:
    m = _BANNER_RELEASE.search(banner)
    return m.group(1).decode("ascii", "replace") if m else None


def check_symbol_file(symfile: Any, vmcoreinfo: Any) -> list[str]:
    """Raise SymbolFileMismatch when the vmlinux is not the dumped kernel's; the notes
    returned say which check could not be made (the session shows them)."""
    if vmcoreinfo is None:
        return []
    dump_id = (vmcoreinfo.build_id or "").lower()
    file_id = (symfile.build_id or "").lower()
    if dump_id and file_id and not (file_id.startswith(dump_id) or dump_id.startswith(file_id)):
        raise SymbolFileMismatch(symfile.path, "build-id", dump_id, file_id)
    release = vmcoreinfo.osrelease
    if not release:
        return []
    try:
        file_release = symfile_release(symfile)
    except XcrashError as err:
        return [f"{symfile.path}: linux_banner unreadable ({err}): its kernel release is not "
                f"checked against the dump's {release}"]
    if file_release and file_release != release:
        raise SymbolFileMismatch(symfile.path, "kernel release (OSRELEASE)", release, file_release)
    return []


def symfile_release(symfile: Any) -> str | None:
    """The release in the file's ``linux_banner``; None when it has no banner (or one
    without a release).  A banner whose bytes the file lacks (a debuginfo-only file)
    raises the file's typed error."""
    sym = symfile.symbols.get("linux_banner")
    if sym is None:
        return None
    return banner_release(symfile.read_static(sym.address, min(sym.size or 256, 512)))
