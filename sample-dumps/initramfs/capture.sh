#!/bin/sh
# Capture kernel: save /proc/vmcore in the formats named by x.formats= onto the dump disk (/dev/vdb).
# (exec'd by /init after common.sh: the variables are inherited, the functions are not)
say() { echo "XCRASH: $*"; }
say "CAPTURE KERNEL $(uname -r) cmdline: $(cat /proc/cmdline)"
mount -t ext2 /dev/vdb /mnt || { say "no dump disk"; poweroff -f; }
M=/mnt
cat /proc/cmdline > $M/capture-cmdline.txt
ls -l /proc/vmcore > $M/capture-vmcore-size.txt
cat /proc/iomem > $M/capture-iomem.txt 2>/dev/null
T=/opt/trixie
MKD="$T/lib64/ld-linux-x86-64.so.2 --library-path $T/lib $T/makedumpfile"
$MKD -v > $M/makedumpfile-version.txt 2>&1 || { MKD=/usr/bin/makedumpfile-bookworm; $MKD -v > $M/makedumpfile-version.txt 2>&1; }
say "makedumpfile: $(head -1 $M/makedumpfile-version.txt)"

mkd() {  # mkd NAME ARGS... : one makedumpfile run, log, rc and seconds
    name=$1; shift
    t0=$(date +%s)
    $MKD --message-level 23 "$@" > $M/$name.log 2>&1
    rc=$?
    echo "rc=$rc seconds=$(( $(date +%s) - t0 )) args=$*" >> $M/$name.log
    say "makedumpfile $* -> rc=$rc"
}
mkd dmesg --dump-dmesg /proc/vmcore $M/dmesg.txt
case "$X_FORMATS" in
  linux-full)
    mkd zlib   -c -d 31 /proc/vmcore $M/vmcore.kdump
    mkd elf    -E -d 31 /proc/vmcore $M/vmcore.elf
    mkd lzo    -l -d 31 /proc/vmcore $M/vmcore.lzo.kdump
    mkd zstd   -z -d 31 /proc/vmcore $M/vmcore.zstd.kdump
    mkd split  -c -d 31 --split /proc/vmcore $M/vmcore.split.1 $M/vmcore.split.2
    t0=$(date +%s)
    $MKD --message-level 23 -F -c -d 31 /proc/vmcore > $M/vmcore.flat 2> $M/flat.log
    echo "rc=$? seconds=$(( $(date +%s) - t0 )) args=-F -c -d 31" >> $M/flat.log ;;
  linux)
    mkd zlib   -c -d 31 /proc/vmcore $M/vmcore.kdump
    mkd elf    -E -d 31 /proc/vmcore $M/vmcore.elf ;;
  xen)
    mkd plain  -d 1 /proc/vmcore $M/vmcore.kdump
    mkd zlib   -c -d 1 /proc/vmcore $M/vmcore.zlib.kdump ;;
esac
dmesg > $M/capture-dmesg.txt
ls -l $M > $M/capture-ls.txt
sync; umount $M
say "CAPTURE DONE"
poweroff -f
