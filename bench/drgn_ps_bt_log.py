"""drgn script (run by `drgn -c VMCORE -s VMLINUX bench/drgn_ps_bt_log.py`; `prog` is
drgn's global): sys-like facts, a ps-like task list, every task's stack (each present CPU's idle task
after the others), the log.
The drgn side of bench/peers.py's "sys; ps; bt -a|foreach bt; log" and the drgn
reference output of bench/make-distro-dump.sh."""
import sys
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.printk import get_printk_records
from drgn.helpers.linux.cpumask import for_each_present_cpu
from drgn.helpers.linux.sched import idle_task, task_state_to_char, task_cpu
out = []
uts = prog["init_uts_ns"].name
out.append("RELEASE: " + uts.release.string_().decode())
out.append("NODENAME: " + uts.nodename.string_().decode())
out.append("JIFFIES: %d" % prog["jiffies_64"].value_())
tasks = list(for_each_task(prog))
out.append("TASKS: %d" % len(tasks))
for t in tasks:
    mm = t.mm
    out.append("%7d %7d %3d %x %s %s" % (t.pid.value_(), t.real_parent.pid.value_(), task_cpu(t),
                                          t.value_(), task_state_to_char(t),
                                          t.comm.string_().decode(errors="replace")))
for t in tasks:
    out.append("PID: %d" % t.pid.value_())
    try:
        out.append(str(prog.stack_trace(t)))
    except Exception as e:
        out.append("stack: %s" % e)
for cpu in for_each_present_cpu(prog):      # the idle tasks (pid 0) for_each_task leaves out
    out.append("IDLE CPU: %d" % cpu)
    try:
        out.append(str(prog.stack_trace(idle_task(prog, cpu))))
    except Exception as e:
        out.append("stack: %s" % e)
for r in get_printk_records(prog):
    out.append("[%5d.%06d] %s" % (r.timestamp // 10**9, r.timestamp % 10**9 // 1000,
                                  r.text.decode(errors="replace")))
sys.stdout.write("\n".join(out) + "\n")
