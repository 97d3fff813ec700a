"""files, mount, net, dev, irq, timer, sig and waitq against crash 8.0.6 on the sample dumps.

`foreach files` of linux-sysrq is checked with the other crash references
(test_sample_dumps_targets); here: a Xen PV dom0 (sockets, pipes, /dev, /proc and
xenfs mounts), one task, the current task, kernel threads and bad arguments.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import xcrash
from xcrash.errors import CommandError

SAMPLES = Path(__file__).resolve().parents[1] / "sample-dumps"
MANIFEST = SAMPLES / "MANIFEST.json"
MAN = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
pytestmark = pytest.mark.skipif(not MAN, reason="sample-dumps/MANIFEST.json is not here")


@pytest.fixture(scope="module")
def sysrq():
    entry = MAN["dumps"]["linux-sysrq"]
    return xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                       str(SAMPLES / entry["kernel"]["vmlinux"]))


def sysrq_ref_blocks() -> dict[int, str]:
    """crash's `foreach files` of linux-sysrq, one block per PID (idle tasks: the first)."""
    entry = MAN["dumps"]["linux-sysrq"]
    text = (SAMPLES / entry["crash_ref"] / "vmcore.kdump" / "10-foreach-files.txt").read_text()
    blocks: dict[int, str] = {}
    for block in text.strip("\n").split("\n\n"):
        pid = int(block.split()[1])
        blocks.setdefault(pid, block)
    return blocks


def test_xen_dom0_foreach_files_equals_crash() -> None:
    entry = MAN["dumps"]["xen-own"]
    vmlinuxes = [str(SAMPLES / e["path"]) for n, e in sorted(MAN["symbols"].items())
                 if n.startswith("vmlinux")]
    session = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                          str(SAMPLES / entry["xen"]["xen_syms"]), *vmlinuxes)
    session.select("dom0")
    want = (SAMPLES / entry["crash_ref"] / "trixie" / "dom0" / "06-foreach-files.txt").read_text()
    assert "SOCK" in want and "FIFO" in want
    assert session.run("foreach files").strip("\n") == want.strip("\n")


@pytest.mark.parametrize("pid", [1, 2, 54])
def test_one_task_equals_crashs_block(sysrq, pid: int) -> None:
    assert sysrq.run(f"files {pid}").strip("\n") == sysrq_ref_blocks()[pid]


def test_without_argument_the_context_task(sysrq) -> None:
    text = sysrq.run("files")
    assert text.startswith("PID: ") and "ROOT: /    CWD: /" in text


def test_records_name_each_descriptor(sysrq) -> None:
    [record] = sysrq.run("files 1", records=True)
    assert [(f["fd"], f["type"], f["path"]) for f in record["files"]] == [
        (0, "CHR", "/dev/console"), (1, "CHR", "/dev/console"), (2, "CHR", "/dev/console"),
        (10, "REG", "/init")]


def test_unknown_task_is_an_error(sysrq) -> None:
    with pytest.raises(CommandError, match="invalid task or pid value: 99999"):
        sysrq.run("files 99999")


def test_xen_dom0_mount_equals_crash() -> None:
    """dom0's mounts, xenfs on /proc/xen among them."""
    entry = MAN["dumps"]["xen-own"]
    vmlinuxes = [str(SAMPLES / e["path"]) for n, e in sorted(MAN["symbols"].items())
                 if n.startswith("vmlinux")]
    session = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                          str(SAMPLES / entry["xen"]["xen_syms"]), *vmlinuxes)
    session.select("dom0")
    want = (SAMPLES / entry["crash_ref"] / "trixie" / "dom0" / "08-mount.txt").read_text()
    assert "/proc/xen" in want
    assert session.run("mount").strip("\n") == want.strip("\n")
    assert session.run("mount -n 1").strip("\n") == want.strip("\n")


def test_mount_records(sysrq) -> None:
    records = sysrq.run("mount", records=True)
    assert [(r["fstype"], r["dirname"]) for r in records][:2] == [("rootfs", "/"), ("proc", "/proc")]


