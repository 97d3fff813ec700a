"""What bench/scale.py asks of a dump before timing commands on it (run with xcrash on
the path): the addresses the list/tree/net commands need and the sizes of the dump.

    python bench/scale_facts.py VMCORE VMLINUX     # prints one JSON object
"""
from __future__ import annotations

import json
import sys

import xcrash
from xcrash.targets.linux.taskinfo import task_entries


def facts(vmcore: str, vmlinux: str) -> dict[str, object]:
    session = xcrash.open(vmcore, vmlinux)
    t = session.current
    entries = task_entries(t)
    init = t.object("init_task")
    # the tmpfs of the file tree: its superblock's list of inodes (the longest list)
    sb_inodes = None
    for line in session.run("mount").splitlines()[1:]:
        words = line.split()
        if len(words) >= 5 and words[4] == "/scratch":
            sb = int(words[1], 16)
            sb_inodes = sb + t.offsetof("struct super_block", "s_inodes")
    # CPU 0's monotonic hrtimers: an rbtree with a node per sleeping task
    hrtimers = t.per_cpu("hrtimer_bases", 0).clock_base[0].active.rb_root.at_
    servers = [e.pid for e in entries if e.comm == "xc-unixserver"]
    dump = session.dump
    present = dump.present_runs() if hasattr(dump, "present_runs") else []
    return {
        "tasks": len(entries),
        "processes": len({e.tgid for e in entries}),
        "task_list": init.tasks.at_,
        "sb_inodes": sb_inodes,
        "hrtimers": hrtimers,
        "hrtimer_node": t.offsetof("struct hrtimer", "node.node"),
        "pid_xarray": t.object("init_pid_ns").idr.idr_rt.at_,
        "socket_holder": servers[0] if servers else None,
        "dumped_bytes": 4096 * sum(b - a for a, b in present),
        "release": t.summary().get("release"),
    }


if __name__ == "__main__":
    print(json.dumps(facts(sys.argv[1], sys.argv[2])))
