# name|body : scripts placed in /bin of the stock-kernel initramfs; each names itself first,
# since on 5.10 a script's comm is that of its interpreter
xc-sleeper|echo -n xc-sleeper > /proc/$$/comm; while :; do sleep "${1:-1000}"; done
xc-busyloop|echo -n xc-busyloop > /proc/$$/comm; while :; do :; done
xc-pipereader|echo -n xc-pipereader > /proc/$$/comm; read line
xc-zombie|echo -n xc-zombie > /proc/$$/comm; exit 0
xc-zombiemaker|echo -n xc-zombiemaker > /proc/$$/comm; /bin/xc-zombie & read line
xc-crasher|echo -n xc-crasher > /proc/$$/comm; echo c > /proc/sysrq-trigger
xc-trigger|echo -n xc-trigger > /proc/$$/comm; echo "$1" > /proc/xcrash_lab
