"""Reading a typed line: words, pipes, redirections, shell escapes."""
from __future__ import annotations

import shlex

import pytest
from hypothesis import given, strategies as st

from xcrash.engine.line import LineError, parse, replace_first_word, split_words


def test_crash_syntax_arrives_as_typed() -> None:
    assert parse("struct task_struct.comm,pid ffff8880010c9480").words == [
        "struct", "task_struct.comm,pid", "ffff8880010c9480"]
    assert parse("  rd -64 jiffies 4 ").words == ["rd", "-64", "jiffies", "4"]
    assert parse("p *init_task.comm").words == ["p", "*init_task.comm"]
    assert parse("p $1").words == ["p", "$1"]


def test_quotes_group_and_are_removed_and_args_keep_them() -> None:
    line = parse("""search -c "a b" 'c"d' e\\ f""")
    assert line.words == ["search", "-c", "a b", 'c"d', "e f"]
    assert line.args == """-c "a b" 'c"d' e\\ f"""
    assert split_words('"a\\"b" x"y z"') == ['a"b', "xy z"]


def test_first_unquoted_pipe_splits_off_the_pipeline() -> None:
    line = parse("ps | grep lab | wc -l")
    assert (line.words, line.pipe, line.args) == (["ps"], "grep lab | wc -l", "")
    quoted = parse("search -c 'a|b' \"c|d\" e\\|f")
    assert quoted.pipe is None and quoted.words[2:] == ["a|b", "c|d", "e|f"]


def test_redirection_to_a_file() -> None:
    line = parse("log > /tmp/log.txt")
    assert (line.words, line.redirect, line.append) == (["log"], "/tmp/log.txt", False)
    line = parse("sys>>'my file'")
    assert (line.words, line.redirect, line.append) == (["sys"], "my file", True)


def test_arrows_and_comparisons_are_not_redirections() -> None:
    assert parse("p init_task.tasks->next").redirect is None
    assert parse("p jiffies >= 4").redirect is None
    assert parse("p '>' ").words == ["p", ">"]


def test_redirect_belongs_to_the_command_only_before_the_pipe() -> None:
    line = parse("ps | grep x > out")
    assert line.redirect is None and line.pipe == "grep x > out"


def test_shell_escape_input_file_comment_and_blank() -> None:
    assert parse("!ls -l").shell == "ls -l"
    assert parse("!").shell == ""
    assert parse("< cmds.txt").source == "cmds.txt"
    assert parse("# a comment").empty
    assert parse("   ").empty


@pytest.mark.parametrize("text", ["p 'abc", 'p "abc', "ps |", "ps >", "ps > a b", "| grep x",
                                  "> out", "< a b"])
def test_lines_that_cannot_be_read(text: str) -> None:
    with pytest.raises(LineError):
        parse(text)


def test_replace_first_word_keeps_the_rest_verbatim() -> None:
    assert replace_first_word("  px jiffies | cat", "p -x") == "p -x jiffies | cat"
    assert replace_first_word("hex", "set radix 16") == "set radix 16"


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1),
                max_size=6))
def test_shell_quoted_words_come_back(words: list[str]) -> None:
    assert split_words(" ".join(shlex.quote(w) for w in words)) == words
