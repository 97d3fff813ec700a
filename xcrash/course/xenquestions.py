"""Questions on a Xen host dump: the hypervisor's crash and the guests seen from the host
(see ``questions.py``)."""
from __future__ import annotations

import re
from typing import Any

from ..errors import XcrashError
from ..targets.xen.incident import XenIncident
from .questions import Question, _q


# -- Xen ------------------------------------------------------------------------------------
def xen_cpu(inc: XenIncident) -> Question | None:
    if inc.crashing_cpu is None:
        return None
    return _q("xen-cpu", "Which physical CPU crashed the hypervisor?", f"pCPU {inc.crashing_cpu}",
              "bt", ["On the xen target, `bt` walks the crashing pCPU's stack (`pcpus` lists "
                     "them; `vcpus` marks the vCPU it ran with '*').",
                     "Read `PCPU:` in the first line of `bt` on target xen."],
              [str(inc.crashing_cpu), f"pcpu {inc.crashing_cpu}", f"cpu {inc.crashing_cpu}"],
              "text", "xen")


def xen_reason(inc: XenIncident) -> Question | None:
    if not inc.reason:
        return None
    return _q("xen-reason", "Why did Xen take the crash dump?  (Its console says.)", inc.reason,
              "log | tail", ["On the xen target `log` is the hypervisor's console ring "
                             "(conring), what `xl dmesg` shows.",
                             "Read the last lines of `log` on target xen."],
              [inc.reason], "phrase", "xen")


def xen_trigger(inc: XenIncident) -> Question | None:
    names = [n for n in inc.functions if n != "?"]
    if "kexec_crash" not in names or names.index("kexec_crash") + 1 >= len(names):
        return None
    who = names[names.index("kexec_crash") + 1]
    return _q("xen-trigger", "Which function called kexec_crash on that pCPU?", who, "bt",
              ["`bt` on target xen walks the crashing pCPU's stack with Xen's DWARF CFI, "
               "frame pointers or a scan (it says which).",
               "In `bt`, the frame after kexec_crash."], [who], "function", "xen")


def xen_domain(inc: XenIncident) -> Question | None:
    if inc.domain_id is None:
        return None
    return _q("xen-domain", "Which domain's vCPU was running on the crashing pCPU?  Its domain "
              "id.", f"domain {inc.domain_id}, vCPU {inc.vcpu_id}", "vcpus",
              ["`vcpus` (target xen) lists every vCPU: '>' marks those the pCPUs ran, '*' the "
               "crashing pCPU's; DOMID is its domain.",
               "The DOMID column of the `vcpus` row marked `>*`."],
              [str(inc.domain_id), f"dom{inc.domain_id}", f"domain {inc.domain_id}"],
              "text", "xen", evidence=[">*"])


def guest_task_on_vcpu(inc: XenIncident, session: Any) -> Question | None:
    if inc.domain_id is None or inc.vcpu_id is None:
        return None
    name = f"dom{inc.domain_id}"
    try:
        session.select(name)
        rows = [r for r in session.run("ps -A", records=True) if r["cpu"] == inc.vcpu_id]
    except XcrashError:
        return None     # the dump cannot answer it: no such question
    if len(rows) != 1:
        return None
    r = rows[0]
    return _q("guest-task", f"In {name}, which task was running on that vCPU ({inc.vcpu_id})?",
              f"{r['comm']} (PID {r['pid']})", "ps -A",
              [f"Each PV guest is a Linux target: `target {name}`, then `ps -A` shows the task "
               "active on each of its vCPUs (CPU = the vCPU id).",
               f"On target {name}, the `ps -A` row whose CPU is {inc.vcpu_id}."],
              [r["comm"], str(r["pid"])], target=name)


