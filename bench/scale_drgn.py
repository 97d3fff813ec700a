"""drgn 0.3.0's side of bench/scale.py, run by drgn (``prog`` is drgn's global):

    drgn -q --main-symbols -c VMCORE -s VMLINUX bench/scale_drgn.py %crash ps
    drgn ... bench/scale_drgn.py foreach_bt | foreach_files | net_s PID

``%crash LINE`` runs drgn's own crash command (drgn.commands._crash); the others are
what drgn's crash commands lack or stop at (its `foreach` ends at the first task whose
stack or files cannot be read; its `net` has no -s): the same walk with the drgn
helpers, a task that cannot be read said and passed.
"""
import sys

from drgn import FaultError
from drgn.helpers.linux.fs import d_path, for_each_file
from drgn.helpers.linux.net import SOCKET_I
from drgn.helpers.linux.pid import find_task, for_each_task

mode = sys.argv[1] if len(sys.argv) > 1 else ""
out = sys.stdout
if mode.startswith("%crash"):
    from drgn.commands._crash.common import CRASH_COMMAND_NAMESPACE
    CRASH_COMMAND_NAMESPACE.run(prog, " ".join(sys.argv[1:])[len("%crash "):],  # noqa: F821
                                globals=globals())
elif mode == "foreach_bt":
    for task in sorted(for_each_task(prog), key=lambda t: t.pid.value_()):  # noqa: F821
        out.write(f"PID: {task.pid.value_()}  TASK: {task.value_():x}  COMMAND: "
                  f"\"{task.comm.string_().decode(errors='replace')}\"\n")
        try:
            out.write(f"{prog.stack_trace(task)}\n\n")  # noqa: F821
        except (FaultError, ValueError) as err:
            out.write(f"bt: {err}\n\n")
elif mode == "foreach_files":
    for task in sorted(for_each_task(prog), key=lambda t: t.pid.value_()):  # noqa: F821
        out.write(f"PID: {task.pid.value_()}  TASK: {task.value_():x}  COMMAND: "
                  f"\"{task.comm.string_().decode(errors='replace')}\"\n")
        try:
            for fd, file in for_each_file(task):
                try:
                    path = d_path(file.f_path).decode(errors="replace")
                except (FaultError, ValueError) as err:
                    path = f"? ({err})"
                out.write(f"{fd:3d} {file.value_():x} {file.f_path.dentry.value_():x} "
                          f"{file.f_inode.value_():x} {path}\n")
        except (FaultError, ValueError) as err:
            out.write(f"files: {err}\n")
        out.write("\n")
elif mode == "net_s":
    task = find_task(prog, int(sys.argv[2]))  # noqa: F821
    out.write(f"PID: {task.pid.value_()}  TASK: {task.value_():x}  COMMAND: "
              f"\"{task.comm.string_().decode(errors='replace')}\"\n")
    out.write("FD      SOCKET            SOCK       FAMILY:TYPE\n")
    for fd, file in for_each_file(task):
        try:
            inode = file.f_inode
            if (inode.i_mode.value_() & 0o170000) != 0o140000:
                continue
            socket = SOCKET_I(inode)
            sk = socket.sk
            out.write(f"{fd:3d} {socket.value_():16x} {sk.value_():16x} "
                      f"{sk.__sk_common.skc_family.value_()}:{socket.type.value_()}\n")
        except FaultError as err:
            out.write(f"{fd:3d} ? ({err})\n")
else:
    sys.exit(f"scale_drgn.py: unknown mode {mode!r}")
