# name|body : scripts placed in /bin of the Linux initramfs (comm = name)
xc-sleeper|while :; do sleep "${1:-1000}"; done
xc-busyloop|while :; do :; done
xc-pipereader|read line
xc-zombie|exit 0
xc-zombiemaker|/bin/xc-zombie & read line
xc-memhog|m=XCRASH-USER-PATTERN-0123456789-; while [ ${#m} -lt 1048576 ]; do m="$m$m"; done; read line < /tmp/never
xc-crasher|echo c > /proc/sysrq-trigger
dom0-sleeper|while :; do sleep 11; done
