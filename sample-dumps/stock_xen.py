#!/usr/bin/env python3
"""Debian's binary Xen hypervisors with Debian's generic kernels as dom0 and PV domUs.

    python3 sample-dumps/stock_xen.py list | all | dump NAME | collect [NAME]

The stock-kernel factory (stock.py) for Xen: a suite's chroot (stock.py's) gets that
suite's ``xen-hypervisor-X-amd64`` (and its ``-dbg`` xen-syms where Debian has one),
``xen-utils-X`` and ``linux-image-RELEASE-amd64`` (the generic flavour: the cloud one has
no dom0 support), all unpacked from the chroot, nothing installed on the host.  dom0 runs
xenstored, xenconsoled and two PV domUs (the same kernel), loads the capture kernel
through Xen's kexec and dies as the dump asks: ``xl debug-keys C`` (the hypervisor) or
sysrq ``c`` in dom0 (a dom0 panic: Xen downs dom0's other vCPU and kexecs).  Heavy (TCG):
run it alone.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import factory as F  # noqa: E402
import stock as S  # noqa: E402
from factory import log, run, stage  # noqa: E402


@dataclass(frozen=True)
class XenBuild:
    suite: str
    version: str            # the hypervisor's major.minor ("4.20")
    package: str            # Debian package version of the hypervisor and utils
    release: str            # dom0/domU kernel (generic flavour) uname -r
    kversion: str           # its package version
    dbg: bool               # Debian ships the hypervisor's -dbg (xen-syms)
    #: kexec-tools source package (trixie's) to build in the suite's chroot, where the
    #: suite's own kexec-tools is built without Xen (bullseye's 2.0.20: "Memory for
    #: crashkernel is not reserved" in dom0); None: the suite's own loads through Xen
    kexec_source: str | None = None


XENS = {
    "4.14": XenBuild("bullseye", "4.14", "4.14.6-1", "5.10.0-32-amd64", "5.10.223-1", False,
                     kexec_source="1:2.0.29-2"),
    "4.20": XenBuild("trixie", "4.20", "4.20.4+63-g7abfd2bce2-0+deb13u1",
                     "6.12.117+deb13-amd64", "6.12.117-1", True),
}


@dataclass(frozen=True)
class XenDump:
    xen: str
    death: str              # "debug-keys" | "dom0-sysrq"
    doc: str
    mem: str = "1024"
    dom0_mem: str = "320M"
    crashkernel: str = "192M"


DUMPS = {
    "xen-4.14-crash": XenDump("4.14", "debug-keys", "Debian bullseye's Xen 4.14 (no -dbg package: "
                              "no xen-syms exists), Debian 5.10 as dom0 (2 vCPUs) and two PV "
                              "domUs; xl debug-keys C: the hypervisor crashes and kexecs"),
    "xen-4.20-dom0-panic": XenDump("4.20", "dom0-sysrq", "Debian's Xen 4.20 (with its -dbg xen-syms), "
                                   "Debian 6.12 as dom0 (2 vCPUs) and two PV domUs; sysrq c in dom0: "
                                   "dom0 panics on one vCPU and takes the other down (VCPUOP_down), Xen kexecs"),
}
GUESTS = "guest1:1:128 guest2:2:128"      # name:vCPUs:MiB (the generic kernel needs room)


def xdir(ver: str) -> Path:
    return S.S / "xen" / ver


def st_xen(ver: str) -> None:
    """The hypervisor (multiboot ELF), its xen-syms, the kernel, dom0's userland."""
    x = XENS[ver]
    d = xdir(ver)
    root = S.chroot_dir(x.suite)
    pkgs = [f"xen-hypervisor-{x.version}-amd64={x.package}", f"xen-utils-{x.version}={x.package}",
            f"linux-image-{x.release}={x.kversion}", "xenstore-utils"]
    if x.dbg:
        pkgs.append(f"xen-hypervisor-{x.version}-amd64-dbg={x.package}")
    S.in_chroot(x.suite, "apt-get install -y -q --no-install-recommends " + " ".join(pkgs))
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    with open(d / "xen", "wb") as f:
        run(["gzip", "-dc", S.in_root(root, f"/boot/xen-{x.version}-amd64.gz")], stdout=f)
    syms = sorted((root / "usr/lib/debug").rglob("xen-syms*")) if x.dbg else []
    if syms:
        shutil.copy(syms[0], d / "xen-syms")
    vmlinuz = S.in_root(root, f"/boot/vmlinuz-{x.release}")
    shutil.copy(vmlinuz, d / "vmlinuz")
    log(f"Xen {ver}: {(d / 'xen').stat().st_size} bytes, xen-syms {'yes' if syms else 'no'}")


