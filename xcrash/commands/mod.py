"""mod: the loaded kernel modules, as crash lists them."""
from __future__ import annotations

from typing import Any

from ..errors import CommandError
from .args import parse_address
from .base import Command, Context, Option, Result, Text
from ..layouts.columns import center


def module_lines(modules: list[Any], memory_layout: bool = False) -> list[str]:
    """crash's table: MODULE NAME BASE (TEXT_BASE on 6.4+) SIZE OBJECT FILE."""
    name_w = max((len(m.name) for m in modules), default=0)
    size_w = max((len(str(m.size)) for m in modules), default=0)
    out = ["  ".join([center("MODULE", 16), "NAME".ljust(name_w),
                      center("TEXT_BASE" if memory_layout else "BASE", 16),
                      "SIZE".rjust(size_w), "OBJECT FILE"])]
    for m in modules:
        kallsyms = "  [CONFIG_KALLSYMS]" if m.symbols else ""
        out.append("  ".join([f"{m.address:16x}", m.name.ljust(name_w), f"{m.base:16x}",
                              str(m.size).rjust(size_w), "(not loaded)" + kallsyms]))
    return out


class Mod(Command):
    name = "mod"
    synopsis = "mod [-t] [module-name | module-address]"
    summary = "loaded kernel modules"
    group = "linux"
    targets = ("linux",)
    description = """\
The modules on the kernel's `modules` list, in address order, as crash shows
them: the struct module, the name, where its core text starts (BASE;
TEXT_BASE on kernels with per-type module memory, 6.4+), its core size, and
the object file (never loaded by xcrash: module symbols come from the dump's
own kallsyms tables, which bt, sym and dis use for addresses in modules).
With an argument, only the module of that name or struct module / base address.
`mod -t`: the tainted modules and the letters of their module-level taint
flags (O out-of-tree, E unsigned, P proprietary, ...).
"""
    example = "mod\nmod tun\nmod -t"
    options: tuple[Option, ...] = (Option("-t", "taints", "the tainted modules and their taint letters"),)

    def run(self, ctx: Context, args: list[str]) -> Result:
        opts, rest = self.parse(args)
        target = ctx.target
        table = target.modules
        modules = list(table)
        if not modules:
            return Text("no modules installed", [])
        if opts["taints"]:
            from ..targets.linux.sysinfo import module_taints
            tainted = module_taints(target, modules)
            if not tainted:
                return Text("no tainted modules", [])
            width = max(len(name) for name, _ in tainted)
            return Text("\n".join([f"{'NAME':<{width}}  TAINTS"] +
                                  [f"{name:<{width}}  {letters}" for name, letters in tainted]),
                        [{"name": n, "taints": t} for n, t in tainted])
        shown = modules
        if rest:
            shown = []
            for arg in rest:
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
        try:
            memory_layout = not target.type("struct module").has_member("core_layout")
        except Exception:  # noqa: BLE001 - no type: the older header
            memory_layout = False
        lines = module_lines(modules, memory_layout)
        keep = {id(m) for m in shown}
        body = [line for m, line in zip(modules, lines[1:]) if id(m) in keep]
        records = [{"module": m.address, "name": m.name, "base": m.base, "size": m.size,
                    "symbols": len(m.symbols)} for m in shown]
        return Text("\n".join([lines[0]] + body), records)


COMMANDS = [Mod]
