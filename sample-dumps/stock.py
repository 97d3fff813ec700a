#!/usr/bin/env python3
"""Stock Debian kernels (5.10 to 7.x) dying in every way the samples need, under QEMU (TCG).

    python3 sample-dumps/stock.py list                # the stages, done or not
    python3 sample-dumps/stock.py all                 # every stage, skipping finished ones
    python3 sample-dumps/stock.py dump NAME [NAME..]  # one dump: its prerequisites, run, refs
    python3 sample-dumps/stock.py drgn-refs [NAME..]  # redo only drgn's references
    python3 sample-dumps/stock.py collect [NAME..]    # ship them: bundles, references

Unmodified `linux-image-*-cloud-amd64` kernels of four Debian suites (bullseye 5.10, bookworm
6.1, trixie 6.12, sid 7.x), each with its own suite's makedumpfile in the capture kernel and a
tiny test module (module/xcrash_lab.c, built in a chroot of that suite against its headers)
for the deaths LKDTM would give.  Reference outputs: crash 8.0.6 (trixie) and crash 9.0.2
(sid), each run inside a chroot of its suite, on the full `-dbg` vmlinux; drgn 0.3.0's stacks.
What is shipped of a kernel is its vmlinux through `objcopy --strip-debug` (symbols, BTF, ORC).

The stages and the work directory are the factory's (factory.py): stamps, timings, `--force`.
Chroots come from debootstrap (root needed, as for the factory); nothing is installed on the
host beyond the factory's packages and debootstrap.  Heavy: run it alone.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import factory as F  # noqa: E402  (the factory's helpers and stage machinery)
from factory import log, out_text, run, stage  # noqa: E402
import unpack  # noqa: E402  (the bundles' packing and unpacking)

S = F.WORK / "stock"
ROOTS = S / "roots"
MIRROR = "http://deb.debian.org/debian"


@dataclass(frozen=True)
class Kernel:
    suite: str
    release: str            # uname -r
    version: str            # Debian package version
    crash: tuple[str, ...]  # suites whose crash reads it (trixie: 8.0.6, sid: 9.0.2)
    level: int = 31         # makedumpfile -d (7.x: 23, see README)


KERNELS = {
    "5.10": Kernel("bullseye", "5.10.0-32-cloud-amd64", "5.10.223-1", ("trixie", "sid")),
    "6.1": Kernel("bookworm", "6.1.0-56-cloud-amd64", "6.1.192-2", ("trixie", "sid")),
    "6.12": Kernel("trixie", "6.12.117+deb13-cloud-amd64", "6.12.117-1", ("trixie", "sid")),
    "7.2": Kernel("sid", "7.2.13+deb14-cloud-amd64", "7.2.13-1", ("sid",), level=23),
}
CRASH_VERSION = {"trixie": "8.0.6-1", "sid": "9.0.2+~16.3-1"}
SECURITY = {"bullseye": "bullseye-security", "bookworm": "bookworm-security",
            "trixie": "trixie-security"}


@dataclass(frozen=True)
class Dump:
    kernel: str
    death: str
    doc: str
    smp: int = 2
    mem: str = "512M"
    spin: str = ""          # CPU running a user-mode busy loop at the crash
    offline: str = ""       # CPU taken offline before the crash
    formats: str = "plain"
    extra_append: str = ""
    qemu: tuple[str, ...] = field(default=())   # dump-guest-memory variants (qemu-panic)
    la57: bool = False      # 5-level paging (the CPU offers LA57, the kernel uses it)
    unshipped: tuple[str, ...] = ()     # files made and compared here, left out by collect
    ship: bool = True       # collected at all (else made and compared in the work directory)


DUMPS = {
    "debian-5.10-sysrq": Dump("5.10", "sysrq", "Debian 5.10: sysrq c calls panic(); CPU 1 in a "
                             "user-mode busy loop", spin="1", formats="plain zlib",
                             # zlib pages: xz cannot shrink them (13 MB of the budget); the
                             # plain file holds the same pages
                             unshipped=("vmcore.kdump",)),
    "debian-5.10-oops": Dump("5.10", "oops", "Debian 5.10: NULL write in module code "
                            "(xcrash_lab), panic_on_oops", formats="plain elf"),
    "debian-6.1-hung": Dump("6.1", "hung", "Debian 6.1: a task in D state for ever, "
                           "hung_task_panic (khungtaskd panics)"),
    "debian-6.1-la57": Dump("6.1", "sysrq", "Debian 6.1 with 5-level paging (LA57): sysrq c",
                           la57=True),
    "debian-6.12-oops-core": Dump("6.12", "oops-core", "Debian 6.12: kstrtoull faults on a "
                                 "pointer a module passes (Oops in core code); CPU 1 in user "
                                 "mode, CPU 2 idle", smp=3, spin="1"),
    "debian-6.12-bug": Dump("6.12", "bug", "Debian 6.12: BUG() in module code (invalid opcode)"),
    "debian-6.12-warn": Dump("6.12", "warn", "Debian 6.12: WARN_ON in module code, panic_on_warn"),
    "debian-6.12-softlockup": Dump("6.12", "softlockup", "Debian 6.12: module spins with "
                                  "preemption off on CPU 1, softlockup_panic"),
    "debian-6.12-nmi": Dump("6.12", "nmi-irqoff", "Debian 6.12: CPU 1 spins in module code with "
                           "interrupts off; the host's NMI (unknown_nmi_panic) stops it in "
                           "kernel mode"),
    "debian-6.12-overflow": Dump("6.12", "overflow", "Debian 6.12: module recursion to the stack "
                                "guard page (kernel stack overflow)"),
    "debian-6.12-softirq": Dump("6.12", "softirq", "Debian 6.12: NULL write in a timer callback "
                               "(softirq on the IRQ stack), panic_on_oops"),
    "debian-6.12-oom": Dump("6.12", "oom", "Debian 6.12: memory hog, panic_on_oom"),
    "debian-7.2-sysrq": Dump("7.2", "sysrq", "Debian sid 7.2: sysrq c; CPU 2 offline (hotplug)",
                            smp=3, offline="2"),
    "debian-7.2-oops": Dump("7.2", "oops", "Debian sid 7.2: NULL write in module code, "
                           "panic_on_oops; CPU 1 in user mode", spin="1"),
    "debian-6.12-maxcpus": Dump("6.12", "sysrq", "Debian 6.12 with maxcpus=2 of 3: CPU 2 "
                                "present, never brought up; sysrq c; a raw copy of /proc/vmcore "
                                "beside the kdump file (not shipped: the budget)", smp=3,
                                formats="plain raw", extra_append="maxcpus=2", ship=False),
    "debian-6.12-qemu": Dump("6.12", "qemu-panic", "Debian 6.12: sysrq c without kdump; QEMU's "
                            "dump-guest-memory (ELF, and kdump-zlib), no vmcoreinfo device",
                            mem="320M", extra_append="panic=0", qemu=("elf", "kdump-zlib")),
}

#: what crash is asked on every stock dump (issue 14's list)
REF_CMDS = ["sys", "ps", "bt -a", "foreach bt", "log", "mod", "kmem -i", "kmem -s", "files",
            "vm", "net", "mount", "irq", "timer", "runq", "dev", "sig", "bt"]


# --------------------------------------------------------------------------- chroots

def chroot_dir(suite: str) -> Path:
    return ROOTS / suite


def in_chroot(suite: str, cmd: str, **kw) -> subprocess.CompletedProcess:
    """Run a shell command in a suite's chroot with /proc, /dev and the work dir mounted."""
    root = chroot_dir(suite)
    work = root / "work"
    work.mkdir(exist_ok=True)
    mounts = [("proc", root / "proc", ["-t", "proc", "proc"]),
              ("dev", root / "dev", ["--bind", "/dev"]),
              ("work", work, ["--bind", str(S)])]
    done = []
    try:
        for _name, target, args in mounts:
            if not os.path.ismount(target):
                run(["mount", *args, target])
                done.append(target)
        env = {"DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C", "HOME": "/root",
               "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        return run(["chroot", root, "/bin/sh", "-ec", cmd], env=env, **kw)
    finally:
        for target in reversed(done):
            subprocess.run(["umount", "-l", str(target)], check=False)


def st_chroot(suite: str) -> None:
    root = chroot_dir(suite)
    done = root / ".debootstrap-done"
    if not done.exists():           # a finished debootstrap is kept across --force
        shutil.rmtree(root, ignore_errors=True)
        ROOTS.mkdir(parents=True, exist_ok=True)
        run(["debootstrap", "--variant=minbase", "--include=ca-certificates", suite, root, MIRROR],
            nice=True)
        done.write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + "\n")
    lines = [f"deb {MIRROR} {suite} main"]
    if suite in SECURITY:
        lines.append(f"deb http://deb.debian.org/debian-security {SECURITY[suite]} main")
    (root / "etc/apt/sources.list").write_text("\n".join(lines) + "\n")
    # the archive reachable here is a snapshot: its Release files may have expired
    (root / "etc/apt/apt.conf.d/99snapshot").write_text('Acquire::Check-Valid-Until "false";\n')
    kernels = [k for k in KERNELS.values() if k.suite == suite]
    pkgs = ["make", "kexec-tools", "makedumpfile", "xz-utils", "kmod", "binutils"]
    pkgs += [f"linux-headers-{k.release}={k.version}" for k in kernels]
    if suite in CRASH_VERSION:
        pkgs.append(f"crash={CRASH_VERSION[suite]}")
    in_chroot(suite, "apt-get update -q && apt-get install -y -q --no-install-recommends "
              + " ".join(pkgs))


