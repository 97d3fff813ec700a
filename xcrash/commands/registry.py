"""What a typed word means: a built-in command, a plug-in command, or an alias.

Built-in commands are the ``COMMANDS`` lists of the modules of this package,
found by listing the package directory (no module has to be registered by
hand); third-party commands come from the ``xcrash.commands`` entry-point
group.  Command modules must import cheaply: a command that needs capstone
or rich imports it inside :meth:`Command.run`.

Lookup is by exact name or alias, as in crash: no unique-prefix matching.
:class:`MinimalRegistry` is the registry of ``--minimal`` sessions.
"""
from __future__ import annotations

import importlib
import marshal
import os
import pkgutil
import sys
from collections.abc import Callable, Iterable

from ..errors import CommandError
from .base import ANY_TARGET, Alias, Command, Context, Result

ENTRY_POINT_GROUP = "xcrash.commands"

#: modules of this package that hold no commands: the framework
_NOT_COMMAND_MODULES = {"base", "registry", "args"}

#: crash's built-in aliases (``alias`` lists them), minus those of commands
#: xcrash does not have (gdb, the ``*`` shortcut)
BUILTIN_ALIASES = {
    "man": "help",
    "?": "help",
    "sf": "set scroll off",
    "sn": "set scroll on",
    "hex": "set radix 16",
    "dec": "set radix 10",
    "px": "p -x",
    "pd": "p -d",
    "for": "foreach",
    "dmesg": "log",
    "lsmod": "mod",
    "last": "ps -l",
}


def _stderr_warning(message: str) -> None:
    print(f"xcrash: {message}", file=sys.stderr)


class Registry:
    """The commands by name and alias, and the crash-style alias table.

    Loading happens on first use, so creating a registry costs nothing.
    """

    def __init__(self, builtin: bool = True, plugins: bool = True,
                 warn: Callable[[str], None] = _stderr_warning) -> None:
        self._want_builtin = builtin
        self._want_plugins = plugins
        self._warn = warn
        self._loaded = False
        #: built-in modules whose commands are in (get() loads one where it can)
        self._modules: set[str] = set()
        #: the built-in commands' words and modules (the index), once started
        self._index: dict[str, str] | None = None
        self._plugins_loaded = False
        self._by_word: dict[str, Command] = {}
        self._commands: list[Command] = []
        self.aliases: dict[str, Alias] = {
            name: Alias(name, text, "builtin") for name, text in BUILTIN_ALIASES.items()
        }

    # -- loading ------------------------------------------------------------------
    def _load(self) -> None:
        """Every command: the built-in modules not loaded yet, then the plug-ins."""
        if self._loaded:
            return
        self._loaded = True
        if self._want_builtin:
            for module in builtin_modules():
                if module not in self._modules:
                    self._load_module(module)
            index = {word: type(cmd).__module__.rsplit(".", 1)[-1]
                     for word, cmd in self._by_word.items()
                     if type(cmd).__module__.startswith(f"{__package__}.")}
            if index != self._index:
                _store_index(index)
        if self._want_plugins and not self._plugins_loaded:
            self._load_plugins()

    def _start(self) -> None:
        """On first use: the index of built-in commands the last full load left, and the
        plug-ins (a plug-in cannot take a built-in's word, loaded or not); without a
        valid index, everything."""
        if self._index is not None:
            return
        self._index = _load_index() if self._want_builtin else {}
        if not self._index and self._want_builtin:
            self._load()
        elif self._want_plugins:
            self._load_plugins()

    def _load_module(self, module: str) -> None:
        self._modules.add(module)
        try:
            mod = importlib.import_module(f"{__package__}.{module}")
        except Exception as exc:  # a broken module must not take the shell down
            self._warn(f"commands module {module}: {type(exc).__name__}: {exc}")
            return
        for cls in getattr(mod, "COMMANDS", ()):
            self.add(cls, origin=f"module {module}")

    def _load_plugins(self) -> None:
        self._plugins_loaded = True
        import importlib.metadata
        try:
            points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        except Exception as exc:
            self._warn(f"plug-ins: {type(exc).__name__}: {exc}")
            return
        for ep in points:
            try:
                loaded = ep.load()
                classes = loaded if isinstance(loaded, (list, tuple)) else [loaded]
                for cls in classes:
                    self.add(cls, origin=f"plug-in {ep.name}")
            except Exception as exc:
                self._warn(f"plug-in {ep.name} ({ep.value}): {type(exc).__name__}: {exc}")

    def add(self, cls: type[Command] | Command, origin: str = "runtime") -> None:
        """Register a command class (or instance).  A name already taken is
        refused with a warning: the first comer (built-ins load first) keeps it."""
        cmd = cls() if isinstance(cls, type) else cls
        if not isinstance(cmd, Command) or not cmd.name:
            raise TypeError(f"{cls!r} is not a named xcrash Command")
        words = (cmd.name, *cmd.aliases)
        builtin = type(cmd).__module__.startswith(f"{__package__}.")
        taken = [w for w in words if w in self._by_word
                 or not builtin and self._index and w in self._index]
        if taken:
            self._warn(f"{origin}: command {cmd.name!r} ignored: "
                       f"{', '.join(taken)} already defined")
            return
        self._commands.append(cmd)
        for word in words:
            self._by_word[word] = cmd

    # -- lookup -----------------------------------------------------------------------
    def get(self, word: str) -> Command | None:
        """The command called ``word`` (its name or one of its aliases).  A built-in
        command's module is found in the index the last full load left, and only it is
        imported (a batch run of one command does not import them all)."""
        self._start()
        if not self._loaded and self._index:
            module = self._index.get(word)
            if module is not None and module not in self._modules:
                self._load_module(module)
            cmd = self._by_word.get(word)
            if cmd is not None:
                return cmd
        self._load()
        return self._by_word.get(word)

    def commands(self) -> list[Command]:
        """Every command once, sorted by name."""
        self._load()
        return sorted(self._commands, key=lambda c: c.name)

    def words(self) -> dict[str, Command]:
        """Every command name and command alias, with its command."""
        self._load()
        return dict(self._by_word)

    # -- crash-style aliases ------------------------------------------------------
    def define_alias(self, name: str, text: str) -> Alias:
        """crash's ``alias name text``: ``name`` then stands for ``text``."""
        if self.get(name) is not None:
            raise CommandError(f"{name}: is a command name")
        alias = self.aliases[name] = Alias(name, text, "runtime")
        return alias