def test_xen_dom0_net_equals_crash() -> None:
    entry = MAN["dumps"]["xen-own"]
    vmlinuxes = [str(SAMPLES / e["path"]) for n, e in sorted(MAN["symbols"].items())
                 if n.startswith("vmlinux")]
    session = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                          str(SAMPLES / entry["xen"]["xen_syms"]), *vmlinuxes)
    session.select("dom0")
    want = (SAMPLES / entry["crash_ref"] / "trixie" / "dom0" / "09-net.txt").read_text()
    assert session.run("net").strip("\n") == want.strip("\n")
    assert [d["name"] for d in session.run("net", records=True)] == ["lo"]


def test_xen_dom0_dev_equals_crash() -> None:
    """dom0's device majors: hvc (the Xen console) and xvd (blkfront) among them."""
    entry = MAN["dumps"]["xen-own"]
    vmlinuxes = [str(SAMPLES / e["path"]) for n, e in sorted(MAN["symbols"].items())
                 if n.startswith("vmlinux")]
    session = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                          str(SAMPLES / entry["xen"]["xen_syms"]), *vmlinuxes)
    session.select("dom0")
    want = (SAMPLES / entry["crash_ref"] / "trixie" / "dom0" / "10-dev.txt").read_text()
    assert " hvc " in want and " xvd " in want
    assert session.run("dev").strip("\n") == want.strip("\n")


def test_xen_dom0_irq_equals_crash() -> None:
    """dom0's IRQs: the Xen event channels (xen-pirq, evtchn) from the radix tree."""
    entry = MAN["dumps"]["xen-own"]
    vmlinuxes = [str(SAMPLES / e["path"]) for n, e in sorted(MAN["symbols"].items())
                 if n.startswith("vmlinux")]
    session = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                          str(SAMPLES / entry["xen"]["xen_syms"]), *vmlinuxes)
    session.select("dom0")
    want = (SAMPLES / entry["crash_ref"] / "trixie" / "dom0" / "11-irq-u.txt").read_text()
    assert session.run("irq -u").strip("\n") == want.strip("\n")


def test_irq_numbers_and_unknown_ones(sysrq) -> None:
    lines = sysrq.run("irq 4 24").splitlines()
    assert lines[1].startswith("  4 ") and '"ttyS0"' in lines[1]
    assert lines[2].startswith(" 24 ") and '"virtio0-config"' in lines[2]
    with pytest.raises(CommandError, match="invalid IRQ value: 100000"):
        sysrq.run("irq 100000")


def test_xen_dom0_timer_equals_crash() -> None:
    entry = MAN["dumps"]["xen-own"]
    vmlinuxes = [str(SAMPLES / e["path"]) for n, e in sorted(MAN["symbols"].items())
                 if n.startswith("vmlinux")]
    session = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                          str(SAMPLES / entry["xen"]["xen_syms"]), *vmlinuxes)
    session.select("dom0")
    want = (SAMPLES / entry["crash_ref"] / "trixie" / "dom0" / "12-timer.txt").read_text()
    assert session.run("timer").strip("\n") == want.strip("\n")


def test_xen_dom0_hrtimers_equal_crash() -> None:
    entry = MAN["dumps"]["xen-own"]
    vmlinuxes = [str(SAMPLES / e["path"]) for n, e in sorted(MAN["symbols"].items())
                 if n.startswith("vmlinux")]
    session = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                          str(SAMPLES / entry["xen"]["xen_syms"]), *vmlinuxes)
    session.select("dom0")
    want = (SAMPLES / entry["crash_ref"] / "trixie" / "dom0" / "14-timer-r.txt").read_text()
    assert "<tick_sched_timer>" in want
    assert session.run("timer -r").strip("\n") == want.strip("\n")


def test_timer_records_are_sorted_by_expiry(sysrq) -> None:
    for base in sysrq.run("timer", records=True):
        expires = [t["expires"] for t in base["timers"]]
        assert expires == sorted(expires)
        assert base["base"] in ("BASE_STD", "BASE_DEF")
    for cpu in sysrq.run("timer -r", records=True):
        for clock in cpu["clocks"]:
            expires = [t["expires"] for t in clock["timers"]]
            assert expires == sorted(expires)


def test_xen_dom0_sig_equals_crash() -> None:
    """crash's context task in dom0 is swapper/0 (xcrash starts on the task that ran
    `xl debug-keys C`): ask for crash's task by address."""
    entry = MAN["dumps"]["xen-own"]
    vmlinuxes = [str(SAMPLES / e["path"]) for n, e in sorted(MAN["symbols"].items())
                 if n.startswith("vmlinux")]
    session = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                          str(SAMPLES / entry["xen"]["xen_syms"]), *vmlinuxes)
    session.select("dom0")
    want = (SAMPLES / entry["crash_ref"] / "trixie" / "dom0" / "15-sig.txt").read_text()
    task = want.split("TASK: ")[1].split()[0]
    assert session.run(f"sig {task}").strip("\n") == want.strip("\n")


