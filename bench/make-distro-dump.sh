#!/bin/bash
# A kdump of an unmodified Debian cloud 6.1 kernel with a few hundred tasks and some
# module code on the stacks, its -dbg vmlinux, and crash 8.0.6 / drgn 0.3.0 outputs on it
# (recipe C of ../shared/reference/making-dumps.md).  For issues 5 and 8.
#
#   bench/make-distro-dump.sh            # work dir $XCRASH_DISTRO_DIR, default /work/dev/distro
#
# Resumable: every stage leaves a stamp in $W/stamps and is skipped when it exists
# (rm $W/stamps/NAME to redo a stage and the ones after it that depend on its files).
# Produces in $W:
#   vmcore.kdump        makedumpfile -c -d 31 of the crashed kernel (from the capture kernel)
#   vmlinux             from linux-image-6.1.0-56-cloud-amd64-dbg
#   serial.log          both kernels' console; XCRASH-GT lines = ground truth (ps in the guest)
#   dmesg.txt           makedumpfile --dump-dmesg in the capture kernel
#   crash-ref/NN-*.txt  crash 8.0.6 outputs, first line "crash> CMD" (tools/compare_crash.py)
#   drgn-venv/          drgn 0.3.0 (bench/peers.py)
#   drgn-ref/           drgn 0.3.0 on the dump: bench/drgn_ps_bt_log.py (tasks, stacks, log)
# Nothing is installed on the host; it needs qemu-system-x86, kexec-tools, makedumpfile,
# busybox-static, e2fsprogs, cpio, gcc with a static libc.
set -euo pipefail

W=${XCRASH_DISTRO_DIR:-/work/dev/distro}
REPO=$(cd "$(dirname "$0")/.." && pwd)
KVER=6.1.0-56-cloud-amd64
PKGVER=6.1.192-2
SHARED_CRASH_ROOT=/work/main/sample-dumps/work/roots/trixie-crash   # reused read-only if there
NICE="nice -n 10"
mkdir -p "$W"/stamps "$W"/debs
cd "$W"

say() { echo "[$(date +%T)] $*"; }
todo() { if [ -e "$W/stamps/$1" ]; then say "stage $1: done before"; return 1; fi; say "stage $1"; }
stamp() { touch "$W/stamps/$1"; }

# -- 1. kernel packages -------------------------------------------------------------------
if todo debs; then
    (cd debs && apt-get download "linux-image-$KVER=$PKGVER" "linux-image-$KVER-dbg=$PKGVER")
    stamp debs
fi
if todo kernel; then
    rm -rf kernel && mkdir kernel
    dpkg-deb -x "debs/linux-image-${KVER}_${PKGVER}_amd64.deb" kernel
    # only the vmlinux of the 1.7 GB -dbg tree
    dpkg-deb --fsys-tarfile "debs/linux-image-${KVER}-dbg_${PKGVER}_amd64.deb" \
        | tar -x -O "./usr/lib/debug/boot/vmlinux-$KVER" > vmlinux.tmp
    mv vmlinux.tmp vmlinux
    stamp kernel
fi