for _suite in sorted({k.suite for k in KERNELS.values()} | set(CRASH_VERSION)):
    stage(f"stock-chroot-{_suite}")((lambda s: lambda: st_chroot(s))(_suite))
    F.STAGES[f"stock-chroot-{_suite}"].doc = (f"debootstrap {_suite} + headers, makedumpfile, "
                                             "kexec-tools" + (", crash" if _suite in
                                                              CRASH_VERSION else ""))


# --------------------------------------------------------------------------- kernels

def kdir(ver: str) -> Path:
    return S / "kernels" / ver


def st_kernel(ver: str) -> None:
    """The kernel image and modules unpacked, the -dbg vmlinux, its stripped copy, the test module."""
    k = KERNELS[ver]
    kd = kdir(ver)
    for stale in ("root", "module", "vmlinux", "vmlinux.stripped"):
        shutil.rmtree(kd / stale, ignore_errors=True) if (kd / stale).is_dir() \
            else (kd / stale).unlink(missing_ok=True)
    (kd / "debs").mkdir(parents=True, exist_ok=True)
    rel = f"/work/kernels/{ver}"
    # the image and what it depends on of the same release (7.x splits it into several packages)
    deps = out_text(["chroot", chroot_dir(k.suite), "apt-cache", "depends", "--no-recommends",
                     "--no-suggests", f"linux-image-{k.release}={k.version}"])
    names = {f"linux-image-{k.release}", f"linux-image-{k.release}-dbg"}
    names |= {m.group(1) for m in re.finditer(r"Depends: (linux-\S+)", deps)
              if k.release in m.group(1) and "headers" not in m.group(1)}
    have = {p.name.split("_")[0] for p in (kd / "debs").glob("*.deb")}
    if not names <= have:           # a rerun downloads only what is missing
        in_chroot(k.suite, f"cd {rel}/debs && apt-get download -q "
                  + " ".join(f"{n}={k.version}" for n in sorted(names - have)))
    for deb in sorted((kd / "debs").glob("*.deb")):
        if "-dbg_" in deb.name:
            continue
        run(["dpkg-deb", "-x", deb, kd / "root"])
    dbg = next((kd / "debs").glob("*-dbg_*.deb"))
    member = out_text(f"dpkg-deb --fsys-tarfile '{dbg}' | tar -t | grep -E '/vmlinux(-{re.escape(k.release)})?$' | head -1").strip()
    with open(kd / "vmlinux", "wb") as f:
        run(f"dpkg-deb --fsys-tarfile '{dbg}' | tar -x -O '{member}'", stdout=f)
    run(["objcopy", "--strip-debug", kd / "vmlinux", kd / "vmlinux.stripped"])
    # /boot/vmlinuz-RELEASE, or from 7.x on /usr/lib/modules/RELEASE/vmlinuz
    vmlinuz = next(p for p in (kd / "root").rglob("vmlinuz*")
                   if p.name in (f"vmlinuz-{k.release}", "vmlinuz") and p.is_file())
    shutil.copy(vmlinuz, kd / "vmlinuz")
    (kd / "build-id").write_text(F.build_id(kd / "vmlinux") + "\n")
    # the test module, against the suite's headers
    src = kd / "module"
    shutil.copytree(F.HERE / "module", src)
    in_chroot(k.suite, f"make -C /usr/src/linux-headers-{k.release} M={rel}/module modules")
    if not (src / "xcrash_lab.ko").exists():
        raise SystemExit(f"{ver}: the test module did not build")