for _v in XENS:
    stage(f"stock-xen-{_v}", deps=(f"stock-chroot-{XENS[_v].suite}",))(
        (lambda v: lambda: st_xen(v))(_v))
    F.STAGES[f"stock-xen-{_v}"].doc = f"Debian's Xen {_v}, its xen-syms and dom0's kernel (generic)"


KEXEC = "/usr/local/sbin/kexec"     # where st_kexec installs its build in the chroot


def st_kexec(ver: str) -> None:
    """Trixie's kexec-tools built in the suite's chroot against the suite's libxen-dev
    (the suite's libraries: dom0 runs them)."""
    x = XENS[ver]
    assert x.kexec_source
    src = S.S / "kexec-src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    opts = F.apt_private("trixie", "deb-src")
    run(["apt-get", *opts, "update", "-q"])
    run(["apt-get", *opts, "source", "--download-only", f"kexec-tools={x.kexec_source}"], cwd=src)
    orig = next(src.glob("kexec-tools_*.orig.tar.*"))
    S.in_chroot(x.suite, "apt-get install -y -q --no-install-recommends build-essential libxen-dev "
                "zlib1g-dev liblzma-dev && cd /work/kexec-src && tar xf " + orig.name +
                " && cd kexec-tools-*/ && ./configure -q --with-xen --with-zlib --with-lzma "
                "--prefix=/usr/local && make -s -j2 && make -s install")
    log(f"kexec-tools {x.kexec_source} built for Xen {ver} ({x.suite})")


for _v in XENS:
    if XENS[_v].kexec_source:
        stage(f"stock-xen-kexec-{_v}", deps=(f"stock-xen-{_v}",))(
            (lambda v: lambda: st_kexec(v))(_v))
        F.STAGES[f"stock-xen-kexec-{_v}"].doc = (f"kexec-tools {XENS[_v].kexec_source} (trixie's) "
                                                 f"built against {XENS[_v].suite}'s libxen")


DOM0_MODULES = ["xen-evtchn", "xen-privcmd", "xen-gntdev", "xen-gntalloc", "xenfs",
                "xen-blkback", "virtio_ring", "virtio", "virtio_pci_modern_dev",
                "virtio_pci_legacy_dev", "virtio_pci", "virtio_blk", "crc32c_generic", "ext4"]  # ext4 asks crc32c at mount


def st_initramfs(ver: str) -> None:
    """dom0 (xenstored, xenconsoled, xl, kexec), domU and capture images."""
    x = XENS[ver]
    d = xdir(ver)
    root = S.chroot_dir(x.suite)
    kd = d / "kernel-root"
    shutil.rmtree(kd, ignore_errors=True)
    shutil.copytree(root / "usr/lib/modules" / x.release if (root / "usr/lib/modules" / x.release).exists()
                    else root / "lib/modules" / x.release, kd / "root/lib/modules" / x.release,
                    symlinks=True)         # module_files looks under KERNEL-DIR/root
    files = S.module_files(kd)
    saved = list(S.NEEDED)
    S.NEEDED[:] = [m.replace("-", "_") for m in DOM0_MODULES]
    try:
        order = S.load_order(kd, files)
    finally:
        S.NEEDED[:] = saved
    libdirs = f"{root}/lib/x86_64-linux-gnu:{root}/usr/lib/x86_64-linux-gnu"
    ld = S.in_root(root, "/lib64/ld-linux-x86-64.so.2")

    def add(r: Path, inside: str, as_: str | None = None) -> None:
        src = S.in_root(root, inside)
        F.copy_file(src, r / (as_ or inside).lstrip("/"))
        for lib in F.ldd_closure(src, libdirs, ld=ld):
            rel = str(lib.relative_to(root)) if str(lib).startswith(str(root)) else str(lib)
            F.copy_file(S.in_root(root, "/" + rel.lstrip("/")), r / "lib/x86_64-linux-gnu" / lib.name)
        F.copy_file(ld, r / "lib64/ld-linux-x86-64.so.2")

    def modules(r: Path, names: list[str]) -> None:
        (r / "lib/modules").mkdir(parents=True, exist_ok=True)
        for name in names:
            (r / "lib/modules" / f"{name}.ko").write_bytes(S._module_bytes(files[name]))
        (r / "lib/modules/load-order").write_text(" ".join(names) + "\n")

    # dom0
    r = d / "initramfs-dom0"
    F.base_tree(r, "init-dom0-stock")
    bindir = f"/usr/lib/xen-{x.version}/bin"
    for b in ("xl", "xenstored", "xenconsoled", "xen-init-dom0"):
        add(r, f"{bindir}/{b}")
    add(r, "/usr/bin/xenstore") if S.in_root(root, "/usr/bin/xenstore").exists() else None
    add(r, KEXEC if x.kexec_source else "/usr/sbin/kexec", "/usr/sbin/kexec")
    for lib in sorted((root / "usr/lib/x86_64-linux-gnu").glob("libgcc_s.so.1")):
        F.copy_file(lib, r / "lib/x86_64-linux-gnu/libgcc_s.so.1")      # P18
    shutil.copytree(root / "etc/xen/scripts", r / "etc/xen/scripts", dirs_exist_ok=True)
    (r / "etc/xen/xl.conf").write_text('autoballoon="off"\n')
    modules(r, order)
    (r / "usr/lib").mkdir(parents=True, exist_ok=True)
    F.pack(r, d / "initrd-dom0.gz")
    # domU: busybox only, its /init from the factory
    r = d / "initramfs-domU"
    F.base_tree(r, "init-domU")
    F.pack(r, d / "initrd-domU.gz")
    # capture kernel: the suite's makedumpfile
    r = d / "initramfs-capture"
    F.base_tree(r, "init-stock")
    add(r, "/usr/bin/makedumpfile")
    modules(r, [m for m in order if m.startswith(("virtio", "ext4", "jbd2", "mbcache", "crc"))])
    F.pack(r, d / "initrd-capture.gz")


