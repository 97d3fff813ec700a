# Sourced by every /init: mounts, command-line parameters (x.NAME=VALUE), console helpers.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /run /tmp /mnt /boot
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp

# x.NAME=VALUE from /proc/cmdline -> $X_NAME ('~' stands for a space, P20)
for w in $(cat /proc/cmdline); do
    case "$w" in
        x.*=*) k=${w%%=*}; k=X_$(echo "${k#x.}" | tr 'a-z.-' 'A-Z__'); v=$(echo "${w#*=}" | tr '~' ' ')
               eval "$k=\"\$v\""; export "$k" ;;
    esac
done

kmsg() { echo "XCRASH: $*" > /dev/kmsg; }
say() { echo "XCRASH: $*"; }
# ground truth lines, collected by the host from the serial log
gt() { sed "s/^/XCRASH-GT $1: /"; }