for _v in KERNELS:
    stage(f"stock-kernel-{_v}", deps=(f"stock-chroot-{KERNELS[_v].suite}",))(
        (lambda v: lambda: st_kernel(v))(_v))
    F.STAGES[f"stock-kernel-{_v}"].doc = (f"Debian {_v} ({KERNELS[_v].release}): image, -dbg "
                                         "vmlinux, stripped copy, xcrash_lab.ko")


# --------------------------------------------------------------------------- initramfs

#: modules the guest needs, by file name; found in the image's module tree
NEEDED = ["virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci",
          "virtio_blk", "ext2"]


def module_files(kd: Path) -> dict[str, Path]:
    out = {}
    for p in (kd / "root").rglob("*.ko*"):
        name = p.name.split(".ko")[0]
        out.setdefault(name.replace("-", "_"), p)
    return out


def _module_bytes(path: Path) -> bytes:
    import gzip
    import lzma
    data = path.read_bytes()
    if path.suffix == ".xz":
        return lzma.decompress(data)
    if path.suffix == ".gz":
        return gzip.decompress(data)
    if path.suffix == ".zst":
        return subprocess.run(["zstd", "-dc", path], check=True, stdout=subprocess.PIPE).stdout
    return data


def _depends(path: Path) -> list[str]:
    """The module's ``depends=`` (its .modinfo strings), as modinfo -F depends reads it."""
    data = _module_bytes(path)
    at = data.find(b"\0depends=")
    if at < 0:
        return []
    value = data[at + 9:data.index(b"\0", at + 1)].decode()
    return [d.replace("-", "_") for d in value.split(",") if d]