for _v in XENS:
    stage(f"stock-xen-initramfs-{_v}", deps=(f"stock-xen-{_v}",) + (
        (f"stock-xen-kexec-{_v}",) if XENS[_v].kexec_source else ()))(
        (lambda v: lambda: st_initramfs(v))(_v))
    F.STAGES[f"stock-xen-initramfs-{_v}"].doc = f"dom0, domU and capture initramfs for Xen {_v}"


def st_run(name: str) -> None:
    xd = DUMPS[name]
    d = xdir(xd.xen)
    rd = S.rundir(name)
    shutil.rmtree(rd, ignore_errors=True)
    rd.mkdir(parents=True)
    F.make_disk(rd / "boot.img", {"vmlinuz": d / "vmlinuz", "initrd-capture.gz": d / "initrd-capture.gz",
                                  "initrd-domU.gz": d / "initrd-domU.gz"}, "160M")
    F.make_disk(rd / "dump.img", {}, "3G")
    xen_cmd = (f"console=com1 com1=115200,8n1 dom0_mem={xd.dom0_mem},max:{xd.dom0_mem} "
               f"dom0_max_vcpus=2 crashkernel={xd.crashkernel} loglvl=all guest_loglvl=all smap=0")
    dom0 = (f"{d / 'vmlinuz'} console=hvc0 earlyprintk=xen loglevel=7 init_on_free=1 "
            f"x.guests={GUESTS.replace(' ', '~')} x.death={xd.death},{d / 'initrd-dom0.gz'}")
    dt = F.qemu_run(rd, ["-accel", "tcg,thread=multi", "-cpu", "max", "-machine", "pc", "-smp", "2",
                         "-m", xd.mem, "-kernel", d / "xen", "-append", xen_cmd, "-initrd", dom0,
                         "-net", "none",
                         "-drive", f"file={rd / 'dump.img'},format=raw,if=virtio,cache=unsafe",
                         "-drive", f"file={rd / 'boot.img'},format=raw,if=virtio,readonly=on"],
                    timeout=2400)
    F.record_time(f"qemu-{name}", dt)
    F.extract_disk(rd / "dump.img", rd / "out")
    F.ground_truth(rd / "serial.log", rd / "out" / "ground-truth.txt")
    (rd / "dump.img").unlink()
    if not list((rd / "out").glob("vmcore*")):
        raise SystemExit(f"{name}: no dump; see {rd / 'serial.log'}")


for _n, _d in DUMPS.items():
    stage(f"stock-run-{_n}", deps=(f"stock-xen-initramfs-{_d.xen}",))(
        (lambda n: lambda: st_run(n))(_n))
    F.STAGES[f"stock-run-{_n}"].doc = "QEMU run: " + _d.doc


