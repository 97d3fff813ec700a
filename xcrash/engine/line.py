"""One typed line, as crash reads it: command words, a pipe, a redirection.

Used by the interactive shell and by batch runs alike.

- ``cmd args | shell pipeline``: the first unquoted ``|`` ends the command;
  the rest goes to the system shell, fed the command's plain-text output.
- ``cmd args > file`` / ``>> file``: an unquoted ``>`` (not the ``->`` of a C
  expression, not ``>=``) sends the output to a file.
- ``!cmd`` runs a shell command; ``< file`` reads commands from a file;
  ``cmd args < file`` runs ``cmd args LINE`` for each line of the file (crash's
  input redirection; a ``<`` inside parentheses, ``<<``, ``<=`` and ``<-`` are
  left to the expression); a line starting with ``#`` is a comment.
- Words split on blanks; ``'...'`` and ``"..."`` group (quotes removed), a
  backslash escapes the next character.  Nothing else is special, so
  ``struct task_struct.comm,pid ffff...``, ``p *init_task`` or
  ``rd -64 jiffies 4`` arrive as typed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterator

from ..errors import XcrashError


class LineError(XcrashError):
    """The line cannot be read: an open quote, a ``>`` without a file name."""


@dataclass
class Line:
    #: the whole line as typed, blanks around it removed
    text: str = ""
    words: list[str] = field(default_factory=list)
    #: the arguments after the command word as typed (quotes kept), without pipe/redirection
    args: str = ""
    pipe: str | None = None
    redirect: str | None = None
    append: bool = False
    #: ``!cmd``: the shell command ("" for ``!`` alone: an interactive shell)
    shell: str | None = None
    #: ``< file``: read commands from this file
    source: str | None = None
    #: ``cmd args < file``: the file whose lines are appended to the command, one run each
    input: str | None = None
    #: with ``input``: the line to run for each of the file's lines, NUL where it goes
    template: str = ""

    @property
    def empty(self) -> bool:
        return not self.words and self.shell is None and self.source is None


def parse(text: str) -> Line:
    """Read one line; raise LineError when it cannot be read."""
    stripped = text.strip()
    if not stripped or stripped.startswith("#"):
        return Line()
    if stripped.startswith("!"):
        return Line(stripped, shell=stripped[1:].strip())
    if stripped.startswith("<"):
        words = split_words(stripped[1:])
        if len(words) != 1:
            raise LineError("< needs one file name")
        return Line(stripped, source=words[0])
    command, pipe = split_pipe(stripped)
    command, redirect, append = split_redirect(command)
    command, input_file = split_input(command)
    if input_file is not None:
        rest = (f" > {redirect}" if redirect and not append else f" >> {redirect}"
                if redirect else "") + (f" | {pipe}" if pipe is not None else "")
        if not split_words(command):
            raise LineError("no command before <")
        return Line(stripped, words=split_words(command), input=input_file,
                    template=command + " \0" + rest)
    words = split_words(command)
    if not words:
        raise LineError("no command before " + ("|" if pipe is not None else ">"))
    return Line(stripped, words=words, args=_after_first_word(command), pipe=pipe,
                redirect=redirect, append=append)


def split_pipe(text: str) -> tuple[str, str | None]:
    """(command, pipeline) at the first unquoted ``|``; pipeline None without one."""
    for i, ch in _unquoted(text):
        if ch == "|":
            pipeline = text[i + 1:].strip()
            if not pipeline:
                raise LineError("| needs a shell command after it")
            return text[:i].rstrip(), pipeline
    return text, None


def split_redirect(text: str) -> tuple[str, str | None, bool]:
    """(command, file, append) at the first unquoted ``>`` or ``>>``."""
    for i, ch in _unquoted(text):
        if ch != ">" or (i > 0 and text[i - 1] == "-") or text[i + 1:i + 2] == "=":
            continue
        append = text[i + 1:i + 2] == ">"
        words = split_words(text[i + (2 if append else 1):])
        if len(words) != 1:
            raise LineError((">>" if append else ">") + " needs one file name")
        return text[:i].rstrip(), words[0], append
    return text, None, False


def split_input(text: str) -> tuple[str, str | None]:
    """(command, file) at an unquoted ``<`` outside parentheses followed by one file
    name (crash's ``cmd args < file``); file None without one."""
    depth = 0
    for i, ch in _unquoted(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "<" and depth == 0 and i > 0:
            if text[i - 1] in "<" or text[i + 1:i + 2] in ("<", "=", "-"):
                continue
            words = split_words(text[i + 1:])
            if len(words) == 1:
                return text[:i].rstrip(), words[0]
    return text, None


def split_words(text: str) -> list[str]:
    """Blank-separated words; quotes group and are removed, ``\\`` escapes."""
    words: list[str] = []
    word: list[str] = []
    in_word = False
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        i += 1
        if quote == "'":
            if ch == "'":
                quote = ""
            else:
                word.append(ch)
        elif quote == '"':
            if ch == '"':
                quote = ""
            elif ch == "\\" and text[i:i + 1] in ('"', "\\"):
                word.append(text[i])
                i += 1
            else:
                word.append(ch)
        elif ch in " \t\n":
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
        else:
            in_word = True
            if ch in "'\"":
                quote = ch
            elif ch == "\\" and i < len(text):
                word.append(text[i])
                i += 1
            else:
                word.append(ch)
    if quote:
        raise LineError(f"unterminated {quote} quote")
    if in_word:
        words.append("".join(word))
    return words


def replace_first_word(text: str, replacement: str) -> str:
    """``text`` with its first word replaced (how an alias expands)."""
    stripped = text.lstrip()
    rest = _after_first_word(stripped)
    return f"{replacement} {rest}" if rest else replacement


def first_word_end(text: str) -> int:
    """Index just after the first word of ``text`` (which starts with it)."""
    for i, ch in _unquoted(text):
        if ch in " \t":
            return i
    return len(text)


def _after_first_word(text: str) -> str:
    text = text.lstrip()
    return text[first_word_end(text):].strip()


def _unquoted(text: str) -> Iterator[tuple[int, str]]:
    """(index, character) of each character outside quotes and not escaped."""
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"':
                i += 1
        elif ch in "'\"":
            quote = ch
        elif ch == "\\":
            i += 1
        else:
            yield i, ch
        i += 1