def load_order(kd: Path, files: dict[str, Path]) -> list[str]:
    """NEEDED and what they depend on, dependencies first (modinfo's depends)."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order or name not in files:
            return          # built in, or already placed
        for d in _depends(files[name]):
            visit(d.replace("-", "_"))
        order.append(name)
    for n in NEEDED:
        visit(n)
    return order


def in_root(root: Path, path: str) -> Path:
    """``path`` inside a chroot, its symbolic links followed inside the chroot too (an
    absolute link such as bullseye's /lib64/ld-linux-x86-64.so.2 would leave it)."""
    current = root
    for part in Path(path).parts[1:]:
        current = current / part
        for _ in range(16):
            if not current.is_symlink():
                break
            link = os.readlink(current)
            current = (root / link.lstrip("/")) if link.startswith("/") else \
                (current.parent / link)
    return Path(os.path.normpath(current))


def st_initramfs(ver: str) -> None:
    """busybox + the suite's kexec and makedumpfile (with its libraries) + modules + /init."""
    k = KERNELS[ver]
    kd = kdir(ver)
    r = kd / "initramfs"
    F.base_tree(r, "init-stock")
    for line in (F.HERE / "initramfs" / "bin-stock.sh").read_text().splitlines():
        if "|" in line and not line.startswith("#"):
            name, body = line.split("|", 1)
            (r / "bin" / name).write_text(f"#!/bin/sh\n{body}\n")
            (r / "bin" / name).chmod(0o755)
    helper = kd / "xc-helper"
    run(["gcc", "-static", "-O2", "-o", helper, F.HERE / "initramfs" / "xc-helper.c", "-lpthread"])
    for name in ("xc-threads", "xc-user", "xc-hog"):
        F.copy_file(helper, r / "bin" / name)
    croot = chroot_dir(k.suite)
    libdirs = f"{croot}/lib/x86_64-linux-gnu:{croot}/usr/lib/x86_64-linux-gnu"
    ld = in_root(croot, "/lib64/ld-linux-x86-64.so.2")
    for binary, dst in ((croot / "usr/sbin/kexec", "sbin/kexec"),
                        (croot / "usr/bin/makedumpfile", "usr/bin/makedumpfile")):
        if not binary.exists():
            binary = croot / "sbin" / binary.name
        F.copy_file(binary, r / dst)
        for lib in F.ldd_closure(binary, libdirs, ld=ld):
            inside = str(lib.relative_to(croot)) if str(lib).startswith(str(croot)) else str(lib)
            real = in_root(croot, "/" + inside.lstrip("/"))
            # kept under the name asked for (the soname), not the file the links reach
            where = "lib64" if lib.name.startswith("ld-linux") else "lib/x86_64-linux-gnu"
            F.copy_file(real, r / where / lib.name)
    # the interpreter the binaries name, whatever file the suite's link reaches
    F.copy_file(ld, r / "lib64/ld-linux-x86-64.so.2")
    files = module_files(kd)
    order = load_order(kd, files)
    (r / "lib/modules").mkdir(parents=True, exist_ok=True)
    for name in order:
        src = files[name]
        dst = r / "lib/modules" / f"{name}.ko"
        dst.write_bytes(_module_bytes(src))
    (r / "lib/modules/load-order").write_text(" ".join(order) + "\n")
    F.copy_file(kd / "module" / "xcrash_lab.ko", r / "lib/modules/xcrash_lab.ko")
    F.pack(r, kd / "initrd.gz")
    log(f"{ver}: initrd {(kd / 'initrd.gz').stat().st_size} bytes, modules {order}")


for _v in KERNELS:
    stage(f"stock-initramfs-{_v}", deps=(f"stock-kernel-{_v}",))(
        (lambda v: lambda: st_initramfs(v))(_v))
    F.STAGES[f"stock-initramfs-{_v}"].doc = f"initramfs for Debian {_v} (its suite's makedumpfile)"


# --------------------------------------------------------------------------- runs

def rundir(name: str) -> Path:
    return S / "runs" / name


def st_run(name: str) -> None:
    d = DUMPS[name]
    kd = kdir(d.kernel)
    rd = rundir(name)
    shutil.rmtree(rd, ignore_errors=True)
    rd.mkdir(parents=True)
    formats = d.formats + (" d23" if KERNELS[d.kernel].level == 23 else "")
    F.make_disk(rd / "dump.img", {}, "1G")
    F.make_disk(rd / "boot.img", {"vmlinuz": kd / "vmlinuz", "initrd.gz": kd / "initrd.gz"}, "96M")
    # init_on_free=1: freed pages are zeroed, so makedumpfile drops them as zero pages even
    # where it cannot tell free pages (1.7.6 on 6.12 excludes none: 85 MB dumps)
    append = (f"console=ttyS0 loglevel=7 panic=-1 crashkernel=192M init_on_free=1 x.death={d.death} "
              f"x.spin={d.spin} x.offline={d.offline} x.formats={formats.replace(' ', '~')} "
              + d.extra_append)
    cpu = "max" if d.la57 else "max,la57=off"
    args = ["-accel", "tcg,thread=multi", "-cpu", cpu, "-smp", str(d.smp), "-m", d.mem,
            "-nodefaults", "-kernel", kd / "vmlinuz", "-initrd", kd / "initrd.gz", "-append", append,
            "-drive", f"file={rd / 'dump.img'},format=raw,if=virtio,cache=unsafe",
            "-drive", f"file={rd / 'boot.img'},format=raw,if=virtio,readonly=on"]
    if d.qemu:
        dt = qemu_dump_run(rd, args, d)
    else:
        dt = F.qemu_run(rd, args, nmi_on="READY-FOR-NMI" if d.death == "nmi-irqoff" else None)
    F.record_time(f"qemu-{name}", dt)
    F.extract_disk(rd / "dump.img", rd / "out")
    F.ground_truth(rd / "serial.log", rd / "out" / "ground-truth.txt")
    (rd / "dump.img").unlink()
    (rd / "boot.img").unlink()
    made = [p.name for p in dump_files(name)]
    if not made:
        raise SystemExit(f"{name}: no dump; see {rd / 'serial.log'}")
    log(f"{name}: {made}")


def qemu_dump_run(rd: Path, args: list, d: Dump) -> float:
    """No kdump: wait for the panic on the serial line, stop, dump-guest-memory, quit."""
    serial, mon = rd / "serial.log", rd / "mon.sock"
    out = rd / "out-qemu"
    out.mkdir()
    cmd = [str(c) for c in F.NICE + ["timeout", "1800", "qemu-system-x86_64", *args, "-display",
                                     "none", "-no-reboot", "-serial", f"file:{serial}",
                                     "-monitor", f"unix:{mon},server,nowait"]]
    (rd / "qemu-cmdline.txt").write_text(" ".join(cmd) + "\n")
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=open(rd / "qemu.out", "wb"), stderr=subprocess.STDOUT)
    while proc.poll() is None:
        time.sleep(2)
        if serial.exists() and "Kernel panic" in serial.read_text(errors="replace"):
            time.sleep(3)
            m = F.Monitor(mon)
            m.cmd("stop")
            (out / "info-registers.txt").write_text(m.cmd("info registers -a"))
            for variant in d.qemu:
                flag, fname = {"elf": ("", "vmcore.qemu.elf"),
                               # -l (lzo) and -s (snappy): "kdump-lzo is not available
                               # now" in Debian's QEMU, built without either library
                               "kdump-zlib": ("-z ", "vmcore.qemu.kdump")}[variant]
                m.cmd(f"dump-guest-memory {flag}{out / fname}")
                while not (out / fname).exists() or "completed" not in m.cmd("info dump"):
                    time.sleep(2)
            m.cmd("quit")
            proc.wait(timeout=120)
            break
    for p in out.iterdir():
        p.chmod(0o644)
    # the kdump disk stays empty: keep the QEMU files where the collect step looks
    (rd / "out").mkdir(exist_ok=True)
    return time.time() - t0


