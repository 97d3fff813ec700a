"""crash's internal variables as ``set`` shows and changes them (``set print_max 10``,
``set -v``): those with a meaning here act (print_max, null-stop, offline, scope's
address), those with none are shown with crash's value and refuse another one in one
line, saying why."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import CommandError
from ..targets.values import PRINT
from .base import Context


@dataclass(frozen=True)
class CrashVariable:
    """A crash variable: how ``set NAME`` shows it and how a value is taken (None:
    the variable cannot be changed here, ``refusal`` says why)."""
    name: str
    show: Callable[[Context], str]
    change: Callable[[Context, str], None] | None = None
    refusal: str = ""
    #: how ``set -v`` shows it where crash shows it otherwise there
    listed: str = ""


def _on_off(word: str, name: str) -> bool:
    value = {"on": True, "off": False}.get(word.lower())
    if value is None:
        raise CommandError(f"set: {name}: invalid value {word!r} (use on|off)")
    return value


def _print_max(ctx: Context, word: str) -> None:
    try:
        value = int(word, 0)
    except ValueError:
        raise CommandError(f"set: print_max: invalid value {word!r}") from None
    if value <= 0:
        raise CommandError(f"set: print_max: invalid value {word!r}")
    PRINT.print_max = value


def _null_stop(ctx: Context, word: str) -> None:
    PRINT.null_stop = _on_off(word, "null-stop")


def _stored(name: str, values: tuple[str, ...]) -> Callable[[Context, str], None]:
    def change(ctx: Context, word: str) -> None:
        if word.lower() not in values:
            raise CommandError(f"set: {name}: invalid value {word!r} (use {'|'.join(values)})")
        ctx.settings[name] = word.lower()
    return change


def _number(name: str) -> Callable[[Context, str], None]:
    def change(ctx: Context, word: str) -> None:
        try:
            ctx.settings[name] = int(word, 0)
        except ValueError:
            raise CommandError(f"set: {name}: invalid value {word!r}") from None
    return change


def _scope(ctx: Context, word: str) -> None:
    """A text address (or symbol) whose scope crash would take types from; 0 unsets."""
    from .args import parse_address
    if word in ("0", "0x0"):
        ctx.settings["scope"] = 0
        return
    address = parse_address(ctx.target, word)
    hit = ctx.target.symbols.resolve(address) if ctx.target.symbols is not None else None
    if hit is None or hit[0].type_char not in "tTwW":
        raise CommandError(f"set: scope: {word}: not a kernel text address")
    ctx.settings["scope"] = address


def _show_scope(ctx: Context) -> str:
    address = int(ctx.settings.get("scope", 0))
    if not address:
        return "0 (not set)"
    name = (ctx.target.symbol_offset(address)
            if getattr(ctx.target, "symbols", None) is not None else None)
    return f"{address:x} ({name})" if name else f"{address:x}"


def _fixed(text: str) -> Callable[[Context], str]:
    return lambda _ctx: text


def _setting(name: str, default: str) -> Callable[[Context], str]:
    return lambda ctx: str(ctx.settings.get(name, default))


def _on_off_setting(name: str, default: bool) -> Callable[[Context], str]:
    return lambda ctx: "on" if ctx.settings.get(name, default) else "off"


def _stored_on_off(name: str) -> Callable[[Context, str], None]:
    def change(ctx: Context, word: str) -> None:
        ctx.settings[name] = _on_off(word, name)
    return change


def _symbol_file(ctx: Context) -> str:
    symfile = getattr(ctx.target, "symfile", None)     # a target may have none
    return str(getattr(symfile, "path", "")) if symfile is not None else "(none)"


def _dump_file(ctx: Context) -> str:
    return str(getattr(getattr(ctx.session, "dump", None), "path", "") or "(unknown)")


NO_GDB = "there is no gdb behind xcrash: use p, struct, union, whatis (or the Python API)"

VARIABLES = [
    CrashVariable("refresh", _on_off_setting("refresh", True), _stored_on_off("refresh")),
    CrashVariable("print_max", lambda _ctx: str(PRINT.print_max), _print_max),
    CrashVariable("print_array", _fixed("off"), None,
                  "gdb's one-element-per-line array printing is not implemented"),
    CrashVariable("console", _fixed("not set"), None, "xcrash has no debug console",
                  "(not assigned)"),
    CrashVariable("debug", _setting("debug", "0"), _number("debug")),
    CrashVariable("core", _fixed("off (do NOT drop core on error message)"), None,
                  "xcrash does not drop core on errors", "off"),
    CrashVariable("hash", _on_off_setting("hash", True), _stored_on_off("hash")),
    CrashVariable("silent", _on_off_setting("silent", False), _stored_on_off("silent")),
    CrashVariable("edit", _fixed("emacs"), None,
                  "the line editing keys are prompt_toolkit's (emacs-style)"),
    CrashVariable("namelist", _symbol_file, None, "the symbol file is given at start-up"),
    CrashVariable("dumpfile", _dump_file, None, "the dump is given at start-up"),
    CrashVariable("unwind", _fixed("off"), None,
                  "xcrash unwinds with the kernel's ORC tables (crash's unwind is DWARF CFI)"),
    CrashVariable("null-stop", lambda _ctx: "on" if PRINT.null_stop else "off", _null_stop),
    CrashVariable("gdb", _fixed("off"), None, NO_GDB),
    CrashVariable("scope", _show_scope, _scope),
    CrashVariable("offline", _setting("offline", "show"), _stored("offline", ("show", "hide"))),
    CrashVariable("redzone", _fixed("on"), None,
                  "slab objects are shown as crash shows them with redzone on"),
    CrashVariable("error", _fixed("default"), None,
                  "errors always go to stderr, one line each"),
]
BY_NAME = {v.name: v for v in VARIABLES}


def show(ctx: Context, name: str, listed: bool = False) -> str:
    """``set NAME``'s value (``listed``: as ``set -v`` lists it)."""
    var = BY_NAME[name]
    return var.listed if listed and var.listed else var.show(ctx)


def change(ctx: Context, name: str, word: str) -> None:
    var = BY_NAME[name]
    if var.change is None:
        if word.lower() == var.show(ctx).split(" ")[0].lower():
            return              # the value it has: nothing to refuse
        raise CommandError(f"set: {name}: {var.refusal}")
    var.change(ctx, word)