# -- 2. crash 8.0.6 from trixie, unpacked, not installed ------------------------------------
crash_root() {
    for r in "$SHARED_CRASH_ROOT" "$W/trixie-crash"; do
        if [ -x "$r/usr/bin/crash" ] && "$r/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
                --library-path "$r/usr/lib/x86_64-linux-gnu" "$r/usr/bin/crash" --version \
                2>/dev/null | grep -q "crash 8.0.6"; then
            echo "$r"; return 0
        fi
    done
    return 1
}
if todo crash && ! crash_root >/dev/null; then
    A="$W/apt-trixie"; mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/debs"
    src=$(grep -h -m1 -E '^(deb|URIs:)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null || true)
    uri=$(echo "$src" | grep -o -m1 -E 'https?://[^ ]+' | head -1)
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${uri:-http://deb.debian.org/debian} trixie main" > "$A/sources.list"
    APT=(-o Dir::Etc::SourceList="$A/sources.list" -o Dir::Etc::SourceParts=/dev/null
         -o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache")
    apt-get "${APT[@]}" update
    (cd "$A/debs" && apt-get "${APT[@]}" download crash=8.0.6-1 libc6 libstdc++6 libgcc-s1 \
        libtinfo6 libncursesw6 libsnappy1v5 liblzo2-2 libzstd1 zlib1g liblzma5)
    rm -rf "$W/trixie-crash"; mkdir -p "$W/trixie-crash"
    for d in "$A"/debs/*.deb; do dpkg-deb -x "$d" "$W/trixie-crash"; done
fi
[ -e stamps/crash ] || { crash_root >/dev/null && stamp crash; }
CRASH_ROOT=$(crash_root)
CRASH=("$CRASH_ROOT/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
       --library-path "$CRASH_ROOT/usr/lib/x86_64-linux-gnu" "$CRASH_ROOT/usr/bin/crash")

# -- 3. the guest's helper program and /init -------------------------------------------------
if todo initramfs; then
    mkdir -p src
    cat > src/xc-helper.c <<'EOF'
/* Modes: crash (renames itself sysrq-crasher, writes c to sysrq-trigger), tun (blocks
 * reading a tun device: module code on its stack), threads N, zombie, user UID, spin. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

static void *idle(void *arg) { (void)arg; for (;;) pause(); return NULL; }

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "crash")) {
        prctl(PR_SET_NAME, "sysrq-crasher");
        int fd = open("/proc/sysrq-trigger", O_WRONLY);
        if (fd < 0) { perror("sysrq-trigger"); return 1; }
        sleep(1);
        write(fd, "c", 1);
        return 1;
    }
    if (!strcmp(mode, "tun")) {
        prctl(PR_SET_NAME, "xc-tunreader");
        int fd = open("/dev/net/tun", O_RDWR);
        if (fd < 0) { perror("/dev/net/tun"); return 1; }
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
        snprintf(ifr.ifr_name, IFNAMSIZ, "xctun%s", argc > 2 ? argv[2] : "0");
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) { perror("TUNSETIFF"); return 1; }
        char buf[2048];
        for (;;) read(fd, buf, sizeof buf);
    }
    if (!strcmp(mode, "threads")) {
        prctl(PR_SET_NAME, "xc-threads");
        int n = argc > 2 ? atoi(argv[2]) : 4;
        pthread_t t;
        for (int i = 0; i < n; i++) pthread_create(&t, NULL, idle, NULL);
        idle(NULL);
    }
    if (!strcmp(mode, "zombie")) {
        prctl(PR_SET_NAME, "xc-zombiemaker");
        if (fork() == 0) { prctl(PR_SET_NAME, "xc-zombie"); _exit(0); }
        idle(NULL);
    }
    if (!strcmp(mode, "user")) {
        prctl(PR_SET_NAME, "xc-user");
        int uid = argc > 2 ? atoi(argv[2]) : 1000;
        if (setgid(uid) || setuid(uid)) { perror("setuid"); return 1; }
        idle(NULL);
    }
    if (!strcmp(mode, "spin")) {
        prctl(PR_SET_NAME, "xc-spinner");
        for (volatile unsigned long i = 0;; i++) ;
    }
    fprintf(stderr, "xc-helper: unknown mode %s\n", mode);
    return 2;
}
EOF
    cat > src/init <<'EOF'
#!/bin/sh
# One /init for both kernels: the capture kernel is the one with /proc/vmcore.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /tmp /mnt
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
say() { echo "XCRASH: $*"; }
kmsg() { echo "XCRASH: $*" > /dev/kmsg; }
gt() { sed "s/^/XCRASH-GT $1: /"; }
# virtio is modular and the initramfs has no modules.dep (P12): load in dependency order
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk; do
    insmod /lib/modules/$m.ko || say "insmod $m failed"
done
i=0; while [ ! -e /dev/vda ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done

if [ -e /proc/vmcore ]; then
    say "CAPTURE KERNEL $(uname -r) cmdline: $(cat /proc/cmdline)"
    mount -t ext4 /dev/vda /mnt || { say "no dump disk"; poweroff -f; }
    M=/mnt
    cat /proc/cmdline > $M/capture-cmdline.txt
    ls -l /proc/vmcore > $M/capture-vmcore-size.txt
    makedumpfile --message-level 22 --dump-dmesg /proc/vmcore $M/dmesg.txt > $M/dmesg.log 2>&1
    t0=$(date +%s)
    makedumpfile --message-level 22 -c -d 31 /proc/vmcore $M/vmcore.kdump > $M/zlib.log 2>&1
    rc=$?
    echo "rc=$rc seconds=$(( $(date +%s) - t0 ))" >> $M/zlib.log
    say "makedumpfile -c -d 31 rc=$rc"
    dmesg > $M/capture-dmesg.txt
    sync; umount $M
    say "CAPTURE DONE"
    poweroff -f
fi

say "first kernel $(uname -r)"
kmsg "first kernel up"
echo 1 > /proc/sys/kernel/sysrq
insmod /lib/modules/tun.ko || say "insmod tun failed"
mkfifo /tmp/fifo1 /tmp/fifo2
# a few hundred recognisable tasks (P9: #! scripts by absolute path, comm = script name)
n=0; while [ $n -lt 80 ]; do sleep $((100000 + n)) & n=$((n+1)); done
n=0; while [ $n -lt 40 ]; do /bin/xc-sleeper $((200000 + n)) & n=$((n+1)); done
n=0; while [ $n -lt 15 ]; do sleep $((300000 + n)) | /bin/xc-pipereader & n=$((n+1)); done
n=0; while [ $n -lt 10 ]; do cat /tmp/fifo1 > /dev/null & n=$((n+1)); done
n=0; while [ $n -lt 4 ]; do /bin/xc-helper tun $n & n=$((n+1)); done
/bin/xc-helper threads 8 &
/bin/xc-helper threads 3 &
/bin/xc-helper zombie &
/bin/xc-helper user 1000 &
/bin/xc-helper user 1001 &
sleep 5000 & STOPPED=$!
/bin/xc-helper spin & SPIN=$!
renice 19 $SPIN > /dev/null 2>&1
sleep 2; kill -STOP $STOPPED
kmsg "processes started"

kexec -p /boot/vmlinuz --initrd=/boot/initrd-capture.gz \
    --append="console=ttyS0 nr_cpus=1 reset_devices irqpoll nousb acpi_no_memhotplug panic=-1" \
    || kexec -s -p /boot/vmlinuz --initrd=/boot/initrd-capture.gz \
    --append="console=ttyS0 nr_cpus=1 reset_devices irqpoll nousb acpi_no_memhotplug panic=-1"
say "kexec -p rc=$? loaded=$(cat /sys/kernel/kexec_crash_loaded)"
rm -f /boot/vmlinuz /boot/initrd-capture.gz
ps -o pid,ppid,stat,comm | gt ps
ls -d /proc/[0-9]* | wc -l | gt processes
kmsg "about to crash"
/bin/xc-helper crash
sleep 600
poweroff -f
EOF
    printf '#!/bin/sh\n# the shell waits in read: a pipe reader\nwhile read line; do :; done\n' > src/xc-pipereader
    # xc-sleeper must stay a shell, or its comm becomes "sleep"
    printf '#!/bin/sh\nsleep "$1"\n' > src/xc-sleeper
    gcc -static -O2 -o src/xc-helper src/xc-helper.c -lpthread

    build_root() {   # build_root DIR: the capture initramfs contents
        local R=$1
        rm -rf "$R"; mkdir -p "$R"/{bin,sbin,lib/modules,lib64,etc,proc,sys,dev,tmp,mnt,boot,usr/bin,usr/sbin}
        cp /bin/busybox "$R/bin/busybox"
        for a in $("$R/bin/busybox" --list); do [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"; done
        for b in /usr/sbin/kexec /usr/bin/makedumpfile; do
            cp "$b" "$R/bin/$(basename "$b")"
            for l in $(ldd "$b" | grep -o '/[^ ]*'); do
                mkdir -p "$R$(dirname "$l")"; cp -L "$l" "$R$l"
            done
        done
        cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"
        local md=kernel/lib/modules/$KVER/kernel
        for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
                 drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk \
                 drivers/net/tun; do
            cp "$md/$m.ko" "$R/lib/modules/"
        done
        cp src/init "$R/init"; chmod 755 "$R/init"
        cp src/xc-helper src/xc-sleeper src/xc-pipereader "$R/bin/"; chmod 755 "$R"/bin/xc-*
        echo "root:x:0:0:root:/:/bin/sh" > "$R/etc/passwd"
        mknod -m 600 "$R/dev/console" c 5 1
        mknod -m 666 "$R/dev/null" c 1 3
    }
    pack() { (cd "$1" && find . | cpio -o -H newc --quiet | gzip -9) > "$2"; }
    build_root initramfs
    pack initramfs initrd-capture.gz
    # the first kernel's initramfs also carries the capture kernel and its initrd (no boot disk)
    cp "kernel/boot/vmlinuz-$KVER" initramfs/boot/vmlinuz
    cp initrd-capture.gz initramfs/boot/initrd-capture.gz
    pack initramfs initrd.gz
    rm -rf initramfs
    ls -l initrd-capture.gz initrd.gz
    stamp initramfs
fi

# -- 4. boot, crash, capture (QEMU TCG: the host has no usable KVM, P1) ----------------------
if todo run; then
    rm -f dump.img serial.log vmcore.kdump
    truncate -s 1G dump.img
    mkfs.ext4 -q -F -m 0 dump.img
    t0=$(date +%s)
    $NICE timeout 1800 qemu-system-x86_64 -accel tcg,thread=multi -cpu max,la57=off -smp 2 -m 1024 \
        -nodefaults -display none -no-reboot \
        -kernel "kernel/boot/vmlinuz-$KVER" -initrd initrd.gz \
        -append "console=ttyS0 crashkernel=256M panic=-1 loglevel=7" \
        -drive file=dump.img,format=raw,if=virtio,cache=unsafe \
        -serial file:serial.log || true
    say "QEMU ran $(( $(date +%s) - t0 )) s"
    for f in vmcore.kdump dmesg.txt zlib.log capture-cmdline.txt capture-vmcore-size.txt capture-dmesg.txt; do
        debugfs -R "dump -p /$f $W/$f" dump.img 2>/dev/null || true
    done
    chmod 644 vmcore.kdump 2>/dev/null || true
    cat zlib.log 2>/dev/null || true
    if [ ! -s vmcore.kdump ] || ! grep -q "rc=0" zlib.log; then
        say "no dump: see $W/serial.log"; tail -30 serial.log; exit 1
    fi
    rm -f dump.img
    stamp run
fi

# -- 5. crash 8.0.6 references ---------------------------------------------------------------
REF_CMDS=("sys" "ps" "bt" "bt -a" "foreach bt" "log" "mod" "kmem -i" "runq" "set" "ps -S")
if todo crashref; then
    rm -rf crash-ref crash-ref.tmp; mkdir crash-ref.tmp
    {
        for c in "${REF_CMDS[@]}"; do echo "!echo '@@@CMD $c'"; echo "$c"; done
        echo "quit"
    } > crash-ref.tmp/cmds.txt
    t0=$(date +%s.%N)
    "${CRASH[@]}" -s vmlinux vmcore.kdump -i crash-ref.tmp/cmds.txt < /dev/null \
        > crash-ref.tmp/all.txt 2> crash-ref.tmp/stderr.txt || true
    t1=$(date +%s.%N)
    python3 - "$W" <<'EOF'
import re, sys
from pathlib import Path
w = Path(sys.argv[1])
text = (w / "crash-ref.tmp/all.txt").read_text(errors="replace")
parts = re.split(r"^@@@CMD (.*)\n", text, flags=re.M)
out = w / "crash-ref.tmp"
for n, (cmd, body) in enumerate(zip(parts[1::2], parts[2::2]), 1):
    name = re.sub(r"[^A-Za-z0-9_]+", "_", cmd.replace("-", "")).strip("_")
    body = body.rstrip("\n")
    (out / f"{n:02d}-{name}.txt").write_text(f"crash> {cmd}\n{body}\n" if body else f"crash> {cmd}\n")
EOF
    echo "crash 8.0.6 vmlinux=vmlinux dump=vmcore.kdump batch_seconds=$(echo "$t1 - $t0" | bc)" \
        > crash-ref.tmp/00-info.txt
    rm crash-ref.tmp/cmds.txt crash-ref.tmp/all.txt
    mv crash-ref.tmp crash-ref
    ls crash-ref
    stamp crashref
fi

# -- 6. drgn 0.3.0 (for bench/peers.py and its reference) ------------------------------------
if todo drgn; then
    python3 -m venv drgn-venv
    drgn-venv/bin/pip install -q drgn==0.3.0
    drgn-venv/bin/drgn --version
    stamp drgn
fi

if todo drgnref; then
    mkdir -p drgn-ref
    drgn-venv/bin/drgn -q --main-symbols -c vmcore.kdump -s vmlinux "$REPO/bench/drgn_ps_bt_log.py" \
        > drgn-ref/ps-stacks-log.txt 2> drgn-ref/stderr.txt
    head -4 drgn-ref/ps-stacks-log.txt
    stamp drgnref
fi

# -- 7. ground truth ------------------------------------------------------------------------
if todo manifest; then
    {
        echo "kernel: linux-image-$KVER=$PKGVER (+ -dbg vmlinux)"
        echo "vmlinux build-id: $(readelf -n vmlinux | sed -n 's/.*Build ID: //p' | head -1)"
        echo "vmcore.kdump: $(stat -c %s vmcore.kdump) bytes sha256 $(sha256sum vmcore.kdump | cut -d' ' -f1)"
        echo "capture: $(cat zlib.log | tail -1)"
        grep -a "XCRASH-GT processes" serial.log || true
        grep -a -c "XCRASH-GT ps" serial.log | sed 's/^/ps lines in guest: /'
    } > MANIFEST.txt
    cat MANIFEST.txt
    stamp manifest
fi
say "done: $W"