for _n, _d in DUMPS.items():
    stage(f"stock-run-{_n}", deps=(f"stock-initramfs-{_d.kernel}",))(
        (lambda n: lambda: st_run(n))(_n))
    F.STAGES[f"stock-run-{_n}"].doc = "QEMU run: " + _d.doc


# --------------------------------------------------------------------------- references

def dump_files(name: str) -> list[Path]:
    rd = rundir(name)
    return sorted(p for p in [*(rd / "out").glob("vmcore*"), *(rd / "out-qemu").glob("vmcore*")]
                  if p.is_file())


def crash_in_chroot(suite: str, vmlinux: Path, dump: Path, cmds: list[str], dest: Path,
                    extra: tuple[str, ...] = ()) -> dict[str, str]:
    """crash of a suite on a dump: one file per command in dest (NN-cmd.txt, first line
    `crash> CMD`, as tools/compare_crash.py reads them)."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    script = dest / ".cmds"
    script.write_text("".join(f'!echo "@@@CMD {c}"\n{c}\n' for c in cmds) + '!echo "@@@END"\nq\n')
    inside = lambda p: "/work/" + str(p.relative_to(S))         # noqa: E731
    t0 = time.time()
    p = subprocess.run(
        ["chroot", chroot_dir(suite), "/usr/bin/env", "TERM=dumb", "PAGER=cat", "crash", "-s",
         *extra, inside(vmlinux), inside(dump), "-i", inside(script)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1800)
    text = p.stdout.decode(errors="replace")
    script.unlink()
    (dest / "00-session.txt").write_text(
        f"$ crash -s {' '.join(extra)} vmlinux {dump.name}\n(crash {CRASH_VERSION[suite]}; "
        f"rc={p.returncode}; {time.time() - t0:.1f} s)\n" + text.split("@@@CMD", 1)[0])
    outs = {}
    for i, part in enumerate(text.split("@@@CMD ")[1:], 1):
        c, _, body = part.partition("\n")
        body = body.split("@@@END", 1)[0]
        outs[c] = body
        (dest / f"{i:02d}-{F.slug(c)}.txt").write_text(f"crash> {c}\n{body}")
    return outs


def st_refs(name: str) -> None:
    d = DUMPS[name]
    k = KERNELS[d.kernel]
    kd = kdir(d.kernel)
    ref = S / "refs" / name
    shutil.rmtree(ref, ignore_errors=True)
    mounted = []
    try:
        for suite in k.crash:
            # crash runs in its chroot; the work dir is bind-mounted at /work
            target = chroot_dir(suite) / "work"
            target.mkdir(exist_ok=True)
            if not os.path.ismount(target):
                run(["mount", "--bind", str(S), target])
                mounted.append(target)
            for dump in dump_files(name)[:1]:
                outs = crash_in_chroot(suite, kd / "vmlinux", dump, REF_CMDS, ref / suite)
                if not outs.get("sys", "").strip():
                    crash_in_chroot(suite, kd / "vmlinux", dump, REF_CMDS, ref / f"{suite}-no_modules",
                                    ("--no_modules",))
    finally:
        for t in mounted:
            subprocess.run(["umount", "-l", str(t)], check=False)
    drgn_refs(name)


#: the drgn scripts whose outputs are references: file name -> script
DRGN_SCRIPTS = {"stacks.txt": F.HERE.parent / "bench" / "drgn_ps_bt_log.py",
                "kmem-s.txt": F.HERE / "drgn_slabs.py"}


def drgn_refs(name: str) -> None:
    """drgn 0.3.0's stacks (idle tasks included) and slab usage of a dump, with the
    full -dbg vmlinux."""
    drgn = S / "drgn-venv" / "bin" / "drgn"
    if not drgn.exists():
        return
    out = S / "refs" / name / "drgn"
    out.mkdir(parents=True, exist_ok=True)
    for dump in dump_files(name)[:1]:
        for file, script in DRGN_SCRIPTS.items():
            with open(out / file, "wb") as f:
                subprocess.run([drgn, "-q", "--main-symbols", "-c", dump, "-s",
                                kdir(DUMPS[name].kernel) / "vmlinux", script],
                               stdout=f, stderr=subprocess.STDOUT, timeout=900, check=False)


@stage("stock-drgn")
def st_drgn():
    """drgn 0.3.0 in a venv (PyPI), the judge on kernels where crash's bt goes wrong."""
    venv = S / "drgn-venv"
    run([sys.executable, "-m", "venv", venv])
    run([venv / "bin/pip", "install", "-q", "drgn==0.3.0"])


