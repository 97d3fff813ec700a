"""Run typed lines: the part the interactive shell and batch runs share.

A line is parsed (``line.py``), its first word looked up as a command, then
as an alias, then — as crash does — as a symbol (``p word``) or a type name
(``struct word``, ``union word``, ``whatis word``).  The result is rendered
(a rich table on the interactive terminal, crash's plain text otherwise, or
JSON) and written to the terminal, a pipeline or a file.  Every failure
becomes one line on stderr, ``xcrash: <command>: <message>``.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import time
import traceback
from typing import Any, Protocol, TextIO
from collections.abc import Iterator

from .. import caveats, render, trace
from ..highlight import kind_of as highlight_kind
from ..commands.base import Command, Context, Quit
from ..results import Result
from ..commands.registry import Registry
from ..commands.settings import default_settings
from ..errors import FileError, XcrashError
from . import output
from .explain import explain, teaching_lines
from .interrupt import Interrupt
from .line import Line, LineError, parse, replace_first_word

_MAYBE_NAME = re.compile(r"[A-Za-z_][\w.$]*")

#: what crash runs for a first word that is no command but a name
FALLBACKS = {"symbol": "p", "struct": "struct", "union": "union", "typedef": "whatis"}


class Runner:
    """Runs lines against a session.  ``interactive`` allows rich tables and
    the pager (only when ``out`` is a terminal)."""

    def __init__(self, session: Any, registry: Registry | None = None,
                 settings: dict[str, Any] | None = None, *, interactive: bool = False,
                 out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.session = session
        self.registry = registry if registry is not None else Registry()
        self.settings = settings if settings is not None else default_settings()
        self.interactive = interactive
        self._out = out
        self._err = err
        self.interrupt = Interrupt()
        #: the lines typed so far (crash's command history: ``h``, ``r``, ``!!``, ``!N``)
        self.history: list[str] = []
        self._depth = 0

    @property
    def out(self) -> TextIO:
        return self._out if self._out is not None else sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err if self._err is not None else sys.stderr

    def error(self, where: str | None, message: str) -> None:
        self.out.flush()
        prefix = f"xcrash: {where}: " if where else "xcrash: "
        print(prefix + message, file=self.err, flush=True)

    # -- lines ------------------------------------------------------------------------
    def execute(self, text: str) -> bool:
        """Run one line; False when it failed (the error is already reported).
        Raises Quit when the line asked to leave.  A line typed at the top (not read
        from a file) may be one of crash's history requests, and is kept in the
        history."""
        if self._depth == 0:
            recalled = self._recall(text)
            if recalled is None:
                return True
            if not isinstance(recalled, str):
                return False
            text = recalled
            if text.strip():
                self.history.append(text.strip())
        self._depth += 1
        try:
            return self._execute(text)
        finally:
            self._depth -= 1

    def _recall(self, text: str) -> str | bool | None:
        """crash's history requests: ``h`` (or a line starting ``hi``) lists the lines
        typed; ``r`` or ``!!`` is the last one, ``r N``/``rN``/``!N`` line N, ``r STR``
        the last one starting with STR (each echoed after the prompt, as crash).
        Returns the line to run, None when the request was answered, False when it
        failed; any other line is returned as it is."""
        line = text.strip()
        if line == "h" or line.startswith("hi"):
            if not self.history:
                self.error(None, "no commands entered!")
                return False
            self.out.write("".join(f"[{i}] {t}\n" for i, t in enumerate(self.history, 1)))
            return None
        if line in ("r", "!!"):
            wanted = ""
        elif line[:1] == "r" and line[1:].strip().isdigit() or line.startswith("r "):
            wanted = line[1:].strip()
        elif line[:1] == "!" and line[1:].strip().isdigit():
            wanted = line[1:].strip()
        else:
            return text
        if not self.history:
            self.error(None, "no commands entered!")
            return False
        if wanted.isdigit():
            n = int(wanted)
            if n == 0:
                self.error(None, f"invalid repeat request: {line}")
                return False
            if n > len(self.history):
                self.error(None, f"command {n} not entered yet!")
                return False
            found = self.history[n - 1]
        else:
            match = [t for t in self.history if t.startswith(wanted)]
            if not match:
                self.error(None, f"invalid repeat request: {line}")
                return False
            found = match[-1]
        self.out.write(f"{self._prompt()}{found}\n")
        return found

    def _prompt(self) -> str:
        """The shell's prompt (``xcrash> ``, ``xcrash:<target>> `` with several targets)."""
        if len(getattr(self.session, "targets", ())) > 1:
            return f"xcrash:{self.session.current.name}> "
        return "xcrash> "

    def _execute(self, text: str) -> bool:
        try:
            line = self._resolve(parse(text))
        except LineError as exc:
            self.error(None, str(exc))
            return False
        if line is None:
            return False
        if line.shell is not None:
            output.run_shell(line.shell, self.out)
            return True
        if line.source is not None:
            try:
                return self.source(line.source)
            except FileError as exc:
                self.error(None, str(exc))
                return False
        if line.input is not None:
            return self._each_input_line(line)
        if line.empty:
            return True
        return self._run(line)

    def _each_input_line(self, line: Line) -> bool:
        """``cmd args < file``: the command once per line of the file, that line's
        words appended (crash's input redirection)."""
        path = os.path.expanduser(line.input or "")
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = [text.strip() for text in f.read().splitlines()]
        except OSError as exc:
            self.error(None, str(FileError(path, exc.strerror or str(exc))))
            return False
        ok = True
        for text in lines:
            if text:
                ok = self.execute(line.template.replace("\0", text)) and ok
        return ok

    def source(self, path: str) -> bool:
        """Run the lines of a file (``-i FILE``, ``< FILE``); FileError if it
        cannot be read.  True when every line succeeded."""
        path = os.path.expanduser(path)
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError as exc:
            raise FileError(path, exc.strerror or str(exc)) from None
        ok = True
        for text in lines:
            ok = self.execute(text) and ok
        return ok

    def _resolve(self, line: Line, seen: frozenset[str] = frozenset()) -> Line | None:
        """Expand aliases (each at most once, so a loop ends) and the crash-style
        fallbacks into the line to run; None (after reporting) when the first
        word means nothing."""
        if not line.words:
            return line
        word = line.words[0]
        if self.registry.get(word) is not None:
            return line
        rewritten = _gdb_spelling(line.text, word)
        if rewritten is not None:
            return self._resolve(parse(rewritten), seen)
        alias = self.registry.aliases.get(word)
        if alias is not None and word not in seen:
            return self._resolve(parse(replace_first_word(line.text, alias.text)), seen | {word})
        kind = classify(self.session.current, word)
        if kind is None:
            self.error(word, "command not found")
            return None
        command = FALLBACKS[kind]
        if self.registry.get(command) is None:
            self.error(word, f"a {kind} name, but there is no {command} command to show it")
            return None
        return parse(f"{command} {line.text}")

    # -- commands ---------------------------------------------------------------------
    def _run(self, line: Line) -> bool:
        word = line.words[0]
        cmd = self.registry.get(word)
        assert cmd is not None
        target = self.session.current
        if not cmd.works_on(target.kind):
            self.error(word, f"not available on the {target.kind} target {target.name!r}")
            return False
        args = line.words[1:]
        asked = "--explain" in args
        explaining = asked or bool(self.settings.get("explain"))
        if asked:
            args = [a for a in args if a != "--explain"]
        ctx = Context(self.session, self.settings, interrupted=self.interrupt.is_set,
                      registry=self.registry, line=line.args)
        found: list[str] = []
        try:
            with self.interrupt.armed(), caveats.collecting() as found:
                if explaining:
                    with trace.recording() as events:
                        # records may be produced lazily: show them while recording
                        result = cmd.run(ctx, args)
                        chunks = list(self._chunks(result, line, found))
                    if events or asked:     # `set explain on` stays quiet for `set` itself
                        chunks += [text + "\n" for text in explain(events, target).split("\n")]
                        chunks += [text + "\n" for text in self._teaching(cmd, ctx, args)]
                    self._write("".join(chunks), line)
                else:
                    result = cmd.run(ctx, args)
                    self._emit(result, line, found)
            return True
        except (Quit, BrokenPipeError):
            raise
        except KeyboardInterrupt:
            self._warnings(found)
            self.error(word, "interrupted")
        except FileError as exc:
            self._warnings(found)
            self.error(None, str(exc))
        except XcrashError as exc:
            self._warnings(found)
            self.error(word, _without_prefix(str(exc), word, cmd))
        except OSError as exc:
            self._warnings(found)
            self.error(word, f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc))
        except Exception as exc:
            self._internal_error(word, exc)
        return False

    def _teaching(self, cmd: Command, ctx: Context, args: list[str]) -> list[str]:
        """What the command teaches (--explain): the kernel's structures, then a program.
        An explanation that cannot be made says why; the command's answer stands."""
        try:
            teaching = cmd.teach(ctx, args)
        except XcrashError as exc:
            return ["-- what the kernel keeps --", f"(not explained: {exc})"]
        if teaching is None:
            return []
        return "\n".join(teaching_lines(self.session, ctx.target, teaching)).split("\n")

    def _internal_error(self, word: str, exc: Exception) -> None:
        if os.environ.get("XCRASH_DEBUG"):
            traceback.print_exc(file=self.err)
        self.error(word, f"internal error: {type(exc).__name__}: {exc} "
                         "(run with XCRASH_DEBUG=1 for the traceback)")

    def _warnings(self, found: list[str]) -> None:
        """Caveats of a command that failed part-way: shown before its error."""
        if found and self.settings.get("output") != "json":
            self.out.write("".join(f"WARNING: {what}\n" for what in found))

    def _chunks(self, result: Result, line: Line, found: list[str]) -> Iterator[str]:
        """The result as it is shown outside a terminal: crash's text (then one
        ``WARNING:`` line per caveat), or the JSON envelope."""
        if self.settings.get("output") == "json":
            data = render.records(result)
            yield render.to_json({"command": line.text, "target": self.session.current.name,
                                  "records": data, "warnings": list(found)})
            return
        # nothing asks for the records once shown: not kept (memory stays bounded)
        yield from render.plain_chunks(result, keep=False)
        yield from (f"WARNING: {what}\n" for what in found)

    def _write(self, text: str, line: Line) -> None:
        if line.redirect is not None:
            output.to_file(text, line.redirect, line.append)
        elif line.pipe is not None:
            output.to_pipeline(text, line.pipe, self.out)
        elif self._on_terminal():
            output.to_terminal(text, self.out, page=bool(self.settings.get("scroll")))
        else:
            self.out.write(text)

    def _emit(self, result: Result, line: Line, found: list[str]) -> None:
        json_mode = self.settings.get("output") == "json"
        if line.pipe is None and line.redirect is None and not self._on_terminal():
            # streamed as produced: written a few hundred lines at a time, or at once
            # when the lines come slowly (a tenth of a second since the last write)
            pending: list[str] = []
            last = time.monotonic()
            try:
                for chunk in self._chunks(result, line, found):
                    pending.append(chunk)
                    if len(pending) >= 256 or time.monotonic() - last > 0.1:
                        self.out.write("".join(pending))
                        pending.clear()
                        last = time.monotonic()
            finally:        # what was produced before an error or Ctrl-C is shown
                if pending:
                    self.out.write("".join(pending))
            return
        if line.pipe is not None or line.redirect is not None or json_mode:
            self._write("".join(self._chunks(result, line, found)), line)
            return
        cmd = self.registry.get(line.words[0]) if line.words else None
        text = render.render(result, "rich", color=bool(self.settings.get("color")),
                             width=shutil.get_terminal_size().columns,
                             highlight=highlight_kind(cmd.name if cmd is not None else None))
        text += "".join(f"WARNING: {what}\n" for what in found)
        output.to_terminal(text, self.out, page=bool(self.settings.get("scroll")))

    def _on_terminal(self) -> bool:
        try:
            return self.interactive and self.out.isatty()
        except (AttributeError, ValueError):
            return False    # a stream with no terminal behind it (closed, or no isatty)


