"""xcrash's answers against what the sample machines said themselves, not against crash.

Where each fact comes from (sample-dumps/factory.py): ``ground-truth.txt`` holds the lines the
machines printed on their serial consoles before the crash: busybox ``ps`` (``XCRASH-GT ps``),
``xl list``, ``xl vcpu-list`` and ``xl info`` in dom0, each domU's console (its kernel log and its
own ``ps``), and every ``(XEN)`` line of the hypervisor.  ``dmesg.txt`` is the kernel log as
makedumpfile (not crash) read it from the dump.  MANIFEST.json's ``panic_string`` (from
dmesg.txt or Xen's console), ``processes_started``, ``memory_mib`` (``xl list``) and
``xl_vcpu_list`` are parsed from those.  The snapshots were taken seconds before the crash, so
only what cannot have changed since is asserted (the listing's own ``ps | sed`` pipeline and a
domU loop's short ``sleep`` had ended).  Last, the domUs' only crash output: the ``crash
--minimal`` sessions (``crash-ref/*/guestN-minimal``, ``dom0-minimal`` on Debian's hypervisor,
which crash cannot open fully).
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conftest import SAMPLES, open_sample, run, sample_manifest

LINUX = ["linux-sysrq", "linux-nmi"]
XEN = ["xen-own", "xen-debian"]

#: busybox ps's STAT letter -> crash's ST column (the states the started processes were in)
PS_STATE = {"R": "RU", "S": "IN", "D": "UN", "T": "ST", "Z": "ZO", "I": "ID"}


@contextmanager
def on(session, target: str):
    """``session`` with ``target`` selected, the session's own choice restored after."""
    before = next(name for name, t in session.targets.items() if t is session.current)
    session.select(target)
    try:
        yield session
    finally:
        session.select(before)


def dump_entry(name: str) -> dict:
    return sample_manifest()["dumps"][name]


def ground_truth(name: str, prefix: str) -> list[str]:
    """The lines of sample-dumps/NAME/ground-truth.txt after ``prefix``."""
    lines = (SAMPLES / name / "ground-truth.txt").read_text().splitlines()
    return [line[len(prefix):] for line in lines if line.startswith(prefix)]


def listed_processes(name: str, prefix: str) -> list[dict]:
    """The rows of a busybox ``ps`` listing in ground-truth.txt that still ran at the crash:
    the listing's own pipeline (``ps``, the subshell feeding ``sed``, ``sed``) and the short
    ``sleep`` of a loop (respawned every few seconds) are left out."""
    rows: list[dict[str, Any]] = []
    for line in ground_truth(name, prefix):
        m = re.match(r"\s*(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*)$", line)
        if m:
            rows.append({"pid": int(m[1]), "ppid": int(m[2]), "stat": m[3], "comm": m[4],
                         "args": m[5]})
    pipeline = {r["pid"] for r in rows if r["comm"] == "ps" or "XCRASH-GT" in r["args"]}
    pipeline |= {r["ppid"] for r in rows if "XCRASH-GT" in r["args"]}
    return [r for r in rows if r["pid"] not in pipeline
            and not re.fullmatch(r"sleep \d{1,2}", r["args"])]


def same_comm(listed: str, ours: str) -> bool:
    """busybox shows /proc/PID/comm, cut to 15 characters; for a kworker the kernel appends
    "-" and its workqueue's name there (wq_worker_comm), which task->comm does not hold."""
    return ours[:15] == listed or listed.startswith(ours + "-")


def assert_listed_processes_are_in_ps(session, rows: list[dict]) -> None:
    ours = {r["pid"]: r for r in session.run("ps", records=True) if r["pid"]}
    assert rows
    for row in rows:
        task = ours.get(row["pid"])
        assert task is not None, f"{row} not in xcrash's ps"
        assert task["ppid"] == row["ppid"], (row, task)
        assert same_comm(row["comm"], task["comm"]), (row, task)
        # busybox marks a process without user memory "W": a kernel thread (a zombie says Z)
        assert task["kernel_thread"] == ("W" in row["stat"]), (row, task)


