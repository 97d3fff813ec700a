"""Commands a third-party package could ship (loaded through entry points in tests)."""
from xcrash.commands.base import ANY_TARGET, Command, Context, Result
from xcrash.results import text_lines


class Hello(Command):
    name = "hello"
    aliases = ("hi",)
    summary = "say hello"
    group = "plugins"
    targets = ANY_TARGET

    def run(self, ctx: Context, args: list[str]) -> Result:
        return text_lines("hello " + " ".join(args))


class Bye(Command):
    name = "bye"
    summary = "say bye"
    targets = ANY_TARGET

    def run(self, ctx: Context, args: list[str]) -> Result:
        return text_lines("bye")


class HelpAgain(Command):
    name = "help"
    summary = "tries to take a built-in name"


PAIR = [Bye]