class Names(Protocol):
    """What :func:`classify` asks of a target: its symbols and types by name (each raises
    a typed error for a name it does not know)."""

    def symbol(self, name: str) -> object: ...

    def type(self, name: str) -> object: ...


def classify(target: Names, word: str) -> str | None:
    """What a word that is no command names in the target: "symbol",
    "struct", "union", "typedef" or None.  A lookup the symbol layer refuses
    (no such name, no symbol file) just means "not that"."""
    if not _MAYBE_NAME.fullmatch(word):
        return None
    probes = (
        ("symbol", lambda: target.symbol(word)),
        ("struct", lambda: target.type(f"struct {word}")),
        ("union", lambda: target.type(f"union {word}")),
        ("typedef", lambda: target.type(word)),
    )
    for kind, probe in probes:
        try:
            found = probe()
        except XcrashError:
            continue            # not that kind of name: try the next
        if found is None:
            continue
        if kind != "typedef" or getattr(getattr(found, "kind", None), "value", None) == "typedef":
            return kind
    return None


_PRINT_FORMAT = re.compile(r"(p|print)/([a-z]+)")
#: gdb's print formats crash passes on, as p's options
_FORMATS = {"x": "-x", "d": "-d"}


def _gdb_spelling(text: str, word: str) -> str | None:
    """A line as crash takes it when its first word is gdb's: ``*page ADDR`` (crash's
    pointer-to command glued to the name), ``p/x EXPR`` (gdb's print format: x and d,
    the radixes p has)."""
    stripped = text.lstrip()
    if word.startswith("*") and len(word) > 1:
        return "* " + stripped[1:]
    m = _PRINT_FORMAT.fullmatch(word)
    if m is not None:
        flag = _FORMATS.get(m.group(2))
        if flag is None:
            raise LineError(f"{word}: print format /{m.group(2)} not supported "
                            "(p -x and p -d are)")
        # gdb's own print, not crash's p: no "name = " before the value
        return f"p {flag} (" + stripped[len(word):].strip() + ")"
    return None


def _without_prefix(message: str, word: str, cmd: Command) -> str:
    """Drop a leading ``name: `` the command put in its own message."""
    for name in (word, cmd.name):
        if message.startswith(name + ": "):
            return message[len(name) + 2:]
    return message
