"""p, struct, whatis, eval, sym, dis, list and tree on linux-sysrq: their records (the
value tree JSON gets), crash's cpuspec and eval layout, and one-line errors for
whatever is typed (issue 19: `p runqueues:5` was an IndexError)."""
from __future__ import annotations

import pytest

from xcrash.errors import CommandError

#: inputs that must fail with a one-line error of the command, never an internal error
BAD_INPUTS = [
    "p runqueues:5", "p runqueues:x", "p runqueues:-1", "p runqueues:99999999999999999999",
    "p 08", "p 1 << -1", "p 0x1234567890abcdef1234", "p (long)init_task",
    "p ((struct task_struct *)init_task)->pid", "p init_task.", "p init_task.5",
    "p 1 ? 2 : 3", "p *(void *)0", "p sizeof(struct nosuch)", "eval 1/0", "eval (",
    "eval init_task.comm", "dis panic -1", "dis -r -f panic", "dis 0", "struct -x -d pid",
    "struct task_struct.nosuch init_task", "whatis (", "sym -1", "list -H 0", "list (",
    "tree -t heap 0", "tree -t xarray -o 8 irq_desc_tree", "tree 0",
]


@pytest.mark.parametrize("line", BAD_INPUTS)
def test_bad_input_is_a_one_line_error(sysrq, line: str) -> None:
    with pytest.raises(CommandError) as info:
        sysrq.run(line)
    message = str(info.value)
    assert "internal error" not in message and "\n" not in message.strip(), message


def test_p_is_a_value_tree_in_json(sysrq) -> None:
    [record] = sysrq.run("p init_task.se.load", records=True)
    assert record["expression"] == "init_task.se.load" and record["label"] is None
    tree = record["value"]
    assert tree["kind"] == "struct" and tree["type"] == "struct load_weight"
    assert [m["name"] for m in tree["members"]] == ["weight", "inv_weight"]
    assert all(m["kind"] == "int" and isinstance(m["value"], int) for m in tree["members"])
    [banner] = sysrq.run("p linux_banner", records=True)
    assert banner["label"] == "linux_banner" and banner["value"]["kind"] == "array"
    [pointer] = sysrq.run("p init_task.parent", records=True)
    assert pointer["value"]["kind"] == "pointer" and pointer["value"]["symbol"] == "init_task"


def test_p_takes_crashs_cpuspec(sysrq) -> None:
    both = sysrq.run("p irq_stat:a")
    assert both.count("per_cpu(irq_stat, ") == 2
    assert sysrq.run("p irq_stat:0,1").count("per_cpu(irq_stat, ") == 2
    assert "per_cpu(irq_stat, 1) = $" in sysrq.run("p irq_stat:1")
    # `var:` is the copy of the context task's CPU
    cpu = int(sysrq.run("set").split("CPU: ")[1].split()[0])
    assert f"per_cpu(irq_stat, {cpu}) = $" in sysrq.run("p irq_stat:")
    out = sysrq.run("p jiffies:1")
    assert out.startswith("jiffies = $") and "WARNING: jiffies is not percpu; cpuspec ignored" in out


def test_eval_as_crash_prints_it(sysrq) -> None:
    """crash's help example of eval -b, byte for byte (trailing blanks included)."""
    assert sysrq.run("eval -b 41dc065") == (
        "hexadecimal: 41dc065  \n"
        "    decimal: 69058661  \n"
        "      octal: 407340145\n"
        "     binary: 0000000000000000000000000000000000000100000111011100000001100101\n"
        "   bits set: 26 20 19 18 16 15 14 6 5 2 0 \n")
    assert sysrq.run("eval 128m").startswith("hexadecimal: 8000000  (128MB)\n")
    assert sysrq.run("eval (1 << 27)") == sysrq.run("eval 128 * 1m")
    minus = sysrq.run("eval -1")
    assert "    decimal: 18446744073709551615  (-1)\n" in minus
    # a symbol stands for its address
    address = sysrq.run("sym jiffies").split()[0]
    assert sysrq.run("eval jiffies").startswith(f"hexadecimal: {address}  \n")


def test_whatis_gives_records(sysrq) -> None:
    [pid] = sysrq.run("whatis struct pid", records=True)
    assert pid["name"] == "struct pid" and pid["size"] == 96
    assert [m["name"] for m in pid["members"]][:2] == ["count", "level"]
    assert sysrq.run("whatis panic") == "void panic(const char *, ...);\n"


def test_struct_negative_count_ends_at_the_address(sysrq) -> None:
    """crash: a negative count shows the structures leading up to the one there."""
    [here] = sysrq.run("struct list_head (&init_task.tasks)", records=True)
    before = sysrq.run("struct list_head (&init_task.tasks) -2", records=True)
    assert [r["address"] for r in before] == [here["address"] - 16, here["address"]]
    assert before[1] == here and here["type"] == "struct list_head"
    assert [m["name"] for m in here["members"]] == ["next", "prev"]


def test_dis_records(sysrq) -> None:
    insns = sysrq.run("dis -l sysrq_handle_crash", records=True)
    assert [i["symbol"] for i in insns] == ["sysrq_handle_crash", "sysrq_handle_crash+7"]
    assert insns[1]["text"].startswith("call") and insns[1]["text"].endswith("<panic>")
    assert (insns[0]["file"], insns[0]["line"]) == ("sysrq.c", 155)


def test_a_broken_list_fails_after_its_entries(sysrq) -> None:
    """crash: the entries, the one whose next pointer cannot be read last, then the error
    (jiffies' value is no kernel address)."""
    import io

    from xcrash.engine.runner import Runner
    out, err = io.StringIO(), io.StringIO()
    assert not Runner(sysrq, out=out, err=err).execute("list -o 0 jiffies")
    assert out.getvalue() == "ffffffffa6207980\nfffee6fd\n"
    assert err.getvalue() == ('xcrash: list: invalid kernel virtual address: fffee6fd  '
                              'type: "list entry"\n')