def builtin_modules() -> Iterable[str]:
    """Names of this package's modules that may define commands."""
    from .. import commands
    for info in pkgutil.iter_modules(commands.__path__):
        if not info.name.startswith("_") and info.name not in _NOT_COMMAND_MODULES:
            yield info.name


# -- the index of built-in commands: word -> module -------------------------------------
def _index_stamp() -> list[tuple[str, int, int]]:
    """What the index is valid for: this package (where it is), its source files, their
    sizes and times."""
    here = os.path.dirname(os.path.abspath(__file__))
    out = [(here, 0, 0)]
    with os.scandir(here) as entries:
        for e in entries:
            if e.name.endswith(".py"):
                st = e.stat()
                out.append((e.name, st.st_size, st.st_mtime_ns))
    return sorted(out)


def _index_path() -> str:
    from ..cache import cache_dir
    return os.path.join(cache_dir("commands"), "index.marshal")


def _load_index() -> dict[str, str]:
    """The index a full load wrote, if the package has not changed since ({} if not)."""
    try:
        with open(_index_path(), "rb") as f:
            stamp, index = marshal.loads(f.read())
        if stamp == [tuple(x) for x in _index_stamp()] and isinstance(index, dict):
            return index
    except (OSError, EOFError, ValueError, TypeError):
        pass        # no index (or a damaged one): every module is loaded, as without it
    return {}


def _store_index(index: dict[str, str]) -> None:
    try:
        path = _index_path()
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(marshal.dumps((_index_stamp(), index)))
        os.replace(tmp, path)
    except (OSError, ValueError):
        pass        # a read-only cache only costs the next start a full load



# -- --minimal ----------------------------------------------------------------------------
#: what a --minimal session keeps, the restricted session crash offers for dumps too
#: damaged for the rest: commands that need nothing beyond the symbol table and raw
#: memory (crash's log, dis, rd, sym, eval, set, exit, plus xcrash's help, alias, vtop,
#: ptov and search)
MINIMAL_COMMANDS = frozenset({"log", "dis", "rd", "sym", "eval", "set", "q", "help", "alias",
                              "vtop", "ptov", "search"})


class _Refused(Command):
    """Stands in for a command that --minimal leaves out."""

    targets = ANY_TARGET

    def __init__(self, real: Command) -> None:
        self.name = real.name
        self.aliases = real.aliases
        self.summary = real.summary
        self.group = real.group

    def run(self, ctx: Context, args: list[str]) -> Result:
        raise CommandError(f"not available in --minimal mode, which keeps only "
                           f"{', '.join(sorted(MINIMAL_COMMANDS))}")


class MinimalRegistry(Registry):
    """The registry of ``--minimal``: every other command answers with one line saying
    why it is not there."""

    def get(self, word: str) -> Command | None:
        cmd = super().get(word)
        if cmd is None or cmd.name in MINIMAL_COMMANDS:
            return cmd
        return _Refused(cmd)
