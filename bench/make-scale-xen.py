#!/usr/bin/env python3
"""Issue 17's Xen host: Debian's Xen 4.20 or 4.14 (sample-dumps/stock_xen.py's recipes) with
dom0 and six PV domUs under QEMU TCG, `xl debug-keys C`, the whole machine captured
(makedumpfile -c -d 1).  Not shipped, not in CI; says how long TCG took.

    python3 bench/make-scale-xen.py [--xen 4.20] [--guests 6] [--dom0-mem 384M] [--force]

The hypervisor, its xen-syms (4.20: Debian's -dbg; 4.14 has none), dom0's generic kernel
and the three initramfs images come from stock_xen.py's stages (the suite's chroot of the
stock factory gets Debian's Xen packages); they are made in the work dir of
bench/make-scale-dumps.py (xen/VER), as is the run (runs/scale-xen-6g, or
scale-xen-4.14-6g: vmcore.kdump, xen-syms, vmlinux, serial.log, timings).  The QEMU run
takes /work/lab/qemu.lock.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("scale_dumps", REPO / "bench" / "make-scale-dumps.py")
assert spec is not None and spec.loader is not None
SD = importlib.util.module_from_spec(spec)
sys.modules["scale_dumps"] = SD
spec.loader.exec_module(SD)
sys.path.insert(0, str(REPO / "sample-dumps"))
import factory as F  # noqa: E402
import stock_xen as X  # noqa: E402

def xdir(ver: str) -> Path:
    return SD.W / "xen" / ver


X.xdir = xdir                        # the recipe's products in this work dir


def run(ver: str, guests: int, dom0_mem: str, force: bool) -> None:
    d = xdir(ver)
    if force or not (d / "xen").exists():
        SD.stage("xen-" + ver, lambda: X.st_xen(ver), force)
    if X.XENS[ver].kexec_source and not (X.S.chroot_dir(X.XENS[ver].suite) / X.KEXEC.lstrip("/")).exists():
        SD.stage("xen-kexec-" + ver, lambda: X.st_kexec(ver), force)
    if force or not (d / "initrd-dom0.gz").exists():
        SD.stage("xen-initramfs-" + ver, lambda: X.st_initramfs(ver), force)
    name = f"scale-xen-{guests}g" if ver == "4.20" else f"scale-xen-{ver}-{guests}g"
    rd = SD.rundir(name)
    shutil.rmtree(rd, ignore_errors=True)
    rd.mkdir(parents=True)
    F.make_disk(rd / "boot.img", {"vmlinuz": d / "vmlinuz", "initrd-capture.gz": d / "initrd-capture.gz",
                                  "initrd-domU.gz": d / "initrd-domU.gz"}, "160M")
    F.make_disk(rd / "dump.img", {}, "6G")
    names = " ".join(f"g{i}:{1 + i % 2}:128" for i in range(1, guests + 1))
    mem = 1024 + 160 * guests
    xen_cmd = (f"console=com1 com1=115200,8n1 dom0_mem={dom0_mem},max:{dom0_mem} "
               "dom0_max_vcpus=2 crashkernel=256M loglvl=all guest_loglvl=all smap=0")
    dom0 = (f"{d / 'vmlinuz'} console=hvc0 earlyprintk=xen loglevel=7 init_on_free=1 "
            f"x.guests={names.replace(' ', '~')} x.death=debug-keys,{d / 'initrd-dom0.gz'}")
    serial = rd / "serial.log"
    cmd = ["flock", SD.LOCK, *F.NICE, "timeout", "5400", "qemu-system-x86_64",
           "-accel", "tcg,thread=multi", "-cpu", "max", "-machine", "pc", "-smp", "2",
           "-m", str(mem), "-kernel", d / "xen", "-append", xen_cmd, "-initrd", dom0,
           "-net", "none", "-display", "none", "-no-reboot",
           "-drive", f"file={rd / 'dump.img'},format=raw,if=virtio,cache=unsafe",
           "-drive", f"file={rd / 'boot.img'},format=raw,if=virtio,readonly=on",
           "-serial", f"file:{serial}"]
    (rd / "qemu-cmdline.txt").write_text(" ".join(map(str, cmd)) + "\n")
    t0 = time.time()
    with open(rd / "qemu.out", "wb") as out:
        proc = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT)
        started = None          # when QEMU itself started (after the lock)
        marks: dict[str, float] = {}
        while proc.poll() is None:
            time.sleep(2)
            if started is None and serial.exists():
                started = time.time()
            text = serial.read_text(errors="replace") if serial.exists() else ""
            for mark in ("xenstored, xenconsoled up", "GUEST g1 READY", f"GUEST g{guests} READY",
                         "about to crash", "CAPTURE KERNEL", "CAPTURE DONE"):
                if mark in text and mark not in marks and started is not None:
                    marks[mark] = time.time() - started
    total = time.time() - (started or t0)
    timing = {"qemu_seconds": round(total, 1), "marks": {k: round(v, 1) for k, v in marks.items()},
              "guests": guests, "memory_mib": mem}
    SD.record_time(f"qemu-{name}", total)
    (rd / "timing.json").write_text(__import__("json").dumps(timing, indent=1) + "\n")
    SD.log(f"{name}: QEMU {total:.0f} s; {timing['marks']}")
    F.extract_disk(rd / "dump.img", rd / "out")
    (rd / "dump.img").unlink()
    (rd / "boot.img").unlink()
    for p in (rd / "out").iterdir():
        p.rename(rd / p.name)
    (rd / "out").rmdir()
    for f in ("xen-syms", "vmlinuz"):
        if (d / f).exists() and not (rd / f).exists():
            os.symlink(d / f, rd / f)
    if not (rd / "vmcore.kdump").exists():
        raise SystemExit(f"{name}: no dump; see {serial}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--xen", default="4.20", choices=sorted(X.XENS))
    ap.add_argument("--guests", type=int, default=6)
    ap.add_argument("--dom0-mem", default="384M", help="dom0's memory (Xen's dom0_mem)")
    ap.add_argument("--force", action="store_true", help="redo the recipe's stages")
    a = ap.parse_args()
    SD.W.mkdir(parents=True, exist_ok=True)
    run(a.xen, a.guests, a.dom0_mem, a.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
