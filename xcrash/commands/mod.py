"""mod: the loaded kernel modules, as crash lists them."""
from __future__ import annotations

import os
from functools import partial
from collections.abc import Iterable, Iterator

from ..caveats import caveat
from ..errors import CommandError, XcrashError
from ..layouts.columns import center
from ..results import Records
from ..targets.linux.kernel import LinuxTarget
from ..targets.linux import moddebug
from ..targets.linux.modules import Module, ModuleEntry, has_memory_layout, module_entry
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
        loaded = f"{m.object_file} " if m.object_file else "(not loaded)" + kallsyms
        out.append("  ".join([f"{m.module:16x}", m.name.ljust(name_w), f"{m.base:16x}",
                              str(m.size).rjust(size_w), loaded]))
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


def _nothing(_records: Iterable[object]) -> Iterator[str]:
    yield from ()


def _no_modules(_records: Iterable[object]) -> Iterator[str]:
    yield "no modules installed"


class Mod(Command):
    name = "mod"
    arguments = "[objfile | directory | module-name | module-address] ..."
    summary = "loaded kernel modules, and loading their object files' debug data"
    group = "linux"
    targets = ("linux",)
    description = """\
The modules on the kernel's `modules` list, in address order, as crash shows
them: the struct module, the name, where its core text starts (BASE;
TEXT_BASE on kernels with per-type module memory, 6.4+), its core size, and
the object file loaded for it (else "(not loaded)"; [CONFIG_KALLSYMS]: its
symbols come from the dump's own kallsyms tables, which bt, sym and dis use).
With arguments, only the modules of those names or struct module / base
addresses (crash's mod takes none).

-s and -S load a module's object file (a .ko with DWARF; .ko.xz accepted): it
is linked where the kernel put the module's sections (mod->sect_attrs), and
its types, variables, function prototypes and source lines then serve struct,
p, whatis, sym, dis -l and bt -l as the vmlinux's do.  Without a file or
directory the search is crash's, in the debug package's layout first: the
--mod directory (or CRASH_MODULE_PATH), else /usr/lib/debug/lib/modules/RELEASE
and /lib/modules/RELEASE under each root of XCRASH_DEBUG_PATH and /, then the
vmlinux's directory; a file with DWARF is preferred (crash takes the first
found).  A file whose functions lie elsewhere than the module's in memory is
refused as another build.  Differences from crash: -r and -R only list (there
is no gdb to pass -readnow to; -R also reads the module list again); -o is
refused (gdb's old add-symbol-file, a no-op on 6.4+ kernels in crash too); an
unknown module is a one-line error where crash prints its usage.  A module
whose struct cannot be read is left out, with a WARNING line.  JSON: a record
per module (module, name, base, size, symbols: how many, object_file); -t:
name, taints.
"""
    example = "mod\nmod -t"
    options = (Option("-s", "load", "load the object file of a module (objfile: that file)",
                      takes_value=True, metavar="module"),
               Option("-S", "load_all", "load the object files of every module (directory: "
                      "search only there)"),
               Option("-d", "delete", "forget a module's object file", takes_value=True,
                      metavar="module"),
               Option("-D", "delete_all", "forget every module's object file"),
               Option("-t", "taints", "the tainted modules and the letters of their "
                      "module-level taint flags (O out-of-tree, E unsigned, P proprietary, "
                      "...)"),
               Option("-r", "readnow", "list (crash: reload with gdb's -readnow)"),
               Option("-R", "reinit", "forget every object file, read the module list again "
                      "and list"),
               Option("-g", "sections", "with -s/-S: sym -m lists the module's sections"),
               Option("-o", "old", "refused: crash's old loading mechanism"))
    exclusive = (("load", "load_all", "delete", "delete_all", "taints", "readnow", "reinit"),)

    def run(self, ctx: Context, args: list[str]) -> Records | list[Records]:
        opts, rest = self.parse(args)
        target = ctx.target
        assert isinstance(target, LinuxTarget)          # targets = ("linux",)
        if opts["old"]:
            raise CommandError("mod: -o (gdb's old add-symbol-file mechanism) is not "
                               "offered: xcrash links a module's object file one way")
        if opts["sections"] and not (opts["load"] or opts["load_all"]):
            raise CommandError("mod: -g goes with -s or -S")
        if opts["reinit"]:
            moddebug.unload(target)
            if target.symbols is not None and hasattr(target.symbols, "reread"):
                target.symbols.reread()
        if getattr(target.symbols, "disabled", False):
            raise CommandError("mod: cannot access vmalloc'd module memory")
        table = target.modules
        if table.unreadable is not None:
            raise CommandError(f"mod: the module list is unreadable: {table.unreadable}")
        for problem in table.problems:
            caveat(problem)
        modules = list(table)
        if not modules:
            if opts["load"] or opts["delete"]:
                raise CommandError(f"mod: {opts['load'] or opts['delete']}: not a loaded "
                                   "module (no modules installed)")
            return Records([], _no_modules)
        if opts["taints"]:
            return Records(module_taints(target, modules), taint_lines)
        by_name = {m.name: m for m in modules}
        if opts["delete"] is not None or opts["delete_all"]:
            if rest:
                raise CommandError(f"mod: unexpected argument: {rest[0]}")
            if opts["delete_all"]:
                moddebug.unload(target)
            elif opts["delete"] not in by_name:
                raise CommandError(f"mod: {opts['delete']}: not a loaded module")
            else:
                moddebug.unload(target, opts["delete"])
            return Records([], _nothing)
        if opts["load"] is not None:
            shown = [self._load_one(ctx, target, by_name, opts["load"], rest, opts["sections"])]
            return self._table(target, modules, shown)
        if opts["load_all"]:
            self._load_all(ctx, target, modules, rest, opts["sections"])
            return self._table(target, modules, modules)
        shown = modules
        if rest:
            shown = [m for m in modules if any(m is s for s in _selected(target, modules, rest))]
        return self._table(target, modules, shown)

    @staticmethod
    def _table(target: LinuxTarget, modules: list[Module], shown: list[Module]) -> Records:
        files = moddebug.loaded(target)
        entries = [module_entry(m, files[m.name].path if m.name in files else None)
                   for m in modules]
        picked = {id(m) for m in shown}
        return Records([e for m, e in zip(modules, entries) if id(m) in picked],
                       partial(module_lines, memory_layout=has_memory_layout(target),
                               widths=_widths(entries)))

    def _load_one(self, ctx: Context, target: LinuxTarget, by_name: dict[str, Module],
                  name: str, rest: list[str], sections: bool) -> Module:
        module = by_name.get(name)
        if module is None:
            raise CommandError(f"mod: {name}: not a loaded module")
        if len(rest) > 1:
            raise CommandError(f"mod: unexpected argument: {rest[1]}")
        if name in moddebug.loaded(target):
            return module               # crash keeps the file already loaded
        path = rest[0] if rest else moddebug.find_module_file(
            name, moddebug.index_tree(_search_dirs(ctx, target)))
        if path is None:
            raise CommandError(f"mod: cannot find or load object file for {name} module")
        try:
            moddebug.load(target, module, path, sections)
        except XcrashError as err:
            raise CommandError(f"mod: {err}") from None
        return module

    def _load_all(self, ctx: Context, target: LinuxTarget, modules: list[Module],
                  rest: list[str], sections: bool) -> None:
        if len(rest) > 1:
            raise CommandError(f"mod: unexpected argument: {rest[1]}")
        if rest and not os.path.isdir(rest[0]):
            raise CommandError(f"mod: {rest[0]} is not a directory")
        index = moddebug.index_tree([rest[0]] if rest else _search_dirs(ctx, target))
        for module in modules:
            if module.name in moddebug.loaded(target):
                continue
            path = moddebug.find_module_file(module.name, index)
            if path is None:
                continue                # crash says nothing of a module it finds no file for
            try:
                moddebug.load(target, module, path, sections)
            except XcrashError as err:
                caveat(f"module {module.name}: {err}: not loaded")


def _search_dirs(ctx: Context, target: LinuxTarget) -> list[str]:
    mod_dir = getattr(ctx.session, "module_dir", None) or os.environ.get("CRASH_MODULE_PATH")
    try:
        release: str | None = target.utsname["release"]
    except XcrashError:
        release = None          # the release unreadable: the vmlinux's directory only
    vmlinux = getattr(target.symfile, "path", None)
    return moddebug.search_dirs(release, mod_dir, vmlinux)


def _selected(target: LinuxTarget, modules: list[Module], words: list[str]) -> list[Module]:
    shown: list[Module] = []
    for arg in words:
        hit = [m for m in modules if m.name == arg]
        if not hit:
            try:
                addr = parse_address(target, arg)
            except CommandError:
                raise CommandError(f"mod: invalid argument: {arg}") from None
            hit = [m for m in modules if addr in (m.address, m.base)]
        if not hit:
            raise CommandError(f"mod: {arg}: not a loaded module")
        shown += hit
    return shown


COMMANDS = [Mod]