def st_collect(name: str) -> None:
    """Ship a Xen dump: its bundle (the dump alone: the hypervisor gives its symbols from its
    own table, dom0 and the domUs from their kallsyms, BTF and ORC),
    its logs as they are, its MANIFEST.json entry.  crash cannot open Xen 4.20: no
    references; the consoles (serial.log, ground-truth.txt) are the judges."""
    import json
    xd = DUMPS[name]
    x = XENS[xd.xen]
    d = xdir(xd.xen)
    rd = S.rundir(name)
    man_path = F.HERE / "MANIFEST.json"
    man = json.loads(man_path.read_text())
    bundle = f"xen-{x.version}.tar.xz"
    syms = f"symbols/xen-syms-{x.version}-debian"
    dump = rd / "out" / "vmcore.kdump"
    # Debian's -dbg xen-syms (DWARF) stays in the work directory: 6.6 MB past the budget, and
    # the dump alone gives the hypervisor its symbols (Xen's own table) and the domains theirs
    members = [(dump, f"{name}/vmcore.kdump")]
    man["symbols"].pop(Path(syms).name, None)
    dd = F.HERE / name
    dd.mkdir(exist_ok=True)
    S.copy_logs(rd, dd)
    serial = (rd / "serial.log").read_text(errors="replace")
    producer = (rd / "out" / "makedumpfile-version.txt").read_text().splitlines()[0]
    if x.dbg:
        build = (f"Debian binary xen-hypervisor-{x.version}-amd64 (its -dbg xen-syms has DWARF: "
                 "not shipped, the dump alone serves)")
        syms_package = f"xen-hypervisor-{x.version}-amd64-dbg={x.package}"
    else:
        build = (f"Debian binary xen-hypervisor-{x.version}-amd64 (Debian ships no -dbg for it: "
                 "no xen-syms exists; the dump alone serves)")
        syms_package = None
    man["dumps"][name] = {
        "scenario": xd.doc,
        "files": [{"path": f"{name}/vmcore.kdump", "size": dump.stat().st_size,
                   "sha256": F.sha256(dump), "bundle": bundle, "format": "kdump-compressed",
                   "page_compression": "none", "dump_level": 1,
                   "producer": f"makedumpfile {producer.split('version ')[-1]}".strip(),
                   "written_by": "capture kernel (Xen's kexec), /proc/vmcore"}],
        "crash_ref": None,
        "xen": {"version": F.first_match(r"Xen version (\S+)", serial), "package_version": x.package,
                "build": build, "xen_syms": None, "xen_syms_package": syms_package,
                "build_id": F.build_id(d / "xen-syms") if (d / "xen-syms").exists() else None},
        "dom0_kernel": {"release": x.release, "package": f"linux-image-{x.release}={x.kversion}",
                        "symbols": "from the dump (kallsyms, BTF, ORC)"},
        "guests": GUESTS,
        "death": xd.death,
        "panic_string": F.first_match(r"(Kernel panic - not syncing: .*)", serial),
        "xen_says": F.first_match(r"\(XEN\) (Hardware Dom0 crashed.*|Executing kexec image.*)", serial),
        "open_with": f"xcrash sample-dumps/{name}/vmcore.kdump",
    }
    S._bundle(x.version, members, man, name=bundle)
    S._ignore_unpacked(sorted({*_unpacked_now(man), *(n for _, n in members)}))
    man_path.write_text(json.dumps(man, indent=1) + "\n")


def _unpacked_now(man: dict) -> list[str]:
    """The files every bundle of the manifest carries (the .gitignore section lists them all)."""
    return [n for b in man.get("bundles", {}).values() for n, _ in b["members"]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stages", nargs="*")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    mine = [n for n in F.STAGES if n.startswith(("stock-xen", "stock-run-xen"))]
    names = a.stages or ["list"]
    if names == ["list"]:
        for n in mine:
            print(f"{n:34} {'done' if F.STAGES[n].done() else '    '}  {F.STAGES[n].doc}")
        return 0
    if names[0] == "dump":
        for n in names[1:]:
            F.run_stage(f"stock-run-{n}", force=a.force)
        return 0
    if names[0] == "collect":
        for n in names[1:] or list(DUMPS):
            st_collect(n)
        return 0
    for n in (mine if names == ["all"] else names):
        F.run_stage(n, force=a.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