for _n, _d in DUMPS.items():
    stage(f"stock-refs-{_n}", deps=(f"stock-run-{_n}", "stock-drgn",
                                    *{f"stock-chroot-{s}" for s in KERNELS[_d.kernel].crash}))(
        (lambda n: lambda: st_refs(n))(_n))
    F.STAGES[f"stock-refs-{_n}"].doc = "crash 8.0.6/9.0.2 and drgn 0.3.0 outputs for " + _n


# --------------------------------------------------------------------------- collect

#: (format, page compression) of each file name the runs write
FORMATS = {"vmcore.kdump": ("kdump-compressed", "zlib"), "vmcore.plain.kdump": ("kdump", "none"),
           "vmcore.raw": ("elf", "none"),
           "vmcore.elf": ("elf", "none"), "vmcore.qemu.elf": ("elf", "none"),
           "vmcore.qemu.kdump": ("kdump-compressed", "zlib")}
#: the start and end of the lines collect writes into sample-dumps/.gitignore
IGNORED = ("# unpacked from the bundles (python3 sample-dumps/unpack.py): written by stock.py\n",
           "# end of the bundles' files\n")


def _ignore_unpacked(paths: list[str]) -> None:
    """List the bundles' files in sample-dumps/.gitignore (they are unpacked, not committed)."""
    gi = F.HERE / ".gitignore"
    text = gi.read_text() if gi.exists() else ""
    if IGNORED[0] in text:
        head, _, rest = text.partition(IGNORED[0])
        text = head + rest.partition(IGNORED[1])[2]
    gi.write_text(text + IGNORED[0] + "".join(f"/{p}\n" for p in sorted(paths)) + IGNORED[1])


