#!/usr/bin/env python3
"""The xcrash sample-dumps factory: real Linux and Xen crash dumps made under QEMU (TCG).

    python3 sample-dumps/factory.py all              # every stage, in order, skipping finished ones
    python3 sample-dumps/factory.py STAGE [STAGE...]  # named stages only (see `list`)
    python3 sample-dumps/factory.py dump NAME         # one dump: its prerequisites, run, refs, collect

Work directory: $XCRASH_FACTORY_WORK or sample-dumps/work/ (git-ignored). Every stage writes a
stamp file work/stamps/<stage> when it is complete and is skipped while the stamp exists
(`--force` reruns it). Heavy steps run under `nice -n 10` with `make -j2`. Debian 12 host, root.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = Path(os.environ.get("XCRASH_FACTORY_WORK", HERE / "work")).resolve()
STAMPS = WORK / "stamps"
OUT = WORK / "out"            # build products used by the runs
TIMINGS = WORK / "timings.json"
NICE = ["nice", "-n", "10"]
JOBS = os.environ.get("XCRASH_FACTORY_JOBS", "2")

XEN_VERSION = "4.17.5+72-g01140da4e8-1"         # pinned (P16): the source and the binary hypervisor
CRASH_VERSION = "8.0.6-1"                        # Debian trixie
MAKEDUMPFILE_TRIXIE = "1:1.7.6-1"                # tried in the capture kernel for snappy/zstd/-F/--split
KERNEL_SOURCE_PKG = "linux-source-6.1"

BOOKWORM_PACKAGES = [
    "qemu-system-x86", "kexec-tools", "makedumpfile", "busybox-static", "e2fsprogs",
    KERNEL_SOURCE_PKG, "build-essential", "bc", "bison", "flex", "libelf-dev", "libssl-dev",
    "dwarves", "cpio", "xz-utils", "dpkg-dev", "python3", "texinfo", "zlib1g-dev",
    "libncurses-dev", "liblzo2-dev", "libsnappy-dev", "libzstd-dev", "file",
]
# dom0 userland: unpacked, never installed (all of the pinned Xen version)
XEN_USERLAND_DEBS = [
    "xen-utils-4.17", "xen-utils-common", "xenstore-utils", "libxencall1", "libxenevtchn1",
    "libxenforeignmemory1", "libxengnttab1", "libxenmisc4.17", "libxenstore4", "libxentoollog1",
    "libxendevicemodel1", "libxenhypfs1", "libxentoolcore1",
]
XEN_USERLAND_LIBS = [
    "libyajl2", "libncurses6", "libtinfo6", "libext2fs2", "liblzma5", "libuuid1", "libzstd1",
    "zlib1g", "libc6", "libgcc-s1", "libbz2-1.0", "libcom-err2", "libdw1", "libelf1", "liblzo2-2",
    "libnl-3-200", "libnl-route-3-200",
]
TRIXIE_CRASH_DEBS = [
    f"crash={CRASH_VERSION}", "libc6", "libstdc++6", "libgcc-s1", "libtinfo6", "libncursesw6",
    "libsnappy1v5", "liblzo2-2", "libzstd1", "zlib1g", "liblzma5",
]
TRIXIE_MAKEDUMPFILE_DEBS = [
    f"makedumpfile={MAKEDUMPFILE_TRIXIE}", "libc6", "libdw1t64", "libelf1t64", "libbz2-1.0",
    "liblzma5", "liblzo2-2", "libsnappy1v5", "libzstd1", "zlib1g", "libstdc++6", "libgcc-s1",
]


# --------------------------------------------------------------------------- helpers

def log(msg: str) -> None:
    print(f"[factory {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd, *, cwd=None, env=None, nice=False, check=True, stdout=None, stderr=None, timeout=None):
    if isinstance(cmd, str):
        cmd = ["bash", "-ec", cmd]
    if nice:
        cmd = NICE + list(cmd)
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    log("$ " + " ".join(str(c) for c in cmd)[:300])
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=full_env, check=check,
                          stdout=stdout, stderr=stderr, timeout=timeout)


def out_text(cmd, **kw) -> str:
    return run(cmd, stdout=subprocess.PIPE, **kw).stdout.decode(errors="replace")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def record_time(stage: str, seconds: float) -> None:
    data = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    data[stage] = round(seconds, 1)
    TIMINGS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def build_id(path: Path) -> str:
    text = out_text(["readelf", "-n", path])
    m = re.search(r"Build ID: ([0-9a-f]+)", text)
    return m.group(1) if m else ""


def apt_private(suite: str, kind: str = "deb") -> list[str]:
    """apt-get options for a private list of Debian `suite` (never touches the system's lists)."""
    base = WORK / "apt" / f"{suite}-{kind}"
    (base / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (base / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    src = base / "sources.list"
    if not src.exists():
        src.write_text(f"{kind} [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
                       f"http://deb.debian.org/debian {suite} main\n")
    return ["-o", f"Dir::Etc::SourceList={src}", "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={base / 'lists'}", "-o", f"Dir::Cache={base / 'cache'}",
            "-o", "APT::Sandbox::User=root"]


def apt_download(opts: list[str], pkgs: list[str], dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    run(["apt-get", *opts, "download", *pkgs], cwd=dest)


def unpack_debs(debdir: Path, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for deb in sorted(debdir.glob("*.deb")):
        run(["dpkg-deb", "-x", deb, root])


# --------------------------------------------------------------------------- stages

STAGES: dict[str, "Stage"] = {}


class Stage:
    def __init__(self, name, fn, deps, doc):
        self.name, self.fn, self.deps, self.doc = name, fn, deps, doc

    @property
    def stamp(self) -> Path:
        return STAMPS / self.name

    def done(self) -> bool:
        return self.stamp.exists()


def stage(name: str, deps: tuple[str, ...] = ()):
    def deco(fn):
        STAGES[name] = Stage(name, fn, deps, ((fn.__doc__ or "").strip().splitlines() or [""])[0])
        return fn
    return deco


def run_stage(name: str, force: bool = False, _seen=None) -> None:
    st = STAGES[name]
    for d in st.deps:
        if not STAGES[d].done():
            run_stage(d)
    if st.done() and not force:
        log(f"stage {name}: done already ({st.stamp})")
        return
    log(f"stage {name}: start")
    t0 = time.time()
    st.fn()
    dt = time.time() - t0
    record_time(name, dt)
    STAMPS.mkdir(parents=True, exist_ok=True)
    st.stamp.write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + f" {dt:.0f}s\n")
    log(f"stage {name}: done in {dt:.0f} s")


# =========================================================================== stages

SRC = WORK / "src"
BUILD = WORK / "build"
DEBS = WORK / "debs"
ROOTS = WORK / "roots"        # unpacked .debs: xen-userland, xen-debian, trixie-crash, trixie-makedumpfile
KB = {"main": BUILD / "linux"}


@stage("packages")
def st_packages():
    """Debian packages: bookworm build/run tools installed; Xen userland, Debian's hypervisor, trixie crash and makedumpfile unpacked."""
    run(["apt-get", "update"], nice=True)
    run(["apt-get", "install", "-y", "--no-install-recommends", *BOOKWORM_PACKAGES], nice=True,
        env={"DEBIAN_FRONTEND": "noninteractive"})
    missing = []
    # dom0 userland and Debian's own hypervisor, pinned (P16)
    xdir = DEBS / "xen-userland"
    xdir.mkdir(parents=True, exist_ok=True)
    for p in XEN_USERLAND_DEBS:
        if run(["apt-get", "download", f"{p}={XEN_VERSION}"], cwd=xdir, check=False).returncode:
            missing.append(f"{p}={XEN_VERSION}")
    for p in XEN_USERLAND_LIBS:
        if run(["apt-get", "download", p], cwd=xdir, check=False).returncode:
            missing.append(p)
    unpack_debs(xdir, ROOTS / "xen-userland")
    hdir = DEBS / "xen-debian"
    hdir.mkdir(parents=True, exist_ok=True)
    for p in ("xen-hypervisor-4.17-amd64", "xen-hypervisor-4.17-amd64-dbg"):
        if run(["apt-get", "download", f"{p}={XEN_VERSION}"], cwd=hdir, check=False).returncode:
            missing.append(f"{p}={XEN_VERSION}")
    unpack_debs(hdir, ROOTS / "xen-debian")
    # trixie: crash 8.0.6 (reference) and makedumpfile 1.7.6 (capture kernel), each with its libraries
    tri = apt_private("trixie")
    run(["apt-get", *tri, "update"], nice=True)
    for name, pkgs in (("trixie-crash", TRIXIE_CRASH_DEBS), ("trixie-makedumpfile", TRIXIE_MAKEDUMPFILE_DEBS)):
        d = DEBS / name
        d.mkdir(parents=True, exist_ok=True)
        for p in pkgs:
            if run(["apt-get", *tri, "download", p], cwd=d, check=False).returncode:
                missing.append(f"trixie {p}")
        unpack_debs(d, ROOTS / name)
    (WORK / "packages-missing.txt").write_text("".join(m + "\n" for m in missing))
    if missing:
        log("packages not available: " + ", ".join(missing))


def kernel_release(kb: Path) -> str:
    return (kb / "include" / "config" / "kernel.release").read_text().strip()


def check_fragment(config: Path, fragment: Path) -> list[str]:
    have = config.read_text().splitlines()
    bad = []
    for line in fragment.read_text().splitlines():
        m = re.match(r"(CONFIG_\w+)=(.*)", line)
        if not m:
            continue
        key, val = m.groups()
        if val == "n":
            if any(h.startswith(key + "=") for h in have):
                bad.append(line)
        elif line not in have:
            bad.append(line)
    return bad


def export_kernel(kb: Path, tag: str) -> None:
    rel = kernel_release(kb)
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copy(kb / "arch/x86/boot/bzImage", OUT / f"bzImage-{tag}")
    shutil.copy(kb / "System.map", OUT / f"System.map-{tag}")
    shutil.copy(kb / ".config", OUT / f"config-{tag}")
    # P8: x86 links vmlinux with --emit-relocs; the .rela.debug_* sections double its size
    run(["objcopy", "--remove-relocations=.debug_*", kb / "vmlinux", OUT / f"vmlinux-{tag}"], nice=True)
    (OUT / f"release-{tag}").write_text(rel + "\n")


@stage("kernel", deps=("packages",))
def st_kernel():
    """Linux 6.1 from linux-source-6.1: tinyconfig + config/kernel-fragment.config, one image for every role."""
    tarball = sorted(Path("/usr/src").glob("linux-source-6.1*.tar.xz"))[-1]
    srcdir = SRC / "linux"
    if not (srcdir / "Makefile").exists():
        tmp = SRC / "linux.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        run(["tar", "-xf", tarball, "-C", tmp], nice=True)
        (next(tmp.iterdir())).rename(srcdir)
        tmp.rmdir()
    kb = KB["main"]
    kb.mkdir(parents=True, exist_ok=True)
    frag = HERE / "config" / "kernel-fragment.config"
    if not (kb / ".config").exists():
        run(["make", "-C", srcdir, f"O={kb}", "ARCH=x86_64", "tinyconfig"], nice=True)
        merge_and_build(srcdir, kb, frag, "kernel")
    elif check_fragment(kb / ".config", frag):
        # the tree holds the guest build's LOCALVERSION: merge the fragment back
        merge_and_build(srcdir, kb, frag, "kernel")
    else:
        merge_and_build(srcdir, kb, None, "kernel")
    export_kernel(kb, "main")


def merge_and_build(srcdir: Path, kb: Path, frag: Path | None, what: str) -> None:
    """Merge a config fragment into the build tree's .config (if given), check that no option
    was dropped by its dependencies (P2), and build bzImage."""
    make = ["make", "-C", srcdir, f"O={kb}", "ARCH=x86_64"]
    if frag is not None:
        run([srcdir / "scripts/kconfig/merge_config.sh", "-m", "-O", kb, kb / ".config", frag],
            cwd=srcdir)
        run([*make, "olddefconfig"], nice=True)
        bad = check_fragment(kb / ".config", frag)
        if bad:
            raise SystemExit(f"{what} config lost: " + ", ".join(bad))
    run([*make, f"-j{JOBS}", "bzImage"], nice=True)


@stage("kernel-guest", deps=("kernel",))
def st_kernel_guest():
    """The second build, for one domU: the first build tree reconfigured with another LOCALVERSION, built incrementally."""
    # The same tree (O= path), so that only what depends on the release string is rebuilt (a copy
    # of the tree under another path rebuilds everything: the recorded commands name the path).
    # The first build's products were exported to work/out/ before; `kernel` switches back.
    srcdir = SRC / "linux"
    merge_and_build(srcdir, KB["main"], HERE / "config" / "kernel-guest2.config", "guest kernel")
    export_kernel(KB["main"], "guest")


@stage("xen", deps=("packages",))
def st_xen():
    """Xen 4.17.5 hypervisor from Debian's source package: release build with EXPERT, DEBUG_INFO, FRAME_POINTER."""
    dl = SRC / "xen-dl"
    dl.mkdir(parents=True, exist_ok=True)
    if not list(dl.glob("*.dsc")):
        src_opts = apt_private("bookworm", "deb-src")
        run(["apt-get", *src_opts, "update"], nice=True)
        run(["apt-get", *src_opts, "source", "--download-only", f"xen={XEN_VERSION}"], cwd=dl)
    xs = SRC / "xen"
    if not (xs / "xen" / "Makefile").exists():
        shutil.rmtree(xs, ignore_errors=True)
        run(["dpkg-source", "-x", next(dl.glob("*.dsc")), xs], nice=True)
    shutil.copy(HERE / "config" / "xen.config", xs / "xen" / ".config")
    mk = ["make", "-C", xs / "xen", "XEN_TARGET_ARCH=x86_64"]
    run([*mk, "olddefconfig"], nice=True)
    cfg = (xs / "xen" / ".config").read_text()
    for line in ("CONFIG_DEBUG_INFO=y", "CONFIG_FRAME_POINTER=y", "CONFIG_KEXEC=y"):
        if line not in cfg.splitlines():
            raise SystemExit(f"xen config lost {line}")
    run([*mk, f"-j{JOBS}"], nice=True)
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copy(xs / "xen" / "xen", OUT / "xen-own")
    shutil.copy(xs / "xen" / "xen-syms", OUT / "xen-syms-own")
    shutil.copy(xs / "xen" / ".config", OUT / "xen-own.config")
    # Debian's binary hypervisor: the multiboot ELF inside xen-4.17-amd64.gz, and the -dbg xen-syms
    deb = ROOTS / "xen-debian"
    with open(OUT / "xen-debian", "wb") as f:
        run(["gzip", "-dc", deb / "boot" / "xen-4.17-amd64.gz"], stdout=f)
    syms = sorted((deb / "usr" / "lib" / "debug").rglob("xen-syms*"))
    shutil.copy(syms[0], OUT / "xen-syms-debian")
    shutil.copy(deb / "boot" / "xen-4.17-amd64.config", OUT / "xen-debian.config")


# --------------------------------------------------------------------------- initramfs

def ldd_closure(binary: Path, lib_path: str = "", ld: Path | None = None) -> list[Path]:
    if ld:
        text = out_text([ld, "--library-path", lib_path, "--list", binary])
    else:
        text = out_text(["ldd", binary], env={"LD_LIBRARY_PATH": lib_path} if lib_path else None)
    libs = []
    for line in text.splitlines():
        m = re.search(r"=>\s*(\S+)\s*\(", line) or re.match(r"\s*(/\S+)\s*\(", line)
        if m and m.group(1) != "not":
            libs.append(Path(m.group(1)))
        elif "not found" in line:
            raise SystemExit(f"{binary}: {line.strip()}")
    return libs


def copy_file(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src.resolve(), dst)


def base_tree(root: Path, init: str) -> None:
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "lib64", "lib/x86_64-linux-gnu", "etc", "proc",
              "sys", "dev", "tmp", "mnt", "boot", "run", "var/log", "opt"):
        (root / d).mkdir(parents=True, exist_ok=True)
    copy_file(Path("/bin/busybox"), root / "bin/busybox")
    for applet in out_text(["/bin/busybox", "--list-full"]).split():
        p = root / applet
        if not p.exists() and not p.is_symlink():
            p.parent.mkdir(parents=True, exist_ok=True)
            p.symlink_to("/bin/busybox")
    os.mknod(root / "dev/console", 0o600 | 0o020000, os.makedev(5, 1))   # P3
    os.mknod(root / "dev/null", 0o666 | 0o020000, os.makedev(1, 3))
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\n")
    copy_file(HERE / "initramfs" / "common.sh", root / "common.sh")
    copy_file(HERE / "initramfs" / init, root / "init")
    (root / "init").chmod(0o755)
    for line in (HERE / "initramfs" / "bin-scripts.sh").read_text().splitlines():
        if "|" in line and not line.startswith("#"):
            name, body = line.split("|", 1)
            (root / "bin" / name).write_text(f"#!/bin/sh\n{body}\n")
            (root / "bin" / name).chmod(0o755)


def add_binary(root: Path, src: Path, dst: str, lib_path: str = "") -> None:
    copy_file(src, root / dst.lstrip("/"))
    for lib in ldd_closure(src, lib_path):
        target = root / ("lib64" if lib.name.startswith("ld-linux") else "lib/x86_64-linux-gnu") / lib.name
        if not target.exists():
            copy_file(lib, target)


def pack(root: Path, dest: Path) -> None:
    with open(dest, "wb") as f:
        run("find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet | gzip -9n",
            cwd=root, stdout=f, nice=True)


@stage("initramfs", deps=("packages",))
def st_initramfs():
    """busybox initramfs images: linux (first + capture kernel), dom0 (xenstored, xl, kexec), domU."""
    ir = BUILD / "initramfs"
    OUT.mkdir(parents=True, exist_ok=True)
    # Linux: first kernel and capture kernel; makedumpfile 1.7.6 from trixie with its own libraries
    r = ir / "linux"
    base_tree(r, "init-linux")
    copy_file(HERE / "initramfs" / "capture.sh", r / "capture.sh")
    add_binary(r, Path("/sbin/kexec"), "/sbin/kexec")
    add_binary(r, Path("/usr/bin/makedumpfile"), "/usr/bin/makedumpfile-bookworm")
    tri = ROOTS / "trixie-makedumpfile"
    tlib = tri / "usr/lib/x86_64-linux-gnu"
    if (tri / "usr/bin/makedumpfile").exists():
        copy_file(tri / "usr/bin/makedumpfile", r / "opt/trixie/makedumpfile")
        for lib in ldd_closure(tri / "usr/bin/makedumpfile", str(tlib), ld=tlib / "ld-linux-x86-64.so.2"):
            lib = lib if lib.is_absolute() else tri / lib
            copy_file(lib, r / ("opt/trixie/lib64" if lib.name.startswith("ld-linux") else "opt/trixie/lib") / lib.name)
    pack(r, OUT / "initrd-linux.gz")
    # domU: busybox only
    r = ir / "domU"
    base_tree(r, "init-domU")
    pack(r, OUT / "initrd-domU.gz")
    # dom0: Xen userland of the pinned version (unpacked, never installed) + kexec
    r = ir / "dom0"
    base_tree(r, "init-dom0")
    xu = ROOTS / "xen-userland"
    libpath = f"{xu}/usr/lib/x86_64-linux-gnu:{xu}/lib/x86_64-linux-gnu"
    for b in ("xl", "xenstored", "xenconsoled", "xen-init-dom0", "xenconsole", "xenstore-control"):
        add_binary(r, xu / "usr/lib/xen-4.17/bin" / b, f"/usr/lib/xen-4.17/bin/{b}", libpath)
    (r / "usr/sbin/xl").symlink_to("/usr/lib/xen-4.17/bin/xl")
    add_binary(r, xu / "usr/bin/xenstore", "/usr/bin/xenstore", libpath)
    for cmd in ("read", "write", "ls", "list", "exists", "rm", "chmod", "watch"):
        p = r / f"usr/bin/xenstore-{cmd}"
        if p.exists() or p.is_symlink():
            p.unlink()
        p.symlink_to("/usr/bin/xenstore")
    add_binary(r, Path("/sbin/kexec"), "/sbin/kexec", libpath)
    gcc_s = next(iter(sorted(xu.rglob("libgcc_s.so.1"))))         # P18: dlopen()ed by pthread_cancel
    copy_file(gcc_s, r / "lib/x86_64-linux-gnu/libgcc_s.so.1")
    (r / "usr/lib").mkdir(parents=True, exist_ok=True)
    if not (r / "usr/lib/x86_64-linux-gnu").exists():
        (r / "usr/lib/x86_64-linux-gnu").symlink_to("/lib/x86_64-linux-gnu")
    shutil.copytree(xu / "etc/xen/scripts", r / "etc/xen/scripts")
    (r / "etc/xen/xl.conf").write_text('autoballoon="off"\n')
    pack(r, OUT / "initrd-dom0.gz")
    for n in ("linux", "domU", "dom0"):
        log(f"initrd-{n}.gz: {(OUT / f'initrd-{n}.gz').stat().st_size} bytes")


# --------------------------------------------------------------------------- crash 8.0.6

TRIXIE_CRASH = ROOTS / "trixie-crash"
PATCHED_CRASH = BUILD / "crash" / "crash"


def crash_cmd(patched: bool = False) -> list[str]:
    if patched:
        return [str(PATCHED_CRASH)]
    lib = TRIXIE_CRASH / "usr/lib/x86_64-linux-gnu"
    return [str(lib / "ld-linux-x86-64.so.2"), "--library-path", str(lib), str(TRIXIE_CRASH / "usr/bin/crash")]


@stage("crash-build", deps=("packages",))
def st_crash_build():
    """crash 8.0.6 from trixie's source (orig tarball) with crash/*.patch, the fixes Xen 4.17 needs (P21)."""
    dl = SRC / "crash-dl"
    dl.mkdir(parents=True, exist_ok=True)
    if not list(dl.glob("crash_8.0.6.orig.tar.gz")):
        o = apt_private("trixie", "deb-src")
        run(["apt-get", *o, "update"], nice=True)
        # the .dsc and .debian.tar.xz answer 404 here; the orig tarball (with gdb-10.2) is enough
        run(["apt-get", *o, "source", "--download-only", f"crash={CRASH_VERSION}"], cwd=dl, check=False)
    cb = BUILD / "crash"
    if not (cb / "Makefile").exists():
        shutil.rmtree(cb, ignore_errors=True)
        cb.parent.mkdir(parents=True, exist_ok=True)
        run(["tar", "-xzf", next(dl.glob("crash_8.0.6.orig.tar.gz")), "-C", cb.parent])
        (cb.parent / "crash-8.0.6").rename(cb)
        for p in sorted((HERE / "crash").glob("*.patch")):
            run(["patch", "-p1", "-i", p], cwd=cb)
    run(["make", f"-j{JOBS}", "target=X86_64"], cwd=cb, nice=True,
        env={"MAKEFLAGS": f"-j{JOBS}"})
    if not PATCHED_CRASH.exists():
        raise SystemExit("crash build produced no binary")


# --------------------------------------------------------------------------- QEMU runs

LINUX_SCENARIOS = {
    "linux-sysrq": dict(scenario="sysrq", formats="linux-full", smp=2, mem="256M", crashkernel="96M",
                        doc="Linux 6.1, 2 CPUs: `echo c > /proc/sysrq-trigger` from the script xc-crasher"),
    "linux-nmi": dict(scenario="nmi", formats="linux", smp=2, mem="256M", crashkernel="96M",
                      doc="Linux 6.1, 2 CPUs both running user-mode busy loops; QEMU `nmi` with "
                          "kernel.unknown_nmi_panic=1"),
}
XEN_GUESTS = "guest1:main:1:64 guest2:guest:2:64"      # name:kernel build:vCPUs:MiB
XEN_SCENARIOS = {
    "xen-own": dict(xen="own", mem="768", dom0_mem="224M", crashkernel="160M",
                    doc="Xen 4.17.5 built here (DWARF, frame pointers): dom0 + 2 PV domUs, `xl debug-keys C`"),
    "xen-debian": dict(xen="debian", mem="768", dom0_mem="224M", crashkernel="160M",
                       doc="Debian's binary Xen 4.17.5 (xen-hypervisor-4.17-amd64): dom0 + 2 PV domUs, "
                           "`xl debug-keys C`"),
}


def make_disk(img: Path, files: dict[str, Path], size: str) -> None:
    if img.exists():
        img.unlink()
    d = img.parent / (img.name + ".d")
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for name, src in files.items():
        shutil.copy(src, d / name)
    run(["mke2fs", "-q", "-F", "-t", "ext2", "-m", "0", "-d", d, img, size])
    shutil.rmtree(d)


class Monitor:
    def __init__(self, path: Path):
        self.path = path

    def cmd(self, line: str) -> str:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(20)
        s.connect(str(self.path))
        buf = b""
        try:
            while b"(qemu)" not in buf:
                buf += s.recv(4096)
            s.sendall(line.encode() + b"\n")
            buf = b""
            while buf.count(b"(qemu)") < 1:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except OSError:
            pass
        s.close()
        return re.sub(r"\x1b\[[A-Z]", "", buf.decode(errors="replace"))


def qemu_run(rd: Path, args: list[str], *, nmi_on: str | None = None, timeout: int = 1800) -> float:
    serial = rd / "serial.log"
    mon = rd / "mon.sock"
    for p in (serial, mon):
        if p.exists():
            p.unlink()
    cmd = NICE + ["timeout", str(timeout), "qemu-system-x86_64", *args, "-display", "none", "-no-reboot",
                  "-serial", f"file:{serial}", "-monitor", f"unix:{mon},server,nowait"]
    cmd = [str(c) for c in cmd]
    (rd / "qemu-cmdline.txt").write_text(" ".join(cmd) + "\n")
    log("$ " + " ".join(cmd))
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=open(rd / "qemu.out", "wb"), stderr=subprocess.STDOUT)
    sent = False
    while proc.poll() is None:
        time.sleep(2)
        if nmi_on and not sent and serial.exists() and nmi_on in serial.read_text(errors="replace"):
            time.sleep(5)
            m = Monitor(mon)
            (rd / "info-registers-before-nmi.txt").write_text(m.cmd("info registers -a"))
            m.cmd("nmi")
            sent = True
            log("sent NMI")
    dt = time.time() - t0
    log(f"QEMU exited rc={proc.returncode} after {dt:.0f} s")
    return dt


def extract_disk(img: Path, dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    names = out_text(["debugfs", "-R", "ls -p /", img]).splitlines()
    for line in names:
        parts = line.strip().strip("/").split("/")
        if len(parts) >= 5 and parts[4] and parts[4] not in (".", "..", "lost+found"):
            run(["debugfs", "-R", f"dump -p /{parts[4]} {dest / parts[4]}", img], stdout=subprocess.DEVNULL)


def ground_truth(serial: Path, dest: Path) -> None:
    lines = [l for l in serial.read_text(errors="replace").splitlines() if "XCRASH" in l or "(XEN)" in l
             or "Kernel panic" in l or "Linux version" in l]
    dest.write_text("\n".join(lines) + "\n")


def linux_run(name: str) -> None:
    sc = LINUX_SCENARIOS[name]
    rd = WORK / "runs" / name
    rd.mkdir(parents=True, exist_ok=True)
    make_disk(rd / "boot.img", {"bzImage": OUT / "bzImage-main", "initrd.gz": OUT / "initrd-linux.gz"}, "64M")
    make_disk(rd / "dump.img", {}, "1G")
    append = (f"console=ttyS0 crashkernel={sc['crashkernel']} loglevel=7 panic=-1 "
              f"x.scenario={sc['scenario']} x.formats={sc['formats']}")
    dt = qemu_run(rd, ["-accel", "tcg,thread=multi", "-cpu", "max,la57=off", "-smp", str(sc["smp"]),
                       "-m", sc["mem"], "-kernel", OUT / "bzImage-main", "-initrd", OUT / "initrd-linux.gz",
                       "-append", append,
                       "-drive", f"file={rd / 'boot.img'},format=raw,if=virtio,readonly=on",
                       "-drive", f"file={rd / 'dump.img'},format=raw,if=virtio"],
                  nmi_on="READY-FOR-NMI" if sc["scenario"] == "nmi" else None)
    record_time(f"qemu-{name}", dt)
    extract_disk(rd / "dump.img", rd / "out")
    ground_truth(rd / "serial.log", rd / "out" / "ground-truth.txt")
    if not (rd / "out" / "vmcore.kdump").exists():
        raise SystemExit(f"{name}: no vmcore.kdump; see {rd / 'serial.log'}")
    (rd / "dump.img").unlink()


def xen_run(name: str) -> None:
    sc = XEN_SCENARIOS[name]
    rd = WORK / "runs" / name
    rd.mkdir(parents=True, exist_ok=True)
    make_disk(rd / "boot.img", {"bzImage-main": OUT / "bzImage-main", "bzImage-guest": OUT / "bzImage-guest",
                                "initrd-linux.gz": OUT / "initrd-linux.gz",
                                "initrd-domU.gz": OUT / "initrd-domU.gz"}, "64M")
    make_disk(rd / "dump.img", {}, "2G")
    xen_cmd = (f"console=com1 com1=115200,8n1 dom0_mem={sc['dom0_mem']},max:{sc['dom0_mem']} "
               f"crashkernel={sc['crashkernel']} loglvl=all guest_loglvl=all smap=0")
    # init_on_free=1: pages freed in dom0 (xl's decompressed guest kernels, kexec's copies) become
    # zero pages, which `-d 1` leaves out of the dump
    dom0 = (f"{OUT / 'bzImage-main'} console=hvc0 earlyprintk=xen loglevel=7 init_on_free=1 "
            f"x.guests={XEN_GUESTS.replace(' ', '~')},{OUT / 'initrd-dom0.gz'}")
    dt = qemu_run(rd, ["-accel", "tcg,thread=multi", "-cpu", "max", "-machine", "pc", "-smp", "2",
                       "-m", sc["mem"], "-kernel", OUT / f"xen-{sc['xen']}", "-append", xen_cmd,
                       "-initrd", dom0, "-net", "none",
                       "-drive", f"file={rd / 'boot.img'},format=raw,if=virtio,readonly=on",
                       "-drive", f"file={rd / 'dump.img'},format=raw,if=virtio,cache=unsafe"])
    record_time(f"qemu-{name}", dt)
    extract_disk(rd / "dump.img", rd / "out")
    ground_truth(rd / "serial.log", rd / "out" / "ground-truth.txt")
    if not (rd / "out" / "vmcore.kdump").exists():
        raise SystemExit(f"{name}: no vmcore.kdump; see {rd / 'serial.log'}")
    (rd / "dump.img").unlink()


for _n in LINUX_SCENARIOS:
    stage(f"run-{_n}", deps=("kernel", "initramfs"))(
        (lambda n: lambda: linux_run(n))(_n))
    STAGES[f"run-{_n}"].doc = "QEMU run: " + LINUX_SCENARIOS[_n]["doc"]
for _n in XEN_SCENARIOS:
    stage(f"run-{_n}", deps=("kernel", "kernel-guest", "xen", "initramfs"))(
        (lambda n: lambda: xen_run(n))(_n))
    STAGES[f"run-{_n}"].doc = "QEMU run: " + XEN_SCENARIOS[_n]["doc"]


# --------------------------------------------------------------------------- crash reference outputs

LINUX_CMDS = ["sys", "ps", "bt", "bt -a", "foreach bt", "log", "sys -i", "kmem -i", "kmem -s",
              "foreach files", "foreach vm", "mount", "net", "dev", "irq -u", "timer",
              "kmem -v", "timer -r", "sig", "kmem -f", "irq -s", "kmem -n"]
LINUX_CMDS_SHORT = ["sys", "bt", "bt -a", "kmem -s"]
XEN_HYPER_CMDS = ["sys", "doms", "vcpus", "pcpus", "dumpinfo", "bt", "bt -a", "log"]
DOM0_CMDS = ["sys", "ps", "bt -a", "log", "kmem -s", "foreach files", "foreach vm", "mount", "net",
             "dev", "irq -u", "timer", "kmem -v", "timer -r", "sig", "kmem -f",
             "foreach net -s", "irq -s", "kmem -n"]
DOMU_CMDS = ["sys", "ps", "log"]


def slug(cmd: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", cmd.lower()).strip("-")


def crash_batch(variant: str, args: list, cmds: list[str], dest: Path) -> dict[str, str]:
    """Run crash in batch mode; one file per command in dest (NN-cmd.txt); returns {cmd: output}."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    script = dest.parent / f".{dest.name}.cmds"
    script.write_text("".join(f'!echo "@@@CMD {c}"\n{c}\n' for c in cmds) + '!echo "@@@END"\nq\n')
    cmd = crash_cmd(variant == "patched") + ["-s", *[str(a) for a in args], "-i", str(script)]
    t0 = time.time()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=900, env=dict(os.environ, TERM="dumb", PAGER="cat"))
        text, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        text, rc = (e.stdout or b"").decode(errors="replace") + "\n[timed out]\n", -1
    script.unlink()
    (dest / "00-session.txt").write_text(
        f"$ crash -s {' '.join(str(a) for a in args)}\n(crash {variant}; rc={rc}; {time.time() - t0:.1f} s)\n"
        + text.split("@@@CMD", 1)[0])
    outs = {}
    for i, part in enumerate(text.split("@@@CMD ")[1:], 1):
        c, _, body = part.partition("\n")
        body = body.split("@@@END", 1)[0]
        outs[c] = body
        (dest / f"{i:02d}-{slug(c)}.txt").write_text(body)
    return outs


def variants() -> list[str]:
    return ["trixie"] + (["patched"] if STAGES["crash-build"].done() and PATCHED_CRASH.exists() else [])


def refs_linux(name: str) -> None:
    out = WORK / "runs" / name / "out"
    vml = OUT / "vmlinux-main"
    ref = WORK / "refs" / name
    crash_batch("trixie", [vml, out / "vmcore.kdump"], LINUX_CMDS, ref / "vmcore.kdump")
    for f in ("vmcore.elf", "vmcore.lzo.kdump", "vmcore.zstd.kdump", "vmcore.flat"):
        if (out / f).exists():
            if f == "vmcore.flat":   # crash reads the flattened format only after makedumpfile -R
                continue
            crash_batch("trixie", [vml, out / f], LINUX_CMDS_SHORT, ref / f)
    if (out / "vmcore.split.1").exists():
        crash_batch("trixie", [vml, out / "vmcore.split.1", out / "vmcore.split.2"], LINUX_CMDS_SHORT,
                    ref / "vmcore.split")


def parse_doms(text: str) -> dict[int, str]:
    p2m = {}
    for line in text.splitlines():
        f = line.replace(">", " ").replace("*", " ").split()
        if len(f) >= 9 and f[0].isdigit() and int(f[0]) < 32000 and f[2] in ("RU", "BL", "DY", "SD", "SF"):
            p2m[int(f[0])] = f[-1]
    return p2m


def refs_xen(name: str) -> None:
    sc = XEN_SCENARIOS[name]
    out = WORK / "runs" / name / "out"
    dump = out / "vmcore.kdump"
    ref = WORK / "refs" / name
    guests = [g.split(":") for g in XEN_GUESTS.split()]
    p2m: dict[int, str] = {}
    for v in sorted(variants(), key=lambda v: v != "patched"):  # patched first: its doms gives the P2M frames
        hyp = crash_batch(v, [OUT / f"xen-syms-{sc['xen']}", dump], XEN_HYPER_CMDS, ref / v / "xen-syms")
        outs = crash_batch(v, [OUT / "vmlinux-main", dump], DOM0_CMDS, ref / v / "dom0")
        if not outs.get("sys", "").strip():
            crash_batch(v, ["--minimal", OUT / "vmlinux-main", dump],
                        ["log", "sym linux_banner", "rd -a linux_banner"], ref / v / "dom0-minimal")
        p2m = parse_doms(hyp.get("doms", "")) or p2m
        (ref / v / "p2m_mfn.json").write_text(json.dumps(p2m, indent=1) + "\n")
        for domid, (gname, kern, _vc, _mem) in enumerate(guests, 1):
            if domid in p2m:
                outs = crash_batch(v, ["--p2m_mfn", p2m[domid], OUT / f"vmlinux-{kern}", dump], DOMU_CMDS,
                                   ref / v / gname)
                if not outs.get("sys", "").strip():
                    # crash 8.0.6 dies during start-up on a domU of a hypervisor dump (it unwinds
                    # the pCPUs' registers as the guest's); --minimal skips that and still reads
                    # the guest's memory
                    crash_batch(v, ["--minimal", "--p2m_mfn", p2m[domid], OUT / f"vmlinux-{kern}", dump],
                                ["log", "sym linux_banner", "rd -a linux_banner"], ref / v / f"{gname}-minimal")


for _n in LINUX_SCENARIOS:
    stage(f"refs-{_n}", deps=(f"run-{_n}",))((lambda n: lambda: refs_linux(n))(_n))
    STAGES[f"refs-{_n}"].doc = "crash 8.0.6 reference outputs for " + _n
for _n in XEN_SCENARIOS:
    stage(f"refs-{_n}", deps=(f"run-{_n}",))((lambda n: lambda: refs_xen(n))(_n))
    STAGES[f"refs-{_n}"].doc = "crash 8.0.6 reference outputs (trixie binary, and patched if built) for " + _n


# --------------------------------------------------------------------------- collect: files, xz, manifest

# (work file in runs/<dump>/out, committed name, format, compression, dump level, xz it?)
COMMIT = {
    "linux-sysrq": [
        ("vmcore.kdump", "vmcore.kdump", "kdump-compressed", "zlib", 31, False),
        ("vmcore.elf", "vmcore.elf.xz", "elf", "none", 31, True),
        ("vmcore.zstd.kdump", "vmcore.zstd.kdump", "kdump-compressed", "zstd", 31, False),
    ],
    "linux-nmi": [("vmcore.elf", "vmcore.elf.xz", "elf", "none", 31, True)],
    "xen-own": [("vmcore.kdump", "vmcore.kdump.xz", "kdump-compressed", "none", 1, True)],
    "xen-debian": [("vmcore.kdump", "vmcore.kdump.xz", "kdump-compressed", "none", 1, True)],
}
# optional extras, committed when the budget allows (XCRASH_FACTORY_EXTRAS=1)
EXTRAS = {
    "linux-nmi": [("vmcore.kdump", "vmcore.kdump", "kdump-compressed", "zlib", 31, False)],
    "linux-sysrq": [
        ("vmcore.lzo.kdump", "vmcore.lzo.kdump", "kdump-compressed", "lzo", 31, False),
        ("vmcore.flat", "vmcore.flat.xz", "flattened", "zlib", 31, True),
        ("vmcore.split.1", "vmcore.split.1", "kdump-compressed-split", "zlib", 31, False),
        ("vmcore.split.2", "vmcore.split.2", "kdump-compressed-split", "zlib", 31, False),
    ],
}
SYMBOLS = [  # (out name, committed name, xz?)
    ("vmlinux-main", "vmlinux-6.1-xcrash.xz", True),
    ("config-main", "config-6.1-xcrash", False),
    ("config-guest", "config-6.1-xcrash-guest", False),
    ("xen-syms-own", "xen-syms-4.17.5-xcrash.xz", True),
    ("xen-syms-debian", "xen-syms-4.17.5-debian.xz", True),
    ("xen-own.config", "xen-4.17.5-xcrash.config", False),
    ("xen-debian.config", "xen-4.17.5-debian.config", False),
]
#: (out name, name unpacked, base): shipped as a XOR delta against a file of SYMBOLS (the
#: guest's build differs from the host's in its version string: 2.2 MB instead of 29)
SYMBOL_DELTAS = [("vmlinux-guest", "vmlinux-6.1-xcrash-guest", "vmlinux-6.1-xcrash.xz")]


def xz(src: Path, dst: Path) -> None:
    if dst.exists() and dst.stat().st_mtime >= src.stat().st_mtime:
        return
    tmp = dst.with_suffix(dst.suffix + ".tmp")
    with open(tmp, "wb") as f:
        run(["xz", "-9", "-T1", "-c", src], stdout=f, nice=True)
    tmp.rename(dst)


def put(src: Path, dst: Path, compress: bool) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        xz(src, dst)
    else:
        shutil.copy(src, dst)
    dst.chmod(0o644)


def file_entry(path: Path, **extra) -> dict:
    return {"path": str(path.relative_to(HERE)), "size": path.stat().st_size, "sha256": sha256(path), **extra}


def first_match(pattern: str, text: str, group: int = 1, default=None):
    m = re.search(pattern, text, re.M)
    return m.group(group).strip() if m else default


def linux_facts(name: str, refdir: Path) -> dict:
    out = WORK / "runs" / name / "out"
    dmesg = (out / "dmesg.txt").read_text(errors="replace") if (out / "dmesg.txt").exists() else ""
    sysr = (refdir / "vmcore.kdump" / "01-sys.txt").read_text(errors="replace")
    bt = (refdir / "vmcore.kdump" / "03-bt.txt").read_text(errors="replace")
    gt = (out / "ground-truth.txt").read_text(errors="replace")
    tasks = []
    for line in gt.splitlines():
        m = re.match(r".*XCRASH-GT tasks: (\d+) (\S) (.*)$", line)
        if m and (m.group(3).startswith("xc-") or m.group(3) in ("sleep",)):
            tasks.append({"pid": int(m.group(1)), "state": m.group(2), "comm": m.group(3)})
    bm = re.search(r'PID: (\d+)\s+TASK: (\w+)\s+CPU: (\d+)\s+COMMAND: "([^"]*)"', bt)
    return {
        "linux_banner": first_match(r"(Linux version .*)$", dmesg),
        "panic_string": first_match(r"Kernel panic - not syncing: (.*)$", dmesg),
        "crash_sys_panic": first_match(r"PANIC: (.*)$", sysr),
        "crashing_cpu": int(bm.group(3)) if bm else None,
        "crashing_task": {"pid": int(bm.group(1)), "task": bm.group(2), "comm": bm.group(4)} if bm else None,
        "cpus": first_match(r"CPUS: (.*)$", sysr), "memory": first_match(r"MEMORY: (.*)$", sysr),
        "tasks_crash": first_match(r"TASKS: (.*)$", sysr),
        "processes_started": tasks,
        "user_pattern": "XCRASH-USER-PATTERN-0123456789- (1 MiB in xc-memhog's heap; -d 31 excludes user pages)",
    }


def xen_facts(name: str, refdir: Path) -> dict:
    out = WORK / "runs" / name / "out"
    serial = (WORK / "runs" / name / "serial.log").read_text(errors="replace")
    gt = (out / "ground-truth.txt").read_text(errors="replace")
    domains = []
    for line in gt.splitlines():
        m = re.match(r".*XCRASH-GT xl list: (\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\S+)", line)
        if m:
            domains.append({"id": int(m.group(2)), "name": m.group(1), "memory_mib": int(m.group(3)),
                            "vcpus": int(m.group(4)), "state": m.group(5)})
    kernels = {"Domain-0": "main"}
    for g in XEN_GUESTS.split():
        gname, kern, _v, _m = g.split(":")
        kernels[gname] = kern
    for d in domains:
        kern = kernels.get(d["name"], "main")
        d["kernel"] = {"build": kern, "release": (OUT / f"release-{kern}").read_text().strip(),
                       "vmlinux": f"symbols/vmlinux-6.1-xcrash{'-guest' if kern == 'guest' else ''}.xz"}
        if d["id"] == 0:
            d["processes_started"] = ["xenstored", "xenconsoled", "dom0-sleeper", "xl (create, then debug-keys C)"]
        else:
            pids = first_match(rf"GUEST {d['name']} READY pids: (\d+ \d+)", gt)
            pl = pids.split() if pids else [None, None]
            d["processes_started"] = [
                {"comm": f"{d['name']}-sleeper", "pid": int(pl[0]) if pl[0] else None},
                {"comm": f"{d['name']}-worker", "pid": int(pl[1]) if pl[1] else None,
                 "marker": f"XENDUMP-MARKER-{d['name']}-{pl[1]} (repeated, 2 MiB+ in /dev/shm/marker-{d['name']})"}]
    vcpus = [l.split(": ", 1)[1] for l in gt.splitlines() if "XCRASH-GT xl vcpu-list:" in l]
    p2m = {}
    for v in ("patched", "trixie"):
        f = refdir / v / "p2m_mfn.json"
        if f.exists() and json.loads(f.read_text()):
            p2m = json.loads(f.read_text())
            break
    for d in domains:
        d["p2m_mfn"] = p2m.get(str(d["id"]))
    return {
        "xen_banner": first_match(r"\(XEN\) (Xen version .*)$", serial),
        "xen_cmdline": first_match(r"\(XEN\) Command line: (.*)$", serial),
        "kdump_area": first_match(r"\(XEN\) (Kdump: .*)$", serial),
        "panic_string": first_match(r"\(XEN\) (.*triggering crashdump.*)$", serial),
        "crashing_cpu": int(first_match(r"Executing kexec image on cpu(\d+)", serial, default="-1")),
        "trigger": "xl debug-keys C in dom0 (keyhandler 'C' -> kexec_crash)",
        "domains": domains,
        "xl_vcpu_list": vcpus,
        "idle_io_xen_domains": [32767, 32753, 32754],
    }


def notes_for(name: str, refdir: Path) -> list[str]:
    notes = []
    for f in sorted(refdir.rglob("*.txt")):
        t = f.read_text(errors="replace")
        if f.name.endswith("-log.txt"):
            continue                  # the kernel's own log is no crash problem
        for pat in ("crashing_cpu not found", "cannot be determined", "cannot read", "invalid size",
                    "failed", "no debugging data", "not found in PID hash", "rc=-", "rc=1;", "WARNING: crashing"):
            if pat in t:
                line = next(l for l in t.splitlines() if pat in l)
                notes.append(f"{f.relative_to(refdir)}: {line.strip()[:160]}")
                break
    return notes


@stage("collect")
def st_collect():
    """Copy the dumps, symbols and crash outputs into sample-dumps/, xz what is big, write MANIFEST.json."""
    extras = os.environ.get("XCRASH_FACTORY_EXTRAS") == "1"
    man = {"schema": 1, "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "how": "python3 sample-dumps/factory.py all (see README.md)", "symbols": {}, "dumps": {}}
    sym = HERE / "symbols"
    for src, dst, comp in SYMBOLS:
        if (OUT / src).exists():
            put(OUT / src, sym / dst, comp)
            e = file_entry(sym / dst, xz=comp)
            if src.startswith(("vmlinux", "xen-syms")):
                e["build_id"] = build_id(OUT / src)
                e["uncompressed_size"] = (OUT / src).stat().st_size
            if src.startswith("vmlinux"):
                e["release"] = (OUT / f"release-{src.split('-', 1)[1]}").read_text().strip()
            man["symbols"][dst] = e
    for src, dst, base in SYMBOL_DELTAS:
        if (OUT / src).exists():
            from unpack import pack_xor
            delta = sym / f"{dst}.xor.xz"
            pack_xor(delta, sym / base, OUT / src)
            bundle = str(delta.relative_to(HERE))
            man["symbols"][dst] = {"path": f"symbols/{dst}", "size": (OUT / src).stat().st_size,
                                   "sha256": sha256(OUT / src), "xz": False, "bundle": bundle,
                                   "build_id": build_id(OUT / src),
                                   "release": (OUT / f"release-{src.split('-', 1)[1]}").read_text().strip()}
            man.setdefault("bundles", {})[bundle] = {
                **file_entry(delta), "xor_with": f"symbols/{base}",
                "members": [[f"symbols/{dst}", sha256(OUT / src)]]}
    mkd_ver = ""
    for name, files in COMMIT.items():
        rd = WORK / "runs" / name
        if not (STAMPS / f"run-{name}").exists():
            continue
        out = rd / "out"
        dd = HERE / name
        entry = {"scenario": (LINUX_SCENARIOS.get(name) or XEN_SCENARIOS[name])["doc"], "files": []}
        mkd_ver = (out / "makedumpfile-version.txt").read_text().splitlines()[0] if (out / "makedumpfile-version.txt").exists() else ""
        for src, dst, fmt, comp, level, x in files + (EXTRAS.get(name, []) if extras else []):
            if not (out / src).exists():
                continue
            put(out / src, dd / dst, x)
            entry["files"].append(file_entry(dd / dst, format=fmt, page_compression=comp, dump_level=level,
                                             xz=x, uncompressed_size=(out / src).stat().st_size,
                                             producer=f"makedumpfile {mkd_ver.split('version ')[-1]}".strip(),
                                             written_by="capture kernel (kexec -p), /proc/vmcore"))
        for aux, dst in (("dmesg.txt", "dmesg.txt"), ("ground-truth.txt", "ground-truth.txt"),
                         ("capture-cmdline.txt", "capture-cmdline.txt")):
            if (out / aux).exists():
                put(out / aux, dd / dst, False)
        put(rd / "serial.log", dd / "serial.log", False)
        refsrc = WORK / "refs" / name
        if refsrc.exists():
            shutil.rmtree(dd / "crash-ref", ignore_errors=True)
            shutil.copytree(refsrc, dd / "crash-ref")
            entry["crash_ref"] = str((dd / "crash-ref").relative_to(HERE))
        if name.startswith("linux"):
            entry["kernel"] = {"release": (OUT / "release-main").read_text().strip(),
                               "vmlinux": "symbols/vmlinux-6.1-xcrash.xz",
                               "build_id": build_id(OUT / "vmlinux-main")}
            if refsrc.exists():
                entry.update(linux_facts(name, refsrc))
            entry["open_with"] = f"xcrash sample-dumps/{name}/{entry['files'][0]['path'].split('/')[-1]} sample-dumps/symbols/vmlinux-6.1-xcrash.xz"
        else:
            x = XEN_SCENARIOS[name]["xen"]
            entry["xen"] = {"version": "4.17.5", "package_version": XEN_VERSION,
                            "build": "own (Debian source, EXPERT DEBUG_INFO FRAME_POINTER, debug=n)" if x == "own"
                            else "Debian binary xen-hypervisor-4.17-amd64 (+ -dbg xen-syms: ELF symbols only)",
                            "xen_syms": f"symbols/xen-syms-4.17.5-{'xcrash' if x == 'own' else 'debian'}.xz",
                            "build_id": build_id(OUT / f"xen-syms-{x}")}
            if refsrc.exists():
                entry.update(xen_facts(name, refsrc))
            entry["open_with"] = f"xcrash sample-dumps/{name}/vmcore.kdump.xz sample-dumps/{entry['xen']['xen_syms']}"
        if refsrc.exists():
            entry["crash_problems_seen"] = notes_for(name, refsrc)
        man["dumps"][name] = entry
    extra = HERE / "manifest-notes.json"
    if extra.exists():
        for name, notes in json.loads(extra.read_text()).items():
            if name in man["dumps"]:
                man["dumps"][name]["notes"] = notes
    if TIMINGS.exists():
        man["timings_seconds"] = json.loads(TIMINGS.read_text())
    (HERE / "MANIFEST.json").write_text(json.dumps(man, indent=1) + "\n")
    total = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file() and WORK not in p.parents
                and "work" not in p.relative_to(HERE).parts)
    log(f"sample-dumps/ now holds {total / 1e6:.1f} MB")



def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stages", nargs="*", help="stage names, 'all', 'list', or 'dump NAME'")
    ap.add_argument("--force", action="store_true", help="rerun the named stages")
    a = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    names = a.stages or ["list"]
    if names == ["list"]:
        for st in STAGES.values():
            print(f"{st.name:22} {'done' if st.done() else '    '}  {st.doc}")
        return 0
    if names[0] == "dump":
        for d in names[1:]:
            for s in (f"run-{d}", f"refs-{d}"):
                run_stage(s, force=a.force and s.startswith("run-"))
        run_stage("collect", force=True)
        return 0
    if names == ["all"]:
        # the long crash build after the dumps, so that the dumps come first
        names = ([n for n in STAGES if not n.startswith(("run-", "refs-", "crash-build", "collect"))]
                 + [n for n in STAGES if n.startswith("run-")] + ["crash-build"]
                 + [n for n in STAGES if n.startswith("refs-")] + ["collect"])
    for n in names:
        if n not in STAGES:
            ap.error(f"unknown stage {n}")
        run_stage(n, force=a.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