def test_foreach_sig_records_name_the_handlers(sysrq) -> None:
    records = sysrq.run("sig 1", records=True)
    actions = {a["signal"]: a for a in records[0]["actions"]}
    assert len(actions) == 64 and actions[3]["handler"] == 1          # SIGQUIT ignored
    assert actions[2]["handler"] > 1 and actions[2]["flags"] & 0x04000000  # SIGINT, SA_RESTORER


def waitq_blocks() -> list[tuple[str, str]]:
    import re
    text = (Path(__file__).parent / "crash-ref" / "linux-sysrq" / "waitq.txt").read_text()
    return [(cmd, body.strip("\n"))
            for cmd, body in re.findall(r"^crash> (.*)\n((?:(?!crash> ).*\n?)*)", text, re.M)]


@pytest.mark.parametrize("index", range(len(waitq_blocks())))
def test_waitq_equals_crash(sysrq, index: int) -> None:
    """The pipe reader sleeps on rd_wait (its entry's private points into its stack)."""
    command, want = waitq_blocks()[index]
    assert sysrq.run(command).strip("\n") == want


def test_ps_r_equals_crash(sysrq) -> None:
    text = (Path(__file__).parent / "crash-ref" / "linux-sysrq" / "ps-r.txt").read_text()
    command, want = text.split("crash> ", 1)[1].split("\n", 1)
    assert sysrq.run(command).strip("\n") == want.strip("\n")
    [init, _] = sysrq.run(command, records=True)
    assert init["rlimits"]["NOFILE"] == {"current": 1024, "maximum": 4096}


def test_mach_equals_crash_up_to_the_stacks_crash_cannot_name(sysrq) -> None:
    """crash 8.0.6 shows the MCE and VC stacks as "(unknown)" of size 0 at their tops;
    xcrash names them, with their base and size."""
    text = (Path(__file__).parent / "crash-ref" / "linux-sysrq" / "mach.txt").read_text()
    want = text.split("crash> mach\n", 1)[1].splitlines()
    ours = sysrq.run("mach").splitlines()
    known = want.index("  (unknown) STACK SIZE: 0")
    assert ours[:known] == want[:known]
    mce_top = int(want[known + 2].split(": ")[1], 16)
    assert ours[known:known + 3] == ["        MCE STACK SIZE: 8192", "            MCE STACKS:",
                                     f"                 CPU 0: {mce_top - 8192:016x}"]


def test_xen_dom0_mach_says_xen_and_equals_crash_up_to_the_unnamed_stacks() -> None:
    entry = MAN["dumps"]["xen-own"]
    vmlinuxes = [str(SAMPLES / e["path"]) for n, e in sorted(MAN["symbols"].items())
                 if n.startswith("vmlinux")]
    session = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                          str(SAMPLES / entry["xen"]["xen_syms"]), *vmlinuxes)
    session.select("dom0")
    text = (Path(__file__).parent / "crash-ref" / "xen-own" / "dom0-mach.txt").read_text()
    want = text.split("crash> mach\n", 1)[1].splitlines()
    ours = session.run("mach").splitlines()
    known = want.index("  (unknown) STACK SIZE: 0")
    assert "            HYPERVISOR: Xen" in want
    assert ours[:known] == want[:known]


def test_xen_dom0_sockets_equal_crash() -> None:
    """xenstored, xenconsoled and xl talk over UNIX sockets."""
    entry = MAN["dumps"]["xen-own"]
    vmlinuxes = [str(SAMPLES / e["path"]) for n, e in sorted(MAN["symbols"].items())
                 if n.startswith("vmlinux")]
    session = xcrash.open(str(SAMPLES / entry["files"][0]["path"]),
                          str(SAMPLES / entry["xen"]["xen_syms"]), *vmlinuxes)
    session.select("dom0")
    want = (SAMPLES / entry["crash_ref"] / "trixie" / "dom0" / "17-foreach-net-s.txt").read_text()
    assert "UNIX:STREAM" in want
    assert session.run("foreach net -s").strip("\n") == want.strip("\n")