def _bundle(ver: str, members: list[tuple[Path, str]], man: dict,
            name: str | None = None) -> str:
    """Pack one kernel's files into debian-VER.tar.xz (or ``name``) unless the bundle there
    already holds exactly these files (the manifest says so): packing 1 GB takes tens of
    minutes."""
    name = name or f"debian-{ver}.tar.xz"
    path = F.HERE / name
    want = [[n, F.sha256(src)] for src, n in members]
    old = man.get("bundles", {}).get(name, {})
    if not (path.exists() and old.get("members") == want and old.get("sha256") == F.sha256(path)):
        log(f"packing {name}: {len(members)} files, "
            f"{sum(s.stat().st_size for s, _ in members) / 1e6:.0f} MB")
        t0 = time.time()
        unpack.pack(path, members)
        log(f"packed {name}: {path.stat().st_size / 1e6:.1f} MB in {time.time() - t0:.0f} s")
    man.setdefault("bundles", {})[name] = {
        **F.file_entry(path), "kernel": ver, "members": want,
        "how": "tar in one xz stream, 256 MiB dictionary: python3 sample-dumps/unpack.py"}
    return name


def st_collect(names: list[str]) -> None:
    """Ship the chosen dumps: per kernel series one bundle (its stripped vmlinux and its dumps,
    see unpack.py), each dump's small files (logs, crash references) as they are."""
    man_path = F.HERE / "MANIFEST.json"
    man = json.loads(man_path.read_text())
    for stale in [n for n in man["dumps"] if n.startswith("debian-") and n not in names]:
        del man["dumps"][stale]
    unpacked = []
    for ver in KERNELS:
        chosen = [n for n in names if DUMPS[n].kernel == ver]
        if not chosen:
            continue
        k = KERNELS[ver]
        kd = kdir(ver)
        bundle = f"debian-{ver}.tar.xz"
        stripped = f"symbols/vmlinux-{k.release}.stripped"
        members = [(kd / "vmlinux.stripped", stripped)]
        man["symbols"][Path(stripped).name] = {
            "path": stripped, "size": (kd / "vmlinux.stripped").stat().st_size,
            "sha256": F.sha256(kd / "vmlinux.stripped"), "bundle": bundle,
            "build_id": F.build_id(kd / "vmlinux"), "release": k.release,
            "package": f"linux-image-{k.release}={k.version}",
            "how": "objcopy --strip-debug of the -dbg vmlinux: symbols, BTF and ORC, no DWARF",
            "full_vmlinux": f"linux-image-{k.release}-dbg={k.version}"}
        for name in chosen:
            man["dumps"][name] = _collect_dump(name, k, bundle, stripped, members)
        unpacked += [n for _, n in members]
        _bundle(ver, members, man)
    _ignore_unpacked(sorted({*unpacked, *(n for b in man.get("bundles", {}).values()
                                           for n, _ in b["members"])}))
    man_path.write_text(json.dumps(man, indent=1) + "\n")


