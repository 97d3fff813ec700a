"""mod: the loaded kernel modules, as crash lists them."""
from __future__ import annotations

from functools import partial
from collections.abc import Iterable, Iterator

from ..caveats import caveat
from ..errors import CommandError
from ..layouts.columns import center
from ..results import Records
from ..targets.linux.kernel import LinuxTarget
from ..targets.linux.modules import ModuleEntry, has_memory_layout, module_entry
from ..targets.linux.taints import ModuleTaint, module_taints
from .args import parse_address
from .base import Command, Context, Option


def module_lines(entries: Iterable[ModuleEntry], memory_layout: bool = False,
                 widths: tuple[int, int] | None = None) -> list[str]:
    """crash's table: MODULE NAME BASE (TEXT_BASE on 6.4+) SIZE OBJECT FILE; the name
    and size columns as wide as ``widths`` (those of every module: crash's widths
    do not depend on which modules are shown), else as the entries'."""
    entries = list(entries)
    name_w, size_w = widths or _widths(entries)
    out = ["  ".join([center("MODULE", 16), "NAME".ljust(name_w),
                      center("TEXT_BASE" if memory_layout else "BASE", 16),
                      "SIZE".rjust(size_w), "OBJECT FILE"])]
    for m in entries:
        kallsyms = "  [CONFIG_KALLSYMS]" if m.symbols else ""
        out.append("  ".join([f"{m.module:16x}", m.name.ljust(name_w), f"{m.base:16x}",
                              str(m.size).rjust(size_w), "(not loaded)" + kallsyms]))
    return out


def _widths(entries: list[ModuleEntry]) -> tuple[int, int]:
    return (max((len(m.name) for m in entries), default=0),
            max((len(str(m.size)) for m in entries), default=0))


def taint_lines(taints: Iterable[ModuleTaint]) -> Iterator[str]:
    taints = list(taints)
    if not taints:
        yield "no tainted modules"
        return
    width = max(len(t.name) for t in taints)
    yield f"{'NAME':<{width}}  TAINTS"
    yield from (f"{t.name:<{width}}  {t.taints}" for t in taints)


def _no_modules(_records: Iterable[object]) -> Iterator[str]:
    yield "no modules installed"


class Mod(Command):
    name = "mod"
    arguments = "[module-name | module-address] ..."
    summary = "loaded kernel modules"
    group = "linux"
    targets = ("linux",)
    description = """\
The modules on the kernel's `modules` list, in address order, as crash shows
them: the struct module, the name, where its core text starts (BASE;
TEXT_BASE on kernels with per-type module memory, 6.4+), its core size, and
the object file (never loaded by xcrash: module symbols come from the dump's
own kallsyms tables, which bt, sym and dis use for addresses in modules).
With arguments, only the modules of those names or struct module / base
addresses (crash's mod takes none).  A module whose struct cannot be read is
left out, with a WARNING line.  JSON: a record per module (module, name, base,
size, symbols: how many); -t: name, taints.
"""
    example = "mod\nmod -t"
    options = (Option("-t", "taints", "the tainted modules and the letters of their "
                      "module-level taint flags (O out-of-tree, E unsigned, P proprietary, "
                      "...)"),)

    def run(self, ctx: Context, args: list[str]) -> Records:
        opts, rest = self.parse(args)
        target = ctx.target
        assert isinstance(target, LinuxTarget)          # targets = ("linux",)
        table = target.modules
        if table.unreadable is not None:
            raise CommandError(f"mod: the module list is unreadable: {table.unreadable}")
        for problem in table.problems:
            caveat(problem)
        modules = list(table)
        if not modules:
            return Records([], _no_modules)
        if opts["taints"]:
            return Records(module_taints(target, modules), taint_lines)
        entries = [module_entry(m) for m in modules]
        shown = entries
        if rest:
            shown = []
            for arg in rest:
                hit = [m for m in entries if m.name == arg]
                if not hit:
                    try:
                        addr = parse_address(target, arg)
                    except CommandError:
                        raise CommandError(f"mod: invalid argument: {arg}") from None
                    hit = [m for m in entries if addr in (m.module, m.base)]
                if not hit:
                    raise CommandError(f"mod: {arg}: not a loaded module")
                shown += hit
            shown = [m for m in entries if any(m is s for s in shown)]
        return Records(shown, partial(module_lines, memory_layout=has_memory_layout(target),
                                      widths=_widths(entries)))


COMMANDS = [Mod]