# ------------------------------------------------------------------------------ Linux

@pytest.fixture(scope="module", params=LINUX)
def linux(request):
    return request.param, open_sample(request.param)


def test_log_is_the_log_makedumpfile_read(linux) -> None:
    """Every record of ``log``: makedumpfile's timestamp (µs), caller id and text, in order;
    a continuation line of a multi-line record is indented under the first."""
    name, session = linux
    want: list[list] = []
    for line in (SAMPLES / name / "dmesg.txt").read_text().splitlines():
        m = re.match(r"\[\s*(\d+)\.(\d{6})\] \[\s*([TC]\d+)\] (.*)$", line)
        if m:
            want.append([int(m[1]) * 10**6 + int(m[2]), m[3], m[4]])
        else:
            want[-1][2] += "\n" + line.lstrip(" ")
    got = [[r["ts_nsec"] // 1000, r["caller"], r["text"]] for r in session.run("log", records=True)]
    assert got == want
    assert want[0][2] == dump_entry(name)["linux_banner"]


def test_sys_panic_is_the_logs_panic(linux) -> None:
    name, session = linux
    [record] = session.run("sys", records=True)
    assert record["panic"] == "Kernel panic - not syncing: " + dump_entry(name)["panic_string"]


def test_ps_has_every_process_the_machine_listed(linux) -> None:
    name, session = linux
    assert_listed_processes_are_in_ps(session, listed_processes(name, "XCRASH-GT ps: "))


def test_processes_started_on_purpose_are_in_their_state(linux) -> None:
    name, session = linux
    ours = {r["pid"]: r for r in session.run("ps", records=True)}
    for started in dump_entry(name)["processes_started"]:
        task = ours[started["pid"]]
        assert (task["comm"], task["state"]) == (started["comm"], PS_STATE[started["state"]])


# ------------------------------------------------------------------------------ Xen

@pytest.fixture(scope="module", params=XEN)
def xen(request):
    return request.param, open_sample(request.param)


def test_console_ring_is_what_xen_printed_on_the_serial_port(xen) -> None:
    name, session = xen
    with on(session, "xen"):
        log = run(session, "log").splitlines()
    assert log == [line for line in (SAMPLES / name / "ground-truth.txt").read_text().splitlines()
                   if line.startswith("(XEN)")]
    entry = dump_entry(name)
    assert "(XEN) " + entry["panic_string"] in log
    assert f"(XEN) Executing kexec image on cpu{entry['crashing_cpu']}" in log


def test_sys_is_xl_info(xen) -> None:
    name, session = xen
    info = {key.strip(): value.strip() for key, value in
            (line.split(":", 1) for line in ground_truth(name, "XCRASH-GT xl info: "))}
    with on(session, "xen"):
        [record] = session.run("sys", records=True)
    assert record["cpus"] == info["nr_cpus"]
    assert record["release"] == info["xen_version"]
    # xl: total_memory in MiB, rounded down; sys: MB with one decimal
    assert int(float(record["memory"].removesuffix(" MB"))) == int(info["total_memory"])


def test_domains_have_the_memory_and_vcpus_of_xl_list(xen) -> None:
    name, session = xen
    with on(session, "xen"):
        doms = {r["domain_id"]: r for r in session.run("doms", records=True)}
        targets = run(session, "target").splitlines()
    for dom in dump_entry(name)["domains"]:
        # xl list's Mem: the domain's pages in MiB, rounded down
        assert doms[dom["id"]]["tot_pages"] * 4096 >> 20 == dom["memory_mib"], dom["name"]
        assert doms[dom["id"]]["vcpus"] == dom["vcpus"], dom["name"]
        row = next(line.split() for line in targets if line[3:].startswith(f"dom{dom['id']} "))
        assert row[2:7] == ["PV", "linux", str(dom["vcpus"]), str(dom["memory_mib"]), "MiB"], row


def xl_vcpu_list(name: str) -> list[dict]:
    rows = []
    for line in dump_entry(name)["xl_vcpu_list"][1:]:
        _name, domid, vcpu, _cpu, _state, seconds = line.split()[:6]
        rows.append({"domain_id": int(domid), "vcpu_id": int(vcpu), "seconds": float(seconds)})
    return rows


def test_vcpus_are_those_of_xl_vcpu_list(xen) -> None:
    """Which pCPU each vCPU was on and its state changed before the crash; its ids did not."""
    name, session = xen
    with on(session, "xen"):
        ours = {(r["domain_id"], r["vcpu_id"]) for r in session.run("vcpus", records=True)
                if r["type"] != "I"}
    assert ours == {(r["domain_id"], r["vcpu_id"]) for r in xl_vcpu_list(name)}


def test_vcpu_running_time_is_at_least_what_xl_showed() -> None:
    """xl vcpu-list's Time(s) is the vCPU's runstate.time[RUNSTATE_running] then (printed to
    0.1 s); by the crash it can only have grown.  (xen-own: `vcpu` needs Xen's DWARF.)"""
    session = open_sample("xen-own")
    with on(session, "xen"):
        for row in xl_vcpu_list("xen-own"):
            text = run(session, f"vcpu -i {row['domain_id']} {row['vcpu_id']}")
            m = re.search(r"^  runstate = \{\n(?:    .*\n)*?    time = \{(\d+), ", text, re.MULTILINE)
            assert m, text
            assert int(m[1]) / 1e9 >= row["seconds"] - 0.05, row


@pytest.mark.parametrize("domain", [0, 1, 2])
def test_guest_ps_has_every_process_the_guest_listed(xen, domain: int) -> None:
    name, session = xen
    prefix = "XCRASH-GT dom0 ps: " if domain == 0 else f"XCRASH-GT console guest{domain}: "
    with on(session, f"dom{domain}"):
        assert_listed_processes_are_in_ps(session, listed_processes(name, prefix))


@pytest.mark.parametrize("domain", [1, 2])
def test_domu_log_has_every_line_its_console_printed(xen, domain: int) -> None:
    """The domU's kernel messages on its console (hvc0, loglevel 7), each a line of `log`,
    in the same order."""
    name, session = xen
    console = [line for line in ground_truth(name, f"XCRASH-GT console guest{domain}: ")
               if re.match(r"\[\s*\d+\.\d{6}\] ", line)]
    with on(session, f"dom{domain}"):
        log = run(session, "log").splitlines()
    assert console
    assert all(line in log for line in console), [c for c in console if c not in log][:5]
    at = [log.index(line) for line in console]
    assert at == sorted(at)


# ------------------------------------------------------------------- crash --minimal

#: what factory.py's refs stage runs in each --minimal session, by reference file name
MINIMAL_COMMANDS = {"01-log.txt": "log", "02-sym-linux-banner.txt": "sym linux_banner",
                    "03-rd-a-linux-banner.txt": "rd -a linux_banner"}
#: crash's session directory -> the xcrash target it opened
MINIMAL_SESSIONS = {"dom0-minimal": "dom0", "guest1-minimal": "dom1", "guest2-minimal": "dom2"}


def minimal_refs() -> list:
    if not (SAMPLES / "MANIFEST.json").exists():
        return []
    man = sample_manifest()
    params = []
    for name in XEN:
        for path in sorted((SAMPLES / man["dumps"][name]["crash_ref"]).glob("*/*-minimal/0[1-9]-*.txt")):
            params.append(pytest.param(name, path, id=str(path.relative_to(SAMPLES))))
    return params


@pytest.mark.parametrize("name,path", minimal_refs())
def test_crash_minimal_sessions_of_the_guests(name: str, path: Path) -> None:
    session = open_sample(name)
    with on(session, MINIMAL_SESSIONS[path.parent.name]):
        assert run(session, MINIMAL_COMMANDS[path.name]) == path.read_text().rstrip("\n")