def guest_hypercall(inc: XenIncident, session: Any) -> Question | None:
    """The guest function that called into Xen, in the trace of the task on that vCPU."""
    if inc.domain_id is None or inc.vcpu_id is None:
        return None
    name = f"dom{inc.domain_id}"
    try:
        session.select(name)
        frames = [r for r in session.run(f"bt -c {inc.vcpu_id}", records=True)
                  if r.get("function") and "level" in r]
    except XcrashError:
        return None     # the dump cannot answer it: no such question
    names = [r["function"] for r in frames]
    if not names or not names[0].startswith("xen_hypercall"):
        return None
    who = next((n for n in names if not n.startswith(("xen_hypercall", "_hypercall"))), None)
    if who is None:
        return None
    return _q("guest-hypercall", f"In {name}, through which kernel function did that task call "
              "into Xen (the caller of the hypercall stub)?", who, f"bt -c {inc.vcpu_id}",
              [f"On target {name}, `bt -c {inc.vcpu_id}` walks the task on that vCPU, from the "
               "registers Xen saved for it.",
               "The frame after xen_hypercall_* is the kernel function that made the "
               "hypercall."], [who], "function", name)


def guest_registers(inc: XenIncident, session: Any) -> Question | None:
    """Where the registers of the crashing pCPU's guest vCPU came from."""
    if inc.domain_id is None or inc.vcpu_id is None:
        return None
    name = f"dom{inc.domain_id}"
    try:
        cpus = session.target(name).cpus
    except XcrashError:
        return None     # the dump cannot answer it: no such question
    source = next((c.source for c in cpus if c.index == inc.vcpu_id), "")
    if not source:
        return None
    words = (["cpu_info", "guest frame", "the pcpu's stack", "pcpu stack"] if "cpu_info" in source
             else ["user_regs", "arch.user_regs", "struct vcpu", "vcpu context"])
    return _q("guest-registers", f"Where were the registers of {name}'s vCPU {inc.vcpu_id} "
              "kept when Xen died: on the pCPU (its stack's guest frame, cpu_info) or in "
              "struct vcpu (arch.user_regs)?", source, f"bt -c {inc.vcpu_id} --explain",
              ["`bt --explain` says where a trace's registers came from.  A PV guest's vCPU "
               "state is Xen's: a vCPU loaded on a pCPU has its registers in that pCPU's guest "
               "frame (cpu_info, at the top of its stack), the others in struct vcpu's "
               "arch.user_regs.",
               f"`bt -c {inc.vcpu_id} --explain` on target {name} says where its registers "
               "came from."], [source] + words, "phrase", name, example=words[0])


def guest_programs(session: Any, name: str) -> Question | None:
    try:
        session.select(name)
        rows = session.run("ps -u", records=True)
    except XcrashError:
        return None     # the dump cannot answer it: no such question
    programs = sorted({r["comm"] for r in rows if r.get("comm")
                       and r["comm"] not in ("init", "sh")})
    if not programs:
        return None
    return _q(f"{name}-programs", f"Name a program (not a kernel thread, not init or sh) that "
              f"the guest {name} was running.", ", ".join(programs), "ps -u",
              [f"Each guest is a target: `target {name}` switches to it; its tasks are walked "
               "in its own memory, through its page tables in machine frames.",
               "`ps -u` lists the user-space tasks only (kernel threads are in brackets in "
               "`ps`)."], programs, target=name, example=programs[-1])


def guest_release(session: Any, name: str) -> Question | None:
    try:
        session.select(name)
        log = session.run("log")
    except XcrashError:
        return None     # the dump cannot answer it: no such question
    match = re.search(r"Linux version (\S+)", log)
    if match is None:
        return None
    return _q(f"{name}-release", f"Read the kernel log of {name}: which Linux release did it "
              "boot (the word after 'Linux version')?", match.group(1),
              "log | grep 'Linux version'",
              [f"`target {name}` then `log` shows that guest's own kernel log, read from its "
               "printk ring in its memory.",
               "The first lines of `log` say 'Linux version <release> ...'."],
              [match.group(1)], target=name)