def copy_logs(rd: Path, dd: Path) -> None:
    """A run's small files, shipped as they are beside its dump: the console, the capture
    kernel's notes and what the guests said of themselves."""
    for aux in ("dmesg.txt", "ground-truth.txt", "capture-cmdline.txt", "makedumpfile-version.txt",
                "info-registers.txt"):          # the last: QEMU's monitor, the vCPUs at the dump
        for where in (rd / "out", rd / "out-qemu"):
            if (where / aux).exists():
                F.put(where / aux, dd / aux, False)
    F.put(rd / "serial.log", dd / "serial.log", False)


def _collect_dump(name: str, k: Kernel, bundle: str, vmlinux: str,
                  members: list[tuple[Path, str]]) -> dict:
    """A dump's manifest entry; its big files appended to ``members``, its small ones copied."""
    d = DUMPS[name]
    dd = F.HERE / name
    dd.mkdir(exist_ok=True)
    rd = rundir(name)
    producer = ""
    if (rd / "out" / "makedumpfile-version.txt").exists():
        producer = (rd / "out" / "makedumpfile-version.txt").read_text().splitlines()[0]
    files = []
    for src in dump_files(name):
        if src.name in d.unshipped:
            continue
        members.append((src, f"{name}/{src.name}"))
        fmt, pages = FORMATS.get(src.name, ("kdump-compressed", "zlib"))
        qemu = "qemu" in src.name
        files.append({
            "path": f"{name}/{src.name}", "size": src.stat().st_size, "sha256": F.sha256(src),
            "bundle": bundle, "format": fmt, "page_compression": pages,
            "dump_level": None if qemu else k.level,
            "producer": ("QEMU dump-guest-memory" if qemu
                         else f"makedumpfile {producer.split('version ')[-1]}".strip()),
            "written_by": ("QEMU monitor, no VMCOREINFO device" if qemu
                           else "capture kernel (kexec -p), /proc/vmcore")})
    copy_logs(rd, dd)
    ref = S / "refs" / name
    if ref.exists():
        shutil.rmtree(dd / "crash-ref", ignore_errors=True)
        shutil.copytree(ref, dd / "crash-ref")
    return {
        "scenario": d.doc, "files": files,
        "kernel": {"release": k.release, "package": f"linux-image-{k.release}={k.version}",
                   "suite": k.suite, "vmlinux": vmlinux, "build_id": F.build_id(kdir(d.kernel) / "vmlinux")},
        "death": d.death, "cpus": d.smp, "memory": d.mem,
        "crash_ref": f"{name}/crash-ref" if ref.exists() else None,
        "open_with": f"xcrash sample-dumps/{files[0]['path']} sample-dumps/{vmlinux}",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stages", nargs="*", help="stage names, all, list, dump NAME..., collect NAME...")
    ap.add_argument("--force", action="store_true", help="rerun the named stages")
    a = ap.parse_args()
    S.mkdir(parents=True, exist_ok=True)
    names = a.stages or ["list"]
    mine = [n for n in F.STAGES if n.startswith("stock-")]
    if names == ["list"]:
        for n in mine:
            st = F.STAGES[n]
            print(f"{n:34} {'done' if st.done() else '    '}  {st.doc}")
        return 0
    if names[0] == "dump":
        for d in names[1:]:
            F.run_stage(f"stock-run-{d}", force=a.force)
            F.run_stage(f"stock-refs-{d}", force=a.force)
        return 0
    if names[0] == "drgn-refs":
        for d in names[1:] or [n for n in DUMPS if F.STAGES[f"stock-refs-{n}"].done()]:
            drgn_refs(d)
        return 0
    if names[0] == "collect":
        st_collect(names[1:] or [n for n in DUMPS
                                  if DUMPS[n].ship and F.STAGES[f"stock-refs-{n}"].done()])
        return 0
    if names == ["all"]:
        names = mine
    for n in names:
        if n not in F.STAGES:
            ap.error(f"unknown stage {n}")
        F.run_stage(n, force=a.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
