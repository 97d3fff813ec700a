#!/usr/bin/env python3
"""Issue 17's large dumps: stock Debian kernels with 1,000 to 10,000 tasks (not shipped, not in CI).

    python3 bench/make-scale-dumps.py list            # the dumps and their stages, done or not
    python3 bench/make-scale-dumps.py all             # every dump (resumable: stamps)
    python3 bench/make-scale-dumps.py NAME [NAME..]   # some dumps; --force redoes them
    python3 bench/make-scale-dumps.py drgn            # drgn 0.3.0 in a venv of the work dir

Each dump: an unmodified Debian cloud kernel (the stock factory's, sample-dumps/stock.py) in
QEMU (TCG, 2 vCPUs, 4 GiB), an initramfs made from the factory's (its busybox, its suite's
kexec and makedumpfile, its capture /init) plus bench/scale/init-scale and bench/scale/xc-scale.c:
20+ modules loaded, a tmpfs tree of files (dentries and inodes), tmpfs mounts, then processes
and threads until the kernel counts the asked number of tasks (sleepers, pipe readers and
writers, unix and TCP connections held by two servers, UDP, epoll, select, wait4, zombies,
vfork parents, traced and stopped tasks, flock, SysV IPC, thread groups of hundreds of threads
with resident memory, two tasks asleep in module code, a busy loop), sysrq c; the capture
kernel writes makedumpfile -c -d 31.  Every QEMU run takes /work/lab/qemu.lock (one at a time).

Work dir: $XCRASH_SCALE_DIR, default sample-dumps/work/scale of the main checkout (git-ignored).
Per dump NAME: runs/NAME/{vmcore.kdump, vmlinux -> the -dbg vmlinux, gt-*.txt (the guest's
/proc: tasks, slabinfo, modules, meminfo, mounts), serial.log, dmesg.txt, zlib.log}; timings in
timings.json.  The factory's kernels and chroots must exist (stock.py stock-kernel-VER).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAIN_WORK = Path("/work/main/sample-dumps/work")
# the factory's work dir (kernels, chroots): this checkout's, or the main checkout's
if "XCRASH_FACTORY_WORK" not in os.environ:
    own = REPO / "sample-dumps" / "work"
    os.environ["XCRASH_FACTORY_WORK"] = str(own if (own / "stock" / "kernels").exists() else MAIN_WORK)
sys.path.insert(0, str(REPO / "sample-dumps"))
import factory as F  # noqa: E402
import stock as S  # noqa: E402

W = Path(os.environ.get("XCRASH_SCALE_DIR", F.WORK / "scale")).resolve()
HERE = Path(__file__).resolve().parent / "scale"
LOCK = "/work/lab/qemu.lock"


@dataclass(frozen=True)
class ScaleDump:
    kernel: str         # stock.py's KERNELS key
    tasks: int          # the kernel's task count to reach
    files: int          # files in the tmpfs tree
    mounts: int         # extra tmpfs mounts
    mem: str = "4096"   # MiB


def _scaled(kernel: str, tasks: int) -> ScaleDump:
    """The same population at another size: files and mounts grow with the tasks."""
    return ScaleDump(kernel, tasks, files=40 * tasks, mounts=max(10, tasks // 50))


DUMPS = {
    "scale-6.12-1k": _scaled("6.12", 1000),
    "scale-6.12-3k": _scaled("6.12", 3000),
    "scale-6.12-10k": _scaled("6.12", 10000),
    "scale-5.10-3k": _scaled("5.10", 3000),
    # optional: 5.10's growth (pre-6.2 per-thread RSS counters)
    "scale-5.10-1k": _scaled("5.10", 1000),
    "scale-5.10-10k": _scaled("5.10", 10000),
}
DEFAULT = ["scale-6.12-1k", "scale-6.12-3k", "scale-6.12-10k", "scale-5.10-3k"]

#: modules loaded beyond the factory's (virtio, ext2, xcrash_lab), with what they depend on
EXTRA_MODULES = ["tun", "veth", "dummy", "bridge", "8021q", "bonding", "macvlan", "ipvlan",
                 "vxlan", "geneve", "wireguard", "sctp", "tcp_bbr", "sch_netem", "nf_tables",
                 "ip_tables", "af_key", "loop", "brd", "nbd", "zram", "dm_mod", "overlay",
                 "squashfs", "isofs", "udf", "btrfs", "xfs", "vfat", "nls_utf8", "binfmt_misc",
                 "fuse", "configfs"]


def log(msg: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd, **kw) -> subprocess.CompletedProcess:
    cmd = [str(c) for c in cmd]
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kw)


def record_time(what: str, seconds: float) -> None:
    path = W / "timings.json"
    t = json.loads(path.read_text()) if path.exists() else {}
    t[what] = round(seconds, 1)
    path.write_text(json.dumps(t, indent=1, sort_keys=True) + "\n")


def stamp(name: str) -> Path:
    return W / "stamps" / name


def stage(name: str, fn, force: bool) -> None:
    if stamp(name).exists() and not force:
        log(f"{name}: done before")
        return
    t0 = time.time()
    log(f"{name}: start")
    fn()
    dt = time.time() - t0
    record_time(name, dt)
    stamp(name).parent.mkdir(parents=True, exist_ok=True)
    stamp(name).write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + f" {dt:.0f}s\n")
    log(f"{name}: done in {dt:.0f} s")


# --------------------------------------------------------------------------- initramfs

def initrd(ver: str) -> Path:
    return W / "kernels" / ver / "initrd.gz"


def st_initramfs(ver: str) -> None:
    """The factory's initramfs tree of that kernel, its /init kept as /init-stock (the capture
    kernel's), init-scale as /init, xc-scale and the extra modules added."""
    kd = S.kdir(ver)
    if not (kd / "initramfs" / "init").exists():
        raise SystemExit(f"no {kd / 'initramfs'}: run sample-dumps/stock.py stock-initramfs-{ver}")
    out = W / "kernels" / ver
    r = out / "initramfs"
    shutil.rmtree(r, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    run(["cp", "-a", kd / "initramfs", r])          # device nodes and links as they are
    shutil.move(r / "init", r / "init-stock")
    shutil.copy(HERE / "init-scale", r / "init")
    (r / "init").chmod(0o755)
    run(["gcc", "-static", "-O2", "-o", r / "bin" / "xc-scale", HERE / "xc-scale.c", "-lpthread"])
    files = S.module_files(kd)
    have = set((r / "lib/modules/load-order").read_text().split())
    saved = list(S.NEEDED)
    S.NEEDED[:] = EXTRA_MODULES
    try:
        order = [m for m in S.load_order(kd, files) if m not in have]
    finally:
        S.NEEDED[:] = saved
    for name in order:
        (r / "lib/modules" / f"{name}.ko").write_bytes(S._module_bytes(files[name]))
    (r / "lib/modules/scale-order").write_text(" ".join(order) + "\n")
    missing = [m for m in EXTRA_MODULES if m not in files]
    log(f"{ver}: {len(order)} extra modules ({' '.join(order)}); built in or absent: {missing}")
    F.pack(r, initrd(ver))
    shutil.rmtree(r)


# --------------------------------------------------------------------------- runs

def rundir(name: str) -> Path:
    return W / "runs" / name


def st_run(name: str) -> None:
    d = DUMPS[name]
    kd = S.kdir(d.kernel)
    rd = rundir(name)
    shutil.rmtree(rd, ignore_errors=True)
    rd.mkdir(parents=True)
    F.make_disk(rd / "dump.img", {}, "4G")
    F.make_disk(rd / "boot.img", {"vmlinuz": kd / "vmlinuz", "initrd.gz": initrd(d.kernel)}, "160M")
    append = (f"console=ttyS0 loglevel=6 panic=-1 crashkernel=384M x.tasks={d.tasks} "
              f"x.files={d.files} x.mounts={d.mounts}")
    serial = rd / "serial.log"
    cmd = ["flock", LOCK, *F.NICE, "timeout", "7200", "qemu-system-x86_64",
           "-accel", "tcg,thread=multi", "-cpu", "max,la57=off", "-smp", "2", "-m", d.mem,
           "-nodefaults", "-display", "none", "-no-reboot", "-kernel", kd / "vmlinuz",
           "-initrd", initrd(d.kernel), "-append", append,
           "-drive", f"file={rd / 'dump.img'},format=raw,if=virtio,cache=unsafe",
           "-drive", f"file={rd / 'boot.img'},format=raw,if=virtio,readonly=on",
           "-serial", f"file:{serial}"]
    (rd / "qemu-cmdline.txt").write_text(" ".join(map(str, cmd)) + "\n")
    t0 = time.time()
    with open(rd / "qemu.out", "wb") as out:
        run(cmd, stdout=out, stderr=subprocess.STDOUT)
    dt = time.time() - t0
    record_time(f"qemu-{name}", dt)        # includes the wait for the lock
    log(f"{name}: QEMU done after {dt:.0f} s")
    F.extract_disk(rd / "dump.img", rd / "out")
    (rd / "dump.img").unlink()
    (rd / "boot.img").unlink()
    for p in (rd / "out").iterdir():
        p.rename(rd / p.name)
    (rd / "out").rmdir()
    F.ground_truth(serial, rd / "ground-truth.txt")
    if not (rd / "vmcore.kdump").exists():
        raise SystemExit(f"{name}: no dump; see {serial}")
    (rd / "vmcore.kdump").chmod(0o644)
    (rd / "vmlinux").symlink_to(kd / "vmlinux")
    (rd / "vmlinux.stripped").symlink_to(kd / "vmlinux.stripped")
    facts = [line for line in serial.read_text(errors="replace").splitlines() if "XCRASH" in line]
    log(f"{name}: {(rd / 'vmcore.kdump').stat().st_size >> 20} MiB dump; "
        + "; ".join(f.split("XCRASH", 1)[1] for f in facts if "-GT" in f or " in " in f))


# --------------------------------------------------------------------------- drgn

def st_drgn() -> None:
    venv = W / "drgn-venv"
    run([sys.executable, "-m", "venv", venv])
    run([venv / "bin/pip", "install", "-q", "drgn==0.3.0", "matplotlib"])   # scale.py plots with it


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="list | all | drgn | dump names")
    ap.add_argument("--force", action="store_true", help="redo the named dumps' runs")
    a = ap.parse_args()
    names = a.names or ["list"]
    if names == ["list"]:
        for n, d in DUMPS.items():
            done = "done" if stamp(f"run-{n}").exists() else "    "
            print(f"{n:16} {done}  Debian {d.kernel}: {d.tasks} tasks, {d.files} files, "
                  f"{d.mounts} mounts, {d.mem} MiB{'' if n in DEFAULT else ' (optional)'}")
        return 0
    W.mkdir(parents=True, exist_ok=True)
    if names == ["drgn"]:
        stage("drgn", st_drgn, a.force)
        return 0
    if names == ["all"]:
        names = DEFAULT
    for n in names:
        if n not in DUMPS:
            ap.error(f"unknown dump {n}")
    for n in names:
        ver = DUMPS[n].kernel
        stage(f"initramfs-{ver}", lambda v=ver: st_initramfs(v), False)
        stage(f"run-{n}", lambda n=n: st_run(n), a.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
